//! How much live state a Messenger holds, for leak checks: signed out, with every
//! session ended, each count but the objects the app still holds is zero.

use crate::session::Phase;

use super::ClientEngine;

/// What [`ClientEngine::counts`] reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientCounts {
    /// Session managers and MessengerPriv objects the app holds.
    pub lock_objects: usize,
    /// Sessions held: the app's, and ended ones until it lets go of them.
    pub sessions: usize,
    /// Of those, sessions still under way: an invitation being sent, out, accepted or
    /// connected.
    pub live_sessions: usize,
    /// The notification connection (0 or 1), signed in or on its way.
    pub ns_connections: usize,
    /// Switchboard connections, open or being opened.
    pub sb_links: usize,
    /// Messages waiting on those for the switchboard to be ready.
    pub sb_queued: usize,
    /// Plain messages sent and not yet settled.
    pub texts_in_flight: usize,
    /// Calls a driver waits for (sign-in, invitations).
    pub awaiting: usize,
}

impl ClientEngine {
    /// The live state this engine holds; reading it changes nothing.
    pub fn counts(&self) -> ClientCounts {
        let (lock_objects, sessions) = self.object_counts();
        let live_sessions = self
            .sessions
            .map
            .values()
            .filter(|s| {
                matches!(
                    s.phase,
                    Phase::Sending
                        | Phase::Invitation
                        | Phase::Accepted
                        | Phase::AwaitingLaunch
                        | Phase::AwaitingAddress
                        | Phase::Connected
                )
            })
            .count();
        ClientCounts {
            lock_objects,
            sessions,
            live_sessions,
            ns_connections: usize::from(self.ns.is_some()),
            sb_links: self.sbs.len(),
            sb_queued: self.sbs.queued(),
            texts_in_flight: self.texts.len(),
            awaiting: self.awaiting.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::pair;

    #[test]
    fn a_session_and_its_switchboard_are_counted_until_sign_out() {
        let p = pair(3, true);
        let (sa, _) = p.invite();
        let c = p.a.read(|c| c.counts());
        assert_eq!((c.lock_objects, c.sessions, c.live_sessions), (1, 1, 1), "{c:?}");
        assert_eq!(
            (c.ns_connections, c.sb_links, c.sb_queued, c.awaiting),
            (1, 1, 0, 0),
            "{c:?}"
        );
        p.a.sign_out();
        let c = p.a.read(|c| c.counts());
        assert_eq!(
            (c.sessions, c.live_sessions, c.ns_connections, c.sb_links),
            (1, 0, 0, 0),
            "{c:?}"
        );
        p.a.call(|c, _| {
            c.release_object(sa);
            Ok(())
        })
        .unwrap();
        assert_eq!(p.a.read(|c| c.counts().sessions), 0);
        let b = p.b.read(|c| c.counts());
        assert_eq!(
            (b.live_sessions, b.sb_links),
            (0, 0),
            "the peer's side ended too: {b:?}"
        );
    }
}
