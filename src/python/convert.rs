//! Core values to Python values, and core errors to the typed exceptions of msgr.errors.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::client::{ClientEvent, ContactInfo, ObjId};
use crate::embedded::{MessengerId, TraceEntry};
use crate::error::Error;
use crate::wire::Direction;

/// Builds the exception through `msgr.errors._from_core`, so the class hierarchy lives
/// in one place (Python) and the codes in one place (Rust).
pub fn to_py_err(py: Python<'_>, e: Error) -> PyErr {
    let made = py
        .import("msgr.errors")
        .and_then(|m| m.getattr("_from_core"))
        .and_then(|f| f.call1((e.hresult().code(), e.to_string())));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failure) => import_failure,
    }
}

pub trait IntoPyResult<T> {
    fn py(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, Error> {
    fn py(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, e))
    }
}

/// The event's target (None for the Messenger itself), its name, and its arguments.
/// An event's target (None: the Messenger), name and arguments.
type Parts = (Option<ObjId>, &'static str, Vec<Py<PyAny>>);

fn parts(py: Python<'_>, e: &ClientEvent) -> PyResult<Parts> {
    let v = |x: &dyn ToPy| x.to_py(py);
    Ok(match e {
        ClientEvent::SignedIn => (None, "signed_in", vec![]),
        ClientEvent::SignInFailed { error } => (
            None,
            "sign_in_failed",
            vec![v(&error.hresult().code())?, v(&error.to_string())?],
        ),
        ClientEvent::SignedOut { reason } => (None, "signed_out", vec![v(&reason.as_str())?]),
        ClientEvent::LockEnable { obj, enabled } => (Some(*obj), "lock_enable", vec![v(enabled)?]),
        ClientEvent::LockChallenge { obj, cookie, challenge } => {
            (Some(*obj), "lock_challenge", vec![v(cookie)?, v(challenge)?])
        }
        ClientEvent::LockResult { obj, cookie, succeeded } => {
            (Some(*obj), "lock_result", vec![v(cookie)?, v(succeeded)?])
        }
        ClientEvent::LockStatusChanged { obj, status } => {
            (Some(*obj), "lock_status_changed", vec![v(&(*status as u8))?])
        }
        ClientEvent::Invitation { obj, session, app_data } => {
            (Some(*obj), "invitation", vec![v(session)?, v(app_data)?])
        }
        ClientEvent::AppRegistered { obj, guid } => (Some(*obj), "app_registered", vec![v(guid)?]),
        ClientEvent::AppUnregistered { obj, guid } => (Some(*obj), "app_unregistered", vec![v(guid)?]),
        ClientEvent::AppShutdown { obj } => (Some(*obj), "app_shutdown", vec![]),
        ClientEvent::StateChanged { obj, prev } => (Some(*obj), "state_changed", vec![v(&(*prev as u8))?]),
        ClientEvent::AppNotPresent { obj, name, url } => (Some(*obj), "app_not_present", vec![v(name)?, v(url)?]),
        ClientEvent::Accepted { obj, app_data } => (Some(*obj), "accepted", vec![v(app_data)?]),
        ClientEvent::Declined { obj, app_data } => (Some(*obj), "declined", vec![v(app_data)?]),
        ClientEvent::Cancelled { obj, app_data } => (Some(*obj), "cancelled", vec![v(app_data)?]),
        ClientEvent::Termination { obj, hr, app_data } => (Some(*obj), "termination", vec![v(hr)?, v(app_data)?]),
        ClientEvent::ReadyToLaunch { obj } => (Some(*obj), "ready_to_launch", vec![]),
        ClientEvent::ContextData { obj, data } => (Some(*obj), "context_data", vec![v(data)?]),
        ClientEvent::SendError { obj, hr } => (Some(*obj), "send_error", vec![v(&hr.code())?]),
        ClientEvent::BeforeAppLaunch { obj } => (Some(*obj), "before_app_launch", vec![]),
        ClientEvent::InviteFailed { obj, error } => (Some(*obj), "send_error", vec![v(&error.hresult().code())?]),
        ClientEvent::ContactListAdd { obj, hr, contact } => {
            let contact = contact.as_ref().map(contact_tuple);
            (Some(*obj), "contact_list_add", vec![v(&hr.code())?, v(&contact)?])
        }
        ClientEvent::AlertReceived { obj, alert } => (Some(*obj), "alert_received", vec![v(alert)?]),
    })
}

/// A contact as `(sign_in_name, friendly_name or None, status)`.
pub fn contact_tuple(c: &ContactInfo) -> (String, Option<String>, String) {
    (c.sign_in_name.clone(), c.friendly_name.clone(), c.status.clone())
}

/// Object-safe conversion, so `parts` can build mixed argument lists.
trait ToPy {
    fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>>;
}

impl<T> ToPy for T
where
    T: Clone + for<'py> IntoPyObject<'py>,
{
    fn to_py(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.clone().into_py_any(py)
    }
}

/// An event as `(messenger, object or None, name, args)`.
pub fn event<'py>(py: Python<'py>, m: MessengerId, e: &ClientEvent) -> PyResult<Bound<'py, PyTuple>> {
    let (obj, name, args) = parts(py, e)?;
    PyTuple::new(
        py,
        [
            m.into_py_any(py)?,
            obj.into_py_any(py)?,
            name.into_py_any(py)?,
            PyTuple::new(py, args)?.into_py_any(py)?,
        ],
    )
}

/// A trace entry as `(seq, time, conn, user, direction, name, args, payload, raw)`.
pub fn trace_entry<'py>(py: Python<'py>, e: &TraceEntry) -> PyResult<Bound<'py, PyTuple>> {
    let direction = match e.direction {
        Direction::ClientToServer => "C->S",
        Direction::ServerToClient => "S->C",
    };
    let payload: Py<PyAny> = match &e.cmd.payload {
        Some(p) => PyBytes::new(py, p).into_any().unbind(),
        None => py.None(),
    };
    PyTuple::new(
        py,
        [
            e.seq.into_py_any(py)?,
            e.time.as_secs_f64().into_py_any(py)?,
            e.conn.into_py_any(py)?,
            e.user.as_str().into_py_any(py)?,
            direction.into_py_any(py)?,
            e.cmd.name.as_str().into_py_any(py)?,
            e.cmd.args.clone().into_py_any(py)?,
            payload,
            e.cmd.to_string().into_py_any(py)?,
        ],
    )
}
