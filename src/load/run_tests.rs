//! Each mode, tiny, against msgr's own TCP server in this process; and the refusals.
//! Nothing here asserts a timing: only counts, checks and what the errors say.

use std::time::Duration;

use super::*;
use crate::net::Server;
use crate::service::{LimitValue, ServiceConfig};

fn server(accounts: usize, limits: &[(&str, LimitValue)]) -> Server {
    let mut config = ServiceConfig::new();
    for (name, value) in limits {
        config.limits.set(name, *value).unwrap();
    }
    let server = Server::bind("127.0.0.1:0", config).unwrap();
    server.with_engine(|e| {
        for i in 0..accounts {
            e.add_user(&format!("load{i}@example.com"), "pw", None).unwrap();
        }
    });
    server
}

fn options(mode: Mode, server: &Server) -> Options {
    let mut o = Options::new(mode, "127.0.0.1", server.local_addr().port());
    o.duration = Some(Duration::from_millis(300));
    o.warmup = Duration::from_millis(50);
    o.server_pid = Some(std::process::id());
    o
}

#[test]
fn relay_delivers_every_message_in_order() {
    let server = server(4, &[]);
    let mut o = options(Mode::Relay, &server);
    o.pairs = 2;
    o.window = 8;
    let r = run(&o).unwrap();
    assert!(r.ok(), "{}", r.to_text());
    let c = r.checks.unwrap();
    assert!(r.operations > 0 && c.sent >= r.operations);
    assert_eq!((c.received, c.lost, c.out_of_order, c.corrupt), (c.sent, 0, 0, 0));
    assert_eq!(r.latency.unwrap().count, r.operations);
    assert!(r.server.is_some() && r.client.is_some());
    let json = r.to_json();
    assert_eq!(json["checks"]["in_order"], true);
    assert_eq!(json["settings"]["pairs"], 2);
}

#[test]
fn a_count_bounds_the_run() {
    let server = server(2, &[]);
    let mut o = options(Mode::Rtt, &server);
    o.duration = None;
    o.warmup = Duration::ZERO;
    o.count = Some(25);
    let r = run(&o).unwrap();
    assert!(r.ok(), "{}", r.to_text());
    assert_eq!(r.operations, 25);
    assert_eq!(r.checks.unwrap().received, 25);
}

#[test]
fn signin_and_hold() {
    let server = server(20, &[]);
    let mut o = options(Mode::Signin, &server);
    o.concurrency = 3;
    let r = run(&o).unwrap();
    assert!(r.ok() && r.operations > 0, "{}", r.to_text());

    let mut o = options(Mode::Hold, &server);
    o.clients = 20;
    let r = run(&o).unwrap();
    assert!(r.ok(), "{}", r.to_text());
    let h = r.hold.unwrap();
    assert_eq!((h.signed_in, h.held, h.dropped), (20, 20, 0));
    assert!(h.rss_kb_after_close.is_some());
}

#[test]
fn hold_counts_the_clients_refused_past_the_per_address_cap() {
    let server = server(12, &[("max_per_address", LimitValue::Number(8.0))]);
    let mut o = options(Mode::Hold, &server);
    o.clients = 12;
    o.server_pid = None;
    let r = run(&o).unwrap();
    let h = r.hold.unwrap();
    assert_eq!(h.held, 8, "{}", r.to_text());
    assert_eq!(r.refused.values().sum::<u64>(), 4, "{}", r.to_text());
    assert!(
        r.refused.keys().all(|k| k.contains("600 (server busy) to VER")),
        "{:?}",
        r.refused
    );
    assert!(!r.ok());
}

#[test]
fn refusals_quote_the_server() {
    let server = server(2, &[]);
    let mut o = options(Mode::Signin, &server);
    o.accounts = AccountPattern::parse("load{i}@example.com:wrong").unwrap();
    let err = run(&o).unwrap_err().to_string();
    assert!(err.contains("`USR 4 MD5 S ***`") && err.contains("911"), "{err}");

    let mut o = options(Mode::Relay, &server);
    o.accounts = AccountPattern::parse("nobody{i}@example.com:pw").unwrap();
    assert!(run(&o).unwrap_err().to_string().contains("911"));

    // The second account of the pair does not exist: its sign-in is refused.
    let lone = self::server(1, &[]);
    let o = options(Mode::Rtt, &lone);
    let err = run(&o).unwrap_err().to_string();
    assert!(err.contains("load1@example.com") && err.contains("911"), "{err}");
}

#[test]
fn a_closed_port_is_a_connection_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = Options::new(Mode::Signin, "127.0.0.1", port);
    let err = run(&o).unwrap_err();
    assert!(matches!(err, LoadError::Connect { .. }), "{err}");
}

#[test]
fn other_dialects_sign_in_through_the_nexus() {
    let server = server(2, &[]);
    let mut o = options(Mode::Rtt, &server);
    o.dialect = Dialect::Msnp11;
    o.nexus = Some(server.nexus_url().to_string());
    o.count = Some(5);
    let r = run(&o).unwrap();
    assert!(r.ok(), "{}", r.to_text());
    assert_eq!(r.protocol, "MSNP11");
}
