"""The pytest plugin: a conformance test of a documented behaviour in five lines."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import msgr
from msgr.eventlog import EventLog
from msgr.testing import TEST_GUID, make_pair


def run_pytest(tmp_path: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_conformance.py"
    test.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_fixtures_come_with_pip_install(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        """
        import msgr, pytest

        def test_invited_self(msgr_pair):
            session = msgr_pair.alice_manager.create_session()
            session.application = msgr_pair.guid
            with pytest.raises(msgr.InvitedSelfError):
                session.invite("alice@example.com")

        def test_log(msgr_pair, msgr_event_log):
            msgr_pair.bob_manager.on_invitation = lambda s, d: s.decline("no")
            session = msgr_pair.alice_manager.create_session()
            session.application = msgr_pair.guid
            session.invite("bob@example.com")
            assert "OnDeclined" in msgr_event_log.names()
        """,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_external_server_option_is_validated(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        """
        def test_server(msgr_server):
            assert msgr_server
        """,
        "--msgr-server",
        "nonsense",
    )
    assert run.returncode != 0
    assert "HOST:PORT" in run.stdout + run.stderr


def test_external_server_address_is_passed_through(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        """
        def test_server(msgr_server):
            assert msgr_server == ("127.0.0.1", 1863)
        """,
        "--msgr-server",
        "127.0.0.1:1863",
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_make_pair_is_ready() -> None:
    pair = make_pair()
    assert pair.alice.signed_in and pair.bob.signed_in
    assert pair.alice_manager.status == msgr.LockStatus.UNLOCKED
    assert [g for g, *_ in pair.bob_manager.registered_applications] == [TEST_GUID]


def test_event_log_records_in_order_and_filters() -> None:
    pair = make_pair()
    with EventLog(pair.alice) as log:
        session = pair.alice_manager.create_session()
        session.application = pair.guid
        pair.bob_manager.on_invitation = lambda s, d: s.accept()
        session.invite("bob@example.com", "x")
    assert log.names() == ["OnStateChanged", "OnStateChanged", "OnAccepted", "OnStateChanged"]
    assert [e.args for e in log.filter("on_accepted")] == [(None,)]
    assert all(e.source is session for e in log)
    records = log.to_records()
    assert records[0]["event"] == "OnStateChanged" and records[0]["source"] == "MsgrSession[alice@example.com]"
    session.send_context_data("after detach")
    assert len(log) == 4
    html = log._repr_html_()
    assert html.count("<tr>") == 5 and "OnAccepted" in html


def test_local_server_fixture_speaks_msnp(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        """
        import msgr, pytest

        def test_server(msgr_server):
            host, port = msgr_server
            assert host == "127.0.0.1" and port > 0
            with pytest.raises(msgr.AuthenticationFailedError):
                msgr.connect(msgr_server, "nobody@example.com", "pw", timeout=10)
        """,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_kit_docstring_examples_run() -> None:
    import doctest

    import msgr.testing.callbacks

    result = doctest.testmod(msgr.testing.callbacks)
    assert result.attempted >= 5 and result.failed == 0
