//! `_core.Server` and `_core.NetworkClient`: the TCP transport for Python.
//!
//! `NetworkClient` answers the same Messenger-level calls, with the same names and
//! argument order, as `_core.EmbeddedService`, so python/msgr's objects work over either.
//! Those calls take a messenger id first; a network client has one Messenger (id 1), so
//! the id is accepted and ignored. Every wait happens with the GIL released, and no
//! Rust lock is held while Python code runs.

use std::time::Duration;

use pyo3::exceptions::PyTimeoutError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::{contact_tuple, event, to_py_err, trace_entry, IntoPyResult};
use super::shared;
use crate::client::{ClientConfig, ClientEngine, ClientState};
use crate::embedded::MessengerId;
use crate::error::Result;
use crate::net::{Client, NetError, Server as NetServer};
use crate::proto::Instant;
use crate::service::ServiceConfig;

/// The only Messenger of a network client.
const MESSENGER: MessengerId = 1;

fn net_err(py: Python<'_>, e: NetError) -> PyErr {
    match e {
        NetError::Core(e) => to_py_err(py, e),
        NetError::Timeout(..) => PyTimeoutError::new_err(e.to_string()),
        // pyo3 maps the error kind: ConnectionRefusedError, AddrInUse as OSError, ...
        NetError::Io(io) => PyErr::from(io),
    }
}

// ---- Server --------------------------------------------------------------------------

#[pyclass(frozen, name = "Server", module = "msgr._core")]
pub struct PyServer {
    server: NetServer,
}

#[pymethods]
impl PyServer {
    #[new]
    #[pyo3(signature = (host, port, lock_and_key = "enabled", seed = None, db = None, advertise = None))]
    fn new(
        py: Python<'_>,
        host: &str,
        port: u16,
        lock_and_key: &str,
        seed: Option<u64>,
        db: Option<std::path::PathBuf>,
        advertise: Option<String>,
    ) -> PyResult<Self> {
        let mut config = ServiceConfig::new();
        config.lock_and_key = shared::lock_and_key(py, lock_and_key)?;
        config.seed = seed;
        if let Some(host) = &advertise {
            if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(to_py_err(
                    py,
                    shared::invalid(format!("advertise must be a host name or address, not {host:?}")),
                ));
            }
        }
        config.advertise_host = advertise;
        let server = py
            .detach(|| NetServer::bind((host, port), config))
            .map_err(|e| net_err(py, e))?;
        if let Some(path) = db {
            let attached = server.with_engine(|e| e.attach_store(&path));
            if let Err(e) = attached {
                py.detach(|| server.shutdown());
                return Err(to_py_err(py, e));
            }
        }
        Ok(PyServer { server })
    }

    /// The bound (host, port).
    #[getter]
    fn address(&self) -> (String, u16) {
        let a = self.server.local_addr();
        (a.ip().to_string(), a.port())
    }

    #[getter]
    fn running(&self) -> bool {
        self.server.is_running()
    }

    #[getter]
    fn lock_and_key(&self) -> &'static str {
        self.server.with_engine(|e| e.config().lock_and_key.as_str())
    }

    fn license(&self, py: Python<'_>, app_id: &str, key: &str) -> PyResult<()> {
        self.server.with_engine(|e| e.license(app_id, key)).py(py)
    }

    #[pyo3(signature = (sign_in_name, password, friendly_name = None))]
    fn add_user(
        &self,
        py: Python<'_>,
        sign_in_name: &str,
        password: &str,
        friendly_name: Option<&str>,
    ) -> PyResult<()> {
        self.server
            .with_engine(|e| e.add_user(sign_in_name, password, friendly_name))
            .py(py)
    }

    fn account_password(&self, sign_in_name: &str) -> Option<String> {
        self.server
            .with_engine(|e| e.directory().account(sign_in_name).map(|a| a.password.clone()))
    }

    fn accounts(&self) -> Vec<(String, String)> {
        self.server.with_engine(|e| {
            e.directory()
                .accounts()
                .map(|a| (a.sign_in_name.clone(), a.friendly_name.clone()))
                .collect()
        })
    }

    fn licensed_app_ids(&self) -> Vec<String> {
        self.server
            .with_engine(|e| e.directory().licensed_app_ids().map(str::to_string).collect())
    }

    fn is_online(&self, sign_in_name: &str) -> bool {
        self.server.with_engine(|e| e.is_online(sign_in_name))
    }

    /// Pushes an MSN Alert; False if the user is not signed in.
    #[pyo3(signature = (sign_in_name, site_id, text, site_url = "", action_url = "", subscribe_url = ""))]
    #[allow(clippy::too_many_arguments)]
    fn send_alert(
        &self,
        py: Python<'_>,
        sign_in_name: &str,
        site_id: i32,
        text: &str,
        site_url: &str,
        action_url: &str,
        subscribe_url: &str,
    ) -> PyResult<bool> {
        let alert = shared::alert(site_id, text, site_url, action_url, subscribe_url);
        self.server.with_engine(|e| e.send_alert(sign_in_name, &alert)).py(py)
    }

    /// Closes every connection and stops serving. Idempotent.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.server.shutdown());
    }
}

// ---- NetworkClient -------------------------------------------------------------------

#[pyclass(frozen, module = "msgr._core")]
pub struct NetworkClient {
    client: Client,
    /// How long `sign_in` and `invite` wait for the network.
    timeout: Duration,
}

impl NetworkClient {
    fn call<T>(&self, py: Python<'_>, f: impl FnOnce(&mut ClientEngine, Instant) -> Result<T>) -> PyResult<T> {
        // The result is converted after the client's lock is released.
        self.client.call(f).py(py)
    }

    fn read<T>(&self, py: Python<'_>, f: impl FnOnce(&ClientEngine) -> Result<T>) -> PyResult<T> {
        self.client.read(f).py(py)
    }
}

#[pymethods]
impl NetworkClient {
    #[new]
    #[pyo3(signature = (host, port, email, password, seed = None, timeout = 10.0, local_ip = None))]
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
    ) -> PyResult<Self> {
        let timeout = shared::seconds(py, "timeout", timeout)?;
        // An IPv6 literal needs brackets in host:port.
        let ns_address = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let config = ClientConfig {
            sign_in_name: email.to_string(),
            password: password.to_string(),
            ns_address,
            // Empty: learnt from the notification connection's own address.
            local_ip: local_ip.unwrap_or_default().to_string(),
            seed,
            dialects: crate::proto::Dialect::IMPLEMENTED.to_vec(),
        };
        let client = Client::new(config).map_err(|e| net_err(py, e))?;
        Ok(NetworkClient { client, timeout })
    }

    /// Hands an exception to `sys.unraisablehook` (a callback's failure on the
    /// background dispatcher has no caller to propagate to).
    #[staticmethod]
    #[pyo3(signature = (exc, obj = None))]
    fn unraisable(py: Python<'_>, exc: Bound<'_, PyAny>, obj: Option<Bound<'_, PyAny>>) {
        PyErr::from_value(exc).write_unraisable(py, obj.as_ref());
    }

    /// The Messenger's id, for the code shared with the embedded service.
    fn add_messenger(&self, py: Python<'_>, sign_in_name: &str, _password: &str) -> PyResult<MessengerId> {
        let mine = self
            .client
            .read(|c| c.sign_in_name().eq_ignore_ascii_case(sign_in_name));
        if !mine {
            let detail = format!("a network client is one Messenger, and {sign_in_name} is not it");
            return Err(to_py_err(py, shared::invalid(detail)));
        }
        Ok(MESSENGER)
    }

    #[getter]
    fn closed(&self) -> bool {
        !self.client.is_open()
    }

    #[getter]
    fn now(&self) -> f64 {
        self.client.now().as_secs_f64()
    }

    #[pyo3(signature = (_messenger, password = None))]
    fn sign_in(&self, py: Python<'_>, _messenger: MessengerId, password: Option<&str>) -> PyResult<()> {
        let timeout = self.timeout;
        py.detach(|| self.client.sign_in(password, timeout))
            .map_err(|e| net_err(py, e))
    }

    fn sign_out(&self, _messenger: MessengerId) {
        self.client.sign_out();
    }

    fn messenger_state(&self, _messenger: MessengerId) -> &'static str {
        match self.client.read(ClientEngine::state) {
            ClientState::Offline => "offline",
            ClientState::SigningIn => "signing_in",
            ClientState::SignedIn => "signed_in",
        }
    }

    fn friendly_name(&self, _messenger: MessengerId) -> Option<String> {
        self.client.read(|c| c.friendly_name().map(str::to_string))
    }

    // ---- IMsgrLock ----------------------------------------------------------------------

    fn create_lock_object(&self, py: Python<'_>, _messenger: MessengerId, kind: &str) -> PyResult<u64> {
        let kind = shared::object_kind(kind).py(py)?;
        self.call(py, |c, _| Ok(c.create_lock_object(kind)))
    }

    /// The Python object of a lock object or session is gone.
    fn release_object(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<()> {
        self.call(py, |c, _| {
            c.release_object(obj);
            Ok(())
        })
    }

    /// (lock objects, sessions) the core holds.
    fn object_counts(&self, py: Python<'_>, _messenger: MessengerId) -> PyResult<(usize, usize)> {
        self.read(py, |c| Ok(c.object_counts()))
    }

    fn lock_status(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<u8> {
        Ok(self.read(py, |c| c.lock_status(obj))? as u8)
    }

    fn check_unlocked(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<()> {
        self.read(py, |c| c.check_unlocked(obj))
    }

    fn request_challenge(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, cookie: i64) -> PyResult<()> {
        self.call(py, |c, now| c.request_challenge(obj, cookie, now))
    }

    fn send_response(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        app_id: &str,
        response: &str,
        cookie: i64,
    ) -> PyResult<()> {
        self.call(py, |c, now| c.send_response(obj, app_id, response, cookie, now))
    }

    // ---- IMsgrSessionManager ------------------------------------------------------------

    fn create_session(&self, py: Python<'_>, _messenger: MessengerId, manager: u64) -> PyResult<u64> {
        self.call(py, |c, _| c.create_session(manager))
    }

    fn get_launching_session(&self, py: Python<'_>, _messenger: MessengerId, manager: u64, pid: i64) -> PyResult<u64> {
        self.read(py, |c| c.get_launching_session(manager, pid))
    }

    #[allow(clippy::too_many_arguments)]
    fn register_application(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        manager: u64,
        guid: &str,
        name: &str,
        url: &str,
        path: &str,
        flags: i64,
    ) -> PyResult<()> {
        self.call(py, |c, _| c.register_application(manager, guid, name, url, path, flags))
    }

    fn unregister_application(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        manager: u64,
        guid: &str,
    ) -> PyResult<()> {
        self.call(py, |c, _| c.unregister_application(manager, guid))
    }

    fn applications(&self, py: Python<'_>, _messenger: MessengerId, manager: u64) -> PyResult<()> {
        self.read(py, |c| c.applications(manager))
    }

    /// The machine's registrations: (guid, name, url, path).
    fn registered_applications(&self, _messenger: MessengerId) -> Vec<shared::Registration> {
        self.client.read(shared::registrations)
    }

    // ---- IMsgrSession -------------------------------------------------------------------

    /// As `EmbeddedService.session_info`.
    fn session_info(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<shared::SessionInfo> {
        self.read(py, |c| shared::session_info(c, obj))
    }

    fn session_state(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<u8> {
        self.read(py, |c| c.session(obj).map(|s| s.state() as u8))
    }

    fn application_name(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<String> {
        self.read(py, |c| c.application_name(obj))
    }

    fn application_url(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<String> {
        self.read(py, |c| c.application_url(obj))
    }

    fn session_user(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
    ) -> PyResult<(String, Option<String>, String)> {
        self.read(py, |c| c.session_user(obj).map(|u| contact_tuple(&u)))
    }

    fn remote_address(&self, py: Python<'_>, _messenger: MessengerId, obj: u64) -> PyResult<Option<String>> {
        self.read(py, |c| c.remote_address(obj))
    }

    fn set_application(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, guid: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_application(obj, guid))
    }

    fn set_local_address(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, address: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_local_address(obj, address))
    }

    /// Blocks (GIL released) until the invitation is on its way or refused.
    #[pyo3(signature = (_messenger, obj, peer, app_data = None))]
    fn invite(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        peer: &str,
        app_data: Option<&str>,
    ) -> PyResult<()> {
        let timeout = self.timeout;
        py.detach(|| self.client.invite(obj, peer, app_data, timeout))
            .map_err(|e| net_err(py, e))
    }

    #[pyo3(signature = (_messenger, obj, app_data = None))]
    fn accept(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.call(py, |c, now| c.accept(obj, app_data, now))
    }

    #[pyo3(signature = (_messenger, obj, app_data = None))]
    fn decline(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.call(py, |c, now| c.decline(obj, app_data, now))
    }

    #[pyo3(signature = (_messenger, obj, hr, app_data = None))]
    fn cancel(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        hr: i64,
        app_data: Option<&str>,
    ) -> PyResult<()> {
        self.call(py, |c, now| c.cancel(obj, hr, app_data, now))
    }

    fn send_context_data(&self, py: Python<'_>, _messenger: MessengerId, obj: u64, data: &str) -> PyResult<()> {
        self.call(py, |c, now| c.send_context_data(obj, data, now))
    }

    #[pyo3(signature = (_messenger, obj, launch, pid = None))]
    fn launch_decided(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        launch: bool,
        pid: Option<u32>,
    ) -> PyResult<()> {
        self.call(py, |c, _| c.launch_decided(obj, launch, pid))
    }

    // ---- IMessengerPrivate --------------------------------------------------------------

    #[pyo3(signature = (_messenger, obj, sign_in_name))]
    fn add_contact(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        sign_in_name: Option<&str>,
    ) -> PyResult<()> {
        self.call(py, |c, _| c.add_contact(obj, sign_in_name))
    }

    /// The HRESULT of EnableAlertEvents: S_OK, or S_FALSE while locked.
    fn enable_alert_events(
        &self,
        py: Python<'_>,
        _messenger: MessengerId,
        obj: u64,
        site_ids: Vec<i64>,
    ) -> PyResult<u32> {
        self.call(py, |c, _| c.enable_alert_events(obj, &site_ids).map(|hr| hr.code()))
    }

    fn alert_sites(&self, _messenger: MessengerId, obj: u64) -> Vec<i32> {
        self.client.read(|c| c.alert_sites(obj))
    }

    fn contact(&self, _messenger: MessengerId, sign_in_name: &str) -> (String, Option<String>, String) {
        self.client.read(|c| contact_tuple(&c.contact(sign_in_name)))
    }

    fn forward_list(&self, _messenger: MessengerId) -> Vec<(String, Option<String>, String)> {
        self.client
            .read(|c| c.forward_list().iter().map(contact_tuple).collect())
    }

    // ---- events, trace, lifetime --------------------------------------------------------

    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let events = self.client.take_events();
        events.iter().map(|e| event(py, MESSENGER, e)).collect()
    }

    /// Blocks (GIL released) until events are queued: True, or False after `timeout`
    /// seconds or once the client is closed.
    fn wait_events(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = shared::seconds(py, "timeout", timeout)?;
        Ok(py.detach(|| self.client.wait_events(timeout)))
    }

    fn trace_len(&self) -> usize {
        self.client.trace_len()
    }

    #[pyo3(signature = (start = 0))]
    fn trace_slice<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let entries = self.client.trace_from(start);
        entries.iter().map(|e| trace_entry(py, e)).collect()
    }

    fn clear_trace(&self) {
        self.client.clear_trace();
    }

    /// Signs out if signed in, closes the sockets and stops the client's threads.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.client.close());
    }
}
