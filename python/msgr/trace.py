"""The MSNP wire trace: every message that crossed a link, as sent."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, overload

from . import _core

#: Rows shown by ``_repr_html_`` before the rest is summarised.
HTML_ROWS = 300


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
            return f"<details><summary>{summary}</summary><table>{rows}</table></details>"
        text = self.payload.decode("utf-8", "replace")
        first = text.splitlines()[0] if text else ""
        return f"<details><summary>{len(self.payload)} bytes: {html.escape(first[:60])}</summary><pre>{html.escape(text)}</pre></details>"

    def _row_html(self) -> str:
        trid = "" if self.trid is None else str(self.trid)
        args = self.args[1:] if self.trid is not None else self.args
        cells = [str(self.seq), f"{self.time:.3f}", f"{self.user} #{self.conn}", self.direction, self.command, trid, " ".join(args)]
        return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + f"<td>{self._payload_html()}</td></tr>"

    def _repr_html_(self) -> str:
        return _table([self])

    def __str__(self) -> str:
        return self.raw


def _table(entries: Sequence[TraceEntry], more: int = 0) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("#", "t (s)", "connection", "dir", "command", "trid", "arguments", "payload"))
    tail = f"<tr><td colspan='8'>… {more} more messages</td></tr>" if more > 0 else ""
    body = "".join(e._row_html() for e in entries)
    return f"<table class='msgr-trace'><thead><tr>{head}</tr></thead><tbody>{body}{tail}</tbody></table>"


_NO_TRID = frozenset({"RNG", "JOI", "BYE", "NLN", "FLN", "OUT", "NOT", "IPG", "QNG", "PNG"})


class Trace(Sequence[TraceEntry]):
    """A live view of a wire log; entries are fetched from the core lazily. The core keeps
    the latest ``limit`` entries (100,000 by default; ``trace_limit=`` changes it), so
    once past it the oldest go, and ``seq`` keeps counting."""

    def __init__(self, length: Callable[[], int], fetch: Callable[[int], list[tuple[Any, ...]]], clear: Callable[[], None], limit: int) -> None:
        self._length = length
        self._fetch = fetch
        self._clear = clear
        #: Most entries kept.
        self.limit = limit
        self._cache: list[TraceEntry] = []

    def _sync(self) -> list[TraceEntry]:
        total = self._length()
        after = self._cache[-1].seq + 1 if self._cache else 0
        for seq, time, conn, user, direction, command, args, payload, raw in self._fetch(after):
            self._cache.append(TraceEntry(seq, time, conn, user, direction, command, tuple(args), payload, raw))
        # The core dropped its oldest (past the limit, or cleared): so does the view.
        del self._cache[: len(self._cache) - total]
        return self._cache

    def __len__(self) -> int:
        return self._length()

    @overload
    def __getitem__(self, index: int) -> TraceEntry: ...
    @overload
    def __getitem__(self, index: slice) -> list[TraceEntry]: ...
    def __getitem__(self, index: int | slice) -> TraceEntry | list[TraceEntry]:
        return self._sync()[index]

    def lines(self) -> list[str]:
        """Every command line, in order."""
        return [e.line for e in self._sync()]

    def filter(self, command: str | None = None, user: str | None = None, direction: str | None = None) -> list[TraceEntry]:
        """Entries matching every given criterion."""
        return [
            e for e in self._sync()
            if (command is None or e.command == command)
            and (user is None or e.user.lower() == user.lower())
            and (direction is None or e.direction == direction)
        ]

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
