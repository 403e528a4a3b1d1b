//! Lock and Key: the `LockStatus` state machine of reference §1.1, as a table.
//!
//! Decisions on the reference's open points (written down in docs/decisions.md):
//! * C2: an expired transaction (no challenge or no result within the timeout) fails:
//!   `OnLockResult(cookie, FALSE)` and `LOCK_UNLOCKFAILED`.
//! * C3: one transaction per object per sign-in session; sign-out resets to NOTINITIALIZED.
//! * C7: `LOCK_DISABLED` means the API is unusable (`MSGR_E_API_DISABLED`); a service
//!   without Lock and Key leaves every object `LOCK_UNLOCKED`.

use crate::hresult::HResult;

/// `LockStatus` (reference §2.2). There is no 0 value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum LockStatus {
    NotInitialized = 1,
    Initialized = 2,
    PendingResult = 3,
    Unlocked = 4,
    UnlockFailed = 5,
    Disabled = 6,
}

impl LockStatus {
    pub const ALL: [LockStatus; 6] = [
        LockStatus::NotInitialized,
        LockStatus::Initialized,
        LockStatus::PendingResult,
        LockStatus::Unlocked,
        LockStatus::UnlockFailed,
        LockStatus::Disabled,
    ];

    /// The original constant name, e.g. `LOCK_UNLOCKED`.
    pub const fn name(self) -> &'static str {
        match self {
            LockStatus::NotInitialized => "LOCK_NOTINITIALIZED",
            LockStatus::Initialized => "LOCK_INITIALIZED",
            LockStatus::PendingResult => "LOCK_PENDINGRESULT",
            LockStatus::Unlocked => "LOCK_UNLOCKED",
            LockStatus::UnlockFailed => "LOCK_UNLOCKFAILED",
            LockStatus::Disabled => "LOCK_DISABLED",
        }
    }

    pub fn from_value(v: i64) -> Option<LockStatus> {
        LockStatus::ALL.into_iter().find(|s| *s as i64 == v)
    }

    /// What a member of the locked API (everything but `IMsgrLock`) returns in this
    /// state (reference C30): `Ok` only once unlocked.
    pub fn api_guard(self) -> Result<(), HResult> {
        match self {
            LockStatus::Unlocked => Ok(()),
            LockStatus::NotInitialized => Err(HResult::MSGR_E_API_NOTINITIALIZED),
            LockStatus::Disabled => Err(HResult::MSGR_E_API_DISABLED),
            LockStatus::Initialized | LockStatus::PendingResult | LockStatus::UnlockFailed => {
                Err(HResult::MSGR_E_API_LOCKED)
            }
        }
    }
}

/// What can happen to a lock: the app's two calls, and what Messenger learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LockInput {
    /// Sign-in finished on a Lock-and-Key service: `OnLockEnable(TRUE)`.
    Enable,
    /// Sign-in finished, Lock and Key disabled: `OnLockEnable(FALSE)`.
    Disable,
    /// Sign-in finished on a service without Lock and Key: nothing is locked.
    NotLocked,
    /// `IMsgrLock::RequestChallenge`.
    RequestChallenge,
    /// `IMsgrLock::SendResponse`.
    SendResponse,
    /// The service accepted the response: `OnLockResult(TRUE)`.
    Accepted,
    /// The service rejected the response, or the transaction expired: `OnLockResult(FALSE)`.
    Rejected,
    /// Sign-out or a lost connection: the object is locked again.
    SignOut,
}

impl LockInput {
    pub const ALL: [LockInput; 8] = [
        LockInput::Enable,
        LockInput::Disable,
        LockInput::NotLocked,
        LockInput::RequestChallenge,
        LockInput::SendResponse,
        LockInput::Accepted,
        LockInput::Rejected,
        LockInput::SignOut,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            LockInput::Enable => "enable",
            LockInput::Disable => "disable",
            LockInput::NotLocked => "not_locked",
            LockInput::RequestChallenge => "request_challenge",
            LockInput::SendResponse => "send_response",
            LockInput::Accepted => "accepted",
            LockInput::Rejected => "rejected",
            LockInput::SignOut => "sign_out",
        }
    }

    /// True for the inputs an app causes by calling a method; the others come from
    /// Messenger and never fail visibly.
    pub const fn is_call(self) -> bool {
        matches!(self, LockInput::RequestChallenge | LockInput::SendResponse)
    }
}

/// The transition function: the new status, or the HRESULT the call returns.
/// `SendResponse` in `PENDINGRESULT` succeeds here; the engine adds the per-transaction
/// checks (cookie, challenge received, response not yet sent).
pub fn next(state: LockStatus, input: LockInput) -> Result<LockStatus, HResult> {
    use LockInput as I;
    use LockStatus as S;
    match (state, input) {
        (_, I::SignOut) => Ok(S::NotInitialized),
        (S::NotInitialized, I::Enable) => Ok(S::Initialized),
        (S::NotInitialized, I::Disable) => Ok(S::Disabled),
        (S::NotInitialized, I::NotLocked) => Ok(S::Unlocked),
        (S::Initialized, I::RequestChallenge) => Ok(S::PendingResult),
        (S::PendingResult, I::SendResponse) => Ok(S::PendingResult),
        (S::PendingResult, I::Accepted) => Ok(S::Unlocked),
        (S::PendingResult, I::Rejected) => Ok(S::UnlockFailed),
        (S::NotInitialized, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_NOTINITIALIZED),
        (S::Initialized, I::SendResponse) => Err(HResult::MSGR_E_API_LOCKED),
        (S::PendingResult, I::RequestChallenge) => Err(HResult::MSGR_E_API_PENDING_UNLOCK),
        (S::Unlocked, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_ALREADY_UNLOCKED),
        (S::UnlockFailed, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_UNLOCK_FAILED),
        (S::Disabled, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_DISABLED),
        // Messenger-side inputs that cannot happen in this state (e.g. a result with no
        // transaction): refused, the state stays.
        _ => Err(HResult::E_FAIL),
    }
}

/// Every (state, input) cell with its outcome, for tests, docs and diagrams.
pub fn table() -> Vec<(LockStatus, LockInput, Result<LockStatus, HResult>)> {
    LockStatus::ALL
        .iter()
        .flat_map(|&s| LockInput::ALL.iter().map(move |&i| (s, i, next(s, i))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use HResult as H;
    use LockInput as I;
    use LockStatus as S;

    /// Reference §1.1, the LockStatus table, cell by cell.
    #[test]
    fn request_challenge_column() {
        let expected = [
            (S::NotInitialized, Err(H::MSGR_E_API_NOTINITIALIZED)),
            (S::Initialized, Ok(S::PendingResult)),
            (S::PendingResult, Err(H::MSGR_E_API_PENDING_UNLOCK)),
            (S::Unlocked, Err(H::MSGR_E_API_ALREADY_UNLOCKED)),
            (S::UnlockFailed, Err(H::MSGR_E_API_UNLOCK_FAILED)),
            (S::Disabled, Err(H::MSGR_E_API_DISABLED)),
        ];
        for (state, outcome) in expected {
            assert_eq!(next(state, I::RequestChallenge), outcome, "{state:?}");
        }
    }

    #[test]
    fn send_response_column() {
        let expected = [
            (S::NotInitialized, Err(H::MSGR_E_API_NOTINITIALIZED)),
            (S::Initialized, Err(H::MSGR_E_API_LOCKED)),
            (S::PendingResult, Ok(S::PendingResult)),
            (S::Unlocked, Err(H::MSGR_E_API_ALREADY_UNLOCKED)),
            (S::UnlockFailed, Err(H::MSGR_E_API_UNLOCK_FAILED)),
            (S::Disabled, Err(H::MSGR_E_API_DISABLED)),
        ];
        for (state, outcome) in expected {
            assert_eq!(next(state, I::SendResponse), outcome, "{state:?}");
        }
    }

    #[test]
    fn locked_api_column() {
        let expected = [
            (S::NotInitialized, Err(H::MSGR_E_API_NOTINITIALIZED)),
            (S::Initialized, Err(H::MSGR_E_API_LOCKED)),
            (S::PendingResult, Err(H::MSGR_E_API_LOCKED)),
            (S::Unlocked, Ok(())),
            (S::UnlockFailed, Err(H::MSGR_E_API_LOCKED)),
            (S::Disabled, Err(H::MSGR_E_API_DISABLED)),
        ];
        for (state, outcome) in expected {
            assert_eq!(state.api_guard(), outcome, "{state:?}");
        }
    }

    #[test]
    fn messenger_inputs() {
        assert_eq!(next(S::NotInitialized, I::Enable), Ok(S::Initialized));
        assert_eq!(next(S::NotInitialized, I::Disable), Ok(S::Disabled));
        assert_eq!(next(S::NotInitialized, I::NotLocked), Ok(S::Unlocked));
        assert_eq!(next(S::PendingResult, I::Accepted), Ok(S::Unlocked));
        assert_eq!(next(S::PendingResult, I::Rejected), Ok(S::UnlockFailed));
        for s in S::ALL {
            assert_eq!(next(s, I::SignOut), Ok(S::NotInitialized));
        }
        // A result without a transaction is refused and changes nothing.
        assert_eq!(next(S::Initialized, I::Accepted), Err(H::E_FAIL));
        assert_eq!(next(S::Unlocked, I::Enable), Err(H::E_FAIL));
    }

    #[test]
    fn table_is_complete_and_calls_only_fail_with_lock_errors() {
        let t = table();
        assert_eq!(t.len(), S::ALL.len() * I::ALL.len());
        for (s, i, outcome) in t {
            if let Err(hr) = outcome {
                if i.is_call() {
                    assert!(hr.name().starts_with("MSGR_E_API_"), "{s:?} {i:?} {hr}");
                } else {
                    assert_eq!(hr, H::E_FAIL);
                }
            }
        }
    }

    #[test]
    fn only_one_transaction_per_session() {
        // Once a transaction has ended, either way, no path leads back to INITIALIZED
        // except through sign-out.
        for end in [S::Unlocked, S::UnlockFailed] {
            for i in I::ALL {
                if let Ok(s) = next(end, i) {
                    assert!(s == end || i == I::SignOut, "{end:?} {i:?} -> {s:?}");
                }
            }
        }
    }
}
