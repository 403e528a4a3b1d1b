"""Lock and Key transactions for tests: leave an object pending, unlock it, or make
it fail. Each works on the embedded service and over the network alike: when events
arrive on a background thread, it waits for them (``Messenger.wait_for``, bounded by
``timeout``)."""

from __future__ import annotations

from typing import Callable

import msgr

#: A made-up Lock and Key pair for tests (license it on the service you test against).
TEST_APP_ID = "conformance@msnmsgr.com"
TEST_APP_KEY = "CONFORMANCEKEY1"
#: The key ``fail_unlock`` answers with unless told otherwise (licensed for nothing).
WRONG_KEY = "NOTTHEKEY"

#: Seconds to wait for a network event before giving up.
TIMEOUT = 10.0


def _settle(obj: msgr.MsgrLock, done: Callable[[], object], timeout: float) -> None:
    """Waits (at most ``timeout`` seconds) until ``done()`` is true, if it is not yet.
    Never raises for the timeout: the caller checks the outcome and says what failed."""
    if done():
        return
    try:
        obj.messenger.wait_for(done, timeout=timeout)
    except TimeoutError:
        pass


def pend(obj: msgr.MsgrLock, cookie: int = 1, *, timeout: float = TIMEOUT) -> str:
    """Requests a challenge and returns it, leaving ``obj`` in ``PENDINGRESULT`` (no
    response sent yet).

    Any ``on_lock_challenge`` the object had still runs (it sees the challenge first)
    and is put back afterwards. Raises what ``request_challenge`` raises, and
    ``AssertionError`` unless exactly one challenge with ``cookie`` arrived and the
    object is pending."""
    got: list[tuple[int, str]] = []
    previous = obj.on_lock_challenge

    def capture(c: int, challenge: str) -> None:
        got.append((c, challenge))
        if previous is not None:
            previous(c, challenge)

    obj.on_lock_challenge = capture
    try:
        obj.request_challenge(cookie)
        _settle(obj, lambda: got, timeout)
    finally:
        obj.on_lock_challenge = previous
    if len(got) != 1:
        raise AssertionError(f"expected one on_lock_challenge of {obj!r}, got {got}")
    if got[0][0] != cookie:
        raise AssertionError(f"on_lock_challenge came with cookie {got[0][0]}, not {cookie}")
    if obj.status is not msgr.LockStatus.PENDINGRESULT:
        raise AssertionError(f"{obj!r} is not pending after its challenge")
    return got[0][1]


def _transaction(obj: msgr.MsgrLock, app_id: str, key: str, cookie: int, timeout: float, expect: msgr.LockStatus) -> str:
    """Requests a challenge, answers it with ``app_id``/``key``, checks ``obj`` ends in
    ``expect`` and returns the challenge."""
    challenge = pend(obj, cookie, timeout=timeout)
    obj.send_response(app_id, msgr.lock_response(challenge, key), cookie)
    _settle(obj, lambda: obj.status is not msgr.LockStatus.PENDINGRESULT, timeout)
    if obj.status is not expect:
        raise AssertionError(f"the Lock and Key transaction of {obj!r} ended {obj.status.name}, not {expect.name}")
    return challenge


def unlock(obj: msgr.MsgrLock, app_id: str = TEST_APP_ID, key: str = TEST_APP_KEY, cookie: int = 1, *, timeout: float = TIMEOUT) -> str:
    """Runs the whole Lock and Key transaction on ``obj`` with ``app_id`` and ``key``
    (which the service must license) and returns the challenge.

    The challenge is requested with ``cookie`` and answered once it arrived (any
    ``on_lock_challenge`` the object had still runs). Raises ``AssertionError`` unless
    ``obj`` ends ``UNLOCKED``."""
    return _transaction(obj, app_id, key, cookie, timeout, msgr.LockStatus.UNLOCKED)


def fail_unlock(obj: msgr.MsgrLock, app_id: str = TEST_APP_ID, key: str = WRONG_KEY, cookie: int = 1, *, timeout: float = TIMEOUT) -> str:
    """Runs the Lock and Key transaction with a pair the service refuses (by default
    the right ID with ``WRONG_KEY``) and returns the challenge. Raises
    ``AssertionError`` unless ``obj`` ends ``UNLOCKFAILED``."""
    return _transaction(obj, app_id, key, cookie, timeout, msgr.LockStatus.UNLOCKFAILED)
