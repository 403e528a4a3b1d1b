"""Model-based tests: Hypothesis drives three Messengers of one service through random
API calls and faults, embedded and over TCP, and checks after every step what the
transition tables and the documented rules say (``model_world.World``):

* every call succeeds or raises the typed ``MsgrError`` the table gives its session's
  cell (state, role, input), or one of the documented errors of that call where the
  cell lets it through; nothing else is raised, nothing hangs;
* every ``OnStateChanged`` carries the state the session was in, and the states each
  session goes through are a path of the table; an ending fires ``OnTermination``
  once, with the code the table gives that edge;
* once the world settles, paired sessions (one ``session_id``) are in the same state;
* after everyone signs out, the service's and every Messenger's ``counts()`` are idle.

The network fault is a sign-out in the middle of a flow embedded, and a cut link over
TCP (every user reaches the server through a ``FaultProxy`` of its own).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

import msgr
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, TEST_APP_NAME, TEST_APP_PATH, TEST_APP_URL, TEST_GUID

from model_world import RESTING, CANCEL_CODES, LOCK_CELLS, LOCK_GUARD, PASSWORDS, TERMINAL, UNTHROTTLED, USERS, World, User, Tracked

S = msgr.SessionState
L = msgr.LockStatus

EMAILS = [email for email, _ in USERS]
who = st.sampled_from(EMAILS)
index = st.integers(0, 7)


class Model(RuleBasedStateMachine):
    """The rules; ``World`` holds the state and checks the invariants."""

    mode = "embedded"
    server: msgr.ServerHandle | None = None

    def __init__(self) -> None:
        super().__init__()
        self.world = World(self.mode, self.server)
        #: Per Messenger (machine): whether TEST_GUID is registered there.
        self.registered: dict[int, bool] = {}
        for user in self.world:
            self.world.ready(user)
            self.registered[id(user.messenger)] = True

    # ------------------------------------------------------------------ helpers

    def user(self, email: str) -> User:
        return self.world.users[email]

    def guard(self, user: User) -> set[type[msgr.MsgrError] | None]:
        """What a session manager's own member raises: its lock's error, else nothing."""
        status = user.manager.status
        return {None} if status is L.UNLOCKED else {LOCK_GUARD[status]}

    def pick(self, email: str | None, i: int, role: str | None = None) -> Tracked | None:
        """One of the user's sessions (anyone's for None) of ``role``: mostly one still
        under way, so that flows go on; sometimes any, ended or never invited, for the
        refusals."""
        held = [
            t
            for t in (self.world.current() if email is None else self.world.sessions_of(email))
            if role is None or t.role == role
        ]
        live = [t for t in held if t.session.state in (S.INVITATION, S.ACCEPTED, S.CONNECTED)]
        choice = held if i == 7 or not live else live
        return choice[i % len(choice)] if choice else None

    # ------------------------------------------------------------------ Lock and Key

    @rule(email=who)
    def lock(self, email: str) -> None:
        """``request_challenge``; the manager's handler answers the challenge."""
        user = self.user(email)
        status = user.manager.status
        cell = LOCK_CELLS[(status, "request_challenge")]
        user.cookie += 1
        error = self.world.call(f"request_challenge by {email} ({status.name})", lambda: user.manager.request_challenge(user.cookie))
        self.world.expect(f"request_challenge in {status.name}", error, {None if cell.error is None else msgr.error_for(cell.error)})
        if error is None:
            manager = user.manager
            self.world.expect_eventually(f"{email}'s manager unlocked", lambda: manager.status is L.UNLOCKED)

    @rule(email=who, on=st.booleans())
    def registration(self, email: str, on: bool) -> None:
        """Registers the application on the user's machine, or unregisters it."""
        user = self.user(email)
        allowed = self.guard(user)
        registered = self.registered.get(id(user.messenger), False)
        if allowed == {None} and registered == on:
            allowed = {msgr.AppAlreadyRegisteredError if on else msgr.AppNotRegisteredError}
        if on:
            error = self.world.call(
                f"register_application by {email}",
                lambda: user.manager.register_application(TEST_GUID, TEST_APP_NAME, TEST_APP_URL, TEST_APP_PATH),
            )
        else:
            error = self.world.call(f"unregister_application by {email}", lambda: user.manager.unregister_application(TEST_GUID))
        self.world.expect("register_application" if on else "unregister_application", error, allowed)
        if error is None:
            self.registered[id(user.messenger)] = on

    # ------------------------------------------------------------------ sessions

    def _create(self, email: str) -> Tracked | None:
        user = self.user(email)
        allowed = self.guard(user)
        made: list[msgr.MsgrSession] = []
        error = self.world.call(f"create_session by {email}", lambda: made.append(user.manager.create_session()))
        self.world.expect("create_session", error, allowed)
        if error is not None:
            return None
        session = made[0]
        assert session.state is S.READY and session.flags & msgr.SessionFlags.INVITER
        t = self.world._track(session, email, "inviter", S.READY)
        registered = self.registered.get(id(user.messenger), False)

        def application() -> None:
            session.application = TEST_GUID

        error = self.world.session_call(
            t, "application", application, lambda _: {None} if registered else {msgr.AppNotRegisteredError}
        )
        t.app_set = error is None
        return t

    @rule(email=who)
    def create(self, email: str) -> None:
        self._create(email)

    @rule(email=who, i=index, callee=who, plan=st.sampled_from(["", "accept", "decline"]))
    def invite(self, email: str, i: int, callee: str, plan: str) -> None:
        """Invites with a new session, or now and then again with one of the user's own
        (which the table mostly refuses)."""
        t = self.pick(email, i, "inviter") if i == 7 else self._create(email)
        if t is None:
            return
        user = self.user(email)

        def extra(_: S) -> set[type[msgr.MsgrError] | None]:
            # The engine's order of checks after the table's (C16, NOT_LOGGED_ON, C13).
            if not t.app_set:
                return {msgr.AppNotSpecifiedError}
            if not user.messenger.signed_in:
                return {msgr.NotLoggedOnError}
            if callee == email:
                return {msgr.InvitedSelfError}
            if not self.world.online(callee):
                return {msgr.NotLoggedOnError}
            return {None}

        if plan:
            self.world.plans[t.sid] = plan
        error = self.world.session_call(t, "invite", lambda: t.session.invite(callee, "let's play"), extra)
        self.world.plans.pop(t.sid, None)
        if error is None:
            t.invited = callee
            t.unseen = self.user(callee).manager.status is not L.UNLOCKED
            self.world.expect_eventually(
                f"{email}'s invitation {t.sid} reached {callee} or ended",
                lambda: t.session.state in TERMINAL or self.world.peer_of(t) is not None or t.unseen,
            )

    def pick_for(self, input: str, i: int) -> Tracked | None:
        """Anyone's session: mostly one the table lets ``input`` through in, so that flows
        go on; sometimes any, for the refusals."""
        held = self.world.current()
        fit = [t for t in held if RESTING.get((t.session.state, t.role, input), (True,))[0] is None]
        choice = held if i == 7 or not fit else fit
        return choice[i % len(choice)] if choice else None

    def _answer(self, i: int, input: str, fn_name: str, *args: object) -> Tracked | None:
        t = self.pick_for(input, i)
        if t is None:
            return None
        if input == "cancel":
            t.cancel_codes.append(int(args[0]))  # type: ignore[call-overload]
        error = self.world.session_call(t, input, lambda: getattr(t.session, fn_name)(*args), lambda _: {None})
        return t if error is None else None

    @rule(i=index)
    def accept(self, i: int) -> None:
        self._answer(i, "accept", "accept", "ok")

    @rule(i=index)
    def decline(self, i: int) -> None:
        self._answer(i, "decline", "decline", "no thanks")

    @rule(i=index, code=st.sampled_from(CANCEL_CODES))
    def cancel(self, i: int, code: msgr.HResult) -> None:
        self._answer(i, "cancel", "cancel", code, "bye")

    @rule(i=index)
    def context(self, i: int) -> None:
        t = self.pick_for("send_context_data", i)
        if t is None:
            return
        peer = self.world.peer_of(t)
        before = len(peer.contexts) if peer is not None else 0

        def extra(_: S) -> set[type[msgr.MsgrError] | None]:
            return {msgr.ContextDataOverLimitError} if t.context_sent >= 5 else {None}

        error = self.world.session_call(t, "send_context_data", lambda: t.session.send_context_data(f"ctx{t.context_sent}"), extra)
        if error is None:
            t.context_sent += 1
            if peer is not None:
                self.world.expect_eventually(
                    f"{peer.owner} got the context data of {t.sid} once",
                    lambda: len(peer.contexts) == before + 1 or peer.session.state in TERMINAL,
                )

    # ------------------------------------------------------------------ messages, clock

    @rule(email=who, callee=who)
    def text(self, email: str, callee: str) -> None:
        user = self.user(email)
        if not user.messenger.signed_in or not self.world.online(callee):
            allowed: set[type[msgr.MsgrError] | None] = {msgr.NotLoggedOnError}
        elif callee == email:
            allowed = {msgr.InvalidArgError}
        else:
            allowed = {None}
        recipient = self.user(callee)
        before = len(recipient.texts)
        error = self.world.call(f"send_text {email} -> {callee}", lambda: user.messenger.send_text(callee, "hello"))
        self.world.expect(f"send_text {email} -> {callee}", error, allowed)
        if error is None:
            self.world.expect_eventually(
                f"{callee} got {email}'s text once",
                lambda: len(recipient.texts) == before + 1 or not recipient.messenger.signed_in,
            )

    @precondition(lambda self: self.mode == "embedded")
    @rule(seconds=st.sampled_from([1, 30, 61]))
    def advance(self, seconds: int) -> None:
        self.world.call(f"advance {seconds}", lambda: self.world.service.advance(seconds))

    # ------------------------------------------------------------------ sign-in, faults

    @rule(email=who, ready=st.booleans())
    def sign_in(self, email: str, ready: bool) -> None:
        """Signs in (``FailError`` if signed in already) and, if ``ready``, unlocks and
        registers the application as need be, as an app coming back would."""
        user = self.user(email)
        allowed: set[type[msgr.MsgrError] | None] = {msgr.FailError} if user.messenger.signed_in else {None}
        if user.proxy is not None:
            user.proxy.heal()
        error = self.world.call(f"sign_in {email}", user.messenger.sign_in)
        self.world.expect("sign_in", error, allowed)
        if error is None:
            manager = user.manager
            self.world.expect_eventually(f"{email}'s manager initialized", lambda: manager.status is L.INITIALIZED)
        if ready:
            self.world.settle()
            if user.manager.status is L.INITIALIZED:
                self.lock(email)
                self.world.settle()
            if user.manager.status is L.UNLOCKED and not self.registered.get(id(user.messenger), False):
                self.registration(email, True)

    @rule(email=who, kind=st.sampled_from(["sign_out", "fault", "elsewhere"]))
    def disrupt(self, email: str, kind: str) -> None:
        """The user signs out, the link fails (a sign-out embedded, a cut link over TCP),
        or the account signs in elsewhere, in the middle of whatever is going on."""
        user = self.user(email)
        was_online = user.messenger.signed_in
        if kind == "elsewhere":
            # A second sign-in of the same account: the first Messenger gets OUT OTH.
            joined: list[User] = []
            error = self.world.call(f"sign in {email} elsewhere", lambda: joined.append(self.world._join(email)))
            self.world.expect("a second sign-in", error, {None})
            self.world.users[email] = joined[0]
            self.world.retired.append(user)
            reason = "signed_in_elsewhere"
        elif kind == "fault" and user.proxy is not None:
            self.world.steps.append(f"cut {email}'s link")
            user.proxy.cut()
            reason = "connection_lost"
        else:
            error = self.world.call(f"sign_out {email}", user.messenger.sign_out)
            self.world.expect("sign_out", error, {None})
            reason = "user"
        if was_online:
            self.world.expect_eventually(f"{email} signed out ({reason})", lambda: user.signed_out[-1:] == [reason])
            self.world.expect_eventually(f"{email}'s manager locked again", lambda: user.manager.status is L.NOTINITIALIZED)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def settled(self) -> None:
        self.world.settle()

    def teardown(self) -> None:
        self.world.teardown()


class TcpModel(Model):
    mode = "tcp"


EMBEDDED_SETTINGS = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TCP_SETTINGS = settings(
    max_examples=10, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_the_embedded_service_keeps_to_the_tables() -> None:
    run_state_machine_as_test(Model, settings=EMBEDDED_SETTINGS)


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve("127.0.0.1", 0, seed=3, users=list(USERS), licenses=[(TEST_APP_ID, TEST_APP_KEY)], limits=UNTHROTTLED) as handle:
        yield handle


def test_the_tcp_service_keeps_to_the_tables(server: msgr.ServerHandle) -> None:
    TcpModel.server = server
    try:
        run_state_machine_as_test(TcpModel, settings=TCP_SETTINGS)
    finally:
        TcpModel.server = None
    assert server.counts().idle, server.counts()
