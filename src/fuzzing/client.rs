//! Two client engines ([`ClientEngine`], Alice and Bob) and a service, joined in memory
//! as the embedded hub joins them, driven by a script of API calls (sign-in and out,
//! Lock and Key, session managers, invitations and their answers, text, time passing),
//! while the fuzzer tampers with what the service sends: a delivery split, a byte
//! changed, a line from a dictionary of server messages or raw bytes injected, a
//! connection dropped.
//!
//! Checks: nothing panics; a client sends on, and closes, only connections it asked
//! for and that are still open; everything it sends decodes, as the service reads it,
//! to what was sent. At the end each client closes what is open and is offline; then
//! Alice, on the same engine, signs in again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use super::Input;
use crate::client::{ClientConfig, ClientEngine, ClientEvent, ClientOutput, ClientState, ObjId, ObjectKind};
use crate::proto::{ConnId, Dialect, Instant};
use crate::service::{ServiceEngine, ServiceOutput};
use crate::testkit::{self, ALICE, APP, BOB, GUID, KEY, PASSWORD};
use crate::wire::challenge::md5_response;
use crate::wire::Direction;

const PEERS: [&str; 4] = [ALICE, BOB, "carol@example.com", "not an address"];

/// Server lines a client may get, in the shapes MSNP7–12 servers send.
const SERVER_LINES: [&str; 24] = [
    "VER 1 MSNP7",
    "VER 1 MSNP12",
    "VER 1 0",
    "INF 2 MD5",
    "USR 3 MD5 S 1234567890",
    "USR 3 TWN S lc=1033,id=507",
    "USR 4 OK alice@example.com Alice%20A 1 0",
    "XFR 3 NS 127.0.0.1:1863 0 127.0.0.1:1863",
    "XFR 7 SB 127.0.0.1:1864 CKI 0123456789abcdef0123",
    "CHL 0 12345678901234567890",
    "CHL 9 12345678901234567890",
    "QRY 10",
    "540 10",
    "911 4",
    "OUT OTH",
    "OUT",
    "RNG 1234 127.0.0.1:1864 CKI abc bob@example.com Bob",
    "ILN 6 NLN bob@example.com Bob 268435456",
    "NLN BSY bob@example.com Bob%20B",
    "FLN bob@example.com",
    "JOI bob@example.com Bob",
    "IRO 1 1 1 bob@example.com Bob",
    "BYE bob@example.com",
    "ACK 5",
];

/// One Messenger: its engine, and its connections to the service.
struct Side {
    c: ClientEngine,
    /// The client's connection ids and the service's for them.
    conns: HashMap<ConnId, ConnId>,
    /// Those the client may still use.
    open: HashSet<ConnId>,
    /// What the service sent, not delivered yet; None: it closed the connection.
    inbox: VecDeque<(ConnId, Option<Vec<u8>>)>,
    objects: Vec<ObjId>,
    sessions: Vec<ObjId>,
    challenges: Vec<(ObjId, String)>,
}

struct World {
    s: ServiceEngine,
    sides: [Side; 2],
    now: Instant,
    next_conn: ConnId,
    /// The service's connection ids: whose, and the client's id.
    routes: HashMap<ConnId, (usize, ConnId)>,
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let dialects = match input.below(4) {
        0 => vec![Dialect::Msnp7],
        1 => vec![Dialect::Msnp8],
        2 => vec![Dialect::Msnp12],
        _ => Dialect::ALL.to_vec(),
    };
    let mut w = World::new(&dialects);
    while !input.is_empty() {
        let side = input.below(2);
        w.step(&mut input, side);
        w.pump();
    }
    w.finish();
}

impl World {
    fn new(dialects: &[Dialect]) -> World {
        let mut s = ServiceEngine::new(testkit::service_config(1));
        testkit::populate(&mut s);
        let side = |email: &str, seed: u64| {
            let mut config = ClientConfig::new(email, PASSWORD, "127.0.0.1:1863");
            config.seed = Some(seed);
            config.local_ip = "127.0.0.1".to_string();
            config.dialects = dialects.to_vec();
            Side {
                c: ClientEngine::new(config),
                conns: HashMap::new(),
                open: HashSet::new(),
                inbox: VecDeque::new(),
                objects: Vec::new(),
                sessions: Vec::new(),
                challenges: Vec::new(),
            }
        };
        World {
            s,
            sides: [side(ALICE, 1), side(BOB, 2)],
            now: Duration::from_secs(1000),
            next_conn: 1,
            routes: HashMap::new(),
        }
    }

    fn step(&mut self, input: &mut Input, i: usize) {
        let now = self.now;
        let side = &mut self.sides[i];
        let object = |input: &mut Input, list: &[ObjId]| list.get(input.below(list.len().max(1))).copied();
        let c = &mut side.c;
        // The API's refusals are part of what is exercised; only panics matter here.
        let _ = match input.below(20) {
            0 | 1 => c.sign_in(now),
            2 => c.sign_in_with(Some(if input.flag() { PASSWORD } else { "wrong" }), now),
            3 => {
                c.sign_out(now);
                Ok(())
            }
            4 => {
                let kind = if input.flag() {
                    ObjectKind::SessionManager
                } else {
                    ObjectKind::MessengerPriv
                };
                side.objects.push(c.create_lock_object(kind));
                Ok(())
            }
            5 => object(input, &side.objects).map_or(Ok(()), |o| c.request_challenge(o, 7, now)),
            6 => match side.challenges.pop() {
                Some((obj, challenge)) => {
                    let key = if input.below(4) == 0 { "WRONG" } else { KEY };
                    c.send_response(obj, APP, &md5_response(&challenge, key), 7, now)
                }
                None => Ok(()),
            },
            7 => object(input, &side.objects).map_or(Ok(()), |m| {
                c.register_application(m, GUID, "Test App", "http://example.com/app", "/opt/app", 0)
            }),
            8 => object(input, &side.objects).map_or(Ok(()), |m| {
                let session = c.create_session(m)?;
                side.sessions.push(session);
                c.set_application(session, GUID)
            }),
            9 => object(input, &side.sessions).map_or(Ok(()), |s| {
                let data = input.flag().then(|| input.text());
                c.invite(s, input.pick(&PEERS), data.as_deref(), now)
            }),
            10 => object(input, &side.sessions).map_or(Ok(()), |s| match input.below(3) {
                0 => c.accept(s, Some("ok"), now),
                1 => c.decline(s, None, now),
                _ => c.cancel(s, 0, None, now),
            }),
            11 => object(input, &side.sessions).map_or(Ok(()), |s| c.send_context_data(s, &input.text(), now)),
            12 => object(input, &side.sessions).map_or(Ok(()), |s| c.launch_decided(s, input.flag(), Some(42))),
            13 => {
                let id = c.new_text_id();
                c.send_text(id, input.pick(&PEERS), &input.text(), now)
            }
            14 => {
                if let Some(o) = object(input, &side.objects) {
                    c.release_object(o);
                }
                Ok(())
            }
            15 => {
                self.now += Duration::from_secs(u64::from(input.byte() % 64));
                self.sides[i].c.tick(self.now);
                self.s.tick(self.now);
                Ok(())
            }
            16 => {
                self.deliver(i, input);
                Ok(())
            }
            17 => {
                self.inject(i, input);
                Ok(())
            }
            18 => {
                self.drop_connection(i, input);
                Ok(())
            }
            _ => {
                for _ in 0..input.below(16) {
                    self.deliver_plain();
                }
                Ok(())
            }
        };
    }

    /// The next delivery to side `i`: whole, split in two, or with a byte changed.
    fn deliver(&mut self, i: usize, input: &mut Input) {
        let now = self.now;
        let side = &mut self.sides[i];
        let Some((conn, bytes)) = side.inbox.pop_front() else {
            return;
        };
        let Some(mut bytes) = bytes else {
            return side.closed_by_service(conn, now);
        };
        // A socket closed on our side delivers nothing more.
        if !side.open.contains(&conn) {
            return;
        }
        match input.below(4) {
            0 if !bytes.is_empty() => {
                let at = input.below(bytes.len());
                bytes[at] = input.byte();
            }
            1 => {
                let cut = input.below(bytes.len() + 1);
                side.c.receive(conn, &bytes[..cut], now);
                bytes.drain(..cut);
            }
            _ => {}
        }
        side.c.receive(conn, &bytes, now);
    }

    /// Every side's next delivery, untouched.
    fn deliver_plain(&mut self) {
        for side in &mut self.sides {
            match side.inbox.pop_front() {
                Some((conn, Some(bytes))) if side.open.contains(&conn) => side.c.receive(conn, &bytes, self.now),
                Some((conn, None)) => side.closed_by_service(conn, self.now),
                _ => {}
            }
        }
        self.pump();
    }

    /// A server line (or raw bytes) on one of side `i`'s open connections.
    fn inject(&mut self, i: usize, input: &mut Input) {
        let side = &mut self.sides[i];
        let mut open: Vec<ConnId> = side.open.iter().copied().collect();
        open.sort_unstable();
        let Some(&conn) = open.get(input.below(open.len().max(1))) else {
            return;
        };
        let bytes = match input.below(4) {
            0 => input.chunk().to_vec(),
            1 => {
                let payload = input.chunk();
                let mut b = format!("MSG bob@example.com Bob {}\r\n", payload.len()).into_bytes();
                b.extend_from_slice(payload);
                b
            }
            _ => format!("{}\r\n", input.pick(&SERVER_LINES)).into_bytes(),
        };
        side.c.receive(conn, &bytes, self.now);
    }

    /// The network drops one of side `i`'s connections: both ends hear of it.
    fn drop_connection(&mut self, i: usize, input: &mut Input) {
        let side = &mut self.sides[i];
        let mut open: Vec<ConnId> = side.open.iter().copied().collect();
        open.sort_unstable();
        let Some(&conn) = open.get(input.below(open.len().max(1))) else {
            return;
        };
        side.open.remove(&conn);
        side.c.closed(conn, self.now);
        if let Some(svc) = side.conns.get(&conn) {
            self.s.closed(*svc, self.now);
        }
    }

    /// Carries out every output of both clients and the service until none is left.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let mut busy = false;
            for i in 0..2 {
                while let Some(out) = self.sides[i].c.poll_output() {
                    busy = true;
                    self.client_output(i, out);
                }
                while let Some(event) = self.sides[i].c.poll_event() {
                    self.sides[i].learn(event);
                }
            }
            while let Some(out) = self.s.poll_output() {
                busy = true;
                self.service_output(out);
            }
            if !busy {
                return;
            }
        }
        panic!("the engines never went quiet");
    }

    fn client_output(&mut self, i: usize, out: ClientOutput) {
        let now = self.now;
        match out {
            ClientOutput::Connect { conn, .. } => {
                let svc = self.next_conn;
                self.next_conn += 1;
                let side = &mut self.sides[i];
                assert!(
                    side.conns.insert(conn, svc).is_none(),
                    "connection {conn} asked for twice"
                );
                side.open.insert(conn);
                self.routes.insert(svc, (i, conn));
                self.s.open(svc, now);
                side.c.connected(conn, now);
            }
            ClientOutput::Send { conn, cmd } => {
                let side = &self.sides[i];
                assert!(side.open.contains(&conn), "sent on closed connection {conn}: {cmd}");
                super::reads_back(Direction::ClientToServer, &cmd);
                let svc = side.conns[&conn];
                self.s.receive(svc, &cmd.encode(), now);
            }
            ClientOutput::Close { conn } => {
                let side = &mut self.sides[i];
                assert!(side.open.remove(&conn), "closed connection {conn} closed again");
                let svc = side.conns[&conn];
                self.s.closed(svc, now);
            }
            ClientOutput::Passport {
                conn,
                account,
                password,
                ..
            } => {
                let ticket = self
                    .s
                    .passport_login(&account, &password, now)
                    .map_err(|e| e.to_error());
                self.sides[i].c.passport_ticket(conn, ticket, now);
            }
        }
    }

    fn service_output(&mut self, out: ServiceOutput) {
        match out {
            ServiceOutput::Send { conn, cmd } => {
                if let Some(&(i, c)) = self.routes.get(&conn) {
                    self.sides[i].inbox.push_back((c, Some(cmd.encode())));
                }
            }
            // After what was sent before it, as on a socket.
            ServiceOutput::Close { conn } => {
                if let Some(&(i, c)) = self.routes.get(&conn) {
                    self.sides[i].inbox.push_back((c, None));
                }
            }
            ServiceOutput::Persist { .. } => unreachable!("the service has no store"),
        }
    }

    fn finish(mut self) {
        for _ in 0..1000 {
            if self.sides.iter().all(|s| s.inbox.is_empty()) {
                break;
            }
            self.deliver_plain();
        }
        for i in 0..2 {
            // One at a time, draining between, as a driver does: closing the
            // notification connection sends OUT on the switchboards still open.
            for _ in 0..100 {
                let Some(conn) = self.sides[i].open.iter().min().copied() else {
                    break;
                };
                let side = &mut self.sides[i];
                side.open.remove(&conn);
                side.c.closed(conn, self.now);
                self.s.closed(side.conns[&conn], self.now);
                self.pump();
            }
            assert_eq!(
                self.sides[i].c.state(),
                ClientState::Offline,
                "connections closed, still on"
            );
        }
        let alice = &mut self.sides[0];
        alice.inbox.clear();
        alice.c.sign_in(self.now).expect("offline, so it may sign in");
        for _ in 0..100 {
            self.deliver_plain();
        }
        assert_eq!(
            self.sides[0].c.state(),
            ClientState::SignedIn,
            "Alice did not sign in again"
        );
    }
}

impl Side {
    fn closed_by_service(&mut self, conn: ConnId, now: Instant) {
        if self.open.remove(&conn) {
            self.c.closed(conn, now);
        }
    }

    fn learn(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::LockChallenge { obj, challenge, .. } => self.challenges.push((obj, challenge)),
            ClientEvent::Invitation { session, .. } => self.sessions.push(session),
            _ => {}
        }
    }
}
