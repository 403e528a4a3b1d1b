//! pyo3 bindings: a thin layer that converts values and errors. All behaviour lives in
//! the pure core; the Python package (python/msgr) builds the public API on top.

mod codec;
mod convert;
mod counts;
mod embedded;
mod journal;
mod load;
mod logging;
mod messenger;
mod net;
mod service;

use pyo3::prelude::*;

use crate::hresult::{Group, HResult};
use crate::lock::{self, LockInput, LockPhase, LockStatus};
use crate::session::{self, flags, Ending, SessionState};
use crate::wire::challenge;

/// `lock_response(challenge, key)`: 32 lowercase hex digits of MD5(challenge ‖ key).
#[pyfunction]
fn lock_response(challenge: &str, key: &str) -> String {
    challenge::md5_response(challenge, key)
}

/// The MSNP11+ answer to a `CHL` challenge, as sent in `QRY` (the CHL response algorithm).
/// The product id and key are the client build's: for example
/// `msnp11_response("22210219642164014968", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")`
/// is `"85ecb0db8f32113df79ce0892b9a102c"`.
#[pyfunction]
fn msnp11_response(challenge: &str, product_id: &str, product_key: &str) -> String {
    challenge::msnp11_response(challenge, product_id, product_key)
}

/// Every HRESULT: (name, unsigned code, exception class name, group, meaning).
#[pyfunction]
fn hresult_catalogue() -> Vec<(&'static str, u32, &'static str, &'static str, &'static str)> {
    HResult::ALL
        .iter()
        .map(|hr| {
            let group = match hr.group() {
                Group::Success => "success",
                Group::General => "general",
                Group::Lock => "lock",
                Group::Session => "session",
            };
            (hr.name(), hr.code(), hr.class_name(), group, hr.meaning())
        })
        .collect()
}

/// `LockStatus` members: (name, value).
#[pyfunction]
fn lock_statuses() -> Vec<(&'static str, u8)> {
    LockStatus::ALL.iter().map(|s| (s.name(), *s as u8)).collect()
}

/// `SESSION_STATE` members: (name, value).
#[pyfunction]
fn session_states() -> Vec<(&'static str, u8)> {
    SessionState::ALL.iter().map(|s| (s.name(), *s as u8)).collect()
}

/// `SESSION_FLAGS` bits: (name, value).
#[pyfunction]
fn session_flags() -> Vec<(&'static str, u32)> {
    flags::ALL.to_vec()
}

/// A table cell's outcome as (next, None) or (None, HRESULT).
fn split<T>(outcome: Result<T, HResult>) -> (Option<T>, Option<u32>) {
    match outcome {
        Ok(next) => (Some(next), None),
        Err(hr) => (None, Some(hr.code())),
    }
}

/// (state, input, source, next state or None, HRESULT or None, phase, next phase or None).
type LockCell = (
    u8,
    &'static str,
    &'static str,
    Option<u8>,
    Option<u32>,
    &'static str,
    Option<&'static str>,
);

/// The lock machine, every (phase, input) cell.
#[pyfunction]
fn lock_machine() -> Vec<LockCell> {
    lock::table()
        .into_iter()
        .map(|(p, i, out): (LockPhase, LockInput, _)| {
            let (next, hr) = split(out);
            (
                p.status() as u8,
                i.name(),
                i.source().name(),
                next.map(|n| n.status() as u8),
                hr,
                p.name(),
                next.map(LockPhase::name),
            )
        })
        .collect()
}

/// (state, role, input, source, next state or None, HRESULT or None, phase, next phase
/// or None, the OnTermination code when the edge ends the session with a fixed one).
type SessionCell = (
    u8,
    &'static str,
    &'static str,
    &'static str,
    Option<u8>,
    Option<u32>,
    &'static str,
    Option<&'static str>,
    Option<u32>,
);

/// (state, role, method, next state or None, HRESULT or None).
type DocumentedCell = (u8, &'static str, &'static str, Option<u8>, Option<u32>);

/// The documented `IMsgrSession` table: each call's effect on the public state.
#[pyfunction]
fn session_table() -> Vec<DocumentedCell> {
    session::table::documented()
        .into_iter()
        .map(|(s, r, i, out)| {
            let (next, hr) = split(out);
            (s as u8, r.name(), i.name(), next.map(|n| n as u8), hr)
        })
        .collect()
}

/// The session machine: every call in every (phase, role), every other input where it
/// has an effect.
#[pyfunction]
fn session_machine() -> Vec<SessionCell> {
    session::table::table()
        .into_iter()
        .map(|c| {
            let (step, hr) = split(c.outcome);
            let ending = step.and_then(|s| match s.ends {
                Some(Ending::Fixed(hr)) => Some(hr.code()),
                _ => None,
            });
            (
                c.phase.state() as u8,
                c.role.name(),
                c.input.name(),
                c.input.source().name(),
                step.map(|s| s.next.state() as u8),
                hr,
                c.phase.name(),
                step.map(|s| s.next.name()),
                ending,
            )
        })
        .collect()
}

/// Every event the core fires: (name, number of callback arguments).
#[pyfunction]
fn event_catalogue() -> Vec<(&'static str, usize)> {
    crate::client::ClientEvent::CATALOGUE.to_vec()
}

/// Argon2id hashes of `passwords` as the server keeps them (PHC strings, each freshly
/// salted), made side by side: a users file may hold them instead of the passwords
/// (`msgr hash-password`). Each comes with a label that names it in an error.
#[pyfunction]
fn hash_passwords(py: Python<'_>, passwords: Vec<(String, String)>) -> PyResult<Vec<String>> {
    let mut jobs = Vec::with_capacity(passwords.len());
    for (label, password) in passwords {
        let refused = match crate::service::check_password(&password) {
            Err(crate::error::Error::Api { detail, .. }) => Some(detail.into_owned()),
            Err(e) => Some(e.to_string()),
            Ok(()) => crate::service::Secret::given_hash(&password)
                .map(|_| "that is already an Argon2id hash; give the password itself".to_string()),
        };
        if let Some(detail) = refused {
            return Err(convert::to_py_err(py, convert::invalid(format!("{label}: {detail}"))));
        }
        jobs.push(crate::service::SecretJob {
            password,
            keep_plain: false,
            salt: rand::random(),
            current: None,
        });
    }
    let count = jobs.len();
    let made = py.detach(|| crate::net::hasher::make_secrets(jobs));
    if made.len() != count || !made.iter().all(crate::service::Secret::is_hashed) {
        return Err(convert::to_py_err(
            py,
            convert::invalid("a password could not be hashed".to_string()),
        ));
    }
    Ok(made.iter().map(|s| s.stored().to_string()).collect())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install(m.py())?;
    m.add_function(wrap_pyfunction!(lock_response, m)?)?;
    m.add_function(wrap_pyfunction!(msnp11_response, m)?)?;
    m.add_function(wrap_pyfunction!(hresult_catalogue, m)?)?;
    m.add_function(wrap_pyfunction!(lock_statuses, m)?)?;
    m.add_function(wrap_pyfunction!(lock_machine, m)?)?;
    m.add_function(wrap_pyfunction!(session_states, m)?)?;
    m.add_function(wrap_pyfunction!(session_flags, m)?)?;
    m.add_function(wrap_pyfunction!(session_table, m)?)?;
    m.add_function(wrap_pyfunction!(session_machine, m)?)?;
    m.add_function(wrap_pyfunction!(codec::parse_invitation, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_invitation, m)?)?;
    m.add_function(wrap_pyfunction!(codec::parse_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::payload_follows, m)?)?;
    m.add_function(wrap_pyfunction!(codec::secret_field, m)?)?;
    m.add_function(wrap_pyfunction!(codec::url_encode, m)?)?;
    m.add_function(wrap_pyfunction!(codec::url_decode, m)?)?;
    m.add_function(wrap_pyfunction!(event_catalogue, m)?)?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(hash_passwords, m)?)?;
    m.add_function(wrap_pyfunction!(load::load_run, m)?)?;
    m.add_class::<codec::PyCommand>()?;
    m.add_class::<codec::PyDecoder>()?;
    m.add_class::<embedded::EmbeddedService>()?;
    m.add_class::<net::PyServer>()?;
    m.add_class::<net::NetworkClient>()?;
    m.add_class::<messenger::PyMessenger>()?;
    m.add_class::<service::PyServiceCore>()?;
    m.add_class::<journal::PyJournal>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
