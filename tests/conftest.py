"""Shared fixtures and helpers for the msgr test suites.

Everything here runs against the embedded service (``msgr.Service``): deterministic, no
sockets, no sleeps, time moved with ``service.advance``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import msgr

FIXTURES = Path(__file__).parent / "fixtures"

#: A made-up Lock and Key pair of the ``name@msnmsgr.com`` shape (msnp.md §e.3).
APP_ID = "testapp@msnmsgr.com"
APP_KEY = "TESTKEY123"
#: Windows Messenger's own client pair (msnp.md §d.3): answers the service's pings.
CLIENT_ID = "msmsgs@msnmsgr.com"
CLIENT_KEY = "Q1P7W2E4J9R8U3S5"

SEED = 20240611
ALICE = "alice@example.com"
ALICE_PASSWORD = "Alice-s3cret"
ALICE_NAME = "Alice Liddell"
BOB = "bob@example.com"
BOB_PASSWORD = "Bob-s3cret"

#: The lock events of an ``IMsgrLock`` object, in COM's order (design §3).
LOCK_CALLBACKS = ("on_lock_enable", "on_lock_challenge", "on_lock_result", "on_lock_status_changed")
#: The Messenger's own callbacks.
MESSENGER_CALLBACKS = ("on_signed_in", "on_signed_out", "on_sign_in_failed")


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def raises_exactly(cls: type[BaseException]) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Like ``pytest.raises`` but the exception must be exactly ``cls``, not a subclass,
    and for ``MsgrError`` classes carry that class's ``hresult``."""
    with pytest.raises(cls) as info:
        yield info
    assert type(info.value) is cls, f"expected exactly {cls.__name__}, got {type(info.value).__name__}: {info.value}"
    if issubclass(cls, msgr.MsgrError):
        assert info.value.hresult == cls.hresult


class Recorder(list):  # type: ignore[type-arg]
    """Records ``(callback name, args)`` for every callback of the objects it watches.

    With ``tagged=True`` entries are ``(tag, name, args)`` so that one recorder can show
    the global order of events across several objects.
    """

    def __init__(self, tagged: bool = False) -> None:
        super().__init__()
        self.tagged = tagged

    def watch(self, obj: Any, names: tuple[str, ...] | None = None, tag: Any = None) -> Any:
        if names is None:
            names = LOCK_CALLBACKS if isinstance(obj, msgr.MsgrLock) else MESSENGER_CALLBACKS
        for name in names:
            setattr(obj, name, self._callback(name, tag))
        return obj

    def _callback(self, name: str, tag: Any):  # noqa: ANN202
        def callback(*args: Any) -> None:
            self.append((tag, name, args) if self.tagged else (name, args))

        return callback

    def names(self) -> list[str]:
        return [e[-2] for e in self]


def record(obj: Any, names: tuple[str, ...] | None = None) -> Recorder:
    """A new recorder of every callback of ``obj``."""
    rec = Recorder()
    rec.watch(obj, names)
    return rec


def request(obj: msgr.MsgrLock, cookie: int) -> str:
    """``request_challenge(cookie)`` and return the challenge that ``on_lock_challenge``
    delivered, keeping whatever callback the object already had (it still runs)."""
    got: list[tuple[int, str]] = []
    previous = obj.on_lock_challenge

    def capture(c: int, challenge: str) -> None:
        got.append((c, challenge))
        if previous is not None:
            previous(c, challenge)

    obj.on_lock_challenge = capture
    try:
        obj.request_challenge(cookie)
    finally:
        obj.on_lock_challenge = previous
    assert len(got) == 1, got
    assert got[0][0] == cookie
    return got[0][1]


def unlock(obj: msgr.MsgrLock, cookie: int = 4242, app_id: str = APP_ID, key: str = APP_KEY) -> str:
    """The full Lock and Key transaction with the (by default correct) pair; returns the challenge."""
    challenge = request(obj, cookie)
    obj.send_response(app_id, msgr.lock_response(challenge, key), cookie)
    return challenge


def new_service(lock_and_key: str = "enabled", seed: int = SEED) -> msgr.Service:
    """A seeded service with the test pair licensed and alice/bob registered."""
    service = msgr.Service(lock_and_key=lock_and_key, seed=seed)
    service.license(APP_ID, APP_KEY)
    service.add_user(ALICE, ALICE_PASSWORD, ALICE_NAME)
    service.add_user(BOB, BOB_PASSWORD)
    return service


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def service() -> msgr.Service:
    return new_service()


@pytest.fixture
def alice(service: msgr.Service) -> msgr.Messenger:
    return service.sign_in(ALICE, ALICE_PASSWORD)


@pytest.fixture
def bob(service: msgr.Service) -> msgr.Messenger:
    return service.sign_in(BOB, BOB_PASSWORD)


@pytest.fixture
def manager(alice: msgr.Messenger) -> msgr.MsgrSessionManager:
    return alice.session_manager()


@pytest.fixture
def priv(alice: msgr.Messenger) -> msgr.MessengerPriv:
    return alice.messenger_priv()


@pytest.fixture
def disabled_service() -> msgr.Service:
    return new_service("disabled")


@pytest.fixture
def off_service() -> msgr.Service:
    return new_service("off")
