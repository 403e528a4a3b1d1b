//! Raw MSNP for the load generator: a socket read through the crate's [`Decoder`] and
//! written with the typed messages of [`crate::proto`], sign-in (MD5, or Passport from
//! MSNP8), presence, keep-alive and a two-person switchboard. Unlike the client engine
//! it keeps no state beyond the connection: each mode drives these steps itself.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

use super::accounts::Account;
use super::error::LoadError;
use crate::net::passport::Passport;
use crate::proto::ns::{self, UsrRequest};
use crate::proto::{sb, Auth, Dialect};
use crate::wire::challenge::md5_response;
use crate::wire::{Command, Decoder, Direction, WireError};

/// What every connection of a run shares.
pub(crate) struct Target {
    pub addr: SocketAddr,
    pub dialect: Dialect,
    /// Longest wait for any one answer.
    pub timeout: Duration,
    pub allow_remote: bool,
    /// Loopback source addresses to spread sockets over (1: the system's choice).
    pub sources: usize,
    /// MSNP8+: the login client for the server's nexus.
    pub passport: Option<Passport>,
}

/// How often an idle client pings, as msgr's client does (the server drops a
/// signed-in connection after three silent minutes).
const PING_EVERY: Duration = Duration::from_secs(60);

/// A connection's read buffer starts small (hold keeps thousands of idle ones) and
/// doubles whenever a read fills it, up to a size that drains a busy switchboard in few
/// calls.
const FIRST_READ: usize = 2 * 1024;
const MAX_READ: usize = 64 * 1024;

/// Why a socket stopped giving commands.
#[derive(Debug)]
pub(crate) enum Ended {
    Closed,
    Reset,
    Garbled(WireError),
}

/// The reading half: bytes in, commands out.
pub(crate) struct Reader {
    rd: OwnedReadHalf,
    dec: Decoder,
    buf: Vec<u8>,
}

impl Reader {
    /// The next command. Cancel-safe: what was read stays in the decoder.
    pub async fn next(&mut self) -> Result<Command, Ended> {
        loop {
            match self.dec.next_command() {
                Ok(Some(c)) => return Ok(c),
                Ok(None) => {}
                Err(e) => return Err(Ended::Garbled(e)),
            }
            match self.rd.read(&mut self.buf).await {
                Ok(0) => return Err(Ended::Closed),
                Ok(n) => {
                    self.dec.push(&self.buf[..n]);
                    if n == self.buf.len() && n < MAX_READ {
                        self.buf.resize(n * 2, 0);
                    }
                }
                Err(_) => return Err(Ended::Reset),
            }
        }
    }
}

/// The writing half, with the connection's TrID counter.
pub(crate) struct Writer {
    wr: OwnedWriteHalf,
    trid: u32,
}

impl Writer {
    pub fn next_trid(&mut self) -> u32 {
        self.trid = self.trid.wrapping_add(1).max(1);
        self.trid
    }

    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.wr.write_all(bytes).await
    }

    /// Leaves: `OUT`, then our half of the socket closes.
    pub async fn goodbye(&mut self) {
        let _ = self.wr.write_all(&ns::Request::Out.to_command(None).encode()).await;
        let _ = self.wr.shutdown().await;
    }
}

/// One connection, notification or switchboard, and what to say when it fails.
pub(crate) struct Link {
    pub who: String,
    pub r: Reader,
    pub w: Writer,
    pub dialect: Option<Dialect>,
    timeout: Duration,
    /// The last request, secrets masked, and its stage, for errors.
    sent: String,
    stage: &'static str,
}

/// `USR … S <proof or ticket>` as errors show it.
fn masked(cmd: &Command) -> String {
    let mut shown = cmd.clone();
    if shown.name == "USR" && shown.args.get(2).map(String::as_str) == Some("S") {
        if let Some(secret) = shown.args.get_mut(3) {
            *secret = "***".to_string();
        }
    }
    shown.line()
}

/// Opens a socket to the server, from loopback source address `source` if given.
pub(crate) async fn connect(
    addr: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, LoadError> {
    let fail = |io| LoadError::Connect { addr, source, io };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(fail)?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0)).map_err(fail)?;
    }
    let stream = match tokio::time::timeout(timeout, socket.connect(addr)).await {
        Ok(r) => r.map_err(fail)?,
        Err(_) => {
            return Err(fail(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer in time",
            )))
        }
    };
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Link {
    pub fn new(who: &str, stream: TcpStream, dialect: Option<Dialect>, timeout: Duration) -> Link {
        let (rd, wr) = stream.into_split();
        Link {
            who: who.to_string(),
            r: Reader {
                rd,
                dec: Decoder::new(Direction::ServerToClient),
                buf: vec![0; FIRST_READ],
            },
            w: Writer { wr, trid: 0 },
            dialect,
            timeout,
            sent: String::new(),
            stage: "connect",
        }
    }

    pub fn split(self) -> (Reader, Writer) {
        (self.r, self.w)
    }

    async fn send(&mut self, stage: &'static str, cmd: Command) -> Result<(), LoadError> {
        self.stage = stage;
        self.sent = masked(&cmd);
        if self.w.write(&cmd.encode()).await.is_err() {
            return Err(self.ended(Ended::Reset));
        }
        Ok(())
    }

    /// Sends a notification-server request on the next TrID.
    pub async fn ns(&mut self, stage: &'static str, make: impl FnOnce(u32) -> ns::Request) -> Result<u32, LoadError> {
        let trid = self.w.next_trid();
        let cmd = make(trid).to_command(self.dialect);
        self.send(stage, cmd).await?;
        Ok(trid)
    }

    /// Sends a switchboard request on the next TrID.
    pub async fn sb(&mut self, stage: &'static str, make: impl FnOnce(u32) -> sb::Request) -> Result<u32, LoadError> {
        let trid = self.w.next_trid();
        let cmd = make(trid).to_command(self.dialect);
        self.send(stage, cmd).await?;
        Ok(trid)
    }

    /// The error for a connection that stopped.
    pub fn ended(&self, how: Ended) -> LoadError {
        match how {
            Ended::Garbled(e) => LoadError::Protocol {
                who: self.who.clone(),
                detail: format!("the server sent something that is not MSNP after `{}`: {e}", self.sent),
            },
            how => LoadError::Closed {
                who: self.who.clone(),
                stage: self.stage,
                sent: self.sent.clone(),
                out: None,
                reset: matches!(how, Ended::Reset),
            },
        }
    }

    async fn next_in_time(&mut self) -> Result<Command, LoadError> {
        match tokio::time::timeout(self.timeout, self.r.next()).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(how)) => Err(self.ended(how)),
            Err(_) => Err(LoadError::Timeout {
                who: self.who.clone(),
                stage: self.stage,
                sent: self.sent.clone(),
                after: self.timeout,
            }),
        }
    }

    fn refused(&self, cmd: &Command, code: u16) -> LoadError {
        LoadError::Refused {
            who: self.who.clone(),
            stage: self.stage,
            sent: self.sent.clone(),
            line: cmd.line(),
            code,
        }
    }

    /// Reads notification-server lines until `pick` takes one. An error line is a
    /// refusal, `OUT` a close; the service's pings are answered on the way, and
    /// anything else (the profile, presence) is passed over.
    pub async fn ns_expect<T>(&mut self, mut pick: impl FnMut(ns::Reply) -> Option<T>) -> Result<T, LoadError> {
        loop {
            let cmd = self.next_in_time().await?;
            match ns::Reply::parse(&cmd, self.dialect) {
                ns::Reply::Error { code, .. } => return Err(self.refused(&cmd, code)),
                ns::Reply::Out { .. } => {
                    return Err(LoadError::Closed {
                        who: self.who.clone(),
                        stage: self.stage,
                        sent: self.sent.clone(),
                        out: Some(cmd.line()),
                        reset: false,
                    })
                }
                ns::Reply::Chl { trid: 0, challenge } => self.answer_ping(&challenge).await?,
                ns::Reply::XfrNs { address, .. } => {
                    return Err(LoadError::Protocol {
                        who: self.who.clone(),
                        detail: format!(
                            "the server sends sign-ins to another notification server, {address}; \
                             msgr load does not follow: give that one's --host and --port"
                        ),
                    })
                }
                reply => {
                    if let Some(t) = pick(reply) {
                        return Ok(t);
                    }
                }
            }
        }
    }

    /// Reads switchboard lines until `pick` takes one; an error line is a refusal.
    pub async fn sb_expect<T>(&mut self, mut pick: impl FnMut(sb::Reply) -> Option<T>) -> Result<T, LoadError> {
        loop {
            let cmd = self.next_in_time().await?;
            match sb::Reply::parse(&cmd, self.dialect) {
                sb::Reply::Error { code, .. } => return Err(self.refused(&cmd, code)),
                reply => {
                    if let Some(t) = pick(reply) {
                        return Ok(t);
                    }
                }
            }
        }
    }

    /// `QRY` for the service's `CHL 0`, with the dialect's public client pair.
    async fn answer_ping(&mut self, challenge: &str) -> Result<(), LoadError> {
        let stage = self.stage;
        let sent = std::mem::take(&mut self.sent);
        let cmd = ping_answer(self.dialect, self.w.next_trid(), challenge);
        let written = self.w.write(&cmd.encode()).await;
        // A ping is not what the caller waits for: errors still name the caller's step.
        self.stage = stage;
        self.sent = sent;
        written.map_err(|_| self.ended(Ended::Reset))
    }

    /// Sends `OUT` and closes our half.
    pub async fn goodbye(mut self) {
        self.w.goodbye().await;
    }
}

fn ping_answer(dialect: Option<Dialect>, trid: u32, challenge: &str) -> Command {
    let (id, key) = crate::proto::ping_pairs(dialect)[0];
    let digest = crate::proto::ping_response(dialect, challenge, id, key).into_bytes();
    ns::Request::Qry {
        trid,
        id: id.to_string(),
        digest,
    }
    .to_command(dialect)
}

/// Connects and signs `account` in: `VER`, then `INF` and `USR MD5` (MSNP7), or `CVR`,
/// `USR TWN` and a Passport ticket (MSNP8+). Returns at `USR … OK`.
pub(crate) async fn sign_in(target: &Target, account: &Account, source: Option<IpAddr>) -> Result<Link, LoadError> {
    let stream = connect(target.addr, source, target.timeout).await?;
    let dialect = target.dialect;
    let mut link = Link::new(&account.email, stream, Some(dialect), target.timeout);
    let offered = vec![dialect.as_str().to_string(), "CVR0".to_string()];
    link.ns("VER", |trid| ns::Request::Ver { trid, offered }).await?;
    let agreed = link
        .ns_expect(|r| match r {
            ns::Reply::Ver { versions, .. } => Some(versions),
            _ => None,
        })
        .await?;
    if !agreed.iter().any(|v| Dialect::from_token(v) == Some(dialect)) {
        return Err(LoadError::Protocol {
            who: account.email.clone(),
            detail: format!(
                "the server does not speak {dialect}: it answered `VER` with `{}`",
                agreed.join(" ")
            ),
        });
    }
    let ok = |r: ns::Reply| match r {
        ns::Reply::UsrOk { .. } => Some(()),
        _ => None,
    };
    let email = account.email.clone();
    match dialect.auth() {
        Auth::Md5 => {
            link.ns("INF", |trid| ns::Request::Inf { trid }).await?;
            link.ns_expect(|r| matches!(r, ns::Reply::Inf { .. }).then_some(()))
                .await?;
            let auth = UsrRequest::Md5Initial { account: email };
            link.ns("USR MD5 I", |trid| ns::Request::Usr { trid, auth }).await?;
            let salt = link
                .ns_expect(|r| match r {
                    ns::Reply::UsrSalt { salt, .. } => Some(salt),
                    _ => None,
                })
                .await?;
            let proof = md5_response(&salt, &account.password);
            let auth = UsrRequest::Md5Proof { proof };
            link.ns("USR MD5 S", |trid| ns::Request::Usr { trid, auth }).await?;
            link.ns_expect(ok).await?;
        }
        Auth::Twn => {
            // Windows Messenger 4.7's identity, as msgr's client sends it.
            #[rustfmt::skip]
            let fields = ["0x0409", "winnt", "5.1", "i386", "MSMSGS", "4.7.3001", "msmsgs", &account.email]
                .map(str::to_string)
                .to_vec();
            link.ns("CVR", |trid| ns::Request::Cvr { trid, fields }).await?;
            link.ns_expect(|r| matches!(r, ns::Reply::Cvr { .. }).then_some(()))
                .await?;
            let auth = UsrRequest::TwnInitial { account: email };
            link.ns("USR TWN I", |trid| ns::Request::Usr { trid, auth }).await?;
            let challenge = link
                .ns_expect(|r| match r {
                    ns::Reply::UsrTwnChallenge { challenge, .. } => Some(challenge),
                    _ => None,
                })
                .await?;
            let Some(passport) = &target.passport else {
                return Err(LoadError::Options(format!(
                    "{dialect} signs in through Passport: give --nexus URL"
                )));
            };
            let ticket = passport
                .ticket(&account.email, &account.password, &challenge)
                .await
                .map_err(|refusal| LoadError::Passport {
                    who: account.email.clone(),
                    detail: refusal.error.to_string(),
                })?;
            let auth = UsrRequest::TwnTicket { ticket };
            link.ns("USR TWN S", |trid| ns::Request::Usr { trid, auth }).await?;
            link.ns_expect(ok).await?;
        }
    }
    Ok(link)
}

/// `CHG NLN`: online, so that others may call and the user may ask for switchboards.
pub(crate) async fn go_online(link: &mut Link) -> Result<(), LoadError> {
    // MSNP8+ servers expect the capabilities (Escargot ignores a CHG without them).
    let capabilities = ns::at_least(link.dialect, Dialect::Msnp8).then(|| "0".to_string());
    link.ns("CHG", |trid| {
        ns::Request::Chg(ns::Chg {
            trid,
            status: "NLN".to_string(),
            capabilities,
            msnobj: None,
        })
    })
    .await?;
    link.ns_expect(|r| matches!(r, ns::Reply::Chg(_)).then_some(())).await
}

/// Resolves once `stop` is set (or its sender gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard wait_for returns is not Send: dropped here, before any other await.
    let _ = stop.wait_for(|s| *s).await;
}

/// Keeps a signed-in notification connection alive until `stop`: answers the
/// service's pings, pings it every minute, and says `OUT` at the end. Returns why the
/// server ended it first, if it did.
pub(crate) async fn keep_alive(mut link: Link, mut stop: watch::Receiver<bool>) -> Option<LoadError> {
    let start = tokio::time::Instant::now() + PING_EVERY;
    let mut ping = tokio::time::interval_at(start, PING_EVERY);
    loop {
        tokio::select! {
            // Once stopped, what the others' leaving causes is no failure.
            biased;
            _ = stopped(&mut stop) => {
                link.goodbye().await;
                return None;
            }
            _ = ping.tick() => {
                if link.w.write(&ns::Request::Png.to_command(link.dialect).encode()).await.is_err() {
                    return Some(link.ended(Ended::Reset));
                }
            }
            next = link.r.next() => match next {
                Ok(cmd) => match ns::Reply::parse(&cmd, link.dialect) {
                    ns::Reply::Chl { trid: 0, challenge } => {
                        let answer = ping_answer(link.dialect, link.w.next_trid(), &challenge);
                        if link.w.write(&answer.encode()).await.is_err() {
                            return Some(link.ended(Ended::Reset));
                        }
                    }
                    ns::Reply::Out { .. } => {
                        return Some(LoadError::Closed {
                            who: link.who.clone(),
                            stage: "idle",
                            sent: "nothing".to_string(),
                            out: Some(cmd.line()),
                            reset: false,
                        })
                    }
                    _ => {}
                },
                Err(how) => {
                    link.stage = "idle";
                    return Some(link.ended(how));
                }
            },
        }
    }
}

/// The address a switchboard referral names, refused unless loopback (or allowed).
fn switchboard_address(target: &Target, who: &str, address: &str) -> Result<SocketAddr, LoadError> {
    let addr: SocketAddr = address.parse().map_err(|_| LoadError::Protocol {
        who: who.to_string(),
        detail: format!("the switchboard address {address:?} is not HOST:PORT with an IP address"),
    })?;
    if !addr.ip().is_loopback() && !target.allow_remote {
        return Err(LoadError::Options(format!(
            "the server sends switchboard connections to {addr}, which is not a loopback address; \
             msgr load only loads this machine unless --allow-remote is given"
        )));
    }
    Ok(addr)
}

/// A switchboard with `a` and `b` (both signed in and online): `a` asks for it
/// (`XFR SB`), takes its seat (`USR`) and calls `b` (`CAL`); `b` answers the `RNG`
/// (`ANS`); `a` sees `JOI`. Returns (a's, b's) switchboard connections.
pub(crate) async fn switchboard(
    target: &Target,
    a: &mut Link,
    b: &mut Link,
    source: Option<IpAddr>,
) -> Result<(Link, Link), LoadError> {
    a.ns("XFR SB", |trid| ns::Request::Xfr {
        trid,
        kind: "SB".to_string(),
    })
    .await?;
    let (address, cookie) = a
        .ns_expect(|r| match r {
            ns::Reply::XfrSb { address, cookie, .. } => Some((address, cookie)),
            _ => None,
        })
        .await?;
    let addr = switchboard_address(target, &a.who, &address)?;
    let stream = connect(addr, source, target.timeout).await?;
    let mut a_sb = Link::new(&a.who, stream, a.dialect, target.timeout);
    let account = a.who.clone();
    a_sb.sb("USR (switchboard)", |trid| sb::Request::Usr { trid, account, cookie })
        .await?;
    a_sb.sb_expect(|r| matches!(r, sb::Reply::UsrOk { .. }).then_some(()))
        .await?;
    let account = b.who.clone();
    a_sb.sb("CAL", |trid| sb::Request::Cal { trid, account }).await?;
    a_sb.sb_expect(|r| matches!(r, sb::Reply::CalRinging { .. }).then_some(()))
        .await?;

    let (session, address, cookie) = b
        .ns_expect(|r| match r {
            ns::Reply::Rng {
                session,
                address,
                cookie,
                ..
            } => Some((session, address, cookie)),
            _ => None,
        })
        .await?;
    let addr = switchboard_address(target, &b.who, &address)?;
    let stream = connect(addr, source, target.timeout).await?;
    let mut b_sb = Link::new(&b.who, stream, b.dialect, target.timeout);
    let account = b.who.clone();
    b_sb.sb("ANS", |trid| sb::Request::Ans {
        trid,
        account,
        cookie,
        session,
    })
    .await?;
    b_sb.sb_expect(|r| matches!(r, sb::Reply::AnsOk { .. }).then_some(()))
        .await?;
    a_sb.sb_expect(|r| matches!(r, sb::Reply::Joi { .. }).then_some(()))
        .await?;
    Ok((a_sb, b_sb))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_and_tickets_are_masked() {
        let usr = ns::Request::Usr {
            trid: 4,
            auth: UsrRequest::Md5Proof {
                proof: "9015608a2361311d140d17349dd61a6e".into(),
            },
        };
        assert_eq!(masked(&usr.to_command(None)), "USR 4 MD5 S ***");
        let ver = ns::Request::Ver {
            trid: 1,
            offered: vec!["MSNP7".into(), "CVR0".into()],
        };
        assert_eq!(masked(&ver.to_command(None)), "VER 1 MSNP7 CVR0");
    }

    #[test]
    fn pings_are_answered_with_the_public_pair() {
        // msnp.md §d.6, vector 5 (MSNP7).
        let qry = ping_answer(Some(Dialect::Msnp7), 7, "59552889518292466394");
        assert_eq!(
            qry.encode(),
            b"QRY 7 msmsgs@msnmsgr.com 32\r\n6a635702830d61ef0fd2edbcca52c8a0".to_vec()
        );
    }
}
