//! `Server`: the service engine on a TCP port, on its own tokio runtime.
//!
//! One listening port serves notification and switchboard connections alike (the
//! engine tells them apart by their first command), so the switchboard address handed
//! out in `XFR`/`RNG` is the bound address itself. The Passport nexus and login server
//! (MSNP8+ sign-in) listen on a port of their own ([`super::nexus`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{watch, Notify};
use tokio::task::{JoinHandle, JoinSet};

use super::conn::{self, Ended, Inbox, Outbox};
use super::hasher::{Checked, Class, Hasher};
use super::nexus::{self, Nexus, NexusConfig};
use super::{lock, runtime, spawn_timer, stop_runtime, Clock, NetError, SHUTDOWN_GRACE};
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{ConnId, Instant};
use crate::service::{LoginRefused, ServiceConfig, ServiceEngine, ServiceOutput, Write};
use crate::store::Store;
use crate::trace::Trace;

const LOG: &str = crate::service::LOG;

pub struct Server {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    nexus: Nexus,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// The store's writer thread, joined at shutdown so that no write is lost.
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    clock: Clock,
    wake_timer: Notify,
    /// Notified whenever a write was reported to the engine.
    persisted: Condvar,
}

struct State {
    engine: ServiceEngine,
    outboxes: HashMap<ConnId, Outbox>,
    next_conn: ConnId,
    open: bool,
    /// The writer thread's queue, once a store is attached.
    writer: Option<mpsc::Sender<(u64, Write)>>,
    /// Every message received and sent, when the configuration asks for it.
    trace: Trace,
    next_seq: u64,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one) and starts serving. `config.sb_address`
    /// is replaced by `advertise_host` and the bound port, or else by the bound address
    /// (loopback for a wildcard bind). The nexus listens on a free port over plain HTTP.
    pub fn bind(addr: impl ToSocketAddrs, config: ServiceConfig) -> Result<Server, NetError> {
        Server::bind_with(addr, config, &NexusConfig::default())
    }

    /// [`Server::bind`], with the nexus on `nexus.port` of the same address, over HTTPS
    /// when `nexus.tls` names a certificate and key. Its URLs name `advertise_host`, or
    /// else the address `sb_address` names.
    pub fn bind_with(
        addr: impl ToSocketAddrs,
        mut config: ServiceConfig,
        nexus: &NexusConfig,
    ) -> Result<Server, NetError> {
        let rt = runtime("msgr-server", 2)?;
        let listener = rt.block_on(super::listen(addr))?;
        let local_addr = listener.local_addr()?;
        let mut advertised = local_addr;
        if advertised.ip().is_unspecified() {
            let loopback = match advertised {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            };
            advertised.set_ip(loopback);
        }
        config.sb_address = match &config.advertise_host {
            Some(host) if host.contains(':') && !host.starts_with('[') => format!("[{host}]:{}", local_addr.port()),
            Some(host) => format!("{host}:{}", local_addr.port()),
            None => advertised.to_string(),
        };
        let host = config
            .advertise_host
            .clone()
            .unwrap_or_else(|| advertised.ip().to_string());
        let trace = Trace::new(config.trace_limit).with_log(config.log_wire);
        let limits = config.limits.clone();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                trace,
                next_seq: 0,
                engine: ServiceEngine::new(config),
                outboxes: HashMap::new(),
                next_conn: 1,
                open: true,
                writer: None,
            }),
            clock: Clock::new(),
            wake_timer: Notify::new(),
            persisted: Condvar::new(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let engine = shared.clone();
        let hasher = Hasher::for_this_machine().map_err(|e| {
            Error::api(
                HResult::E_FAIL,
                format!("cannot start the password checks' threads: {e}"),
            )
        })?;
        let login: nexus::Login = Arc::new(move |sign_in: &str, password: &str, peer| {
            let check = match engine.step(|e, now| e.passport_begin(sign_in, peer, now)) {
                Ok(check) => check,
                Err(refused) => return Err(refused).into(),
            };
            // The hash is checked with the engine unlocked, on the pool of checks.
            let class = if check.clean { Class::Clean } else { Class::Suspect };
            let verified = match hasher.check(check.secret, password, class) {
                Checked::Matches => true,
                Checked::DoesNotMatch => false,
                Checked::Busy => {
                    log::info!(target: LOG, "Passport login for {sign_in} refused unchecked: every password check is busy");
                    return Err(LoginRefused::Busy).into();
                }
            };
            nexus::LoginAnswer {
                ticket: engine.step(|e, now| e.passport_finish(sign_in, verified, peer, now)),
                delay: check.delay,
            }
        });
        let (nexus, nexus_task) = nexus::start(&rt, local_addr.ip(), &host, nexus, login, stop_rx.clone())?;
        let caps = Caps {
            total: limits.connection_cap(),
            per_address: limits.max_per_address,
            by_address: HashMap::new(),
        };
        let accept = rt.spawn(accept_loop(listener, shared.clone(), stop_rx.clone(), caps));
        let summaries = rt.spawn(summarise_refusals(stop_rx.clone()));
        let timer = spawn_timer(&rt, shared.clone(), stop_rx);
        Ok(Server {
            shared,
            local_addr,
            nexus,
            runtime: Mutex::new(Some(rt)),
            stop,
            tasks: Mutex::new(vec![accept, timer, nexus_task, summaries]),
            writer_thread: Mutex::new(None),
        })
    }

    /// The Passport nexus's redirect URL (`http://host:port/rdr/pprdr.asp`), where an
    /// MSNP8+ client's sign-in starts.
    pub fn nexus_url(&self) -> &str {
        &self.nexus.nexus_url
    }

    /// The login URL the nexus hands out (`DALogin`).
    pub fn login_url(&self) -> &str {
        &self.nexus.login_url
    }

    /// The nexus's bound address.
    pub fn nexus_addr(&self) -> SocketAddr {
        self.nexus.local_addr
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Runs `f` on the engine under its lock (accounts, licences, queries), then sends
    /// whatever it caused.
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut ServiceEngine) -> T) -> T {
        self.shared.step(|e, _| f(e))
    }

    /// Reads the engine under its lock; nothing is sent.
    pub fn read_engine<T>(&self, f: impl FnOnce(&ServiceEngine) -> T) -> T {
        f(&lock(&self.shared.state).engine)
    }

    /// Sockets open (each has an outbox until it closes).
    pub fn socket_count(&self) -> usize {
        lock(&self.shared.state).outboxes.len()
    }

    /// Keeps accounts, licences and contact lists in a SQLite file. What it holds is
    /// loaded and what the service already has is written to it, here; later writes go
    /// to a writer thread, off the async workers, and whatever depends on one waits
    /// for it.
    pub fn attach_store(&self, path: &Path) -> Result<()> {
        let store = Store::open(path)?;
        let snapshot = store.load()?;
        let (tx, rx) = mpsc::channel::<(u64, Write)>();
        let mut s = lock(&self.shared.state);
        for write in s.engine.directory().writes() {
            store.apply(&write)?;
        }
        s.writer = Some(tx);
        // Attaching may write (passwords that are now to be kept hashed): those go out
        // at once, and this waits for them below, as an owner operation does.
        s.engine.attach_store(snapshot);
        let now = self.shared.clock.now();
        s.flush(now);
        drop(s);
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("msgr-store".into())
            .spawn(move || {
                for (ticket, write) in rx {
                    let outcome = store.apply(&write);
                    shared.step(|e, now| e.persisted(ticket, outcome, now));
                    shared.persisted.notify_all();
                }
            })
            .map_err(|e| Error::api(HResult::E_FAIL, format!("cannot start the store's writer: {e}")))?;
        *lock(&self.writer_thread) = Some(thread);
        self.admin(|_| Ok(()))
    }

    /// Runs an owner operation (`add_user`, `license`) and waits until its writes are
    /// durable; a failed write is its error.
    pub fn admin<T>(&self, f: impl FnOnce(&mut ServiceEngine) -> Result<T>) -> Result<T> {
        let out = self.shared.step(|e, _| f(e))?;
        let s = lock(&self.shared.state);
        let (mut s, _) = self
            .shared
            .persisted
            .wait_timeout_while(s, SHUTDOWN_GRACE * 15, |s| !s.engine.admin_settled())
            .unwrap_or_else(|p| p.into_inner());
        match s.engine.admin_outcome() {
            Some(outcome) => outcome.map(|()| out),
            None => Err(Error::api(HResult::E_FAIL, "the service's store did not answer")),
        }
    }

    /// The server's clock: time since it started.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Reads the wire trace (empty unless `trace_limit` was set).
    pub fn with_trace<T>(&self, f: impl FnOnce(&mut Trace) -> T) -> T {
        f(&mut lock(&self.shared.state).trace)
    }

    pub fn is_running(&self) -> bool {
        lock(&self.runtime).is_some()
    }

    /// Closes every connection, stops accepting and joins the tasks. Idempotent.
    pub fn shutdown(&self) {
        if !self.is_running() {
            return;
        }
        // Tell the users first; their outboxes flush the `OUT SSD` before closing.
        self.shared.step(|e, _| e.shutdown());
        let Some(rt) = lock(&self.runtime).take() else {
            return;
        };
        {
            let mut s = lock(&self.shared.state);
            s.open = false;
            // The writer finishes what is queued, then ends.
            s.writer = None;
            // Dropping an outbox closes its socket once what is queued is written.
            let conns: Vec<ConnId> = s.outboxes.drain().map(|(c, _)| c).collect();
            let now = self.shared.clock.now();
            for c in conns {
                s.engine.closed(c, now);
            }
            // Nobody is left to hear what those departures cause.
            while s.engine.poll_output().is_some() {}
        }
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        stop_runtime(rt, tasks);
        // Its queue is closed: it ends once what was queued is in the file (a process
        // that exits right after would otherwise lose the last writes).
        if let Some(writer) = lock(&self.writer_thread).take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

super::timed!(Shared);

impl Shared {
    /// One engine step under the lock, then its outputs go out.
    fn step<T>(&self, f: impl FnOnce(&mut ServiceEngine, Instant) -> T) -> T {
        let mut s = lock(&self.state);
        let now = self.clock.now();
        let out = f(&mut s.engine, now);
        s.flush(now);
        drop(s);
        self.wake_timer.notify_one();
        out
    }

    /// A new connection from `peer`, or None when the server is closing.
    fn open(&self, peer: SocketAddr) -> Option<(ConnId, Inbox)> {
        let mut s = lock(&self.state);
        if !s.open {
            return None;
        }
        let conn = s.next_conn;
        s.next_conn += 1;
        let (outbox, inbox) = conn::outbox();
        s.outboxes.insert(conn, outbox);
        let now = self.clock.now();
        s.engine.open_from(conn, Some(peer.ip()), now);
        s.flush(now);
        Some((conn, inbox))
    }

    /// Closes the connection open longest that has not signed in, to make room; None
    /// when every connection has.
    fn evict_unauthenticated(&self) -> Option<()> {
        let mut s = lock(&self.state);
        let conn = s.engine.oldest_unauthenticated()?;
        if let Some(peer) = s.engine.peer(conn) {
            crate::refusals::note(
                "closed the oldest connection that had not signed in, for a newcomer",
                peer,
            );
        }
        s.engine.evict(conn);
        let now = self.clock.now();
        s.flush(now);
        Some(())
    }

    /// The peer went away (the engine did not close it).
    fn closed(&self, conn: ConnId) {
        let mut s = lock(&self.state);
        s.outboxes.remove(&conn);
        let now = self.clock.now();
        s.engine.closed(conn, now);
        s.flush(now);
        drop(s);
        self.wake_timer.notify_one();
    }
}

impl State {
    fn collect_trace(&mut self, now: Instant) {
        while let Some(c) = self.engine.poll_trace() {
            self.trace.record(self.next_seq, c, now);
            self.next_seq += 1;
        }
    }

    fn flush(&mut self, now: Instant) {
        self.collect_trace(now);
        while let Some(out) = self.engine.poll_output() {
            self.collect_trace(now);
            match out {
                ServiceOutput::Send { conn, cmd } => {
                    let delivered = self.outboxes.get(&conn).map(|o| o.push_command(&cmd));
                    if delivered == Some(false) {
                        match self.engine.peer(conn) {
                            Some(peer) => crate::refusals::note("cut off a connection that stopped reading", peer),
                            None => log::warn!(target: LOG, "connection {conn} stopped reading: cut off"),
                        }
                        // Too far behind: cut it off now (its pending write is dropped
                        // with its buffers), and let the engine clean up after it.
                        if let Some(outbox) = self.outboxes.remove(&conn) {
                            outbox.cut_off();
                        }
                        self.engine.closed(conn, now);
                    }
                }
                ServiceOutput::Close { conn } => {
                    self.outboxes.remove(&conn);
                }
                ServiceOutput::Persist { ticket, write } => {
                    let queued = self.writer.as_ref().is_some_and(|w| w.send((ticket, write)).is_ok());
                    if !queued {
                        let e = Error::api(HResult::E_FAIL, "the service's store is closed");
                        self.engine.persisted(ticket, Err(e), now);
                    }
                }
            }
        }
    }
}

/// How many connections the server takes: in all, and from one address. A socket
/// counts until its task has ended, cut off or not, so the caps bound real resources.
struct Caps {
    total: usize,
    per_address: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a newcomer may not simply be let in.
#[derive(Debug, PartialEq, Eq)]
enum Full {
    /// Every place is taken: one that has not signed in may be given up for it.
    Server,
    /// Its address holds its share: refused.
    Address,
}

impl Caps {
    fn admits(&self, open: usize, peer: IpAddr) -> Result<(), Full> {
        if self.by_address.get(&peer).copied().unwrap_or(0) >= self.per_address {
            return Err(Full::Address);
        }
        if open >= self.total {
            return Err(Full::Server);
        }
        Ok(())
    }

    fn ended(&mut self, peer: IpAddr) {
        if let Some(n) = self.by_address.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                self.by_address.remove(&peer);
            }
        }
    }
}

/// What a client refused past the caps reads before the close: `600` (server busy), in
/// place of an answer to its first command.
pub(crate) const REFUSAL: &[u8] = b"600 0\r\n";

/// Refusals being told at once; past this a flood of them is closed without a word.
const MAX_REFUSING: usize = 64;

/// How long a refused socket drains what its client sent, so that it ends with a FIN
/// the client can read the refusal before, not a reset that could destroy it.
const REFUSAL_LINGER: std::time::Duration = std::time::Duration::from_millis(500);

/// Tells a connection past the caps why it is closed ([`REFUSAL`]), then closes it.
fn refuse(stream: TcpStream, refusing: &Arc<AtomicUsize>) {
    if refusing.fetch_add(1, Ordering::Relaxed) >= MAX_REFUSING {
        refusing.fetch_sub(1, Ordering::Relaxed);
        return drop(stream);
    }
    let refusing = refusing.clone();
    tokio::spawn(async move {
        // A new socket's send buffer has room for one line.
        let _ = stream.try_write(REFUSAL);
        let (mut rd, mut wr) = stream.into_split();
        let _ = wr.shutdown().await;
        let mut sink = [0u8; 256];
        let drain = async { while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(REFUSAL_LINGER, drain).await;
        refusing.fetch_sub(1, Ordering::Relaxed);
    });
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>, mut caps: Caps) {
    let mut conns = JoinSet::new();
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(ended) = conns.join_next(), if !conns.is_empty() => {
                if let Ok(peer) = ended {
                    caps.ended(peer);
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match caps.admits(conns.len(), peer.ip()).or_else(|full| match full {
                    // A full server gives up the connection open longest without signing
                    // in: sockets that never sign in cannot keep a newcomer out.
                    Full::Server => shared.evict_unauthenticated().ok_or(Full::Server),
                    Full::Address => Err(Full::Address),
                }) {
                    Err(why) => {
                        let kind = match why {
                            Full::Server => "refused a connection: the server is full of signed-in users",
                            Full::Address => "refused a connection: too many from its address",
                        };
                        crate::refusals::note(kind, peer.ip());
                        refuse(stream, &refusing);
                    }
                    Ok(()) => match shared.open(peer) {
                        Some((conn, inbox)) => {
                            log::info!(target: LOG, "connection {conn} from {peer}");
                            *caps.by_address.entry(peer.ip()).or_default() += 1;
                            let shared = shared.clone();
                            conns.spawn(async move {
                                serve(stream, conn, inbox, shared).await;
                                peer.ip()
                            });
                        }
                        None => drop(stream),
                    },
                },
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    // shutdown() dropped every outbox; give the sockets a moment to flush.
    let all = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, all).await.is_err() {
        conns.shutdown().await;
    }
}

async fn serve(stream: TcpStream, conn: ConnId, inbox: Inbox, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let ended = conn::pump(stream, inbox, conn::SERVER_LINGER, conn::SERVER_READ, |bytes| {
        shared.step(|e, now| e.receive(conn, bytes, now))
    })
    .await;
    if ended == Ended::ByPeer {
        shared.closed(conn);
    }
}

/// Writes the summaries every [`INTERVAL`] until `stop`, and once more then.
async fn summarise_refusals(mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(crate::refusals::INTERVAL);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        for line in crate::refusals::take_summaries() {
            log::warn!(target: LOG, "{line}");
        }
    }
    for line in crate::refusals::take_summaries() {
        log::warn!(target: LOG, "{line}");
    }
}
