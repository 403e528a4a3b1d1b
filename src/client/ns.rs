//! The client side of the notification-server connection: sign-in in the dialect `VER`
//! agreed, answering the service's pings, and the replies that belong to Lock and Key
//! transactions. Handlers take typed replies ([`crate::proto::ns`]).

use crate::error::Error;
use crate::hresult::HResult;
use crate::proto::dialect::{self, Auth, Dialect};
use crate::proto::ns::{Reply, Request, UsrRequest};
use crate::proto::{ConnId, Instant, CLIENT_ID, CLIENT_KEY, LOCK_AND_KEY_HEADER};
use crate::service::LockAndKey;
use crate::wire::{challenge, Command, Decoder, Direction, MimeMessage};

use super::{ClientEngine, ClientEvent, SignOutReason, Waiting, LOG};

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
    out_reason: Option<SignOutReason>,
}

impl NsSession {
    pub(super) fn new(conn: ConnId) -> Self {
        NsSession {
            conn,
            decoder: Decoder::new(Direction::ServerToClient),
            stage: Stage::Connecting,
            dialect: None,
            next_trid: 1,
            ping_answers: Vec::new(),
            lock_and_key: LockAndKey::Enabled,
            out_reason: None,
        }
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

    pub(super) fn out_reason(&self) -> Option<SignOutReason> {
        self.out_reason
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
                    self.record(conn, Direction::ServerToClient, &cmd);
                    self.ns_command(cmd, now)
                }
                Ok(None) => return,
                Err(e) => {
                    let detail = format!("{} does not speak MSNP: {e}", self.config.ns_address);
                    return self.ns_fail(Error::api(HResult::SR_SESSION_PROTOCOL_ERROR, detail), now);
                }
            }
        }
    }

    fn ns_command(&mut self, cmd: Command, now: Instant) {
        let Some(stage) = self.stage() else { return };
        let dialect = self.ns.as_ref().and_then(NsSession::dialect);
        match (stage, Reply::parse(&cmd, dialect)) {
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
                self.ns_send(|trid| Request::Syn {
                    trid,
                    version: "0".into(),
                });
                self.ns_send(|trid| Request::Chg {
                    trid,
                    status: "NLN".into(),
                    capabilities: None,
                });
            }
            (Stage::AwaitChg, Reply::Chg { .. }) => {
                log::info!(
                    target: LOG,
                    "{} signed in to {} ({})",
                    self.config.sign_in_name,
                    self.config.ns_address,
                    dialect.map_or("?", Dialect::as_str)
                );
                self.set_stage(Stage::SignedIn);
                self.emit(ClientEvent::SignedIn);
                self.resolve(Waiting::SignIn, Ok(()));
                let policy = self.ns.as_ref().map(NsSession::lock_and_key).unwrap_or_default();
                self.locks_signed_in(policy);
            }
            (_, Reply::Hotmail { payload }) => self.ns_profile(&payload),
            (
                _,
                reply @ (Reply::Lst(_) | Reply::Iln { .. } | Reply::Nln { .. } | Reply::Fln { .. } | Reply::Not { .. }),
            ) => {
                self.contacts_reply(reply);
            }
            (Stage::SignedIn, reply @ Reply::Add { .. }) => self.contacts_reply(reply),
            (Stage::SignedIn, Reply::XfrSb { trid, address, cookie }) => self.sb_xfr_reply(trid, address, cookie),
            (
                Stage::SignedIn,
                Reply::Rng {
                    session,
                    address,
                    cookie,
                    caller,
                    friendly,
                },
            ) => self.sb_ring(session, address, cookie, caller, friendly),
            (_, Reply::Chl { trid: 0, challenge }) => self.ns_answer_ping(&challenge),
            (_, Reply::Chl { trid, challenge }) => self.locks_challenge(trid, &challenge, now),
            (_, Reply::Qry { trid }) => self.ns_verdict(trid, true, now),
            (_, Reply::Error { code: 540, trid }) => self.ns_verdict(trid, false, now),
            (Stage::SignedIn, Reply::Error { code, trid }) => self.ns_refused(trid, code, now),
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
                    format!("the service answered the sign-in with error {code}"),
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
        if !self.contacts_add_failed(trid, code) {
            self.sb_xfr_failed(trid, now);
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

    /// Windows Messenger answered the service's pings itself, with its own pair.
    fn ns_answer_ping(&mut self, challenge_text: &str) {
        let digest = challenge::md5_response(challenge_text, CLIENT_KEY).into_bytes();
        let sent = self.ns_send(|trid| Request::Qry {
            trid,
            id: CLIENT_ID.to_string(),
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
            self.emit(ClientEvent::SignedOut { reason });
        } else {
            let e = Error::api(
                HResult::E_FAIL,
                format!("the connection closed during sign-in ({})", reason.as_str()),
            );
            self.sign_in_failed(e);
        }
    }

    fn sign_in_failed(&mut self, error: Error) {
        log::info!(target: LOG, "{}: sign-in failed: {error}", self.config.sign_in_name);
        self.emit(ClientEvent::SignInFailed { error: error.clone() });
        self.resolve(Waiting::SignIn, Err(error));
    }
}
