"""What each check gets (the ``msnp`` fixture): the server under check, the test's
transcript, and the steps of ``steps`` bound to both, with every connection they open
closed at the end (notification connections signed out first, so the next check
starts from a quiet server)."""

from __future__ import annotations

from typing import NoReturn

import pytest

from msgr.testing.wire import ExchangeError, RawConnection, Transcript

from . import steps
from .target import Account, Target, dialect_number

__all__ = ["Harness", "label_of"]


def label_of(email: str, kind: str) -> str:
    """``"alice NS"``: the transcript's name for a connection of ``email``."""
    return f"{email.split('@', 1)[0]} {kind}"


class Harness:
    """The server under check (``target``), the accounts ``a`` and ``b`` (the first two
    ``--msgr-user``) and ``spare`` (the last one: wrong-password checks spend its
    guesses), and the steps, recorded in ``transcript``."""

    def __init__(self, target: Target, transcript: Transcript) -> None:
        self.target = target
        self.transcript = transcript
        self._sessions: list[steps.Ns] = []
        self._connections: list[RawConnection] = []

    @property
    def a(self) -> Account:
        return self.target.accounts[0]

    @property
    def b(self) -> Account:
        return self.target.accounts[1]

    @property
    def spare(self) -> Account:
        return self.target.accounts[-1]

    def fail(self, message: str) -> NoReturn:
        """Fails the check: ``message`` and the lines exchanged so far."""
        raise ExchangeError(message, self.transcript)

    def need_nexus(self, dialect: str) -> None:
        """Skips the test when ``dialect`` signs in through Passport and no nexus was given."""
        if dialect_number(dialect) >= 8 and self.target.nexus is None:
            pytest.skip(f"{dialect} signs in through a Passport nexus: give its URL with --msgr-nexus")

    def connect(self, label: str, host: str | None = None, port: int | None = None) -> RawConnection:
        """A raw connection to the server's address (or to ``host:port``, a switchboard
        it named), closed at the end."""
        conn = steps.connect(self.target, label, self.transcript, host, port)
        self._connections.append(conn)
        return conn

    def sign_in(self, account: Account, dialect: str, label: str | None = None) -> steps.Ns:
        """``account`` signed in in ``dialect`` (skipped without a nexus from MSNP8)."""
        self.need_nexus(dialect)
        ns = steps.sign_in(self.target, account, dialect, self.transcript, label or label_of(account.email, "NS"))
        self._sessions.append(ns)
        return ns

    def online(self, account: Account, dialect: str, label: str | None = None) -> steps.Ns:
        """``sign_in``, then ``CHG NLN``: present, and allowed to open switchboards."""
        ns = self.sign_in(account, dialect, label)
        ns.online()
        return ns

    def switchboard(self, ns: steps.Ns, label: str | None = None) -> steps.Sb:
        """A switchboard opened by ``ns``'s user, closed at the end."""
        sb = steps.open_switchboard(ns, label or label_of(ns.email, "SB"))
        self._connections.append(sb.conn)
        return sb

    def call_in(self, caller: steps.Sb, callee: steps.Ns, label: str | None = None) -> steps.Sb:
        """The callee rung into the caller's switchboard and joined; the caller's
        ``JOI`` is taken too."""
        sb, _, _ = steps.call_in(caller, callee, label or label_of(callee.email, "SB"))
        self._connections.append(sb.conn)
        caller.conn.next_async("JOI")
        return sb

    def conversation(self, dialect: str) -> tuple[steps.Ns, steps.Ns, steps.Sb, steps.Sb]:
        """A and B online in ``dialect``, in one switchboard that A opened and B joined."""
        a = self.online(self.a, dialect)
        b = self.online(self.b, dialect)
        a_sb = self.switchboard(a)
        b_sb = self.call_in(a_sb, b)
        return a, b, a_sb, b_sb

    def close(self) -> None:
        """Closes every switchboard, then signs every notification connection out."""
        for conn in self._connections:
            conn.close()
        for ns in self._sessions:
            try:
                ns.sign_out()
            except ExchangeError:
                pass
            ns.conn.close()
