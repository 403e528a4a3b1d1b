"""``msgr.EventLog``: every event of some msgr objects, in delivery order, for looking at
in a notebook or asserting on in a test."""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from ._dispatch import CoreEvent, Dispatcher
from .enums import SessionState

__all__ = ["EventLog", "LoggedEvent"]

#: Rows shown by ``_repr_html_`` before the rest is summarised.
HTML_ROWS = 200


@dataclass(frozen=True)
class LoggedEvent:
    """One delivered event: when (service clock, seconds), on what, which, with what.
    ``seq`` is its number in the run, shared with the wire trace's entries."""

    time: float
    source: Any
    event: str
    callback: str
    args: tuple[Any, ...]
    seq: int = -1
    #: The state of the event's session when it fired (None for other events).
    state: SessionState | None = None

    def __str__(self) -> str:
        shown = ", ".join(_short(a) for a in self.args)
        return f"{self.time:9.3f}  {_source_name(self.source)}.{self.event}({shown})"


def _source_name(source: Any) -> str:
    name = type(source).__name__
    owner = getattr(source, "messenger", None) or source
    who = getattr(owner, "sign_in_name", None)
    return f"{name}[{who}]" if who else name


def _short(value: Any) -> str:
    name = getattr(value, "name", None)
    if name is not None and isinstance(value, int):
        return f"{type(value).__name__}.{name}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class EventLog(Sequence[LoggedEvent]):
    """Records the events of the given sources: a ``Service`` (everything), a
    ``Messenger`` (its objects and itself), or single objects (a manager, a
    ``MessengerPriv``, a session). ``with EventLog(x) as log:`` detaches at the end."""

    def __init__(self, *sources: Any) -> None:
        if not sources:
            raise TypeError("EventLog needs at least one source (a Service, Messenger or msgr object)")
        self._events: list[LoggedEvent] = []
        self._sources = sources
        self._dispatchers: list[Dispatcher] = []
        for source in sources:
            dispatcher = getattr(source, "_dispatch", None) or getattr(getattr(source, "_messenger", None), "_dispatch", None)
            if dispatcher is None:
                raise TypeError(f"cannot log events of {source!r}")
            if dispatcher not in self._dispatchers:
                self._dispatchers.append(dispatcher)
                dispatcher.listeners.append(self._listen)

    def _wanted(self, target: Any) -> bool:
        for source in self._sources:
            if target is source or getattr(source, "_messengers", None) is not None:
                return True
            if getattr(target, "messenger", None) is source:
                return True
        return False

    def _listen(self, target: Any, spec: Any, values: tuple[Any, ...], event: CoreEvent) -> None:
        if self._wanted(target):
            state = None if event.state is None else SessionState(event.state)
            self._events.append(LoggedEvent(event.time, target, spec.com, spec.callback, values, event.seq, state))

    def detach(self) -> None:
        """Stops recording; what was recorded stays."""
        for dispatcher in self._dispatchers:
            if self._listen in dispatcher.listeners:
                dispatcher.listeners.remove(self._listen)
        self._dispatchers = []

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def __len__(self) -> int:
        return len(self._events)

    @overload
    def __getitem__(self, index: int) -> LoggedEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[LoggedEvent]: ...
    def __getitem__(self, index: int | slice) -> LoggedEvent | list[LoggedEvent]:
        return self._events[index]

    def __iter__(self) -> Iterator[LoggedEvent]:
        return iter(list(self._events))

    def clear(self) -> None:
        self._events.clear()

    def names(self) -> list[str]:
        """The COM names of the events, in order (``["OnLockChallenge", ...]``)."""
        return [e.event for e in self._events]

    def filter(self, event: str | None = None, source: Any = None) -> list[LoggedEvent]:
        """Events with this COM or callback name (``"OnAccepted"`` or ``"on_accepted"``)
        and/or from this object."""
        return [
            e for e in self._events
            if (event is None or event in (e.event, e.callback)) and (source is None or e.source is source)
        ]

    def to_records(self) -> list[dict[str, Any]]:
        """Plain dicts, one per event: time, source, event, args."""
        return [
            {"time": e.time, "source": _source_name(e.source), "event": e.event, "args": e.args}
            for e in self._events
        ]

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``to_records()`` (needs pandas, imported only here)."""
        import pandas  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return pandas.DataFrame.from_records(self.to_records(), columns=["time", "source", "event", "args"])

    def __repr__(self) -> str:
        lines = [str(e) for e in self._events[-30:]]
        more = [f"  ... {len(self._events) - 30} earlier events"] if len(self._events) > 30 else []
        return "\n".join([f"<EventLog of {len(self._events)} events>", *more, *("  " + line for line in lines)])

    def _repr_html_(self) -> str:
        rows = []
        for i, e in enumerate(self._events[:HTML_ROWS]):
            args = ", ".join(_short(a) for a in e.args)
            cells = (str(i), f"{e.time:.3f}", _source_name(e.source), e.event, args)
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        more = len(self._events) - HTML_ROWS
        tail = f"<tr><td colspan='5'>… {more} more events</td></tr>" if more > 0 else ""
        head = "".join(f"<th>{h}</th>" for h in ("#", "t (s)", "source", "event", "arguments"))
        return f"<table class='msgr-eventlog'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}{tail}</tbody></table>"
