//! `_core.ServiceCore`: the service's own operations (accounts, licences, alerts, lists),
//! written once over [`ServiceDriver`] for the embedded service and the TCP server.

use pyo3::prelude::*;

use super::convert::{alert, IntoPyResult};
use crate::driver::ServiceDriver;
use crate::error::Result;
use crate::net::hasher::make_secrets;
use crate::service::{NewUser, ServiceEngine};

#[pyclass(frozen, name = "ServiceCore", module = "msgr._core")]
pub struct PyServiceCore {
    driver: ServiceDriver,
}

impl PyServiceCore {
    pub fn new(driver: ServiceDriver) -> Self {
        PyServiceCore { driver }
    }

    /// The engine's lock is taken with the GIL released (see `PyMessenger::call`).
    fn with_engine<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut ServiceEngine) -> T + Send) -> T {
        py.detach(|| self.driver.with_engine(f))
    }

    fn admin<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut ServiceEngine) -> Result<T> + Send) -> Result<T> {
        py.detach(|| self.driver.admin(f))
    }
}

#[pymethods]
impl PyServiceCore {
    #[getter]
    fn lock_and_key(&self, py: Python<'_>) -> &'static str {
        self.with_engine(py, |e| e.config().lock_and_key.as_str())
    }

    fn license(&self, py: Python<'_>, app_id: &str, key: &str) -> PyResult<()> {
        self.admin(py, |e| e.license(app_id, key)).py(py)
    }

    /// Creates (or with `exist_ok` updates) accounts: checked first, then their
    /// passwords hashed side by side outside the engine's lock, then written together.
    #[pyo3(signature = (users, exist_ok = false))]
    fn add_users(&self, py: Python<'_>, users: Vec<(String, String, Option<String>)>, exist_ok: bool) -> PyResult<()> {
        let users: Vec<NewUser<'_>> = users
            .iter()
            .map(|(sign_in_name, password, friendly_name)| NewUser {
                sign_in_name,
                password,
                friendly_name: friendly_name.as_deref(),
            })
            .collect();
        py.detach(|| {
            let jobs = self.driver.with_engine(|e| e.plan_users(&users, exist_ok))?;
            let secrets = make_secrets(jobs);
            self.driver.admin(|e| e.put_users(&users, secrets, exist_ok))
        })
        .py(py)
    }

    /// The stored password of an account, or None: the embedded service is a test
    /// double, and this lets `Service.sign_in(email)` work without repeating it.
    fn account_password(&self, py: Python<'_>, sign_in_name: &str) -> Option<String> {
        self.with_engine(py, |e| {
            e.directory()
                .account(sign_in_name)
                .and_then(|a| a.password.plain().map(str::to_string))
        })
    }

    fn accounts(&self, py: Python<'_>) -> Vec<(String, String)> {
        self.with_engine(py, |e| {
            e.directory()
                .accounts()
                .map(|a| (a.sign_in_name.clone(), a.friendly_name.clone()))
                .collect()
        })
    }

    fn licensed_app_ids(&self, py: Python<'_>) -> Vec<String> {
        self.with_engine(py, |e| e.directory().licensed_app_ids().map(str::to_string).collect())
    }

    /// The live state the service holds, as (name, count) pairs: the engine's, and the
    /// transport's own connections (hub links or sockets).
    fn counts(&self, py: Python<'_>) -> Vec<(&'static str, usize)> {
        py.detach(|| super::counts::service(&self.driver.counts(), self.driver.transport_connections()))
    }

    fn is_online(&self, py: Python<'_>, sign_in_name: &str) -> bool {
        self.with_engine(py, |e| e.is_online(sign_in_name))
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
        let alert = alert(site_id, text, site_url, action_url, subscribe_url);
        self.with_engine(py, |e| e.send_alert(sign_in_name, &alert)).py(py)
    }

    /// The service's copy of a user's list (FL, AL, BL or RL).
    fn contact_list(&self, py: Python<'_>, sign_in_name: &str, list: &str) -> Vec<String> {
        self.with_engine(py, |e| {
            e.directory()
                .list(sign_in_name, list)
                .into_iter()
                .map(|a| a.sign_in_name.clone())
                .collect()
        })
    }
}
