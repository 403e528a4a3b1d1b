//! The service engine: what the .NET Messenger Service did, as a sans-IO state machine.
//!
//! A driver (the embedded hub or the TCP server) tells it about connections and bytes
//! and the time; it answers with [`ServiceOutput`]s. It never touches a socket or a clock.

#[cfg(test)]
mod account_tests;
mod alerts;
mod counts;
#[cfg(test)]
mod dialect_tests;
mod directory;
#[cfg(test)]
mod group_tests;
mod grouping;
pub mod groups;
#[cfg(test)]
mod limit_tests;
pub(crate) mod limits;
mod lists;
mod ns;
mod passport;
mod phones;
mod presence;
#[cfg(test)]
mod privacy_tests;
mod sb;
mod secret;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod testwire;

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use alerts::{Alert, MAX_ALERT_BODY};
pub use counts::ServiceCounts;
pub use directory::{check_password, Account, AddRefusal, Directory, Snapshot, Write, MAX_LIST};
pub use limits::{LimitValue, Limits, Rate};
pub use lists::contact_guid;
pub use ns::{GUESS_DELAY, MAX_GUESS_DELAY};
pub use passport::{
    authentication_info, credentials, passport_urls, LoginCheck, LoginRefused, LOGIN_FAILED, MAX_TICKETS,
    TICKET_LIFETIME,
};
pub use secret::{release_scratch, Secret, SecretJob};

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{ConnId, Dialect, Instant};
use crate::trace::Crossing;
use crate::wire::{Command, Decoder, Direction};

/// The `log` target of the service (Python's `logging` logger `msgr.server`).
pub(crate) const LOG: &str = "msgr.server";

/// Whether the service runs Lock and Key (reference C7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LockAndKey {
    /// The .NET Messenger Service: objects are locked until unlocked.
    #[default]
    Enabled,
    /// Lock and Key disabled: `OnLockEnable(FALSE)`, the APIs are unusable.
    Disabled,
    /// Another service (Exchange IM, corporate servers): nothing is locked.
    Off,
}

impl LockAndKey {
    pub const fn as_str(self) -> &'static str {
        match self {
            LockAndKey::Enabled => "enabled",
            LockAndKey::Disabled => "disabled",
            LockAndKey::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<LockAndKey> {
        match s.trim().to_ascii_lowercase().as_str() {
            "enabled" => Some(LockAndKey::Enabled),
            "disabled" => Some(LockAndKey::Disabled),
            "off" => Some(LockAndKey::Off),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ServiceConfig {
    pub lock_and_key: LockAndKey,
    /// The dialects `VER` may agree on.
    pub dialects: Vec<Dialect>,
    /// Seed for challenges, salts and cookies; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// The switchboard address handed out in `XFR` and `RNG`.
    pub sb_address: String,
    /// For a TCP server: the host clients should use to reach it (a name or an address
    /// other machines can reach); by default the bound address (loopback for a wildcard).
    pub advertise_host: Option<String>,
    /// With more than 0, report every message received and sent
    /// ([`ServiceEngine::poll_trace`]); a TCP server keeps this many of them.
    pub trace_limit: usize,
    /// Report every message for the `msgr.wire` log, kept or not.
    pub log_wire: bool,
    /// What one client may cost: time-outs, outstanding challenges, rates.
    pub limits: Limits,
}

impl ServiceConfig {
    pub fn new() -> Self {
        ServiceConfig {
            lock_and_key: LockAndKey::Enabled,
            dialects: Dialect::IMPLEMENTED.to_vec(),
            seed: None,
            sb_address: "127.0.0.1:1864".to_string(),
            advertise_host: None,
            trace_limit: 0,
            log_wire: false,
            limits: Limits::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceOutput {
    Send {
        conn: ConnId,
        cmd: Command,
    },
    Close {
        conn: ConnId,
    },
    /// Make `write` durable, then report it with [`ServiceEngine::persisted`]. Nothing
    /// that depends on it is applied or answered before.
    Persist {
        ticket: u64,
        write: Write,
    },
}

/// What waits for a write to be durable.
#[derive(Debug)]
enum Then {
    /// An operation of the service's owner (`add_user`, `license`).
    Admin,
    /// A client's list, setting or name change: its reply, and what it causes.
    Client {
        conn: ConnId,
        trid: u32,
        change: lists::Change,
    },
}

struct Conn {
    decoder: Decoder,
    role: Role,
    /// Waiting for a write this connection asked for: its next commands wait too, so
    /// its replies keep their order.
    paused: bool,
    /// The client's address, when the driver knows it (per-address limits).
    peer: Option<IpAddr>,
    opened: Instant,
    /// When the last bytes arrived.
    heard: Instant,
    /// Since when half a command has been waiting for the rest.
    partial_since: Option<Instant>,
}

impl Conn {
    /// When this connection has been quiet, slow or unfinished for too long.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let stage = match &self.role {
            Role::Ns(ns) if ns.user().is_some() => self.heard + limits.idle,
            Role::Sb(sb) if sb.seated() => self.heard + limits.sb_idle,
            _ => self.opened + limits.sign_in,
        };
        Some(self.partial_since.map_or(stage, |t| stage.min(t + limits.partial)))
    }
}

/// The token buckets of [`Limits`].
struct Rates {
    /// Wrong passwords per account *and* address: past the budget that address's
    /// guesses for that account are refused unchecked, and nobody else's.
    password_account: limits::Buckets<(String, Option<IpAddr>)>,
    password_address: limits::Buckets<IpAddr>,
    /// Wrong passwords per account from every address: they make the account's
    /// failing addresses wait longer, never refuse its owner ([`ns::GUESS_DELAY`]).
    password_pressure: limits::Buckets<String>,
    qry: limits::Buckets<ConnId>,
    xfr: limits::Buckets<String>,
    cal: limits::Buckets<ConnId>,
    rings: limits::Buckets<String>,
}

impl Rates {
    fn new(l: &Limits) -> Rates {
        Rates {
            password_account: limits::Buckets::new(l.wrong_password_account),
            password_address: limits::Buckets::new(l.wrong_password_address),
            password_pressure: limits::Buckets::new(ns::PRESSURE),
            qry: limits::Buckets::new(l.qry),
            xfr: limits::Buckets::new(l.xfr),
            cal: limits::Buckets::new(l.cal),
            rings: limits::Buckets::new(l.rings),
        }
    }
}

enum Role {
    /// Nothing received yet: the first command tells the role.
    Unknown,
    Ns(ns::NsConn),
    Sb(sb::SbConn),
}

/// An account to create or update ([`ServiceEngine::plan_users`]).
#[derive(Clone, Copy, Debug)]
pub struct NewUser<'a> {
    pub sign_in_name: &'a str,
    pub password: &'a str,
    pub friendly_name: Option<&'a str>,
}

pub struct ServiceEngine {
    dir: Directory,
    config: ServiceConfig,
    rng: StdRng,
    conns: HashMap<ConnId, Conn>,
    /// Signed-in users (lower-cased) and their NS connection.
    online: HashMap<String, ConnId>,
    tickets: sb::Tickets,
    rates: Rates,
    /// Switchboard seats being closed for silence (their `BYE` says so).
    sb_idled: std::collections::HashSet<ConnId>,
    /// Passport tickets issued by the login server, waiting for `USR TWN S`.
    passport: passport::Tickets,
    alert_seq: u32,
    switchboards: sb::Switchboards,
    /// Each user's seated switchboard connections (lower-cased name): a sign-out closes
    /// them without looking at every connection.
    seats: sb::Seats,
    out: VecDeque<ServiceOutput>,
    trace: VecDeque<Crossing>,
    /// A driver with a store: changes wait for [`ServiceEngine::persisted`].
    durable: bool,
    next_ticket: u64,
    pending: HashMap<u64, (Write, Then)>,
    /// Owner operations still waiting for their write, and the first that failed.
    admin_pending: usize,
    admin_failure: Option<crate::error::Error>,
}

impl ServiceEngine {
    pub fn new(config: ServiceConfig) -> Self {
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let rates = Rates::new(&config.limits);
        ServiceEngine {
            rates,
            sb_idled: std::collections::HashSet::new(),
            dir: Directory::default(),
            config,
            rng,
            conns: HashMap::new(),
            online: HashMap::new(),
            tickets: sb::Tickets::default(),
            passport: passport::Tickets::default(),
            alert_seq: 0,
            switchboards: HashMap::new(),
            seats: sb::Seats::default(),
            out: VecDeque::new(),
            trace: VecDeque::new(),
            durable: false,
            next_ticket: 1,
            pending: HashMap::new(),
            admin_pending: 0,
            admin_failure: None,
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn directory(&self) -> &Directory {
        &self.dir
    }

    /// Creates an account (once durable, with a store: see [`ServiceEngine::admin_outcome`]).
    pub fn add_user(&mut self, sign_in_name: &str, password: &str, friendly_name: Option<&str>) -> Result<()> {
        self.put_user(sign_in_name, password, friendly_name, false)
    }

    /// Creates an account, or with `exist_ok` updates one that exists (its password,
    /// and its friendly name if one is given), so a restart with the same flags works.
    pub fn put_user(
        &mut self,
        sign_in_name: &str,
        password: &str,
        friendly_name: Option<&str>,
        exist_ok: bool,
    ) -> Result<()> {
        let user = [NewUser {
            sign_in_name,
            password,
            friendly_name,
        }];
        let secrets = self
            .plan_users(&user, exist_ok)?
            .into_iter()
            .map(SecretJob::run)
            .collect();
        self.put_users(&user, secrets, exist_ok)
    }

    /// Checks accounts to create (or with `exist_ok` update) before anything is
    /// written, and plans their secrets: a driver runs the jobs outside the engine,
    /// side by side, then gives the secrets to [`ServiceEngine::put_users`]. A password
    /// may be given already hashed ([`Secret::given_hash`]) unless MSNP7 is served.
    pub fn plan_users(&mut self, users: &[NewUser<'_>], exist_ok: bool) -> Result<Vec<SecretJob>> {
        let keep_plain = self.keeps_passwords();
        let mut seen = std::collections::HashSet::new();
        let mut jobs = Vec::with_capacity(users.len());
        for u in users {
            let named = |e: Error| match e {
                Error::Api { hr, detail } if !detail.contains(u.sign_in_name) => {
                    Error::api(hr, format!("{}: {detail}", u.sign_in_name))
                }
                e => e,
            };
            self.dir
                .new_account(u.sign_in_name, u.password, u.friendly_name, exist_ok, |_| {
                    Secret::Plain(String::new())
                })
                .map_err(named)?;
            if !seen.insert(u.sign_in_name.to_ascii_lowercase()) && !exist_ok {
                return Err(Error::api(
                    HResult::E_FAIL,
                    format!("{} is given twice", u.sign_in_name),
                ));
            }
            if keep_plain && Secret::given_hash(u.password).is_some() {
                return Err(Error::api(
                    HResult::E_INVALIDARG,
                    format!(
                        "{}: a hashed password cannot serve MSNP7, whose MD5 sign-in needs the password itself",
                        u.sign_in_name
                    ),
                ));
            }
            jobs.push(SecretJob {
                password: u.password.to_string(),
                keep_plain,
                salt: self.salt(),
                current: self.dir.account(u.sign_in_name).map(|a| a.password.clone()),
            });
        }
        Ok(jobs)
    }

    /// Writes the accounts [`ServiceEngine::plan_users`] checked, with the secrets its
    /// jobs made (in the same order); an account that would not change is not written.
    /// Each is checked again first (another write may have come between), and if one
    /// fails none is written.
    pub fn put_users(&mut self, users: &[NewUser<'_>], secrets: Vec<Secret>, exist_ok: bool) -> Result<()> {
        if secrets.len() != users.len() {
            return Err(Error::api(
                HResult::E_FAIL,
                "a password could not be hashed; no account was written",
            ));
        }
        let mut writes = Vec::with_capacity(users.len());
        for (u, secret) in users.iter().zip(secrets) {
            let write = self
                .dir
                .new_account(u.sign_in_name, u.password, u.friendly_name, exist_ok, |_| secret)?;
            let unchanged = matches!(&write, Write::Account(a) if self.dir.account(&a.sign_in_name) == Some(a));
            if !unchanged {
                writes.push(write);
            }
        }
        for write in writes {
            self.commit(write, Then::Admin);
        }
        Ok(())
    }

    /// Whether passwords are kept as given: MSNP7's MD5 sign-in needs them so. Without
    /// it they are kept as Argon2id hashes ([`Secret`]).
    pub fn keeps_passwords(&self) -> bool {
        self.config.dialects.iter().any(|d| d.auth() == crate::proto::Auth::Md5)
    }

    fn salt(&mut self) -> [u8; 16] {
        self.rng.random()
    }

    /// Licenses an ID/key pair (once durable, with a store).
    pub fn license(&mut self, app_id: &str, app_key: &str) -> Result<()> {
        let write = self.dir.new_license(app_id, app_key)?;
        self.commit(write, Then::Admin);
        Ok(())
    }

    /// A driver took a store (and gave it [`Directory::writes`] first): takes in what
    /// it held, and from now on every change waits for its write.
    pub fn attach_store(&mut self, snapshot: Snapshot) {
        self.dir.load(snapshot);
        self.durable = true;
        if !self.keeps_passwords() {
            self.hash_kept_passwords();
        }
    }

    /// A store written while MSNP7 was served holds passwords as given; a service that
    /// no longer needs them keeps Argon2id hashes instead, written back at once.
    fn hash_kept_passwords(&mut self) {
        let kept: Vec<Account> = self
            .dir
            .accounts()
            .filter(|a| a.password.plain().is_some())
            .cloned()
            .collect();
        for account in kept {
            let salt = self.salt();
            let password = Secret::new(account.password.plain().unwrap_or_default(), false, salt);
            let write = Write::Account(Account { password, ..account });
            self.commit(write, Then::Admin);
        }
    }

    /// Whether every owner operation's write has been reported.
    pub fn admin_settled(&self) -> bool {
        self.admin_pending == 0
    }

    /// Whether owner operations still wait for their writes; once none does, the first
    /// failure since the last call (then forgotten).
    pub fn admin_outcome(&mut self) -> Option<Result<()>> {
        if self.admin_pending > 0 {
            return None;
        }
        Some(self.admin_failure.take().map_or(Ok(()), Err))
    }

    /// The driver's report on a [`ServiceOutput::Persist`].
    pub fn persisted(&mut self, ticket: u64, outcome: Result<()>, now: Instant) {
        let Some((write, then)) = self.pending.remove(&ticket) else {
            return;
        };
        let waiting = match then {
            Then::Client { conn, .. } => Some(conn),
            Then::Admin => None,
        };
        match outcome {
            Ok(()) => {
                let version = self.dir.apply(&write);
                self.then(then, &write, Ok(version));
            }
            Err(e) => {
                self.dir.release(&write);
                self.then(then, &write, Err(e));
            }
        }
        // The connection goes on with what it sent meanwhile.
        if let Some(conn) = waiting {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.paused = false;
            }
            self.drain(conn, now);
        }
    }

    /// Applies a checked write now (no store) or once durable.
    fn commit(&mut self, write: Write, then: Then) {
        if !self.durable {
            let version = self.dir.apply(&write);
            return self.then(then, &write, Ok(version));
        }
        if let Then::Client { conn, .. } = then {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.paused = true;
            }
        }
        if matches!(then, Then::Admin) {
            self.admin_pending += 1;
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.dir.reserve(&write);
        self.pending.insert(ticket, (write.clone(), then));
        self.out.push_back(ServiceOutput::Persist { ticket, write });
    }

    fn then(&mut self, then: Then, write: &Write, outcome: Result<u32>) {
        match then {
            Then::Admin => {
                self.admin_pending = self.admin_pending.saturating_sub(1);
                if let Err(e) = outcome {
                    self.admin_failure.get_or_insert(e);
                }
            }
            Then::Client { conn, trid, change } => self.ns_changed(conn, trid, change, write, outcome.ok()),
        }
    }

    pub fn is_online(&self, sign_in_name: &str) -> bool {
        self.online.contains_key(&sign_in_name.to_ascii_lowercase())
    }

    /// A client connected.
    pub fn open(&mut self, conn: ConnId, now: Instant) {
        self.open_from(conn, None, now);
    }

    /// The connection a full server closes first for a newcomer: of those that have not
    /// signed in (notification) or taken their seat (switchboard), the one open longest
    /// from the address that holds most of them ([`crate::eviction`]).
    pub fn oldest_unauthenticated(&self) -> Option<ConnId> {
        crate::eviction::evictee(
            self.conns
                .iter()
                .filter(|(_, c)| match &c.role {
                    Role::Unknown => true,
                    Role::Ns(ns) => ns.user().is_none(),
                    Role::Sb(sb) => !sb.seated(),
                })
                .map(|(id, c)| (*id, c.peer, c.opened)),
        )
    }

    /// Closes `conn` to make room for a newcomer (see [`Self::oldest_unauthenticated`]).
    pub fn evict(&mut self, conn: ConnId) {
        self.close_because(conn, "a newcomer needed its place and it had not signed in");
    }

    /// The address connection `conn` came from, when known.
    pub fn peer(&self, conn: ConnId) -> Option<IpAddr> {
        self.conns.get(&conn).and_then(|c| c.peer)
    }

    /// A client connected from `peer` (per-address limits apply to it).
    pub fn open_from(&mut self, conn: ConnId, peer: Option<IpAddr>, now: Instant) {
        self.conns.insert(
            conn,
            Conn {
                decoder: Decoder::new(Direction::ClientToServer),
                role: Role::Unknown,
                paused: false,
                peer,
                opened: now,
                heard: now,
                partial_since: None,
            },
        );
    }

    /// Bytes arrived from a client, in any chunking.
    pub fn receive(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.decoder.push(bytes);
        c.heard = now;
        self.drain(conn, now);
        if let Some(c) = self.conns.get_mut(&conn) {
            // Half a command waits for the rest only so long (slowloris).
            c.partial_since = match (c.decoder.buffered(), c.partial_since) {
                (0, _) => None,
                (_, Some(since)) => Some(since),
                (_, None) => Some(now),
            };
        }
    }

    /// Handles the commands a connection has sent, unless it waits for a write.
    fn drain(&mut self, conn: ConnId, now: Instant) {
        loop {
            let Some(c) = self.conns.get_mut(&conn).filter(|c| !c.paused) else {
                return;
            };
            match c.decoder.next_command() {
                Ok(Some(cmd)) => {
                    if self.tracing() {
                        self.record(conn, Direction::ClientToServer, &cmd);
                    }
                    self.dispatch(conn, cmd, now)
                }
                Ok(None) => return,
                // Framing is lost: nothing sensible can follow, so close cleanly.
                Err(e) => {
                    match self.conns.get(&conn).and_then(|c| c.peer) {
                        Some(peer) => crate::refusals::note("closed a connection that sent what is not MSNP", peer),
                        None => log::warn!(target: LOG, "connection {conn} sent what is not MSNP ({e}); closing"),
                    }
                    return self.close(conn);
                }
            }
        }
    }

    /// The client went away.
    pub fn closed(&mut self, conn: ConnId, _now: Instant) {
        self.forget(conn, "the connection closed");
    }

    /// The service is going down: every signed-in user gets `OUT SSD` (msnp.md §b.12)
    /// and every connection is closed.
    pub fn shutdown(&mut self) {
        let mut conns: Vec<ConnId> = self.conns.keys().copied().collect();
        conns.sort_unstable();
        for conn in conns {
            if matches!(self.conns.get(&conn).map(|c| &c.role), Some(Role::Ns(ns)) if ns.user().is_some()) {
                self.reply(
                    conn,
                    crate::proto::ns::Reply::Out {
                        reason: Some("SSD".to_string()),
                    },
                );
            }
            self.close(conn);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        let limits = &self.config.limits;
        self.conns
            .values()
            .flat_map(|c| {
                let challenges = match &c.role {
                    Role::Ns(ns) => ns.next_deadline(),
                    Role::Unknown | Role::Sb(_) => None,
                };
                challenges.into_iter().chain(c.deadline(limits))
            })
            .min()
    }

    pub fn tick(&mut self, now: Instant) {
        let limits = self.config.limits.clone();
        let mut late = Vec::new();
        let mut due = Vec::new();
        for (id, c) in &self.conns {
            if c.deadline(&limits).is_some_and(|d| d <= now) {
                late.push((*id, c.partial_since.is_some_and(|t| t + limits.partial <= now)));
            } else if matches!(&c.role, Role::Ns(ns) if ns.next_deadline().is_some_and(|d| d <= now)) {
                due.push(*id);
            }
        }
        for (conn, partial) in late {
            let why = match (&self.conns.get(&conn).map(|c| &c.role), partial) {
                (_, true) => "half a command waited too long",
                (Some(Role::Ns(ns)), _) if ns.user().is_some() => "it was silent too long",
                (Some(Role::Sb(sb)), _) if sb.seated() => {
                    // The others hear the member was dropped for idling.
                    self.sb_idled.insert(conn);
                    "its switchboard seat was silent too long"
                }
                _ => "it did not sign in in time",
            };
            self.close_because(conn, why);
        }
        for conn in due {
            self.ns_tick(conn, now);
        }
    }

    /// The next thing for the driver to do. With tracing on, a message is traced here,
    /// as it leaves.
    pub fn poll_output(&mut self) -> Option<ServiceOutput> {
        let out = self.out.pop_front()?;
        if let (true, ServiceOutput::Send { conn, cmd }) = (self.tracing(), &out) {
            self.record(*conn, Direction::ServerToClient, cmd);
        }
        Some(out)
    }

    /// Whether messages are reported: for the trace, or for the `msgr.wire` log.
    fn tracing(&self) -> bool {
        self.config.trace_limit > 0 || self.config.log_wire
    }

    /// The next message received or sent, when tracing is on ([`ServiceConfig::trace_limit`]).
    pub fn poll_trace(&mut self) -> Option<Crossing> {
        self.trace.pop_front()
    }

    fn record(&mut self, conn: ConnId, direction: Direction, cmd: &Command) {
        let user = Arc::from(self.conn_user(conn).unwrap_or_default());
        self.trace.push_back(Crossing {
            stamp: 0,
            conn,
            user,
            direction,
            cmd: cmd.clone(),
        });
    }

    /// Who is on a connection, once it said (signed in, or joined a switchboard).
    fn conn_user(&self, conn: ConnId) -> Option<&str> {
        match &self.conns.get(&conn)?.role {
            Role::Ns(ns) => ns.user(),
            Role::Sb(sb) => sb.user(),
            Role::Unknown => None,
        }
    }

    fn dispatch(&mut self, conn: ConnId, cmd: Command, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if matches!(c.role, Role::Unknown) {
            // One port serves both roles: a switchboard client opens with USR <t> <user>
            // <cookie> or ANS; a notification client with VER.
            c.role = if crate::proto::sb::opens_switchboard(&cmd) {
                Role::Sb(sb::SbConn::new())
            } else {
                Role::Ns(ns::NsConn::new())
            };
        }
        match &c.role {
            Role::Ns(_) => self.ns_command(conn, cmd, now),
            Role::Sb(_) => self.sb_command(conn, cmd, now),
            Role::Unknown => {}
        }
    }

    fn send(&mut self, conn: ConnId, cmd: Command) {
        self.out.push_back(ServiceOutput::Send { conn, cmd });
    }

    fn close(&mut self, conn: ConnId) {
        self.close_because(conn, "the service closed the connection");
    }

    /// Closes a connection; `why` is what the log says.
    fn close_because(&mut self, conn: ConnId, why: &str) {
        if self.forget(conn, why) {
            self.out.push_back(ServiceOutput::Close { conn });
        }
    }

    /// Drops a connection's state; true if it existed.
    fn forget(&mut self, conn: ConnId, why: &str) -> bool {
        let Some(c) = self.conns.remove(&conn) else {
            return false;
        };
        self.rates.qry.forget(&conn);
        self.rates.cal.forget(&conn);
        match c.role {
            Role::Ns(ns) => {
                if let Some(user) = ns.user() {
                    let key = user.to_ascii_lowercase();
                    if self.online.get(&key) == Some(&conn) {
                        log::info!(target: LOG, "{user} signed out on connection {conn}: {why}");
                        self.online.remove(&key);
                        self.broadcast_presence(user, false);
                        self.drop_tickets_of(user);
                        // A user who is gone is gone from every conversation too.
                        for sb in self.sb_conns_of(user) {
                            self.close(sb);
                        }
                    }
                }
            }
            Role::Sb(sb) => {
                let idled = self.sb_idled.remove(&conn);
                self.sb_left(conn, sb, idled)
            }
            Role::Unknown => {}
        }
        true
    }

    fn random_digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
            .collect()
    }

    fn random_hex(&mut self, n: usize) -> String {
        const HEX: &[u8] = b"0123456789abcdef";
        (0..n)
            .map(|_| char::from(HEX[self.rng.random_range(0..16usize)]))
            .collect()
    }
}
