//! The `IMsgrSession` transition table (reference §1.2, C8–C15, C28–C29), as data:
//! which method each role may call in each state, and what it returns.

use crate::hresult::HResult;

use super::SessionState;

/// Which side holds the session object (`SF_INVITER` / `SF_INVITEE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Inviter,
    Invitee,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Inviter, Role::Invitee];

    pub const fn name(self) -> &'static str {
        match self {
            Role::Inviter => "inviter",
            Role::Invitee => "invitee",
        }
    }
}

/// The session members whose outcome depends on state and role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    PutApplication,
    PutLocalAddress,
    Invite,
    Accept,
    Decline,
    Cancel,
    SendContextData,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::PutApplication,
        Method::PutLocalAddress,
        Method::Invite,
        Method::Accept,
        Method::Decline,
        Method::Cancel,
        Method::SendContextData,
    ];

    /// The Python name of the member.
    pub const fn name(self) -> &'static str {
        match self {
            Method::PutApplication => "application",
            Method::PutLocalAddress => "local_address",
            Method::Invite => "invite",
            Method::Accept => "accept",
            Method::Decline => "decline",
            Method::Cancel => "cancel",
            Method::SendContextData => "send_context_data",
        }
    }
}

/// The state a call leads to, or the HRESULT it returns. Argument checks come after
/// this (a call in the wrong state fails with the state's error whatever its arguments).
pub fn next(state: SessionState, role: Role, method: Method) -> Result<SessionState, HResult> {
    use Method as M;
    use Role as R;
    use SessionState as S;
    match (method, role, state) {
        (M::PutApplication | M::Invite, R::Invitee, _) => Err(HResult::SR_NOT_INVITER),
        (M::PutApplication, R::Inviter, S::Ready) => Ok(S::Ready),
        (M::Invite, R::Inviter, S::Ready) => Ok(S::Invitation),
        // The docs list only SR_SESSION_NOT_READY for these two.
        (M::PutApplication | M::Invite, R::Inviter, _) => Err(HResult::SR_SESSION_NOT_READY),
        // C28: the local address can change only until the side has committed to it.
        (M::PutLocalAddress, R::Inviter, S::Ready) => Ok(S::Ready),
        (M::PutLocalAddress, R::Invitee, S::Invitation) => Ok(S::Invitation),
        (M::PutLocalAddress, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        (M::Accept | M::Decline, R::Inviter, _) => Err(HResult::SR_NOT_INVITEE),
        (M::Accept, R::Invitee, S::Invitation) => Ok(S::Accepted),
        (M::Decline, R::Invitee, S::Invitation) => Ok(S::Declined),
        (M::Accept | M::Decline, R::Invitee, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        // C11: either side may cancel until the session has ended.
        (M::Cancel, _, S::Invitation | S::Accepted | S::Connected) => Ok(S::Cancelled),
        (M::Cancel, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        (M::SendContextData, _, S::Connected) => Ok(S::Connected),
        // C15: "context data not valid for an invitation".
        (M::SendContextData, _, S::Invitation | S::Accepted) => Err(HResult::SR_NOT_VALID_FOR_APP_INVITE),
        (M::SendContextData, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
    }
}

/// Every (state, role, method) cell, for tests, docs and diagrams.
pub fn table() -> Vec<(SessionState, Role, Method, Result<SessionState, HResult>)> {
    let mut cells = Vec::new();
    for s in SessionState::ALL {
        for r in Role::ALL {
            for m in Method::ALL {
                cells.push((s, r, m, next(s, r, m)));
            }
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use HResult as H;
    use Method as M;
    use Role as R;
    use SessionState as S;

    #[test]
    fn the_happy_paths() {
        assert_eq!(next(S::Ready, R::Inviter, M::PutApplication), Ok(S::Ready));
        assert_eq!(next(S::Ready, R::Inviter, M::Invite), Ok(S::Invitation));
        assert_eq!(next(S::Invitation, R::Invitee, M::Accept), Ok(S::Accepted));
        assert_eq!(next(S::Invitation, R::Invitee, M::Decline), Ok(S::Declined));
        assert_eq!(next(S::Invitation, R::Inviter, M::Cancel), Ok(S::Cancelled));
        assert_eq!(next(S::Connected, R::Invitee, M::SendContextData), Ok(S::Connected));
    }

    #[test]
    fn roles() {
        assert_eq!(next(S::Invitation, R::Inviter, M::Accept), Err(H::SR_NOT_INVITEE));
        assert_eq!(next(S::Invitation, R::Inviter, M::Decline), Err(H::SR_NOT_INVITEE));
        assert_eq!(next(S::Invitation, R::Invitee, M::Invite), Err(H::SR_NOT_INVITER));
        assert_eq!(
            next(S::Invitation, R::Invitee, M::PutApplication),
            Err(H::SR_NOT_INVITER)
        );
    }

    #[test]
    fn wrong_states() {
        assert_eq!(next(S::Invitation, R::Inviter, M::Invite), Err(H::SR_SESSION_NOT_READY));
        assert_eq!(
            next(S::Unknown, R::Inviter, M::PutApplication),
            Err(H::SR_SESSION_NOT_READY)
        );
        assert_eq!(
            next(S::Connected, R::Invitee, M::Accept),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(next(S::Ready, R::Inviter, M::Cancel), Err(H::SR_SESSION_STATE_INVALID));
        assert_eq!(
            next(S::Invitation, R::Inviter, M::PutLocalAddress),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(
            next(S::Accepted, R::Invitee, M::PutLocalAddress),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(
            next(S::Invitation, R::Invitee, M::SendContextData),
            Err(H::SR_NOT_VALID_FOR_APP_INVITE)
        );
        assert_eq!(
            next(S::Ready, R::Inviter, M::SendContextData),
            Err(H::SR_SESSION_STATE_INVALID)
        );
    }

    #[test]
    fn terminal_states_refuse_everything() {
        for s in [
            S::Cancelled,
            S::Declined,
            S::Terminated,
            S::FallbackInviter,
            S::FallbackInvitee,
            S::Unknown,
        ] {
            for r in R::ALL {
                for m in M::ALL {
                    assert!(next(s, r, m).is_err(), "{s:?} {r:?} {m:?}");
                }
            }
        }
    }

    #[test]
    fn table_covers_every_cell_with_session_errors() {
        let t = table();
        assert_eq!(t.len(), 10 * 2 * 7);
        for (s, r, m, out) in t {
            if let Err(hr) = out {
                assert!(hr.name().starts_with("SR_"), "{s:?} {r:?} {m:?} {hr}");
            }
        }
    }
}
