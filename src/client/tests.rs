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

/// A client engine signed in against a scripted server that turns Lock and Key off, with
/// an unlocked session manager that has the test application.
fn scripted_signed_in() -> (ClientEngine, u64) {
    use crate::testkit::GUID;
    let mut c = ClientEngine::new(ClientConfig::new("a@example.com", "pw", "x"));
    let manager = c.create_lock_object(ObjectKind::SessionManager);
    c.sign_in(Duration::ZERO).unwrap();
    c.connected(1, Duration::ZERO);
    let profile =
        "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nX-Msgr-LockAndKey: off\r\n\r\n";
    let script = format!(
        "VER 1 MSNP7\r\nINF 2 MD5\r\nUSR 3 MD5 S salt\r\nUSR 4 OK a@example.com A 1\r\nMSG Hotmail Hotmail {}\r\n{profile}CHG 6 NLN\r\n",
        profile.len()
    );
    c.receive(1, script.as_bytes(), Duration::ZERO);
    assert_eq!(c.state(), ClientState::SignedIn);
    c.register_application(manager, GUID, "App", "", "/x", 0).unwrap();
    while c.poll_output().is_some() {}
    while c.poll_event().is_some() {}
    (c, manager)
}

#[test]
fn signing_out_while_an_invitation_waits_for_its_switchboard_fails_it() {
    use crate::client::Waiting;
    use crate::hresult::HResult;
    let (mut c, manager) = scripted_signed_in();
    let s = c.create_session(manager).unwrap();
    c.set_application(s, crate::testkit::GUID).unwrap();
    c.invite(s, "b@example.com", None, Duration::ZERO).unwrap();
    // XFR sent, never answered: the invitation is being sent.
    assert_eq!(c.session(s).unwrap().phase, crate::session::Phase::Sending);
    assert!(!c.outcome_known(Waiting::Invite(s)));
    c.sign_out(Duration::ZERO);
    let outcome = c.take_outcome(Waiting::Invite(s)).expect("decided");
    assert_eq!(outcome.unwrap_err().hresult(), HResult::MSGR_E_NOT_LOGGED_ON);
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
}

#[test]
fn an_invitation_that_fails_after_its_caller_gave_up_is_a_send_error() {
    use crate::client::{ClientEvent, Waiting};
    use crate::hresult::HResult;
    let (mut c, manager) = scripted_signed_in();
    let s = c.create_session(manager).unwrap();
    c.set_application(s, crate::testkit::GUID).unwrap();
    c.invite(s, "b@example.com", None, Duration::ZERO).unwrap();
    c.abandon(Waiting::Invite(s));
    // The notification server refuses the switchboard.
    let xfr_trid = 7;
    c.receive(1, format!("913 {xfr_trid}\r\n").as_bytes(), Duration::ZERO);
    let events: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
    assert!(
        events.contains(&ClientEvent::SendError {
            obj: s,
            hr: HResult::SR_INVITATION_SEND_FAILURE
        }),
        "{events:?}"
    );
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
}
