"""The world the model-based tests drive (``test_model.py``): three users of one
Messenger service, embedded or over TCP, every session either side holds, and what
the transition tables allow.

A ``World`` makes the API calls, predicts from ``SessionState.transitions()`` and the
documented rules which error each may raise, records every event, and checks the
invariants: state changes are edges of the table and chain through the previous state
each ``OnStateChanged`` carries, endings carry a documented HRESULT, paired sessions
agree once settled, nothing hangs, and once everyone has signed out the service and
every Messenger hold nothing (``counts()``).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from collections import Counter

from hypothesis import currently_in_test_context
from hypothesis import event as _event

import msgr
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, TEST_APP_NAME, TEST_APP_PATH, TEST_APP_URL, TEST_GUID

from fault_proxy import FaultProxy

S = msgr.SessionState
L = msgr.LockStatus
H = msgr.HResult

USERS = (
    ("alice@example.com", "alice-pw"),
    ("bob@example.com", "bob-pw"),
    ("carol@example.com", "carol-pw"),
)

#: The server's switchboard rates lifted: these suites open hundreds of switchboards a
#: second between three accounts, which the default rates rightly answer with 713.
UNTHROTTLED: dict[str, float | tuple[int, float]] = {name: (1_000_000, 1.0) for name in ("xfr", "cal", "rings")}
PASSWORDS = dict(USERS)
#: The codes apps cancel with in the model; ``cancel`` ends with the one given.
CANCEL_CODES = (H.SR_SESSION_CANCELLED_LOCAL, H.SR_APPLICATION_LAUNCH_FAILED)
TERMINAL = (S.CANCELLED, S.DECLINED, S.TERMINATED)
#: How long anything may take over TCP (seconds); a call or a settle past it has hung.
BOUND = 10.0

# --------------------------------------------------------------------------- the tables

#: (state, role, input) -> every (error, next) the table gives a call, over the hidden
#: phases of that state too.
CELLS: dict[tuple[S, str, str], set[tuple[H | None, S | None]]] = defaultdict(set)
#: The same, only for the phase a state rests in (what an idle session is in).
RESTING: dict[tuple[S, str, str], tuple[H | None, S | None]] = {}
#: (role, from, to) of every state change the table makes.
EDGES: set[tuple[str, S, S]] = set()
#: (role, from, terminal state) -> the codes ``on_termination`` may carry; None stands
#: for the code the app gave ``cancel``.
ENDINGS: dict[tuple[str, S, S], set[H | None]] = defaultdict(set)
for _t in S.transitions():
    if _t.source == "call":
        CELLS[(_t.state, _t.role, _t.input)].add((_t.error, _t.next))
        if _t.phase == _t.state.name:
            RESTING[(_t.state, _t.role, _t.input)] = (_t.error, _t.next)
    if _t.ok and _t.next is not None and _t.next != _t.state:
        EDGES.add((_t.role, _t.state, _t.next))
        if _t.next in TERMINAL:
            ENDINGS[(_t.role, _t.state, _t.next)].add(_t.ending)

LOCK_CELLS = {(t.state, t.input): t for t in L.transitions() if t.source == "call"}
#: What a locked session manager's own members raise (C30), by status.
LOCK_GUARD = {
    L.NOTINITIALIZED: msgr.ApiNotInitializedError,
    L.INITIALIZED: msgr.ApiLockedError,
    L.PENDINGRESULT: msgr.ApiLockedError,
    L.UNLOCKFAILED: msgr.ApiLockedError,
    L.DISABLED: msgr.ApiDisabledError,
}


#: Every ``event`` of the runs so far, counted: what the machine reached.
STATS: Counter[str] = Counter()


def event(what: str) -> None:
    STATS[what] += 1
    if currently_in_test_context():
        _event(what)


class Hang(AssertionError):
    """A call did not return within ``BOUND`` seconds."""


def bounded(fn: Callable[[], Any], what: str) -> BaseException | None:
    """Runs ``fn`` on a thread of its own and returns what it raised (None if it
    returned); ``Hang`` if it has not returned within ``BOUND`` seconds."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, name=f"model-{what}", daemon=True)
    worker.start()
    worker.join(BOUND)
    if worker.is_alive():
        raise Hang(f"{what} did not return within {BOUND:g} s")
    return outcome[0]


# --------------------------------------------------------------------------- what is tracked


@dataclass(eq=False)
class Tracked:
    """A session one side holds, and what its events said."""

    session: msgr.MsgrSession
    owner: str
    role: str
    start: S
    #: The previous states its OnStateChanged events carried, in order.
    prevs: list[S] = field(default_factory=list)
    terminations: list[tuple[int, str | None]] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    #: The codes this side's app cancelled it with.
    cancel_codes: list[int] = field(default_factory=list)
    context_sent: int = 0
    app_set: bool = False
    invited: str | None = None
    #: The callee had no unlocked session manager: the invitation reaches no app there
    #: (it waits, unseen, for its time-out or the end of either sign-in).
    unseen: bool = False

    @property
    def sid(self) -> str:
        return self.session.session_id

    def path(self) -> list[S]:
        """Every state it was in, from its first to the one it is in now."""
        return [self.start, *self.prevs[1:], self.session.state] if self.prevs else [self.start, self.session.state]


@dataclass(eq=False)
class User:
    email: str
    messenger: msgr.Messenger
    manager: msgr.MsgrSessionManager
    proxy: FaultProxy | None = None
    cookie: int = 0
    signed_out: list[str] = field(default_factory=list)
    texts: list[tuple[str, str]] = field(default_factory=list)
    #: Over TCP, the last events delivered, with when: what a late delivery was doing.
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=8))


class World:
    """Three users of one service, in ``mode`` ``"embedded"`` or ``"tcp"`` (each TCP
    user's link through a ``FaultProxy`` of its own, to ``server``)."""

    def __init__(
        self,
        mode: str,
        server: msgr.ServerHandle | None = None,
        emails: tuple[str, ...] = tuple(PASSWORDS),
        *,
        call_timeout: float = BOUND,
    ) -> None:
        self.mode = mode
        self.server = server
        #: How long a TCP sign-in or invite waits for the network.
        self.call_timeout = call_timeout
        self.service: Any
        if mode == "embedded":
            self.service = msgr.Service(seed=7)
            self.service.license(TEST_APP_ID, TEST_APP_KEY)
            for email, password in USERS:
                self.service.add_user(email, password)
        else:
            assert server is not None
            self.service = server
        self.users: dict[str, User] = {}
        #: Messengers displaced by a sign-in elsewhere, kept to sign out at the end.
        self.retired: list[User] = []
        self.tracked: list[Tracked] = []
        self._by_session: dict[int, Tracked] = {}
        self._lock = threading.RLock()
        #: What must become true before the world is settled, with what it is.
        self._pending: list[tuple[str, Callable[[], bool]]] = []
        self.hung = False
        #: session_id -> what the invitee's app does inside on_invitation.
        self.plans: dict[str, str] = {}
        #: Calls made inside callbacks that raised: nobody else would see them.
        self.callback_errors: list[str] = []
        self.steps: list[str] = []
        #: After a fault mid-flow the two sides of a session may end differently (one
        #: DECLINED, the other TERMINATED when its link went first): both still end.
        self.split_endings = False
        for email in emails:
            self.users[email] = self._join(email)

    # ------------------------------------------------------------------ users

    def _join(self, email: str, proxy: FaultProxy | None = None) -> User:
        password = PASSWORDS[email]
        if self.mode == "embedded":
            messenger = msgr.Messenger(self.service, email, password)
        else:
            assert self.server is not None
            proxy = proxy or FaultProxy(self.server.address)
            messenger = msgr.connect(proxy.address, email, password, timeout=self.call_timeout)
        user = User(email, messenger, messenger.session_manager(), proxy)
        if self.mode == "tcp":
            recent = user.recent
            messenger.service._dispatch.listeners.append(
                lambda target, spec, values, ev: recent.append(f"{time.monotonic():.3f} {ev.name} seq={ev.seq}")
            )
        messenger.on_signed_out = user.signed_out.append
        messenger.on_text_received = lambda sender, text: user.texts.append((sender, text))
        self._watch_manager(user, user.manager)
        if self.mode == "embedded":
            messenger.sign_in()
        return user

    def ready(self, user: User) -> None:
        """Unlocks the user's manager and registers the application: where most flows
        start (the rules can undo both)."""
        user.cookie += 1
        user.manager.request_challenge(user.cookie)
        manager = user.manager
        user.messenger.wait_for(lambda: manager.status is L.UNLOCKED, BOUND)
        user.manager.register_application(TEST_GUID, TEST_APP_NAME, TEST_APP_URL, TEST_APP_PATH)

    def _watch_manager(self, user: User, manager: msgr.MsgrSessionManager) -> None:
        manager.on_lock_challenge = lambda cookie, challenge: manager.send_response(
            TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie
        )
        manager.on_invitation = lambda session, data: self._invited(session, user.email)

    def _invited(self, session: msgr.MsgrSession, email: str) -> None:
        """An app that answers inside ``on_invitation``, as the README's does, when the
        inviter's rule planned it."""
        t = self._track(session, email, "invitee", S.INVITATION)
        plan = self.plans.pop(t.sid, None)
        if plan is None or session.state is not S.INVITATION:
            return
        try:
            getattr(session, plan)("answered at once")
        except Exception as exc:  # noqa: BLE001 - reported by settle()
            # Over TCP the session can end between the check above and the call (its
            # link was cut): then the table's answer for an ended session is this error.
            ended = isinstance(exc, msgr.SessionStateInvalidError) and session.state in TERMINAL
            if not ended:
                self.callback_errors.append(f"{plan} inside on_invitation raised {type(exc).__name__}: {exc}")

    def _track(self, session: msgr.MsgrSession, owner: str, role: str, start: S) -> Tracked:
        with self._lock:
            known = self._by_session.get(id(session))
            if known is not None:
                return known
            t = Tracked(session, owner, role, start)
            self._by_session[id(session)] = t
            self.tracked.append(t)
        session.on_state_changed = t.prevs.append
        session.on_termination = lambda hr, data: t.terminations.append((int(hr), data))
        session.on_context_data = t.contexts.append
        return t

    def online(self, email: str) -> bool:
        return self.users[email].messenger.signed_in

    def sessions_of(self, email: str) -> list[Tracked]:
        with self._lock:
            return [t for t in self.tracked if t.owner == email and t.session.messenger is self.users[email].messenger]

    def current(self) -> list[Tracked]:
        """Every session of the users' current Messengers."""
        messengers = {id(u.messenger) for u in self.users.values()}
        with self._lock:
            return [t for t in self.tracked if id(t.session.messenger) in messengers]

    def peer_of(self, t: Tracked) -> Tracked | None:
        with self._lock:
            for other in self.tracked:
                if other is not t and other.role != t.role and other.sid == t.sid:
                    return other
        return None

    # ------------------------------------------------------------------ calls

    def call(self, what: str, fn: Callable[[], Any]) -> BaseException | None:
        """Runs an API call within the bound; any exception but a ``MsgrError`` fails."""
        self.steps.append(what)
        event(f"call: {what.split(' ')[0]}")
        try:
            error = bounded(fn, what)
        except Hang:
            self.hung = True
            raise
        if error is not None and not isinstance(error, msgr.MsgrError):
            raise AssertionError(f"{what} raised {type(error).__name__}, not a MsgrError: {error}") from error
        return error

    def expect(self, what: str, error: BaseException | None, allowed: set[type[msgr.MsgrError] | None]) -> None:
        got = None if error is None else type(error)
        assert got in allowed, (
            f"{what}: {'succeeded' if got is None else got.__name__ + ': ' + str(error)}, "
            f"but the table allows only {sorted('success' if a is None else a.__name__ for a in allowed)}"
        )

    def session_call(self, t: Tracked, input: str, fn: Callable[[], Any], extra: Callable[[S], set[type[msgr.MsgrError] | None]]) -> BaseException | None:
        """Calls ``input`` on a session and checks the outcome against the table's cell
        for its state and role: the cell's error, or, where the cell lets the call
        through, success or one of the documented errors ``extra(state)`` names.
        Embedded, only the resting phase counts; over TCP events may land during the
        call, so every state the session went through meanwhile counts."""
        seen_before = len(t.prevs)
        before = t.session.state
        error = self.call(f"{input} on {t.owner}'s {t.role} session ({before.name})", fn)
        states = {before, t.session.state}
        if self.mode == "tcp":
            states |= set(t.prevs[seen_before:])
        allowed: set[type[msgr.MsgrError] | None] = set()
        for state in states:
            cells = {RESTING[(state, t.role, input)]} if self.mode == "embedded" else CELLS[(state, t.role, input)]
            for err, _next in cells:
                if err is None:
                    allowed |= extra(state)
                else:
                    allowed.add(msgr.error_for(err))
        self.expect(f"{input} on {t.owner}'s {t.role} session in {sorted(s.name for s in states)}", error, allowed)
        event(f"{input} by the {t.role} in {before.name}: {'ok' if error is None else type(error).__name__}")
        if error is None and self.mode == "embedded":
            moved = t.prevs[seen_before:seen_before + 1]
            if moved:
                assert moved[0] == before, f"{input}: OnStateChanged carried {moved[0].name}, the state was {before.name}"
        return error

    def expect_eventually(self, what: str, predicate: Callable[[], bool]) -> None:
        """Something the last call must lead to once the world settles."""
        self._pending.append((what, predicate))

    # ------------------------------------------------------------------ settling

    def settle(self) -> None:
        try:
            self._settle()
        except AssertionError as exc:
            exc.add_note("steps of this world: " + "; ".join(self.steps))
            raise

    def _settle(self) -> None:
        """Waits (over TCP; embedded, everything was delivered already) until what the
        calls must lead to has happened and paired sessions agree, then checks every
        invariant."""
        pending, self._pending = self._pending, []

        def quiet() -> bool:
            # The events are read as delivered while a session's live state may be
            # ahead of them (a flow still going): what holds at one instant counts.
            return (
                not self._undelivered()
                and not self._server_behind()
                and all(p() for _, p in pending)
                and not self._disagreements()
                and not self._event_problems()
            )

        if self.mode == "tcp":
            waiter = next(iter(self.users.values())).messenger
            try:
                waiter.wait_for(quiet, BOUND)
            except TimeoutError:
                pass  # the checks below say what did not happen
            else:
                # All held at one instant; asking again could catch an event of a flow
                # still going (a Lock and Key exchange, say) between queue and delivery.
                assert not self.callback_errors, self.callback_errors
                return
        # Every reason at once: one can keep another going (a delivery caught half-way
        # is only a symptom when a session keeps moving).
        problems = [f"not settled: {what}" for what, predicate in pending if not predicate()]
        problems += [f"paired sessions disagree once settled: {p}" for p in self._disagreements()]
        problems += [f"events still undelivered after {BOUND:g} s: {late}\n{_delivery_stacks()}\n{self._last_lines()}" for late in [self._undelivered()] if late]
        problems += [behind for behind in [self._server_behind()] if behind]
        problems += self.callback_errors
        assert not problems, "\n".join(problems)
        self.check_events()

    def _undelivered(self) -> str:
        """Over TCP: which Messengers have events they have not delivered yet (their
        session states may be ahead of them), read from the delivery machinery's own
        state: queued in the journal, or being delivered."""
        if self.mode != "tcp":
            return ""
        late = []
        for user in [*self.users.values(), *self.retired]:
            connection = user.messenger.service
            queued, delivering = connection._journal.wait_events(0), connection._dispatch._delivering
            if queued or delivering:
                late.append(f"{user.email} ({'queued' if queued else ''}{' delivering' if delivering else ''})")
        return ", ".join(late)

    def _last_lines(self) -> str:
        """Each TCP user's last wire lines, with their times: what keeps events coming."""
        out = []
        for user in self.users.values():
            entries = list(user.messenger.service.trace)[-10:]
            started = time.monotonic()
            queued = user.messenger.service._journal.wait_events(0)
            out.append(
                f"{user.email} (now {started:.3f}; queued {queued}, asked in {time.monotonic() - started:.3f} s; "
                f"last delivered: {list(user.recent)}):\n"
                + "\n".join(f"  {e.time:9.3f} {e.conn} {e.direction} {e.line}" for e in entries)
            )
        return "\n".join(out)

    def _server_behind(self) -> str:
        """Over TCP a client knows it left before the server does (a sign-out's ``OUT``
        or a cut link reaches the server later), so a call made meanwhile may still find
        the user online: settled means the server counts the users signed in too."""
        if self.mode != "tcp":
            return ""
        online = sum(u.messenger.signed_in for u in self.users.values())
        counted = self.service.counts().signed_in
        return "" if counted == online else f"the server counts {counted} users signed in, the clients {online}"

    def _disagreements(self) -> list[str]:
        problems = []
        with self._lock:
            tracked = list(self.tracked)
        for t in tracked:
            state = t.session.state
            if state is S.ACCEPTED:
                problems.append(f"{t.owner}'s {t.role} session {t.sid} is still ACCEPTED")
            if t.role != "inviter":
                continue
            peer = self.peer_of(t)
            if peer is None:
                if state not in (S.READY, *TERMINAL) and not (t.unseen and state is S.INVITATION):
                    problems.append(f"{t.owner}'s inviter session {t.sid} is {state.name} and its invitee never saw it")
                continue
            other = peer.session.state
            if self.split_endings and state in TERMINAL and other in TERMINAL:
                continue
            if state != other:
                problems.append(f"{t.sid}: the inviter {t.owner} is {state.name}, the invitee {peer.owner} {other.name}")
        return problems

    # ------------------------------------------------------------------ invariants

    def check_events(self) -> None:
        """Every state change is an edge of the table, chaining through the previous
        state each OnStateChanged carries; an ended session ended once, with a code the
        table gives that ending (or the one its app cancelled with)."""
        problems = self._event_problems()
        assert not problems, "\n".join(problems)

    def _event_problems(self) -> list[str]:
        with self._lock:
            tracked = list(self.tracked)
        problems: list[str] = []
        for t in tracked:
            problems += self._session_problems(t)
        return problems

    def _session_problems(self, t: Tracked) -> list[str]:
        path = t.path() if t.prevs else [t.start, t.session.state]
        if t.prevs and t.prevs[0] != t.start:
            return [f"{t.owner}'s {t.role} session: first OnStateChanged carried {t.prevs[0].name}, it began {t.start.name}"]
        for a, b in zip(path, path[1:]):
            if a == b and t.prevs:
                return [f"{t.owner}'s {t.role} session: OnStateChanged without a change ({a.name}): {path}"]
            if (t.role, a, b) not in EDGES and a != b:
                return [f"{t.owner}'s {t.role} session went {a.name} -> {b.name}, not an edge of the table: {[s.name for s in path]}"]
        final = t.session.state
        if final not in TERMINAL:
            return [f"{t.owner}'s {t.role} session is {final.name} but got OnTermination {t.terminations}"] if t.terminations else []
        if len(t.terminations) != 1:
            return [f"{t.owner}'s {t.role} session ended {final.name} with {len(t.terminations)} OnTermination: {t.terminations}"]
        hr = t.terminations[0][0]
        endings = ENDINGS[(t.role, path[-2], final)]
        codes = {int(e) for e in endings if e is not None}
        if None in endings:
            codes |= set(t.cancel_codes)
        if hr not in codes:
            return [f"{t.owner}'s {t.role} session ended {path[-2].name} -> {final.name} with {msgr.error_for(hr).__name__} (0x{hr:08X}); the table gives {sorted(hex(c) for c in codes)}"]
        return []

    # ------------------------------------------------------------------ the end

    def teardown(self) -> None:
        """Everyone signs out; then the service and every Messenger hold nothing.
        Whatever happened, every connection and proxy of this world is closed at the
        end, so that the next example starts clean."""
        users = [*self.users.values(), *self.retired]
        try:
            if not self.hung:
                self._check_teardown(users)
        finally:
            for user in users:
                if self.mode == "tcp":
                    user.messenger.close()
                if user.proxy is not None:
                    user.proxy.close()

    def _check_teardown(self, users: list[User]) -> None:
        for user in users:
            self.call(f"sign out {user.email}", user.messenger.sign_out)
        self.settle()
        for t in self.tracked:
            event(f"a {t.role} session went {'-'.join(s.name for s in t.path())}")
            assert t.session.state in (S.READY, *TERMINAL), f"{t.owner}'s {t.role} session is {t.session.state.name} after everyone signed out"

        def idle() -> bool:
            return bool(self.service.counts().idle and all(u.messenger.counts().idle for u in users))

        if self.mode == "tcp":
            for user in users:
                user.messenger.close()
            try:
                users[0].messenger.wait_for(idle, BOUND)
            except TimeoutError:
                pass
        assert self.service.counts().idle, f"the service still holds {self.service.counts()}"
        for user in users:
            assert user.messenger.counts().idle, f"{user.email} still holds {user.messenger.counts()}"

    def __iter__(self) -> Iterator[User]:
        return iter(self.users.values())


def _delivery_stacks() -> str:
    """Where each event-delivery thread is now: what holds up a late delivery."""
    frames = sys._current_frames()
    stacks = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or -1)
        if thread.name.startswith("msgr-events-") and frame is not None:
            stacks.append(f"{thread.name}:\n" + "".join(traceback.format_stack(frame)))
    return "\n".join(stacks)

