"""Callback delivery in embedded mode (design §2 and §3): run to completion, FIFO,
re-entrant calls are queued, and a callback's exception is never swallowed."""

from __future__ import annotations

from typing import Any

import pytest

import msgr
from conftest import raises_exactly
from msgr.testing import LOCK_CALLBACKS, MESSENGER_CALLBACKS, TEST_APP_ID, TEST_APP_KEY, Recorder, pend, record, unlock

S = msgr.LockStatus


class Boom(Exception):
    pass


class Bang(Exception):
    pass


def notes(exc: BaseException) -> list[str]:
    return list(getattr(exc, "__notes__", []))


# =========================================================================== exceptions


def test_raising_callback_propagates_the_same_object(manager: msgr.MsgrSessionManager) -> None:
    raised: list[BaseException] = []
    rec = record(manager, LOCK_CALLBACKS)

    def on_status(status: S) -> None:
        rec.append(("on_lock_status_changed", (status,)))
        if status is S.PENDINGRESULT:
            exc = Boom("status callback failed")
            raised.append(exc)
            raise exc

    manager.on_lock_status_changed = on_status
    with pytest.raises(Boom) as info:
        manager.request_challenge(1)
    assert info.value is raised[0]
    assert str(info.value) == "status callback failed"
    assert any("on_lock_status_changed" in n for n in notes(info.value))
    # The remaining event was still delivered, and the state change happened.
    assert [n for n, _ in rec] == ["on_lock_status_changed", "on_lock_challenge"]
    assert rec[1][1][0] == 1
    assert manager.status is S.PENDINGRESULT
    # And the transaction goes on normally.
    challenge = rec[1][1][1]
    manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 1)
    assert manager.status is S.UNLOCKED
    assert rec[2:] == [("on_lock_result", (1, True)), ("on_lock_status_changed", (S.UNLOCKED,))]


@pytest.mark.parametrize("event", LOCK_CALLBACKS[1:])
def test_note_names_the_event(manager: msgr.MsgrSessionManager, event: str) -> None:
    def bad(*args: Any) -> None:
        raise Boom(event)

    setattr(manager, event, bad)
    with pytest.raises(Boom) as info:
        unlock(manager, cookie=1) if event != "on_lock_challenge" else manager.request_challenge(1)
    assert any(event in n for n in notes(info.value)), notes(info.value)


def test_raise_in_on_lock_challenge_keeps_the_transaction(manager: msgr.MsgrSessionManager) -> None:
    seen: list[tuple[int, str]] = []

    def bad(cookie: int, challenge: str) -> None:
        seen.append((cookie, challenge))
        raise Boom("challenge")

    manager.on_lock_challenge = bad
    with pytest.raises(Boom):
        manager.request_challenge(5)
    assert manager.status is S.PENDINGRESULT
    manager.on_lock_challenge = None
    manager.send_response(TEST_APP_ID, msgr.lock_response(seen[0][1], TEST_APP_KEY), 5)
    assert manager.status is S.UNLOCKED


def test_two_raising_callbacks_first_wins(manager: msgr.MsgrSessionManager) -> None:
    first = Boom("first")
    second = Bang("second")
    order: list[str] = []

    def on_status(status: S) -> None:
        order.append("status")
        raise first

    def on_challenge(cookie: int, challenge: str) -> None:
        order.append("challenge")
        raise second

    manager.on_lock_status_changed = on_status
    manager.on_lock_challenge = on_challenge
    with pytest.raises(Boom) as info:
        manager.request_challenge(1)
    assert info.value is first
    assert order == ["status", "challenge"]
    n = notes(first)
    assert any("on_lock_status_changed" in x for x in n)
    assert any("Bang" in x and "second" in x for x in n), n
    # The second exception was noted with its own event too.
    assert any("on_lock_challenge" in x for x in notes(second))


def test_raise_during_sign_in(alice: msgr.Messenger) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    alice.sign_out()
    p_rec = record(priv, LOCK_CALLBACKS)

    def bad(enabled: bool) -> None:
        raise Boom("enable")

    manager.on_lock_enable = bad
    with pytest.raises(Boom) as info:
        alice.sign_in()
    assert any("on_lock_enable" in n for n in notes(info.value))
    assert alice.signed_in
    assert manager.status is S.INITIALIZED
    assert p_rec == [("on_lock_enable", (True,)), ("on_lock_status_changed", (S.INITIALIZED,))]


def test_raise_during_sign_out(alice: msgr.Messenger) -> None:
    manager = alice.session_manager()
    m_rec = record(alice)

    def bad(status: S) -> None:
        raise Boom("relock")

    manager.on_lock_status_changed = bad
    with pytest.raises(Boom) as info:
        alice.sign_out()
    assert any("on_lock_status_changed" in n for n in notes(info.value))
    assert alice.state == "offline"
    assert manager.status is S.NOTINITIALIZED
    assert m_rec == [("on_signed_out", ("user",))]


def test_raise_from_advance(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    pend(manager, 9)
    statuses: list[S] = []
    raised: list[BaseException] = []

    def on_result(cookie: int, ok: bool) -> None:
        exc = Boom(f"result {cookie} {ok}")
        raised.append(exc)
        raise exc

    manager.on_lock_result = on_result
    manager.on_lock_status_changed = statuses.append
    service.advance(49)
    assert raised == []
    with pytest.raises(Boom) as info:
        service.advance(1)
    assert info.value is raised[0]
    assert str(info.value) == "result 9 False"
    assert any("on_lock_result" in n for n in notes(info.value))
    assert statuses == [S.UNLOCKFAILED]
    assert manager.status is S.UNLOCKFAILED
    assert service.now == 50


def test_no_stale_events_after_an_exception(manager: msgr.MsgrSessionManager, service: msgr.Service) -> None:
    rec = record(manager, LOCK_CALLBACKS)

    def bad(status: S) -> None:
        raise Boom()

    manager.on_lock_status_changed = bad
    with pytest.raises(Boom):
        manager.request_challenge(1)
    n = len(rec)
    service.advance(1)
    assert len(rec) == n


def test_base_exception_is_not_wrapped(manager: msgr.MsgrSessionManager) -> None:
    # Not an Exception: it goes straight through (and must not wedge the dispatcher).
    class Stop(BaseException):
        pass

    def bad(status: S) -> None:
        raise Stop()

    manager.on_lock_status_changed = bad
    with pytest.raises(Stop):
        manager.request_challenge(1)
    manager.on_lock_status_changed = None
    other = manager.messenger.messenger_priv()
    rec = record(other, LOCK_CALLBACKS)
    challenge = unlock(other, cookie=2)
    assert rec[-2:] == [("on_lock_result", (2, True)), ("on_lock_status_changed", (S.UNLOCKED,))]
    assert challenge


# =========================================================================== re-entrancy and FIFO


def test_send_response_from_on_lock_challenge_is_fifo(manager: msgr.MsgrSessionManager) -> None:
    log: list[Any] = []

    def on_challenge(cookie: int, challenge: str) -> None:
        log.append(("on_lock_challenge", (cookie, challenge)))
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)
        log.append("send_response returned")

    manager.on_lock_challenge = on_challenge
    manager.on_lock_status_changed = lambda s: log.append(("on_lock_status_changed", (s,)))
    manager.on_lock_result = lambda c, ok: log.append(("on_lock_result", (c, ok)))
    manager.request_challenge(3)
    challenge = log[1][1][1]
    assert log == [
        ("on_lock_status_changed", (S.PENDINGRESULT,)),
        ("on_lock_challenge", (3, challenge)),
        "send_response returned",
        ("on_lock_result", (3, True)),
        ("on_lock_status_changed", (S.UNLOCKED,)),
    ]
    assert manager.status is S.UNLOCKED


def test_nested_events_come_after_those_already_queued(alice: msgr.Messenger) -> None:
    first, second = alice.session_manager(), alice.messenger_priv()
    alice.sign_out()
    log = Recorder()
    log.watch(second, "second", LOCK_CALLBACKS)
    log.watch(first, "first", LOCK_CALLBACKS)

    def enable_then_request(enabled: bool) -> None:
        log.append(("first", "on_lock_enable", (enabled,)))
        first.request_challenge(10)
        log.append(("first", "request_challenge returned", ()))

    first.on_lock_enable = enable_then_request
    alice.sign_in()
    challenge = log[-1][2][1]
    assert log == [
        ("first", "on_lock_enable", (True,)),
        ("first", "request_challenge returned", ()),
        ("first", "on_lock_status_changed", (S.INITIALIZED,)),
        ("second", "on_lock_enable", (True,)),
        ("second", "on_lock_status_changed", (S.INITIALIZED,)),
        ("first", "on_lock_status_changed", (S.PENDINGRESULT,)),
        ("first", "on_lock_challenge", (10, challenge)),
    ]
    assert first.status is S.PENDINGRESULT
    assert second.status is S.INITIALIZED


def test_callback_calls_into_another_object(alice: msgr.Messenger) -> None:
    manager, priv = alice.session_manager(), alice.messenger_priv()
    log = Recorder()
    log.watch(manager, "m", LOCK_CALLBACKS)
    log.watch(priv, "p", LOCK_CALLBACKS)

    def chain(cookie: int, ok: bool) -> None:
        log.append(("m", "on_lock_result", (cookie, ok)))
        priv.request_challenge(2)
        # Nested: the challenge is queued, not delivered inside this callback.
        log.append(("m", "request_challenge returned", ()))

    def answer(cookie: int, challenge: str) -> None:
        log.append(("p", "on_lock_challenge", (cookie, challenge)))
        priv.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)

    manager.on_lock_result = chain
    priv.on_lock_challenge = answer
    unlock(manager, cookie=1)
    assert [(t, n) for t, n, _ in log] == [
        ("m", "on_lock_status_changed"),
        ("m", "on_lock_challenge"),
        ("m", "on_lock_result"),
        ("m", "request_challenge returned"),
        ("m", "on_lock_status_changed"),
        ("p", "on_lock_status_changed"),
        ("p", "on_lock_challenge"),
        ("p", "on_lock_result"),
        ("p", "on_lock_status_changed"),
    ]
    assert manager.status is S.UNLOCKED
    assert priv.status is S.UNLOCKED


def test_nested_call_error_reaches_the_callback(manager: msgr.MsgrSessionManager) -> None:
    caught: list[BaseException] = []

    def on_challenge(cookie: int, challenge: str) -> None:
        try:
            manager.request_challenge(cookie)
        except msgr.MsgrError as e:
            caught.append(e)

    manager.on_lock_challenge = on_challenge
    manager.request_challenge(1)
    assert len(caught) == 1
    assert type(caught[0]) is msgr.ApiPendingUnlockError


# =========================================================================== events of failing calls


def test_events_of_a_failing_call_are_delivered_before_it_raises(alice: msgr.Messenger, service: msgr.Service) -> None:
    alice.sign_out()
    rec = record(alice)
    with raises_exactly(msgr.AuthenticationFailedError):
        alice.sign_in("wrong")
    # Design §2: the events a call causes are delivered before the outermost call returns.
    assert [name for name, _ in rec] == ["on_sign_in_failed"]
    assert rec[0][1][0] == 0x81000604
    rec.clear()
    service.advance(0)  # nothing stale arrives with an unrelated later call
    assert rec == []


def test_callback_raising_while_a_failing_call_delivers(alice: msgr.Messenger) -> None:
    # The call's own error wins; the callback's exception is attached to it, not lost.
    alice.sign_out()
    boom = Boom("sign-in failure handler")
    ran: list[int] = []

    def on_failed(hresult: int, message: str) -> None:
        ran.append(hresult)
        raise boom

    alice.on_sign_in_failed = on_failed
    with raises_exactly(msgr.AuthenticationFailedError) as info:
        alice.sign_in("wrong")
    assert ran == [0x81000604]
    assert info.value.__context__ is boom
    assert any("Boom" in n for n in notes(info.value))
    assert alice.state == "offline"


# =========================================================================== callback attributes


@pytest.mark.parametrize("name", ["on_lock_challange", "on_foo", "on_invitation_typo", "before_nothing", "on_signed_in"])
def test_unknown_callback_attribute_on_lock_objects(manager: msgr.MsgrSessionManager, name: str) -> None:
    with pytest.raises(AttributeError):
        setattr(manager, name, lambda *a: None)


@pytest.mark.parametrize("name", ["on_signed_inn", "on_lock_challenge", "on_foo"])
def test_unknown_callback_attribute_on_messenger(alice: msgr.Messenger, name: str) -> None:
    with pytest.raises(AttributeError):
        setattr(alice, name, lambda *a: None)


@pytest.mark.parametrize("value", [5, "callback", b"x", 1.5, True], ids=["int", "str", "bytes", "float", "bool"])
@pytest.mark.parametrize("name", LOCK_CALLBACKS)
def test_non_callable_callback_is_refused(manager: msgr.MsgrSessionManager, name: str, value: Any) -> None:
    with pytest.raises(TypeError):
        setattr(manager, name, value)
    assert getattr(manager, name) is None


@pytest.mark.parametrize("name", MESSENGER_CALLBACKS)
def test_non_callable_messenger_callback_is_refused(alice: msgr.Messenger, name: str) -> None:
    with pytest.raises(TypeError):
        setattr(alice, name, 42)


def test_callbacks_set_to_none(manager: msgr.MsgrSessionManager, alice: msgr.Messenger) -> None:
    rec = record(manager, LOCK_CALLBACKS)
    for name in LOCK_CALLBACKS:
        setattr(manager, name, None)
        assert getattr(manager, name) is None
    for name in MESSENGER_CALLBACKS:
        setattr(alice, name, None)
    unlock(manager, cookie=1)
    alice.sign_out()
    alice.sign_in()
    assert rec == []
    assert manager.status is S.INITIALIZED


def test_callbacks_default_to_none(alice: msgr.Messenger) -> None:
    manager = alice.session_manager()
    for name in LOCK_CALLBACKS:
        assert getattr(manager, name) is None
    unlock(manager, cookie=1)  # events with no callback are simply dropped
    assert manager.status is S.UNLOCKED


def test_any_callable_works(manager: msgr.MsgrSessionManager) -> None:
    class Sink:
        def __init__(self) -> None:
            self.got: list[Any] = []

        def __call__(self, *args: Any) -> None:
            self.got.append(args)

        def method(self, status: S) -> None:
            self.got.append(("method", status))

    sink = Sink()
    manager.on_lock_challenge = sink
    manager.on_lock_status_changed = sink.method
    manager.request_challenge(4)
    assert sink.got[0] == ("method", S.PENDINGRESULT)
    assert sink.got[1][0] == 4


def test_callback_replaced_mid_delivery(manager: msgr.MsgrSessionManager) -> None:
    got: list[str] = []

    def on_status(status: S) -> None:
        got.append(f"status {status.name}")
        manager.on_lock_challenge = lambda c, ch: got.append("replacement")

    manager.on_lock_status_changed = on_status
    manager.on_lock_challenge = lambda c, ch: got.append("original")
    manager.request_challenge(1)
    # The event is delivered to the callback set when it is fired.
    assert got == ["status PENDINGRESULT", "replacement"]


def test_sign_in_callbacks_of_messenger(service: msgr.Service) -> None:
    alice = service.sign_in("carol@example.com", None)
    rec = record(alice)
    alice.sign_out()
    alice.sign_in()
    assert rec == [("on_signed_out", ("user",)), ("on_signed_in", ())]
