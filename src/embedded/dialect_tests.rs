//! Both engines together in every dialect, through the embedded hub: sign-in, Lock
//! and Key, a Session Invite to CONNECTED with context data, a cancel, contacts,
//! presence and the keep-alive.

use std::time::Duration;

use crate::client::{ClientEvent, ClientState, ObjectKind};
use crate::hresult::HResult;
use crate::lock::LockStatus;
use crate::proto::Dialect;
use crate::session::SessionState as S;
use crate::testkit::{self, Side, ALICE, BOB};

fn lines(side: &Side) -> Vec<String> {
    side.driver.with_trace(|t| t.iter().map(|e| e.cmd.line()).collect())
}

#[test]
fn every_dialect_signs_in_unlocks_invites_and_cancels() {
    for d in Dialect::ALL {
        let p = testkit::pair_in(21, true, d);
        let l = lines(&p.a);
        // The pair's own sign-in and unlock went by before the trace was cleared;
        // invite, accept, context data and cancel all cross now.
        assert!(l.is_empty(), "{d}: {l:?}");
        let (sa, sb) = p.invite();
        p.b.call(|c, now| c.accept(sb, Some("yes"), now)).unwrap();
        p.b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
        assert_eq!(p.a.read(|c| c.session(sa).unwrap().state()), S::Connected, "{d}");
        assert_eq!(p.b.read(|c| c.session(sb).unwrap().state()), S::Connected, "{d}");
        p.a.call(|c, now| c.send_context_data(sa, "e2e4", now)).unwrap();
        assert!(
            p.b.events().contains(&ClientEvent::ContextData {
                obj: sb,
                data: "e2e4".into()
            }),
            "{d}"
        );
        let (sa2, sb2) = p.invite();
        p.a.call(|c, now| c.cancel(sa2, 0x8100_0606, Some("later"), now))
            .unwrap();
        assert_eq!(p.a.read(|c| c.session(sa2).unwrap().state()), S::Cancelled, "{d}");
        assert_eq!(p.b.read(|c| c.session(sb2).unwrap().state()), S::Cancelled, "{d}");
        let names: Vec<String> = p.hub().trace().iter().map(|e| e.cmd.name.clone()).collect();
        for n in ["XFR", "USR", "CAL", "RNG", "ANS", "IRO", "JOI", "MSG"] {
            assert!(names.contains(&n.to_string()), "{d}: {n} missing");
        }
    }
}

#[test]
fn sign_in_speaks_the_dialect_from_ver_to_chg() {
    for d in Dialect::ALL {
        let alice = Side::embedded(&testkit::hub_in(3, d), ALICE, None);
        let obj = alice
            .call(|c, _| Ok(c.create_lock_object(ObjectKind::SessionManager)))
            .unwrap();
        alice.sign_in().unwrap();
        let l = lines(&alice);
        assert_eq!(l[0], format!("VER 1 {d} CVR0"));
        assert_eq!(l[1], format!("VER 1 {d}"));
        let twn = d >= Dialect::Msnp8;
        assert_eq!(l.iter().any(|x| x == "USR 3 TWN I alice@example.com"), twn, "{d}");
        assert_eq!(l.iter().any(|x| x == "INF 2"), !twn, "{d}");
        let syn = if d >= Dialect::Msnp10 { "SYN 5 0 0" } else { "SYN 5 0" };
        assert!(l.iter().any(|x| x == syn), "{d}: {l:?}");
        let chg = if twn { "CHG 6 NLN 0" } else { "CHG 6 NLN" };
        assert!(l.iter().any(|x| x == chg), "{d}: {l:?}");
        // The service's ping, answered with the dialect's pair.
        let id = if d >= Dialect::Msnp11 {
            "PROD0090YUAUV{2B"
        } else {
            "msmsgs@msnmsgr.com"
        };
        let qry = l
            .iter()
            .position(|x| x.starts_with("QRY ") && x.contains(id))
            .expect("the ping answer");
        let trid = l[qry].split(' ').nth(1).unwrap();
        assert!(
            l[qry..].contains(&format!("QRY {trid}")),
            "{d}: the answer was accepted"
        );
        assert_eq!(alice.read(|c| c.state()), ClientState::SignedIn);
        assert_eq!(alice.read(|c| c.lock_status(obj)).unwrap(), LockStatus::Initialized);
        assert_eq!(
            alice.read(|c| c.friendly_name().map(str::to_string)).as_deref(),
            Some("Alice A"),
            "{d}"
        );
    }
}

#[test]
fn a_wrong_password_is_refused_in_every_dialect() {
    for d in Dialect::ALL {
        let alice = Side::embedded(&testkit::hub_in(3, d), ALICE, None);
        alice.set_password("nope");
        let err = alice.sign_in().unwrap_err();
        assert_eq!(err.hresult(), Some(HResult::SR_AUTHENTICATION_FAILED), "{d}");
        assert_eq!(alice.read(|c| c.state()), ClientState::Offline);
    }
}

#[test]
fn contacts_are_added_and_listed_in_every_dialect() {
    for d in Dialect::ALL {
        let hub = testkit::hub_in(4, d);
        let a = Side::embedded(&hub, ALICE, None);
        let b = Side::embedded(&hub, BOB, Some(&a));
        a.sign_in().unwrap();
        b.sign_in().unwrap();
        let p = a.unlocked(ObjectKind::MessengerPriv);
        a.events();
        a.call(|c, _| c.add_contact(p, Some(BOB))).unwrap();
        let added = a.next(|e| match e {
            ClientEvent::ContactListAdd { hr, contact, .. } => Some((*hr, contact.clone())),
            _ => None,
        });
        assert_eq!(added.0, HResult::S_OK, "{d}");
        let bob = added.1.unwrap();
        assert_eq!(
            (bob.sign_in_name.as_str(), bob.status.as_deref()),
            (BOB, Some("NLN")),
            "{d}"
        );
        let verb = if d >= Dialect::Msnp10 { "ADC" } else { "ADD" };
        assert!(
            lines(&a).iter().any(|l| l.starts_with(&format!("{verb} 0 RL"))),
            "{d}: bob heard"
        );
        // A new sign-in finds bob on the forward list from the download alone.
        a.sign_out();
        a.sign_in().unwrap();
        assert_eq!(a.read(|c| c.forward_list()).len(), 1, "{d}");
        b.sign_out();
        assert_eq!(a.read(|c| c.contact(BOB).status).as_deref(), Some("FLN"), "{d}");
    }
}

#[test]
fn every_dialect_keeps_the_connection_alive_with_png() {
    for d in Dialect::ALL {
        let hub = testkit::hub_in(6, d);
        let a = Side::embedded(&hub, ALICE, None);
        a.sign_in().unwrap();
        hub.lock().unwrap().clear_trace();
        hub.lock().unwrap().advance(Duration::from_secs(61));
        let l = lines(&a);
        let expected: Vec<String> = match d {
            Dialect::Msnp7 | Dialect::Msnp8 => vec!["PNG".into(), "QNG".into()],
            _ => vec!["PNG".into(), "QNG 60".into()],
        };
        assert_eq!(l, expected, "{d}");
        assert_eq!(a.read(|c| c.state()), ClientState::SignedIn, "{d}");
    }
}

#[test]
fn plain_messages_cross_in_every_dialect() {
    for d in Dialect::ALL {
        let hub = testkit::hub_in(8, d);
        let a = Side::embedded(&hub, ALICE, None);
        let b = Side::embedded(&hub, BOB, Some(&a));
        a.sign_in().unwrap();
        b.sign_in().unwrap();
        a.events();
        let id = a.call(|c, _| Ok(c.new_text_id())).unwrap();
        a.driver
            .call_and_wait(a.m, crate::client::Waiting::Text(id), testkit::WAIT, |c, now| {
                c.send_text(id, BOB, "hello", now)
            })
            .unwrap();
        assert!(
            b.events().contains(&ClientEvent::TextReceived {
                sender: ALICE.into(),
                text: "hello".into()
            }),
            "{d}"
        );
        let id = a.call(|c, _| Ok(c.new_text_id())).unwrap();
        let err = a
            .driver
            .call_and_wait(a.m, crate::client::Waiting::Text(id), testkit::WAIT, |c, now| {
                c.send_text(id, "carol@example.com", "hello", now)
            })
            .unwrap_err();
        assert_eq!(err.hresult(), Some(HResult::MSGR_E_NOT_LOGGED_ON), "{d}");
    }
}
