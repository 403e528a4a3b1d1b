//! The client engine alone, fed raw bytes by a hostile server.

use std::time::Duration;

use proptest::prelude::*;

use super::{ClientConfig, ClientEngine, ClientState, ObjectKind};
use crate::testkit::noise;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever a server sends during and after sign-in, the client never panics, and a
    /// closed connection leaves it offline.
    #[test]
    fn garbage_from_the_server_never_panics_the_client(bytes in noise::stream(), seed in any::<u64>()) {
        let mut config = ClientConfig::new("a@example.com", "pw", "x");
        config.seed = Some(seed);
        let mut c = ClientEngine::new(config);
        let obj = c.create_lock_object(ObjectKind::SessionManager);
        c.sign_in(Duration::ZERO).unwrap();
        while c.poll_output().is_some() {}
        c.connected(1, Duration::ZERO);
        let upper: Vec<u8> = bytes.iter().map(u8::to_ascii_uppercase).collect();
        c.receive(1, &upper, Duration::ZERO);
        let _ = c.request_challenge(obj, 1, Duration::ZERO);
        c.tick(Duration::from_secs(100));
        c.closed(1, Duration::from_secs(100));
        while c.poll_output().is_some() {}
        while c.poll_event().is_some() {}
        prop_assert_eq!(c.state(), ClientState::Offline);
    }
}
