"""The conformance suite (``pytest --pyargs msgr.conformance``) run as a server author
runs it, in a subprocess from another directory: against ``msgr serve`` (the command,
started on free ports) in every dialect it passes; against a server whose replies a proxy alters it fails, and the
report shows the lines exchanged; without a server it stops with a usage error."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import msgr
from msgr.conformance.features import FEATURES
from msgr.testing.wire import Command, Decoder

DIALECTS = ["MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"]
USERS = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b"), ("carol@example.com", "pw-c")]
LICENSE = ("conformance@msnmsgr.com", "CONFORMANCEKEY1")
#: The suite signs in, opens switchboards and guesses passwords faster than a person;
#: msgr's abuse limits (docs/security.md) would refuse some of it.
LIMITS = [f"--limit={name}=10000/0.001" for name in ("xfr", "cal", "rings", "wrong_password_account", "wrong_password_address", "qry")]


@dataclass(frozen=True)
class Served:
    """A running `msgr serve`: its MSNP address and its nexus URL."""

    address: tuple[str, int]
    nexus_url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`msgr serve` as a server author would start it, on free ports, every dialect."""
    secrets = tmp_path_factory.mktemp("serve")
    users, licenses = secrets / "users.txt", secrets / "licenses.txt"
    users.write_text("".join(f"{e}:{p}\n" for e, p in USERS), encoding="utf-8")
    licenses.write_text(f"{LICENSE[0]}:{LICENSE[1]}\n", encoding="utf-8")
    args = ["--host", "127.0.0.1", "--port", "0", "--nexus-port", "0", "--no-stdin"]
    args += ["--users-file", str(users), "--licenses-file", str(licenses), *LIMITS]
    proc = subprocess.Popen([sys.executable, "-m", "msgr", "serve", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        serving = proc.stdout.readline().strip()
        nexus = proc.stdout.readline().strip()
        found = re.fullmatch(r"msgr: serving MSNP on 127\.0\.0\.1:(\d+)", serving)
        assert found and nexus.startswith("msgr: Passport nexus at http://"), (serving, nexus)
        yield Served(("127.0.0.1", int(found.group(1))), nexus.split(" at ", 1)[1])
    finally:
        proc.terminate()
        proc.wait(30)


README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def readme_sample() -> list[str]:
    """The report rows the README shows for msgr serve, and its summary line."""
    section = README.split("## Check your own server", 1)[1]
    found = re.search(r"^(msgr conformance of .*?)^```", section, re.S | re.M)
    assert found is not None, "the README shows no sample report"
    return [line for line in found.group(1).splitlines() if re.search(r"\d$", line) or line.startswith("msgr conformance of")]


def run_suite(cwd: Path, address: tuple[str, int] | None, *extra: str, nexus: str | None = None) -> subprocess.CompletedProcess[str]:
    """``pytest --pyargs msgr.conformance`` in a subprocess, from ``cwd``."""
    args = [sys.executable, "-m", "pytest", "--pyargs", "msgr.conformance", "-q", "-p", "no:cacheprovider"]
    if address is not None:
        args += ["--msgr-server", f"{address[0]}:{address[1]}"]
        args += [f"--msgr-user={email}:{password}" for email, password in USERS]
        args += [f"--msgr-license={LICENSE[0]}:{LICENSE[1]}"]
    if nexus is not None:
        args += ["--msgr-nexus", nexus]
    return subprocess.run([*args, *extra], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_msgr_serve_passes_in_every_dialect(server: Served, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    page = tmp_path / "report.html"
    done = run_suite(tmp_path, server.address, f"--msgr-report={report}", f"--msgr-report={page}", nexus=server.nexus_url)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "msgr conformance of 127.0.0.1:" in done.stdout and f"report written to {report}" in done.stdout
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    assert set(data) == {"server", "nexus", "dialects", "columns", "generated", "msgr_version", "summary", "features", "tests"}
    assert data["dialects"] == DIALECTS and data["columns"] == [*DIALECTS, "any"]
    assert data["nexus"] == server.nexus_url and data["msgr_version"] == msgr.__version__
    summary = data["summary"]
    assert summary["failed"] == 0 and summary["skipped"] == 0 and summary["passed"] == len(data["tests"]) > 300
    assert [f["feature"] for f in data["features"]] == [f.name for f in FEATURES]
    for row in data["features"]:
        assert set(row) == {"feature", "source", "cells", "checks"}
        assert set(row["cells"]) == set(data["columns"])
        assert set(row["cells"].values()) <= {"pass", None}, row
        assert row["source"].startswith(("msnp", "docs/"))
    for test in data["tests"]:
        assert set(test) == {"nodeid", "name", "feature", "source", "dialect", "outcome", "message", "duration", "exchanged"}
        assert test["dialect"] in (*DIALECTS, None) and test["outcome"] == "passed" and test["exchanged"] == []
    # The README's sample is what the run prints (but for the address).
    for line in readme_sample():
        assert re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1863", line) in re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1863", done.stdout), line
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<tr><th class='feature'>") == len(FEATURES)


class AlteringProxy:
    """A TCP proxy in front of a server that passes every command through msgr's codec
    and lets ``alter`` rewrite what the server sends (the server's own replies are
    otherwise forwarded byte for byte)."""

    def __init__(self, upstream: tuple[str, int], alter: Callable[[Command], Command]) -> None:
        self._upstream = upstream
        self._alter = alter
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, Decoder("S->C")), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, decoder: Decoder | None) -> None:
        try:
            while data := source.recv(65536):
                if decoder is not None:
                    data = b"".join(self._alter(c).encode() for c in decoder.feed(data))
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


def qng_without_seconds(command: Command) -> Command:
    """The fault: `QNG 60` loses its number, which MSNP9+ must send (msnp8-12.md §g)."""
    return Command("QNG") if command.name == "QNG" else command


def test_a_faulty_server_fails_with_the_lines_exchanged(server: Served, tmp_path: Path) -> None:
    proxy = AlteringProxy(server.address, qng_without_seconds)
    report = tmp_path / "faulty.json"
    try:
        done = run_suite(tmp_path, proxy.address, "--msgr-protocols=MSNP8,MSNP11", "-k", "png_is_answered", f"--msgr-report={report}", nexus=server.nexus_url)
    finally:
        proxy.close()
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["dialects"] == ["MSNP8", "MSNP11"]
    assert data["summary"] == {"passed": 1, "failed": 1, "skipped": 0}
    row = next(f for f in data["features"] if f["feature"] == "PNG/QNG")
    assert row["cells"] == {"MSNP8": "pass", "MSNP11": "fail"}
    failed = next(t for t in data["tests"] if t["outcome"] == "failed")
    assert failed["dialect"] == "MSNP11" and "MSNP11 answers QNG <seconds>, got 'QNG'" in failed["message"]
    lines = [(x["dir"], x["line"]) for x in failed["exchanged"]]
    assert ("C->S", "PNG") in lines and ("S->C", "QNG") in lines
    assert ("C->S", "USR 4 TWN S ***") in lines, "the ticket stays out of the report"
    # The terminal shows the table and, in pytest's own report, the same lines.
    assert "PNG/QNG" in done.stdout and "FAIL" in done.stdout and "S->C  QNG" in done.stdout


def test_without_a_server_the_suite_says_what_it_needs(tmp_path: Path) -> None:
    done = run_suite(tmp_path, None)
    assert done.returncode == 4
    assert "--msgr-server HOST:PORT --msgr-user" in done.stderr and "passed" not in done.stdout
