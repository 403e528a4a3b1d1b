//! Privacy that holds: the block list and `BLP` govern presence and who may call, a
//! hidden user looks offline, a user has one seat per switchboard, a wrong guess never
//! spends someone else's cookie, and a displaced session loses its conversations.

use super::testwire::{bobs_ring, call_bob, switchboard_with, Wire, CAROL};
use crate::proto::Dialect;
use crate::testkit::{ALICE, BOB};

const D: Dialect = Dialect::Msnp11;

/// Alice (1) and Bob (2) signed in and present; Bob has Alice on his forward list.
fn watched() -> Wire {
    let mut w = Wire::new();
    w.add_fl(BOB, ALICE);
    w.sign_in(1, ALICE, D);
    w.sign_in(2, BOB, D);
    w.present(1, D);
    w.present(2, D);
    w.take(2);
    w
}

/// Bob (already present) opens a switchboard on connection 20 and calls Alice.
fn bob_calls_alice(w: &mut Wire) -> Vec<String> {
    let cookie = w.send(2, "XFR 30 SB")[0].rsplit(' ').next().unwrap().to_string();
    w.s.open(20, w.now);
    w.send(20, &format!("USR 1 bob@example.com {cookie}"));
    w.send(20, "CAL 2 alice@example.com")
}

#[test]
fn a_blocked_watcher_sees_offline_and_cannot_call() {
    let mut w = watched();
    assert_eq!(w.send(1, "ADC 7 BL N=bob@example.com"), ["ADC 7 BL N=bob@example.com"]);
    assert_eq!(w.take(2), ["FLN alice@example.com"], "blocking reads as signing out");
    w.send(1, "CHG 8 AWY 0");
    assert_eq!(w.take(2), ["FLN alice@example.com"], "no NLN leaks the new status");
    assert_eq!(bob_calls_alice(&mut w), ["217 2"], "as for an offline user");
    assert!(w.take(1).is_empty(), "no RNG reaches Alice");
    // A fresh sign-in of Bob's gets no ILN for her either.
    w.sign_in(3, BOB, D);
    let got = w.present(3, D);
    assert!(!got.iter().any(|l| l.contains("alice@example.com")), "{got:?}");
    // Unblocked, she is back.
    assert_eq!(w.send(1, "REM 9 BL bob@example.com"), ["REM 9 BL bob@example.com"]);
    assert_eq!(w.take(3), ["NLN AWY alice@example.com Alice%20A 0"]);
}

#[test]
fn with_blp_bl_only_the_allow_list_sees() {
    let mut w = watched();
    w.add_fl(CAROL, ALICE);
    w.sign_in(3, CAROL, D);
    w.present(3, D);
    w.take(3);
    w.send(1, "ADC 7 AL N=bob@example.com");
    assert!(
        w.take(2).iter().all(|l| l.starts_with("NLN")),
        "Bob, allowed, still sees her"
    );
    assert_eq!(w.send(1, "BLP 8 BL"), ["BLP 8 BL"]);
    assert_eq!(w.take(3), ["FLN alice@example.com"], "Carol is on no list of hers");
    assert!(!w.take(2).iter().any(|l| l.starts_with("FLN")));
    assert_eq!(w.send(1, "BLP 9 AL"), ["BLP 9 AL"]);
    assert_eq!(w.take(3), ["NLN NLN alice@example.com Alice%20A 1073741824"]);
}

#[test]
fn a_hidden_user_cannot_be_told_from_an_offline_one() {
    let mut w = watched();
    w.send(1, "CHG 7 HDN 0");
    assert_eq!(w.take(2), ["FLN alice@example.com"]);
    assert_eq!(bob_calls_alice(&mut w), ["217 2"]);
    assert!(w.take(1).is_empty());
}

#[test]
fn a_user_has_one_seat_per_switchboard() {
    let mut w = Wire::new();
    let mut first_ring = None;
    let (caller, callee) = switchboard_with(&mut w, |w| {
        // Rung twice before answering: two cookies for one switchboard.
        first_ring = w.take(2).pop();
        assert_eq!(
            w.send(10, "CAL 3 bob@example.com")[0].split(' ').nth(2),
            Some("RINGING")
        );
    });
    assert_eq!(w.take(callee).last().map(String::as_str), Some("ANS 1 OK"));
    assert_eq!(w.take(caller), ["JOI bob@example.com bob"]);
    let rng = first_ring.unwrap();
    let parts: Vec<&str> = rng.split(' ').collect();
    w.s.open(12, w.now);
    let got = w.send(12, &format!("ANS 1 bob@example.com {} {}", parts[4], parts[1]));
    assert_eq!(got, ["215 1"], "the second seat is refused");
    assert!(w.closed.contains(&12));
    assert_eq!(w.send(caller, "CAL 4 bob@example.com"), ["215 4"], "already there");
    let got = w.send(caller, "MSG 5 N 2\r\nhi");
    assert!(got.is_empty());
    assert_eq!(w.take(callee).len(), 1, "relayed once");
}

#[test]
fn a_wrong_guess_does_not_spend_someone_elses_cookie() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.sign_in(2, BOB, D);
    w.sign_in(3, CAROL, D);
    for c in [1, 2, 3] {
        w.present(c, D);
    }
    call_bob(&mut w);
    let (sid, ring_cookie) = bobs_ring(&mut w);
    let (sid, ring_cookie) = (sid.as_str(), ring_cookie.as_str());
    // Carol tries Bob's ring: refused, and Bob's answer still works.
    w.s.open(12, w.now);
    assert_eq!(
        w.send(12, &format!("ANS 1 carol@example.com {ring_cookie} {sid}")),
        ["911 1"]
    );
    w.s.open(11, w.now);
    let got = w.send(11, &format!("ANS 1 bob@example.com {ring_cookie} {sid}"));
    assert_eq!(got.last().map(String::as_str), Some("ANS 1 OK"));
    // The same for the caller's own XFR cookie.
    let cookie = w.send(1, "XFR 8 SB")[0].rsplit(' ').next().unwrap().to_string();
    w.s.open(13, w.now);
    assert_eq!(w.send(13, &format!("USR 1 carol@example.com {cookie}")), ["911 1"]);
    w.s.open(14, w.now);
    assert_eq!(
        w.send(14, &format!("USR 1 alice@example.com {cookie}"))[0],
        "USR 1 OK alice@example.com Alice%20A"
    );
}

#[test]
fn signing_in_elsewhere_ends_the_old_sessions_switchboards() {
    let mut w = Wire::new();
    let (caller, callee) = switchboard_with(&mut w, |_| {});
    w.take(caller);
    w.take(callee);
    w.sign_in(5, ALICE, D);
    assert!(w.closed.contains(&1) && w.closed.contains(&caller), "{:?}", w.closed);
    assert_eq!(w.take(callee), ["BYE alice@example.com"]);
}

#[test]
fn nobody_is_on_the_allow_and_block_lists_at_once() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp11);
    assert_eq!(w.send(1, "ADC 5 AL N=bob@example.com"), ["ADC 5 AL N=bob@example.com"]);
    assert_eq!(w.send(1, "ADC 6 BL N=bob@example.com"), ["219 6"]);
    assert_eq!(w.send(1, "REM 7 AL bob@example.com"), ["REM 7 AL bob@example.com"]);
    assert_eq!(w.send(1, "ADC 8 BL N=bob@example.com"), ["ADC 8 BL N=bob@example.com"]);
    assert_eq!(w.send(1, "ADC 9 AL N=bob@example.com"), ["219 9"]);
    // The same in MSNP7's ADD.
    w.sign_in(2, BOB, Dialect::Msnp7);
    assert!(w.send(2, "ADD 5 BL carol@example.com carol@example.com")[0].starts_with("ADD 5 BL "));
    assert_eq!(w.send(2, "ADD 6 AL carol@example.com carol@example.com"), ["219 6"]);
}

#[test]
fn an_answer_with_the_wrong_session_leaves_the_cookie_to_its_owner() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp11);
    w.sign_in(2, BOB, Dialect::Msnp11);
    w.present(1, Dialect::Msnp11);
    w.present(2, Dialect::Msnp11);
    call_bob(&mut w);
    let (session, cookie) = bobs_ring(&mut w);
    w.s.open(11, w.now);
    assert_eq!(w.send(11, &format!("ANS 1 bob@example.com {cookie} 12345")), ["911 1"]);
    w.s.open(12, w.now);
    let got = w.send(12, &format!("ANS 1 bob@example.com {cookie} {session}"));
    assert_eq!(got.last().map(String::as_str), Some("ANS 1 OK"), "{got:?}");
}
