"""Building blocks the fixtures use, usable without pytest too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgr

#: A made-up Lock and Key pair and application for tests.
TEST_APP_ID = "conformance@msnmsgr.com"
TEST_APP_KEY = "CONFORMANCEKEY1"
TEST_GUID = "{6D2D0C1E-5A7F-4B3C-9E8D-7F6A5B4C3D2E}"


def unlock(obj: msgr.MsgrLock, app_id: str = TEST_APP_ID, key: str = TEST_APP_KEY, cookie: int = 1) -> None:
    """Runs the whole Lock and Key exchange on ``obj`` and checks it worked. Keeps any
    ``on_lock_challenge`` the object had."""
    previous = obj.on_lock_challenge

    def answer(c: int, challenge: str) -> None:
        obj.send_response(app_id, msgr.lock_response(challenge, key), c)

    obj.on_lock_challenge = answer
    try:
        obj.request_challenge(cookie)
        wait = getattr(obj.messenger, "wait_for", None)
        if wait is not None:
            wait(lambda: obj.status != msgr.LockStatus.PENDINGRESULT, timeout=10.0)
    finally:
        obj.on_lock_challenge = previous
    if obj.status != msgr.LockStatus.UNLOCKED:
        raise AssertionError(f"unlocking {obj!r} failed: {obj.status.name}")


@dataclass
class Pair:
    """Two signed-in Messengers whose session managers are unlocked and have
    ``guid`` registered."""

    service: Any
    alice: msgr.Messenger
    bob: msgr.Messenger
    alice_manager: msgr.MsgrSessionManager
    bob_manager: msgr.MsgrSessionManager
    guid: str = TEST_GUID


def make_pair(service: Any = None, *, alice: str = "alice@example.com", bob: str = "bob@example.com") -> Pair:
    """A ready pair on an embedded service (a new seeded one unless given)."""
    if service is None:
        service = msgr.Service(seed=1)
    service.license(TEST_APP_ID, TEST_APP_KEY)
    a, b = service.sign_in(alice), service.sign_in(bob)
    managers = []
    for m in (a, b):
        manager = m.session_manager()
        unlock(manager)
        manager.register_application(TEST_GUID, "Conformance App", "http://example.com/app", "/usr/bin/conformance-app")
        managers.append(manager)
    return Pair(service, a, b, managers[0], managers[1])
