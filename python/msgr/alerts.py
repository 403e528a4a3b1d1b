"""``AlertDelivery``: what became of an MSN Alert a service sent (``send_alert``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AlertDelivery"]


@dataclass(frozen=True)
class AlertDelivery:
    """What ``send_alert`` did.

    ``sent``: the user was signed in, and the ``NOT`` went to their connection.
    ``received``: how many of their ``MessengerPriv`` objects took it (fired
    ``on_alert_received``: unlocked, and subscribed to the site with
    ``enable_alert_events``). An embedded ``Service`` sees its clients and counts them;
    a server (``ServerHandle``) cannot see into a client, so there it is ``None``.

    True when it reached an application: ``received > 0`` where that is known, else
    ``sent``. ``if service.send_alert(...):`` asks "delivered?"."""

    sent: bool
    received: int | None

    def __bool__(self) -> bool:
        return self.sent if self.received is None else self.received > 0
