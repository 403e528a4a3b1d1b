//! The `IMsgrSession` state machine (reference §1.2, C8–C15, C27–C29), whole, as data:
//! every input a session can get (the app's calls, what the peer sends, the clock, the
//! local Messenger's own doings) in every phase, for both roles.
//!
//! The public [`SessionState`] hides a few phases the machine needs: `READY` while an
//! invitation waits for a switchboard (`Sending`), and `ACCEPTED` while the launch
//! decision, the peer's address, or both are still to come. The engine's handlers only
//! translate a message into an [`Input`] and apply [`next`]; everything a transition
//! means (its new phase, and how the session ends) is here.

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

/// Where a session is. Each phase shows as one [`SessionState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Unknown,
    Ready,
    /// `Invite` was called; the invitation waits for a switchboard to carry it.
    Sending,
    Invitation,
    /// Accepted: the launch decision and the peer's address are both still to come.
    Accepted,
    /// Accepted, the peer's address known, the launch still being decided.
    AwaitingLaunch,
    /// Accepted, the launch decided (or not needed), the peer's address still to come.
    AwaitingAddress,
    Connected,
    Cancelled,
    Declined,
    Terminated,
    FallbackInviter,
    FallbackInvitee,
}

impl Phase {
    pub const ALL: [Phase; 13] = [
        Phase::Unknown,
        Phase::Ready,
        Phase::Sending,
        Phase::Invitation,
        Phase::Accepted,
        Phase::AwaitingLaunch,
        Phase::AwaitingAddress,
        Phase::Connected,
        Phase::Cancelled,
        Phase::Declined,
        Phase::Terminated,
        Phase::FallbackInviter,
        Phase::FallbackInvitee,
    ];

    /// The state the API reports in this phase.
    pub const fn state(self) -> SessionState {
        match self {
            Phase::Unknown => SessionState::Unknown,
            Phase::Ready | Phase::Sending => SessionState::Ready,
            Phase::Invitation => SessionState::Invitation,
            Phase::Accepted | Phase::AwaitingLaunch | Phase::AwaitingAddress => SessionState::Accepted,
            Phase::Connected => SessionState::Connected,
            Phase::Cancelled => SessionState::Cancelled,
            Phase::Declined => SessionState::Declined,
            Phase::Terminated => SessionState::Terminated,
            Phase::FallbackInviter => SessionState::FallbackInviter,
            Phase::FallbackInvitee => SessionState::FallbackInvitee,
        }
    }

    /// The phase a session of this state is in when nothing is pending.
    pub const fn of(state: SessionState) -> Phase {
        match state {
            SessionState::Unknown => Phase::Unknown,
            SessionState::Ready => Phase::Ready,
            SessionState::Invitation => Phase::Invitation,
            SessionState::Accepted => Phase::Accepted,
            SessionState::Connected => Phase::Connected,
            SessionState::Cancelled => Phase::Cancelled,
            SessionState::Declined => Phase::Declined,
            SessionState::Terminated => Phase::Terminated,
            SessionState::FallbackInviter => Phase::FallbackInviter,
            SessionState::FallbackInvitee => Phase::FallbackInvitee,
        }
    }

    /// A short name: the state's, or the sub-phase's for the hidden ones.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Sending => "sending",
            Phase::AwaitingLaunch => "awaiting_launch",
            Phase::AwaitingAddress => "awaiting_address",
            other => other.state().name(),
        }
    }

    /// Invited, accepted or connected: the peer is still part of it.
    const fn is_live(self) -> bool {
        matches!(
            self,
            Phase::Invitation | Phase::Accepted | Phase::AwaitingLaunch | Phase::AwaitingAddress | Phase::Connected
        )
    }

    const fn is_accepted(self) -> bool {
        matches!(self, Phase::Accepted | Phase::AwaitingLaunch | Phase::AwaitingAddress)
    }
}

/// Who causes an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The app calls a method of the session.
    Call,
    /// The other side sends an invitation message.
    Peer,
    /// A time-out.
    Timer,
    /// The local Messenger: its switchboard links, sign-out, launching the application.
    Link,
}

impl Source {
    pub const fn name(self) -> &'static str {
        match self {
            Source::Call => "call",
            Source::Peer => "peer",
            Source::Timer => "timer",
            Source::Link => "link",
        }
    }
}

/// Everything that can happen to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Input {
    // The app's calls (the members whose outcome depends on state and role).
    PutApplication,
    PutLocalAddress,
    Invite,
    Accept,
    Decline,
    Cancel,
    SendContextData,
    // The peer's invitation messages.
    /// `ACCEPT` to our invitation.
    PeerAccepted,
    /// The peer's `IP-Address` arrived (in its `ACCEPT`).
    PeerAddress,
    /// `CANCEL` with `Cancel-Code: REJECT`.
    PeerDeclined,
    /// `CANCEL` with `Cancel-Code: REJECT_NOT_INSTALLED`.
    PeerNotInstalled,
    /// Any other `CANCEL`.
    PeerCancelled,
    /// `CANCEL` naming `SR_CANCEL_BEFORE_CONNECT` (the peer cancelled while accepted).
    PeerCancelledBeforeConnect,
    /// `CANCEL` naming `SR_SESSION_TIMEOUT` (nobody answered the peer in time).
    PeerTimedOut,
    /// `CANCEL` with `Cancel-Code: FAIL`.
    PeerFailed,
    /// `CANCEL` with `Cancel-Code: FTTIMEOUT`.
    PeerConnectionFailed,
    /// `CONTEXT`: context data.
    PeerContextData,
    // The clock.
    /// Nobody answered our invitation in time.
    Timeout,
    // The local Messenger.
    /// The invitation went out on a switchboard.
    InvitationSent,
    /// No switchboard could carry the invitation.
    SendFailed,
    /// The peer left the switchboard (or it broke).
    PeerLeft,
    /// This Messenger signed out or lost its connection.
    SignOut,
    /// The application to launch is not registered here: Messenger declines.
    AppNotPresent,
    /// `BeforeAppLaunch` was answered: the application launched, or its launch was vetoed.
    LaunchDecided,
}

impl Input {
    pub const ALL: [Input; 24] = [
        Input::PutApplication,
        Input::PutLocalAddress,
        Input::Invite,
        Input::Accept,
        Input::Decline,
        Input::Cancel,
        Input::SendContextData,
        Input::PeerAccepted,
        Input::PeerAddress,
        Input::PeerDeclined,
        Input::PeerNotInstalled,
        Input::PeerCancelled,
        Input::PeerCancelledBeforeConnect,
        Input::PeerTimedOut,
        Input::PeerFailed,
        Input::PeerConnectionFailed,
        Input::PeerContextData,
        Input::Timeout,
        Input::InvitationSent,
        Input::SendFailed,
        Input::PeerLeft,
        Input::SignOut,
        Input::AppNotPresent,
        Input::LaunchDecided,
    ];

    /// The Python name: the member's name for calls, an event name for the rest.
    pub const fn name(self) -> &'static str {
        match self {
            Input::PutApplication => "application",
            Input::PutLocalAddress => "local_address",
            Input::Invite => "invite",
            Input::Accept => "accept",
            Input::Decline => "decline",
            Input::Cancel => "cancel",
            Input::SendContextData => "send_context_data",
            Input::PeerAccepted => "peer_accepted",
            Input::PeerAddress => "peer_address",
            Input::PeerDeclined => "peer_declined",
            Input::PeerNotInstalled => "peer_not_installed",
            Input::PeerCancelled => "peer_cancelled",
            Input::PeerCancelledBeforeConnect => "peer_cancelled_before_connect",
            Input::PeerTimedOut => "peer_timed_out",
            Input::PeerFailed => "peer_failed",
            Input::PeerConnectionFailed => "peer_connection_failed",
            Input::PeerContextData => "peer_context_data",
            Input::Timeout => "timeout",
            Input::InvitationSent => "invitation_sent",
            Input::SendFailed => "send_failed",
            Input::PeerLeft => "peer_left",
            Input::SignOut => "sign_out",
            Input::AppNotPresent => "app_not_present",
            Input::LaunchDecided => "launch_decided",
        }
    }

    pub const fn source(self) -> Source {
        match self {
            Input::PutApplication
            | Input::PutLocalAddress
            | Input::Invite
            | Input::Accept
            | Input::Decline
            | Input::Cancel
            | Input::SendContextData => Source::Call,
            Input::PeerAccepted
            | Input::PeerAddress
            | Input::PeerDeclined
            | Input::PeerNotInstalled
            | Input::PeerCancelled
            | Input::PeerCancelledBeforeConnect
            | Input::PeerTimedOut
            | Input::PeerFailed
            | Input::PeerConnectionFailed
            | Input::PeerContextData => Source::Peer,
            Input::Timeout => Source::Timer,
            Input::InvitationSent
            | Input::SendFailed
            | Input::PeerLeft
            | Input::SignOut
            | Input::AppNotPresent
            | Input::LaunchDecided => Source::Link,
        }
    }
}

/// How a transition into a terminal state ends the session: the code of `OnTermination`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ending {
    Fixed(HResult),
    /// The code the app gave (`Cancel(hr)`).
    Given,
}

/// Where an input leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub next: Phase,
    /// Set exactly when `next` is terminal.
    pub ends: Option<Ending>,
}

const fn to(next: Phase) -> Result<Step, HResult> {
    Ok(Step { next, ends: None })
}

const fn end(next: Phase, hr: HResult) -> Result<Step, HResult> {
    Ok(Step {
        next,
        ends: Some(Ending::Fixed(hr)),
    })
}

/// Refusal of an input that cannot happen in this phase (a stale or out-of-order
/// message): nothing changes. Calls have their documented codes instead.
const IGNORED: Result<Step, HResult> = Err(HResult::E_FAIL);

/// The transition function. For calls, argument checks come after this: a call in the
/// wrong state fails with the state's error whatever its arguments.
pub fn next(phase: Phase, role: Role, input: Input) -> Result<Step, HResult> {
    use Input as I;
    use Phase as P;
    use Role as R;
    match input.source() {
        Source::Call => call(phase, role, input),
        _ => match (input, role, phase) {
            (I::PeerAccepted, R::Inviter, P::Invitation) => to(P::AwaitingAddress),
            (I::PeerAddress, _, P::AwaitingAddress) => to(P::Connected),
            (I::PeerAddress, R::Invitee, P::Accepted) => to(P::AwaitingLaunch),
            (I::LaunchDecided, R::Invitee, P::Accepted) => to(P::AwaitingAddress),
            (I::LaunchDecided, R::Invitee, P::AwaitingLaunch) => to(P::Connected),
            (I::PeerDeclined, R::Inviter, P::Invitation) => end(P::Declined, HResult::SR_INVITATION_DECLINED),
            (I::PeerNotInstalled, R::Inviter, P::Invitation) => end(P::Declined, HResult::SR_APP_NOT_REGISTERED),
            // A decline the state does not allow is taken as what it says: a cancel.
            (I::PeerDeclined | I::PeerNotInstalled | I::PeerCancelled, _, p) if p.is_accepted() => {
                end(P::Cancelled, HResult::SR_CANCEL_BEFORE_CONNECT)
            }
            (I::PeerDeclined | I::PeerNotInstalled | I::PeerCancelled, _, p) if p.is_live() => {
                end(P::Cancelled, HResult::SR_SESSION_CANCELLED_REMOTE)
            }
            (I::PeerCancelledBeforeConnect, _, p) if p.is_live() => {
                end(P::Cancelled, HResult::SR_CANCEL_BEFORE_CONNECT)
            }
            (I::PeerTimedOut, _, p) if p.is_live() => end(P::Cancelled, HResult::SR_SESSION_TIMEOUT),
            (I::PeerFailed, _, p) if p.is_live() => end(P::Terminated, HResult::SR_SESSION_PROTOCOL_ERROR),
            (I::PeerConnectionFailed, _, p) if p.is_live() => end(P::Terminated, HResult::SR_CONNECTION_FAILURE),
            (I::PeerContextData, _, P::Connected) => to(P::Connected),
            // The peer may be connected before this side is (it was waiting for its
            // launch decision): its data is held until this side connects too.
            (I::PeerContextData, _, p) if p.is_accepted() => to(p),
            (I::Timeout, R::Inviter, P::Invitation) => end(P::Cancelled, HResult::SR_SESSION_TIMEOUT),
            (I::InvitationSent, R::Inviter, P::Sending) => to(P::Invitation),
            (I::SendFailed | I::PeerLeft | I::SignOut, R::Inviter, P::Sending) => to(P::Ready),
            (I::PeerLeft, _, p) if p.is_live() => end(P::Terminated, HResult::SR_CONNECTION_FAILURE),
            (I::SignOut, _, p) if p.is_live() => end(P::Terminated, HResult::SR_SESSION_CANCELLED_LOCAL),
            // C27: Messenger declines an application it does not have.
            (I::AppNotPresent, R::Invitee, P::Invitation) => end(P::Declined, HResult::SR_APP_NOT_REGISTERED),
            _ => IGNORED,
        },
    }
}

/// The app's calls: the documented table (reference §1.2) applied to phases.
fn call(phase: Phase, role: Role, input: Input) -> Result<Step, HResult> {
    use Input as I;
    use Phase as P;
    use Role as R;
    match (input, role, phase) {
        (I::PutApplication | I::Invite, R::Invitee, _) => Err(HResult::SR_NOT_INVITER),
        (I::PutApplication, R::Inviter, P::Ready | P::Sending) => to(phase),
        (I::Invite, R::Inviter, P::Ready) => to(P::Sending),
        // The docs list only SR_SESSION_NOT_READY for these two; an invitation being
        // sent is not ready for another.
        (I::PutApplication | I::Invite, R::Inviter, _) => Err(HResult::SR_SESSION_NOT_READY),
        // C28: the local address can change only until the side has committed to it.
        (I::PutLocalAddress, R::Inviter, P::Ready | P::Sending) => to(phase),
        (I::PutLocalAddress, R::Invitee, P::Invitation) => to(phase),
        (I::PutLocalAddress, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        (I::Accept | I::Decline, R::Inviter, _) => Err(HResult::SR_NOT_INVITEE),
        (I::Accept, R::Invitee, P::Invitation) => to(P::Accepted),
        (I::Decline, R::Invitee, P::Invitation) => end(P::Declined, HResult::SR_INVITATION_DECLINED),
        (I::Accept | I::Decline, R::Invitee, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        // C11: either side may cancel until the session has ended. Reference §1.2: after
        // acceptance, before connection, it ends as SR_CANCEL_BEFORE_CONNECT whatever
        // the reason given.
        (I::Cancel, _, p) if p.is_accepted() => end(P::Cancelled, HResult::SR_CANCEL_BEFORE_CONNECT),
        (I::Cancel, _, P::Invitation | P::Connected) => Ok(Step {
            next: P::Cancelled,
            ends: Some(Ending::Given),
        }),
        (I::Cancel, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        (I::SendContextData, _, P::Connected) => to(P::Connected),
        // C15: "context data not valid for an invitation".
        (I::SendContextData, _, p) if p == P::Invitation || p.is_accepted() => {
            Err(HResult::SR_NOT_VALID_FOR_APP_INVITE)
        }
        (I::SendContextData, _, _) => Err(HResult::SR_SESSION_STATE_INVALID),
        _ => IGNORED,
    }
}

/// The documented `IMsgrSession` table (reference §1.2): what each call does to the
/// public state, seen from the app. A call that enters a hidden phase is seen to end
/// where that phase goes when all is well: `Invite` takes `READY` to `INVITATION` once
/// a switchboard carries it, which is all the app waits for.
pub fn documented() -> Vec<(SessionState, Role, Input, Result<SessionState, HResult>)> {
    let mut cells = Vec::new();
    for state in SessionState::ALL {
        for role in Role::ALL {
            for input in Input::ALL.into_iter().filter(|i| i.source() == Source::Call) {
                let outcome = next(Phase::of(state), role, input).map(|step| match step.next {
                    Phase::Sending => Phase::Invitation.state(),
                    other => other.state(),
                });
                cells.push((state, role, input, outcome));
            }
        }
    }
    cells
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub phase: Phase,
    pub role: Role,
    pub input: Input,
    pub outcome: Result<Step, HResult>,
}

/// Every row: every call in every (phase, role), and every other input where it has an
/// effect (elsewhere it is ignored).
pub fn table() -> Vec<Cell> {
    let mut cells = Vec::new();
    for phase in Phase::ALL {
        for role in Role::ALL {
            for input in Input::ALL {
                let outcome = next(phase, role, input);
                if input.source() == Source::Call || outcome.is_ok() {
                    cells.push(Cell {
                        phase,
                        role,
                        input,
                        outcome,
                    });
                }
            }
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use HResult as H;
    use Input as I;
    use Phase as P;
    use Role as R;
    use SessionState as S;

    fn state_of(phase: Phase, role: Role, input: Input) -> Result<SessionState, HResult> {
        next(phase, role, input).map(|s| s.next.state())
    }

    #[test]
    fn the_happy_paths() {
        assert_eq!(state_of(P::Ready, R::Inviter, I::PutApplication), Ok(S::Ready));
        assert_eq!(next(P::Ready, R::Inviter, I::Invite).unwrap().next, P::Sending);
        assert_eq!(state_of(P::Sending, R::Inviter, I::InvitationSent), Ok(S::Invitation));
        assert_eq!(state_of(P::Invitation, R::Invitee, I::Accept), Ok(S::Accepted));
        assert_eq!(state_of(P::Invitation, R::Invitee, I::Decline), Ok(S::Declined));
        assert_eq!(state_of(P::Invitation, R::Inviter, I::Cancel), Ok(S::Cancelled));
        assert_eq!(state_of(P::Connected, R::Invitee, I::SendContextData), Ok(S::Connected));
    }

    #[test]
    fn roles() {
        assert_eq!(next(P::Invitation, R::Inviter, I::Accept), Err(H::SR_NOT_INVITEE));
        assert_eq!(next(P::Invitation, R::Inviter, I::Decline), Err(H::SR_NOT_INVITEE));
        assert_eq!(next(P::Invitation, R::Invitee, I::Invite), Err(H::SR_NOT_INVITER));
        assert_eq!(
            next(P::Invitation, R::Invitee, I::PutApplication),
            Err(H::SR_NOT_INVITER)
        );
    }

    #[test]
    fn wrong_states() {
        assert_eq!(next(P::Invitation, R::Inviter, I::Invite), Err(H::SR_SESSION_NOT_READY));
        assert_eq!(next(P::Sending, R::Inviter, I::Invite), Err(H::SR_SESSION_NOT_READY));
        assert_eq!(
            next(P::Unknown, R::Inviter, I::PutApplication),
            Err(H::SR_SESSION_NOT_READY)
        );
        assert_eq!(
            next(P::Connected, R::Invitee, I::Accept),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(next(P::Ready, R::Inviter, I::Cancel), Err(H::SR_SESSION_STATE_INVALID));
        assert_eq!(
            next(P::Invitation, R::Inviter, I::PutLocalAddress),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(
            next(P::Accepted, R::Invitee, I::PutLocalAddress),
            Err(H::SR_SESSION_STATE_INVALID)
        );
        assert_eq!(
            next(P::Invitation, R::Invitee, I::SendContextData),
            Err(H::SR_NOT_VALID_FOR_APP_INVITE)
        );
        assert_eq!(
            next(P::Ready, R::Inviter, I::SendContextData),
            Err(H::SR_SESSION_STATE_INVALID)
        );
    }

    #[test]
    fn terminal_states_refuse_everything() {
        for p in [
            P::Cancelled,
            P::Declined,
            P::Terminated,
            P::FallbackInviter,
            P::FallbackInvitee,
            P::Unknown,
        ] {
            for r in R::ALL {
                for i in I::ALL {
                    assert!(next(p, r, i).is_err(), "{p:?} {r:?} {i:?}");
                }
            }
        }
    }

    #[test]
    fn calls_agree_across_the_phases_of_a_state() {
        // The documented table is over states: a hidden phase answers every call as
        // its state does, except a second Invite while one is being sent.
        for p in P::ALL {
            for r in R::ALL {
                for i in I::ALL.into_iter().filter(|i| i.source() == Source::Call) {
                    let shown = next(Phase::of(p.state()), r, i).map(|s| s.next.state());
                    let here = next(p, r, i).map(|s| s.next.state());
                    if (p, r, i) == (P::Sending, R::Inviter, I::Invite) {
                        assert_eq!(here, Err(H::SR_SESSION_NOT_READY));
                    } else {
                        assert_eq!(here, shown, "{p:?} {r:?} {i:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_remote_edges() {
        let cases = [
            (P::Invitation, R::Inviter, I::PeerAccepted, P::AwaitingAddress, None),
            (P::AwaitingAddress, R::Inviter, I::PeerAddress, P::Connected, None),
            (P::Accepted, R::Invitee, I::PeerAddress, P::AwaitingLaunch, None),
            (P::Accepted, R::Invitee, I::LaunchDecided, P::AwaitingAddress, None),
            (P::AwaitingLaunch, R::Invitee, I::LaunchDecided, P::Connected, None),
            (P::AwaitingAddress, R::Invitee, I::PeerAddress, P::Connected, None),
            (
                P::Invitation,
                R::Inviter,
                I::PeerDeclined,
                P::Declined,
                Some(H::SR_INVITATION_DECLINED),
            ),
            (
                P::Invitation,
                R::Inviter,
                I::PeerNotInstalled,
                P::Declined,
                Some(H::SR_APP_NOT_REGISTERED),
            ),
            (
                P::Invitation,
                R::Invitee,
                I::PeerCancelled,
                P::Cancelled,
                Some(H::SR_SESSION_CANCELLED_REMOTE),
            ),
            (
                P::Accepted,
                R::Invitee,
                I::PeerCancelled,
                P::Cancelled,
                Some(H::SR_CANCEL_BEFORE_CONNECT),
            ),
            (
                P::Connected,
                R::Inviter,
                I::PeerTimedOut,
                P::Cancelled,
                Some(H::SR_SESSION_TIMEOUT),
            ),
            (
                P::Connected,
                R::Inviter,
                I::PeerFailed,
                P::Terminated,
                Some(H::SR_SESSION_PROTOCOL_ERROR),
            ),
            (
                P::Invitation,
                R::Inviter,
                I::Timeout,
                P::Cancelled,
                Some(H::SR_SESSION_TIMEOUT),
            ),
            (P::Sending, R::Inviter, I::SendFailed, P::Ready, None),
            (
                P::Connected,
                R::Invitee,
                I::PeerLeft,
                P::Terminated,
                Some(H::SR_CONNECTION_FAILURE),
            ),
            (
                P::Invitation,
                R::Invitee,
                I::SignOut,
                P::Terminated,
                Some(H::SR_SESSION_CANCELLED_LOCAL),
            ),
            (
                P::Invitation,
                R::Invitee,
                I::AppNotPresent,
                P::Declined,
                Some(H::SR_APP_NOT_REGISTERED),
            ),
            (
                P::AwaitingLaunch,
                R::Invitee,
                I::PeerContextData,
                P::AwaitingLaunch,
                None,
            ),
        ];
        for (p, r, i, n, hr) in cases {
            let step = next(p, r, i).unwrap_or_else(|e| panic!("{p:?} {r:?} {i:?}: {e}"));
            assert_eq!((step.next, step.ends), (n, hr.map(Ending::Fixed)), "{p:?} {r:?} {i:?}");
        }
        // Remote inputs that do not fit the phase change nothing.
        assert_eq!(next(P::Invitation, R::Invitee, I::PeerAccepted), IGNORED);
        assert_eq!(next(P::Ready, R::Inviter, I::PeerCancelled), IGNORED);
        assert_eq!(next(P::Cancelled, R::Inviter, I::PeerLeft), IGNORED);
    }

    #[test]
    fn the_documented_table_is_the_calls_seen_from_the_app() {
        let doc = documented();
        assert_eq!(doc.len(), 10 * 2 * 7);
        assert!(doc.contains(&(S::Ready, R::Inviter, I::Invite, Ok(S::Invitation))));
        assert!(doc.contains(&(S::Invitation, R::Invitee, I::Accept, Ok(S::Accepted))));
        for (s, r, i, out) in doc {
            if let Err(hr) = out {
                assert!(hr.name().starts_with("SR_"), "{s:?} {r:?} {i:?} {hr}");
            }
        }
    }

    #[test]
    fn endings_go_with_terminal_phases() {
        for c in table() {
            if let Ok(step) = c.outcome {
                assert_eq!(step.ends.is_some(), step.next.state().is_terminal(), "{c:?}");
            }
        }
    }

    #[test]
    fn table_covers_every_call_with_session_errors() {
        let t = table();
        let calls: Vec<&Cell> = t.iter().filter(|c| c.input.source() == Source::Call).collect();
        assert_eq!(calls.len(), Phase::ALL.len() * 2 * 7);
        for c in calls {
            if let Err(hr) = c.outcome {
                assert!(hr.name().starts_with("SR_"), "{c:?} {hr}");
            }
        }
        assert!(t.iter().all(|c| c.input.source() == Source::Call || c.outcome.is_ok()));
    }
}
