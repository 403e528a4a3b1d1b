//! The wire layer without engines: `cargo bench --bench codec`. Run by `cargo test`
//! too, once each, so none rots.

use divan::{black_box, Bencher};
use msgr::proto::ns::{Reply, Request};
use msgr::proto::Dialect;
use msgr::wire::challenge::{md5_response, msnp11_response};
use msgr::wire::{Decoder, Direction, InviteMessage};

fn main() {
    divan::main();
}

/// 200 commands: `CHL` lines and `QRY`s with their 32-byte payloads.
fn stream() -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..100 {
        bytes.extend_from_slice(format!("CHL {i} 12345678901234567890\r\n").as_bytes());
        bytes.extend_from_slice(format!("QRY {i} msmsgs@msnmsgr.com 32\r\n").as_bytes());
        bytes.extend_from_slice(b"0123456789abcdef0123456789abcdef");
    }
    bytes
}

/// In chunks of `chunk` bytes (0: the whole stream at once), as links deliver it.
#[divan::bench(args = [0, 7], counter = divan::counter::ItemsCount::new(200usize))]
fn decode_200_commands(bencher: Bencher, chunk: usize) {
    let bytes = stream();
    let chunk = if chunk == 0 { bytes.len() } else { chunk };
    bencher.bench(|| {
        let mut d = Decoder::new(Direction::ClientToServer);
        for part in bytes.chunks(chunk) {
            d.push(part);
            while let Ok(Some(c)) = d.next_command() {
                black_box(c);
            }
        }
    });
}

#[divan::bench]
fn typed_parse_and_build(bencher: Bencher) {
    let mut d = Decoder::new(Direction::ServerToClient);
    d.push(b"RNG 11752013 127.0.0.1:1864 CKI 849102291.520491113 a@b.com Alice%20A\r\n");
    let cmd = d.next_command().unwrap().unwrap();
    bencher.bench(|| {
        let reply = Reply::parse(black_box(&cmd), Some(Dialect::Msnp7));
        black_box(reply.to_command(Some(Dialect::Msnp7)))
    });
}

#[divan::bench]
fn build_a_request() -> msgr::wire::Command {
    Request::Qry {
        trid: black_box(7),
        id: "msmsgs@msnmsgr.com".into(),
        digest: b"0123456789abcdef0123456789abcdef".to_vec(),
    }
    .to_command(None)
}

#[divan::bench]
fn lock_response_md5() -> String {
    md5_response(black_box("22299241447072743325"), "Q1P7W2E4J9R8U3S5")
}

#[divan::bench]
fn msnp11_challenge_answer() -> String {
    msnp11_response(
        black_box("22210219642164014968"),
        "PROD0090YUAUV{2B",
        "YMM8C_H7KCQ2S_KL",
    )
}

#[divan::bench]
fn parse_an_invitation(bencher: Bencher) {
    let payload = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/invitations/probe_invite.bin"
    ))
    .expect("fixture");
    bencher.bench(|| InviteMessage::parse_payload(black_box(&payload)).ok());
}
