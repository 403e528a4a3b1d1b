//! The engines driven through the embedded hub (the shared kit: [`crate::testkit`]).

use std::time::Duration;

use crate::client::{ClientEvent, ClientState, ContactInfo, Launch, ObjectKind, SignOutReason};
use crate::hresult::HResult;
use crate::lock::LockStatus;
use crate::service::{Alert, LockAndKey, ServiceConfig};
use crate::session::SessionState as S;
use crate::testkit::{self, Side, ALICE, APP, BOB, GUID, KEY};
use crate::wire::challenge::md5_response;
use crate::wire::{Direction, InviteMessage};

fn lines(side: &Side) -> Vec<String> {
    side.driver.with_trace(|t| t.iter().map(|e| e.cmd.line()).collect())
}

/// Alice on a fresh hub, signed out, with an object of `kind`.
fn alice_with(kind: ObjectKind) -> (Side, u64) {
    let alice = Side::embedded(&testkit::hub(7), ALICE, None);
    let obj = alice.call(|c, _| Ok(c.create_lock_object(kind))).unwrap();
    (alice, obj)
}

fn status(side: &Side, obj: u64) -> LockStatus {
    side.read(|c| c.lock_status(obj)).unwrap()
}

fn challenge(side: &Side, cookie: i64, obj: u64) -> String {
    side.call(|c, now| c.request_challenge(obj, cookie, now)).unwrap();
    side.next(|e| match e {
        ClientEvent::LockChallenge {
            challenge, cookie: c, ..
        } if i64::from(*c) == cookie => Some(challenge.clone()),
        _ => None,
    })
}

#[test]
fn sign_in_follows_msnp7_and_answers_the_ping() {
    let (alice, obj) = alice_with(ObjectKind::SessionManager);
    alice.sign_in().unwrap();
    let l = lines(&alice);
    assert_eq!(
        &l[..6],
        [
            "VER 1 MSNP7 CVR0",
            "VER 1 MSNP7",
            "INF 2",
            "INF 2 MD5",
            "USR 3 MD5 I alice@example.com",
            l[5].as_str()
        ]
    );
    assert!(l[5].starts_with("USR 3 MD5 S "));
    assert!(l.iter().any(|x| x.starts_with("CHL 0 ")));
    assert!(l.iter().any(|x| x.starts_with("QRY 7 msmsgs@msnmsgr.com 32")));
    assert!(l.contains(&"QRY 7".to_string()));
    assert_eq!(status(&alice, obj), LockStatus::Initialized);
    assert_eq!(
        alice.events(),
        vec![
            ClientEvent::SignedIn,
            ClientEvent::LockEnable { obj, enabled: true },
            ClientEvent::LockStatusChanged {
                obj,
                status: LockStatus::Initialized
            },
        ]
    );
}

#[test]
fn wrong_password_is_refused() {
    let (alice, _) = alice_with(ObjectKind::SessionManager);
    alice.set_password("nope");
    let err = alice.sign_in().unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::SR_AUTHENTICATION_FAILED));
    assert_eq!(alice.read(|c| c.state()), ClientState::Offline);
    assert!(lines(&alice).iter().any(|l| l == "911 4"));
}

#[test]
fn full_unlock_over_chl_and_qry() {
    let (alice, obj) = alice_with(ObjectKind::SessionManager);
    alice.sign_in().unwrap();
    alice.events();
    let challenge = challenge(&alice, 42, obj);
    alice
        .call(|c, now| c.send_response(obj, APP, &md5_response(&challenge, KEY), 42, now))
        .unwrap();
    assert_eq!(status(&alice, obj), LockStatus::Unlocked);
    assert_eq!(
        alice.events(),
        vec![
            ClientEvent::LockResult {
                obj,
                cookie: 42,
                succeeded: true
            },
            ClientEvent::LockStatusChanged {
                obj,
                status: LockStatus::Unlocked
            },
        ]
    );
    let l = lines(&alice);
    assert!(l.contains(&"CHL 8".to_string()), "{l:?}");
    assert!(l.contains(&format!("CHL 8 {challenge}")));
    assert!(l.contains(&format!("QRY 9 {APP} 32")));
    assert!(l.contains(&"QRY 9".to_string()));
    assert!(!alice
        .driver
        .with_trace(|t| t.iter().any(|e| e.cmd.to_string().contains(KEY))));
    // One transaction per session.
    let again = alice.call(|c, now| c.request_challenge(obj, 43, now)).unwrap_err();
    assert_eq!(again.hresult(), HResult::MSGR_E_API_ALREADY_UNLOCKED);
}

#[test]
fn a_wrong_key_fails_and_keeps_the_connection() {
    let (alice, obj) = alice_with(ObjectKind::MessengerPriv);
    alice.sign_in().unwrap();
    assert!(!alice.unlock_with(obj, "WRONG"));
    assert_eq!(status(&alice, obj), LockStatus::UnlockFailed);
    assert_eq!(alice.read(|c| c.state()), ClientState::SignedIn);
    assert!(lines(&alice).contains(&"540 9".to_string()));
}

#[test]
fn the_client_pair_cannot_unlock_an_app() {
    let (alice, obj) = alice_with(ObjectKind::SessionManager);
    alice.sign_in().unwrap();
    let challenge = challenge(&alice, 1, obj);
    let digest = md5_response(&challenge, crate::proto::CLIENT_KEY);
    alice
        .call(|c, now| c.send_response(obj, crate::proto::CLIENT_ID, &digest, 1, now))
        .unwrap();
    assert_eq!(status(&alice, obj), LockStatus::UnlockFailed);
}

#[test]
fn a_transaction_times_out_on_the_virtual_clock() {
    let hub = testkit::hub(7);
    let alice = Side::embedded(&hub, ALICE, None);
    let obj = alice
        .call(|c, _| Ok(c.create_lock_object(ObjectKind::SessionManager)))
        .unwrap();
    alice.sign_in().unwrap();
    challenge(&alice, 5, obj);
    alice.events();
    hub.lock().unwrap().advance(Duration::from_secs(49));
    assert_eq!(status(&alice, obj), LockStatus::PendingResult);
    hub.lock().unwrap().advance(Duration::from_secs(1));
    assert_eq!(status(&alice, obj), LockStatus::UnlockFailed);
    // The challenge arrived, no response was sent: the transaction still times out.
    assert_eq!(
        alice.events()[0],
        ClientEvent::LockResult {
            obj,
            cookie: 5,
            succeeded: false
        }
    );
}

#[test]
fn sign_out_relocks_and_sign_in_enables_again() {
    let hub = testkit::hub(7);
    let alice = Side::embedded(&hub, ALICE, None);
    alice.sign_in().unwrap();
    let obj = alice.unlocked(ObjectKind::SessionManager);
    alice.sign_out();
    assert_eq!(status(&alice, obj), LockStatus::NotInitialized);
    assert!(!hub.lock().unwrap().service().is_online(ALICE));
    alice.sign_in().unwrap();
    assert_eq!(status(&alice, obj), LockStatus::Initialized);
    alice.call(|c, now| c.request_challenge(obj, 2, now)).unwrap();
}

#[test]
fn signing_in_elsewhere_drops_the_first_session() {
    let hub = testkit::hub(7);
    let first = Side::embedded(&hub, ALICE, None);
    let second = Side::embedded(&hub, ALICE, Some(&first));
    first.sign_in().unwrap();
    first.events();
    second.sign_in().unwrap();
    assert_eq!(first.read(|c| c.state()), ClientState::Offline);
    assert!(first.events().contains(&ClientEvent::SignedOut {
        reason: SignOutReason::OtherSignIn
    }));
}

#[test]
fn a_service_shutdown_says_out_ssd() {
    let hub = testkit::hub(2);
    let alice = Side::embedded(&hub, ALICE, None);
    alice.sign_in().unwrap();
    alice.events();
    {
        let mut w = hub.lock().unwrap();
        w.service_mut().shutdown();
        w.settle();
    }
    assert!(lines(&alice).iter().any(|l| l == "OUT SSD"));
    assert!(alice.events().contains(&ClientEvent::SignedOut {
        reason: SignOutReason::ServerShutdown
    }));
    assert!(!hub.lock().unwrap().service().is_online(ALICE));
}

// ---- Session Invite ---------------------------------------------------------------------

#[test]
fn invite_travels_over_a_switchboard() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Invitation);
    let bs = p.b.read(|c| c.session(sb).unwrap().clone());
    assert_eq!(bs.state(), S::Invitation);
    assert_eq!(bs.flags, 2 | 4);
    assert_eq!(bs.peer.as_deref(), Some(ALICE));
    let names: Vec<String> = p.hub().trace().iter().map(|e| e.cmd.name.clone()).collect();
    for n in ["XFR", "USR", "CAL", "RNG", "ANS", "IRO", "JOI", "MSG"] {
        assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
    }
    let msg = p
        .hub()
        .trace()
        .iter()
        .find(|e| e.cmd.name == "MSG" && e.direction == Direction::ServerToClient)
        .unwrap()
        .clone();
    let invite = InviteMessage::parse_payload(msg.cmd.payload.as_deref().unwrap()).unwrap();
    assert_eq!(invite.get("Application-GUID"), Some(GUID));
    assert_eq!(invite.get("Session-Protocol"), Some("SM1"));
    assert_eq!(invite.get("Context-Data"), Some("hello"));
    assert_eq!(msg.cmd.args[0], ALICE);
    assert_eq!(msg.cmd.args[1], "Alice%20A");
}

#[test]
fn accept_connects_both_sides_with_addresses() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    p.b.call(|c, _| c.set_local_address(sb, "10.1.2.3:5000")).unwrap();
    p.b.call(|c, now| c.accept(sb, Some("yes"), now)).unwrap();
    assert!(p.b.events().contains(&ClientEvent::BeforeAppLaunch { obj: sb }));
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Connected);
    assert_eq!(p.b.read(|c| c.session(sb).unwrap().state()), S::Accepted);
    p.b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
    let bs = p.b.read(|c| c.session(sb).unwrap().clone());
    assert_eq!(bs.state(), S::Connected);
    assert!(matches!(bs.launch, Launch::Launched { .. }));
    assert_eq!(
        p.a.read(|c| c.session(sa).unwrap().remote_address.clone()).as_deref(),
        Some("10.1.2.3:5000")
    );
    assert_eq!(bs.remote_address.as_deref(), Some("127.0.0.3"));
    p.b.events();
    p.a.events();
    p.a.call(|c, now| c.send_context_data(sa, "ctx-1", now)).unwrap();
    assert!(p.a.events().is_empty());
    assert_eq!(
        p.b.events(),
        vec![ClientEvent::ContextData {
            obj: sb,
            data: "ctx-1".into()
        }]
    );
}

#[test]
fn decline_ends_both_sides() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    p.a.events();
    p.b.call(|c, now| c.decline(sb, Some("no thanks"), now)).unwrap();
    assert_eq!(
        p.a.events(),
        vec![
            ClientEvent::Declined {
                obj: sa,
                app_data: Some("no thanks".into())
            },
            ClientEvent::StateChanged {
                obj: sa,
                prev: S::Invitation
            },
            ClientEvent::Termination {
                obj: sa,
                hr: HResult::SR_INVITATION_DECLINED.code(),
                app_data: Some("no thanks".into())
            },
        ]
    );
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Declined);
}

#[test]
fn unknown_app_is_declined_as_not_installed() {
    let p = testkit::pair(11, false);
    let sa = p.a.new_session(p.ma);
    p.a.invite(sa, BOB, None).unwrap();
    assert!(p
        .b
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::AppNotPresent { name, .. } if name == "Test App")));
    assert!(p.a.events().contains(&ClientEvent::Termination {
        obj: sa,
        hr: HResult::SR_APP_NOT_REGISTERED.code(),
        app_data: None
    }));
    let cancel = p
        .hub()
        .trace()
        .iter()
        .rev()
        .find(|e| e.cmd.name == "MSG")
        .unwrap()
        .clone();
    let m = InviteMessage::parse_payload(cancel.cmd.payload.as_deref().unwrap()).unwrap();
    assert_eq!(m.get("Cancel-Code"), Some("REJECT_NOT_INSTALLED"));
}

#[test]
fn invitation_times_out() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    p.hub().advance(Duration::from_secs(60));
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Cancelled);
    assert_eq!(p.b.read(|c| c.session(sb).unwrap().state()), S::Cancelled);
    let timed_out = |obj| ClientEvent::Termination {
        obj,
        hr: HResult::SR_SESSION_TIMEOUT.code(),
        app_data: None,
    };
    assert!(p.b.events().contains(&timed_out(sb)));
    assert!(p.a.events().contains(&timed_out(sa)));
}

#[test]
fn inviting_an_offline_user_fails_synchronously() {
    let p = testkit::pair(11, true);
    p.hub().service_mut().add_user("carol@example.com", "pw", None).unwrap();
    let sa = p.a.new_session(p.ma);
    let err = p.a.invite(sa, "carol@example.com", None).unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::MSGR_E_NOT_LOGGED_ON));
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Ready);
    let err = p.a.invite(sa, ALICE, None).unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::SR_INVITED_SELF));
}

#[test]
fn a_peer_signing_out_terminates_the_session() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    p.b.call(|c, now| c.accept(sb, None, now)).unwrap();
    p.b.call(|c, _| c.launch_decided(sb, false, None)).unwrap();
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Connected);
    p.a.events();
    p.b.sign_out();
    assert_eq!(
        p.a.events(),
        vec![
            ClientEvent::StateChanged {
                obj: sa,
                prev: S::Connected
            },
            ClientEvent::Termination {
                obj: sa,
                hr: HResult::SR_CONNECTION_FAILURE.code(),
                app_data: None
            },
        ]
    );
}

// ---- Messenger Private ------------------------------------------------------------------

/// Alice and Bob on a service without Lock and Key, Carol registered but offline, and
/// a MessengerPriv of Alice's.
fn priv_world() -> (
    std::sync::Arc<std::sync::Mutex<crate::embedded::Embedded>>,
    Side,
    Side,
    u64,
) {
    let mut config = ServiceConfig::new();
    config.lock_and_key = LockAndKey::Off;
    config.seed = Some(5);
    let mut w = crate::embedded::Embedded::new(config);
    for u in [ALICE, BOB, "carol@example.com"] {
        w.service_mut().add_user(u, "pw", None).unwrap();
    }
    let hub = std::sync::Arc::new(std::sync::Mutex::new(w));
    let a = Side::embedded(&hub, ALICE, None);
    let b = Side::embedded(&hub, BOB, Some(&a));
    a.sign_in().unwrap();
    b.sign_in().unwrap();
    let p = a
        .call(|c, _| Ok(c.create_lock_object(ObjectKind::MessengerPriv)))
        .unwrap();
    a.events();
    b.events();
    (hub, a, b, p)
}

fn adds(side: &Side) -> Vec<(HResult, Option<ContactInfo>)> {
    side.events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::ContactListAdd { hr, contact, .. } => Some((hr, contact)),
            _ => None,
        })
        .collect()
}

#[test]
fn add_contact_outcomes() {
    let (hub, a, _b, p) = priv_world();
    for name in [BOB, "carol@example.com", BOB, "nobody@example.com", "a@b"] {
        a.call(|c, _| c.add_contact(p, Some(name))).unwrap();
    }
    let summary: Vec<(HResult, Option<String>)> = adds(&a)
        .iter()
        .map(|(hr, c)| (*hr, c.as_ref().and_then(|c| c.status.clone())))
        .collect();
    assert_eq!(
        summary,
        vec![
            (HResult::S_OK, Some("NLN".into())),
            (HResult::S_OK, Some("FLN".into())),
            (HResult::S_OK, Some("NLN".into())),
            (HResult::E_FAIL, None),
            (HResult::E_INVALIDARG, None),
        ]
    );
    let err = a.call(|c, _| c.add_contact(p, None)).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_POINTER);
    let err = a.call(|c, _| c.add_contact(p, Some("has space"))).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_INVALIDARG);
    let w = hub.lock().unwrap();
    let rl: Vec<String> = w
        .service()
        .directory()
        .list(BOB, "RL")
        .into_iter()
        .map(|a| a.sign_in_name.clone())
        .collect();
    assert_eq!(rl, vec![ALICE.to_string()]);
    assert!(w
        .trace()
        .iter()
        .any(|e| e.cmd.line() == "ADD 0 RL 0 alice@example.com alice"));
}

#[test]
fn presence_follows_sign_in_and_out() {
    let (_hub, a, b, p) = priv_world();
    let status = |side: &Side| side.read(|c| c.contact(BOB).status);
    // Not on alice's forward list: the service says nothing about bob, online or not.
    assert_eq!(status(&a), None);
    a.call(|c, _| c.add_contact(p, Some(BOB))).unwrap();
    assert_eq!(status(&a).as_deref(), Some("NLN"));
    b.sign_out();
    assert_eq!(status(&a).as_deref(), Some("FLN"));
    b.sign_in().unwrap();
    assert_eq!(status(&a).as_deref(), Some("NLN"));
}

#[test]
fn alerts_reach_only_subscribed_sites() {
    let (hub, a, _b, p) = priv_world();
    assert_eq!(a.call(|c, _| c.enable_alert_events(p, &[5, 9])).unwrap(), HResult::S_OK);
    let alert = |site| Alert {
        site_id: site,
        text: "Tom & <Jerry>".into(),
        site_url: String::new(),
        action_url: String::new(),
        subscribe_url: String::new(),
    };
    {
        let mut w = hub.lock().unwrap();
        assert!(w.service_mut().send_alert(ALICE, &alert(9)).unwrap());
        assert!(w.service_mut().send_alert(ALICE, &alert(7)).unwrap());
        assert!(!w.service_mut().send_alert("carol@example.com", &alert(9)).unwrap());
        w.settle();
    }
    let alerts: Vec<String> = a
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::AlertReceived { alert, .. } => Some(alert),
            _ => None,
        })
        .collect();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].contains("siteid=\"9\"") && alerts[0].contains("Tom &amp; &lt;Jerry&gt;"));
    let too_many: Vec<i64> = (0..257).collect();
    let err = a.call(|c, _| c.enable_alert_events(p, &too_many)).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_OUTOFMEMORY);
}

#[test]
fn context_data_sent_before_the_invitee_connects_waits_for_it() {
    let p = testkit::pair(11, true);
    let (sa, sb) = p.invite();
    p.b.call(|c, now| c.accept(sb, None, now)).unwrap();
    // Alice is connected; Bob still decides whether to launch.
    assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Connected);
    p.b.events();
    p.a.call(|c, now| c.send_context_data(sa, "early", now)).unwrap();
    assert!(!p
        .b
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::ContextData { .. })));
    p.b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
    let after: Vec<ClientEvent> =
        p.b.events()
            .into_iter()
            .filter(|e| matches!(e, ClientEvent::StateChanged { .. } | ClientEvent::ContextData { .. }))
            .collect();
    assert_eq!(
        after,
        [
            ClientEvent::StateChanged {
                obj: sb,
                prev: S::Accepted
            },
            ClientEvent::ContextData {
                obj: sb,
                data: "early".into()
            },
        ]
    );
    assert_eq!(
        p.b.read(|c| c.session(sb).unwrap().context_data.clone()).as_deref(),
        Some("early")
    );
}
