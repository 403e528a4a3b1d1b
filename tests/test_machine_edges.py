"""The session and lock machines are whole: every state change the API ever shows is
an edge of ``SessionState.transitions()`` / ``LockStatus.transitions()``.

Hypothesis drives two Messengers through random sequences of local calls (create,
invite, accept, decline, cancel, context data, launch vetoes) and remote or link
inputs (the clock, a peer signing out and back in, an application unregistered), and
every ``OnStateChanged`` and ``OnLockStatusChanged`` observed is checked against the
table. The diagram is drawn from the same table.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import msgr
from msgr.testing import TEST_GUID, make_pair, unlock

S = msgr.SessionState
L = msgr.LockStatus
WHO = ("alice", "bob")

SESSION_EDGES = {(t.role, t.state, t.next) for t in S.transitions() if t.ok and t.next != t.state}
LOCK_EDGES = {(t.state, t.next) for t in L.transitions() if t.ok and t.next != t.state}

action = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(WHO)),
    st.tuples(st.just("invite"), st.sampled_from(WHO), st.integers(0, 3)),
    st.tuples(st.sampled_from(["accept", "decline", "cancel", "context"]), st.sampled_from(WHO), st.integers(0, 3)),
    st.tuples(st.just("advance"), st.sampled_from([1, 30, 61])),
    st.tuples(st.just("bounce"), st.sampled_from(WHO)),
    st.tuples(st.just("unregister"), st.sampled_from(WHO)),
    st.tuples(st.just("veto"), st.booleans()),
)


class World:
    """Two unlocked Messengers with the test application, and every session either
    side holds, with what happened to each."""

    def __init__(self) -> None:
        self.pair = make_pair()
        self.managers = {"alice": self.pair.alice_manager, "bob": self.pair.bob_manager}
        self.messengers = {"alice": self.pair.alice, "bob": self.pair.bob}
        self.sessions: dict[str, list[msgr.MsgrSession]] = {w: [] for w in WHO}
        #: session -> the previous states its OnStateChanged events carried
        self.prevs: dict[int, list[S]] = {}
        self.lock_prevs: dict[int, list[L]] = {}
        self.launch = True
        self.locks: list[msgr.MsgrLock] = list(self.managers.values())
        for who in WHO:
            self._watch_manager(who)

    def _watch_manager(self, who: str) -> None:
        manager = self.managers[who]
        self.lock_prevs.setdefault(id(manager), [manager.status])
        manager.on_lock_status_changed = lambda status, m=manager: self.lock_prevs[id(m)].append(status)
        manager.on_invitation = lambda session, data, w=who: self._track(w, session)

    def _track(self, who: str, session: msgr.MsgrSession) -> None:
        self.sessions[who].append(session)
        history = self.prevs.setdefault(id(session), [])
        session.on_state_changed = lambda prev: history.append(prev)
        session.before_app_launch = lambda: self.launch

    def run(self, step: tuple[Any, ...]) -> None:
        kind, *args = step
        try:
            getattr(self, f"do_{kind}")(*args)
        except msgr.MsgrError:
            pass  # a refusal: the table says which, other tests check it

    def _pick(self, who: str, i: int) -> msgr.MsgrSession | None:
        held = self.sessions[who]
        return held[i % len(held)] if held else None

    def do_create(self, who: str) -> None:
        session = self.managers[who].create_session()
        self._track(who, session)
        session.application = TEST_GUID

    def do_invite(self, who: str, i: int) -> None:
        session = self._pick(who, i)
        if session is not None:
            session.invite(self.messengers["bob" if who == "alice" else "alice"].sign_in_name, "hi")

    def do_accept(self, who: str, i: int) -> None:
        if (session := self._pick(who, i)) is not None:
            session.accept("ok")

    def do_decline(self, who: str, i: int) -> None:
        if (session := self._pick(who, i)) is not None:
            session.decline("no")

    def do_cancel(self, who: str, i: int) -> None:
        if (session := self._pick(who, i)) is not None:
            session.cancel(msgr.HResult.SR_SESSION_CANCELLED_LOCAL, "bye")

    def do_context(self, who: str, i: int) -> None:
        if (session := self._pick(who, i)) is not None:
            session.send_context_data("ctx")

    def do_advance(self, seconds: int) -> None:
        self.pair.service.advance(seconds)

    def do_bounce(self, who: str) -> None:
        """Sign out and back in: the peer's sessions see it leave."""
        messenger = self.messengers[who]
        messenger.sign_out()
        messenger.sign_in()
        unlock(self.managers[who])
        self.managers[who].register_application(TEST_GUID, "Conformance App", "http://example.com/app", "/usr/bin/app")

    def do_unregister(self, who: str) -> None:
        self.managers[who].unregister_application(TEST_GUID)

    def do_veto(self, launch: bool) -> None:
        self.launch = not launch

    def session_changes(self) -> list[tuple[str, S, S]]:
        """Every (role, from, to) the events showed: each event carries the previous
        state, so the next event (or the final state) says where it went."""
        seen = []
        for who in WHO:
            for session in self.sessions[who]:
                prevs = self.prevs[id(session)]
                role = "inviter" if session.flags & msgr.SessionFlags.INVITER else "invitee"
                afters = [*prevs[1:], session.state]
                seen += [(role, a, b) for a, b in zip(prevs, afters)]
        return seen

    def lock_changes(self) -> list[tuple[L, L]]:
        seen = []
        for statuses in self.lock_prevs.values():
            seen += list(zip(statuses, statuses[1:]))
        return seen


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(action, max_size=30))
def test_every_state_change_is_an_edge_of_the_table(steps: list[tuple[Any, ...]]) -> None:
    world = World()
    for step in steps:
        world.run(step)
    for change in world.session_changes():
        assert change in SESSION_EDGES, f"{change} is not an edge of SessionState.transitions()"
    for change in world.lock_changes():
        assert change in LOCK_EDGES, f"{change} is not an edge of LockStatus.transitions()"


def test_a_typical_run_sees_the_remote_edges() -> None:
    """The generator reaches the edges the peer, the clock and the link cause."""
    world = World()
    for step in [
        # Each side's sessions are numbered in the order it got them.
        ("create", "alice"), ("invite", "alice", 0), ("accept", "bob", 0), ("cancel", "alice", 0),
        ("create", "alice"), ("invite", "alice", 1), ("decline", "bob", 1),
        ("create", "alice"), ("invite", "alice", 2), ("advance", 61),
        ("create", "bob"), ("invite", "bob", 3), ("accept", "alice", 3), ("bounce", "bob"),
    ]:
        world.run(step)
    seen = set(world.session_changes())
    assert ("inviter", S.INVITATION, S.ACCEPTED) in seen  # peer_accepted
    assert ("invitee", S.CONNECTED, S.CANCELLED) in seen  # peer_cancelled
    assert ("inviter", S.INVITATION, S.DECLINED) in seen  # peer_declined
    assert ("inviter", S.INVITATION, S.CANCELLED) in seen  # timeout
    assert ("invitee", S.CONNECTED, S.TERMINATED) in seen  # sign_out
    assert ("inviter", S.CONNECTED, S.TERMINATED) in seen  # peer_left


def test_every_input_has_a_source_and_remote_inputs_their_own_names() -> None:
    calls = {"application", "local_address", "invite", "accept", "decline", "cancel", "send_context_data"}
    for t in S.transitions():
        assert t.source in ("call", "peer", "timer", "link")
        assert (t.source == "call") == (t.input in calls), t
    for t in L.transitions():
        assert (t.source == "call") == (t.input in ("request_challenge", "send_response")), t
    assert {t.input for t in S.transitions() if t.source == "peer"} >= {"peer_accepted", "peer_declined", "peer_cancelled"}
    assert {t.input for t in L.transitions() if t.state == L.PENDINGRESULT} >= {"challenge_received", "timeout", "accepted"}


def test_the_session_diagram_is_the_table() -> None:
    diagram = S.diagram()
    drawn = {(a, b) for a, b in diagram.edges}
    assert drawn == {(a.name, b.name) for _, a, b in SESSION_EDGES}
    # The edges a hand-drawn picture once missed are there, because the table has them.
    assert "peer_cancelled (invitee)" in diagram.edges[("ACCEPTED", "CANCELLED")]
    assert "peer_left (inviter)" in diagram.edges[("INVITATION", "TERMINATED")]
    assert "sign_out (invitee)" in diagram.edges[("ACCEPTED", "TERMINATED")]
