//! The embedded hub: one service engine and any number of client engines joined by
//! in-memory links, on a virtual clock. Every message crosses a link as real MSNP
//! bytes, and is recorded in the trace as it crosses.
//!
//! Run-to-completion: each call pumps the links until nothing moves, so the events it
//! caused are all queued (in order) when it returns.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::client::{ClientConfig, ClientEngine, ClientEvent, ClientOutput, ClientState, ObjId, ObjectKind};
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::LockStatus;
use crate::proto::{ConnId, Instant};
use crate::service::{ServiceConfig, ServiceEngine, ServiceOutput};
use crate::wire::{Command, Direction};

pub type MessengerId = u64;

/// One message on one link, as it crossed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    pub seq: u64,
    pub time: Instant,
    /// The service-side connection number.
    pub conn: ConnId,
    /// Who is on the client end, e.g. `alice@example.com`.
    pub user: String,
    pub direction: Direction,
    pub cmd: Command,
}

struct Link {
    messenger: MessengerId,
    local: ConnId,
}

/// Bounds the pump so a bug that ping-pongs forever fails loudly instead of hanging.
const MAX_PUMP_STEPS: usize = 1_000_000;

pub struct Embedded {
    service: ServiceEngine,
    clients: BTreeMap<MessengerId, ClientEngine>,
    links: BTreeMap<ConnId, Link>,
    next_conn: ConnId,
    next_messenger: MessengerId,
    now: Instant,
    trace: Vec<TraceEntry>,
    events: VecDeque<(MessengerId, ClientEvent)>,
    seed: Option<u64>,
}

impl Embedded {
    pub fn new(config: ServiceConfig) -> Self {
        let seed = config.seed;
        Embedded {
            seed,
            service: ServiceEngine::new(config),
            clients: BTreeMap::new(),
            links: BTreeMap::new(),
            next_conn: 1,
            next_messenger: 1,
            now: Duration::ZERO,
            trace: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub fn service(&self) -> &ServiceEngine {
        &self.service
    }

    pub fn service_mut(&mut self) -> &mut ServiceEngine {
        &mut self.service
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// A Messenger for an account; it starts signed out.
    pub fn add_messenger(&mut self, sign_in_name: &str, password: &str) -> MessengerId {
        let id = self.next_messenger;
        self.next_messenger += 1;
        let config = ClientConfig {
            sign_in_name: sign_in_name.to_string(),
            password: password.to_string(),
            ns_address: "embedded:1863".to_string(),
            // Each Messenger gets its own loopback address, so remote addresses are
            // easy to tell apart in a trace.
            local_ip: format!("127.0.0.{}", (id % 250) + 2),
            seed: self.seed.map(|s| s.wrapping_add(id)),
            dialects: crate::proto::Dialect::IMPLEMENTED.to_vec(),
        };
        self.clients.insert(id, ClientEngine::new(config));
        id
    }

    pub fn client(&self, m: MessengerId) -> Result<&ClientEngine> {
        self.clients.get(&m).ok_or(Error::UnknownHandle {
            what: "messenger",
            id: m,
        })
    }

    fn client_mut(&mut self, m: MessengerId) -> Result<&mut ClientEngine> {
        self.clients.get_mut(&m).ok_or(Error::UnknownHandle {
            what: "messenger",
            id: m,
        })
    }

    /// Runs a client call, then pumps until quiet: every event the call caused is
    /// queued when it returns.
    pub fn call<T>(&mut self, m: MessengerId, f: impl FnOnce(&mut ClientEngine, Instant) -> Result<T>) -> Result<T> {
        let now = self.now;
        let out = f(self.client_mut(m)?, now)?;
        self.collect_events(m);
        self.pump();
        Ok(out)
    }

    /// `IMsgrSession::Invite`: sent once the switchboard is up. If the service cannot
    /// reach the peer, the call fails with the documented code and nothing changed.
    pub fn invite(&mut self, m: MessengerId, obj: ObjId, peer: &str, app_data: Option<&str>) -> Result<()> {
        self.call(m, |c, now| c.invite(obj, peer, app_data, now))?;
        let failed = self
            .events
            .iter()
            .position(|(who, e)| *who == m && matches!(e, ClientEvent::InviteFailed { obj: o, .. } if *o == obj));
        match failed.and_then(|i| self.events.remove(i)) {
            Some((_, ClientEvent::InviteFailed { error, .. })) => Err(error),
            _ => Ok(()),
        }
    }

    /// Signs in and runs the whole MSNP7 sign-in; fails with the service's reason.
    pub fn sign_in(&mut self, m: MessengerId, password: Option<&str>) -> Result<()> {
        if let Some(pw) = password {
            self.client_mut(m)?.set_password(pw);
        }
        let first_new = self.events.len();
        self.call(m, |c, now| c.sign_in(now))?;
        let failure = self.events.iter().skip(first_new).find_map(|(who, e)| match e {
            ClientEvent::SignInFailed { error } if *who == m => Some(error.clone()),
            _ => None,
        });
        match (failure, self.client(m)?.state()) {
            (Some(e), _) => Err(e),
            (None, ClientState::SignedIn) => Ok(()),
            (None, _) => Err(Error::api(HResult::E_FAIL, "sign-in did not complete")),
        }
    }

    pub fn sign_out(&mut self, m: MessengerId) -> Result<()> {
        self.call(m, |c, now| {
            c.sign_out(now);
            Ok(())
        })
    }

    pub fn create_lock_object(&mut self, m: MessengerId, kind: ObjectKind) -> Result<ObjId> {
        Ok(self.client_mut(m)?.create_lock_object(kind))
    }

    pub fn lock_status(&self, m: MessengerId, obj: ObjId) -> Result<LockStatus> {
        self.client(m)?.lock_status(obj)
    }

    pub fn request_challenge(&mut self, m: MessengerId, obj: ObjId, cookie: i64) -> Result<()> {
        self.call(m, |c, now| c.request_challenge(obj, cookie, now))
    }

    pub fn send_response(
        &mut self,
        m: MessengerId,
        obj: ObjId,
        app_id: &str,
        response: &str,
        cookie: i64,
    ) -> Result<()> {
        self.call(m, |c, now| c.send_response(obj, app_id, response, cookie, now))
    }

    /// Moves the virtual clock, firing every timer that falls due on the way, in order.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now.saturating_add(by);
        loop {
            let next = self
                .clients
                .values()
                .filter_map(ClientEngine::next_deadline)
                .chain(self.service.next_deadline())
                .min();
            match next {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.tick_all();
                }
                _ => break,
            }
        }
        self.now = target;
    }

    fn tick_all(&mut self) {
        let now = self.now;
        self.service.tick(now);
        let ids: Vec<MessengerId> = self.clients.keys().copied().collect();
        for m in ids {
            if let Some(c) = self.clients.get_mut(&m) {
                c.tick(now);
            }
            self.collect_events(m);
        }
        self.pump();
    }

    /// Delivers whatever the service was made to say outside a client call (an alert).
    pub fn settle(&mut self) {
        self.pump();
    }

    pub fn take_events(&mut self) -> Vec<(MessengerId, ClientEvent)> {
        self.events.drain(..).collect()
    }

    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    pub fn clear_trace(&mut self) {
        self.trace.clear();
    }

    fn collect_events(&mut self, m: MessengerId) {
        if let Some(c) = self.clients.get_mut(&m) {
            while let Some(e) = c.poll_event() {
                self.events.push_back((m, e));
            }
        }
    }

    fn record(&mut self, conn: ConnId, direction: Direction, cmd: &Command) {
        let user = self
            .links
            .get(&conn)
            .and_then(|l| self.clients.get(&l.messenger))
            .map(|c| c.sign_in_name().to_string())
            .unwrap_or_default();
        self.trace.push(TraceEntry {
            seq: self.trace.len() as u64,
            time: self.now,
            conn,
            user,
            direction,
            cmd: cmd.clone(),
        });
    }

    /// Moves messages until no engine has anything left to say.
    fn pump(&mut self) {
        for _ in 0..MAX_PUMP_STEPS {
            let mut moved = false;
            let ids: Vec<MessengerId> = self.clients.keys().copied().collect();
            for m in ids {
                while let Some(out) = self.clients.get_mut(&m).and_then(ClientEngine::poll_output) {
                    moved = true;
                    self.client_output(m, out);
                }
            }
            while let Some(out) = self.service.poll_output() {
                moved = true;
                self.service_output(out);
            }
            if !moved {
                return;
            }
        }
        panic!("the embedded links did not settle: an engine keeps talking to itself");
    }

    fn service_conn(&self, m: MessengerId, local: ConnId) -> Option<ConnId> {
        self.links
            .iter()
            .find(|(_, l)| l.messenger == m && l.local == local)
            .map(|(c, _)| *c)
    }

    fn client_output(&mut self, m: MessengerId, out: ClientOutput) {
        let now = self.now;
        match out {
            ClientOutput::Connect { conn: local, .. } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                self.links.insert(conn, Link { messenger: m, local });
                self.service.open(conn, now);
                if let Some(c) = self.clients.get_mut(&m) {
                    c.connected(local, now);
                }
                self.collect_events(m);
            }
            ClientOutput::Send { conn: local, cmd } => {
                if let Some(conn) = self.service_conn(m, local) {
                    self.record(conn, Direction::ClientToServer, &cmd);
                    self.service.receive(conn, &cmd.encode(), now);
                }
            }
            ClientOutput::Close { conn: local } => {
                if let Some(conn) = self.service_conn(m, local) {
                    self.links.remove(&conn);
                    self.service.closed(conn, now);
                }
            }
        }
    }

    fn service_output(&mut self, out: ServiceOutput) {
        let now = self.now;
        match out {
            ServiceOutput::Send { conn, cmd } => {
                self.record(conn, Direction::ServerToClient, &cmd);
                if let Some(link) = self.links.get(&conn) {
                    let (m, local) = (link.messenger, link.local);
                    if let Some(c) = self.clients.get_mut(&m) {
                        c.receive(local, &cmd.encode(), now);
                    }
                    self.collect_events(m);
                }
            }
            ServiceOutput::Close { conn } => {
                if let Some(link) = self.links.remove(&conn) {
                    if let Some(c) = self.clients.get_mut(&link.messenger) {
                        c.closed(link.local, now);
                    }
                    self.collect_events(link.messenger);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::challenge::md5_response;

    const APP: &str = "testapp@msnmsgr.com";
    const KEY: &str = "TESTKEY123";

    fn world() -> (Embedded, MessengerId) {
        let mut config = ServiceConfig::new();
        config.seed = Some(7);
        let mut w = Embedded::new(config);
        w.service_mut().add_user("alice@example.com", "pw", None).unwrap();
        w.service_mut().license(APP, KEY).unwrap();
        let m = w.add_messenger("alice@example.com", "pw");
        (w, m)
    }

    fn lines(w: &Embedded) -> Vec<String> {
        w.trace().iter().map(|e| e.cmd.line()).collect()
    }

    fn challenge_of(events: &[(MessengerId, ClientEvent)]) -> (i32, String) {
        events
            .iter()
            .find_map(|(_, e)| match e {
                ClientEvent::LockChallenge { cookie, challenge, .. } => Some((*cookie, challenge.clone())),
                _ => None,
            })
            .expect("a challenge")
    }

    #[test]
    fn sign_in_follows_msnp7_and_answers_the_ping() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap();
        w.sign_in(m, None).unwrap();
        let l = lines(&w);
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
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::Initialized);
        let events: Vec<ClientEvent> = w.take_events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            events,
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
        let (mut w, m) = world();
        let err = w.sign_in(m, Some("nope")).unwrap_err();
        assert_eq!(err.hresult(), HResult::SR_AUTHENTICATION_FAILED);
        assert_eq!(w.client(m).unwrap().state(), ClientState::Offline);
        assert!(lines(&w).iter().any(|l| l == "911 4"));
    }

    #[test]
    fn full_unlock_over_chl_and_qry() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap();
        w.sign_in(m, None).unwrap();
        w.take_events();
        w.request_challenge(m, obj, 42).unwrap();
        let (cookie, challenge) = challenge_of(&w.take_events());
        assert_eq!(cookie, 42);
        w.send_response(m, obj, APP, &md5_response(&challenge, KEY), 42)
            .unwrap();
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::Unlocked);
        let events: Vec<ClientEvent> = w.take_events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            events,
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
        let l = lines(&w);
        assert!(l.contains(&"CHL 8".to_string()), "{l:?}");
        assert!(l.contains(&format!("CHL 8 {challenge}")));
        assert!(l.contains(&format!("QRY 9 {APP} 32")));
        assert!(l.contains(&"QRY 9".to_string()));
        assert!(!w.trace().iter().any(|e| e.cmd.to_string().contains(KEY)));
        // One transaction per session.
        let again = w.request_challenge(m, obj, 43).unwrap_err();
        assert_eq!(again.hresult(), HResult::MSGR_E_API_ALREADY_UNLOCKED);
    }

    #[test]
    fn a_wrong_key_fails_and_keeps_the_connection() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::MessengerPriv).unwrap();
        w.sign_in(m, None).unwrap();
        w.request_challenge(m, obj, 1).unwrap();
        let (_, challenge) = challenge_of(&w.take_events());
        w.send_response(m, obj, APP, &md5_response(&challenge, "WRONG"), 1)
            .unwrap();
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::UnlockFailed);
        assert_eq!(w.client(m).unwrap().state(), ClientState::SignedIn);
        assert!(lines(&w).contains(&"540 9".to_string()));
    }

    #[test]
    fn the_client_pair_cannot_unlock_an_app() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap();
        w.sign_in(m, None).unwrap();
        w.request_challenge(m, obj, 1).unwrap();
        let (_, challenge) = challenge_of(&w.take_events());
        let digest = md5_response(&challenge, crate::proto::CLIENT_KEY);
        w.send_response(m, obj, crate::proto::CLIENT_ID, &digest, 1).unwrap();
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::UnlockFailed);
    }

    #[test]
    fn a_transaction_times_out_on_the_virtual_clock() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap();
        w.sign_in(m, None).unwrap();
        w.request_challenge(m, obj, 5).unwrap();
        w.take_events();
        w.advance(Duration::from_secs(49));
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::PendingResult);
        w.advance(Duration::from_secs(1));
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::UnlockFailed);
        let events: Vec<ClientEvent> = w.take_events().into_iter().map(|(_, e)| e).collect();
        assert_eq!(
            events[0],
            ClientEvent::LockResult {
                obj,
                cookie: 5,
                succeeded: false
            }
        );
    }

    #[test]
    fn sign_out_relocks_and_sign_in_enables_again() {
        let (mut w, m) = world();
        let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap();
        w.sign_in(m, None).unwrap();
        w.request_challenge(m, obj, 1).unwrap();
        let (_, challenge) = challenge_of(&w.take_events());
        w.send_response(m, obj, APP, &md5_response(&challenge, KEY), 1).unwrap();
        w.sign_out(m).unwrap();
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::NotInitialized);
        assert!(!w.service().is_online("alice@example.com"));
        w.sign_in(m, None).unwrap();
        assert_eq!(w.lock_status(m, obj).unwrap(), LockStatus::Initialized);
        w.request_challenge(m, obj, 2).unwrap();
    }

    #[test]
    fn signing_in_elsewhere_drops_the_first_session() {
        let (mut w, m) = world();
        let m2 = w.add_messenger("alice@example.com", "pw");
        w.sign_in(m, None).unwrap();
        w.take_events();
        w.sign_in(m2, None).unwrap();
        assert_eq!(w.client(m).unwrap().state(), ClientState::Offline);
        let events = w.take_events();
        assert!(events.contains(&(
            m,
            ClientEvent::SignedOut {
                reason: crate::client::SignOutReason::OtherSignIn
            }
        )));
    }

    #[test]
    fn an_unanswered_ping_ends_the_connection() {
        let mut config = ServiceConfig::new();
        config.seed = Some(1);
        let mut s = ServiceEngine::new(config);
        s.add_user("bob@example.com", "pw", None).unwrap();
        s.open(1, Duration::ZERO);
        for l in ["VER 1 MSNP7 CVR0\r\n", "INF 2\r\n", "USR 3 MD5 I bob@example.com\r\n"] {
            s.receive(1, l.as_bytes(), Duration::ZERO);
        }
        let mut salt = String::new();
        while let Some(o) = s.poll_output() {
            if let ServiceOutput::Send { cmd, .. } = o {
                if cmd.name == "USR" {
                    salt = cmd.args[3].clone();
                }
            }
        }
        let proof = md5_response(&salt, "pw");
        s.receive(
            1,
            format!("USR 4 MD5 S {proof}\r\nCHG 5 NLN\r\n").as_bytes(),
            Duration::ZERO,
        );
        while s.poll_output().is_some() {}
        assert_eq!(s.next_deadline(), Some(Duration::from_secs(50)));
        s.tick(Duration::from_secs(50));
        let out: Vec<ServiceOutput> = std::iter::from_fn(|| s.poll_output()).collect();
        assert_eq!(
            out[0],
            ServiceOutput::Send {
                conn: 1,
                cmd: crate::proto::ns::error(540, 5)
            }
        );
        assert_eq!(out[1], ServiceOutput::Close { conn: 1 });
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;
    use crate::client::Launch;
    use crate::session::SessionState as S;
    use crate::wire::challenge::md5_response;
    use crate::wire::InviteMessage;

    const APP: &str = "testapp@msnmsgr.com";
    const KEY: &str = "TESTKEY123";
    const GUID: &str = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";

    struct Pair {
        w: Embedded,
        a: MessengerId,
        b: MessengerId,
        ma: ObjId,
    }

    fn unlock(w: &mut Embedded, m: MessengerId, obj: ObjId) {
        w.request_challenge(m, obj, 9).unwrap();
        let challenge = w
            .take_events()
            .into_iter()
            .find_map(|(_, e)| match e {
                ClientEvent::LockChallenge { challenge, .. } => Some(challenge),
                _ => None,
            })
            .unwrap();
        w.send_response(m, obj, APP, &md5_response(&challenge, KEY), 9).unwrap();
    }

    fn pair(register_on_b: bool) -> Pair {
        let mut config = ServiceConfig::new();
        config.seed = Some(11);
        let mut w = Embedded::new(config);
        w.service_mut()
            .add_user("alice@example.com", "pw", Some("Alice A"))
            .unwrap();
        w.service_mut().add_user("bob@example.com", "pw", None).unwrap();
        w.service_mut().license(APP, KEY).unwrap();
        let a = w.add_messenger("alice@example.com", "pw");
        let b = w.add_messenger("bob@example.com", "pw");
        w.sign_in(a, None).unwrap();
        w.sign_in(b, None).unwrap();
        let ma = w.create_lock_object(a, ObjectKind::SessionManager).unwrap();
        let mb = w.create_lock_object(b, ObjectKind::SessionManager).unwrap();
        unlock(&mut w, a, ma);
        unlock(&mut w, b, mb);
        w.call(a, |c, _| {
            c.register_application(ma, GUID, "Test App", "http://example.com/app", "/opt/app", 0)
        })
        .unwrap();
        if register_on_b {
            w.call(b, |c, _| {
                c.register_application(mb, GUID, "Test App", "http://example.com/app", "/opt/app", 0)
            })
            .unwrap();
        }
        w.take_events();
        w.clear_trace();
        Pair { w, a, b, ma }
    }

    fn invite(p: &mut Pair) -> (ObjId, ObjId) {
        let sa = p.w.call(p.a, |c, _| c.create_session(p.ma)).unwrap();
        p.w.call(p.a, |c, _| c.set_application(sa, GUID)).unwrap();
        p.w.invite(p.a, sa, "bob@example.com", Some("hello")).unwrap();
        let sb =
            p.w.take_events()
                .into_iter()
                .find_map(|(m, e)| match e {
                    ClientEvent::Invitation { session, app_data, .. } if m == p.b => {
                        assert_eq!(app_data.as_deref(), Some("hello"));
                        Some(session)
                    }
                    _ => None,
                })
                .expect("bob is invited");
        (sa, sb)
    }

    fn events_of(w: &mut Embedded, m: MessengerId) -> Vec<ClientEvent> {
        w.take_events()
            .into_iter()
            .filter(|(who, _)| *who == m)
            .map(|(_, e)| e)
            .collect()
    }

    #[test]
    fn invite_travels_over_a_switchboard() {
        let mut p = pair(true);
        let (sa, sb) = invite(&mut p);
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Invitation);
        let bs = p.w.client(p.b).unwrap().session(sb).unwrap().clone();
        assert_eq!(bs.state(), S::Invitation);
        assert_eq!(bs.flags, 2 | 4);
        assert_eq!(bs.peer.as_deref(), Some("alice@example.com"));
        let names: Vec<String> = p.w.trace().iter().map(|e| e.cmd.name.clone()).collect();
        for n in ["XFR", "USR", "CAL", "RNG", "ANS", "IRO", "JOI", "MSG"] {
            assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
        }
        let msg =
            p.w.trace()
                .iter()
                .find(|e| e.cmd.name == "MSG" && e.direction == Direction::ServerToClient)
                .unwrap();
        let invite = InviteMessage::parse_payload(msg.cmd.payload.as_deref().unwrap()).unwrap();
        assert_eq!(invite.get("Application-GUID"), Some(GUID));
        assert_eq!(invite.get("Session-Protocol"), Some("SM1"));
        assert_eq!(invite.get("Context-Data"), Some("hello"));
        assert_eq!(msg.cmd.args[0], "alice@example.com");
        assert_eq!(msg.cmd.args[1], "Alice%20A");
    }

    #[test]
    fn accept_connects_both_sides_with_addresses() {
        let mut p = pair(true);
        let (sa, sb) = invite(&mut p);
        p.w.call(p.b, |c, _| c.set_local_address(sb, "10.1.2.3:5000")).unwrap();
        p.w.call(p.b, |c, now| c.accept(sb, Some("yes"), now)).unwrap();
        let b_events = p.w.take_events();
        let before = b_events
            .iter()
            .any(|(m, e)| *m == p.b && *e == ClientEvent::BeforeAppLaunch { obj: sb });
        assert!(before);
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Connected);
        assert_eq!(p.w.client(p.b).unwrap().session(sb).unwrap().state(), S::Accepted);
        p.w.call(p.b, |c, _| c.launch_decided(sb, true, None)).unwrap();
        let bs = p.w.client(p.b).unwrap().session(sb).unwrap().clone();
        assert_eq!(bs.state(), S::Connected);
        assert!(matches!(bs.launch, Launch::Launched { .. }));
        assert_eq!(
            p.w.client(p.a).unwrap().session(sa).unwrap().remote_address.as_deref(),
            Some("10.1.2.3:5000")
        );
        assert_eq!(bs.remote_address.as_deref(), Some("127.0.0.3"));
        let ea = events_of(&mut p.w, p.a);
        assert!(ea.is_empty());
        p.w.call(p.a, |c, now| c.send_context_data(sa, "ctx-1", now)).unwrap();
        let eb = events_of(&mut p.w, p.b);
        assert_eq!(
            eb,
            vec![ClientEvent::ContextData {
                obj: sb,
                data: "ctx-1".into()
            }]
        );
    }

    #[test]
    fn decline_ends_both_sides() {
        let mut p = pair(true);
        let (sa, sb) = invite(&mut p);
        p.w.call(p.b, |c, now| c.decline(sb, Some("no thanks"), now)).unwrap();
        let ea = events_of(&mut p.w, p.a);
        assert_eq!(
            ea,
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
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Declined);
    }

    #[test]
    fn unknown_app_is_declined_as_not_installed() {
        let mut p = pair(false);
        let sa = p.w.call(p.a, |c, _| c.create_session(p.ma)).unwrap();
        p.w.call(p.a, |c, _| c.set_application(sa, GUID)).unwrap();
        p.w.invite(p.a, sa, "bob@example.com", None).unwrap();
        let all = p.w.take_events();
        assert!(all
            .iter()
            .any(|(m, e)| *m == p.b && matches!(e, ClientEvent::AppNotPresent { name, .. } if name == "Test App")));
        assert!(all.iter().any(|(m, e)| *m == p.a
            && *e
                == ClientEvent::Termination {
                    obj: sa,
                    hr: HResult::SR_APP_NOT_REGISTERED.code(),
                    app_data: None
                }));
        let cancel = p.w.trace().iter().rev().find(|e| e.cmd.name == "MSG").unwrap();
        let m = InviteMessage::parse_payload(cancel.cmd.payload.as_deref().unwrap()).unwrap();
        assert_eq!(m.get("Cancel-Code"), Some("REJECT_NOT_INSTALLED"));
    }

    #[test]
    fn invitation_times_out() {
        let mut p = pair(true);
        let (sa, sb) = invite(&mut p);
        p.w.advance(Duration::from_secs(60));
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Cancelled);
        let bs = p.w.client(p.b).unwrap().session(sb).unwrap();
        assert_eq!(bs.state(), S::Cancelled);
        let all = p.w.take_events();
        assert!(all.contains(&(
            p.b,
            ClientEvent::Termination {
                obj: sb,
                hr: HResult::SR_SESSION_TIMEOUT.code(),
                app_data: None
            }
        )));
        assert!(all.contains(&(
            p.a,
            ClientEvent::Termination {
                obj: sa,
                hr: HResult::SR_SESSION_TIMEOUT.code(),
                app_data: None
            }
        )));
    }

    #[test]
    fn inviting_an_offline_user_fails_synchronously() {
        let mut p = pair(true);
        p.w.service_mut().add_user("carol@example.com", "pw", None).unwrap();
        let sa = p.w.call(p.a, |c, _| c.create_session(p.ma)).unwrap();
        p.w.call(p.a, |c, _| c.set_application(sa, GUID)).unwrap();
        let err = p.w.invite(p.a, sa, "carol@example.com", None).unwrap_err();
        assert_eq!(err.hresult(), HResult::MSGR_E_NOT_LOGGED_ON);
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Ready);
        let err = p.w.invite(p.a, sa, "alice@example.com", None).unwrap_err();
        assert_eq!(err.hresult(), HResult::SR_INVITED_SELF);
    }

    #[test]
    fn a_peer_signing_out_terminates_the_session() {
        let mut p = pair(true);
        let (sa, sb) = invite(&mut p);
        p.w.call(p.b, |c, now| c.accept(sb, None, now)).unwrap();
        p.w.call(p.b, |c, _| c.launch_decided(sb, false, None)).unwrap();
        assert_eq!(p.w.client(p.a).unwrap().session(sa).unwrap().state(), S::Connected);
        p.w.take_events();
        p.w.sign_out(p.b).unwrap();
        let ea = events_of(&mut p.w, p.a);
        assert_eq!(
            ea,
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
}

#[cfg(test)]
mod priv_tests {
    use super::*;
    use crate::client::ContactInfo;
    use crate::service::Alert;

    fn world() -> (Embedded, MessengerId, MessengerId, ObjId) {
        let mut config = ServiceConfig::new();
        config.lock_and_key = crate::service::LockAndKey::Off;
        config.seed = Some(5);
        let mut w = Embedded::new(config);
        for u in ["alice@example.com", "bob@example.com", "carol@example.com"] {
            w.service_mut().add_user(u, "pw", None).unwrap();
        }
        let a = w.add_messenger("alice@example.com", "pw");
        let b = w.add_messenger("bob@example.com", "pw");
        w.sign_in(a, None).unwrap();
        w.sign_in(b, None).unwrap();
        let p = w.create_lock_object(a, ObjectKind::MessengerPriv).unwrap();
        w.take_events();
        (w, a, b, p)
    }

    fn adds(w: &mut Embedded) -> Vec<(HResult, Option<ContactInfo>)> {
        w.take_events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::ContactListAdd { hr, contact, .. } => Some((hr, contact)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn add_contact_outcomes() {
        let (mut w, a, _b, p) = world();
        for name in [
            "bob@example.com",
            "carol@example.com",
            "bob@example.com",
            "nobody@example.com",
            "a@b",
        ] {
            w.call(a, |c, _| c.add_contact(p, Some(name))).unwrap();
        }
        let got = adds(&mut w);
        let summary: Vec<(HResult, Option<String>)> = got
            .iter()
            .map(|(hr, c)| (*hr, c.as_ref().map(|c| c.status.clone())))
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
        let err = w.call(a, |c, _| c.add_contact(p, None)).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_POINTER);
        let err = w.call(a, |c, _| c.add_contact(p, Some("has space"))).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_INVALIDARG);
        let rl: Vec<String> = w
            .service()
            .directory()
            .list("bob@example.com", "RL")
            .into_iter()
            .map(|a| a.sign_in_name.clone())
            .collect();
        assert_eq!(rl, vec!["alice@example.com".to_string()]);
        assert!(w
            .trace()
            .iter()
            .any(|e| e.cmd.line() == "ADD 0 RL 0 alice@example.com alice"));
    }

    #[test]
    fn presence_follows_sign_in_and_out() {
        let (mut w, a, b, p) = world();
        w.call(a, |c, _| c.add_contact(p, Some("bob@example.com"))).unwrap();
        assert_eq!(w.client(a).unwrap().contact("bob@example.com").status, "NLN");
        w.sign_out(b).unwrap();
        assert_eq!(w.client(a).unwrap().contact("bob@example.com").status, "FLN");
        w.sign_in(b, None).unwrap();
        assert_eq!(w.client(a).unwrap().contact("bob@example.com").status, "NLN");
    }

    #[test]
    fn alerts_reach_only_subscribed_sites() {
        let (mut w, a, _b, p) = world();
        assert_eq!(
            w.call(a, |c, _| c.enable_alert_events(p, &[5, 9])).unwrap(),
            HResult::S_OK
        );
        let alert = |site| Alert {
            site_id: site,
            text: "Tom & <Jerry>".into(),
            site_url: String::new(),
            action_url: String::new(),
            subscribe_url: String::new(),
        };
        assert!(w.service_mut().send_alert("alice@example.com", &alert(9)).unwrap());
        assert!(w.service_mut().send_alert("alice@example.com", &alert(7)).unwrap());
        assert!(!w.service_mut().send_alert("carol@example.com", &alert(9)).unwrap());
        w.settle();
        let alerts: Vec<String> = w
            .take_events()
            .into_iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::AlertReceived { alert, .. } => Some(alert),
                _ => None,
            })
            .collect();
        assert_eq!(alerts.len(), 1);
        assert!(alerts[0].contains("siteid=\"9\"") && alerts[0].contains("Tom &amp; &lt;Jerry&gt;"));
        let too_many: Vec<i64> = (0..257).collect();
        let err = w.call(a, |c, _| c.enable_alert_events(p, &too_many)).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_OUTOFMEMORY);
    }
}

#[cfg(test)]
mod shutdown_tests {
    use super::*;
    use crate::client::SignOutReason;

    #[test]
    fn a_service_shutdown_says_out_ssd() {
        let mut w = Embedded::new(ServiceConfig {
            seed: Some(2),
            ..ServiceConfig::new()
        });
        w.service_mut().add_user("a@example.com", "pw", None).unwrap();
        let m = w.add_messenger("a@example.com", "pw");
        w.sign_in(m, None).unwrap();
        w.take_events();
        w.service_mut().shutdown();
        w.settle();
        assert!(w.trace().iter().any(|e| e.cmd.line() == "OUT SSD"));
        let events = w.take_events();
        assert!(events.contains(&(
            m,
            ClientEvent::SignedOut {
                reason: SignOutReason::ServerShutdown
            }
        )));
        assert!(!w.service().is_online("a@example.com"));
    }
}

#[cfg(test)]
mod robustness_tests {
    use super::*;

    /// xorshift64*: enough randomness for a fuzz loop without a crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    /// Lines that look like MSNP, with wrong arities, bad numbers and odd orders.
    fn noise(rng: &mut Rng) -> Vec<u8> {
        const NAMES: &[&str] = &[
            "VER", "INF", "USR", "SYN", "CHG", "CHL", "QRY", "XFR", "ADD", "CAL", "ANS", "MSG", "OUT", "PNG", "ZZZ",
            "540",
        ];
        const ARGS: &[&str] = &[
            "1",
            "0",
            "4294967296",
            "-1",
            "MSNP7",
            "CVR0",
            "MD5",
            "I",
            "S",
            "a@b.com",
            "bob@example.com",
            "SB",
            "FL",
            "RL",
            "NLN",
            "FLN",
            "N",
            "A",
            "Z",
            "32",
            "1665",
            "%",
            "%zz",
            "{}",
        ];
        let mut out = Vec::new();
        for _ in 0..(rng.next() % 6 + 1) {
            out.extend_from_slice(rng.pick(NAMES).as_bytes());
            for _ in 0..(rng.next() % 5) {
                out.push(b' ');
                out.extend_from_slice(rng.pick(ARGS).as_bytes());
            }
            out.extend_from_slice(if rng.next() % 4 == 0 { b"\n" } else { b"\r\n" });
            if rng.next() % 5 == 0 {
                let n = (rng.next() % 40) as usize;
                out.extend((0..n).map(|_| (rng.next() & 0xFF) as u8));
            }
        }
        out
    }

    #[test]
    fn garbage_from_clients_never_panics_and_others_are_still_served() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut config = ServiceConfig::new();
        config.seed = Some(9);
        let mut s = ServiceEngine::new(config);
        s.add_user("bob@example.com", "pw", None).unwrap();
        for conn in 1..=3000u64 {
            let now = Duration::from_millis(conn * 37);
            s.open(conn, now);
            let bytes = noise(&mut rng);
            // Arbitrary chunking as well as arbitrary content.
            let cut = (rng.next() as usize) % (bytes.len() + 1);
            s.receive(conn, &bytes[..cut], now);
            s.receive(conn, &bytes[cut..], now);
            s.tick(now);
            if rng.next() % 2 == 0 {
                s.closed(conn, now);
            }
            while s.poll_output().is_some() {}
        }
        // A well-behaved client still signs in afterwards.
        let mut w = Embedded::new(ServiceConfig {
            seed: Some(3),
            ..ServiceConfig::new()
        });
        std::mem::swap(w.service_mut(), &mut s);
        let m = w.add_messenger("bob@example.com", "pw");
        w.sign_in(m, None).unwrap();
    }

    #[test]
    fn garbage_from_the_server_never_panics_the_client() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for round in 0..2000u64 {
            let mut c = ClientEngine::new(ClientConfig {
                sign_in_name: "a@example.com".into(),
                password: "pw".into(),
                ns_address: "x".into(),
                local_ip: String::new(),
                seed: Some(round),
                dialects: crate::proto::Dialect::IMPLEMENTED.to_vec(),
            });
            let obj = c.create_lock_object(ObjectKind::SessionManager);
            c.sign_in(Duration::ZERO).unwrap();
            while c.poll_output().is_some() {}
            c.connected(1, Duration::ZERO);
            let bytes = noise(&mut rng)
                .iter()
                .map(|b| b.to_ascii_uppercase())
                .collect::<Vec<u8>>();
            c.receive(1, &bytes, Duration::ZERO);
            let _ = c.request_challenge(obj, 1, Duration::ZERO);
            c.tick(Duration::from_secs(100));
            c.closed(1, Duration::from_secs(100));
            while c.poll_output().is_some() {}
            while c.poll_event().is_some() {}
            assert_eq!(c.state(), ClientState::Offline);
        }
    }
}
