//! The nexus's whole HTTP path for one connection: hyper reading what a client sends,
//! in the pieces it arrives in, through the nexus's answer and its spellings, to the
//! bytes written back; over an in-memory pipe, with the builder settings a socket gets
//! (`net::nexus::serve_io`), and a service behind the login.
//!
//! Input, read as a script: the peer (one of four addresses), then up to eight writes,
//! each a piece of a request (request lines and headers clients send, `Authorization`
//! with right or wrong credentials, bodies, `Content-Length` and chunked framing, bare
//! LF, or raw bytes), split anywhere; then the client closes its side.
//!
//! Checks: nothing panics, the connection ends once the client has closed its side,
//! and what comes back is whole HTTP/1.1 responses with no body: our own (`200`, `401`,
//! `404`, `405`, each `text/html`, a `200` login with `Authentication-Info` naming a
//! ticket for an account whose password was sent) or hyper's refusal of what it cannot
//! read (`400`, `408`, `413`, `414`, `431`, `501`, `505`), never `500` (an answer
//! that panicked). A response of ours comes only after a request reached the nexus.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Input;
use crate::net::nexus::serve_io;
use crate::net::Routes;
use crate::service::ServiceEngine;
use crate::testkit;

const LOGIN_URL: &str = "http://127.0.0.1:1/login2.srf";
const NOW: Duration = Duration::from_secs(100);
/// A bound no answer comes near: nothing in this path waits (logins answer at once).
const BOUND: Duration = Duration::from_secs(20);

const PIECES: &[&str] = &[
    "GET /rdr/pprdr.asp HTTP/1.1\r\n",
    "GET /login2.srf HTTP/1.1\r\n",
    "HEAD /login2.srf HTTP/1.1\r\n",
    "POST /login2.srf HTTP/1.1\r\n",
    "GET /nothing HTTP/1.1\r\n",
    "GET /rdr/pprdr.asp HTTP/1.0\r\n",
    "GET /rdr/pprdr.asp HTTP/2.0\r\n",
    "Host: nexus\r\n",
    "Connection: close\r\n",
    "Connection: keep-alive\r\n",
    "Content-Length: 5\r\n",
    "Content-Length: 999999999\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=pw,lc=1033\r\n",
    "Authorization: Passport1.4 OrgVerb=GET,sign-in=bob@example.com,pwd=pw\r\n",
    "Authorization: Passport1.4 OrgVerb=GET,sign-in=alice%40example.com,pwd=wrong\r\n",
    "Authorization: Passport1.4 sign-in=nobody%40example.com,pwd=pw\r\n",
    "Authorization: Basic YWxpY2U6cHc=\r\n",
    "\r\n",
    "\n",
    "hello",
    "5\r\nhello\r\n0\r\n\r\n",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let peer: IpAddr = [127, 0, 0, 1 + input.below(4) as u8].into();
    let mut writes: Vec<Vec<u8>> = Vec::new();
    for _ in 0..input.below(9) {
        let mut bytes = Vec::new();
        for _ in 0..1 + input.below(6) {
            if input.below(5) == 0 {
                bytes.extend_from_slice(input.chunk());
            } else {
                bytes.extend_from_slice(input.pick(PIECES).as_bytes());
            }
        }
        // Split anywhere: the pieces arrive as they may on a socket.
        let at = input.below(bytes.len() + 1);
        let rest = bytes.split_off(at);
        writes.push(bytes);
        writes.push(rest);
    }

    let engine = Arc::new(Mutex::new(ServiceEngine::new(testkit::service_config(1))));
    testkit::populate(&mut engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    let e = engine.clone();
    let routes = Routes::new(
        LOGIN_URL,
        Arc::new(move |name: &str, password: &str, peer| {
            let mut engine = e.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            engine.passport_login_from(name, password, peer, NOW).into()
        }),
    )
    .expect("a URL that fits a header");

    let (answer, asked) = runtime().block_on(async move {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let served = tokio::spawn(serve_io(server, peer, routes));
        let talk = async {
            for w in &writes {
                if client.write_all(w).await.is_err() {
                    break;
                }
            }
            let _ = client.shutdown().await;
            let mut answer = Vec::new();
            let _ = client.read_to_end(&mut answer).await;
            answer
        };
        let answer = tokio::time::timeout(BOUND, talk)
            .await
            .expect("the nexus ends the connection");
        let asked = tokio::time::timeout(BOUND, served)
            .await
            .expect("the connection's task ends")
            .expect("the connection's task does not panic");
        (answer, asked)
    });
    responses_are_whole(&answer, asked);
}

/// `answer` is whole HTTP/1.1 (or, to an HTTP/1.0 request, 1.0) responses without
/// bodies, as the module says.
fn responses_are_whole(answer: &[u8], asked: bool) {
    let text = std::str::from_utf8(answer).expect("responses are ASCII");
    let mut rest = text;
    while !rest.is_empty() {
        let (head, after) = rest
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("a whole head: {rest:?}"));
        rest = after;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        // hyper answers an HTTP/1.0 request in its version.
        let status: u16 = status_line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {status_line:?}"));
        let headers: Vec<(String, &str)> = lines
            .map(|l| {
                let (name, value) = l.split_once(": ").unwrap_or_else(|| panic!("a header: {l:?}"));
                (name.to_ascii_lowercase(), value)
            })
            .collect();
        let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        if let Some(length) = header("content-length") {
            assert_eq!(length, "0", "no response has a body");
        }
        match status {
            200 | 401 | 404 | 405 => {
                assert!(asked, "our answer to a request that never came");
                assert_eq!(header("content-type"), Some("text/html"));
                if status == 401 {
                    assert!(header("www-authenticate").is_some_and(|v| v.contains("da-status=failed")));
                }
                if let Some(info) = header("authentication-info") {
                    assert_eq!(status, 200);
                    let ticket = crate::net::from_pp(info).expect("a ticket the client reads");
                    assert!(ticket.starts_with("t="), "{ticket}");
                }
            }
            400 | 408 | 413 | 414 | 431 | 501 | 505 => {}
            other => panic!("status {other}: {head:?}"),
        }
    }
}
