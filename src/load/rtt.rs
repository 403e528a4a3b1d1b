//! rtt: one pair on one switchboard, one invitation at a time. A sends `INVITE`; B
//! answers each with `ACCEPT` carrying the same cookie; A times the round trip and
//! checks the answer is to the invitation it just sent.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::checks::Checks;
use super::msnp::{self, Link, Reader, Writer};
use super::relay::{self, payload};
use super::report::Report;
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

/// What B found in the invitations it answered.
#[derive(Default)]
struct Answered {
    corrupt: u64,
    failures: Vec<String>,
}

/// B: answers every invitation from `inviter` until the switchboard ends or `stop`,
/// checking each is one of ours, intact (an unreadable one gets no answer, so A's
/// wait for it runs out).
async fn answer(
    mut r: Reader,
    mut w: Writer,
    inviter: String,
    dialect: Option<Dialect>,
    mut stop: watch::Receiver<bool>,
) -> Answered {
    let mut found = Answered::default();
    let corrupt = |found: &mut Answered, why: String| {
        found.corrupt += 1;
        if found.failures.len() < 5 {
            found.failures.push(why);
        }
    };
    loop {
        let cmd = tokio::select! {
            _ = msnp::stopped(&mut stop) => break,
            cmd = r.next() => match cmd {
                Ok(cmd) => cmd,
                Err(_) => break,
            },
        };
        let sb::Reply::Msg { sender, payload, .. } = sb::Reply::parse(&cmd, dialect) else {
            continue;
        };
        let Some((seq, sent_ns)) = relay::stamp(&payload) else {
            corrupt(
                &mut found,
                format!("B got a message that is not one of ours ({} bytes)", payload.len()),
            );
            continue;
        };
        if sender != inviter || payload != relay::payload(0, seq, sent_ns) {
            corrupt(&mut found, format!("invitation {seq} reached B changed"));
        }
        let Some(accept) = InviteMessage::parse_payload(&payload).ok().and_then(|i| accept_for(&i)) else {
            continue;
        };
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
    found
}

/// How A's wait for the answer to one invitation ended.
enum Answer {
    /// The ACCEPT, as B must have sent it.
    Intact,
    /// Something else came back in its place (said why).
    Changed(String),
}

/// A's answer to invitation `seq` (whose ACCEPT must be `expected`, from `invitee`),
/// or why none came. Answers to earlier invitations arriving again are counted in
/// `duplicated` and passed over.
async fn await_accept(
    a: &mut Link,
    seq: u64,
    expected: &[u8],
    invitee: &str,
    duplicated: &mut u64,
    timeout: Duration,
) -> Result<Answer, String> {
    let dialect = a.dialect;
    let wait = async {
        loop {
            match a.r.next().await {
                Ok(cmd) => match sb::Reply::parse(&cmd, dialect) {
                    sb::Reply::Msg { sender, payload, .. } => {
                        if sender == invitee && payload == expected {
                            return Ok(Answer::Intact);
                        }
                        let invite = InviteMessage::parse_payload(&payload).ok();
                        let answered = invite.as_ref().and_then(|i| i.cookie()?.parse::<u64>().ok());
                        let accept =
                            invite.as_ref().and_then(InviteMessage::command) == Some(InvitationCommand::Accept);
                        if accept && answered.is_some_and(|c| c < seq) {
                            *duplicated += 1;
                            continue;
                        }
                        let why = match answered {
                            _ if sender != invitee => format!("the answer to invitation {seq} came from {sender}"),
                            Some(c) if accept && c != seq => {
                                format!("the answer to invitation {seq} came back for invitation {c}")
                            }
                            _ => format!("the answer to invitation {seq} arrived changed"),
                        };
                        return Ok(Answer::Changed(why));
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
            "no answer to invitation {seq} within {}",
            crate::net::seconds(timeout)
        )),
    }
}

pub(crate) async fn run(ctx: &Ctx) -> Result<Report, LoadError> {
    let opts = &ctx.opts;
    let shared = ctx.shared();
    let pair = relay::set_up(&shared, 0).await?;
    let (stop_tx, stop) = watch::channel(false);
    let mut keep = JoinSet::new();
    keep.spawn(msnp::keep_alive(pair.a_ns, stop.clone()));
    keep.spawn(msnp::keep_alive(pair.b_ns, stop.clone()));
    let dialect = pair.b_sb.dialect;
    let (inviter, invitee) = (pair.a_sb.who.clone(), pair.b_sb.who.clone());
    let (b_r, b_w) = pair.b_sb.split();
    let responder = tokio::spawn(answer(b_r, b_w, inviter, dialect, stop.clone()));
    let mut a = pair.a_sb;

    let mut report = ctx.report();
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
        let invitation = payload(0, seq, budget.ns_at(start));
        let expected = InviteMessage::parse_payload(&invitation)
            .ok()
            .and_then(|i| accept_for(&i))
            .unwrap_or_default();
        let msg = sb::Request::Msg {
            trid: a.w.next_trid(),
            ack: "N".to_string(),
            payload: invitation,
        };
        if a.w.write(&msg.to_command(a.dialect).encode()).await.is_err() {
            report.fail("the server closed A's switchboard connection".to_string());
            break;
        }
        checks.sent += 1;
        let answer = await_accept(&mut a, seq, &expected, &invitee, &mut checks.duplicated, opts.timeout).await;
        match answer {
            Ok(Answer::Intact) => {}
            Ok(Answer::Changed(why)) => {
                checks.corrupt += 1;
                report.fail(why);
            }
            // The run stops at the first answer that does not come: a late one would
            // only be taken for the next invitation's.
            Err(why) => {
                checks.lost += 1;
                report.fail(why);
                break;
            }
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
    if let Ok(found) = responder.await {
        checks.corrupt += found.corrupt;
        for f in found.failures {
            report.fail(f);
        }
    }
    checks.received += checks.duplicated;
    Ok(super::conclude(report, &mut keep, checks, &latencies, opts.server_pid, (before, after)).await)
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
