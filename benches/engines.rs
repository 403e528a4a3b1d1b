//! The engines on the embedded hub, built with the test kit: `cargo bench --bench
//! engines`. Run by `cargo test` too, once each, so none rots.

use std::time::Duration;

use divan::Bencher;
use msgr::client::{ClientEvent, ObjectKind};
use msgr::service::{ServiceConfig, ServiceEngine};
use msgr::testkit::{self, Side, ALICE};

fn main() {
    divan::main();
}

/// A new Messenger signs in (MSNP7, MD5) on a populated hub.
#[divan::bench]
fn sign_in(bencher: Bencher) {
    bencher
        .with_inputs(|| Side::embedded(&testkit::hub(1), ALICE, None))
        .bench_values(|alice| alice.sign_in().unwrap());
}

/// The whole Lock and Key exchange on a new object of a signed-in Messenger.
#[divan::bench]
fn unlock(bencher: Bencher) {
    let alice = Side::embedded(&testkit::hub(1), ALICE, None);
    alice.sign_in().unwrap();
    bencher.bench_local(|| {
        alice.unlocked(ObjectKind::SessionManager);
        alice.events();
    });
}

/// Invite -> accept -> launched -> both sides connected.
#[divan::bench]
fn invite_to_connected(bencher: Bencher) {
    let p = testkit::pair(1, true);
    bencher.bench_local(|| {
        let (_sa, sb) = p.invite();
        p.b.call(|c, now| c.accept(sb, None, now)).unwrap();
        p.b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
        let changed =
            p.b.events()
                .iter()
                .any(|e| matches!(e, ClientEvent::StateChanged { .. }));
        assert!(changed);
        p.a.events();
        p.hub().clear_trace();
    });
}

/// The TCP server's timer looking for the next deadline with 100,000 connections open:
/// a scan of every connection, made at most 20 times a second (docs/bench-tcp.md).
#[divan::bench]
fn next_deadline_of_100k_connections(bencher: Bencher) {
    let mut e = ServiceEngine::new(ServiceConfig::new());
    for conn in 0..100_000 {
        e.open(conn, Duration::from_millis(conn));
    }
    bencher.bench_local(|| e.next_deadline());
}
