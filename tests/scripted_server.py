"""A scripted fake MSNP server: what a legacy third-party server does, on 127.0.0.1 and a
free port, with one behaviour changed per test.

Out of the box it speaks MSNP7 the way legacy servers do: it signs any account in with
``USR MD5`` (any password), sends **no** profile message (so no ``X-Msgr-LockAndKey``
header), never pings (no ``CHL 0``), and silently drops every command it has no
answer for, the client's ``CHL <t>`` and ``QRY`` among them. ``XFR SB`` hands out this
same port, where ``USR`` is accepted and ``CAL`` rings and joins the callee.

A test changes a behaviour by giving ``script``: command name -> ``answer(line)``,
returning the lines to send (without CR LF; none drops the command). The notification
and switchboard ``USR`` both arrive as ``"USR"``; ``line.switchboard`` tells them apart.
Every line the server received is in ``received``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Line", "ScriptedServer", "refusing_address"]


@dataclass(frozen=True)
class Line:
    """A command line the server received."""

    text: str
    #: The connection's number, from 1, in the order they were accepted.
    conn: int
    #: True on a switchboard connection (its first command was ``USR <account> <cookie>``).
    switchboard: bool
    #: The account the connection signs in as (from its ``USR``), or "" before.
    account: str = ""

    @property
    def command(self) -> str:
        return self.text.split(" ", 1)[0]

    @property
    def args(self) -> list[str]:
        return self.text.split(" ")[1:]

    @property
    def trid(self) -> str:
        return self.args[0] if self.args else "0"


Answer = Callable[[Line], Iterable[str]]


def refusing_address() -> tuple[str, int]:
    """A loopback ``(host, port)`` that refuses connections: a port bound, then freed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()  # type: ignore[no-any-return]


class ScriptedServer:
    """The fake server; a context manager that closes every socket at the end."""

    def __init__(self, script: Mapping[str, Answer] | None = None) -> None:
        self._script = dict(script or {})
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._lock = threading.Lock()
        self._received: list[Line] = []
        self._sockets: dict[int, socket.socket] = {}
        #: Connections the client closed (the server saw end of stream).
        self._closed_by_client: set[int] = set()
        self._closed = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True, name="scripted-msnp")]
        self._threads[0].start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return (host, port)

    @property
    def received(self) -> list[Line]:
        with self._lock:
            return list(self._received)

    def send(self, conn: int, *lines: str) -> None:
        """Sends ``lines`` on connection ``conn`` now, unasked (``OUT OTH``...)."""
        with self._lock:
            sock = self._sockets[conn]
        sock.sendall("".join(f"{line}\r\n" for line in lines).encode())

    def closed_by_client(self, conn: int) -> bool:
        """True once the client closed connection ``conn``."""
        with self._lock:
            return conn in self._closed_by_client

    def commands(self, name: str) -> list[Line]:
        """The lines received whose command is ``name``."""
        return [line for line in self.received if line.command == name]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Waits (bounded) until ``predicate()`` is true; returns its value."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the scripted server did not see it within {timeout:g} s")
            time.sleep(0.01)
        return result

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        # The accepting thread first, so no connection starts while the others end.
        self._threads[0].join(timeout=5)
        with self._lock:
            for sock in self._sockets.values():
                _close(sock)
        for thread in self._threads[1:]:
            thread.join(timeout=5)

    def __enter__(self) -> ScriptedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the server's side ---------------------------------------------------------------

    def _accept(self) -> None:
        conn = 0
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn += 1
            with self._lock:
                self._sockets[conn] = sock
            thread = threading.Thread(target=self._serve, args=(sock, conn), daemon=True, name=f"scripted-msnp-{conn}")
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, conn: int) -> None:
        buffer, switchboard, account = b"", None, ""
        with sock:
            while not self._closed.is_set():
                try:
                    chunk = sock.recv(4096)
                except OSError:
                    return
                if not chunk:
                    with self._lock:
                        self._closed_by_client.add(conn)
                    return
                buffer += chunk
                while b"\r\n" in buffer:
                    raw, buffer = buffer.split(b"\r\n", 1)
                    text = raw.decode("utf-8", "replace")
                    if text.split(" ")[0] in ("QRY", "MSG"):
                        # A payload follows (its length is the last argument): take it too.
                        length = int(text.rsplit(" ", 1)[-1])
                        while len(buffer) < length:
                            more = sock.recv(4096)
                            if not more:
                                return
                            buffer += more
                        buffer = buffer[length:]
                    words = text.split(" ")
                    if switchboard is None:
                        switchboard = words[0] == "USR" and len(words) == 4
                    if words[0] == "USR" and not account:
                        account = words[2] if switchboard else words[-1]
                    line = Line(text, conn, switchboard, account)
                    with self._lock:
                        self._received.append(line)
                    if line.command == "OUT":
                        return
                    answer = self._script.get(line.command) or self._defaults.get(line.command)
                    if answer is None:
                        continue
                    out = "".join(f"{reply}\r\n" for reply in answer(line))
                    if out:
                        try:
                            sock.sendall(out.encode())
                        except OSError:
                            return

    @property
    def _defaults(self) -> dict[str, Answer]:
        return {
            "VER": lambda line: [f"VER {line.trid} MSNP7"],
            "INF": lambda line: [f"INF {line.trid} MD5"],
            "USR": _usr,
            "SYN": lambda line: [f"SYN {line.trid} 1"],
            "CHG": lambda line: [f"CHG {line.trid} {line.args[1]}"],
            "XFR": self.xfr_answer,
            "CAL": _cal,
        }

    def xfr_answer(self, line: Line) -> list[str]:
        """The legacy ``XFR SB`` answer: this very port, and a cookie."""
        host, port = self.address
        return [f"XFR {line.trid} SB {host}:{port} CKI 1234.5678"]


def _usr(line: Line) -> list[str]:
    """Any account, any password (``USR MD5 I``, then ``S``); any switchboard cookie."""
    if line.switchboard or line.args[2] == "S":
        return [f"USR {line.trid} OK {line.account} {line.account}"]
    return [f"USR {line.trid} MD5 S 1013928519.693957190"]


def _cal(line: Line) -> list[str]:
    """The callee rings and joins at once."""
    callee = line.args[1]
    return [f"CAL {line.trid} RINGING 11752013", f"JOI {callee} {callee}"]


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
