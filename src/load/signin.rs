//! signin: `concurrency` connections at a time, each a full sign-in (connect, `VER` …
//! `USR … OK`), then `OUT` and close. Worker `w` signs in as account `w` again and
//! again; the latency is from connecting to `USR … OK`.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::msnp;
use super::report::{ProcFigures, Report};
use super::stats::Latencies;
use super::{Budget, Claim, Ctx, LoadError, Samples};

/// How long to wait for the server to hang up after `OUT`.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

struct Worker {
    measured: u64,
    latencies: Latencies,
}

async fn work(ctx: Arc<Ctx>, budget: Arc<Budget>, w: usize) -> Result<Worker, LoadError> {
    let account = ctx.account(w);
    let source = ctx.source(w);
    let mut done = Worker {
        measured: 0,
        latencies: Latencies::new(),
    };
    loop {
        let claim = budget.claim();
        if claim == Claim::Stop {
            return Ok(done);
        }
        let start = Instant::now();
        let link = msnp::sign_in(&ctx.target, &account, source).await?;
        if claim == Claim::Measured {
            done.latencies.record(start.elapsed());
            done.measured += 1;
        }
        // The server hangs up after OUT; waiting for it keeps the next sign-in of this
        // account from overtaking this one's departure.
        let (mut r, mut w) = link.split();
        w.goodbye().await;
        let _ = tokio::time::timeout(CLOSE_WAIT, async { while r.next().await.is_ok() {} }).await;
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Report, LoadError> {
    let opts = &ctx.opts;
    let shared = ctx.shared();
    let mut report = ctx.report();
    report.settings.insert("concurrency".into(), opts.concurrency.into());
    super::describe_bounds(&mut report, opts);
    let budget = Arc::new(Budget::start(opts));
    let before = Samples::at(budget.measure_from(), opts.server_pid);
    let mut workers = JoinSet::new();
    for w in 0..opts.concurrency {
        workers.spawn(work(shared.clone(), budget.clone(), w));
    }
    let mut latencies = Latencies::new();
    while let Some(done) = workers.join_next().await {
        let worker = done.map_err(|e| LoadError::Options(format!("a sign-in task failed: {e}")))?;
        match worker {
            Ok(w) => {
                report.operations += w.measured;
                latencies.merge(&w.latencies);
            }
            // One refusal stops the run: the others would only repeat it.
            Err(e) => {
                workers.abort_all();
                return Err(e);
            }
        }
    }
    let end = Instant::now();
    let after = Samples::take(opts.server_pid);
    let before = before.await.unwrap_or_default();
    report.elapsed_s = budget.elapsed(end);
    report.latency = latencies.summary();
    report.server = ProcFigures::between(opts.server_pid, before.server, after.server);
    report.client = ProcFigures::between(None, before.client, after.client);
    Ok(report)
}
