//! The service engine ([`ServiceEngine`]) with accounts, a licence and a store, fed a
//! script over up to four connections: open, receive (lines from a dictionary of
//! commands in MSNP7–12 shapes, whole or split, or raw bytes), close, let time pass and
//! tick, answer the store's writes (`persisted`, sometimes with an error), owner
//! operations, Passport logins, a shutdown. Outputs are drained after every step, as
//! the drivers do. Whole sign-ins (MSNP7 with the salt's proof, MSNP8+ with a real
//! ticket) and switchboard joins (with the cookie an `XFR` or `RNG` gave) are single
//! steps, so the fuzzer gets past them.
//!
//! Checks: nothing panics; nothing is sent to, or closed on, a connection that is
//! closed (the driver said so, or the service closed it); a store ticket is never
//! reused; everything sent decodes, as a client reads it, to what was sent. At the end
//! every connection closes and every write is answered: then nobody is online, and a
//! fresh MSNP7 sign-in works, with its list download, presence and an `ADD` answered.
//!
//! Not checked: that switchboards, cookies and Passport tickets stay bounded. The
//! engine does not expose how many it holds.

mod lines;

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use super::Input;
use crate::proto::{ConnId, Dialect, Instant};
use crate::service::{LockAndKey, ServiceEngine, ServiceOutput, Snapshot};
use crate::testkit::{self, ALICE, BOB, PASSWORD};
use crate::wire::challenge::md5_response;
use crate::wire::{Command, Direction};

const CAROL: &str = "carol@example.com";
/// Names sign-ins and commands use: the accounts, one in another case, strangers.
const USERS: [&str; 6] = [ALICE, BOB, CAROL, "ALICE@Example.COM", "dave@example.com", "nobody"];
const SLOTS: usize = 4;

/// What a connection learnt from the service, for the steps that answer it.
#[derive(Default)]
struct Slot {
    conn: Option<ConnId>,
    /// The last connection, after it closed (a late `closed` must be harmless).
    last: Option<ConnId>,
    dialect: Option<Dialect>,
    user: Option<String>,
    salt: Option<String>,
    /// The last `CHL 0` (the service's ping) and `CHL <t>` (for an app).
    ping: Option<String>,
    requested: Option<String>,
    /// From `XFR … SB`: the cookie; from `RNG`: the session and the cookie.
    cookie: Option<String>,
    rng: Option<(String, String)>,
}

struct Run {
    s: ServiceEngine,
    now: Instant,
    next_conn: ConnId,
    slots: [Slot; SLOTS],
    /// Connections the service may still write to.
    open: HashSet<ConnId>,
    /// Store tickets not answered yet, oldest first, and every one ever given.
    persists: VecDeque<u64>,
    tickets: HashSet<u64>,
    trid: u32,
    /// The last Passport ticket the login server issued.
    passport: Option<String>,
    admin: u32,
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let mut run = Run::new(input.byte());
    while !input.is_empty() {
        run.step(&mut input);
        run.pump();
    }
    run.finish();
}

impl Run {
    fn new(flags: u8) -> Run {
        let mut config = testkit::service_config(u64::from(flags));
        config.lock_and_key = [LockAndKey::Enabled, LockAndKey::Disabled, LockAndKey::Off][usize::from(flags % 3)];
        config.trace_limit = usize::from(flags & 4);
        let mut s = ServiceEngine::new(config);
        testkit::populate(&mut s);
        s.add_user(CAROL, PASSWORD, Some("Carol C")).expect("a valid account");
        s.attach_store(Snapshot::default());
        Run {
            s,
            now: Duration::from_secs(1000),
            next_conn: 1,
            slots: Default::default(),
            open: HashSet::new(),
            persists: VecDeque::new(),
            tickets: HashSet::new(),
            trid: 0,
            passport: None,
            admin: 0,
        }
    }

    fn step(&mut self, input: &mut Input) {
        let slot = input.below(SLOTS);
        match input.below(16) {
            0 | 1 => self.open(slot),
            2 => self.close(slot),
            3..=6 => {
                let bytes = self.lines(input, slot);
                self.send_split(slot, &bytes, input.byte());
            }
            7 => {
                let bytes = input.chunk().to_vec();
                self.send(slot, &bytes);
            }
            8 => self.wait(input),
            9 => self.answer_persist(input),
            10 | 11 => self.sign_in(input, slot),
            12 => self.join(input, slot),
            13 => {
                let (user, password) = (input.pick(&USERS), if input.flag() { PASSWORD } else { "wrong" });
                self.passport = self
                    .s
                    .passport_login(user, password, self.now)
                    .ok()
                    .or(self.passport.take());
            }
            14 => self.owner(input),
            _ => {
                if input.below(8) == 0 {
                    self.s.shutdown();
                }
            }
        }
    }

    fn open(&mut self, slot: usize) {
        if self.slots[slot].conn.is_some() {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.slots[slot] = Slot {
            conn: Some(conn),
            ..Slot::default()
        };
        self.open.insert(conn);
        self.s.open(conn, self.now);
    }

    /// The driver reports the connection gone (also after the service closed it).
    fn close(&mut self, slot: usize) {
        let s = &mut self.slots[slot];
        let Some(conn) = s.conn.take().or(s.last) else {
            return;
        };
        s.last = Some(conn);
        self.open.remove(&conn);
        self.s.closed(conn, self.now);
    }

    fn send(&mut self, slot: usize, bytes: &[u8]) {
        self.send_split(slot, bytes, u8::MAX);
    }

    /// `bytes` on `slot`'s connection, in two reads cut at `cut` (past the end: one).
    fn send_split(&mut self, slot: usize, bytes: &[u8], cut: u8) {
        let Some(conn) = self.slots[slot].conn else {
            return;
        };
        let (a, b) = bytes.split_at(usize::from(cut).min(bytes.len()));
        self.s.receive(conn, a, self.now);
        if !b.is_empty() {
            self.pump();
            self.s.receive(conn, b, self.now);
        }
    }

    fn send_line(&mut self, slot: usize, line: &str) {
        self.send(slot, format!("{line}\r\n").as_bytes());
        self.pump();
    }

    fn wait(&mut self, input: &mut Input) {
        let step = match input.below(8) {
            0 => Duration::ZERO,
            1 => Duration::from_secs(1),
            2 => Duration::from_secs(49),
            3 => Duration::from_secs(51),
            4 => Duration::from_secs(61),
            5 => Duration::from_secs(121),
            _ => Duration::from_millis(u64::from(input.byte()) * 250),
        };
        self.now += step;
        self.s.tick(self.now);
    }

    /// Answers a store write the service is waiting for: mostly done, sometimes failed.
    fn answer_persist(&mut self, input: &mut Input) {
        if self.persists.is_empty() {
            return;
        }
        let i = input.below(self.persists.len());
        let ticket = self.persists.remove(i).expect("in range");
        let outcome = if input.below(4) == 0 {
            Err(crate::error::Error::api(crate::hresult::HResult::E_FAIL, "disk full"))
        } else {
            Ok(())
        };
        self.s.persisted(ticket, outcome, self.now);
    }

    /// An owner operation: a new account, a licence, Carol renamed, a refused one.
    fn owner(&mut self, input: &mut Input) {
        self.admin += 1;
        let n = self.admin;
        let _ = match input.below(4) {
            0 => self
                .s
                .add_user(&format!("u{n}@example.com"), PASSWORD, Some(&input.text())),
            1 => self.s.license(&format!("app{n}@msnmsgr.com"), &format!("KEY{n}")),
            2 => self.s.put_user(CAROL, PASSWORD, Some(&input.text()), true),
            _ => self.s.add_user(ALICE, PASSWORD, None),
        };
    }

    /// A whole sign-in on `slot` as one of [`USERS`], in any dialect, with the right
    /// password or not; then, maybe, the list download and presence.
    fn sign_in(&mut self, input: &mut Input, slot: usize) {
        self.open(slot);
        let user = input.pick(&USERS);
        let d = input.pick(&Dialect::ALL);
        let password = if input.below(4) == 0 { "wrong" } else { PASSWORD };
        let t = self.trid();
        self.send_line(slot, &format!("VER {t} {d} CVR0"));
        if d == Dialect::Msnp7 {
            let t = self.trid();
            self.send_line(slot, &format!("INF {t}"));
            let t = self.trid();
            self.send_line(slot, &format!("USR {t} MD5 I {user}"));
            let salt = self.slots[slot].salt.clone().unwrap_or_default();
            let t = self.trid();
            self.send_line(slot, &format!("USR {t} MD5 S {}", md5_response(&salt, password)));
        } else {
            let t = self.trid();
            self.send_line(
                slot,
                &format!("CVR {t} 0x0409 winnt 5.1 i386 MSNMSGR 7.0.0777 msmsgs {user}"),
            );
            let t = self.trid();
            self.send_line(slot, &format!("USR {t} TWN I {user}"));
            let ticket = self.s.passport_login(user, password, self.now);
            let ticket = ticket.unwrap_or_else(|_| "t=forged&p=0".to_string());
            let t = self.trid();
            self.send_line(slot, &format!("USR {t} TWN S {ticket}"));
        }
        if input.flag() {
            let t = self.trid();
            let settings = if d >= Dialect::Msnp10 { " 0" } else { "" };
            self.send_line(slot, &format!("SYN {t} 0{settings}"));
            let t = self.trid();
            let caps = if d >= Dialect::Msnp8 { " 1073741824" } else { "" };
            self.send_line(slot, &format!("CHG {t} NLN{caps}"));
        }
    }

    /// A switchboard opened (`USR`) or joined (`ANS`) on `slot` with what another
    /// slot's notification connection was given, as that slot's user or not.
    fn join(&mut self, input: &mut Input, slot: usize) {
        let from = &self.slots[input.below(SLOTS)];
        let user = match input.below(4) {
            0 => input.pick(&USERS).to_string(),
            _ => from.user.clone().unwrap_or_else(|| ALICE.to_string()),
        };
        let t = self.trid + 1;
        let line = match (input.flag(), &from.cookie, &from.rng) {
            (false, Some(cookie), _) => format!("USR {t} {user} {cookie}"),
            (_, _, Some((session, cookie))) => format!("ANS {t} {user} {cookie} {session}"),
            (_, Some(cookie), None) => format!("ANS {t} {user} {cookie} 1"),
            (_, None, None) => return,
        };
        self.trid = t;
        self.open(slot);
        self.send_line(slot, &line);
    }

    fn trid(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    fn slot_of(&mut self, conn: ConnId) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.conn == Some(conn))
    }

    /// Drains the outputs as a driver does, checking each.
    fn pump(&mut self) {
        while let Some(out) = self.s.poll_output() {
            match out {
                ServiceOutput::Send { conn, cmd } => {
                    assert!(self.open.contains(&conn), "sent to closed connection {conn}: {cmd}");
                    super::reads_back(Direction::ServerToClient, &cmd);
                    if let Some(slot) = self.slot_of(conn) {
                        slot.learn(&cmd);
                    }
                }
                ServiceOutput::Close { conn } => {
                    assert!(self.open.remove(&conn), "closed connection {conn} closed again");
                    if let Some(slot) = self.slot_of(conn) {
                        slot.conn = None;
                        slot.last = Some(conn);
                    }
                }
                ServiceOutput::Persist { ticket, .. } => {
                    assert!(self.tickets.insert(ticket), "store ticket {ticket} given twice");
                    self.persists.push_back(ticket);
                }
            }
        }
    }

    /// Everything closes and every write is answered; then the service must still serve.
    fn finish(mut self) {
        for slot in 0..SLOTS {
            self.close(slot);
            self.pump();
        }
        for _ in 0..10_000 {
            let Some(ticket) = self.persists.pop_front() else {
                break;
            };
            self.s.persisted(ticket, Ok(()), self.now);
            self.pump();
        }
        assert!(self.persists.is_empty(), "the store's writes never ended");
        for user in [ALICE, BOB, CAROL] {
            assert!(!self.s.is_online(user), "{user} is online with every connection closed");
        }
        self.fresh_msnp7_sign_in();
    }

    /// Bob signs in over MSNP7, downloads his lists, goes online and adds Alice.
    fn fresh_msnp7_sign_in(&mut self) {
        self.open(0);
        let conn = self.slots[0].conn.expect("just opened");
        let ask = |run: &mut Run, line: &str| -> Vec<Command> {
            run.s.receive(conn, format!("{line}\r\n").as_bytes(), run.now);
            let mut got = Vec::new();
            while let Some(out) = run.s.poll_output() {
                match out {
                    ServiceOutput::Send { conn: c, cmd } if c == conn => got.push(cmd),
                    ServiceOutput::Persist { ticket, .. } => run.s.persisted(ticket, Ok(()), run.now),
                    other => panic!("a fresh sign-in caused {other:?}"),
                }
            }
            got
        };
        let lines = |cmds: &[Command]| cmds.iter().map(Command::line).collect::<Vec<_>>();
        assert_eq!(lines(&ask(self, "VER 1 MSNP7 CVR0")), ["VER 1 MSNP7"]);
        assert_eq!(lines(&ask(self, "INF 2")), ["INF 2 MD5"]);
        let salt = ask(self, &format!("USR 3 MD5 I {BOB}"));
        let salt = match salt.as_slice() {
            [cmd] if cmd.line().starts_with("USR 3 MD5 S ") => cmd.args[3].clone(),
            other => panic!("no salt: {other:?}"),
        };
        let ok = ask(self, &format!("USR 4 MD5 S {}", md5_response(&salt, PASSWORD)));
        assert!(
            ok.first()
                .is_some_and(|c| c.line().starts_with(&format!("USR 4 OK {BOB} "))),
            "{ok:?}"
        );
        let syn = ask(self, "SYN 5 0");
        assert!(syn.first().is_some_and(|c| c.line().starts_with("SYN 5 ")), "{syn:?}");
        let chg = ask(self, "CHG 6 NLN");
        assert_eq!(chg.first().map(Command::line).as_deref(), Some("CHG 6 NLN"), "{chg:?}");
        let add = ask(self, &format!("ADD 7 FL {ALICE} Alice"));
        assert!(add.iter().any(|c| c.trid() == Some(7)), "ADD 7 unanswered: {add:?}");
    }
}

impl Slot {
    fn learn(&mut self, cmd: &Command) {
        let arg = |i: usize| cmd.args.get(i).cloned();
        match (cmd.name.as_str(), arg(1).as_deref()) {
            ("VER", Some(token)) => self.dialect = Dialect::from_token(token),
            ("USR", Some("MD5")) => self.salt = arg(3),
            ("USR", Some("OK")) => self.user = arg(2),
            ("CHL", _) if arg(0).as_deref() == Some("0") => self.ping = arg(1),
            ("CHL", _) => self.requested = arg(1),
            ("XFR", Some("SB")) => self.cookie = arg(4),
            ("RNG", _) => self.rng = arg(0).zip(arg(3)),
            _ => {}
        }
    }
}
