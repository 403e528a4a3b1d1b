//! `_core.EmbeddedService`: the embedded hub. Its Messengers (`_core.Messenger`), its
//! service operations (`_core.ServiceCore`) and its events and trace (`_core.Journal`)
//! are the same classes the TCP server and client give.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use super::convert::{dialect, lock_and_key, seconds, IntoPyResult};
use super::journal::PyJournal;
use super::messenger::PyMessenger;
use super::service::PyServiceCore;
use crate::driver::{lock_hub, Driver, ServiceDriver};
use crate::embedded::Embedded;
use crate::service::ServiceConfig;
use crate::trace::{Trace, DEFAULT_TRACE_LIMIT};

#[pyclass(frozen, module = "msgr._core")]
pub struct EmbeddedService {
    hub: Arc<Mutex<Embedded>>,
    driver: Driver,
}

#[pymethods]
impl EmbeddedService {
    #[new]
    #[pyo3(signature = (lock_and_key = "enabled", seed = None, db = None, trace_limit = None, protocol = "MSNP7"))]
    fn new(
        py: Python<'_>,
        lock_and_key: &str,
        seed: Option<u64>,
        db: Option<std::path::PathBuf>,
        trace_limit: Option<usize>,
        protocol: &str,
    ) -> PyResult<Self> {
        let mut config = ServiceConfig::new();
        config.lock_and_key = self::lock_and_key(py, lock_and_key)?;
        config.seed = seed;
        config.limits = crate::service::Limits::embedded();
        let protocol = dialect(py, protocol)?;
        let trace = Trace::new(trace_limit.unwrap_or(DEFAULT_TRACE_LIMIT)).with_log(super::logging::wire_wanted(py)?);
        let mut hub = Embedded::with_trace(config, trace);
        hub.set_client_dialects(vec![protocol]);
        if let Some(path) = db {
            hub.attach_store(&path).py(py)?;
        }
        let hub = Arc::new(Mutex::new(hub));
        let driver = Driver::Embedded(hub.clone());
        Ok(EmbeddedService { hub, driver })
    }

    /// The service's own operations: accounts, licences, alerts.
    #[getter]
    fn service(&self) -> PyServiceCore {
        PyServiceCore::new(ServiceDriver::Embedded(self.hub.clone()))
    }

    /// A new, signed-out Messenger for an account.
    fn add_messenger(&self, py: Python<'_>, sign_in_name: &str, password: &str) -> PyMessenger {
        let id = py.detach(|| lock_hub(&self.hub).add_messenger(sign_in_name, password));
        PyMessenger::new(self.driver.clone(), id, Duration::ZERO)
    }

    /// Moves the virtual clock by `seconds` (finite, not negative).
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let by = self::seconds(py, "seconds", seconds)?;
        py.detach(|| lock_hub(&self.hub).advance(by));
        Ok(())
    }

    /// Signs every Messenger out (`OUT SSD`) and closes the database file.
    fn close(&self, py: Python<'_>) {
        py.detach(|| lock_hub(&self.hub).close());
    }

    /// Events, trace and clock.
    #[getter]
    fn journal(&self) -> PyJournal {
        PyJournal::new(self.driver.clone())
    }
}
