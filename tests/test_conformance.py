"""The conformance suite (``pytest --pyargs msgr.conformance``) run as a server author
runs it, in a subprocess from another directory:

* against ``msgr serve`` started as the README shows (its default limits): every case
  OK, in every dialect; the same report again on the reused database in a shuffled
  order; the JSON, HTML and JUnit reports, and the rerun command each case carries;
* against ``msgr serve`` behind a proxy that reproduces, one by one, the deviations on
  record for the third-party servers (``deviant_proxy.py``): each gets the grade the
  documentation promises, and nothing else changes;
* with bad usage (no server, a wrong password, no nexus): one message, exit status 4;
* ``python -m msgr conformance list`` and ``compare``.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import msgr
from deviant_proxy import DeviantProxy
from msgr.conformance.features import FEATURES, SUITE_REVISION

DIALECTS = ["MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"]
USERS = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b"), ("carol@example.com", "pw-c")]
LICENSE = ("conformance@msnmsgr.com", "CONFORMANCEKEY1")
GRADES = {"OK", "NON-STRICT", "INFORMATIONAL", "UNSUPPORTED", "SKIPPED", "RATE-LIMITED", "SETUP-FAILED", "FAILED"}


@dataclass(frozen=True)
class Served:
    """A running `msgr serve`: its MSNP address and its nexus URL."""

    address: tuple[str, int]
    nexus_url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`msgr serve` as the README starts it (files of users and licences, default
    limits), on free ports, every dialect, a fresh database."""
    secrets = tmp_path_factory.mktemp("serve")
    users, licenses = secrets / "users.txt", secrets / "licenses.txt"
    users.write_text("".join(f"{e}:{p}\n" for e, p in USERS), encoding="utf-8")
    licenses.write_text(f"{LICENSE[0]}:{LICENSE[1]}\n", encoding="utf-8")
    args = ["--host", "127.0.0.1", "--port", "0", "--nexus-port", "0", "--no-stdin", "--db", str(secrets / "msgr.sqlite")]
    args += ["--users-file", str(users), "--licenses-file", str(licenses)]
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


def run_suite(cwd: Path, address: tuple[str, int] | None, *extra: str, nexus: str | None = None, users: list[tuple[str, str]] = USERS) -> subprocess.CompletedProcess[str]:
    """``pytest --pyargs msgr.conformance`` in a subprocess, from ``cwd``."""
    args = [sys.executable, "-m", "pytest", "--pyargs", "msgr.conformance", "-q", "-p", "no:cacheprovider"]
    if address is not None:
        args += ["--msgr-server", f"{address[0]}:{address[1]}"]
        args += [f"--msgr-user={email}:{password}" for email, password in users]
        args += [f"--msgr-license={LICENSE[0]}:{LICENSE[1]}"]
    if nexus is not None:
        args += ["--msgr-nexus", nexus]
    return subprocess.run([*args, *extra], cwd=cwd, capture_output=True, text=True, timeout=300)


def report_of(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def grades(report: dict[str, Any]) -> dict[str, str]:
    """Case id -> grade."""
    return {c["case"]: c["grade"] for c in report["cases"]}


README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def readme_sample() -> list[str]:
    """The report rows the README shows for msgr serve, and its summary line."""
    section = README.split("## Check your own server", 1)[1]
    found = re.search(r"^(msgr conformance of .*?)^```", section, re.S | re.M)
    assert found is not None, "the README shows no sample report"
    return [line for line in found.group(1).splitlines() if re.search(r"\d$", line) or line.startswith("msgr conformance of")]


# =========================================================================== msgr serve


@pytest.fixture(scope="module")
def first_run(server: Served, tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The whole suite against the fresh server, every report format."""
    out = tmp_path_factory.mktemp("reports")
    done = run_suite(
        out, server.address, f"--msgr-report={out / 'report.json'}", f"--msgr-report={out / 'report.html'}", f"--msgr-report={out / 'report.xml'}", nexus=server.nexus_url
    )
    return done, out


def test_msgr_serve_passes_every_case_with_its_default_limits(first_run: tuple[subprocess.CompletedProcess[str], Path], server: Served) -> None:
    done, out = first_run
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    data = report_of(out / "report.json")
    assert set(data) == {"suite", "server", "nexus", "dialects", "accepted", "columns", "options", "generated", "duration", "summary", "features", "cases"}
    assert data["suite"] == {"name": "msgr.conformance", "msgr_version": msgr.__version__, "revision": SUITE_REVISION}
    assert data["dialects"] == DIALECTS == data["accepted"] and data["columns"] == [*DIALECTS, "any"]
    assert data["nexus"] == server.nexus_url
    not_ok = {c["case"]: (c["grade"], c["message"], c["notes"]) for c in data["cases"] if c["grade"] != "OK"}
    assert not_ok == {}, not_ok
    assert data["summary"]["OK"] == len(data["cases"]) > 330
    assert [f["feature"] for f in data["features"]] == [f.name for f in FEATURES]
    for case in data["cases"]:
        assert re.fullmatch(r"(msnp\d+|any)/(ns|sb|nexus)/[a-z0-9-]+/\d+", case["case"]), case["case"]
        assert case["rule"] and case["sources"] and case["title"] and case["wire"], case["case"]
        assert case["rerun"].endswith(f"--msgr-case {case['case']}") and "pw-a" not in case["rerun"]
        assert all(w["dir"] in ("C->S", "S->C", "--") for w in case["wire"])
    # Secrets stay out of every report: passwords, tickets, QRY answers.
    for name in ("report.json", "report.html", "report.xml"):
        text = (out / name).read_text(encoding="utf-8")
        assert "pw-a" not in text and "CONFORMANCEKEY1" not in text, name
        assert not re.search(r"USR \d+ TWN S t=", text), name


def test_the_readme_sample_is_what_the_run_prints(first_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, _ = first_run
    printed = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1863", done.stdout)
    for line in readme_sample():
        assert re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:1863", line) in printed, line


def test_the_html_and_junit_reports(first_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = first_run
    data = report_of(out / "report.json")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<tr><th class='feature'>") == len(FEATURES)
    # Every cell links to its cases, and every case has its details and wire log.
    for target in re.findall(r"href=\"#(cell-[^\"]+)\"", page):
        assert f"id='{target}'" in page, target
    assert page.count("<details class='case") == len(data["cases"])
    assert "NS#1 alice" in page and "&gt;&gt;&gt;" in page and "&lt;&lt;&lt;" in page
    suite = ET.parse(out / "report.xml").getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests", "0")) == len(data["cases"]) and suite.get("failures") == "0"
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == [c["case"] for c in data["cases"]]


def test_the_report_is_the_same_shuffled_and_on_the_reused_database(first_run: tuple[subprocess.CompletedProcess[str], Path], server: Served, tmp_path: Path) -> None:
    _, out = first_run
    done = run_suite(tmp_path, server.address, "--msgr-shuffle=20261207", f"--msgr-report={tmp_path / 'again.json'}", nexus=server.nexus_url)
    assert done.returncode == 0, done.stdout[-4000:]
    again = report_of(tmp_path / "again.json")
    assert again["options"]["shuffle"] == 20261207
    assert [c["case"] for c in again["cases"]] != [c["case"] for c in report_of(out / "report.json")["cases"]], "shuffled"
    assert grades(again) == grades(report_of(out / "report.json"))


def test_a_rerun_command_runs_just_its_case(first_run: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path) -> None:
    _, out = first_run
    case = next(c for c in report_of(out / "report.json")["cases"] if c["case"] == "msnp11/sb/ack/4")
    args = shlex.split(case["rerun"])
    assert args[:3] == ["pytest", "--pyargs", "msgr.conformance"]
    for name, secret in [*USERS, LICENSE]:
        args = [a.replace(f"{name}:***", f"{name}:{secret}") for a in args]
    done = subprocess.run([sys.executable, "-m", *args, "-p", "no:cacheprovider", f"--msgr-report={tmp_path / 'one.json'}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert grades(report_of(tmp_path / "one.json")) == {"msnp11/sb/ack/4": "OK"}


# =========================================================================== deviations on record


#: Each recorded deviation, the dialect it is checked in, and the grade (with the
#: connection's ending where one is graded) of every case it changes; all other cases
#: of the run stay OK.
ON_RECORD = {
    "ignore-unknown": ("MSNP11", {"msnp11/ns/bad/1": "NON-STRICT"}),
    "second-ver-again": ("MSNP8", {"msnp8/ns/ver/4": "NON-STRICT"}),
    "close-on-ack-s": ("MSNP11", {"msnp11/sb/ack/3": "NON-STRICT"}),
    "out-oth-open": ("MSNP9", {"msnp9/ns/out/2": "NON-STRICT left open"}),
    "911-open": ("MSNP10", {"msnp10/ns/usr/4": "NON-STRICT left open"}),
    "ack-all": ("MSNP12", {"msnp12/sb/ack/4": "NON-STRICT"}),
    "no-profile": ("MSNP11", {"msnp11/ns/profile/1": "FAILED"}),
    "inf-502": ("MSNP8", {}),
    # The suite makes A and B contacts first, as clients do; only the refusals change.
    "rings-only-contacts": ("MSNP12", {"msnp12/sb/call/3": "NON-STRICT"}),
    "rem-rl-n": ("MSNP10", {"msnp10/ns/lists/1": "NON-STRICT"}),
    "reencode-names": ("MSNP11", {"msnp11/ns/rename/1": "NON-STRICT"}),
    "delay-presence": ("MSNP9", {}),
    # Without groups every group case is UNSUPPORTED, none FAILED.
    "no-groups": ("MSNP11", {f"msnp11/ns/groups/{n}": "UNSUPPORTED" for n in (1, 2, 3)}),
}


@pytest.mark.parametrize("deviation", sorted(ON_RECORD))
def test_each_deviation_on_record_gets_its_documented_grade(deviation: str, server: Served, tmp_path: Path) -> None:
    dialect, expected = ON_RECORD[deviation]
    report = tmp_path / "report.json"
    with DeviantProxy(server.address, {deviation}) as proxy:
        done = run_suite(tmp_path, proxy.address, f"--msgr-protocols={dialect}", f"--msgr-report={report}", "--msgr-case=*/ns/*", "--msgr-case=*/sb/*", nexus=server.nexus_url)
    data = report_of(report)
    got = {}
    for c in data["cases"]:
        shown = c["grade"] + (f" {c['ending']['how']}" if c["ending"] and c["ending"]["grade"] != "OK" else "")
        if shown != "OK":
            got[c["case"]] = shown
    assert got == expected, (deviation, {k: (v, next(c["message"] or c["notes"] for c in data["cases"] if c["case"] == k)) for k, v in got.items()})
    assert done.returncode == (1 if any(g.startswith("FAILED") for g in expected.values()) else 0), done.stdout[-3000:]


def test_strict_turns_non_strict_into_failed(server: Served, tmp_path: Path) -> None:
    with DeviantProxy(server.address, {"ignore-unknown"}) as proxy:
        done = run_suite(tmp_path, proxy.address, "--msgr-strict", "--msgr-case=msnp11/ns/bad/1", f"--msgr-report={tmp_path / 'r.json'}", nexus=server.nexus_url)
    assert done.returncode == 1
    case = report_of(tmp_path / "r.json")["cases"][0]
    assert case["grade"] == "FAILED" and case["answer"] == "NON-STRICT" and "--msgr-strict" in case["message"]


def test_a_dialect_the_server_refuses_is_unsupported_or_failed_when_named(server: Served, tmp_path: Path) -> None:
    with DeviantProxy(server.address, {"refuse-msnp7"}) as proxy:
        done = run_suite(tmp_path, proxy.address, "--msgr-case=msnp7/*", "--msgr-case=msnp8/ns/ver/*", f"--msgr-report={tmp_path / 'all.json'}", nexus=server.nexus_url)
        assert done.returncode == 0, done.stdout[-3000:]
        data = report_of(tmp_path / "all.json")
        assert data["accepted"] == DIALECTS[1:] and data["dialects"] == DIALECTS
        assert {g for k, g in grades(data).items() if k.startswith("msnp7/")} == {"UNSUPPORTED"}
        assert grades(data)["msnp8/ns/ver/1"] == "OK"
        named = run_suite(tmp_path, proxy.address, "--msgr-protocols=MSNP7,MSNP8", "--msgr-case=msnp7/ns/*", f"--msgr-report={tmp_path / 'named.json'}", nexus=server.nexus_url)
    assert named.returncode == 1
    data = report_of(tmp_path / "named.json")
    assert grades(data)["msnp7/ns/ver/1"] == "FAILED"
    assert {g for k, g in grades(data).items() if k != "msnp7/ns/ver/1"} == {"UNSUPPORTED"}


def test_a_server_that_keeps_refusing_with_713_is_rate_limited_not_failed(server: Served, tmp_path: Path) -> None:
    with DeviantProxy(server.address, {"xfr-busy"}) as proxy:
        done = run_suite(tmp_path, proxy.address, "--msgr-case=msnp8/ns/xfr/1", "--msgr-case=msnp8/sb/msg/1", "--msgr-timeout=0.5", f"--msgr-report={tmp_path / 'r.json'}", nexus=server.nexus_url)
    assert done.returncode == 1
    data = report_of(tmp_path / "r.json")
    assert grades(data) == {"msnp8/ns/xfr/1": "RATE-LIMITED", "msnp8/sb/msg/1": "RATE-LIMITED"}
    assert all("713 (too active)" in c["message"] for c in data["cases"])
    assert "LIMIT" in done.stdout and "RATE-LIMITED:" in done.stdout


def test_declared_missing_features_are_unsupported(server: Served, tmp_path: Path) -> None:
    done = run_suite(tmp_path, server.address, "--msgr-without=lock-and-key", "--msgr-case=msnp8/ns/lock/*", f"--msgr-report={tmp_path / 'r.json'}", nexus=server.nexus_url)
    assert done.returncode == 0
    data = report_of(tmp_path / "r.json")
    assert set(grades(data).values()) == {"UNSUPPORTED"} and len(data["cases"]) == 3
    assert all("--msgr-without lock-and-key" in c["message"] for c in data["cases"])


def test_a_subset_of_dialects_never_crashes_the_report(server: Served, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    done = run_suite(tmp_path, server.address, "--msgr-protocols=MSNP7", "--msgr-case=*/ns/uux/*", "--msgr-case=msnp7/ns/png/*", f"--msgr-report={report}", f"--msgr-report={tmp_path / 'r.html'}", nexus=server.nexus_url)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    data = report_of(report)
    assert grades(data) == {"msnp7/ns/png/1": "OK"}
    assert "<table>" in (tmp_path / "r.html").read_text(encoding="utf-8")


# =========================================================================== usage


def test_without_a_server_the_suite_says_what_it_needs(tmp_path: Path) -> None:
    done = run_suite(tmp_path, None)
    assert done.returncode == 4
    assert "--msgr-server HOST:PORT --msgr-user" in done.stderr and "passed" not in done.stdout


def test_a_wrong_password_is_one_usage_error(server: Served, tmp_path: Path) -> None:
    users = [USERS[0], ("bob@example.com", "not-bobs"), USERS[2]]
    done = run_suite(tmp_path, server.address, nexus=server.nexus_url, users=users)
    assert done.returncode == 4
    assert "bob@example.com cannot sign in" in done.stderr and "--msgr-user" in done.stderr
    assert "passed" not in done.stdout and "failed" not in done.stdout


def test_the_nexus_is_needed_and_must_answer(server: Served, tmp_path: Path) -> None:
    missing = run_suite(tmp_path, server.address)
    assert missing.returncode == 4 and "--msgr-nexus" in missing.stderr
    unreachable = run_suite(tmp_path, server.address, nexus="http://127.0.0.1:9/rdr/pprdr.asp")
    assert unreachable.returncode == 4 and "cannot reach the Passport nexus" in unreachable.stderr
    only_md5 = run_suite(tmp_path, server.address, "--msgr-protocols=MSNP7", "--msgr-case=msnp7/ns/usr/1")
    assert only_md5.returncode == 0, only_md5.stdout[-2000:]


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    for option, why in (
        ("--msgr-timeout=0", "--msgr-timeout wants seconds"),
        ("--msgr-without=nonsense", "--msgr-without wants a feature key"),
        ("--msgr-shuffle=x", "--msgr-shuffle wants a seed"),
        ("--msgr-report=r.txt", "--msgr-report wants a path ending in .json, .html or .xml"),
    ):
        done = run_suite(tmp_path, ("127.0.0.1", 9), option)
        assert done.returncode == 4 and why in done.stderr, (option, done.stderr[-500:])


def test_the_cases_are_listed_without_a_server(tmp_path: Path) -> None:
    done = run_suite(tmp_path, None, "--msgr-list-cases")
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([sys.executable, "-m", "msgr", "conformance", "list"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    ids = re.findall(r"^([a-z]+/[a-z0-9-]+/\d+)  \[", listed.stdout, re.M)
    assert ids == re.findall(r"^([a-z]+/[a-z0-9-]+/\d+)  \[", done.stdout, re.M)
    assert len(ids) == len(set(ids)) > 60
    assert "ns/ver/4  [ver]" in listed.stdout and "rule: If you send a command at the wrong time" in listed.stdout
    # Sources a pip user can follow: public pages and repositories, not the project's notes.
    assert "source: hypothetic.org" in listed.stdout
    for private in ("msnp.md", "msnp8-12.md", "docs/protocol", "decisions.md"):
        assert private not in listed.stdout, private


def test_compare_lays_reports_side_by_side(first_run: tuple[subprocess.CompletedProcess[str], Path], server: Served, tmp_path: Path) -> None:
    _, out = first_run
    with DeviantProxy(server.address, {"ignore-unknown"}) as proxy:
        run_suite(tmp_path, proxy.address, f"--msgr-report={tmp_path / 'deviant.json'}", "--msgr-case=*/ns/bad/*", nexus=server.nexus_url)
    page = tmp_path / "side.html"
    done = subprocess.run(
        [sys.executable, "-m", "msgr", "conformance", "compare", str(out / "report.json"), str(tmp_path / "deviant.json"), "--name", "msgr", "--name", "deviant", "--html", str(page)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "[1] msgr:" in done.stdout and "[2] deviant:" in done.stdout
    row = next(line for line in done.stdout.splitlines() if line.startswith("bad input"))
    assert row.split()[2:4] == ["OK", "NONSTR"], row
    assert re.search(r"msnp11/ns/bad/1\s+OK\s+NONSTR", done.stdout)
    assert page.read_text(encoding="utf-8").count("<tr><th class='feature'>") >= len(FEATURES)
    bad = subprocess.run([sys.executable, "-m", "msgr", "conformance", "compare", str(out / "report.json")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "two reports" in bad.stderr
