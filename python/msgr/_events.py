"""The events of the API: core name -> callback attribute, COM name, argument types.

One table, used by the dispatcher (to call callbacks), by objects (to refuse a
misspelt ``on_*`` attribute) and by the event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .enums import LockStatus


@dataclass(frozen=True)
class EventSpec:
    core: str
    callback: str
    com: str
    convert: Callable[..., tuple[Any, ...]] = lambda *a: a


def _status(value: int) -> tuple[Any, ...]:
    return (LockStatus(value),)


LOCK_EVENTS = {
    e.core: e
    for e in [
        EventSpec("lock_enable", "on_lock_enable", "OnLockEnable"),
        EventSpec("lock_challenge", "on_lock_challenge", "OnLockChallenge"),
        EventSpec("lock_result", "on_lock_result", "OnLockResult"),
        EventSpec("lock_status_changed", "on_lock_status_changed", "OnLockStatusChanged", _status),
    ]
}

MESSENGER_EVENTS = {
    e.core: e
    for e in [
        EventSpec("signed_in", "on_signed_in", "OnSignin"),
        EventSpec("signed_out", "on_signed_out", "OnSignout"),
        EventSpec("sign_in_failed", "on_sign_in_failed", "OnSigninFailed"),
    ]
}

ALL_EVENTS = {**LOCK_EVENTS, **MESSENGER_EVENTS}
