"""The server a conformance run checks: its address, the accounts and licence it was
given, its Passport nexus, the dialects it agrees to (asked once, with ``VER``), and
how the run judges it (time-out, strictness, features declared missing)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from msgr.testing.wire import Command, Decoder, WireError

__all__ = ["DIALECTS", "DEFAULT_TIMEOUT", "Account", "Target", "dialect_number", "probe"]

#: The dialects the suite knows, oldest first.
DIALECTS: tuple[str, ...] = ("MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12")

#: Seconds an expectation waits for the server unless ``--msgr-timeout`` says otherwise.
#: Silence is found by a barrier wherever the protocol has one, so this bounds only a
#: server that stops answering altogether, or a notification that never comes. On
#: loopback the slowest answer of the servers on record is a few tens of milliseconds
#: (R²M's SYN) and the slowest notification 0.2 s (Escargot batches presence); a
#: remote server may need more.
DEFAULT_TIMEOUT = 1.5


def dialect_number(dialect: str) -> int:
    """``"MSNP11"`` -> 11."""
    return int(dialect[4:])


@dataclass(frozen=True)
class Account:
    """An account of the server (``--msgr-user EMAIL:PASSWORD``)."""

    email: str
    password: str

    @property
    def name(self) -> str:
        """``alice`` for ``alice@example.com``: how the wire logs name its connections."""
        return self.email.split("@", 1)[0]


@dataclass(frozen=True)
class Target:
    """What the run knows about the server under check."""

    host: str
    port: int
    accounts: tuple[Account, ...]
    #: The Passport nexus URL (``--msgr-nexus``), needed from MSNP8.
    nexus: str | None = None
    #: The Lock and Key pair the server licenses (``--msgr-license``), if given.
    license: tuple[str, str] | None = None
    #: The dialects the server agreed to when offered each alone.
    accepted: tuple[str, ...] = ()
    #: The dialects the run reports on: ``--msgr-protocols``, or all of ``DIALECTS``
    #: (those the server refuses show as UNSUPPORTED).
    dialects: tuple[str, ...] = ()
    #: True when ``--msgr-protocols`` named the dialects: one the server then refuses
    #: fails its ``VER`` case instead of being UNSUPPORTED.
    requested: bool = False
    #: Seconds each expectation waits for the server (``--msgr-timeout``).
    timeout: float = DEFAULT_TIMEOUT
    #: Feature keys declared missing (``--msgr-without``): their cases are UNSUPPORTED.
    without: frozenset[str] = field(default_factory=frozenset)
    #: NON-STRICT counts as FAILED (``--msgr-strict``).
    strict: bool = False

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def limit_wait(self) -> float:
        """How long a step backs off and retries a `713` (too active) or a `600`
        (server busy) before the case is RATE-LIMITED."""
        return max(2.0, 2 * self.timeout)


def _ver_reply(host: str, port: int, dialect: str, timeout: float) -> Command | None:
    """The server's answer to ``VER 1 <dialect> CVR0`` on a fresh connection (None if
    it closed without one)."""
    decoder = Decoder("S->C")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(Command("VER", 1, dialect, "CVR0").encode())
        while True:
            data = sock.recv(4096)
            if not data:
                return None
            for command in decoder.feed(data):
                if command.trid == 1:
                    return command


def probe(host: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> tuple[str, ...]:
    """The dialects of ``DIALECTS`` the server agrees to, each offered alone. Raises
    ``OSError`` when the server cannot be reached, ``WireError`` when it answers
    something that is not MSNP."""
    accepted = []
    for dialect in DIALECTS:
        try:
            reply = _ver_reply(host, port, dialect, timeout)
        except (ConnectionResetError, TimeoutError):
            reply = None
        except WireError:
            raise
        if reply is not None and reply.name == "VER" and reply.args[1:2] == (dialect,):
            accepted.append(dialect)
    return tuple(accepted)
