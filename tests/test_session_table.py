"""The ``IMsgrSession`` transition table (``msgr._core.session_table()``; msgrpriv.md
§1.2, C11, C14, C15, C28, C29), every cell reached for real through the API.

Each reachable (state, role) is produced by a real flow (``conftest.run_in_state``):
READY inviter; INVITATION both roles; ACCEPTED invitee (from inside
``before_app_launch``); CONNECTED both; CANCELLED; DECLINED; TERMINATED (the peer
signs out). Then the cell's method is called with arguments that would be accepted in
the right state, and the documented error class or the documented next state is checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import msgr
from conftest import ALICE, BOB, GUID, H, REACHABLE, S, error_class, run_in_state, session_pair

TABLE = [(S(state), role, method, None if nxt is None else S(nxt), hr) for state, role, method, nxt, hr in msgr._core.session_table()]

METHODS = ("application", "local_address", "invite", "accept", "decline", "cancel", "send_context_data")

#: (state, role) pairs the API never exposes: UNKNOWN and the FALLBACK_* extension
#: values are never entered (C8); an invitee session starts in INVITATION; the
#: inviter passes through ACCEPTED inside one step (shown below).
UNREACHABLE = {
    (s, r)
    for s in (S.UNKNOWN, S.FALLBACK_INVITER, S.FALLBACK_INVITEE)
    for r in ("inviter", "invitee")
} | {(S.READY, "invitee"), (S.ACCEPTED, "inviter")}

REACHED = [row for row in TABLE if (row[0], row[1]) in REACHABLE]


def _call(method: str, role: str) -> Callable[[msgr.MsgrSession], Any]:
    """The call of ``method`` with arguments valid for ``role`` (only the state or the
    role can make it fail)."""
    peer = BOB if role == "inviter" else ALICE

    def call(session: msgr.MsgrSession) -> None:
        if method == "application":
            session.application = GUID
        elif method == "local_address":
            session.local_address = "10.9.8.7:6891"
        elif method == "invite":
            session.invite(peer, "table")
        elif method == "accept":
            session.accept("table")
        elif method == "decline":
            session.decline("table")
        elif method == "cancel":
            session.cancel(H.SR_SESSION_CANCELLED_LOCAL, "table")
        elif method == "send_context_data":
            session.send_context_data("table")
        else:  # pragma: no cover
            raise AssertionError(method)

    return call


def _id(row: tuple[Any, ...]) -> str:
    state, role, method, nxt, hr = row
    outcome = nxt.name if nxt is not None else msgr.HResult(hr).name
    return f"{state.name}-{role}-{method}->{outcome}"


# =========================================================================== the table itself


def test_table_shape() -> None:
    assert len(TABLE) == len(S) * 2 * len(METHODS)
    cells = {(s, r, m) for s, r, m, _, _ in TABLE}
    assert cells == {(s, r, m) for s in S for r in ("inviter", "invitee") for m in METHODS}
    for state, role, method, nxt, hr in TABLE:
        assert (nxt is None) != (hr is None), (state, role, method)
        if hr is not None:
            assert msgr.HResult(hr).name.startswith("SR_")


def test_reachable_and_unreachable_cover_the_table() -> None:
    pairs = {(s, r) for s, r, _, _, _ in TABLE}
    assert set(REACHABLE) | UNREACHABLE == pairs
    assert not set(REACHABLE) & UNREACHABLE
    assert len(REACHED) == len(REACHABLE) * len(METHODS)


def test_inviter_accepted_is_never_observable() -> None:
    """The inviter's session goes INVITATION -> ACCEPTED -> CONNECTED within the step
    that handles the invitee's ACCEPT: the events say so, but no callback sees it."""
    p = session_pair()
    sa, sb = p.invite()
    seen: list[tuple[str, msgr.SessionState]] = []
    for name in ("on_state_changed", "on_accepted"):
        p.log.react(sa, name, lambda *args, name=name: seen.append((name, sa.state)))
    sb.accept()
    assert ("A", "on_state_changed", (S.ACCEPTED,)) in p.log
    assert seen == [
        ("on_state_changed", S.CONNECTED),
        ("on_accepted", S.CONNECTED),
        ("on_state_changed", S.CONNECTED),
    ]


def test_new_sessions_are_ready_inviters_and_invitations_start_in_invitation() -> None:
    p = session_pair()
    sa = p.ma.create_session()
    assert (sa.state, sa.flags) == (S.READY, msgr.SessionFlags.INVITER)
    sa2, sb = p.invite()
    assert sb.state is S.INVITATION
    assert [args[0] for tag, name, args in p.log if tag == "B" and name == "on_state_changed"] == []


def test_unreachable_states_refuse_everything_in_the_table() -> None:
    """Cells the API cannot reach are still defined, all errors except the inviter's
    cancel in ACCEPTED (C11/§1.2)."""
    for state, role, method, nxt, hr in TABLE:
        if (state, role) in UNREACHABLE and (state, role, method) != (S.ACCEPTED, "inviter", "cancel"):
            assert nxt is None, (state, role, method)


# =========================================================================== every reachable cell


@pytest.mark.parametrize("row", REACHED, ids=[_id(r) for r in REACHED])
def test_cell(row: tuple[Any, ...]) -> None:
    state, role, method, nxt, hr = row
    out = run_in_state(state, role, _call(method, role))
    if hr is not None:
        expected = error_class(hr)
        assert out.error is not None, f"{method} succeeded for the {role} in {state.name}; expected {expected.__name__}"
        assert type(out.error) is expected, f"{type(out.error).__name__}: {out.error}"
        assert out.error.hresult == hr
        assert out.after is state
    else:
        assert out.error is None, f"{type(out.error).__name__}: {out.error}"
        if nxt is state:
            assert out.after is state
            assert out.entered == []
        else:
            assert out.entered, f"{method} caused no state change from {state.name}"
            assert out.entered[0] == (state, nxt)


# =========================================================================== the decisions


def decided(state: msgr.SessionState, role: str, method: str) -> msgr.SessionState | type[msgr.MsgrError]:
    """The outcome the decisions prescribe (msgrpriv.md §1.2, C11, C15, C28, C29),
    written independently of the implementation's table."""
    inviter = role == "inviter"
    if method in ("application", "invite"):
        if not inviter:
            return msgr.NotInviterError
        if state is not S.READY:
            return msgr.SessionNotReadyError
        return S.READY if method == "application" else S.INVITATION
    if method == "local_address":
        if (state, inviter) in ((S.READY, True), (S.INVITATION, False)):
            return state
        return msgr.SessionStateInvalidError
    if method in ("accept", "decline"):
        if inviter:
            return msgr.NotInviteeError
        if state is not S.INVITATION:
            return msgr.SessionStateInvalidError
        return S.ACCEPTED if method == "accept" else S.DECLINED
    if method == "cancel":
        if state in (S.INVITATION, S.ACCEPTED, S.CONNECTED):
            return S.CANCELLED
        return msgr.SessionStateInvalidError
    assert method == "send_context_data"
    if state is S.CONNECTED:
        return S.CONNECTED
    if state in (S.INVITATION, S.ACCEPTED):
        return msgr.NotValidForAppInviteError
    return msgr.SessionStateInvalidError


@pytest.mark.parametrize("row", TABLE, ids=[_id(r) for r in TABLE])
def test_table_matches_the_decisions(row: tuple[Any, ...]) -> None:
    state, role, method, nxt, hr = row
    got = nxt if hr is None else error_class(hr)
    assert got is decided(state, role, method)
