//! msgr: the Windows Messenger 4.x service APIs (Lock and Key, Session Invite,
//! Messenger Private) over MSNP, as sans-IO engines.
//!
//! This crate is pure Rust; the Python bindings live behind the `python` feature.

pub mod client;
pub mod driver;
pub mod embedded;
pub mod error;
pub mod eviction;
/// The fuzz harnesses (docs/fuzzing.md): for tests and `cargo fuzz`, never shipped.
#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzzing;
pub mod hresult;
pub mod journal;
pub mod load;
pub mod lock;
pub mod net;
pub mod proto;
pub mod refusals;
pub mod service;
pub mod session;
pub mod store;
#[doc(hidden)]
pub mod testkit;
pub mod trace;
pub mod wire;
pub mod wire_log;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub use hresult::HResult;
pub use lock::LockStatus;
