//! Core values to Python values, and core errors to the typed exceptions of msgr.errors.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::IntoPyObjectExt;

use crate::client::ClientEvent;
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

/// An event as `(messenger, object or None, name, args)`.
pub fn event<'py>(
    py: Python<'py>,
    m: MessengerId,
    e: &ClientEvent,
) -> PyResult<Bound<'py, PyTuple>> {
    let none = py.None();
    let (obj, name, args): (Py<PyAny>, &str, Bound<'py, PyTuple>) = match e {
        ClientEvent::SignedIn => (none, "signed_in", PyTuple::empty(py)),
        ClientEvent::SignInFailed { error } => (
            none,
            "sign_in_failed",
            PyTuple::new(
                py,
                [
                    error.hresult().code().into_py_any(py)?,
                    error.to_string().into_py_any(py)?,
                ],
            )?,
        ),
        ClientEvent::SignedOut { reason } => {
            (none, "signed_out", PyTuple::new(py, [reason.as_str()])?)
        }
        ClientEvent::LockEnable { obj, enabled } => (
            obj.into_py_any(py)?,
            "lock_enable",
            PyTuple::new(py, [*enabled])?,
        ),
        ClientEvent::LockChallenge {
            obj,
            cookie,
            challenge,
        } => (
            obj.into_py_any(py)?,
            "lock_challenge",
            PyTuple::new(py, [cookie.into_py_any(py)?, challenge.into_py_any(py)?])?,
        ),
        ClientEvent::LockResult {
            obj,
            cookie,
            succeeded,
        } => (
            obj.into_py_any(py)?,
            "lock_result",
            PyTuple::new(py, [cookie.into_py_any(py)?, succeeded.into_py_any(py)?])?,
        ),
        ClientEvent::LockStatusChanged { obj, status } => (
            obj.into_py_any(py)?,
            "lock_status_changed",
            PyTuple::new(py, [*status as u8])?,
        ),
    };
    PyTuple::new(
        py,
        [
            m.into_py_any(py)?,
            obj,
            name.into_py_any(py)?,
            args.into_py_any(py)?,
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
