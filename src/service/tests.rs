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

/// Signs `user` in on a bare engine over connection `conn`, and drains the outputs.
fn signed_in(s: &mut ServiceEngine, conn: u64, user: &str) {
    s.open(conn, Duration::ZERO);
    for l in ["VER 1 MSNP7 CVR0\r\n", "INF 2\r\n"] {
        s.receive(conn, l.as_bytes(), Duration::ZERO);
    }
    s.receive(conn, format!("USR 3 MD5 I {user}\r\n").as_bytes(), Duration::ZERO);
    let salt = std::iter::from_fn(|| s.poll_output())
        .find_map(|o| match o {
            ServiceOutput::Send { cmd, .. } if cmd.name == "USR" => Some(cmd.args[3].clone()),
            _ => None,
        })
        .unwrap();
    let proof = md5_response(&salt, testkit::PASSWORD);
    s.receive(
        conn,
        format!("USR 4 MD5 S {proof}\r\nCHG 5 NLN\r\n").as_bytes(),
        Duration::ZERO,
    );
    while s.poll_output().is_some() {}
}

fn lines_of(out: &[ServiceOutput]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            ServiceOutput::Send { cmd, .. } => Some(cmd.line()),
            _ => None,
        })
        .collect()
}

#[test]
fn with_a_store_an_add_is_answered_once_durable_and_later_commands_wait() {
    let mut s = ServiceEngine::new(testkit::service_config(3));
    testkit::populate(&mut s);
    s.attach_store(super::Snapshot::default());
    signed_in(&mut s, 1, testkit::ALICE);
    s.receive(1, b"ADD 6 FL bob@example.com bob\r\nPNG\r\n", Duration::ZERO);
    let out: Vec<ServiceOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    let ticket = match out.as_slice() {
        [ServiceOutput::Persist { ticket, write }] => {
            assert_eq!(
                *write,
                super::Write::Entry {
                    owner: testkit::ALICE.into(),
                    list: "FL".into(),
                    contact: testkit::BOB.into()
                }
            );
            *ticket
        }
        other => panic!("expected only the write, got {other:?}"),
    };
    // Nothing is applied before the write is reported.
    assert!(s.directory().list(testkit::ALICE, "FL").is_empty());
    s.persisted(ticket, Ok(()), Duration::ZERO);
    let out: Vec<ServiceOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(lines_of(&out), ["ADD 6 FL 1 bob@example.com bob 0", "QNG"]);
    assert_eq!(s.directory().list(testkit::ALICE, "FL").len(), 1);
}

#[test]
fn a_failed_write_is_a_500_and_changes_nothing() {
    let mut s = ServiceEngine::new(testkit::service_config(3));
    testkit::populate(&mut s);
    s.attach_store(super::Snapshot::default());
    signed_in(&mut s, 1, testkit::ALICE);
    s.receive(1, b"ADD 6 AL bob@example.com bob\r\n", Duration::ZERO);
    let Some(ServiceOutput::Persist { ticket, .. }) = s.poll_output() else {
        panic!("a write first");
    };
    // A second ADD of the same entry while the first is on its way is refused.
    s.receive(1, b"ADD 7 AL bob@example.com bob\r\n", Duration::ZERO);
    assert_eq!(s.poll_output(), None, "the connection waits for its write");
    let disk_full = crate::error::Error::api(crate::hresult::HResult::E_FAIL, "disk full");
    s.persisted(ticket, Err(disk_full), Duration::ZERO);
    let out: Vec<ServiceOutput> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(lines_of(&out[..1]), ["500 6"]);
    assert!(
        matches!(out[1], ServiceOutput::Persist { .. }),
        "the second ADD tries again: {out:?}"
    );
    assert!(s.directory().list(testkit::ALICE, "AL").is_empty());
}

#[test]
fn a_write_reported_after_its_connection_closed_answers_nobody() {
    let disk_full = || crate::error::Error::api(crate::hresult::HResult::E_FAIL, "disk full");
    for (outcome, kept) in [(Ok(()), 1), (Err(disk_full()), 0)] {
        let mut s = ServiceEngine::new(testkit::service_config(3));
        testkit::populate(&mut s);
        s.attach_store(super::Snapshot::default());
        signed_in(&mut s, 1, testkit::ALICE);
        s.receive(1, b"ADD 6 FL bob@example.com bob\r\n", Duration::ZERO);
        let Some(ServiceOutput::Persist { ticket, .. }) = s.poll_output() else {
            panic!("a write first");
        };
        s.closed(1, Duration::ZERO);
        while s.poll_output().is_some() {}
        s.persisted(ticket, outcome, Duration::ZERO);
        assert_eq!(s.poll_output(), None, "nothing for the closed connection");
        assert_eq!(s.directory().list(testkit::ALICE, "FL").len(), kept);
    }
}

#[test]
fn owner_operations_wait_for_their_writes_too() {
    let mut s = ServiceEngine::new(testkit::service_config(3));
    s.attach_store(super::Snapshot::default());
    s.add_user("carol@example.com", "pw", None).unwrap();
    assert_eq!(s.admin_outcome(), None);
    assert!(s.directory().account("carol@example.com").is_none());
    // The same account again, while the first is on its way, is refused as a duplicate.
    assert!(s.add_user("carol@example.com", "pw", None).is_err());
    let Some(ServiceOutput::Persist { ticket, .. }) = s.poll_output() else {
        panic!("a write");
    };
    s.persisted(ticket, Ok(()), Duration::ZERO);
    assert_eq!(s.admin_outcome(), Some(Ok(())));
    assert!(s.directory().account("carol@example.com").is_some());
}
