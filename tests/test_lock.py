"""Lock and Key (IMsgrLock) through the public API: msgrpriv.md §1.1 and the decisions
C2 (an expired transaction fails), C3 (one transaction per object per sign-in session),
C4 (pings never reach apps), C5 (response format) and C7 (disabled / off)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import msgr
from conftest import ALICE, ALICE_AND_BOB, ALICE_PASSWORD, BOB, BOB_PASSWORD, CLIENT_ID, CLIENT_KEY, invalid_arg, raises_exactly
from msgr.testing import (
    LOCK_CALLBACKS,
    TEST_APP_ID,
    TEST_APP_KEY,
    Recorder,
    fail_unlock,
    new_service,
    pend,
    record,
    unlock,
)

S = msgr.LockStatus
DIGITS20 = re.compile(r"\d{20}")

#: msgrpriv.md §1.1, the LockStatus table: what RequestChallenge returns in each state.
REQUEST_ERROR: dict[S, type[msgr.MsgrError] | None] = {
    S.NOTINITIALIZED: msgr.ApiNotInitializedError,
    S.INITIALIZED: None,
    S.PENDINGRESULT: msgr.ApiPendingUnlockError,
    S.UNLOCKED: msgr.ApiAlreadyUnlockedError,
    S.UNLOCKFAILED: msgr.ApiUnlockFailedError,
    S.DISABLED: msgr.ApiDisabledError,
}
#: ... and SendResponse (with a well-formed response and the pending cookie).
SEND_ERROR: dict[S, type[msgr.MsgrError] | None] = {
    S.NOTINITIALIZED: msgr.ApiNotInitializedError,
    S.INITIALIZED: msgr.ApiLockedError,
    S.PENDINGRESULT: None,
    S.UNLOCKED: msgr.ApiAlreadyUnlockedError,
    S.UNLOCKFAILED: msgr.ApiUnlockFailedError,
    S.DISABLED: msgr.ApiDisabledError,
}


def started(cookie: int, challenge: str) -> list[tuple[str, tuple[Any, ...]]]:
    return [("on_lock_status_changed", (S.PENDINGRESULT,)), ("on_lock_challenge", (cookie, challenge))]


def succeeded(cookie: int) -> list[tuple[str, tuple[Any, ...]]]:
    return [("on_lock_result", (cookie, True)), ("on_lock_status_changed", (S.UNLOCKED,))]


def failed(cookie: int) -> list[tuple[str, tuple[Any, ...]]]:
    return [("on_lock_result", (cookie, False)), ("on_lock_status_changed", (S.UNLOCKFAILED,))]


ENABLED = [("on_lock_enable", (True,)), ("on_lock_status_changed", (S.INITIALIZED,))]
RELOCKED = [("on_lock_status_changed", (S.NOTINITIALIZED,))]


def make(messenger: msgr.Messenger, kind: str) -> msgr.MsgrLock:
    return messenger.session_manager() if kind == "manager" else messenger.messenger_priv()


# =========================================================================== the state table


@dataclass
class Reached:
    service: msgr.Service
    messenger: msgr.Messenger
    obj: msgr.MsgrLock
    status: S
    cookie: int = 77
    challenge: str | None = None
    keep: list[Any] = field(default_factory=list)


def reach(how: str, kind: str) -> Reached:
    """Reaches a LockStatus for real, through the public API only."""
    mode = {"disabled": "disabled", "off": "off"}.get(how, "enabled")
    service = new_service(mode, users=ALICE_AND_BOB)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    if how == "notinitialized-created-while-signed-out":
        alice.sign_out()
        return Reached(service, alice, make(alice, kind), S.NOTINITIALIZED)
    obj = make(alice, kind)
    r = Reached(service, alice, obj, S.INITIALIZED)
    if how == "notinitialized-signed-out-after-creation":
        alice.sign_out()
        r.status = S.NOTINITIALIZED
    elif how == "initialized":
        pass
    elif how == "pendingresult":
        r.challenge = pend(obj, r.cookie)
        r.status = S.PENDINGRESULT
    elif how == "unlocked":
        r.challenge = unlock(obj, cookie=r.cookie)
        r.status = S.UNLOCKED
    elif how == "unlockfailed-wrong-key":
        r.challenge = fail_unlock(obj, cookie=r.cookie, key="WRONGKEY")
        r.status = S.UNLOCKFAILED
    elif how == "unlockfailed-unknown-app-id":
        r.challenge = fail_unlock(obj, cookie=r.cookie, app_id="stranger@msnmsgr.com", key=TEST_APP_KEY)
        r.status = S.UNLOCKFAILED
    elif how == "unlockfailed-timeout":
        r.challenge = pend(obj, r.cookie)
        service.advance(50)
        r.status = S.UNLOCKFAILED
    elif how == "disabled":
        r.status = S.DISABLED
    elif how == "off":
        r.status = S.UNLOCKED
    else:  # pragma: no cover - a typo in the parametrization
        raise AssertionError(how)
    assert obj.status is r.status
    return r


WAYS = [
    "notinitialized-created-while-signed-out",
    "notinitialized-signed-out-after-creation",
    "initialized",
    "pendingresult",
    "unlocked",
    "unlockfailed-wrong-key",
    "unlockfailed-unknown-app-id",
    "unlockfailed-timeout",
    "disabled",
    "off",
]
KINDS = ["manager", "priv"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", WAYS)
def test_status_cell(how: str, kind: str) -> None:
    r = reach(how, kind)
    rec = record(r.obj, LOCK_CALLBACKS)
    before = len(r.service.trace)
    status = r.obj.status
    assert type(status) is S
    assert status is r.status
    assert r.obj.status is r.status  # reading it changes nothing
    assert rec == []
    assert len(r.service.trace) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", WAYS)
def test_request_challenge_cell(how: str, kind: str) -> None:
    r = reach(how, kind)
    rec = record(r.obj, LOCK_CALLBACKS)
    before = len(r.service.trace)
    expected = REQUEST_ERROR[r.status]
    if expected is None:
        r.obj.request_challenge(9)
        assert r.obj.status is S.PENDINGRESULT
        assert len(rec) == 2
        challenge = rec[1][1][1]
        assert DIGITS20.fullmatch(challenge)
        assert rec == started(9, challenge)
        new = [str(e) for e in r.service.trace[before:]]
        assert len(new) == 2
        trid = int(new[0].split()[1])
        assert new == [f"CHL {trid}", f"CHL {trid} {challenge}"]
    else:
        with raises_exactly(expected) as info:
            r.obj.request_challenge(9)
        assert info.value.hresult == expected.hresult
        assert r.obj.status is r.status
        assert rec == []
        assert len(r.service.trace) == before  # nothing went on the wire
        r.service.advance(100)
        if r.status is S.PENDINGRESULT:
            # Only the original transaction (cookie 77) exists, and it times out.
            assert rec == failed(r.cookie)
            assert r.obj.status is S.UNLOCKFAILED
        else:
            # No hidden transaction was started that could time out later.
            assert rec == []
            assert r.obj.status is r.status


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("how", WAYS)
def test_send_response_cell(how: str, kind: str) -> None:
    r = reach(how, kind)
    rec = record(r.obj, LOCK_CALLBACKS)
    before = len(r.service.trace)
    response = msgr.lock_response(r.challenge or "12345678901234567890", TEST_APP_KEY)
    expected = SEND_ERROR[r.status]
    if expected is None:
        r.obj.send_response(TEST_APP_ID, response, r.cookie)
        assert r.obj.status is S.UNLOCKED
        assert rec == succeeded(r.cookie)
        assert len(r.service.trace) == before + 2
    else:
        with raises_exactly(expected) as info:
            r.obj.send_response(TEST_APP_ID, response, r.cookie)
        assert info.value.hresult == expected.hresult
        assert r.obj.status is r.status
        assert rec == []
        assert len(r.service.trace) == before


# =========================================================================== full transactions


@pytest.mark.parametrize("kind", KINDS)
def test_full_unlock_event_sequence(alice: msgr.Messenger, service: msgr.Service, kind: str) -> None:
    obj = make(alice, kind)
    assert obj.status is S.INITIALIZED
    rec = record(obj, LOCK_CALLBACKS)
    obj.request_challenge(1234)
    assert obj.status is S.PENDINGRESULT
    assert [n for n, _ in rec] == ["on_lock_status_changed", "on_lock_challenge"]
    challenge = rec[1][1][1]
    assert isinstance(challenge, str) and DIGITS20.fullmatch(challenge)
    obj.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 1234)
    assert obj.status is S.UNLOCKED
    assert rec == started(1234, challenge) + succeeded(1234)
    # The status argument is the enum, the result flag a real bool.
    assert type(rec[0][1][0]) is S
    assert rec[2][1][1] is True
    assert alice.signed_in


def test_unlock_from_within_on_lock_challenge(manager: msgr.MsgrSessionManager) -> None:
    # The documented app pattern: answer the challenge in the callback.
    rec = record(manager, LOCK_CALLBACKS)
    def answer(cookie: int, challenge: str) -> None:
        rec.append(("on_lock_challenge", (cookie, challenge)))
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)

    manager.on_lock_challenge = answer
    manager.request_challenge(-5)
    assert manager.status is S.UNLOCKED
    challenge = rec[1][1][1]
    assert rec == started(-5, challenge) + succeeded(-5)


def test_wrong_key(manager: msgr.MsgrSessionManager, alice: msgr.Messenger, service: msgr.Service) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 3)
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, "NOTTHEKEY"), 3)
    assert manager.status is S.UNLOCKFAILED
    assert rec == started(3, challenge) + failed(3)
    # A failed app QRY gets 540 but the connection stays.
    assert alice.signed_in
    assert alice.state == "signed_in"
    last = service.trace[-1]
    assert last.direction == "S->C"
    assert last.command == "540"
    assert str(last) == f"540 {service.trace[-2].trid}"


def test_wrong_key_leaves_the_connection_usable(alice: msgr.Messenger, service: msgr.Service) -> None:
    manager = alice.session_manager()
    fail_unlock(manager, cookie=1, key="NOTTHEKEY")
    assert manager.status is S.UNLOCKFAILED
    priv = alice.messenger_priv()
    rec = record(priv, LOCK_CALLBACKS)
    challenge = unlock(priv, cookie=2)
    assert priv.status is S.UNLOCKED
    assert rec == started(2, challenge) + succeeded(2)
    assert manager.status is S.UNLOCKFAILED


def test_failed_app_responses_never_drop_the_connection(alice: msgr.Messenger, service: msgr.Service) -> None:
    # msnp.md §e.3 and the decision: a failed *app* QRY gets 540 and the connection stays,
    # however many objects of the session fail (each may fail once per session, C3).
    objs = [alice.session_manager() if i % 2 else alice.messenger_priv() for i in range(6)]
    for i, obj in enumerate(objs):
        rec = record(obj, LOCK_CALLBACKS)
        challenge = fail_unlock(obj, cookie=i, key="NOTTHEKEY")
        assert rec == started(i, challenge) + failed(i), i
        assert obj.status is S.UNLOCKFAILED, i
        assert alice.signed_in, f"signed out after {i + 1} failed app responses"
    assert not any(e.command == "OUT" for e in service.trace)
    # The session is still usable.
    last = alice.session_manager()
    unlock(last, cookie=99)
    assert last.status is S.UNLOCKED


def test_unknown_app_id_fails_like_a_wrong_key(manager: msgr.MsgrSessionManager, alice: msgr.Messenger, service: msgr.Service) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 11)
    manager.send_response("stranger@msnmsgr.com", msgr.lock_response(challenge, TEST_APP_KEY), 11)
    assert manager.status is S.UNLOCKFAILED
    assert rec == started(11, challenge) + failed(11)
    assert alice.signed_in
    assert service.trace[-1].command == "540"


def test_the_public_client_pair_cannot_unlock_an_app(manager: msgr.MsgrSessionManager, alice: msgr.Messenger) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 12)
    manager.send_response(CLIENT_ID, msgr.lock_response(challenge, CLIENT_KEY), 12)
    assert manager.status is S.UNLOCKFAILED
    assert rec == started(12, challenge) + failed(12)
    assert alice.signed_in


def test_send_response_after_wrong_key(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    challenge = fail_unlock(manager, cookie=5, key="NOTTHEKEY")
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(msgr.ApiUnlockFailedError):
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 5)
    assert manager.status is S.UNLOCKFAILED
    assert rec == []
    assert len(service.trace) == before


def test_wrong_cookie(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 100)
    rec.clear()
    before = len(service.trace)
    response = msgr.lock_response(challenge, TEST_APP_KEY)
    for wrong in (101, 0, -100, 2**31 - 1):
        with raises_exactly(msgr.InvalidArgError):
            manager.send_response(TEST_APP_ID, response, wrong)
        assert manager.status is S.PENDINGRESULT
    assert rec == []
    assert len(service.trace) == before
    # The transaction is intact.
    manager.send_response(TEST_APP_ID, response, 100)
    assert manager.status is S.UNLOCKED
    assert rec == succeeded(100)


@pytest.mark.parametrize(
    "response",
    [
        "",
        "0" * 31,
        "0" * 33,
        "g" * 32,
        "0x" + "0" * 30,
        "0123456789abcdef 123456789abcdef",
        "z123456789abcdef0123456789abcdef",
    ],
    ids=["empty", "31-digits", "33-digits", "not-hex", "0x-prefix", "inner-space", "one-bad-digit"],
)
def test_response_must_be_32_hex_digits(manager: msgr.MsgrSessionManager, service: msgr.Service, response: str) -> None:
    challenge = pend(manager, 8)
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(msgr.InvalidArgError):
        manager.send_response(TEST_APP_ID, response, 8)
    assert manager.status is S.PENDINGRESULT
    assert rec == []
    assert len(service.trace) == before
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 8)
    assert manager.status is S.UNLOCKED


@pytest.mark.parametrize(
    "app_id",
    ["", " ", "test app@msnmsgr.com", " testapp@msnmsgr.com", "testapp@msnmsgr.com ", "tab\tapp@msnmsgr.com"],
    ids=["empty", "space", "inner-space", "leading-space", "trailing-space", "tab"],
)
def test_app_id_must_be_one_token(manager: msgr.MsgrSessionManager, service: msgr.Service, app_id: str) -> None:
    challenge = pend(manager, 8)
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(msgr.InvalidArgError):
        manager.send_response(app_id, msgr.lock_response(challenge, TEST_APP_KEY), 8)
    assert manager.status is S.PENDINGRESULT
    assert rec == []
    assert len(service.trace) == before
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 8)
    assert manager.status is S.UNLOCKED


def test_response_is_case_insensitive(manager: msgr.MsgrSessionManager) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 21)
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY).upper(), 21)
    assert manager.status is S.UNLOCKED
    assert rec == started(21, challenge) + succeeded(21)


def test_response_whitespace_is_trimmed(manager: msgr.MsgrSessionManager) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 22)
    manager.send_response(TEST_APP_ID, "  " + msgr.lock_response(challenge, TEST_APP_KEY) + "\r\n", 22)
    assert manager.status is S.UNLOCKED
    assert rec == started(22, challenge) + succeeded(22)


# =========================================================================== one transaction per session


def test_second_request_while_pending(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    challenge = pend(manager, 1)
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(msgr.ApiPendingUnlockError):
        manager.request_challenge(2)
    with raises_exactly(msgr.ApiPendingUnlockError):
        manager.request_challenge(1)
    assert rec == []
    assert len(service.trace) == before
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 1)
    assert rec == succeeded(1)


def test_second_request_after_unlock(manager: msgr.MsgrSessionManager) -> None:
    unlock(manager, cookie=1)
    rec = record(manager, LOCK_CALLBACKS)
    with raises_exactly(msgr.ApiAlreadyUnlockedError):
        manager.request_challenge(2)
    assert manager.status is S.UNLOCKED
    assert rec == []


def test_second_request_after_failure(manager: msgr.MsgrSessionManager) -> None:
    fail_unlock(manager, cookie=1, key="NOTTHEKEY")
    rec = record(manager, LOCK_CALLBACKS)
    with raises_exactly(msgr.ApiUnlockFailedError):
        manager.request_challenge(2)
    assert manager.status is S.UNLOCKFAILED
    assert rec == []


# =========================================================================== timeout (C2)


def test_timeout(manager: msgr.MsgrSessionManager, alice: msgr.Messenger, service: msgr.Service) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = pend(manager, 31)
    assert rec == started(31, challenge)
    rec.clear()
    service.advance(49)
    assert service.now == 49
    assert manager.status is S.PENDINGRESULT
    assert rec == []
    service.advance(1)
    assert service.now == 50
    assert manager.status is S.UNLOCKFAILED
    assert rec == failed(31)
    assert alice.signed_in
    rec.clear()
    with raises_exactly(msgr.ApiUnlockFailedError):
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 31)
    with raises_exactly(msgr.ApiUnlockFailedError):
        manager.request_challenge(32)
    service.advance(100)
    assert rec == []


def test_timeout_in_one_big_step(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    pend(manager, 1)
    rec = record(manager, LOCK_CALLBACKS)
    service.advance(3600)
    assert rec == failed(1)
    assert manager.status is S.UNLOCKFAILED
    assert service.now == 3600


def test_timeout_counts_from_the_request(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    service.advance(30)
    pend(manager, 1)
    rec = record(manager, LOCK_CALLBACKS)
    service.advance(49.5)
    assert manager.status is S.PENDINGRESULT
    assert rec == []
    service.advance(0.5)
    assert manager.status is S.UNLOCKFAILED
    assert rec == failed(1)


def test_response_just_before_the_timeout(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    challenge = pend(manager, 1)
    service.advance(49)
    rec = record(manager, LOCK_CALLBACKS)
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 1)
    assert rec == succeeded(1)
    service.advance(60)
    assert rec == succeeded(1)
    assert manager.status is S.UNLOCKED


def test_timeouts_of_two_objects_fire_in_order(alice: msgr.Messenger, service: msgr.Service) -> None:
    first, second = alice.session_manager(), alice.messenger_priv()
    log = Recorder()
    pend(second, 2)
    service.advance(10)
    pend(first, 1)
    log.watch(first, "first", LOCK_CALLBACKS)
    log.watch(second, "second", LOCK_CALLBACKS)
    service.advance(100)
    assert log == [
        ("second", "on_lock_result", (2, False)),
        ("second", "on_lock_status_changed", (S.UNLOCKFAILED,)),
        ("first", "on_lock_result", (1, False)),
        ("first", "on_lock_status_changed", (S.UNLOCKFAILED,)),
    ]


# =========================================================================== sign-out / sign-in (C3)


def test_relock_after_sign_out_and_sign_in(alice: msgr.Messenger, manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    first = unlock(manager, cookie=1)
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    assert manager.status is S.NOTINITIALIZED
    assert rec == RELOCKED
    rec.clear()
    with raises_exactly(msgr.ApiNotInitializedError):
        manager.request_challenge(2)
    with raises_exactly(msgr.ApiNotInitializedError):
        manager.send_response(TEST_APP_ID, msgr.lock_response(first, TEST_APP_KEY), 1)
    assert rec == []
    alice.sign_in()
    assert manager.status is S.INITIALIZED
    assert rec == ENABLED
    rec.clear()
    # A new transaction in the new session.
    second = unlock(manager, cookie=2)
    assert manager.status is S.UNLOCKED
    assert rec == started(2, second) + succeeded(2)
    assert second != first


def test_relock_after_failure(alice: msgr.Messenger, manager: msgr.MsgrSessionManager) -> None:
    fail_unlock(manager, cookie=1, key="NOTTHEKEY")
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    alice.sign_in()
    assert rec == RELOCKED + ENABLED
    rec.clear()
    challenge = unlock(manager, cookie=2)
    assert rec == started(2, challenge) + succeeded(2)


def test_sign_out_while_pending(alice: msgr.Messenger, manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    old = pend(manager, 1)
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    assert rec == RELOCKED
    assert manager.status is S.NOTINITIALIZED
    service.advance(100)  # the dropped transaction never times out
    assert rec == RELOCKED
    alice.sign_in()
    assert rec == RELOCKED + ENABLED
    rec.clear()
    with raises_exactly(msgr.ApiLockedError):
        manager.send_response(TEST_APP_ID, msgr.lock_response(old, TEST_APP_KEY), 1)
    challenge = unlock(manager, cookie=3)
    assert rec == started(3, challenge) + succeeded(3)


def test_sign_out_from_initialized(alice: msgr.Messenger, manager: msgr.MsgrSessionManager) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    assert rec == RELOCKED
    alice.sign_in()
    assert rec == RELOCKED + ENABLED


def test_many_sessions(alice: msgr.Messenger, manager: msgr.MsgrSessionManager) -> None:
    for i in range(4):
        rec = record(manager, LOCK_CALLBACKS)
        challenge = unlock(manager, cookie=i)
        assert rec == started(i, challenge) + succeeded(i)
        alice.sign_out()
        alice.sign_in()
        assert manager.status is S.INITIALIZED


def test_object_created_while_signed_out_is_enabled_at_sign_in(alice: msgr.Messenger) -> None:
    alice.sign_out()
    manager = alice.session_manager()
    assert manager.status is S.NOTINITIALIZED
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_in()
    assert rec == ENABLED
    assert rec[0][1][0] is True
    assert type(rec[1][1][0]) is S
    assert manager.status is S.INITIALIZED


def test_object_created_while_signed_in_starts_initialized_without_events(alice: msgr.Messenger, service: msgr.Service) -> None:
    manager = alice.session_manager()
    assert manager.status is S.INITIALIZED
    rec = record(manager, LOCK_CALLBACKS)
    # Anything queued for it at creation would be delivered by the next call.
    service.advance(0)
    other = alice.messenger_priv()
    unlock(other, cookie=1)
    assert rec == []
    assert manager.status is S.INITIALIZED


# =========================================================================== separate objects


def test_manager_and_priv_unlock_separately(alice: msgr.Messenger, service: msgr.Service) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    log = Recorder()
    log.watch(manager, "manager", LOCK_CALLBACKS)
    log.watch(priv, "priv", LOCK_CALLBACKS)
    challenge = unlock(manager, cookie=1)
    assert manager.status is S.UNLOCKED
    assert priv.status is S.INITIALIZED
    assert log == [
        ("manager", "on_lock_status_changed", (S.PENDINGRESULT,)),
        ("manager", "on_lock_challenge", (1, challenge)),
        ("manager", "on_lock_result", (1, True)),
        ("manager", "on_lock_status_changed", (S.UNLOCKED,)),
    ]
    log.clear()
    challenge = unlock(priv, cookie=2)
    assert priv.status is S.UNLOCKED
    assert log == [
        ("priv", "on_lock_status_changed", (S.PENDINGRESULT,)),
        ("priv", "on_lock_challenge", (2, challenge)),
        ("priv", "on_lock_result", (2, True)),
        ("priv", "on_lock_status_changed", (S.UNLOCKED,)),
    ]


def test_priv_unlocked_leaves_manager_initialized(alice: msgr.Messenger) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    rec = record(manager, LOCK_CALLBACKS)
    unlock(priv, cookie=1)
    assert priv.status is S.UNLOCKED
    assert manager.status is S.INITIALIZED
    assert rec == []


def test_same_cookie_on_two_objects(alice: msgr.Messenger) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    m_rec, p_rec = record(manager, LOCK_CALLBACKS), record(priv, LOCK_CALLBACKS)
    m_challenge = pend(manager, 7)
    p_challenge = pend(priv, 7)
    # Answer in the other order: each result goes to its own object.
    priv.send_response(TEST_APP_ID, msgr.lock_response(p_challenge, "NOTTHEKEY"), 7)
    manager.send_response(TEST_APP_ID, msgr.lock_response(m_challenge, TEST_APP_KEY), 7)
    assert m_rec == started(7, m_challenge) + succeeded(7)
    assert p_rec == started(7, p_challenge) + failed(7)
    assert manager.status is S.UNLOCKED
    assert priv.status is S.UNLOCKFAILED


def test_a_qry_answers_any_live_challenge_of_the_connection(alice: msgr.Messenger) -> None:
    # msnp.md §e.3: a QRY does not say which challenge it answers; the service accepts a
    # digest matching any live challenge of the connection and consumes that challenge.
    manager, priv = alice.session_manager(), alice.messenger_priv()
    pend(manager, 1)
    p_challenge = pend(priv, 2)
    m_rec, p_rec = record(manager, LOCK_CALLBACKS), record(priv, LOCK_CALLBACKS)
    manager.send_response(TEST_APP_ID, msgr.lock_response(p_challenge, TEST_APP_KEY), 1)
    assert m_rec == succeeded(1)
    assert manager.status is S.UNLOCKED
    assert priv.status is S.PENDINGRESULT
    assert p_rec == []
    # priv's challenge was consumed: its own correct answer no longer matches anything live
    # except the manager's challenge, which its digest does not fit.
    priv.send_response(TEST_APP_ID, msgr.lock_response(p_challenge, TEST_APP_KEY), 2)
    assert p_rec == failed(2)
    assert priv.status is S.UNLOCKFAILED


def test_each_call_returns_a_new_separately_locked_object(alice: msgr.Messenger) -> None:
    a, b = alice.session_manager(), alice.session_manager()
    assert a is not b
    rec = record(b, LOCK_CALLBACKS)
    unlock(a, cookie=1)
    assert a.status is S.UNLOCKED
    assert b.status is S.INITIALIZED
    assert rec == []
    unlock(b, cookie=1)
    assert b.status is S.UNLOCKED


def test_object_types(alice: msgr.Messenger) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    assert isinstance(manager, msgr.MsgrSessionManager)
    assert isinstance(manager, msgr.MsgrLock)
    assert isinstance(priv, msgr.MessengerPriv)
    assert isinstance(priv, msgr.MsgrLock)
    assert not isinstance(manager, msgr.MessengerPriv)
    assert not isinstance(priv, msgr.MsgrSessionManager)


def test_objects_of_two_messengers_are_independent(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    a_obj, b_obj = alice.session_manager(), bob.session_manager()
    log = Recorder()
    log.watch(a_obj, "alice", LOCK_CALLBACKS)
    log.watch(b_obj, "bob", LOCK_CALLBACKS)
    a_challenge = unlock(a_obj, cookie=1)
    assert a_obj.status is S.UNLOCKED
    assert b_obj.status is S.INITIALIZED
    assert [e[0] for e in log] == ["alice"] * 4
    log.clear()
    alice.sign_out()
    assert log == [("alice", "on_lock_status_changed", (S.NOTINITIALIZED,))]
    assert b_obj.status is S.INITIALIZED
    assert bob.signed_in
    log.clear()
    b_challenge = unlock(b_obj, cookie=1)
    assert b_challenge != a_challenge
    assert [e[0] for e in log] == ["bob"] * 4
    assert b_obj.status is S.UNLOCKED
    assert a_obj.status is S.NOTINITIALIZED


def test_failure_on_one_messenger_does_not_touch_the_other(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    a_obj, b_obj = alice.session_manager(), bob.session_manager()
    b_rec = record(b_obj, LOCK_CALLBACKS)
    pend(b_obj, 5)
    fail_unlock(a_obj, cookie=5, key="NOTTHEKEY")
    assert a_obj.status is S.UNLOCKFAILED
    assert b_obj.status is S.PENDINGRESULT
    assert [n for n, _ in b_rec] == ["on_lock_status_changed", "on_lock_challenge"]


# =========================================================================== C4: pings never reach apps


def test_the_services_ping_is_answered_by_messenger_not_apps(alice: msgr.Messenger, service: msgr.Service) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    alice.sign_out()
    m_rec, p_rec = record(manager, LOCK_CALLBACKS), record(priv, LOCK_CALLBACKS)
    before = len(service.trace)
    alice.sign_in()
    new = service.trace[before:]
    pings = [e for e in new if e.command == "CHL"]
    assert len(pings) == 1 and pings[0].args[0] == "0"
    answers = [e for e in new if e.command == "QRY" and e.direction == "C->S"]
    assert len(answers) == 1 and answers[0].args[1] == CLIENT_ID
    assert m_rec == ENABLED
    assert p_rec == ENABLED


# =========================================================================== C7: disabled and off


def test_disabled_sign_in_events(disabled_service: msgr.Service) -> None:
    alice = disabled_service.sign_in(ALICE, ALICE_PASSWORD)
    manager, priv = alice.session_manager(), alice.messenger_priv()
    assert manager.status is S.DISABLED
    assert priv.status is S.DISABLED
    alice.sign_out()
    m_rec, p_rec = record(manager, LOCK_CALLBACKS), record(priv, LOCK_CALLBACKS)
    alice.sign_in()
    assert m_rec == [("on_lock_enable", (False,)), ("on_lock_status_changed", (S.DISABLED,))]
    assert p_rec == [("on_lock_enable", (False,)), ("on_lock_status_changed", (S.DISABLED,))]
    assert m_rec[0][1][0] is False


def test_disabled_calls_raise(disabled_service: msgr.Service) -> None:
    alice = disabled_service.sign_in(ALICE, ALICE_PASSWORD)
    for obj in (alice.session_manager(), alice.messenger_priv()):
        rec = record(obj, LOCK_CALLBACKS)
        before = len(disabled_service.trace)
        with raises_exactly(msgr.ApiDisabledError):
            obj.request_challenge(1)
        with raises_exactly(msgr.ApiDisabledError):
            obj.send_response(TEST_APP_ID, "0" * 32, 1)
        assert obj.status is S.DISABLED
        assert rec == []
        assert len(disabled_service.trace) == before


def test_disabled_object_created_while_signed_in_has_no_events(disabled_service: msgr.Service) -> None:
    alice = disabled_service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    rec = record(manager, LOCK_CALLBACKS)
    disabled_service.advance(0)
    assert rec == []
    assert manager.status is S.DISABLED


def test_disabled_sign_out_relocks(disabled_service: msgr.Service) -> None:
    alice = disabled_service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    assert rec == RELOCKED
    with raises_exactly(msgr.ApiNotInitializedError):
        manager.request_challenge(1)


def test_off_objects_are_unlocked_without_lock_enable(off_service: msgr.Service) -> None:
    alice = off_service.sign_in(ALICE, ALICE_PASSWORD)
    manager, priv = alice.session_manager(), alice.messenger_priv()
    assert manager.status is S.UNLOCKED
    assert priv.status is S.UNLOCKED
    alice.sign_out()
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_in()
    assert rec == [("on_lock_status_changed", (S.UNLOCKED,))]
    assert "on_lock_enable" not in rec.names()


def test_off_calls_raise_already_unlocked(off_service: msgr.Service) -> None:
    alice = off_service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    rec = record(manager, LOCK_CALLBACKS)
    before = len(off_service.trace)
    with raises_exactly(msgr.ApiAlreadyUnlockedError):
        manager.request_challenge(1)
    with raises_exactly(msgr.ApiAlreadyUnlockedError):
        manager.send_response(TEST_APP_ID, "0" * 32, 1)
    assert rec == []
    assert len(off_service.trace) == before
    assert not any(e.command == "CHL" and e.direction == "C->S" for e in off_service.trace)


def test_off_sign_out_relocks(off_service: msgr.Service) -> None:
    alice = off_service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    rec = record(manager, LOCK_CALLBACKS)
    alice.sign_out()
    assert rec == RELOCKED
    assert manager.status is S.NOTINITIALIZED


# =========================================================================== argument checks


@pytest.mark.parametrize(
    "cookie",
    [True, False, "1", 1.0, None, 2**31, -(2**31) - 1, 2**63, b"1"],
    ids=["True", "False", "str", "float", "None", "2**31", "-2**31-1", "2**63", "bytes"],
)
def test_request_challenge_cookie_must_be_a_long(manager: msgr.MsgrSessionManager, service: msgr.Service, cookie: Any) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(invalid_arg((cookie, int))):
        manager.request_challenge(cookie)
    assert manager.status is S.INITIALIZED
    assert rec == []
    assert len(service.trace) == before


@pytest.mark.parametrize("cookie", [-(2**31), 2**31 - 1, 0])
def test_cookie_limits_are_accepted(manager: msgr.MsgrSessionManager, cookie: int) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    challenge = unlock(manager, cookie=cookie)
    assert rec == started(cookie, challenge) + succeeded(cookie)
    assert type(rec[1][1][0]) is int


def test_cookie_accepts_index_types(manager: msgr.MsgrSessionManager) -> None:
    class Index:
        def __index__(self) -> int:
            return 17

    rec = record(manager, LOCK_CALLBACKS)
    manager.request_challenge(Index())
    assert rec[1][1][0] == 17


@pytest.mark.parametrize(
    ("app_id", "response", "cookie"),
    [
        (None, "ok", 1),
        (5, "ok", 1),
        (b"testapp@msnmsgr.com", "ok", 1),
        (TEST_APP_ID, None, 1),
        (TEST_APP_ID, b"0" * 32, 1),
        (TEST_APP_ID, 123, 1),
        (TEST_APP_ID, "ok", True),
        (TEST_APP_ID, "ok", "1"),
        (TEST_APP_ID, "ok", 1.0),
        (TEST_APP_ID, "ok", None),
        (TEST_APP_ID, "ok", 2**31),
        (TEST_APP_ID, "ok", -(2**31) - 1),
    ],
    ids=[
        "app_id-None",
        "app_id-int",
        "app_id-bytes",
        "response-None",
        "response-bytes",
        "response-int",
        "cookie-True",
        "cookie-str",
        "cookie-float",
        "cookie-None",
        "cookie-2**31",
        "cookie-below-long",
    ],
)
def test_send_response_argument_types(manager: msgr.MsgrSessionManager, service: msgr.Service, app_id: Any, response: Any, cookie: Any) -> None:
    challenge = pend(manager, 1)
    good = msgr.lock_response(challenge, TEST_APP_KEY)
    if response == "ok":
        response = good
    rec = record(manager, LOCK_CALLBACKS)
    before = len(service.trace)
    with raises_exactly(invalid_arg((app_id, str), (response, str), (cookie, int))) as info:
        manager.send_response(app_id, response, cookie)
    assert isinstance(info.value, ValueError)
    assert manager.status is S.PENDINGRESULT
    assert rec == []
    assert len(service.trace) == before
    manager.send_response(TEST_APP_ID, good, 1)
    assert manager.status is S.UNLOCKED


# =========================================================================== the model


@dataclass
class ObjModel:
    status: S
    cookie: int | None = None
    challenge: str | None = None
    deadline: float | None = None


COOKIES = st.integers(min_value=-(2**31), max_value=2**31 - 1)
#: Operation names, weighted towards the lock calls so that every state gets exercised.
OP_NAMES = (
    ["request"] * 4 + ["send_good"] * 3 + ["send_bad"] * 2 + ["send_wrong_cookie"] * 2 + ["advance"] * 2
    + ["sign_out", "sign_in", "new_object"]
)
OPS = st.lists(
    st.tuples(
        st.sampled_from(OP_NAMES),
        st.sampled_from([0, 0, 0, 0, 1, 1, 2, 3]),
        COOKIES,
        st.sampled_from([0, 1, 10, 25, 49, 50, 60]),
        st.sampled_from(KINDS),
    ),
    min_size=4,
    max_size=40,
)


@settings(deadline=None, max_examples=200)
@given(mode=st.sampled_from(["enabled", "enabled", "enabled", "disabled", "off"]), ops=OPS)
def test_random_operations_follow_the_state_table(mode: str, ops: list[tuple[Any, ...]]) -> None:
    # What sign-in completion does to every object, by service mode (C7).
    on_sign_in = {
        "enabled": (S.INITIALIZED, ENABLED),
        "disabled": (S.DISABLED, [("on_lock_enable", (False,)), ("on_lock_status_changed", (S.DISABLED,))]),
        "off": (S.UNLOCKED, [("on_lock_status_changed", (S.UNLOCKED,))]),
    }[mode]
    service = new_service(mode, users=ALICE_AND_BOB)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    objs: list[msgr.MsgrLock] = [alice.session_manager(), alice.messenger_priv(), alice.session_manager()]
    model = [ObjModel(on_sign_in[0]) for _ in objs]
    recs = [record(o, LOCK_CALLBACKS) for o in objs]
    signed_in = True
    now = 0.0

    def expect_error(i: int, err: type[msgr.MsgrError], fn: Any, *args: Any) -> None:
        event(f"{fn.__name__} -> {err.__name__}")
        before = len(service.trace)
        with raises_exactly(err):
            fn(*args)
        assert len(service.trace) == before
        expected[i] = []

    for op in ops:
        expected: dict[int, list[Any]] = {i: [] for i in range(len(objs))}
        name = op[0]
        if name in ("request", "send_good", "send_bad", "send_wrong_cookie"):
            i = op[1] % len(objs)
            obj, m = objs[i], model[i]
            if name == "request":
                err = REQUEST_ERROR[m.status]
                if err is not None:
                    expect_error(i, err, obj.request_challenge, op[2])
                else:
                    obj.request_challenge(op[2])
                    event("request_challenge -> ok")
                    got = recs[i][-1]
                    assert got[0] == "on_lock_challenge"
                    challenge = got[1][1]
                    assert DIGITS20.fullmatch(challenge)
                    m.status, m.cookie, m.challenge, m.deadline = S.PENDINGRESULT, op[2], challenge, now + 50
                    expected[i] = started(op[2], challenge)
            else:
                key = TEST_APP_KEY if name != "send_bad" else "NOTTHEKEY"
                response = msgr.lock_response(m.challenge or "12345678901234567890", key)
                cookie = m.cookie if m.cookie is not None else 0
                if name == "send_wrong_cookie":
                    cookie ^= 1
                err = SEND_ERROR[m.status]
                if err is None and name == "send_wrong_cookie":
                    err = msgr.InvalidArgError
                if err is not None:
                    expect_error(i, err, obj.send_response, TEST_APP_ID, response, cookie)
                else:
                    obj.send_response(TEST_APP_ID, response, cookie)
                    event(f"{name} -> ok")
                    ok = name == "send_good"
                    m.status = S.UNLOCKED if ok else S.UNLOCKFAILED
                    m.deadline = None
                    expected[i] = succeeded(cookie) if ok else failed(cookie)
        elif name == "advance":
            service.advance(op[3])
            now += op[3]
            for i, m in enumerate(model):
                if m.status is S.PENDINGRESULT and m.deadline is not None and m.deadline <= now:
                    m.status, m.deadline = S.UNLOCKFAILED, None
                    expected[i] = failed(m.cookie)  # type: ignore[arg-type]
                    event("timeout")
        elif name == "sign_out":
            if not signed_in:
                continue
            alice.sign_out()
            signed_in = False
            for i, m in enumerate(model):
                if m.status is not S.NOTINITIALIZED:
                    expected[i] = list(RELOCKED)
                model[i] = ObjModel(S.NOTINITIALIZED)
        elif name == "sign_in":
            if signed_in:
                continue
            alice.sign_in()
            signed_in = True
            for i in range(len(model)):
                model[i] = ObjModel(on_sign_in[0])
                expected[i] = list(on_sign_in[1])
        elif name == "new_object":
            if len(objs) >= 4:
                continue
            objs.append(make(alice, op[4]))
            model.append(ObjModel(on_sign_in[0] if signed_in else S.NOTINITIALIZED))
            recs.append(record(objs[-1], LOCK_CALLBACKS))
            expected[len(objs) - 1] = []
        for i, obj in enumerate(objs):
            assert recs[i] == expected.get(i, []), (op, i)
            recs[i].clear()
            assert obj.status is model[i].status, (op, i)
        assert service.now == now
        assert alice.signed_in is signed_in
