//! `_core.load_run`: `msgr load` (src/load) for Python. Options in, the report out as
//! JSON and as text; the run happens with the GIL released.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::load::{self, AccountPattern, LoadError, Mode, Options};
use crate::proto::Dialect;

/// How often a running load test looks for Ctrl-C.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

fn duration(what: &str, s: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| PyValueError::new_err(format!("{what} must be a number of seconds, not {s}")))
}

fn load_err(e: LoadError) -> PyErr {
    if e.is_usage() {
        PyValueError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// Runs a load test (docs/load.md) and returns (report as JSON, report as text). A bad
/// option is a ValueError; a server that refuses or hangs up, a RuntimeError. A run
/// whose checks failed still returns its report (`"ok": false`).
#[pyfunction]
#[pyo3(signature = (mode, host, port, *, duration = None, count = None, warmup = None, accounts = None, pairs = 1, window = 64, concurrency = 8, clients = 100, source_addresses = None, server_pid = None, allow_remote = false, protocol = "MSNP7", nexus = None, timeout = 10.0, threads = 1, progress = false))]
#[allow(clippy::too_many_arguments)]
pub fn load_run(
    py: Python<'_>,
    mode: &str,
    host: &str,
    port: u16,
    duration: Option<f64>,
    count: Option<u64>,
    warmup: Option<f64>,
    accounts: Option<&str>,
    pairs: usize,
    window: usize,
    concurrency: usize,
    clients: usize,
    source_addresses: Option<usize>,
    server_pid: Option<u32>,
    allow_remote: bool,
    protocol: &str,
    nexus: Option<String>,
    timeout: f64,
    threads: usize,
    progress: bool,
) -> PyResult<(String, String)> {
    let mode: Mode = mode.parse().map_err(load_err)?;
    let mut opts = Options::new(mode, host, port);
    opts.duration = duration.map(|s| self::duration("duration", s)).transpose()?;
    opts.count = count;
    if let Some(w) = warmup {
        opts.warmup = self::duration("warmup", w)?;
    }
    if let Some(pattern) = accounts {
        opts.accounts = AccountPattern::parse(pattern).map_err(PyValueError::new_err)?;
    }
    opts.pairs = pairs;
    opts.window = window;
    opts.concurrency = concurrency;
    opts.clients = clients;
    opts.source_addresses = source_addresses;
    opts.server_pid = server_pid;
    opts.allow_remote = allow_remote;
    opts.dialect = protocol
        .parse::<Dialect>()
        .map_err(|e| PyValueError::new_err(format!("--protocol: {e}")))?;
    opts.nexus = nexus;
    opts.timeout = self::duration("timeout", timeout)?;
    opts.threads = threads;
    opts.progress = progress;
    let report = run_interruptibly(py, opts)?.map_err(load_err)?;
    Ok((report.to_json().to_string(), report.to_text()))
}

/// Runs on a thread of its own while this one looks for Ctrl-C: a signal ends the run
/// early (its report says so) instead of waiting for its end.
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
                if py.check_signals().is_err() {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("the load run ended without a report"));
            }
        }
    }
}
