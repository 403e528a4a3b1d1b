"""The plugin's evidence: a failing test's report carries, for each msgr object it made
or used, the events delivered and the last wire lines, secrets masked; passing tests
carry none; ``--msgr-no-evidence`` and ``msgr_evidence = false`` turn it off."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import msgr
from msgr import _observe
from msgr.testing.evidence import MOST_OBJECTS, Evidence

#: The failing tests every run below is given.
FAILING = """
    import gc
    import msgr

    def test_pair_fails(msgr_pair):
        msgr_pair.alice_manager
        # Revealed by the test: the report masks all the same.
        msgr_pair.service.trace.reveal = True
        assert False, "pair"

    def test_own_service_fails():
        service = msgr.Service(seed=2)
        service.sign_in("carol@example.com")
        assert False, "own"

    def test_network_fails(msgr_network_pair):
        msgr_network_pair.unlock()
        assert False, "network"

    def test_many_services_fail():
        kept = [msgr.Service(seed=n) for n in range(10)]
        for n, service in enumerate(kept):
            service.sign_in(f"user{n}@example.com")
        assert False, "many"

    def test_passes(msgr_pair):
        msgr_pair.alice_manager

    def test_dropped_service_fails():
        msgr.Service(seed=3).sign_in("dan@example.com")
        gc.collect()
        assert False, "dropped"
"""


def run(tmp_path: Path, *args: str, ini: str = "") -> str:
    (tmp_path / "test_failing.py").write_text(textwrap.dedent(FAILING))
    if ini:
        (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "test_failing.py", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert "5 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    return done.stdout


def report_of(output: str, test: str) -> str:
    """The failure report of ``test`` (up to the next test's header)."""
    start = re.search(rf"^_+ {test} _+$", output, re.M)
    assert start is not None, output
    rest = output[start.end():]
    end = re.search(r"^(_+ \w+ _+|=+ .* =+)$", rest, re.M)
    return rest if end is None else rest[: end.start()]


def sections(report: str) -> list[str]:
    return re.findall(r"^-+ (msgr: .*?) -+$", report, re.M)


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> str:
    return run(tmp_path_factory.mktemp("evidence"))


def test_an_embedded_pair_shows_its_events_and_wire_lines_masked(default_run: str) -> None:
    report = report_of(default_run, "test_pair_fails")
    assert sections(report) == ["msgr: Service (alice@example.com, bob@example.com)"]
    assert "events (12):" in report
    assert "MsgrSessionManager[alice@example.com].OnLockStatusChanged(LockStatus.UNLOCKED)" in report
    assert "MsgrSessionManager[bob@example.com].OnAppRegistered('{6D2D0C1E-5A7F-4B3C-9E8D-7F6A5B4C3D2E}')" in report
    # The last 40 wire lines of the 54 (default msgr_evidence_lines), in order.
    assert "wire (the last 40 of 54 lines):" in report
    wire = re.findall(r"^\s+(\d+)\s+[\d.]+\s+\S+\s+(?:C->S|S->C) ", report, re.M)
    assert len(wire) == 40 and [int(s) for s in wire] == sorted(int(s) for s in wire)
    # The test revealed its trace; the report still hides the MD5 proof.
    assert "C->S USR 4 MD5 S ***" in report
    assert not re.search(r"C->S USR \d+ MD5 S [0-9a-f]{32}", report)


def test_a_service_the_test_made_itself_is_shown(default_run: str) -> None:
    report = report_of(default_run, "test_own_service_fails")
    assert sections(report) == ["msgr: Service (carol@example.com)"]
    assert "Messenger[carol@example.com].OnSignin()" in report
    assert "wire (23 lines):" in report
    assert "carol@example.com        C->S USR 4 MD5 S ***" in report


def test_a_network_pair_shows_the_server_and_both_connections(default_run: str) -> None:
    report = report_of(default_run, "test_network_fails")
    found = sections(report)
    assert len(found) == 3, found
    assert re.fullmatch(r"msgr: server 127\.0\.0\.1:\d+", found[0])
    assert re.fullmatch(r"msgr: connect\(alice@example\.com\) to 127\.0\.0\.1:\d+", found[1])
    assert re.fullmatch(r"msgr: connect\(bob@example\.com\) to 127\.0\.0\.1:\d+", found[2])
    assert "MsgrSessionManager[alice@example.com].OnLockStatusChanged(LockStatus.UNLOCKED)" in report
    assert "C->S USR 4 MD5 S ***" in report
    assert not re.search(r"USR \d+ MD5 S [0-9a-f]{32}", report)


def test_only_the_last_objects_are_kept(default_run: str) -> None:
    report = report_of(default_run, "test_many_services_fail")
    assert sections(report) == [f"msgr: Service (user{n}@example.com)" for n in range(10 - MOST_OBJECTS, 10)]


def test_an_object_already_collected_keeps_its_events(default_run: str) -> None:
    report = report_of(default_run, "test_dropped_service_fails")
    assert sections(report) == ["msgr: Service (dan@example.com)"]
    assert "Messenger[dan@example.com].OnSignin()" in report
    # The wire lines went with the service; the events were kept as text.
    assert "wire (" not in report


def test_a_passing_test_carries_no_evidence(default_run: str) -> None:
    # -rA shows each passing test's captured sections after "PASSES".
    passes = default_run[default_run.index("= PASSES =") : default_run.index("short test summary")]
    assert not re.search(r"^-+ msgr: .* -+$", passes, re.M), passes


@pytest.mark.parametrize(("args", "ini"), [(("--msgr-no-evidence",), ""), ((), "msgr_evidence = false\n")], ids=["option", "ini"])
def test_evidence_can_be_turned_off(tmp_path: Path, args: tuple[str, ...], ini: str) -> None:
    output = run(tmp_path, *args, ini=ini)
    assert "AssertionError: pair" in output
    assert not re.search(r"^-+ msgr: .* -+$", output, re.M), output


def test_the_number_of_wire_lines_is_a_setting(tmp_path: Path) -> None:
    report = report_of(run(tmp_path, ini="msgr_evidence_lines = 3\n"), "test_pair_fails")
    assert "wire (the last 3 of 54 lines):" in report
    assert len(re.findall(r"(?:C->S|S->C) ", report)) == 3


def test_a_malformed_line_count_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmsgr_evidence_lines = many\n")
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_x.py"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 4
    assert "msgr_evidence_lines wants a whole number of lines, 0 to 100000, not 'many'" in done.stderr


def test_evidence_holds_no_object_alive() -> None:
    """A connection or service the test dropped is collected as without the plugin."""
    import gc
    import weakref

    evidence = Evidence()
    service = msgr.Service(seed=1)
    evidence.observe(service)
    service.sign_in("erin@example.com")
    ref = weakref.ref(service)
    del service
    gc.collect()
    assert ref() is None
    assert [title for title, _ in evidence.sections()] == ["msgr: Service (erin@example.com)"]
    evidence.close()


def test_this_run_watches_what_each_test_makes(pytestconfig: pytest.Config) -> None:
    """Under the plugin every new Service reaches the running test's evidence (unless
    this run turned evidence off)."""
    assert len(_observe.observers) == (0 if pytestconfig.getoption("--msgr-no-evidence") else 1)
    seen: list[object] = []
    _observe.observers.append(seen.append)
    try:
        service = msgr.Service(seed=1)
    finally:
        _observe.observers.remove(seen.append)
    assert seen == [service]
