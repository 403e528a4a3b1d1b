"""MSNP at the wire level, from Python: msgr's Rust codec, and a raw test connection.

The codec (the same one msgr's client and server run):

* ``Command``: one command. ``Command("VER", 1, "MSNP8", "CVR0")`` builds a line,
  ``Command("MSG", 4, "A", payload=body)`` a payload command (the byte count is
  appended); ``Command.parse(data, direction)`` reads exactly one; ``.name``,
  ``.args``, ``.payload``, ``.trid``, ``.is_error``, ``.error_code``, ``.line``,
  ``.encode()``.
* ``Decoder(direction, max_line=, max_payload=)``: a byte stream into commands
  (``push``/``next``, or ``feed``), whatever the chunking.
* ``parse_message`` (a ``MSG`` payload's headers and body), ``encode_invitation`` /
  ``parse_invitation`` (``text/x-msmsgsinvite``), ``url_encode`` / ``url_decode``
  (friendly names), ``payload_follows`` (which lines announce a payload).

Directions are ``"S->C"`` (server to client, what a client reads) and ``"C->S"``.
Malformed input raises ``msgr.WireError`` (an ``InvalidArgError``, so a
``ValueError``) whose ``kind`` names the fault.

The raw connection, for checking a server line by line:

* ``RawConnection.open(host, port)``: a TCP connection to a notification server or a
  switchboard. ``send`` a line (text or bytes, sent as given) or a ``Command``;
  ``call`` sends a command on the next TrID and returns the first reply with it;
  ``expect(trid=…, name=…)`` waits for a reply; ``next_async(names)`` for a line the
  server sends on its own (``RNG``, ``NLN``, ``MSG``, ``OUT``…); ``expect_closed``
  for the server to hang up. Whatever arrives meanwhile is kept for later calls.
* ``Transcript``: every line both ways, with its time and connection; several
  connections can share one. ``RawConnection.fail`` and every expectation that is
  not met raise ``ExchangeError`` (an ``AssertionError``) whose message ends with the
  lines exchanged so far. Proofs of a password or a key (a ``USR … S`` proof or
  ticket, a ``QRY`` answer) are masked in it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NoReturn

from .._core import (
    Command,
    Decoder,
    encode_invitation,
    parse_invitation,
    parse_message,
    payload_follows,
    url_decode,
    url_encode,
)
from .._masking import masked_args
from ..errors import WireError

__all__ = [
    "Command",
    "Decoder",
    "WireError",
    "parse_message",
    "encode_invitation",
    "parse_invitation",
    "url_encode",
    "url_decode",
    "payload_follows",
    "Exchanged",
    "Transcript",
    "ExchangeError",
    "RawConnection",
    "DEFAULT_TIMEOUT",
]

#: Seconds ``RawConnection`` waits for a reply unless told otherwise.
DEFAULT_TIMEOUT = 10.0

#: How much of a payload, and of a command line, a transcript line shows.
_PAYLOAD_SHOWN = 240
_LINE_SHOWN = 400


@dataclass(frozen=True)
class Exchanged:
    """One entry of a ``Transcript``: ``time`` (seconds since it started), the
    connection's ``label``, ``direction`` (``"C->S"``, ``"S->C"``, or ``"--"`` for what
    happened to the connection itself) and ``text`` (the command line, a payload shown
    after it, secrets masked)."""

    time: float
    label: str
    direction: str
    text: str

    def __str__(self) -> str:
        return f"{self.time:8.3f}  {self.label:<12} {self.direction}  {self.text}"

    def to_record(self) -> dict[str, object]:
        """As a JSON-ready dict: ``time``, ``conn``, ``dir``, ``line``."""
        return {"time": round(self.time, 6), "conn": self.label, "dir": self.direction, "line": self.text}


def _shown_payload(payload: bytes) -> str:
    text = payload.decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > _PAYLOAD_SHOWN:
        text = text[:_PAYLOAD_SHOWN] + f"… ({len(payload)} bytes)"
    return text


def _masked(direction: str, command: Command) -> str:
    """The line as a transcript shows it: a ``USR … S`` proof or ticket, a ``QRY``
    answer and switchboard cookies (which prove a password or a key, or let their
    reader in) replaced by ``***``."""
    args = masked_args(command.name, command.args, direction)
    line = " ".join((command.name, *args))
    if len(line) > _LINE_SHOWN:
        line = line[:_LINE_SHOWN] + f"… ({len(line)} characters)"
    if command.payload is None:
        return line
    if command.name == "QRY" and direction == "C->S":
        return f"{line} +***"
    return f"{line} +{_shown_payload(command.payload)}"


class Transcript:
    """The lines exchanged on one or more raw connections, in the order they were sent
    or received (thread-safe). Iterating gives ``Exchanged`` entries; ``str()`` the
    lines as a failure message shows them."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._entries: list[Exchanged] = []

    def _add(self, label: str, direction: str, text: str) -> None:
        with self._lock:
            self._entries.append(Exchanged(time.monotonic() - self._start, label, direction, text))

    def record(self, label: str, direction: str, command: Command) -> None:
        """Adds a command sent (``"C->S"``) or received (``"S->C"``), secrets masked."""
        self._add(label, direction, _masked(direction, command))

    def record_raw(self, label: str, direction: str, data: bytes) -> None:
        """Adds bytes that are not one well-formed command (sent on purpose, or
        received and refused by the decoder)."""
        self._add(label, direction, f"(raw) {_shown_payload(data)}")

    def note(self, label: str, text: str) -> None:
        """Adds what happened to a connection (opened, closed by the server, …)."""
        self._add(label, "--", text)

    @property
    def entries(self) -> list[Exchanged]:
        """A copy of the entries so far."""
        with self._lock:
            return list(self._entries)

    def __iter__(self) -> Iterator[Exchanged]:
        return iter(self.entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def to_records(self) -> list[dict[str, object]]:
        """Every entry as ``Exchanged.to_record`` gives it."""
        return [e.to_record() for e in self.entries]

    def format(self, last: int | None = None) -> str:
        """The entries one per line (``time  connection  direction  line``); with
        ``last``, only that many of the latest, after a line saying how many were
        left out."""
        entries = self.entries
        skipped = 0
        if last is not None and len(entries) > last:
            skipped = len(entries) - last
            entries = entries[skipped:]
        lines = [f"   ({skipped} earlier lines left out)"] if skipped else []
        lines.extend(f"  {e}" for e in entries)
        return "\n".join(lines) if lines else "  (nothing exchanged)"

    def __str__(self) -> str:
        return self.format()


class ExchangeError(AssertionError):
    """An expectation about a server's lines was not met. The message says what was
    expected, then lists the lines exchanged so far; ``transcript`` holds them."""

    def __init__(self, message: str, transcript: Transcript) -> None:
        super().__init__(f"{message}\nLines exchanged:\n{transcript.format(last=200)}")
        self.reason = message
        self.transcript = transcript


Match = Callable[[Command], bool]


class RawConnection:
    """One TCP connection to an MSNP server, line by line, recording every line in a
    ``Transcript``. Not thread-safe: one test drives it. A context manager (closed at
    the end).

    Replies are read on demand: every wait reads what the server sent, keeps it in
    arrival order, and takes out the first command that matches, so a line that
    arrives early (an ``RNG`` while waiting for a ``CAL`` reply) waits for its own
    ``next_async``. Every wait is bounded (``timeout`` seconds, by default the
    connection's); one that is not met raises ``ExchangeError`` with the transcript.
    """

    def __init__(
        self,
        sock: socket.socket,
        *,
        label: str = "conn",
        transcript: Transcript | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_line: int = 65536,
        max_payload: int = 1 << 20,
    ) -> None:
        """Wraps a connected socket. ``label`` names the connection in the transcript
        (``"alice NS"``); ``transcript`` may be shared with other connections (a new
        one by default); ``max_line`` and ``max_payload`` bound what the server may
        send before its bytes are refused as not MSNP."""
        self._sock = sock
        self.label = label
        self.transcript = transcript if transcript is not None else Transcript()
        self.timeout = float(timeout)
        self._decoder = Decoder("S->C", max_line=max_line, max_payload=max_payload)
        self._inbox: list[Command] = []
        self._eof = False
        self._closed = False
        self._trid = 0
        self.peer = "%s:%s" % sock.getpeername()[:2]

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        label: str = "conn",
        transcript: Transcript | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RawConnection:
        """Connects to ``host:port`` (within ``timeout`` seconds). An ``OSError`` (refused,
        unreachable) becomes ``ExchangeError`` naming the address, with the transcript."""
        transcript = transcript if transcript is not None else Transcript()
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            transcript.note(label, f"cannot connect to {host}:{port}: {exc}")
            raise ExchangeError(f"{label}: cannot connect to {host}:{port}: {exc}", transcript) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = cls(sock, label=label, transcript=transcript, timeout=timeout)
        transcript.note(label, f"connected to {host}:{port}")
        return conn

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True once the server closed the connection (as far as read so far) or
        ``close()`` was called."""
        return self._eof or self._closed

    @property
    def pending(self) -> list[Command]:
        """Commands received and not yet taken by an ``expect``, in arrival order (a copy)."""
        return list(self._inbox)

    def next_trid(self) -> int:
        """The next transaction ID of this connection: 1, 2, 3, … (``call`` uses it)."""
        self._trid += 1
        return self._trid

    def skip_trids(self, last: int) -> None:
        """Continues numbering after ``last`` (a TrID sent by hand)."""
        self._trid = max(self._trid, last)

    def fail(self, message: str) -> NoReturn:
        """Raises ``ExchangeError``: ``message`` and the lines exchanged so far."""
        raise ExchangeError(f"{self.label}: {message}", self.transcript)

    # ------------------------------------------------------------------ sending

    def send(self, command: Command | str | bytes, *, may_close: bool = False) -> None:
        """Sends a ``Command`` (encoded), or a line as text or bytes exactly as given,
        with CR LF added when it does not end in LF (so malformed lines can be sent
        on purpose). A connection the server closed raises ``ExchangeError``, unless
        ``may_close`` (the server may hang up on what is being sent): the connection
        then just counts as closed."""
        if isinstance(command, Command):
            data = command.encode()
            self.transcript.record(self.label, "C->S", command)
        else:
            data = command.encode("utf-8") if isinstance(command, str) else bytes(command)
            if not data.endswith(b"\n"):
                data += b"\r\n"
            self._record_sent_bytes(data)
        self._write(data, may_close)

    def _record_sent_bytes(self, data: bytes) -> None:
        try:
            parsed = Command.parse(data, "C->S")
        except WireError:
            self.transcript.record_raw(self.label, "C->S", data)
        else:
            self.transcript.record(self.label, "C->S", parsed)

    def send_bytes(self, data: bytes, *, chunk: int | None = None, pause: float = 0.0, may_close: bool = False) -> None:
        """Sends ``data`` exactly as given (no line end added), in one write or, with
        ``chunk``, in writes of that many bytes (to check that a server reassembles
        commands split across TCP segments). With ``pause`` seconds between the writes
        each leaves in a segment of its own (the socket has ``TCP_NODELAY``), whatever
        the kernel would otherwise join. The whole commands in ``data`` go into the
        transcript as commands, anything else as raw bytes."""
        decoder = Decoder("C->S", max_line=len(data) + 2, max_payload=len(data))
        try:
            for command in decoder.feed(data):
                self.transcript.record(self.label, "C->S", command)
            rest = decoder.buffered
        except WireError:
            rest = len(data)
        if rest:
            self.transcript.record_raw(self.label, "C->S", data[len(data) - rest :])
        if chunk is None:
            self._write(data, may_close)
            return
        for start in range(0, len(data), max(1, chunk)):
            if pause and start:
                time.sleep(pause)
            self._write(data[start : start + max(1, chunk)], may_close)

    def send_payload(self, name: str, *args: str | int, payload: bytes) -> Command:
        """Builds a payload command (the byte count appended) and sends it."""
        command = Command(name, *args, payload=payload)
        self.send(command)
        return command

    def _write(self, data: bytes, may_close: bool = False) -> None:
        if self._closed:
            self.fail("cannot send: the connection was closed by the test")
        try:
            self._sock.settimeout(self.timeout)
            self._sock.sendall(data)
        except OSError as exc:
            self._eof = True
            self.transcript.note(self.label, f"send failed: {exc}")
            if not may_close:
                self.fail(f"cannot send, the server closed the connection ({exc})")

    def request(self, name: str, *args: str | int, payload: bytes | None = None) -> int:
        """Sends ``name`` with the next TrID and ``args`` (a payload command if
        ``payload`` is given); returns the TrID."""
        trid = self.next_trid()
        self.send(Command(name, trid, *args, payload=payload))
        return trid

    def call(self, name: str, *args: str | int, payload: bytes | None = None, timeout: float | None = None) -> Command:
        """``request``, then the first reply carrying its TrID (an error reply too)."""
        trid = self.request(name, *args, payload=payload)
        return self.expect(trid=trid, timeout=timeout, what=f"a reply to {name} {trid}")

    # ------------------------------------------------------------------ receiving

    def _receive(self, deadline: float) -> bool:
        """Reads once, until ``deadline`` at most; False when nothing came (time out or
        end of stream)."""
        if self.closed:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return False
        except OSError as exc:
            self._eof = True
            self.transcript.note(self.label, f"connection lost: {exc}")
            return False
        if not data:
            self._eof = True
            self.transcript.note(self.label, "closed by the server")
            return False
        try:
            commands = self._decoder.feed(data)
        except WireError as exc:
            self.transcript.record_raw(self.label, "S->C", data)
            self.fail(f"the server sent what is not MSNP ({exc.kind}: {exc})")
        for command in commands:
            self.transcript.record(self.label, "S->C", command)
            self._inbox.append(command)
        return True

    def _take(self, match: Match) -> Command | None:
        for i, command in enumerate(self._inbox):
            if match(command):
                return self._inbox.pop(i)
        return None

    def wait_for(self, match: Match, *, timeout: float | None = None, what: str = "a matching line") -> Command:
        """The first received command (kept or arriving) for which ``match`` is true,
        taken out of the pending ones; ``ExchangeError`` if none comes within
        ``timeout`` seconds or the server closes first. ``what`` names it in the
        failure message."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            found = self._take(match)
            if found is not None:
                return found
            if self.closed:
                self.fail(f"expected {what}, but the connection was closed")
            if not self._receive(deadline) and not self.closed:
                self.fail(f"expected {what}, but none came within {self.timeout if timeout is None else timeout:g} s")

    def expect(
        self,
        *,
        trid: int | None = None,
        name: str | Iterable[str] | None = None,
        timeout: float | None = None,
        what: str | None = None,
    ) -> Command:
        """The first received command with TrID ``trid`` and/or named ``name`` (one
        name or several; error replies are named by their code, ``"540"``). Waits at
        most ``timeout`` seconds; ``ExchangeError`` otherwise."""
        names = None if name is None else ({name} if isinstance(name, str) else set(name))

        def match(c: Command) -> bool:
            return (trid is None or c.trid == trid) and (names is None or c.name in names)

        if what is None:
            parts = [f"TrID {trid}"] if trid is not None else []
            if names is not None:
                parts.insert(0, "/".join(sorted(names)))
            what = "a reply with " + " ".join(parts) if parts else "any line"
        return self.wait_for(match, timeout=timeout, what=what)

    def expect_or_closed(
        self,
        *,
        trid: int | None = None,
        name: str | Iterable[str] | None = None,
        timeout: float | None = None,
        what: str | None = None,
    ) -> Command | None:
        """As ``expect``, but the server closing the connection first is an answer
        too: None then (for refusals that may be a reply or a hang-up)."""
        try:
            return self.expect(trid=trid, name=name, timeout=timeout, what=what)
        except ExchangeError:
            if self._eof:
                return None
            raise

    def wait_for_or_closed(self, match: Match, *, timeout: float | None = None, what: str = "a matching line") -> Command | None:
        """As ``wait_for``, but None when the server closes the connection first."""
        try:
            return self.wait_for(match, timeout=timeout, what=what)
        except ExchangeError:
            if self._eof:
                return None
            raise

    def next_async(self, names: str | Iterable[str] | None = None, *, timeout: float | None = None) -> Command:
        """The next line the server sent on its own, without a TrID or with TrID 0,
        named one of ``names`` (any, if None): ``RNG``, ``NLN``, ``FLN``, ``MSG``,
        ``BYE``, ``JOI``, ``OUT``, ``QNG``, ``CHL 0``, ``ADD 0 RL``… (``ILN`` answers a
        ``CHG`` and carries its TrID: ``expect`` it.)"""
        wanted = None if names is None else ({names} if isinstance(names, str) else set(names))

        def match(c: Command) -> bool:
            unsolicited = c.trid is None or c.trid == 0
            return unsolicited and (wanted is None or c.name in wanted)

        what = "an unsolicited " + ("/".join(sorted(wanted)) if wanted else "line")
        return self.wait_for(match, timeout=timeout, what=what)

    def collect(self, trid: int, *, until: Match, timeout: float | None = None, what: str | None = None) -> list[Command]:
        """Every command with TrID ``trid``, in order, up to and including the first for
        which ``until`` is true (``IRO`` lines then ``ANS OK``; ``ILN`` lines then …)."""
        got: list[Command] = []
        while True:
            command = self.expect(trid=trid, timeout=timeout, what=what)
            got.append(command)
            if until(command):
                return got

    def take_pending(self, match: Match) -> list[Command]:
        """Every command received so far for which ``match`` is true, taken out of the
        pending ones, without waiting for more."""
        taken = [c for c in self._inbox if match(c)]
        self._inbox = [c for c in self._inbox if not match(c)]
        return taken

    def expect_closed(self, *, timeout: float | None = None, what: str = "the server to close the connection") -> list[Command]:
        """Waits until the server closes the connection; returns the commands that came
        before (they stay pending too). ``ExchangeError`` if it stays open."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        start = len(self._inbox)
        while not self.closed:
            if not self._receive(deadline) and not self.closed:
                self.fail(f"expected {what}, but it stayed open for {self.timeout if timeout is None else timeout:g} s")
        return self._inbox[start:]

    # ------------------------------------------------------------------ end

    def close(self) -> None:
        """Closes the socket (without sending ``OUT``); idempotent."""
        if self._closed:
            return
        self._closed = True
        if not self._eof:
            self.transcript.note(self.label, "closed by the test")
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<msgr.testing.wire.RawConnection {self.label} {self.peer} {state}, {len(self._inbox)} pending>"
