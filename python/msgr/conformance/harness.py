"""What each case gets (the ``msnp`` fixture): the server under check, the case's
transcript and verdict, and the steps of ``steps`` bound to both. Every connection
the case opens is numbered in its wire log (``NS#1 alice``, ``SB#2 bob``) and
closed at the end; what the case changed is put back, in every outcome, by the undo
actions it registered."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import NoReturn

from msgr.testing.wire import Command, ExchangeError, Transcript

from . import steps
from .cases import Grade
from .target import Account, Target
from .verdict import RateLimited, SetupFailed, Verdict

__all__ = ["Harness"]

Undo = Callable[["Harness"], object]


class Harness:
    """The server under check (``target``), the accounts ``a`` and ``b`` (the first two
    ``--msgr-user``) and ``spare`` (the last one: wrong-password cases spend its
    guesses), the steps, recorded in ``transcript``, and the case's ``verdict``."""

    def __init__(self, target: Target, transcript: Transcript, verdict: Verdict | None = None, findings: dict[str, str] | None = None) -> None:
        self.target = target
        self.transcript = transcript
        self.verdict = verdict if verdict is not None else Verdict()
        #: What probing found missing, shared by the run's cases ("lock-and-key MSNP8"
        #: -> why): a case of a feature already found missing in its dialect is
        #: UNSUPPORTED without probing again.
        self.findings = findings if findings is not None else {}
        self._sessions: list[steps.Ns] = []
        self._connections: list[steps.SuiteConnection] = []
        self._undo: list[tuple[str, Undo]] = []
        self._restoring: dict[tuple[str, str], steps.Ns] = {}
        self._count = 0
        self._lock = threading.Lock()
        #: Per thread: inside a setup step (A and B may set up at once).
        self._local = threading.local()

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
        with self._lock:
            self._count += 1
            count = self._count
        name = who.name if isinstance(who, Account) else who
        return f"{kind}#{count} {name}"

    @contextmanager
    def setup(self, what: str) -> Iterator[None]:
        """A step the case builds on: a failure inside is SETUP-FAILED (the server failed
        a step another case judges), not a failure of this case's feature."""
        if getattr(self._local, "setting_up", False):
            yield
            return
        self._local.setting_up = True
        try:
            yield
        except RateLimited:
            raise
        except SetupFailed:
            raise
        except ExchangeError as exc:
            raise SetupFailed(f"could not {what}: {exc.reason}", self.transcript) from None
        finally:
            self._local.setting_up = False

    def probed(self, feature: str, dialect: str) -> None:
        """UNSUPPORTED at once if an earlier case found ``feature`` missing in ``dialect``."""
        why = self.findings.get(f"{feature} {dialect}")
        if why is not None:
            self.verdict.unsupported(why)

    def missing(self, feature: str, dialect: str, why: str) -> NoReturn:
        """Records that probing found ``feature`` missing in ``dialect``, and ends the
        case UNSUPPORTED."""
        self.findings[f"{feature} {dialect}"] = why
        self.verdict.unsupported(why)

    def probe(
        self,
        ns: steps.Ns,
        feature: str,
        absent: str,
        name: str,
        *args: str,
        missing_on: Callable[[Command], bool] = lambda reply: reply.error_code in (200, 502),
    ) -> Command:
        """``name args`` on ``ns``, then a `PNG` barrier: the reply. A server that closes,
        ignores the command (the barrier's `QNG` comes first) or refuses it as
        ``missing_on`` says (by default: as unknown or disabled, `200`, `502`) has no
        ``feature`` in this dialect (``absent`` says so): UNSUPPORTED."""
        trid = ns.conn.request(name, *args)
        ns.conn.send("PNG", may_close=True)
        reply = ns.conn.wait_for_or_closed(lambda c: c.trid == trid or c.name == "QNG", what=f"a reply to {name} {trid}, an error, or QNG")
        if reply is None:
            self.missing(feature, ns.dialect, f"the server closed the connection on a client's {name}: {absent}")
        if reply.name == "QNG":
            self.missing(feature, ns.dialect, f"the server ignored a client's {name} <t>: {absent}")
        if missing_on(reply):
            self.missing(feature, ns.dialect, f"the server refused a client's {name} <t> (with {reply.name}): {absent}")
        ns.conn.next_async("QNG")
        return reply

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
        with self.setup(f"sign {account.email} in"):
            ns = steps.sign_in(self.target, account, dialect, self.transcript, self.label("NS", account))
        self._sessions.append(ns)
        return ns

    def synced(self, account: Account, dialect: str, *, contacts: bool = True) -> tuple[steps.Ns, steps.List]:
        """``account`` signed in and its lists downloaded, as every real client starts;
        with ``contacts``, A and B made each other's contacts first (forward and allow
        lists, off the block list)."""
        ns = self.sign_in(account, dialect)
        with self.setup(f"download {account.email}'s lists" + (" and make A and B contacts" if contacts else "")):
            lists = ns.syn()
            other = self._other(account)
            if contacts and other is not None:
                ns.befriend(other.email, lists)
        return ns, lists

    def online(self, account: Account, dialect: str, *, contacts: bool = True) -> steps.Ns:
        """``synced``, then ``CHG NLN``: present, and allowed to open switchboards."""
        ns, _ = self.synced(account, dialect, contacts=contacts)
        with self.setup(f"bring {account.email} online (CHG NLN)"):
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
        with self.setup(f"open a switchboard for {ns.email} (XFR, USR)"):
            sb = steps.open_switchboard(ns, self.label("SB", ns.account))
        self._connections.append(sb.conn)
        return sb

    def answer(self, callee: steps.Ns, rng: Command) -> tuple[steps.Sb, list[Command]]:
        """The callee joins the switchboard its ``rng`` names."""
        with self.setup(f"let {callee.email} join the switchboard (ANS)"):
            sb, answered = steps.answer(callee, rng, self.label("SB", callee.account))
        self._connections.append(sb.conn)
        return sb, answered

    def call_in(self, caller: steps.Sb, callee: steps.Ns) -> steps.Sb:
        """The callee rung into the caller's switchboard and joined; the caller's
        ``JOI`` is taken too."""
        with self.setup(f"call {callee.email} into the switchboard (CAL, RNG, ANS, JOI)"):
            rng = steps.ring(caller, callee)
            sb, _ = self.answer(callee, rng)
            caller.conn.next_async("JOI")
        return sb

    def conversation(self, dialect: str) -> tuple[steps.Ns, steps.Ns, steps.Sb, steps.Sb]:
        """A and B, each other's contacts, online in ``dialect``, in one switchboard that
        A opened and B joined. A and B sign in at the same time, as two people would."""
        with ThreadPoolExecutor(2, thread_name_prefix="msgr-conformance") as pool:
            a_future = pool.submit(self.online, self.a, dialect)
            b_future = pool.submit(self.online, self.b, dialect)
            a, b = a_future.result(), b_future.result()
        a_sb = self.switchboard(a)
        b_sb = self.call_in(a_sb, b)
        return a, b, a_sb, b_sb

    def refused(self, conn: steps.SuiteConnection, reply: Command, code: int, what: str) -> None:
        """``reply`` must refuse ``what`` with ``code``: that is OK; another error code is
        NON-STRICT (the client still learns it was refused, under another reason);
        anything else fails."""
        if reply.error_code == code:
            return
        if reply.is_error:
            self.verdict.non_strict(f"{what}: {reply.error_code} where the original answers {code}")
            return
        conn.fail(f"{what} should be refused with {code} {reply.trid}, got {reply.line!r}")

    def login_barrier(self, conn: steps.SuiteConnection, trid: int, what: str) -> Command | None:
        """After request ``trid`` on a connection still in its login stage, a `CVR`,
        which that stage answers (`PNG` is no barrier there: Escargot closes on it).
        Returns the reply to ``trid``, or None when the server closed; a server that
        answered the `CVR` and not ``trid`` ignored it, which is NON-STRICT (a server on
        record ignores every command it cannot run)."""
        barrier = conn.next_trid()
        conn.send(Command("CVR", barrier, *steps.CVR_FIELDS, self.a.email), may_close=True)
        reply = conn.wait_for_or_closed(lambda c: c.trid in (trid, barrier), what=f"a reply to {trid} or to the CVR {barrier} after it")
        if reply is not None and reply.trid == barrier:
            self.verdict.non_strict(f"the server ignored {what} (it answered the CVR after it, and not it)")
        return reply

    # ------------------------------------------------------------------ endings

    def ends_closed(self, conn: steps.SuiteConnection, after: str, *, open_grade: Grade, why: str = "", probe: tuple[str, ...] = ("PNG",)) -> None:
        """Grades how the connection ended after ``after`` (a reply the original service
        follows with a close): closed is OK, left open is ``open_grade`` (NON-STRICT
        when a server on record does so, FAILED otherwise). An open connection is found
        by a probe the server answers where the connection stands (`PNG` when signed
        in, `CVR …` in the login stage, `USR …` on a switchboard), not by waiting out
        the time-out."""
        suffix = f"; {why}" if why else ""
        if not conn.closed:
            trid = None
            if probe[0] == "PNG":
                conn.send("PNG", may_close=True)
            else:
                trid = conn.next_trid()
                conn.send(Command(probe[0], trid, *probe[1:]), may_close=True)
            try:
                reply = conn.wait_for_or_closed(lambda c: c.name == "QNG" or c.is_error or (trid is not None and c.trid == trid), what=f"a close after {after}")
            except ExchangeError:
                self.verdict.ended("left open", open_grade, f"no close after {after} within {self.target.timeout:g} s{suffix}")
                return
            if reply is not None:
                try:  # it answered; a close already on its way still counts
                    conn.expect_closed(timeout=min(0.05, self.target.timeout))
                except ExchangeError:
                    self.verdict.ended("left open", open_grade, f"still answering ({reply.line!r}) after {after}{suffix}")
                    return
        self.verdict.ended("closed", Grade.OK)

    def login_probe(self) -> tuple[str, ...]:
        """A `CVR` as a client sends it: answered in the login stage."""
        return ("CVR", *steps.CVR_FIELDS, self.a.email)

    # ------------------------------------------------------------------ undo

    def undo(self, what: str, action: Undo) -> None:
        """Registers ``action`` to put back ``what`` the case changes; undo actions run
        at the end, newest first, whatever the outcome."""
        self._undo.append((what, action))

    def undone(self, what: str) -> None:
        """The case put ``what`` back itself: its undo action is no longer needed."""
        self._undo = [(w, action) for w, action in self._undo if w != what]

    def restoring(self, account: Account, dialect: str) -> steps.Ns:
        """For an undo action: ``account`` signed in anew and its lists downloaded (in
        ``.lists``), as a client that comes back to set things right; one session per
        account for all the case's undo actions."""
        key = (account.email, dialect)
        ns = self._restoring.get(key)
        if ns is None or ns.conn.closed:
            ns = self.sign_in(account, dialect)
            ns.syn()
            self._restoring[key] = ns
        return ns

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

