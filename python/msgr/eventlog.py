"""``msgr.EventLog``: every event of some msgr objects, in delivery order, for looking at
in a notebook or asserting on in a test."""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

from . import _optional
from ._dispatch import CoreEvent, Dispatcher
from .enums import SessionState
from .trace import _FIELDS_CSS, TraceEntry, _decimals

__all__ = ["EventLog", "LoggedEvent", "Timeline"]

#: Rows shown by ``_repr_html_`` before the rest is summarised.
HTML_ROWS = 200


@dataclass(frozen=True)
class LoggedEvent:
    """One delivered event: when (service clock, seconds), on what, which, with what.
    ``seq`` is its number in the run, shared with the wire trace's entries.

    ``args`` are the callback's own arguments (live objects: a session's ``state``
    read later may have moved on); ``shown`` is how each looked when the event fired,
    as text (a session with its state then)."""

    time: float
    source: Any
    event: str
    callback: str
    args: tuple[Any, ...]
    seq: int = -1
    #: The state of the event's session when it fired (None for other events).
    state: SessionState | None = None
    #: Each argument as text, as it was when the event fired.
    shown: tuple[str, ...] = ()

    @property
    def details(self) -> str:
        """The arguments as they were when the event fired; a state change reads
        ``PREVIOUS → CURRENT``."""
        if self.event == "OnStateChanged" and self.args and self.state is not None:
            return f"{_name(self.args[0])} → {self.state.name}"
        shown = self.shown if len(self.shown) == len(self.args) else tuple(_short(a) for a in self.args)
        return ", ".join(shown)

    def __str__(self) -> str:
        details = self.details
        state = "" if self.state is None or self.state.name in details else f"  in {self.state.name}"
        return f"{self.seq:>6} {self.time:9.3f}  {_source_name(self.source)}.{self.event}({details}){state}"


def _source_name(source: Any) -> str:
    name = type(source).__name__
    owner = getattr(source, "messenger", None) or source
    who = getattr(owner, "sign_in_name", None)
    return f"{name}[{who}]" if who else name


def _name(value: Any) -> str:
    """An enum member by its bare name (``READY``), anything else as short text."""
    name = getattr(value, "name", None)
    return name if isinstance(name, str) and isinstance(value, int) else _short(value)


def _enum_text(value: Any) -> str | None:
    name = getattr(value, "name", None)
    if isinstance(name, str) and isinstance(value, int) and not isinstance(value, bool):
        return f"{type(value).__name__}.{name}"
    return None


def _short(value: Any, state: SessionState | None = None) -> str:
    """``value`` as short text; a session with ``state`` as its state (the state when
    the event fired, not now)."""
    text = _enum_text(value)
    if text is not None:
        return text
    if type(value).__name__ == "MsgrSession":
        return _session_text(value, state)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _session_text(session: Any, state: SessionState | None) -> str:
    try:
        role, _flags, _state, sid, *_ = session._info()
    except Exception:  # noqa: BLE001 - an object already let go still gets a name
        return "<MsgrSession>"
    shown = "" if state is None else f" {state.name}"
    return f"<MsgrSession {sid[:9]}…}}{shown} {role}>"


def _plain(value: Any, shown: str) -> Any:
    """A record's value: enums as ``"Type.NAME"``, plain values as they are, objects
    as the text they showed when the event fired."""
    text = _enum_text(value)
    if text is not None:
        return text
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    return shown


#: Columns of ``to_records()`` and ``to_pandas()``.
RECORD_COLUMNS = ["seq", "time", "source", "event", "state", "args"]

_STYLE = (
    "<style>table.msgr-eventlog.msgr-eventlog.msgr-eventlog > tbody > tr > td, table.msgr-eventlog.msgr-eventlog.msgr-eventlog > thead > tr > th"
    "{text-align:left; vertical-align:top; padding:2px 10px}"
    " table.msgr-eventlog.msgr-eventlog.msgr-eventlog > tbody > tr > td:nth-child(-n+5){white-space:nowrap}"
    " table.msgr-eventlog.msgr-eventlog.msgr-eventlog > tbody > tr > td:nth-child(1), table.msgr-eventlog.msgr-eventlog.msgr-eventlog > tbody > tr > td:nth-child(2)"
    "{text-align:right; font-variant-numeric:tabular-nums}</style>"
)


def logged_event(target: Any, spec: Any, values: tuple[Any, ...], event: CoreEvent) -> LoggedEvent:
    """A delivered event as a dispatcher listener hears it, with its arguments shown as
    they are now."""
    state = None if event.state is None else SessionState(event.state)
    shown = tuple(_short(v, state) for v in values)
    return LoggedEvent(event.time, target, spec.com, spec.callback, values, event.seq, state, shown)


class EventLog(Sequence[LoggedEvent]):
    """Records the events of the given sources: a ``Service`` (everything), a
    ``Messenger`` (its objects and itself), or single objects (a manager, a
    ``MessengerPriv``, a session). ``with EventLog(x) as log:`` detaches at the end.

    In a notebook it is a table: ``seq`` (shared with ``service.trace``, so the wire
    line that caused an event is just before it), the time on the service's clock, the
    object, the event, its session's state when it fired, and its arguments as they
    were then (``OnStateChanged`` as ``PREVIOUS → CURRENT``). ``filter()`` and slices
    give detached ``EventLog`` snapshots."""

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

    @classmethod
    def _snapshot(cls, events: Iterable[LoggedEvent]) -> EventLog:
        """A detached log holding ``events``."""
        log = cls.__new__(cls)
        log._events = list(events)
        log._sources = ()
        log._dispatchers = []
        return log

    def _wanted(self, target: Any) -> bool:
        for source in self._sources:
            if target is source or getattr(source, "_messengers", None) is not None:
                return True
            if getattr(target, "messenger", None) is source:
                return True
        return False

    def _listen(self, target: Any, spec: Any, values: tuple[Any, ...], event: CoreEvent) -> None:
        if self._wanted(target):
            self._events.append(logged_event(target, spec, values, event))

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
    def __getitem__(self, index: slice) -> EventLog: ...
    def __getitem__(self, index: int | slice) -> LoggedEvent | EventLog:
        if isinstance(index, slice):
            return EventLog._snapshot(self._events[index])
        return self._events[index]

    def __iter__(self) -> Iterator[LoggedEvent]:
        return iter(list(self._events))

    def clear(self) -> None:
        """Forgets every event recorded so far; recording goes on."""
        self._events.clear()

    def names(self) -> list[str]:
        """The COM names of the events, in order (``["OnLockChallenge", ...]``)."""
        return [e.event for e in self._events]

    def filter(self, event: str | Iterable[str] | None = None, source: Any = None) -> EventLog:
        """A detached ``EventLog`` of the events with this COM or callback name
        (``"OnAccepted"`` or ``"on_accepted"``, or several of them) and/or from this
        object."""
        names = {event} if isinstance(event, str) else None if event is None else set(event)
        return EventLog._snapshot(
            e for e in self._events
            if (names is None or e.event in names or e.callback in names) and (source is None or e.source is source)
        )

    def timeline(self, trace: Iterable[TraceEntry]) -> Timeline:
        """These events and the given wire entries (``service.trace``, or a slice of
        it) in one table, in ``seq`` order, the order in which they happened: an event
        follows the wire line that caused it."""
        return Timeline(self._events, list(trace))

    def to_records(self) -> list[dict[str, Any]]:
        """Plain dicts, one per event, with the keys of ``RECORD_COLUMNS``: ``seq``,
        ``time``, ``source`` (``"MsgrSession[alice@example.com]"``), ``event`` (the COM
        name), ``state`` (its session's state when it fired, or None) and ``args``.
        Enum values are strings ``"Type.NAME"`` (``"SessionState.READY"``,
        ``"HResult.SR_SESSION_TIMEOUT"``), so they keep their names in pandas; other
        objects (a session) are the text they showed when the event fired."""
        records = []
        for e in self._events:
            shown = e.shown if len(e.shown) == len(e.args) else tuple(_short(a) for a in e.args)
            records.append({
                "seq": e.seq,
                "time": e.time,
                "source": _source_name(e.source),
                "event": e.event,
                "state": None if e.state is None else _enum_text(e.state),
                "args": tuple(_plain(a, s) for a, s in zip(e.args, shown)),
            })
        return records

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``to_records()`` (needs pandas, imported only here:
        ``ModuleNotFoundError`` says so when it is missing)."""
        pandas = _optional.pandas("EventLog.to_pandas()")
        return pandas.DataFrame.from_records(self.to_records(), columns=RECORD_COLUMNS)

    def __repr__(self) -> str:
        lines = [str(e) for e in self._events[-30:]]
        more = [f"  ... {len(self._events) - 30} earlier events"] if len(self._events) > 30 else []
        return "\n".join([f"<EventLog of {len(self._events)} events>", *more, *("  " + line for line in lines)])

    def _repr_html_(self) -> str:
        shown = self._events[:HTML_ROWS]
        decimals = _decimals(e.time for e in shown)
        # The session-state column only when some event has a session.
        states = any(e.state is not None for e in shown)
        rows = []
        for e in shown:
            cells = [str(e.seq), f"{e.time:.{decimals}f}", _source_name(e.source), e.event]
            if states:
                cells.append("" if e.state is None else e.state.name)
            cells.append(e.details)
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        heads = ["seq", "t (s)", "source", "event", *(["session state"] if states else []), "arguments"]
        more = len(self._events) - HTML_ROWS
        tail = f"<tr><td colspan='{len(heads)}'>… {more} more events</td></tr>" if more > 0 else ""
        head = "".join(f"<th>{h}</th>" for h in heads)
        return (
            f"{_STYLE}<table class='msgr-eventlog'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}{tail}</tbody></table>"
        )

class Timeline:
    """Events and wire lines interleaved by their shared ``seq``; renders as a table
    (events shaded). ``rows`` holds them in order."""

    def __init__(self, events: Iterable[LoggedEvent], entries: Iterable[TraceEntry]) -> None:
        merged: list[LoggedEvent | TraceEntry] = [*events, *entries]
        merged.sort(key=lambda row: row.seq)
        self.rows = merged

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def _text(row: LoggedEvent | TraceEntry) -> str:
        if isinstance(row, LoggedEvent):
            return str(row)
        invitation = row.invitation
        inside = f"  [{invitation[0] or 'invitation'}]" if invitation else ""
        return f"{row.seq:>6} {row.time:9.3f}  {row.user} {row.direction} {row.line}{inside}"

    def __str__(self) -> str:
        """Every row, one per line; an invitation message names its command."""
        return "\n".join(self._text(row) for row in self.rows)

    def __repr__(self) -> str:
        lines = [f"  {self._text(row)}" for row in self.rows[:40]]
        more = [f"  ... {len(self.rows) - 40} more"] if len(self.rows) > 40 else []
        return "\n".join([f"<Timeline of {len(self.rows)} rows>", *lines, *more])

    def _repr_html_(self) -> str:
        shown = self.rows[:HTML_ROWS]
        decimals = _decimals(row.time for row in shown)
        rows = []
        for row in shown:
            if isinstance(row, LoggedEvent):
                # The session's state then, unless the details already say it.
                state = "" if row.state is None or row.state.name in row.details else f"[{row.state.name}] "
                cells = [
                    html.escape(str(row.seq)), f"{row.time:.{decimals}f}", html.escape(_source_name(row.source)), "event",
                    f"<b>{html.escape(row.event)}</b>", html.escape(state + row.details),
                ]
                rows.append("<tr style='background:#eef2ff'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
            else:
                cells = [
                    html.escape(str(row.seq)), f"{row.time:.{decimals}f}", html.escape(f"{row.user} #{row.conn}"),
                    html.escape(row.direction), f"<code>{html.escape(row.line)}</code>", row._payload_html(),
                ]
                rows.append(
                    "<tr>" + "".join(f"<td style='white-space:nowrap'>{c}</td>" if i == 3 else f"<td>{c}</td>" for i, c in enumerate(cells))
                    + "</tr>"
                )
        more = len(self.rows) - HTML_ROWS
        tail = f"<tr><td colspan='6'>… {more} more rows</td></tr>" if more > 0 else ""
        head = "".join(f"<th>{h}</th>" for h in ("seq", "t (s)", "where", "", "wire line or event", "details"))
        style = _STYLE.replace("msgr-eventlog", "msgr-timeline").replace("nth-child(-n+5)", "nth-child(-n+4)")
        style = style.replace("</style>", f" {_FIELDS_CSS}</style>")
        return f"{style}<table class='msgr-timeline'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}{tail}</tbody></table>"
