//! The client engine alone, fed raw bytes by a hostile server.

use std::time::Duration;

use proptest::prelude::*;

use super::{ClientConfig, ClientEngine, ClientEvent, ClientOutput, ClientState, LockMode, ObjectKind};
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
    let contact = super::ContactInfo {
        sign_in_name: "b@example.com".into(),
        friendly_name: None,
        status: None,
        personal_message: None,
        groups: Vec::new(),
    };
    let group = super::GroupInfo {
        id: "1".into(),
        name: String::new(),
    };
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
        E::TextReceived {
            sender: String::new(),
            text: String::new(),
        },
        E::MyStatusChange {
            hr: HResult::S_OK,
            status: String::new(),
        },
        E::MyFriendlyNameChange {
            hr: HResult::S_OK,
            previous: String::new(),
        },
        E::MyPersonalMessageChange {
            hr: HResult::S_OK,
            previous: String::new(),
        },
        E::ContactStatusChange {
            contact: contact.clone(),
            previous: String::new(),
        },
        E::ContactPersonalMessageChange {
            contact: contact.clone(),
        },
        E::GroupAdded {
            hr: HResult::S_OK,
            group: None,
        },
        E::GroupRemoved {
            hr: HResult::S_OK,
            group: group.clone(),
        },
        E::GroupNameChanged {
            hr: HResult::S_OK,
            group: group.clone(),
        },
        E::ContactAddedToGroup {
            hr: HResult::S_OK,
            group: group.clone(),
            contact: contact.clone(),
        },
        E::ContactRemovedFromGroup {
            hr: HResult::S_OK,
            group,
            contact,
        },
    ];
    let names: Vec<&str> = every.iter().map(E::name).collect();
    let catalogue: Vec<&str> = E::CATALOGUE.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, catalogue);
}

/// The lines of a legacy MSNP7 sign-in (`VER` to `USR OK`), as TrIDs 1 to 4 take them.
const LEGACY_SIGN_IN: &str = "VER 1 MSNP7\r\nINF 2 MD5\r\nUSR 3 MD5 S salt\r\nUSR 4 OK a@example.com A 1\r\n";

/// A client engine with a session manager, signed in against a scripted server: the
/// legacy lines, the profile message with `header` (none: no profile message at all,
/// as legacy servers send), then the echo of `CHG 6` (`SYN` is 5).
fn scripted(config: ClientConfig, header: Option<&str>) -> (ClientEngine, u64) {
    let mut c = ClientEngine::new(config);
    let manager = c.create_lock_object(ObjectKind::SessionManager);
    c.sign_in(Duration::ZERO).unwrap();
    c.connected(1, Duration::ZERO);
    let mut script = LEGACY_SIGN_IN.to_string();
    if let Some(header) = header {
        let profile = format!(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nX-Msgr-LockAndKey: {header}\r\n\r\n"
        );
        script += &format!("MSG Hotmail Hotmail {}\r\n{profile}", profile.len());
    }
    script += "CHG 6 NLN\r\n";
    c.receive(1, script.as_bytes(), Duration::ZERO);
    assert_eq!(c.state(), ClientState::SignedIn);
    (c, manager)
}

fn config_with(mode: LockMode) -> ClientConfig {
    let mut config = ClientConfig::new("a@example.com", "pw", "x");
    config.seed = Some(3);
    config.lock_mode = mode;
    config
}

/// A client engine signed in against a scripted server that turns Lock and Key off, with
/// an unlocked session manager that has the test application.
fn scripted_signed_in() -> (ClientEngine, u64) {
    use crate::testkit::GUID;
    let (mut c, manager) = scripted(ClientConfig::new("a@example.com", "pw", "x"), Some("off"));
    c.register_application(manager, GUID, "App", "", "/x", 0).unwrap();
    while c.poll_output().is_some() {}
    while c.poll_event().is_some() {}
    (c, manager)
}

fn drain_events(c: &mut ClientEngine) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn drain_outputs(c: &mut ClientEngine) -> Vec<ClientOutput> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

/// The lines the client sent, as text.
fn sent_lines(outputs: &[ClientOutput]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            ClientOutput::Send { cmd, .. } => Some(String::from_utf8_lossy(&cmd.encode()).trim_end().to_string()),
            _ => None,
        })
        .collect()
}

/// The outputs for connection `conn`.
fn on_conn(outputs: &[ClientOutput], conn: u64) -> Vec<ClientOutput> {
    let on = |o: &&ClientOutput| match o {
        ClientOutput::Send { conn: c, .. }
        | ClientOutput::Close { conn: c }
        | ClientOutput::Connect { conn: c, .. } => *c == conn,
        _ => false,
    };
    outputs.iter().filter(on).cloned().collect()
}

#[test]
fn signing_out_while_an_invitation_waits_for_its_switchboard_fails_it() {
    use crate::client::Waiting;
    use crate::hresult::HResult;
    let (mut c, s) = invite_sent();
    // XFR sent, never answered: the invitation is being sent.
    assert_eq!(c.session(s).unwrap().phase, crate::session::Phase::Sending);
    assert!(!c.outcome_known(Waiting::Invite(s)));
    c.sign_out(Duration::ZERO);
    let outcome = c.take_outcome(Waiting::Invite(s)).expect("decided");
    assert_eq!(outcome.unwrap_err().hresult(), HResult::MSGR_E_NOT_LOGGED_ON);
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
}

#[test]
fn an_invitation_whose_caller_gave_up_is_withdrawn_and_never_goes_out_later() {
    use crate::client::{ClientEvent, Waiting};
    let (mut c, s) = invite_sent();
    c.abandon(Waiting::Invite(s));
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
    assert_eq!(c.session(s).unwrap().phase, crate::session::Phase::Ready);
    assert_eq!((c.counts().sb_links, c.counts().sb_queued), (0, 0));
    // The switchboard comes after all: nobody wants it any more.
    drain_outputs(&mut c);
    c.receive(1, b"XFR 7 SB 127.0.0.1:1864 CKI k\r\n", Duration::ZERO);
    assert_eq!(drain_outputs(&mut c), []);
    let events = drain_events(&mut c);
    assert!(
        !events.iter().any(|e| matches!(e, ClientEvent::SendError { .. })),
        "{events:?}"
    );
    // And the session can invite again.
    c.invite(s, "b@example.com", None, Duration::ZERO).unwrap();
}

#[test]
fn an_invitation_given_up_while_ringing_closes_the_switchboard() {
    use crate::client::Waiting;
    let (mut c, s) = invite_up_to_cal();
    c.receive(2, b"CAL 2 RINGING 11752013\r\n", Duration::ZERO);
    c.abandon(Waiting::Invite(s));
    assert_eq!(
        sent_lines(&drain_outputs(&mut c)),
        ["OUT"],
        "the switchboard is left, not kept for a peer who may never come"
    );
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
    assert_eq!((c.counts().sb_links, c.counts().sb_queued), (0, 0));
}

#[test]
fn a_peer_who_never_joins_is_given_up_after_the_setup_timeout() {
    use crate::client::sb::SB_SETUP_TIMEOUT;
    use crate::client::Waiting;
    let (mut c, s) = invite_up_to_cal();
    c.receive(2, b"CAL 2 RINGING 11752013\r\n", Duration::ZERO);
    assert_eq!(c.next_deadline(), Some(SB_SETUP_TIMEOUT));
    c.tick(SB_SETUP_TIMEOUT - Duration::from_millis(1));
    assert!(!c.outcome_known(Waiting::Invite(s)));
    c.tick(SB_SETUP_TIMEOUT);
    let error = c.take_outcome(Waiting::Invite(s)).expect("decided").unwrap_err();
    assert_eq!(error.hresult(), HResult::SR_CONNECTION_FAILURE);
    assert_eq!(
        error.to_string(),
        "SR_CONNECTION_FAILURE: b@example.com did not join the switchboard within 60 s; the invitation did not go out"
    );
    let out = drain_outputs(&mut c);
    assert_eq!(sent_lines(&on_conn(&out, 2)), ["OUT"]);
    assert!(out.contains(&ClientOutput::Close { conn: 2 }));
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
    assert_eq!((c.counts().sb_links, c.counts().sb_queued), (0, 0));
    assert_eq!(c.state(), ClientState::SignedIn);
}

#[test]
fn a_ring_whose_switchboard_never_lets_us_in_is_given_up_after_the_setup_timeout() {
    use crate::client::sb::SB_SETUP_TIMEOUT;
    let (mut c, _) = scripted_signed_in();
    c.receive(
        1,
        b"RNG 11752013 127.0.0.1:1864 CKI k b@example.com Bob\r\n",
        Duration::ZERO,
    );
    c.connected(2, Duration::ZERO);
    drain_outputs(&mut c);
    assert_eq!(c.counts().sb_links, 1);
    c.tick(SB_SETUP_TIMEOUT);
    let out = drain_outputs(&mut c);
    assert_eq!(sent_lines(&on_conn(&out, 2)), ["OUT"]);
    assert!(out.contains(&ClientOutput::Close { conn: 2 }));
    assert_eq!(c.counts().sb_links, 0);
}

// ---- Lock and Key modes against legacy servers -----------------------------------------

use crate::hresult::HResult;
use crate::lock::{LockPhase, LockStatus};
use crate::wire::challenge::md5_response;

const APP_ID: &str = "app@msnmsgr.com";
const APP_KEY: &str = "KEY123";

fn local_keys() -> LockMode {
    LockMode::Local([(APP_ID.to_string(), APP_KEY.to_string())].into())
}

/// The challenge an `OnLockChallenge` among `events` carries.
fn challenge_in(events: &[ClientEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            ClientEvent::LockChallenge { challenge, .. } => Some(challenge.clone()),
            _ => None,
        })
        .expect("OnLockChallenge fired")
}

#[test]
fn no_profile_message_means_lock_and_key_is_enabled_in_auto() {
    let (mut c, manager) = scripted(config_with(LockMode::Auto), None);
    assert_eq!(c.lock_status(manager), Ok(LockStatus::Initialized));
    let events = drain_events(&mut c);
    assert!(events.contains(&ClientEvent::LockEnable {
        obj: manager,
        enabled: true
    }));
}

#[test]
fn auto_against_a_server_that_drops_chl_fails_after_the_challenge_timeout() {
    let mut config = config_with(LockMode::Auto);
    config.challenge_timeout = Duration::from_millis(200);
    let (mut c, manager) = scripted(config, None);
    drain_outputs(&mut c);
    drain_events(&mut c);
    c.request_challenge(manager, 5, Duration::ZERO).unwrap();
    assert_eq!(sent_lines(&drain_outputs(&mut c)), ["CHL 7"]);
    // The server says nothing; the deadline is the configured one.
    assert_eq!(c.next_deadline(), Some(Duration::from_millis(200)));
    c.tick(Duration::from_millis(199));
    assert_eq!(c.lock_phase(manager), Ok(LockPhase::AwaitingChallenge));
    c.tick(Duration::from_millis(200));
    assert_eq!(c.lock_status(manager), Ok(LockStatus::UnlockFailed));
    let events = drain_events(&mut c);
    assert_eq!(
        events[1..],
        [
            ClientEvent::LockResult {
                obj: manager,
                cookie: 5,
                succeeded: false
            },
            ClientEvent::LockStatusChanged {
                obj: manager,
                status: LockStatus::UnlockFailed
            }
        ]
    );
}

#[test]
fn service_mode_ignores_the_header_and_off_mode_unlocks_at_sign_in() {
    for header in [Some("off"), Some("disabled"), None] {
        let (mut c, manager) = scripted(config_with(LockMode::Service), header);
        assert_eq!(c.lock_status(manager), Ok(LockStatus::Initialized), "{header:?}");
        drain_outputs(&mut c);
        c.request_challenge(manager, 1, Duration::ZERO).unwrap();
        assert_eq!(sent_lines(&drain_outputs(&mut c)), ["CHL 7"]);

        let (mut c, manager) = scripted(config_with(LockMode::Off), header);
        assert_eq!(c.lock_status(manager), Ok(LockStatus::Unlocked), "{header:?}");
        // As a service without Lock and Key: no OnLockEnable, only the status.
        let events = drain_events(&mut c);
        assert!(!events.iter().any(|e| matches!(e, ClientEvent::LockEnable { .. })));
        assert!(events.contains(&ClientEvent::LockStatusChanged {
            obj: manager,
            status: LockStatus::Unlocked
        }));
        // Objects made later are unlocked too.
        let priv_obj = c.create_lock_object(ObjectKind::MessengerPriv);
        assert_eq!(c.lock_status(priv_obj), Ok(LockStatus::Unlocked));
    }
}

#[test]
fn local_mode_unlocks_with_no_wire_traffic() {
    let (mut c, manager) = scripted(config_with(local_keys()), Some("off"));
    assert_eq!(c.lock_status(manager), Ok(LockStatus::Initialized));
    drain_outputs(&mut c);
    drain_events(&mut c);
    c.request_challenge(manager, 42, Duration::ZERO).unwrap();
    let events = drain_events(&mut c);
    let challenge = challenge_in(&events);
    assert!(
        challenge.len() == 20 && challenge.bytes().all(|b| b.is_ascii_digit()),
        "{challenge}"
    );
    assert_eq!(
        events,
        [
            ClientEvent::LockStatusChanged {
                obj: manager,
                status: LockStatus::PendingResult
            },
            ClientEvent::LockChallenge {
                obj: manager,
                cookie: 42,
                challenge: challenge.clone()
            },
        ]
    );
    // Upper case and blanks around it, as the service accepts.
    let response = format!(" {} ", md5_response(&challenge, APP_KEY).to_ascii_uppercase());
    c.send_response(manager, APP_ID, &response, 42, Duration::ZERO).unwrap();
    assert_eq!(c.lock_status(manager), Ok(LockStatus::Unlocked));
    assert_eq!(
        drain_events(&mut c),
        [
            ClientEvent::LockResult {
                obj: manager,
                cookie: 42,
                succeeded: true
            },
            ClientEvent::LockStatusChanged {
                obj: manager,
                status: LockStatus::Unlocked
            },
        ]
    );
    assert_eq!(drain_outputs(&mut c), []);
    // No Lock and Key timer: the only deadline left is the keep-alive ping.
    assert_eq!(c.next_deadline(), Some(Duration::from_secs(60)));
}

#[test]
fn local_mode_refuses_a_wrong_key_or_an_unknown_app_as_the_service_would() {
    for (app_id, key) in [(APP_ID, "WRONG"), ("other@msnmsgr.com", APP_KEY)] {
        let (mut c, manager) = scripted(config_with(local_keys()), None);
        drain_outputs(&mut c);
        drain_events(&mut c);
        c.request_challenge(manager, 9, Duration::ZERO).unwrap();
        let challenge = challenge_in(&drain_events(&mut c));
        c.send_response(manager, app_id, &md5_response(&challenge, key), 9, Duration::ZERO)
            .unwrap();
        assert_eq!(c.lock_status(manager), Ok(LockStatus::UnlockFailed), "{app_id} {key}");
        assert_eq!(
            drain_events(&mut c)[0],
            ClientEvent::LockResult {
                obj: manager,
                cookie: 9,
                succeeded: false
            }
        );
        assert_eq!(drain_outputs(&mut c), []);
    }
}

#[test]
fn local_challenges_come_from_the_seeded_rng() {
    let challenge = |seed| {
        let mut config = config_with(local_keys());
        config.seed = Some(seed);
        let (mut c, manager) = scripted(config, None);
        drain_events(&mut c);
        c.request_challenge(manager, 1, Duration::ZERO).unwrap();
        challenge_in(&drain_events(&mut c))
    };
    assert_eq!(challenge(1), challenge(1));
    assert_ne!(challenge(1), challenge(2));
}

/// The lock object of an engine in `mode`, brought to `status` the way an app would.
fn lock_in(mode: LockMode, status: LockStatus) -> (ClientEngine, u64, String) {
    let (mut c, manager) = if status == LockStatus::NotInitialized {
        let mut c = ClientEngine::new(config_with(mode));
        let manager = c.create_lock_object(ObjectKind::SessionManager);
        (c, manager)
    } else {
        scripted(config_with(mode), None)
    };
    let mut challenge = String::new();
    if matches!(
        status,
        LockStatus::PendingResult | LockStatus::Unlocked | LockStatus::UnlockFailed
    ) {
        c.request_challenge(manager, 1, Duration::ZERO).unwrap();
        // A service answers the `CHL 7` the request sent; local mode needs nothing.
        c.receive(1, b"CHL 7 12345678901234567890\r\n", Duration::ZERO);
        challenge = challenge_in(&drain_events(&mut c));
    }
    if matches!(status, LockStatus::Unlocked | LockStatus::UnlockFailed) {
        let key = if status == LockStatus::Unlocked {
            APP_KEY
        } else {
            "WRONG"
        };
        c.send_response(manager, APP_ID, &md5_response(&challenge, key), 1, Duration::ZERO)
            .unwrap();
        // The service's verdict on `QRY 8`.
        let verdict = if status == LockStatus::Unlocked {
            "QRY 8\r\n"
        } else {
            "540 8\r\n"
        };
        c.receive(1, verdict.as_bytes(), Duration::ZERO);
    }
    assert_eq!(c.lock_status(manager), Ok(status));
    drain_events(&mut c);
    drain_outputs(&mut c);
    (c, manager, challenge)
}

#[test]
fn every_lock_error_is_the_same_in_local_and_service_mode() {
    let outcomes = |mode: fn() -> LockMode, status| {
        let (mut c, manager, challenge) = lock_in(mode(), status);
        let response = md5_response(&challenge, APP_KEY);
        let code = |r: crate::error::Result<()>| r.map_err(|e| e.hresult());
        let seen = vec![
            // RequestChallenge, then SendResponse, each on a fresh object in `status`.
            code(c.request_challenge(manager, 1, Duration::ZERO)),
            code(
                lock_in(mode(), status)
                    .0
                    .send_response(manager, APP_ID, &response, 1, Duration::ZERO),
            ),
            // Bad arguments.
            code(
                lock_in(mode(), status)
                    .0
                    .request_challenge(manager, 1 << 40, Duration::ZERO),
            ),
            code(
                lock_in(mode(), status)
                    .0
                    .send_response(manager, "a b", &response, 1, Duration::ZERO),
            ),
            code(
                lock_in(mode(), status)
                    .0
                    .send_response(manager, APP_ID, "xyz", 1, Duration::ZERO),
            ),
            code(
                lock_in(mode(), status)
                    .0
                    .send_response(manager, APP_ID, &response, 2, Duration::ZERO),
            ),
            code(lock_in(mode(), status).0.check_unlocked(manager)),
        ];
        // A transaction left unanswered expires the same way.
        let (mut c, manager, _) = lock_in(mode(), status);
        c.tick(Duration::from_secs(3600));
        (seen, c.lock_status(manager))
    };
    for status in [
        LockStatus::NotInitialized,
        LockStatus::Initialized,
        LockStatus::PendingResult,
        LockStatus::Unlocked,
        LockStatus::UnlockFailed,
    ] {
        assert_eq!(
            outcomes(local_keys, status),
            outcomes(|| LockMode::Service, status),
            "{status:?}"
        );
    }
    // The codes themselves are the lock table's (src/lock.rs), e.g. a second request.
    let (mut c, manager, _) = lock_in(local_keys(), LockStatus::PendingResult);
    assert_eq!(
        c.request_challenge(manager, 1, Duration::ZERO).unwrap_err().hresult(),
        HResult::MSGR_E_API_PENDING_UNLOCK
    );
}

// ---- A server's OUT ends the sign-in at once ---------------------------------------------

#[test]
fn out_oth_ends_the_sign_in_at_once_even_with_the_socket_open() {
    use crate::client::{SignOutReason, Waiting};
    let (mut c, manager) = scripted_signed_in();
    // An invitation on its way (XFR 7 sent) and a live session on a ready switchboard.
    let waiting = c.create_session(manager).unwrap();
    c.set_application(waiting, crate::testkit::GUID).unwrap();
    c.invite(waiting, "b@example.com", None, Duration::ZERO).unwrap();
    let live = c.create_session(manager).unwrap();
    c.set_application(live, crate::testkit::GUID).unwrap();
    c.invite(live, "c@example.com", None, Duration::ZERO).unwrap();
    c.receive(1, b"XFR 8 SB 127.0.0.1:1864 CKI k\r\n", Duration::ZERO);
    c.connected(2, Duration::ZERO);
    c.receive(
        2,
        b"USR 1 OK a@example.com A\r\nCAL 2 RINGING 1\r\nJOI c@example.com C\r\n",
        Duration::ZERO,
    );
    assert_eq!(c.session(live).unwrap().state(), SessionState::Invitation);
    drain_outputs(&mut c);
    drain_events(&mut c);

    c.receive(1, b"OUT OTH\r\n", Duration::ZERO);
    assert_eq!(c.state(), ClientState::Offline);
    assert_eq!(c.lock_status(manager), Ok(LockStatus::NotInitialized));
    let outputs = drain_outputs(&mut c);
    // The switchboard is left, then both sockets are closed by the client itself.
    assert_eq!(
        outputs,
        [
            ClientOutput::Send {
                conn: 2,
                cmd: crate::proto::sb::Request::Out.to_command(None)
            },
            ClientOutput::Close { conn: 2 },
            ClientOutput::Close { conn: 1 },
        ]
    );
    let events = drain_events(&mut c);
    assert_eq!(
        events.last(),
        Some(&ClientEvent::SignedOut {
            reason: SignOutReason::OtherSignIn
        })
    );
    // Sessions end as when the link drops: the live one terminated, the waiting one
    // READY again with its invite refused.
    assert_eq!(c.session(live).unwrap().state(), SessionState::Terminated);
    assert!(events.contains(&ClientEvent::Termination {
        obj: live,
        hr: HResult::SR_SESSION_CANCELLED_LOCAL.code(),
        app_data: None
    }));
    assert_eq!(c.session(waiting).unwrap().state(), SessionState::Ready);
    assert_eq!(
        c.take_outcome(Waiting::Invite(waiting)).unwrap().unwrap_err().hresult(),
        HResult::MSGR_E_NOT_LOGGED_ON
    );
    // The socket closing later changes nothing more.
    c.closed(1, Duration::ZERO);
    assert_eq!(drain_events(&mut c), []);
    // Later calls fail as when signed out.
    assert_eq!(
        c.request_challenge(manager, 1, Duration::ZERO).unwrap_err().hresult(),
        HResult::MSGR_E_API_NOTINITIALIZED
    );
}

#[test]
fn every_out_code_has_a_reason() {
    use crate::client::SignOutReason as R;
    for (line, reason) in [
        ("OUT OTH", R::OtherSignIn),
        ("OUT SSD", R::ServerShutdown),
        ("OUT MIG", R::ServerClosed),
        ("OUT TOU", R::ServerClosed),
        ("OUT RCT 6", R::ServerClosed),
        ("OUT XYZ", R::ServerClosed),
        ("OUT", R::ServerClosed),
    ] {
        let (mut c, _) = scripted_signed_in();
        c.receive(1, format!("{line}\r\n").as_bytes(), Duration::ZERO);
        assert_eq!(c.state(), ClientState::Offline, "{line}");
        assert_eq!(drain_outputs(&mut c), [ClientOutput::Close { conn: 1 }], "{line}");
        assert_eq!(
            drain_events(&mut c).last(),
            Some(&ClientEvent::SignedOut { reason }),
            "{line}"
        );
    }
    let names: std::collections::BTreeSet<&str> = R::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(names.len(), R::ALL.len());
}

#[test]
fn out_during_sign_in_fails_the_sign_in_and_closes() {
    use crate::client::Waiting;
    let mut c = ClientEngine::new(config_with(LockMode::Auto));
    c.sign_in(Duration::ZERO).unwrap();
    c.connected(1, Duration::ZERO);
    c.receive(1, b"VER 1 MSNP7\r\nOUT OTH\r\n", Duration::ZERO);
    assert_eq!(c.state(), ClientState::Offline);
    assert!(drain_outputs(&mut c).contains(&ClientOutput::Close { conn: 1 }));
    let error = c.take_outcome(Waiting::SignIn).unwrap().unwrap_err();
    assert!(error.to_string().contains("signed_in_elsewhere"), "{error}");
}

// ---- Switchboard failures keep their cause ------------------------------------------------

/// Invites b@example.com from a signed-in engine and opens the switchboard `XFR 7`
/// names, up to the `CAL 2` the client sends on it.
/// A signed-in engine whose session invites b@example.com: its `XFR` is sent and not
/// answered yet. The engine and the session.
fn invite_sent() -> (ClientEngine, u64) {
    let (mut c, manager) = scripted_signed_in();
    let s = c.create_session(manager).unwrap();
    c.set_application(s, crate::testkit::GUID).unwrap();
    c.invite(s, "b@example.com", None, Duration::ZERO).unwrap();
    (c, s)
}

fn invite_up_to_cal() -> (ClientEngine, u64) {
    let (mut c, s) = invite_sent();
    c.receive(1, b"XFR 7 SB 127.0.0.1:1864 CKI k\r\n", Duration::ZERO);
    c.connected(2, Duration::ZERO);
    c.receive(2, b"USR 1 OK a@example.com A\r\n", Duration::ZERO);
    assert_eq!(
        sent_lines(&drain_outputs(&mut c)).last().map(String::as_str),
        Some("CAL 2 b@example.com")
    );
    (c, s)
}

#[test]
fn every_cal_error_reaches_the_invite_with_its_code_and_meaning() {
    use crate::client::Waiting;
    for (code, hr, meaning) in [
        (205, HResult::MSGR_E_NOT_LOGGED_ON, "unknown user"),
        (207, HResult::SR_INVITATION_SEND_FAILURE, "already signed in"),
        (208, HResult::E_INVALIDARG, "invalid user name"),
        (215, HResult::SR_INVITATION_SEND_FAILURE, "already there"),
        (216, HResult::MSGR_E_NOT_LOGGED_ON, "not on that list"),
        (217, HResult::MSGR_E_NOT_LOGGED_ON, "user not online"),
        (713, HResult::SR_INVITATION_SEND_FAILURE, "calling too rapidly"),
    ] {
        let (mut c, s) = invite_up_to_cal();
        c.receive(2, format!("{code} 2\r\n").as_bytes(), Duration::ZERO);
        let error = c.take_outcome(Waiting::Invite(s)).expect("decided").unwrap_err();
        assert_eq!(error.hresult(), hr, "{code}");
        assert_eq!(
            error.to_string(),
            format!("{}: b@example.com could not be called: {code} ({meaning})", hr.name())
        );
        assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
        assert!(drain_outputs(&mut c).contains(&ClientOutput::Close { conn: 2 }));
    }
}

#[test]
fn a_switchboard_that_refuses_our_sign_in_says_so() {
    use crate::client::Waiting;
    let (mut c, s) = invite_sent();
    c.receive(1, b"XFR 7 SB 127.0.0.1:1864 CKI k\r\n", Duration::ZERO);
    c.connected(2, Duration::ZERO);
    c.receive(2, b"911 1\r\n", Duration::ZERO);
    let error = c.take_outcome(Waiting::Invite(s)).unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "SR_INVITATION_SEND_FAILURE: the switchboard refused our sign-in: 911 (authentication failed)"
    );
}

#[test]
fn an_unreachable_switchboard_is_named() {
    use crate::client::Waiting;
    let (mut c, s) = invite_sent();
    c.receive(1, b"XFR 7 SB 127.0.0.1:1999 CKI k\r\n", Duration::ZERO);
    assert!(drain_outputs(&mut c).contains(&ClientOutput::Connect {
        conn: 2,
        addr: "127.0.0.1:1999".into()
    }));
    c.unreachable(2, "Connection refused (os error 111)", Duration::ZERO);
    let error = c.take_outcome(Waiting::Invite(s)).unwrap().unwrap_err();
    assert_eq!(error.hresult(), HResult::SR_CONNECTION_FAILURE);
    assert_eq!(
        error.to_string(),
        "SR_CONNECTION_FAILURE: cannot reach switchboard 127.0.0.1:1999: Connection refused (os error 111)"
    );
    assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
    // Still signed in: only the switchboard failed.
    assert_eq!(c.state(), ClientState::SignedIn);
}

#[test]
fn an_xfr_without_an_address_or_cookie_fails_the_invitation_and_opens_nothing() {
    // Found by the client fuzz target: the empty cookie went out as `USR 1 a@… ` (an
    // empty last field), which the server reads as a USR without a cookie.
    use crate::client::Waiting;
    for reply in [
        "XFR 7 SB 127.0.0.1:1864 CKI\r\n",
        "XFR 7 SB 127.0.0.1:1864\r\n",
        "XFR 7 SB\r\n",
    ] {
        let (mut c, s) = invite_sent();
        drain_outputs(&mut c);
        c.receive(1, reply.as_bytes(), Duration::ZERO);
        let out = drain_outputs(&mut c);
        assert!(
            !out.iter().any(|o| matches!(o, ClientOutput::Connect { .. })),
            "{reply:?}: {out:?}"
        );
        let error = c.take_outcome(Waiting::Invite(s)).expect("decided").unwrap_err();
        assert_eq!(
            error.hresult(),
            HResult::SR_INVITATION_SEND_FAILURE,
            "{reply:?}: {error}"
        );
        assert_eq!(c.session(s).unwrap().state(), SessionState::Ready);
        assert_eq!(c.state(), ClientState::SignedIn);
    }
}

#[test]
fn a_ring_without_a_session_address_cookie_or_caller_is_ignored() {
    for ring in [
        "RNG 11752013 127.0.0.1:1864 CKI\r\n",
        "RNG 11752013\r\n",
        "RNG 11752013 127.0.0.1:1864 CKI k\r\n",
    ] {
        let (mut c, _) = scripted_signed_in();
        drain_outputs(&mut c);
        c.receive(1, ring.as_bytes(), Duration::ZERO);
        assert_eq!(drain_outputs(&mut c), [], "{ring:?}");
        assert_eq!(c.counts().sb_links, 0);
        assert_eq!(c.state(), ClientState::SignedIn);
    }
}

/// A text to b@example.com from a signed-in engine, on a switchboard made ready for it
/// (`XFR 7`, conn 2, `CAL 2`, `JOI`): the engine and the text's id.
fn text_on_a_ready_switchboard() -> (ClientEngine, u64) {
    let (mut c, _) = scripted_signed_in();
    let id = c.new_text_id();
    c.send_text(id, "b@example.com", "hi", Duration::ZERO).unwrap();
    c.receive(1, b"XFR 7 SB 127.0.0.1:1864 CKI k\r\n", Duration::ZERO);
    c.connected(2, Duration::ZERO);
    c.receive(2, b"USR 1 OK a@example.com A\r\n", Duration::ZERO);
    c.receive(2, b"CAL 2 RINGING 1\r\nJOI b@example.com B\r\n", Duration::ZERO);
    let sent = sent_lines(&on_conn(&drain_outputs(&mut c), 2));
    assert!(
        sent.iter().any(|l| l.starts_with("MSG 3 A ")),
        "a text asks for its ACK: {sent:?}"
    );
    (c, id)
}

#[test]
fn a_text_is_sent_once_acknowledged_and_not_when_the_peer_left() {
    use crate::client::Waiting;
    let (mut c, id) = text_on_a_ready_switchboard();
    assert!(!c.outcome_known(Waiting::Text(id)), "not before the ACK");
    c.receive(2, b"ACK 3\r\n", Duration::ZERO);
    assert!(c.take_outcome(Waiting::Text(id)).unwrap().is_ok());
    assert_eq!(c.counts().texts_in_flight, 0);

    // Not delivered: the server's NAK, or the peer's BYE before the ACK.
    for answer in ["NAK 3\r\n", "BYE b@example.com\r\n"] {
        let (mut c, id) = text_on_a_ready_switchboard();
        c.receive(2, answer.as_bytes(), Duration::ZERO);
        let error = c.take_outcome(Waiting::Text(id)).expect("decided").unwrap_err();
        assert_eq!(error.hresult(), HResult::MSGR_E_NOT_LOGGED_ON, "{answer:?}");
        assert_eq!(
            error.to_string(),
            "MSGR_E_NOT_LOGGED_ON: b@example.com left the switchboard before the message reached them"
        );
        assert_eq!(c.counts().texts_in_flight, 0);
    }

    // Signed out first: it fails, and nothing is left in flight.
    let (mut c, id) = text_on_a_ready_switchboard();
    c.sign_out(Duration::ZERO);
    let error = c.take_outcome(Waiting::Text(id)).expect("decided").unwrap_err();
    assert_eq!(error.hresult(), HResult::MSGR_E_NOT_LOGGED_ON);
    assert_eq!(c.counts().texts_in_flight, 0);
}

#[test]
fn a_refused_message_on_a_ready_switchboard_is_a_send_error() {
    let (mut c, s) = invite_up_to_cal();
    c.receive(2, b"CAL 2 RINGING 1\r\nJOI b@example.com B\r\n", Duration::ZERO);
    // The invitation went out as MSG 3; the switchboard refuses it after all.
    assert_eq!(c.session(s).unwrap().state(), SessionState::Invitation);
    drain_events(&mut c);
    c.receive(2, b"282 3\r\n", Duration::ZERO);
    assert_eq!(
        drain_events(&mut c),
        [ClientEvent::SendError {
            obj: s,
            hr: HResult::SR_INVITATION_SEND_FAILURE
        }]
    );
}

#[test]
fn lock_modes_by_name_take_keys_only_when_local() {
    let keys = || Some([(APP_ID.to_string(), APP_KEY.to_string())].into());
    assert_eq!(LockMode::new("auto", None), Ok(LockMode::Auto));
    assert_eq!(LockMode::new("service", None), Ok(LockMode::Service));
    assert_eq!(LockMode::new("off", None), Ok(LockMode::Off));
    assert_eq!(LockMode::new("local", keys()), Ok(local_keys()));
    for (name, keys) in [
        ("local", None),
        ("local", Some(Default::default())),
        ("local", Some([("a b".to_string(), "K".to_string())].into())),
        ("local", Some([(APP_ID.to_string(), String::new())].into())),
        ("auto", keys()),
        ("off", keys()),
        ("enabled", None),
    ] {
        let refused = LockMode::new(name, keys).unwrap_err();
        assert_eq!(refused.hresult(), HResult::E_INVALIDARG, "{name}: {refused}");
    }
    // The keys never show in a debug print.
    assert_eq!(format!("{:?}", local_keys()), format!("Local([{APP_ID:?}])"));
    assert!(!format!("{:?}", config_with(local_keys())).contains(APP_KEY));
}

// ---- What a hostile peer or service may cost the client ----------------------------------

#[test]
fn a_ring_flood_opens_one_switchboard_per_peer_and_a_bounded_number_in_all() {
    let (mut c, _) = scripted_signed_in();
    let ring = |from: &str, n: usize| format!("RNG {n} 127.0.0.1:1864 CKI cookie{n} {from} Caller\r\n");
    let flood: String = (0..1400).map(|n| ring("b@example.com", n)).collect();
    c.receive(1, flood.as_bytes(), Duration::ZERO);
    let connects = |outs: &[ClientOutput]| {
        outs.iter()
            .filter(|o| matches!(o, ClientOutput::Connect { .. }))
            .count()
    };
    assert_eq!(
        connects(&drain_outputs(&mut c)),
        1,
        "1,400 rings from one peer: one switchboard"
    );
    let many: String = (0..200).map(|n| ring(&format!("p{n}@example.com"), n)).collect();
    c.receive(1, many.as_bytes(), Duration::ZERO);
    assert_eq!(
        connects(&drain_outputs(&mut c)),
        super::sb::MAX_SWITCHBOARDS - 1,
        "200 peers: up to the cap"
    );
}

#[test]
fn a_refused_challenge_request_fails_the_unlock_at_once() {
    let (mut c, manager) = scripted(ClientConfig::new("a@example.com", "pw", "x"), None);
    while c.poll_output().is_some() {}
    while c.poll_event().is_some() {}
    c.request_challenge(manager, 5, Duration::ZERO).unwrap();
    let chl = sent_lines(&drain_outputs(&mut c));
    let trid = chl[0].split(' ').nth(1).unwrap().to_string();
    c.receive(1, format!("713 {trid}\r\n").as_bytes(), Duration::ZERO);
    assert!(drain_events(&mut c).contains(&ClientEvent::LockResult {
        obj: manager,
        cookie: 5,
        succeeded: false
    }));
    assert_eq!(c.lock_status(manager).unwrap(), LockStatus::UnlockFailed);
}

// ---- the user's own presence (client/profile.rs)

#[test]
fn a_status_change_is_sent_and_counts_once_answered() {
    let (mut c, _) = scripted_signed_in();
    assert_eq!(c.status(), Some("NLN"));
    c.set_status("AWY").unwrap();
    assert_eq!(
        sent_lines(&drain_outputs(&mut c)),
        ["CHG 7 AWY"],
        "MSNP7: no capabilities"
    );
    assert_eq!(c.status(), Some("NLN"), "not before the answer");
    c.receive(1, b"CHG 7 AWY\r\n", Duration::ZERO);
    assert_eq!(c.status(), Some("AWY"));
    assert_eq!(
        drain_events(&mut c),
        [ClientEvent::MyStatusChange {
            hr: HResult::S_OK,
            status: "AWY".into()
        }]
    );
    // Refused: the status stays, the event says why.
    c.set_status("BSY").unwrap();
    c.receive(1, b"201 8\r\n", Duration::ZERO);
    assert_eq!(c.status(), Some("AWY"));
    assert_eq!(
        drain_events(&mut c),
        [ClientEvent::MyStatusChange {
            hr: HResult::E_INVALIDARG,
            status: "AWY".into()
        }]
    );
    for bad in ["FLN", "nln", "", "ONLINE"] {
        assert_eq!(
            c.set_status(bad).unwrap_err().hresult(),
            HResult::E_INVALIDARG,
            "{bad:?}"
        );
    }
}

#[test]
fn a_new_friendly_name_goes_as_rea_and_counts_once_answered() {
    let (mut c, _) = scripted_signed_in();
    drain_outputs(&mut c);
    c.set_friendly_name("Al ice!").unwrap();
    assert_eq!(sent_lines(&drain_outputs(&mut c)), ["REA 7 a@example.com Al%20ice!"]);
    c.receive(1, b"REA 7 12 a@example.com Al%20ice!\r\n", Duration::ZERO);
    assert_eq!(c.friendly_name(), Some("Al ice!"));
    assert_eq!(
        drain_events(&mut c),
        [ClientEvent::MyFriendlyNameChange {
            hr: HResult::S_OK,
            previous: "A".into()
        }]
    );
    c.set_friendly_name("x").unwrap();
    c.receive(1, b"209 8\r\n", Duration::ZERO);
    assert_eq!(c.friendly_name(), Some("Al ice!"));
    assert!(matches!(
        drain_events(&mut c)[..],
        [ClientEvent::MyFriendlyNameChange {
            hr: HResult::E_INVALIDARG,
            ..
        }]
    ));
    for bad in ["", "   ", "a\nb"] {
        assert_eq!(
            c.set_friendly_name(bad).unwrap_err().hresult(),
            HResult::E_INVALIDARG,
            "{bad:?}"
        );
    }
    assert_eq!(
        c.set_friendly_name(&"x".repeat(130)).unwrap_err().hresult(),
        HResult::E_INVALIDARG
    );
}

#[test]
fn presence_changes_need_a_sign_in_and_personal_messages_msnp11() {
    let mut c = ClientEngine::new(ClientConfig::new("a@example.com", "pw", "x"));
    assert_eq!(c.status(), None);
    assert_eq!(
        c.set_status("AWY").unwrap_err().hresult(),
        HResult::MSGR_E_NOT_LOGGED_ON
    );
    assert_eq!(
        c.set_friendly_name("A").unwrap_err().hresult(),
        HResult::MSGR_E_NOT_LOGGED_ON
    );
    assert_eq!(
        c.set_personal_message("hi").unwrap_err().hresult(),
        HResult::MSGR_E_NOT_LOGGED_ON
    );
    let (mut c, _) = scripted_signed_in();
    assert_eq!(
        c.set_personal_message("hi").unwrap_err().hresult(),
        HResult::E_NOTIMPL,
        "MSNP7"
    );
    assert_eq!(
        c.set_personal_message(&"x".repeat(130)).unwrap_err().hresult(),
        HResult::E_INVALIDARG
    );
}

#[test]
fn contacts_status_changes_and_personal_messages_are_events() {
    let (mut c, _) = scripted_signed_in();
    c.receive(
        1,
        b"NLN AWY b@example.com Bob\r\nNLN AWY b@example.com Bob\r\nFLN b@example.com\r\n",
        Duration::ZERO,
    );
    let changes: Vec<(Option<String>, String)> = drain_events(&mut c)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::ContactStatusChange { contact, previous } => Some((contact.status, previous)),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [(Some("AWY".into()), "FLN".into()), (None, "AWY".into())],
        "the same status again is no change"
    );
    let psm = b"<Data><PSM>at lunch &amp; back</PSM><CurrentMedia></CurrentMedia></Data>";
    let line = [format!("UBX b@example.com {}\r\n", psm.len()).as_bytes(), psm].concat();
    c.receive(1, &line, Duration::ZERO);
    c.receive(1, &line, Duration::ZERO);
    let events = drain_events(&mut c);
    assert_eq!(events.len(), 1, "once, not again for the same message: {events:?}");
    assert!(matches!(
        &events[0],
        ClientEvent::ContactPersonalMessageChange { contact } if contact.personal_message.as_deref() == Some("at lunch & back")
    ));
}
