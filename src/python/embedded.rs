//! `_core.EmbeddedService`: the embedded hub behind a mutex. Python calls never hold
//! the mutex while running Python code, so callbacks may call straight back in.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::{contact_tuple, event, trace_entry, IntoPyResult};
use super::shared;
use crate::client::ClientState;
use crate::embedded::{Embedded, MessengerId};
use crate::service::ServiceConfig;

#[pyclass(frozen, module = "msgr._core")]
pub struct EmbeddedService {
    inner: Mutex<Embedded>,
}

impl EmbeddedService {
    fn lock(&self) -> MutexGuard<'_, Embedded> {
        // A panic while holding the lock cannot leave the hub half-updated in a way we
        // could repair; continuing with the data as it is beats poisoning every call.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[pymethods]
impl EmbeddedService {
    #[new]
    #[pyo3(signature = (lock_and_key = "enabled", seed = None, db = None))]
    fn new(py: Python<'_>, lock_and_key: &str, seed: Option<u64>, db: Option<std::path::PathBuf>) -> PyResult<Self> {
        let mode = shared::lock_and_key(py, lock_and_key)?;
        let mut config = ServiceConfig::new();
        config.lock_and_key = mode;
        config.seed = seed;
        let mut hub = Embedded::new(config);
        if let Some(path) = db {
            hub.service_mut().attach_store(&path).py(py)?;
        }
        Ok(EmbeddedService { inner: Mutex::new(hub) })
    }

    #[getter]
    fn lock_and_key(&self) -> &'static str {
        self.lock().service().config().lock_and_key.as_str()
    }

    fn license(&self, py: Python<'_>, app_id: &str, key: &str) -> PyResult<()> {
        self.lock().service_mut().license(app_id, key).py(py)
    }

    #[pyo3(signature = (sign_in_name, password, friendly_name = None))]
    fn add_user(
        &self,
        py: Python<'_>,
        sign_in_name: &str,
        password: &str,
        friendly_name: Option<&str>,
    ) -> PyResult<()> {
        self.lock()
            .service_mut()
            .add_user(sign_in_name, password, friendly_name)
            .py(py)
    }

    /// The stored password of an account, or None: the embedded service is a test
    /// double, and this lets `Service.sign_in(email)` work without repeating it.
    fn account_password(&self, sign_in_name: &str) -> Option<String> {
        self.lock()
            .service()
            .directory()
            .account(sign_in_name)
            .map(|a| a.password.clone())
    }

    fn accounts(&self) -> Vec<(String, String)> {
        self.lock()
            .service()
            .directory()
            .accounts()
            .map(|a| (a.sign_in_name.clone(), a.friendly_name.clone()))
            .collect()
    }

    fn licensed_app_ids(&self) -> Vec<String> {
        self.lock()
            .service()
            .directory()
            .licensed_app_ids()
            .map(str::to_string)
            .collect()
    }

    fn is_online(&self, sign_in_name: &str) -> bool {
        self.lock().service().is_online(sign_in_name)
    }

    fn add_messenger(&self, sign_in_name: &str, password: &str) -> MessengerId {
        self.lock().add_messenger(sign_in_name, password)
    }

    #[pyo3(signature = (messenger, password = None))]
    fn sign_in(&self, py: Python<'_>, messenger: MessengerId, password: Option<&str>) -> PyResult<()> {
        self.lock().sign_in(messenger, password).py(py)
    }

    fn sign_out(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<()> {
        self.lock().sign_out(messenger).py(py)
    }

    fn messenger_state(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<&'static str> {
        let w = self.lock();
        let state = w.client(messenger).py(py)?.state();
        Ok(match state {
            ClientState::Offline => "offline",
            ClientState::SigningIn => "signing_in",
            ClientState::SignedIn => "signed_in",
        })
    }

    fn friendly_name(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<Option<String>> {
        Ok(self
            .lock()
            .client(messenger)
            .py(py)?
            .friendly_name()
            .map(str::to_string))
    }

    fn create_lock_object(&self, py: Python<'_>, messenger: MessengerId, kind: &str) -> PyResult<u64> {
        let kind = shared::object_kind(kind).py(py)?;
        self.lock().create_lock_object(messenger, kind).py(py)
    }

    /// The Python object of a lock object or session is gone.
    fn release_object(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| {
                c.release_object(obj);
                Ok(())
            })
            .py(py)
    }

    /// (lock objects, sessions) the core holds for a Messenger.
    fn object_counts(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<(usize, usize)> {
        self.lock().client(messenger).map(|c| c.object_counts()).py(py)
    }

    fn lock_status(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<u8> {
        Ok(self.lock().lock_status(messenger, obj).py(py)? as u8)
    }

    fn check_unlocked(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<()> {
        self.lock().client(messenger).and_then(|c| c.check_unlocked(obj)).py(py)
    }

    fn request_challenge(&self, py: Python<'_>, messenger: MessengerId, obj: u64, cookie: i64) -> PyResult<()> {
        self.lock().request_challenge(messenger, obj, cookie).py(py)
    }

    fn send_response(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        app_id: &str,
        response: &str,
        cookie: i64,
    ) -> PyResult<()> {
        self.lock()
            .send_response(messenger, obj, app_id, response, cookie)
            .py(py)
    }

    // ---- IMsgrSessionManager ----------------------------------------------------------

    fn create_session(&self, py: Python<'_>, messenger: MessengerId, manager: u64) -> PyResult<u64> {
        self.lock().call(messenger, |c, _| c.create_session(manager)).py(py)
    }

    fn get_launching_session(&self, py: Python<'_>, messenger: MessengerId, manager: u64, pid: i64) -> PyResult<u64> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.get_launching_session(manager, pid))
            .py(py)
    }

    #[allow(clippy::too_many_arguments)]
    fn register_application(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        manager: u64,
        guid: &str,
        name: &str,
        url: &str,
        path: &str,
        flags: i64,
    ) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| {
                c.register_application(manager, guid, name, url, path, flags)
            })
            .py(py)
    }

    fn unregister_application(&self, py: Python<'_>, messenger: MessengerId, manager: u64, guid: &str) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| c.unregister_application(manager, guid))
            .py(py)
    }

    fn applications(&self, py: Python<'_>, messenger: MessengerId, manager: u64) -> PyResult<()> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.applications(manager))
            .py(py)
    }

    /// The machine's registrations: (guid, name, url, path).
    fn registered_applications(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<Vec<shared::Registration>> {
        self.lock().client(messenger).map(shared::registrations).py(py)
    }

    // ---- IMsgrSession -------------------------------------------------------------------

    fn session_info(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<shared::SessionInfo> {
        self.lock()
            .client(messenger)
            .and_then(|c| shared::session_info(c, obj))
            .py(py)
    }

    fn session_state(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<u8> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.session(obj).map(|s| s.state() as u8))
            .py(py)
    }

    fn application_name(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<String> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.application_name(obj))
            .py(py)
    }

    fn application_url(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<String> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.application_url(obj))
            .py(py)
    }

    fn session_user(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
    ) -> PyResult<(String, Option<String>, String)> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.session_user(obj))
            .map(|c| contact_tuple(&c))
            .py(py)
    }

    // ---- IMessengerPrivate --------------------------------------------------------------

    #[pyo3(signature = (messenger, obj, sign_in_name))]
    fn add_contact(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        sign_in_name: Option<&str>,
    ) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| c.add_contact(obj, sign_in_name))
            .py(py)
    }

    /// The HRESULT of EnableAlertEvents: S_OK, or S_FALSE while locked.
    fn enable_alert_events(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        site_ids: Vec<i64>,
    ) -> PyResult<u32> {
        self.lock()
            .call(messenger, |c, _| c.enable_alert_events(obj, &site_ids))
            .map(|hr| hr.code())
            .py(py)
    }

    fn alert_sites(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<Vec<i32>> {
        self.lock().client(messenger).map(|c| c.alert_sites(obj)).py(py)
    }

    fn contact(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        sign_in_name: &str,
    ) -> PyResult<(String, Option<String>, String)> {
        self.lock()
            .client(messenger)
            .map(|c| contact_tuple(&c.contact(sign_in_name)))
            .py(py)
    }

    fn forward_list(&self, py: Python<'_>, messenger: MessengerId) -> PyResult<Vec<(String, Option<String>, String)>> {
        self.lock()
            .client(messenger)
            .map(|c| c.forward_list().iter().map(contact_tuple).collect())
            .py(py)
    }

    // ---- the service's own operations ---------------------------------------------------

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
        let mut w = self.lock();
        let sent = w.service_mut().send_alert(sign_in_name, &alert).py(py)?;
        w.settle();
        Ok(sent)
    }

    /// The service's contact list of a user (list is FL, AL, BL or RL).
    fn service_list(&self, sign_in_name: &str, list: &str) -> Vec<String> {
        self.lock()
            .service()
            .directory()
            .list(sign_in_name, list)
            .into_iter()
            .map(|a| a.sign_in_name.clone())
            .collect()
    }

    fn remote_address(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<Option<String>> {
        self.lock().client(messenger).and_then(|c| c.remote_address(obj)).py(py)
    }

    fn set_application(&self, py: Python<'_>, messenger: MessengerId, obj: u64, guid: &str) -> PyResult<()> {
        self.lock().call(messenger, |c, _| c.set_application(obj, guid)).py(py)
    }

    fn set_local_address(&self, py: Python<'_>, messenger: MessengerId, obj: u64, address: &str) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| c.set_local_address(obj, address))
            .py(py)
    }

    #[pyo3(signature = (messenger, obj, peer, app_data = None))]
    fn invite(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        peer: &str,
        app_data: Option<&str>,
    ) -> PyResult<()> {
        self.lock().invite(messenger, obj, peer, app_data).py(py)
    }

    #[pyo3(signature = (messenger, obj, app_data = None))]
    fn accept(&self, py: Python<'_>, messenger: MessengerId, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, now| c.accept(obj, app_data, now))
            .py(py)
    }

    #[pyo3(signature = (messenger, obj, app_data = None))]
    fn decline(&self, py: Python<'_>, messenger: MessengerId, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, now| c.decline(obj, app_data, now))
            .py(py)
    }

    #[pyo3(signature = (messenger, obj, hr, app_data = None))]
    fn cancel(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        hr: i64,
        app_data: Option<&str>,
    ) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, now| c.cancel(obj, hr, app_data, now))
            .py(py)
    }

    fn send_context_data(&self, py: Python<'_>, messenger: MessengerId, obj: u64, data: &str) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, now| c.send_context_data(obj, data, now))
            .py(py)
    }

    #[pyo3(signature = (messenger, obj, launch, pid = None))]
    fn launch_decided(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        launch: bool,
        pid: Option<u32>,
    ) -> PyResult<()> {
        self.lock()
            .call(messenger, |c, _| c.launch_decided(obj, launch, pid))
            .py(py)
    }

    /// Moves the virtual clock by `seconds` (finite, not negative).
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let by = shared::seconds(py, "seconds", seconds)?;
        self.lock().advance(by);
        Ok(())
    }

    #[getter]
    fn now(&self) -> f64 {
        self.lock().now().as_secs_f64()
    }

    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let events = self.lock().take_events();
        events.iter().map(|(m, e)| event(py, *m, e)).collect()
    }

    fn trace_len(&self) -> usize {
        self.lock().trace().len()
    }

    #[pyo3(signature = (start = 0))]
    fn trace_slice<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let w = self.lock();
        let entries = w.trace().get(start..).unwrap_or_default();
        entries.iter().map(|e| trace_entry(py, e)).collect()
    }

    fn clear_trace(&self) {
        self.lock().clear_trace();
    }
}
