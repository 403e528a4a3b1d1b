"""The MSNP wire trace: every message that crossed a link, as sent, with the fields that
would let a reader in masked unless asked (``trace.reveal = True``)."""

from __future__ import annotations

import bisect
import dataclasses
import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, overload

from . import _core, _optional
from ._masking import HIDDEN, masked_args

#: Rows shown by ``_repr_html_`` before the rest is summarised.
HTML_ROWS = 300


def _decimals(times: Iterable[float], least: int = 3, most: int = 6) -> int:
    """Enough decimals (from ``least`` to ``most``) for distinct times to show
    distinct, so times on the virtual clock read in order (``seq`` orders the rest)."""
    distinct = sorted(set(times))
    for d in range(least, most):
        shown = [f"{t:.{d}f}" for t in distinct]
        if len(set(shown)) == len(shown):
            return d
    return most


@dataclass(frozen=True, eq=True)
class TraceEntry:
    """One MSNP message. ``str(entry)`` is the raw message as it crossed the wire (the
    command line, then the payload if any)."""

    seq: int
    time: float
    conn: int
    user: str
    direction: str
    command: str
    args: tuple[str, ...]
    payload: bytes | None
    raw: str

    @property
    def line(self) -> str:
        """The command line without its CR LF."""
        return " ".join((self.command, *self.args))

    @property
    def trid(self) -> int | None:
        """The transaction id, when the first argument is one."""
        if self.args and self.args[0].isdigit() and self.command not in _NO_TRID:
            return int(self.args[0])
        return None

    @cached_property
    def invitation(self) -> tuple[str | None, dict[str, str]] | None:
        """For a ``text/x-msmsgsinvite`` message: its Invitation-Command and fields
        (first occurrence of each name wins); None for anything else."""
        if self.command != "MSG" or not self.payload:
            return None
        try:
            command, fields = _core.parse_invitation(self.payload)
        except ValueError:
            return None
        found: dict[str, str] = {}
        for name, value in fields:
            found.setdefault(name, value)
        return command, found

    def _payload_html(self) -> str:
        if self.payload is None:
            return ""
        invitation = self.invitation
        if invitation is not None:
            command, fields = invitation
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in fields.items())
            summary = f"{len(self.payload)} bytes: {html.escape(command or '?')}"
            return f"<details><summary>{summary}</summary><table class='msgr-fields'>{rows}</table></details>"
        text = self.payload.decode("utf-8", "replace")
        first = text.splitlines()[0] if text else ""
        return f"<details><summary>{len(self.payload)} bytes: {html.escape(first[:60])}</summary><pre>{html.escape(text)}</pre></details>"

    def _row_html(self, decimals: int = 3) -> str:
        trid = "" if self.trid is None else str(self.trid)
        args = self.args[1:] if self.trid is not None else self.args
        cells = [str(self.seq), f"{self.time:.{decimals}f}", f"{self.user} #{self.conn}", self.direction, self.command, trid, " ".join(args)]
        return "<tr>" + "".join(_cell(i, c) for i, c in enumerate(cells)) + f"<td>{self._payload_html()}</td></tr>"

    def _repr_html_(self) -> str:
        return _table([self])

    def __str__(self) -> str:
        return self.raw


def _masked(entry: TraceEntry) -> TraceEntry:
    """``entry`` with its secrets shown as ``***``: a sign-in proof or ticket, a
    switchboard cookie, a ``QRY`` answer (msgr serve --trace hides the same)."""
    args = tuple(masked_args(entry.command, entry.args, entry.direction))
    payload = HIDDEN.encode() if entry.command == "QRY" and entry.payload is not None else entry.payload
    if args == entry.args and payload is entry.payload:
        return entry
    line = " ".join((entry.command, *args))
    raw = line if payload is None else f"{line}\r\n{payload.decode('utf-8', 'replace')}"
    return dataclasses.replace(entry, args=args, payload=payload, raw=raw)


#: Columns kept on one line (connection, direction): "C->S" must not break at its "-".
_NOWRAP = frozenset({2, 3})


def _cell(column: int, text: str) -> str:
    if column in _NOWRAP:
        return f"<td style='white-space:nowrap'>{html.escape(text)}</td>"
    return f"<td>{html.escape(text)}</td>"


#: The folded fields of an invitation, in any table that shows payloads.
_FIELDS_CSS = (
    "table.msgr-fields.msgr-fields.msgr-fields td{text-align:left; padding:1px 6px; font-family:monospace;"
    " white-space:nowrap; background:transparent}"
)

_STYLE = (
    "<style>table.msgr-trace.msgr-trace.msgr-trace > tbody > tr > td, table.msgr-trace.msgr-trace.msgr-trace > thead > tr > th"
    "{text-align:left; vertical-align:top; padding:2px 8px}"
    " table.msgr-trace.msgr-trace.msgr-trace > tbody > tr > td:nth-child(-n+6){white-space:nowrap}"
    " table.msgr-trace.msgr-trace.msgr-trace > tbody > tr > td:nth-child(1), table.msgr-trace.msgr-trace.msgr-trace > tbody > tr > td:nth-child(2)"
    "{text-align:right; font-variant-numeric:tabular-nums}"
    " table.msgr-trace.msgr-trace.msgr-trace > tbody > tr > td:nth-child(7){font-family:monospace; overflow-wrap:anywhere}"
    f" {_FIELDS_CSS}</style>"
)


def _table(entries: Sequence[TraceEntry], more: int = 0) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("seq", "t (s)", "connection", "dir", "command", "trid", "arguments", "payload"))
    tail = f"<tr><td colspan='8'>… {more} more messages</td></tr>" if more > 0 else ""
    decimals = _decimals(e.time for e in entries)
    body = "".join(e._row_html(decimals) for e in entries)
    return f"{_STYLE}<table class='msgr-trace'><thead><tr>{head}</tr></thead><tbody>{body}{tail}</tbody></table>"


#: Columns of ``to_records()`` and ``to_pandas()``.
RECORD_COLUMNS = ["seq", "time", "conn", "user", "direction", "command", "trid", "args", "payload"]


def _records(entries: Iterable[TraceEntry]) -> list[dict[str, Any]]:
    return [
        {
            "seq": e.seq,
            "time": e.time,
            "conn": e.conn,
            "user": e.user,
            "direction": e.direction,
            "command": e.command,
            "trid": e.trid,
            "args": e.args,
            "payload": e.payload,
        }
        for e in entries
    ]


def _frame(entries: Iterable[TraceEntry], purpose: str) -> Any:
    pandas = _optional.pandas(purpose)
    return pandas.DataFrame.from_records(_records(entries), columns=RECORD_COLUMNS)


class TraceEntries(list[TraceEntry]):
    """Some trace entries (``trace.filter(...)``, ``trace[a:b]``): a plain ``list``
    that renders as the trace table in a notebook."""

    def to_records(self) -> list[dict[str, Any]]:
        """Plain dicts, one per entry, with the keys of ``RECORD_COLUMNS``."""
        return _records(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``to_records()`` (needs pandas)."""
        return _frame(self, "TraceEntries.to_pandas()")

    def _repr_html_(self) -> str:
        return _table(self[:HTML_ROWS], len(self) - HTML_ROWS)

    def __repr__(self) -> str:
        return f"<{len(self)} trace entries>" + "".join(f"\n  {e.seq:>6} {e.user:<24} {e.direction} {e.line}" for e in self[:20])


_NO_TRID = frozenset({"RNG", "JOI", "BYE", "NLN", "FLN", "OUT", "NOT", "IPG", "QNG", "PNG"})


class Trace(Sequence[TraceEntry]):
    """A live view of a wire log; entries are fetched from the core lazily. The core keeps
    the latest ``limit`` entries (100,000 by default; ``trace_limit=`` changes it), so
    once past it the oldest go, and ``seq`` keeps counting.

    Secrets are masked as ``***`` in every entry, line, table and printout: the
    ``USR … S`` sign-in proof (MD5 digest) or Passport ticket, the ``QRY`` answer to a
    Lock and Key challenge, and switchboard cookies (``XFR``, ``RNG``, ``USR``,
    ``ANS``), so a trace or a notebook can be shared. ``trace.reveal = True`` shows
    them as they were sent."""

    def __init__(
        self,
        length: Callable[[], int],
        window: Callable[[int], tuple[int | None, list[tuple[Any, ...]]]],
        clear: Callable[[], None],
        limit: int,
    ) -> None:
        self._length = length
        # (oldest seq kept, entries from seq on), read at one instant: entries keep
        # arriving from other threads, so a length read separately could mistake new
        # entries for dropped ones.
        self._window = window
        self._clear = clear
        #: Most entries kept.
        self.limit = limit
        self._cache: list[TraceEntry] = []
        self._reveal = False

    @property
    def reveal(self) -> bool:
        """Whether entries show their secrets (False: masked as ``***``)."""
        return self._reveal

    @reveal.setter
    def reveal(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"reveal must be a bool, not {type(value).__name__}")
        if value != self._reveal:
            self._reveal = value
            # Fetched again from the core, as now asked for.
            self._cache = []

    def _sync(self) -> list[TraceEntry]:
        after = self._cache[-1].seq + 1 if self._cache else 0
        first, rows = self._window(after)
        for seq, time, conn, user, direction, command, args, payload, raw in rows:
            entry = TraceEntry(seq, time, conn, user, direction, command, tuple(args), payload, raw)
            self._cache.append(entry if self._reveal else _masked(entry))
        # The core dropped its oldest (past the limit, or cleared): so does the view.
        if first is None:
            self._cache.clear()
        else:
            del self._cache[: bisect.bisect_left(self._cache, first, key=lambda e: e.seq)]
        return self._cache

    def __len__(self) -> int:
        return self._length()

    def __iter__(self) -> Iterator[TraceEntry]:
        # A snapshot: indexing one entry at a time would chase a trace that keeps growing.
        return iter(list(self._sync()))

    @overload
    def __getitem__(self, index: int) -> TraceEntry: ...
    @overload
    def __getitem__(self, index: slice) -> TraceEntries: ...
    def __getitem__(self, index: int | slice) -> TraceEntry | TraceEntries:
        if isinstance(index, slice):
            return TraceEntries(self._sync()[index])
        return self._sync()[index]

    def lines(self) -> list[str]:
        """Every command line, in order."""
        return [e.line for e in self._sync()]

    def filter(self, command: str | None = None, user: str | None = None, direction: str | None = None) -> TraceEntries:
        """Entries matching every given criterion (a list that renders as a table)."""
        return TraceEntries(
            e for e in self._sync()
            if (command is None or e.command == command)
            and (user is None or e.user.lower() == user.lower())
            and (direction is None or e.direction == direction)
        )

    def to_records(self) -> list[dict[str, Any]]:
        """Plain dicts, one per entry, with the keys of ``RECORD_COLUMNS``: ``seq``,
        ``time``, ``conn``, ``user``, ``direction`` (``"C->S"`` or ``"S->C"``),
        ``command``, ``trid`` (None where the first argument is not one), ``args`` (a
        tuple, TrID first) and ``payload`` (bytes or None); secrets masked unless
        ``reveal``."""
        return _records(self._sync())

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` of ``to_records()``, one row per message (needs
        pandas, imported only here: ``ModuleNotFoundError`` says so when it is
        missing)."""
        return _frame(self._sync(), "Trace.to_pandas()")

    def clear(self) -> None:
        """Forgets every entry so far."""
        self._clear()
        self._cache.clear()

    def _repr_html_(self) -> str:
        entries = self._sync()
        return _table(entries[:HTML_ROWS], len(entries) - HTML_ROWS)

    def __repr__(self) -> str:
        entries = self._sync()
        shown = [f"  {e.time:8.3f} {e.user:<24} {e.direction} {e.line}" for e in entries[-20:]]
        more = f"  ... {len(entries) - 20} earlier entries\n" if len(entries) > 20 else ""
        return f"<Trace of {len(entries)} messages>\n" + more + "\n".join(shown)
