"""``msgr.aio``: network mode for asyncio, over real sockets on 127.0.0.1.

Each test runs its own loop with ``asyncio.run`` (no pytest plugin) inside a
``asyncio.timeout``, and every wait in it has a time-out too; servers and clients are
closed at the end of each test. Callbacks must run on the loop's thread, and the loop
must keep running while the network is waited for: the tests check both.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

import msgr
import msgr.aio
from conftest import ALICE, ALICE_AND_BOB, ALICE_PASSWORD, APP, BOB, BOB_PASSWORD, GUID
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, WRONG_KEY

S = msgr.SessionState
L = msgr.LockStatus
#: The bound of every wait that should succeed, and of each whole test.
WAIT = 10.0
TEST_BOUND = 30.0

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` on a new loop, the whole of it bounded."""

    async def bounded() -> T:
        async with asyncio.timeout(TEST_BOUND):
            return await coro

    return asyncio.run(bounded())


@pytest.fixture
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve(users=ALICE_AND_BOB, licenses={TEST_APP_ID: TEST_APP_KEY}, seed=3) as handle:
        yield handle


@contextlib.asynccontextmanager
async def two(server: msgr.ServerHandle) -> AsyncIterator[tuple[msgr.aio.AsyncMessenger, msgr.aio.AsyncMessenger]]:
    """Alice and Bob, connected for asyncio; closed at the end."""
    async with (
        msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice,
        msgr.aio.connect(server.address, BOB, BOB_PASSWORD, timeout=WAIT) as bob,
    ):
        yield alice, bob


async def ready(client: msgr.aio.AsyncMessenger, cookie: int = 1) -> msgr.MsgrSessionManager:
    manager = client.session_manager()
    await client.unlock(manager, TEST_APP_ID, TEST_APP_KEY, cookie)
    manager.register_application(*APP)
    return manager


async def until(condition: Callable[[], object], what: str) -> None:
    """For state outside the connection (the server's view): a bounded check loop."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {WAIT} s")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- connect / close


def test_connect_signs_in_and_async_with_closes(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            assert isinstance(alice, msgr.aio.AsyncMessenger)
            assert isinstance(alice.messenger, msgr.Messenger) and alice.messenger.signed_in
            assert alice.loop is asyncio.get_running_loop()
            assert alice.timeout == WAIT and not alice.closed
            assert server.is_online(ALICE)
            assert "alice@example.com" in repr(alice) and "signed_in" in repr(alice)
            # The whole synchronous API is there: the connection's trace too.
            assert alice.connection.trace.filter(command="USR")
        assert alice.closed and "closed" in repr(alice)
        await until(lambda: not server.is_online(ALICE), "alice signing out on the server")

        # The awaitable form; "host:port" works as in msgr.connect.
        host, port = server.address
        bob = await msgr.aio.connect(f"{host}:{port}", BOB, BOB_PASSWORD, timeout=WAIT)
        assert bob.messenger.signed_in
        # Closing is idempotent, also from several tasks at once.
        await asyncio.gather(bob.aclose(), bob.aclose())
        await bob.aclose()
        assert bob.closed

    run(main())


def test_refused_and_unreachable_sign_ins_raise_and_leave_nothing_open(server: msgr.ServerHandle) -> None:
    def delivery_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("msgr-events-")]

    before = delivery_threads()

    async def main() -> None:
        with pytest.raises(msgr.AuthenticationFailedError):
            await msgr.aio.connect(server.address, ALICE, "not-the-password", timeout=WAIT)
        with pytest.raises(msgr.AuthenticationFailedError):
            async with msgr.aio.connect(server.address, ALICE, "not-the-password", timeout=WAIT):
                raise AssertionError("not reached")
        assert not server.is_online(ALICE)
        with pytest.raises(msgr.InvalidArgError):
            await msgr.aio.connect(("127.0.0.1", 0), ALICE, ALICE_PASSWORD)
        # Nothing listens here: the server of a closed handle.
        with msgr.serve() as gone:
            address = gone.address
        with pytest.raises(msgr.ConnectionFailureError):
            await msgr.aio.connect(address, ALICE, ALICE_PASSWORD, timeout=WAIT)

    run(main())
    assert delivery_threads() == before


# --------------------------------------------------------------------------- callbacks on the loop


def test_callbacks_run_on_the_loop_thread(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        loop_thread = threading.get_ident()
        async with two(server) as (alice, bob):
            manager = alice.session_manager()
            seen: list[tuple[str, Any, int]] = []
            manager.on_lock_status_changed = lambda status: seen.append(("status", status, threading.get_ident()))
            manager.on_lock_challenge = lambda cookie, challenge: seen.append(("challenge", cookie, threading.get_ident()))
            manager.on_lock_result = lambda cookie, ok: seen.append(("result", ok, threading.get_ident()))
            await alice.unlock(manager, TEST_APP_ID, TEST_APP_KEY, cookie=5)
            assert manager.status is L.UNLOCKED
            # The same events, in the same order, as in embedded mode; all on this thread.
            assert [(kind, value) for kind, value, _ in seen] == [
                ("status", L.PENDINGRESULT),
                ("challenge", 5),
                ("result", True),
                ("status", L.UNLOCKED),
            ]
            assert {thread for _, _, thread in seen} == {loop_thread}

            # Session callbacks too, on both sides, and Messenger callbacks.
            bob_manager = await ready(bob, 6)
            manager.register_application(*APP)
            threads: set[int] = set()

            def on_invitation(session: msgr.MsgrSession, app_data: str | None) -> None:
                threads.add(threading.get_ident())
                session.on_state_changed = lambda prev: threads.add(threading.get_ident())
                session.accept()

            bob_manager.on_invitation = on_invitation
            session = manager.create_session()
            session.application = GUID
            session.on_accepted = lambda app_data: threads.add(threading.get_ident())
            await alice.invite(session, BOB)
            await alice.wait_connected(session)
            signed_out: list[int] = []
            alice.messenger.on_signed_out = lambda reason: signed_out.append(threading.get_ident())
            alice.messenger.sign_out()
            await alice.wait_for(lambda: signed_out)
            assert threads == {loop_thread} and signed_out == [loop_thread]

    run(main())


def test_a_raising_callback_goes_to_the_loop_exception_handler(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        handled: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: handled.append(context))
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            manager = alice.session_manager()

            def on_challenge(cookie: int, challenge: str) -> None:
                raise RuntimeError("boom in a callback")

            manager.on_lock_challenge = on_challenge
            await alice.unlock(manager, TEST_APP_ID, TEST_APP_KEY)
            # Delivery went on after the failure: the unlock finished.
            assert manager.status is L.UNLOCKED
        (context,) = handled
        exc = context["exception"]
        assert isinstance(exc, RuntimeError) and str(exc) == "boom in a callback"
        assert any("on_lock_challenge" in note for note in exc.__notes__)
        assert context["msgr_object"] is manager
        assert "MsgrSessionManager" in context["message"]

    run(main())


def test_blocking_wait_for_refuses_to_run_on_the_loop(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            # It would block the thread that delivers the events it waits for.
            with pytest.raises(RuntimeError, match="asyncio"):
                alice.messenger.wait_for(lambda: False, timeout=WAIT)
            # From another thread it works (the loop delivers meanwhile).
            manager = alice.session_manager()
            got: list[int] = []
            manager.on_lock_challenge = lambda cookie, challenge: got.append(cookie)
            manager.request_challenge(4)
            assert await asyncio.to_thread(alice.messenger.wait_for, lambda: got, WAIT) == [4]

    run(main())


# --------------------------------------------------------------------------- the loop keeps running


@contextlib.asynccontextmanager
async def slow_proxy(listen: tuple[str, int], target: tuple[str, int], delay: float) -> AsyncIterator[list[int]]:
    """A TCP proxy served by the running loop that holds every chunk from ``target``
    back for ``delay`` seconds: whatever goes through it needs the loop to run. Yields
    the list of the ports its connections came from."""
    peers: list[int] = []

    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lag: float) -> None:
        try:
            while data := await reader.read(65536):
                if lag:
                    await asyncio.sleep(lag)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[1])
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pump(reader, up_writer, 0.0), pump(up_reader, writer, delay))

    proxy = await asyncio.start_server(handle, *listen)
    try:
        yield peers
    finally:
        proxy.close()


def test_the_loop_runs_while_signing_in_and_inviting() -> None:
    # The server refers clients to switchboards at 127.0.0.2, on its own port; the proxy
    # there, and the one the clients sign in through, run on the test's loop. A sign-in
    # or invitation that blocked the loop would stall them and time out.
    delay = 0.05
    with msgr.serve(users=ALICE_AND_BOB, licenses={TEST_APP_ID: TEST_APP_KEY}, seed=3, advertise="127.0.0.2") as server:
        host, port = server.address
        via = ("127.0.0.2", port)

        async def main() -> None:
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            async with slow_proxy(via, (host, port), delay) as proxied:
                ticking = asyncio.create_task(ticker())
                try:
                    started = time.monotonic()
                    alice = await msgr.aio.connect(via, ALICE, ALICE_PASSWORD, timeout=WAIT)
                    took, ticked = time.monotonic() - started, ticks
                    assert took >= delay and ticked >= 3, (took, ticked)
                    assert len(proxied) == 1
                    bob = await msgr.aio.connect(via, BOB, BOB_PASSWORD, timeout=WAIT)
                    try:
                        alice_manager, bob_manager = await ready(alice), await ready(bob, 2)
                        bob_manager.on_invitation = lambda session, app_data: session.accept()
                        session = alice_manager.create_session()
                        session.application = GUID
                        ticks, started = 0, time.monotonic()
                        await alice.invite(session, BOB, "through the loop")
                        took, ticked = time.monotonic() - started, ticks
                        # The invitation went through a switchboard, reached via the proxy.
                        assert session.state in (S.INVITATION, S.ACCEPTED, S.CONNECTED)
                        assert len(proxied) >= 3, proxied
                        assert took >= delay and ticked >= 3, (took, ticked)
                        await alice.wait_connected(session)
                    finally:
                        await asyncio.gather(alice.aclose(), bob.aclose())
                finally:
                    ticking.cancel()

        run(main())


# --------------------------------------------------------------------------- waiting for events


def test_a_short_timeout_raises_timeout_error_in_about_that_time(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            manager = alice.session_manager()
            for wait in (
                lambda: alice.next_event(manager, "on_lock_result", timeout=0.2),
                lambda: alice.wait_for(lambda: manager.status is L.UNLOCKED, timeout=0.2),
            ):
                started = time.monotonic()
                with pytest.raises(TimeoutError, match="within 0.2 s"):
                    await wait()
                took = time.monotonic() - started
                assert 0.19 <= took < 1.5, took
            # Timed-out waits were withdrawn.
            assert alice._hub.waits == []
            # The connection's timeout is the default; 0 gives up at once.
            assert alice.next_event(manager)._timeout == WAIT
            with pytest.raises(TimeoutError):
                await alice.next_event(manager, timeout=0)

    run(main())


def test_next_event_made_before_the_event_gets_it(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with two(server) as (alice, bob):
            alice_manager, bob_manager = await ready(alice), await ready(bob, 2)
            # Made before the await that causes the event: the event is not missed.
            invited = bob.next_event(bob_manager, "OnInvitation", where=lambda e: e.args[1] == "chess?")
            session = alice_manager.create_session()
            session.application = GUID
            await alice.invite(session, BOB, "chess?")
            await asyncio.sleep(0.2)  # the invitation has surely arrived by now
            event = await invited
            assert invited.done()
            assert event.callback == "on_invitation" and event.event == "OnInvitation"
            assert event.source is bob_manager
            bob_session, app_data = event.args
            assert isinstance(bob_session, msgr.MsgrSession) and app_data == "chess?"
            assert bob_session.state is S.INVITATION and event.seq > 0
            assert await invited is event  # awaiting again gives the same event
            bob_session.decline("not now")
            with pytest.raises(msgr.InvitationDeclinedError, match="not now"):
                await alice.wait_connected(session)
            assert session.state is S.DECLINED

    run(main())


def test_waits_check_their_arguments(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with two(server) as (alice, bob):
            manager = alice.session_manager()
            with pytest.raises(msgr.InvalidArgError, match="no msgr event"):
                alice.next_event(manager, "on_lock_reslut")
            with pytest.raises(msgr.InvalidArgError, match="never fires on_accepted"):
                alice.next_event(manager, "on_accepted")
            with pytest.raises(msgr.InvalidArgError, match="belongs to bob@example.com"):
                alice.next_event(bob.session_manager())
            with pytest.raises(msgr.InvalidArgError, match="not a msgr object"):
                alice.next_event(object())
            with pytest.raises(msgr.InvalidArgError, match="timeout"):
                alice.next_event(manager, timeout=-1)
            with pytest.raises(TypeError):
                alice.next_event(manager, where="yes")  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                await alice.wait_for("yes")  # type: ignore[arg-type]
            with pytest.raises(msgr.InvalidArgError):
                await alice.unlock(bob.session_manager(), TEST_APP_ID, TEST_APP_KEY)
            bob_session = (await ready(bob)).create_session()
            with pytest.raises(msgr.InvalidArgError, match="belongs to bob@example.com"):
                await alice.invite(bob_session, BOB)
            with pytest.raises(msgr.InvalidArgError):
                await alice.wait_connected(bob_session)
            assert alice._hub.waits == []

    run(main())


def test_wait_for_returns_the_value_and_raises_what_the_predicate_raises(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            assert await alice.wait_for(lambda: "at once") == "at once"
            manager = alice.session_manager()
            challenges: list[str] = []
            manager.on_lock_challenge = lambda cookie, challenge: challenges.append(challenge)
            manager.request_challenge(3)
            assert await alice.wait_for(lambda: list(challenges)) == challenges and len(challenges) == 1

            calls = 0

            def flaky() -> bool:
                nonlocal calls
                calls += 1
                if calls > 1:
                    raise ValueError("predicate failed")
                return False

            def bad_where(event: msgr.LoggedEvent) -> bool:
                raise KeyError("where failed")

            failing = asyncio.ensure_future(alice.wait_for(flaky))
            waiter = alice.next_event(manager, where=bad_where)
            stream = alice.events(manager, where=bad_where)
            await asyncio.sleep(0)
            manager.send_response(TEST_APP_ID, msgr.lock_response(challenges[0], TEST_APP_KEY), 3)
            # What the predicate or a where raises is what the wait raises.
            with pytest.raises(ValueError, match="predicate failed"):
                await failing
            with pytest.raises(KeyError, match="where failed"):
                await waiter
            with pytest.raises(KeyError, match="where failed"):
                await anext(stream)
            assert [event async for event in stream] == []  # and the stream ended
            assert alice._hub.waits == [] and alice._hub.streams == []

    run(main())


def test_unlock_refused_or_already_done(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            refused = alice.session_manager()
            with pytest.raises(msgr.ApiUnlockFailedError, match="UNLOCKFAILED"):
                await alice.unlock(refused, TEST_APP_ID, WRONG_KEY)
            assert refused.status is L.UNLOCKFAILED
            priv = alice.messenger_priv()
            await alice.unlock(priv, TEST_APP_ID, TEST_APP_KEY, cookie=2)
            assert priv.status is L.UNLOCKED
            await alice.unlock(priv, TEST_APP_ID, TEST_APP_KEY)  # already unlocked: nothing to do
            # What request_challenge raises, unlock raises.
            pending = alice.session_manager()
            pending.request_challenge(1)
            with pytest.raises(msgr.ApiPendingUnlockError):
                await alice.unlock(pending, TEST_APP_ID, TEST_APP_KEY)
            # Signed out meanwhile: the lock is reset.
            signed_out = alice.session_manager()
            unlocking = asyncio.ensure_future(alice.unlock(signed_out, TEST_APP_ID, TEST_APP_KEY))
            await alice.next_event(signed_out, "on_lock_challenge")
            alice.messenger.sign_out()
            with pytest.raises(msgr.ApiNotInitializedError):
                await unlocking
            assert alice._hub.waits == []

    run(main())


def test_unlock_invite_accept_connected_and_context_data_both_ways(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with two(server) as (alice, bob):
            alice_manager, bob_manager = await asyncio.gather(ready(alice), ready(bob, 2))
            assert alice_manager.status is L.UNLOCKED and bob_manager.status is L.UNLOCKED
            async with bob.events(bob_manager, "on_invitation") as invitations:
                session = alice_manager.create_session()
                session.application = GUID
                await alice.invite(session, BOB, "hello")
                assert session.state in (S.INVITATION, S.ACCEPTED, S.CONNECTED)
                invitation = await anext(invitations)
            bob_session, app_data = invitation.args
            assert app_data == "hello" and bob_session.user.sign_in_name == ALICE
            assert bob_session.flags & msgr.SessionFlags.INVITEE

            bob_session.accept("yes")
            await asyncio.gather(alice.wait_connected(session), bob.wait_connected(bob_session))
            assert session.state is S.CONNECTED and bob_session.state is S.CONNECTED
            assert session.remote_address == "127.0.0.1"

            async with alice.events(session, "on_context_data") as to_alice:
                to_bob = bob.next_event(bob_session, "on_context_data")
                session.send_context_data("from alice")
                bob_session.send_context_data("from bob 1")
                bob_session.send_context_data("from bob 2")
                assert (await to_bob).args == ("from alice",)
                got = [(await anext(to_alice)).args[0] for _ in range(2)]
            assert got == ["from bob 1", "from bob 2"]
            assert bob_session.context_data == "from alice"
            # What crossed alice's sockets is in her trace, both ways.
            trace = alice.connection.trace
            assert trace.filter(command="XFR", direction="C->S")
            assert trace.filter(command="MSG", direction="S->C")

    run(main())


def test_sign_out_and_sign_in_again(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            manager = alice.session_manager()
            signed_out = alice.next_event(alice.messenger, "on_signed_out")
            alice.messenger.sign_out()
            assert (await signed_out).args == ("user",)
            assert manager.status is L.NOTINITIALIZED
            enabled = alice.next_event(manager, "on_lock_enable")
            await alice.sign_in()
            # The sign-in's events were delivered before it returned.
            assert enabled.done() and (await enabled).args == (True,)
            assert alice.messenger.signed_in and manager.status is L.INITIALIZED
            with pytest.raises(msgr.AuthenticationFailedError):
                alice.messenger.sign_out()
                await alice.sign_in("wrong")

    run(main())


# --------------------------------------------------------------------------- closing


def test_closing_fails_pending_waits_promptly(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        alice = await msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        manager = alice.session_manager()
        waiting = asyncio.ensure_future(alice.next_event(manager, "on_lock_result", timeout=None))
        never = asyncio.ensure_future(alice.wait_for(lambda: False, timeout=None))
        stream = alice.events(manager)
        signed_out = alice.next_event(alice.messenger, "on_signed_out", timeout=None)
        await asyncio.sleep(0)
        started = time.monotonic()
        await alice.aclose()
        took = time.monotonic() - started
        for task in (waiting, never):
            with pytest.raises(msgr.aio.ConnectionClosedError):
                await asyncio.wait_for(task, 1.0)
        assert took < 2.0, took
        # The events of the closing were delivered first: the sign-out, the lock reset.
        assert (await signed_out).args == ("user",)
        assert [e.callback for e in [event async for event in stream]] == ["on_app_shutdown", "on_lock_status_changed"]
        # New waits fail at once; new streams are empty.
        with pytest.raises(msgr.aio.ConnectionClosedError):
            await alice.next_event(manager)
        with pytest.raises(msgr.aio.ConnectionClosedError):
            await alice.wait_for(lambda: False)
        assert [event async for event in alice.events()] == []
        assert alice._hub.waits == [] and alice._hub.streams == []
        await until(lambda: not server.is_online(ALICE), "alice signing out on the server")

    run(main())


def test_closing_the_connection_synchronously_on_the_loop_fails_waits_too(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        alice = await msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        waiting = asyncio.ensure_future(alice.next_event(alice.messenger, "on_signed_in", timeout=None))
        await asyncio.sleep(0)
        started = time.monotonic()
        alice.connection.close()  # the synchronous close, on the loop's thread
        assert time.monotonic() - started < 2.0
        with pytest.raises(msgr.aio.ConnectionClosedError):
            await asyncio.wait_for(waiting, 2.0)
        await alice.aclose()  # still fine

    run(main())


def test_cancelling_waits_and_a_connect(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT) as alice:
            task = asyncio.ensure_future(alice.next_event(timeout=None))
            await asyncio.sleep(0)
            assert len(alice._hub.waits) == 1
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert alice._hub.waits == []
            withdrawn = alice.next_event()
            withdrawn.cancel()
            with pytest.raises(asyncio.CancelledError):
                await withdrawn

        # A connect cancelled in the middle of its sign-in closes what it opened: through
        # a proxy that never answers, the sign-in waits until cancelled.
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()
            writer.close()

        mute = await asyncio.start_server(silent, "127.0.0.1", 0)
        try:
            connecting = asyncio.ensure_future(msgr.aio.connect(mute.sockets[0].getsockname(), ALICE, ALICE_PASSWORD, timeout=WAIT))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            connecting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await connecting
            assert time.monotonic() - started < 2.0
        finally:
            mute.close()
        assert not [t for t in threading.enumerate() if t.name == f"msgr-events-{ALICE}"]

    run(main())


def test_a_closed_loop_closes_the_connection(server: msgr.ServerHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    hooked: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", hooked.append)

    async def leave_open() -> msgr.aio.AsyncMessenger:
        return await msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)

    alice = run(leave_open())  # the loop is closed now, the connection still open
    assert not alice.closed
    alice.messenger.sign_out()  # events that no loop can take
    alice.connection._thread.join(WAIT)
    assert alice.closed and not alice.connection._thread.is_alive()
    (args,) = hooked
    assert isinstance(args.exc_value, RuntimeError) and "closed" in str(args.exc_value)
    assert any("nothing can deliver" in note for note in args.exc_value.__notes__)


# --------------------------------------------------------------------------- the user's own presence


def test_status_name_and_personal_message_are_awaited_answers(server: msgr.ServerHandle) -> None:
    async def main() -> None:
        host, port = server.address
        async with msgr.aio.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT, protocols=["MSNP11"], nexus=server.nexus_url) as alice:
            assert await alice.set_status(msgr.Status.BUSY) is msgr.Status.BUSY
            assert alice.messenger.status is msgr.Status.BUSY
            await alice.set_friendly_name("Alice at work")
            assert alice.messenger.friendly_name == "Alice at work"
            await alice.set_personal_message("in a meeting")
            assert alice.messenger.personal_message == "in a meeting"
            # Refused before anything is sent: the same exceptions as the regular calls.
            with pytest.raises(msgr.InvalidArgError):
                await alice.set_status("FLN")
            with pytest.raises(msgr.InvalidArgError):
                await alice.set_friendly_name("")
        async with msgr.aio.connect(f"{host}:{port}", BOB, BOB_PASSWORD, timeout=WAIT) as bob:
            with pytest.raises(msgr.NotImplError, match="MSNP11"):
                await bob.set_personal_message("hi")

    run(main())
