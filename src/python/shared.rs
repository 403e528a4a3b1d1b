//! What both Messenger-level bindings (`EmbeddedService`, `NetworkClient`) and both
//! service-level bindings (`EmbeddedService`, `Server`) convert the same way.

use std::time::Duration;

use pyo3::prelude::*;

use super::convert::to_py_err;
use crate::client::{ClientEngine, Launch, ObjId, ObjectKind};
use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::service::{Alert, LockAndKey};

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
