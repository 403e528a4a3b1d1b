//! Passport 1.4 over real sockets on 127.0.0.1: the nexus's raw answers (header names
//! as the bytes spell them), MSNP8 sign-in through it, tickets that must not work, and
//! HTTPS with a certificate made here.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::nexus::{NexusConfig, TlsFiles};
use super::passport::{from_pp, Passport};
use super::{Client, ClientOptions, NetError, Server};
use crate::client::{ClientConfig, ClientState, Waiting};
use crate::hresult::HResult;
use crate::proto::Dialect;
use crate::service::LOGIN_FAILED;
use crate::testkit::{self, Side, ALICE, BOB, PASSWORD, WAIT};

/// A populated server that speaks MSNP8 only, its nexus as `nexus` says.
fn msnp8_server(nexus: &NexusConfig) -> Server {
    let mut config = testkit::service_config(5);
    config.dialects = vec![Dialect::Msnp8];
    let server = Server::bind_with("127.0.0.1:0", config, nexus).unwrap();
    server.with_engine(testkit::populate);
    server
}

fn msnp8_client(email: &str, password: &str, nexus: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new(email, password, "");
    config.local_ip = "127.0.0.1".to_string();
    config.seed = Some(9);
    config.dialects = vec![Dialect::Msnp8];
    config.nexus = nexus.map(str::to_string);
    config
}

/// The client of `config` for `server`, signing in; its outcome.
fn sign_in(server: &Server, mut config: ClientConfig, options: &ClientOptions) -> (Client, Result<(), NetError>) {
    config.ns_address = server.local_addr().to_string();
    let client = Client::with_options(config, options).unwrap();
    let outcome = client.call_and_wait(Waiting::SignIn, WAIT, |c, now| c.sign_in(now));
    (client, outcome)
}

/// One request over a plain socket and the whole raw answer, as a client would see it.
fn raw_get(addr: SocketAddr, target: &str, authorization: Option<&[u8]>) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    if let Some(value) = authorization {
        request.extend_from_slice(b"Authorization: ");
        request.extend_from_slice(value);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    String::from_utf8(answer).unwrap()
}

/// The header lines of a raw answer, as sent.
fn header_lines(answer: &str) -> Vec<&str> {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
    assert_eq!(body, "", "the nexus sends no body");
    head.split("\r\n").skip(1).collect()
}

const CHALLENGE: &str =
    "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1,kpp=1,kv=5,ver=2.1.0173.1,tpf=0";

fn official_authorization(sign_in: &str, password: &str) -> String {
    format!("Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={sign_in},pwd={password},{CHALLENGE}")
}

/// A ticket from the login server, asked over a plain socket.
fn ticket_for(server: &Server, email: &str) -> String {
    let answer = raw_get(
        server.nexus_addr(),
        "/login2.srf",
        Some(official_authorization(email, PASSWORD).as_bytes()),
    );
    let info = header_lines(&answer)
        .into_iter()
        .find_map(|l| l.strip_prefix("Authentication-Info: "))
        .unwrap_or_else(|| panic!("no ticket in {answer}"));
    from_pp(info).unwrap().to_string()
}

#[test]
fn the_nexus_names_the_login_url_in_passport_urls_spelt_so() {
    let server = msnp8_server(&NexusConfig::default());
    let port = server.nexus_addr().port();
    assert_eq!(server.nexus_url(), format!("http://127.0.0.1:{port}/rdr/pprdr.asp"));
    assert_eq!(server.login_url(), format!("http://127.0.0.1:{port}/login2.srf"));
    let answer = raw_get(server.nexus_addr(), "/rdr/pprdr.asp", None);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let lines = header_lines(&answer);
    assert!(lines.contains(&"Content-Type: text/html"), "{lines:?}");
    assert!(lines.contains(&"Content-Length: 0"), "{lines:?}");
    let urls = format!("PassportURLs: DALogin=http://127.0.0.1:{port}/login2.srf");
    assert!(lines.contains(&urls.as_str()), "{lines:?}");
}

#[test]
fn the_login_answers_a_ticket_for_encoded_and_raw_sign_in_names() {
    let server = msnp8_server(&NexusConfig::default());
    for (sign_in, password) in [
        ("alice%40example.com", "pw"),
        ("alice@example.com", "pw"),
        ("ALICE%40example.com", "%70w"),
    ] {
        let authorization = official_authorization(sign_in, password);
        let answer = raw_get(server.nexus_addr(), "/login2.srf", Some(authorization.as_bytes()));
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{sign_in}: {answer}");
        let lines = header_lines(&answer);
        assert!(lines.contains(&"Content-Type: text/html"), "{lines:?}");
        let info = lines
            .iter()
            .find_map(|l| l.strip_prefix("Authentication-Info: "))
            .unwrap_or_else(|| panic!("{sign_in}: {lines:?}"));
        assert!(info.starts_with("Passport1.4 da-status=success,from-PP='t="), "{info}");
        assert!(info.ends_with('\''), "from-PP comes last: {info}");
    }
    // Paths that start with the login path are the login (msnp11-sdk keeps the rest of
    // a longer PassportURLs value in the URL).
    let authorization = official_authorization("bob@example.com", "pw");
    let answer = raw_get(
        server.nexus_addr(),
        "/login2.srf,DARealm=Passport.Net",
        Some(authorization.as_bytes()),
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}

#[test]
fn the_login_refuses_with_401_and_www_authenticate() {
    let server = msnp8_server(&NexusConfig::default());
    let wrong = official_authorization("alice%40example.com", "nope");
    let unknown = official_authorization("carol%40example.com", "pw");
    let refused: [Option<&[u8]>; 6] = [
        Some(wrong.as_bytes()),
        Some(unknown.as_bytes()),
        None,
        Some(b"Basic YWxpY2U6cHc="),
        Some(b"Passport1.4 OrgVerb=GET,sign-in=alice%40example.com"),
        Some(b"Passport1.4 sign-in=alice@example.com,pwd=\xff\xfe"),
    ];
    let expected = format!("WWW-Authenticate: {LOGIN_FAILED}");
    for authorization in refused {
        let answer = raw_get(server.nexus_addr(), "/login2.srf", authorization);
        assert!(answer.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{answer}");
        let lines = header_lines(&answer);
        assert!(lines.contains(&expected.as_str()), "{lines:?}");
        assert!(!lines.iter().any(|l| l.starts_with("Authentication-Info")), "{lines:?}");
    }
}

#[test]
fn other_paths_and_methods_are_refused() {
    let server = msnp8_server(&NexusConfig::default());
    let answer = raw_get(server.nexus_addr(), "/", None);
    assert!(answer.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answer}");
    let mut stream = TcpStream::connect(server.nexus_addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(b"POST /rdr/pprdr.asp HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"), "{answer}");
}

#[test]
fn an_oversized_request_head_is_refused() {
    let server = msnp8_server(&NexusConfig::default());
    let huge = vec![b'a'; super::nexus::MAX_HEAD_BYTES * 2];
    let mut stream = TcpStream::connect(server.nexus_addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = b"GET /login2.srf HTTP/1.1\r\nHost: x\r\nAuthorization: ".to_vec();
    request.extend_from_slice(&huge);
    request.extend_from_slice(b"\r\n\r\n");
    // The server may stop reading before all of it is written.
    let _ = stream.write_all(&request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 431"), "{answer}");
}

#[test]
fn msnp8_signs_in_over_tcp_through_the_nexus() {
    let server = msnp8_server(&NexusConfig::default());
    let config = msnp8_client(ALICE, PASSWORD, Some(server.nexus_url()));
    let (client, outcome) = sign_in(&server, config, &ClientOptions::default());
    outcome.unwrap();
    assert_eq!(client.read(|c| c.state()), ClientState::SignedIn);
    assert!(server.with_engine(|e| e.is_online(ALICE)));
    let lines: Vec<String> = client.with_trace(|t| t.iter().map(|e| e.cmd.line()).collect());
    assert_eq!(lines[0], "VER 1 MSNP8 CVR0");
    assert!(lines.iter().any(|l| l.starts_with("USR 4 TWN S t=")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "USR 4 OK alice@example.com Alice%20A 1 0"),
        "{lines:?}"
    );
    client.close();
}

#[test]
fn msnp8_with_a_wrong_password_fails_authentication() {
    let server = msnp8_server(&NexusConfig::default());
    let config = msnp8_client(ALICE, "wrong", Some(server.nexus_url()));
    let (client, outcome) = sign_in(&server, config, &ClientOptions::default());
    let err = outcome.unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::SR_AUTHENTICATION_FAILED), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(client.read(|c| c.state()), ClientState::Offline);
    assert!(!server.with_engine(|e| e.is_online(ALICE)));
}

#[test]
fn msnp8_without_a_nexus_says_so() {
    let server = msnp8_server(&NexusConfig::default());
    let side = Side::tcp_with({
        let mut config = msnp8_client(ALICE, PASSWORD, None);
        config.ns_address = server.local_addr().to_string();
        config
    });
    let err = side.sign_in().unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::SR_AUTHENTICATION_FAILED), "{err}");
    assert!(err.to_string().contains("nexus="), "{err}");
}

#[test]
fn an_unreachable_nexus_is_a_connection_failure_naming_it() {
    let server = msnp8_server(&NexusConfig::default());
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let nexus = format!("http://{closed}/rdr/pprdr.asp");
    let (_client, outcome) = sign_in(
        &server,
        msnp8_client(ALICE, PASSWORD, Some(&nexus)),
        &ClientOptions::default(),
    );
    match outcome.unwrap_err() {
        NetError::Unreachable { error, io } => {
            assert_eq!(error.hresult(), HResult::SR_CONNECTION_FAILURE);
            assert!(error.to_string().contains(&nexus), "{error}");
            assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused, "{io}");
        }
        other => panic!("{other}"),
    }
}

/// A raw notification-server session: the lines a client sends, read until one comes.
struct Msnp {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Msnp {
    fn open(server: &Server) -> Msnp {
        let writer = TcpStream::connect(server.local_addr()).unwrap();
        writer.set_read_timeout(Some(WAIT)).unwrap();
        Msnp {
            reader: BufReader::new(writer.try_clone().unwrap()),
            writer,
        }
    }

    /// Sends `line`, returns the first line that comes back starting with `trid`'s
    /// reply or error (`<CMD> <trid> …` or `<code> <trid>`).
    fn ask(&mut self, trid: u32, line: &str) -> String {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        loop {
            let mut got = String::new();
            assert!(
                self.reader.read_line(&mut got).unwrap() > 0,
                "closed before answering {line}"
            );
            let got = got.trim_end().to_string();
            if got.split(' ').nth(1) == Some(&trid.to_string()) {
                return got;
            }
        }
    }

    /// `VER`, `CVR` and `USR TWN I` as `email`, then `USR TWN S ticket`: its answer.
    fn present(server: &Server, email: &str, ticket: &str) -> String {
        let mut ns = Msnp::open(server);
        assert_eq!(ns.ask(1, "VER 1 MSNP8 CVR0"), "VER 1 MSNP8");
        ns.ask(
            2,
            &format!("CVR 2 0x0409 winnt 5.1 i386 MSMSGS 4.7.3001 msmsgs {email}"),
        );
        let challenge = ns.ask(3, &format!("USR 3 TWN I {email}"));
        assert!(challenge.starts_with("USR 3 TWN S "), "{challenge}");
        ns.ask(4, &format!("USR 4 TWN S {ticket}"))
    }
}

#[test]
fn a_ticket_works_once_and_for_its_own_account_only() {
    let server = msnp8_server(&NexusConfig::default());
    let ticket = ticket_for(&server, ALICE);
    assert!(Msnp::present(&server, ALICE, &ticket).starts_with("USR 4 OK alice@example.com "));
    assert_eq!(Msnp::present(&server, ALICE, &ticket), "911 4", "replayed");

    let ticket = ticket_for(&server, ALICE);
    assert_eq!(Msnp::present(&server, BOB, &ticket), "911 4", "another account's");
    assert_eq!(
        Msnp::present(&server, ALICE, &ticket),
        "911 4",
        "spent by the wrong try"
    );
    assert_eq!(Msnp::present(&server, BOB, "t=forged&p=0"), "911 4", "never issued");
}

/// A self-signed certificate for 127.0.0.1, written as PEM files that go away with it.
struct SelfSigned {
    cert: PathBuf,
    key: PathBuf,
}

impl SelfSigned {
    fn new(name: &str) -> SelfSigned {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        let dir = std::env::temp_dir();
        let stem = format!("msgr-nexus-{}-{name}", std::process::id());
        let files = SelfSigned {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&files.cert, made.cert.pem()).unwrap();
        std::fs::write(&files.key, made.signing_key.serialize_pem()).unwrap();
        files
    }

    fn nexus(&self) -> NexusConfig {
        NexusConfig {
            port: 0,
            tls: Some(TlsFiles {
                cert: self.cert.clone(),
                key: self.key.clone(),
            }),
        }
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.cert);
        let _ = std::fs::remove_file(&self.key);
    }
}

#[test]
fn msnp8_signs_in_over_https_trusting_a_self_signed_certificate() {
    let tls = SelfSigned::new("trusted");
    let server = msnp8_server(&tls.nexus());
    assert!(
        server.nexus_url().starts_with("https://127.0.0.1:"),
        "{}",
        server.nexus_url()
    );
    assert!(
        server.login_url().starts_with("https://127.0.0.1:"),
        "{}",
        server.login_url()
    );

    let trusting = ClientOptions {
        nexus_ca: Some(tls.cert.clone()),
        ..ClientOptions::default()
    };
    let (client, outcome) = sign_in(
        &server,
        msnp8_client(ALICE, PASSWORD, Some(server.nexus_url())),
        &trusting,
    );
    outcome.unwrap();
    assert_eq!(client.read(|c| c.state()), ClientState::SignedIn);
    client.close();

    // The web PKI alone does not vouch for it.
    let (_client, outcome) = sign_in(
        &server,
        msnp8_client(BOB, PASSWORD, Some(server.nexus_url())),
        &ClientOptions::default(),
    );
    let err = outcome.unwrap_err();
    assert_eq!(err.hresult(), Some(HResult::SR_CONNECTION_FAILURE), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn unusable_tls_files_and_nexus_urls_are_refused_up_front() {
    let tls = SelfSigned::new("files");
    let swapped = NexusConfig {
        port: 0,
        tls: Some(TlsFiles {
            cert: tls.key.clone(),
            key: tls.cert.clone(),
        }),
    };
    let missing = NexusConfig {
        port: 0,
        tls: Some(TlsFiles {
            cert: tls.cert.with_extension("missing"),
            key: tls.key.clone(),
        }),
    };
    for config in [swapped, missing] {
        let Err(NetError::Core(err)) = Server::bind_with("127.0.0.1:0", testkit::service_config(1), &config) else {
            panic!("{config:?} was accepted");
        };
        assert_eq!(err.hresult(), HResult::E_INVALIDARG, "{err}");
        assert!(err.to_string().contains("tls_"), "{err}");
    }
    let not_a_ca = ClientOptions {
        nexus_ca: Some(tls.key.clone()),
        ..ClientOptions::default()
    };
    let config = msnp8_client(ALICE, PASSWORD, Some("https://127.0.0.1:1/rdr/pprdr.asp"));
    let Err(NetError::Core(err)) = Client::with_options(config, &not_a_ca) else {
        panic!("a key file was taken for a CA");
    };
    assert!(err.to_string().contains("nexus_ca"), "{err}");
    let Err(NetError::Core(err)) = Client::with_options(
        msnp8_client(ALICE, PASSWORD, Some("127.0.0.1:1")),
        &ClientOptions::default(),
    ) else {
        panic!("a nexus without a scheme was accepted");
    };
    assert_eq!(err.hresult(), HResult::E_INVALIDARG, "{err}");
}

/// A stand-in for another login server: answers each request on `listener` with the
/// next of `answers`, and returns the request heads it read.
fn fake_http(listener: TcpListener, answers: Vec<String>) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut heads = Vec::new();
        for answer in answers {
            let (mut stream, _) = listener.accept().unwrap();
            stream.set_read_timeout(Some(WAIT)).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
                head.push(byte[0]);
            }
            heads.push(String::from_utf8(head).unwrap());
            stream.write_all(answer.as_bytes()).unwrap();
        }
        heads
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn the_client_reads_a_full_url_list_and_follows_a_login_redirect() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answers = vec![
        format!("HTTP/1.1 200 OK\r\nPassportURLs: DARealm=Passport.Net,DALogin=http://{addr}/login2.srf,DAReg=http://register.passport.net/uixpwiz.srf,ConfigVersion=11\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        "HTTP/1.1 302 Found\r\nAuthentication-Info: Passport1.4 da-status=redir\r\nLocation: /elsewhere/login2.srf?lc=1033\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
        "HTTP/1.1 200 OK\r\nAuthentication-Info: Passport1.4 da-status=success,tname=MSPAuth,from-PP='t=fake&p=1',ru=http://messenger.msn.com\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string(),
    ];
    let fake = fake_http(listener, answers);
    let passport = Passport::new(&format!("http://{addr}/rdr/pprdr.asp"), None, None, WAIT).unwrap();
    let ticket = runtime().block_on(passport.ticket(ALICE, "p,w", CHALLENGE)).unwrap();
    assert_eq!(ticket, "t=fake&p=1");
    let heads = fake.join().unwrap();
    assert!(heads[0].starts_with("GET /rdr/pprdr.asp HTTP/1.1\r\n"), "{}", heads[0]);
    assert!(heads[1].starts_with("GET /login2.srf HTTP/1.1\r\n"), "{}", heads[1]);
    assert!(
        heads[2].starts_with("GET /elsewhere/login2.srf?lc=1033 HTTP/1.1\r\n"),
        "{}",
        heads[2]
    );
    let expected = format!(
        "authorization: {}\r\n",
        official_authorization("alice%40example.com", "p%2Cw")
    );
    for head in &heads[1..] {
        assert!(head.contains(&expected), "the same Authorization both times: {head}");
    }
}

#[test]
fn a_login_server_that_does_not_answer_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let passport = Passport::new(
        &format!("http://{addr}/rdr/pprdr.asp"),
        None,
        None,
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let refusal = runtime()
        .block_on(passport.ticket(ALICE, PASSWORD, CHALLENGE))
        .unwrap_err();
    assert!(started.elapsed() < WAIT);
    assert_eq!(refusal.error.hresult(), HResult::SR_CONNECTION_FAILURE);
    assert!(refusal.error.to_string().contains("within 0.3 s"), "{}", refusal.error);
    drop(listener);
}

#[test]
fn a_nexus_without_dalogin_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answers = vec!["HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()];
    let fake = fake_http(listener, answers);
    let passport = Arc::new(Passport::new(&format!("http://{addr}/rdr/pprdr.asp"), None, None, WAIT).unwrap());
    let refusal = runtime()
        .block_on(passport.ticket(ALICE, PASSWORD, CHALLENGE))
        .unwrap_err();
    assert_eq!(refusal.error.hresult(), HResult::SR_SESSION_PROTOCOL_ERROR);
    assert!(refusal.error.to_string().contains("DALogin"), "{}", refusal.error);
    fake.join().unwrap();
}

#[test]
fn closing_does_not_wait_for_a_login_under_way() {
    let server = msnp8_server(&NexusConfig::default());
    // A nexus that takes the connection and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let nexus = format!("http://{}/rdr/pprdr.asp", silent.local_addr().unwrap());
    let mut config = msnp8_client(ALICE, PASSWORD, Some(&nexus));
    config.ns_address = server.local_addr().to_string();
    let client = Client::new(config).unwrap();
    let outcome = client.call_and_wait(Waiting::SignIn, Duration::from_millis(300), |c, now| c.sign_in(now));
    assert!(matches!(outcome, Err(NetError::Timeout(..))), "{outcome:?}");
    let started = std::time::Instant::now();
    client.close();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn a_client_makes_every_connection_from_the_source_address_it_is_given() {
    let mut config = testkit::service_config(5);
    config.dialects = vec![Dialect::Msnp8];
    config.limits.wrong_password_address = crate::service::Rate::new(1, Duration::from_secs(600));
    let server = Server::bind_with("127.0.0.1:0", config, &NexusConfig::default()).unwrap();
    server.with_engine(testkit::populate);
    let nexus = server.nexus_url().to_string();
    let from = |ip: [u8; 4]| ClientOptions {
        source_ip: Some(ip.into()),
        ..ClientOptions::default()
    };
    let (first, wrong) = sign_in(
        &server,
        msnp8_client(ALICE, "wrong", Some(&nexus)),
        &from([127, 0, 0, 9]),
    );
    assert_eq!(wrong.unwrap_err().hresult(), Some(HResult::SR_AUTHENTICATION_FAILED));
    first.close();
    // The login came from 127.0.0.9: its one wrong password spent that address's
    // budget, so even the right one from it is refused, and from another it is not.
    let (second, refused) = sign_in(
        &server,
        msnp8_client(ALICE, PASSWORD, Some(&nexus)),
        &from([127, 0, 0, 9]),
    );
    assert_eq!(refused.unwrap_err().hresult(), Some(HResult::SR_AUTHENTICATION_FAILED));
    second.close();
    let (client, signed_in) = sign_in(
        &server,
        msnp8_client(ALICE, PASSWORD, Some(&nexus)),
        &from([127, 0, 0, 10]),
    );
    signed_in.unwrap();
    let ten: std::net::IpAddr = [127, 0, 0, 10].into();
    assert!(
        server.with_engine(|e| (1..10).any(|conn| e.peer(conn) == Some(ten))),
        "the MSNP connection too"
    );
    client.close();
}
