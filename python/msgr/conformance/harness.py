"""What each case gets (the ``msnp`` fixture): the server under check, the case's
transcript and verdict, and the steps of ``steps`` bound to both. Every connection
the case opens is numbered in its wire log (``NS#1 alice``, ``SB#2 bob``) and
closed at the end; what the case changed is put back, in every outcome, by the undo
actions it registered."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

from msgr.testing.wire import Command, ExchangeError, Transcript

from . import steps
from .cases import Grade
from .target import Account, Target, dialect_number
from .verdict import RateLimited, Verdict

__all__ = ["Harness"]

Undo = Callable[["Harness"], object]


class Harness:
    """The server under check (``target``), the accounts ``a`` and ``b`` (the first two
    ``--msgr-user``) and ``spare`` (the last one: wrong-password cases spend its
    guesses), the steps, recorded in ``transcript``, and the case's ``verdict``."""

    def __init__(self, target: Target, transcript: Transcript, verdict: Verdict | None = None) -> None:
        self.target = target
        self.transcript = transcript
        self.verdict = verdict if verdict is not None else Verdict()
        self._sessions: list[steps.Ns] = []
        self._connections: list[steps.SuiteConnection] = []
        self._undo: list[tuple[str, Undo]] = []
        self._count = 0

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
        """Fails the case: ``message`` and the lines exchanged so far."""
        raise ExchangeError(message, self.transcript)

    def label(self, kind: str, who: str | Account) -> str:
        """``NS#3 alice``: the next connection's name in the wire log."""
        self._count += 1
        name = who.name if isinstance(who, Account) else who
        return f"{kind}#{self._count} {name}"

    # ------------------------------------------------------------------ connections

    def connect(self, who: str | Account = "", host: str | None = None, port: int | None = None, *, kind: str | None = None) -> steps.SuiteConnection:
        """A raw connection to the server's address (or to ``host:port``, a switchboard
        it named), closed at the end."""
        kind = kind or ("NS" if host is None else "SB")
        conn = steps.connect(self.target, self.label(kind, who or "anonymous"), self.transcript, host, port)
        self._connections.append(conn)
        return conn

    def sign_in(self, account: Account, dialect: str) -> steps.Ns:
        """``account`` signed in in ``dialect`` (nothing more: no `SYN`, no `CHG`)."""
        ns = steps.sign_in(self.target, account, dialect, self.transcript, self.label("NS", account))
        self._sessions.append(ns)
        return ns

    def synced(self, account: Account, dialect: str, *, contacts: bool = True) -> tuple[steps.Ns, steps.List]:
        """``account`` signed in and its lists downloaded, as every real client starts;
        with ``contacts``, A and B made each other's contacts first (forward and allow
        lists, off the block list)."""
        ns = self.sign_in(account, dialect)
        lists = ns.syn()
        other = self._other(account)
        if contacts and other is not None:
            ns.befriend(other.email, lists)
        return ns, lists

    def online(self, account: Account, dialect: str, *, contacts: bool = True) -> steps.Ns:
        """``synced``, then ``CHG NLN``: present, and allowed to open switchboards."""
        ns, _ = self.synced(account, dialect, contacts=contacts)
        ns.online()
        return ns

    def _other(self, account: Account) -> Account | None:
        if account == self.a:
            return self.b
        if account == self.b:
            return self.a
        return None

    def switchboard(self, ns: steps.Ns) -> steps.Sb:
        """A switchboard opened by ``ns``'s user, closed at the end."""
        sb = steps.open_switchboard(ns, self.label("SB", ns.account))
        self._connections.append(sb.conn)
        return sb

    def answer(self, callee: steps.Ns, rng: Command) -> tuple[steps.Sb, list[Command]]:
        """The callee joins the switchboard its ``rng`` names."""
        sb, answered = steps.answer(callee, rng, self.label("SB", callee.account))
        self._connections.append(sb.conn)
        return sb, answered

    def call_in(self, caller: steps.Sb, callee: steps.Ns) -> steps.Sb:
        """The callee rung into the caller's switchboard and joined; the caller's
        ``JOI`` is taken too."""
        rng = steps.ring(caller, callee)
        sb, _ = self.answer(callee, rng)
        caller.conn.next_async("JOI")
        return sb

    def conversation(self, dialect: str) -> tuple[steps.Ns, steps.Ns, steps.Sb, steps.Sb]:
        """A and B, each other's contacts, online in ``dialect``, in one switchboard that
        A opened and B joined."""
        a = self.online(self.a, dialect)
        b = self.online(self.b, dialect)
        a_sb = self.switchboard(a)
        b_sb = self.call_in(a_sb, b)
        return a, b, a_sb, b_sb

    # ------------------------------------------------------------------ endings

    def ends_closed(self, conn: steps.SuiteConnection, after: str, *, open_grade: Grade, why: str = "") -> None:
        """Grades how the connection ended after ``after`` (a reply the original service
        follows with a close): closed is OK, left open is ``open_grade`` (NON-STRICT
        when a server on record does so, FAILED otherwise). An open connection is found
        by a barrier (`PNG`, answered by `QNG` or an error), not by waiting out the
        time-out, wherever the server answers it."""
        suffix = f"; {why}" if why else ""
        if not conn.closed:
            conn.send("PNG", may_close=True)
            try:
                reply = conn.wait_for_or_closed(lambda c: c.name == "QNG" or c.is_error, what=f"a close after {after}")
            except ExchangeError:
                self.verdict.ended("left open", open_grade, f"no close after {after} within {self.target.timeout:g} s{suffix}")
                return
            if reply is not None:
                try:  # it answered; a close already on its way still counts
                    conn.expect_closed(timeout=min(0.2, self.target.timeout))
                except ExchangeError:
                    self.verdict.ended("left open", open_grade, f"still answering ({reply.line!r}) after {after}{suffix}")
                    return
        self.verdict.ended("closed", Grade.OK)

    # ------------------------------------------------------------------ undo

    def undo(self, what: str, action: Undo) -> None:
        """Registers ``action`` to put back ``what`` the case changes; undo actions run
        at the end, newest first, whatever the outcome."""
        self._undo.append((what, action))

    def session(self, account: Account, dialect: str) -> steps.Ns:
        """A signed-in connection of ``account`` that is still open, or a new one."""
        for ns in reversed(self._sessions):
            if ns.account == account and ns.dialect == dialect and not ns.conn.closed:
                return ns
        return self.sign_in(account, dialect)

    def close(self) -> None:
        """Runs the undo actions, closes every switchboard, then signs every
        notification connection out."""
        while self._undo:
            what, action = self._undo.pop()
            try:
                action(self)
            except (ExchangeError, OSError) as exc:
                reason = exc.reason if isinstance(exc, ExchangeError) else str(exc)
                kind = "rate limited" if isinstance(exc, RateLimited) else "failed"
                self.verdict.note(f"putting back {what} {kind}: {reason}")
        for conn in self._connections:
            conn.close()
        for ns in self._sessions:
            try:
                ns.sign_out(timeout=min(1.0, self.target.timeout))
            except ExchangeError:
                pass
            ns.conn.close()


def needs_passport(dialect: str) -> bool:
    """Whether ``dialect`` signs in through Passport (MSNP8+)."""
    return dialect_number(dialect) >= 8
