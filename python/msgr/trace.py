"""The MSNP wire trace: every message that crossed a link, as sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, overload


@dataclass(frozen=True)
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

    def __str__(self) -> str:
        return self.raw


_NO_TRID = frozenset({"RNG", "JOI", "BYE", "NLN", "FLN", "OUT", "NOT", "IPG", "QNG", "PNG"})


class Trace(Sequence[TraceEntry]):
    """A live view of a service's wire log; entries are fetched from the core lazily."""

    def __init__(self, length: Callable[[], int], fetch: Callable[[int], list[tuple[Any, ...]]], clear: Callable[[], None]) -> None:
        self._length = length
        self._fetch = fetch
        self._clear = clear
        self._cache: list[TraceEntry] = []

    def _sync(self) -> list[TraceEntry]:
        total = self._length()
        if total < len(self._cache):
            self._cache.clear()
        if total > len(self._cache):
            for seq, time, conn, user, direction, command, args, payload, raw in self._fetch(len(self._cache)):
                self._cache.append(TraceEntry(seq, time, conn, user, direction, command, tuple(args), payload, raw))
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

    def __repr__(self) -> str:
        entries = self._sync()
        shown = [f"  {e.time:8.3f} {e.user:<24} {e.direction} {e.line}" for e in entries[-20:]]
        more = f"  ... {len(entries) - 20} earlier entries\n" if len(entries) > 20 else ""
        return f"<Trace of {len(entries)} messages>\n" + more + "\n".join(shown)
