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

    /// The original constant name, e.g. `LOCK_UNLOCKED` (Python's member is the rest:
    /// `LockStatus.UNLOCKED`, which is how messages name it, see `Display`).
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

/// Where a lock stands. `PENDINGRESULT` hides the three phases of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockPhase {
    NotInitialized,
    Initialized,
    /// `CHL <t>` sent; the challenge has not arrived.
    AwaitingChallenge,
    /// The challenge was delivered (`OnLockChallenge`); the app has not answered.
    AwaitingResponse,
    /// `QRY` sent; the verdict has not arrived.
    AwaitingResult,
    Unlocked,
    UnlockFailed,
    Disabled,
}

impl LockPhase {
    pub const ALL: [LockPhase; 8] = [
        LockPhase::NotInitialized,
        LockPhase::Initialized,
        LockPhase::AwaitingChallenge,
        LockPhase::AwaitingResponse,
        LockPhase::AwaitingResult,
        LockPhase::Unlocked,
        LockPhase::UnlockFailed,
        LockPhase::Disabled,
    ];

    /// The status `IMsgrLock::Status` reports in this phase.
    pub const fn status(self) -> LockStatus {
        match self {
            LockPhase::NotInitialized => LockStatus::NotInitialized,
            LockPhase::Initialized => LockStatus::Initialized,
            LockPhase::AwaitingChallenge | LockPhase::AwaitingResponse | LockPhase::AwaitingResult => {
                LockStatus::PendingResult
            }
            LockPhase::Unlocked => LockStatus::Unlocked,
            LockPhase::UnlockFailed => LockStatus::UnlockFailed,
            LockPhase::Disabled => LockStatus::Disabled,
        }
    }

    /// The status's name, or the sub-phase's for the hidden ones.
    pub const fn name(self) -> &'static str {
        match self {
            LockPhase::AwaitingChallenge => "awaiting_challenge",
            LockPhase::AwaitingResponse => "awaiting_response",
            LockPhase::AwaitingResult => "awaiting_result",
            other => other.status().name(),
        }
    }
}

/// Who causes an input (the same vocabulary as the session machine's).
pub use crate::session::Source;

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
    /// The service's challenge arrived: `OnLockChallenge`.
    ChallengeReceived,
    /// The service accepted the response: `OnLockResult(TRUE)`.
    Accepted,
    /// The service rejected the response: `OnLockResult(FALSE)`.
    Rejected,
    /// No challenge or no verdict in time (C2): `OnLockResult(FALSE)`.
    Timeout,
    /// Sign-out or a lost connection: the object is locked again.
    SignOut,
}

impl LockInput {
    pub const ALL: [LockInput; 10] = [
        LockInput::Enable,
        LockInput::Disable,
        LockInput::NotLocked,
        LockInput::RequestChallenge,
        LockInput::SendResponse,
        LockInput::ChallengeReceived,
        LockInput::Accepted,
        LockInput::Rejected,
        LockInput::Timeout,
        LockInput::SignOut,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            LockInput::Enable => "enable",
            LockInput::Disable => "disable",
            LockInput::NotLocked => "not_locked",
            LockInput::RequestChallenge => "request_challenge",
            LockInput::SendResponse => "send_response",
            LockInput::ChallengeReceived => "challenge_received",
            LockInput::Accepted => "accepted",
            LockInput::Rejected => "rejected",
            LockInput::Timeout => "timeout",
            LockInput::SignOut => "sign_out",
        }
    }

    pub const fn source(self) -> Source {
        match self {
            LockInput::RequestChallenge | LockInput::SendResponse => Source::Call,
            LockInput::ChallengeReceived | LockInput::Accepted | LockInput::Rejected => Source::Peer,
            LockInput::Timeout => Source::Timer,
            LockInput::Enable | LockInput::Disable | LockInput::NotLocked | LockInput::SignOut => Source::Link,
        }
    }

    /// True for the inputs an app causes by calling a method; the others come from
    /// Messenger and never fail visibly.
    pub const fn is_call(self) -> bool {
        matches!(self.source(), Source::Call)
    }
}

/// The transition function: the new phase, or the HRESULT the call returns. Inputs from
/// Messenger that cannot happen in a phase (a verdict with no transaction) are refused
/// with `E_FAIL` and change nothing.
pub fn next(phase: LockPhase, input: LockInput) -> Result<LockPhase, HResult> {
    use LockInput as I;
    use LockPhase as P;
    match (phase, input) {
        (_, I::SignOut) => Ok(P::NotInitialized),
        (P::NotInitialized, I::Enable) => Ok(P::Initialized),
        (P::NotInitialized, I::Disable) => Ok(P::Disabled),
        (P::NotInitialized, I::NotLocked) => Ok(P::Unlocked),
        (P::Initialized, I::RequestChallenge) => Ok(P::AwaitingChallenge),
        (P::AwaitingChallenge, I::ChallengeReceived) => Ok(P::AwaitingResponse),
        (P::AwaitingResponse, I::SendResponse) => Ok(P::AwaitingResult),
        (P::AwaitingResult, I::Accepted) => Ok(P::Unlocked),
        (P::AwaitingResult, I::Rejected) => Ok(P::UnlockFailed),
        (P::AwaitingChallenge | P::AwaitingResponse | P::AwaitingResult, I::Timeout) => Ok(P::UnlockFailed),
        (P::NotInitialized, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_NOTINITIALIZED),
        (P::Initialized, I::SendResponse) => Err(HResult::MSGR_E_API_LOCKED),
        // A second request, or a response before the challenge or after the first one.
        (P::AwaitingChallenge | P::AwaitingResponse | P::AwaitingResult, I::RequestChallenge | I::SendResponse) => {
            Err(HResult::MSGR_E_API_PENDING_UNLOCK)
        }
        (P::Unlocked, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_ALREADY_UNLOCKED),
        (P::UnlockFailed, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_UNLOCK_FAILED),
        (P::Disabled, I::RequestChallenge | I::SendResponse) => Err(HResult::MSGR_E_API_DISABLED),
        _ => Err(HResult::E_FAIL),
    }
}

/// Every (phase, input) cell with its outcome, for tests, docs and diagrams.
pub fn table() -> Vec<(LockPhase, LockInput, Result<LockPhase, HResult>)> {
    LockPhase::ALL
        .iter()
        .flat_map(|&p| LockInput::ALL.iter().map(move |&i| (p, i, next(p, i))))
        .collect()
}

/// As the Python API names it, the COM constant after: `LockStatus.UNLOCKED (LOCK_UNLOCKED)`.
impl std::fmt::Display for LockStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let com = self.name();
        write!(f, "LockStatus.{} ({com})", com.trim_start_matches("LOCK_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HResult as H;
    use LockInput as I;
    use LockPhase as P;
    use LockStatus as S;

    /// The phase in which the app sees each status and may act: a pending
    /// transaction is answerable once its challenge has arrived.
    fn shown(status: LockStatus) -> LockPhase {
        match status {
            S::NotInitialized => P::NotInitialized,
            S::Initialized => P::Initialized,
            S::PendingResult => P::AwaitingResponse,
            S::Unlocked => P::Unlocked,
            S::UnlockFailed => P::UnlockFailed,
            S::Disabled => P::Disabled,
        }
    }

    fn status_after(status: LockStatus, input: LockInput) -> Result<LockStatus, HResult> {
        next(shown(status), input).map(LockPhase::status)
    }

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
            assert_eq!(status_after(state, I::RequestChallenge), outcome, "{state:?}");
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
            assert_eq!(status_after(state, I::SendResponse), outcome, "{state:?}");
        }
    }

    #[test]
    fn the_pending_phases() {
        // A response only once the challenge is there, and only one.
        assert_eq!(
            next(P::AwaitingChallenge, I::SendResponse),
            Err(H::MSGR_E_API_PENDING_UNLOCK)
        );
        assert_eq!(next(P::AwaitingResponse, I::SendResponse), Ok(P::AwaitingResult));
        assert_eq!(
            next(P::AwaitingResult, I::SendResponse),
            Err(H::MSGR_E_API_PENDING_UNLOCK)
        );
        assert_eq!(
            next(P::AwaitingChallenge, I::ChallengeReceived),
            Ok(P::AwaitingResponse)
        );
        // C2: a transaction with no result in time fails, whichever phase it is in.
        for p in [P::AwaitingChallenge, P::AwaitingResponse, P::AwaitingResult] {
            assert_eq!(p.status(), S::PendingResult);
            assert_eq!(next(p, I::Timeout), Ok(P::UnlockFailed));
            assert_eq!(next(p, I::RequestChallenge), Err(H::MSGR_E_API_PENDING_UNLOCK));
        }
        // A verdict is only for a response that was sent.
        assert_eq!(next(P::AwaitingResponse, I::Accepted), Err(H::E_FAIL));
        assert_eq!(next(P::AwaitingChallenge, I::Rejected), Err(H::E_FAIL));
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
        assert_eq!(next(P::NotInitialized, I::Enable), Ok(P::Initialized));
        assert_eq!(next(P::NotInitialized, I::Disable), Ok(P::Disabled));
        assert_eq!(next(P::NotInitialized, I::NotLocked), Ok(P::Unlocked));
        assert_eq!(next(P::AwaitingResult, I::Accepted), Ok(P::Unlocked));
        assert_eq!(next(P::AwaitingResult, I::Rejected), Ok(P::UnlockFailed));
        for p in P::ALL {
            assert_eq!(next(p, I::SignOut), Ok(P::NotInitialized));
        }
        // A result without a transaction is refused and changes nothing.
        assert_eq!(next(P::Initialized, I::Accepted), Err(H::E_FAIL));
        assert_eq!(next(P::Unlocked, I::Enable), Err(H::E_FAIL));
    }

    #[test]
    fn table_is_complete_and_calls_only_fail_with_lock_errors() {
        let t = table();
        assert_eq!(t.len(), P::ALL.len() * I::ALL.len());
        for (p, i, outcome) in t {
            if let Err(hr) = outcome {
                if i.is_call() {
                    assert!(hr.name().starts_with("MSGR_E_API_"), "{p:?} {i:?} {hr}");
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
        for end in [P::Unlocked, P::UnlockFailed] {
            for i in I::ALL {
                if let Ok(p) = next(end, i) {
                    assert!(p == end || i == I::SignOut, "{end:?} {i:?} -> {p:?}");
                }
            }
        }
    }
}
