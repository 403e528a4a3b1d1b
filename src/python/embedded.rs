//! `_core.EmbeddedService`: the embedded hub behind a mutex. Python calls never hold
//! the mutex while running Python code, so callbacks may call straight back in.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::convert::{event, to_py_err, trace_entry, IntoPyResult};
use crate::client::{ClientState, ObjectKind};
use crate::embedded::{Embedded, MessengerId};
use crate::error::Error;
use crate::hresult::HResult;
use crate::service::{LockAndKey, ServiceConfig};

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

fn invalid(detail: String) -> Error {
    Error::api(HResult::E_INVALIDARG, detail)
}

fn object_kind(kind: &str) -> Result<ObjectKind, Error> {
    match kind {
        "session_manager" => Ok(ObjectKind::SessionManager),
        "messenger_priv" => Ok(ObjectKind::MessengerPriv),
        other => Err(invalid(format!("unknown object kind {other:?}"))),
    }
}

#[pymethods]
impl EmbeddedService {
    #[new]
    #[pyo3(signature = (lock_and_key = "enabled", seed = None))]
    fn new(py: Python<'_>, lock_and_key: &str, seed: Option<u64>) -> PyResult<Self> {
        let mode = LockAndKey::parse(lock_and_key).ok_or_else(|| {
            to_py_err(
                py,
                invalid(format!(
                    "lock_and_key must be 'enabled', 'disabled' or 'off', not {lock_and_key:?}"
                )),
            )
        })?;
        let mut config = ServiceConfig::new();
        config.lock_and_key = mode;
        config.seed = seed;
        Ok(EmbeddedService {
            inner: Mutex::new(Embedded::new(config)),
        })
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
    fn sign_in(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        password: Option<&str>,
    ) -> PyResult<()> {
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

    fn create_lock_object(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        kind: &str,
    ) -> PyResult<u64> {
        let kind = object_kind(kind).py(py)?;
        self.lock().create_lock_object(messenger, kind).py(py)
    }

    fn lock_status(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<u8> {
        Ok(self.lock().lock_status(messenger, obj).py(py)? as u8)
    }

    fn check_unlocked(&self, py: Python<'_>, messenger: MessengerId, obj: u64) -> PyResult<()> {
        self.lock()
            .client(messenger)
            .and_then(|c| c.check_unlocked(obj))
            .py(py)
    }

    fn request_challenge(
        &self,
        py: Python<'_>,
        messenger: MessengerId,
        obj: u64,
        cookie: i64,
    ) -> PyResult<()> {
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

    /// Moves the virtual clock by `seconds` (finite, not negative).
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let by = Duration::try_from_secs_f64(seconds).map_err(|_| {
            to_py_err(
                py,
                invalid(format!(
                    "seconds must be finite and not negative, not {seconds}"
                )),
            )
        })?;
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
    fn trace_slice<'py>(
        &self,
        py: Python<'py>,
        start: usize,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let w = self.lock();
        let entries = w.trace().get(start..).unwrap_or_default();
        entries.iter().map(|e| trace_entry(py, e)).collect()
    }

    fn clear_trace(&self) {
        self.lock().clear_trace();
    }
}
