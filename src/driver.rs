//! What runs client engines: the embedded hub (in memory, virtual clock, many
//! Messengers) or a TCP client (one Messenger over sockets). Both take the same calls:
//! run an engine method and carry out what it caused, read an engine, wait for an
//! outcome the network decides, and hand over events and the trace. The Python
//! binding's `Messenger` is written once over this.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::client::{ClientEngine, Waiting};
use crate::embedded::Embedded;
use crate::error::Result;
use crate::journal::{Logged, MessengerId};
use crate::net::{Client, NetError, Server};
use crate::proto::Instant;
use crate::service::ServiceEngine;
use crate::trace::Trace;

#[derive(Clone)]
pub enum Driver {
    Embedded(Arc<Mutex<Embedded>>),
    Tcp(Arc<Client>),
}

/// A panic while the hub's lock was held cannot leave it in a state we could repair;
/// going on with the data as it is beats poisoning every later call.
pub fn lock_hub(hub: &Mutex<Embedded>) -> MutexGuard<'_, Embedded> {
    hub.lock().unwrap_or_else(|p| p.into_inner())
}

impl Driver {
    /// Runs an engine call; afterwards everything it caused has been carried out (in
    /// memory) or handed to the sockets (over TCP).
    pub fn call<T>(&self, m: MessengerId, f: impl FnOnce(&mut ClientEngine, Instant) -> Result<T>) -> Result<T> {
        match self {
            Driver::Embedded(hub) => lock_hub(hub).call(m, f),
            Driver::Tcp(client) => client.call(f),
        }
    }

    pub fn read<T>(&self, m: MessengerId, f: impl FnOnce(&ClientEngine) -> Result<T>) -> Result<T> {
        match self {
            Driver::Embedded(hub) => lock_hub(hub).read(m, f),
            Driver::Tcp(client) => client.read(f),
        }
    }

    /// A call whose outcome the network decides; over TCP it waits at most `timeout`.
    pub fn call_and_wait(
        &self,
        m: MessengerId,
        waiting: Waiting,
        timeout: Duration,
        f: impl FnOnce(&mut ClientEngine, Instant) -> Result<()>,
    ) -> Result<(), NetError> {
        match self {
            Driver::Embedded(hub) => Ok(lock_hub(hub).call_and_wait(m, waiting, f)?),
            Driver::Tcp(client) => client.call_and_wait(waiting, timeout, f),
        }
    }

    pub fn take_events(&self) -> Vec<Logged> {
        match self {
            Driver::Embedded(hub) => lock_hub(hub).take_events(),
            Driver::Tcp(client) => client.take_events(),
        }
    }

    /// Blocks until events are queued, at most `timeout` (in memory, nothing is in
    /// flight: it answers at once).
    pub fn wait_events(&self, timeout: Duration) -> bool {
        match self {
            Driver::Embedded(hub) => lock_hub(hub).has_events(),
            Driver::Tcp(client) => client.wait_events(timeout),
        }
    }

    pub fn with_trace<T>(&self, f: impl FnOnce(&mut Trace) -> T) -> T {
        match self {
            Driver::Embedded(hub) => f(lock_hub(hub).trace_mut()),
            Driver::Tcp(client) => client.with_trace(f),
        }
    }

    /// The driver's clock: virtual in memory, monotonic over TCP.
    pub fn now(&self) -> Instant {
        match self {
            Driver::Embedded(hub) => lock_hub(hub).now(),
            Driver::Tcp(client) => client.now(),
        }
    }
}

/// What runs a service engine: the embedded hub or a TCP server. The Python binding's
/// service operations (accounts, licences, alerts) are written once over this.
#[derive(Clone)]
pub enum ServiceDriver {
    Embedded(Arc<Mutex<Embedded>>),
    Tcp(Arc<Server>),
}

impl ServiceDriver {
    /// Runs `f` on the service engine, then carries out what it caused (an alert is
    /// delivered before this returns in memory, handed to the sockets over TCP).
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut ServiceEngine) -> T) -> T {
        match self {
            ServiceDriver::Embedded(hub) => {
                let mut w = lock_hub(hub);
                let out = f(w.service_mut());
                w.settle();
                out
            }
            ServiceDriver::Tcp(server) => server.with_engine(f),
        }
    }

    /// The engine's counts, read without carrying anything out.
    pub fn counts(&self) -> crate::service::ServiceCounts {
        match self {
            ServiceDriver::Embedded(hub) => lock_hub(hub).service().counts(),
            ServiceDriver::Tcp(server) => server.read_engine(ServiceEngine::counts),
        }
    }

    /// Connections the transport itself holds: the hub's links, or the server's
    /// sockets. A leak here is one the engine cannot see.
    pub fn transport_connections(&self) -> usize {
        match self {
            ServiceDriver::Embedded(hub) => lock_hub(hub).link_count(),
            ServiceDriver::Tcp(server) => server.socket_count(),
        }
    }

    /// Runs an owner operation (`add_user`, `license`); returns once its writes are
    /// durable, with a failed write as its error.
    pub fn admin<T>(&self, f: impl FnOnce(&mut ServiceEngine) -> Result<T>) -> Result<T> {
        match self {
            ServiceDriver::Embedded(hub) => {
                let mut w = lock_hub(hub);
                let out = f(w.service_mut())?;
                w.settle();
                w.service_mut().admin_outcome().unwrap_or(Ok(())).map(|()| out)
            }
            ServiceDriver::Tcp(server) => server.admin(f),
        }
    }
}
