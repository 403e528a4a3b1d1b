//! Switchboards: `XFR SB`, `USR`, `CAL`/`RNG`/`ANS`, `IRO`, `JOI`, `MSG` relay with
//! `ACK`/`NAK`, `BYE`, `OUT` (msnp.md §b.10–b.11, §c).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::proto::ns::Reply as NsReply;
use crate::proto::sb::{Reply, Request};
use crate::proto::{valid_sign_in_name, ConnId, Instant};
use crate::wire::{Command, MAX_SB_PAYLOAD};

use super::{Role, ServiceEngine};

/// How long an `XFR`/`RNG` cookie may be used (Escargot keeps them 120 s).
pub const TICKET_TTL: Duration = Duration::from_secs(120);

/// Unused switchboard cookies one user may hold: its own `XFR` tickets and the rings
/// waiting for it. Past it `XFR` and a `CAL` of that user are `713`, so a flood of
/// either holds at most this many cookies per user, however fast it goes; the rates
/// in `Limits` only bound how fast.
pub const MAX_TICKETS_PER_USER: usize = 32;

#[derive(Debug, Clone)]
pub(super) enum TicketKind {
    /// From `XFR … SB`: opens a new switchboard.
    Open,
    /// From `RNG`: joins an existing one.
    Join { sb: String },
}

#[derive(Debug, Clone)]
pub(super) struct Ticket {
    user: String,
    kind: TicketKind,
    expires: Instant,
}

#[derive(Debug, Default)]
pub(super) struct Switchboard {
    /// Members in joining order: connection and sign-in name.
    members: Vec<(ConnId, String)>,
    /// Someone was called and has not joined yet.
    ringing: bool,
    /// Messages sent while alone with a call out, for whoever joins first: clients
    /// such as msnp11-sdk send before the `JOI` (msnp8-12.md §j.4).
    held: Vec<Command>,
}

/// Messages a switchboard holds for a callee who has not joined yet.
pub const MAX_HELD: usize = 16;

#[derive(Debug)]
pub(super) struct SbConn {
    user: Option<String>,
    sb: Option<String>,
}

impl SbConn {
    /// Whether `USR` or `ANS` seated it in a switchboard.
    pub(super) fn seated(&self) -> bool {
        self.sb.is_some()
    }

    pub(super) fn new() -> Self {
        SbConn { user: None, sb: None }
    }

    pub(super) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
}

/// Acknowledgement types a switchboard accepts (msnp.md §a.4; `S` as MSN 6 used it).
const ACK_TYPES: &[&str] = &["U", "N", "A", "D", "S"];

impl ServiceEngine {
    fn sb_conn(&mut self, conn: ConnId) -> Option<&mut SbConn> {
        match self.conns.get_mut(&conn).map(|c| &mut c.role) {
            Some(Role::Sb(sb)) => Some(sb),
            _ => None,
        }
    }

    /// What `recipient` is told of `member`'s capabilities in `IRO`/`JOI`: nothing before
    /// MSNP12 (the recipient's dialect), else what the member's `CHG` said.
    fn sb_capabilities(&self, recipient: &str, member: &str) -> Option<String> {
        let ns = |user: &str| {
            self.online
                .get(&user.to_ascii_lowercase())
                .and_then(|c| self.ns_ref(*c))
        };
        let modern = crate::proto::ns::at_least(ns(recipient)?.dialect(), crate::proto::Dialect::Msnp12);
        modern.then(|| {
            ns(member)
                .and_then(|n| n.presence.capabilities.clone())
                .unwrap_or_else(|| "0".to_string())
        })
    }

    fn friendly(&self, user: &str) -> String {
        let name = self.dir.account(user).map(|a| a.friendly_name.as_str()).unwrap_or(user);
        name.to_string()
    }

    /// A sign-in name as the account spells it (names are case-insensitive).
    fn canonical(&self, user: &str) -> String {
        self.dir
            .account(user)
            .map(|a| a.sign_in_name.clone())
            .unwrap_or_else(|| user.to_string())
    }

    fn sb_reply(&mut self, conn: ConnId, reply: Reply) {
        self.send(conn, reply.to_command(None));
    }

    /// Takes the ticket `cookie` if it is `user`'s and live. Someone else's cookie is
    /// left for its owner: a failed guess must not spend it.
    fn take_ticket(&mut self, cookie: &str, user: &str, now: Instant) -> Option<TicketKind> {
        if !self.tickets.live.get(cookie)?.user.eq_ignore_ascii_case(user) {
            return None;
        }
        let t = self.tickets.remove(cookie)?;
        (t.expires > now).then_some(t.kind)
    }

    /// A random hex token that `taken` says is not in use yet.
    fn unique_hex(&mut self, len: usize, taken: impl Fn(&ServiceEngine, &str) -> bool) -> String {
        loop {
            let token = self.random_hex(len);
            if !taken(self, &token) {
                return token;
            }
        }
    }

    /// A user who is gone is gone from every conversation: their cookies go too.
    pub(super) fn drop_tickets_of(&mut self, user: &str) {
        self.tickets.remove_owned_by(user);
    }

    /// Whether ``user`` may be given one more cookie ([`MAX_TICKETS_PER_USER`]).
    pub(super) fn ticket_room(&mut self, user: &str, now: Instant) -> bool {
        self.tickets.prune(now);
        self.tickets.owned(user) < MAX_TICKETS_PER_USER
    }

    fn new_ticket(&mut self, user: &str, kind: TicketKind, now: Instant) -> String {
        self.tickets.prune(now);
        let cookie = self.unique_hex(20, |e, c| e.tickets.live.contains_key(c));
        self.tickets.insert(
            cookie.clone(),
            Ticket {
                user: user.to_string(),
                kind,
                expires: now + TICKET_TTL,
            },
        );
        cookie
    }

    /// NS `XFR <t> SB`.
    pub(super) fn ns_xfr(&mut self, conn: ConnId, trid: u32, kind: &str, user: &str, now: Instant) {
        if kind != "SB" {
            return self.error_reply(conn, 201, trid);
        }
        let cookie = self.new_ticket(user, TicketKind::Open, now);
        let address = self.config.sb_address.clone();
        self.reply(conn, NsReply::XfrSb { trid, address, cookie });
    }

    pub(super) fn sb_command(&mut self, conn: ConnId, mut cmd: Command, now: Instant) {
        // The relay's hot path: the payload moves on rather than being copied.
        let payload = cmd.payload.take();
        let request = match Request::parse(&cmd, None) {
            Request::Msg { trid, ack, .. } => Request::Msg {
                trid,
                ack,
                payload: payload.unwrap_or_default(),
            },
            request => request,
        };
        let joined = self.sb_conn(conn).is_some_and(|s| s.sb.is_some());
        match (request, joined) {
            (Request::Out, _) => self.close(conn),
            (Request::NoTrid { .. }, _) => self.error_reply(conn, 200, 0),
            (Request::Usr { trid, account, cookie }, false) => self.sb_usr(conn, trid, &account, &cookie, now),
            (
                Request::Ans {
                    trid,
                    account,
                    cookie,
                    session,
                },
                false,
            ) => self.sb_ans(conn, trid, &account, &cookie, &session, now),
            (Request::Cal { trid, account }, true) => self.sb_cal(conn, trid, &account, now),
            (Request::Msg { trid, ack, payload }, true) => self.sb_msg(conn, trid, &ack, payload),
            (request, false) => {
                // Anything before USR/ANS: the cookie check failed by definition.
                self.error_reply(conn, 911, sb_trid(&request));
                self.close(conn);
            }
            (request, true) => self.error_reply(conn, 200, sb_trid(&request)),
        }
    }

    fn sb_usr(&mut self, conn: ConnId, trid: u32, user: &str, cookie: &str, now: Instant) {
        let Some(TicketKind::Open) = self.take_ticket(cookie, user, now) else {
            self.error_reply(conn, 911, trid);
            return self.close(conn);
        };
        let user = self.canonical(user);
        let id = self.unique_hex(32, |e, id| e.switchboards.contains_key(id));
        self.switchboards.insert(
            id.clone(),
            Switchboard {
                members: vec![(conn, user.clone())],
                ringing: false,
                held: Vec::new(),
            },
        );
        if let Some(sb) = self.sb_conn(conn) {
            sb.user = Some(user.clone());
            sb.sb = Some(id);
        }
        self.seats.seat(&user, conn);
        let friendly = self.friendly(&user);
        self.sb_reply(
            conn,
            Reply::UsrOk {
                trid,
                account: user,
                friendly,
            },
        );
    }

    fn sb_cal(&mut self, conn: ConnId, trid: u32, callee: &str, now: Instant) {
        let Some((sb_id, caller)) = self.sb_conn(conn).and_then(|s| Some((s.sb.clone()?, s.user.clone()?))) else {
            return;
        };
        if !valid_sign_in_name(callee) {
            return self.error_reply(conn, 208, trid);
        }
        let in_sb = self
            .switchboards
            .get(&sb_id)
            .is_some_and(|sb| sb.members.iter().any(|(_, u)| u.eq_ignore_ascii_case(callee)));
        if in_sb {
            return self.error_reply(conn, 215, trid);
        }
        if !self.rates.cal.take(&conn, now) {
            return self.error_reply(conn, super::ns::TOO_FAST, trid);
        }
        // Hidden, or not letting the caller see them: exactly as if offline.
        let reachable = self
            .online
            .get(&callee.to_ascii_lowercase())
            .copied()
            .filter(|_| self.presence(callee).is_some() && self.dir.may_see(&caller, callee));
        let Some(callee_ns) = reachable else {
            return self.error_reply(conn, 217, trid);
        };
        // However many callers: a user is rung only so often, and only so many rings
        // wait for an answer at once.
        if !self.ticket_room(callee, now) || !self.rates.rings.take(&callee.to_ascii_lowercase(), now) {
            return self.error_reply(conn, super::ns::TOO_FAST, trid);
        }
        let callee = self.canonical(callee);
        let cookie = self.new_ticket(&callee, TicketKind::Join { sb: sb_id.clone() }, now);
        if let Some(sb) = self.switchboards.get_mut(&sb_id) {
            sb.ringing = true;
        }
        self.sb_reply(
            conn,
            Reply::CalRinging {
                trid,
                session: sb_id.clone(),
            },
        );
        let address = self.config.sb_address.clone();
        let friendly = self.friendly(&caller);
        self.reply(
            callee_ns,
            NsReply::Rng {
                session: sb_id,
                address,
                cookie,
                caller,
                friendly,
            },
        );
    }

    fn sb_ans(&mut self, conn: ConnId, trid: u32, user: &str, cookie: &str, sb_id: &str, now: Instant) {
        // A wrong session id leaves the cookie for the right one: only the owner's
        // exact answer spends it.
        let for_this_board = matches!(self.tickets.live.get(cookie), Some(t) if matches!(&t.kind, TicketKind::Join { sb } if sb == sb_id));
        let ticket = if for_this_board {
            self.take_ticket(cookie, user, now)
        } else {
            None
        };
        let valid =
            matches!(&ticket, Some(TicketKind::Join { sb }) if sb == sb_id) && self.switchboards.contains_key(sb_id);
        if !valid {
            self.error_reply(conn, 911, trid);
            return self.close(conn);
        }
        let user = self.canonical(user);
        let already = self
            .switchboards
            .get(sb_id)
            .is_some_and(|sb| sb.members.iter().any(|(_, u)| u.eq_ignore_ascii_case(&user)));
        if already {
            // One seat per user: a second join would have every message relayed twice.
            self.error_reply(conn, 215, trid);
            return self.close(conn);
        }
        let others: Vec<(ConnId, String)> = self
            .switchboards
            .get(sb_id)
            .map(|sb| sb.members.clone())
            .unwrap_or_default();
        for (i, (_, member)) in others.iter().enumerate() {
            let friendly = self.friendly(member);
            let capabilities = self.sb_capabilities(&user, member);
            self.sb_reply(
                conn,
                Reply::Iro {
                    trid,
                    index: i + 1,
                    total: others.len(),
                    account: member.clone(),
                    friendly,
                    capabilities,
                },
            );
        }
        self.sb_reply(conn, Reply::AnsOk { trid });
        let friendly = self.friendly(&user);
        for (member_conn, member) in &others {
            let capabilities = self.sb_capabilities(member, &user);
            self.sb_reply(
                *member_conn,
                Reply::Joi {
                    account: user.clone(),
                    friendly: friendly.clone(),
                    capabilities,
                },
            );
        }
        let held = self.switchboards.get_mut(sb_id).map_or_else(Vec::new, |sb| {
            sb.members.push((conn, user.clone()));
            sb.ringing = false;
            std::mem::take(&mut sb.held)
        });
        for msg in held {
            self.send(conn, msg);
        }
        self.seats.seat(&user, conn);
        if let Some(s) = self.sb_conn(conn) {
            s.user = Some(user);
            s.sb = Some(sb_id.to_string());
        }
    }

    /// Relays the payload unchanged; only the command line is rewritten (msnp.md §a.4).
    fn sb_msg(&mut self, conn: ConnId, trid: u32, ack: &str, payload: Vec<u8>) {
        // As Escargot: an unknown ack type or an oversized payload closes the connection.
        if !ACK_TYPES.contains(&ack) || payload.len() > MAX_SB_PAYLOAD {
            return self.close(conn);
        }
        let Some((sb_id, sender)) = self.sb_conn(conn).and_then(|s| Some((s.sb.clone()?, s.user.clone()?))) else {
            return;
        };
        let friendly = self.friendly(&sender);
        let Some(board) = self.switchboards.get_mut(&sb_id) else {
            return;
        };
        let mut recipients = board.members.iter().map(|(c, _)| *c).filter(|c| *c != conn).peekable();
        let alone = recipients.peek().is_none();
        let mut relayed = Some(crate::proto::sb::relayed_msg(&sender, &friendly, payload));
        // Each recipient but the last gets a copy; the last (usually the only one), or the
        // callee still ringing, gets the message itself.
        while let Some(r) = recipients.next() {
            let cmd = if recipients.peek().is_some() {
                relayed.clone()
            } else {
                relayed.take()
            };
            if let Some(cmd) = cmd {
                self.out.push_back(super::ServiceOutput::Send { conn: r, cmd });
            }
        }
        // Alone, with a call out: held for the callee, and acknowledged as delivered.
        let held = alone && board.ringing && board.held.len() < MAX_HELD;
        if let Some(msg) = relayed.filter(|_| held) {
            board.held.push(msg);
        }
        match (ack, alone && !held) {
            ("A" | "D" | "S", false) => self.sb_reply(conn, Reply::Ack { trid }),
            ("A" | "D" | "N", true) => self.sb_reply(conn, Reply::Nak { trid }),
            _ => {}
        }
    }

    /// A switchboard member left: the others get `BYE` (`BYE <account> 1` when it was
    /// dropped for idling); an empty switchboard ends.
    pub(super) fn sb_left(&mut self, conn: ConnId, sb: SbConn, idled: bool) {
        let (Some(sb_id), Some(user)) = (sb.sb, sb.user) else {
            return;
        };
        self.seats.unseat(&user, conn);
        let Some(board) = self.switchboards.get_mut(&sb_id) else {
            return;
        };
        board.members.retain(|(c, _)| *c != conn);
        let rest: Vec<ConnId> = board.members.iter().map(|(c, _)| *c).collect();
        if rest.is_empty() {
            self.switchboards.remove(&sb_id);
            // A call into it could only be refused now.
            self.tickets.remove_into(&sb_id);
        }
        for c in rest {
            self.sb_reply(
                c,
                Reply::Bye {
                    account: user.clone(),
                    idled,
                },
            );
        }
    }

    /// Every switchboard connection of a user (closed when their NS connection ends).
    pub(super) fn sb_conns_of(&self, user: &str) -> Vec<ConnId> {
        self.seats.of(user)
    }
}

/// The TrID a switchboard request carried (0 for those without one).
fn sb_trid(request: &Request) -> u32 {
    match request {
        Request::Usr { trid, .. }
        | Request::Ans { trid, .. }
        | Request::Cal { trid, .. }
        | Request::Msg { trid, .. }
        | Request::Unknown { trid, .. } => *trid,
        Request::Out | Request::NoTrid { .. } => 0,
    }
}

pub(super) type Switchboards = HashMap<String, Switchboard>;

/// Seated switchboard connections by user (lower-cased).
#[derive(Debug, Default)]
pub(super) struct Seats(HashMap<String, Vec<ConnId>>);

impl Seats {
    fn seat(&mut self, user: &str, conn: ConnId) {
        self.0.entry(user.to_ascii_lowercase()).or_default().push(conn);
    }

    fn unseat(&mut self, user: &str, conn: ConnId) {
        let key = user.to_ascii_lowercase();
        if let Some(conns) = self.0.get_mut(&key) {
            conns.retain(|c| *c != conn);
            if conns.is_empty() {
                self.0.remove(&key);
            }
        }
    }

    fn of(&self, user: &str) -> Vec<ConnId> {
        self.0.get(&user.to_ascii_lowercase()).cloned().unwrap_or_default()
    }
}
/// Switchboard cookies, found by key; they all live [`TICKET_TTL`], so the order they
/// were issued in is the order they expire in and pruning never scans the live ones.
/// They are also found by owner (gone at sign-out) and by the switchboard they join
/// (gone when it ends), so neither scans all of them either.
#[derive(Debug, Default)]
pub(super) struct Tickets {
    live: HashMap<String, Ticket>,
    by_expiry: std::collections::VecDeque<(Instant, String)>,
    by_owner: HashMap<String, HashSet<String>>,
    by_board: HashMap<String, HashSet<String>>,
}

impl Tickets {
    fn insert(&mut self, cookie: String, ticket: Ticket) {
        self.by_expiry.push_back((ticket.expires, cookie.clone()));
        index(&mut self.by_owner, ticket.user.to_ascii_lowercase(), &cookie);
        if let TicketKind::Join { sb } = &ticket.kind {
            index(&mut self.by_board, sb.clone(), &cookie);
        }
        self.live.insert(cookie, ticket);
    }

    fn remove(&mut self, cookie: &str) -> Option<Ticket> {
        let ticket = self.live.remove(cookie)?;
        unindex(&mut self.by_owner, &ticket.user.to_ascii_lowercase(), cookie);
        if let TicketKind::Join { sb } = &ticket.kind {
            unindex(&mut self.by_board, sb, cookie);
        }
        Some(ticket)
    }

    fn prune(&mut self, now: Instant) {
        while let Some((expires, _)) = self.by_expiry.front() {
            if *expires > now {
                break;
            }
            if let Some((expires, cookie)) = self.by_expiry.pop_front() {
                // A cookie taken early and issued again is not this entry's to expire.
                if self.live.get(&cookie).is_some_and(|t| t.expires == expires) {
                    self.remove(&cookie);
                }
            }
        }
    }

    fn remove_owned_by(&mut self, user: &str) {
        for cookie in self.by_owner.remove(&user.to_ascii_lowercase()).unwrap_or_default() {
            self.remove(&cookie);
        }
    }

    fn remove_into(&mut self, sb: &str) {
        for cookie in self.by_board.remove(sb).unwrap_or_default() {
            self.remove(&cookie);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.live.len()
    }

    /// How many live cookies ``user`` holds.
    fn owned(&self, user: &str) -> usize {
        self.by_owner.get(&user.to_ascii_lowercase()).map_or(0, HashSet::len)
    }
}

fn index(map: &mut HashMap<String, HashSet<String>>, key: String, cookie: &str) {
    map.entry(key).or_default().insert(cookie.to_string());
}

fn unindex(map: &mut HashMap<String, HashSet<String>>, key: &str, cookie: &str) {
    if let Some(set) = map.get_mut(key) {
        set.remove(cookie);
        if set.is_empty() {
            map.remove(key);
        }
    }
}
