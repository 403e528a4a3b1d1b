//! The client side of the notification-server connection: sign-in in the dialect `VER`
//! agreed, answering the service's pings, and the replies that belong to Lock and Key
//! transactions. Handlers take typed replies ([`crate::proto::ns`]).

use crate::error::Error;
use crate::hresult::HResult;
use crate::proto::dialect::{self, Auth, Dialect};
use crate::proto::ns::{at_least, Chg, Reply, Request, UsrRequest};
use crate::proto::{ping_pairs, ping_response, ConnId, Instant, LOCK_AND_KEY_HEADER};
use crate::service::LockAndKey;
use crate::wire::{challenge, Command, Decoder, Direction, MimeMessage};

use super::{ClientEngine, ClientEvent, SignOutReason, Waiting, LOG};

/// How many `XFR NS` redirects one sign-in follows.
const MAX_REDIRECTS: usize = 3;

/// Seconds between `PNG`s until a `QNG` says otherwise.
const PING_INTERVAL: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    AwaitVer,
    AwaitInf,
    AwaitSalt,
    /// `CVR` sent (MSNP8+); `USR TWN I` follows its reply, as official clients do.
    AwaitCvr,
    /// `USR TWN I` sent (MSNP8+): the Passport challenge comes next.
    AwaitTwnChallenge,
    /// The driver is getting a ticket from the login server.
    AwaitTicket,
    AwaitOk,
    /// `SYN` and `CHG` sent; signed in once `CHG` is echoed.
    AwaitChg,
    SignedIn,
}

pub(super) struct NsSession {
    conn: ConnId,
    decoder: Decoder,
    stage: Stage,
    /// The dialect `VER` agreed on.
    dialect: Option<Dialect>,
    next_trid: u32,
    /// TrIDs of our answers to the service's pings, whose `QRY <t>` replies are ours.
    ping_answers: Vec<u32>,
    lock_and_key: LockAndKey,
    /// Where this connection goes: the configured server, or where `XFR NS` sent us.
    address: String,
    redirects: usize,
    /// When to send the next `PNG` (MSNP8+ keep-alive), once signed in.
    next_ping: Option<Instant>,
}

impl NsSession {
    pub(super) fn new(conn: ConnId, address: &str) -> Self {
        NsSession {
            conn,
            address: address.to_string(),
            redirects: 0,
            next_ping: None,
            decoder: Decoder::new(Direction::ServerToClient),
            stage: Stage::Connecting,
            dialect: None,
            next_trid: 1,
            ping_answers: Vec::new(),
            lock_and_key: LockAndKey::Enabled,
        }
    }

    pub(super) fn address(&self) -> &str {
        &self.address
    }

    pub(super) fn conn(&self) -> ConnId {
        self.conn
    }

    pub(super) fn dialect(&self) -> Option<Dialect> {
        self.dialect
    }

    pub(super) fn is_signed_in(&self) -> bool {
        self.stage == Stage::SignedIn
    }

    pub(super) fn lock_and_key(&self) -> LockAndKey {
        self.lock_and_key
    }

    pub(super) fn trid(&mut self) -> u32 {
        let t = self.next_trid;
        self.next_trid = self.next_trid.wrapping_add(1).max(1);
        t
    }
}

impl ClientEngine {
    /// Sends the request `build` makes around the next TrID; returns the TrID, or None
    /// with no notification connection.
    pub(super) fn ns_send(&mut self, build: impl FnOnce(u32) -> Request) -> Option<u32> {
        let ns = self.ns.as_mut()?;
        let t = ns.trid();
        let (conn, dialect) = (ns.conn, ns.dialect);
        self.send(conn, build(t).to_command(dialect));
        Some(t)
    }

    fn set_stage(&mut self, stage: Stage) {
        if let Some(ns) = self.ns.as_mut() {
            ns.stage = stage;
        }
    }

    fn stage(&self) -> Option<Stage> {
        self.ns.as_ref().map(|ns| ns.stage)
    }

    pub(super) fn ns_connected(&mut self, _now: Instant) {
        self.set_stage(Stage::AwaitVer);
        let mut offered: Vec<String> = dialect::offer(&self.config.dialects)
            .into_iter()
            .map(|d| d.as_str().to_string())
            .collect();
        offered.push("CVR0".to_string());
        self.ns_send(|trid| Request::Ver { trid, offered });
    }

    pub(super) fn ns_receive(&mut self, bytes: &[u8], now: Instant) {
        if let Some(ns) = self.ns.as_mut() {
            ns.decoder.push(bytes);
        }
        loop {
            let Some(ns) = self.ns.as_mut() else { return };
            let conn = ns.conn;
            match ns.decoder.next_command() {
                Ok(Some(cmd)) => {
                    // Numbered as it arrives (before what it causes), kept once handled.
                    let stamp = self.trace_stamp();
                    self.ns_command(&cmd, now);
                    self.record_received(stamp, conn, cmd);
                }
                Ok(None) => return,
                Err(e) => {
                    let detail = format!("{} does not speak MSNP: {e}", ns.address);
                    return self.ns_fail(Error::api(HResult::SR_SESSION_PROTOCOL_ERROR, detail), now);
                }
            }
        }
    }

    fn ns_command(&mut self, cmd: &Command, now: Instant) {
        let Some(stage) = self.stage() else { return };
        let dialect = self.ns.as_ref().and_then(NsSession::dialect);
        match (stage, Reply::parse(cmd, dialect)) {
            (_, Reply::Out { reason }) => self.signed_out_by_server(reason.as_deref(), now),
            (Stage::AwaitVer, Reply::Ver { versions, .. }) => self.ns_version(&versions, now),
            (Stage::AwaitInf, Reply::Inf { methods, .. }) => {
                if methods.iter().any(|m| m == "MD5") {
                    self.set_stage(Stage::AwaitSalt);
                    let account = self.config.sign_in_name.clone();
                    self.ns_send(|trid| Request::Usr {
                        trid,
                        auth: UsrRequest::Md5Initial { account },
                    });
                } else {
                    let e = Error::api(HResult::E_FAIL, "the server offers no MD5 authentication");
                    self.ns_fail(e, now);
                }
            }
            (Stage::AwaitCvr, Reply::Cvr { .. }) => {
                self.set_stage(Stage::AwaitTwnChallenge);
                let account = self.config.sign_in_name.clone();
                self.ns_send(|trid| Request::Usr {
                    trid,
                    auth: UsrRequest::TwnInitial { account },
                });
            }
            (Stage::AwaitTwnChallenge, Reply::UsrTwnChallenge { challenge, .. }) => {
                self.set_stage(Stage::AwaitTicket);
                let Some(conn) = self.ns.as_ref().map(NsSession::conn) else {
                    return;
                };
                self.out.push_back(super::ClientOutput::Passport {
                    conn,
                    challenge,
                    account: self.config.sign_in_name.clone(),
                    password: self.password().to_string(),
                });
            }
            (Stage::AwaitSalt, Reply::UsrSalt { salt, .. }) => {
                let proof = challenge::md5_response(&salt, self.password());
                self.set_stage(Stage::AwaitOk);
                self.ns_send(|trid| Request::Usr {
                    trid,
                    auth: UsrRequest::Md5Proof { proof },
                });
            }
            (Stage::AwaitOk, Reply::UsrOk { friendly, .. }) => {
                if friendly.is_some() {
                    self.friendly_name = friendly;
                }
                self.set_stage(Stage::AwaitChg);
                // No cached lists: version 0 (and settings version 0 from MSNP10).
                let settings = at_least(dialect, Dialect::Msnp10).then(|| "0".to_string());
                self.ns_send(|trid| Request::Syn {
                    trid,
                    version: "0".into(),
                    settings,
                });
                // Capabilities from MSNP8: none of the optional features (msnp8-12.md §f.2).
                let capabilities = at_least(dialect, Dialect::Msnp8).then(|| "0".to_string());
                self.ns_send(|trid| {
                    Request::Chg(Chg {
                        trid,
                        status: "NLN".into(),
                        capabilities,
                        msnobj: None,
                    })
                });
            }
            (Stage::AwaitChg, Reply::Chg(_)) => {
                log::info!(
                    target: LOG,
                    "{} signed in to {} ({})",
                    self.config.sign_in_name,
                    self.ns.as_ref().map_or("?", |ns| ns.address.as_str()),
                    dialect.map_or("?", Dialect::as_str)
                );
                self.set_stage(Stage::SignedIn);
                self.profile.signed_in();
                // Every dialect: servers hang up on connections that stay silent.
                self.ns_schedule_ping(now, PING_INTERVAL);
                self.emit(ClientEvent::SignedIn);
                self.resolve(Waiting::SignIn, Ok(()));
                let policy = self.ns.as_ref().map(NsSession::lock_and_key).unwrap_or_default();
                self.locks_signed_in(policy);
            }
            // The answer to a change of status, name or personal message of ours.
            (Stage::SignedIn, reply @ (Reply::Chg(_) | Reply::Rea { .. } | Reply::Uux { .. } | Reply::Prp { .. }))
                if self.profile_reply(&reply) => {}
            // Groups: the download's LSG lines, and the answers to changes of ours.
            (_, reply @ Reply::Lsg { .. }) => {
                self.groups_reply(&reply);
            }
            (Stage::SignedIn, reply @ (Reply::Group(_) | Reply::Add { .. } | Reply::Adc(_) | Reply::Rem { .. }))
                if self.groups_reply(&reply) => {}
            (_, Reply::Hotmail { payload }) => self.ns_profile(&payload),
            (
                _,
                reply @ (Reply::Lst(_)
                | Reply::Contact(_)
                | Reply::Iln { .. }
                | Reply::Nln(_)
                | Reply::Fln { .. }
                | Reply::Ubx { .. }
                | Reply::Not { .. }),
            ) => {
                self.contacts_reply(reply);
            }
            (Stage::SignedIn, reply @ (Reply::Add { .. } | Reply::Adc(_))) => self.contacts_reply(reply),
            // From MSNP10 the user's own friendly name comes in the list download.
            (_, Reply::Prp { property, value, .. }) if property == "MFN" => {
                self.friendly_name = Some(crate::wire::urlenc::decode(&value));
            }
            (_, Reply::Qng { seconds }) => {
                self.ns_schedule_ping(now, seconds.unwrap_or(PING_INTERVAL));
            }
            (
                Stage::AwaitVer | Stage::AwaitCvr | Stage::AwaitTwnChallenge | Stage::AwaitInf | Stage::AwaitSalt,
                Reply::XfrNs { address, .. },
            ) => self.ns_redirect(address, now),
            (Stage::SignedIn, Reply::XfrSb { trid, address, cookie }) => self.sb_xfr_reply(trid, address, cookie, now),
            (
                Stage::SignedIn,
                Reply::Rng {
                    session,
                    address,
                    cookie,
                    caller,
                    friendly,
                },
            ) => self.sb_ring(session, address, cookie, caller, friendly, now),
            (_, Reply::Chl { trid: 0, challenge }) => self.ns_answer_ping(&challenge),
            (_, Reply::Chl { trid, challenge }) => self.locks_challenge(trid, &challenge, now),
            (_, Reply::Qry { trid }) => self.ns_verdict(trid, true, now),
            (_, Reply::Error { code: 540, trid }) => self.ns_verdict(trid, false, now),
            (Stage::SignedIn, Reply::Error { code, trid }) => self.ns_refused(trid, code, now),
            // A server past its caps says so before closing: the service cannot be
            // reached now, as when the connection fails.
            (
                _,
                Reply::Error {
                    code: code @ (600 | 601 | 604),
                    ..
                },
            ) => {
                let e = Error::api(
                    HResult::SR_CONNECTION_FAILURE,
                    format!(
                        "the service refused the connection: error {}",
                        super::error_codes::quoted(code)
                    ),
                );
                self.ns_fail(e, now);
            }
            (_, Reply::Error { code: 911, .. }) => {
                let e = Error::api(
                    HResult::SR_AUTHENTICATION_FAILED,
                    "the service refused the sign-in name or password (911)",
                );
                self.ns_fail(e, now);
            }
            (_, Reply::Error { code, .. }) => {
                let e = Error::api(
                    HResult::E_FAIL,
                    format!(
                        "the service answered the sign-in with error {}",
                        super::error_codes::quoted(code)
                    ),
                );
                self.ns_fail(e, now);
            }
            // Lists, presence and anything newer than we speak: nothing to do.
            _ => {}
        }
    }

    /// The server's `VER`: the first dialect it names that we offered is the one.
    fn ns_version(&mut self, versions: &[String], now: Instant) {
        let agreed = versions
            .iter()
            .filter_map(|t| Dialect::from_token(t))
            .find(|d| self.config.dialects.contains(d));
        let Some(d) = agreed else {
            let offered: Vec<&str> = self.config.dialects.iter().map(|d| d.as_str()).collect();
            let e = Error::api(
                HResult::SR_SESSION_PROTOCOL_ERROR,
                format!("the server speaks none of {}", offered.join(", ")),
            );
            return self.ns_fail(e, now);
        };
        if let Some(ns) = self.ns.as_mut() {
            ns.dialect = Some(d);
        }
        match d.auth() {
            Auth::Md5 => {
                self.set_stage(Stage::AwaitInf);
                self.ns_send(|trid| Request::Inf { trid });
            }
            Auth::Twn => {
                // Windows Messenger 4.7's own identity; the server may advise an upgrade.
                let account = self.config.sign_in_name.clone();
                #[rustfmt::skip]
                let fields = ["0x0409", "winnt", "5.1", "i386", "MSMSGS", "4.7.3001", "msmsgs", &account]
                    .map(str::to_string)
                    .to_vec();
                self.set_stage(Stage::AwaitCvr);
                self.ns_send(|trid| Request::Cvr { trid, fields });
            }
        }
    }

    /// `XFR <t> NS <host:port>` before sign-in: this server dispatches; sign in at the
    /// one it names, starting again at `VER` with the TrIDs going on (msnp8-12.md §b.3).
    fn ns_redirect(&mut self, address: String, now: Instant) {
        let redirects = self.ns.as_ref().map_or(0, |ns| ns.redirects);
        if redirects >= MAX_REDIRECTS {
            let e = Error::api(
                HResult::SR_SESSION_PROTOCOL_ERROR,
                format!("the service redirected the sign-in more than {MAX_REDIRECTS} times (last to {address})"),
            );
            return self.ns_fail(e, now);
        }
        let conn = self.new_conn();
        let Some(ns) = self.ns.as_mut() else { return };
        log::info!(target: LOG, "{} is redirected from {} to {address}", self.config.sign_in_name, ns.address);
        let old = std::mem::replace(&mut ns.conn, conn);
        ns.decoder = Decoder::new(Direction::ServerToClient);
        ns.stage = Stage::Connecting;
        ns.dialect = None;
        ns.redirects += 1;
        ns.address = address.clone();
        self.out.push_back(super::ClientOutput::Close { conn: old });
        self.out.push_back(super::ClientOutput::Connect { conn, addr: address });
    }

    fn ns_schedule_ping(&mut self, now: Instant, seconds: u32) {
        // A server asking for pings more often than every 5 s is not taken literally.
        let seconds = seconds.clamp(5, 3600);
        if let Some(ns) = self.ns.as_mut().filter(|ns| ns.is_signed_in()) {
            ns.next_ping = Some(now + std::time::Duration::from_secs(u64::from(seconds)));
        }
    }

    pub(super) fn ns_next_deadline(&self) -> Option<Instant> {
        self.ns.as_ref().and_then(|ns| ns.next_ping)
    }

    /// The keep-alive: `PNG` when due; the next one is scheduled by its `QNG`.
    pub(super) fn ns_tick(&mut self, now: Instant) {
        let Some(ns) = self.ns.as_mut() else { return };
        if ns.next_ping.is_some_and(|t| t <= now) {
            ns.next_ping = None;
            let conn = ns.conn;
            self.send(conn, Request::Png.to_command(None));
        }
    }

    /// The ticket for `USR TWN S`, or why the login server gave none.
    pub(super) fn ns_ticket(&mut self, ticket: crate::error::Result<String>, now: Instant) {
        if self.stage() != Some(Stage::AwaitTicket) {
            return;
        }
        match ticket {
            Ok(ticket) => {
                self.set_stage(Stage::AwaitOk);
                self.ns_send(|trid| Request::Usr {
                    trid,
                    auth: UsrRequest::TwnTicket { ticket },
                });
            }
            Err(e) => self.ns_fail(e, now),
        }
    }

    /// `QRY <t>` or `540 <t>`: the verdict on a ping answer of ours, or on an app's.
    fn ns_verdict(&mut self, trid: u32, accepted: bool, now: Instant) {
        if !self.ns_is_ping_answer(trid) {
            self.locks_result(trid, accepted, now);
        }
    }

    /// An error reply once signed in: to an `ADD`, or to an `XFR`.
    fn ns_refused(&mut self, trid: u32, code: u16, now: Instant) {
        if !self.locks_refused(trid, code)
            && !self.contacts_add_failed(trid, code)
            && !self.profile_refused(trid, code)
            && !self.groups_refused(trid, code)
        {
            self.sb_xfr_failed(trid, code, now);
        }
    }

    fn ns_is_ping_answer(&mut self, trid: u32) -> bool {
        let Some(ns) = self.ns.as_mut() else {
            return false;
        };
        let found = ns.ping_answers.iter().position(|t| *t == trid);
        if let Some(i) = found {
            ns.ping_answers.remove(i);
        }
        found.is_some()
    }

    /// Windows Messenger answered the service's pings itself, with the client pair
    /// and algorithm of the dialect (msnp8-12.md §i): its own up to MSNP10, MSN 7.0's
    /// after.
    fn ns_answer_ping(&mut self, challenge_text: &str) {
        let dialect = self.ns.as_ref().and_then(NsSession::dialect);
        let (id, key) = ping_pairs(dialect)[0];
        let digest = ping_response(dialect, challenge_text, id, key).into_bytes();
        let sent = self.ns_send(|trid| Request::Qry {
            trid,
            id: id.to_string(),
            digest,
        });
        if let (Some(t), Some(ns)) = (sent, self.ns.as_mut()) {
            ns.ping_answers.push(t);
        }
    }

    fn ns_profile(&mut self, payload: &[u8]) {
        let Ok(msg) = MimeMessage::parse(payload) else {
            return;
        };
        if msg.media_type().as_deref() != Some("text/x-msmsgsprofile") {
            return;
        }
        if let Some(policy) = msg.header(LOCK_AND_KEY_HEADER).and_then(LockAndKey::parse) {
            if let Some(ns) = self.ns.as_mut() {
                ns.lock_and_key = policy;
            }
        }
    }

    /// Sign-in failed or the connection broke before it finished: report and drop it.
    pub(super) fn ns_fail(&mut self, error: Error, now: Instant) {
        let Some(ns) = self.ns.as_ref() else { return };
        let conn = ns.conn;
        let was_signed_in = ns.is_signed_in();
        self.out.push_back(super::ClientOutput::Close { conn });
        if was_signed_in {
            self.ns_ended(SignOutReason::ConnectionLost, now);
        } else {
            self.ns = None;
            self.sign_in_failed(error);
        }
    }

    /// The NS connection is gone: every object is locked again (reference C3).
    pub(super) fn ns_ended(&mut self, reason: SignOutReason, now: Instant) {
        let Some(ns) = self.ns.take() else { return };
        if ns.is_signed_in() {
            log::info!(target: LOG, "{} signed out ({})", self.config.sign_in_name, reason.as_str());
            self.locks_signed_out(now);
            self.profile.signed_out();
            self.groups.signed_out();
            self.emit(ClientEvent::SignedOut { reason });
        } else {
            // A server that hangs up before signing us in (full, overloaded, or not an
            // MSNP server after all) is a connection failure, as one that refuses it is.
            let detail = format!(
                "{} closed the connection during sign-in ({})",
                ns.address(),
                reason.as_str()
            );
            self.sign_in_failed(Error::api(HResult::SR_CONNECTION_FAILURE, detail));
        }
    }

    fn sign_in_failed(&mut self, error: Error) {
        log::info!(target: LOG, "{}: sign-in failed: {error}", self.config.sign_in_name);
        self.emit(ClientEvent::SignInFailed { error: error.clone() });
        self.resolve(Waiting::SignIn, Err(error));
    }
}
