//! The TCP client's half of Passport 1.4 (msnp8-12.md §c.2–§c.5): what a driver does
//! when the engine asks for a ticket ([`ClientOutput::Passport`]). It asks the nexus
//! for the login URL (`PassportURLs`, `DALogin`), then logs in there with the
//! account, the password and the server's challenge, and reads the ticket from
//! `Authentication-Info`. hyper-util's client does the HTTP; rustls (ring) the HTTPS.
//!
//! [`ClientOutput::Passport`]: crate::client::ClientOutput::Passport

use std::io;
use std::path::Path;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, LOCATION};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use tokio::time::Instant;

use crate::error::Error;
use crate::hresult::HResult;

/// `302 … da-status=redir` answers followed before giving up (a server should not
/// redirect at all, msnp8-12.md §c.5).
pub const MAX_REDIRECTS: usize = 3;

/// What the official client percent-encodes in `sign-in` and `pwd`: all but the
/// unreserved characters, so `@` is `%40` and `,` (the pair separator) is `%2C`.
const CREDENTIAL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why no ticket came: the engine's error, and for a server that could not be reached
/// the system's error too (as for a socket the engine asked for).
#[derive(Debug)]
pub struct Refusal {
    pub error: Error,
    pub io: Option<io::Error>,
}

impl Refusal {
    fn protocol(detail: String) -> Refusal {
        Refusal {
            error: Error::api(HResult::SR_SESSION_PROTOCOL_ERROR, detail),
            io: None,
        }
    }
}

/// A login client bound to one nexus.
pub struct Passport {
    nexus: Uri,
    http: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// Bounds the whole login, both servers and every redirect.
    timeout: Duration,
}

/// `url` as an `http://` or `https://` URL with a host, or None.
fn web_url(url: &str) -> Option<Uri> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (web && uri.host().is_some_and(|h| !h.is_empty())).then_some(uri)
}

impl Passport {
    /// A client for the nexus at `nexus` that trusts the web PKI and `extra_ca` (a PEM
    /// file), connects from `source` (or the system's choice), and gives each login
    /// `timeout` in all.
    pub fn new(
        nexus: &str,
        extra_ca: Option<&Path>,
        source: Option<std::net::IpAddr>,
        timeout: Duration,
    ) -> Result<Passport, Error> {
        let nexus = web_url(nexus).ok_or_else(|| {
            Error::api(
                HResult::E_INVALIDARG,
                format!("nexus must be an http:// or https:// URL with a host, not {nexus:?}"),
            )
        })?;
        let tls = super::tls::client_config(extra_ca)?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_local_address(source);
        let https = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        // One login per sign-in: a connection kept idle would outlive its use.
        let http = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(https);
        Ok(Passport { nexus, http, timeout })
    }

    /// A ticket for `account`, or why not: `SR_AUTHENTICATION_FAILED` when the login
    /// server refuses (`401`), `SR_CONNECTION_FAILURE` when a server cannot be reached
    /// or does not answer in time, `SR_SESSION_PROTOCOL_ERROR` for answers that are not
    /// Passport 1.4.
    pub async fn ticket(&self, account: &str, password: &str, challenge: &str) -> Result<String, Refusal> {
        let deadline = Instant::now() + self.timeout;
        let authorization = HeaderValue::try_from(authorization(account, password, challenge))
            .map_err(|_| Refusal::protocol("the server's Passport challenge cannot be sent in a header".into()))?;
        let login = self.login_url(deadline).await?;
        self.login(login, &authorization, deadline).await
    }

    /// The nexus's `DALogin`.
    async fn login_url(&self, deadline: Instant) -> Result<Uri, Refusal> {
        let url = &self.nexus;
        let answer = self.get(url, None, "Passport nexus", deadline).await?;
        if !answer.status().is_success() {
            return Err(Refusal::protocol(format!(
                "the Passport nexus at {url} answered {}",
                answer.status()
            )));
        }
        let urls = answer
            .headers()
            .get(HeaderName::from_static("passporturls"))
            .and_then(|v| v.to_str().ok());
        let Some(login) = urls.and_then(da_login) else {
            return Err(Refusal::protocol(format!(
                "the Passport nexus at {url} named no DALogin in PassportURLs"
            )));
        };
        web_url(&login).ok_or_else(|| {
            Refusal::protocol(format!(
                "the Passport nexus at {url} named a DALogin that is not a URL: {login:?}"
            ))
        })
    }

    /// The login request, following the login server's redirects.
    async fn login(&self, mut url: Uri, authorization: &HeaderValue, deadline: Instant) -> Result<String, Refusal> {
        for _ in 0..=MAX_REDIRECTS {
            let answer = self
                .get(&url, Some(authorization), "Passport login server", deadline)
                .await?;
            let info = answer
                .headers()
                .get(HeaderName::from_static("authentication-info"))
                .and_then(|v| v.to_str().ok());
            let status = info.and_then(da_status);
            if answer.status() == StatusCode::UNAUTHORIZED || status.is_some_and(|s| s.starts_with("failed")) {
                return Err(Refusal {
                    error: Error::api(
                        HResult::SR_AUTHENTICATION_FAILED,
                        format!(
                            "the Passport login server at {url} refused the sign-in name or password ({})",
                            answer.status()
                        ),
                    ),
                    io: None,
                });
            }
            if answer.status().is_redirection() && status == Some("redir") {
                url = redirect(&url, &answer)?;
                continue;
            }
            let ticket = info.filter(|_| status == Some("success")).and_then(from_pp);
            return match ticket {
                Some(t) if !t.contains(char::is_whitespace) => Ok(t.to_string()),
                _ => Err(Refusal::protocol(format!(
                    "the Passport login server at {url} answered {} without a ticket",
                    answer.status()
                ))),
            };
        }
        Err(Refusal::protocol(format!(
            "the Passport login server redirected more than {MAX_REDIRECTS} times"
        )))
    }

    /// One `GET`, bounded by `deadline`; `what` names the server in errors.
    async fn get(
        &self,
        url: &Uri,
        authorization: Option<&HeaderValue>,
        what: &str,
        deadline: Instant,
    ) -> Result<Response<Incoming>, Refusal> {
        let mut request = Request::get(url.clone());
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        let request = request
            .body(Empty::new())
            .map_err(|e| Refusal::protocol(format!("cannot ask the {what} at {url}: {e}")))?;
        match tokio::time::timeout_at(deadline, self.http.request(request)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                let io = io_cause(&e);
                let why = io.map_or_else(|| error_chain(&e), |io| io.to_string());
                Err(Refusal {
                    error: Error::api(
                        HResult::SR_CONNECTION_FAILURE,
                        format!("cannot reach the {what} at {url}: {why}"),
                    ),
                    io: io.map(copy_io),
                })
            }
            Err(_) => {
                let detail = format!(
                    "no answer from the {what} at {url} within {}",
                    super::seconds(self.timeout)
                );
                Err(Refusal {
                    error: Error::api(HResult::SR_CONNECTION_FAILURE, detail.clone()),
                    io: Some(io::Error::new(io::ErrorKind::TimedOut, detail)),
                })
            }
        }
    }
}

/// The `Authorization` value of a login (msnp8-12.md §c.3): the credentials
/// percent-encoded as the official client does, the challenge passed on unchanged.
pub fn authorization(account: &str, password: &str, challenge: &str) -> String {
    format!(
        "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in={},pwd={},{challenge}",
        utf8_percent_encode(account, CREDENTIAL),
        utf8_percent_encode(password, CREDENTIAL)
    )
}

/// The login URL in a `PassportURLs` value, found by its key among any others;
/// a value without a scheme means `https://` (Microsoft's own form).
pub fn da_login(passport_urls: &str) -> Option<String> {
    let value = passport_urls.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim().eq_ignore_ascii_case("DALogin").then(|| value.trim())
    })?;
    if value.is_empty() {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Some(value.to_string())
    } else {
        Some(format!("https://{value}"))
    }
}

/// `da-status` of an `Authentication-Info` value.
pub fn da_status(info: &str) -> Option<&str> {
    let at = info.find("da-status=")?;
    info[at + "da-status=".len()..].split(',').next()
}

/// The ticket in an `Authentication-Info` value: `from-PP='…'`, quoted as Microsoft's
/// login server and every one since sent it; unquoted, up to the next comma.
pub fn from_pp(info: &str) -> Option<&str> {
    let at = info.find("from-PP=")?;
    let rest = &info[at + "from-PP=".len()..];
    let ticket = match rest.strip_prefix('\'') {
        Some(quoted) => &quoted[..quoted.find('\'')?],
        None => rest.split(',').next()?,
    };
    (!ticket.is_empty()).then_some(ticket)
}

/// Where a `302 … da-status=redir` sends the login: `Location`, absolute or a path on
/// the same server.
fn redirect(from: &Uri, answer: &Response<Incoming>) -> Result<Uri, Refusal> {
    let location = answer.headers().get(LOCATION).and_then(|v| v.to_str().ok());
    let bad = || {
        Refusal::protocol(format!(
            "the Passport login server at {from} redirected to no usable Location"
        ))
    };
    let location = location.ok_or_else(bad)?;
    if let Some(url) = web_url(location) {
        return Ok(url);
    }
    if !location.starts_with('/') {
        return Err(bad());
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = Some(location.parse().map_err(|_| bad())?);
    Uri::from_parts(parts).map_err(|_| bad())
}

/// The system's error under an HTTP client's error, if there is one.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cause = err.source();
    }
    None
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(err) = cause {
        text.push_str(": ");
        text.push_str(&err.to_string());
        cause = err.source();
    }
    text
}

/// An owned copy of a borrowed system error, keeping its OS code where it has one.
fn copy_io(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn da_login_is_found_by_key_in_any_list() {
        let microsoft = "DARealm=Passport.Net,DALogin=login.passport.com/login2.srf,DAReg=http://register.passport.net/uixpwiz.srf,ConfigVersion=11";
        assert_eq!(
            da_login(microsoft).as_deref(),
            Some("https://login.passport.com/login2.srf")
        );
        assert_eq!(
            da_login("DALogin=http://127.0.0.1:3000/login2.srf").as_deref(),
            Some("http://127.0.0.1:3000/login2.srf")
        );
        assert_eq!(
            da_login(" dalogin = HTTPS://x.example/login ").as_deref(),
            Some("HTTPS://x.example/login")
        );
        assert_eq!(da_login("DARealm=Passport.Net"), None);
        assert_eq!(da_login("DALogin="), None);
    }

    #[test]
    fn the_ticket_is_read_from_from_pp() {
        assert_eq!(
            from_pp("Passport1.4 da-status=success,from-PP='t=abc&p=def'"),
            Some("t=abc&p=def")
        );
        let microsoft =
            "Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,from-PP='t=1&p=2',ru=http://messenger.msn.com";
        assert_eq!(from_pp(microsoft), Some("t=1&p=2"));
        assert_eq!(da_status(microsoft), Some("success"));
        assert_eq!(
            from_pp("Passport1.4 da-status=success,from-PP=t=1&p=2,ru=x"),
            Some("t=1&p=2")
        );
        assert_eq!(from_pp("Passport1.4 da-status=success,from-PP='t=1"), None);
        assert_eq!(from_pp("Passport1.4 da-status=success,from-PP=''"), None);
        assert_eq!(da_status("Passport1.4 da-status=redir"), Some("redir"));
    }

    #[test]
    fn credentials_are_encoded_and_the_challenge_is_kept() {
        let header = authorization("alice@example.com", "se cret,pw%", "lc=1033,id=507,ct=1");
        assert_eq!(
            header,
            "Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=se%20cret%2Cpw%25,lc=1033,id=507,ct=1"
        );
        assert_eq!(
            crate::service::credentials(&header),
            Some(("alice@example.com".into(), "se cret,pw%".into()))
        );
    }

    #[test]
    fn a_nexus_must_be_a_web_url() {
        for bad in [
            "",
            "127.0.0.1:3000",
            "ftp://x/rdr/pprdr.asp",
            "http:///path",
            "not a url",
        ] {
            let err = Passport::new(bad, None, None, Duration::from_secs(1)).err().expect(bad);
            assert_eq!(err.hresult(), HResult::E_INVALIDARG, "{bad}");
            assert!(err.to_string().contains("nexus"), "{err}");
        }
        assert!(Passport::new(
            "https://nexus.example/rdr/pprdr.asp",
            None,
            None,
            Duration::from_secs(1)
        )
        .is_ok());
    }
}
