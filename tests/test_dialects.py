"""The embedded service in every MSNP dialect (``Service(protocol=...)``): the whole
API works the same, and the trace shows each dialect's own lines."""

from __future__ import annotations

import pytest

import msgr
from msgr.testing import Pair, make_pair, unlock

DIALECTS = ["MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"]
S = msgr.SessionState


def pair_in(protocol: str) -> Pair:
    return make_pair(msgr.Service(seed=3, protocol=protocol))


def lines(service: msgr.Service, user: str | None = None) -> list[str]:
    return [e.line for e in service.trace if user is None or e.user == user]


@pytest.mark.parametrize("protocol", DIALECTS)
def test_an_invitation_connects_carries_context_data_and_a_cancel_ends_another(protocol: str) -> None:
    pair = pair_in(protocol)
    received: list[str] = []
    bob_sessions: list[msgr.MsgrSession] = []

    def on_invitation(session: msgr.MsgrSession, app_data: str | None) -> None:
        bob_sessions.append(session)
        session.on_context_data = received.append
        if app_data == "play":
            session.accept("ready")

    pair.bob_manager.on_invitation = on_invitation
    session = pair.alice_manager.create_session()
    session.application = pair.guid
    session.invite("bob@example.com", "play")
    assert session.state is S.CONNECTED and bob_sessions[0].state is S.CONNECTED
    session.send_context_data("e2e4")
    assert received == ["e2e4"]

    later = pair.alice_manager.create_session()
    later.application = pair.guid
    later.invite("bob@example.com", "maybe")
    ended: list[tuple[int, str | None]] = []
    bob_sessions[1].on_termination = lambda hr, data: ended.append((int(hr), data))
    later.cancel(int(msgr.HResult.SR_SESSION_CANCELLED_LOCAL), "not now")
    assert later.state is S.CANCELLED and bob_sessions[1].state is S.CANCELLED
    assert ended and ended[0][1] == "not now"


@pytest.mark.parametrize("protocol", DIALECTS)
def test_the_trace_speaks_the_dialect(protocol: str) -> None:
    service = msgr.Service(seed=3, protocol=protocol)
    assert service.protocol == protocol
    service.license("app@msnmsgr.com", "KEY")
    alice = service.sign_in("alice@example.com")
    got = lines(service, "alice@example.com")
    assert got[:2] == [f"VER 1 {protocol} CVR0", f"VER 1 {protocol}"]
    passport = protocol != "MSNP7"
    assert ("USR 3 TWN I alice@example.com" in got) is passport
    assert ("INF 2" in got) is not passport
    manager = alice.session_manager()
    unlock(manager, "app@msnmsgr.com", "KEY")
    assert manager.status is msgr.LockStatus.UNLOCKED


@pytest.mark.parametrize("protocol", DIALECTS)
def test_adding_a_contact_uses_add_or_adc(protocol: str) -> None:
    pair = pair_in(protocol)
    priv = pair.alice.messenger_priv()
    unlock(priv)
    added: list[tuple[msgr.HResult, msgr.Contact | None]] = []
    priv.on_contact_list_add = lambda hr, contact: added.append((hr, contact))
    priv.add_contact("bob@example.com")
    # From MSNP11 Bob's (empty) personal message comes with his presence (UBX).
    psm = "" if int(protocol[4:]) >= 11 else None
    assert added == [(msgr.HResult.S_OK, msgr.Contact("bob@example.com", "bob", "NLN", psm))]
    verb = "ADC" if int(protocol[4:]) >= 10 else "ADD"
    sent = [line for line in lines(pair.service, "alice@example.com") if line.startswith(verb)]
    assert sent and sent[0].startswith(f"{verb} ") and " FL " in sent[0]


@pytest.mark.parametrize("protocol", DIALECTS)
def test_a_wrong_password_is_an_authentication_failure(protocol: str) -> None:
    service = msgr.Service(seed=3, protocol=protocol)
    service.add_user("alice@example.com", "right")
    with pytest.raises(msgr.AuthenticationFailedError):
        service.sign_in("alice@example.com", "wrong")
    assert service.sign_in("alice@example.com", "right").signed_in


def test_unknown_dialects_are_invalid_arguments() -> None:
    with pytest.raises(msgr.InvalidArgError, match="MSNP13"):
        msgr.Service(protocol="MSNP13")
    with pytest.raises(msgr.InvalidArgTypeError):
        msgr.Service(protocol=11)  # type: ignore[arg-type]
    assert msgr.Service(protocol="msnp11").protocol == "MSNP11"
    assert msgr.Service().protocol == "MSNP7"


@pytest.mark.parametrize("protocol", DIALECTS)
def test_alerts_arrive_in_every_dialect(protocol: str) -> None:
    pair = pair_in(protocol)
    priv = pair.alice.messenger_priv()
    unlock(priv)
    alerts: list[str] = []
    priv.on_alert_received = alerts.append
    assert priv.enable_alert_events([42]) is msgr.HResult.S_OK
    pair.service.send_alert("alice@example.com", 42, "Your build finished")
    assert len(alerts) == 1 and "Your build finished" in alerts[0]
