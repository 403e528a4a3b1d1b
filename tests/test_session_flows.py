"""Session Invite flows seen from both sides, with the exact order of every callback
(msgrpriv.md §1.2, §4.2, §4.3; decisions C11, C12, C27): invite, accept (with and
without a launch), decline, cancel by either side and in each cancellable state, an
application the recipient does not have, the invitation timeout, and a peer that signs
out mid-session.

Every callback of every object goes into one ordered list (``msgr.testing.Recorder``):
tags ``A`` / ``B`` are Alice's (inviter) and Bob's (invitee) sessions, ``A.mgr`` /
``B.mgr`` their session managers, ``alice`` / ``bob`` their Messengers.
"""

from __future__ import annotations

from typing import Any

import pytest

import msgr
from conftest import ALICE, APP_NAME, APP_URL, BOB, GUID, H, LOCAL_IP_RE, S, ids, raises_exactly, session_pair, who
from msgr.testing import ready_manager

L = msgr.LockStatus


# =========================================================================== invite


def test_invite_reaches_the_invitee_manager() -> None:
    p = session_pair()
    sa = p.session()
    p.log.clear()
    sa.invite(BOB, "hello")
    sb = p.last_invitee()
    assert p.log.take() == [
        ("A", "on_state_changed", (S.READY,)),
        ("B.mgr", "on_invitation", (sb, "hello")),
    ]
    assert sa.state is S.INVITATION
    assert sb.state is S.INVITATION
    assert isinstance(sb, msgr.MsgrSession)
    assert sb.session_id == sa.session_id
    assert msgr.SessionFlags.INVITEE in sb.flags
    assert msgr.SessionFlags.INVITER not in sb.flags
    assert sb.application == GUID


def test_invite_without_app_data_delivers_none() -> None:
    p = session_pair()
    sa = p.session()
    p.log.clear()
    sa.invite(BOB)
    sb = p.last_invitee()
    assert p.log.take() == [
        ("A", "on_state_changed", (S.READY,)),
        ("B.mgr", "on_invitation", (sb, None)),
    ]


def test_invite_with_a_contact_object() -> None:
    p = session_pair()
    sa = p.session()
    sa.invite(msgr.Contact(BOB, "anything"), "hi")
    sb = p.last_invitee()
    assert sb.state is S.INVITATION
    assert who(sa.user) == (BOB, p.service.users[BOB])


def test_event_argument_types() -> None:
    p = session_pair()
    sa, sb = p.invite()
    sb.decline()
    for tag, name, args in p.log:
        if name == "on_state_changed":
            assert type(args[0]) is msgr.SessionState, (tag, args)
        if name == "on_termination":
            assert type(args[0]) is msgr.HResult, (tag, args)
            assert args[0] == H.SR_INVITATION_DECLINED


def test_only_unlocked_managers_get_the_invitation() -> None:
    p = session_pair()
    locked = p.log.watch(p.bob.session_manager(), "B.locked")
    second = p.log.watch(ready_manager(p.bob, guid=None, cookie=33), "B.mgr2")
    assert locked.status is L.INITIALIZED
    sa = p.session()
    p.log.clear()
    sa.invite(BOB, "x")
    sb = p.last_invitee()
    assert p.log.take() == [
        ("A", "on_state_changed", (S.READY,)),
        ("B.mgr", "on_invitation", (sb, "x")),
        ("B.mgr2", "on_invitation", (sb, "x")),
    ]


def test_no_unlocked_manager_no_invitation_event() -> None:
    p = session_pair()
    # Bob's only manager relocks (sign out and in again); a fresh locked one is added.
    p.bob.sign_out()
    p.bob.sign_in()
    extra = p.log.watch(p.bob.session_manager(), "B.locked")
    assert p.mb.status is L.INITIALIZED and extra.status is L.INITIALIZED
    sa = p.session()
    p.log.clear()
    sa.invite(BOB, "x")
    assert p.log.take() == [("A", "on_state_changed", (S.READY,))]
    assert sa.state is S.INVITATION
    assert p.invitee == []


# =========================================================================== accept


def accept_sequence(sb: msgr.MsgrSession, data: Any, launched: bool) -> list[tuple[str, str, tuple[Any, ...]]]:
    seq = [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "before_app_launch", ()),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_accepted", (data,)),
        ("A", "on_state_changed", (S.ACCEPTED,)),
    ]
    if launched:
        seq.append(("B", "on_ready_to_launch", ()))
    seq.append(("B", "on_state_changed", (S.ACCEPTED,)))
    return seq


@pytest.mark.parametrize("answer", [None, True])
def test_accept_launches_and_connects(answer: bool | None) -> None:
    p = session_pair()
    sa, sb = p.invite()
    seen: list[msgr.SessionState] = []

    def before_app_launch() -> bool | None:
        seen.append(sb.state)
        return answer

    p.log.react(sb, "before_app_launch", before_app_launch)
    p.log.clear()
    sb.accept("yes")
    assert p.log.take() == accept_sequence(sb, "yes", launched=True)
    assert seen == [S.ACCEPTED]
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED
    pid = sb.launch_pid
    assert isinstance(pid, int) and pid > 0
    assert p.mb.get_launching_session(pid) is sb
    assert sa.launch_pid is None


def test_accept_with_launch_refused() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.react(sb, "before_app_launch", lambda: False)
    p.log.clear()
    sb.accept()
    assert p.log.take() == accept_sequence(sb, None, launched=False)
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED
    assert sb.launch_pid is None


def test_launcher_pid_finds_the_session() -> None:
    p = session_pair()
    sa, sb = p.invite()
    launched: list[msgr.MsgrSession] = []

    def launcher(session: msgr.MsgrSession) -> int:
        launched.append(session)
        return 4242

    p.bob.launcher = launcher
    p.log.clear()
    sb.accept()
    assert p.log.take() == accept_sequence(sb, None, launched=True)
    assert launched == [sb]
    assert launched[0] is sb
    assert sb.launch_pid == 4242
    assert p.mb.get_launching_session(4242) is sb
    # Any session manager of Bob's machine finds it.
    assert ready_manager(p.bob, guid=None, cookie=44).get_launching_session(4242) is sb


def test_launcher_not_called_when_launch_refused() -> None:
    p = session_pair()
    sa, sb = p.invite()
    calls: list[msgr.MsgrSession] = []
    p.bob.launcher = lambda session: calls.append(session) or 4242
    p.log.react(sb, "before_app_launch", lambda: False)
    sb.accept()
    assert calls == []
    assert sb.launch_pid is None
    with raises_exactly(msgr.FailError):
        p.mb.get_launching_session(4242)


def test_connected_addresses_are_the_peers_local_addresses() -> None:
    p = session_pair()
    sa = p.session()
    sa.local_address = "10.0.0.1:6891"
    sa.invite(BOB)
    sb = p.last_invitee()
    sb.local_address = "192.168.7.9:5000"
    sb.accept()
    assert sa.remote_address == "192.168.7.9:5000"
    assert sb.remote_address == "10.0.0.1:6891"


def test_connected_default_addresses() -> None:
    p = session_pair()
    sa, sb = p.connect()
    assert LOCAL_IP_RE.fullmatch(sa.local_address)
    assert LOCAL_IP_RE.fullmatch(sb.local_address)
    assert sa.remote_address == sb.local_address
    assert sb.remote_address == sa.local_address


# =========================================================================== decline


def test_decline_ends_both_sides() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    sb.decline("no thanks")
    assert p.log.take() == [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_INVITATION_DECLINED, "no thanks")),
        ("A", "on_declined", ("no thanks",)),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (H.SR_INVITATION_DECLINED, "no thanks")),
    ]
    assert sa.state is S.DECLINED and sb.state is S.DECLINED


def test_decline_without_data() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    sb.decline()
    assert p.log.take() == [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_INVITATION_DECLINED, None)),
        ("A", "on_declined", (None,)),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (H.SR_INVITATION_DECLINED, None)),
    ]


# =========================================================================== cancel


@pytest.mark.parametrize("hr", [H.SR_SESSION_CANCELLED_LOCAL, H.E_FAIL, H.SR_APPLICATION_LAUNCH_FAILED], ids=ids)
def test_inviter_cancels_the_invitation(hr: int) -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    sa.cancel(hr, "changed my mind")
    assert p.log.take() == [
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (hr, "changed my mind")),
        ("B", "on_cancelled", ("changed my mind",)),
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_SESSION_CANCELLED_REMOTE, "changed my mind")),
    ]
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED


def test_invitee_cancels_the_invitation() -> None:
    """C11: the recipient may cancel too; the inviter hears OnCancelled."""
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    sb.cancel(H.SR_SESSION_CANCELLED_LOCAL, None)
    assert p.log.take() == [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_SESSION_CANCELLED_LOCAL, None)),
        ("A", "on_cancelled", (None,)),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (H.SR_SESSION_CANCELLED_REMOTE, None)),
    ]
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED


def cancel_before_connect_sequence(data: str) -> list[tuple[str, str, tuple[Any, ...]]]:
    return [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "before_app_launch", ()),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_accepted", (None,)),
        ("A", "on_state_changed", (S.ACCEPTED,)),
        ("B", "on_state_changed", (S.ACCEPTED,)),
        ("B", "on_termination", (H.SR_CANCEL_BEFORE_CONNECT, data)),
        ("A", "on_cancelled", (data,)),
        ("A", "on_state_changed", (S.CONNECTED,)),
        ("A", "on_termination", (H.SR_CANCEL_BEFORE_CONNECT, data)),
    ]


def cancel_from_before_app_launch() -> tuple[Any, msgr.MsgrSession, msgr.MsgrSession]:
    p = session_pair()
    sa, sb = p.invite()

    def before_app_launch() -> None:
        assert sb.state is S.ACCEPTED
        sb.cancel(H.E_FAIL, "too late")
        assert sb.state is S.CANCELLED

    p.log.react(sb, "before_app_launch", before_app_launch)
    p.log.clear()
    sb.accept()
    return p, sa, sb


def test_cancel_in_accepted_from_before_app_launch() -> None:
    """Reference §1.2: a cancel after acceptance, before connection, is
    SR_CANCEL_BEFORE_CONNECT on both sides whatever reason was given."""
    p, sa, sb = cancel_from_before_app_launch()
    assert p.log[:10] == cancel_before_connect_sequence("too late")
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED


def test_cancel_in_before_app_launch_launches_nothing() -> None:
    """OnReadyToLaunch means "the session is approved to start" (§4.3): a session that
    was cancelled before its launch decision must not launch."""
    p, sa, sb = cancel_from_before_app_launch()
    assert p.log[10:] == []
    assert sb.launch_pid is None


def test_cancel_in_accepted_from_on_state_changed() -> None:
    p = session_pair()
    sa, sb = p.invite()

    def on_state_changed(prev: msgr.SessionState) -> None:
        if prev is S.INVITATION:
            assert sb.state is S.ACCEPTED
            sb.cancel(H.SR_SESSION_CANCELLED_LOCAL, "st")

    p.log.react(sb, "on_state_changed", on_state_changed)
    p.log.clear()
    sb.accept()
    entries = p.log.take()
    # before_app_launch was queued before the cancel; whatever follows, both sides
    # end with SR_CANCEL_BEFORE_CONNECT.
    without_launch = [e for e in entries if e[1] not in ("before_app_launch", "on_ready_to_launch")]
    assert without_launch == [
        ("B", "on_state_changed", (S.INVITATION,)),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_accepted", (None,)),
        ("A", "on_state_changed", (S.ACCEPTED,)),
        ("B", "on_state_changed", (S.ACCEPTED,)),
        ("B", "on_termination", (H.SR_CANCEL_BEFORE_CONNECT, "st")),
        ("A", "on_cancelled", ("st",)),
        ("A", "on_state_changed", (S.CONNECTED,)),
        ("A", "on_termination", (H.SR_CANCEL_BEFORE_CONNECT, "st")),
    ]
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED


@pytest.mark.parametrize("side", ["inviter", "invitee"])
def test_cancel_when_connected(side: str) -> None:
    p = session_pair()
    sa, sb = p.connect()
    me, peer = ("A", "B") if side == "inviter" else ("B", "A")
    session = sa if side == "inviter" else sb
    p.log.clear()
    session.cancel(H.SR_SESSION_CANCELLED_LOCAL, "bye")
    assert p.log.take() == [
        (me, "on_state_changed", (S.CONNECTED,)),
        (me, "on_termination", (H.SR_SESSION_CANCELLED_LOCAL, "bye")),
        (peer, "on_cancelled", ("bye",)),
        (peer, "on_state_changed", (S.CONNECTED,)),
        (peer, "on_termination", (H.SR_SESSION_CANCELLED_REMOTE, "bye")),
    ]
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED


def test_cancel_in_ready_is_refused() -> None:
    p = session_pair()
    sa = p.session()
    p.log.clear()
    with raises_exactly(msgr.SessionStateInvalidError):
        sa.cancel(H.SR_SESSION_CANCELLED_LOCAL)
    assert sa.state is S.READY
    assert p.log.take() == []


@pytest.mark.parametrize("end", ["cancelled", "declined", "terminated", "timed out"])
def test_cancel_in_a_terminal_state_is_refused(end: str) -> None:
    p = session_pair()
    sa, sb = p.invite() if end != "terminated" else p.connect()
    if end == "cancelled":
        sa.cancel(H.SR_SESSION_CANCELLED_LOCAL)
    elif end == "declined":
        sb.decline()
    elif end == "terminated":
        p.bob.sign_out()
    else:
        p.service.advance(60)
    p.log.clear()
    for session in (sa, sb):
        before = session.state
        assert before in (S.CANCELLED, S.DECLINED, S.TERMINATED)
        with raises_exactly(msgr.SessionStateInvalidError):
            session.cancel(H.SR_SESSION_CANCELLED_LOCAL, "again")
        assert session.state is before
    assert p.log.take() == []


# =========================================================================== app not present


def test_recipient_without_the_application() -> None:
    """C27: the recipient's Messenger declines an application it does not have
    (REJECT_NOT_INSTALLED) and its session reports OnAppNotPresent."""
    p = session_pair(register_on_bob=False)
    sa = p.session()
    p.log.clear()
    sa.invite(BOB, "hello")
    sb = p.last_invitee()
    assert p.log.take() == [
        ("A", "on_state_changed", (S.READY,)),
        ("B.mgr", "on_invitation", (sb, "hello")),
        ("B", "on_app_not_present", (APP_NAME, APP_URL)),
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_APP_NOT_REGISTERED, None)),
        ("A", "on_declined", (None,)),
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (H.SR_APP_NOT_REGISTERED, None)),
    ]
    assert sb.state is S.DECLINED
    assert sa.state is S.DECLINED


def test_app_not_present_callback_set_inside_on_invitation() -> None:
    """An application that only sets ``on_app_not_present`` inside its own
    ``on_invitation`` (no event log) still gets it."""
    p = session_pair(register_on_bob=False)
    manager = ready_manager(p.bob, guid=None, cookie=55)
    got: list[tuple[str, Any]] = []

    def on_invitation(session: msgr.MsgrSession, data: str | None) -> None:
        got.append(("invitation", data))
        session.on_app_not_present = lambda name, url: got.append(("not present", (name, url)))
        session.on_termination = lambda hr, d: got.append(("termination", (hr, d)))

    manager.on_invitation = on_invitation
    p.session().invite(BOB, "d")
    assert got == [
        ("invitation", "d"),
        ("not present", (APP_NAME, APP_URL)),
        ("termination", (H.SR_APP_NOT_REGISTERED, None)),
    ]


# =========================================================================== timeout


def test_invitation_times_out_after_sixty_seconds() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    p.service.advance(59.9)
    assert p.log.take() == []
    assert sa.state is S.INVITATION and sb.state is S.INVITATION
    p.service.advance(0.1)
    assert p.log.take() == [
        ("A", "on_state_changed", (S.INVITATION,)),
        ("A", "on_termination", (H.SR_SESSION_TIMEOUT, None)),
        ("B", "on_cancelled", (None,)),
        ("B", "on_state_changed", (S.INVITATION,)),
        ("B", "on_termination", (H.SR_SESSION_TIMEOUT, None)),
    ]
    assert sa.state is S.CANCELLED and sb.state is S.CANCELLED
    p.service.advance(600)
    assert p.log.take() == []


def test_answered_invitation_does_not_time_out() -> None:
    p = session_pair()
    sa, sb = p.invite()
    sb.accept()
    p.log.clear()
    p.service.advance(120)
    assert p.log.take() == []
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED


def test_accept_after_the_timeout_is_refused() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.service.advance(60)
    p.log.clear()
    with raises_exactly(msgr.SessionStateInvalidError):
        sb.accept()
    assert p.log.take() == []


# =========================================================================== sign-out


def test_invitee_signs_out_mid_session() -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    p.bob.sign_out()
    assert p.log.take() == [
        ("B", "on_state_changed", (S.CONNECTED,)),
        ("B", "on_termination", (H.SR_SESSION_CANCELLED_LOCAL, None)),
        ("B.mgr", "on_app_shutdown", ()),
        ("B.mgr", "on_lock_status_changed", (L.NOTINITIALIZED,)),
        ("bob", "on_signed_out", ("user",)),
        ("A", "on_state_changed", (S.CONNECTED,)),
        ("A", "on_termination", (H.SR_CONNECTION_FAILURE, None)),
    ]
    assert sa.state is S.TERMINATED and sb.state is S.TERMINATED


def test_inviter_signs_out_mid_session() -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    p.alice.sign_out()
    assert p.log.take() == [
        ("A", "on_state_changed", (S.CONNECTED,)),
        ("A", "on_termination", (H.SR_SESSION_CANCELLED_LOCAL, None)),
        ("A.mgr", "on_app_shutdown", ()),
        ("A.mgr", "on_lock_status_changed", (L.NOTINITIALIZED,)),
        ("alice", "on_signed_out", ("user",)),
        ("B", "on_state_changed", (S.CONNECTED,)),
        ("B", "on_termination", (H.SR_CONNECTION_FAILURE, None)),
    ]
    assert sa.state is S.TERMINATED and sb.state is S.TERMINATED


def test_every_manager_of_the_signing_out_messenger_gets_app_shutdown() -> None:
    p = session_pair()
    locked = p.log.watch(p.alice.session_manager(), "A.locked")
    other = p.log.watch(ready_manager(p.alice, guid=None, cookie=66), "A.mgr2")
    p.log.clear()
    p.alice.sign_out()
    shutdowns = [t for t, n, _ in p.log if n == "on_app_shutdown"]
    assert sorted(shutdowns) == ["A.locked", "A.mgr", "A.mgr2"]
    assert [t for t, n, _ in p.log if n == "on_app_shutdown" and t.startswith("B")] == []
    assert locked.status is L.NOTINITIALIZED and other.status is L.NOTINITIALIZED


# =========================================================================== several sessions


def test_two_sessions_between_the_same_users_are_independent() -> None:
    p = session_pair()
    sa1, sb1 = p.invite("one", tag="A")
    sa2 = p.log.watch(p.ma.create_session(), "A2")
    sa2.application = GUID
    sa2.invite(BOB, "two")
    sb2 = p.last_invitee()
    assert sb2 is not sb1 and sb2.session_id == sa2.session_id != sa1.session_id
    p.log.clear()
    sb2.decline("no")
    assert sa1.state is S.INVITATION and sb1.state is S.INVITATION
    assert sa2.state is S.DECLINED and sb2.state is S.DECLINED
    assert {t for t, _, _ in p.log} == {"A2", p.log.tag_of(sb2)}
    sb1.accept()
    assert sa1.state is S.CONNECTED and sb1.state is S.CONNECTED


def test_alice_can_be_invited_back() -> None:
    p = session_pair()
    sb = p.log.watch(p.mb.create_session(), "Bout")
    sb.application = GUID
    p.log.clear()
    sb.invite(ALICE, "from bob")
    sa = next(a[0] for t, n, a in p.log if n == "on_invitation")
    assert p.log.take() == [
        ("Bout", "on_state_changed", (S.READY,)),
        ("A.mgr", "on_invitation", (sa, "from bob")),
    ]
    sa.accept()
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED
    assert msgr.SessionFlags.INVITEE in sa.flags and msgr.SessionFlags.INVITER in sb.flags


def test_callback_exception_propagates_from_the_flow() -> None:
    """Design §3: a callback's exception is not swallowed; the flow still completes."""

    class Boom(Exception):
        pass

    p = session_pair()
    sa, sb = p.invite()

    def on_accepted(data: Any) -> None:
        raise Boom("inviter app failed")

    p.log.react(sa, "on_accepted", on_accepted)
    with pytest.raises(Boom):
        sb.accept()
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED

