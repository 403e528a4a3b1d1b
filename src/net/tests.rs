//! The engines over real sockets on 127.0.0.1. Every wait is bounded, and each test body
//! runs under a watchdog so a bug fails the test instead of hanging the suite.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant as StdInstant};

use super::{Client, NetError, Server};
use crate::client::{ClientConfig, ClientEvent, ObjId, ObjectKind, SignOutReason};
use crate::hresult::HResult;
use crate::service::ServiceConfig;
use crate::session::SessionState;
use crate::wire::challenge::md5_response;
use crate::wire::Direction;

const APP: &str = "testapp@msnmsgr.com";
const KEY: &str = "TESTKEY123";
const GUID: &str = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const WAIT: Duration = Duration::from_secs(10);

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

fn server() -> Server {
    let mut config = ServiceConfig::new();
    config.seed = Some(5);
    let server = Server::bind("127.0.0.1:0", config).unwrap();
    server.with_engine(|e| {
        e.add_user(ALICE, "pw", Some("Alice A")).unwrap();
        e.add_user(BOB, "pw", None).unwrap();
        e.license(APP, KEY).unwrap();
    });
    server
}

fn client(server: &Server, email: &str, password: &str) -> Client {
    Client::new(ClientConfig {
        sign_in_name: email.to_string(),
        password: password.to_string(),
        ns_address: server.local_addr().to_string(),
        local_ip: "127.0.0.1".to_string(),
        seed: Some(9),
        dialects: crate::proto::Dialect::IMPLEMENTED.to_vec(),
    })
    .unwrap()
}

/// The first event `pick` accepts (others are dropped), waiting at most [`WAIT`].
fn next<T>(c: &Client, mut pick: impl FnMut(&ClientEvent) -> Option<T>) -> T {
    let deadline = StdInstant::now() + WAIT;
    loop {
        if let Some(found) = c.take_events().iter().find_map(&mut pick) {
            return found;
        }
        let left = deadline.saturating_duration_since(StdInstant::now());
        assert!(!left.is_zero(), "the event did not arrive within {WAIT:?}");
        c.wait_events(left);
    }
}

/// Waits until `check` holds on the client's engine state.
fn until(c: &Client, what: &str, check: impl Fn(&crate::client::ClientEngine) -> bool) {
    let deadline = StdInstant::now() + WAIT;
    while !c.read(&check) {
        let left = deadline.saturating_duration_since(StdInstant::now());
        assert!(!left.is_zero(), "{what} did not happen within {WAIT:?}");
        // Engine state only changes in steps, and every step notifies waiters.
        c.wait_events(left.min(Duration::from_millis(50)));
    }
}

fn unlock(c: &Client) -> ObjId {
    let obj = c.call(|e, _| e.create_lock_object(ObjectKind::SessionManager));
    c.call(|e, now| e.request_challenge(obj, 7, now)).unwrap();
    let challenge = next(c, |e| match e {
        ClientEvent::LockChallenge { challenge, .. } => Some(challenge.clone()),
        _ => None,
    });
    let response = md5_response(&challenge, KEY);
    c.call(|e, now| e.send_response(obj, APP, &response, 7, now)).unwrap();
    let ok = next(c, |e| match e {
        ClientEvent::LockResult { succeeded, .. } => Some(*succeeded),
        _ => None,
    });
    assert!(ok, "the licensed pair unlocks");
    c.call(|e, _| e.register_application(obj, GUID, "Test App", "http://example.com/app", "/opt/app", 0))
        .unwrap();
    obj
}

fn state(c: &Client, obj: ObjId) -> SessionState {
    c.read(|e| e.session(obj).map(|s| s.state())).unwrap()
}

#[test]
fn sign_in_unlock_invite_accept_and_exchange_context_data() {
    within(Duration::from_secs(60), || {
        let server = server();
        let (a, b) = (client(&server, ALICE, "pw"), client(&server, BOB, "pw"));
        a.sign_in(None, WAIT).unwrap();
        b.sign_in(None, WAIT).unwrap();
        assert!(server.with_engine(|e| e.is_online(ALICE) && e.is_online(BOB)));
        let (ma, _mb) = (unlock(&a), unlock(&b));

        let sa = a.call(|e, _| e.create_session(ma)).unwrap();
        a.call(|e, _| e.set_application(sa, GUID)).unwrap();
        a.invite(sa, BOB, Some("hello"), WAIT).unwrap();
        assert_eq!(state(&a, sa), SessionState::Invitation);
        let sb = next(&b, |e| match e {
            ClientEvent::Invitation { session, app_data, .. } => {
                assert_eq!(app_data.as_deref(), Some("hello"));
                Some(*session)
            }
            _ => None,
        });

        b.call(|e, now| e.accept(sb, Some("yes"), now)).unwrap();
        next(&b, |e| (*e == ClientEvent::BeforeAppLaunch { obj: sb }).then_some(()));
        b.call(|e, _| e.launch_decided(sb, true, None)).unwrap();
        until(&a, "alice connected", |e| {
            e.session(sa).is_ok_and(|s| s.state() == SessionState::Connected)
        });
        until(&b, "bob connected", |e| {
            e.session(sb).is_ok_and(|s| s.state() == SessionState::Connected)
        });
        assert_eq!(a.read(|e| e.remote_address(sa)).unwrap().as_deref(), Some("127.0.0.1"));

        a.call(|e, now| e.send_context_data(sa, "ctx-1", now)).unwrap();
        let got = next(&b, |e| match e {
            ClientEvent::ContextData { obj, data } if *obj == sb => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got, "ctx-1");
        b.call(|e, now| e.send_context_data(sb, "ctx-2", now)).unwrap();
        let got = next(&a, |e| match e {
            ClientEvent::ContextData { obj, data } if *obj == sa => Some(data.clone()),
            _ => None,
        });
        assert_eq!(got, "ctx-2");

        // The trace holds real MSNP, both ways, and the switchboard dance happened.
        let trace = a.trace_from(0);
        let names = |d: Direction| -> Vec<String> {
            trace
                .iter()
                .filter(|t| t.direction == d)
                .map(|t| t.cmd.name.clone())
                .collect()
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
        a.close();
        b.close();
        server.shutdown();
    });
}

#[test]
fn a_wrong_password_fails_the_sign_in() {
    within(Duration::from_secs(30), || {
        let server = server();
        let a = client(&server, ALICE, "nope");
        match a.sign_in(None, WAIT) {
            Err(NetError::Core(e)) => assert_eq!(e.hresult(), HResult::SR_AUTHENTICATION_FAILED),
            other => panic!("expected an authentication failure, got {other:?}"),
        }
        // The same client signs in once given the right password.
        a.sign_in(Some("pw"), WAIT).unwrap();
        a.close();
    });
}

#[test]
fn inviting_an_offline_user_fails_like_embedded() {
    within(Duration::from_secs(30), || {
        let server = server();
        server
            .with_engine(|e| e.add_user("carol@example.com", "pw", None))
            .unwrap();
        let a = client(&server, ALICE, "pw");
        a.sign_in(None, WAIT).unwrap();
        let ma = unlock(&a);
        let sa = a.call(|e, _| e.create_session(ma)).unwrap();
        a.call(|e, _| e.set_application(sa, GUID)).unwrap();
        match a.invite(sa, "carol@example.com", None, WAIT) {
            Err(NetError::Core(e)) => assert_eq!(e.hresult(), HResult::MSGR_E_NOT_LOGGED_ON),
            other => panic!("expected NOT_LOGGED_ON, got {other:?}"),
        }
        assert_eq!(state(&a, sa), SessionState::Ready);
        // The failure was the call's error, not an event.
        assert!(!a
            .take_events()
            .iter()
            .any(|e| matches!(e, ClientEvent::InviteFailed { .. })));
    });
}

#[test]
fn shutting_the_server_down_signs_clients_out() {
    within(Duration::from_secs(30), || {
        let server = server();
        let a = client(&server, ALICE, "pw");
        a.sign_in(None, WAIT).unwrap();
        a.take_events();
        server.shutdown();
        let reason = next(&a, |e| match e {
            ClientEvent::SignedOut { reason } => Some(*reason),
            _ => None,
        });
        assert_eq!(reason, SignOutReason::ServerShutdown);
        // Nothing listens any more: a new sign-in fails instead of hanging.
        assert!(a.sign_in(None, WAIT).is_err());
        server.shutdown(); // idempotent
    });
}

#[test]
fn a_client_closing_signs_it_out_on_the_server() {
    within(Duration::from_secs(30), || {
        let server = server();
        let a = client(&server, ALICE, "pw");
        a.sign_in(None, WAIT).unwrap();
        a.close();
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
        let server = server();
        let mut raw = std::net::TcpStream::connect(server.local_addr()).unwrap();
        raw.set_read_timeout(Some(WAIT)).unwrap();
        // One line longer than the decoder's limit, never terminated.
        let junk = vec![b'A'; 64 * 1024];
        let _ = raw.write_all(&junk);
        let mut buf = [0u8; 64];
        let n = raw.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "the server closes the connection");
        // The server itself is unharmed.
        let a = client(&server, ALICE, "pw");
        a.sign_in(None, WAIT).unwrap();
    });
}

#[test]
fn a_closed_client_fails_fast_instead_of_waiting() {
    within(Duration::from_secs(30), || {
        let server = server();
        let a = client(&server, ALICE, "pw");
        a.close();
        let started = StdInstant::now();
        match a.sign_in(None, WAIT) {
            Err(NetError::Core(e)) => assert_eq!(e.hresult(), HResult::E_FAIL),
            other => panic!("expected E_FAIL, got {other:?}"),
        }
        assert!(!a.wait_events(WAIT) || !a.take_events().is_empty());
        assert!(started.elapsed() < WAIT, "nothing waited for the timeout");
    });
}

#[test]
fn an_outbox_refuses_bytes_past_its_bound() {
    let (outbox, _inbox) = super::conn::outbox();
    assert!(outbox.push(vec![0; super::conn::MAX_QUEUED_BYTES]));
    assert!(!outbox.push(vec![0]), "a peer that does not read is cut off");
}
