"""``MsgrSession`` properties (msgrpriv.md §3.4; C16, C28, C29): ``application`` and
its name and URL, ``user``, ``local_address``, ``remote_address``, ``context_data``,
``session_id`` and ``flags``, each with its documented errors and limits."""

from __future__ import annotations

import pytest

import msgr
from conftest import (
    ALICE,
    ALICE_NAME,
    APP_NAME,
    APP_URL,
    BOB,
    GUID,
    GUID_RE,
    H,
    LOCAL_IP_RE,
    S,
    UNREGISTERED_GUID,
    ids,
    raises_exactly,
    run_in_state,
    session_pair,
    who,
)

F = msgr.SessionFlags


# =========================================================================== application


def test_application_set_and_read() -> None:
    p = session_pair()
    s = p.session(app=None)
    assert s.application is None
    s.application = GUID
    assert s.application == GUID
    assert s.application_name == APP_NAME
    assert s.application_url == APP_URL


def test_application_can_be_changed_while_ready() -> None:
    p = session_pair()
    p.ma.register_application(UNREGISTERED_GUID, "Second", "http://second", "/opt/second")
    s = p.session()
    s.application = UNREGISTERED_GUID
    assert (s.application, s.application_name, s.application_url) == (UNREGISTERED_GUID, "Second", "http://second")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(GUID[1:], msgr.InvalidArgError, id="one-brace-37"),
        pytest.param(GUID + "}", msgr.InvalidArgError, id="malformed-39"),
        pytest.param(GUID + "}}", msgr.OutOfMemoryError, id="40-chars"),
        pytest.param(GUID * 2, msgr.OutOfMemoryError, id="76-chars"),
        pytest.param("", msgr.InvalidArgError, id="empty"),
        pytest.param("not a guid", msgr.InvalidArgError, id="text"),
        pytest.param(UNREGISTERED_GUID, msgr.AppNotRegisteredError, id="unregistered"),
    ],
)
def test_application_errors(value: str, error: type[msgr.MsgrError]) -> None:
    p = session_pair()
    s = p.session(app=None)
    p.log.clear()
    with raises_exactly(error):
        s.application = value
    assert s.application is None
    assert s.state is S.READY
    assert p.log.take() == []


def test_application_errors_keep_the_previous_value() -> None:
    p = session_pair()
    s = p.session()
    with raises_exactly(msgr.AppNotRegisteredError):
        s.application = UNREGISTERED_GUID
    assert s.application == GUID


@pytest.mark.parametrize(
    ("state", "role", "error"),
    [
        (S.INVITATION, "inviter", msgr.SessionNotReadyError),
        (S.CONNECTED, "inviter", msgr.SessionNotReadyError),
        (S.CANCELLED, "inviter", msgr.SessionNotReadyError),
        (S.INVITATION, "invitee", msgr.NotInviterError),
        (S.ACCEPTED, "invitee", msgr.NotInviterError),
        (S.DECLINED, "invitee", msgr.NotInviterError),
    ],
    ids=ids,
)
def test_application_only_ready_inviter(state: msgr.SessionState, role: str, error: type[msgr.MsgrError]) -> None:
    """C29: wrong state -> SR_SESSION_NOT_READY; the invitee -> SR_NOT_INVITER; the state
    is checked before the value (a 40-character GUID gives the state's error)."""
    for value in (GUID, GUID + "}}", UNREGISTERED_GUID):
        out = run_in_state(state, role, lambda s: setattr(s, "application", value))
        assert type(out.error) is error, (value, out.error)
        assert out.session.application == GUID


def test_application_name_and_url_without_application() -> None:
    p = session_pair()
    s = p.session(app=None)
    with raises_exactly(msgr.AppNotSpecifiedError):
        s.application_name
    with raises_exactly(msgr.AppNotSpecifiedError):
        s.application_url


def test_invitee_sees_the_application() -> None:
    p = session_pair()
    sa, sb = p.invite()
    assert sb.application == GUID
    assert sb.application_name == APP_NAME
    assert sb.application_url == APP_URL


# =========================================================================== user


def test_user_before_invite() -> None:
    p = session_pair()
    s = p.session()
    with raises_exactly(msgr.NoUserInvitedError):
        s.user


def test_user_on_both_sides() -> None:
    p = session_pair()
    sa, sb = p.invite()
    assert who(sa.user) == (BOB, p.service.users[BOB])
    assert who(sb.user) == (ALICE, ALICE_NAME)
    assert isinstance(sa.user, msgr.Contact) and isinstance(sb.user, msgr.Contact)
    sb.accept()
    assert sa.user.sign_in_name == BOB and sb.user.sign_in_name == ALICE


def test_user_after_a_failed_invitation() -> None:
    p = session_pair()
    s = p.session()
    with raises_exactly(msgr.NotLoggedOnError):
        s.invite("carol@example.com")
    with raises_exactly(msgr.NoUserInvitedError):
        s.user


# =========================================================================== local_address


def test_local_address_default() -> None:
    p = session_pair()
    s1, s2 = p.session(), p.session(tag="A2")
    assert LOCAL_IP_RE.fullmatch(s1.local_address), s1.local_address
    assert s1.local_address == s2.local_address
    sa, sb = p.invite()
    assert LOCAL_IP_RE.fullmatch(sb.local_address), sb.local_address
    assert sb.local_address != sa.local_address


@pytest.mark.parametrize("role", ["inviter", "invitee"])
def test_local_address_limit(role: str) -> None:
    state = S.READY if role == "inviter" else S.INVITATION
    ok = "a" * 30

    def act(s: msgr.MsgrSession) -> None:
        with raises_exactly(msgr.OutOfMemoryError):
            s.local_address = "a" * 31
        assert s.local_address != "a" * 31
        s.local_address = ok

    out = run_in_state(state, role, act)
    assert out.error is None
    assert out.session.local_address == ok
    assert out.after is state


@pytest.mark.parametrize(
    ("state", "role"),
    [
        (S.INVITATION, "inviter"),
        (S.CONNECTED, "inviter"),
        (S.DECLINED, "inviter"),
        (S.ACCEPTED, "invitee"),
        (S.CONNECTED, "invitee"),
        (S.CANCELLED, "invitee"),
        (S.TERMINATED, "invitee"),
    ],
    ids=ids,
)
def test_local_address_in_other_states(state: msgr.SessionState, role: str) -> None:
    """C28: after Invite (inviter) or Accept (recipient): SR_SESSION_STATE_INVALID, also
    for a value that is too long."""
    for value in ("10.0.0.1", "a" * 31):
        out = run_in_state(state, role, lambda s: setattr(s, "local_address", value))
        assert type(out.error) is msgr.SessionStateInvalidError, (value, out.error)
        assert out.session.local_address != value


# =========================================================================== remote_address


def test_remote_address_none_until_connected() -> None:
    p = session_pair()
    sa = p.session()
    assert sa.remote_address is None
    sa.invite(BOB)
    sb = p.last_invitee()
    assert sa.remote_address is None and sb.remote_address is None
    seen = []
    p.log.react(sb, "before_app_launch", lambda: seen.append((sb.state, sb.remote_address)))
    sb.accept()
    assert seen == [(S.ACCEPTED, None)]
    assert sa.remote_address == sb.local_address
    assert sb.remote_address == sa.local_address


def test_remote_address_of_a_declined_session() -> None:
    p = session_pair()
    sa, sb = p.invite()
    sb.decline()
    assert sa.remote_address is None and sb.remote_address is None


# =========================================================================== context_data, session_id, flags


def test_context_data_none_until_received() -> None:
    p = session_pair()
    sa, sb = p.invite()
    assert sa.context_data is None and sb.context_data is None
    sb.accept("accept data is not context data")
    assert sa.context_data is None and sb.context_data is None
    sa.send_context_data("x")
    assert sb.context_data == "x"
    # The sender's own property holds what it received, not what it sent.
    assert sa.context_data is None


def test_session_id_shared_and_upper_case() -> None:
    p = session_pair()
    sa, sb = p.invite()
    assert GUID_RE.fullmatch(sa.session_id)
    assert sb.session_id == sa.session_id
    sb.accept()
    assert sb.session_id == sa.session_id


def test_flags() -> None:
    p = session_pair()
    s = p.session()
    assert s.flags == F.INVITER
    s.invite(BOB)
    sb = p.last_invitee()
    assert F.INVITER in s.flags and F.INVITEE not in s.flags
    assert F.INVITEE in sb.flags and F.INVITER not in sb.flags
    assert isinstance(sb.flags, F)


def test_properties_of_an_ended_session_stay_readable() -> None:
    p = session_pair()
    sa, sb = p.invite()
    sa.cancel(H.SR_SESSION_CANCELLED_LOCAL)
    for s in (sa, sb):
        assert s.application == GUID
        assert s.application_name == APP_NAME
        assert GUID_RE.fullmatch(s.session_id)
        assert s.user.sign_in_name in (ALICE, BOB)
