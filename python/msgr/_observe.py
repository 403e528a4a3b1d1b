"""Who wants to hear of each new embedded ``Service``, network connection and server:
the pytest plugin, which keeps their events and wire lines for the report of a test
that fails. Empty unless a test is running under the plugin, so it costs nothing."""

from __future__ import annotations

from typing import Callable

__all__ = ["observers", "created"]

#: Called with each new ``Service``, ``net.Connection`` or ``ServerHandle``.
observers: list[Callable[[object], None]] = []


def created(obj: object) -> None:
    """Tells every observer of ``obj``."""
    for observer in list(observers):
        observer(obj)
