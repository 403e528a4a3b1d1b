//! Session Invite: the `IMsgrSession` state and flags (reference §2.3, §2.4).

pub mod table;

pub use table::{Cell, Ending, Input, Phase, Role, Source, Step};

/// `SESSION_STATE` (reference §2.3; C8: values 0–7 by name, 8 and 9 from the type
/// library are kept as extension values and never entered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SessionState {
    Unknown = 0,
    Ready = 1,
    Invitation = 2,
    Accepted = 3,
    Connected = 4,
    Cancelled = 5,
    Declined = 6,
    Terminated = 7,
    FallbackInviter = 8,
    FallbackInvitee = 9,
}

impl SessionState {
    pub const ALL: [SessionState; 10] = [
        SessionState::Unknown,
        SessionState::Ready,
        SessionState::Invitation,
        SessionState::Accepted,
        SessionState::Connected,
        SessionState::Cancelled,
        SessionState::Declined,
        SessionState::Terminated,
        SessionState::FallbackInviter,
        SessionState::FallbackInvitee,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            SessionState::Unknown => "SS_UNKNOWN",
            SessionState::Ready => "SS_READY",
            SessionState::Invitation => "SS_INVITATION",
            SessionState::Accepted => "SS_ACCEPTED",
            SessionState::Connected => "SS_CONNECTED",
            SessionState::Cancelled => "SS_CANCELLED",
            SessionState::Declined => "SS_DECLINED",
            SessionState::Terminated => "SS_TERMINATED",
            SessionState::FallbackInviter => "SS_FALLBACK_INVITER",
            SessionState::FallbackInvitee => "SS_FALLBACK_INVITEE",
        }
    }

    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            SessionState::Cancelled | SessionState::Declined | SessionState::Terminated
        )
    }
}

/// `SESSION_FLAGS` bits (reference §2.4; C9: 0x2 is `SF_INVITEE`).
pub mod flags {
    pub const SF_NONE: u32 = 0x0;
    pub const SF_INVITER: u32 = 0x1;
    pub const SF_INVITEE: u32 = 0x2;
    pub const SF_APP_INVITE_COMPATIBLE: u32 = 0x4;
    pub const ALL: [(&str, u32); 4] = [
        ("SF_NONE", SF_NONE),
        ("SF_INVITER", SF_INVITER),
        ("SF_INVITEE", SF_INVITEE),
        ("SF_APP_INVITE_COMPATIBLE", SF_APP_INVITE_COMPATIBLE),
    ];
}

/// As the Python API names it, the COM constant after: `SessionState.READY (SS_READY)`.
impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let com = self.name();
        write!(f, "SessionState.{} ({com})", com.trim_start_matches("SS_"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_reference() {
        let values: Vec<u8> = SessionState::ALL.iter().map(|s| *s as u8).collect();
        assert_eq!(values, (0..10).collect::<Vec<u8>>());
        assert_eq!(SessionState::Connected.name(), "SS_CONNECTED");
        assert_eq!(flags::SF_INVITEE, 2);
        assert!(SessionState::Declined.is_terminal());
        assert!(!SessionState::Connected.is_terminal());
    }
}
