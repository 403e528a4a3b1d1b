"""What a Python user meets first: errors of the kind Python code expects, time-outs
kept, restarts that work, and objects that close."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import msgr
from conftest import ALICE, ALICE_PASSWORD, raises_exactly


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says anything."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        yield srv.getsockname()[1]


# --------------------------------------------------------------------------- connecting


def test_an_unknown_host_is_a_connection_failure_caused_by_the_lookup() -> None:
    with pytest.raises(msgr.ConnectionFailureError) as info:
        msgr.connect(("nonexistent.invalid", 1863), ALICE, ALICE_PASSWORD, timeout=5)
    assert isinstance(info.value.__cause__, OSError)
    assert "nonexistent.invalid:1863" in str(info.value)


def test_a_server_that_never_answers_times_out_on_time(silent_port: int) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        msgr.connect(("127.0.0.1", silent_port), ALICE, ALICE_PASSWORD, timeout=0.5)
    took = time.monotonic() - started
    assert isinstance(info.value, msgr.ConnectionFailureError)
    assert type(info.value) is msgr.ConnectionTimeoutError
    assert info.value.hresult == msgr.HResult.SR_CONNECTION_FAILURE
    assert "0.5 s" in str(info.value) and "ms" not in str(info.value)
    assert 0.5 <= took < 0.5 + 0.25, took  # the bound is 50 ms over; slack for a loaded CI


def test_a_peer_that_does_not_speak_msnp_is_a_protocol_error() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)

        def http_server() -> None:
            conn, _ = srv.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                time.sleep(0.5)

        threading.Thread(target=http_server, daemon=True).start()
        with raises_exactly(msgr.SessionProtocolError) as info:
            msgr.connect(srv.getsockname(), ALICE, ALICE_PASSWORD, timeout=5)
    assert "does not speak MSNP" in str(info.value)


# --------------------------------------------------------------------------- argument types


@pytest.mark.parametrize("seed", [-1, 1 << 64])
def test_seeds_out_of_range_are_invalid_arguments(seed: int) -> None:
    with raises_exactly(msgr.InvalidArgError):
        msgr.Service(seed=seed)
    with raises_exactly(msgr.InvalidArgError):
        msgr.serve(seed=seed)


@pytest.mark.parametrize(
    "call",
    [
        lambda: msgr.Service(seed="1"),  # type: ignore[arg-type]
        lambda: msgr.Service(db=5),  # type: ignore[arg-type]
        lambda: msgr.serve(port="1863"),  # type: ignore[arg-type]
        lambda: msgr.Service().advance("1"),  # type: ignore[arg-type]
        lambda: msgr.Service().sign_in(5),  # type: ignore[arg-type]
    ],
    ids=["seed-str", "db-int", "port-str", "advance-str", "email-int"],
)
def test_wrong_types_are_type_errors_and_invalid_arguments(call: object) -> None:
    with pytest.raises(TypeError) as info:
        call()  # type: ignore[operator]
    assert isinstance(info.value, msgr.InvalidArgError)
    assert info.value.hresult == msgr.HResult.E_INVALIDARG


# --------------------------------------------------------------------------- passwords


def test_a_refused_password_is_not_kept() -> None:
    service = msgr.Service(seed=2)
    service.add_user(ALICE, ALICE_PASSWORD)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    alice.sign_out()
    with raises_exactly(msgr.AuthenticationFailedError):
        alice.sign_in("wrong")
    alice.sign_in()
    assert alice.signed_in


def test_a_refused_password_is_not_kept_over_the_network() -> None:
    with msgr.serve(users=[(ALICE, ALICE_PASSWORD)]) as server:
        with msgr.connect(server.address, ALICE, ALICE_PASSWORD) as alice:
            alice.sign_out()
            with raises_exactly(msgr.AuthenticationFailedError):
                alice.sign_in("wrong")
            alice.sign_in()
            assert alice.signed_in


# --------------------------------------------------------------------------- restarts and lifetimes


def test_add_user_exist_ok_updates_instead_of_failing() -> None:
    service = msgr.Service(seed=2)
    service.add_user(ALICE, "one", "Alice One")
    with raises_exactly(msgr.FailError):
        service.add_user(ALICE, "two")
    service.add_user(ALICE.upper(), "two", exist_ok=True)
    assert service.users == {ALICE: "Alice One"}
    service.add_user(ALICE, "three", "Alice Three", exist_ok=True)
    assert service.users == {ALICE: "Alice Three"}
    with raises_exactly(msgr.AuthenticationFailedError):
        service.sign_in(ALICE, "two")
    assert service.sign_in(ALICE, "three").signed_in


def test_a_service_with_a_db_restarts_with_the_same_users(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    for password in ("pw1", "pw2"):
        with msgr.Service(db=db) as service:
            service.add_user(ALICE, password, exist_ok=True)
            assert service.sign_in(ALICE, password).signed_in


def test_msgr_serve_restarts_with_the_same_flags(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "msgr", "serve", "--port", "0", "--db", str(db), "--user", f"{ALICE}:pw"],
            input="users\nquit\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"{ALICE}\toffline" in proc.stdout


def test_a_closed_service_signs_everyone_out_and_refuses_more() -> None:
    service = msgr.Service(seed=2)
    alice = service.sign_in(ALICE)
    signed_out: list[str] = []
    alice.on_signed_out = signed_out.append
    with service:
        pass
    assert signed_out == ["server_shutdown"] and not alice.signed_in
    assert "closed" in repr(service)
    for call in (lambda: service.sign_in(ALICE), lambda: service.add_user("c@example.com", "pw"), lambda: service.license("a@b.com", "K")):
        with raises_exactly(msgr.FailError):
            call()
    service.close()  # idempotent


def test_a_closed_server_handle_refuses_more() -> None:
    server = msgr.serve()
    server.close()
    assert not server.running
    with raises_exactly(msgr.FailError) as info:
        server.add_user(ALICE, "pw")
    assert "closed" in str(info.value)
    server.close()


def test_messengers_are_context_managers() -> None:
    service = msgr.Service(seed=2)
    with service.sign_in(ALICE) as alice:
        assert alice.signed_in
    assert not alice.signed_in
    with msgr.serve(users=[(ALICE, ALICE_PASSWORD)]) as server:
        with msgr.connect(server.address, ALICE, ALICE_PASSWORD) as remote:
            assert remote.signed_in
        assert remote.service.closed
        deadline = time.monotonic() + 5
        while server.is_online(ALICE):
            assert time.monotonic() < deadline, "the server still has alice online"
            time.sleep(0.01)
