//! `IMsgrSessionManager` and `IMsgrSession` on the client, and their mapping onto
//! `text/x-msmsgsinvite` messages (msnp.md §f.6; decisions in docs/decisions.md).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rand::Rng;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{valid_sign_in_name, Instant};
use crate::session::{flags, table, Ending, Input, Phase, Role, SessionState, Source, Step};
use crate::wire::{InvitationCommand, InviteMessage};

use super::apps::{self, AppRegistration};
use super::sb::{MsgKind, SbFailure};
use super::{ClientEngine, ClientEvent, ClientState, ObjId, ObjectKind, Waiting, LOG};

/// `bstrAppData` limit: 512 bytes of UTF-16 (reference C13).
pub const MAX_APP_DATA_BYTES: usize = 512;
pub const MAX_CONTEXT_DATA: usize = 300;
pub const MAX_CONTEXT_CALLS: u8 = 5;
pub const MAX_LOCAL_ADDRESS: usize = 30;
/// How long an inviter waits for an answer before cancelling with `TIMEOUT`.
pub const INVITATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Our extension field: the HRESULT behind a `CANCEL`; legacy peers ignore it.
pub const CANCEL_HRESULT_FIELD: &str = "Cancel-HResult";
/// Virtual process ids handed out by the default launcher start here.
const FIRST_VIRTUAL_PID: u32 = 40_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Launch {
    NotYet,
    Launched {
        pid: u32,
    },
    /// `BeforeAppLaunch` answered `False`.
    Suppressed,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub manager: ObjId,
    pub role: Role,
    pub flags: u32,
    pub phase: Phase,
    pub session_id: String,
    pub cookie: String,
    pub app: Option<AppRegistration>,
    pub local_address: Option<String>,
    pub remote_address: Option<String>,
    pub peer: Option<String>,
    pub context_data: Option<String>,
    pub context_sent: u8,
    /// Context data the peer sent before this side connected, delivered when it does.
    held_context: Vec<String>,
    pub launch: Launch,
    deadline: Option<Instant>,
    /// The app let go of it: it is forgotten as soon as it has ended.
    released: bool,
}

impl Session {
    fn new(manager: ObjId, role: Role, flags: u32, phase: Phase, session_id: String, cookie: String) -> Self {
        Session {
            manager,
            role,
            flags,
            phase,
            session_id,
            cookie,
            app: None,
            local_address: None,
            remote_address: None,
            peer: None,
            context_data: None,
            context_sent: 0,
            held_context: Vec::new(),
            launch: Launch::NotYet,
            deadline: None,
            released: false,
        }
    }

    pub fn state(&self) -> SessionState {
        self.phase.state()
    }
}

#[derive(Default)]
pub(super) struct Sessions {
    pub(super) map: BTreeMap<ObjId, Session>,
    /// The sessions of each invitation cookie, so a message from a switchboard finds
    /// its session without a scan (a cookie is fixed when the session is made).
    by_cookie: HashMap<String, Vec<ObjId>>,
    next_pid: u32,
}

impl Sessions {
    fn insert(&mut self, id: ObjId, session: Session) {
        self.by_cookie.entry(session.cookie.clone()).or_default().push(id);
        if let Some(old) = self.map.insert(id, session) {
            self.unindex(id, &old.cookie);
        }
    }

    fn remove(&mut self, id: ObjId) {
        if let Some(old) = self.map.remove(&id) {
            self.unindex(id, &old.cookie);
        }
    }

    fn unindex(&mut self, id: ObjId, cookie: &str) {
        if let Some(ids) = self.by_cookie.get_mut(cookie) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                self.by_cookie.remove(cookie);
            }
        }
    }

    /// The first session (by id) of `cookie` whose peer is `peer`.
    fn find(&self, peer: &str, cookie: &str) -> Option<ObjId> {
        self.by_cookie
            .get(cookie)?
            .iter()
            .copied()
            .filter(|id| {
                self.map
                    .get(id)
                    .and_then(|s| s.peer.as_deref())
                    .is_some_and(|p| p.eq_ignore_ascii_case(peer))
            })
            .min()
    }
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::api(HResult::E_INVALIDARG, detail.into())
}

/// Checks `bstrAppData` (512 bytes of UTF-16, one line).
pub fn check_app_data(data: Option<&str>) -> Result<()> {
    let Some(d) = data else { return Ok(()) };
    let bytes = d.encode_utf16().count() * 2;
    if bytes > MAX_APP_DATA_BYTES {
        return Err(invalid(format!(
            "app data is {bytes} bytes as UTF-16; the limit is {MAX_APP_DATA_BYTES}"
        )));
    }
    check_one_line(d, "app data")
}

fn check_one_line(s: &str, what: &str) -> Result<()> {
    if s.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(invalid(format!(
            "{what} must be one line: it travels as one MSNP header"
        )));
    }
    Ok(())
}

fn state_error(hr: HResult, s: &Session, input: Input) -> Error {
    let detail = if s.phase == Phase::Sending {
        "an invitation is already being sent".to_string()
    } else {
        format!(
            "{} is not allowed for the {} in {}",
            input.name(),
            s.role.name(),
            s.state()
        )
    };
    Error::api(hr, detail)
}

/// The table's answer to an app's call on a session.
fn check_call(s: &Session, input: Input) -> Result<Step> {
    table::next(s.phase, s.role, input).map_err(|hr| state_error(hr, s, input))
}

impl ClientEngine {
    fn new_guid(&mut self) -> String {
        let b: [u8; 16] = self.rng.random();
        format!(
            "{{{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}}}",
            b[0],
            b[1],
            b[2],
            b[3],
            b[4],
            b[5],
            (b[6] & 0x0F) | 0x40,
            b[7],
            (b[8] & 0x3F) | 0x80,
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }

    /// The guard of the manager's members (reference C30).
    fn manager_guard(&self, manager: ObjId) -> Result<()> {
        if self.lock_kind(manager)? != ObjectKind::SessionManager {
            return Err(Error::UnknownHandle {
                what: "session manager",
                id: manager,
            });
        }
        self.check_unlocked(manager)
    }

    pub fn session(&self, obj: ObjId) -> Result<&Session> {
        self.sessions.map.get(&obj).ok_or(Error::UnknownHandle {
            what: "session",
            id: obj,
        })
    }

    fn session_mut(&mut self, obj: ObjId) -> Result<&mut Session> {
        self.sessions.map.get_mut(&obj).ok_or(Error::UnknownHandle {
            what: "session",
            id: obj,
        })
    }

    /// The app released its object. An ended (or never invited) session is forgotten
    /// now; a live one when it ends, since the peer may still be talking to it.
    pub(super) fn release_session(&mut self, obj: ObjId) {
        let Some(s) = self.sessions.map.get_mut(&obj) else {
            return;
        };
        if s.state().is_terminal() || s.phase == Phase::Ready {
            self.sessions.remove(obj);
        } else {
            s.released = true;
        }
    }

    pub fn sessions(&self) -> impl Iterator<Item = (ObjId, &Session)> {
        self.sessions.map.iter().map(|(id, s)| (*id, s))
    }

    /// The address this side reports in `IP-Address`.
    pub fn effective_local_address(&self, obj: ObjId) -> Result<String> {
        // Until a driver has reported the machine's address, loopback stands in.
        let machine = if self.config.local_ip.is_empty() {
            "127.0.0.1"
        } else {
            self.config.local_ip.as_str()
        };
        Ok(self
            .session(obj)?
            .local_address
            .clone()
            .unwrap_or_else(|| machine.to_string()))
    }

    pub fn peer_friendly_name(&self, sign_in_name: &str) -> Option<&str> {
        self.peer_names
            .get(&sign_in_name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn applications_registered(&self) -> impl Iterator<Item = &AppRegistration> {
        self.apps.all()
    }

    // ---- IMsgrSessionManager ------------------------------------------------------

    pub fn create_session(&mut self, manager: ObjId) -> Result<ObjId> {
        self.manager_guard(manager)?;
        let id = self.new_obj_id();
        let session_id = self.new_guid();
        let cookie = self.rng.random_range(1..=i32::MAX).to_string();
        let session = Session::new(
            manager,
            Role::Inviter,
            flags::SF_INVITER,
            Phase::Ready,
            session_id,
            cookie,
        );
        self.sessions.insert(id, session);
        Ok(id)
    }

    pub fn get_launching_session(&self, manager: ObjId, pid: i64) -> Result<ObjId> {
        self.manager_guard(manager)?;
        if pid <= 0 || pid > i64::from(i32::MAX) {
            return Err(invalid(format!("{pid} is not a process id")));
        }
        self.sessions
            .map
            .iter()
            .find(|(_, s)| s.launch == Launch::Launched { pid: pid as u32 })
            .map(|(id, _)| *id)
            .ok_or_else(|| Error::api(HResult::E_FAIL, format!("no session launched process {pid}")))
    }

    pub fn register_application(
        &mut self,
        manager: ObjId,
        guid: &str,
        name: &str,
        url: &str,
        path: &str,
        flags: i64,
    ) -> Result<()> {
        self.manager_guard(manager)?;
        self.apps.register(guid, name, url, path, flags)?;
        let guid = guid.to_string();
        for obj in self.managers() {
            self.emit(ClientEvent::AppRegistered {
                obj,
                guid: guid.clone(),
            });
        }
        Ok(())
    }

    pub fn unregister_application(&mut self, manager: ObjId, guid: &str) -> Result<()> {
        self.manager_guard(manager)?;
        self.apps.unregister(guid)?;
        let guid = guid.to_string();
        for obj in self.managers() {
            self.emit(ClientEvent::AppUnregistered {
                obj,
                guid: guid.clone(),
            });
        }
        Ok(())
    }

    /// `Applications`: the docs call it not implemented (C18).
    pub fn applications(&self, manager: ObjId) -> Result<()> {
        self.manager_guard(manager)?;
        Err(Error::api(
            HResult::E_NOTIMPL,
            "IMsgrSessionManager::Applications is not implemented (in Windows Messenger either); registered_applications lists this machine's registrations",
        ))
    }

    fn managers(&self) -> Vec<ObjId> {
        self.lock_objects_of(ObjectKind::SessionManager)
    }

    // ---- IMsgrSession: properties -----------------------------------------------------

    pub fn set_application(&mut self, obj: ObjId, guid: &str) -> Result<()> {
        check_call(self.session(obj)?, Input::PutApplication)?;
        apps::check_guid(guid, HResult::E_OUTOFMEMORY)?;
        let app = self.apps.get(guid).cloned().ok_or_else(|| {
            Error::api(
                HResult::SR_APP_NOT_REGISTERED,
                format!("{guid} is not registered on this machine"),
            )
        })?;
        self.session_mut(obj)?.app = Some(app);
        Ok(())
    }

    pub fn set_local_address(&mut self, obj: ObjId, address: &str) -> Result<()> {
        check_call(self.session(obj)?, Input::PutLocalAddress)?;
        if address.chars().count() > MAX_LOCAL_ADDRESS {
            return Err(Error::api(
                HResult::E_OUTOFMEMORY,
                format!("a local address is at most {MAX_LOCAL_ADDRESS} characters"),
            ));
        }
        if address.is_empty() || address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("a local address is a non-empty token without spaces"));
        }
        self.session_mut(obj)?.local_address = Some(address.to_string());
        Ok(())
    }

    // ---- IMsgrSession: methods ----------------------------------------------------------

    pub fn invite(&mut self, obj: ObjId, peer: &str, app_data: Option<&str>, now: Instant) -> Result<()> {
        let s = self.session(obj)?;
        check_call(s, Input::Invite)?;
        let Some(app) = s.app.clone() else {
            return Err(Error::api(
                HResult::SR_APP_NOT_SPECIFIED,
                "set the session's application before inviting",
            ));
        };
        if self.state() != ClientState::SignedIn {
            return Err(Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                "this Messenger is not signed in",
            ));
        }
        if !valid_sign_in_name(peer) {
            return Err(invalid(format!("{peer:?} is not a sign-in name")));
        }
        if peer.eq_ignore_ascii_case(&self.config.sign_in_name) {
            return Err(Error::api(HResult::SR_INVITED_SELF, "a user cannot invite himself"));
        }
        check_app_data(app_data)?;
        let mut msg = InviteMessage::new()
            .field("Application-Name", app.name.as_str())
            .field("Application-GUID", app.guid.as_str());
        if !app.url.is_empty() {
            msg.push("Application-URL", app.url.as_str());
        }
        msg.push("Session-Protocol", "SM1");
        msg.push("Invitation-Command", "INVITE");
        msg.push("Invitation-Cookie", s.cookie.as_str());
        msg.push("Session-ID", s.session_id.as_str());
        if let Some(d) = app_data.filter(|d| !d.is_empty()) {
            msg.push("Context-Data", d);
        }
        let payload = msg.encode().map_err(|e| {
            Error::api(
                HResult::SR_INVITATION_SEND_FAILURE,
                format!("the invitation cannot be sent: {e}"),
            )
        })?;
        self.session_mut(obj)?.peer = Some(peer.to_string());
        self.apply(obj, Input::Invite, None);
        self.awaiting.insert(Waiting::Invite(obj), None);
        self.sb_send(peer, obj, MsgKind::Invite, payload, now);
        Ok(())
    }

    pub fn accept(&mut self, obj: ObjId, app_data: Option<&str>, now: Instant) -> Result<()> {
        check_call(self.session(obj)?, Input::Accept)?;
        check_app_data(app_data)?;
        let address = self.effective_local_address(obj)?;
        let mut msg = self.reply_message(obj, "ACCEPT")?;
        msg.push("Launch-Application", "TRUE");
        msg.push("Request-Data", "IP-Address:");
        msg.push("IP-Address", address.as_str());
        if let Some(d) = app_data.filter(|d| !d.is_empty()) {
            msg.push("Context-Data", d);
        }
        self.send_reply(obj, MsgKind::Accept, &msg, now)?;
        self.apply(obj, Input::Accept, None);
        self.emit(ClientEvent::BeforeAppLaunch { obj });
        Ok(())
    }

    pub fn decline(&mut self, obj: ObjId, app_data: Option<&str>, now: Instant) -> Result<()> {
        check_call(self.session(obj)?, Input::Decline)?;
        check_app_data(app_data)?;
        let mut msg = self.reply_message(obj, "CANCEL")?;
        msg.push("Cancel-Code", "REJECT");
        if let Some(d) = app_data.filter(|d| !d.is_empty()) {
            msg.push("Context-Data", d);
        }
        self.send_reply(obj, MsgKind::Decline, &msg, now)?;
        self.apply_ending(obj, Input::Decline, None, app_data.map(str::to_string));
        Ok(())
    }

    pub fn cancel(&mut self, obj: ObjId, hr: i64, app_data: Option<&str>, now: Instant) -> Result<()> {
        let step = check_call(self.session(obj)?, Input::Cancel)?;
        if i32::try_from(hr).is_err() && u32::try_from(hr).is_err() {
            return Err(invalid(format!("hr {hr} is not a 32-bit HRESULT")));
        }
        check_app_data(app_data)?;
        let reason = match step.ends {
            Some(Ending::Fixed(fixed)) => fixed.code(),
            _ => u32::try_from(hr & 0xFFFF_FFFF).unwrap_or(0),
        };
        let mut msg = self.reply_message(obj, "CANCEL")?;
        msg.push("Cancel-Code", "TIMEOUT");
        msg.push(CANCEL_HRESULT_FIELD, format!("0x{reason:08X}"));
        if let Some(d) = app_data.filter(|d| !d.is_empty()) {
            msg.push("Context-Data", d);
        }
        self.send_reply(obj, MsgKind::Cancel, &msg, now)?;
        self.apply_ending(obj, Input::Cancel, Some(reason), app_data.map(str::to_string));
        Ok(())
    }

    pub fn send_context_data(&mut self, obj: ObjId, data: &str, now: Instant) -> Result<()> {
        let s = self.session(obj)?;
        check_call(s, Input::SendContextData)?;
        if data.chars().count() > MAX_CONTEXT_DATA {
            return Err(invalid(format!(
                "context data is at most {MAX_CONTEXT_DATA} characters"
            )));
        }
        check_one_line(data, "context data")?;
        if s.context_sent >= MAX_CONTEXT_CALLS {
            return Err(Error::api(
                HResult::SR_CONTEXT_DATA_OVER_LIMIT,
                format!("SendContextData may be called at most {MAX_CONTEXT_CALLS} times per session"),
            ));
        }
        let mut msg = self.reply_message(obj, "CONTEXT")?;
        msg.push("Context-Data", data);
        self.send_reply(obj, MsgKind::Context, &msg, now)?;
        self.session_mut(obj)?.context_sent += 1;
        Ok(())
    }

    /// The answer to `BeforeAppLaunch`: launch (with the launched process id, or a
    /// virtual one) or not. Either way the session goes on to connect. An answer that
    /// comes when no launch is being decided (the session ended meanwhile) is ignored.
    pub fn launch_decided(&mut self, obj: ObjId, launch: bool, pid: Option<u32>) -> Result<()> {
        let s = self.session(obj)?;
        if table::next(s.phase, s.role, Input::LaunchDecided).is_err() || s.launch != Launch::NotYet {
            return Ok(());
        }
        if launch {
            let pid = pid.unwrap_or_else(|| {
                self.sessions.next_pid += 1;
                FIRST_VIRTUAL_PID + self.sessions.next_pid
            });
            self.session_mut(obj)?.launch = Launch::Launched { pid };
            self.emit(ClientEvent::ReadyToLaunch { obj });
        } else {
            self.session_mut(obj)?.launch = Launch::Suppressed;
        }
        self.apply(obj, Input::LaunchDecided, None);
        Ok(())
    }

    // ---- messages ----------------------------------------------------------------------

    fn reply_message(&self, obj: ObjId, command: &str) -> Result<InviteMessage> {
        let s = self.session(obj)?;
        Ok(InviteMessage::new()
            .field("Invitation-Command", command)
            .field("Invitation-Cookie", s.cookie.as_str())
            .field("Session-ID", s.session_id.as_str()))
    }

    fn send_reply(&mut self, obj: ObjId, kind: MsgKind, msg: &InviteMessage, now: Instant) -> Result<()> {
        let payload = msg
            .encode()
            .map_err(|e| Error::api(kind.send_failure(), format!("the message cannot be sent: {e}")))?;
        let peer = self
            .session(obj)?
            .peer
            .clone()
            .ok_or_else(|| Error::api(HResult::SR_NO_USER_INVITED, "no peer"))?;
        if self.state() != ClientState::SignedIn {
            return Err(Error::api(
                HResult::MSGR_E_NOT_LOGGED_ON,
                "this Messenger is not signed in",
            ));
        }
        self.sb_send(&peer, obj, kind, payload, now);
        Ok(())
    }

    fn find_session(&self, peer: &str, cookie: &str) -> Option<ObjId> {
        self.sessions.find(peer, cookie)
    }

    /// An invitation message from `peer` arrived on a switchboard.
    pub(super) fn sessions_message(&mut self, peer: &str, msg: InviteMessage, now: Instant) {
        let Some(cookie) = msg.cookie().map(str::to_string) else {
            return;
        };
        let existing = self.find_session(peer, &cookie);
        let data = msg.get("Context-Data").map(str::to_string);
        match (msg.command(), existing) {
            (Some(InvitationCommand::Invite), None) => self.incoming_invite(peer, &cookie, &msg, now),
            (Some(InvitationCommand::Accept), Some(obj)) => self.incoming_accept(obj, &msg, now),
            (Some(InvitationCommand::Cancel), Some(obj)) => {
                self.apply(obj, cancel_input(&msg), data);
            }
            (Some(InvitationCommand::Context), Some(obj)) => self.incoming_context(obj, data),
            _ => {}
        }
    }

    fn incoming_context(&mut self, obj: ObjId, data: Option<String>) {
        if !self.apply(obj, Input::PeerContextData, None) {
            return;
        }
        let data = data.unwrap_or_default();
        match self.session_mut(obj) {
            Ok(s) if s.state() != SessionState::Connected => s.held_context.push(data),
            Ok(_) => self.context_arrived(obj, data),
            Err(_) => {}
        }
    }

    fn context_arrived(&mut self, obj: ObjId, data: String) {
        if let Ok(s) = self.session_mut(obj) {
            s.context_data = Some(data.clone());
        }
        self.emit(ClientEvent::ContextData { obj, data });
    }

    fn incoming_invite(&mut self, peer: &str, cookie: &str, msg: &InviteMessage, now: Instant) {
        let protocol_ok = msg
            .get("Session-Protocol")
            .is_none_or(|p| p.trim().eq_ignore_ascii_case("SM1"));
        let guid = msg.get("Application-GUID").and_then(apps::normalize_wire_guid);
        let reject = |code: &str| {
            InviteMessage::new()
                .field("Invitation-Command", "CANCEL")
                .field("Invitation-Cookie", cookie)
                .field("Cancel-Code", code)
        };
        let (Some(guid), true) = (guid, protocol_ok) else {
            if let Ok(p) = reject("FAIL").encode() {
                self.sb_send(peer, 0, MsgKind::Decline, p, now);
            }
            return;
        };
        let name = msg.get("Application-Name").unwrap_or_default().to_string();
        let url = msg.get("Application-URL").unwrap_or_default().to_string();
        let registered = self.apps.get(&guid).cloned();
        let id = self.new_obj_id();
        let managers: Vec<ObjId> = self
            .managers()
            .into_iter()
            .filter(|m| self.check_unlocked(*m).is_ok())
            .collect();
        let compatible = if registered.is_some() {
            flags::SF_APP_INVITE_COMPATIBLE
        } else {
            0
        };
        let session_id = msg
            .get("Session-ID")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| self.new_guid());
        let mut session = Session::new(
            managers.first().copied().unwrap_or_default(),
            Role::Invitee,
            flags::SF_INVITEE | compatible,
            Phase::Invitation,
            session_id,
            cookie.to_string(),
        );
        session.app = Some(registered.clone().unwrap_or(AppRegistration {
            guid: guid.clone(),
            name: name.clone(),
            url: url.clone(),
            path: String::new(),
        }));
        session.peer = Some(peer.to_string());
        self.sessions.insert(id, session);
        let app_data = msg.get("Context-Data").map(str::to_string);
        for m in managers {
            self.emit(ClientEvent::Invitation {
                obj: m,
                session: id,
                app_data: app_data.clone(),
            });
        }
        if registered.is_none() {
            // Messenger declines an app it does not have, and points at its URL (C27).
            self.emit(ClientEvent::AppNotPresent { obj: id, name, url });
            let mut m = reject("REJECT_NOT_INSTALLED");
            m.push("Session-ID", self.sessions.map[&id].session_id.as_str());
            if let Ok(p) = m.encode() {
                self.sb_send(peer, id, MsgKind::Decline, p, now);
            }
            self.apply(id, Input::AppNotPresent, None);
        }
    }

    fn incoming_accept(&mut self, obj: ObjId, msg: &InviteMessage, now: Instant) {
        let address = msg.get("IP-Address").map(|a| a.trim().to_string());
        if self.allows(obj, Input::PeerAccepted) {
            if let Ok(s) = self.session_mut(obj) {
                s.remote_address = address.clone();
                s.deadline = None;
                s.flags |= flags::SF_APP_INVITE_COMPATIBLE;
            }
            self.apply(obj, Input::PeerAccepted, msg.get("Context-Data").map(str::to_string));
            // The inviter's own ACCEPT gives the invitee our address (msnp.md §f.4).
            let Ok(own) = self.effective_local_address(obj) else {
                return;
            };
            let Ok(mut reply) = self.reply_message(obj, "ACCEPT") else {
                return;
            };
            reply.push("Launch-Application", "FALSE");
            reply.push("IP-Address", own.as_str());
            if self.send_reply(obj, MsgKind::Accept, &reply, now).is_err() || address.is_none() {
                return;
            }
        } else if address.is_none() || !self.allows(obj, Input::PeerAddress) {
            return;
        } else if let Ok(s) = self.session_mut(obj) {
            s.remote_address = address;
        }
        self.apply(obj, Input::PeerAddress, None);
    }

    /// A send failed. A pending invitation is refused synchronously (the driver makes
    /// its outcome the call's error, which says why); anything else is `OnSendError`,
    /// whose HRESULT cannot, so the log does.
    pub(super) fn sessions_send_failed(&mut self, obj: ObjId, kind: MsgKind, failure: &SbFailure, _now: Instant) {
        let peer = self.session(obj).ok().and_then(|s| s.peer.clone()).unwrap_or_default();
        let error = failure.error(kind, &peer);
        if kind == MsgKind::Invite && self.allows(obj, Input::SendFailed) {
            self.invite_not_sent(obj, Input::SendFailed, error);
        } else if self.sessions.map.contains_key(&obj) {
            log::warn!(target: LOG, "{}: {error}", self.config.sign_in_name);
            self.emit(ClientEvent::SendError {
                obj,
                hr: kind.send_failure(),
            });
        }
    }

    /// An invitation that never went out: the session is `READY` again, for another try.
    fn invite_not_sent(&mut self, obj: ObjId, input: Input, error: Error) {
        if self.apply(obj, input, None) {
            if let Ok(s) = self.session_mut(obj) {
                s.peer = None;
            }
            self.resolve(Waiting::Invite(obj), Err(error));
        }
    }

    /// An invitation whose caller stopped waiting before it went out: `READY` again.
    pub(super) fn sessions_invite_withdrawn(&mut self, obj: ObjId) {
        if self.apply(obj, Input::SendFailed, None) {
            if let Ok(s) = self.session_mut(obj) {
                s.peer = None;
            }
        }
    }

    /// The invitation went out on a switchboard.
    pub(super) fn sessions_invite_sent(&mut self, obj: ObjId, now: Instant) {
        if self.apply(obj, Input::InvitationSent, None) {
            if let Ok(s) = self.session_mut(obj) {
                s.deadline = Some(now + INVITATION_TIMEOUT);
            }
            self.resolve(Waiting::Invite(obj), Ok(()));
        }
    }

    /// The peer left our switchboard: their side of every live session is gone.
    pub(super) fn sessions_peer_left(&mut self, peer: &str, now: Instant) {
        for obj in self.sessions_with(|s| s.peer.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(peer))) {
            if self.session(obj).is_ok_and(|s| s.phase == Phase::Sending) {
                self.sessions_send_failed(obj, MsgKind::Invite, &SbFailure::Closed, now);
            } else {
                self.apply(obj, Input::PeerLeft, None);
            }
        }
    }

    /// Our own sign-out ends every live session, then tells the managers.
    pub(super) fn sessions_signed_out(&mut self) {
        for obj in self.sessions_with(|_| true) {
            if self.session(obj).is_ok_and(|s| s.phase == Phase::Sending) {
                let error = Error::api(
                    HResult::MSGR_E_NOT_LOGGED_ON,
                    "signed out before the invitation could be sent",
                );
                self.invite_not_sent(obj, Input::SignOut, error);
            } else {
                self.apply(obj, Input::SignOut, None);
            }
        }
        for obj in self.managers() {
            self.emit(ClientEvent::AppShutdown { obj });
        }
    }

    fn sessions_with(&self, pick: impl Fn(&Session) -> bool) -> Vec<ObjId> {
        self.sessions
            .map
            .iter()
            .filter(|(_, s)| !s.state().is_terminal() && pick(s))
            .map(|(id, _)| *id)
            .collect()
    }

    pub(super) fn sessions_next_deadline(&self) -> Option<Instant> {
        self.sessions.map.values().filter_map(|s| s.deadline).min()
    }

    /// Invitations nobody answered in time are cancelled with `TIMEOUT` (msnp.md §f.5).
    pub(super) fn sessions_tick(&mut self, now: Instant) {
        let due: Vec<ObjId> = self
            .sessions
            .map
            .iter()
            .filter(|(_, s)| s.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| *id)
            .collect();
        for obj in due {
            if let Ok(s) = self.session_mut(obj) {
                s.deadline = None;
            }
            if !self.allows(obj, Input::Timeout) {
                continue;
            }
            let Ok(mut msg) = self.reply_message(obj, "CANCEL") else {
                continue;
            };
            msg.push("Cancel-Code", "TIMEOUT");
            msg.push(
                CANCEL_HRESULT_FIELD,
                format!("0x{:08X}", HResult::SR_SESSION_TIMEOUT.code()),
            );
            // Even if the message cannot go out, the session has timed out here.
            let _ = self.send_reply(obj, MsgKind::Cancel, &msg, now);
            self.apply(obj, Input::Timeout, None);
        }
    }

    // ---- the machine -------------------------------------------------------------------

    /// Whether the table accepts `input` for this session now.
    fn allows(&self, obj: ObjId, input: Input) -> bool {
        self.session(obj)
            .is_ok_and(|s| table::next(s.phase, s.role, input).is_ok())
    }

    /// Applies the table (for inputs whose ending is fixed); false if it refused.
    fn apply(&mut self, obj: ObjId, input: Input, app_data: Option<String>) -> bool {
        self.apply_ending(obj, input, None, app_data)
    }

    /// Applies the table to one session and fires what the edge means, in COM's order:
    /// the peer's `OnDeclined`/`OnCancelled`, `OnStateChanged`, the peer's `OnAccepted`,
    /// then `OnTermination` when the session ended. `given` is the code of a
    /// `Cancel(hr)`; `app_data` goes with the peer's event and the termination.
    fn apply_ending(&mut self, obj: ObjId, input: Input, given: Option<u32>, app_data: Option<String>) -> bool {
        let Some(step) = self
            .session(obj)
            .ok()
            .and_then(|s| table::next(s.phase, s.role, input).ok())
        else {
            return false;
        };
        let Ok(s) = self.session(obj) else { return false };
        let prev = s.state();
        let next = step.next.state();
        if input.source() == Source::Peer {
            match next {
                SessionState::Declined => self.emit(ClientEvent::Declined {
                    obj,
                    app_data: app_data.clone(),
                }),
                SessionState::Cancelled => self.emit(ClientEvent::Cancelled {
                    obj,
                    app_data: app_data.clone(),
                }),
                _ => {}
            }
        }
        if let Ok(s) = self.session_mut(obj) {
            s.phase = step.next;
            if next.is_terminal() {
                s.deadline = None;
            }
        }
        if next != prev {
            self.emit(ClientEvent::StateChanged { obj, prev });
        }
        if next == SessionState::Connected {
            let held = self
                .session_mut(obj)
                .map(|s| std::mem::take(&mut s.held_context))
                .unwrap_or_default();
            for data in held {
                self.context_arrived(obj, data);
            }
        }
        if input == Input::PeerAccepted {
            self.emit(ClientEvent::Accepted {
                obj,
                app_data: app_data.clone(),
            });
        }
        if let Some(ending) = step.ends {
            let hr = match ending {
                Ending::Fixed(hr) => hr.code(),
                Ending::Given => given.unwrap_or(HResult::E_FAIL.code()),
            };
            self.emit(ClientEvent::Termination { obj, hr, app_data });
            if self.sessions.map.get(&obj).is_some_and(|s| s.released) {
                self.sessions.remove(obj);
            }
        }
        true
    }
}

/// Which cancel a `CANCEL` message is (msnp.md §f.5, and our `Cancel-HResult` field).
fn cancel_input(msg: &InviteMessage) -> Input {
    let code = msg.get("Cancel-Code").unwrap_or_default().trim().to_ascii_uppercase();
    let sent_hr = msg
        .get(CANCEL_HRESULT_FIELD)
        .and_then(|v| u32::from_str_radix(v.trim().trim_start_matches("0x").trim_start_matches("0X"), 16).ok())
        .and_then(HResult::from_code);
    match (code.as_str(), sent_hr) {
        ("REJECT", _) => Input::PeerDeclined,
        ("REJECT_NOT_INSTALLED", _) => Input::PeerNotInstalled,
        ("FAIL", _) => Input::PeerFailed,
        ("FTTIMEOUT", _) => Input::PeerConnectionFailed,
        (_, Some(HResult::SR_SESSION_TIMEOUT)) => Input::PeerTimedOut,
        (_, Some(HResult::SR_CANCEL_BEFORE_CONNECT)) => Input::PeerCancelledBeforeConnect,
        _ => Input::PeerCancelled,
    }
}

/// The property getters whose errors are documented (reference §3.4).
impl ClientEngine {
    fn app_of(&self, obj: ObjId) -> Result<&AppRegistration> {
        self.session(obj)?
            .app
            .as_ref()
            .ok_or_else(|| Error::api(HResult::SR_APP_NOT_SPECIFIED, "the session has no application"))
    }

    /// `ApplicationName`: `""` when the application has no name.
    pub fn application_name(&self, obj: ObjId) -> Result<String> {
        Ok(self.app_of(obj)?.name.clone())
    }

    /// `ApplicationURL`: the download URL of the registration.
    pub fn application_url(&self, obj: ObjId) -> Result<String> {
        Ok(self.app_of(obj)?.url.clone())
    }

    /// `User`: the other party.
    pub fn session_user(&self, obj: ObjId) -> Result<super::ContactInfo> {
        let peer = self
            .session(obj)?
            .peer
            .clone()
            .ok_or_else(|| Error::api(HResult::SR_NO_USER_INVITED, "nobody has been invited yet"))?;
        Ok(self.contact(&peer))
    }

    /// `RemoteAddress`: only once connected (`None` is the documented `S_FALSE`).
    pub fn remote_address(&self, obj: ObjId) -> Result<Option<String>> {
        let s = self.session(obj)?;
        Ok(if s.state() == SessionState::Connected {
            s.remote_address.clone()
        } else {
            None
        })
    }
}
