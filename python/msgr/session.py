"""``MsgrSession``: one side of one application session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from . import _args
from ._callback import Callback
from ._events import SESSION_EVENTS
from .contact import Contact
from .enums import HResult, SessionFlags, SessionState
from .lock import _EventSource

if TYPE_CHECKING:
    from .service import Messenger

__all__ = ["MsgrSession"]


class MsgrSession(_EventSource):
    """A session, from ``create_session()``, ``on_invitation`` or
    ``get_launching_session()``. Each side holds its own object for the same
    ``session_id``; ``flags`` says which side.

    Callbacks: ``on_state_changed(prev_state)``, ``on_app_not_present(name, url)``,
    ``on_accepted(app_data)``, ``on_declined(app_data)``, ``on_cancelled(app_data)``,
    ``on_termination(hr, app_data)``, ``on_ready_to_launch()``,
    ``on_context_data(data)``, ``on_send_error(hr)``, and ``before_app_launch()``, whose
    return value is pfEnableDefault (``False`` stops the launch).
    """

    _callbacks: ClassVar[frozenset[str]] = frozenset(e.callback for e in SESSION_EVENTS.values())
    _messenger: Messenger
    _id: int

    on_state_changed: Callback[Callable[[SessionState], object]] = Callback(
        """``on_state_changed(previous)`` (OnStateChanged): fires on every change of
        ``state`` and carries the state *before* it; read ``state`` for the new one."""
    )
    on_app_not_present: Callback[Callable[[str, str], object]] = Callback(
        """``on_app_not_present(name, url)`` (OnAppNotPresent), on the invitee: the
        application is not registered on this machine, so the invitation is declined;
        ``url`` is where the inviter says to get it."""
    )
    on_accepted: Callback[Callable[[str | None], object]] = Callback(
        """``on_accepted(app_data)`` (OnAccepted), on the inviter: the invitee accepted,
        with the text given to ``accept`` (or None)."""
    )
    on_declined: Callback[Callable[[str | None], object]] = Callback(
        """``on_declined(app_data)`` (OnDeclined), on the inviter: the invitee declined
        (or lacks the application), with the text given to ``decline`` (or None)."""
    )
    on_cancelled: Callback[Callable[[str | None], object]] = Callback(
        """``on_cancelled(app_data)`` (OnCancelled): the other side cancelled, with the
        text given to its ``cancel`` (or None)."""
    )
    on_termination: Callback[Callable[[HResult | int, str | None], object]] = Callback(
        """``on_termination(hr, app_data)`` (OnTermination): the session ended; the last
        event it fires. ``hr`` says why (an ``HResult``, or the int a peer's ``cancel``
        gave); ``app_data`` is the decline or cancel text."""
    )
    on_ready_to_launch: Callback[Callable[[], object]] = Callback(
        """``on_ready_to_launch()`` (OnReadyToLaunch), on the invitee: the session is
        approved and the application may start."""
    )
    on_context_data: Callback[Callable[[str], object]] = Callback(
        """``on_context_data(data)`` (OnContextData): the peer called
        ``send_context_data(data)``; also readable as ``context_data``."""
    )
    on_send_error: Callback[Callable[[HResult], object]] = Callback(
        """``on_send_error(hr)`` (OnSendError): the last message for this session could
        not be sent (e.g. ``SR_INVITATION_SEND_FAILURE``)."""
    )
    before_app_launch: Callback[Callable[[], object]] = Callback(
        """``before_app_launch()`` (BeforeAppLaunch), on the invitee after ``accept``: the
        application is about to be launched. Return ``False`` to stop the launch
        (pfEnableDefault); anything else lets it go ahead."""
    )

    def __init__(self, messenger: Messenger, oid: int) -> None:
        """Internal: sessions come from the session manager, never from this call."""
        object.__setattr__(self, "_messenger", messenger)
        object.__setattr__(self, "_id", oid)

    def _info(self) -> tuple[str, int, int, str, str | None, str, str | None, str | None, int | None, int, str]:
        m = self._messenger
        return m._core.session_info(self._id)

    def _call(self, method: str, *args: Any) -> None:
        m = self._messenger
        m._dispatch.call(getattr(m._core, method), self._id, *args)

    def _launch(self, enable: bool) -> None:
        m = self._messenger
        pid = None
        if enable and m.launcher is not None:
            pid = m.launcher(self)
        m._core.launch_decided(self._id, enable, pid)

    @property
    def messenger(self) -> Messenger:
        """The ``Messenger`` (signed-in user) this session belongs to."""
        return self._messenger

    # ---- properties ------------------------------------------------------------------

    @property
    def application(self) -> str | None:
        """The application GUID (``{XXXXXXXX-...}``, upper case), or None if unset."""
        return self._info()[4]

    @application.setter
    def application(self, guid: str) -> None:
        self._call("set_application", _args.guid(guid, "application"))

    @property
    def state(self) -> SessionState:
        """Where the session is now: ``READY``, ``INVITATION``, ``ACCEPTED``,
        ``CONNECTED``, or one of the ends ``DECLINED``, ``CANCELLED``, ``TERMINATED``.
        ``SessionState.diagram()`` draws the moves between them."""
        m = self._messenger
        return SessionState(m._core.session_state(self._id))

    @property
    def flags(self) -> SessionFlags:
        """``SessionFlags.INVITER`` or ``SessionFlags.INVITEE``: which side this object is."""
        return SessionFlags(self._info()[1])

    @property
    def session_id(self) -> str:
        """``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}``, the same on both sides of one session."""
        return self._info()[3]

    @property
    def remote_address(self) -> str | None:
        """The peer's address, once ``CONNECTED``; None before (the documented S_FALSE)."""
        m = self._messenger
        return m._core.remote_address(self._id)

    @property
    def local_address(self) -> str:
        """The address sent to the peer; defaults to the machine's."""
        return self._info()[5]

    @local_address.setter
    def local_address(self, address: str) -> None:
        self._call("set_local_address", _args.text(address, "local_address"))

    @property
    def context_data(self) -> str | None:
        """The latest context data received, or None (S_FALSE)."""
        return self._info()[7]

    @property
    def application_name(self) -> str:
        """The registered name of ``application`` (``""`` if it has none);
        ``AppNotSpecifiedError`` while no application is set."""
        m = self._messenger
        return m._core.application_name(self._id)

    @property
    def application_url(self) -> str:
        """Where to download ``application``, from its registration; what the invitee's
        ``on_app_not_present`` gets. ``AppNotSpecifiedError`` while no application is set."""
        m = self._messenger
        return m._core.application_url(self._id)

    @property
    def user(self) -> Contact:
        """The other party."""
        m = self._messenger
        return Contact(*m._core.session_user(self._id))

    @property
    def launch_pid(self) -> int | None:
        """The process id the acceptance launched (virtual with the default launcher)."""
        return self._info()[8]

    # ---- methods ---------------------------------------------------------------------

    def invite(self, user: str | Contact, app_data: str | None = None) -> None:
        """Invites ``user`` (a sign-in name or a ``Contact``); ``app_data`` reaches
        their ``on_invitation``. At most 512 bytes as UTF-16."""
        if isinstance(user, Contact):
            user = user.sign_in_name
        user, app_data = _args.text(user, "user"), _args.optional_text(app_data, "app_data")
        # Live from now on: its events must find this object, callbacks and all, even
        # if the app keeps no reference. Held before the call, since the session may
        # already have ended (and been let go) when the call returns.
        self._messenger._session(self._id, hold=True)
        try:
            self._call("invite", user, app_data)
        except BaseException:
            self._messenger._session_ended(self)
            raise

    def accept(self, app_data: str | None = None) -> None:
        """The invitee accepts; ``app_data`` (at most 512 bytes as UTF-16) reaches the
        inviter's ``on_accepted``. ``NotInviteeError`` on the inviter's object,
        ``SessionStateInvalidError`` outside ``INVITATION``."""
        self._call("accept", _args.optional_text(app_data, "app_data"))

    def decline(self, app_data: str | None = None) -> None:
        """The invitee declines; ``app_data`` reaches the inviter's ``on_declined`` and the
        session ends ``DECLINED``. ``NotInviteeError`` on the inviter's object,
        ``SessionStateInvalidError`` outside ``INVITATION``."""
        self._call("decline", _args.optional_text(app_data, "app_data"))

    def cancel(self, hr: int, app_data: str | None = None) -> None:
        """Cancels, giving ``hr`` (an HRESULT, signed or unsigned) as the reason."""
        hr = _args.integer(hr, "hr", -(1 << 31), (1 << 32) - 1, meaning="is not a 32-bit HRESULT")
        self._call("cancel", hr, _args.optional_text(app_data, "app_data"))

    def send_context_data(self, data: str) -> None:
        """Sends up to 300 characters to the peer's ``on_context_data``; five times at most."""
        self._call("send_context_data", _args.text(data, "data"))

    def __repr__(self) -> str:
        role, _flags, state, sid, app, *_ = self._info()
        return f"<MsgrSession {sid} {SessionState(state).name} {role} app={app}>"
