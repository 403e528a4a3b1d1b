//! The HRESULT catalogue of the Msgrpriv APIs: every code the reference names, once.
//!
//! Python builds `msgr.HResult` and the exception classes from [`HResult::ALL`], so a
//! code added here reaches every layer.

use std::fmt;

/// Which exception family a failure code belongs to (the Python base class).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// `S_OK`, `S_FALSE`: not errors.
    Success,
    /// Standard COM codes and `MSGR_E_NOT_LOGGED_ON`.
    General,
    /// `MSGR_E_API_*` (the `LockError` enum of the docs).
    Lock,
    /// `SR_*` (the `SESSION_RESULT` enum).
    Session,
}

macro_rules! hresults {
    ($( $variant:ident = $value:literal, $group:ident, $class:literal, $meaning:literal; )*) => {
        /// One HRESULT of the catalogue; the discriminant is the unsigned 32-bit code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u32)]
        #[allow(non_camel_case_types)]
        pub enum HResult { $( $variant = $value, )* }

        impl HResult {
            /// Every code, in catalogue order.
            pub const ALL: &'static [HResult] = &[ $( HResult::$variant, )* ];

            /// The original constant name, e.g. `SR_INVITED_SELF`.
            pub const fn name(self) -> &'static str {
                match self { $( HResult::$variant => stringify!($variant), )* }
            }

            /// The Python exception class name (empty for success codes).
            pub const fn class_name(self) -> &'static str {
                match self { $( HResult::$variant => $class, )* }
            }

            pub const fn group(self) -> Group {
                match self { $( HResult::$variant => Group::$group, )* }
            }

            /// What the code means, in our words.
            pub const fn meaning(self) -> &'static str {
                match self { $( HResult::$variant => $meaning, )* }
            }
        }
    };
}

hresults! {
    S_OK = 0x0000_0000, Success, "", "success";
    S_FALSE = 0x0000_0001, Success, "", "success with a caveat (EnableAlertEvents: the service was locked)";
    E_FAIL = 0x8000_4005, General, "FailError", "unspecified failure";
    E_INVALIDARG = 0x8007_0057, General, "InvalidArgError", "invalid argument";
    E_OUTOFMEMORY = 0x8007_000E, General, "OutOfMemoryError", "out of memory, or a value too long";
    E_POINTER = 0x8000_4003, General, "PointerError", "null pointer";
    E_NOTIMPL = 0x8000_4001, General, "NotImplError", "not implemented";
    REGDB_E_WRITEREGDB = 0x8004_0151, General, "WriteRegDbError", "could not write the registration";
    MSGR_E_NOT_LOGGED_ON = 0x8100_031E, General, "NotLoggedOnError", "not signed in, or the invited user is not signed in";
    MSGR_E_API_NOTINITIALIZED = 0x8100_0751, Lock, "ApiNotInitializedError", "Lock and Key is not initialized yet (no OnLockEnable)";
    MSGR_E_API_LOCKED = 0x8100_0752, Lock, "ApiLockedError", "the API is locked";
    MSGR_E_API_UNLOCK_FAILED = 0x8100_0753, Lock, "ApiUnlockFailedError", "the unlock attempt failed";
    MSGR_E_API_ALREADY_UNLOCKED = 0x8100_0754, Lock, "ApiAlreadyUnlockedError", "already unlocked";
    MSGR_E_API_PENDING_UNLOCK = 0x8100_0755, Lock, "ApiPendingUnlockError", "a challenge transaction is pending";
    MSGR_E_API_DISABLED = 0x8100_0756, Lock, "ApiDisabledError", "Lock and Key is disabled: the API is unusable";
    SR_APPLICATION_LAUNCH_FAILED = 0x8100_0601, Session, "ApplicationLaunchFailedError", "the application failed to start";
    SR_INVITATION_DECLINED = 0x8100_0602, Session, "InvitationDeclinedError", "the recipient declined";
    SR_CONNECTION_FAILURE = 0x8100_0603, Session, "ConnectionFailureError", "connection failure";
    SR_AUTHENTICATION_FAILED = 0x8100_0604, Session, "AuthenticationFailedError", "authentication failed";
    SR_SESSION_NOT_READY = 0x8100_0605, Session, "SessionNotReadyError", "the session is not ready";
    SR_SESSION_CANCELLED_LOCAL = 0x8100_0606, Session, "SessionCancelledLocalError", "cancelled locally";
    SR_SESSION_CANCELLED_REMOTE = 0x8100_0607, Session, "SessionCancelledRemoteError", "cancelled by the remote side";
    SR_SESSION_PROTOCOL_ERROR = 0x8100_0608, Session, "SessionProtocolError", "protocol error";
    SR_SESSION_TIMEOUT = 0x8100_0609, Session, "SessionTimeoutError", "the session timed out";
    SR_CANCEL_BEFORE_CONNECT = 0x8100_060A, Session, "CancelBeforeConnectError", "cancelled before the connection was made";
    SR_NOT_INVITEE = 0x8100_060B, Session, "NotInviteeError", "the caller is not the invitee";
    SR_NOT_INVITER = 0x8100_060C, Session, "NotInviterError", "the caller is not the inviter";
    SR_APP_ALREADY_REGISTERED = 0x8100_060D, Session, "AppAlreadyRegisteredError", "the application GUID is already registered";
    SR_APP_NOT_REGISTERED = 0x8100_060E, Session, "AppNotRegisteredError", "the application GUID is not registered";
    SR_NOT_VALID_FOR_APP_INVITE = 0x8100_060F, Session, "NotValidForAppInviteError", "not valid for this application or session";
    SR_APP_NOT_SPECIFIED = 0x8100_0610, Session, "AppNotSpecifiedError", "no application is set on the session";
    SR_CONTEXT_DATA_OVER_LIMIT = 0x8100_0611, Session, "ContextDataOverLimitError", "context data over the limit";
    SR_NO_USER_INVITED = 0x8100_0612, Session, "NoUserInvitedError", "no user has been invited";
    SR_INVITED_SELF = 0x8100_0613, Session, "InvitedSelfError", "the inviter invited himself";
    SR_SESSION_STATE_INVALID = 0x8100_0614, Session, "SessionStateInvalidError", "not valid in the current session state";
    SR_INVITATION_SEND_FAILURE = 0x8100_0615, Session, "InvitationSendFailureError", "sending the invitation failed";
    SR_CANCEL_SEND_FAILURE = 0x8100_0616, Session, "CancelSendFailureError", "sending the cancel failed";
    SR_DECLINE_SEND_FAILURE = 0x8100_0617, Session, "DeclineSendFailureError", "sending the decline failed";
    SR_ACCEPT_SEND_FAILURE = 0x8100_0618, Session, "AcceptSendFailureError", "sending the accept failed";
    SR_CONTEXT_DATA_SEND_FAILURE = 0x8100_0619, Session, "ContextDataSendFailureError", "sending context data failed";
    SR_NETWORK_CONFIG_FAILURE = 0x8100_0620, Session, "NetworkConfigFailureError", "a network configuration operation failed";
    SR_NET_NOT_SUPPORTED = 0x8100_0621, Session, "NetNotSupportedError", "unsupported local network";
    SR_REMOTE_NET_NOT_SUPPORTED = 0x8100_0622, Session, "RemoteNetNotSupportedError", "unsupported remote network";
    SR_FIREWALL_NOT_SUPPORTED = 0x8100_0623, Session, "FirewallNotSupportedError", "unsupported firewall";
    SR_OLD_SIP_STACK = 0x8100_0624, Session, "OldSipStackError", "the SIP stack is out of date";
}

/// The 16-bit OLE values of E_OUTOFMEMORY and E_INVALIDARG that some doc tables print
/// (reference C1). We never return them, but decode them to the Win32 codes.
pub const LEGACY_E_OUTOFMEMORY: u32 = 0x8000_0002;
pub const LEGACY_E_INVALIDARG: u32 = 0x8000_0003;

impl HResult {
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The signed `long` view COM callers see.
    pub const fn signed(self) -> i32 {
        self as u32 as i32
    }

    pub const fn is_failure(self) -> bool {
        self.code() & 0x8000_0000 != 0
    }

    /// Looks a code up, mapping the legacy 16-bit values to their Win32 equivalents.
    pub fn from_code(code: u32) -> Option<HResult> {
        let code = match code {
            LEGACY_E_OUTOFMEMORY => HResult::E_OUTOFMEMORY.code(),
            LEGACY_E_INVALIDARG => HResult::E_INVALIDARG.code(),
            other => other,
        };
        HResult::ALL.iter().copied().find(|hr| hr.code() == code)
    }

    pub fn from_name(name: &str) -> Option<HResult> {
        HResult::ALL.iter().copied().find(|hr| hr.name() == name)
    }
}

impl fmt::Display for HResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08X})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: HashSet<u32> = HResult::ALL.iter().map(|h| h.code()).collect();
        let names: HashSet<&str> = HResult::ALL.iter().map(|h| h.name()).collect();
        assert_eq!(codes.len(), HResult::ALL.len());
        assert_eq!(names.len(), HResult::ALL.len());
    }

    #[test]
    fn every_failure_has_a_class_and_successes_none() {
        for hr in HResult::ALL {
            assert_eq!(hr.is_failure(), !hr.class_name().is_empty(), "{hr}");
            assert_eq!(hr.is_failure(), hr.group() != Group::Success, "{hr}");
        }
    }

    #[test]
    fn groups_follow_the_prefixes() {
        for hr in HResult::ALL {
            let expected = if hr.name().starts_with("MSGR_E_API_") {
                Group::Lock
            } else if hr.name().starts_with("SR_") {
                Group::Session
            } else if hr.name().starts_with("S_") {
                Group::Success
            } else {
                Group::General
            };
            assert_eq!(hr.group(), expected, "{hr}");
        }
    }

    #[test]
    fn session_results_are_failure_codes_of_facility_0x100() {
        for hr in HResult::ALL
            .iter()
            .filter(|h| h.group() != Group::General && h.group() != Group::Success)
        {
            assert_eq!(hr.code() >> 16, 0x8100, "{hr}");
        }
    }

    #[test]
    fn reference_values() {
        assert_eq!(HResult::SR_INVITED_SELF.code(), 0x8100_0613);
        assert_eq!(HResult::SR_INVITED_SELF.signed(), -2130704877);
        assert_eq!(HResult::MSGR_E_API_LOCKED.signed(), -2130704558);
        assert_eq!(HResult::SR_NETWORK_CONFIG_FAILURE.code(), 0x8100_0620);
        assert_eq!(HResult::E_INVALIDARG.signed(), -2147024809);
        assert_eq!(HResult::ALL.len(), 45);
    }

    #[test]
    fn legacy_codes_decode_to_win32() {
        assert_eq!(HResult::from_code(0x8000_0003), Some(HResult::E_INVALIDARG));
        assert_eq!(HResult::from_code(0x8000_0002), Some(HResult::E_OUTOFMEMORY));
        assert_eq!(HResult::from_code(0x8100_061A), None);
        assert_eq!(HResult::from_name("SR_OLD_SIP_STACK"), Some(HResult::SR_OLD_SIP_STACK));
    }
}
