//! The engines on the embedded hub, built with the test kit: `cargo bench --bench
//! engines`. Run by `cargo test` too, once each, so none rots.

use std::time::Duration;

use divan::Bencher;
use msgr::client::{ClientEvent, ObjectKind};
use msgr::driver::lock_hub;
use msgr::service::{ServiceConfig, ServiceEngine};
use msgr::testkit::{self, Side, ALICE, PASSWORD};

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

/// The unlock as the Python flow does it: a new object unlocked, its events taken, then
/// released, so nothing piles up from one iteration to the next.
#[divan::bench]
fn unlock_and_release(bencher: Bencher) {
    let alice = Side::embedded(&testkit::hub(1), ALICE, None);
    alice.sign_in().unwrap();
    bencher.bench_local(|| {
        let obj = alice.unlocked(ObjectKind::SessionManager);
        alice
            .call(|c, _| {
                c.release_object(obj);
                Ok(())
            })
            .unwrap();
        alice.events();
    });
}

/// The Python invitation row without Python: invite -> accept -> launched -> both sides
/// connected, then context data; the inviter's session is released afterwards.
#[divan::bench]
fn invite_with_context(bencher: Bencher) {
    let p = testkit::pair(1, true);
    bencher.bench_local(|| {
        let (sa, sb) = p.invite();
        p.b.call(|c, now| c.accept(sb, None, now)).unwrap();
        p.b.call(|c, _| c.launch_decided(sb, true, None)).unwrap();
        p.a.call(|c, now| c.send_context_data(sa, "ctx", now)).unwrap();
        p.a.call(|c, _| {
            c.release_object(sa);
            Ok(())
        })
        .unwrap();
        p.a.events();
        p.b.events();
    });
}

/// One Messenger's unlock (and release) while `n` Messengers are signed in to the hub:
/// the cost should not grow with `n`.
#[divan::bench(args = [10, 100, 1_000, 10_000])]
fn unlock_among(bencher: Bencher, n: usize) {
    let hub = testkit::hub(1);
    let mut sides = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("user{i}@example.com");
        lock_hub(&hub).service_mut().add_user(&name, PASSWORD, None).unwrap();
        let side = Side::embedded(&hub, &name, None);
        side.sign_in().unwrap();
        sides.push(side);
    }
    lock_hub(&hub).take_events();
    let mut turn = 0;
    bencher.bench_local(|| {
        // Round the first hundred, as scripts/bench.py does.
        let side = &sides[turn % n.min(100)];
        turn += 1;
        let obj = side.unlocked(ObjectKind::SessionManager);
        side.call(|c, _| {
            c.release_object(obj);
            Ok(())
        })
        .unwrap();
        lock_hub(&hub).take_events();
    });
}

/// The TCP server's timer looking for the next deadline with 100,000 connections open:
/// a scan of every connection, made at most every 50 ms (docs/bench-tcp.md).
#[divan::bench]
fn next_deadline_of_100k_connections(bencher: Bencher) {
    let mut e = ServiceEngine::new(ServiceConfig::new());
    for conn in 0..100_000 {
        e.open(conn, Duration::from_millis(conn));
    }
    bencher.bench_local(|| e.next_deadline());
}
