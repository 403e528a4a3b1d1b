//! The client engine: what Windows Messenger and msgsc.dll did on the user's machine.
//!
//! Sans-IO: the driver reports connections, bytes and time; the engine answers with
//! [`ClientOutput`]s (connect, send, close) and [`ClientEvent`]s for the API objects.

mod apps;
mod contacts;
mod counts;
#[cfg(test)]
mod dialect_tests;
mod error_codes;
mod groups;
mod locks;
mod ns;
mod profile;
mod sb;
mod sessions;
#[cfg(test)]
mod tests;
mod text;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::LockStatus;
use crate::proto::{ConnId, Dialect, Instant, CHALLENGE_TIMEOUT};
use crate::trace::Crossing;
use crate::wire::{Command, Direction};

use sb::MsgKind;

pub use apps::{AppRegistration, MAX_APPS, MAX_GUID, MAX_NAME, MAX_PATH, MAX_URL};
pub use contacts::{notification_site_id, ContactInfo, MAX_ALERT_SITES};
pub use counts::ClientCounts;
pub use error_codes::msnp_error_meaning;
pub use groups::GroupInfo;
pub use locks::{LockMode, ObjectKind};
pub use sessions::{
    Launch, Session, CANCEL_HRESULT_FIELD, INVITATION_TIMEOUT, MAX_APP_DATA_BYTES, MAX_CONTEXT_CALLS, MAX_CONTEXT_DATA,
    MAX_LOCAL_ADDRESS,
};

use crate::session::SessionState;

/// The `log` target of the client (Python's `logging` logger `msgr.client`).
pub(crate) const LOG: &str = "msgr.client";

/// A local handle for an API object (session manager, MessengerPriv, later sessions).
pub type ObjId = u64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    pub sign_in_name: String,
    pub password: String,
    /// Where the notification server is (`host:port`); the embedded hub ignores it.
    pub ns_address: String,
    /// The machine's address, the default `LocalAddress` of sessions; empty until a
    /// driver reports it (`learn_local_ip`).
    pub local_ip: String,
    /// Seed for invitation cookies and session ids; `None` draws one from the OS.
    pub seed: Option<u64>,
    /// The dialects to offer in `VER`.
    pub dialects: Vec<Dialect>,
    /// The Passport nexus URL (`http://host:port/rdr/pprdr.asp`) that MSNP8+ sign-in
    /// starts from; the embedded hub answers in memory and needs none.
    pub nexus: Option<String>,
    /// Report every message sent and parsed ([`ClientEngine::poll_trace`]).
    pub trace: bool,
    /// Who runs Lock and Key: the service's header, the service, this client, nobody.
    pub lock_mode: LockMode,
    /// How long a Lock and Key transaction may wait for its challenge or verdict
    /// (reference C2: 50 s); shorter only in tests.
    pub challenge_timeout: Duration,
}

impl ClientConfig {
    /// A configuration offering [`Dialect::CLIENT_DEFAULT`], with no seed.
    pub fn new(sign_in_name: &str, password: &str, ns_address: &str) -> Self {
        ClientConfig {
            sign_in_name: sign_in_name.to_string(),
            password: password.to_string(),
            ns_address: ns_address.to_string(),
            local_ip: String::new(),
            seed: None,
            dialects: vec![Dialect::CLIENT_DEFAULT],
            nexus: None,
            trace: true,
            lock_mode: LockMode::Auto,
            challenge_timeout: CHALLENGE_TIMEOUT,
        }
    }
}

/// A call whose outcome arrives later, over the network: the driver waits for it
/// ([`ClientEngine::take_outcome`]) or gives up on it ([`ClientEngine::abandon`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Waiting {
    /// `sign_in`: signed in, or refused.
    SignIn,
    /// `invite`: the invitation went out on a switchboard, or could not.
    Invite(ObjId),
    /// `send_text`: the message went out on a switchboard, or could not.
    Text(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOutput {
    Connect {
        conn: ConnId,
        addr: String,
    },
    Send {
        conn: ConnId,
        cmd: Command,
    },
    Close {
        conn: ConnId,
    },
    /// Get a Passport 1.4 ticket for `account` (MSNP8+ sign-in): the nexus from
    /// [`ClientConfig::nexus`], then its login server with `challenge` appended to the
    /// `Authorization` header. Report it with [`ClientEngine::passport_ticket`].
    Passport {
        conn: ConnId,
        challenge: String,
        account: String,
        password: String,
    },
}

/// Why a Messenger is no longer signed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignOutReason {
    /// `sign_out()` was called.
    User,
    /// `OUT OTH`: the account signed in elsewhere.
    OtherSignIn,
    /// `OUT SSD`: the server is shutting down.
    ServerShutdown,
    /// Any other server `OUT` (`MIG`, `TOU`, `RCT`, one we do not know, or none).
    ServerClosed,
    /// The connection closed or broke without an `OUT`.
    ConnectionLost,
}

impl SignOutReason {
    pub const ALL: [SignOutReason; 5] = [
        SignOutReason::User,
        SignOutReason::OtherSignIn,
        SignOutReason::ServerShutdown,
        SignOutReason::ServerClosed,
        SignOutReason::ConnectionLost,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SignOutReason::User => "user",
            SignOutReason::OtherSignIn => "signed_in_elsewhere",
            SignOutReason::ServerShutdown => "server_shutdown",
            SignOutReason::ServerClosed => "server_closed",
            SignOutReason::ConnectionLost => "connection_lost",
        }
    }

    /// The reason a server's `OUT <code>` gives (msnp8-12.md §k).
    pub fn from_out(code: Option<&str>) -> Self {
        match code {
            Some("OTH") => SignOutReason::OtherSignIn,
            Some("SSD") => SignOutReason::ServerShutdown,
            _ => SignOutReason::ServerClosed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    SignedIn,
    SignInFailed {
        error: Error,
    },
    SignedOut {
        reason: SignOutReason,
    },
    LockEnable {
        obj: ObjId,
        enabled: bool,
    },
    LockChallenge {
        obj: ObjId,
        cookie: i32,
        challenge: String,
    },
    LockResult {
        obj: ObjId,
        cookie: i32,
        succeeded: bool,
    },
    LockStatusChanged {
        obj: ObjId,
        status: LockStatus,
    },
    // DMsgrSessionManagerEvents
    Invitation {
        obj: ObjId,
        session: ObjId,
        app_data: Option<String>,
    },
    AppRegistered {
        obj: ObjId,
        guid: String,
    },
    AppUnregistered {
        obj: ObjId,
        guid: String,
    },
    AppShutdown {
        obj: ObjId,
    },
    // DMsgrSessionEvents
    StateChanged {
        obj: ObjId,
        prev: SessionState,
    },
    AppNotPresent {
        obj: ObjId,
        name: String,
        url: String,
    },
    Accepted {
        obj: ObjId,
        app_data: Option<String>,
    },
    Declined {
        obj: ObjId,
        app_data: Option<String>,
    },
    Cancelled {
        obj: ObjId,
        app_data: Option<String>,
    },
    Termination {
        obj: ObjId,
        hr: u32,
        app_data: Option<String>,
    },
    ReadyToLaunch {
        obj: ObjId,
    },
    ContextData {
        obj: ObjId,
        data: String,
    },
    SendError {
        obj: ObjId,
        hr: HResult,
    },
    /// Needs an answer: [`ClientEngine::launch_decided`].
    BeforeAppLaunch {
        obj: ObjId,
    },
    /// `DMessengerEvents::OnTextReceived`: a plain instant message.
    TextReceived {
        sender: String,
        text: String,
    },
    // DMessengerPrivateEvents
    ContactListAdd {
        obj: ObjId,
        hr: HResult,
        contact: Option<ContactInfo>,
    },
    /// `[in, out] pBoolfEnableDefault`: Messenger has no popup to suppress, so no answer is awaited.
    AlertReceived {
        obj: ObjId,
        alert: String,
    },
    // DMessengerEvents: the user's own presence, and what contacts change.
    /// `OnMyStatusChange(hr, status)`: the status now (unchanged when refused).
    MyStatusChange {
        hr: HResult,
        status: String,
    },
    /// `OnMyFriendlyNameChange(hr, previous name)`.
    MyFriendlyNameChange {
        hr: HResult,
        previous: String,
    },
    /// Ours, as `OnMyFriendlyNameChange` for the personal message (MSNP11+).
    MyPersonalMessageChange {
        hr: HResult,
        previous: String,
    },
    /// `OnContactStatusChange(contact, previous status)`: a forward-list contact's
    /// presence changed (`ILN`, `NLN`, `FLN`).
    ContactStatusChange {
        contact: ContactInfo,
        previous: String,
    },
    /// Ours: a contact's personal message changed (`UBX`, MSNP11+).
    ContactPersonalMessageChange {
        contact: ContactInfo,
    },
    /// `OnGroupAdded(hr, group)`: None when refused.
    GroupAdded {
        hr: HResult,
        group: Option<GroupInfo>,
    },
    /// `OnGroupRemoved(hr, group)`.
    GroupRemoved {
        hr: HResult,
        group: GroupInfo,
    },
    /// `OnGroupNameChanged(hr, group)`: the group with its name now.
    GroupNameChanged {
        hr: HResult,
        group: GroupInfo,
    },
    /// `OnContactAddedToGroup(hr, group, contact)`.
    ContactAddedToGroup {
        hr: HResult,
        group: GroupInfo,
        contact: ContactInfo,
    },
    /// `OnContactRemovedFromGroup(hr, group, contact)`.
    ContactRemovedFromGroup {
        hr: HResult,
        group: GroupInfo,
        contact: ContactInfo,
    },
}

/// An event as the engine queues it: its running number (shared with the trace) and,
/// for an event about a session, the session's state when it fired (events are
/// delivered later, when the state may have moved on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped {
    pub stamp: u64,
    pub event: ClientEvent,
    pub state: Option<SessionState>,
}

impl ClientEvent {
    /// The session this event is about: its target, or the one an invitation brings.
    pub const fn session(&self) -> Option<ObjId> {
        match self {
            ClientEvent::Invitation { session, .. } => Some(*session),
            ClientEvent::StateChanged { obj, .. }
            | ClientEvent::AppNotPresent { obj, .. }
            | ClientEvent::Accepted { obj, .. }
            | ClientEvent::Declined { obj, .. }
            | ClientEvent::Cancelled { obj, .. }
            | ClientEvent::Termination { obj, .. }
            | ClientEvent::ReadyToLaunch { obj }
            | ClientEvent::ContextData { obj, .. }
            | ClientEvent::SendError { obj, .. }
            | ClientEvent::BeforeAppLaunch { obj } => Some(*obj),
            _ => None,
        }
    }

    /// Every event the app can get: its name and how many arguments its callback
    /// takes. The Python layer checks its own table against this one at import.
    pub const CATALOGUE: [(&'static str, usize); 34] = [
        ("signed_in", 0),
        ("sign_in_failed", 2),
        ("signed_out", 1),
        ("lock_enable", 1),
        ("lock_challenge", 2),
        ("lock_result", 2),
        ("lock_status_changed", 1),
        ("invitation", 2),
        ("app_registered", 1),
        ("app_unregistered", 1),
        ("app_shutdown", 0),
        ("state_changed", 1),
        ("app_not_present", 2),
        ("accepted", 1),
        ("declined", 1),
        ("cancelled", 1),
        ("termination", 2),
        ("ready_to_launch", 0),
        ("context_data", 1),
        ("send_error", 1),
        ("before_app_launch", 0),
        ("contact_list_add", 2),
        ("alert_received", 1),
        ("text_received", 2),
        ("my_status_change", 2),
        ("my_friendly_name_change", 2),
        ("my_personal_message_change", 2),
        ("contact_status_change", 2),
        ("contact_personal_message_change", 1),
        ("group_added", 2),
        ("group_removed", 2),
        ("group_name_changed", 2),
        ("contact_added_to_group", 3),
        ("contact_removed_from_group", 3),
    ];

    /// The event's name in [`ClientEvent::CATALOGUE`].
    pub const fn name(&self) -> &'static str {
        match self {
            ClientEvent::SignedIn => "signed_in",
            ClientEvent::SignInFailed { .. } => "sign_in_failed",
            ClientEvent::SignedOut { .. } => "signed_out",
            ClientEvent::LockEnable { .. } => "lock_enable",
            ClientEvent::LockChallenge { .. } => "lock_challenge",
            ClientEvent::LockResult { .. } => "lock_result",
            ClientEvent::LockStatusChanged { .. } => "lock_status_changed",
            ClientEvent::Invitation { .. } => "invitation",
            ClientEvent::AppRegistered { .. } => "app_registered",
            ClientEvent::AppUnregistered { .. } => "app_unregistered",
            ClientEvent::AppShutdown { .. } => "app_shutdown",
            ClientEvent::StateChanged { .. } => "state_changed",
            ClientEvent::AppNotPresent { .. } => "app_not_present",
            ClientEvent::Accepted { .. } => "accepted",
            ClientEvent::Declined { .. } => "declined",
            ClientEvent::Cancelled { .. } => "cancelled",
            ClientEvent::Termination { .. } => "termination",
            ClientEvent::ReadyToLaunch { .. } => "ready_to_launch",
            ClientEvent::ContextData { .. } => "context_data",
            ClientEvent::SendError { .. } => "send_error",
            ClientEvent::BeforeAppLaunch { .. } => "before_app_launch",
            ClientEvent::ContactListAdd { .. } => "contact_list_add",
            ClientEvent::AlertReceived { .. } => "alert_received",
            ClientEvent::TextReceived { .. } => "text_received",
            ClientEvent::MyStatusChange { .. } => "my_status_change",
            ClientEvent::MyFriendlyNameChange { .. } => "my_friendly_name_change",
            ClientEvent::MyPersonalMessageChange { .. } => "my_personal_message_change",
            ClientEvent::ContactStatusChange { .. } => "contact_status_change",
            ClientEvent::ContactPersonalMessageChange { .. } => "contact_personal_message_change",
            ClientEvent::GroupAdded { .. } => "group_added",
            ClientEvent::GroupRemoved { .. } => "group_removed",
            ClientEvent::GroupNameChanged { .. } => "group_name_changed",
            ClientEvent::ContactAddedToGroup { .. } => "contact_added_to_group",
            ClientEvent::ContactRemovedFromGroup { .. } => "contact_removed_from_group",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    Offline,
    SigningIn,
    SignedIn,
}

pub struct ClientEngine {
    config: ClientConfig,
    ns: Option<ns::NsSession>,
    next_conn: ConnId,
    next_obj: ObjId,
    locks: locks::Locks,
    sessions: sessions::Sessions,
    apps: apps::Registry,
    sbs: sb::Links,
    contacts: contacts::Contacts,
    profile: profile::Profile,
    groups: groups::Groups,
    peer_names: HashMap<String, String>,
    rng: StdRng,
    friendly_name: Option<String>,
    out: VecDeque<ClientOutput>,
    /// Events and traced messages carry one running number, so a driver can put them in
    /// the order they happened.
    events: VecDeque<Stamped>,
    next_stamp: u64,
    /// Messages of ours on their way, by id: the peer, to word a failure.
    texts: HashMap<u64, String>,
    next_text: u64,
    /// A password given for the sign-in under way, kept only if it works.
    attempt_password: Option<String>,
    /// Calls being waited for, and their outcome once known.
    awaiting: HashMap<Waiting, Option<Result<()>>>,
    trace: VecDeque<Crossing>,
    /// The sign-in name every trace entry carries, shared rather than copied.
    trace_user: Arc<str>,
}

impl ClientEngine {
    pub fn new(config: ClientConfig) -> Self {
        let trace_user = Arc::from(config.sign_in_name.as_str());
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        ClientEngine {
            config,
            ns: None,
            next_conn: 1,
            next_obj: 0,
            locks: locks::Locks::default(),
            sessions: sessions::Sessions::default(),
            apps: apps::Registry::default(),
            sbs: sb::Links::default(),
            contacts: contacts::Contacts::default(),
            profile: profile::Profile::default(),
            groups: groups::Groups::default(),
            peer_names: HashMap::new(),
            rng,
            friendly_name: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            next_stamp: 0,
            texts: HashMap::new(),
            next_text: 0,
            attempt_password: None,
            awaiting: HashMap::new(),
            trace: VecDeque::new(),
            trace_user,
        }
    }

    pub fn sign_in_name(&self) -> &str {
        &self.config.sign_in_name
    }

    /// The friendly name the service reported at the last sign-in.
    pub fn friendly_name(&self) -> Option<&str> {
        self.friendly_name.as_deref()
    }

    pub fn state(&self) -> ClientState {
        match &self.ns {
            None => ClientState::Offline,
            Some(ns) if ns.is_signed_in() => ClientState::SignedIn,
            Some(_) => ClientState::SigningIn,
        }
    }

    /// The driver's report of the address the notification connection uses: the
    /// machine's address, unless the configuration named one.
    pub fn learn_local_ip(&mut self, ip: &str) {
        if self.config.local_ip.is_empty() {
            self.config.local_ip = ip.to_string();
        }
    }

    /// Replaces the password used by the next sign-in.
    pub fn set_password(&mut self, password: &str) {
        self.config.password = password.to_string();
    }

    /// Signs in with `password` for this attempt only: it replaces the stored one once
    /// the service accepts it, and a refused one is forgotten.
    pub fn sign_in_with(&mut self, password: Option<&str>, now: Instant) -> Result<()> {
        self.sign_in(now)?;
        self.attempt_password = password.map(str::to_string);
        Ok(())
    }

    /// The password the sign-in under way uses.
    pub(crate) fn password(&self) -> &str {
        self.attempt_password.as_deref().unwrap_or(&self.config.password)
    }

    pub fn sign_in(&mut self, _now: Instant) -> Result<()> {
        if self.ns.is_some() {
            return Err(Error::api(HResult::E_FAIL, "already signed in or signing in"));
        }
        self.awaiting.insert(Waiting::SignIn, None);
        let conn = self.new_conn();
        self.ns = Some(ns::NsSession::new(conn, &self.config.ns_address));
        self.out.push_back(ClientOutput::Connect {
            conn,
            addr: self.config.ns_address.clone(),
        });
        Ok(())
    }

    pub fn sign_out(&mut self, now: Instant) {
        if let Some(ns) = &self.ns {
            let conn = ns.conn();
            self.sb_leave_all();
            self.send(conn, crate::proto::ns::Request::Out.to_command(None));
            self.out.push_back(ClientOutput::Close { conn });
            self.ns_ended(SignOutReason::User, now);
        }
    }

    /// The service's `OUT`: the sign-in ends now. Some servers keep the socket open
    /// after it, so the client closes it itself rather than wait.
    pub(super) fn signed_out_by_server(&mut self, code: Option<&str>, now: Instant) {
        let Some(conn) = self.ns.as_ref().map(ns::NsSession::conn) else {
            return;
        };
        let reason = SignOutReason::from_out(code);
        if reason == SignOutReason::ServerClosed {
            // MIG (sign in again), TOU (accept new terms), RCT (come back later): the
            // user may have something to do that only the code says.
            log::warn!(
                target: LOG,
                "{}: the service signed us out with OUT {}",
                self.config.sign_in_name,
                code.unwrap_or("(no reason)")
            );
        }
        self.sb_leave_all();
        self.out.push_back(ClientOutput::Close { conn });
        self.ns_ended(reason, now);
    }

    /// The driver opened the connection asked for by `Connect`.
    pub fn connected(&mut self, conn: ConnId, now: Instant) {
        if self.ns.as_ref().is_some_and(|ns| ns.conn() == conn) {
            self.ns_connected(now);
        } else if self.sbs.owns(conn) {
            self.sb_connected(conn);
        }
    }

    pub fn receive(&mut self, conn: ConnId, bytes: &[u8], now: Instant) {
        if self.ns.as_ref().is_some_and(|ns| ns.conn() == conn) {
            self.ns_receive(bytes, now);
        } else if self.sbs.owns(conn) {
            self.sb_receive(conn, bytes, now);
        }
    }

    /// The driver's answer to [`ClientOutput::Passport`]: the ticket, or why there is
    /// none (a refused password is `SR_AUTHENTICATION_FAILED`).
    pub fn passport_ticket(&mut self, conn: ConnId, ticket: Result<String>, now: Instant) {
        if self.ns.as_ref().is_some_and(|ns| ns.conn() == conn) {
            self.ns_ticket(ticket, now);
        }
    }

    /// The connection asked for could not be opened; `why` is the driver's reason.
    pub fn unreachable(&mut self, conn: ConnId, why: &str, now: Instant) {
        if self.ns.as_ref().is_some_and(|ns| ns.conn() == conn) && !self.ns.as_ref().is_some_and(|ns| ns.is_signed_in())
        {
            let address = self
                .ns
                .as_ref()
                .map_or(self.config.ns_address.as_str(), |ns| ns.address());
            let detail = format!("cannot reach {address}: {why}");
            self.ns_fail(Error::api(HResult::SR_CONNECTION_FAILURE, detail), now);
        } else if self.sbs.owns(conn) {
            self.sb_unreachable(conn, why, now);
        } else {
            self.closed(conn, now);
        }
    }

    /// The connection closed (or could not be opened).
    pub fn closed(&mut self, conn: ConnId, now: Instant) {
        if self.ns.as_ref().is_some_and(|ns| ns.conn() == conn) {
            self.sb_leave_all();
            self.ns_ended(SignOutReason::ConnectionLost, now);
        } else if self.sbs.owns(conn) {
            self.sb_closed(conn, now);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.locks
            .next_deadline()
            .into_iter()
            .chain(self.sessions_next_deadline())
            .chain(self.ns_next_deadline())
            .chain(self.sb_next_deadline())
            .min()
    }

    pub fn tick(&mut self, now: Instant) {
        self.ns_tick(now);
        self.locks_tick(now);
        self.sessions_tick(now);
        self.sb_tick(now);
    }

    /// The next thing for the driver to do. A message is traced here, as it leaves,
    /// so the trace shows the order in which messages crossed.
    pub fn poll_output(&mut self) -> Option<ClientOutput> {
        let out = self.out.pop_front()?;
        if let ClientOutput::Send { conn, cmd } = &out {
            self.record(*conn, Direction::ClientToServer, cmd);
        }
        Some(out)
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front().map(|s| s.event)
    }

    /// The next event with its running number (shared with [`ClientEngine::poll_trace`])
    /// and the state of its session when it fired.
    pub fn poll_stamped_event(&mut self) -> Option<Stamped> {
        self.events.pop_front()
    }

    /// The next message sent or parsed, when tracing is on.
    pub fn poll_trace(&mut self) -> Option<Crossing> {
        self.trace.pop_front()
    }

    /// The outcome of a waited-for call, once known (then forgotten).
    pub fn take_outcome(&mut self, call: Waiting) -> Option<Result<()>> {
        match self.awaiting.get(&call) {
            Some(Some(_)) => self.awaiting.remove(&call).flatten(),
            _ => None,
        }
    }

    /// Whether a waited-for call has its outcome (or nobody waits for it).
    pub fn outcome_known(&self, call: Waiting) -> bool {
        !matches!(self.awaiting.get(&call), Some(None))
    }

    /// The driver stopped waiting: a failure that comes later is an event instead
    /// (`OnSendError` for an invitation).
    pub fn abandon(&mut self, call: Waiting) {
        match self.awaiting.remove(&call) {
            Some(Some(Err(error))) => self.unawaited_failure(call, error),
            // Still queued behind a switchboard that never became ready: the caller
            // was told it timed out, so it must not go out later behind their back.
            Some(None) => match call {
                Waiting::Invite(obj) if self.sb_withdraw(obj, MsgKind::Invite) => self.sessions_invite_withdrawn(obj),
                Waiting::Text(id) if self.sb_withdraw(id, MsgKind::Text) => {
                    self.texts.remove(&id);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// A waited-for call ended.
    fn resolve(&mut self, call: Waiting, outcome: Result<()>) {
        if call == Waiting::SignIn {
            if let (Some(pw), true) = (self.attempt_password.take(), outcome.is_ok()) {
                self.config.password = pw;
            }
        }
        match self.awaiting.get_mut(&call) {
            Some(slot) => *slot = Some(outcome),
            None => {
                if let Err(error) = outcome {
                    self.unawaited_failure(call, error);
                }
            }
        }
    }

    /// A failure nobody waits for any more: `OnSendError` carries only its HRESULT,
    /// so the log keeps the rest (the MSNP code and meaning, the address).
    fn unawaited_failure(&mut self, call: Waiting, error: Error) {
        if let Waiting::Text(_) = call {
            log::warn!(target: LOG, "{}: a message nobody waited for: {error}", self.config.sign_in_name);
        }
        if let Waiting::Invite(obj) = call {
            log::warn!(target: LOG, "{}: {error}", self.config.sign_in_name);
            self.emit(ClientEvent::SendError {
                obj,
                hr: error.hresult(),
            });
        }
    }

    /// Lock objects and sessions share one id space, so the driver can tell them apart.
    fn new_obj_id(&mut self) -> ObjId {
        self.next_obj += 1;
        self.next_obj
    }

    fn new_conn(&mut self) -> ConnId {
        let c = self.next_conn;
        self.next_conn += 1;
        c
    }

    fn stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }

    fn emit(&mut self, event: ClientEvent) {
        let stamp = self.stamp();
        let state = event
            .session()
            .and_then(|id| self.sessions.map.get(&id))
            .map(Session::state);
        self.events.push_back(Stamped { stamp, event, state });
    }

    fn send(&mut self, conn: ConnId, cmd: Command) {
        self.out.push_back(ClientOutput::Send { conn, cmd });
    }

    /// Reports a message sent to the trace.
    fn record(&mut self, conn: ConnId, direction: Direction, cmd: &Command) {
        if self.config.trace {
            let stamp = self.stamp();
            self.trace.push_back(Crossing {
                stamp,
                conn,
                user: self.trace_user.clone(),
                direction,
                cmd: cmd.clone(),
            });
        }
    }

    /// The number of a message received, taken as it arrives so that it comes before
    /// the events it causes; None when tracing is off.
    fn trace_stamp(&mut self) -> Option<u64> {
        self.config.trace.then(|| self.stamp())
    }

    /// Reports a message received, once handled (so it is moved, not copied), under
    /// the number [`ClientEngine::trace_stamp`] took for it. Handling a message only
    /// queues what it sends (traced when it leaves), so the trace stays in order.
    fn record_received(&mut self, stamp: Option<u64>, conn: ConnId, cmd: Command) {
        if let Some(stamp) = stamp {
            self.trace.push_back(Crossing {
                stamp,
                conn,
                user: self.trace_user.clone(),
                direction: Direction::ServerToClient,
                cmd,
            });
        }
    }
}
