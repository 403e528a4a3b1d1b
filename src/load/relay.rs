//! relay: pairs of users, each pair on its own switchboard. A streams invitations to B,
//! keeping `window` in flight; B checks that each arrives whole and in order, and how
//! long it took (the send time travels in the payload).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{oneshot, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::checks::{Arrival, Checks, Sequence};
use super::msnp::{self, Link, Reader, Writer};
use super::report::Report;
use super::stats::Latencies;
use super::{Budget, Claim, Ctx, LoadError, Samples};
use crate::proto::{sb, Dialect};
use crate::wire::InviteMessage;

/// Every relayed payload is this long: a realistic invitation, padded.
pub(crate) const PAYLOAD_LEN: usize = 332;

const APP_GUID: &str = "{4D5A2B7C-1E3F-4A6B-8C9D-0E1F2A3B4C5D}";

/// The invitation carrying message `seq` of pair `pair`, sent `sent_ns` after the run
/// began. Fixed-width numbers keep it [`PAYLOAD_LEN`] bytes; the padding varies with
/// `seq` so that a payload delivered to the wrong place shows.
pub(crate) fn payload(pair: usize, seq: u64, sent_ns: u64) -> Vec<u8> {
    let fields = |padding: String| {
        InviteMessage::new()
            .field("Application-Name", "msgr load")
            .field("Application-GUID", APP_GUID)
            .field("Invitation-Command", "INVITE")
            .field("Invitation-Cookie", format!("{seq:012}"))
            .field("Session-ID", format!("{{00000000-0000-4000-8000-{pair:012X}}}"))
            .field("X-Load-Sent", format!("{sent_ns:020}"))
            .field("Context-Data", padding)
    };
    let bare = fields(String::new()).encode().unwrap_or_default().len();
    let padding: String = (0..PAYLOAD_LEN.saturating_sub(bare))
        .map(|i| char::from(b'a' + ((seq as usize + i) % 26) as u8))
        .collect();
    fields(padding).encode().unwrap_or_default()
}

/// What a payload says about itself: (sequence number, send time in ns).
pub(crate) fn stamp(payload: &[u8]) -> Option<(u64, u64)> {
    let invite = InviteMessage::parse_payload(payload).ok()?;
    let seq = invite.cookie()?.parse().ok()?;
    let sent = invite.get("X-Load-Sent")?.parse().ok()?;
    Some((seq, sent))
}

/// What B's side of one pair found.
#[derive(Default)]
pub(crate) struct Received {
    pub checks: Checks,
    pub sequence: Sequence,
    pub measured: u64,
    /// When the last measured message arrived.
    pub last: Option<Instant>,
    pub latencies: Latencies,
    pub failures: Vec<String>,
}

/// Failure lines kept per pair; the counts say how many there were.
const PAIR_FAILURES: usize = 5;

impl Received {
    fn fail(&mut self, line: String) {
        if self.failures.len() < PAIR_FAILURES {
            self.failures.push(line);
        }
    }

    /// Whether all of the `sent` messages have arrived.
    fn all_in(&self, sent: u64) -> bool {
        self.sequence.outstanding(sent) == 0
    }
}

/// Checks one message arriving from `sender` (A, unless `from_ok` is false) against
/// what `pair` sent. Returns its send time when it is the first arrival of one of ours.
pub(crate) fn check(got: &mut Received, pair: usize, from_ok: bool, bytes: &[u8]) -> Option<u64> {
    got.checks.received += 1;
    let Some((seq, sent_ns)) = stamp(bytes) else {
        got.checks.corrupt += 1;
        got.sequence.unreadable();
        got.fail(format!(
            "pair {pair}: a message arrived that is not one of ours ({} bytes)",
            bytes.len()
        ));
        return None;
    };
    let intact = from_ok && bytes == payload(pair, seq, sent_ns).as_slice();
    if !intact {
        got.checks.corrupt += 1;
        got.fail(if from_ok {
            format!("pair {pair}: message {seq} arrived changed")
        } else {
            format!("pair {pair}: message {seq} arrived from someone else")
        });
    }
    match got.sequence.arrived(seq) {
        Arrival::Next => {}
        Arrival::Ahead { missing } => {
            let due = got.sequence.next() - 1 - missing;
            got.fail(format!("pair {pair}: message {seq} arrived when {due} was due"));
        }
        Arrival::Late => {
            got.checks.out_of_order += 1;
            got.fail(format!("pair {pair}: message {seq} arrived after later ones"));
        }
        Arrival::Duplicate => {
            got.checks.duplicated += 1;
            got.fail(format!("pair {pair}: message {seq} arrived again"));
            return None;
        }
        Arrival::Implausible => {
            // Its number was damaged; the bytes check has counted it already.
            if intact {
                got.checks.corrupt += 1;
            }
            got.sequence.unreadable();
            return None;
        }
    }
    Some(sent_ns)
}

/// A's side: sends until the budget says stop, `window` in flight at most, each batch
/// of free slots in one write. Returns how many it sent and why it stopped early.
async fn send(
    w: &mut Writer,
    slots: &Semaphore,
    budget: &Budget,
    pair: usize,
    window: usize,
    dialect: Option<Dialect>,
    ctx_timeout: std::time::Duration,
) -> (u64, Option<String>) {
    let mut seq = 0u64;
    let mut buf = Vec::with_capacity(window * (PAYLOAD_LEN + 32));
    loop {
        match tokio::time::timeout(ctx_timeout, slots.acquire()).await {
            Ok(Ok(permit)) => permit.forget(),
            Ok(Err(_)) => return (seq, None),
            Err(_) => {
                let why = format!(
                    "pair {pair}: {window} messages in flight and none arrived within {}",
                    crate::net::seconds(ctx_timeout)
                );
                return (seq, Some(why));
            }
        }
        let more = slots.available_permits().min(window - 1);
        if let Ok(p) = slots.try_acquire_many(more as u32) {
            p.forget();
        }
        buf.clear();
        let mut stop = false;
        for _ in 0..=more {
            if budget.claim() == Claim::Stop {
                stop = true;
                break;
            }
            let trid = w.next_trid();
            let payload = payload(pair, seq, budget.now_ns());
            sb::Request::Msg {
                trid,
                ack: "N".to_string(),
                payload,
            }
            .to_command(dialect)
            .encode_into(&mut buf);
            seq += 1;
        }
        if !buf.is_empty() && w.write(&buf).await.is_err() {
            return (
                seq,
                Some(format!("pair {pair}: the server closed A's switchboard connection")),
            );
        }
        if stop {
            return (seq, None);
        }
    }
}

/// B's side: reads until every message A sent has arrived (A says how many once it
/// stops), or nothing comes for `timeout`.
#[allow(clippy::too_many_arguments)]
async fn receive(
    r: &mut Reader,
    slots: &Semaphore,
    budget: &Budget,
    pair: usize,
    sender: &str,
    dialect: Option<Dialect>,
    mut total: oneshot::Receiver<u64>,
    timeout: std::time::Duration,
) -> Received {
    let mut got = Received::default();
    let mut sent: Option<u64> = None;
    loop {
        if sent.is_some_and(|s| got.all_in(s)) {
            break;
        }
        tokio::select! {
            n = &mut total, if sent.is_none() => sent = Some(n.unwrap_or(0)),
            cmd = tokio::time::timeout(timeout, r.next()) => match cmd {
                Ok(Ok(cmd)) => match sb::Reply::parse(&cmd, dialect) {
                    sb::Reply::Msg { sender: from, payload, .. } => {
                        slots.add_permits(1);
                        let arrived = Instant::now();
                        let now = budget.ns_at(arrived);
                        if let Some(sent_ns) = check(&mut got, pair, from == sender, &payload) {
                            if budget.measured_ns(sent_ns) {
                                got.measured += 1;
                                got.last = Some(arrived);
                                got.latencies.record(std::time::Duration::from_nanos(now.saturating_sub(sent_ns)));
                            }
                        }
                    }
                    sb::Reply::Bye { account, .. } => {
                        got.fail(format!("pair {pair}: {account} left B's switchboard"));
                        break;
                    }
                    other => got.fail(format!("pair {pair}: B's switchboard said `{}`", other.to_command(dialect).line())),
                },
                Ok(Err(_)) => {
                    got.fail(format!("pair {pair}: the server closed B's switchboard connection"));
                    break;
                }
                Err(_) => {
                    let outstanding = sent.map_or_else(
                        || "messages".to_string(),
                        |s| format!("{} of its {s} messages", got.sequence.outstanding(s)),
                    );
                    got.fail(format!(
                        "pair {pair}: nothing arrived for {} with {outstanding} outstanding",
                        crate::net::seconds(timeout)
                    ));
                    break;
                }
            },
        }
    }
    if let Ok(n) = total.try_recv() {
        sent = Some(n);
    }
    // Without A's total (A's task failed), what arrived is all that is known of.
    got.checks.sent = sent.unwrap_or(got.sequence.next());
    got.checks.lost = got.sequence.outstanding(got.checks.sent);
    got
}

/// Watches A's switchboard while A sends: with ack type `N` the server says nothing
/// unless delivery failed (`NAK`), someone left (`BYE`) or it refused (an error).
async fn watch_sender_side(
    mut r: Reader,
    pair: usize,
    dialect: Option<Dialect>,
    mut stop: watch::Receiver<bool>,
    b_done: Arc<AtomicBool>,
) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        tokio::select! {
            // Once stopped, what the others' leaving causes is no failure.
            biased;
            _ = msnp::stopped(&mut stop) => return failures,
            cmd = r.next() => match cmd {
                Ok(cmd) => {
                    let line = cmd.line();
                    match sb::Reply::parse(&cmd, dialect) {
                        // B's side has its verdict (every message in, or what went
                        // wrong): its leaving afterwards says nothing about the relay.
                        sb::Reply::Bye { .. } if b_done.load(Ordering::Acquire) => {}
                        sb::Reply::Nak { .. } | sb::Reply::Bye { .. } | sb::Reply::Error { .. } if failures.len() < 5 => {
                            failures.push(format!("pair {pair}: A's switchboard said `{line}`"));
                        }
                        _ => {}
                    }
                }
                Err(_) => {
                    let stopping = *stop.borrow();
                    if !stopping {
                        failures.push(format!("pair {pair}: the server closed A's switchboard connection"));
                    }
                    return failures;
                }
            },
        }
    }
}

/// One pair ready to go: both signed in and online, on one switchboard.
pub(crate) struct Pair {
    pub a_ns: Link,
    pub b_ns: Link,
    pub a_sb: Link,
    pub b_sb: Link,
}

/// Signs in pair `p`'s users (accounts 2p and 2p+1) and opens their switchboard.
pub(crate) async fn set_up(ctx: &Ctx, p: usize) -> Result<Pair, LoadError> {
    let target = &ctx.target;
    let (a, b) = (ctx.account(2 * p), ctx.account(2 * p + 1));
    let (src_a, src_b) = (ctx.source(2 * p), ctx.source(2 * p + 1));
    let mut a_ns = msnp::sign_in(target, &a, src_a).await?;
    let mut b_ns = msnp::sign_in(target, &b, src_b).await?;
    msnp::go_online(&mut a_ns).await?;
    msnp::go_online(&mut b_ns).await?;
    let (a_sb, b_sb) = msnp::switchboard(target, &mut a_ns, &mut b_ns, src_a).await?;
    Ok(Pair { a_ns, b_ns, a_sb, b_sb })
}

/// Sets up every pair at once; the first failure ends the run.
pub(crate) async fn set_up_all(ctx: &Arc<Ctx>, pairs: usize) -> Result<Vec<Pair>, LoadError> {
    let mut tasks = JoinSet::new();
    for p in 0..pairs {
        let ctx = ctx.clone();
        tasks.spawn(async move { (p, set_up(&ctx, p).await) });
    }
    let mut ready: Vec<Option<Pair>> = (0..pairs).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (p, pair) = done.map_err(|e| LoadError::Options(format!("a set-up task failed: {e}")))?;
        ready[p] = Some(pair?);
    }
    Ok(ready.into_iter().flatten().collect())
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Report, LoadError> {
    let opts = &ctx.opts;
    let ctx = ctx.shared();
    let pairs = set_up_all(&ctx, opts.pairs).await?;
    let (stop_tx, stop) = watch::channel(false);
    let budget = Arc::new(Budget::start(opts));
    let before = Samples::at(budget.measure_from(), opts.server_pid);

    let mut keep = JoinSet::new();
    let mut watchers = JoinSet::new();
    let mut senders = JoinSet::new();
    let mut receivers = JoinSet::new();
    for (p, pair) in pairs.into_iter().enumerate() {
        keep.spawn(msnp::keep_alive(pair.a_ns, stop.clone()));
        keep.spawn(msnp::keep_alive(pair.b_ns, stop.clone()));
        let slots = Arc::new(Semaphore::new(opts.window));
        let (total_tx, total_rx) = oneshot::channel();
        let dialect = pair.a_sb.dialect;
        let sender_email = pair.a_sb.who.clone();
        let (a_r, mut a_w) = pair.a_sb.split();
        let (mut b_r, b_w) = pair.b_sb.split();
        let b_done = Arc::new(AtomicBool::new(false));
        watchers.spawn(watch_sender_side(a_r, p, dialect, stop.clone(), b_done.clone()));
        let (budget_s, slots_s, window, timeout) = (budget.clone(), slots.clone(), opts.window, opts.timeout);
        senders.spawn(async move {
            let (sent, why) = send(&mut a_w, &slots_s, &budget_s, p, window, dialect, timeout).await;
            let _ = total_tx.send(sent);
            (a_w, Instant::now(), why)
        });
        let budget_r = budget.clone();
        receivers.spawn(async move {
            let got = receive(
                &mut b_r,
                &slots,
                &budget_r,
                p,
                &sender_email,
                dialect,
                total_rx,
                timeout,
            )
            .await;
            b_done.store(true, Ordering::Release);
            (got, b_w)
        });
    }

    let mut report = ctx.report();
    report.settings.insert("pairs".into(), opts.pairs.into());
    report.settings.insert("window".into(), opts.window.into());
    report.settings.insert("payload_bytes".into(), PAYLOAD_LEN.into());
    super::describe_bounds(&mut report, opts);

    let mut writers = Vec::new();
    let mut last_stop = budget.measure_from();
    while let Some(done) = senders.join_next().await {
        if let Ok((w, stopped, why)) = done {
            writers.push(w);
            last_stop = last_stop.max(stopped);
            if let Some(why) = why {
                report.fail(why);
            }
        }
    }
    let mut checks = Checks::default();
    let mut latencies = Latencies::new();
    // The measured stretch ends when its last message arrived (the senders stopped
    // before, with messages still on their way).
    let mut end = last_stop;
    while let Some(done) = receivers.join_next().await {
        if let Ok((got, b_w)) = done {
            writers.push(b_w);
            checks.add(&got.checks);
            report.operations += got.measured;
            end = end.max(got.last.unwrap_or(end));
            latencies.merge(&got.latencies);
            for f in got.failures {
                report.fail(f);
            }
        }
    }
    let after = Samples::take(opts.server_pid);
    let before = before.await.unwrap_or_default();
    report.elapsed_s = budget.elapsed(end);
    // Everyone stops watching before anyone leaves: a BYE now is no failure.
    let _ = stop_tx.send(true);
    for mut w in writers {
        w.goodbye().await;
    }
    while let Some(done) = watchers.join_next().await {
        for f in done.unwrap_or_default() {
            report.fail(f);
        }
    }
    Ok(super::conclude(report, &mut keep, checks, &latencies, opts.server_pid, (before, after)).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_fixed_size_invitations_that_carry_their_stamp() {
        for (pair, seq, ns) in [(0, 0, 0), (3, 17, 123_456_789), (999, 999_999_999_999, u64::MAX)] {
            let p = payload(pair, seq, ns);
            assert_eq!(p.len(), PAYLOAD_LEN, "{}", String::from_utf8_lossy(&p));
            assert_eq!(stamp(&p), Some((seq, ns)));
            let invite = InviteMessage::parse_payload(&p).unwrap();
            assert_eq!(invite.get("Invitation-Command"), Some("INVITE"));
        }
        assert_ne!(payload(0, 1, 5), payload(1, 1, 5));
        assert_ne!(payload(0, 1, 5), payload(0, 2, 5));
        assert_eq!(stamp(b"MIME-Version: 1.0\r\n\r\nhello"), None);
    }

    #[test]
    fn the_check_finds_loss_reordering_duplicates_corruption_and_strangers() {
        let mut got = Received::default();
        assert_eq!(check(&mut got, 1, true, &payload(1, 0, 10)), Some(10));
        assert_eq!(check(&mut got, 1, true, &payload(1, 1, 11)), Some(11));
        assert!(got.checks.passed() && got.failures.is_empty());
        // 2 skipped: missing for now, late once it comes.
        check(&mut got, 1, true, &payload(1, 3, 13));
        assert_eq!((got.checks.out_of_order, got.sequence.outstanding(4)), (0, 1));
        assert_eq!(check(&mut got, 1, true, &payload(1, 2, 12)), Some(12));
        assert_eq!((got.checks.out_of_order, got.sequence.outstanding(4)), (1, 0));
        assert_eq!(check(&mut got, 1, true, &payload(1, 3, 13)), None);
        assert_eq!(got.checks.duplicated, 1);
        // Another pair's message, a changed byte, another sender, or garbage: corrupt.
        check(&mut got, 1, true, &payload(2, 4, 14));
        let mut changed = payload(1, 5, 15);
        let last = changed.len() - 6;
        changed[last] ^= 1;
        check(&mut got, 1, true, &changed);
        check(&mut got, 1, false, &payload(1, 6, 16));
        assert_eq!(check(&mut got, 1, true, b"garbage"), None);
        assert_eq!(got.checks.corrupt, 4);
        assert_eq!(got.checks.received, 9);
        // 7 never came, 8 did: with the garbage standing for 7, nothing is outstanding.
        check(&mut got, 1, true, &payload(1, 8, 18));
        assert_eq!(got.sequence.outstanding(9), 0);
        assert_eq!(got.sequence.outstanding(10), 1);
        assert_eq!(got.failures.len(), PAIR_FAILURES);
        assert!(
            got.failures[0].contains("message 3 arrived when 2 was due"),
            "{:?}",
            got.failures
        );
    }
}
