"""Logs: the ``msgr`` loggers record connects, sign-ins (never secrets), sign-outs and
disconnects with their reason, and protocol errors; ``msgr serve -v`` prints them and
``--trace`` prints every MSNP line with secrets masked; the server handle has a trace."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import time

import pytest

import msgr
from conftest import ALICE, ALICE_PASSWORD, BOB


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


def _send_garbage(server: msgr.ServerHandle, caplog: pytest.LogCaptureFixture | None = None) -> None:
    """A peer that does not speak MSNP: closed at once, and (bounded) logged as such
    (an info line each, a warning summary every 10 s)."""
    with socket.create_connection(server.address) as raw:
        raw.sendall(b"\xff\xfe garbage\r\n")
        raw.settimeout(5)
        assert raw.recv(100) == b""
    if caplog is None:
        return
    deadline = time.monotonic() + 5
    while not any("not MSNP" in m for m in _messages(caplog, "msgr.server")):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_the_msgr_loggers_record_what_happens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="msgr")
    with msgr.serve(users=[(ALICE, ALICE_PASSWORD)]) as server:
        with msgr.connect(server.address, ALICE, ALICE_PASSWORD):
            pass
        with pytest.raises(msgr.AuthenticationFailedError):
            msgr.connect(server.address, ALICE, "not-it")
        _send_garbage(server, caplog)
    server_log, client_log = _messages(caplog, "msgr.server"), _messages(caplog, "msgr.client")
    assert any(m.startswith("connection 1 from 127.0.0.1:") for m in server_log), server_log
    assert f"{ALICE} signed in on connection 1 (MSNP7)" in server_log
    assert f"{ALICE} signed out on connection 1: it said OUT" in server_log
    assert f"sign-in refused for {ALICE} on connection 2 (911)" in server_log
    assert any("sent what is not MSNP" in m for m in server_log)
    assert any(m.startswith(f"{ALICE} signed in to 127.0.0.1:") for m in client_log), client_log
    assert f"{ALICE} signed out (user)" in client_log
    assert any("sign-in failed" in m for m in client_log)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert ALICE_PASSWORD not in everything and "not-it" not in everything


def test_below_the_core_log_level_info_records_stay_out_of_python(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="msgr")
    msgr._core.set_log_level("warning")
    try:
        with msgr.serve(users=[(ALICE, ALICE_PASSWORD)]) as server:
            with msgr.connect(server.address, ALICE, ALICE_PASSWORD):
                pass
            _send_garbage(server)
    finally:
        msgr._core.set_log_level("info")
    # Connections, sign-ins and single refusals (INFO) do not come; the summary of the
    # refusals (WARNING, every 10 s and when the server stops) does.
    server_log = _messages(caplog, "msgr.server")
    assert server_log == [
        "closed a connection that sent what is not MSNP: 1 time from 1 address in the last 10 s; most from 127.0.0.1 (1)"
    ]
    with pytest.raises(msgr.InvalidArgError, match="debug"):
        msgr._core.set_log_level("debug")


def test_the_server_handle_has_a_trace() -> None:
    with msgr.serve(users=[(ALICE, ALICE_PASSWORD)], trace_limit=1000) as server:
        with msgr.connect(server.address, ALICE, ALICE_PASSWORD):
            pass
        lines = [(e.direction, e.line) for e in server.trace]
    assert lines[:2] == [("C->S", "VER 1 MSNP7 CVR0"), ("S->C", "VER 1 MSNP7")]
    assert ("C->S", "OUT") in lines
    assert server.trace.limit == 1000
    signed_in = [e for e in server.trace if e.line.startswith("USR 4 OK")]
    assert signed_in and signed_in[0].user == ALICE


def test_msgr_serve_v_and_trace() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgr", "serve", "--port", "0", "--user", f"{ALICE}:{ALICE_PASSWORD}", "-v", "--trace"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = proc.stdout.readline()
        assert first.startswith("msgr: serving MSNP on 127.0.0.1:"), first
        host, port = first.rsplit(" ", 1)[1].strip().rsplit(":", 1)
        with msgr.connect((host, int(port)), ALICE, ALICE_PASSWORD) as alice:
            # The service's ping comes after sign-in: wait for its answer's verdict.
            deadline = time.monotonic() + 10
            while not any(e.command == "QRY" and e.direction == "S->C" for e in alice.service.trace):
                assert time.monotonic() < deadline, "the ping was never answered"
                time.sleep(0.01)
        out, err = proc.communicate("quit\n", timeout=30)
    finally:
        proc.kill()
    assert f"msgr.server: {ALICE} signed in on connection 1 (MSNP7)" in err
    assert "msgr.server: connection 1 from 127.0.0.1:" in err
    assert "C->S VER 1 MSNP7 CVR0" in out
    assert "C->S USR 4 MD5 S ***" in out
    assert f"C->S QRY 7 msmsgs@msnmsgr.com 32 +***" in out
    assert ALICE_PASSWORD not in out + err


# --------------------------------------------------------------------------- msgr.wire


def _wire(caplog: pytest.LogCaptureFixture) -> list[str]:
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "msgr.wire")
    return _messages(caplog, "msgr.wire")


def _no_proof(lines: list[str]) -> None:
    """No sign-in proof or switchboard cookie in clear."""
    for line in lines:
        assert not re.search(r"USR \d+ MD5 S [0-9a-f]{32}\b", line), line
        assert not re.search(r"CKI \d", line), line


def test_wire_lines_go_to_the_msgr_wire_logger_at_debug_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="msgr.wire")
    with msgr.Service(seed=1) as service:
        service.sign_in(ALICE)
        lines = _wire(caplog)
        # One record per message, in the trace's order, as the trace masks it.
        assert lines == [f"#{e.conn} {e.user} {e.direction} {e.line}" for e in service.trace]
    assert lines[0] == f"#1 {ALICE} C->S VER 1 MSNP7 CVR0"
    assert f"#1 {ALICE} C->S USR 4 MD5 S ***" in lines
    _no_proof(lines)


def test_wire_lines_of_a_server_and_a_client_with_no_trace_kept(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="msgr.wire")
    with msgr.serve(users=[(ALICE, ALICE_PASSWORD)], trace_limit=0) as server:
        alice = msgr.connect(server.address, ALICE, ALICE_PASSWORD, trace_limit=0)
        try:
            deadline = time.monotonic() + 5
            # The server's side of Alice's sign-in: before USR OK the connection has
            # no account yet.
            while not any(re.fullmatch(rf"#\d+ {re.escape(ALICE)} S->C USR 4 OK .*", m) for m in _wire(caplog)):
                assert time.monotonic() < deadline, _wire(caplog)
                time.sleep(0.01)
        finally:
            alice.service.close()
        assert len(server.trace) == 0 and len(alice.service.trace) == 0
    lines = _wire(caplog)
    assert any(re.fullmatch(r"#\d+ C->S VER 1 .*", m) for m in lines), lines
    # Sent by the client and received by the server: one record each, both masked.
    assert sum(1 for m in lines if re.fullmatch(rf"#\d+ (?:{re.escape(ALICE)} )?C->S USR \d+ MD5 S \*\*\*", m)) == 2, lines
    _no_proof(lines)


def test_no_wire_lines_unless_the_logger_takes_debug_when_made(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="msgr")
    with msgr.Service(seed=1) as quiet:
        caplog.set_level(logging.DEBUG, logger="msgr.wire")
        # Asked when the service is made: this one was made with the logger at INFO.
        quiet.sign_in(ALICE)
        assert _wire(caplog) == []
        with msgr.Service(seed=1) as told:
            told.sign_in(BOB)
        assert _wire(caplog) and all(BOB in m for m in _wire(caplog))
