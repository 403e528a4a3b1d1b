//! The service engine alone, fed raw bytes.

use std::time::Duration;

use proptest::prelude::*;

use super::{ServiceEngine, ServiceOutput};
use crate::testkit::{self, noise, Side};
use crate::wire::challenge::md5_response;

#[test]
fn an_unanswered_ping_ends_the_connection() {
    let mut s = ServiceEngine::new(testkit::service_config(1));
    s.add_user("bob@example.com", "pw", None).unwrap();
    s.open(1, Duration::ZERO);
    for l in ["VER 1 MSNP7 CVR0\r\n", "INF 2\r\n", "USR 3 MD5 I bob@example.com\r\n"] {
        s.receive(1, l.as_bytes(), Duration::ZERO);
    }
    let mut salt = String::new();
    while let Some(o) = s.poll_output() {
        if let ServiceOutput::Send { cmd, .. } = o {
            if cmd.name == "USR" {
                salt = cmd.args[3].clone();
            }
        }
    }
    let proof = md5_response(&salt, "pw");
    s.receive(
        1,
        format!("USR 4 MD5 S {proof}\r\nCHG 5 NLN\r\n").as_bytes(),
        Duration::ZERO,
    );
    while s.poll_output().is_some() {}
    assert_eq!(s.next_deadline(), Some(Duration::from_secs(50)));
    s.tick(Duration::from_secs(50));
    let out: Vec<ServiceOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(
        out[0],
        ServiceOutput::Send {
            conn: 1,
            cmd: crate::proto::ns::error(540, 5)
        }
    );
    assert_eq!(out[1], ServiceOutput::Close { conn: 1 });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Up to a dozen connections of garbage, in arbitrary chunks, never panic the
    /// service, and a well-behaved client still signs in afterwards.
    #[test]
    fn garbage_from_clients_never_panics_and_others_are_still_served(
        conns in prop::collection::vec((noise::stream(), any::<prop::sample::Index>(), any::<bool>()), 1..12),
    ) {
        let hub = testkit::hub(9);
        {
            let mut w = hub.lock().unwrap();
            let s = w.service_mut();
            for (i, (bytes, cut, close)) in conns.iter().enumerate() {
                let conn = 1000 + i as u64;
                let now = Duration::from_millis(i as u64 * 37);
                s.open(conn, now);
                let cut = cut.index(bytes.len() + 1);
                s.receive(conn, &bytes[..cut], now);
                s.receive(conn, &bytes[cut..], now);
                s.tick(now);
                if *close {
                    s.closed(conn, now);
                }
                while s.poll_output().is_some() {}
            }
        }
        let bob = Side::embedded(&hub, testkit::BOB, None);
        prop_assert!(bob.sign_in().is_ok());
    }
}
