"""``msgr load`` against ``msgr serve``: each mode run tiny over MSNP7 and through the
Passport nexus, its report read field by field; the checks catching a faulty link that
drops, changes, reorders or repeats a relayed message; refusals counted by the reason
the server gave; bad options; the command line's exit codes, JSON and Ctrl-C.

The load generator runs in Rust with the GIL released, so the server here is mostly
``msgr.serve`` in this process and ``--server-pid`` is our own pid. No assertion is
about time: only counts, checks and what the errors say.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy
from scripted_server import Line, ScriptedServer, refusing_address

import msgr
import msgr.load
from conftest import pipe_lines, pipe_until, reap, quit_serve

WAIT = 30.0
#: Enough accounts for every mode below (relay pair p uses 2p and 2p+1).
ACCOUNTS = [(f"load{i}@example.com", "pw") for i in range(30)]
#: Tiny runs: a short warm-up, then 0.3 s measured.
TINY: dict[str, Any] = {"duration": 0.3, "warmup": 0.05}
LATENCY_FIELDS = {"count", "min", "mean", "p50", "p90", "p99", "p999", "max"}
REPORT_FIELDS = {
    "mode", "ok", "interrupted", "failures", "target", "protocol", "settings", "elapsed_s", "operations", "unit",
    "rate_per_s", "latency_us", "checks", "hold", "refused", "dropped", "server", "client",
}  # fmt: skip
CHECK_FIELDS = {
    "sent", "received", "lost", "out_of_order", "duplicated", "corrupt", "complete", "in_order", "intact", "failed",
}  # fmt: skip
HOLD_FIELDS = {
    "requested", "signed_in", "dropped", "held", "refused", "source_addresses", "ramp_s", "rss_kb_per_client",
    "rss_kb_after_close",
}  # fmt: skip
PROC_FIELDS = {"cpu_us", "cpu_us_per_op", "rss_kb_before", "rss_kb_after"}
UNITS = {"relay": "messages", "rtt": "round trips", "signin": "sign-ins", "hold": "clients"}


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    # Every run here comes from one address; the other limits (xfr, cal, rings) are
    # far above what a tiny run does.
    with msgr.serve(users=ACCOUNTS, limits={"max_per_address": 1000}) as handle:
        yield handle


def until(predicate: Callable[[], bool], what: str) -> None:
    """Waits, bounded, until ``predicate()`` holds."""
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.01)


def run(server: msgr.ServerHandle, mode: str, **options: Any) -> dict[str, Any]:
    host, port = server.address
    return msgr.load.run(mode, host, port, **{**TINY, "server_pid": os.getpid(), **options})


def check_report(report: dict[str, Any], mode: str, protocol: str = "MSNP7") -> None:
    """What every passing report holds, whatever the mode."""
    assert set(report) == REPORT_FIELDS
    assert report["mode"] == mode and report["unit"] == UNITS[mode] and report["protocol"] == protocol
    assert report["ok"] is True, report["failures"]
    assert report["failures"] == [] and report["interrupted"] is False
    assert report["operations"] > 0
    assert report["refused"] == report["dropped"] == {"total": 0, "reasons": {}}
    latency = report["latency_us"]
    assert set(latency) == LATENCY_FIELDS
    assert 0 <= latency["min"] <= latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["p999"] <= latency["max"]
    assert latency["min"] <= latency["mean"] <= latency["max"]
    assert set(report["client"]) == PROC_FIELDS
    server = report["server"]
    if server is not None:
        assert set(server) == PROC_FIELDS | {"pid"}
        assert server["pid"] == os.getpid() and server["rss_kb_before"] > 0 and server["rss_kb_after"] > 0
        assert server["cpu_us_per_op"] == pytest.approx(server["cpu_us"] / report["operations"], abs=0.05)
    assert report["settings"]["accounts"] == "load{i}@example.com:***"  # the password is not repeated
    if mode == "hold":
        assert report["checks"] is None and report["rate_per_s"] is None
        assert set(report["hold"]) == HOLD_FIELDS
    else:
        assert report["hold"] is None
        assert report["latency_us"]["count"] == report["operations"]
        assert report["rate_per_s"] == pytest.approx(report["operations"] / report["elapsed_s"], rel=0.01)


def check_delivery(report: dict[str, Any]) -> None:
    checks = report["checks"]
    assert set(checks) == CHECK_FIELDS
    assert checks["complete"] is checks["in_order"] is checks["intact"] is True and checks["failed"] == []
    assert checks["sent"] == checks["received"] >= report["operations"]
    assert checks["lost"] == checks["out_of_order"] == checks["duplicated"] == checks["corrupt"] == 0


# --------------------------------------------------------------------------- the modes


def test_relay_two_pairs(server: msgr.ServerHandle) -> None:
    report = run(server, "relay", pairs=2, window=16)
    check_report(report, "relay")
    check_delivery(report)
    assert report["settings"] == {
        "accounts": "load{i}@example.com:***", "first_account": 0,
        "pairs": 2, "window": 16, "payload_bytes": 332, "duration_s": 0.3, "warmup_s": 0.05,
    }  # fmt: skip
    # The measured stretch runs until the senders see the deadline, so never less.
    assert report["elapsed_s"] >= 0.3


def test_rtt(server: msgr.ServerHandle) -> None:
    report = run(server, "rtt")
    check_report(report, "rtt")
    check_delivery(report)


@pytest.mark.parametrize("mode", ["relay", "rtt", "signin"])
def test_a_count_bounds_a_run(server: msgr.ServerHandle, mode: str) -> None:
    report = run(server, mode, duration=None, warmup=0, count=12, concurrency=3)
    check_report(report, mode)
    assert report["operations"] == 12 and report["settings"]["count"] == 12
    assert "duration_s" not in report["settings"]
    if mode != "signin":
        assert report["checks"]["sent"] == report["checks"]["received"] == 12


def test_signin(server: msgr.ServerHandle) -> None:
    report = run(server, "signin", concurrency=3)
    check_report(report, "signin")
    assert report["checks"] is None
    assert report["settings"]["concurrency"] == 3


def test_hold_twenty(server: msgr.ServerHandle) -> None:
    report = run(server, "hold", clients=20, duration=0.2)
    check_report(report, "hold")
    hold = report["hold"]
    assert hold["requested"] == hold["signed_in"] == hold["held"] == report["operations"] == 20
    assert hold["dropped"] == hold["refused"] == 0
    assert hold["source_addresses"] == 1
    assert hold["rss_kb_after_close"] > 0
    server_figures = report["server"]
    per_client = (server_figures["rss_kb_after"] - server_figures["rss_kb_before"]) / 20
    assert hold["rss_kb_per_client"] == pytest.approx(per_client, abs=0.05)
    assert report["latency_us"]["count"] == 20  # one sign-in each
    # Everyone said OUT.
    until(lambda: not any(server.is_online(f"load{i}@example.com") for i in range(20)), "everyone gone")


def test_first_account_moves_every_mode_to_other_accounts(server: msgr.ServerHandle) -> None:
    report = run(server, "relay", first_account=20, duration=None, warmup=0, count=5)
    assert report["ok"] is True and report["settings"]["first_account"] == 20
    host, port = server.address
    with pytest.raises(RuntimeError, match="load30@example.com.*911"):
        msgr.load.run("signin", host, port, first_account=29, concurrency=2, count=50)


@pytest.mark.parametrize("protocol", ["MSNP8", "MSNP12"])
@pytest.mark.parametrize("mode", ["relay", "rtt", "signin", "hold"])
def test_passport_dialects_sign_in_through_the_nexus(server: msgr.ServerHandle, mode: str, protocol: str) -> None:
    bound: dict[str, Any] = {"clients": 3, "duration": 0.1} if mode == "hold" else {"count": 4, "duration": None}
    # Without --server-pid, hold does not wait for the server to settle after the run.
    options = {"protocol": protocol, "nexus": server.nexus_url, "warmup": 0, "concurrency": 2, "server_pid": None}
    report = run(server, mode, **options, **bound)
    check_report(report, mode, protocol)
    if mode in ("relay", "rtt"):
        check_delivery(report)


# --------------------------------------------------------------------------- faulty links


class Fault:
    """A faulty link's ``tamper``: the ``nth`` server-to-client message carrying
    ``marker`` is dropped, changed (one byte), held back behind the next one, or sent
    twice; everything else goes through untouched."""

    def __init__(self, kind: str, nth: int, marker: bytes) -> None:
        self.kind, self.nth, self.marker = kind, nth, marker
        self.seen = 0
        self.held: bytes | None = None

    def __call__(self, direction: str, line: str, whole: bytes) -> list[bytes]:
        if direction != "S->C" or not line.startswith("MSG ") or self.marker not in whole:
            return [whole]
        self.seen += 1
        if self.held is not None:
            held, self.held = self.held, None
            return [whole, held]
        if self.seen != self.nth:
            return [whole]
        if self.kind == "drop":
            return []
        if self.kind == "corrupt":
            # The last byte before the payload's final CR LF: the length stays right.
            at = len(whole) - 3
            return [whole[:at] + bytes([whole[at] ^ 0x01]) + whole[at + 1 :]]
        if self.kind == "reorder":
            self.held = whole
            return []
        return [whole, whole]


#: A relayed invitation (the load generator stamps each with its send time).
INVITATION = b"X-Load-Sent"
#: rtt's answer.
ACCEPT = b"Invitation-Command: ACCEPT"


def faulty_run(server: msgr.ServerHandle, fault: Fault, mode: str, **options: Any) -> dict[str, Any]:
    with FaultProxy(server.address, tamper=fault) as link:
        host, port = link.address
        report = msgr.load.run(mode, host, port, warmup=0, timeout=1.0, **options)
    assert fault.seen >= fault.nth, "the fault never struck"
    assert report["ok"] is False and report["interrupted"] is False
    return report


@pytest.mark.parametrize(
    ("kind", "failed", "counts"),
    [
        ("drop", ["loss"], {"lost": 1, "received": 29}),
        ("corrupt", ["bytes"], {"corrupt": 1, "received": 30}),
        ("reorder", ["order"], {"out_of_order": 1, "received": 30}),
        ("duplicate", ["order"], {"duplicated": 1, "received": 31}),
    ],
)
def test_relay_catches_a_faulty_link(server: msgr.ServerHandle, kind: str, failed: list[str], counts: dict[str, int]) -> None:
    report = faulty_run(server, Fault(kind, 10, INVITATION), "relay", count=30, window=4)
    checks = report["checks"]
    assert checks["failed"] == failed
    zero = {"lost": 0, "out_of_order": 0, "duplicated": 0, "corrupt": 0}
    assert {k: checks[k] for k in [*zero, "sent", "received"]} == {**zero, "sent": 30, **counts}
    assert report["failures"], "a failure line says what happened"
    text = " / ".join(report["failures"])
    expected = {
        "drop": "message 10 arrived when 9 was due",
        "corrupt": "message 9 arrived changed",
        "reorder": "message 9 arrived after later ones",
        "duplicate": "message 9 arrived again",
    }[kind]
    assert expected in text, text
    if kind == "drop":
        assert "1 of its 30 messages outstanding" in text, text


def test_rtt_catches_a_lost_answer(server: msgr.ServerHandle) -> None:
    report = faulty_run(server, Fault("drop", 3, ACCEPT), "rtt", count=10)
    checks = report["checks"]
    assert checks["failed"] == ["loss"] and checks["lost"] == 1
    # The run stops at the round trip whose answer never came.
    assert checks["sent"] == 3 and checks["received"] == 2
    assert report["failures"] == ["no answer to invitation 2 within 1 s"]


@pytest.mark.parametrize("marker", [INVITATION, ACCEPT], ids=["invitation", "answer"])
def test_rtt_catches_a_changed_byte_either_way(server: msgr.ServerHandle, marker: bytes) -> None:
    report = faulty_run(server, Fault("corrupt", 3, marker), "rtt", count=10)
    checks = report["checks"]
    assert checks["failed"] == ["bytes"] and checks["corrupt"] == 1
    assert checks["sent"] == checks["received"] == 10 and checks["lost"] == 0
    side = "invitation 2 reached B changed" if marker == INVITATION else "the answer to invitation 2 arrived changed"
    assert report["failures"] == [side]


# --------------------------------------------------------------------------- refusals


def test_hold_counts_refusals_and_drops_by_the_servers_reason() -> None:
    """Of nine clients, three get 911 to their password, three 600 (busy) to their
    sign-in, and one of the three let in is told OUT OTH at once."""

    def usr(line: Line) -> list[str]:
        index = int(line.account.split("@")[0].removeprefix("load"))
        if line.switchboard:
            return []
        if index % 3 == 1 and line.args[2] == "S":
            return [f"911 {line.trid}"]
        if index % 3 == 2:
            return [f"600 {line.trid}"]
        if line.args[2] == "S":
            return [f"USR {line.trid} OK {line.account} {line.account}"]
        return [f"USR {line.trid} MD5 S 1013928519.693957190"]

    def chg(line: Line) -> list[str]:
        return [f"CHG {line.trid} {line.args[1]}", *(["OUT OTH"] if line.account == "load0@example.com" else [])]

    with ScriptedServer({"USR": usr, "CHG": chg}) as fake:
        host, port = fake.address
        report = msgr.load.run("hold", host, port, clients=9, duration=0.2)
    assert report["ok"] is False
    hold = report["hold"]
    assert (hold["requested"], hold["signed_in"], hold["held"], hold["dropped"], hold["refused"]) == (9, 3, 2, 1, 6)
    assert report["operations"] == 2
    assert report["refused"] == {
        "total": 6,
        "reasons": {"600 (server busy) to USR MD5 I": 3, "911 (authentication failed) to USR MD5 S": 3},
    }
    assert report["dropped"] == {"total": 1, "reasons": {"`OUT OTH` and closed, after idle": 1}}


def test_hold_counts_the_clients_refused_past_the_per_address_cap() -> None:
    with msgr.serve(users=ACCOUNTS, limits={"max_per_address": 8}) as capped:
        report = run(capped, "hold", clients=12, duration=0.1, server_pid=None)
    assert report["ok"] is False
    assert report["hold"]["held"] == 8 and report["hold"]["refused"] == 4
    # Past a cap msgr serve answers `600 0` (server busy) and closes the connection.
    assert report["refused"] == {"total": 4, "reasons": {"600 (server busy) to VER": 4}}


def test_a_wrong_password_is_refused_with_the_servers_line(server: msgr.ServerHandle) -> None:
    host, port = server.address
    with pytest.raises(RuntimeError) as info:
        msgr.load.run("signin", host, port, accounts="load{i}@example.com:wrong", concurrency=1, **TINY)
    message = str(info.value)
    assert "`USR 4 MD5 S ***`" in message and "`911 4`" in message and "authentication failed" in message
    assert "wrong" not in message  # the password is not repeated


def test_a_wrong_passport_password_is_refused_with_the_logins_answer(server: msgr.ServerHandle) -> None:
    host, port = server.address
    with pytest.raises(RuntimeError, match="load0@example.com: the Passport login failed"):
        msgr.load.run(
            "signin", host, port, accounts="load{i}@example.com:wrong", concurrency=1, protocol="MSNP8", nexus=server.nexus_url
        )


def test_a_server_that_is_not_there_is_the_systems_error() -> None:
    host, port = refusing_address()
    with pytest.raises(RuntimeError, match=rf"cannot connect to {host}:{port}: .*(refused|os error)"):
        msgr.load.run("rtt", host, port)


def test_a_host_that_is_not_loopback_is_refused() -> None:
    with pytest.raises(ValueError, match="not a loopback address.*--allow-remote"):
        msgr.load.run("rtt", "192.0.2.1", 1863)


@pytest.mark.parametrize(
    ("mode", "options", "named"),
    [
        ("rtt", {"accounts": "fixed@example.com:pw"}, "{i}"),
        ("rtt", {"protocol": "MSNP11"}, "--nexus"),
        ("rtt", {"protocol": "MSNP99"}, "--protocol"),
        ("hold", {"count": 3}, "--clients"),
        ("flood", {}, "the modes are relay, rtt, signin and hold"),
        ("rtt", {"port": 70000}, "--port must be a whole number from 1 to 65535, not 70000"),
        ("rtt", {"port": 0}, "--port"),
        ("relay", {"pairs": -1}, "--pairs must be a whole number from 1"),
        ("relay", {"window": 2**80}, "--window must be a whole number from 1 to 1000000"),
        ("rtt", {"count": 0}, "--count"),
        ("rtt", {"duration": -1.0}, "--duration must be a number of seconds"),
        ("rtt", {"timeout": 0.0}, "--timeout must be above 0"),
        ("rtt", {"threads": 0}, "--threads"),
        ("rtt", {"first_account": -5}, "--first-account"),
        ("rtt", {"server_pid": 2**31 - 1}, "--server-pid 2147483647: cannot read /proc"),
        ("rtt", {"server_pid": os.getpid()}, "has no socket listening on port 1863, so it is not the server"),
    ],
)
def test_bad_options_are_value_errors_naming_the_option(mode: str, options: dict[str, Any], named: str) -> None:
    options = {"port": 1863, **options}
    with pytest.raises(ValueError) as info:
        msgr.load.run(mode, "127.0.0.1", **options)
    assert named in str(info.value)


# --------------------------------------------------------------------------- the command line


def load_cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "msgr", "load", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT)


def test_python_m_msgr_load_prints_json_and_text(server: msgr.ServerHandle) -> None:
    port = str(server.address[1])
    done = load_cli("rtt", "--port", port, "--count", "10", "--warmup", "0", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == REPORT_FIELDS
    assert report["ok"] is True and report["operations"] == 10 and report["server"] is None
    done = load_cli("signin", "--port", port, "--duration", "0.2", "--warmup", "0", "--concurrency", "2")
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith(f"msgr load signin: 127.0.0.1:{port} (MSNP7), accounts load{{i}}@example.com:***")
    assert any(line.startswith("  sign-ins ") for line in rest) and "  latency µs   p50 " in done.stdout
    assert rest[-1] == "  result       ok"


def test_the_command_line_exits_1_on_refusals_and_2_on_bad_options(server: msgr.ServerHandle) -> None:
    port = str(server.address[1])
    for args, named in [
        (["rtt", "--host", "192.0.2.1", "--port", port], "--allow-remote"),
        (["rtt", "--port", "70000"], "--port must be a whole number"),
        (["relay", "--port", port, "--pairs", "0"], "--pairs: expected a number above 0"),
        (["rtt", "--port", port, "--accounts", "nobody"], "EMAIL:PASSWORD"),
    ]:
        bad = load_cli(*args)
        assert bad.returncode == 2 and named in bad.stderr and bad.stdout == "", (args, bad.stderr)
    wrong = load_cli("signin", "--port", port, "--accounts", "load{i}@example.com:nope", "--concurrency", "1")
    assert wrong.returncode == 1 and "911" in wrong.stderr and wrong.stdout == ""
    host, closed = refusing_address()
    absent = load_cli("rtt", "--port", str(closed))
    assert absent.returncode == 1 and f"msgr load: cannot connect to {host}:{closed}" in absent.stderr


def test_a_failed_check_exits_1_with_the_report(server: msgr.ServerHandle) -> None:
    with FaultProxy(server.address, tamper=Fault("duplicate", 2, INVITATION)) as link:
        done = load_cli("relay", "--port", str(link.address[1]), "--count", "5", "--warmup", "0")
    assert done.returncode == 1, done.stderr
    assert "1 duplicated, 0 corrupt: FAILED order" in done.stdout
    assert done.stdout.rstrip().endswith("result       FAILED")


def test_ctrl_c_ends_the_run_with_a_report(server: msgr.ServerHandle) -> None:
    port = str(server.address[1])
    # Accounts no other test here uses: their being online means this run is under way.
    args = ["rtt", "--port", port, "--first-account", "26", "--duration", "600", "--warmup", "0", "--json"]
    proc = subprocess.Popen([sys.executable, "-m", "msgr", "load", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        until(lambda: server.is_online("load26@example.com") and server.is_online("load27@example.com"), "the run")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        reap(proc, WAIT)
    assert proc.returncode == 130, err
    report = json.loads(out)
    assert report["interrupted"] is True and report["ok"] is False
    assert report["checks"]["failed"] == [] and report["failures"] == []
    assert report["settings"]["duration_s"] == 600


def test_against_msgr_serve_with_a_users_file(tmp_path: Path) -> None:
    """The documented recipe: accounts from a file, the per-address cap lifted, the
    server's pid given."""
    users = tmp_path / "users.txt"
    users.write_text("".join(f"load{i}@example.com:pw\n" for i in range(4)))
    cmd = [sys.executable, "-m", "msgr", "serve", "--port", "0", "--users-file", str(users), "--limit", "max_per_address=1000"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        lines = pipe_lines(proc.stdout)
        port = pipe_until(lines, "msgr: serving MSNP on ").rsplit(":", 1)[1]
        nexus = pipe_until(lines, "msgr: Passport nexus at ").rsplit(" ", 1)[1]
        done = load_cli("relay", "--port", port, "--pairs", "2", "--duration", "0.3", "--warmup", "0.05",
                        "--server-pid", str(proc.pid), "--json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["ok"] is True and report["checks"]["failed"] == []
        assert report["server"]["pid"] == proc.pid and report["server"]["rss_kb_after"] > 0
        done = load_cli("hold", "--port", port, "--clients", "4", "--duration", "0.1", "--protocol", "MSNP11",
                        "--nexus", nexus, "--json", "-q")  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["hold"]["held"] == 4 and report["protocol"] == "MSNP11"
        quit_serve(proc, WAIT)
    finally:
        reap(proc, WAIT)
