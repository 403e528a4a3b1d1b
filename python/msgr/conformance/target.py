"""The server a conformance run checks: its address, the accounts and licence it was
given, its Passport nexus, and the dialects it agrees to (asked once, with ``VER``)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from msgr.testing.wire import Command, Decoder, WireError

__all__ = ["DIALECTS", "Account", "Target", "dialect_number", "probe"]

#: The dialects the suite knows, oldest first.
DIALECTS: tuple[str, ...] = ("MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12")


def dialect_number(dialect: str) -> int:
    """``"MSNP11"`` -> 11."""
    return int(dialect[4:])


@dataclass(frozen=True)
class Account:
    """An account of the server (``--msgr-user EMAIL:PASSWORD``)."""

    email: str
    password: str


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
    #: The dialects the run checks (``--msgr-protocols``, or ``accepted``).
    dialects: tuple[str, ...] = ()
    #: Seconds each expectation waits for the server.
    timeout: float = 10.0

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


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


def probe(host: str, port: int, timeout: float = 10.0) -> tuple[str, ...]:
    """The dialects of ``DIALECTS`` the server agrees to, each offered alone. Raises
    ``OSError`` when the server cannot be reached, ``WireError`` when it answers
    something that is not MSNP."""
    accepted = []
    for dialect in DIALECTS:
        try:
            reply = _ver_reply(host, port, dialect, timeout)
        except ConnectionResetError:
            reply = None
        except WireError:
            raise
        if reply is not None and reply.name == "VER" and reply.args[1:2] == (dialect,):
            accepted.append(dialect)
    return tuple(accepted)
