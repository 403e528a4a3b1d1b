//! Core values to Python values, and core errors to the typed exceptions of msgr.errors.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::client::{ClientEngine, ClientEvent, ContactInfo, GroupInfo, Launch, ObjId, ObjectKind};
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::journal::Logged;
use crate::net::NetError;
use crate::service::{Alert, LockAndKey};
use crate::trace::TraceEntry;
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

pub fn net_err(py: Python<'_>, e: NetError) -> PyErr {
    match e {
        NetError::Core(e) => to_py_err(py, e),
        NetError::Unreachable { error, io } => {
            let err = to_py_err(py, error);
            // pyo3 maps the error kind: ConnectionRefusedError, socket.gaierror as OSError...
            err.set_cause(py, Some(PyErr::from(io)));
            err
        }
        // Both a TimeoutError and a ConnectionFailureError (msgr.errors).
        NetError::Timeout(..) => python_error(py, "_timeout", e.to_string()),
        NetError::Io(io) => PyErr::from(io),
    }
}

/// An exception built by a function of `msgr.errors` from a message.
fn python_error(py: Python<'_>, builder: &str, message: String) -> PyErr {
    let made = py
        .import("msgr.errors")
        .and_then(|m| m.getattr(builder))
        .and_then(|f| f.call1((message,)));
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

pub fn invalid(detail: String) -> Error {
    Error::api(HResult::E_INVALIDARG, detail)
}

pub fn object_kind(kind: &str) -> Result<ObjectKind> {
    match kind {
        "session_manager" => Ok(ObjectKind::SessionManager),
        "messenger_priv" => Ok(ObjectKind::MessengerPriv),
        other => Err(invalid(format!("unknown object kind {other:?}"))),
    }
}

pub fn lock_and_key(py: Python<'_>, mode: &str) -> PyResult<LockAndKey> {
    LockAndKey::parse(mode).ok_or_else(|| {
        to_py_err(
            py,
            invalid(format!(
                "lock_and_key must be 'enabled', 'disabled' or 'off', not {mode:?}"
            )),
        )
    })
}

/// A dialect by name (`"MSNP11"`, any case).
pub fn dialect(py: Python<'_>, name: &str) -> PyResult<crate::proto::Dialect> {
    name.parse()
        .map_err(|e: crate::proto::dialect::UnknownDialect| to_py_err(py, invalid(e.to_string())))
}

/// A non-negative, finite number of seconds.
pub fn seconds(py: Python<'_>, what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| to_py_err(py, invalid(format!("{what} must be finite and not negative, not {s}"))))
}

pub fn alert(site_id: i32, text: &str, site_url: &str, action_url: &str, subscribe_url: &str) -> Alert {
    Alert {
        site_id,
        text: text.to_string(),
        site_url: site_url.to_string(),
        action_url: action_url.to_string(),
        subscribe_url: subscribe_url.to_string(),
    }
}

/// (guid, name, url, path) of every registration of the machine.
pub type Registration = (String, String, String, String);

pub fn registrations(c: &ClientEngine) -> Vec<Registration> {
    c.applications_registered()
        .map(|a| (a.guid.clone(), a.name.clone(), a.url.clone(), a.path.clone()))
        .collect()
}

/// (role, flags, state, session_id, app guid, local address, peer, context data,
/// launch pid, manager, invitation cookie).
pub type SessionInfo = (
    &'static str,
    u32,
    u8,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<u32>,
    u64,
    String,
);

pub fn session_info(c: &ClientEngine, obj: ObjId) -> Result<SessionInfo> {
    let s = c.session(obj)?;
    let pid = match s.launch {
        Launch::Launched { pid } => Some(pid),
        _ => None,
    };
    Ok((
        s.role.name(),
        s.flags,
        s.state() as u8,
        s.session_id.clone(),
        s.app.as_ref().map(|a| a.guid.clone()),
        c.effective_local_address(obj)?,
        s.peer.clone(),
        s.context_data.clone(),
        pid,
        s.manager,
        s.cookie.clone(),
    ))
}

/// A contact as `(sign_in_name, friendly_name or None, status or None)`.
/// (sign-in name, friendly name, status, personal message, groups).
pub type Contact = (String, Option<String>, Option<String>, Option<String>, Vec<String>);
/// (id, name).
pub type Group = (String, String);

pub fn group_tuple(g: &GroupInfo) -> Group {
    (g.id.clone(), g.name.clone())
}

pub fn contact_tuple(c: &ContactInfo) -> Contact {
    (
        c.sign_in_name.clone(),
        c.friendly_name.clone(),
        c.status.clone(),
        c.personal_message.clone(),
        c.groups.clone(),
    )
}

/// An event's target (None: the Messenger) and its arguments; the name is the core's.
type Parts = (Option<ObjId>, Vec<Py<PyAny>>);

fn parts(py: Python<'_>, e: &ClientEvent) -> PyResult<Parts> {
    let v = |x: &dyn ToPy| x.to_py(py);
    Ok(match e {
        ClientEvent::SignedIn => (None, vec![]),
        ClientEvent::SignInFailed { error } => (None, vec![v(&error.hresult().code())?, v(&error.to_string())?]),
        ClientEvent::SignedOut { reason } => (None, vec![v(&reason.as_str())?]),
        ClientEvent::LockEnable { obj, enabled } => (Some(*obj), vec![v(enabled)?]),
        ClientEvent::LockChallenge { obj, cookie, challenge } => (Some(*obj), vec![v(cookie)?, v(challenge)?]),
        ClientEvent::LockResult { obj, cookie, succeeded } => (Some(*obj), vec![v(cookie)?, v(succeeded)?]),
        ClientEvent::LockStatusChanged { obj, status } => (Some(*obj), vec![v(&(*status as u8))?]),
        ClientEvent::Invitation { obj, session, app_data } => (Some(*obj), vec![v(session)?, v(app_data)?]),
        ClientEvent::AppRegistered { obj, guid } | ClientEvent::AppUnregistered { obj, guid } => {
            (Some(*obj), vec![v(guid)?])
        }
        ClientEvent::AppShutdown { obj }
        | ClientEvent::ReadyToLaunch { obj }
        | ClientEvent::BeforeAppLaunch { obj } => (Some(*obj), vec![]),
        ClientEvent::StateChanged { obj, prev } => (Some(*obj), vec![v(&(*prev as u8))?]),
        ClientEvent::AppNotPresent { obj, name, url } => (Some(*obj), vec![v(name)?, v(url)?]),
        ClientEvent::Accepted { obj, app_data }
        | ClientEvent::Declined { obj, app_data }
        | ClientEvent::Cancelled { obj, app_data } => (Some(*obj), vec![v(app_data)?]),
        ClientEvent::Termination { obj, hr, app_data } => (Some(*obj), vec![v(hr)?, v(app_data)?]),
        ClientEvent::ContextData { obj, data } => (Some(*obj), vec![v(data)?]),
        ClientEvent::SendError { obj, hr } => (Some(*obj), vec![v(&hr.code())?]),
        ClientEvent::ContactListAdd { obj, hr, contact } => {
            let contact = contact.as_ref().map(contact_tuple);
            (Some(*obj), vec![v(&hr.code())?, v(&contact)?])
        }
        ClientEvent::AlertReceived { obj, alert } => (Some(*obj), vec![v(alert)?]),
        ClientEvent::TextReceived { sender, text } => (None, vec![v(sender)?, v(text)?]),
        ClientEvent::MyStatusChange { hr, status } => (None, vec![v(&hr.code())?, v(status)?]),
        ClientEvent::MyFriendlyNameChange { hr, previous } | ClientEvent::MyPersonalMessageChange { hr, previous } => {
            (None, vec![v(&hr.code())?, v(previous)?])
        }
        ClientEvent::ContactStatusChange { contact, previous } => {
            (None, vec![v(&contact_tuple(contact))?, v(previous)?])
        }
        ClientEvent::ContactPersonalMessageChange { contact } => (None, vec![v(&contact_tuple(contact))?]),
        ClientEvent::GroupAdded { hr, group } => (None, vec![v(&hr.code())?, v(&group.as_ref().map(group_tuple))?]),
        ClientEvent::GroupRemoved { hr, group } | ClientEvent::GroupNameChanged { hr, group } => {
            (None, vec![v(&hr.code())?, v(&group_tuple(group))?])
        }
        ClientEvent::ContactAddedToGroup { hr, group, contact }
        | ClientEvent::ContactRemovedFromGroup { hr, group, contact } => (
            None,
            vec![v(&hr.code())?, v(&group_tuple(group))?, v(&contact_tuple(contact))?],
        ),
    })
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

/// An event as `(seq, time, messenger, object or None, name, args, session state or None)`.
pub fn event<'py>(py: Python<'py>, logged: &Logged) -> PyResult<Bound<'py, PyTuple>> {
    let e = &logged.event;
    let (obj, args) = parts(py, e)?;
    PyTuple::new(
        py,
        [
            logged.seq.into_py_any(py)?,
            logged.time.as_secs_f64().into_py_any(py)?,
            logged.messenger.into_py_any(py)?,
            obj.into_py_any(py)?,
            e.name().into_py_any(py)?,
            PyTuple::new(py, args)?.into_py_any(py)?,
            logged.state.map(|s| s as u8).into_py_any(py)?,
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
            (*e.user).into_py_any(py)?,
            direction.into_py_any(py)?,
            e.cmd.name.as_str().into_py_any(py)?,
            e.cmd.args.clone().into_py_any(py)?,
            payload,
            e.cmd.to_string().into_py_any(py)?,
        ],
    )
}
