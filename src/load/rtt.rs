//! rtt: one pair on one switchboard, one invitation at a time. A sends `INVITE`; B
//! answers each with `ACCEPT` carrying the same cookie; A times the round trip and
//! checks the answer is to the invitation it just sent.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::msnp::{self, Link, Reader, Writer};
use super::relay::{self, payload};
use super::report::{Checks, ProcFigures, Report};
use super::stats::Latencies;
use super::{Budget, Claim, Ctx, LoadError, Samples};
use crate::proto::{sb, Dialect};
use crate::wire::{InvitationCommand, InviteMessage};

/// B's answer to an invitation: `ACCEPT`, same cookie and session, as an invitee
/// whose application takes the session.
pub(crate) fn accept_for(invite: &InviteMessage) -> Option<Vec<u8>> {
    InviteMessage::new()
        .field("Invitation-Command", "ACCEPT")
        .field("Invitation-Cookie", invite.cookie()?)
        .field("Session-ID", invite.get("Session-ID")?)
        .field("Launch-Application", "FALSE")
        .field("Request-Data", "IP-Address:")
        .field("IP-Address", "127.0.0.1")
        .encode()
        .ok()
}

/// B: answers every invitation until the switchboard ends or `stop`.
async fn answer(mut r: Reader, mut w: Writer, dialect: Option<Dialect>, mut stop: watch::Receiver<bool>) {
    loop {
        let cmd = tokio::select! {
            _ = msnp::stopped(&mut stop) => break,
            cmd = r.next() => match cmd {
                Ok(cmd) => cmd,
                Err(_) => break,
            },
        };
        let sb::Reply::Msg { payload, .. } = sb::Reply::parse(&cmd, dialect) else {
            continue;
        };
        let Ok(invite) = InviteMessage::parse_payload(&payload) else {
            continue;
        };
        if invite.command() != Some(InvitationCommand::Invite) {
            continue;
        }
        let Some(accept) = accept_for(&invite) else { continue };
        let trid = w.next_trid();
        let msg = sb::Request::Msg {
            trid,
            ack: "N".to_string(),
            payload: accept,
        };
        if w.write(&msg.to_command(dialect).encode()).await.is_err() {
            break;
        }
    }
    w.goodbye().await;
}

/// A's answer to invitation `seq`, or why there is none.
async fn await_accept(a: &mut Link, seq: u64, timeout: Duration) -> Result<(), String> {
    let dialect = a.dialect;
    let wait = async {
        loop {
            match a.r.next().await {
                Ok(cmd) => match sb::Reply::parse(&cmd, dialect) {
                    sb::Reply::Msg { payload, .. } => {
                        let invite = InviteMessage::parse_payload(&payload)
                            .map_err(|e| format!("an answer that is not an invitation: {e}"))?;
                        let cookie = invite.cookie().unwrap_or_default().to_string();
                        if invite.command() != Some(InvitationCommand::Accept) {
                            return Err(format!("{:?} came back instead of ACCEPT", invite.command()));
                        }
                        if cookie.parse::<u64>().ok() != Some(seq) {
                            return Err(format!("the ACCEPT for invitation {cookie} came when {seq} was due"));
                        }
                        return Ok(());
                    }
                    sb::Reply::Nak { .. } | sb::Reply::Bye { .. } | sb::Reply::Error { .. } => {
                        return Err(format!("A's switchboard said `{}`", cmd.line()));
                    }
                    _ => {}
                },
                Err(_) => return Err("the server closed A's switchboard connection".to_string()),
            }
        }
    };
    match tokio::time::timeout(timeout, wait).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no ACCEPT for invitation {seq} within {}",
            crate::net::seconds(timeout)
        )),
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Report, LoadError> {
    let opts = &ctx.opts;
    let shared = Arc::new(Ctx {
        opts: opts.clone(),
        target: ctx.target.clone(),
    });
    let pair = relay::set_up(&shared, 0).await?;
    let (stop_tx, stop) = watch::channel(false);
    let mut keep = JoinSet::new();
    keep.spawn(msnp::keep_alive(pair.a_ns, stop.clone()));
    keep.spawn(msnp::keep_alive(pair.b_ns, stop.clone()));
    let dialect = pair.b_sb.dialect;
    let (b_r, b_w) = pair.b_sb.split();
    let responder = tokio::spawn(answer(b_r, b_w, dialect, stop.clone()));
    let mut a = pair.a_sb;

    let mut report = Report::new(opts.mode, ctx.target.addr.to_string(), opts.dialect.to_string());
    report
        .settings
        .insert("payload_bytes".into(), relay::PAYLOAD_LEN.into());
    super::describe_bounds(&mut report, opts);
    let budget = Budget::start(opts);
    let before = Samples::at(budget.measure_from(), opts.server_pid);
    let mut latencies = Latencies::new();
    let mut checks = Checks::default();
    let mut seq = 0u64;
    loop {
        let claim = budget.claim();
        if claim == Claim::Stop {
            break;
        }
        let start = tokio::time::Instant::now();
        let msg = sb::Request::Msg {
            trid: a.w.next_trid(),
            ack: "N".to_string(),
            payload: payload(0, seq, budget.ns_at(start)),
        };
        if a.w.write(&msg.to_command(a.dialect).encode()).await.is_err() {
            report.fail("the server closed A's switchboard connection".to_string());
            break;
        }
        checks.sent += 1;
        if let Err(why) = await_accept(&mut a, seq, opts.timeout).await {
            checks.lost += 1;
            report.fail(why);
            break;
        }
        checks.received += 1;
        if claim == Claim::Measured {
            latencies.record(start.elapsed());
            report.operations += 1;
        }
        seq += 1;
    }
    let end = tokio::time::Instant::now();
    let after = Samples::take(opts.server_pid);
    let before = before.await.unwrap_or_default();
    report.elapsed_s = budget.elapsed(end);
    let _ = stop_tx.send(true);
    a.goodbye().await;
    let _ = responder.await;
    while let Some(done) = keep.join_next().await {
        if let Ok(Some(e)) = done {
            report.fail(format!("a notification connection ended: {e}"));
        }
    }
    report.checks = Some(checks);
    report.latency = latencies.summary();
    report.server = ProcFigures::between(opts.server_pid, before.server, after.server);
    report.client = ProcFigures::between(None, before.client, after.client);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_accept_answers_the_invitation() {
        let invite = InviteMessage::parse_payload(&payload(0, 42, 7)).unwrap();
        let accept = InviteMessage::parse_payload(&accept_for(&invite).unwrap()).unwrap();
        assert_eq!(accept.command(), Some(InvitationCommand::Accept));
        assert_eq!(accept.cookie(), invite.cookie());
        assert_eq!(accept.get("Session-ID"), invite.get("Session-ID"));
        assert_eq!(accept_for(&InviteMessage::new()), None);
    }
}
