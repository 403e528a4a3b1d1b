//! A soak run against a running `msgr serve`: pairs of msgr clients churn through
//! sign-in, Lock and Key, an invitation accepted to CONNECTED, another cancelled, and a
//! drop (half sign out, half cut their sockets), for a bounded time, while the server's
//! resident memory is sampled. Not part of CI; `scripts/soak.sh` starts a server with the
//! accounts and licence this expects and runs it.
//!
//! `cargo run --release --example soak -- ADDRESS PAIRS SECONDS SERVER_PID`

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use msgr::client::{ClientConfig, ClientEvent, Waiting};
use msgr::session::SessionState;
use msgr::testkit::{Side, PASSWORD, WAIT};

#[derive(Default)]
struct Tally {
    cycles: AtomicU64,
    errors: AtomicU64,
}

fn side(address: &str, email: &str) -> Side {
    let mut config = ClientConfig::new(email, PASSWORD, address);
    config.local_ip = "127.0.0.1".into();
    Side::tcp_with(config)
}

/// One cycle of one pair; panics (the kit's waits are bounded) on anything unexpected.
fn cycle(address: &str, a_email: &str, b_email: &str, drop_hard: bool) {
    let (a, b) = (side(address, a_email), side(address, b_email));
    a.sign_in().expect("a signs in");
    b.sign_in().expect("b signs in");
    let (ma, mb) = (a.ready_manager(), b.ready_manager());
    let _ = mb;
    for cancel in [false, true] {
        let sa = a.new_session(ma);
        a.invite(sa, b_email, Some("soak")).expect("the invitation goes out");
        let sb = b.next(|e| match e {
            ClientEvent::Invitation { session, .. } => Some(*session),
            _ => None,
        });
        if cancel {
            a.call(|c, now| c.cancel(sa, 0x8100_0606, None, now)).unwrap();
            b.until("cancelled", |c| {
                c.session(sb).is_ok_and(|s| s.state() == SessionState::Cancelled)
            });
        } else {
            b.call(|c, now| c.accept(sb, Some("ok"), now)).unwrap();
            b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
            a.until("connected", |c| {
                c.session(sa).is_ok_and(|s| s.state() == SessionState::Connected)
            });
            let id = a.call(|c, _| Ok(c.new_text_id())).unwrap();
            a.driver
                .call_and_wait(a.m, Waiting::Text(id), WAIT, |c, now| {
                    c.send_text(id, b_email, "hi", now)
                })
                .expect("a message");
        }
    }
    if drop_hard {
        // The sockets just go: the server must clean up after a peer that vanishes.
        if let msgr::driver::Driver::Tcp(client) = &a.driver {
            client.close();
        }
    } else {
        a.sign_out();
    }
    b.sign_out();
    if let msgr::driver::Driver::Tcp(client) = &b.driver {
        client.close();
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, address, pairs, seconds, pid] = args.as_slice() else {
        eprintln!("usage: soak ADDRESS PAIRS SECONDS SERVER_PID");
        std::process::exit(2);
    };
    let pairs: usize = pairs.parse().expect("PAIRS");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let pid: u32 = pid.parse().expect("SERVER_PID");
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..pairs)
        .map(|i| {
            let (address, tally, stop) = (address.clone(), tally.clone(), stop.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let (a, b) = (
                        format!("soak{}@example.com", 2 * i),
                        format!("soak{}@example.com", 2 * i + 1),
                    );
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let ok = catch_unwind(AssertUnwindSafe(|| cycle(&address, &a, &b, n % 2 == 1))).is_ok();
                        let counter = if ok { &tally.cycles } else { &tally.errors };
                        counter.fetch_add(1, Ordering::Relaxed);
                        n += 1;
                    }
                })
                .expect("a worker thread")
        })
        .collect();
    println!("t_s,server_rss_kib,cycles,errors");
    let end = started + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(10).min(end.saturating_duration_since(Instant::now())));
        println!(
            "{},{},{},{}",
            started.elapsed().as_secs(),
            rss_kib(pid).unwrap_or(0),
            tally.cycles.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed)
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "done,{},{},{}",
        rss_kib(pid).unwrap_or(0),
        tally.cycles.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed)
    );
}
