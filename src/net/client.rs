//! `Client`: one client engine (one signed-in Windows Messenger) over TCP.
//!
//! The engine asks for sockets with `Connect` (the notification server's address, then
//! whatever the server put in `XFR`/`RNG`); a task per socket connects and pumps it.
//! Events queue up for a caller, who can block until some arrive. The API calls run the
//! engine method under the lock and return at once, except `sign_in` and `invite`,
//! which wait (bounded) for the network to answer, as their embedded twins appear to.
//! An MSNP8+ sign-in's Passport login runs as a task of its own ([`super::passport`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::conn::{self, Ended, Inbox, Outbox};
use super::passport::{Passport, Refusal};
use super::{lock, runtime, spawn_timer, stop_runtime, Clock, NetError};
use crate::client::{ClientConfig, ClientEngine, ClientOutput, Waiting};
use crate::error::Error;
use crate::hresult::HResult;
use crate::journal::{Journal, Logged, MessengerId};
use crate::proto::{ConnId, Instant};
use crate::trace::{Trace, DEFAULT_TRACE_LIMIT};

/// How long opening one socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A network client is one Messenger, always this one.
pub const MESSENGER: MessengerId = 1;

/// How a network client is set up, beyond the engine's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// The wire trace keeps at most this many entries.
    pub trace_limit: usize,
    /// Hand every message to the `msgr.wire` log.
    pub log_wire: bool,
    /// A PEM file of certificates the Passport login trusts over HTTPS besides the web
    /// PKI (a private CA, a test's self-signed certificate).
    pub nexus_ca: Option<PathBuf>,
    /// The local address every connection (MSNP and the Passport login) is made from;
    /// by default the system's choice.
    pub source_ip: Option<std::net::IpAddr>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            trace_limit: DEFAULT_TRACE_LIMIT,
            log_wire: false,
            nexus_ca: None,
            source_ip: None,
        }
    }
}

pub struct Client {
    shared: Arc<Shared>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    stop: watch::Sender<bool>,
    timer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    /// Notified after every step: events queued, a sign-in or invitation settled.
    changed: Condvar,
    wake_timer: Notify,
    clock: Clock,
    handle: Handle,
    /// The Passport login, when `ClientConfig::nexus` names a nexus.
    passport: Option<Arc<Passport>>,
    /// [`ClientOptions::source_ip`].
    source_ip: Option<std::net::IpAddr>,
}

struct State {
    engine: ClientEngine,
    outboxes: HashMap<ConnId, Outbox>,
    tasks: Vec<JoinHandle<()>>,
    /// Passport logins under way: nothing waits for them once the client closes.
    logins: Vec<JoinHandle<()>>,
    journal: Journal,
    open: bool,
    /// Why the last socket could not be opened, for the call that waits on it.
    unreachable: Option<std::io::Error>,
}

impl Client {
    /// A signed-out client; `config.ns_address` is the server's `host:port`.
    pub fn new(config: ClientConfig) -> Result<Client, NetError> {
        Client::with_trace_limit(config, DEFAULT_TRACE_LIMIT)
    }

    /// A client whose wire trace keeps at most `trace_limit` entries.
    pub fn with_trace_limit(config: ClientConfig, trace_limit: usize) -> Result<Client, NetError> {
        let options = ClientOptions {
            trace_limit,
            ..ClientOptions::default()
        };
        Client::with_options(config, &options)
    }

    /// A client set up as `options` say. A nexus URL that is not an `http(s)://` URL,
    /// or a `nexus_ca` that holds no certificate, is refused here (`E_INVALIDARG`).
    pub fn with_options(mut config: ClientConfig, options: &ClientOptions) -> Result<Client, NetError> {
        let trace = Trace::new(options.trace_limit).with_log(options.log_wire);
        let passport = match &config.nexus {
            Some(nexus) => Some(Arc::new(Passport::new(
                nexus,
                options.nexus_ca.as_deref(),
                options.source_ip,
                CONNECT_TIMEOUT,
            )?)),
            None => None,
        };
        let rt = runtime("msgr-client", 1)?;
        config.trace = trace.wanted();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine: ClientEngine::new(config),
                outboxes: HashMap::new(),
                tasks: Vec::new(),
                logins: Vec::new(),
                journal: Journal::new(trace),
                open: true,
                unreachable: None,
            }),
            changed: Condvar::new(),
            wake_timer: Notify::new(),
            clock: Clock::new(),
            handle: rt.handle().clone(),
            passport,
            source_ip: options.source_ip,
        });
        let (stop, stop_rx) = watch::channel(false);
        let timer = spawn_timer(&rt, shared.clone(), stop_rx);
        Ok(Client {
            shared,
            runtime: Mutex::new(Some(rt)),
            stop,
            timer: Mutex::new(Some(timer)),
        })
    }

    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// Runs an engine call under the lock, then sends what it caused. Every API call
    /// but `sign_in` and `invite` is one of these and returns at once.
    pub fn call<T>(&self, f: impl FnOnce(&mut ClientEngine, Instant) -> T) -> T {
        self.shared.step(f)
    }

    /// Reads the engine's state.
    pub fn read<T>(&self, f: impl FnOnce(&ClientEngine) -> T) -> T {
        f(&lock(&self.shared.state).engine)
    }

    /// Runs a call whose outcome comes from the network (`sign_in`, `invite`) and waits
    /// for it: the service's refusal is the error, as in embedded mode. On timeout the
    /// call is abandoned (a sign-in attempt is dropped, so a later one can start).
    pub fn call_and_wait(
        &self,
        waiting: Waiting,
        timeout: Duration,
        f: impl FnOnce(&mut ClientEngine, Instant) -> Result<(), Error>,
    ) -> Result<(), NetError> {
        self.shared.with_state(|s, now| {
            s.unreachable = None;
            f(&mut s.engine, now)
        })?;
        let mut s = self
            .shared
            .wait(timeout, |s| s.open && !s.engine.outcome_known(waiting));
        if let Some(outcome) = s.engine.take_outcome(waiting) {
            return match (outcome, s.unreachable.take()) {
                (Ok(()), _) => Ok(()),
                (Err(error), Some(io)) if error.hresult() == HResult::SR_CONNECTION_FAILURE => {
                    Err(NetError::Unreachable { error, io })
                }
                (Err(error), _) => Err(error.into()),
            };
        }
        let now = self.shared.clock.now();
        s.engine.abandon(waiting);
        if waiting == Waiting::SignIn {
            s.engine.sign_out(now);
            self.shared.settle(&mut s, now);
        }
        match (s.open, waiting) {
            (false, _) => Err(closed_error()),
            (true, Waiting::SignIn) => Err(NetError::Timeout(timeout, "the server did not finish the sign-in")),
            (true, Waiting::Invite(_)) => Err(NetError::Timeout(timeout, "no switchboard carried the invitation")),
            (true, Waiting::Text(_)) => Err(NetError::Timeout(timeout, "no switchboard carried the message")),
        }
    }

    pub fn take_events(&self) -> Vec<Logged> {
        lock(&self.shared.state).journal.take_events()
    }

    /// Blocks until events are queued (true) or `timeout` passes or the client is
    /// closed (false).
    pub fn wait_events(&self, timeout: Duration) -> bool {
        let s = self.shared.wait(timeout, |s| !s.journal.has_events() && s.open);
        s.journal.has_events()
    }

    pub fn is_open(&self) -> bool {
        lock(&self.shared.state).open
    }

    /// Reads the wire trace.
    pub fn with_trace<T>(&self, f: impl FnOnce(&mut Trace) -> T) -> T {
        f(lock(&self.shared.state).journal.trace_mut())
    }

    /// Signs out (sending `OUT`) if signed in, closes every socket, and stops the
    /// runtime. Idempotent; waiters are woken.
    pub fn close(&self) {
        let Some(rt) = lock(&self.runtime).take() else {
            return;
        };
        let mut tasks = {
            let mut s = lock(&self.shared.state);
            let now = self.shared.clock.now();
            s.engine.sign_out(now);
            self.shared.settle(&mut s, now);
            s.open = false;
            s.outboxes.clear();
            for login in s.logins.drain(..) {
                login.abort();
            }
            std::mem::take(&mut s.tasks)
        };
        self.shared.changed.notify_all();
        let _ = self.stop.send(true);
        tasks.extend(lock(&self.timer).take());
        stop_runtime(rt, tasks);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

super::timed!(Shared);

impl Shared {
    fn step<T>(self: &Arc<Self>, f: impl FnOnce(&mut ClientEngine, Instant) -> T) -> T {
        self.with_state(|s, now| f(&mut s.engine, now))
    }

    /// Runs `f` under the lock, carries out what it caused, and wakes the waiters and
    /// the timer (the deadline may have moved).
    fn with_state<T>(self: &Arc<Self>, f: impl FnOnce(&mut State, Instant) -> T) -> T {
        let mut s = lock(&self.state);
        let now = self.clock.now();
        let out = f(&mut s, now);
        self.settle(&mut s, now);
        drop(s);
        self.changed.notify_all();
        self.wake_timer.notify_one();
        out
    }

    /// Waits while `pending` holds, at most `timeout`; returns the state locked.
    fn wait(&self, timeout: Duration, pending: impl Fn(&State) -> bool) -> MutexGuard<'_, State> {
        let s = lock(&self.state);
        match self.changed.wait_timeout_while(s, timeout, |s| pending(s)) {
            Ok((s, _)) => s,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    /// Carries out the engine's outputs and collects its events, until it is quiet.
    fn settle(self: &Arc<Self>, s: &mut State, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(out) = s.engine.poll_output() {
                moved = true;
                self.output(s, out, now);
            }
            s.journal.collect(MESSENGER, &mut s.engine, now);
            if !moved {
                return;
            }
        }
    }

    fn output(self: &Arc<Self>, s: &mut State, out: ClientOutput, now: Instant) {
        match out {
            ClientOutput::Connect { conn, addr } => {
                if !s.open {
                    return s.engine.unreachable(conn, "the network client is closed", now);
                }
                let (outbox, inbox) = conn::outbox();
                s.outboxes.insert(conn, outbox);
                s.tasks.retain(|t| !t.is_finished());
                s.tasks
                    .push(self.handle.spawn(self.clone().run_conn(conn, addr, inbox)));
            }
            ClientOutput::Send { conn, cmd } => {
                if s.outboxes.get(&conn).is_some_and(|o| !o.push_command(&cmd)) {
                    s.drop_conn(conn);
                    s.engine.closed(conn, now);
                }
            }
            ClientOutput::Close { conn } => s.drop_conn(conn),
            ClientOutput::Passport {
                conn,
                challenge,
                account,
                password,
            } => match &self.passport {
                None => {
                    let e = Error::api(
                        HResult::SR_AUTHENTICATION_FAILED,
                        "this dialect signs in with Passport, and no nexus URL was given (nexus=)",
                    );
                    s.engine.passport_ticket(conn, Err(e), now);
                }
                Some(passport) => {
                    // The HTTP exchange runs off the lock; the engine hears its outcome
                    // the way it hears bytes from a socket.
                    let (this, passport) = (self.clone(), passport.clone());
                    s.logins.retain(|t| !t.is_finished());
                    s.logins.push(self.handle.spawn(async move {
                        let ticket = passport.ticket(&account, &password, &challenge).await;
                        this.ticket(conn, ticket);
                    }));
                }
            },
        }
    }

    /// The Passport login's outcome: the engine sends `USR TWN S` or fails the sign-in.
    fn ticket(self: &Arc<Self>, conn: ConnId, ticket: Result<String, Refusal>) {
        self.with_state(|s, now| {
            if !s.open {
                return;
            }
            let ticket = ticket.map_err(|refusal| {
                if let Some(io) = refusal.io {
                    s.unreachable = Some(io);
                }
                refusal.error
            });
            s.engine.passport_ticket(conn, ticket, now);
        });
    }

    async fn run_conn(self: Arc<Self>, conn: ConnId, addr: String, inbox: Inbox) {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect_from(addr.as_str(), self.source_ip)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(io)) => return self.unreachable(conn, io),
            Err(_) => {
                let io = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {}", super::seconds(CONNECT_TIMEOUT)),
                );
                return self.unreachable(conn, io);
            }
        };
        let _ = stream.set_nodelay(true);
        let local_ip = stream.local_addr().ok().map(|a| a.ip().to_string());
        let wanted = self.with_state(|s, now| {
            // Unless the engine gave up on this connection while it was being opened.
            let wanted = s.outboxes.contains_key(&conn);
            if wanted {
                if let Some(ip) = &local_ip {
                    s.engine.learn_local_ip(ip);
                }
                s.engine.connected(conn, now);
            }
            wanted
        });
        if !wanted {
            return;
        }
        if conn::pump(stream, inbox, conn::CLIENT_LINGER, conn::CLIENT_READ, |bytes| {
            self.received(conn, bytes)
        })
        .await
            == Ended::ByPeer
        {
            self.closed(conn);
        }
    }

    /// A socket could not be opened: the engine learns why, and the error is kept for
    /// the call waiting on it.
    fn unreachable(self: &Arc<Self>, conn: ConnId, io: std::io::Error) {
        self.with_state(|s, now| {
            s.drop_conn(conn);
            s.engine.unreachable(conn, &io.to_string(), now);
            s.unreachable = Some(io);
        });
    }

    fn received(self: &Arc<Self>, conn: ConnId, bytes: &[u8]) {
        self.with_state(|s, now| s.engine.receive(conn, bytes, now));
    }

    fn closed(self: &Arc<Self>, conn: ConnId) {
        self.with_state(|s, now| {
            s.drop_conn(conn);
            s.engine.closed(conn, now);
        });
    }
}

/// A blocking call's answer when the client was closed under it.
fn closed_error() -> NetError {
    NetError::Core(Error::api(HResult::E_FAIL, "the network client is closed"))
}

impl State {
    /// Dropping the outbox ends the socket's task once its queue is written.
    fn drop_conn(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
    }
}

/// A connection to `addr` from `source` (any port), or from the system's choice.
async fn connect_from(addr: &str, source: Option<std::net::IpAddr>) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(addr).await;
    };
    let mut last = None;
    for to in tokio::net::lookup_host(addr)
        .await?
        .filter(|to| to.is_ipv4() == source.is_ipv4())
    {
        let socket = if to.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.bind(std::net::SocketAddr::new(source, 0))?;
        match socket.connect(to).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("{addr} has no address of the family of {source}"),
        )
    }))
}
