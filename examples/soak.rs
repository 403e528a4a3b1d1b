//! A soak run against a running `msgr serve`: pairs of msgr clients churn through
//! sign-in, Lock and Key, an invitation accepted to CONNECTED, another cancelled, and a
//! drop (half sign out, half cut their sockets), for a bounded time, while the server's
//! resident memory is sampled. Not part of CI; `scripts/soak.sh` starts a server with the
//! accounts and licence this expects and runs it.
//!
//! With a nexus URL the clients sign in with MSNP11 and a Passport login (the server
//! keeps Argon2 hashes), and with a pace each pair rests that long between cycles.
//! Every sign-in's time (connect to signed in) is kept: each line reports the
//! interval's p50, p99 and slowest, and the last line the whole run's.
//!
//! `cargo run --release --example soak -- ADDRESS PAIRS SECONDS SERVER_PID [NEXUS_URL [PACE_MS]]`

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use msgr::client::{ClientConfig, ClientEvent, Waiting};
use msgr::session::SessionState;
use msgr::testkit::{Side, PASSWORD, WAIT};

#[derive(Default)]
struct Tally {
    cycles: AtomicU64,
    errors: AtomicU64,
    /// Sign-in times in microseconds: this interval's, and the whole run's.
    sign_ins: Mutex<(Vec<u32>, Vec<u32>)>,
}

impl Tally {
    fn signed_in(&self, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        let mut kept = self.sign_ins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.0.push(micros);
        kept.1.push(micros);
    }

    /// p50, p99 and slowest of this interval's sign-ins (ms), and of the run's.
    fn percentiles(&self) -> (String, String) {
        let mut kept = self.sign_ins.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let interval = percentiles(&mut std::mem::take(&mut kept.0));
        (interval, percentiles(&mut kept.1))
    }
}

fn percentiles(micros: &mut [u32]) -> String {
    if micros.is_empty() {
        return ",,".into();
    }
    micros.sort_unstable();
    let at = |q: f64| f64::from(micros[((micros.len() - 1) as f64 * q) as usize]) / 1000.0;
    format!("{:.1},{:.1},{:.1}", at(0.5), at(0.99), at(1.0))
}

struct Setup {
    address: String,
    nexus: Option<String>,
}

/// Pair `pair`'s address: each pair comes from one of its own (127.1.x.y), as people
/// signing in do, so the server's per-address caps hold as they would.
fn source(pair: usize) -> std::net::IpAddr {
    [127, 1, (pair / 250) as u8, (1 + pair % 250) as u8].into()
}

fn side(setup: &Setup, email: &str, pair: usize) -> Side {
    let mut config = ClientConfig::new(email, PASSWORD, &setup.address);
    config.local_ip = source(pair).to_string();
    if let Some(nexus) = &setup.nexus {
        config.dialects = vec![msgr::proto::Dialect::Msnp11];
        config.nexus = Some(nexus.clone());
    }
    let options = msgr::net::client::ClientOptions {
        source_ip: Some(source(pair)),
        ..Default::default()
    };
    Side::tcp_with_options(config, &options)
}

fn timed_sign_in(side: &Side, tally: &Tally, who: &str) {
    let start = Instant::now();
    side.sign_in().unwrap_or_else(|e| panic!("{who} signs in: {e}"));
    tally.signed_in(start.elapsed());
}

/// One cycle of one pair; panics (the kit's waits are bounded) on anything unexpected.
fn cycle(setup: &Setup, tally: &Tally, pair: usize, a_email: &str, b_email: &str, drop_hard: bool) {
    let (a, b) = (side(setup, a_email, pair), side(setup, b_email, pair));
    timed_sign_in(&a, tally, a_email);
    timed_sign_in(&b, tally, b_email);
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
    let (address, pairs, seconds, pid, rest) = match args.as_slice() {
        [_, address, pairs, seconds, pid, rest @ ..] if rest.len() <= 2 => (address, pairs, seconds, pid, rest),
        _ => {
            eprintln!("usage: soak ADDRESS PAIRS SECONDS SERVER_PID [NEXUS_URL [PACE_MS]]");
            std::process::exit(2);
        }
    };
    let setup = Arc::new(Setup {
        address: address.clone(),
        nexus: rest.first().filter(|n| !n.is_empty()).cloned(),
    });
    let pace = Duration::from_millis(rest.get(1).map_or(0, |p| p.parse().expect("PACE_MS")));
    let pairs: usize = pairs.parse().expect("PAIRS");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let pid: u32 = pid.parse().expect("SERVER_PID");
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..pairs)
        .map(|i| {
            let (setup, tally, stop) = (setup.clone(), tally.clone(), stop.clone());
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    let (a, b) = (
                        format!("soak{}@example.com", 2 * i),
                        format!("soak{}@example.com", 2 * i + 1),
                    );
                    let mut n = 0u64;
                    // Pairs start spread over one pace, as people arrive, not all at once.
                    std::thread::sleep(pace.mul_f64(i as f64 / pairs as f64));
                    while !stop.load(Ordering::Relaxed) {
                        let ok =
                            catch_unwind(AssertUnwindSafe(|| cycle(&setup, &tally, i, &a, &b, n % 2 == 1))).is_ok();
                        let counter = if ok { &tally.cycles } else { &tally.errors };
                        counter.fetch_add(1, Ordering::Relaxed);
                        n += 1;
                        std::thread::sleep(pace);
                    }
                })
                .expect("a worker thread")
        })
        .collect();
    println!("t_s,server_rss_kib,cycles,errors,signin_p50_ms,signin_p99_ms,signin_max_ms");
    let end = started + Duration::from_secs(seconds);
    while Instant::now() < end {
        std::thread::sleep(Duration::from_secs(10).min(end.saturating_duration_since(Instant::now())));
        println!(
            "{},{},{},{},{}",
            started.elapsed().as_secs(),
            rss_kib(pid).unwrap_or(0),
            tally.cycles.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed),
            tally.percentiles().0
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "done,{},{},{},{}",
        rss_kib(pid).unwrap_or(0),
        tally.cycles.load(Ordering::Relaxed),
        tally.errors.load(Ordering::Relaxed),
        tally.percentiles().1
    );
}
