//! `_core.Journal`: what a driver (the embedded hub, a TCP client, a TCP server) hands
//! over to Python, the same way for all: events, the wire trace, the clock. A server has
//! no events of its own, only its trace.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::{event, seconds, trace_entry};
use crate::driver::Driver;
use crate::journal::Logged;
use crate::net::Server;
use crate::proto::Instant;
use crate::trace::{Trace, TraceEntry};

pub enum Source {
    Driver(Driver),
    Server(Arc<Server>),
}

impl Source {
    fn with_trace<T>(&self, f: impl FnOnce(&mut Trace) -> T) -> T {
        match self {
            Source::Driver(d) => d.with_trace(f),
            Source::Server(s) => s.with_trace(f),
        }
    }

    fn take_events(&self) -> Vec<Logged> {
        match self {
            Source::Driver(d) => d.take_events(),
            Source::Server(_) => Vec::new(),
        }
    }

    fn wait_events(&self, timeout: Duration) -> bool {
        match self {
            Source::Driver(d) => d.wait_events(timeout),
            Source::Server(_) => false,
        }
    }

    fn now(&self) -> Instant {
        match self {
            Source::Driver(d) => d.now(),
            Source::Server(s) => s.now(),
        }
    }
}

#[pyclass(frozen, name = "Journal", module = "msgr._core")]
pub struct PyJournal {
    driver: Source,
}

impl PyJournal {
    pub fn new(driver: Driver) -> Self {
        PyJournal {
            driver: Source::Driver(driver),
        }
    }

    pub fn of_server(server: Arc<Server>) -> Self {
        PyJournal {
            driver: Source::Server(server),
        }
    }
}

#[pymethods]
impl PyJournal {
    /// Every event queued since the last call: (seq, time, messenger, object or None,
    /// name, args); `seq` is shared with the trace.
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let events = py.detach(|| self.driver.take_events());
        events.iter().map(|l| event(py, l)).collect()
    }

    /// Blocks (GIL released) until events are queued: True, or False after `timeout`
    /// seconds or once a TCP client is closed. In memory it answers at once.
    fn wait_events(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds(py, "timeout", timeout)?;
        Ok(py.detach(|| self.driver.wait_events(timeout)))
    }

    fn trace_len(&self, py: Python<'_>) -> usize {
        py.detach(|| self.driver.with_trace(|t| t.len()))
    }

    /// The trace entries kept whose number is `seq` or later.
    #[pyo3(signature = (seq = 0))]
    fn trace_since<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let entries: Vec<TraceEntry> = py.detach(|| self.driver.with_trace(|t| t.since(seq).cloned().collect()));
        entries.iter().map(|e| trace_entry(py, e)).collect()
    }

    /// At one instant: the number of the oldest entry kept (None when empty) and the
    /// entries from `seq` on, so a reader can tell entries dropped from entries added.
    #[pyo3(signature = (seq = 0))]
    fn trace_window<'py>(&self, py: Python<'py>, seq: u64) -> PyResult<(Option<u64>, Vec<Bound<'py, PyTuple>>)> {
        let (first, entries): (Option<u64>, Vec<TraceEntry>) = py.detach(|| {
            self.driver
                .with_trace(|t| (t.first_seq(), t.since(seq).cloned().collect()))
        });
        let rows = entries.iter().map(|e| trace_entry(py, e)).collect::<PyResult<_>>()?;
        Ok((first, rows))
    }

    fn clear_trace(&self, py: Python<'_>) {
        py.detach(|| self.driver.with_trace(|t| t.clear()));
    }

    /// Most entries the trace keeps.
    #[getter]
    fn trace_limit(&self, py: Python<'_>) -> usize {
        py.detach(|| self.driver.with_trace(|t| t.limit()))
    }

    /// The driver's clock in seconds: virtual in memory, monotonic over TCP.
    #[getter]
    fn now(&self, py: Python<'_>) -> f64 {
        py.detach(|| self.driver.now().as_secs_f64())
    }
}
