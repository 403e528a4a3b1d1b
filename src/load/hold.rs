//! hold: `clients` users sign in (MD5 or Passport, then `CHG NLN`), `concurrency` at a
//! time, and stay signed in, idle but answering pings, for `duration`. The server's
//! memory before and after says what one signed-in client costs it. Refusals are
//! counted by reason: past its caps msgr serve answers a new connection `600` (server
//! busy) and closes it, which shows as "600 (server busy) to VER".

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::msnp;
use super::report::{HoldFigures, ProcFigures, Report};
use super::stats::Latencies;
use super::{Ctx, LoadError, Samples, DEFAULT_DURATION};

/// How long the server gets to free what departed clients held before it is sampled.
const SETTLE: Duration = Duration::from_secs(1);

enum Event {
    SignedIn(Duration),
    Refused(LoadError),
    Dropped(LoadError),
}

async fn client(
    ctx: Arc<Ctx>,
    c: usize,
    gate: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Event>,
    stop: watch::Receiver<bool>,
) {
    let Ok(permit) = gate.acquire_owned().await else { return };
    // The run ended (Ctrl-C) while this one waited its turn.
    if *stop.borrow() {
        return;
    }
    let start = Instant::now();
    let signed_in = async {
        let mut link = msnp::sign_in(&ctx.target, &ctx.account(c), ctx.source(c)).await?;
        msnp::go_online(&mut link).await?;
        Ok::<_, LoadError>(link)
    }
    .await;
    drop(permit);
    match signed_in {
        Err(e) => {
            let _ = tx.send(Event::Refused(e));
        }
        Ok(link) => {
            let _ = tx.send(Event::SignedIn(start.elapsed()));
            if let Some(e) = msnp::keep_alive(link, stop).await {
                let _ = tx.send(Event::Dropped(e));
            }
        }
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Report, LoadError> {
    let opts = &ctx.opts;
    let shared = ctx.shared();
    let mut report = ctx.report();
    report.settings.insert("clients".into(), opts.clients.into());
    report.settings.insert("concurrency".into(), opts.concurrency.into());
    super::describe_bounds(&mut report, opts);
    let hold_for = opts.duration.unwrap_or(DEFAULT_DURATION);

    let before = Samples::take(opts.server_pid);
    let (stop_tx, stop) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(opts.concurrency));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    for c in 0..opts.clients {
        tasks.spawn(client(shared.clone(), c, gate.clone(), tx.clone(), stop.clone()));
    }
    drop(tx);

    let mut figures = HoldFigures {
        requested: opts.clients as u64,
        source_addresses: ctx.target.sources as u64,
        ..HoldFigures::default()
    };
    let mut latencies = Latencies::new();
    let mut note = |event: Event, figures: &mut HoldFigures, report: &mut Report| match event {
        Event::SignedIn(d) => {
            figures.signed_in += 1;
            latencies.record(d);
        }
        Event::Refused(e) => *report.refused.entry(e.reason()).or_default() += 1,
        Event::Dropped(e) => {
            figures.dropped += 1;
            *report.dropped.entry(e.reason()).or_default() += 1;
        }
    };
    // Ctrl-C is looked for this often.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let cancelled = || opts.cancel.load(Ordering::Relaxed);
    let mut settled = 0;
    while settled < opts.clients && !cancelled() {
        let event = tokio::select! {
            event = rx.recv() => event,
            _ = tick.tick() => continue,
        };
        let Some(event) = event else { break };
        if !matches!(event, Event::Dropped(_)) {
            settled += 1;
            if opts.progress && settled % 1000 == 0 {
                eprintln!("msgr load: {settled} of {} clients signed in or refused", opts.clients);
            }
        }
        note(event, &mut figures, &mut report);
    }
    figures.ramp_s = start.elapsed().as_secs_f64();
    if opts.progress {
        eprintln!(
            "msgr load: {} signed in; holding them for {}",
            figures.signed_in,
            crate::net::seconds(hold_for)
        );
    }

    let hold_until = Instant::now() + hold_for;
    while !cancelled() {
        tokio::select! {
            _ = tokio::time::sleep_until(hold_until) => break,
            _ = tick.tick() => {}
            event = rx.recv() => match event {
                Some(event) => note(event, &mut figures, &mut report),
                None => break,
            },
        }
    }
    let after = Samples::take(opts.server_pid);
    report.elapsed_s = hold_for.as_secs_f64();
    figures.held = figures.signed_in.saturating_sub(figures.dropped);
    report.operations = figures.held;

    let _ = stop_tx.send(true);
    let all = async { while tasks.join_next().await.is_some() {} };
    if tokio::time::timeout(opts.timeout, all).await.is_err() {
        report.fail("some clients had not left when the hold ended".to_string());
    }
    if opts.server_pid.is_some() {
        tokio::time::sleep(SETTLE).await;
        figures.rss_kb_after_close = Samples::take(opts.server_pid).server.map(|s| s.rss_kb);
    }
    report.hold = Some(figures);
    report.latency = latencies.summary();
    report.server = ProcFigures::between(opts.server_pid, before.server, after.server);
    report.client = ProcFigures::between(None, before.client, after.client);
    Ok(report)
}
