//! Throughput of the pure core, without Python: `cargo bench --bench core`.
//! A plain harness (no extra crates): each case runs for about a second and prints
//! operations per second and the time per operation.

use std::hint::black_box;
use std::time::{Duration, Instant};

use msgr::client::{ClientEvent, ObjectKind};
use msgr::embedded::Embedded;
use msgr::service::{LockAndKey, ServiceConfig};
use msgr::wire::challenge::{md5_response, msnp11_response};
use msgr::wire::{Decoder, Direction, InviteMessage};

fn bench(name: &str, mut op: impl FnMut() -> usize) {
    let start = Instant::now();
    let mut ops = 0usize;
    while start.elapsed() < Duration::from_secs(1) {
        ops += op();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<44} {:>12.0} ops/s {:>10.2} µs/op",
        ops as f64 / secs,
        secs * 1e6 / ops as f64
    );
}

fn stream() -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..100 {
        bytes.extend_from_slice(format!("CHL {i} 12345678901234567890\r\n").as_bytes());
        bytes.extend_from_slice(format!("QRY {i} msmsgs@msnmsgr.com 32\r\n").as_bytes());
        bytes.extend_from_slice(b"0123456789abcdef0123456789abcdef");
    }
    bytes
}

fn main() {
    let bytes = stream();
    bench("decode 200 commands (1 chunk), per command", || {
        let mut d = Decoder::new(Direction::ClientToServer);
        d.push(&bytes);
        let mut n = 0;
        while let Ok(Some(c)) = d.next_command() {
            black_box(c);
            n += 1;
        }
        n
    });
    bench("decode 200 commands (7-byte chunks), per command", || {
        let mut d = Decoder::new(Direction::ClientToServer);
        let mut n = 0;
        for chunk in bytes.chunks(7) {
            d.push(chunk);
            while let Ok(Some(c)) = d.next_command() {
                black_box(c);
                n += 1;
            }
        }
        n
    });
    bench("lock_response (MD5)", || {
        black_box(md5_response(black_box("22299241447072743325"), "Q1P7W2E4J9R8U3S5"));
        1
    });
    bench("msnp11_response", || {
        black_box(msnp11_response(
            black_box("22210219642164014968"),
            "PROD0090YUAUV{2B",
            "YMM8C_H7KCQ2S_KL",
        ));
        1
    });
    let payload = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invitations/probe_invite.bin"
    ))
    .expect("fixture");
    bench("parse x-msmsgsinvite payload", || {
        black_box(InviteMessage::parse_payload(black_box(&payload)).ok());
        1
    });

    bench("embedded: MSNP7 sign-in of a new Messenger", || {
        let mut w = Embedded::new(ServiceConfig {
            seed: Some(1),
            ..ServiceConfig::new()
        });
        w.service_mut().add_user("a@example.com", "pw", None).ok();
        let m = w.add_messenger("a@example.com", "pw");
        w.sign_in(m, None).ok();
        1
    });

    bench("embedded: full Lock and Key unlock", || {
        let mut w = Embedded::new(ServiceConfig {
            seed: Some(1),
            ..ServiceConfig::new()
        });
        w.service_mut().add_user("a@example.com", "pw", None).ok();
        w.service_mut().license("app@msnmsgr.com", "KEY").ok();
        let m = w.add_messenger("a@example.com", "pw");
        w.sign_in(m, None).ok();
        let mut n = 0;
        for _ in 0..50 {
            let obj = w.create_lock_object(m, ObjectKind::SessionManager).unwrap_or_default();
            w.request_challenge(m, obj, 1).ok();
            let challenge = w.take_events().into_iter().find_map(|(_, e)| match e {
                ClientEvent::LockChallenge { challenge, .. } => Some(challenge),
                _ => None,
            });
            if let Some(c) = challenge {
                w.send_response(m, obj, "app@msnmsgr.com", &md5_response(&c, "KEY"), 1)
                    .ok();
                n += 1;
            }
        }
        w.take_events();
        n
    });

    bench("embedded: invite -> accept -> connected", || {
        let guid = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";
        let config = ServiceConfig {
            seed: Some(1),
            lock_and_key: LockAndKey::Off,
            ..ServiceConfig::new()
        };
        let mut w = Embedded::new(config);
        w.service_mut().add_user("a@example.com", "pw", None).ok();
        w.service_mut().add_user("b@example.com", "pw", None).ok();
        let (a, b) = (
            w.add_messenger("a@example.com", "pw"),
            w.add_messenger("b@example.com", "pw"),
        );
        w.sign_in(a, None).ok();
        w.sign_in(b, None).ok();
        let ma = w.create_lock_object(a, ObjectKind::SessionManager).unwrap_or_default();
        let mb = w.create_lock_object(b, ObjectKind::SessionManager).unwrap_or_default();
        w.call(a, |c, _| c.register_application(ma, guid, "n", "", "/x", 0))
            .ok();
        w.call(b, |c, _| c.register_application(mb, guid, "n", "", "/x", 0))
            .ok();
        let mut n = 0;
        for _ in 0..50 {
            let Ok(s) = w.call(a, |c, _| c.create_session(ma)) else {
                break;
            };
            w.call(a, |c, _| c.set_application(s, guid)).ok();
            w.invite(a, s, "b@example.com", None).ok();
            let invited = w.take_events().into_iter().find_map(|(_, e)| match e {
                ClientEvent::Invitation { session, .. } => Some(session),
                _ => None,
            });
            if let Some(sb) = invited {
                w.call(b, |c, now| c.accept(sb, None, now)).ok();
                w.call(b, |c, _| c.launch_decided(sb, true, None)).ok();
                n += 1;
            }
            w.take_events();
        }
        w.clear_trace();
        n
    });
}
