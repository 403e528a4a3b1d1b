//! A service fed raw lines, for the service's wire tests: what each connection
//! received, as text (`line`, or `line\r\npayload`).

use std::collections::HashMap;
use std::time::Duration;

use super::{ServiceEngine, ServiceOutput};
use crate::proto::{Dialect, Instant};
use crate::testkit::{self, ALICE, BOB, PASSWORD};
use crate::wire::challenge::md5_response;

pub const CAROL: &str = "carol@example.com";

/// A service and what each connection received, as text (`line\r\npayload`).
pub struct Wire {
    pub s: ServiceEngine,
    pub now: Instant,
    pub inbox: HashMap<u64, Vec<String>>,
    pub closed: Vec<u64>,
}

impl Wire {
    pub fn new() -> Wire {
        Wire::with_limits(|_| {})
    }

    /// A service whose default limits `change` alters first.
    pub fn with_limits(change: impl FnOnce(&mut super::Limits)) -> Wire {
        let mut config = testkit::service_config(5);
        change(&mut config.limits);
        let mut s = ServiceEngine::new(config);
        testkit::populate(&mut s);
        s.add_user(CAROL, PASSWORD, Some("Carol C")).unwrap();
        Wire {
            s,
            now: Duration::from_secs(1000),
            inbox: HashMap::new(),
            closed: Vec::new(),
        }
    }

    pub fn pump(&mut self) {
        while let Some(out) = self.s.poll_output() {
            match out {
                ServiceOutput::Send { conn, cmd } => {
                    let mut text = String::from_utf8_lossy(&cmd.encode()).into_owned();
                    if cmd.payload.is_none() {
                        text.truncate(text.len() - 2);
                    }
                    self.inbox.entry(conn).or_default().push(text);
                }
                ServiceOutput::Close { conn } => self.closed.push(conn),
                ServiceOutput::Persist { .. } => unreachable!("no store"),
            }
        }
    }

    /// Sends `line` (CR LF added) on `conn`; what `conn` got back.
    pub fn send(&mut self, conn: u64, line: &str) -> Vec<String> {
        self.send_bytes(conn, format!("{line}\r\n").as_bytes())
    }

    pub fn send_bytes(&mut self, conn: u64, bytes: &[u8]) -> Vec<String> {
        self.s.receive(conn, bytes, self.now);
        self.pump();
        self.take(conn)
    }

    pub fn take(&mut self, conn: u64) -> Vec<String> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    /// `user` signed in on `conn` in `dialect` (and present, with `CHG NLN`): what the
    /// sign-in and the list download sent.
    pub fn sign_in(&mut self, conn: u64, user: &str, d: Dialect) -> Vec<String> {
        self.s.open(conn, self.now);
        let mut got = self.send(conn, &format!("VER 1 {d} CVR0"));
        assert_eq!(got, [format!("VER 1 {d}")]);
        if d == Dialect::Msnp7 {
            self.send(conn, "INF 2");
            let salt = self.send(conn, &format!("USR 3 MD5 I {user}"))[0]
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string();
            got = self.send(conn, &format!("USR 4 MD5 S {}", md5_response(&salt, PASSWORD)));
        } else {
            self.send(
                conn,
                &format!("CVR 2 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 msmsgs {user}"),
            );
            let challenge = self.send(conn, &format!("USR 3 TWN I {user}"));
            assert!(challenge[0].starts_with("USR 3 TWN S lc=1033,id=507,"), "{challenge:?}");
            let ticket = self.s.passport_login(user, PASSWORD, self.now).unwrap();
            got = self.send(conn, &format!("USR 4 TWN S {ticket}"));
        }
        let settings = if d >= Dialect::Msnp10 { " 0" } else { "" };
        got.extend(self.send(conn, &format!("SYN 5 0{settings}")));
        got
    }

    pub fn present(&mut self, conn: u64, d: Dialect) -> Vec<String> {
        let caps = if d >= Dialect::Msnp8 { " 1073741824" } else { "" };
        self.send(conn, &format!("CHG 6 NLN{caps}"))
    }

    pub fn add_fl(&mut self, owner: &str, contact: &str) {
        let write = self.s.dir.new_entry(owner, "FL", contact).unwrap();
        self.s.dir.apply(&write);
    }
}

/// A switchboard and its two members' connections (caller 10, callee 11); the callee
/// has not answered yet when `before_answer` runs on the caller's connection.
pub fn switchboard_with(w: &mut Wire, before_answer: impl FnOnce(&mut Wire)) -> (u64, u64) {
    w.sign_in(1, ALICE, Dialect::Msnp11);
    w.sign_in(2, BOB, Dialect::Msnp11);
    w.present(1, Dialect::Msnp11);
    w.present(2, Dialect::Msnp11);
    call_bob(w);
    before_answer(w);
    let (session, cookie) = bobs_ring(w);
    w.s.open(11, w.now);
    let got = w.send(11, &format!("ANS 1 bob@example.com {cookie} {session}"));
    w.inbox.insert(11, got);
    (10, 11)
}

/// Alice (signed in on 1) opens a switchboard on connection 10 and calls Bob.
pub fn call_bob(w: &mut Wire) {
    let cookie = w.send(1, "XFR 7 SB")[0].rsplit(' ').next().unwrap().to_string();
    w.s.open(10, w.now);
    w.send(10, &format!("USR 1 alice@example.com {cookie}"));
    w.send(10, "CAL 2 bob@example.com");
}

/// The session id and cookie of the ring Bob (signed in on 2) got last.
pub fn bobs_ring(w: &mut Wire) -> (String, String) {
    let rng = w.take(2).pop().unwrap();
    let parts: Vec<&str> = rng.split(' ').collect();
    (parts[1].to_string(), parts[4].to_string())
}
