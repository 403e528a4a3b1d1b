"""``MsgrSessionManager``: creates and finds sessions, registers applications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ClassVar, NoReturn

from . import _args
from ._callback import Callback
from ._events import LOCK_EVENTS, MANAGER_EVENTS
from .lock import MsgrLock

if TYPE_CHECKING:
    from .session import MsgrSession

__all__ = ["MsgrSessionManager"]


class MsgrSessionManager(MsgrLock):
    """``MsgrSessionManager`` (``IMsgrSessionManager`` + ``IMsgrLock``). Every member but
    the lock's fails with the lock's error until the object is unlocked.

    Callbacks besides the lock's: ``on_invitation(session, app_data)`` (return ``True``
    for pfHandled), ``on_app_registered(guid)``, ``on_app_unregistered(guid)``,
    ``on_app_shutdown()``.
    """

    _kind = "session_manager"
    _callbacks: ClassVar[frozenset[str]] = frozenset(
        e.callback for e in (*LOCK_EVENTS.values(), *MANAGER_EVENTS.values())
    )

    on_invitation: Callback[Callable[[MsgrSession, str | None], object]] = Callback(
        """``on_invitation(session, app_data)`` (OnInvitation): another user invites this
        one; ``session`` is the invitee's ``MsgrSession`` in ``INVITATION`` and
        ``app_data`` the inviter's text (or None). Call ``session.accept()`` or
        ``session.decline()``, now or later. Returning ``True`` is pfHandled (the app
        handles the invitation itself)."""
    )
    on_app_registered: Callback[Callable[[str], object]] = Callback(
        """``on_app_registered(guid)`` (OnAppRegistered): ``register_application`` added
        ``guid`` on this machine."""
    )
    on_app_unregistered: Callback[Callable[[str], object]] = Callback(
        """``on_app_unregistered(guid)`` (OnAppUnRegistered): ``unregister_application``
        removed ``guid``."""
    )
    on_app_shutdown: Callback[Callable[[], object]] = Callback(
        """``on_app_shutdown()`` (OnAppShutdown): the user signed out; every live session
        has ended just before (``on_termination`` with ``SR_SESSION_CANCELLED_LOCAL``)."""
    )

    def create_session(self) -> MsgrSession:
        """A new session in ``READY``, this side the inviter. One per invitation."""
        m = self._messenger
        return m._session(m._dispatch.call(m._core.create_session, self._id))

    def get_launching_session(self, pid: int) -> MsgrSession:
        """The session whose acceptance launched process ``pid``."""
        pid = _args.long(pid, "pid")
        m = self._messenger
        return m._session(m._core.get_launching_session(self._id, pid))

    def register_application(self, guid: str, name: str, url: str, path: str, flags: int = 0) -> None:
        """Registers an application on this machine (the signed-in Messenger)."""
        m = self._messenger
        m._dispatch.call(
            m._core.register_application,
            self._id,
            _args.guid(guid, "guid"),
            _args.text(name, "name"),
            _args.text(url, "url"),
            _args.text(path, "path"),
            _args.long(flags, "flags"),
        )

    def unregister_application(self, guid: str) -> None:
        """Removes a registration made with ``register_application``;
        ``AppNotRegisteredError`` if ``guid`` is not registered."""
        m = self._messenger
        m._dispatch.call(m._core.unregister_application, self._id, _args.guid(guid, "guid"))

    @property
    def applications(self) -> NoReturn:
        """Not implemented in Windows Messenger either: raises ``NotImplError``
        (``E_NOTIMPL``) once unlocked, and before that what any locked call raises
        (``ApiLockedError``, ``ApiNotInitializedError`` …). ``registered_applications``
        has what it would have listed."""
        m = self._messenger
        m._core.applications(self._id)
        raise AssertionError("the core answers Applications with an error")

    @property
    def registered_applications(self) -> list[tuple[str, str, str, str]]:
        """What ``applications`` never returned: (guid, name, url, path) of every
        registration of this machine. An addition of ours; not locked."""
        m = self._messenger
        return m._core.registered_applications()
