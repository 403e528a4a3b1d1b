"""``IMsgrLock``, the Lock and Key API that ``MsgrSessionManager`` and ``MessengerPriv``
carry. Each object unlocks separately."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from . import _args, _callback
from ._callback import Callback
from ._events import LOCK_EVENTS
from .enums import LockStatus

if TYPE_CHECKING:
    from .service import Messenger

__all__ = ["MsgrLock"]


class _EventSource:
    """Objects whose events are callback attributes. Assigning an ``on_*`` name the
    object does not fire is an error, so a misspelt callback cannot go silently unused."""

    _callbacks: ClassVar[frozenset[str]] = frozenset()

    # Hidden from type checkers, so that they too reject a misspelt ``on_*`` name (a
    # class with ``__setattr__`` accepts any attribute as far as they know).
    if not TYPE_CHECKING:

        def __setattr__(self, name: str, value: Any) -> None:
            if name in self._callbacks:
                _callback.check(name, value)
            elif name.startswith(("on_", "before_")):
                known = ", ".join(sorted(self._callbacks))
                raise AttributeError(f"{type(self).__name__} has no event {name!r}; its events are: {known}")
            object.__setattr__(self, name, value)

        def __delattr__(self, name: str) -> None:
            # Deleting a callback unassigns it, assigned or not.
            if name in self._callbacks and isinstance(inspect.getattr_static(type(self), name, None), Callback):
                self.__dict__.pop(name, None)
            else:
                object.__delattr__(self, name)


class MsgrLock(_EventSource):
    """The Lock and Key API of one object (``IMsgrLock`` plus the lock events).

    Callbacks, in COM argument order:

    * ``on_lock_enable(enabled: bool)``: sign-in finished; ``True`` means challenges may
      be requested.
    * ``on_lock_challenge(cookie: int, challenge: str)``: answer it with
      ``send_response(app_id, lock_response(challenge, key), cookie)``.
    * ``on_lock_result(cookie: int, succeeded: bool)``.
    * ``on_lock_status_changed(status: LockStatus)``: every change of ``status``.
    """

    _kind: ClassVar[str] = ""
    _callbacks: ClassVar[frozenset[str]] = frozenset(e.callback for e in LOCK_EVENTS.values())
    _messenger: Messenger
    _id: int

    on_lock_enable: Callback[Callable[[bool], object]] = Callback(
        """``on_lock_enable(enabled)`` (OnLockEnable), shortly after sign-in: ``True`` when
        challenges may now be requested, ``False`` when Lock and Key is disabled and the
        object stays unusable. Before it fires, ``request_challenge`` fails."""
    )
    on_lock_challenge: Callback[Callable[[int, str], object]] = Callback(
        """``on_lock_challenge(cookie, challenge)`` (OnLockChallenge): the service's answer
        to ``request_challenge(cookie)``. Reply with
        ``send_response(app_id, lock_response(challenge, key), cookie)``."""
    )
    on_lock_result: Callback[Callable[[int, bool], object]] = Callback(
        """``on_lock_result(cookie, succeeded)`` (OnLockResult): ``True`` means the object is
        unlocked; ``False`` that the key was refused or the service did not answer in time
        (then ``status`` is ``UNLOCKFAILED`` for the rest of the sign-in)."""
    )
    on_lock_status_changed: Callback[Callable[[LockStatus], object]] = Callback(
        """``on_lock_status_changed(status)`` (OnLockStatusChanged): every change of
        ``status``, with the new ``LockStatus``."""
    )

    def __init__(self, messenger: Messenger) -> None:
        if type(self) is MsgrLock:
            raise TypeError("MsgrLock is abstract: use MsgrSessionManager or MessengerPriv")
        object.__setattr__(self, "_messenger", messenger)
        object.__setattr__(self, "_id", messenger._register(self, self._kind))

    @property
    def messenger(self) -> Messenger:
        """The Messenger this object belongs to."""
        return self._messenger

    @property
    def status(self) -> LockStatus:
        """``IMsgrLock::Status``."""
        m = self._messenger
        return LockStatus(m._core.lock_status(self._id))

    def request_challenge(self, cookie: int) -> None:
        """``IMsgrLock::RequestChallenge``: asks the service for a challenge, which
        arrives as ``on_lock_challenge(cookie, challenge)``. Once per sign-in session."""
        cookie = _args.long(cookie, "cookie")
        m = self._messenger
        m._dispatch.call(m._core.request_challenge, self._id, cookie)

    def send_response(self, app_id: str, response: str, cookie: int) -> None:
        """``IMsgrLock::SendResponse``: sends the app id and MD5(challenge + key); the
        verdict arrives as ``on_lock_result(cookie, succeeded)``."""
        app_id = _args.text(app_id, "app_id")
        response = _args.text(response, "response")
        cookie = _args.long(cookie, "cookie")
        m = self._messenger
        m._dispatch.call(m._core.send_response, self._id, app_id, response, cookie)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._messenger.sign_in_name} {self.status.name}>"
