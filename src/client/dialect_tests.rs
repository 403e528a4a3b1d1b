//! The client engine against scripted servers of MSNP8 and later: the dialect the
//! server picks, `XFR NS` redirects, the Passport step, pings and the keep-alive.

use std::time::Duration;

use super::{ClientConfig, ClientEngine, ClientOutput, ClientState};
use crate::hresult::HResult;
use crate::proto::Dialect;

const T0: Duration = Duration::ZERO;

fn client(dialects: &[Dialect]) -> ClientEngine {
    let mut config = ClientConfig::new("alice@example.com", "pw", "dispatch.example.com:1863");
    config.dialects = dialects.to_vec();
    config.seed = Some(1);
    let mut c = ClientEngine::new(config);
    c.sign_in(T0).unwrap();
    c
}

/// What the client did since last asked: lines sent (per connection) and other outputs.
fn sent(c: &mut ClientEngine) -> Vec<String> {
    std::iter::from_fn(|| c.poll_output())
        .map(|o| match o {
            ClientOutput::Send { conn, cmd } => format!("{conn}> {}", cmd.line()),
            ClientOutput::Connect { conn, addr } => format!("connect {conn} {addr}"),
            ClientOutput::Close { conn } => format!("close {conn}"),
            ClientOutput::Passport {
                conn,
                challenge,
                account,
                ..
            } => {
                format!("passport {conn} {account} {challenge}")
            }
        })
        .collect()
}

fn server(c: &mut ClientEngine, conn: u64, lines: &[&str]) -> Vec<String> {
    for l in lines {
        c.receive(conn, format!("{l}\r\n").as_bytes(), T0);
    }
    sent(c)
}

/// From `VER` to signed in on `conn`, the server having picked `dialect`.
fn passport_sign_in(c: &mut ClientEngine, conn: u64, first_trid: u32, dialect: &str) {
    let t = first_trid;
    let got = server(c, conn, &[&format!("VER {t} {dialect}")]);
    assert_eq!(
        got,
        [format!(
            "{conn}> CVR {} 0x0409 winnt 5.1 i386 MSMSGS 4.7.3001 msmsgs alice@example.com",
            t + 1
        )]
    );
    let got = server(c, conn, &[&format!("CVR {} 4.7.3001 4.7.3001 4.7.3001 x x", t + 1)]);
    assert_eq!(got, [format!("{conn}> USR {} TWN I alice@example.com", t + 2)]);
    let got = server(c, conn, &[&format!("USR {} TWN S lc=1033,ct=1", t + 2)]);
    assert_eq!(got, [format!("passport {conn} alice@example.com lc=1033,ct=1")]);
    c.passport_ticket(conn, Ok("t=abc&p=def".into()), T0);
    assert_eq!(sent(c), [format!("{conn}> USR {} TWN S t=abc&p=def", t + 3)]);
    let got = server(c, conn, &[&format!("USR {} OK alice@example.com 1 0", t + 3)]);
    assert!(got[0].starts_with(&format!("{conn}> SYN {} 0", t + 4)), "{got:?}");
    server(c, conn, &[&format!("CHG {} NLN 0", t + 5)]);
    assert_eq!(c.state(), ClientState::SignedIn);
}

#[test]
fn the_client_takes_the_dialect_the_server_picked() {
    let mut c = client(&[Dialect::Msnp8, Dialect::Msnp11]);
    assert_eq!(sent(&mut c), ["connect 1 dispatch.example.com:1863"]);
    c.connected(1, T0);
    assert_eq!(sent(&mut c), ["1> VER 1 MSNP11 MSNP8 CVR0"]);
    passport_sign_in(&mut c, 1, 1, "MSNP8");
}

#[test]
fn an_old_style_ver_echo_of_the_whole_list_is_read_by_its_first_known_dialect() {
    let mut c = client(&[Dialect::Msnp7, Dialect::Msnp8]);
    sent(&mut c);
    c.connected(1, T0);
    sent(&mut c);
    // hypothetic.org's servers echoed every accepted dialect.
    passport_sign_in(&mut c, 1, 1, "MSNP8 MSNP7 CVR0");
}

#[test]
fn a_dialect_not_offered_fails_the_sign_in() {
    let mut c = client(&[Dialect::Msnp11]);
    sent(&mut c);
    c.connected(1, T0);
    sent(&mut c);
    let got = server(&mut c, 1, &["VER 1 MSNP9"]);
    assert_eq!(got, ["close 1"]);
    assert_eq!(c.state(), ClientState::Offline);
    let error = c.take_outcome(super::Waiting::SignIn).unwrap().unwrap_err();
    assert_eq!(error.hresult(), HResult::SR_SESSION_PROTOCOL_ERROR);
    assert!(error.to_string().contains("MSNP11"), "{error}");
}

#[test]
fn an_xfr_ns_redirect_starts_again_at_the_named_server() {
    let mut c = client(&[Dialect::Msnp11]);
    sent(&mut c);
    c.connected(1, T0);
    sent(&mut c);
    server(&mut c, 1, &["VER 1 MSNP11", "CVR 2 7.0 7.0 7.0 x x"]);
    let got = server(&mut c, 1, &["XFR 3 NS 10.0.0.5:1863 0 10.0.0.1:1863"]);
    assert_eq!(got, ["close 1", "connect 2 10.0.0.5:1863"]);
    c.connected(2, T0);
    // TrIDs go on from where the first connection stopped.
    assert_eq!(sent(&mut c), ["2> VER 4 MSNP11 CVR0"]);
    passport_sign_in(&mut c, 2, 4, "MSNP11");
}

#[test]
fn redirects_are_followed_a_few_times_only() {
    let mut c = client(&[Dialect::Msnp8]);
    sent(&mut c);
    let mut conn = 1;
    c.connected(conn, T0);
    for hop in 0..4 {
        let trid = 1 + hop * 3;
        sent(&mut c);
        let got = server(
            &mut c,
            conn,
            &[
                &format!("VER {trid} MSNP8"),
                &format!("CVR {} x x x x x", trid + 1),
                &format!("XFR {} NS 10.0.0.{hop}:1863 0 x", trid + 2),
            ],
        );
        if hop == 3 {
            assert!(got.contains(&format!("close {conn}")), "{got:?}");
            break;
        }
        conn += 1;
        c.connected(conn, T0);
    }
    assert_eq!(c.state(), ClientState::Offline);
    let error = c.take_outcome(super::Waiting::SignIn).unwrap().unwrap_err();
    assert!(
        error.to_string().contains("redirected the sign-in more than 3 times"),
        "{error}"
    );
}

#[test]
fn msnp11_pings_are_answered_with_the_msn_7_pair() {
    let mut c = client(&[Dialect::Msnp11]);
    sent(&mut c);
    c.connected(1, T0);
    sent(&mut c);
    passport_sign_in(&mut c, 1, 1, "MSNP11");
    // Vector 8 of msnp.md §d.6.
    let got = server(&mut c, 1, &["CHL 0 22210219642164014968"]);
    assert_eq!(got, ["1> QRY 7 PROD0090YUAUV{2B 32"]);
}

#[test]
fn the_keep_alive_follows_the_servers_qng() {
    let mut c = client(&[Dialect::Msnp9]);
    sent(&mut c);
    c.connected(1, T0);
    sent(&mut c);
    passport_sign_in(&mut c, 1, 1, "MSNP9");
    assert_eq!(c.next_deadline(), Some(Duration::from_secs(60)));
    c.tick(Duration::from_secs(60));
    assert_eq!(sent(&mut c), ["1> PNG"]);
    assert_eq!(c.next_deadline(), None, "the next one waits for QNG");
    c.receive(1, b"QNG 10\r\n", Duration::from_secs(61));
    assert_eq!(c.next_deadline(), Some(Duration::from_secs(71)));
    // A server asking for less than 5 s is not taken literally (msnp11-sdk hangs up).
    c.tick(Duration::from_secs(71));
    sent(&mut c);
    c.receive(1, b"QNG 1\r\n", Duration::from_secs(72));
    assert_eq!(c.next_deadline(), Some(Duration::from_secs(77)));
}
