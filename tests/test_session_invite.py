"""``Invite`` and the ``bstrAppData`` of ``Invite``/``Accept``/``Decline``/``Cancel``
(msgrpriv.md §1.2 step 4, §3.4; C12, C13): the order of the checks, an invited user
who is offline or unknown, and the 512-byte (256 UTF-16 units) limit at its bound,
one past it, and under Hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import msgr
from conftest import ALICE, BOB, CAROL, GUID, H, NOBODY, S, SessionPair, raises_exactly, session_pair, utf16_units

ASTRAL = "\U0001F600"  # one character, two UTF-16 code units
assert utf16_units(ASTRAL) == 2


def refused(p: SessionPair, s: msgr.MsgrSession, error: type[msgr.MsgrError], user: object, data: str | None = None) -> None:
    """``s.invite(user, data)`` fails with exactly ``error`` and changes nothing."""
    before = (s.state, len(p.invitee))
    p.log.clear()
    with raises_exactly(error):
        s.invite(user, data)  # type: ignore[arg-type]
    assert (s.state, len(p.invitee)) == before
    assert p.log.take() == []


# =========================================================================== each check


def test_invite_without_application() -> None:
    p = session_pair()
    s = p.session(app=None)
    refused(p, s, msgr.AppNotSpecifiedError, BOB)


@pytest.mark.parametrize("user", ["", "bob", "bob@", "@example.com", "bob example.com", "bob@@example.com", "bob@example.com\r\n"])
def test_invite_invalid_sign_in_name(user: str) -> None:
    p = session_pair()
    refused(p, p.session(), msgr.InvalidArgError, user)


@pytest.mark.parametrize("user", [ALICE, ALICE.upper(), msgr.Contact(ALICE), msgr.Contact(ALICE, "me")])
def test_invite_self(user: object) -> None:
    p = session_pair()
    refused(p, p.session(), msgr.InvitedSelfError, user)


@pytest.mark.parametrize("user", [CAROL, NOBODY, msgr.Contact(CAROL, "Carol")])
def test_invite_offline_or_unknown_user(user: object) -> None:
    """``MSGR_E_NOT_LOGGED_ON`` ("the invited user is not logged on"), synchronously;
    the session stays READY and can invite someone else."""
    p = session_pair()
    s = p.session()
    refused(p, s, msgr.NotLoggedOnError, user, "hello")
    with raises_exactly(msgr.NoUserInvitedError):
        s.user
    s.invite(BOB, "second try")
    assert s.state is S.INVITATION
    assert p.log.take() == [
        ("A", "on_state_changed", (S.READY,)),
        ("B.mgr", "on_invitation", (p.last_invitee(), "second try")),
    ]


def test_invite_when_signed_out() -> None:
    p = session_pair()
    s = p.session()
    p.alice.sign_out()
    assert s.state is S.READY
    refused(p, s, msgr.NotLoggedOnError, BOB)


def test_invite_twice_is_not_ready() -> None:
    p = session_pair()
    sa, sb = p.invite()
    refused(p, sa, msgr.SessionNotReadyError, BOB)


def test_invitee_cannot_invite() -> None:
    p = session_pair()
    sa, sb = p.invite()
    refused(p, sb, msgr.NotInviterError, ALICE)


@pytest.mark.parametrize("user", [42, None, b"bob@example.com", ["bob@example.com"]])
def test_invite_user_of_the_wrong_type(user: object) -> None:
    p = session_pair()
    s = p.session()
    p.log.clear()
    with pytest.raises(msgr.InvalidArgError):
        s.invite(user)  # type: ignore[arg-type]
    assert s.state is S.READY and p.log.take() == []


# =========================================================================== the order of the checks


def test_order_state_before_application_and_sign_in() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.alice.sign_out()  # Alice's live session ends TERMINATED
    refused(p, sa, msgr.SessionNotReadyError, NOBODY, "x" * 300)
    refused(p, sb, msgr.NotInviterError, "not a name", "x" * 300)


def test_order_application_before_sign_in() -> None:
    p = session_pair()
    s = p.session(app=None)
    p.alice.sign_out()
    refused(p, s, msgr.AppNotSpecifiedError, "not a name", "x" * 300)


def test_order_sign_in_before_name() -> None:
    p = session_pair()
    s = p.session()
    p.alice.sign_out()
    refused(p, s, msgr.NotLoggedOnError, "not a name", "x" * 300)
    refused(p, s, msgr.NotLoggedOnError, ALICE, "x" * 300)


def test_order_self_before_app_data() -> None:
    p = session_pair()
    s = p.session()
    refused(p, s, msgr.InvitedSelfError, ALICE, "x" * 257)
    refused(p, s, msgr.InvitedSelfError, ALICE, "line\r\nbreak")


def test_order_app_data_before_reaching_the_user() -> None:
    p = session_pair()
    s = p.session()
    refused(p, s, msgr.InvalidArgError, CAROL, "x" * 257)
    refused(p, s, msgr.InvalidArgError, NOBODY, "a\nb")
    refused(p, s, msgr.NotLoggedOnError, CAROL, "x" * 256)


# =========================================================================== app_data limit (C13)

AT_BOUND = {
    "256 ascii": "x" * 256,
    "128 astral": ASTRAL * 128,
    "254 ascii + 1 astral": "x" * 254 + ASTRAL,
    "256 bmp": "é" * 256,
    "empty": "",
}
PAST_BOUND = {
    "257 ascii": "x" * 257,
    "128 astral + 1": ASTRAL * 128 + "x",
    "255 ascii + 1 astral": "x" * 255 + ASTRAL,
    "129 astral": ASTRAL * 129,
    "257 bmp": "€" * 257,
}
ONE_LINE = {"CR": "a\rb", "LF": "a\nb", "CRLF": "a\r\nb", "trailing LF": "abc\n"}


@pytest.mark.parametrize("data", list(AT_BOUND.values()), ids=list(AT_BOUND))
def test_invite_app_data_at_the_bound(data: str) -> None:
    assert utf16_units(data) <= 256
    p = session_pair()
    s = p.session()
    s.invite(BOB, data)
    assert s.state is S.INVITATION
    if data:
        assert p.log[-1] == ("B.mgr", "on_invitation", (p.last_invitee(), data))


@pytest.mark.parametrize("data", list(PAST_BOUND.values()) + list(ONE_LINE.values()), ids=list(PAST_BOUND) + list(ONE_LINE))
def test_invite_app_data_refused(data: str) -> None:
    p = session_pair()
    refused(p, p.session(), msgr.InvalidArgError, BOB, data)


METHODS = {
    "accept": lambda s, d: s.accept(d),
    "decline": lambda s, d: s.decline(d),
    "cancel": lambda s, d: s.cancel(H.SR_SESSION_CANCELLED_LOCAL, d),
}


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("data", [*PAST_BOUND.values(), *ONE_LINE.values()], ids=[*PAST_BOUND, *ONE_LINE])
def test_answer_app_data_refused(method: str, data: str) -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    with raises_exactly(msgr.InvalidArgError):
        METHODS[method](sb, data)
    assert sb.state is S.INVITATION and sa.state is S.INVITATION
    assert p.log.take() == []


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("data", ["x" * 256, ASTRAL * 128, "x" * 254 + ASTRAL], ids=["256 ascii", "128 astral", "254+astral"])
def test_answer_app_data_at_the_bound_reaches_the_inviter(method: str, data: str) -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.clear()
    METHODS[method](sb, data)
    event = {"accept": "on_accepted", "decline": "on_declined", "cancel": "on_cancelled"}[method]
    assert ("A", event, (data,)) in p.log


def test_inviter_cancel_app_data_limit() -> None:
    p = session_pair()
    sa, sb = p.invite()
    with raises_exactly(msgr.InvalidArgError):
        sa.cancel(H.SR_SESSION_CANCELLED_LOCAL, "x" * 257)
    assert sa.state is S.INVITATION
    sa.cancel(H.SR_SESSION_CANCELLED_LOCAL, ASTRAL * 128)
    assert ("B", "on_cancelled", (ASTRAL * 128,)) in p.log


# =========================================================================== Hypothesis around 512 bytes

#: No white space: white space at the ends of a value is covered separately below.
BMP = st.sampled_from(["a", "Z", "0", "é", "ß", "€", "中", "ñ", "~", ":"])
NON_BMP = st.sampled_from(["\U0001F600", "\U0001D11E", "\U00020000", "\U0010FFFD"])


@st.composite
def near_bound(draw: st.DrawFn) -> str:
    units = draw(st.integers(248, 264))
    astral = draw(st.integers(0, units // 2))
    chars = [draw(NON_BMP) for _ in range(astral)] + [draw(BMP) for _ in range(units - 2 * astral)]
    return "".join(draw(st.permutations(chars)))


def test_app_data_utf16_bound_property() -> None:
    """Valid iff at most 256 UTF-16 code units (512 bytes, C13): a non-BMP character
    counts two. What passes reaches the invitee's on_invitation unchanged."""
    p = session_pair()

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=near_bound())
    def check(data: str) -> None:
        s = p.session()
        p.log.clear()
        if utf16_units(data) <= 256:
            s.invite(BOB, data)
            assert s.state is S.INVITATION
            assert p.log.take() == [
                ("A", "on_state_changed", (S.READY,)),
                ("B.mgr", "on_invitation", (p.last_invitee(), data)),
            ]
        else:
            with raises_exactly(msgr.InvalidArgError):
                s.invite(BOB, data)
            assert s.state is S.READY
            assert p.log.take() == []

    check()


def test_app_data_bound_property_without_delivery() -> None:
    """The same bound decided before the user is looked up: an offline user gives
    NOT_LOGGED_ON for valid data and E_INVALIDARG for data past the bound."""
    p = session_pair()
    s = p.session()

    @settings(max_examples=150, deadline=None)
    @given(data=near_bound())
    def check(data: str) -> None:
        expected = msgr.NotLoggedOnError if utf16_units(data) <= 256 else msgr.InvalidArgError
        with raises_exactly(expected):
            s.invite(CAROL, data)
        assert s.state is S.READY

    check()
    assert s.application == GUID


# =========================================================================== the data arrives as given

PADDED = "  padded: value\t "


@pytest.mark.parametrize("path", ["invite", "accept", "decline", "cancel", "context"])
def test_app_data_arrives_unchanged(path: str) -> None:
    """§1.2 step 5 [D]: the invitee's bstrAppData "is the value A passed to Invite";
    likewise OnAccepted/OnDeclined/OnCancelled carry the peer's data (C12) and
    OnContextData the data sent. White space at either end is part of the value."""
    p = session_pair()
    if path == "invite":
        sa, sb = p.invite(PADDED)
        assert p.log[-1] == ("B.mgr", "on_invitation", (sb, PADDED))
        return
    sa, sb = p.invite()
    p.log.clear()
    if path == "context":
        sb.accept()
        p.log.clear()
        sa.send_context_data(PADDED)
        assert p.log.take() == [("B", "on_context_data", (PADDED,))]
        assert sb.context_data == PADDED
        return
    METHODS[path](sb, PADDED)
    event = {"accept": "on_accepted", "decline": "on_declined", "cancel": "on_cancelled"}[path]
    assert ("A", event, (PADDED,)) in p.log
