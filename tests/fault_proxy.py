"""A TCP proxy that stands for one machine's network link to an MSNP server, and cuts it
after the k-th message.

The client connects to the proxy instead of the server; every connection it opens
(the notification connection, and the switchboards that ``XFR`` and ``RNG`` name)
goes through the same proxy, because the proxy rewrites the server's address in those
two replies to its own. It forwards whole MSNP messages only (a command line and its
payload, framed as msgr's codec frames them), counts them in both directions on all
the link's connections, and once ``arm(k)`` has seen the k-th go through, closes
every connection on both sides: the k-th message arrives, the (k+1)-th never does.

``tamper`` makes it a faulty link instead: it sees each whole message and returns what
goes on in its place (none drops it, two duplicate it, and one held back and sent later
reorders).

Only 127.0.0.1 is used; the listening port is a free one.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

#: Commands whose last parameter is a payload length, by direction, and how many
#: parameters they need to have one (msgr's ``src/wire/codec.rs``).
_PAYLOAD_ARGS = {
    ("C->S", "MSG"): 3,
    ("C->S", "QRY"): 3,
    ("C->S", "UUX"): 2,
    ("S->C", "MSG"): 3,
    ("S->C", "UBX"): 2,
    ("S->C", "GCF"): 3,
    ("S->C", "NOT"): 1,
    ("S->C", "IPG"): 1,
}


@dataclass(frozen=True)
class Message:
    """One message that went through: its direction (``"C->S"`` or ``"S->C"``), the
    link's connection number (in the order they were opened), and its command line."""

    direction: str
    conn: int
    line: str


class _Framer:
    """Splits a byte stream into whole MSNP messages (line, payload included)."""

    def __init__(self, direction: str) -> None:
        self.direction = direction
        self.buf = b""

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\n")
            if end < 0:
                return out
            line = self.buf[: end + 1]
            words = line.decode("utf-8", "replace").split()
            size = 0
            if words:
                need = _PAYLOAD_ARGS.get((self.direction, words[0]))
                if need is not None and len(words) - 1 >= need and words[-1].isdigit():
                    size = int(words[-1])
            if len(self.buf) < end + 1 + size:
                return out
            whole = self.buf[: end + 1 + size]
            self.buf = self.buf[end + 1 + size :]
            if words:
                out.append((" ".join(words), whole))
            else:
                # A blank keep-alive line: forwarded, not counted.
                out.append(("", whole))


#: ``tamper(direction, line, whole)``: the bytes to send in place of one whole message.
Tamper = Callable[[str, str, bytes], list[bytes]]


class FaultProxy:
    """One machine's link to the MSNP server at ``upstream`` (``(host, port)``).

    ``address`` is where the client connects. ``arm(k)`` starts counting afresh and
    cuts the link right after the k-th message (``None``: count only); ``count`` and
    ``messages`` say what went through since. ``cut()`` cuts it now. While
    ``refusing`` (after a cut, until ``heal()``), new connections are closed at once,
    as on a link that is down. Usable as a context manager (``close()`` at the end).
    ``tamper``, if given, rewrites each message on its way (module docstring)."""

    def __init__(self, upstream: tuple[str, int], tamper: Tamper | None = None) -> None:
        self.upstream = upstream
        self._tamper = tamper
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._upstream_text = f"{upstream[0]}:{upstream[1]}".encode()
        self._own_text = f"{self.address[0]}:{self.address[1]}".encode()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._next_conn = 0
        self._limit: int | None = None
        self.count = 0
        self.messages: list[Message] = []
        self.cuts = 0
        self.refusing = False
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, name="fault-proxy-accept", daemon=True)
        self._accepting.start()

    # ------------------------------------------------------------------ control

    def arm(self, limit: int | None) -> None:
        """Counts from zero, and cuts the link once ``limit`` messages went through."""
        with self._lock:
            self._limit = limit
            self.count = 0
            self.messages = []

    def cut(self) -> None:
        """Closes every connection of the link on both sides, and refuses new ones
        until ``heal()``."""
        with self._lock:
            self._cut_locked()

    def heal(self) -> None:
        """Lets new connections through again (the ones cut stay closed)."""
        with self._lock:
            self.refusing = False
            self._limit = None

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._sockets) // 2

    def close(self) -> None:
        self._closed = True
        self.cut()
        # Closing alone does not wake a thread blocked in accept(); shutting it down does.
        _shut(self._listener)
        self._accepting.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ plumbing

    def _cut_locked(self) -> None:
        self.refusing = True
        self.cuts += 1
        self._limit = None
        for sock in self._sockets:
            _shut(sock)
        self._sockets = []

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refuse = self.refusing or self._closed
            if refuse:
                _shut(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _shut(client)
                continue
            server.settimeout(None)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self.refusing:
                    _shut(client)
                    _shut(server)
                    continue
                conn = self._next_conn
                self._next_conn += 1
                self._sockets += [client, server]
                pumps = [
                    threading.Thread(target=self._pump, args=(client, server, "C->S", conn), daemon=True),
                    threading.Thread(target=self._pump, args=(server, client, "S->C", conn), daemon=True),
                ]
                self._threads = [t for t in self._threads if t.is_alive()] + pumps
            for pump in pumps:
                pump.start()

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str, conn: int) -> None:
        framer = _Framer(direction)
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                for line, whole in framer.feed(data):
                    if not self._forward(dst, direction, conn, line, whole):
                        return
        except OSError:
            pass
        # One side went away: so does the other, as TCP through a proxy would.
        with self._lock:
            for sock in (src, dst):
                _shut(sock)
                if sock in self._sockets:
                    self._sockets.remove(sock)

    def _forward(self, dst: socket.socket, direction: str, conn: int, line: str, whole: bytes) -> bool:
        """Sends one message on; False once the link is cut."""
        if direction == "S->C" and line.split(" ", 1)[0] in ("XFR", "RNG"):
            whole = whole.replace(self._upstream_text, self._own_text, 1)
        with self._lock:
            if dst not in self._sockets:
                return False
            pieces = self._tamper(direction, line, whole) if self._tamper and line else [whole]
            try:
                for piece in pieces:
                    dst.sendall(piece)
            except OSError:
                return False
            if not line:
                return True
            self.count += 1
            self.messages.append(Message(direction, conn, line))
            if self._limit is not None and self.count >= self._limit:
                self._cut_locked()
                return False
        return True


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
