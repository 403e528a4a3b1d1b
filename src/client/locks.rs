//! The client's `IMsgrLock` objects and their challenge transactions (msnp.md §e).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::lock::{self, LockInput, LockStatus};
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
    challenge: Option<String>,
    qry_trid: Option<u32>,
    deadline: Instant,
}

#[derive(Debug)]
struct LockObject {
    kind: ObjectKind,
    status: LockStatus,
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

    fn by_trid(&self, trid: u32, phase_qry: bool) -> Option<ObjId> {
        self.objects.iter().find_map(|(id, o)| {
            let t = o.txn.as_ref()?;
            let hit = if phase_qry {
                t.qry_trid == Some(trid)
            } else {
                t.chl_trid == trid && t.challenge.is_none()
            };
            hit.then_some(*id)
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

impl ClientEngine {
    pub fn create_lock_object(&mut self, kind: ObjectKind) -> ObjId {
        let id = self.new_obj_id();
        let status = match (self.state(), self.ns.as_ref()) {
            (super::ClientState::SignedIn, Some(_)) => self.policy_status(),
            _ => LockStatus::NotInitialized,
        };
        self.locks.objects.insert(
            id,
            LockObject {
                kind,
                status,
                txn: None,
            },
        );
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
        self.lock_object(obj).map(|o| o.status)
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

    fn policy_status(&self) -> LockStatus {
        let policy = self.ns.as_ref().map(|ns| ns.lock_and_key()).unwrap_or_default();
        lock::next(LockStatus::NotInitialized, policy_input(policy)).unwrap_or(LockStatus::NotInitialized)
    }

    /// `IMsgrLock::RequestChallenge`: `CHL <t>` on the wire.
    pub fn request_challenge(&mut self, obj: ObjId, cookie: i64, now: Instant) -> Result<()> {
        let status = self.lock_status(obj)?;
        let next = lock::next(status, LockInput::RequestChallenge)
            .map_err(|hr| Error::api(hr, format!("RequestChallenge in {}", status.name())))?;
        let cookie = cookie_from(cookie)?;
        let chl_trid = self
            .ns_send("CHL", &[])
            .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
        let o = self.locks.objects.get_mut(&obj).ok_or(Error::UnknownHandle {
            what: "lock object",
            id: obj,
        })?;
        o.txn = Some(Transaction {
            cookie,
            chl_trid,
            challenge: None,
            qry_trid: None,
            deadline: now + CHALLENGE_TIMEOUT,
        });
        self.set_lock_status(obj, next);
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
        let status = self.lock_status(obj)?;
        lock::next(status, LockInput::SendResponse)
            .map_err(|hr| Error::api(hr, format!("SendResponse in {}", status.name())))?;
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
        let txn = self.lock_object(obj)?.txn.as_ref();
        match txn {
            Some(t) if t.cookie != cookie => {
                return Err(invalid(format!(
                    "cookie {cookie} is not the pending challenge's cookie"
                )))
            }
            Some(t) if t.challenge.is_none() => {
                return Err(Error::api(
                    HResult::MSGR_E_API_PENDING_UNLOCK,
                    "the challenge has not arrived yet",
                ))
            }
            Some(t) if t.qry_trid.is_some() => {
                return Err(Error::api(
                    HResult::MSGR_E_API_PENDING_UNLOCK,
                    "a response was already sent; the result is pending",
                ))
            }
            Some(_) => {}
            None => return Err(Error::api(HResult::E_FAIL, "no transaction is pending")),
        }
        let digest = response.to_ascii_lowercase().into_bytes();
        let qry = self
            .ns_send_payload("QRY", &[app_id], digest)
            .ok_or_else(|| Error::api(HResult::E_FAIL, "no connection to the service"))?;
        if let Some(t) = self.locks.objects.get_mut(&obj).and_then(|o| o.txn.as_mut()) {
            t.qry_trid = Some(qry);
        }
        Ok(())
    }

    /// `S: CHL <t> <challenge>` for a transaction of ours.
    pub(super) fn locks_challenge(&mut self, trid: u32, challenge: &str, _now: Instant) {
        let Some(obj) = self.locks.by_trid(trid, false) else {
            return;
        };
        let Some(txn) = self.locks.objects.get_mut(&obj).and_then(|o| o.txn.as_mut()) else {
            return;
        };
        txn.challenge = Some(challenge.to_string());
        let cookie = txn.cookie;
        self.emit(ClientEvent::LockChallenge {
            obj,
            cookie,
            challenge: challenge.to_string(),
        });
    }

    /// `S: QRY <t>` (accepted) or `S: 540 <t>` (rejected).
    pub(super) fn locks_result(&mut self, trid: u32, accepted: bool, _now: Instant) {
        let Some(obj) = self.locks.by_trid(trid, true) else {
            return;
        };
        self.finish_transaction(obj, accepted);
    }

    fn finish_transaction(&mut self, obj: ObjId, accepted: bool) {
        let Some(o) = self.locks.objects.get_mut(&obj) else {
            return;
        };
        let Some(txn) = o.txn.take() else { return };
        let input = if accepted {
            LockInput::Accepted
        } else {
            LockInput::Rejected
        };
        if let Ok(next) = lock::next(o.status, input) {
            self.emit(ClientEvent::LockResult {
                obj,
                cookie: txn.cookie,
                succeeded: accepted,
            });
            self.set_lock_status(obj, next);
        }
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
            self.finish_transaction(obj, false);
        }
    }

    pub(super) fn locks_signed_in(&mut self, policy: LockAndKey) {
        let ids: Vec<ObjId> = self.locks.objects.keys().copied().collect();
        let input = policy_input(policy);
        for obj in ids {
            let Some(o) = self.locks.objects.get(&obj) else {
                continue;
            };
            let Ok(next) = lock::next(o.status, input) else {
                continue;
            };
            match policy {
                LockAndKey::Enabled => self.emit(ClientEvent::LockEnable { obj, enabled: true }),
                LockAndKey::Disabled => self.emit(ClientEvent::LockEnable { obj, enabled: false }),
                LockAndKey::Off => {}
            }
            self.set_lock_status(obj, next);
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
            self.set_lock_status(obj, LockStatus::NotInitialized);
        }
    }

    /// Sets a status and fires `OnLockStatusChanged` when it really changed.
    fn set_lock_status(&mut self, obj: ObjId, status: LockStatus) {
        let Some(o) = self.locks.objects.get_mut(&obj) else {
            return;
        };
        if o.status != status {
            o.status = status;
            self.emit(ClientEvent::LockStatusChanged { obj, status });
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
