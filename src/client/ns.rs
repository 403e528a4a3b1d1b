//! The client side of the notification-server connection: MSNP7 sign-in, answering the
//! service's pings, and the replies that belong to Lock and Key transactions.

use crate::error::Error;
use crate::hresult::HResult;
use crate::proto::{line, with_payload, ConnId, Instant, CLIENT_ID, CLIENT_KEY, DIALECT, LOCK_AND_KEY_HEADER};
use crate::service::LockAndKey;
use crate::wire::{challenge, urlenc, Command, Decoder, Direction, MimeMessage};

use super::{ClientEngine, ClientEvent, SignOutReason};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connecting,
    AwaitVer,
    AwaitInf,
    AwaitSalt,
    AwaitOk,
    /// `SYN` and `CHG` sent; signed in once `CHG` is echoed.
    AwaitChg,
    SignedIn,
}

pub(super) struct NsSession {
    conn: ConnId,
    decoder: Decoder,
    stage: Stage,
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
            next_trid: 1,
            ping_answers: Vec::new(),
            lock_and_key: LockAndKey::Enabled,
            out_reason: None,
        }
    }

    pub(super) fn conn(&self) -> ConnId {
        self.conn
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
    /// Sends `NAME <trid> args…` on the NS connection and returns the TrID used.
    pub(super) fn ns_send(&mut self, name: &str, args: &[&str]) -> Option<u32> {
        let ns = self.ns.as_mut()?;
        let t = ns.trid();
        let conn = ns.conn;
        let mut all = vec![t.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        self.send(conn, line(name, &all));
        Some(t)
    }

    pub(super) fn ns_send_payload(&mut self, name: &str, args: &[&str], payload: Vec<u8>) -> Option<u32> {
        let ns = self.ns.as_mut()?;
        let t = ns.trid();
        let conn = ns.conn;
        let mut all = vec![t.to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        self.send(conn, with_payload(name, &all, payload));
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
        self.ns_send("VER", &[DIALECT, "CVR0"]);
    }

    pub(super) fn ns_receive(&mut self, bytes: &[u8], now: Instant) {
        if let Some(ns) = self.ns.as_mut() {
            ns.decoder.push(bytes);
        }
        loop {
            let Some(ns) = self.ns.as_mut() else { return };
            match ns.decoder.next_command() {
                Ok(Some(cmd)) => self.ns_command(cmd, now),
                Ok(None) => return,
                Err(e) => return self.ns_fail(Error::Wire(e), now),
            }
        }
    }

    fn ns_command(&mut self, cmd: Command, now: Instant) {
        let stage = match self.stage() {
            Some(s) => s,
            None => return,
        };
        let arg = |i: usize| cmd.args.get(i).map(String::as_str).unwrap_or("");
        match (stage, cmd.name.as_str()) {
            (_, "OUT") => {
                let reason = match arg(0) {
                    "OTH" => SignOutReason::OtherSignIn,
                    _ => SignOutReason::ServerShutdown,
                };
                if let Some(ns) = self.ns.as_mut() {
                    ns.out_reason = Some(reason);
                }
            }
            (Stage::AwaitVer, "VER") => {
                // Accept a reply listing several dialects: ours must be among them.
                if cmd.args.iter().skip(1).any(|d| d == DIALECT) {
                    self.set_stage(Stage::AwaitInf);
                    self.ns_send("INF", &[]);
                } else {
                    let e = Error::api(HResult::E_FAIL, "the server does not speak MSNP7");
                    self.ns_fail(e, now);
                }
            }
            (Stage::AwaitInf, "INF") => {
                if cmd.args.iter().skip(1).any(|m| m == "MD5") {
                    self.set_stage(Stage::AwaitSalt);
                    let user = self.config.sign_in_name.clone();
                    self.ns_send("USR", &["MD5", "I", &user]);
                } else {
                    let e = Error::api(HResult::E_FAIL, "the server offers no MD5 authentication");
                    self.ns_fail(e, now);
                }
            }
            (Stage::AwaitSalt, "USR") if arg(1) == "MD5" && arg(2) == "S" => {
                let proof = challenge::md5_response(arg(3), &self.config.password);
                self.set_stage(Stage::AwaitOk);
                self.ns_send("USR", &["MD5", "S", &proof]);
            }
            (Stage::AwaitOk, "USR") if arg(1) == "OK" => {
                self.friendly_name = Some(urlenc::decode(arg(3)));
                self.set_stage(Stage::AwaitChg);
                self.ns_send("SYN", &["0"]);
                self.ns_send("CHG", &["NLN"]);
            }
            (Stage::AwaitChg, "CHG") => {
                self.set_stage(Stage::SignedIn);
                self.emit(ClientEvent::SignedIn);
                let policy = self.ns.as_ref().map(NsSession::lock_and_key).unwrap_or_default();
                self.locks_signed_in(policy);
            }
            (_, "MSG") if arg(0) == "Hotmail" => self.ns_profile(&cmd),
            (_, "LST" | "ILN" | "NLN" | "FLN" | "NOT") | (Stage::SignedIn, "ADD") => {
                self.contacts_command(&cmd);
            }
            (Stage::SignedIn, "XFR") if arg(1) == "SB" => self.sb_xfr_reply(&cmd),
            (Stage::SignedIn, "RNG") => self.sb_ring(&cmd),
            (_, "CHL") if arg(0) == "0" => self.ns_answer_ping(arg(1)),
            (_, "CHL") => {
                if let Some(t) = cmd.trid() {
                    self.locks_challenge(t, arg(1), now);
                }
            }
            (_, "QRY") => {
                if let Some(t) = cmd.trid() {
                    if !self.ns_is_ping_answer(t) {
                        self.locks_result(t, true, now);
                    }
                }
            }
            (_, "911") if stage != Stage::SignedIn => {
                let e = Error::api(
                    HResult::SR_AUTHENTICATION_FAILED,
                    "the service refused the sign-in name or password (911)",
                );
                self.ns_fail(e, now);
            }
            (_, "540") => {
                if let Some(t) = cmd.trid() {
                    if !self.ns_is_ping_answer(t) {
                        self.locks_result(t, false, now);
                    }
                }
            }
            (Stage::SignedIn, _) if cmd.is_error() => {
                if let (Some(t), Some(code)) = (cmd.trid(), cmd.error_code()) {
                    if !self.contacts_add_failed(t, code) {
                        self.sb_xfr_failed(t, now);
                    }
                }
            }
            (_, code) if cmd.is_error() && stage != Stage::SignedIn => {
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
        let digest = challenge::md5_response(challenge_text, CLIENT_KEY);
        if let Some(t) = self.ns_send_payload("QRY", &[CLIENT_ID], digest.into_bytes()) {
            if let Some(ns) = self.ns.as_mut() {
                ns.ping_answers.push(t);
            }
        }
    }

    fn ns_profile(&mut self, cmd: &Command) {
        let Some(payload) = cmd.payload.as_deref() else {
            return;
        };
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
    fn ns_fail(&mut self, error: Error, now: Instant) {
        let Some(ns) = self.ns.as_ref() else { return };
        let conn = ns.conn;
        let was_signed_in = ns.is_signed_in();
        self.out.push_back(super::ClientOutput::Close { conn });
        if was_signed_in {
            self.ns_ended(SignOutReason::ConnectionLost, now);
        } else {
            self.ns = None;
            self.emit(ClientEvent::SignInFailed { error });
        }
    }

    /// The NS connection is gone: every object is locked again (reference C3).
    pub(super) fn ns_ended(&mut self, reason: SignOutReason, now: Instant) {
        let Some(ns) = self.ns.take() else { return };
        if ns.is_signed_in() {
            self.locks_signed_out(now);
            self.emit(ClientEvent::SignedOut { reason });
        } else {
            let e = Error::api(
                HResult::E_FAIL,
                format!("the connection closed during sign-in ({})", reason.as_str()),
            );
            self.emit(ClientEvent::SignInFailed { error: e });
        }
    }
}
