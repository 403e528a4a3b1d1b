"""Network mode: ``msgr.serve`` and ``msgr.connect`` over real sockets on 127.0.0.1.

Callbacks run on each Messenger's background delivery thread, so the tests wait with
``Messenger.wait_for`` (bounded, woken after every delivery) instead of sleeping. Every
wait has a timeout; every server and client is closed at teardown.
"""

from __future__ import annotations

import socket
import signal
import subprocess
import time
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import msgr
from conftest import ALICE, ALICE_AND_BOB, ALICE_NAME, ALICE_PASSWORD, APP, BOB, BOB_PASSWORD, GUID, pipe_lines, pipe_until, reap, quit_serve
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, fail_unlock, pend, ready_manager, unlock

S = msgr.SessionState
WAIT = 10.0


@pytest.fixture
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve(
        users=ALICE_AND_BOB,
        licenses={TEST_APP_ID: TEST_APP_KEY},
        seed=7,
    ) as handle:
        yield handle


@pytest.fixture
def connect(server: msgr.ServerHandle) -> Iterator[Callable[..., msgr.Messenger]]:
    """``connect(email, password)`` against the fixture server; closed at teardown."""
    made: list[msgr.Messenger] = []

    def make(email: str, password: str) -> msgr.Messenger:
        messenger = msgr.connect(server.address, email, password, timeout=WAIT)
        made.append(messenger)
        return messenger

    yield make
    for m in made:
        m.service.close()


# --------------------------------------------------------------------------- serve / connect


def test_serve_reports_a_loopback_address(server: msgr.ServerHandle) -> None:
    host, port = server.address
    assert host == "127.0.0.1" and 0 < port < 65536
    assert set(server.users) == {ALICE, BOB}
    assert server.users[ALICE] == ALICE_NAME
    assert not server.is_online(ALICE)
    assert "serving" in repr(server)


def test_connect_signs_in(server: msgr.ServerHandle, connect: Callable[..., msgr.Messenger]) -> None:
    alice = connect(ALICE, ALICE_PASSWORD)
    assert alice.signed_in and alice.state == "signed_in"
    assert alice.friendly_name == ALICE_NAME
    assert server.is_online(ALICE)
    # Same address given as "host:port".
    host, port = server.address
    bob = msgr.connect(f"{host}:{port}", BOB, BOB_PASSWORD, timeout=WAIT)
    try:
        assert bob.signed_in
    finally:
        bob.service.close()
    assert isinstance(alice, msgr.Messenger)


def test_a_wrong_password_raises_authentication_failed(server: msgr.ServerHandle) -> None:
    with pytest.raises(msgr.AuthenticationFailedError):
        msgr.connect(server.address, ALICE, "not-the-password", timeout=WAIT)
    assert not server.is_online(ALICE)


def test_nothing_listening_is_a_connection_failure_caused_by_the_os_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(msgr.ConnectionFailureError) as info:
        msgr.connect(("127.0.0.1", port), ALICE, ALICE_PASSWORD, timeout=WAIT)
    assert type(info.value) is msgr.ConnectionFailureError
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert f"127.0.0.1:{port}" in str(info.value) and str(info.value.__cause__) in str(info.value)


def test_bad_addresses_are_invalid_arguments() -> None:
    for address in ("no-port", ("127.0.0.1", 0), ("127.0.0.1", "1863"), 1863):
        with pytest.raises(msgr.InvalidArgError):
            msgr.connect(address, ALICE, ALICE_PASSWORD)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- callbacks


def test_unlock_with_callbacks_on_the_background_thread(connect: Callable[..., msgr.Messenger]) -> None:
    alice = connect(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    assert manager.status == msgr.LockStatus.INITIALIZED
    seen: list[tuple[str, Any]] = []
    threads: set[str] = set()

    def on_challenge(cookie: int, challenge: str) -> None:
        threads.add(threading.current_thread().name)
        seen.append(("challenge", cookie))
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)

    manager.on_lock_challenge = on_challenge
    manager.on_lock_status_changed = lambda status: seen.append(("status", status))
    manager.on_lock_result = lambda cookie, ok: seen.append(("result", (cookie, ok)))
    manager.request_challenge(5)
    alice.wait_for(lambda: len(seen) == 4, WAIT)
    # The same events, in the same order, as the embedded service delivers them.
    assert seen == [
        ("status", msgr.LockStatus.PENDINGRESULT),
        ("challenge", 5),
        ("result", (5, True)),
        ("status", msgr.LockStatus.UNLOCKED),
    ]
    assert manager.status == msgr.LockStatus.UNLOCKED
    assert threads and threading.current_thread().name not in threads


def test_a_raising_callback_goes_to_unraisablehook(connect: Callable[..., msgr.Messenger], monkeypatch: pytest.MonkeyPatch) -> None:
    hooked: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", hooked.append)
    alice = connect(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    results: list[bool] = []

    def on_challenge(cookie: int, challenge: str) -> None:
        manager.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)
        raise RuntimeError("boom in a callback")

    manager.on_lock_challenge = on_challenge
    manager.on_lock_result = lambda cookie, ok: results.append(ok)
    manager.request_challenge(9)
    # Delivery goes on after the failure: the result still arrives.
    alice.wait_for(lambda: hooked and results, WAIT)
    assert results == [True]
    (args,) = hooked
    assert isinstance(args.exc_value, RuntimeError)
    assert str(args.exc_value) == "boom in a callback"
    assert any("on_lock_challenge" in note for note in getattr(args.exc_value, "__notes__", []))


def test_wait_for_times_out_and_returns_the_value(connect: Callable[..., msgr.Messenger]) -> None:
    alice = connect(ALICE, ALICE_PASSWORD)
    with pytest.raises(TimeoutError):
        alice.wait_for(lambda: False, timeout=0.2)
    assert alice.wait_for(lambda: "yes", timeout=0.2) == "yes"
    with pytest.raises(msgr.InvalidArgError):
        alice.wait_for(lambda: True, timeout=-1)


def test_wait_for_on_embedded_checks_once(service: msgr.Service, alice: msgr.Messenger) -> None:
    assert alice.wait_for(lambda: alice.signed_in) is True
    with pytest.raises(TimeoutError):
        alice.wait_for(lambda: False, timeout=60)  # nothing is in flight: fails at once


def test_the_lock_and_key_kit_waits_for_the_network(connect: Callable[..., msgr.Messenger]) -> None:
    # msgr.testing's pend / fail_unlock / unlock wait for events from the delivery thread.
    alice = connect(ALICE, ALICE_PASSWORD)
    pending, refused, unlocked = alice.session_manager(), alice.session_manager(), alice.messenger_priv()
    challenge = pend(pending, 3)
    assert pending.status == msgr.LockStatus.PENDINGRESULT and challenge
    fail_unlock(refused, cookie=4)
    assert refused.status == msgr.LockStatus.UNLOCKFAILED
    unlock(unlocked, cookie=5)
    assert unlocked.status == msgr.LockStatus.UNLOCKED


# --------------------------------------------------------------------------- sessions


def test_invite_accept_connected_and_context_data_both_ways(connect: Callable[..., msgr.Messenger]) -> None:
    alice, bob = connect(ALICE, ALICE_PASSWORD), connect(BOB, BOB_PASSWORD)
    ma, mb = ready_manager(alice, *APP), ready_manager(bob, *APP)
    invited: list[tuple[msgr.MsgrSession, str | None]] = []
    mb.on_invitation = lambda session, data: invited.append((session, data))

    sa = ma.create_session()
    sa.application = GUID
    got_a: list[str] = []
    sa.on_context_data = got_a.append
    sa.invite(BOB, "hello")
    assert sa.state in (S.INVITATION, S.CONNECTED)
    bob.wait_for(lambda: invited, WAIT)
    sb, data = invited[0]
    assert data == "hello"
    assert sb.user.sign_in_name == ALICE
    assert sb.flags & msgr.SessionFlags.INVITEE

    got_b: list[str] = []
    sb.on_context_data = got_b.append
    sb.accept("yes")
    alice.wait_for(lambda: sa.state == S.CONNECTED, WAIT)
    bob.wait_for(lambda: sb.state == S.CONNECTED, WAIT)
    assert sa.remote_address == "127.0.0.1"

    sa.send_context_data("from alice")
    bob.wait_for(lambda: got_b, WAIT)
    sb.send_context_data("from bob")
    alice.wait_for(lambda: got_a, WAIT)
    assert (got_a, got_b) == (["from bob"], ["from alice"])
    assert sb.context_data == "from alice"

    # What crossed alice's sockets is in her trace, both ways.
    trace = alice.service.trace
    assert trace.filter(command="XFR", direction="C->S")
    assert trace.filter(command="MSG", direction="S->C")


def test_inviting_an_offline_user_raises_like_embedded(server: msgr.ServerHandle, connect: Callable[..., msgr.Messenger]) -> None:
    server.add_user("carol@example.com", "pw")
    alice = connect(ALICE, ALICE_PASSWORD)
    session = ready_manager(alice, *APP).create_session()
    session.application = GUID
    with pytest.raises(msgr.NotLoggedOnError):
        session.invite("carol@example.com")
    assert session.state == S.READY
    with pytest.raises(msgr.InvitedSelfError):
        session.invite(ALICE)


# --------------------------------------------------------------------------- lifetime


def test_sign_out_and_in_again(server: msgr.ServerHandle, connect: Callable[..., msgr.Messenger]) -> None:
    alice = connect(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    reasons: list[str] = []
    alice.on_signed_out = reasons.append
    alice.sign_out()
    alice.wait_for(lambda: reasons == ["user"], WAIT)
    assert manager.status == msgr.LockStatus.NOTINITIALIZED
    alice.wait_for(lambda: not server.is_online(ALICE), WAIT)
    alice.sign_in()
    assert alice.signed_in
    alice.wait_for(lambda: manager.status == msgr.LockStatus.INITIALIZED, WAIT)


def test_closing_the_server_signs_clients_out(server: msgr.ServerHandle, connect: Callable[..., msgr.Messenger]) -> None:
    alice = connect(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    reasons: list[str] = []
    alice.on_signed_out = reasons.append
    server.close()
    alice.wait_for(lambda: reasons, WAIT)
    # The server said `OUT SSD` before closing (msnp.md §b.12).
    assert reasons == ["server_shutdown"]
    assert "OUT SSD" in alice.service.trace.lines()
    assert alice.state == "offline"
    assert manager.status == msgr.LockStatus.NOTINITIALIZED
    assert not server.running
    server.close()  # idempotent


def test_closing_the_connection_signs_out_on_the_server(server: msgr.ServerHandle) -> None:
    alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
    alice.service.close()
    assert alice.service.closed
    alice.service.close()  # idempotent
    probe = {"online": True}

    def offline() -> bool:
        probe["online"] = server.is_online(ALICE)
        return not probe["online"]

    # The Messenger's own wait_for still polls (bounded) after its client closed.
    alice.wait_for(offline, WAIT)


# --------------------------------------------------------------------------- python -m msgr serve



def test_python_m_msgr_serve(tmp_path: Any) -> None:
    cmd = [
        sys.executable, "-m", "msgr", "serve", "--host", "127.0.0.1", "--port", "0",
        "--user", f"{ALICE}:{ALICE_PASSWORD}", "--license", f"{TEST_APP_ID}:{TEST_APP_KEY}",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        lines = pipe_lines(proc.stdout)
        first = pipe_until(lines, "msgr: serving MSNP on ")
        host, _, port = first.rsplit(" ", 1)[1].rpartition(":")
        alice = msgr.connect((host, int(port)), ALICE, ALICE_PASSWORD, timeout=WAIT)
        try:
            manager = alice.session_manager()
            unlock(manager)  # the --license pair works
            priv = alice.messenger_priv()
            unlock(priv)
            alerts: list[str] = []
            priv.on_alert_received = alerts.append
            assert priv.enable_alert_events([42]) == msgr.HResult.S_OK
            proc.stdin.write(f"alert {ALICE} 42 build is green\nalert {BOB} 42 nobody\n")
            proc.stdin.flush()
            assert pipe_until(lines, "ok: alert") == f"ok: alert sent to {ALICE}"
            assert pipe_until(lines, "error:") == f"error: {BOB} is not signed in"
            alice.wait_for(lambda: bool(alerts), WAIT)
            assert "<TEXT>build is green</TEXT>" in alerts[0] and 'siteid="42"' in alerts[0]
            proc.stdin.write(f"user {BOB} {BOB_PASSWORD} Bob B\nusers\n")
            proc.stdin.flush()
            assert pipe_until(lines, "ok: user") == f"ok: user {BOB}"
            listed = [pipe_until(lines, ALICE), pipe_until(lines, BOB)]
            assert listed[0].split("\t")[:2] == [ALICE, "online"]
            assert listed[1].split("\t") == [BOB, "offline", "Bob B"]
            bob = msgr.connect((host, int(port)), BOB, BOB_PASSWORD, timeout=WAIT)
            bob.service.close()
            quit_serve(proc, WAIT)
            assert pipe_until(lines, "msgr: stopped")
            # The server went away under the client: it is signed out.
            alice.wait_for(lambda: not alice.signed_in, WAIT)
        finally:
            alice.service.close()
    finally:
        reap(proc, WAIT)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_msgr_serve_outlives_the_end_of_stdin_and_stops_cleanly_on_a_signal(sig: int) -> None:
    # As a background job of a script starts it: stdin at its end, SIGINT ignored.
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--user", f"{ALICE}:{ALICE_PASSWORD}"]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        lines = pipe_lines(proc.stdout)
        host, _, port = pipe_until(lines, "msgr: serving MSNP on ").rsplit(" ", 1)[1].rpartition(":")
        time.sleep(0.5)
        assert proc.poll() is None, "still serving after the end of stdin"
        alice = msgr.connect((host, int(port)), ALICE, ALICE_PASSWORD, timeout=WAIT)
        try:
            proc.send_signal(sig)
            assert proc.wait(timeout=WAIT) == 0
            # Clients are told (OUT SSD), not just dropped.
            alice.wait_for(lambda: not alice.signed_in, WAIT)
        finally:
            alice.service.close()
        assert pipe_until(lines, "msgr: stopped")
    finally:
        reap(proc, WAIT)


def test_contacts_survive_a_server_restart(tmp_path: Any) -> None:
    db = str(tmp_path / "msgr.sqlite")
    users = [(ALICE, ALICE_PASSWORD), (BOB, BOB_PASSWORD)]
    with msgr.serve("127.0.0.1", 0, db=db, users=users, licenses=[(TEST_APP_ID, TEST_APP_KEY)]) as server:
        alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        try:
            priv = alice.messenger_priv()
            unlock(priv)
            added: list[Any] = []
            priv.on_contact_list_add = lambda hr, contact: added.append((hr, contact))
            priv.add_contact(BOB)
            alice.wait_for(lambda: bool(added), WAIT)
            assert added[0][0] == msgr.HResult.S_OK
        finally:
            alice.service.close()
    with msgr.serve("127.0.0.1", 0, db=db) as server:
        assert set(server.users) == {ALICE, BOB}
        alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        try:
            assert [c.sign_in_name for c in alice.contacts] == [BOB]
            priv = alice.messenger_priv()
            unlock(priv)  # the licence came back too
        finally:
            alice.service.close()


def test_the_machine_address_is_learnt_or_given(server: msgr.ServerHandle) -> None:
    alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
    bob = msgr.connect(server.address, BOB, BOB_PASSWORD, timeout=WAIT, local_ip="192.0.2.5")
    try:
        ma, mb = ready_manager(alice, *APP), ready_manager(bob, *APP)
        # Learnt from the socket to the server (loopback here); given for bob.
        assert ma.create_session().local_address == "127.0.0.1"
        assert mb.create_session().local_address == "192.0.2.5"
        mb.on_invitation = lambda session, data: session.accept()
        sa = ma.create_session()
        sa.application = GUID
        sa.invite(BOB)
        alice.wait_for(lambda: sa.state == S.CONNECTED, WAIT)
        assert sa.remote_address == "192.0.2.5"
    finally:
        alice.service.close()
        bob.service.close()
    with pytest.raises(msgr.InvalidArgError):
        msgr.connect(server.address, ALICE, ALICE_PASSWORD, local_ip=5)  # type: ignore[arg-type]


def test_switchboard_referrals_name_the_advertised_host() -> None:
    users = [(ALICE, ALICE_PASSWORD), (BOB, BOB_PASSWORD)]
    with msgr.serve("127.0.0.1", 0, users=users, licenses={TEST_APP_ID: TEST_APP_KEY}, advertise="localhost") as server:
        alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, timeout=WAIT)
        bob = msgr.connect(server.address, BOB, BOB_PASSWORD, timeout=WAIT)
        try:
            ma, mb = ready_manager(alice, *APP), ready_manager(bob, *APP)
            mb.on_invitation = lambda session, data: session.accept()
            sa = ma.create_session()
            sa.application = GUID
            sa.invite(BOB)
            alice.wait_for(lambda: sa.state == S.CONNECTED, WAIT)
            xfr = [e for e in alice.service.trace if e.command == "XFR" and e.direction == "S->C"]
            assert xfr[0].args[2] == f"localhost:{server.address[1]}"
        finally:
            alice.service.close()
            bob.service.close()
    with pytest.raises(msgr.InvalidArgError):
        msgr.serve("127.0.0.1", 0, advertise="two words")

