//! The client's `IMsgrLock` objects and their challenge transactions (msnp.md §e),
//! run by the service over `CHL`/`QRY` or, against a server without Lock and Key, by
//! the client itself (`LockMode::Local`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rand::Rng;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::{self, LockInput, LockPhase, LockStatus};
use crate::proto::ns::Request;
use crate::proto::{valid_token, Instant, MAX_APP_ID};
use crate::service::LockAndKey;
use crate::wire::challenge::{is_hex32, md5_response, responses_match};

use super::{ClientEngine, ClientEvent, ObjId, LOG};

/// Who runs Lock and Key for this client (`msgr.connect(lock_and_key=...)`).
#[derive(Clone, Default, PartialEq, Eq)]
pub enum LockMode {
    /// The service's `X-Msgr-LockAndKey` header decides; none (every legacy server)
    /// means the service does Lock and Key.
    #[default]
    Auto,
    /// The service does Lock and Key (`CHL <t>`/`QRY`), whatever its header says.
    Service,
    /// The client issues the challenges and checks the responses against these
    /// `app id -> key` pairs, with no wire traffic: for servers without Lock and Key.
    Local(BTreeMap<String, String>),
    /// Nothing is locked: objects are `LOCK_UNLOCKED` at sign-in.
    Off,
}

impl LockMode {
    /// The mode's name, as `connect()` takes it.
    pub const fn name(&self) -> &'static str {
        match self {
            LockMode::Auto => "auto",
            LockMode::Service => "service",
            LockMode::Local(_) => "local",
            LockMode::Off => "off",
        }
    }

    /// The mode named `name` (`auto`, `service`, `local`, `off`), with the
    /// `app id -> key` pairs `local` needs and the others refuse.
    pub fn new(name: &str, keys: Option<BTreeMap<String, String>>) -> Result<LockMode> {
        let invalid = |why: String| Error::api(HResult::E_INVALIDARG, why);
        let mode = match name {
            "auto" => LockMode::Auto,
            "service" => LockMode::Service,
            "off" => LockMode::Off,
            "local" => {
                let keys = keys
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| invalid("lock_and_key='local' needs keys={app_id: key, ...}".into()))?;
                if let Some(id) = keys.keys().find(|id| !valid_token(id, MAX_APP_ID)) {
                    return Err(invalid(format!(
                        "app id {id:?} must be 1 to 128 printable characters without spaces"
                    )));
                }
                if let Some((id, _)) = keys.iter().find(|(_, key)| key.is_empty()) {
                    return Err(invalid(format!("the key of {id} is empty")));
                }
                return Ok(LockMode::Local(keys));
            }
            other => {
                return Err(invalid(format!(
                    "lock_and_key must be 'auto', 'service', 'local' or 'off', not {other:?}"
                )))
            }
        };
        match keys {
            Some(_) => Err(invalid(format!("keys= is for lock_and_key='local' only, not {name:?}"))),
            None => Ok(mode),
        }
    }

    /// What the objects become at sign-in, given what the service's header said.
    pub fn policy(&self, header: LockAndKey) -> LockAndKey {
        match self {
            LockMode::Auto => header,
            LockMode::Service | LockMode::Local(_) => LockAndKey::Enabled,
            LockMode::Off => LockAndKey::Off,
        }
    }
}

/// Names the app ids only: keys stay out of logs and panics.
impl fmt::Debug for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockMode::Local(keys) => f.debug_tuple("Local").field(&keys.keys().collect::<Vec<_>>()).finish(),
            other => f.write_str(match other {
                LockMode::Auto => "Auto",
                LockMode::Service => "Service",
                _ => "Off",
            }),
        }
    }
}

/// How many digits a challenge has, as the service's (msnp.md §d.1).
const CHALLENGE_DIGITS: usize = 20;

/// Which COM object a lock belongs to; each unlocks separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    SessionManager,
    MessengerPriv,
}

/// Who answers a transaction.
#[derive(Debug)]
enum Verifier {
    /// The service: `CHL <chl>` was sent, `QRY <qry>` once the app answered.
    Service { chl: u32, qry: Option<u32> },
    /// This client, which issued `challenge` (`LockMode::Local`).
    Local { challenge: String },
}

#[derive(Debug)]
struct Transaction {
    cookie: i32,
    verifier: Verifier,
    deadline: Instant,
}

#[derive(Debug)]
struct LockObject {
    kind: ObjectKind,
    phase: LockPhase,
    txn: Option<Transaction>,
}

#[derive(Debug, Default)]
pub(super) struct Locks {
    objects: BTreeMap<ObjId, LockObject>,
    /// The objects with a transaction under way: the few a reply can be for, so an
    /// app holding many objects does not make every reply scan them all.
    open: BTreeSet<ObjId>,
}

impl Locks {
    fn with_txn(&self) -> impl Iterator<Item = (ObjId, &LockObject)> {
        self.open.iter().filter_map(|id| self.objects.get(id).map(|o| (*id, o)))
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.with_txn()
            .filter_map(|(_, o)| o.txn.as_ref().map(|t| t.deadline))
            .min()
    }

    /// The object whose transaction in `phase` used `trid`.
    fn by_trid(&self, trid: u32, phase: LockPhase) -> Option<ObjId> {
        self.with_txn().find_map(|(id, o)| {
            let Verifier::Service { chl, qry } = o.txn.as_ref()?.verifier else {
                return None;
            };
            let used = match phase {
                LockPhase::AwaitingChallenge => chl == trid,
                _ => qry == Some(trid),
            };
            (o.phase == phase && used).then_some(id)
        })
    }
}

/// A cookie is the app's 32-bit `long`.
fn cookie_from(cookie: i64) -> Result<i32> {
    i32::try_from(cookie).map_err(|_| {
        Error::api(
            HResult::E_INVALIDARG,
            format!("cookie {cookie} does not fit a 32-bit long"),
        )
    })
}

fn refused(hr: HResult, input: LockInput, phase: LockPhase) -> Error {
    let call = match input {
        LockInput::RequestChallenge => "request_challenge()",
        _ => "send_response()",
    };
    let detail = match (hr, phase) {
        (HResult::MSGR_E_API_PENDING_UNLOCK, LockPhase::AwaitingChallenge) => {
            "the challenge has not arrived yet".into()
        }
        (HResult::MSGR_E_API_PENDING_UNLOCK, LockPhase::AwaitingResult) => {
            "a response was already sent; the result is pending".into()
        }
        // One transaction per object per sign-in (reference C3): say how to try again.
        (_, LockPhase::UnlockFailed) => format!(
            "{call} in {}: the unlock failed, and an object gets one try per sign-in; sign out and in again to try again",
            phase.status()
        ),
        _ => format!("{call} in {}", phase.status()),
    };
    Error::api(hr, detail)
}

impl ClientEngine {
    pub fn create_lock_object(&mut self, kind: ObjectKind) -> ObjId {
        let id = self.new_obj_id();
        let phase = match (self.state(), self.ns.as_ref()) {
            (super::ClientState::SignedIn, Some(ns)) => {
                let policy = self.config.lock_mode.policy(ns.lock_and_key());
                lock::next(LockPhase::NotInitialized, policy_input(policy)).unwrap_or(LockPhase::NotInitialized)
            }
            _ => LockPhase::NotInitialized,
        };
        self.locks.objects.insert(id, LockObject { kind, phase, txn: None });
        id
    }

    /// The app released a session manager, MessengerPriv or session: its state goes.
    pub fn release_object(&mut self, obj: ObjId) {
        if self.locks.objects.remove(&obj).is_some() {
            self.locks.open.remove(&obj);
            self.contacts_object_released(obj);
        } else {
            self.release_session(obj);
        }
    }

    /// (lock objects, sessions) held, for leak checks.
    pub fn object_counts(&self) -> (usize, usize) {
        (self.locks.objects.len(), self.sessions.map.len())
    }

    pub(super) fn lock_objects_of(&self, kind: ObjectKind) -> Vec<ObjId> {
        self.locks
            .objects
            .iter()
            .filter(|(_, o)| o.kind == kind)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn lock_kind(&self, obj: ObjId) -> Result<ObjectKind> {
        self.lock_object(obj).map(|o| o.kind)
    }

    pub fn lock_status(&self, obj: ObjId) -> Result<LockStatus> {
        self.lock_phase(obj).map(LockPhase::status)
    }

    pub fn lock_phase(&self, obj: ObjId) -> Result<LockPhase> {
        self.lock_object(obj).map(|o| o.phase)
    }

    /// The guard of every locked member (reference C30).
    pub fn check_unlocked(&self, obj: ObjId) -> Result<()> {
        let status = self.lock_status(obj)?;
        status
            .api_guard()
            .map_err(|hr| Error::api(hr, format!("the object is {status}")))
    }

    fn lock_object(&self, obj: ObjId) -> Result<&LockObject> {
        self.locks.objects.get(&obj).ok_or(Error::UnknownHandle {
            what: "lock object",
            id: obj,
        })
    }

    /// `IMsgrLock::RequestChallenge`: `CHL <t>` on the wire, or (`LockMode::Local`) a
    /// challenge issued here, delivered as the service's would be.
    pub fn request_challenge(&mut self, obj: ObjId, cookie: i64, now: Instant) -> Result<()> {
        let phase = self.lock_phase(obj)?;
        lock::next(phase, LockInput::RequestChallenge).map_err(|hr| refused(hr, LockInput::RequestChallenge, phase))?;
        let cookie = cookie_from(cookie)?;
        let verifier = if let LockMode::Local(_) = self.config.lock_mode {
            let challenge = (0..CHALLENGE_DIGITS)
                .map(|_| char::from(b'0' + self.rng.random_range(0..10u8)))
                .collect();
            Verifier::Local { challenge }
        } else {
            let chl = self
                .ns_send(|trid| Request::Chl { trid })
                .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
            Verifier::Service { chl, qry: None }
        };
        let issued = match &verifier {
            Verifier::Local { challenge } => Some(challenge.clone()),
            Verifier::Service { .. } => None,
        };
        if let Some(o) = self.locks.objects.get_mut(&obj) {
            o.txn = Some(Transaction {
                cookie,
                verifier,
                deadline: now + self.config.challenge_timeout,
            });
            self.locks.open.insert(obj);
        }
        self.lock_input(obj, LockInput::RequestChallenge);
        if let Some(challenge) = issued {
            self.challenge_arrived(obj, cookie, challenge);
        }
        Ok(())
    }

    /// `IMsgrLock::SendResponse`: `QRY <t> <app id> 32` + the digest, on a new TrID.
    pub fn send_response(
        &mut self,
        obj: ObjId,
        app_id: &str,
        response: &str,
        cookie: i64,
        _now: Instant,
    ) -> Result<()> {
        let phase = self.lock_phase(obj)?;
        let outcome =
            lock::next(phase, LockInput::SendResponse).map_err(|hr| refused(hr, LockInput::SendResponse, phase));
        // The documented table (over statuses) decides before the arguments; which
        // phase of PENDINGRESULT the transaction is in, after them.
        if phase.status() != LockStatus::PendingResult {
            outcome.clone()?;
        }
        let invalid = |why: String| Error::api(HResult::E_INVALIDARG, why);
        if !valid_token(app_id, MAX_APP_ID) {
            return Err(invalid(format!(
                "app id {app_id:?} must be 1 to 128 printable characters without spaces"
            )));
        }
        let response = response.trim();
        if !is_hex32(response) {
            return Err(invalid(
                "the response must be 32 hexadecimal digits (MD5 of challenge + key)".into(),
            ));
        }
        let cookie = cookie_from(cookie)?;
        match self.lock_object(obj)?.txn.as_ref() {
            Some(t) if t.cookie != cookie => {
                return Err(invalid(format!(
                    "cookie {cookie} is not the pending challenge's cookie"
                )))
            }
            Some(_) => {}
            None => return Err(Error::api(HResult::E_FAIL, "no transaction is pending")),
        }
        outcome?;
        if let Some(Verifier::Local { challenge }) = self.lock_object(obj)?.txn.as_ref().map(|t| &t.verifier) {
            let verdict = self.local_verdict(app_id, challenge, response);
            self.lock_input(obj, LockInput::SendResponse);
            self.finish_transaction(obj, verdict);
            return Ok(());
        }
        let digest = response.to_ascii_lowercase().into_bytes();
        let sent = self
            .ns_send(|trid| Request::Qry {
                trid,
                id: app_id.to_string(),
                digest,
            })
            .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
        if let Some(Verifier::Service { qry, .. }) = self
            .locks
            .objects
            .get_mut(&obj)
            .and_then(|o| o.txn.as_mut())
            .map(|t| &mut t.verifier)
        {
            *qry = Some(sent);
        }
        self.lock_input(obj, LockInput::SendResponse);
        Ok(())
    }

    /// The service's check, done here: MD5(challenge ‖ key) of a pair we were given,
    /// compared in constant time. An unknown app id fails as a wrong key does.
    fn local_verdict(&self, app_id: &str, challenge: &str, response: &str) -> LockInput {
        let LockMode::Local(keys) = &self.config.lock_mode else {
            return LockInput::Rejected;
        };
        match keys.get(app_id) {
            Some(key) if responses_match(&md5_response(challenge, key), response) => LockInput::Accepted,
            _ => LockInput::Rejected,
        }
    }

    /// `S: CHL <t> <challenge>` for a transaction of ours.
    pub(super) fn locks_challenge(&mut self, trid: u32, challenge: &str, _now: Instant) {
        let Some(obj) = self.locks.by_trid(trid, LockPhase::AwaitingChallenge) else {
            return;
        };
        let Some(cookie) = self
            .lock_object(obj)
            .ok()
            .and_then(|o| o.txn.as_ref())
            .map(|t| t.cookie)
        else {
            return;
        };
        self.challenge_arrived(obj, cookie, challenge.to_string());
    }

    /// The challenge is there, from the service or issued here: `OnLockChallenge`.
    fn challenge_arrived(&mut self, obj: ObjId, cookie: i32, challenge: String) {
        if self.lock_input(obj, LockInput::ChallengeReceived) {
            self.emit(ClientEvent::LockChallenge { obj, cookie, challenge });
        }
    }

    /// `S: QRY <t>` (accepted) or `S: 540 <t>` (rejected).
    pub(super) fn locks_result(&mut self, trid: u32, accepted: bool, _now: Instant) {
        let Some(obj) = self.locks.by_trid(trid, LockPhase::AwaitingResult) else {
            return;
        };
        let input = if accepted {
            LockInput::Accepted
        } else {
            LockInput::Rejected
        };
        self.finish_transaction(obj, input);
    }

    /// An error reply to an object's `CHL <t>` (a service's rate limit, say): the
    /// transaction fails now rather than at its time-out. True if it was one.
    pub(super) fn locks_refused(&mut self, trid: u32, code: u16) -> bool {
        let Some(obj) = self.locks.by_trid(trid, LockPhase::AwaitingChallenge) else {
            return false;
        };
        log::warn!(
            target: LOG,
            "{}: the service refused the Lock and Key challenge request: {}",
            self.config.sign_in_name,
            super::error_codes::quoted(code)
        );
        // The table's way from awaiting a challenge to a failed unlock.
        self.finish_transaction(obj, LockInput::Timeout);
        true
    }

    /// The transaction ends (a verdict, or its time-out): `OnLockResult`, then the status.
    fn finish_transaction(&mut self, obj: ObjId, input: LockInput) {
        let Some(o) = self.locks.objects.get_mut(&obj) else {
            return;
        };
        let Ok(next) = lock::next(o.phase, input) else { return };
        let Some(txn) = o.txn.take() else { return };
        self.locks.open.remove(&obj);
        if matches!(input, LockInput::Rejected) {
            // The app only sees OnLockResult(FALSE); say why, and that it is final.
            log::warn!(
                target: LOG,
                "{}: the Lock and Key response for cookie {} was refused: the app id is not licensed, \
                 or its key is wrong (the response is MD5 of the challenge followed by the key). \
                 The object stays locked; it can try again after a new sign-in.",
                self.config.sign_in_name,
                txn.cookie
            );
        }
        self.emit(ClientEvent::LockResult {
            obj,
            cookie: txn.cookie,
            succeeded: next == LockPhase::Unlocked,
        });
        self.set_lock_phase(obj, next);
    }

    /// A transaction with no result by its deadline fails (reference C2).
    pub(super) fn locks_tick(&mut self, now: Instant) {
        let expired: Vec<ObjId> = self
            .locks
            .with_txn()
            .filter(|(_, o)| o.txn.as_ref().is_some_and(|t| t.deadline <= now))
            .map(|(id, _)| id)
            .collect();
        for obj in expired {
            self.warn_unanswered(obj);
            self.finish_transaction(obj, LockInput::Timeout);
        }
    }

    /// A service that never answers `CHL <t>` is, almost always, one without Lock and
    /// Key (Escargot and every legacy server drop it silently): say so, and the way out,
    /// since the app only sees `OnLockResult(FALSE)`.
    fn warn_unanswered(&self, obj: ObjId) {
        let Some(o) = self.locks.objects.get(&obj) else {
            return;
        };
        let Some(Verifier::Service { chl, .. }) = o.txn.as_ref().map(|t| &t.verifier) else {
            return;
        };
        let wait = self.config.challenge_timeout;
        match o.phase {
            LockPhase::AwaitingChallenge => log::warn!(
                target: LOG,
                "{}: the service never answered CHL {chl} (the Lock and Key challenge) within {wait:?}, \
                 so the unlock failed. A server without Lock and Key drops CHL silently; to unlock \
                 against it, connect with lock_and_key=\"local\" and keys={{app_id: key}}.",
                self.config.sign_in_name
            ),
            LockPhase::AwaitingResult => log::warn!(
                target: LOG,
                "{}: the service never answered the Lock and Key response (QRY) within {wait:?}, so the unlock failed",
                self.config.sign_in_name
            ),
            _ => {}
        }
    }

    pub(super) fn locks_signed_in(&mut self, header: LockAndKey) {
        let ids: Vec<ObjId> = self.locks.objects.keys().copied().collect();
        let policy = self.config.lock_mode.policy(header);
        let input = policy_input(policy);
        for obj in ids {
            let Ok(phase) = self.lock_phase(obj) else { continue };
            if lock::next(phase, input).is_err() {
                continue;
            }
            match policy {
                LockAndKey::Enabled => self.emit(ClientEvent::LockEnable { obj, enabled: true }),
                LockAndKey::Disabled => self.emit(ClientEvent::LockEnable { obj, enabled: false }),
                LockAndKey::Off => {}
            }
            self.lock_input(obj, input);
        }
    }

    pub(super) fn locks_signed_out(&mut self, _now: Instant) {
        self.sessions_signed_out();
        self.contacts_signed_out();
        let ids: Vec<ObjId> = self.locks.objects.keys().copied().collect();
        for obj in ids {
            if let Some(o) = self.locks.objects.get_mut(&obj) {
                o.txn = None;
            }
            self.locks.open.remove(&obj);
            self.lock_input(obj, LockInput::SignOut);
        }
    }

    /// Applies the lock table to one object; false if it refused the input.
    fn lock_input(&mut self, obj: ObjId, input: LockInput) -> bool {
        let Some(next) = self.lock_phase(obj).ok().and_then(|p| lock::next(p, input).ok()) else {
            return false;
        };
        self.set_lock_phase(obj, next);
        true
    }

    /// Sets a phase and fires `OnLockStatusChanged` when the status really changed.
    fn set_lock_phase(&mut self, obj: ObjId, phase: LockPhase) {
        let Some(o) = self.locks.objects.get_mut(&obj) else {
            return;
        };
        let before = o.phase.status();
        o.phase = phase;
        if phase.status() != before {
            self.emit(ClientEvent::LockStatusChanged {
                obj,
                status: phase.status(),
            });
        }
    }
}

fn policy_input(policy: LockAndKey) -> LockInput {
    match policy {
        LockAndKey::Enabled => LockInput::Enable,
        LockAndKey::Disabled => LockInput::Disable,
        LockAndKey::Off => LockInput::NotLocked,
    }
}
