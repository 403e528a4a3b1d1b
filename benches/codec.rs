//! The wire layer without engines: `cargo bench --bench codec`. Run by `cargo test`
//! too, once each, so none rots.

use divan::{black_box, Bencher};
use msgr::proto::ns::{Reply, Request};
use msgr::proto::{sb, Dialect};
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

/// 64 switchboard `MSG`s with 332-byte payloads, as a sender with 64 in flight writes them.
fn relay_stream() -> Vec<u8> {
    let payload = [b'x'; 332];
    let mut bytes = Vec::new();
    for i in 1..=64 {
        bytes.extend_from_slice(format!("MSG {i} A 332\r\n").as_bytes());
        bytes.extend_from_slice(&payload);
    }
    bytes
}

/// The server's relay path on the wire side: one read of 64 `MSG`s decoded, each typed,
/// rebuilt as the relayed `MSG` (the payload moved, not copied) and encoded with its
/// `ACK` into the two connections' output buffers, as the TCP server does per read.
#[divan::bench(counter = divan::counter::ItemsCount::new(64usize))]
fn relay_64_messages(bencher: Bencher) {
    let bytes = relay_stream();
    let (mut to_recipient, mut to_sender) = (Vec::with_capacity(32 * 1024), Vec::with_capacity(1024));
    bencher.bench_local(|| {
        to_recipient.clear();
        to_sender.clear();
        let mut d = Decoder::new(Direction::ClientToServer);
        d.push(black_box(&bytes));
        while let Ok(Some(mut cmd)) = d.next_command() {
            let payload = cmd.payload.take().unwrap_or_default();
            let sb::Request::Msg { trid, .. } = sb::Request::parse(&cmd, None) else {
                continue;
            };
            sb::relayed_msg("alice@example.com", "Alice A", payload).encode_into(&mut to_recipient);
            sb::Reply::Ack { trid }.to_command(None).encode_into(&mut to_sender);
        }
        black_box((to_recipient.len(), to_sender.len()))
    });
}
