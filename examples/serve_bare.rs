//! The TCP server alone, without Python: what the server itself costs, apart from the
//! binding (Python's `logging` hears every INFO record of `msgr serve`). For profiling
//! and docs/bench-tcp.md; not part of CI.
//!
//! `cargo run --release --example serve_bare -- PORT USERS_FILE [SECONDS]`
//!
//! USERS_FILE holds `EMAIL:PASSWORD` lines. Prints `serving MSNP on ADDRESS`, then serves
//! for SECONDS (default 3600); connections per address are not capped.

use std::time::Duration;

use msgr::net::Server;
use msgr::service::ServiceConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(port), Some(users)) = (args.get(1), args.get(2)) else {
        return Err("usage: serve_bare PORT USERS_FILE [SECONDS]".into());
    };
    let seconds: u64 = args.get(3).map_or(Ok(3600), |s| s.parse())?;
    let mut config = ServiceConfig::new();
    config.limits.max_per_address = usize::MAX;
    let server = Server::bind(("127.0.0.1", port.parse::<u16>()?), config)?;
    let text = std::fs::read_to_string(users)?;
    server.with_engine(|e| {
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .try_for_each(|(email, password)| e.add_user(email, password, None))
    })?;
    println!("msgr: serving MSNP on {}", server.local_addr());
    std::thread::sleep(Duration::from_secs(seconds));
    Ok(())
}
