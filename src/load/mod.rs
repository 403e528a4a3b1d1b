//! `msgr load`: a load generator that speaks raw MSNP to any server, msgr's or another.
//!
//! Four modes, one file each: `relay` (pairs streaming invitations through switchboards,
//! every message checked for loss, order and integrity), `rtt` (sequential INVITE →
//! ACCEPT round trips), `signin` (concurrent full sign-ins) and `hold` (many idle
//! signed-in clients, and what they cost the server's memory). Every line is built with
//! the typed messages of [`crate::proto`] and read through the wire [`Decoder`]
//! (crate::wire::Decoder); latencies go to an HdrHistogram. Like [`crate::net`], this
//! module does I/O (tokio) and stays outside the sans-IO core; docs/load.md has the
//! options and what each mode measures.

mod accounts;
mod checks;
mod error;
mod hold;
mod msnp;
mod relay;
mod report;
mod rtt;
#[cfg(test)]
mod run_tests;
mod signin;
mod stats;
mod system;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

pub use accounts::{Account, AccountPattern};
pub use checks::{Checks, CHECK_NAMES};
pub use error::LoadError;
pub use report::{HoldFigures, ProcFigures, Report};
pub use stats::{Latencies, LatencySummary};

use crate::net::passport::Passport;
use crate::proto::{Auth, Dialect};
use msnp::Target;
use system::ProcSample;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Relay,
    Rtt,
    Signin,
    Hold,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Relay, Mode::Rtt, Mode::Signin, Mode::Hold];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Relay => "relay",
            Mode::Rtt => "rtt",
            Mode::Signin => "signin",
            Mode::Hold => "hold",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = LoadError;

    fn from_str(s: &str) -> Result<Mode, LoadError> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| LoadError::Options(format!("no mode {s:?}: the modes are relay, rtt, signin and hold")))
    }
}

/// Bounds every run has when none is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(5);
pub const DEFAULT_WARMUP: Duration = Duration::from_secs(1);
pub const DEFAULT_WINDOW: usize = 64;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Descriptors kept for the runtime and everything but the client sockets.
const SPARE_DESCRIPTORS: u64 = 64;

/// A run's options: docs/load.md says what each does.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    pub host: String,
    pub port: u16,
    /// How long to measure (after the warm-up); hold: how long to stay signed in.
    pub duration: Option<Duration>,
    /// How many operations to measure, all workers together (not for hold).
    pub count: Option<u64>,
    /// Operations in this first stretch are done but not measured (not for hold).
    pub warmup: Duration,
    pub accounts: AccountPattern,
    /// The index of the run's first account: several runs at once (or one run split
    /// over several processes) each take their own accounts.
    pub first_account: usize,
    /// relay: pairs of users, each with its own switchboard.
    pub pairs: usize,
    /// relay: messages in flight per pair.
    pub window: usize,
    /// signin: connections signing in at once; hold: sign-ins in flight while ramping up.
    pub concurrency: usize,
    /// hold: clients to sign in and keep.
    pub clients: usize,
    /// Loopback source addresses to spread sockets over; None: as many as needed.
    pub source_addresses: Option<usize>,
    pub server_pid: Option<u32>,
    pub allow_remote: bool,
    pub dialect: Dialect,
    /// MSNP8+: the server's Passport nexus URL.
    pub nexus: Option<String>,
    /// Longest wait for any one answer.
    pub timeout: Duration,
    /// Worker threads of the load generator's runtime.
    pub threads: usize,
    /// Progress lines on stderr (hold's ramp).
    pub progress: bool,
    /// Set from outside (Ctrl-C) to end the run early: what was measured so far is
    /// reported, marked as interrupted.
    pub cancel: Arc<AtomicBool>,
}

impl Options {
    pub fn new(mode: Mode, host: &str, port: u16) -> Options {
        Options {
            mode,
            host: host.to_string(),
            port,
            duration: None,
            count: None,
            warmup: DEFAULT_WARMUP,
            accounts: AccountPattern::default(),
            first_account: 0,
            pairs: 1,
            window: DEFAULT_WINDOW,
            concurrency: 8,
            clients: 100,
            source_addresses: None,
            server_pid: None,
            allow_remote: false,
            dialect: Dialect::Msnp7,
            nexus: None,
            timeout: DEFAULT_TIMEOUT,
            threads: 1,
            progress: false,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Connections the run holds open at once at most.
    fn connections(&self) -> usize {
        match self.mode {
            Mode::Relay => self.pairs * 4,
            Mode::Rtt => 4,
            Mode::Signin => self.concurrency,
            Mode::Hold => self.clients,
        }
    }

    /// The whole-number options with their values, by flag.
    fn numbers(&self) -> Vec<(&'static str, u64)> {
        let mut n = vec![
            ("--port", u64::from(self.port)),
            ("--pairs", self.pairs as u64),
            ("--window", self.window as u64),
            ("--concurrency", self.concurrency as u64),
            ("--clients", self.clients as u64),
            ("--threads", self.threads as u64),
            ("--first-account", self.first_account as u64),
        ];
        n.extend(self.count.map(|c| ("--count", c)));
        n.extend(self.source_addresses.map(|k| ("--source-addresses", k as u64)));
        n.extend(self.server_pid.map(|p| ("--server-pid", u64::from(p))));
        n
    }

    fn check(&self) -> Result<(), LoadError> {
        let bad = |s: String| Err(LoadError::Options(s));
        for (flag, value) in self.numbers() {
            let (lo, hi) = range(flag);
            if !(lo..=hi).contains(&value) {
                return Err(out_of_range(flag, value));
            }
        }
        for (flag, d) in [("--duration", self.duration), ("--timeout", Some(self.timeout))] {
            if d.is_some_and(|d| d.is_zero()) {
                return bad(format!("{flag} must be above 0 seconds"));
            }
        }
        if self.mode == Mode::Hold && self.count.is_some() {
            return bad("hold takes --clients N (how many to keep signed in), not --count".into());
        }
        if self.dialect.auth() == Auth::Twn && self.nexus.is_none() {
            return bad(format!(
                "{} signs in through Passport: give --nexus URL (msgr serve prints it: \"Passport nexus at …\")",
                self.dialect
            ));
        }
        Ok(())
    }
}

/// Connections one run may ask for (the descriptor limit usually says no well before).
const MAX_CONNECTIONS: u64 = 1_000_000;

/// The whole-number options and what each may be.
const RANGES: [(&str, u64, u64); 10] = [
    ("--port", 1, 65_535),
    ("--count", 1, i64::MAX as u64),
    ("--pairs", 1, MAX_CONNECTIONS / 4),
    ("--window", 1, 1_000_000),
    ("--concurrency", 1, MAX_CONNECTIONS),
    ("--clients", 1, MAX_CONNECTIONS),
    ("--source-addresses", 1, system::MAX_SOURCES as u64),
    ("--server-pid", 1, i32::MAX as u64),
    ("--threads", 1, 256),
    ("--first-account", 0, u32::MAX as u64),
];

/// The smallest and largest value of a whole-number option (`"--port"`); (0, 0) for a
/// flag that is not one.
pub fn range(flag: &str) -> (u64, u64) {
    RANGES
        .iter()
        .find(|(f, ..)| *f == flag)
        .map_or((0, 0), |&(_, lo, hi)| (lo, hi))
}

/// The error for a whole-number option outside its [`range`]; `value` as given.
pub fn out_of_range(flag: &str, value: impl fmt::Display) -> LoadError {
    let (lo, hi) = range(flag);
    LoadError::Options(format!("{flag} must be a whole number from {lo} to {hi}, not {value}"))
}

/// Where a run is in its time line, and how much of its count is left.
pub(crate) struct Budget {
    /// The clock the payloads' timestamps count from.
    base: Instant,
    measure_from: Instant,
    deadline: Option<Instant>,
    count: Option<u64>,
    claimed: AtomicU64,
    cancel: Arc<AtomicBool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    Warmup,
    Measured,
    Stop,
}

impl Budget {
    /// Starts now: `warmup`, then the measured stretch, bounded by `duration` and/or
    /// `count` (with neither, [`DEFAULT_DURATION`]).
    pub fn start(opts: &Options) -> Budget {
        Budget::new(opts.warmup, opts.duration, opts.count, opts.cancel.clone())
    }

    pub fn new(warmup: Duration, duration: Option<Duration>, count: Option<u64>, cancel: Arc<AtomicBool>) -> Budget {
        let base = Instant::now();
        let measure_from = base + warmup;
        let duration = match (duration, count) {
            (None, None) => Some(DEFAULT_DURATION),
            (d, _) => d,
        };
        Budget {
            base,
            measure_from,
            deadline: duration.map(|d| measure_from + d),
            count,
            claimed: AtomicU64::new(0),
            cancel,
        }
    }

    /// May one more operation start, and is it measured?
    pub fn claim(&self) -> Claim {
        if self.cancel.load(Ordering::Relaxed) {
            return Claim::Stop;
        }
        let now = Instant::now();
        if now < self.measure_from {
            return Claim::Warmup;
        }
        if self.deadline.is_some_and(|d| now >= d) {
            return Claim::Stop;
        }
        let n = self.claimed.fetch_add(1, Ordering::Relaxed);
        if self.count.is_some_and(|c| n >= c) {
            return Claim::Stop;
        }
        Claim::Measured
    }

    /// Nanoseconds since the run's start (timestamps carried in payloads).
    pub fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    pub fn ns_at(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether something stamped at `ns` falls in the measured stretch.
    pub fn measured_ns(&self, ns: u64) -> bool {
        ns >= self.ns_at(self.measure_from)
    }

    pub fn measure_from(&self) -> Instant {
        self.measure_from
    }

    /// Seconds measured, when the run's last measured operation ended at `end` (an
    /// operation started before the deadline counts, so the stretch runs to its end).
    pub fn elapsed(&self, end: Instant) -> f64 {
        end.saturating_duration_since(self.measure_from).as_secs_f64()
    }
}

/// Ends a run that kept notification connections in `keep`: their failures, then the
/// checks, the latencies and the CPU and memory used between the two samples.
pub(crate) async fn conclude(
    mut report: Report,
    keep: &mut tokio::task::JoinSet<Option<LoadError>>,
    checks: Checks,
    latencies: &Latencies,
    server_pid: Option<u32>,
    (before, after): (Samples, Samples),
) -> Report {
    while let Some(done) = keep.join_next().await {
        if let Ok(Some(e)) = done {
            report.fail(format!("a notification connection ended: {e}"));
        }
    }
    report.checks = Some(checks);
    report.latency = latencies.summary();
    report.server = ProcFigures::between(server_pid, before.server, after.server);
    report.client = ProcFigures::between(None, before.client, after.client);
    report
}

/// The server's and this process's CPU and memory at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Samples {
    pub server: Option<ProcSample>,
    pub client: Option<ProcSample>,
}

impl Samples {
    pub fn take(server_pid: Option<u32>) -> Samples {
        Samples {
            server: server_pid.and_then(|pid| system::sample(&pid.to_string()).ok()),
            client: system::sample("self").ok(),
        }
    }

    /// Samples when the measured stretch begins.
    pub fn at(t: Instant, server_pid: Option<u32>) -> tokio::task::JoinHandle<Samples> {
        tokio::spawn(async move {
            tokio::time::sleep_until(t).await;
            Samples::take(server_pid)
        })
    }
}

/// What every mode gets.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub opts: Options,
    pub target: Arc<Target>,
}

impl Ctx {
    /// A copy the run's tasks can share.
    pub fn shared(&self) -> Arc<Ctx> {
        Arc::new(self.clone())
    }

    /// This run's report, empty.
    pub fn report(&self) -> Report {
        Report::new(
            self.opts.mode,
            self.target.addr.to_string(),
            self.opts.dialect.to_string(),
        )
    }

    /// The `k`-th account of the run (the pattern's index `--first-account` + k).
    pub fn account(&self, k: usize) -> Account {
        self.opts.accounts.get(self.opts.first_account.saturating_add(k))
    }

    /// The `k`-th connection's source address.
    pub fn source(&self, k: usize) -> Option<std::net::IpAddr> {
        system::source_address(k, self.target.sources)
    }
}

/// The run's bounds and accounts, as the report shows them.
pub(crate) fn describe_bounds(report: &mut Report, opts: &Options) {
    report
        .settings
        .insert("accounts".into(), opts.accounts.to_string().into());
    report
        .settings
        .insert("first_account".into(), opts.first_account.into());
    let duration = match (opts.duration, opts.count) {
        (None, None) => Some(DEFAULT_DURATION),
        (d, _) => d,
    };
    if let Some(d) = duration {
        report.settings.insert("duration_s".into(), d.as_secs_f64().into());
    }
    if let Some(n) = opts.count {
        report.settings.insert("count".into(), n.into());
    }
    if opts.mode != Mode::Hold {
        report
            .settings
            .insert("warmup_s".into(), opts.warmup.as_secs_f64().into());
    }
}

/// Resolves the host and refuses what is not loopback unless allowed.
async fn resolve(opts: &Options) -> Result<SocketAddr, LoadError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((opts.host.as_str(), opts.port))
        .await
        .map_err(|e| LoadError::Options(format!("cannot resolve {:?}: {e}", opts.host)))?
        .collect();
    // IPv4 first: the loopback source addresses are IPv4.
    let Some(addr) = found.iter().find(|a| a.is_ipv4()).or(found.first()).copied() else {
        return Err(LoadError::Options(format!("{:?} resolves to no address", opts.host)));
    };
    if !addr.ip().is_loopback() && !opts.allow_remote {
        return Err(LoadError::Options(format!(
            "{} ({}) is not a loopback address: msgr load only loads a server on this machine \
             unless --allow-remote is given",
            opts.host,
            addr.ip()
        )));
    }
    Ok(addr)
}

/// Refuses a run whose `connections` would not fit in the descriptor `limit` (None:
/// no limit known).
fn check_descriptors(connections: usize, limit: Option<u64>) -> Result<(), LoadError> {
    let needed = connections as u64 + SPARE_DESCRIPTORS;
    match limit {
        Some(limit) if limit < needed => Err(LoadError::Options(format!(
            "{connections} connections need {needed} descriptors, and this process may open {limit} \
             (its hard RLIMIT_NOFILE): split the run over several msgr load processes, each \
             with its own --first-account, or raise the limit (ulimit -Hn, as root)"
        ))),
        _ => Ok(()),
    }
}

/// Runs a load test and reports it. A run that completes returns its report even when
/// a check failed (`Report::ok`); an error means it could not run at all.
pub fn run(opts: &Options) -> Result<Report, LoadError> {
    opts.check()?;
    if let Some(pid) = opts.server_pid {
        system::sample(&pid.to_string()).map_err(|e| LoadError::Options(format!("--server-pid {pid}: {e}")))?;
        // Another process's figures would be reported as the server's.
        if system::listens_on(pid, opts.port) == Some(false) {
            return Err(LoadError::Options(format!(
                "--server-pid {pid}: that process has no socket listening on port {}, so it is not the server",
                opts.port
            )));
        }
    }
    check_descriptors(opts.connections(), system::raise_descriptor_limit())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(opts.threads)
        .thread_name("msgr-load")
        .enable_all()
        .build()
        .map_err(|e| LoadError::Options(format!("cannot start the runtime: {e}")))?;
    let report = rt.block_on(async {
        let addr = resolve(opts).await?;
        let sources = match opts.source_addresses {
            Some(k) => k,
            None if addr.ip().is_loopback() && addr.is_ipv4() => system::sources_needed(opts.connections()),
            None => 1,
        };
        if sources > 1 && !(addr.ip().is_loopback() && addr.is_ipv4()) {
            return Err(LoadError::Options(
                "--source-addresses spreads sockets over 127.0.0.2, 127.0.0.3, …: only for an IPv4 loopback server"
                    .into(),
            ));
        }
        let passport = match (&opts.nexus, opts.dialect.auth()) {
            (Some(nexus), Auth::Twn) => Some(
                Passport::new(nexus, None, None, opts.timeout)
                    .map_err(|e| LoadError::Options(format!("--nexus: {e}")))?,
            ),
            _ => None,
        };
        let target = Arc::new(Target {
            addr,
            dialect: opts.dialect,
            timeout: opts.timeout,
            allow_remote: opts.allow_remote,
            sources,
            passport,
        });
        let ctx = Ctx {
            opts: opts.clone(),
            target,
        };
        match opts.mode {
            Mode::Relay => relay::run(&ctx).await,
            Mode::Rtt => rtt::run(&ctx).await,
            Mode::Signin => signin::run(&ctx).await,
            Mode::Hold => hold::run(&ctx).await,
        }
    });
    // Sockets still closing must not hold the caller.
    rt.shutdown_timeout(Duration::from_secs(1));
    let mut report = report?;
    report.interrupted = opts.cancel.load(Ordering::Relaxed);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_by_name() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
        }
        let err = "flood".parse::<Mode>().unwrap_err().to_string();
        assert!(err.contains("relay, rtt, signin and hold"), "{err}");
    }

    #[test]
    fn options_are_checked_before_anything_is_sent() {
        let base = Options::new(Mode::Relay, "127.0.0.1", 1863);
        assert!(base.check().is_ok());
        let cases: Vec<(Options, &str)> = vec![
            (
                Options {
                    port: 0,
                    ..base.clone()
                },
                "--port",
            ),
            (
                Options {
                    pairs: 0,
                    ..base.clone()
                },
                "--pairs",
            ),
            (
                Options {
                    window: 0,
                    ..base.clone()
                },
                "--window",
            ),
            (
                Options {
                    count: Some(0),
                    ..base.clone()
                },
                "--count",
            ),
            (
                Options {
                    duration: Some(Duration::ZERO),
                    ..base.clone()
                },
                "--duration",
            ),
            (
                Options {
                    mode: Mode::Hold,
                    count: Some(5),
                    ..base.clone()
                },
                "--clients",
            ),
            (
                Options {
                    dialect: Dialect::Msnp11,
                    ..base.clone()
                },
                "--nexus",
            ),
            (
                Options {
                    source_addresses: Some(0),
                    ..base.clone()
                },
                "--source-addresses",
            ),
            (
                Options {
                    threads: 257,
                    ..base.clone()
                },
                "--threads must be a whole number from 1 to 256, not 257",
            ),
            (
                Options {
                    timeout: Duration::ZERO,
                    ..base.clone()
                },
                "--timeout must be above 0",
            ),
        ];
        for (opts, named) in cases {
            let err = opts.check().unwrap_err();
            assert!(err.is_usage() && err.to_string().contains(named), "{named}: {err}");
        }
    }

    #[test]
    fn whole_number_options_have_ranges() {
        assert_eq!(range("--port"), (1, 65_535));
        assert_eq!(range("--first-account"), (0, u32::MAX as u64));
        assert_eq!(range("--nonsense"), (0, 0));
        assert_eq!(
            out_of_range("--window", -3).to_string(),
            "--window must be a whole number from 1 to 1000000, not -3"
        );
        assert!(out_of_range("--port", 70_000).is_usage());
    }

    #[test]
    fn too_many_connections_for_the_descriptor_limit_is_an_options_error() {
        assert!(check_descriptors(19_936, Some(20_000)).is_ok());
        assert!(check_descriptors(1_000_000, None).is_ok());
        let err = check_descriptors(19_937, Some(20_000)).unwrap_err();
        let text = err.to_string();
        assert!(
            err.is_usage() && text.contains("20001 descriptors") && text.contains("--first-account"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn remote_hosts_are_refused_unless_allowed() {
        let mut opts = Options::new(Mode::Rtt, "192.0.2.1", 1863);
        let err = resolve(&opts).await.unwrap_err().to_string();
        assert!(
            err.contains("not a loopback address") && err.contains("--allow-remote"),
            "{err}"
        );
        opts.allow_remote = true;
        assert_eq!(resolve(&opts).await.unwrap(), "192.0.2.1:1863".parse().unwrap());
        let local = Options::new(Mode::Rtt, "localhost", 1863);
        assert!(resolve(&local).await.unwrap().ip().is_loopback());
    }

    #[tokio::test]
    async fn the_budget_counts_only_measured_operations() {
        let cancel = Arc::new(AtomicBool::new(false));
        let b = Budget::new(Duration::ZERO, None, Some(3), cancel.clone());
        let claims: Vec<Claim> = (0..5).map(|_| b.claim()).collect();
        assert_eq!(
            claims,
            [
                Claim::Measured,
                Claim::Measured,
                Claim::Measured,
                Claim::Stop,
                Claim::Stop
            ]
        );
        let w = Budget::new(
            Duration::from_secs(3_600),
            Some(Duration::from_secs(1)),
            None,
            cancel.clone(),
        );
        assert_eq!(w.claim(), Claim::Warmup);
        assert!(!w.measured_ns(w.now_ns()));
        assert_eq!(w.elapsed(Instant::now()), 0.0);
        cancel.store(true, Ordering::Relaxed);
        assert_eq!(w.claim(), Claim::Stop);
    }
}
