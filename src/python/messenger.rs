//! `_core.Messenger`: one Windows Messenger, over the embedded hub or a TCP client. Every
//! API method is written once here, over [`Driver`]; Python calls never hold an engine
//! lock while Python code runs, and waits release the GIL.

use std::time::Duration;

use pyo3::prelude::*;

use super::convert::{
    contact_tuple, net_err, object_kind, registrations, session_info, Contact, IntoPyResult, Registration, SessionInfo,
};
use crate::client::{ClientEngine, ClientState, Waiting};
use crate::driver::Driver;
use crate::error::Result;
use crate::journal::MessengerId;
use crate::proto::Instant;

#[pyclass(frozen, name = "Messenger", module = "msgr._core")]
pub struct PyMessenger {
    driver: Driver,
    id: MessengerId,
    /// How long `sign_in` and `invite` wait for the network (TCP only).
    timeout: Duration,
}

impl PyMessenger {
    pub fn new(driver: Driver, id: MessengerId, timeout: Duration) -> Self {
        PyMessenger { driver, id, timeout }
    }

    // Engine locks are taken with the GIL released: a thread that holds one may need
    // the GIL (to log), so waiting for it while holding the GIL could deadlock.

    fn call<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut ClientEngine, Instant) -> Result<T> + Send,
    ) -> PyResult<T> {
        py.detach(|| self.driver.call(self.id, f)).py(py)
    }

    fn read<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&ClientEngine) -> Result<T> + Send) -> PyResult<T> {
        py.detach(|| self.driver.read(self.id, f)).py(py)
    }

    /// A call whose outcome the network decides: waits with the GIL released.
    fn call_and_wait(
        &self,
        py: Python<'_>,
        waiting: Waiting,
        f: impl FnOnce(&mut ClientEngine, Instant) -> Result<()> + Send,
    ) -> PyResult<()> {
        let timeout = self.timeout;
        py.detach(|| self.driver.call_and_wait(self.id, waiting, timeout, f))
            .map_err(|e| net_err(py, e))
    }
}

#[pymethods]
impl PyMessenger {
    /// The id events name this Messenger by.
    #[getter]
    fn id(&self) -> MessengerId {
        self.id
    }

    #[getter]
    fn sign_in_name(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |c| Ok(c.sign_in_name().to_string()))
    }

    #[pyo3(signature = (password = None))]
    fn sign_in(&self, py: Python<'_>, password: Option<&str>) -> PyResult<()> {
        self.call_and_wait(py, Waiting::SignIn, |c, now| c.sign_in_with(password, now))
    }

    fn sign_out(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |c, now| {
            c.sign_out(now);
            Ok(())
        })
    }

    /// "offline", "signing_in" or "signed_in".
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.read(py, |c| {
            Ok(match c.state() {
                ClientState::Offline => "offline",
                ClientState::SigningIn => "signing_in",
                ClientState::SignedIn => "signed_in",
            })
        })
    }

    #[getter]
    fn friendly_name(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.read(py, |c| Ok(c.friendly_name().map(str::to_string)))
    }

    /// The status the service last confirmed (`NLN`, `AWY`, … `HDN`), None offline.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.read(py, |c| Ok(c.status().map(str::to_string)))
    }

    #[getter]
    fn personal_message(&self, py: Python<'_>) -> PyResult<String> {
        self.read(py, |c| Ok(c.personal_message().to_string()))
    }

    /// Asks for a new status; `on_my_status_change` gives the answer.
    fn set_status(&self, py: Python<'_>, status: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_status(status))
    }

    fn set_friendly_name(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_friendly_name(name))
    }

    fn set_personal_message(&self, py: Python<'_>, text: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_personal_message(text))
    }

    /// (id, name) of each group, in list order.
    fn groups(&self, py: Python<'_>) -> PyResult<Vec<super::convert::Group>> {
        self.read(py, |c| Ok(c.groups().iter().map(super::convert::group_tuple).collect()))
    }

    fn add_group(&self, py: Python<'_>, name: &str) -> PyResult<()> {
        self.call(py, |c, _| c.add_group(name))
    }

    fn remove_group(&self, py: Python<'_>, group: &str) -> PyResult<()> {
        self.call(py, |c, _| c.remove_group(group))
    }

    fn rename_group(&self, py: Python<'_>, group: &str, name: &str) -> PyResult<()> {
        self.call(py, |c, _| c.rename_group(group, name))
    }

    fn add_contact_to_group(&self, py: Python<'_>, contact: &str, group: &str) -> PyResult<()> {
        self.call(py, |c, _| c.add_contact_to_group(contact, group))
    }

    fn remove_contact_from_group(&self, py: Python<'_>, contact: &str, group: &str) -> PyResult<()> {
        self.call(py, |c, _| c.remove_contact_from_group(contact, group))
    }

    // ---- IMsgrLock ----------------------------------------------------------------------

    fn create_lock_object(&self, py: Python<'_>, kind: &str) -> PyResult<u64> {
        let kind = object_kind(kind).py(py)?;
        self.call(py, |c, _| Ok(c.create_lock_object(kind)))
    }

    /// The Python object of a lock object or session is gone.
    fn release_object(&self, py: Python<'_>, obj: u64) -> PyResult<()> {
        self.call(py, |c, _| {
            c.release_object(obj);
            Ok(())
        })
    }

    /// (lock objects, sessions) the core holds for this Messenger.
    fn object_counts(&self, py: Python<'_>) -> PyResult<(usize, usize)> {
        self.read(py, |c| Ok(c.object_counts()))
    }

    /// The live state the core holds for this Messenger, as (name, count) pairs.
    fn counts(&self, py: Python<'_>) -> PyResult<Vec<(&'static str, usize)>> {
        self.read(py, |c| Ok(super::counts::client(&c.counts())))
    }

    fn lock_status(&self, py: Python<'_>, obj: u64) -> PyResult<u8> {
        Ok(self.read(py, |c| c.lock_status(obj))? as u8)
    }

    fn check_unlocked(&self, py: Python<'_>, obj: u64) -> PyResult<()> {
        self.read(py, |c| c.check_unlocked(obj))
    }

    fn request_challenge(&self, py: Python<'_>, obj: u64, cookie: i64) -> PyResult<()> {
        self.call(py, |c, now| c.request_challenge(obj, cookie, now))
    }

    fn send_response(&self, py: Python<'_>, obj: u64, app_id: &str, response: &str, cookie: i64) -> PyResult<()> {
        self.call(py, |c, now| c.send_response(obj, app_id, response, cookie, now))
    }

    // ---- IMsgrSessionManager ------------------------------------------------------------

    fn create_session(&self, py: Python<'_>, manager: u64) -> PyResult<u64> {
        self.call(py, |c, _| c.create_session(manager))
    }

    fn get_launching_session(&self, py: Python<'_>, manager: u64, pid: i64) -> PyResult<u64> {
        self.read(py, |c| c.get_launching_session(manager, pid))
    }

    #[allow(clippy::too_many_arguments)]
    fn register_application(
        &self,
        py: Python<'_>,
        manager: u64,
        guid: &str,
        name: &str,
        url: &str,
        path: &str,
        flags: i64,
    ) -> PyResult<()> {
        self.call(py, |c, _| c.register_application(manager, guid, name, url, path, flags))
    }

    fn unregister_application(&self, py: Python<'_>, manager: u64, guid: &str) -> PyResult<()> {
        self.call(py, |c, _| c.unregister_application(manager, guid))
    }

    fn applications(&self, py: Python<'_>, manager: u64) -> PyResult<()> {
        self.read(py, |c| c.applications(manager))
    }

    /// The machine's registrations: (guid, name, url, path).
    fn registered_applications(&self, py: Python<'_>) -> PyResult<Vec<Registration>> {
        self.read(py, |c| Ok(registrations(c)))
    }

    // ---- IMsgrSession -------------------------------------------------------------------

    fn session_info(&self, py: Python<'_>, obj: u64) -> PyResult<SessionInfo> {
        self.read(py, |c| session_info(c, obj))
    }

    fn session_state(&self, py: Python<'_>, obj: u64) -> PyResult<u8> {
        self.read(py, |c| c.session(obj).map(|s| s.state() as u8))
    }

    fn application_name(&self, py: Python<'_>, obj: u64) -> PyResult<String> {
        self.read(py, |c| c.application_name(obj))
    }

    fn application_url(&self, py: Python<'_>, obj: u64) -> PyResult<String> {
        self.read(py, |c| c.application_url(obj))
    }

    fn session_user(&self, py: Python<'_>, obj: u64) -> PyResult<Contact> {
        self.read(py, |c| c.session_user(obj).map(|u| contact_tuple(&u)))
    }

    fn remote_address(&self, py: Python<'_>, obj: u64) -> PyResult<Option<String>> {
        self.read(py, |c| c.remote_address(obj))
    }

    fn set_application(&self, py: Python<'_>, obj: u64, guid: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_application(obj, guid))
    }

    fn set_local_address(&self, py: Python<'_>, obj: u64, address: &str) -> PyResult<()> {
        self.call(py, |c, _| c.set_local_address(obj, address))
    }

    /// Returns once the invitation is on its way, or fails with why it could not be.
    #[pyo3(signature = (obj, peer, app_data = None))]
    fn invite(&self, py: Python<'_>, obj: u64, peer: &str, app_data: Option<&str>) -> PyResult<()> {
        self.call_and_wait(py, Waiting::Invite(obj), |c, now| c.invite(obj, peer, app_data, now))
    }

    /// Returns once the message is on a switchboard, or fails with why it could not be.
    fn send_text(&self, py: Python<'_>, peer: &str, text: &str) -> PyResult<()> {
        let id = self.call(py, |c, _| Ok(c.new_text_id()))?;
        self.call_and_wait(py, Waiting::Text(id), |c, now| c.send_text(id, peer, text, now))
    }

    #[pyo3(signature = (obj, app_data = None))]
    fn accept(&self, py: Python<'_>, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.call(py, |c, now| c.accept(obj, app_data, now))
    }

    #[pyo3(signature = (obj, app_data = None))]
    fn decline(&self, py: Python<'_>, obj: u64, app_data: Option<&str>) -> PyResult<()> {
        self.call(py, |c, now| c.decline(obj, app_data, now))
    }

    #[pyo3(signature = (obj, hr, app_data = None))]
    fn cancel(&self, py: Python<'_>, obj: u64, hr: i64, app_data: Option<&str>) -> PyResult<()> {
        self.call(py, |c, now| c.cancel(obj, hr, app_data, now))
    }

    fn send_context_data(&self, py: Python<'_>, obj: u64, data: &str) -> PyResult<()> {
        self.call(py, |c, now| c.send_context_data(obj, data, now))
    }

    #[pyo3(signature = (obj, launch, pid = None))]
    fn launch_decided(&self, py: Python<'_>, obj: u64, launch: bool, pid: Option<u32>) -> PyResult<()> {
        self.call(py, |c, _| c.launch_decided(obj, launch, pid))
    }

    // ---- IMessengerPrivate --------------------------------------------------------------

    #[pyo3(signature = (obj, sign_in_name))]
    fn add_contact(&self, py: Python<'_>, obj: u64, sign_in_name: Option<&str>) -> PyResult<()> {
        self.call(py, |c, _| c.add_contact(obj, sign_in_name))
    }

    /// The HRESULT of EnableAlertEvents: S_OK, or S_FALSE while locked.
    fn enable_alert_events(&self, py: Python<'_>, obj: u64, site_ids: Vec<i64>) -> PyResult<u32> {
        self.call(py, |c, _| c.enable_alert_events(obj, &site_ids).map(|hr| hr.code()))
    }

    fn alert_sites(&self, py: Python<'_>, obj: u64) -> PyResult<Vec<i32>> {
        self.read(py, |c| Ok(c.alert_sites(obj)))
    }

    fn contact(&self, py: Python<'_>, sign_in_name: &str) -> PyResult<Contact> {
        self.read(py, |c| Ok(contact_tuple(&c.contact(sign_in_name))))
    }

    fn forward_list(&self, py: Python<'_>) -> PyResult<Vec<Contact>> {
        self.read(py, |c| Ok(c.forward_list().iter().map(contact_tuple).collect()))
    }
}
