"""How much live state a service or a Messenger holds (``Service.counts()``,
``ServerHandle.counts()``, ``Messenger.counts()``): for leak checks, every count but the
objects an application still holds is back to zero once everyone has signed out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["ServiceCounts", "ClientCounts"]

_C = TypeVar("_C", "ServiceCounts", "ClientCounts")


def _build(cls: type[_C], pairs: Iterable[tuple[str, int]]) -> _C:
    # The core names the fields; one it adds that this class lacks is a build mismatch.
    return cls(**dict(pairs))


@dataclass(frozen=True)
class ServiceCounts:
    """What a Messenger service holds live.

    ``connections`` open (``ns_connections`` notification, ``sb_connections``
    switchboard, the rest not yet identified), ``signed_in`` users, ``switchboards``,
    ``sb_tickets`` (``XFR``/``RNG`` cookies not yet used), ``passport_tickets`` (issued
    by the login server, not yet redeemed), ``challenges`` awaiting their ``QRY``,
    ``pending_writes`` on their way to the database, and ``transport_connections``: the
    embedded hub's links or the TCP server's sockets, which the service engine cannot
    see."""

    connections: int
    ns_connections: int
    sb_connections: int
    signed_in: int
    switchboards: int
    sb_tickets: int
    passport_tickets: int
    challenges: int
    pending_writes: int
    transport_connections: int

    @classmethod
    def _from_core(cls, pairs: Iterable[tuple[str, int]]) -> ServiceCounts:
        return _build(cls, pairs)

    @property
    def idle(self) -> bool:
        """True when every count is zero: nothing is left of any sign-in."""
        return not any(dataclasses.astuple(self))


@dataclass(frozen=True)
class ClientCounts:
    """What one Messenger holds live.

    ``lock_objects`` (session managers and MessengerPriv objects the application
    holds), ``sessions`` held (ended ones until the application lets go of them),
    ``live_sessions`` among them (an invitation being sent, out, accepted, or
    connected), ``ns_connections`` (0 or 1), ``sb_links`` (switchboard connections, open
    or being opened) and ``sb_queued`` messages waiting on them, ``texts_in_flight``
    and ``awaiting`` (calls a driver waits for)."""

    lock_objects: int
    sessions: int
    live_sessions: int
    ns_connections: int
    sb_links: int
    sb_queued: int
    texts_in_flight: int
    awaiting: int

    @classmethod
    def _from_core(cls, pairs: Iterable[tuple[str, int]]) -> ClientCounts:
        return _build(cls, pairs)

    @property
    def idle(self) -> bool:
        """True when nothing of a sign-in is left: no connection, switchboard link,
        live session, queued message or awaited call (objects may still be held)."""
        return not (self.live_sessions or self.ns_connections or self.sb_links or self.sb_queued or self.texts_in_flight or self.awaiting)
