//! The client's switchboard connections: one per peer, opened with `XFR SB` + `USR` +
//! `CAL` (caller) or from an `RNG` with `ANS` (callee); invitation messages queue until
//! the peer has joined (msnp.md §c).

use std::collections::HashMap;
use std::time::Duration;

use crate::error::Error;
use crate::hresult::HResult;
use crate::proto::ns::Request as NsRequest;
use crate::proto::sb::{Reply, Request};
use crate::proto::{ConnId, Instant};
use crate::wire::{Command, Decoder, Direction, InviteMessage, MimeMessage};

use super::error_codes::{cal_refusal, quoted};
use super::{ClientEngine, ClientOutput, ObjId, LOG};

/// Switchboards a client keeps open at once; rings past it are ignored.
pub const MAX_SWITCHBOARDS: usize = 64;

/// How long a switchboard may take to carry messages: from `XFR` (or `RNG`) to the
/// peer's `JOI` (or our `ANS` answered). A peer who vanished while ringing never
/// joins, and nothing on the wire says so; past this the link is given up.
pub const SB_SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What an invitation message was for, to report the right send failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MsgKind {
    Invite,
    Accept,
    Decline,
    Cancel,
    Context,
    /// A plain instant message ([`super::text`]); its id is not a session's.
    Text,
}

impl MsgKind {
    fn noun(self) -> &'static str {
        match self {
            MsgKind::Invite => "invitation",
            MsgKind::Accept => "acceptance",
            MsgKind::Decline => "decline",
            MsgKind::Cancel => "cancellation",
            MsgKind::Context => "context data",
            MsgKind::Text => "message",
        }
    }

    pub(super) fn send_failure(self) -> HResult {
        match self {
            MsgKind::Invite => HResult::SR_INVITATION_SEND_FAILURE,
            MsgKind::Accept => HResult::SR_ACCEPT_SEND_FAILURE,
            MsgKind::Decline => HResult::SR_DECLINE_SEND_FAILURE,
            MsgKind::Cancel => HResult::SR_CANCEL_SEND_FAILURE,
            MsgKind::Context => HResult::SR_CONTEXT_DATA_SEND_FAILURE,
            MsgKind::Text => HResult::E_FAIL,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    AwaitXfr { trid: u32 },
    AwaitConnect { cookie: String, session: Option<String> },
    AwaitUsr,
    AwaitCal,
    AwaitJoin,
    AwaitAns,
    Ready,
}

/// What the switchboard answered with an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SbStep {
    /// `USR`: our sign-in to a switchboard we asked for.
    Usr,
    /// `CAL`: calling the peer in.
    Cal,
    /// `ANS`: joining a switchboard we were called to.
    Ans,
    /// `MSG`: a message on a switchboard we are in.
    Msg,
}

/// Why a switchboard could not carry a message; each keeps what the app needs to
/// know what went wrong (the code, the address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SbFailure {
    /// The switchboard answered `step` with an MSNP error code.
    Refused { step: SbStep, code: u16 },
    /// The address `XFR` or `RNG` named could not be connected to.
    Unreachable { addr: String, why: String },
    /// The notification server gave no switchboard: `XFR` refused with `code`, or no
    /// notification connection at all.
    NoSwitchboard { code: Option<u16> },
    /// The switchboard connection ended before the message went out.
    Closed,
    /// The switchboard could not deliver a message (`NAK`).
    NotDelivered,
    /// The peer did not join within [`SB_SETUP_TIMEOUT`].
    NoAnswer,
    /// We signed out (or lost the service) first.
    SignedOut,
}

impl SbFailure {
    /// The error of a message of `kind` to `peer` that this failure kept from going out.
    pub(super) fn error(&self, kind: MsgKind, peer: &str) -> Error {
        let unsent = kind.send_failure();
        match self {
            SbFailure::Refused {
                step: SbStep::Cal,
                code,
            } => Error::api(
                cal_refusal(*code),
                format!("{peer} could not be called: {}", quoted(*code)),
            ),
            SbFailure::Refused { step, code } => {
                let what = match step {
                    SbStep::Usr => "the switchboard refused our sign-in",
                    SbStep::Ans => "the switchboard refused to let us join",
                    SbStep::Msg | SbStep::Cal => "the switchboard refused the message",
                };
                Error::api(unsent, format!("{what}: {}", quoted(*code)))
            }
            SbFailure::Unreachable { addr, why } => Error::api(
                HResult::SR_CONNECTION_FAILURE,
                format!("cannot reach switchboard {addr}: {why}"),
            ),
            SbFailure::NoSwitchboard { code } => {
                let why = code.map(|c| format!(": {}", quoted(c))).unwrap_or_default();
                Error::api(
                    unsent,
                    format!("the service gave no switchboard for the {} to {peer}{why}", kind.noun()),
                )
            }
            SbFailure::Closed => Error::api(
                unsent,
                format!("the switchboard closed before the {} to {peer} went out", kind.noun()),
            ),
            // A text is acknowledged, so this is the one answer to "is the peer there".
            SbFailure::NotDelivered if kind == MsgKind::Text => Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                format!("{peer} left the switchboard before the message reached them"),
            ),
            SbFailure::NotDelivered => Error::api(
                unsent,
                format!("the switchboard could not deliver the {} to {peer}", kind.noun()),
            ),
            SbFailure::SignedOut => Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                format!("signed out before the {} to {peer} was delivered", kind.noun()),
            ),
            SbFailure::NoAnswer => Error::api(
                HResult::SR_CONNECTION_FAILURE,
                format!(
                    "{peer} did not join the switchboard within {} s; the {} did not go out",
                    SB_SETUP_TIMEOUT.as_secs(),
                    kind.noun()
                ),
            ),
        }
    }
}

struct Link {
    conn: Option<ConnId>,
    /// The switchboard's `host:port`, once `XFR` or `RNG` named it.
    addr: Option<String>,
    peer: String,
    stage: Stage,
    /// When the link is given up unless it is ready by then.
    setup_deadline: Instant,
    decoder: Decoder,
    next_trid: u32,
    queue: Vec<(ObjId, MsgKind, Vec<u8>)>,
    sent: HashMap<u32, (ObjId, MsgKind)>,
}

impl Link {
    fn new(peer: &str, stage: Stage, conn: Option<ConnId>, now: Instant) -> Self {
        Link {
            conn,
            addr: None,
            peer: peer.to_string(),
            stage,
            setup_deadline: now + SB_SETUP_TIMEOUT,
            decoder: Decoder::new(Direction::ServerToClient),
            next_trid: 1,
            queue: Vec::new(),
            sent: HashMap::new(),
        }
    }

    fn trid(&mut self) -> u32 {
        let t = self.next_trid;
        self.next_trid += 1;
        t
    }
}

#[derive(Default)]
pub(super) struct Links {
    links: Vec<Link>,
}

impl Links {
    fn by_conn(&mut self, conn: ConnId) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.conn == Some(conn))
    }

    pub(super) fn owns(&self, conn: ConnId) -> bool {
        self.links.iter().any(|l| l.conn == Some(conn))
    }

    pub(super) fn len(&self) -> usize {
        self.links.len()
    }

    pub(super) fn queued(&self) -> usize {
        self.links.iter().map(|l| l.queue.len()).sum()
    }
}

impl ClientEngine {
    /// Sends an invitation payload to `peer`, opening a switchboard if none is usable.
    pub(super) fn sb_send(&mut self, peer: &str, obj: ObjId, kind: MsgKind, payload: Vec<u8>, now: Instant) {
        let ready = self
            .sbs
            .links
            .iter()
            .position(|l| l.peer.eq_ignore_ascii_case(peer) && l.stage == Stage::Ready);
        if let Some(i) = ready {
            return self.sb_write(i, obj, kind, payload, now);
        }
        if let Some(l) = self.sbs.links.iter_mut().find(|l| l.peer.eq_ignore_ascii_case(peer)) {
            l.queue.push((obj, kind, payload));
            return;
        }
        match self.ns_send(|trid| NsRequest::Xfr {
            trid,
            kind: "SB".into(),
        }) {
            Some(trid) => {
                let mut link = Link::new(peer, Stage::AwaitXfr { trid }, None, now);
                link.queue.push((obj, kind, payload));
                self.sbs.links.push(link);
            }
            None => self.message_failed(obj, kind, &SbFailure::NoSwitchboard { code: None }, now),
        }
    }

    fn sb_write(&mut self, i: usize, obj: ObjId, kind: MsgKind, payload: Vec<u8>, now: Instant) {
        let link = &mut self.sbs.links[i];
        let Some(conn) = link.conn else { return };
        let t = link.trid();
        link.sent.insert(t, (obj, kind));
        // Invitations go as `N` (only a failure is reported back), as the captured
        // clients did. A text goes as `A`: send_text says whether it was delivered, and
        // only the ACK tells that from a peer who left a moment ago.
        let ack = if kind == MsgKind::Text { "A" } else { "N" };
        let cmd = Request::Msg {
            trid: t,
            ack: ack.into(),
            payload,
        };
        self.send(conn, cmd.to_command(None));
        if kind == MsgKind::Invite {
            self.sessions_invite_sent(obj, now);
        }
    }

    /// `XFR <t> SB <addr> CKI <cookie>` from the notification server.
    pub(super) fn sb_xfr_reply(&mut self, trid: u32, addr: String, cookie: String, now: Instant) {
        let Some(i) = self.sbs.links.iter().position(|l| l.stage == Stage::AwaitXfr { trid }) else {
            return;
        };
        if addr.is_empty() || cookie.is_empty() {
            // Our USR would carry an empty field, which no server reads back as sent.
            log::warn!(target: LOG, "{}: XFR {trid} named no switchboard address or cookie", self.config.sign_in_name);
            return self.sb_fail(i, &SbFailure::NoSwitchboard { code: None }, now);
        }
        let conn = self.new_conn();
        let link = &mut self.sbs.links[i];
        link.conn = Some(conn);
        link.addr = Some(addr.clone());
        link.stage = Stage::AwaitConnect { cookie, session: None };
        self.out.push_back(ClientOutput::Connect { conn, addr });
    }

    /// An error reply on the NS to an `XFR`: that switchboard will not exist.
    pub(super) fn sb_xfr_failed(&mut self, trid: u32, code: u16, now: Instant) {
        if let Some(i) = self.sbs.links.iter().position(|l| l.stage == Stage::AwaitXfr { trid }) {
            self.sb_fail(i, &SbFailure::NoSwitchboard { code: Some(code) }, now);
        }
    }

    /// `RNG <session> <addr> CKI <cookie> <caller> <name>`: someone wants to talk.
    pub(super) fn sb_ring(
        &mut self,
        session: String,
        addr: String,
        cookie: String,
        caller: String,
        friendly: String,
        now: Instant,
    ) {
        if [&session, &addr, &cookie, &caller].iter().any(|f| f.is_empty()) {
            log::warn!(target: LOG, "{}: ignored a ring missing its session, address, cookie or caller", self.config.sign_in_name);
            return;
        }
        // One switchboard per peer, and only so many in all: a peer ringing us a
        // thousand times must not make us open a thousand connections.
        if self.sbs.links.iter().any(|l| l.peer.eq_ignore_ascii_case(&caller)) {
            log::info!(target: LOG, "{}: ignored a ring from {caller}, who has a switchboard with us", self.config.sign_in_name);
            return;
        }
        if self.sbs.links.len() >= MAX_SWITCHBOARDS {
            log::warn!(target: LOG, "{}: ignored a ring from {caller}: {MAX_SWITCHBOARDS} switchboards open", self.config.sign_in_name);
            return;
        }
        let conn = self.new_conn();
        self.peer_names.insert(caller.to_ascii_lowercase(), friendly);
        let mut link = Link::new(
            &caller,
            Stage::AwaitConnect {
                cookie,
                session: Some(session),
            },
            Some(conn),
            now,
        );
        link.addr = Some(addr.clone());
        self.sbs.links.push(link);
        self.out.push_back(ClientOutput::Connect { conn, addr });
    }

    pub(super) fn sb_connected(&mut self, conn: ConnId) {
        let me = self.config.sign_in_name.clone();
        let Some(link) = self.sbs.by_conn(conn) else {
            return;
        };
        let Stage::AwaitConnect { cookie, session } = link.stage.clone() else {
            return;
        };
        let trid = link.trid();
        let (cmd, stage) = match session {
            Some(session) => (
                Request::Ans {
                    trid,
                    account: me,
                    cookie,
                    session,
                },
                Stage::AwaitAns,
            ),
            None => (
                Request::Usr {
                    trid,
                    account: me,
                    cookie,
                },
                Stage::AwaitUsr,
            ),
        };
        link.stage = stage;
        self.send(conn, cmd.to_command(None));
    }

    pub(super) fn sb_receive(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        if let Some(l) = self.sbs.by_conn(conn) {
            l.decoder.push(bytes);
        }
        loop {
            let Some(l) = self.sbs.by_conn(conn) else {
                return;
            };
            match l.decoder.next_command() {
                Ok(Some(cmd)) => {
                    // Numbered as it arrives (before what it causes), kept once handled.
                    let stamp = self.trace_stamp();
                    self.sb_command(conn, &cmd, now);
                    self.record_received(stamp, conn, cmd);
                }
                Ok(None) => return,
                Err(_) => {
                    self.out.push_back(ClientOutput::Close { conn });
                    return self.sb_closed(conn, now);
                }
            }
        }
    }

    fn sb_command(&mut self, conn: ConnId, cmd: &Command, now: Instant) {
        let Some(i) = self.sbs.links.iter().position(|l| l.conn == Some(conn)) else {
            return;
        };
        let stage = self.sbs.links[i].stage.clone();
        match (stage, Reply::parse(cmd, None)) {
            (Stage::AwaitUsr, Reply::UsrOk { .. }) => {
                let link = &mut self.sbs.links[i];
                let cal = Request::Cal {
                    trid: link.trid(),
                    account: link.peer.clone(),
                };
                link.stage = Stage::AwaitCal;
                self.send(conn, cal.to_command(None));
            }
            (Stage::AwaitCal, Reply::CalRinging { .. }) => self.sbs.links[i].stage = Stage::AwaitJoin,
            (Stage::AwaitJoin, Reply::Joi { account, friendly, .. }) => {
                self.peer_names.insert(account.to_ascii_lowercase(), friendly);
                self.sb_ready(i, now);
            }
            (Stage::AwaitAns, Reply::Iro { account, friendly, .. }) => {
                self.peer_names.insert(account.to_ascii_lowercase(), friendly);
            }
            (Stage::AwaitAns, Reply::AnsOk { .. }) => self.sb_ready(i, now),
            (Stage::Ready, Reply::Msg { sender, payload, .. }) => self.sb_message(i, &sender, &payload, now),
            (_, Reply::Nak { trid }) => {
                if let Some((obj, kind)) = self.sbs.links[i].sent.remove(&trid) {
                    self.message_failed(obj, kind, &SbFailure::NotDelivered, now);
                }
            }
            (_, Reply::Ack { trid }) => {
                if let Some((obj, MsgKind::Text)) = self.sbs.links[i].sent.remove(&trid) {
                    self.text_sent(obj);
                }
            }
            (_, Reply::Bye { account, .. }) if account.eq_ignore_ascii_case(&self.sbs.links[i].peer) => {
                self.sb_fail_unacknowledged(i, &SbFailure::NotDelivered, now);
                self.out.push_back(ClientOutput::Close { conn });
                self.sb_closed(conn, now);
            }
            (Stage::Ready, Reply::Error { code, trid }) => {
                if let Some((obj, kind)) = self.sbs.links[i].sent.remove(&trid) {
                    let failure = SbFailure::Refused {
                        step: SbStep::Msg,
                        code,
                    };
                    self.message_failed(obj, kind, &failure, now);
                }
            }
            (stage, Reply::Error { code, .. }) => {
                let step = match stage {
                    Stage::AwaitCal => SbStep::Cal,
                    Stage::AwaitAns => SbStep::Ans,
                    _ => SbStep::Usr,
                };
                self.out.push_back(ClientOutput::Close { conn });
                self.sb_fail(i, &SbFailure::Refused { step, code }, now);
            }
            _ => {}
        }
    }

    fn sb_ready(&mut self, i: usize, now: Instant) {
        self.sbs.links[i].stage = Stage::Ready;
        let queued = std::mem::take(&mut self.sbs.links[i].queue);
        for (obj, kind, payload) in queued {
            self.sb_write(i, obj, kind, payload, now);
        }
    }

    fn sb_message(&mut self, i: usize, sender: &str, payload: &[u8], now: Instant) {
        if !sender.eq_ignore_ascii_case(&self.sbs.links[i].peer) {
            return;
        }
        let Ok(mime) = MimeMessage::parse(payload) else {
            return;
        };
        let peer = self.sbs.links[i].peer.clone();
        match mime.media_type().as_deref() {
            Some("text/x-msmsgsinvite") => {
                if let Ok(msg) = InviteMessage::parse_payload(payload) {
                    self.sessions_message(&peer, msg, now);
                }
            }
            Some("text/plain") => self.text_received(&peer, &mime),
            // Typing notifications, nudges, P2P: nothing the APIs tell.
            _ => {}
        }
    }

    /// A message that could not go out: the session's or the text's failure.
    fn message_failed(&mut self, obj: ObjId, kind: MsgKind, failure: &SbFailure, now: Instant) {
        if kind == MsgKind::Text {
            self.text_failed(obj, failure);
        } else {
            self.sessions_send_failed(obj, kind, failure, now);
        }
    }

    /// The switchboard connection ended: queued messages fail; a peer who leaves a
    /// ready switchboard has left every session with us.
    pub(super) fn sb_closed(&mut self, conn: ConnId, now: Instant) {
        let Some(i) = self.sbs.links.iter().position(|l| l.conn == Some(conn)) else {
            return;
        };
        if self.sbs.links[i].stage == Stage::Ready {
            self.sb_fail_unacknowledged(i, &SbFailure::Closed, now);
            let link = self.sbs.links.remove(i);
            self.sessions_peer_left(&link.peer, now);
        } else {
            self.sb_fail(i, &SbFailure::Closed, now);
        }
    }

    /// The address `XFR` or `RNG` named refused the connection (or did not answer):
    /// the failure names it, with the system's reason.
    pub(super) fn sb_unreachable(&mut self, conn: ConnId, why: &str, now: Instant) {
        let Some(i) = self.sbs.links.iter().position(|l| l.conn == Some(conn)) else {
            return;
        };
        let link = &self.sbs.links[i];
        let addr = link.addr.clone().unwrap_or_default();
        log::warn!(
            target: LOG,
            "{}: cannot reach switchboard {addr} (for {}): {why}",
            self.config.sign_in_name,
            link.peer
        );
        let failure = SbFailure::Unreachable {
            addr,
            why: why.to_string(),
        };
        self.sb_fail(i, &failure, now);
    }

    /// Fails the texts link `i` sent that still wait for their `ACK`.
    fn sb_fail_unacknowledged(&mut self, i: usize, failure: &SbFailure, now: Instant) {
        let sent = std::mem::take(&mut self.sbs.links[i].sent);
        for (obj, kind) in sent.into_values() {
            if kind == MsgKind::Text {
                self.message_failed(obj, kind, failure, now);
            }
        }
    }

    fn sb_fail(&mut self, i: usize, failure: &SbFailure, now: Instant) {
        let link = self.sbs.links.remove(i);
        for (obj, kind, _) in link.queue {
            self.message_failed(obj, kind, failure, now);
        }
    }

    pub(super) fn sb_next_deadline(&self) -> Option<Instant> {
        self.sbs
            .links
            .iter()
            .filter(|l| l.stage != Stage::Ready)
            .map(|l| l.setup_deadline)
            .min()
    }

    /// Gives up the links that were not ready in time: what they queued fails.
    pub(super) fn sb_tick(&mut self, now: Instant) {
        while let Some(i) = self
            .sbs
            .links
            .iter()
            .position(|l| l.stage != Stage::Ready && l.setup_deadline <= now)
        {
            self.sb_close_link(i);
            self.sb_fail(i, &SbFailure::NoAnswer, now);
        }
    }

    /// Takes back a message of ours still queued for a switchboard being set up,
    /// because its caller stopped waiting; a link left with nothing to carry closes.
    /// Whether it was still queued (false: it went out, or failed, already).
    pub(super) fn sb_withdraw(&mut self, obj: ObjId, kind: MsgKind) -> bool {
        let found = self.sbs.links.iter().enumerate().find_map(|(i, l)| {
            let at = l.queue.iter().position(|&(o, k, _)| o == obj && k == kind)?;
            Some((i, at))
        });
        let Some((i, at)) = found else { return false };
        let link = &mut self.sbs.links[i];
        link.queue.remove(at);
        if link.queue.is_empty() && link.stage != Stage::Ready {
            self.sb_close_link(i);
            self.sbs.links.remove(i);
        }
        true
    }

    /// Leaves link `i` on the wire (it stays in the table for the caller to remove).
    fn sb_close_link(&mut self, i: usize) {
        let link = &self.sbs.links[i];
        if let Some(conn) = link.conn {
            if !matches!(link.stage, Stage::AwaitConnect { .. }) {
                self.send(conn, Request::Out.to_command(None));
            }
            self.out.push_back(ClientOutput::Close { conn });
        }
    }

    /// Leaves every switchboard (sign-out); texts not yet delivered fail (sessions
    /// are ended by the sign-out itself).
    pub(super) fn sb_leave_all(&mut self) {
        for i in 0..self.sbs.links.len() {
            self.sb_close_link(i);
        }
        for link in std::mem::take(&mut self.sbs.links) {
            let queued = link.queue.into_iter().map(|(obj, kind, _)| (obj, kind));
            for (obj, kind) in queued.chain(link.sent.into_values()) {
                if kind == MsgKind::Text {
                    self.text_failed(obj, &SbFailure::SignedOut);
                }
            }
        }
    }
}
