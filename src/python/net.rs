//! `_core.Server` and `_core.NetworkClient`: the TCP transport for Python. The server's
//! service operations are the same `_core.ServiceCore` as the embedded service's; the
//! client's Messenger is the same `_core.Messenger`, and its events and trace the same
//! `_core.Journal`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::convert::{invalid, lock_and_key, net_err, seconds, to_py_err};
use super::journal::PyJournal;
use super::messenger::PyMessenger;
use super::service::PyServiceCore;
use crate::client::{ClientConfig, LockMode};
use crate::driver::{Driver, ServiceDriver};
use crate::net::client::MESSENGER;
use crate::net::{Client, ClientOptions, NexusConfig, Server as NetServer, TlsFiles};
use crate::proto::{Auth, Dialect};
use crate::service::{LimitValue, ServiceConfig};
use crate::trace::DEFAULT_TRACE_LIMIT;

/// The dialects `protocols` names (`"MSNP8"`, any case), or `default` when None. An
/// unknown name or an empty list is `E_INVALIDARG`.
fn dialects(py: Python<'_>, protocols: Option<Vec<String>>, default: Vec<Dialect>) -> PyResult<Vec<Dialect>> {
    let Some(names) = protocols else {
        return Ok(default);
    };
    if names.is_empty() {
        let detail = "protocols must name at least one dialect, such as ['MSNP8']".to_string();
        return Err(to_py_err(py, invalid(detail)));
    }
    let mut chosen = Vec::with_capacity(names.len());
    for name in &names {
        let dialect = name
            .parse::<Dialect>()
            .map_err(|e| to_py_err(py, invalid(format!("protocols: {e}"))))?;
        if !chosen.contains(&dialect) {
            chosen.push(dialect);
        }
    }
    Ok(chosen)
}

// ---- Server --------------------------------------------------------------------------

#[pyclass(frozen, name = "Server", module = "msgr._core")]
pub struct PyServer {
    server: Arc<NetServer>,
}

/// A limit's value from Python: a number, or a rate as (burst, seconds per token).
#[derive(FromPyObject)]
pub enum PyLimit {
    Rate(u32, f64),
    Number(f64),
}

#[pymethods]
impl PyServer {
    #[new]
    #[pyo3(signature = (host, port, lock_and_key = "enabled", seed = None, db = None, advertise = None, trace_limit = None, protocols = None, tls_cert = None, tls_key = None, nexus_port = 0, limits = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        lock_and_key: &str,
        seed: Option<u64>,
        db: Option<std::path::PathBuf>,
        advertise: Option<String>,
        trace_limit: Option<usize>,
        protocols: Option<Vec<String>>,
        tls_cert: Option<std::path::PathBuf>,
        tls_key: Option<std::path::PathBuf>,
        nexus_port: u16,
        limits: Option<std::collections::BTreeMap<String, PyLimit>>,
    ) -> PyResult<Self> {
        let mut config = ServiceConfig::new();
        for (name, value) in limits.unwrap_or_default() {
            let value = match value {
                PyLimit::Rate(burst, every) => LimitValue::Rate(burst, every),
                PyLimit::Number(n) => LimitValue::Number(n),
            };
            config.limits.set(&name, value).map_err(|e| to_py_err(py, invalid(e)))?;
        }
        config.trace_limit = trace_limit.unwrap_or(DEFAULT_TRACE_LIMIT);
        config.log_wire = super::logging::wire_wanted(py)?;
        config.lock_and_key = self::lock_and_key(py, lock_and_key)?;
        config.seed = seed;
        config.dialects = dialects(py, protocols, Dialect::IMPLEMENTED.to_vec())?;
        let tls = match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            (None, None) => None,
            _ => {
                let detail = "tls_cert and tls_key go together: give both for HTTPS, or neither".to_string();
                return Err(to_py_err(py, invalid(detail)));
            }
        };
        let nexus = NexusConfig { port: nexus_port, tls };
        if let Some(host) = &advertise {
            if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                let detail = format!("advertise must be a host name or address, not {host:?}");
                return Err(to_py_err(py, invalid(detail)));
            }
        }
        config.advertise_host = advertise;
        let server = py
            .detach(|| NetServer::bind_with((host, port), config, &nexus))
            .map_err(|e| net_err(py, e))?;
        if let Some(path) = db {
            if let Err(e) = py.detach(|| server.attach_store(&path)) {
                py.detach(|| server.shutdown());
                return Err(to_py_err(py, e));
            }
        }
        Ok(PyServer {
            server: Arc::new(server),
        })
    }

    /// The service's own operations: accounts, licences, alerts.
    #[getter]
    fn service(&self) -> PyServiceCore {
        PyServiceCore::new(ServiceDriver::Tcp(self.server.clone()))
    }

    /// The server's wire trace and clock.
    #[getter]
    fn journal(&self) -> PyJournal {
        PyJournal::of_server(self.server.clone())
    }

    /// The bound (host, port).
    #[getter]
    fn address(&self) -> (String, u16) {
        let a = self.server.local_addr();
        (a.ip().to_string(), a.port())
    }

    /// The Passport nexus's redirect URL, where an MSNP8+ client's sign-in starts.
    #[getter]
    fn nexus_url(&self) -> String {
        self.server.nexus_url().to_string()
    }

    #[getter]
    fn running(&self) -> bool {
        self.server.is_running()
    }

    /// Closes every connection and stops serving. Idempotent.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.server.shutdown());
    }
}

// ---- NetworkClient -------------------------------------------------------------------

#[pyclass(frozen, module = "msgr._core")]
pub struct NetworkClient {
    client: Arc<Client>,
    /// How long `sign_in` and `invite` wait for the network.
    timeout: Duration,
}

#[pymethods]
impl NetworkClient {
    #[new]
    #[pyo3(signature = (host, port, email, password, seed = None, timeout = 10.0, local_ip = None, trace_limit = None, lock_and_key = "auto", keys = None, challenge_timeout = None, protocols = None, nexus = None, nexus_ca = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        email: &str,
        password: &str,
        seed: Option<u64>,
        timeout: f64,
        local_ip: Option<&str>,
        trace_limit: Option<usize>,
        lock_and_key: &str,
        keys: Option<BTreeMap<String, String>>,
        challenge_timeout: Option<f64>,
        protocols: Option<Vec<String>>,
        nexus: Option<String>,
        nexus_ca: Option<std::path::PathBuf>,
    ) -> PyResult<Self> {
        let timeout = seconds(py, "timeout", timeout)?;
        let lock_mode = LockMode::new(lock_and_key, keys).map_err(|e| to_py_err(py, e))?;
        let challenge_timeout = challenge_timeout
            .map(|s| seconds(py, "challenge_timeout", s))
            .transpose()?;
        // An IPv6 literal needs brackets in host:port.
        let ns_address = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut config = ClientConfig::new(email, password, &ns_address);
        // Empty: learnt from the notification connection's own address.
        config.local_ip = local_ip.unwrap_or_default().to_string();
        config.seed = seed;
        config.lock_mode = lock_mode;
        if let Some(limit) = challenge_timeout {
            config.challenge_timeout = limit;
        }
        // Passport dialects are offered by default only with a nexus to sign in through.
        let mut default: Vec<Dialect> = Dialect::IMPLEMENTED
            .into_iter()
            .filter(|d| nexus.is_some() || d.auth() != Auth::Twn)
            .collect();
        default.sort_unstable_by(|a, b| b.cmp(a));
        if protocols.is_none() && default.is_empty() {
            let detail = "every dialect msgr speaks signs in with Passport: give nexus=".to_string();
            return Err(to_py_err(py, invalid(detail)));
        }
        config.dialects = dialects(py, protocols, default)?;
        config.nexus = nexus;
        let options = ClientOptions {
            trace_limit: trace_limit.unwrap_or(DEFAULT_TRACE_LIMIT),
            log_wire: super::logging::wire_wanted(py)?,
            nexus_ca,
            ..ClientOptions::default()
        };
        let client = py
            .detach(|| Client::with_options(config, &options))
            .map_err(|e| net_err(py, e))?;
        Ok(NetworkClient {
            client: Arc::new(client),
            timeout,
        })
    }

    /// Hands an exception to `sys.unraisablehook` (a callback's failure on the
    /// background dispatcher has no caller to propagate to).
    #[staticmethod]
    #[pyo3(signature = (exc, obj = None))]
    fn unraisable(py: Python<'_>, exc: Bound<'_, PyAny>, obj: Option<Bound<'_, PyAny>>) {
        PyErr::from_value(exc).write_unraisable(py, obj.as_ref());
    }

    /// The client's one Messenger.
    #[getter]
    fn messenger(&self) -> PyMessenger {
        PyMessenger::new(Driver::Tcp(self.client.clone()), MESSENGER, self.timeout)
    }

    /// Events, trace and clock.
    #[getter]
    fn journal(&self) -> PyJournal {
        PyJournal::new(Driver::Tcp(self.client.clone()))
    }

    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        !py.detach(|| self.client.is_open())
    }

    /// Signs out if signed in, closes the sockets and stops the client's threads.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.client.close());
    }
}
