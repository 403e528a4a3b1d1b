//! Which of the core's log records may reach Python's `logging`: each one that does takes
//! the GIL (on a server's thread, with a thread state made for it), so `log`'s level is
//! kept as low as what someone can see: `info`, or `warning` (`msgr serve` without
//! `-v`), and debug once a driver was made while the `msgr.wire` logger took debug
//! records.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use log::LevelFilter;
use pyo3::prelude::*;

use super::convert;

/// The level `set_log_level` chose (as `LevelFilter as usize`).
static BASE: AtomicUsize = AtomicUsize::new(LevelFilter::Info as usize);
/// Whether some driver logs its wire lines.
static WIRE: AtomicBool = AtomicBool::new(false);

fn apply() {
    let base = match BASE.load(Ordering::Relaxed) {
        n if n == LevelFilter::Warn as usize => LevelFilter::Warn,
        _ => LevelFilter::Info,
    };
    let wire = if WIRE.load(Ordering::Relaxed) {
        LevelFilter::Debug
    } else {
        LevelFilter::Off
    };
    log::set_max_level(base.max(wire));
}

/// The most detailed level the core logs at: "info" (the default) or "warning". `msgr
/// serve` without `-v`, where nothing would show them, sets "warning" and saves a trip
/// into Python per connection and sign-in.
#[pyfunction]
pub fn set_log_level(py: Python<'_>, level: &str) -> PyResult<()> {
    let filter = match level.to_ascii_lowercase().as_str() {
        "info" => LevelFilter::Info,
        "warning" => LevelFilter::Warn,
        _ => {
            let detail = format!("the log level is \"info\" or \"warning\", not {level:?}");
            return Err(convert::to_py_err(py, convert::invalid(detail)));
        }
    };
    BASE.store(filter as usize, Ordering::Relaxed);
    apply();
    Ok(())
}

/// Whether a driver made now should log its wire lines: whether Python's `msgr.wire`
/// logger takes debug records (asked once, when the driver is made; asking per line
/// would cost a trip into Python for every message).
pub fn wire_wanted(py: Python<'_>) -> PyResult<bool> {
    let logger = py
        .import("logging")?
        .call_method1("getLogger", (crate::wire_log::TARGET,))?;
    let wanted: bool = logger.call_method1("isEnabledFor", (10,))?.extract()?;
    if wanted && !WIRE.swap(true, Ordering::Relaxed) {
        apply();
    }
    Ok(wanted)
}

/// Installs the bridge from `log` to Python's `logging` (a second import in one process
/// keeps the first).
pub fn install(py: Python<'_>) -> PyResult<()> {
    // Python's `logging` decides, each time, whether a record is wanted (levels set
    // later, caplog in tests): the core logs only connection-level events, and wire
    // lines only where asked.
    let _ = pyo3_log::Logger::new(py, pyo3_log::Caching::Nothing)?
        .filter(LevelFilter::Info)
        .filter_target(crate::wire_log::TARGET.to_string(), LevelFilter::Debug)
        .install();
    apply();
    Ok(())
}
