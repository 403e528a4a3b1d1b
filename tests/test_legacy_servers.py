"""msgr's client against legacy MSNP servers (a scripted fake on 127.0.0.1, see
``scripted_server``): no profile message, no pings, unknown commands dropped, ``OUT``
without a close, switchboard refusals, and a switchboard nobody listens on."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import msgr
import msgr.net
from conftest import ALICE, APP, BOB, GUID
from msgr.testing import fail_unlock, unlock
from scripted_server import Line, ScriptedServer, refusing_address

WAIT = 10.0
APP_ID, APP_KEY = "legacy-app@msnmsgr.com", "LegacyKey1"
#: Short enough to keep the test fast, long enough for a loaded machine's round trip.
CHALLENGE_TIMEOUT = 0.5

Connect = Callable[..., msgr.Messenger]


@pytest.fixture
def connect() -> Iterator[Callable[..., msgr.Messenger]]:
    """``connect(server, **options)``: alice signed in to ``server`` over TCP (any
    ``msgr.net._open`` option, e.g. ``challenge_timeout``); closed at teardown."""
    made: list[msgr.Messenger] = []

    def make(server: ScriptedServer, timeout: float = WAIT, **options: Any) -> msgr.Messenger:
        messenger = msgr.net._open(server.address, ALICE, "any-password", timeout=timeout, local_ip=None, trace_limit=None, **options)
        made.append(messenger)
        messenger.sign_in()
        return messenger

    yield make
    for messenger in made:
        messenger.service.close()


def _script(**answers: Callable[[Line], list[str]]) -> Mapping[str, Callable[[Line], list[str]]]:
    return answers


def _ready_session(alice: msgr.Messenger) -> tuple[msgr.MsgrSessionManager, msgr.MsgrSession]:
    """A session manager of alice's (signed in with ``lock_and_key="off"``) with the
    test application, and a session of it ready to invite."""
    manager = alice.session_manager()
    alice.wait_for(lambda: manager.status == msgr.LockStatus.UNLOCKED, WAIT)
    manager.register_application(*APP)
    session = manager.create_session()
    session.application = GUID
    return manager, session


# --------------------------------------------------------------------------- Lock and Key


def test_a_server_with_no_profile_and_no_pings_means_lock_and_key(connect: Connect) -> None:
    with ScriptedServer() as server:
        alice = connect(server)
        manager = alice.session_manager()
        assert alice.signed_in
        alice.wait_for(lambda: manager.status == msgr.LockStatus.INITIALIZED, WAIT)
        # It never pinged, so the client never answered a ping.
        assert not server.commands("QRY")
        assert "MSG Hotmail" not in "\n".join(alice.service.trace.lines())


def test_auto_fails_the_unlock_when_the_server_drops_chl_and_says_why(connect: Connect, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="msgr.client")
    with ScriptedServer() as server:
        alice = connect(server, challenge_timeout=CHALLENGE_TIMEOUT)
        manager = alice.session_manager()
        alice.wait_for(lambda: manager.status == msgr.LockStatus.INITIALIZED, WAIT)
        results: list[tuple[int, bool]] = []
        manager.on_lock_result = lambda cookie, ok: results.append((cookie, ok))
        manager.request_challenge(7)
        server.wait_for(lambda: server.commands("CHL"))
        alice.wait_for(lambda: results, WAIT)
        assert results == [(7, False)]
        assert manager.status == msgr.LockStatus.UNLOCKFAILED
    warnings = [r.getMessage() for r in caplog.records if r.name == "msgr.client" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert "never answered CHL" in warning
    assert "without Lock and Key drops CHL silently" in warning
    assert 'lock_and_key="local"' in warning


def test_local_unlocks_with_the_given_keys_and_no_wire_traffic(connect: Connect) -> None:
    with ScriptedServer() as server:
        alice = connect(server, lock_and_key="local", keys={APP_ID: APP_KEY})
        manager, priv = alice.session_manager(), alice.messenger_priv()
        alice.wait_for(lambda: manager.status == priv.status == msgr.LockStatus.INITIALIZED, WAIT)
        before = len(alice.service.trace.lines())
        unlock(manager, APP_ID, APP_KEY, cookie=3, timeout=WAIT)
        fail_unlock(priv, APP_ID, "not-the-key", cookie=4, timeout=WAIT)
        assert manager.status == msgr.LockStatus.UNLOCKED
        assert priv.status == msgr.LockStatus.UNLOCKFAILED
        assert len(alice.service.trace.lines()) == before
        assert not server.commands("CHL") and not server.commands("QRY")


def test_local_refuses_an_unknown_app_id_as_a_failed_unlock(connect: Connect) -> None:
    with ScriptedServer() as server:
        alice = connect(server, lock_and_key="local", keys={APP_ID: APP_KEY})
        manager = alice.session_manager()
        alice.wait_for(lambda: manager.status == msgr.LockStatus.INITIALIZED, WAIT)
        fail_unlock(manager, "other@msnmsgr.com", APP_KEY, timeout=WAIT)


def test_off_is_unlocked_at_sign_in(connect: Connect) -> None:
    with ScriptedServer() as server:
        alice = connect(server, lock_and_key="off")
        manager = alice.session_manager()
        alice.wait_for(lambda: manager.status == msgr.LockStatus.UNLOCKED, WAIT)
        manager.register_application(*APP)


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"lock_and_key": "local"}, msgr.InvalidArgError, "needs keys"),
        ({"lock_and_key": "local", "keys": {}}, msgr.InvalidArgError, "at least one"),
        ({"lock_and_key": "auto", "keys": {APP_ID: APP_KEY}}, msgr.InvalidArgError, "only"),
        ({"lock_and_key": "service", "keys": {APP_ID: APP_KEY}}, msgr.InvalidArgError, "only"),
        ({"lock_and_key": "enabled"}, msgr.InvalidArgError, "'auto', 'service', 'local', 'off'"),
        ({"lock_and_key": 1}, msgr.InvalidArgTypeError, "must be a str"),
        ({"lock_and_key": "local", "keys": [(APP_ID, APP_KEY)]}, msgr.InvalidArgTypeError, "mapping"),
        ({"lock_and_key": "local", "keys": {APP_ID: 5}}, msgr.InvalidArgTypeError, "must be a str"),
        ({"lock_and_key": "local", "keys": {"has space": APP_KEY}}, msgr.InvalidArgError, "without spaces"),
        ({"lock_and_key": "local", "keys": {APP_ID: ""}}, msgr.InvalidArgError, "empty"),
    ],
)
def test_connect_checks_lock_and_key_and_keys(options: dict[str, Any], error: type[Exception], words: str) -> None:
    # Checked before any connection: the address is one nobody listens on.
    with pytest.raises(error, match=words):
        msgr.connect(refusing_address(), ALICE, "pw", timeout=WAIT, **options)


# --------------------------------------------------------------------------- OUT


def test_out_oth_without_a_close_signs_out_at_once(connect: Connect) -> None:
    with ScriptedServer() as server:
        alice = connect(server, lock_and_key="off")
        manager, session = _ready_session(alice)
        # The scripted switchboard rings and joins bob at once: the invitation is out.
        session.invite(BOB)
        assert session.state == msgr.SessionState.INVITATION
        reasons: list[str] = []
        endings: list[int] = []
        alice.on_signed_out = reasons.append
        session.on_termination = lambda hr, data: endings.append(hr)
        server.send(1, "OUT OTH")
        alice.wait_for(lambda: reasons and endings, WAIT)
        assert reasons == ["signed_in_elsewhere"]
        assert endings == [msgr.HResult.SR_SESSION_CANCELLED_LOCAL]
        assert not alice.signed_in and alice.state == "offline"
        assert manager.status == msgr.LockStatus.NOTINITIALIZED
        # The server kept its end open; the client closed the socket itself, and left
        # the switchboard.
        server.wait_for(lambda: server.closed_by_client(1))
        server.wait_for(lambda: server.commands("OUT"))
        assert [line.conn for line in server.commands("OUT")] == [2]
        # Later calls fail as when signed out.
        with pytest.raises(msgr.ApiNotInitializedError):
            manager.request_challenge(1)
        with pytest.raises(msgr.ApiNotInitializedError):
            manager.create_session()


@pytest.mark.parametrize(
    ("line", "reason"),
    [("OUT SSD", "server_shutdown"), ("OUT MIG", "server_closed"), ("OUT TOU", "server_closed"), ("OUT RCT 6", "server_closed")],
)
def test_every_out_ends_the_sign_in_with_a_documented_reason(connect: Connect, caplog: pytest.LogCaptureFixture, line: str, reason: str) -> None:
    caplog.set_level(logging.INFO, logger="msgr.client")
    with ScriptedServer() as server:
        alice = connect(server)
        reasons: list[str] = []
        alice.on_signed_out = reasons.append
        server.send(1, line)
        alice.wait_for(lambda: reasons, WAIT)
        server.wait_for(lambda: server.closed_by_client(1))
    assert reasons == [reason]
    assert f'"{reason}"' in (msgr.Messenger.on_signed_out.__doc__ or "")
    if reason == "server_closed":
        code = line.split(" ")[1]
        assert any(f"OUT {code}" in r.getMessage() for r in caplog.records if r.name == "msgr.client")


# --------------------------------------------------------------------------- switchboards


def _refuse_cal(code: int) -> Callable[[Line], list[str]]:
    return lambda line: [f"{code} {line.trid}"]


@pytest.mark.parametrize(
    ("code", "error", "meaning"),
    [
        (205, msgr.NotLoggedOnError, "unknown user"),
        (207, msgr.InvitationSendFailureError, "already signed in"),
        (208, msgr.InvalidArgError, "invalid user name"),
        (216, msgr.NotLoggedOnError, "not on that list"),
        (217, msgr.NotLoggedOnError, "user not online"),
    ],
)
def test_a_refused_cal_keeps_its_code_and_meaning(connect: Connect, code: int, error: type[msgr.MsgrError], meaning: str) -> None:
    with ScriptedServer(_script(CAL=_refuse_cal(code))) as server:
        alice = connect(server, lock_and_key="off")
        _, session = _ready_session(alice)
        with pytest.raises(error) as raised:
            session.invite(BOB)
        assert f"{BOB} could not be called: {code} ({meaning})" in str(raised.value)
        assert session.state == msgr.SessionState.READY
        assert server.commands("CAL")


def test_an_invite_that_gave_up_is_withdrawn_so_a_late_refusal_is_no_send_error(connect: Connect) -> None:
    # The app was told by the exception; the invitation never went out (decision in
    # docs/decisions.md, "an invitation whose caller stopped waiting is withdrawn").
    def late_refusal(line: Line) -> list[str]:
        time.sleep(2.0)
        return [f"205 {line.trid}"]

    with ScriptedServer(_script(CAL=late_refusal)) as server:
        alice = connect(server, timeout=1.0, lock_and_key="off")
        _, session = _ready_session(alice)
        errors: list[int] = []
        session.on_send_error = errors.append
        with pytest.raises(msgr.ConnectionTimeoutError):
            session.invite(BOB)
        assert session.state == msgr.SessionState.READY
        server.wait_for(lambda: [line for line in server.commands("OUT") if line.switchboard])
        assert not [line for line in server.received if line.command == "MSG" and line.switchboard]
        assert errors == []
        assert alice.signed_in


def test_a_refused_xfr_keeps_its_code_and_meaning(connect: Connect) -> None:
    with ScriptedServer(_script(XFR=lambda line: [f"913 {line.trid}"])) as server:
        alice = connect(server, lock_and_key="off")
        _, session = _ready_session(alice)
        with pytest.raises(msgr.InvitationSendFailureError) as raised:
            session.invite(BOB)
        assert f"no switchboard for the invitation to {BOB}: 913 (" in str(raised.value)


def test_an_unreachable_switchboard_is_named(connect: Connect) -> None:
    host, port = refusing_address()
    with ScriptedServer(_script(XFR=lambda line: [f"XFR {line.trid} SB {host}:{port} CKI 1.2"])) as server:
        alice = connect(server, lock_and_key="off")
        _, session = _ready_session(alice)
        with pytest.raises(msgr.ConnectionFailureError, match=f"cannot reach switchboard {host}:{port}: ") as raised:
            session.invite(BOB)
        assert isinstance(raised.value.__cause__, ConnectionRefusedError)
        assert session.state == msgr.SessionState.READY
        assert alice.signed_in


# --------------------------------------------------------------------------- dialects


def test_a_server_that_answers_only_msnp7_gets_msnp7_from_a_client_offering_all(connect: Connect) -> None:
    # A nexus is named, so MSNP12 down to MSNP8 are offered too; nothing listens there,
    # and nothing needs to: the server picks MSNP7, which signs in without Passport.
    with ScriptedServer() as server:
        alice = connect(server, nexus="http://127.0.0.1:9/rdr/pprdr.asp", lock_and_key="off")
        assert alice.signed_in
        assert server.commands("VER")[0].args[1:] == ["MSNP12", "MSNP11", "MSNP10", "MSNP9", "MSNP8", "MSNP7", "CVR0"]
        assert server.commands("INF") and not server.commands("CVR")


def test_an_xfr_ns_redirect_is_followed_to_the_named_server(connect: Connect) -> None:
    with msgr.serve(users=[(ALICE, "any-password")]) as real:
        host, port = real.address
        dispatch = _script(USR=lambda line: [f"XFR {line.trid} NS {host}:{port} 0 127.0.0.1:1863"])
        with ScriptedServer(dispatch) as server:
            alice = connect(server)
            assert alice.signed_in
            lines = [e.line for e in alice.service.trace]
            assert f"XFR 3 NS {host}:{port} 0 127.0.0.1:1863" in lines
            # The sign-in starts again at the named server, TrIDs going on.
            assert "VER 4 MSNP7 CVR0" in lines
            assert any(e.line.startswith(f"USR 7 OK {ALICE}") for e in real.trace), "signed in at the real server"


# --------------------------------------------------------------------------- the guide


def test_the_legacy_servers_guide_example_runs_as_printed(tmp_path: Path) -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "legacy-servers.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", guide, re.S)
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["UNLOCKED"]
