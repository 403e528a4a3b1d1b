//! The client's `IMsgrLock` objects and their challenge transactions (msnp.md §e).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::{self, LockInput, LockPhase, LockStatus};
use crate::proto::ns::Request;
use crate::proto::{valid_token, Instant, CHALLENGE_TIMEOUT, MAX_APP_ID};
use crate::service::LockAndKey;
use crate::wire::challenge::is_hex32;

use super::{ClientEngine, ClientEvent, ObjId};

/// Which COM object a lock belongs to; each unlocks separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    SessionManager,
    MessengerPriv,
}

#[derive(Debug)]
struct Transaction {
    cookie: i32,
    chl_trid: u32,
    qry_trid: Option<u32>,
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
}

impl Locks {
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.objects
            .values()
            .filter_map(|o| o.txn.as_ref().map(|t| t.deadline))
            .min()
    }

    /// The object whose transaction in `phase` used `trid`.
    fn by_trid(&self, trid: u32, phase: LockPhase) -> Option<ObjId> {
        self.objects.iter().find_map(|(id, o)| {
            let t = o.txn.as_ref()?;
            let used = match phase {
                LockPhase::AwaitingChallenge => t.chl_trid == trid,
                _ => t.qry_trid == Some(trid),
            };
            (o.phase == phase && used).then_some(*id)
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
        LockInput::RequestChallenge => "RequestChallenge",
        _ => "SendResponse",
    };
    let detail = match (hr, phase) {
        (HResult::MSGR_E_API_PENDING_UNLOCK, LockPhase::AwaitingChallenge) => {
            "the challenge has not arrived yet".into()
        }
        (HResult::MSGR_E_API_PENDING_UNLOCK, LockPhase::AwaitingResult) => {
            "a response was already sent; the result is pending".into()
        }
        _ => format!("{call} in {}", phase.status().name()),
    };
    Error::api(hr, detail)
}

impl ClientEngine {
    pub fn create_lock_object(&mut self, kind: ObjectKind) -> ObjId {
        let id = self.new_obj_id();
        let phase = match (self.state(), self.ns.as_ref()) {
            (super::ClientState::SignedIn, Some(ns)) => {
                lock::next(LockPhase::NotInitialized, policy_input(ns.lock_and_key()))
                    .unwrap_or(LockPhase::NotInitialized)
            }
            _ => LockPhase::NotInitialized,
        };
        self.locks.objects.insert(id, LockObject { kind, phase, txn: None });
        id
    }

    /// The app released a session manager, MessengerPriv or session: its state goes.
    pub fn release_object(&mut self, obj: ObjId) {
        if self.locks.objects.remove(&obj).is_some() {
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
            .map_err(|hr| Error::api(hr, format!("the object is {}", status.name())))
    }

    fn lock_object(&self, obj: ObjId) -> Result<&LockObject> {
        self.locks.objects.get(&obj).ok_or(Error::UnknownHandle {
            what: "lock object",
            id: obj,
        })
    }

    /// `IMsgrLock::RequestChallenge`: `CHL <t>` on the wire.
    pub fn request_challenge(&mut self, obj: ObjId, cookie: i64, now: Instant) -> Result<()> {
        let phase = self.lock_phase(obj)?;
        lock::next(phase, LockInput::RequestChallenge).map_err(|hr| refused(hr, LockInput::RequestChallenge, phase))?;
        let cookie = cookie_from(cookie)?;
        let chl_trid = self
            .ns_send(|trid| Request::Chl { trid })
            .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
        if let Some(o) = self.locks.objects.get_mut(&obj) {
            o.txn = Some(Transaction {
                cookie,
                chl_trid,
                qry_trid: None,
                deadline: now + CHALLENGE_TIMEOUT,
            });
        }
        self.lock_input(obj, LockInput::RequestChallenge);
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
        let digest = response.to_ascii_lowercase().into_bytes();
        let qry = self
            .ns_send(|trid| Request::Qry {
                trid,
                id: app_id.to_string(),
                digest,
            })
            .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
        if let Some(t) = self.locks.objects.get_mut(&obj).and_then(|o| o.txn.as_mut()) {
            t.qry_trid = Some(qry);
        }
        self.lock_input(obj, LockInput::SendResponse);
        Ok(())
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
        if self.lock_input(obj, LockInput::ChallengeReceived) {
            self.emit(ClientEvent::LockChallenge {
                obj,
                cookie,
                challenge: challenge.to_string(),
            });
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

    /// The transaction ends (a verdict, or its time-out): `OnLockResult`, then the status.
    fn finish_transaction(&mut self, obj: ObjId, input: LockInput) {
        let Some(o) = self.locks.objects.get_mut(&obj) else {
            return;
        };
        let Ok(next) = lock::next(o.phase, input) else { return };
        let Some(txn) = o.txn.take() else { return };
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
            .objects
            .iter()
            .filter(|(_, o)| o.txn.as_ref().is_some_and(|t| t.deadline <= now))
            .map(|(id, _)| *id)
            .collect();
        for obj in expired {
            self.finish_transaction(obj, LockInput::Timeout);
        }
    }

    pub(super) fn locks_signed_in(&mut self, policy: LockAndKey) {
        let ids: Vec<ObjId> = self.locks.objects.keys().copied().collect();
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
