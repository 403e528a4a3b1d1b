"""A proxy in front of `msgr serve` that makes it behave as the third-party servers on
record do, one deviation at a time (or several), so the conformance suite's grade for
each recorded deviation can be checked in CI without those servers.

Every command is decoded both ways with msgr's codec and passed on re-encoded, unless a
deviation drops it, answers it itself, rewrites it, delays it, or ends the connection.
The switchboard address in `XFR` and `RNG` is rewritten to the proxy's, so switchboard
traffic passes through it too.

Deviations (names as ``DeviantProxy`` takes them):

* ``ignore-unknown``: a command the server does not know gets no answer (Escargot);
* ``second-ver-again``: a second `VER` is negotiated again instead of `715` and a close;
* ``close-on-ack-s``: a `MSG … S` closes the sender's switchboard connection (Escargot);
* ``out-oth-open``: after `OUT OTH` the connection stays open (the proxy answers it);
* ``911-open``: after `911` to a Passport ticket the connection stays open (R²M);
* ``ack-all``: `NAK` becomes `ACK` (Escargot acknowledges without checking);
* ``no-profile``: no `MSG Hotmail Hotmail` profile after sign-in;
* ``inf-502``: `INF` from MSNP8 is `502`;
* ``rings-only-contacts``: `CAL` of someone not on the caller's forward list is `205`;
* ``rem-rl-n``: `REM 0 RL <account>` is written `REM 0 RL N=<account>` (R²M);
* ``reencode-names``: a friendly name echoed in `PRP`/`REA` is re-encoded, only `%`,
  space, CR and LF escaped (Escargot);
* ``delay-presence``: `NLN`/`FLN` reach watchers 0.2 s late (Escargot);
* ``refuse-msnp7``: `VER` offering only MSNP7 is `VER <t> 0` and a close (R²M);
* ``xfr-busy``: every `XFR` is `713` (a server that rate-limits the suite);
* ``no-groups``: `ADG`, `RMG` and `REG` are `502` (a server without groups, as msgr was).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from msgr.testing.wire import Command, Decoder, WireError

__all__ = ["DeviantProxy", "DEVIATIONS"]

DEVIATIONS = frozenset(
    {
        "ignore-unknown",
        "second-ver-again",
        "close-on-ack-s",
        "out-oth-open",
        "911-open",
        "ack-all",
        "no-profile",
        "inf-502",
        "rings-only-contacts",
        "rem-rl-n",
        "reencode-names",
        "delay-presence",
        "refuse-msnp7",
        "xfr-busy",
        "no-groups",
    }
)

#: What msgr serve knows; anything else is "unknown" to ``ignore-unknown``.
KNOWN = frozenset(
    "VER CVR INF USR SYN CHG CHL QRY ADD ADC REM GTC BLP PRP REA SBP UUX GCF XFR PNG OUT MSG CAL ANS ADG RMG REG".split()
)
BIG = 4 << 20


@dataclass
class _Link:
    """One client connection and its upstream."""

    client: socket.socket
    server: socket.socket
    lock: threading.Lock = field(default_factory=threading.Lock)
    dialect: int = 0
    switchboard: bool = False
    user: str = ""
    ver_done: bool = False
    ticket_trid: str = ""
    #: The server is gone but the client stays connected; the proxy answers it.
    zombie: bool = False
    closed: bool = False

    def to_client(self, data: bytes) -> None:
        with self.lock:
            if not self.closed:
                try:
                    self.client.sendall(data)
                except OSError:
                    pass

    def close(self) -> None:
        with self.lock:
            self.closed = True
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def _line(*parts: object) -> bytes:
    return (" ".join(str(p) for p in parts) + "\r\n").encode()


def _escargot_quote(name: str) -> str:
    return unquote(name).replace("%", "%25").replace(" ", "%20").replace("\r", "%0D").replace("\n", "%0A")


class DeviantProxy:
    """The proxy on a free 127.0.0.1 port; a context manager."""

    def __init__(self, upstream: tuple[str, int], deviations: Iterable[str]) -> None:
        self.deviations = frozenset(deviations)
        unknown = self.deviations - DEVIATIONS
        if unknown:
            raise ValueError(f"unknown deviations {sorted(unknown)}")
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._links: list[_Link] = []
        #: Forward lists as the proxy saw them (lower-case account -> contacts), and the
        #: contact GUIDs they were given, for ``rings-only-contacts``.
        self._forward: dict[str, set[str]] = {}
        self._guids: dict[str, str] = {}
        self._state = threading.Lock()
        threading.Thread(target=self._accept, daemon=True, name="deviant-proxy").start()

    def __enter__(self) -> DeviantProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._listener.close()
        for link in list(self._links):
            link.close()

    def _on(self, name: str) -> bool:
        return name in self.deviations

    # ------------------------------------------------------------------ plumbing

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            self._links.append(link)
            threading.Thread(target=self._client_side, args=(link,), daemon=True).start()
            threading.Thread(target=self._server_side, args=(link,), daemon=True).start()

    @staticmethod
    def _read(sock: socket.socket) -> bytes:
        """What ``sock`` has; empty at its end or on an error."""
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def _client_side(self, link: _Link) -> None:
        decoder: Decoder | None = Decoder("C->S", max_line=BIG, max_payload=BIG)
        while True:
            data = self._read(link.client)
            if not data:
                link.close()
                return
            if decoder is None:
                self._to_server(link, data)
                continue
            try:
                commands = decoder.feed(data)
            except WireError:
                # Not MSNP (on purpose: the suite's bad input): pass the rest as it is.
                decoder = None
                self._to_server(link, data)
                continue
            for command in commands:
                if not self._from_client(link, command):
                    return

    def _to_server(self, link: _Link, data: bytes) -> None:
        if link.zombie:
            return
        try:
            link.server.sendall(data)
        except OSError:
            pass

    def _server_side(self, link: _Link) -> None:
        decoder = Decoder("S->C", max_line=BIG, max_payload=BIG)
        while True:
            data = self._read(link.server)
            if not data:
                if not link.zombie:
                    link.close()
                return
            for command in decoder.feed(data):
                self._from_server(link, command)

    # ------------------------------------------------------------------ client to server

    def _from_client(self, link: _Link, cmd: Command) -> bool:
        """Handles one client command; False when the link is finished."""
        name, args = cmd.name, cmd.args
        trid = args[0] if args else "0"
        if link.zombie:
            link.to_client(_line("QNG") if name == "PNG" else _line(name, trid))
            return True
        if not link.ver_done and name in ("USR", "ANS") and len(args) >= 3 and "@" in args[1]:
            link.switchboard, link.user = True, args[1].lower()
        if name == "VER":
            offered = [a for a in args[1:] if a.startswith("MSNP")]
            if link.ver_done and self._on("second-ver-again"):
                link.to_client(_line("VER", trid, offered[0] if offered else "0"))
                return True
            if self._on("refuse-msnp7") and offered == ["MSNP7"]:
                link.to_client(_line("VER", trid, "0"))
                link.close()
                return False
            if not link.ver_done and offered:
                link.dialect = int(offered[0][4:])
        if name not in KNOWN and self._on("ignore-unknown"):
            return True
        if name == "INF" and link.dialect >= 8 and self._on("inf-502"):
            link.to_client(_line("502", trid))
            return True
        if name == "MSG" and link.switchboard and len(args) > 1 and args[1] == "S" and self._on("close-on-ack-s"):
            link.close()
            return False
        if name in ("ADG", "RMG", "REG") and self._on("no-groups"):
            link.to_client(_line("502", trid))
            return True
        if name == "XFR" and self._on("xfr-busy"):
            link.to_client(_line("713", trid))
            return True
        if name == "CAL" and link.switchboard and self._on("rings-only-contacts") and len(args) > 1:
            with self._state:
                known = args[1].lower() in self._forward.get(link.user, set())
            if not known:
                link.to_client(_line("205", trid))
                return True
        if name == "USR" and len(args) > 2 and args[1:3] == ("TWN", "S"):
            link.ticket_trid = trid
        self._to_server(link, cmd.encode())
        return True

    # ------------------------------------------------------------------ server to client

    def _from_server(self, link: _Link, cmd: Command) -> None:
        # A payload command's last field is its byte count, which encoding appends.
        name, args = cmd.name, list(cmd.args[:-1] if cmd.payload is not None else cmd.args)
        if name == "VER":
            link.ver_done = True
        if name == "USR" and len(args) > 2 and args[1] == "OK" and not link.switchboard:
            link.user = args[2].lower()
        self._learn_lists(link, name, args)
        if name == "XFR" and len(args) > 2 and args[1] == "SB":
            args[2] = f"{self.address[0]}:{self.address[1]}"
        if name == "RNG" and len(args) > 1:
            args[1] = f"{self.address[0]}:{self.address[1]}"
        if name == "NAK" and self._on("ack-all"):
            name = "ACK"
        if name == "MSG" and args[:2] == ["Hotmail", "Hotmail"] and b"x-msmsgsprofile" in (cmd.payload or b"") and self._on("no-profile"):
            return
        if name == "REM" and args[:2] == ["0", "RL"] and link.dialect >= 10 and self._on("rem-rl-n"):
            args[-1] = f"N={args[-1]}"
        if self._on("reencode-names") and ((name == "PRP" and args[1:2] == ["MFN"]) or (name == "REA" and len(args) == 4)):
            args[-1] = _escargot_quote(args[-1])
        if name in ("NLN", "FLN") and self._on("delay-presence"):
            time.sleep(0.2)
        link.to_client(Command(name, *args, payload=cmd.payload).encode())
        if name == "OUT" and args == ["OTH"] and self._on("out-oth-open"):
            link.zombie = True
        if name == "911" and args[:1] == [link.ticket_trid] and self._on("911-open"):
            link.zombie = True

    def _learn_lists(self, link: _Link, name: str, args: list[str]) -> None:
        """Follows each user's forward list in the server's replies."""
        if not self._on("rings-only-contacts") or link.switchboard or not link.user:
            return
        with self._state:
            mine = self._forward.setdefault(link.user, set())
            if name == "LST":
                account = next((a[2:] for a in args if a.startswith("N=")), args[0] if args else "")
                guid = next((a[2:] for a in args if a.startswith("C=")), None)
                bits = next((a for a in (args[1:] if link.dialect < 8 else args) if a.isdigit()), "0")
                if link.dialect < 8:
                    if args[1:2] == ["FL"] and len(args) > 5:
                        mine.add(args[5].lower())
                elif int(bits) & 1:
                    mine.add(account.lower())
                    if guid:
                        self._guids[guid] = account.lower()
            elif name in ("ADD", "ADC") and args[1:2] == ["FL"]:
                account = next((a[2:] for a in args if a.startswith("N=")), args[3] if len(args) > 3 else "")
                mine.add(account.lower())
                guid = next((a[2:] for a in args if a.startswith("C=")), None)
                if guid:
                    self._guids[guid] = account.lower()
            elif name == "REM" and args[1:2] == ["FL"] and args[0] != "0":
                target = args[-1]
                mine.discard(self._guids.get(target, target).lower())
