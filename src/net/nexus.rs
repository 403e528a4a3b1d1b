//! The Passport 1.4 nexus and login server of a TCP [`Server`](super::Server)
//! (msnp8-12.md §c.2–§c.5), served by hyper on the server's runtime, on a port of its own.
//!
//! * `GET /rdr/pprdr.asp`: `200`, `text/html`, empty, `PassportURLs: DALogin=<login URL>`
//!   with that one pair, the only form msnp11-sdk can read.
//! * `GET /login2.srf`, and every path that starts with it (a client that keeps the rest
//!   of a longer `PassportURLs` value in the URL still gets here): the `Authorization:
//!   Passport1.4 …` credentials go to the engine, which answers with a ticket
//!   (`200`, `Authentication-Info: … from-PP='<ticket>'`) or not (`401`,
//!   `WWW-Authenticate`). A missing or unreadable header is a `401` too.
//!
//! Header names go out spelt as the official client matches them (see [`spellings`]).
//! Nobody can hold the nexus for long: request heads are capped, slow heads and TLS
//! handshakes time out, a connection lives a bounded time, an address holds a bounded
//! share, and a newcomer past the bound takes the place of a connection that has asked
//! nothing.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderName, HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::http::Extensions;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::NetError;
use crate::error::Error;
use crate::hresult::HResult;
use crate::service::{authentication_info, credentials, passport_urls, LoginRefused, LOGIN_FAILED};

const LOG: &str = crate::service::LOG;

/// Where clients start (Microsoft's path).
pub const NEXUS_PATH: &str = "/rdr/pprdr.asp";
/// The login endpoint `DALogin` names (Microsoft's path).
pub const LOGIN_PATH: &str = "/login2.srf";

/// HTTP connections open at once. A newcomer past it takes the place of a connection
/// that has not yet sent a request (or, if all have, of any), the oldest of the
/// address holding most ([`Slots::make_room`]), so sockets held open without a request
/// cannot keep logins out.
pub const MAX_HTTP_CONNECTIONS: usize = 256;
/// HTTP connections one address may hold; more from it are closed on arrival.
pub const MAX_HTTP_PER_ADDRESS: usize = 16;
/// How long a client may take to send a request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an HTTPS client may take to finish its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one HTTP connection may stay open, keep-alive included: a sign-in needs
/// two requests, not a resident connection.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(30);
/// The largest request head read (hyper's floor is 8 KiB); a Passport login's is
/// well under 1 KiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How a server runs its nexus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NexusConfig {
    /// The port, on the server's address; 0 picks a free one.
    pub port: u16,
    /// HTTPS with this certificate and key; plain HTTP without.
    pub tls: Option<TlsFiles>,
}

/// PEM files of a certificate chain (leaf first) and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The login check: sign-in name, password and the client's address to a ticket (the
/// engine's `passport_begin`/`passport_finish`, wrong passwords counted by address).
pub type Login = Arc<dyn Fn(&str, &str, Option<IpAddr>) -> LoginAnswer + Send + Sync>;

/// What a login check decided, and how long the nexus waits before it says so (an
/// address that keeps failing for an account waits longer; see the engine's
/// `guess_delay`).
#[derive(Debug)]
pub struct LoginAnswer {
    pub ticket: Result<String, LoginRefused>,
    pub delay: Duration,
}

impl From<Result<String, LoginRefused>> for LoginAnswer {
    fn from(ticket: Result<String, LoginRefused>) -> LoginAnswer {
        LoginAnswer {
            ticket,
            delay: Duration::ZERO,
        }
    }
}

/// A bound nexus, as clients reach it.
#[derive(Clone, Debug)]
pub struct Nexus {
    pub local_addr: SocketAddr,
    /// The redirect URL a client starts from (`…/rdr/pprdr.asp`).
    pub nexus_url: String,
    /// The login URL `PassportURLs` names.
    pub login_url: String,
}

/// How a nexus answers a request, apart from HTTP: a pure function of the method, the
/// path and the headers, so that tests and the fuzzer reach it without a socket.
pub struct Routes {
    login: Login,
    passport_urls: HeaderValue,
}

/// What answers the requests of one nexus.
struct Site {
    routes: Routes,
    /// Every response carries a copy: hyper then writes the names in it as spelt there.
    spellings: Extensions,
}

/// Binds the nexus on `ip` (port `config.port`), named `host` in its URLs, and starts
/// serving on `rt` until `stop`. Its task is returned for the server to join.
pub(super) fn start(
    rt: &tokio::runtime::Runtime,
    ip: IpAddr,
    host: &str,
    config: &NexusConfig,
    login: Login,
    stop: watch::Receiver<bool>,
) -> Result<(Nexus, tokio::task::JoinHandle<()>), NetError> {
    let tls = match &config.tls {
        Some(files) => Some(TlsAcceptor::from(super::tls::server_config(&files.cert, &files.key)?)),
        None => None,
    };
    let listener = rt.block_on(super::listen((ip, config.port)))?;
    let local_addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let origin = format!("{scheme}://{host}:{}", local_addr.port());
    let nexus = Nexus {
        local_addr,
        nexus_url: format!("{origin}{NEXUS_PATH}"),
        login_url: format!("{origin}{LOGIN_PATH}"),
    };
    let routes = Routes::new(&nexus.login_url, login).ok_or_else(|| {
        Error::api(
            HResult::E_INVALIDARG,
            format!("advertise: {host:?} cannot be put in a URL"),
        )
    })?;
    let site = Arc::new(Site {
        routes,
        spellings: rt.block_on(spellings())?,
    });
    let task = rt.spawn(accept_loop(listener, site, tls, stop));
    Ok((nexus, task))
}

/// The names clients match case-sensitively (msnp8-12.md §c.2, §c.4, §c.5).
pub const SPELLINGS: [&str; 3] = ["PassportURLs", "Authentication-Info", "WWW-Authenticate"];

/// Extensions that make hyper write [`SPELLINGS`] as they are spelt.
///
/// hyper holds header names lower-case (`http::HeaderName`) and its map of original
/// spellings is private. What it does document (`http1::Builder::preserve_header_case`)
/// is that it records the spelling of the names a request arrives with, and writes a
/// response that carries that record with those spellings, "to forward the cases in a
/// proxy-like fashion". So hyper itself reads, once, a request that names the three
/// headers, over an in-memory pipe, and the extensions it made for it are the template.
/// `title_case_headers` covers the names hyper adds (`Content-Length`, `Date`).
async fn spellings() -> Result<Extensions, NetError> {
    let (mut ours, theirs) = tokio::io::duplex(4096);
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let service = service_fn(move |req: Request<Incoming>| {
        *super::lock(&record) = Some(req.extensions().clone());
        async { Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new())) }
    });
    let mut request = String::from("GET / HTTP/1.1\r\nHost: nexus\r\n");
    for name in SPELLINGS {
        request.push_str(&format!("{name}: -\r\n"));
    }
    request.push_str("\r\n");
    ours.write_all(request.as_bytes()).await?;
    let served = http1::Builder::new()
        .preserve_header_case(true)
        .keep_alive(false)
        .serve_connection(TokioIo::new(theirs), service);
    let failed = |why: String| {
        Error::api(
            HResult::E_FAIL,
            format!("cannot set up the nexus's header names: {why}"),
        )
    };
    match tokio::time::timeout(Duration::from_secs(5), served).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(failed(e.to_string()).into()),
        Err(_) => return Err(failed("hyper did not answer".into()).into()),
    }
    let taken = super::lock(&seen).take();
    taken.ok_or_else(|| failed("hyper read no request".into()).into())
}

impl Routes {
    /// The routes of a nexus whose login endpoint is `login_url`; None when that URL
    /// cannot go in a header.
    pub fn new(login_url: &str, login: Login) -> Option<Routes> {
        let passport_urls = HeaderValue::try_from(passport_urls(login_url)).ok()?;
        Some(Routes { login, passport_urls })
    }

    /// The status and headers that answer one request from `peer` (bodies are never
    /// read or sent: the nexus needs none).
    pub fn respond(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> (StatusCode, HeaderMap) {
        let (status, headers, _) = self.respond_after(method, path, headers, peer);
        (status, headers)
    }

    /// [`Routes::respond`], and how long to wait before sending it.
    pub fn respond_after(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> (StatusCode, HeaderMap, Duration) {
        let now = |(status, headers)| (status, headers, Duration::ZERO);
        let known = path == NEXUS_PATH || path.starts_with(LOGIN_PATH);
        if !known {
            return now(reply(StatusCode::NOT_FOUND, None));
        }
        if method != Method::GET && method != Method::HEAD {
            return now(reply(
                StatusCode::METHOD_NOT_ALLOWED,
                Some((ALLOW, HeaderValue::from_static("GET, HEAD"))),
            ));
        }
        if path == NEXUS_PATH {
            let name = HeaderName::from_static("passporturls");
            return now(reply(StatusCode::OK, Some((name, self.passport_urls.clone()))));
        }
        self.login(headers.get(AUTHORIZATION), peer)
    }

    fn login(&self, authorization: Option<&HeaderValue>, peer: Option<IpAddr>) -> (StatusCode, HeaderMap, Duration) {
        let refused = || {
            let header = (WWW_AUTHENTICATE, HeaderValue::from_static(LOGIN_FAILED));
            reply(StatusCode::UNAUTHORIZED, Some(header))
        };
        // Not `to_str`: a client that sends its password raw may send non-ASCII bytes.
        let given = authorization.and_then(|v| std::str::from_utf8(v.as_bytes()).ok());
        let Some((sign_in, password)) = given.and_then(credentials) else {
            log::info!(target: LOG, "Passport login refused: no Passport1.4 credentials");
            let (status, headers) = refused();
            return (status, headers, Duration::ZERO);
        };
        let answer = (self.login)(&sign_in, &password, peer);
        let (status, headers) = match answer.ticket {
            Ok(ticket) => match HeaderValue::try_from(authentication_info(&ticket)) {
                Ok(info) => {
                    let name = HeaderName::from_static("authentication-info");
                    reply(StatusCode::OK, Some((name, info)))
                }
                Err(_) => reply(StatusCode::INTERNAL_SERVER_ERROR, None),
            },
            Err(_) => refused(),
        };
        (status, headers, answer.delay)
    }
}

fn reply(status: StatusCode, header: Option<(HeaderName, HeaderValue)>) -> (StatusCode, HeaderMap) {
    let mut headers = HeaderMap::new();
    // The official client wants text/html even on an empty reply (msnp8-12.md §c.4).
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    if let Some((name, value)) = header {
        headers.insert(name, value);
    }
    (status, headers)
}

impl Site {
    /// The response to one request, and how long to wait before sending it.
    fn answer(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: IpAddr,
    ) -> (Response<Empty<Bytes>>, Duration) {
        let (status, headers, delay) = self.routes.respond_after(method, path, headers, Some(peer));
        let mut response = Response::new(Empty::new());
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        *response.extensions_mut() = self.spellings.clone();
        (response, delay)
    }
}

/// The connections a nexus holds: by task, with their address, when they came and
/// whether they sent a request yet; and how many each address holds.
#[derive(Default)]
struct Slots {
    open: HashMap<tokio::task::Id, Slot>,
    by_address: HashMap<IpAddr, usize>,
}

struct Slot {
    peer: IpAddr,
    since: std::time::Instant,
    asked: Arc<AtomicBool>,
    abort: tokio::task::AbortHandle,
}

impl Slots {
    fn ended(&mut self, id: tokio::task::Id) {
        if let Some(slot) = self.open.remove(&id) {
            if let Some(n) = self.by_address.get_mut(&slot.peer) {
                *n -= 1;
                if *n == 0 {
                    self.by_address.remove(&slot.peer);
                }
            }
        }
    }

    /// Makes room for a newcomer when every slot is taken: ends a connection that has
    /// sent no request, or failing that any, the oldest of the address holding most
    /// of them ([`crate::eviction`]). Returns the address of the one ended, or None
    /// when there was room.
    fn make_room(&mut self) -> Option<IpAddr> {
        if self.open.len() < MAX_HTTP_CONNECTIONS {
            return None;
        }
        let candidates = |idle_only: bool| {
            self.open
                .iter()
                .filter(move |(_, s)| !idle_only || !s.asked.load(Ordering::Relaxed))
                .map(|(id, s)| (*id, s.peer, s.since))
        };
        let id = crate::eviction::evictee(candidates(true)).or_else(|| crate::eviction::evictee(candidates(false)))?;
        let slot = self.open.get(&id)?;
        slot.abort.abort();
        let peer = slot.peer;
        self.ended(id);
        Some(peer)
    }
}

async fn accept_loop(
    listener: TcpListener,
    site: Arc<Site>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut slots = Slots::default();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(ended) = conns.join_next_with_id(), if !conns.is_empty() => match ended {
                Ok((id, ())) => slots.ended(id),
                Err(e) => slots.ended(e.id()),
            },
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if slots.by_address.get(&peer.ip()).copied().unwrap_or(0) >= MAX_HTTP_PER_ADDRESS {
                        crate::refusals::note("nexus: refused a connection: its address holds its share", peer.ip());
                        drop(stream);
                        continue;
                    }
                    if let Some(evicted) = slots.make_room() {
                        crate::refusals::note("nexus: closed the oldest idle connection for a newcomer", evicted);
                    }
                    let asked = Arc::new(AtomicBool::new(false));
                    let (site, tls, flag) = (site.clone(), tls.clone(), asked.clone());
                    let abort = conns.spawn(async move {
                        let served = serve(stream, peer.ip(), site, tls, flag);
                        if tokio::time::timeout(CONNECTION_LIFETIME, served).await.is_err() {
                            log::info!(target: LOG, "nexus: closed {peer}'s connection after {}", super::seconds(CONNECTION_LIFETIME));
                        }
                    });
                    *slots.by_address.entry(peer.ip()).or_default() += 1;
                    let slot = Slot { peer: peer.ip(), since: std::time::Instant::now(), asked, abort: abort.clone() };
                    slots.open.insert(abort.id(), slot);
                }
                // Out of descriptors and the like: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
    drop(listener);
    conns.shutdown().await;
}

async fn serve(stream: TcpStream, peer: IpAddr, site: Arc<Site>, tls: Option<TlsAcceptor>, asked: Arc<AtomicBool>) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => http(TokioIo::new(stream), peer, site, asked).await,
        Some(acceptor) => match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => http(TokioIo::new(stream), peer, site, asked).await,
            Ok(Err(e)) => log::info!(target: LOG, "nexus: TLS handshake with {peer} failed: {e}"),
            Err(_) => {
                log::info!(target: LOG, "nexus: no TLS handshake from {peer} within {}", super::seconds(TLS_HANDSHAKE_TIMEOUT))
            }
        },
    }
}

/// One connection's HTTP over `io` (the fuzzer's in-memory pipe), served as a socket's
/// is, answered by `routes`; whether a request came.
#[cfg(any(test, fuzzing))]
pub(crate) async fn serve_io<I>(io: I, peer: IpAddr, routes: Routes) -> bool
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let spellings = spellings().await.expect("hyper reads the request it is shown");
    let site = Arc::new(Site { routes, spellings });
    let asked = Arc::new(AtomicBool::new(false));
    http(TokioIo::new(io), peer, site, asked.clone()).await;
    asked.load(Ordering::Relaxed)
}

async fn http<I>(io: I, peer: IpAddr, site: Arc<Site>, asked: Arc<AtomicBool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let site = site.clone();
        asked.store(true, Ordering::Relaxed);
        async move {
            // A login waits for the password pool (slow on purpose): off the workers
            // that carry everyone's MSNP traffic. Its delay is waited here, holding no
            // thread.
            let (parts, _) = req.into_parts();
            let answered =
                tokio::task::spawn_blocking(move || site.answer(&parts.method, parts.uri.path(), &parts.headers, peer));
            let (response, delay) = answered.await.unwrap_or_else(|_| {
                let mut failed = Response::new(Empty::new());
                *failed.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                (failed, Duration::ZERO)
            });
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, Infallible>(response)
        }
    });
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .title_case_headers(true)
        .preserve_header_case(true)
        .serve_connection(io, service)
        .await;
    if let Err(e) = served {
        log::debug!(target: LOG, "nexus: connection ended: {e}");
    }
}
