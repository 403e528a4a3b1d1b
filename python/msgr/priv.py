"""``MessengerPriv``: adds contacts without UI and subscribes to alerts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable, ClassVar

from . import _args
from ._callback import Callback
from ._events import LOCK_EVENTS, PRIV_EVENTS
from .contact import Contact
from .enums import HResult
from .errors import PointerError
from .lock import MsgrLock

__all__ = ["MessengerPriv"]


class MessengerPriv(MsgrLock):
    """``MessengerPriv`` (``IMessengerPrivate`` + ``IMsgrLock``), locked by default on a
    Lock-and-Key service, unlocked separately from the session manager.

    Callbacks besides the lock's: ``on_contact_list_add(hr, contact)`` (``contact`` is
    None on failure) and ``on_alert_received(alert_xml)`` (return ``False`` for
    pfEnableDefault; Messenger has no popup to suppress, so it changes nothing).
    """

    _kind = "messenger_priv"
    _callbacks: ClassVar[frozenset[str]] = frozenset(
        e.callback for e in (*LOCK_EVENTS.values(), *PRIV_EVENTS.values())
    )

    on_contact_list_add: Callback[Callable[[HResult, Contact | None], object]] = Callback(
        """``on_contact_list_add(hr, contact)`` (OnContactListAdd): the service's verdict on
        ``add_contact``: ``HResult.S_OK`` and the new ``Contact``, or the failure code
        (``E_FAIL`` for an unknown user or a full list, ``E_INVALIDARG`` for a malformed
        name) and None."""
    )
    on_alert_received: Callback[Callable[[str], object]] = Callback(
        """``on_alert_received(xml)`` (OnAlertReceived): an MSN Alert for a site id given
        to ``enable_alert_events``, as the notification's XML text."""
    )

    def add_contact(self, sign_in_name: str | None, service: str | None = None) -> None:
        """``AddContact``: puts the user on the forward list with no UI. ``None`` raises
        ``PointerError``; the service's verdict arrives as ``on_contact_list_add``.
        ``service`` is the service id (only the one service exists; it is checked for
        type only)."""
        name = None if sign_in_name is None else _args.text(sign_in_name, "sign_in_name", null=PointerError)
        _args.optional_text(service, "service")
        m = self._messenger
        m._dispatch.call(m._core.add_contact, self._id, name)

    def enable_alert_events(self, site_ids: Iterable[int]) -> HResult:
        """``EnableAlertEvents``: listen to alerts from these site ids (replacing the
        previous list; empty stops them). Returns ``HResult.S_OK``, or ``HResult.S_FALSE``
        while the object is locked (the documented way, not an exception)."""
        if isinstance(site_ids, (str, bytes)) or not isinstance(site_ids, Iterable):
            raise _args.InvalidArgTypeError(f"site_ids must be a sequence of ints, not {type(site_ids).__name__}")
        ids = [_args.long(i, "site id") for i in site_ids]
        m = self._messenger
        return HResult(m._dispatch.call(m._core.enable_alert_events, self._id, ids))

    @property
    def alert_sites(self) -> list[int]:
        """The site ids this object listens to."""
        m = self._messenger
        return m._core.alert_sites(self._id)
