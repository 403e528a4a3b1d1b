//! The TCP transport (tokio) for the sans-IO engines: [`Server`] runs a
//! [`ServiceEngine`](crate::service::ServiceEngine) on a listening socket, [`Client`] runs
//! one [`ClientEngine`](crate::client::ClientEngine) over the sockets it asks for.
//!
//! Both follow one pattern. The engine is single-threaded state, so it sits behind a
//! std `Mutex`; every step under the lock is short and never awaits. A task per socket
//! feeds it the bytes it reads. After every step the driver drains the engine's outputs
//! into per-connection outboxes, which the socket tasks write. One timer task sleeps
//! until the engine's next deadline and ticks it.

pub mod client;
mod conn;
pub mod hasher;
pub mod nexus;
pub(crate) mod passport;
#[cfg(test)]
mod passport_tests;
pub mod server;
#[cfg(test)]
mod tests;
mod tls;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use client::{Client, ClientOptions};
pub use nexus::{NexusConfig, Routes, TlsFiles};
// The client's half of the Passport headers, public so that the nexus's fuzz target can
// check that what the service answers reads back as the client reads it.
pub use passport::{authorization, da_login, from_pp};
pub use server::Server;

use crate::error::Error;
use crate::proto::Instant;

/// How long a shutdown waits for sockets to flush before their tasks are stopped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

#[derive(thiserror::Error, Debug)]
pub enum NetError {
    /// What the engine said: the same errors as in embedded mode.
    #[error(transparent)]
    Core(#[from] Error),
    /// A socket could not be opened: the engine's account, and the system's.
    #[error("{error}")]
    Unreachable { error: Error, io: std::io::Error },
    /// Nothing came back in time: what did not happen, and the time allowed.
    #[error("{} within {}", .1, seconds(*.0))]
    Timeout(Duration, &'static str),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A duration as people write it: "0.5 s", "10 s".
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s == s.trunc() {
        format!("{s:.0} s")
    } else {
        format!("{} s", format!("{s:.3}").trim_end_matches('0'))
    }
}

impl NetError {
    /// The HRESULT of an engine's refusal; None for time-outs and socket errors.
    pub fn hresult(&self) -> Option<crate::hresult::HResult> {
        match self {
            NetError::Core(e) | NetError::Unreachable { error: e, .. } => Some(e.hresult()),
            NetError::Timeout(..) | NetError::Io(_) => None,
        }
    }
}

/// The engines' clock on the network: time since the driver started, from tokio's
/// monotonic clock.
#[derive(Clone, Copy, Debug)]
struct Clock {
    start: tokio::time::Instant,
}

impl Clock {
    fn new() -> Self {
        Clock {
            start: tokio::time::Instant::now(),
        }
    }

    fn now(&self) -> Instant {
        self.start.elapsed()
    }

    /// The tokio instant of an engine deadline; a deadline too far to represent is
    /// treated as a year away rather than allowed to overflow.
    fn at(&self, t: Instant) -> tokio::time::Instant {
        self.start
            .checked_add(t)
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(365 * 86_400))
    }
}

/// A panic while a lock was held cannot leave an engine in a state we could repair;
/// going on with it beats poisoning every later call (the bindings do the same).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn runtime(name: &str, workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
}

/// Stops a driver's runtime: waits (bounded) for `tasks` to finish when called from
/// plain threads; inside another runtime blocking is not allowed, so it lets go.
fn stop_runtime(rt: tokio::runtime::Runtime, tasks: Vec<tokio::task::JoinHandle<()>>) {
    if tokio::runtime::Handle::try_current().is_ok() {
        rt.shutdown_background();
        return;
    }
    rt.block_on(async {
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, all).await;
    });
    rt.shutdown_timeout(SHUTDOWN_GRACE);
}

/// What a TCP driver's timer needs of it.
trait Timed: Send + Sync + 'static {
    fn clock(&self) -> Clock;
    /// Notified after every engine step (which may move the deadline).
    fn wake(&self) -> &tokio::sync::Notify;
    fn deadline(&self) -> Option<Instant>;
    fn tick(self: &std::sync::Arc<Self>);
}

/// Implements [`Timed`] for a driver's shared state: a `state` mutex holding an `engine`
/// with `next_deadline`/`tick`, a `clock`, a `wake_timer` and a `step` method.
macro_rules! timed {
    ($shared:ty) => {
        impl super::Timed for $shared {
            fn clock(&self) -> super::Clock {
                self.clock
            }

            fn wake(&self) -> &tokio::sync::Notify {
                &self.wake_timer
            }

            fn deadline(&self) -> Option<crate::proto::Instant> {
                super::lock(&self.state).engine.next_deadline()
            }

            fn tick(self: &std::sync::Arc<Self>) {
                self.step(|e, now| e.tick(now));
            }
        }
    };
}
use timed;

/// The timer task of a driver: sleeps until the engine's next deadline, then ticks it;
/// wakes early when notified.
fn spawn_timer<S: Timed>(
    rt: &tokio::runtime::Runtime,
    driver: std::sync::Arc<S>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    // A deadline the engine fails to clear must not turn into a busy loop.
    const MIN_GAP: Duration = Duration::from_millis(1);
    // Finding the next deadline looks at every connection under the engine's lock, and
    // every step notifies: after a notice the timer looks again only this much later,
    // so a busy server pays for a look 20 times a second, not once per message. Every
    // deadline is seconds long, so one may be noticed this much late.
    const RESCAN_GAP: Duration = Duration::from_millis(50);
    // With very many connections a look takes milliseconds (2 ms at 100,000): the gap
    // grows to this many times the last look, so looking stays under 2 % of a core.
    const RESCAN_FACTOR: u32 = 50;
    rt.spawn(async move {
        let clock = driver.clock();
        let mut last_tick = tokio::time::Instant::now();
        loop {
            let began = tokio::time::Instant::now();
            let next = driver.deadline().map(|t| clock.at(t).max(last_tick + MIN_GAP));
            let looked = tokio::time::Instant::now();
            let gap = RESCAN_GAP.max((looked - began) * RESCAN_FACTOR);
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => return,
                _ = driver.wake().notified() => {
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep_until(looked + gap) => {}
                    }
                }
                _ = sleep => {
                    last_tick = tokio::time::Instant::now();
                    driver.tick();
                }
            }
        }
    })
}

/// Connections a listening socket holds before the accept loop takes them. std's
/// default, 128, is overflowed by a crowd signing in at once (or a flood the caps would
/// answer), and the kernel then drops handshakes: their clients hang in retries.
const BACKLOG: u32 = 1024;

/// A listening socket on the first of `addr`'s addresses that binds, with [`BACKLOG`]
/// (and `SO_REUSEADDR`, as std sets it on Unix, so a restart finds its port free).
pub(crate) async fn listen(addr: impl tokio::net::ToSocketAddrs) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "the address resolves to nothing")))
}
