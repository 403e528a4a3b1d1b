//! `_core.load_run`: `msgr load` (src/load) for Python. Options in, the report out as
//! JSON and as text; the run happens with the GIL released.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::load::{self, AccountPattern, LoadError, Mode, Options};
use crate::proto::Dialect;

/// How often a running load test looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

fn duration(flag: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| PyValueError::new_err(format!("{flag} must be a number of seconds, not {s}")))
}

fn load_err(e: LoadError) -> PyErr {
    if e.is_usage() {
        PyValueError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// A whole-number option, within its range (`load::range`): anything else that is an
/// int, however large, is a ValueError naming the flag.
fn whole<T: TryFrom<u64>>(py: Python<'_>, value: &Bound<'_, PyAny>, flag: &str) -> PyResult<T> {
    let n: i64 = match value.extract() {
        Ok(n) => n,
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => return Err(load_err(load::out_of_range(flag, value))),
        Err(e) => return Err(e),
    };
    let (lo, hi) = load::range(flag);
    u64::try_from(n)
        .ok()
        .filter(|n| (lo..=hi).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| load_err(load::out_of_range(flag, n)))
}

fn whole_opt<T: TryFrom<u64>>(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, flag: &str) -> PyResult<Option<T>> {
    value.map(|v| whole(py, v, flag)).transpose()
}

/// Runs a load test (docs/load.md) and returns (report as JSON, report as text). A bad
/// option is a ValueError naming its flag; a server that refuses, hangs up or is not
/// there, a RuntimeError with its line or the system's error. A run whose checks failed
/// still returns its report (`"ok": false`). Ctrl-C ends the run early with a report
/// that says so (`"interrupted": true`); a second one raises KeyboardInterrupt at once.
#[pyfunction]
#[pyo3(signature = (mode, host, port, *, duration = None, count = None, warmup = None, accounts = None, first_account = None, pairs = None, window = None, concurrency = None, clients = None, source_addresses = None, server_pid = None, allow_remote = false, protocol = "MSNP7", nexus = None, timeout = 10.0, threads = None, progress = false))]
#[allow(clippy::too_many_arguments)]
pub fn load_run(
    py: Python<'_>,
    mode: &str,
    host: &str,
    port: &Bound<'_, PyAny>,
    duration: Option<f64>,
    count: Option<&Bound<'_, PyAny>>,
    warmup: Option<f64>,
    accounts: Option<&str>,
    first_account: Option<&Bound<'_, PyAny>>,
    pairs: Option<&Bound<'_, PyAny>>,
    window: Option<&Bound<'_, PyAny>>,
    concurrency: Option<&Bound<'_, PyAny>>,
    clients: Option<&Bound<'_, PyAny>>,
    source_addresses: Option<&Bound<'_, PyAny>>,
    server_pid: Option<&Bound<'_, PyAny>>,
    allow_remote: bool,
    protocol: &str,
    nexus: Option<String>,
    timeout: f64,
    threads: Option<&Bound<'_, PyAny>>,
    progress: bool,
) -> PyResult<(String, String)> {
    let mode: Mode = mode.parse().map_err(load_err)?;
    let mut opts = Options::new(mode, host, whole(py, port, "--port")?);
    opts.duration = duration.map(|s| self::duration("--duration", s)).transpose()?;
    opts.count = whole_opt(py, count, "--count")?;
    if let Some(w) = warmup {
        opts.warmup = self::duration("--warmup", w)?;
    }
    if let Some(pattern) = accounts {
        opts.accounts = AccountPattern::parse(pattern).map_err(PyValueError::new_err)?;
    }
    let defaults = opts.clone();
    opts.first_account = whole_opt(py, first_account, "--first-account")?.unwrap_or(defaults.first_account);
    opts.pairs = whole_opt(py, pairs, "--pairs")?.unwrap_or(defaults.pairs);
    opts.window = whole_opt(py, window, "--window")?.unwrap_or(defaults.window);
    opts.concurrency = whole_opt(py, concurrency, "--concurrency")?.unwrap_or(defaults.concurrency);
    opts.clients = whole_opt(py, clients, "--clients")?.unwrap_or(defaults.clients);
    opts.source_addresses = whole_opt(py, source_addresses, "--source-addresses")?;
    opts.server_pid = whole_opt(py, server_pid, "--server-pid")?;
    opts.allow_remote = allow_remote;
    opts.dialect = protocol
        .parse::<Dialect>()
        .map_err(|e| PyValueError::new_err(format!("--protocol: {e}")))?;
    opts.nexus = nexus;
    opts.timeout = self::duration("--timeout", timeout)?;
    opts.threads = whole_opt(py, threads, "--threads")?.unwrap_or(defaults.threads);
    opts.progress = progress;
    let report = run_interruptibly(py, opts)?.map_err(load_err)?;
    Ok((report.to_json().to_string(), report.to_text()))
}

/// Runs on a thread of its own while this one looks for Ctrl-C: a first one ends the run
/// early (its report says so) instead of waiting for its end; a second one gives up on
/// the report and raises at once (the run's thread, told to stop, ends on its own).
fn run_interruptibly(py: Python<'_>, opts: Options) -> PyResult<Result<load::Report, LoadError>> {
    let cancel = opts.cancel.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("msgr-load".into())
        .spawn(move || {
            let _ = tx.send(load::run(&opts));
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the load run: {e}")))?;
    let mut rx = rx;
    loop {
        // A Receiver is not Sync: it goes into the GIL-free closure and comes back.
        let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match got {
            Ok(result) => return Ok(result),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    if cancel.swap(true, Ordering::Relaxed) {
                        return Err(interrupt);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the load run ended without a report"));
            }
        }
    }
}
