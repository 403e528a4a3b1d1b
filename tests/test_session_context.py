"""``SendContextData`` / ``OnContextData`` / ``ContextData`` (msgrpriv.md §1.2 step 11,
§3.4; C14, C15): CONNECTED only, at most 300 characters, at most five calls per session
object, both directions, and the receiver's property holding the latest value."""

from __future__ import annotations

import pytest

import msgr
from conftest import S, ids, raises_exactly, run_in_state, session_pair


@pytest.mark.parametrize("sender", ["inviter", "invitee"])
def test_context_data_both_directions(sender: str) -> None:
    p = session_pair()
    sa, sb = p.connect()
    src, dst, dst_tag = (sa, sb, "B") if sender == "inviter" else (sb, sa, "A")
    p.log.clear()
    src.send_context_data("IP:10.0.0.1:5000")
    assert p.log.take() == [(dst_tag, "on_context_data", ("IP:10.0.0.1:5000",))]
    assert dst.context_data == "IP:10.0.0.1:5000"
    assert src.context_data is None
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED


def test_latest_value_wins() -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    for i in range(3):
        sa.send_context_data(f"value {i}")
        assert sb.context_data == f"value {i}"
    sb.send_context_data("reply")
    assert sa.context_data == "reply"
    assert sb.context_data == "value 2"
    assert p.log.of("B") == [("on_context_data", (f"value {i}",)) for i in range(3)]


def test_length_bound() -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    with raises_exactly(msgr.InvalidArgError):
        sa.send_context_data("c" * 301)
    assert p.log.take() == []
    sa.send_context_data("c" * 300)
    assert p.log.take() == [("B", "on_context_data", ("c" * 300,))]
    assert sb.context_data == "c" * 300


@pytest.mark.parametrize("data", ["a\rb", "a\nb", "a\r\nb"])
def test_one_line_only(data: str) -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    with raises_exactly(msgr.InvalidArgError):
        sa.send_context_data(data)
    assert p.log.take() == []


def test_five_calls_per_session_object() -> None:
    p = session_pair()
    sa, sb = p.connect()
    p.log.clear()
    # A refused call does not count.
    with raises_exactly(msgr.InvalidArgError):
        sa.send_context_data("c" * 301)
    for i in range(5):
        sa.send_context_data(f"a{i}")
    with raises_exactly(msgr.ContextDataOverLimitError):
        sa.send_context_data("a5")
    with raises_exactly(msgr.ContextDataOverLimitError):
        sa.send_context_data("a6")
    assert p.log.take() == [("B", "on_context_data", (f"a{i}",)) for i in range(5)]
    assert sb.context_data == "a4"
    # The peer has its own five.
    for i in range(5):
        sb.send_context_data(f"b{i}")
    with raises_exactly(msgr.ContextDataOverLimitError):
        sb.send_context_data("b5")
    assert p.log.take() == [("A", "on_context_data", (f"b{i}",)) for i in range(5)]
    assert sa.state is S.CONNECTED and sb.state is S.CONNECTED


def test_limit_is_per_session() -> None:
    p = session_pair()
    sa1, sb1 = p.connect()
    for i in range(5):
        sa1.send_context_data(str(i))
    sa2, sb2 = p.connect()
    sa2.send_context_data("fresh session")
    assert sb2.context_data == "fresh session"
    assert sb1.context_data == "4"


@pytest.mark.parametrize(
    ("state", "role", "error"),
    [
        (S.READY, "inviter", msgr.SessionStateInvalidError),
        (S.INVITATION, "inviter", msgr.NotValidForAppInviteError),
        (S.INVITATION, "invitee", msgr.NotValidForAppInviteError),
        (S.ACCEPTED, "invitee", msgr.NotValidForAppInviteError),
        (S.CANCELLED, "inviter", msgr.SessionStateInvalidError),
        (S.CANCELLED, "invitee", msgr.SessionStateInvalidError),
        (S.DECLINED, "inviter", msgr.SessionStateInvalidError),
        (S.DECLINED, "invitee", msgr.SessionStateInvalidError),
        (S.TERMINATED, "inviter", msgr.SessionStateInvalidError),
        (S.TERMINATED, "invitee", msgr.SessionStateInvalidError),
    ],
    ids=ids,
)
def test_only_when_connected(state: msgr.SessionState, role: str, error: type[msgr.MsgrError]) -> None:
    """C15: not valid while the invitation is pending (INVITATION/ACCEPTED); a state
    error before or after. The state is checked before the data."""
    for data in ("ok", "c" * 301):
        out = run_in_state(state, role, lambda s: s.send_context_data(data))
        assert type(out.error) is error, (data, out.error)
        assert out.after is state


def test_nothing_delivered_after_the_session_ends() -> None:
    p = session_pair()
    sa, sb = p.connect()
    sb.cancel(msgr.HResult.SR_SESSION_CANCELLED_LOCAL)
    p.log.clear()
    with raises_exactly(msgr.SessionStateInvalidError):
        sa.send_context_data("late")
    assert p.log.take() == []
    assert sb.context_data is None
