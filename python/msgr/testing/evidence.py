"""What the pytest plugin adds to the report of a failing test: for each msgr object the
test created or used (an embedded ``Service``, a ``connect()``-ed Messenger's
connection, a server), the events it delivered and its last wire lines, with secrets
masked as in every trace.

Objects are held weakly: the evidence keeps text, so it never keeps a connection or a
service alive past the test."""

from __future__ import annotations

import collections
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from msgr.trace import TraceEntry, _masked

__all__ = ["Evidence", "DEFAULT_LINES"]

#: Wire lines shown per object unless ``msgr_evidence_lines`` says otherwise.
DEFAULT_LINES = 40
#: Objects watched per test: past it the oldest is let go (a Hypothesis test may make
#: hundreds of services; the last ones are those that failed).
MOST_OBJECTS = 6
#: Events kept per object, the latest.
MOST_EVENTS = 100
#: How far back the wire is read to find the test's lines in a long-lived server trace.
_LOOK_BACK = 20_000


@dataclass(eq=False)
class _Watched:
    """One object the test touched: a weak reference to it, its name when first
    seen, where its wire lines for this test begin (its clock then), and the events
    it delivered since, as text."""

    ref: weakref.ReferenceType[Any]
    name: str
    since: float
    events: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=MOST_EVENTS))
    delivered: int = 0
    #: The object's dispatcher, weakly: it refers to the object.
    dispatcher: weakref.ReferenceType[Any] | None = None

    def listen(self, target: Any, spec: Any, values: tuple[Any, ...], event: Any) -> None:
        from msgr.eventlog import logged_event

        self.delivered += 1
        self.events.append(str(logged_event(target, spec, values, event)))
        obj = self.ref()
        if obj is not None and spec.com == "OnSignin":
            # A new account to name it by, kept for once it is collected.
            self.name = _name(obj)

    def detach(self) -> None:
        dispatcher = None if self.dispatcher is None else self.dispatcher()
        if dispatcher is not None and self.listen in dispatcher.listeners:
            dispatcher.listeners.remove(self.listen)
        self.dispatcher = None


def _name(obj: Any) -> str:
    """``Service (alice@…, bob@…)``, ``connect(alice@…) to 127.0.0.1:1863`` or
    ``server 127.0.0.1:1863``."""
    kind = type(obj).__name__
    emails = ", ".join(m.sign_in_name for m in getattr(obj, "_messengers", {}).values())
    if kind == "ServerHandle":
        host, port = obj.address
        return f"server {host}:{port}"
    if kind == "Connection":
        host, port = obj.address
        return f"connect({emails}) to {host}:{port}"
    return f"{kind} ({emails})" if emails else kind


def _wire(journal: Any, since: float, count: int) -> tuple[int, list[TraceEntry]]:
    """The last ``count`` wire entries timed ``since`` or later, masked, and how many
    such entries came before them."""
    first, _ = journal.trace_window(2**64 - 1)
    if first is None:
        return 0, []
    start = max(first, first + journal.trace_len() - _LOOK_BACK)
    _, rows = journal.trace_window(start)
    entries = [
        TraceEntry(seq, time, conn, user, direction, command, tuple(args), payload, raw)
        for seq, time, conn, user, direction, command, args, payload, raw in rows
        if time >= since
    ]
    shown = entries[-count:] if count else []
    return len(entries) - len(shown), [_masked(e) for e in shown]


class Evidence:
    """The msgr objects one test touched, and their report sections."""

    def __init__(self, lines: int = DEFAULT_LINES) -> None:
        self.lines = lines
        self._watched: dict[int, _Watched] = {}

    def observe(self, obj: object) -> None:
        """Starts watching ``obj`` (a new ``Service``, connection or server): its
        events from now, its wire lines from its clock's present."""
        key = id(obj)
        known = self._watched.get(key)
        if known is not None and known.ref() is obj:
            return
        journal: Any = getattr(obj, "_journal", None)
        if journal is None:
            return
        watched = _Watched(weakref.ref(obj), _name(obj), journal.now)
        dispatcher = getattr(obj, "_dispatch", None)
        if dispatcher is not None:
            watched.dispatcher = weakref.ref(dispatcher)
            dispatcher.listeners.append(watched.listen)
        self._watched[key] = watched
        while len(self._watched) > MOST_OBJECTS:
            self._watched.pop(next(iter(self._watched))).detach()

    def close(self) -> None:
        """Stops listening; what was recorded stays for ``sections()``."""
        for watched in self._watched.values():
            watched.detach()

    def sections(self) -> list[tuple[str, str]]:
        """One ``(title, text)`` per object with something to show, for
        ``report.sections``."""
        found = []
        for watched in self._watched.values():
            obj = watched.ref()
            name = watched.name if obj is None else _name(obj)
            text = self._text(watched, obj)
            if text:
                found.append((f"msgr: {name}", text))
        return found

    def _text(self, watched: _Watched, obj: Any) -> str:
        parts: list[str] = []
        if watched.delivered:
            earlier = watched.delivered - len(watched.events)
            head = f"events ({watched.delivered}" + (f", the last {len(watched.events)}" if earlier else "") + "):"
            parts.append("\n".join([head, *watched.events]))
        journal = None if obj is None else getattr(obj, "_journal", None)
        if journal is not None:
            earlier, entries = _wire(journal, watched.since, self.lines)
            if entries:
                head = f"wire (the last {len(entries)} of {earlier + len(entries)} lines):" if earlier else f"wire ({len(entries)} lines):"
                parts.append("\n".join([head, *_wire_lines(entries)]))
        return "\n\n".join(parts)


def _wire_lines(entries: Iterable[TraceEntry]) -> list[str]:
    return [f"{e.seq:>6} {e.time:9.3f}  {e.user:<24} {e.direction} {e.line}" for e in entries]
