"""``msgr load`` against ``msgr serve``: each mode run tiny, its report read field by
field, and the refusals (a host that is not loopback, a wrong password, the server's
per-address cap).

The load generator runs in Rust with the GIL released, so the server here is
``msgr.serve`` in this process and ``--server-pid`` is our own pid. No assertion is
about time: only counts, checks and what the errors say.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import msgr
import msgr.load
from conftest import pipe_lines, pipe_until

WAIT = 30.0
PATTERN = "load{i}@example.com:pw"
#: Enough accounts for every mode below (relay pair p uses 2p and 2p+1).
ACCOUNTS = [(f"load{i}@example.com", "pw") for i in range(24)]
#: Tiny runs: a short warm-up, then 0.3 s measured.
TINY: dict[str, Any] = {"duration": 0.3, "warmup": 0.05}
LATENCY_FIELDS = {"count", "min", "mean", "p50", "p90", "p99", "p999", "max"}


@pytest.fixture
def server() -> Iterator[msgr.ServerHandle]:
    # Every run here comes from one address; the other limits (xfr, cal, rings) are
    # far above what a tiny run does.
    with msgr.serve(users=ACCOUNTS, limits={"max_per_address": 1000}) as handle:
        yield handle


def run(server: msgr.ServerHandle, mode: str, **options: Any) -> dict[str, Any]:
    host, port = server.address
    return msgr.load.run(mode, host, port, server_pid=os.getpid(), **{**TINY, **options})


def check_common(report: dict[str, Any], mode: str, unit: str) -> None:
    assert report["mode"] == mode and report["unit"] == unit
    assert report["ok"] is True, report["failures"]
    assert report["failures"] == []
    assert report["protocol"] == "MSNP7"
    assert report["operations"] > 0
    assert report["refused"] == {"total": 0, "reasons": {}}
    assert set(report["latency_us"]) == LATENCY_FIELDS
    latency = report["latency_us"]
    assert 0 < latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"] <= latency["max"]
    server = report["server"]
    assert server["pid"] == os.getpid() and server["rss_kb_before"] > 0 and server["rss_kb_after"] > 0
    assert server["cpu_us"] >= 0 and server["cpu_us_per_op"] is not None
    assert report["client"]["cpu_us_per_op"] is not None


def check_delivery(report: dict[str, Any]) -> None:
    checks = report["checks"]
    assert checks["in_order"] is True and checks["intact"] is True
    assert checks["sent"] == checks["received"] >= report["operations"]
    assert checks["lost"] == checks["out_of_order"] == checks["corrupt"] == 0


# --------------------------------------------------------------------------- the modes


def test_relay_two_pairs(server: msgr.ServerHandle) -> None:
    report = run(server, "relay", pairs=2, window=16)
    check_common(report, "relay", "messages")
    check_delivery(report)
    assert report["latency_us"]["count"] == report["operations"]
    assert report["rate_per_s"] > 0 and report["elapsed_s"] > 0
    assert report["settings"] == {
        "accounts": "load{i}@example.com:***", "first_account": 0,
        "pairs": 2, "window": 16, "payload_bytes": 332, "duration_s": 0.3, "warmup_s": 0.05,
    }
    assert report["hold"] is None


def test_rtt(server: msgr.ServerHandle) -> None:
    report = run(server, "rtt")
    check_common(report, "rtt", "round trips")
    check_delivery(report)


def test_a_count_bounds_a_run(server: msgr.ServerHandle) -> None:
    report = run(server, "rtt", duration=None, warmup=0, count=12)
    assert report["ok"] is True
    assert report["operations"] == report["checks"]["received"] == 12
    assert report["settings"]["count"] == 12


def test_signin(server: msgr.ServerHandle) -> None:
    report = run(server, "signin", concurrency=3)
    check_common(report, "signin", "sign-ins")
    assert report["checks"] is None
    assert report["settings"]["concurrency"] == 3


def test_hold_twenty(server: msgr.ServerHandle) -> None:
    report = run(server, "hold", clients=20, duration=0.3)
    check_common(report, "hold", "clients")
    hold = report["hold"]
    assert hold["requested"] == hold["signed_in"] == hold["held"] == 20
    assert hold["dropped"] == hold["refused"] == 0
    assert hold["source_addresses"] == 1
    assert hold["rss_kb_per_client"] is not None and hold["rss_kb_after_close"] > 0
    assert report["rate_per_s"] is None
    # Everyone left again.
    assert not any(server.is_online(email) for email, _ in ACCOUNTS)


def test_msnp11_signs_in_through_the_nexus(server: msgr.ServerHandle) -> None:
    report = run(server, "rtt", protocol="MSNP11", nexus=server.nexus_url, duration=None, count=5)
    assert report["ok"] is True and report["protocol"] == "MSNP11" and report["operations"] == 5


# --------------------------------------------------------------------------- refusals


def test_hold_reports_the_clients_refused_past_the_per_address_cap() -> None:
    with msgr.serve(users=ACCOUNTS, limits={"max_per_address": 8}) as capped:
        report = run(capped, "hold", clients=12, duration=0.1)
    assert report["ok"] is False
    assert report["hold"]["held"] == 8 and report["hold"]["refused"] == 4
    # msgr serve says nothing past a cap: it closes the new connection at once.
    assert report["refused"] == {"total": 4, "reasons": {"closed by the server after VER, no reply": 4}}


def test_a_wrong_password_is_refused_with_the_servers_line(server: msgr.ServerHandle) -> None:
    host, port = server.address
    with pytest.raises(RuntimeError) as info:
        msgr.load.run("signin", host, port, accounts="load{i}@example.com:wrong", **TINY)
    message = str(info.value)
    assert "`USR 4 MD5 S ***`" in message and "911" in message and "authentication failed" in message
    assert "wrong" not in message  # the password is not repeated


def test_a_host_that_is_not_loopback_is_refused() -> None:
    with pytest.raises(ValueError, match="not a loopback address.*--allow-remote"):
        msgr.load.run("rtt", "192.0.2.1", 1863)


def test_bad_options_are_refused_before_connecting() -> None:
    for options, named in [
        ({"accounts": "fixed@example.com:pw"}, "{i}"),
        ({"protocol": "MSNP11"}, "--nexus"),
        ({"protocol": "MSNP99"}, "--protocol"),
    ]:
        with pytest.raises(ValueError, match=named):
            msgr.load.run("rtt", "127.0.0.1", 1863, **options)
    with pytest.raises(ValueError, match="--clients"):
        msgr.load.run("hold", "127.0.0.1", 1863, count=3)


# --------------------------------------------------------------------------- the command line


def load_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "msgr", "load", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)


def test_python_m_msgr_load_prints_json_and_text(server: msgr.ServerHandle) -> None:
    port = str(server.address[1])
    done = load_cli("rtt", "--port", port, "--count", "10", "--warmup", "0", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["operations"] == 10 and report["server"] is None
    done = load_cli("signin", "--port", port, "--duration", "0.2", "--warmup", "0", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"msgr load signin: 127.0.0.1:{port} (MSNP7)")
    assert "result       ok" in done.stdout


def test_the_command_line_exits_non_zero_on_refusals(server: msgr.ServerHandle) -> None:
    port = str(server.address[1])
    remote = load_cli("rtt", "--host", "192.0.2.1", "--port", port)
    assert remote.returncode == 2 and "--allow-remote" in remote.stderr
    wrong = load_cli("signin", "--port", port, "--accounts", "load{i}@example.com:nope")
    assert wrong.returncode == 1 and "911" in wrong.stderr and remote.stdout == wrong.stdout == ""


def test_against_msgr_serve_with_a_users_file(tmp_path: Path) -> None:
    """The README's recipe: accounts from a file, the per-address cap lifted."""
    users = tmp_path / "users.txt"
    users.write_text("".join(f"load{i}@example.com:pw\n" for i in range(4)))
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--users-file", str(users), "--limit", "max_per_address=1000"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        lines = pipe_lines(proc.stdout)
        port = pipe_until(lines, "msgr: serving MSNP on ").rsplit(":", 1)[1]
        done = load_cli("relay", "--port", port, "--pairs", "2", "--duration", "0.3", "--warmup", "0.05",
                        "--server-pid", str(proc.pid), "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["ok"] is True and report["checks"]["in_order"] is True
        assert report["server"]["pid"] == proc.pid and report["server"]["rss_kb_after"] > 0
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=WAIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
