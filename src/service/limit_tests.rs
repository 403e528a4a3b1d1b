//! The limits of `Limits::default()`, each at and past its bound, fed raw lines: what
//! one client may cost the service (docs/security.md).

use std::time::Duration;

use super::testwire::{Wire, CAROL};
use crate::proto::Dialect;
use crate::testkit::{ALICE, APP, BOB, KEY, PASSWORD};
use crate::wire::challenge::md5_response;

const D: Dialect = Dialect::Msnp11;
const S: fn(u64) -> Duration = Duration::from_secs;

impl Wire {
    fn at(&mut self, secs_later: u64) {
        self.now += S(secs_later);
        self.s.tick(self.now);
        self.pump();
    }
}

#[test]
fn a_connection_that_does_not_sign_in_goes_after_a_minute() {
    let mut w = Wire::new();
    w.s.open(1, w.now);
    w.send(1, "VER 1 MSNP7 CVR0");
    w.at(59);
    assert!(!w.closed.contains(&1));
    w.at(1);
    assert!(w.closed.contains(&1), "60 s without signing in");
    // A switchboard connection must be seated within the same time.
    w.s.open(2, w.now);
    w.at(60);
    assert!(w.closed.contains(&2));
}

#[test]
fn half_a_command_waits_thirty_seconds_even_when_signed_in() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.send_bytes(1, b"PN");
    w.at(29);
    assert!(!w.closed.contains(&1));
    w.at(1);
    assert!(w.closed.contains(&1), "slowloris");
    // Half a payload too.
    w.sign_in(2, BOB, D);
    w.send_bytes(2, b"UUX 9 50\r\n<Data>");
    w.at(30);
    assert!(w.closed.contains(&2));
}

#[test]
fn a_signed_in_connection_that_stays_silent_goes_after_three_pings() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.at(179);
    assert_eq!(w.send(1, "PNG"), ["QNG 60"], "a ping keeps it");
    w.at(179);
    assert!(!w.closed.contains(&1));
    w.at(1);
    assert!(w.closed.contains(&1), "180 s silent");
    assert!(!w.s.is_online(ALICE), "and signed out");
}

#[test]
fn a_switchboard_seat_silent_for_five_minutes_is_dropped_with_bye_1() {
    let mut w = Wire::new();
    let (caller, callee) = super::testwire::switchboard_with(&mut w, |_| {});
    // Both keep their notification connections alive; the callee also talks.
    for _ in 0..2 {
        w.send(1, "PNG");
        w.send(2, "PNG");
        w.send_bytes(callee, b"MSG 9 U 4\r\nhey!");
        w.at(140);
    }
    assert!(!w.closed.contains(&caller) && !w.closed.contains(&callee), "280 s");
    w.take(callee);
    w.send(1, "PNG");
    w.send(2, "PNG");
    w.at(20);
    assert!(w.closed.contains(&caller), "the caller's seat, silent 300 s, is closed");
    assert!(!w.closed.contains(&callee), "the one that talked stays");
    assert_eq!(w.take(callee), ["BYE alice@example.com 1"], "dropped for idling");
    assert!(w.s.is_online(ALICE), "its user stays signed in");
}

#[test]
fn at_most_eight_challenges_are_outstanding() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.present(1, D);
    // The ping after CHG is one; seven requests fill the rest.
    for t in 0..7 {
        assert!(w.send(1, &format!("CHL {}", 10 + t))[0].starts_with("CHL "));
    }
    assert_eq!(w.send(1, "CHL 20"), ["713 20"]);
    // A wrong answer spends none (it cannot say which it answered); they expire.
    let bad = "0".repeat(32);
    assert_eq!(w.send(1, &format!("QRY 21 {APP} 32\r\n{bad}")), ["540 21"]);
    assert_eq!(w.send(1, "CHL 22"), ["713 22"]);
    w.now += S(51);
    w.s.tick(w.now);
    assert!(w.send(1, "CHL 23")[0].starts_with("CHL 23 "));
    assert!(!w.closed.contains(&1));
}

#[test]
fn a_wrong_answer_for_one_lock_object_leaves_the_others_challenge() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.present(1, D);
    let challenge = |got: Vec<String>| got[0].rsplit(' ').next().unwrap().to_string();
    let first = challenge(w.send(1, "CHL 10"));
    let second = challenge(w.send(1, "CHL 11"));
    let bad = md5_response(&first, "NOTTHEKEY");
    assert_eq!(w.send(1, &format!("QRY 12 {APP} 32\r\n{bad}")), ["540 12"]);
    for (t, c) in [(13, &second), (14, &first)] {
        let good = md5_response(c, KEY);
        assert_eq!(w.send(1, &format!("QRY {t} {APP} 32\r\n{good}")), [format!("QRY {t}")]);
    }
}

#[test]
fn app_answers_are_checked_ten_at_once_then_one_a_second() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    let bad = "0".repeat(32);
    for t in 0..10 {
        w.send(1, &format!("QRY {t} {APP} 32\r\n{bad}"));
    }
    let got = w.send(1, "CHL 20");
    let challenge = got[0].rsplit(' ').next().unwrap().to_string();
    let right = md5_response(&challenge, KEY);
    assert_eq!(
        w.send(1, &format!("QRY 21 {APP} 32\r\n{right}")),
        ["540 21"],
        "spent: failed unchecked"
    );
    assert!(!w.closed.contains(&1), "the connection stays");
    let got = w.send(1, "CHL 22");
    let challenge = got[0].rsplit(' ').next().unwrap().to_string();
    w.now += S(1);
    let right = md5_response(&challenge, KEY);
    assert_eq!(w.send(1, &format!("QRY 23 {APP} 32\r\n{right}")), ["QRY 23"]);
}

/// An MSNP7 sign-in attempt for `user` with `password` on a new connection.
fn md5_attempt(w: &mut Wire, conn: u64, user: &str, password: &str) -> Vec<String> {
    w.s.open(conn, w.now);
    w.send(conn, "VER 1 MSNP7 CVR0");
    w.send(conn, "INF 2");
    let salt = w.send(conn, &format!("USR 3 MD5 I {user}"))[0]
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    w.send(conn, &format!("USR 4 MD5 S {}", md5_response(&salt, password)))
}

#[test]
fn wrong_passwords_are_refused_unchecked_once_an_accounts_budget_is_spent() {
    let mut w = Wire::new();
    for i in 0..5 {
        assert_eq!(md5_attempt(&mut w, 10 + i, ALICE, "guess"), ["911 4"]);
    }
    // The right password now fails too from there: the guess is not even checked.
    assert_eq!(md5_attempt(&mut w, 20, ALICE, PASSWORD), ["911 4"]);
    assert!(!w.s.is_online(ALICE));
    // Other accounts are not held up by it.
    assert!(md5_attempt(&mut w, 21, BOB, PASSWORD)[0].starts_with("USR 4 OK"));
    // One more try every 30 s.
    w.now += S(30);
    assert!(md5_attempt(&mut w, 22, ALICE, PASSWORD)[0].starts_with("USR 4 OK"));
    // The Passport login shares the budget.
    for _ in 0..5 {
        assert!(w.s.passport_login(CAROL, "guess", w.now).is_err());
    }
    assert_eq!(
        w.s.passport_login(CAROL, PASSWORD, w.now),
        Err(super::LoginRefused::TooMany)
    );
}

#[test]
fn a_stranger_cannot_lock_an_owner_out() {
    let mut w = Wire::new();
    let owner = Some("198.51.100.1".parse().unwrap());
    // Twenty addresses guess, each until its own budget for the account is spent.
    for a in 0..20u8 {
        let guesser = Some(std::net::IpAddr::from([192, 0, 2, a]));
        for _ in 0..5 {
            assert_eq!(
                w.s.passport_login_from(ALICE, "guess", guesser, w.now),
                Err(super::LoginRefused::WrongPassword)
            );
        }
        assert_eq!(
            w.s.passport_login_from(ALICE, PASSWORD, guesser, w.now),
            Err(super::LoginRefused::TooMany),
            "that address, even with the right password"
        );
        assert!(w.s.guess_delay(ALICE, guesser, w.now) > S(0), "and it waits");
    }
    // The owner, from an address of its own: at once, with no delay.
    assert_eq!(w.s.guess_delay(ALICE, owner, w.now), S(0));
    assert!(w.s.passport_login_from(ALICE, PASSWORD, owner, w.now).is_ok());
}

#[test]
fn an_address_that_keeps_failing_for_an_account_waits_longer() {
    let mut w = Wire::new();
    let guesser = Some("192.0.2.9".parse().unwrap());
    assert_eq!(w.s.guess_delay(ALICE, guesser, w.now), S(0), "no failure yet");
    let mut last = S(0);
    for i in 0..40u8 {
        // Many addresses, so that no budget stops the pressure from growing.
        let other = Some(std::net::IpAddr::from([203, 0, 113, i]));
        let _ = w.s.passport_login_from(ALICE, "guess", other, w.now);
        let _ = w.s.passport_login_from(ALICE, "guess", guesser, w.now);
        let delay = w.s.guess_delay(ALICE, guesser, w.now);
        assert!(
            delay >= last && delay <= super::ns::MAX_GUESS_DELAY,
            "{delay:?} after {last:?}"
        );
        last = delay;
    }
    assert_eq!(last, super::ns::MAX_GUESS_DELAY);
    // Forgiven with time.
    w.now += S(300);
    assert_eq!(w.s.guess_delay(ALICE, guesser, w.now), S(0));
}

#[test]
fn wrong_passwords_from_one_address_are_bounded_across_accounts() {
    let mut w = Wire::new();
    let peer = Some("192.0.2.7".parse().unwrap());
    for i in 0..20u64 {
        let user = format!("user{i}@example.com");
        assert!(w.s.passport_login_from(&user, "guess", peer, w.now).is_err());
    }
    assert_eq!(
        w.s.passport_login_from(ALICE, PASSWORD, peer, w.now),
        Err(super::LoginRefused::TooMany),
        "the address's budget is spent"
    );
    assert!(w
        .s
        .passport_login_from(ALICE, PASSWORD, Some("192.0.2.8".parse().unwrap()), w.now)
        .is_ok());
}

#[test]
fn switchboard_requests_calls_and_rings_are_rate_limited() {
    let mut w = Wire::with_limits(|l| {
        l.xfr = super::limits::Rate::new(5, S(1));
        l.rings = super::limits::Rate::new(5, S(1));
    });
    w.sign_in(1, ALICE, D);
    w.present(1, D);
    for t in 0..5 {
        assert!(w.send(1, &format!("XFR {t} SB"))[0].starts_with("XFR "), "{t}");
    }
    assert_eq!(w.send(1, "XFR 5 SB"), ["713 5"]);
    w.now += S(1);
    let cookie = w.send(1, "XFR 6 SB")[0].rsplit(' ').next().unwrap().to_string();
    w.sign_in(2, BOB, D);
    w.present(2, D);
    w.s.open(10, w.now);
    w.send(10, &format!("USR 1 alice@example.com {cookie}"));
    for t in 0..5 {
        assert!(
            w.send(10, &format!("CAL {} bob@example.com", 2 + t))[0].contains("RINGING"),
            "{t}"
        );
    }
    assert_eq!(w.send(10, "CAL 30 bob@example.com"), ["713 30"]);
    assert_eq!(w.take(2).len(), 5, "5 RNGs reached Bob, not 6");
}

#[test]
fn unused_switchboard_cookies_per_user_are_capped() {
    use super::sb::MAX_TICKETS_PER_USER as CAP;
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.present(1, D);
    let mut cookies = Vec::new();
    for t in 0..CAP {
        let reply = w.send(1, &format!("XFR {t} SB"));
        assert!(reply[0].starts_with("XFR "), "{t}: {reply:?}");
        cookies.push(reply[0].rsplit(' ').next().unwrap().to_string());
    }
    assert_eq!(w.send(1, "XFR 100 SB"), ["713 100"], "a flood holds at most the cap");
    // Using one gives room for one more.
    w.s.open(10, w.now);
    assert!(w.send(10, &format!("USR 1 alice@example.com {}", cookies[0]))[0].starts_with("USR 1 OK"));
    assert!(w.send(1, "XFR 101 SB")[0].starts_with("XFR "));
    // Bob, rung and never answering, is rung at most the cap at once, by any caller.
    w.sign_in(2, BOB, D);
    w.present(2, D);
    for t in 0..CAP {
        let reply = w.send(10, &format!("CAL {} bob@example.com", 2 + t));
        assert!(reply[0].contains("RINGING"), "{t}: {reply:?}");
        if t % 10 == 9 {
            w.now += S(1); // past the rate, so only the cap refuses
        }
    }
    w.now += S(1);
    assert_eq!(w.send(10, "CAL 300 bob@example.com"), ["713 300"]);
    assert_eq!(w.take(2).iter().filter(|l| l.starts_with("RNG ")).count(), CAP);
    // Once they expire, Bob may be rung again.
    w.now += super::sb::TICKET_TTL;
    assert!(w.send(10, "CAL 301 bob@example.com")[0].contains("RINGING"));
}

#[test]
fn switchboard_cookies_are_pruned_as_they_expire() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, D);
    w.present(1, D);
    for t in 0..20 {
        w.send(1, &format!("XFR {t} SB"));
    }
    assert_eq!(w.s.tickets.len(), 20);
    w.now += super::sb::TICKET_TTL;
    w.send(1, "PNG");
    w.now += S(1);
    w.send(1, "XFR 30 SB");
    assert_eq!(w.s.tickets.len(), 1, "the expired ones went when a new one came");
}

#[test]
fn a_full_server_evicts_from_the_address_holding_most_sockets_that_never_signed_in() {
    let mut w = Wire::new();
    let (newcomer, attacker): (std::net::IpAddr, std::net::IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
    w.sign_in(1, ALICE, D);
    // The newcomer's socket is the oldest not signed in; the attacker's are newer.
    w.s.open_from(2, Some(newcomer), w.now);
    w.at(1);
    for conn in 3..6 {
        w.s.open_from(conn, Some(attacker), w.now);
        w.at(1);
    }
    assert_eq!(w.s.oldest_unauthenticated(), Some(3), "the attacker's oldest");
    w.s.evict(3);
    w.pump();
    assert!(w.closed.contains(&3) && !w.closed.contains(&2));
    assert_eq!(w.s.oldest_unauthenticated(), Some(4));
    w.s.evict(4);
    // One each: then the one open longest.
    assert_eq!(w.s.oldest_unauthenticated(), Some(2));
    w.s.closed(2, w.now);
    w.s.closed(5, w.now);
    assert_eq!(
        w.s.oldest_unauthenticated(),
        None,
        "signed-in connections are never evicted"
    );
}
