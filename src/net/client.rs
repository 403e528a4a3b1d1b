//! `Client`: one client engine (one signed-in Windows Messenger) over TCP.
//!
//! The engine asks for sockets with `Connect` (the notification server's address, then
//! whatever the server put in `XFR`/`RNG`); a task per socket connects and pumps it.
//! Events queue up for a caller, who can block until some arrive. The API calls run the
//! engine method under the lock and return at once, except `sign_in` and `invite`,
//! which wait (bounded) for the network to answer, as their embedded twins appear to.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::conn::{self, Ended, Inbox, Outbox};
use super::{lock, run_timer, runtime, stop_runtime, Clock, NetError};
use crate::client::{ClientConfig, ClientEngine, ClientEvent, ClientOutput, ObjId};
use crate::embedded::TraceEntry;
use crate::error::Error;
use crate::hresult::HResult;
use crate::proto::{ConnId, Instant};
use crate::wire::{Command, Decoder, Direction};

/// How long opening one socket may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The wire trace keeps at most this many entries; past it the oldest half goes.
pub const MAX_TRACE: usize = 50_000;

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
}

struct State {
    engine: ClientEngine,
    outboxes: HashMap<ConnId, Outbox>,
    /// Decodes what the server sent, only to record it in the trace.
    tracers: HashMap<ConnId, Decoder>,
    tasks: Vec<JoinHandle<()>>,
    events: VecDeque<ClientEvent>,
    /// The outcome of the sign-in under way, once known.
    sign_in: Option<Result<(), Error>>,
    /// Invitations being sent, and why one failed.
    invites: HashMap<ObjId, Option<Error>>,
    trace: Vec<TraceEntry>,
    next_seq: u64,
    open: bool,
}

impl Client {
    /// A signed-out client; `config.ns_address` is the server's `host:port`.
    pub fn new(config: ClientConfig) -> Result<Client, NetError> {
        let rt = runtime("msgr-client", 1)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                engine: ClientEngine::new(config),
                outboxes: HashMap::new(),
                tracers: HashMap::new(),
                tasks: Vec::new(),
                events: VecDeque::new(),
                sign_in: None,
                invites: HashMap::new(),
                trace: Vec::new(),
                next_seq: 0,
                open: true,
            }),
            changed: Condvar::new(),
            wake_timer: Notify::new(),
            clock: Clock::new(),
            handle: rt.handle().clone(),
        });
        let (stop, stop_rx) = watch::channel(false);
        let timer = {
            let shared = shared.clone();
            rt.spawn(async move {
                let s = &shared;
                run_timer(
                    s.clock,
                    &s.wake_timer,
                    stop_rx,
                    || lock(&s.state).engine.next_deadline(),
                    || s.step(|e, now| e.tick(now)),
                )
                .await;
            })
        };
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

    /// Signs in and waits for the outcome: the service's refusal is the error, as in
    /// embedded mode. On timeout the attempt is abandoned, so a later one can start.
    pub fn sign_in(&self, password: Option<&str>, timeout: Duration) -> Result<(), NetError> {
        self.shared.with_state(|s, now| {
            if let Some(pw) = password {
                s.engine.set_password(pw);
            }
            s.sign_in = None;
            s.engine.sign_in(now)
        })?;
        let mut s = self.shared.wait(timeout, |s| s.sign_in.is_none() && s.open);
        match s.sign_in.take() {
            Some(outcome) => Ok(outcome?),
            None if !s.open => Err(closed_error()),
            None => {
                let now = self.shared.clock.now();
                s.engine.sign_out(now);
                self.shared.settle(&mut s, now);
                s.sign_in = None;
                Err(NetError::Timeout(timeout, "sign-in"))
            }
        }
    }

    pub fn sign_out(&self) {
        self.shared.step(|e, now| e.sign_out(now));
    }

    /// `IMsgrSession::Invite`: returns once the invitation is on its way (the session
    /// left the state it was in), or fails with the reason it could not be sent.
    pub fn invite(&self, obj: ObjId, peer: &str, app_data: Option<&str>, timeout: Duration) -> Result<(), NetError> {
        let before = self.shared.with_state(|s, now| {
            let before = s.engine.session(obj)?.state();
            s.invites.insert(obj, None);
            let sent = s.engine.invite(obj, peer, app_data, now);
            if sent.is_err() {
                s.invites.remove(&obj);
            }
            sent.map(|()| before)
        })?;
        let pending = |s: &State| {
            s.open
                && matches!(s.invites.get(&obj), Some(None))
                && s.engine.session(obj).is_ok_and(|x| x.state() == before)
        };
        let mut s = self.shared.wait(timeout, pending);
        let left = s.engine.session(obj).is_ok_and(|x| x.state() != before);
        match s.invites.remove(&obj) {
            Some(Some(error)) => Err(error.into()),
            _ if left => Ok(()),
            _ if !s.open => Err(closed_error()),
            _ => Err(NetError::Timeout(timeout, "the invitation to be sent")),
        }
    }

    pub fn take_events(&self) -> Vec<ClientEvent> {
        lock(&self.shared.state).events.drain(..).collect()
    }

    /// Blocks until events are queued (true) or `timeout` passes or the client is
    /// closed (false).
    pub fn wait_events(&self, timeout: Duration) -> bool {
        let s = self.shared.wait(timeout, |s| s.events.is_empty() && s.open);
        !s.events.is_empty()
    }

    pub fn is_open(&self) -> bool {
        lock(&self.shared.state).open
    }

    pub fn trace_len(&self) -> usize {
        lock(&self.shared.state).trace.len()
    }

    pub fn trace_from(&self, start: usize) -> Vec<TraceEntry> {
        lock(&self.shared.state).trace.get(start..).unwrap_or_default().to_vec()
    }

    pub fn clear_trace(&self) {
        lock(&self.shared.state).trace.clear();
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
            while let Some(e) = s.engine.poll_event() {
                moved = true;
                s.collect(e);
            }
            if !moved {
                return;
            }
        }
    }

    fn output(self: &Arc<Self>, s: &mut State, out: ClientOutput, now: Instant) {
        match out {
            ClientOutput::Connect { conn, addr } => {
                if !s.open {
                    return s.engine.closed(conn, now);
                }
                let (outbox, inbox) = conn::outbox();
                s.outboxes.insert(conn, outbox);
                s.tracers.insert(conn, Decoder::new(Direction::ServerToClient));
                s.tasks.retain(|t| !t.is_finished());
                s.tasks
                    .push(self.handle.spawn(self.clone().run_conn(conn, addr, inbox)));
            }
            ClientOutput::Send { conn, cmd } => {
                s.record(conn, Direction::ClientToServer, &cmd, now);
                if s.outboxes.get(&conn).is_some_and(|o| !o.push(cmd.encode())) {
                    s.drop_conn(conn);
                    s.engine.closed(conn, now);
                }
            }
            ClientOutput::Close { conn } => s.drop_conn(conn),
        }
    }

    async fn run_conn(self: Arc<Self>, conn: ConnId, addr: String, inbox: Inbox) {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr.as_str())).await {
            Ok(Ok(stream)) => stream,
            // The engine treats a socket that could not be opened as one that closed.
            _ => return self.closed(conn),
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
        if conn::pump(stream, inbox, |bytes| self.received(conn, bytes)).await == Ended::ByPeer {
            self.closed(conn);
        }
    }

    fn received(self: &Arc<Self>, conn: ConnId, bytes: &[u8]) {
        self.with_state(|s, now| {
            s.trace_received(conn, bytes, now);
            s.engine.receive(conn, bytes, now);
        });
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
    /// Queues an event for the caller, keeping back what a blocked call is waiting for.
    fn collect(&mut self, e: ClientEvent) {
        match &e {
            ClientEvent::SignedIn => self.sign_in = Some(Ok(())),
            ClientEvent::SignInFailed { error } => self.sign_in = Some(Err(error.clone())),
            ClientEvent::InviteFailed { obj, error } => {
                if let Some(slot) = self.invites.get_mut(obj) {
                    // The blocked `invite` raises it, as the embedded call does.
                    *slot = Some(error.clone());
                    return;
                }
            }
            _ => {}
        }
        self.events.push_back(e);
    }

    /// Dropping the outbox ends the socket's task once its queue is written.
    fn drop_conn(&mut self, conn: ConnId) {
        self.outboxes.remove(&conn);
        self.tracers.remove(&conn);
    }

    fn trace_received(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        let Some(d) = self.tracers.get_mut(&conn) else { return };
        d.push(bytes);
        let mut cmds = Vec::new();
        loop {
            match d.next_command() {
                Ok(Some(cmd)) => cmds.push(cmd),
                Ok(None) => break,
                // Unreadable framing: the engine will close; stop tracing this socket.
                Err(_) => {
                    self.tracers.remove(&conn);
                    break;
                }
            }
        }
        for cmd in &cmds {
            self.record(conn, Direction::ServerToClient, cmd, now);
        }
    }

    fn record(&mut self, conn: ConnId, direction: Direction, cmd: &Command, now: Instant) {
        if self.trace.len() >= MAX_TRACE {
            self.trace.drain(..MAX_TRACE / 2);
        }
        self.trace.push(TraceEntry {
            seq: self.next_seq,
            time: now,
            conn,
            user: self.engine.sign_in_name().to_string(),
            direction,
            cmd: cmd.clone(),
        });
        self.next_seq += 1;
    }
}
