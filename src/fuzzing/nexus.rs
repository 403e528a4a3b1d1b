//! The Passport nexus's request handling ([`crate::net::Routes::respond`]) as a function
//! of method, path and headers, with a service behind its login; and
//! [`credentials`], the `Authorization: Passport1.4 …` parser, on arbitrary text.
//!
//! Input, read as a script: a method, a path, up to four headers (mostly
//! `Authorization`, in the official client's form with known or made-up credentials,
//! in raw forms, or as arbitrary bytes), then a sign-in name, a password and a challenge
//! for the parser's round trip.
//!
//! Checks: nothing panics; every answer is `text/html`; unknown paths are `404`, other
//! methods `405`; the nexus names the login URL as the client reads it; a login is `200`
//! exactly when the first `Authorization` carries an account's name and password, its
//! ticket reads back with the client's `from_pp` and signs that account in over MSNP8
//! once; a refusal is `401` with the documented `WWW-Authenticate`; the client's
//! `authorization` header reads back to the name and password it was made from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, StatusCode};

use super::Input;
use crate::net::nexus::{LOGIN_PATH, NEXUS_PATH};
use crate::net::{authorization, da_login, from_pp, Routes};
use crate::service::{credentials, ServiceEngine, ServiceOutput, LOGIN_FAILED};
use crate::testkit::{self, ALICE, BOB, PASSWORD};

const LOGIN_URL: &str = "http://127.0.0.1:1/login2.srf";
const NOW: Duration = Duration::from_secs(100);
const CHALLENGE: &str = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5";

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let engine = Arc::new(Mutex::new(ServiceEngine::new(testkit::service_config(1))));
    testkit::populate(&mut lock(&engine));
    let issued = Arc::new(Mutex::new(Vec::new()));
    let (e, i) = (engine.clone(), issued.clone());
    let routes = Routes::new(
        LOGIN_URL,
        Arc::new(move |name: &str, password: &str, peer| {
            let ticket = lock(&e).passport_login_from(name, password, peer, NOW);
            if let Ok(ticket) = &ticket {
                lock(&i).push(ticket.clone());
            }
            ticket.into()
        }),
    )
    .expect("a URL that fits a header");

    let method = method(&mut input);
    let path = path(&mut input);
    let mut headers = HeaderMap::new();
    for _ in 0..input.below(5) {
        let (name, value) = header(&mut input);
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            headers.append(name, value);
        }
    }

    let (status, answer) = routes.respond(&method, &path, &headers, None);
    assert_eq!(
        answer.get(CONTENT_TYPE).map(HeaderValue::as_bytes),
        Some(&b"text/html"[..])
    );
    let known = path == NEXUS_PATH || path.starts_with(LOGIN_PATH);
    if !known {
        assert_eq!(status, StatusCode::NOT_FOUND);
    } else if method != Method::GET && method != Method::HEAD {
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    } else if path == NEXUS_PATH {
        assert_eq!(status, StatusCode::OK);
        let urls = answer.get("passporturls").and_then(|v| v.to_str().ok());
        assert_eq!(urls.and_then(da_login).as_deref(), Some(LOGIN_URL));
    } else {
        login_answered(&engine, &headers, status, &answer, &lock(&issued));
    }

    let (name, password, challenge) = (input.text(), input.text(), input.text());
    let made = authorization(&name, &password, &challenge);
    assert_eq!(credentials(&made), Some((name, password)), "{made:?}");
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn login_answered(
    engine: &Mutex<ServiceEngine>,
    headers: &HeaderMap,
    status: StatusCode,
    answer: &HeaderMap,
    issued: &[String],
) {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .and_then(credentials);
    let account = given.as_ref().and_then(|(name, password)| {
        let e = lock(engine);
        let a = e.directory().account(name)?;
        a.password.verify(password).then(|| a.sign_in_name.clone())
    });
    let Some(account) = account else {
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{given:?}");
        let refusal = answer.get(WWW_AUTHENTICATE).map(HeaderValue::as_bytes);
        assert_eq!(refusal, Some(LOGIN_FAILED.as_bytes()));
        assert!(issued.is_empty());
        return;
    };
    assert_eq!(status, StatusCode::OK, "{given:?}");
    let info = answer.get("authentication-info").and_then(|v| v.to_str().ok());
    let ticket = info.and_then(from_pp).expect("a ticket the client can read");
    assert_eq!(issued, [ticket]);
    let name = given.map(|(name, _)| name).unwrap_or_default();
    let mut e = lock(engine);
    assert_eq!(
        twn_sign_in(&mut e, 1, &name, ticket),
        Some(account),
        "the ticket did not sign in"
    );
    assert_eq!(
        twn_sign_in(&mut e, 2, &name, ticket),
        None,
        "the ticket signed in twice"
    );
}

/// An MSNP8 sign-in with `ticket` on a new connection: who the service says signed in.
fn twn_sign_in(e: &mut ServiceEngine, conn: u64, name: &str, ticket: &str) -> Option<String> {
    e.open(conn, NOW);
    let lines = format!(
        "VER 1 MSNP8 CVR0\r\nCVR 2 0x0409 winnt 5.1 i386 MSNMSGR 6.0.0602 MSMSGS {name}\r\n\
         USR 3 TWN I {name}\r\nUSR 4 TWN S {ticket}\r\n"
    );
    e.receive(conn, lines.as_bytes(), NOW);
    std::iter::from_fn(|| e.poll_output()).find_map(|o| match o {
        ServiceOutput::Send { cmd, .. } if cmd.name == "USR" && cmd.args.get(1).is_some_and(|a| a == "OK") => {
            cmd.args.get(2).cloned()
        }
        _ => None,
    })
}

fn method(input: &mut Input) -> Method {
    match input.below(8) {
        0 | 1 => Method::GET,
        2 => Method::HEAD,
        3 => Method::POST,
        4 => Method::PUT,
        5 => Method::OPTIONS,
        // Methods are case-sensitive: `get` is not GET.
        6 => Method::from_bytes(b"get").expect("a token"),
        _ => Method::from_bytes(input.chunk()).unwrap_or(Method::DELETE),
    }
}

fn path(input: &mut Input) -> String {
    match input.below(7) {
        0 | 1 => NEXUS_PATH.to_string(),
        2 | 3 => LOGIN_PATH.to_string(),
        4 => format!("{LOGIN_PATH}{}", input.text()),
        5 => format!("{NEXUS_PATH}{}", input.text()),
        _ => input.text(),
    }
}

fn header(input: &mut Input) -> (HeaderName, Vec<u8>) {
    let name = match input.below(6) {
        0..=3 => AUTHORIZATION,
        4 => HeaderName::from_static("host"),
        _ => HeaderName::from_bytes(input.chunk()).unwrap_or(HeaderName::from_static("x-any")),
    };
    (name, header_value(input))
}

/// Mostly credentials in the shapes clients send, so that logins succeed too.
fn header_value(input: &mut Input) -> Vec<u8> {
    let name = match input.below(6) {
        0 => ALICE.to_string(),
        1 => "ALICE%40Example.COM".to_string(),
        2 => BOB.to_string(),
        3 => "carol@example.com".to_string(),
        _ => input.text(),
    };
    let password = match input.below(3) {
        0 | 1 => PASSWORD.to_string(),
        _ => input.text(),
    };
    match input.below(6) {
        0 | 1 => authorization(&name, &password, CHALLENGE).into_bytes(),
        2 => format!("Passport1.4 OrgVerb=GET,sign-in={name},pwd={password},{CHALLENGE}").into_bytes(),
        3 => format!("  Passport1.4   pwd={password},sign-in={name}, {}", input.text()).into_bytes(),
        4 => [b"Passport1.4 ".as_slice(), input.chunk()].concat(),
        _ => input.chunk().to_vec(),
    }
}
