//! How much live state the service holds, for leak checks: once every user has
//! signed out and every connection has closed, each count is back to zero.

use super::{Role, ServiceEngine};

/// What [`ServiceEngine::counts`] reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceCounts {
    /// Open connections, of any role.
    pub connections: usize,
    /// Of those, notification-server connections (signed in or not).
    pub ns_connections: usize,
    /// Of those, switchboard connections.
    pub sb_connections: usize,
    /// Signed-in users.
    pub signed_in: usize,
    /// Switchboards with at least one member.
    pub switchboards: usize,
    /// `XFR`/`RNG` cookies handed out and not yet used.
    pub sb_tickets: usize,
    /// Passport tickets issued by the login server and not yet redeemed.
    pub passport_tickets: usize,
    /// Challenges (pings and Lock and Key) waiting for their `QRY`.
    pub challenges: usize,
    /// Writes handed to the store and not yet reported.
    pub pending_writes: usize,
}

impl ServiceCounts {
    /// Whether nothing is held (every count is zero).
    pub fn is_idle(&self) -> bool {
        *self == ServiceCounts::default()
    }
}

impl ServiceEngine {
    /// The live state this engine holds; reading it changes nothing.
    pub fn counts(&self) -> ServiceCounts {
        let mut counts = ServiceCounts {
            connections: self.conns.len(),
            signed_in: self.online.len(),
            switchboards: self.switchboards.len(),
            sb_tickets: self.tickets.len(),
            passport_tickets: self.passport.len(),
            pending_writes: self.pending.len(),
            ..ServiceCounts::default()
        };
        for conn in self.conns.values() {
            match &conn.role {
                Role::Ns(ns) => {
                    counts.ns_connections += 1;
                    counts.challenges += ns.challenge_count();
                }
                Role::Sb(_) => counts.sb_connections += 1,
                Role::Unknown => {}
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::super::testwire::{switchboard_with, Wire};
    use super::ServiceCounts;
    use crate::proto::Dialect;
    use crate::testkit::ALICE;

    fn cookie_of(xfr: &str) -> String {
        xfr.rsplit(' ').next().unwrap().to_string()
    }

    #[test]
    fn a_conversation_is_counted_and_nothing_is_left_once_everyone_is_gone() {
        let mut w = Wire::new();
        let (a, b) = switchboard_with(&mut w, |_| {});
        let c = w.s.counts();
        assert_eq!(
            (
                c.connections,
                c.ns_connections,
                c.sb_connections,
                c.signed_in,
                c.switchboards,
                c.sb_tickets
            ),
            (4, 2, 2, 2, 1, 0),
            "{c:?}"
        );
        for conn in [a, b, 1, 2] {
            w.s.closed(conn, w.now);
            w.pump();
        }
        assert!(w.s.counts().is_idle(), "{:?}", w.s.counts());
    }

    #[test]
    fn a_user_who_signs_out_leaves_every_switchboard_and_no_seat_behind() {
        let mut w = Wire::new();
        let (a, b) = switchboard_with(&mut w, |_| {});
        w.take(a);
        w.take(b);
        w.s.closed(1, w.now);
        w.pump();
        assert_eq!(w.take(b), ["BYE alice@example.com"]);
        assert_eq!(w.s.counts().sb_connections, 1);
        assert!(w.s.sb_conns_of(ALICE).is_empty());
        assert_eq!(w.s.sb_conns_of("BOB@example.com"), [b]);
        w.s.closed(2, w.now);
        w.pump();
        assert!(w.s.counts().is_idle(), "{:?}", w.s.counts());
        assert!(w.s.sb_conns_of("bob@example.com").is_empty());
    }

    #[test]
    fn a_cookie_of_a_user_who_signed_out_is_gone_with_them() {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, Dialect::Msnp11);
        w.present(1, Dialect::Msnp11);
        let xfr = w.send(1, "XFR 7 SB");
        assert_eq!(w.s.counts().sb_tickets, 1, "{xfr:?}");
        w.s.closed(1, w.now);
        w.pump();
        assert_eq!(w.s.counts(), ServiceCounts::default());
        // Nor can it open a switchboard any more.
        w.s.open(10, w.now);
        let got = w.send(10, &format!("USR 1 {ALICE} {}", cookie_of(&xfr[0])));
        assert_eq!(got, ["911 1"]);
    }

    #[test]
    fn a_call_into_a_switchboard_that_ended_leaves_no_cookie() {
        let mut w = Wire::new();
        switchboard_with(&mut w, |w| {
            assert_eq!(w.s.counts().sb_tickets, 1, "the callee's RNG cookie");
            // The caller leaves before the callee answers: the switchboard ends.
            w.s.closed(10, w.now);
            w.pump();
            let c = w.s.counts();
            assert_eq!((c.switchboards, c.sb_tickets), (0, 0), "{c:?}");
        });
    }
}
