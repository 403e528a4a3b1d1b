//! The embedded hub: one service engine and any number of client engines joined by
//! in-memory links, on a virtual clock. Every message crosses a link as real MSNP
//! bytes, and is recorded in the trace as it crosses.
//!
//! Run-to-completion: each call pumps the links until nothing moves, so the events it
//! caused are all queued (in order) when it returns.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::client::{ClientConfig, ClientEngine, ClientOutput, ClientState, ObjId, ObjectKind, Waiting};
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::journal::Journal;
pub use crate::journal::{Logged, MessengerId};
use crate::lock::LockStatus;
use crate::proto::{ConnId, Instant};
use crate::service::{ServiceConfig, ServiceEngine, ServiceOutput};
use crate::store::Store;
pub use crate::trace::TraceEntry;
use crate::trace::{Trace, DEFAULT_TRACE_LIMIT};

struct Link {
    messenger: MessengerId,
    local: ConnId,
}

/// Bounds the pump so a bug that ping-pongs forever fails loudly instead of hanging.
const MAX_PUMP_STEPS: usize = 1_000_000;

pub struct Embedded {
    service: ServiceEngine,
    /// Messenger `m` is at index `m - 1`: ids are handed out in order and never reused
    /// (a Messenger stays for the hub's life), so finding one costs the same among ten
    /// or ten thousand.
    clients: Vec<ClientEngine>,
    /// Messengers whose engine was handed something since the pump last drained it
    /// (perhaps more than once): only they can have output, so the pump visits them
    /// alone (in id order, as a visit of every engine would) and its cost does not grow
    /// with the Messengers.
    touched: Vec<MessengerId>,
    links: HashMap<ConnId, Link>,
    /// The service's connection of each (Messenger, client connection).
    conns: HashMap<(MessengerId, ConnId), ConnId>,
    next_conn: ConnId,
    next_messenger: MessengerId,
    now: Instant,
    journal: Journal,
    seed: Option<u64>,
    /// Where the service's writes go, applied inline.
    store: Option<Store>,
    /// What Messengers added from now on offer in `VER`.
    client_dialects: Vec<crate::proto::Dialect>,
}

impl Embedded {
    pub fn new(config: ServiceConfig) -> Self {
        Embedded::with_trace(config, Trace::new(DEFAULT_TRACE_LIMIT))
    }

    /// A hub that keeps its Messengers' messages in `trace` (empty, made with its
    /// limit and whether it logs them).
    pub fn with_trace(config: ServiceConfig, trace: Trace) -> Self {
        let seed = config.seed;
        let client_dialects = vec![crate::proto::Dialect::CLIENT_DEFAULT];
        Embedded {
            client_dialects,
            seed,
            service: ServiceEngine::new(config),
            clients: Vec::new(),
            touched: Vec::new(),
            links: HashMap::new(),
            conns: HashMap::new(),
            next_conn: 1,
            next_messenger: 1,
            now: Duration::ZERO,
            journal: Journal::new(trace),
            store: None,
        }
    }

    /// The dialects Messengers added from now on offer (by default
    /// [`crate::proto::Dialect::CLIENT_DEFAULT`]), e.g. only MSNP11 to see that dialect
    /// in the trace.
    pub fn set_client_dialects(&mut self, dialects: Vec<crate::proto::Dialect>) {
        self.client_dialects = dialects;
    }

    /// Keeps accounts, licences and contact lists in a SQLite file: what it holds is
    /// loaded, what the service already has is written to it, and every later change
    /// is written before it is applied.
    pub fn attach_store(&mut self, path: &Path) -> Result<()> {
        let store = Store::open(path)?;
        let snapshot = store.load()?;
        for write in self.service.directory().writes() {
            store.apply(&write)?;
        }
        self.store = Some(store);
        self.service.attach_store(snapshot);
        // What attaching wrote (passwords now kept hashed) is applied inline.
        self.pump();
        match self.service.admin_outcome() {
            Some(outcome) => outcome,
            None => Err(Error::api(HResult::E_FAIL, "the store did not take every write")),
        }
    }

    pub fn service(&self) -> &ServiceEngine {
        &self.service
    }

    /// Connections joining a client engine to the service.
    pub fn link_count(&self) -> usize {
        self.links.len()
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
        let mut config = ClientConfig::new(sign_in_name, password, "embedded:1863");
        // Each Messenger gets its own loopback address, so remote addresses are easy
        // to tell apart in a trace.
        config.local_ip = format!("127.0.0.{}", (id % 250) + 2);
        config.seed = self.seed.map(|s| s.wrapping_add(id));
        config.trace = self.journal.trace().wanted();
        config.dialects = self.client_dialects.clone();
        debug_assert_eq!(self.clients.len() as u64, id - 1);
        self.clients.push(ClientEngine::new(config));
        id
    }

    pub fn client(&self, m: MessengerId) -> Result<&ClientEngine> {
        self.clients.get(index(m)).ok_or(Error::UnknownHandle {
            what: "messenger",
            id: m,
        })
    }

    /// A Messenger's engine, to hand it something: the pump will look at it next time.
    fn client_mut(&mut self, m: MessengerId) -> Result<&mut ClientEngine> {
        self.touched.push(m);
        self.clients.get_mut(index(m)).ok_or(Error::UnknownHandle {
            what: "messenger",
            id: m,
        })
    }

    /// Runs a client call, then pumps until quiet: every event the call caused is
    /// queued when it returns.
    pub fn call<T>(&mut self, m: MessengerId, f: impl FnOnce(&mut ClientEngine, Instant) -> Result<T>) -> Result<T> {
        let now = self.now;
        let out = f(self.client_mut(m)?, now);
        self.collect(m);
        self.pump();
        out
    }

    /// Reads a Messenger's engine.
    pub fn read<T>(&self, m: MessengerId, f: impl FnOnce(&ClientEngine) -> Result<T>) -> Result<T> {
        f(self.client(m)?)
    }

    /// A call whose outcome comes from the network (`sign_in`, `invite`): with every
    /// link in memory it is known when the pump settles.
    pub fn call_and_wait(
        &mut self,
        m: MessengerId,
        waiting: Waiting,
        f: impl FnOnce(&mut ClientEngine, Instant) -> Result<()>,
    ) -> Result<()> {
        self.call(m, f)?;
        let c = self.client_mut(m)?;
        match c.take_outcome(waiting) {
            Some(outcome) => outcome,
            None => {
                c.abandon(waiting);
                Err(Error::api(HResult::E_FAIL, "the call did not complete"))
            }
        }
    }

    /// `IMsgrSession::Invite`: sent once the switchboard is up. If the service cannot
    /// reach the peer, the call fails with the documented code and nothing changed.
    pub fn invite(&mut self, m: MessengerId, obj: ObjId, peer: &str, app_data: Option<&str>) -> Result<()> {
        self.call_and_wait(m, Waiting::Invite(obj), |c, now| c.invite(obj, peer, app_data, now))
    }

    /// Signs in and runs the whole sign-in; fails with the service's reason.
    pub fn sign_in(&mut self, m: MessengerId, password: Option<&str>) -> Result<()> {
        self.call_and_wait(m, Waiting::SignIn, |c, now| c.sign_in_with(password, now))?;
        match self.client(m)?.state() {
            ClientState::SignedIn => Ok(()),
            _ => Err(Error::api(HResult::E_FAIL, "sign-in did not complete")),
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
                .iter()
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
        let ids: Vec<MessengerId> = (1..=self.clients.len() as u64).collect();
        for m in ids {
            if let Ok(c) = self.client_mut(m) {
                c.tick(now);
            }
            self.collect(m);
        }
        self.pump();
    }

    /// Shuts the service down: every Messenger signed in is told (`OUT SSD`) and signed
    /// out, and the store is let go (its file is complete and closed).
    pub fn close(&mut self) {
        self.service.shutdown();
        self.pump();
        self.store = None;
    }

    /// Delivers whatever the service was made to say outside a client call (an alert).
    pub fn settle(&mut self) {
        self.pump();
    }

    pub fn take_events(&mut self) -> Vec<Logged> {
        self.journal.take_events()
    }

    pub fn has_events(&self) -> bool {
        self.journal.has_events()
    }

    pub fn trace(&self) -> &Trace {
        self.journal.trace()
    }

    pub fn trace_mut(&mut self) -> &mut Trace {
        self.journal.trace_mut()
    }

    pub fn clear_trace(&mut self) {
        self.journal.trace_mut().clear();
    }

    fn collect(&mut self, m: MessengerId) {
        if let Some(c) = self.clients.get_mut(index(m)) {
            self.journal.collect(m, c, self.now);
        }
    }

    /// Moves messages until no engine has anything left to say.
    fn pump(&mut self) {
        for _ in 0..MAX_PUMP_STEPS {
            let mut moved = false;
            // A client's output only reaches the service, so nothing touches another
            // client before the service's outputs below.
            let mut ids = std::mem::take(&mut self.touched);
            ids.sort_unstable();
            ids.dedup();
            for m in ids {
                while let Some(out) = self.clients.get_mut(index(m)).and_then(ClientEngine::poll_output) {
                    moved = true;
                    // What leaves is traced as it leaves, before anyone answers it.
                    self.collect(m);
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
        self.conns.get(&(m, local)).copied()
    }

    fn add_link(&mut self, conn: ConnId, messenger: MessengerId, local: ConnId) {
        self.links.insert(conn, Link { messenger, local });
        self.conns.insert((messenger, local), conn);
    }

    fn remove_link(&mut self, conn: ConnId) -> Option<Link> {
        let link = self.links.remove(&conn)?;
        self.conns.remove(&(link.messenger, link.local));
        Some(link)
    }

    fn client_output(&mut self, m: MessengerId, out: ClientOutput) {
        let now = self.now;
        match out {
            ClientOutput::Connect { conn: local, .. } => {
                let conn = self.next_conn;
                self.next_conn += 1;
                self.add_link(conn, m, local);
                self.service.open(conn, now);
                if let Ok(c) = self.client_mut(m) {
                    c.connected(local, now);
                }
                self.collect(m);
            }
            ClientOutput::Send { conn: local, cmd } => {
                if let Some(conn) = self.service_conn(m, local) {
                    self.service.receive(conn, &cmd.encode(), now);
                }
            }
            ClientOutput::Close { conn: local } => {
                if let Some(conn) = self.service_conn(m, local) {
                    self.remove_link(conn);
                    self.service.closed(conn, now);
                }
            }
            // The login server is the service itself, reached in memory.
            ClientOutput::Passport {
                conn: local,
                account,
                password,
                ..
            } => {
                let ticket = self
                    .service
                    .passport_login(&account, &password, now)
                    .map_err(|why| why.to_error());
                if let Ok(c) = self.client_mut(m) {
                    c.passport_ticket(local, ticket, now);
                }
                self.collect(m);
            }
        }
    }

    fn service_output(&mut self, out: ServiceOutput) {
        let now = self.now;
        match out {
            ServiceOutput::Send { conn, cmd } => {
                if let Some(link) = self.links.get(&conn) {
                    let (m, local) = (link.messenger, link.local);
                    if let Ok(c) = self.client_mut(m) {
                        c.receive(local, &cmd.encode(), now);
                    }
                    self.collect(m);
                }
            }
            ServiceOutput::Persist { ticket, write } => {
                let outcome = match &self.store {
                    Some(store) => store.apply(&write),
                    None => Err(Error::api(HResult::E_FAIL, "no store is attached")),
                };
                self.service.persisted(ticket, outcome, now);
            }
            ServiceOutput::Close { conn } => {
                if let Some(link) = self.remove_link(conn) {
                    if let Ok(c) = self.client_mut(link.messenger) {
                        c.closed(link.local, now);
                    }
                    self.collect(link.messenger);
                }
            }
        }
    }
}

/// Where Messenger `m` sits in [`Embedded::clients`] (ids start at 1; 0 is nobody's,
/// and its index is out of range).
fn index(m: MessengerId) -> usize {
    usize::try_from(m).map_or(usize::MAX, |m| m.wrapping_sub(1))
}

#[cfg(test)]
mod dialect_tests;
#[cfg(test)]
mod tests;
