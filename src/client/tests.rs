//! The client engine alone, fed raw bytes by a hostile server.

use std::time::Duration;

use proptest::prelude::*;

use super::{ClientConfig, ClientEngine, ClientState, ObjectKind};
use crate::session::SessionState;
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

#[test]
fn every_event_is_in_the_catalogue_once() {
    use super::ClientEvent as E;
    use crate::error::Error;
    use crate::hresult::HResult;
    let s = SessionState::Ready;
    let every = [
        E::SignedIn,
        E::SignInFailed {
            error: Error::from(HResult::E_FAIL),
        },
        E::SignedOut {
            reason: super::SignOutReason::User,
        },
        E::LockEnable { obj: 1, enabled: true },
        E::LockChallenge {
            obj: 1,
            cookie: 1,
            challenge: String::new(),
        },
        E::LockResult {
            obj: 1,
            cookie: 1,
            succeeded: true,
        },
        E::LockStatusChanged {
            obj: 1,
            status: crate::lock::LockStatus::Unlocked,
        },
        E::Invitation {
            obj: 1,
            session: 2,
            app_data: None,
        },
        E::AppRegistered {
            obj: 1,
            guid: String::new(),
        },
        E::AppUnregistered {
            obj: 1,
            guid: String::new(),
        },
        E::AppShutdown { obj: 1 },
        E::StateChanged { obj: 1, prev: s },
        E::AppNotPresent {
            obj: 1,
            name: String::new(),
            url: String::new(),
        },
        E::Accepted { obj: 1, app_data: None },
        E::Declined { obj: 1, app_data: None },
        E::Cancelled { obj: 1, app_data: None },
        E::Termination {
            obj: 1,
            hr: 0,
            app_data: None,
        },
        E::ReadyToLaunch { obj: 1 },
        E::ContextData {
            obj: 1,
            data: String::new(),
        },
        E::SendError {
            obj: 1,
            hr: HResult::E_FAIL,
        },
        E::BeforeAppLaunch { obj: 1 },
        E::ContactListAdd {
            obj: 1,
            hr: HResult::S_OK,
            contact: None,
        },
        E::AlertReceived {
            obj: 1,
            alert: String::new(),
        },
    ];
    let names: Vec<&str> = every.iter().map(E::name).collect();
    let catalogue: Vec<&str> = E::CATALOGUE.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, catalogue);
}
