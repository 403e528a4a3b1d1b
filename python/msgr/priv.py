"""``MessengerPriv``: adds contacts without UI and subscribes to alerts (reference §3.2)."""

from __future__ import annotations

from .lock import MsgrLock

__all__ = ["MessengerPriv"]


class MessengerPriv(MsgrLock):
    """``MessengerPriv`` (``IMessengerPrivate`` + ``IMsgrLock``), locked by default on a
    Lock-and-Key service."""

    _kind = "messenger_priv"
