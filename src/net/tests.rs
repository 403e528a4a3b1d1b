//! The engines over real sockets on 127.0.0.1 (the shared kit: [`crate::testkit`]). Every
//! wait is bounded, and each test body runs under a watchdog so a bug fails the test
//! instead of hanging the suite.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant as StdInstant};

use super::NetError;
use crate::client::{ClientEvent, SignOutReason};
use crate::driver::Driver;
use crate::hresult::HResult;
use crate::session::SessionState;
use crate::testkit::{self, Side, ALICE, BOB, WAIT};
use crate::wire::Direction;

/// Runs `body` on a thread and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("test body panicked"),
    }
}

fn close(side: &Side) {
    if let Driver::Tcp(client) = &side.driver {
        client.close();
    }
}

fn state(side: &Side, obj: u64) -> SessionState {
    side.read(|e| e.session(obj).map(|s| s.state())).unwrap()
}

#[test]
fn sign_in_unlock_invite_accept_and_exchange_context_data() {
    within(Duration::from_secs(60), || {
        let server = testkit::server(5);
        let (a, b) = (Side::tcp(&server, ALICE), Side::tcp(&server, BOB));
        a.sign_in().unwrap();
        b.sign_in().unwrap();
        assert!(server.with_engine(|e| e.is_online(ALICE) && e.is_online(BOB)));
        let (ma, _mb) = (a.ready_manager(), b.ready_manager());

        let sa = a.new_session(ma);
        a.invite(sa, BOB, Some("hello")).unwrap();
        assert_eq!(state(&a, sa), SessionState::Invitation);
        let sb = b.next(|e| match e {
            ClientEvent::Invitation { session, app_data, .. } => {
                assert_eq!(app_data.as_deref(), Some("hello"));
                Some(*session)
            }
            _ => None,
        });

        b.call(|e, now| e.accept(sb, Some("yes"), now)).unwrap();
        b.next(|e| (*e == ClientEvent::BeforeAppLaunch { obj: sb }).then_some(()));
        b.call(|e, _| e.launch_decided(sb, true, None)).unwrap();
        a.until("alice connected", |e| {
            e.session(sa).is_ok_and(|s| s.state() == SessionState::Connected)
        });
        b.until("bob connected", |e| {
            e.session(sb).is_ok_and(|s| s.state() == SessionState::Connected)
        });
        assert_eq!(a.read(|e| e.remote_address(sa)).unwrap().as_deref(), Some("127.0.0.1"));

        a.call(|e, now| e.send_context_data(sa, "ctx-1", now)).unwrap();
        let got = b.next(|e| match e {
            ClientEvent::ContextData { obj, data } if *obj == sb => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got, "ctx-1");
        b.call(|e, now| e.send_context_data(sb, "ctx-2", now)).unwrap();
        let got = a.next(|e| match e {
            ClientEvent::ContextData { obj, data } if *obj == sa => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got, "ctx-2");

        // The trace holds real MSNP, both ways, and the switchboard dance happened.
        let names = |d: Direction| -> Vec<String> {
            a.driver.with_trace(|t| {
                t.iter()
                    .filter(|e| e.direction == d)
                    .map(|e| e.cmd.name.clone())
                    .collect()
            })
        };
        for n in ["VER", "USR", "XFR", "CAL", "MSG"] {
            assert!(names(Direction::ClientToServer).contains(&n.to_string()), "{n} sent");
        }
        for n in ["VER", "XFR", "JOI", "MSG"] {
            assert!(
                names(Direction::ServerToClient).contains(&n.to_string()),
                "{n} received"
            );
        }
        close(&a);
        close(&b);
        server.shutdown();
    });
}

#[test]
fn a_wrong_password_fails_the_sign_in() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        let a = Side::tcp(&server, ALICE);
        a.set_password("nope");
        match a.sign_in() {
            Err(NetError::Core(e)) => assert_eq!(e.hresult(), HResult::SR_AUTHENTICATION_FAILED),
            other => panic!("expected an authentication failure, got {other:?}"),
        }
        // The same client signs in once given the right password.
        a.set_password(testkit::PASSWORD);
        a.sign_in().unwrap();
        close(&a);
    });
}

#[test]
fn inviting_an_offline_user_fails_like_embedded() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        server
            .with_engine(|e| e.add_user("carol@example.com", "pw", None))
            .unwrap();
        let a = Side::tcp(&server, ALICE);
        a.sign_in().unwrap();
        let sa = a.new_session(a.ready_manager());
        match a.invite(sa, "carol@example.com", None) {
            Err(NetError::Core(e)) => assert_eq!(e.hresult(), HResult::MSGR_E_NOT_LOGGED_ON),
            other => panic!("expected NOT_LOGGED_ON, got {other:?}"),
        }
        assert_eq!(state(&a, sa), SessionState::Ready);
        // The failure was the call's error, not an event.
        assert!(!a.events().iter().any(|e| matches!(e, ClientEvent::SendError { .. })));
    });
}

#[test]
fn shutting_the_server_down_signs_clients_out() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        let a = Side::tcp(&server, ALICE);
        a.sign_in().unwrap();
        a.events();
        server.shutdown();
        let reason = a.next(|e| match e {
            ClientEvent::SignedOut { reason } => Some(*reason),
            _ => None,
        });
        assert_eq!(reason, SignOutReason::ServerShutdown);
        // Nothing listens any more: a new sign-in fails instead of hanging.
        assert!(a.sign_in().is_err());
        server.shutdown(); // idempotent
    });
}

#[test]
fn a_client_closing_signs_it_out_on_the_server() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        let a = Side::tcp(&server, ALICE);
        a.sign_in().unwrap();
        close(&a);
        let deadline = StdInstant::now() + WAIT;
        while server.with_engine(|e| e.is_online(ALICE)) {
            assert!(StdInstant::now() < deadline, "alice is still online");
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

#[test]
fn unframeable_input_is_closed_cleanly() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        let mut raw = std::net::TcpStream::connect(server.local_addr()).unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        // One line longer than the decoder's limit, never terminated.
        let junk = vec![b'A'; 64 * 1024];
        let _ = raw.write_all(&junk);
        let mut buf = [0u8; 64];
        let n = raw.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "the server closes the connection");
        // The server itself is unharmed.
        Side::tcp(&server, ALICE).sign_in().unwrap();
    });
}

#[test]
fn a_closed_client_fails_fast_instead_of_waiting() {
    within(Duration::from_secs(30), || {
        let server = testkit::server(5);
        let a = Side::tcp(&server, ALICE);
        close(&a);
        let started = StdInstant::now();
        match a.sign_in() {
            Err(NetError::Core(e)) => {
                assert_eq!(e.hresult(), HResult::SR_CONNECTION_FAILURE);
                assert!(e.to_string().contains("the network client is closed"), "{e}");
            }
            other => panic!("expected SR_CONNECTION_FAILURE, got {other:?}"),
        }
        assert!(!a.driver.wait_events(WAIT) || !a.driver.take_events().is_empty());
        assert!(started.elapsed() < WAIT, "nothing waited for the timeout");
    });
}

#[test]
fn an_outbox_refuses_bytes_past_its_bound() {
    let (outbox, _inbox) = super::conn::outbox();
    assert!(outbox.push(vec![0; super::conn::MAX_QUEUED_BYTES]));
    assert!(!outbox.push(vec![0]), "a peer that does not read is cut off");
}

#[test]
fn with_a_store_an_add_is_confirmed_only_once_written() {
    within(Duration::from_secs(30), || {
        let dir = std::env::temp_dir().join(format!("msgr-net-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sqlite");
        let _ = std::fs::remove_file(&path);
        let server = testkit::server(5);
        server.attach_store(&path).unwrap();
        server.admin(|e| e.add_user("carol@example.com", "pw", None)).unwrap();
        let a = Side::tcp(&server, ALICE);
        a.sign_in().unwrap();
        let p = a.unlocked(crate::client::ObjectKind::MessengerPriv);
        a.call(|c, _| c.add_contact(p, Some("carol@example.com"))).unwrap();
        let hr = a.next(|e| match e {
            ClientEvent::ContactListAdd { hr, .. } => Some(*hr),
            _ => None,
        });
        assert_eq!(hr, HResult::S_OK);
        // Confirmed means on disk: a second reader sees it.
        let snap = crate::store::Store::open(&path).unwrap().load().unwrap();
        assert!(snap.accounts.iter().any(|x| x.sign_in_name == "carol@example.com"));
        assert!(snap
            .entries
            .contains(&(ALICE.to_string(), "FL".to_string(), "carol@example.com".to_string())));
        close(&a);
        server.shutdown();
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn writes_queued_at_shutdown_reach_the_file_before_it_returns() {
    let dir = std::env::temp_dir().join(format!("msgr-net-drain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.sqlite");
    let _ = std::fs::remove_file(&path);
    let server = testkit::server(5);
    server.attach_store(&path).unwrap();
    // Queued for the writer thread, not waited for (as a sign-in's rehash is).
    for n in 0..300 {
        server
            .with_engine(|e| e.add_user(&format!("user{n}@example.com"), "pw", None))
            .unwrap();
    }
    server.shutdown();
    let snap = crate::store::Store::open(&path).unwrap().load().unwrap();
    assert_eq!(
        snap.accounts
            .iter()
            .filter(|a| a.sign_in_name.starts_with("user"))
            .count(),
        300
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_server_is_a_connection_failure_with_the_system_error() {
    within(Duration::from_secs(30), || {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = crate::client::ClientConfig::new(ALICE, "pw", &format!("127.0.0.1:{port}"));
        let side = Side::tcp_with(config);
        match side.sign_in() {
            Err(NetError::Unreachable { error, io }) => {
                assert_eq!(error.hresult(), HResult::SR_CONNECTION_FAILURE);
                assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
                assert!(error.to_string().contains(&format!("127.0.0.1:{port}")), "{error}");
            }
            other => panic!("expected Unreachable, got {other:?}"),
        }
    });
}

#[test]
fn a_store_from_an_msnp7_service_is_rehashed_by_one_without_it() {
    let dir = std::env::temp_dir().join(format!("msgr-rehash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("r.sqlite");
    let _ = std::fs::remove_file(&path);
    {
        let server = crate::net::Server::bind("127.0.0.1:0", testkit::service_config(1)).unwrap();
        server.attach_store(&path).unwrap();
        server.admin(|e| e.add_user(ALICE, "pw-a", None)).unwrap();
    }
    let mut config = testkit::service_config(1);
    config.dialects = vec![crate::proto::Dialect::Msnp11];
    let server = crate::net::Server::bind("127.0.0.1:0", config).unwrap();
    server.attach_store(&path).unwrap();
    let snap = crate::store::Store::open(&path).unwrap().load().unwrap();
    assert!(snap.accounts[0].password.is_hashed(), "{:?}", snap.accounts);
    assert!(server.with_engine(|e| e.directory().account(ALICE).unwrap().password.is_hashed()));
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads a raw socket until the server closes it (bounded); what it said.
fn read_until_closed(mut sock: std::net::TcpStream) -> Vec<u8> {
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let mut said = Vec::new();
    let _ = sock.read_to_end(&mut said);
    said
}

#[test]
fn a_connection_past_a_cap_is_told_the_server_is_busy_then_closed() {
    within(Duration::from_secs(30), || {
        for (total, per_address) in [(1, 64), (64, 1)] {
            let mut config = testkit::service_config(5);
            config.limits.max_connections = Some(total);
            config.limits.max_per_address = per_address;
            let server = super::Server::bind("127.0.0.1:0", config).unwrap();
            server.with_engine(testkit::populate);
            // The one place taken by a signed-in user (a full server gives up only
            // connections that have not signed in), or the address's share by a socket.
            let bob = Side::tcp(&server, BOB);
            let first = if total == 1 {
                bob.sign_in().unwrap();
                None
            } else {
                Some(std::net::TcpStream::connect(server.local_addr()).unwrap())
            };
            let mut second = std::net::TcpStream::connect(server.local_addr()).unwrap();
            // What a client sends at once does not turn the close into a reset.
            second.write_all(b"VER 1 MSNP7 CVR0\r\n").unwrap();
            assert_eq!(read_until_closed(second), super::server::REFUSAL);
            // msgr's own client reads it as a connection failure that says why.
            match Side::tcp(&server, ALICE).sign_in() {
                Err(NetError::Core(error)) => {
                    assert_eq!(error.hresult(), HResult::SR_CONNECTION_FAILURE);
                    assert!(error.to_string().contains("600 (server busy)"), "{error}");
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
            drop(first);
            close(&bob);
        }
    });
}

#[test]
fn a_full_server_gives_up_a_socket_that_never_signed_in_for_a_newcomer() {
    within(Duration::from_secs(30), || {
        let mut config = testkit::service_config(5);
        config.limits.max_connections = Some(3);
        let server = super::Server::bind("127.0.0.1:0", config).unwrap();
        server.with_engine(testkit::populate);
        let bob = Side::tcp(&server, BOB);
        bob.sign_in().unwrap();
        let oldest = std::net::TcpStream::connect(server.local_addr()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let newer = std::net::TcpStream::connect(server.local_addr()).unwrap();
        // Full: Bob and two sockets that never signed in. Alice still gets in, in the
        // place of the one open longest.
        let alice = Side::tcp(&server, ALICE);
        alice.sign_in().unwrap();
        let started = std::time::Instant::now();
        assert!(read_until_closed(oldest).is_empty(), "closed without a word");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "closed at once, not at its time-out"
        );
        newer.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let mut byte = [0u8; 1];
        let still_open = matches!((&newer).read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut);
        assert!(still_open, "the newer one keeps its place");
        assert!(server.with_engine(|e| e.is_online(ALICE) && e.is_online(BOB)));
        close(&alice);
        close(&bob);
    });
}
