"""Fault injection over TCP.

* A cut link, after every k-th message of every invitation flow: each user reaches the
  server through a ``FaultProxy`` of their own; a dry run counts the messages a flow
  takes on one side's link (``n``), then for every k from 1 to n the flow runs again
  and that link is cut right after its k-th message. Both sides must end in a
  documented state (their sessions ended, or never invited), with the documented
  events (``on_signed_out("connection_lost")`` on the cut side; every session's path
  and ``on_termination`` code as ``SessionState.transitions()`` gives them), and the
  service's counts must be back to zero once everyone has signed out.
* A server killed (``kill -9``) while it writes accounts to SQLite: every account it
  confirmed is in the file afterwards, and ``PRAGMA integrity_check`` is ``ok``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import msgr
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, TEST_GUID

from conftest import pipe_lines, pipe_until, reap
from model_world import BOUND, TERMINAL, UNTHROTTLED, USERS, Tracked, World

S = msgr.SessionState
ALICE, BOB = USERS[0][0], USERS[1][0]
#: What ``invite`` may raise when the link fails under it (decisions: a sign-out while
#: sending is NOT_LOGGED_ON; a refused or lost switchboard the send failure or
#: SR_CONNECTION_FAILURE).
INVITE_FAILURES = (msgr.NotLoggedOnError, msgr.InvitationSendFailureError, msgr.ConnectionFailureError)
FLOWS = ("accept", "decline", "cancel", "context")
INVITE_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve("127.0.0.1", 0, seed=5, users=list(USERS), licenses=[(TEST_APP_ID, TEST_APP_KEY)], limits=UNTHROTTLED) as handle:
        yield handle


def wait(world: World, what: str, predicate: Callable[[], object], *, cut: bool) -> None:
    """Waits for a step of the flow; once the link is cut it may never come."""
    try:
        world.users[ALICE].messenger.wait_for(predicate, BOUND)
    except TimeoutError:
        assert cut, f"{what} did not happen within {BOUND:g} s, and no link was cut"


def run_flow(world: World, flow: str, cut: Callable[[], bool]) -> Tracked:
    """Alice invites Bob to the test application and the flow goes on as far as the
    link lets it; returns Alice's session."""
    alice = world.users[ALICE]
    session = alice.manager.create_session()
    session.application = TEST_GUID
    t = world._track(session, ALICE, "inviter", S.READY)
    t.app_set = True
    if flow in ("accept", "context"):
        world.plans[t.sid] = "accept"
    elif flow == "decline":
        world.plans[t.sid] = "decline"
    try:
        session.invite(BOB, "let's play")
    except INVITE_FAILURES:
        assert cut(), "the invitation failed on a link that was not cut"
        return t
    wait(world, "Bob's invitation", lambda: world.peer_of(t) is not None or session.state in TERMINAL, cut=cut())
    if flow == "cancel":
        if session.state is S.INVITATION:
            t.cancel_codes.append(int(msgr.HResult.SR_SESSION_CANCELLED_LOCAL))
            try:
                session.cancel(msgr.HResult.SR_SESSION_CANCELLED_LOCAL, "changed my mind")
            except msgr.SessionStateInvalidError:
                assert cut() and session.state in TERMINAL, "cancel refused in INVITATION"
    elif flow == "context":
        wait(world, "the session connecting", lambda: session.state is not S.INVITATION and session.state is not S.ACCEPTED, cut=cut())
        if session.state is S.CONNECTED:
            try:
                session.send_context_data("port=6112")
                t.context_sent += 1
            except msgr.SessionStateInvalidError:
                assert cut() and session.state in TERMINAL, "context data refused while CONNECTED"
    return t


def finished(world: World, t: Tracked, flow: str) -> bool:
    """The flow is over on both sides (before any cut)."""
    peer = world.peer_of(t)
    if peer is None:
        return False
    want = {"accept": S.CONNECTED, "context": S.CONNECTED, "decline": S.DECLINED, "cancel": S.CANCELLED}[flow]
    done = t.session.state is want and peer.session.state is want
    return done and (flow != "context" or len(peer.contexts) == 1)


def new_world(server: msgr.ServerHandle) -> World:
    # An invitation whose callee vanished between RNG and ANS waits out this time-out
    # (see test_an_invitation_whose_callee_vanished_while_ringing_is_given_up).
    world = World("tcp", server, (ALICE, BOB), call_timeout=INVITE_TIMEOUT)
    for user in world:
        world.ready(user)
    return world


def messages_of(server: msgr.ServerHandle, flow: str, side: str) -> int:
    """How many messages the flow takes on ``side``'s link, from a run with no cut."""
    world = new_world(server)
    proxy = world.users[side].proxy
    assert proxy is not None
    try:
        proxy.arm(None)
        t = run_flow(world, flow, lambda: False)
        wait(world, f"the {flow} flow to finish", lambda: finished(world, t, flow), cut=False)
        return proxy.count
    finally:
        world.teardown()


def check_cut(server: msgr.ServerHandle, flow: str, side: str, k: int) -> None:
    world = new_world(server)
    victim = world.users[side]
    proxy = victim.proxy
    assert proxy is not None
    world.split_endings = True
    try:
        proxy.arm(k)
        t = run_flow(world, flow, lambda: proxy.cuts > 0)
        # The k-th message went through before the flow ended: the cut has happened.
        wait(world, f"the cut after message {k}", lambda: proxy.cuts > 0, cut=False)
        wait(world, f"{side} to lose the connection", lambda: not victim.messenger.signed_in, cut=False)

        def settled() -> bool:
            return all(x.session.state in (S.READY, *TERMINAL) for x in world.tracked) and not world._undelivered()

        wait(world, "every session to end", settled, cut=False)
        assert victim.signed_out == ["connection_lost"], victim.signed_out
        for other in world:
            if other is not victim:
                assert other.messenger.signed_in and other.signed_out == [], (other.email, other.signed_out)
        for x in world.tracked:
            assert x.session.state in (S.READY, *TERMINAL), (x.owner, x.role, x.session.state)
            # Never invited only if the invitation itself failed.
            assert x.session.state is not S.READY or x.invited is None, (x.owner, x.role)
        world.check_events()
    except AssertionError as exc:
        exc.add_note(f"{flow} flow, {side}'s link cut after message {k}: {[m.line for m in proxy.messages]}")
        raise
    finally:
        world.teardown()
    assert server.counts().idle, f"after the {flow} flow cut at {k} on {side}'s link: {server.counts()}"


@pytest.mark.parametrize("side", [ALICE, BOB], ids=["inviter", "invitee"])
@pytest.mark.parametrize("flow", FLOWS)
def test_a_link_cut_after_any_message_ends_both_sides_as_documented(server: msgr.ServerHandle, flow: str, side: str) -> None:
    n = messages_of(server, flow, side)
    assert n >= 3, f"the {flow} flow took only {n} messages on {side}'s link"
    for k in range(1, n + 1):
        check_cut(server, flow, side, k)


# --------------------------------------------------------------------------- kill -9 mid-write

KILLS = 4
#: Accounts sent per run; the kill comes after this many are confirmed.
BATCH = 400
KILL_AFTER = 60


def kill_while_writing(db: Path, first: int) -> list[str]:
    """Starts ``msgr serve --db``, feeds it ``user`` lines from number ``first`` on, and
    kills it (SIGKILL) once ``KILL_AFTER`` of them are confirmed, with the rest still
    coming; returns the accounts it confirmed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgr", "serve", "--port", "0", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    confirmed: list[str] = []
    try:
        lines = pipe_lines(proc.stdout)
        pipe_until(lines, "msgr: serving", timeout=BOUND)
        # Everything at once: the server is still writing when it dies.
        proc.stdin.write("".join(f"user user{first + i}@example.com pw{i}\n" for i in range(BATCH)))
        proc.stdin.flush()
        while len(confirmed) < KILL_AFTER:
            line = pipe_until(lines, "ok: user ", timeout=BOUND)
            confirmed.append(line.split()[2])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=BOUND)
        # Confirmations already printed count too: they were promised.
        while not lines.empty():
            line = lines.get_nowait()
            if line.startswith("ok: user "):
                confirmed.append(line.split()[2])
    finally:
        reap(proc, BOUND)
    return confirmed


def stored_accounts(db: Path) -> tuple[list[tuple[str]], set[str]]:
    """``PRAGMA integrity_check`` and the accounts of the file. The connection is
    closed before returning: this process also has msgr's own SQLite loaded, and two
    SQLite libraries holding one file in one process break each other's locks
    (sqlite.org/howtocorrupt.html, 2.2.1)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchall()
        names = {name for (name,) in conn.execute("SELECT name FROM accounts")}
    return check, names


def test_every_confirmed_account_survives_a_kill_during_writes(tmp_path: Path) -> None:
    db = tmp_path / "accounts.db"
    confirmed: list[str] = []
    for run in range(KILLS):
        confirmed += kill_while_writing(db, run * BATCH)
        check, names = stored_accounts(db)
        assert check == [("ok",)], f"kill {run + 1}: {check}"
        missing = [email for email in confirmed if email not in names]
        assert not missing, f"kill {run + 1}: confirmed but lost: {missing}"
    assert len(confirmed) >= KILLS * KILL_AFTER
    # And msgr itself reads them all back.
    service = msgr.Service(db=str(db))
    try:
        assert set(confirmed) <= set(service.users)
    finally:
        service.close()


def test_an_invitation_whose_callee_vanished_while_ringing_is_given_up(server: msgr.ServerHandle) -> None:
    """Bob's link fails right after the server rang him (``RNG``), before he answered:
    the server drops his cookie and nobody ever joins Alice's switchboard. Her
    ``invite`` times out; afterwards the session should be READY for real (a second
    ``invite`` allowed) with nothing left queued, not stuck "being sent"."""
    world = World("tcp", server, (ALICE, BOB), call_timeout=INVITE_TIMEOUT)
    alice, bob = world.users[ALICE], world.users[BOB]
    try:
        for user in world:
            world.ready(user)
        assert bob.proxy is not None
        bob.proxy.arm(1)  # the RNG reaches Bob, then his link is cut
        session = alice.manager.create_session()
        session.application = TEST_GUID
        with pytest.raises(msgr.ConnectionFailureError):
            session.invite(BOB, "let's play")
        assert bob.proxy.messages[0].line.startswith("RNG ")
        assert session.state is S.READY
        counts = alice.messenger.counts()
        assert (counts.live_sessions, counts.sb_queued) == (0, 0), counts
    finally:
        world.teardown()
