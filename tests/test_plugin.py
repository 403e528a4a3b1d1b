"""The pytest plugin: a conformance test of a documented behaviour in five lines, and
network fixtures that run the same tests against the local server or a remote one.

Each plugin behaviour is checked in a separate ``python -m pytest`` (bounded in time):
the options are read when pytest starts. ``test_plugin_network.py`` runs in the normal
run against the local server, and here against a ``python -m msgr serve`` on a free
127.0.0.1 port started for it.
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

import msgr
from msgr.eventlog import EventLog
from msgr.testing import (
    LOCAL_USERS,
    TEST_APP_ID,
    TEST_APP_KEY,
    TEST_GUID,
    NetworkPair,
    RemoteServerError,
    ServerUnderTest,
    format_address,
    make_pair,
)

from conftest import reap

pytest_plugins = ("pytester",)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NETWORK_MODULE = HERE / "test_plugin_network.py"
WAIT = 10.0
#: Seconds one inner pytest run may take.
RUN_LIMIT = 120


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


def test_kit_docstring_examples_run() -> None:
    import doctest

    import msgr.testing.callbacks

    result = doctest.testmod(msgr.testing.callbacks)
    assert result.attempted >= 5 and result.failed == 0


# =========================================================================== options


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--msgr-server", "nonsense"], "--msgr-server wants HOST:PORT, not 'nonsense': no port"),
        (["--msgr-server", "127.0.0.1:"], "the port must be a number in 1..65535"),
        (["--msgr-server", "127.0.0.1:0"], "the port must be a number in 1..65535, not '0'"),
        (["--msgr-server", "127.0.0.1:65536"], "the port must be a number in 1..65535"),
        (["--msgr-server", ":1863"], "--msgr-server wants HOST:PORT, not ':1863': no host"),
        (["--msgr-server", "::1:1863"], "an IPv6 address goes in brackets, as in [::1]:1863"),
        (["--msgr-server", "[::1]1863"], "an IPv6 address is written [ADDRESS]:PORT"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-user", "alice@example.com"], "--msgr-user wants EMAIL:PASSWORD, not 'alice@example.com': no ':'"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-user", "alice@example.com:"], "no password"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-user", ":pw"], "no email"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-user", "alice:pw"], "'alice' is not an email address"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-user", "a@example.com:x", "--msgr-user", "A@example.com:y"], "--msgr-user gives A@example.com twice"),
        (["--msgr-server", "127.0.0.1:1863", "--msgr-license", "KEYONLY"], "--msgr-license wants ID:KEY"),
        (["--msgr-user", "alice@example.com:pw"], "--msgr-user names an account of the server given with --msgr-server, and there is none"),
        (["--msgr-license", "a@msnmsgr.com:KEY"], "--msgr-license names the pair the --msgr-server server licenses"),
    ],
)
def test_a_malformed_option_is_a_usage_error_at_start_up(pytester: pytest.Pytester, args: list[str], message: str) -> None:
    pytester.makepyfile(
        """
        def test_one(): pass
        def test_two(msgr_server): pass
        """
    )
    run = pytester.runpytest_inprocess(*args)
    out = "\n".join(run.outlines + run.errlines)
    assert run.ret == pytest.ExitCode.USAGE_ERROR, out
    assert out.count(message) == 1, out
    assert "ERROR: " in out and "passed" not in out and "test_two" not in out


def test_a_usage_error_ends_a_real_run_with_status_4(tmp_path: Path) -> None:
    run = run_pytest(tmp_path, "def test_server(msgr_server): pass\n", "--msgr-server", "127.0.0.1:1863", "--msgr-user", "nocolon")
    out = run.stdout + run.stderr
    assert run.returncode == 4, out
    assert out.count("ERROR: --msgr-user wants EMAIL:PASSWORD, not 'nocolon': no ':'") == 1, out


def test_the_remote_address_and_accounts_come_from_the_options(tmp_path: Path) -> None:
    # Nothing connects: the fixtures only describe the server.
    run = run_pytest(
        tmp_path,
        """
        import pytest
        from msgr.testing import RemoteServerError, ServerUnderTest, TEST_APP_ID

        def test_server(msgr_server: ServerUnderTest) -> None:
            assert msgr_server.address == ("::1", 1863)
            assert msgr_server.remote and msgr_server.handle is None
            assert msgr_server.users == {"ann@example.com": "p:w:1", "ben@example.com": "pw2"}
            assert msgr_server.test_license == ("app@msnmsgr.com", "K:EY")
            assert "remote [::1]:1863 users=2" in repr(msgr_server)
            with pytest.raises(RemoteServerError) as info:
                msgr_server.add_user("carol@example.com", "pw")
            assert "cannot add the account carol@example.com on the remote server [::1]:1863" in str(info.value)
        """,
        "--msgr-server", " [::1]:1863",
        "--msgr-user", "ann@example.com:p:w:1",
        "--msgr-user", "ben@example.com:pw2",
        "--msgr-license", "app@msnmsgr.com:K:EY",
        "-v",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "msgr: network fixtures against [::1]:1863 (2 accounts)" in run.stdout


def test_every_fixture_has_a_docstring(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_nothing(): pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ours = run.stdout.split("fixtures defined from msgr.testing.plugin", 1)[1]
    blocks = dict(re.findall(r"^(msgr_\w+)(?: \[[^\]]*\])? -- [^\n]*\n((?:    [^\n]*\n)+)", ours, re.M))
    assert set(blocks) == {"msgr_service", "msgr_pair", "msgr_event_log", "msgr_server", "msgr_network_pair"}
    for name, doc in blocks.items():
        assert "no docstring" not in doc and len(doc.split()) >= 10, (name, doc)
    assert "--msgr-server HOST:PORT" in blocks["msgr_server"]
    assert "--msgr-user" in blocks["msgr_network_pair"]


# =========================================================================== the local server


def test_the_local_server_lives_for_the_run_and_connections_for_a_test(tmp_path: Path) -> None:
    run = run_pytest(
        tmp_path,
        """
        import msgr
        from msgr.testing import LOCAL_USERS, NetworkPair, ServerUnderTest

        seen = {}

        def test_first(msgr_server: ServerUnderTest, msgr_network_pair: NetworkPair) -> None:
            assert not msgr_server.remote
            assert msgr_server.address[0] == "127.0.0.1"
            assert list(msgr_server.users.items()) == list(LOCAL_USERS)
            assert (msgr_network_pair.alice_email, msgr_network_pair.bob_email) == ("alice@example.com", "bob@example.com")
            assert msgr_network_pair.alice_manager.status is msgr.LockStatus.UNLOCKED
            msgr_server.add_user("carol@example.com", "carol-pw", "Carol")
            seen["server"] = msgr_server
            seen["messengers"] = [msgr_network_pair.alice, msgr_network_pair.bob, msgr_server.connect("carol@example.com")]

        def test_second(msgr_server: ServerUnderTest) -> None:
            assert msgr_server is seen["server"]
            assert not any(m.signed_in for m in seen["messengers"])
            assert not any(msgr_server.handle.is_online(e) for e in ("alice@example.com", "bob@example.com", "carol@example.com"))
            # What the first test added is still there.
            assert msgr_server.users["carol@example.com"] == "carol-pw"
            assert msgr_server.connect("carol@example.com").friendly_name == "Carol"
            seen["handle"] = msgr_server.handle

        def test_nobody(msgr_server: ServerUnderTest) -> None:
            import pytest
            with pytest.raises(msgr.AuthenticationFailedError):
                msgr_server.connect("nobody@example.com", "pw")
        """,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_server_under_test_without_pytest() -> None:
    with ServerUnderTest.start() as server:
        handle = server.handle
        assert handle is not None and handle.running and not server.remote
        assert format_address(server.address) == f"127.0.0.1:{server.address[1]}"
        pair = server.pair()
        assert pair.alice.signed_in and pair.bob.signed_in
        with pytest.raises(ValueError, match="not an account"):
            server.connect("carol@example.com")
        server.disconnect()
        assert not pair.alice.signed_in and not handle.is_online(LOCAL_USERS[0][0])
        server.disconnect()  # idempotent
    assert not handle.running
    assert format_address(("::1", 1863)) == "[::1]:1863"


def test_a_remote_server_object_cannot_add_and_skips_without_accounts() -> None:
    with ServerUnderTest.start(users=[("ann@example.com", "pw")]) as local:
        remote = ServerUnderTest(local.address, {"ann@example.com": "pw"}, test_license=(TEST_APP_ID, "WRONG"))
        assert remote.remote and remote.handle is None and remote.users == {"ann@example.com": "pw"}
        with pytest.raises(RemoteServerError, match="cannot add the account x@example.com on the remote server .*--msgr-user"):
            remote.add_user("x@example.com", "pw")
        with pytest.raises(RemoteServerError, match="cannot license a on the remote server"):
            remote.license("a", "b")
        with pytest.raises(pytest.skip.Exception, match="two accounts are needed .* 1 given"):
            remote.pair()
        with pytest.raises(pytest.skip.Exception, match="no account to sign in with"):
            ServerUnderTest(local.address).connect()
        # Two accounts, but the server refuses the pair the object was told to use.
        local.add_user("ben@example.com", "pw")
        refused = ServerUnderTest(local.address, [("ann@example.com", "pw"), ("ben@example.com", "pw")], test_license=(TEST_APP_ID, "WRONG"))
        pair = refused.pair()
        assert isinstance(pair, NetworkPair)
        with pytest.raises(AssertionError, match="did not unlock a session manager with conformance@msnmsgr.com .*--msgr-license"):
            pair.unlock()
        with pytest.raises(pytest.skip.Exception, match="did not unlock"):
            pair.unlock(skip=True)
        refused.close()
        assert not pair.alice.signed_in
        assert local.handle is not None and local.handle.running  # a remote server is left alone


# =========================================================================== remote mode


def _lines(stream: IO[str]) -> tuple[queue.Queue[str], threading.Thread]:
    """The lines of a pipe, read on a daemon thread (returned) so reads can time out."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


#: The accounts of the served remote server: passwords with ':' on purpose.
REMOTE_USERS = (("ann@example.com", "ann:pass:1"), ("ben@example.com", "ben:pass:2"))


@pytest.fixture(scope="module")
def remote_server() -> Iterator[str]:
    """``python -m msgr serve`` on a free 127.0.0.1 port with ``REMOTE_USERS`` and the
    test licence; yields its printed ``HOST:PORT`` and stops it afterwards."""
    cmd = [sys.executable, "-m", "msgr", "serve", "--no-stdin", "--host", "127.0.0.1", "--port", "0", "--seed", "5"]
    for email, password in REMOTE_USERS:
        cmd += ["--user", f"{email}:{password}"]
    cmd += ["--license", f"{TEST_APP_ID}:{TEST_APP_KEY}"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines, reader = _lines(proc.stdout)
    try:
        first = lines.get(timeout=WAIT)
        prefix = "msgr: serving MSNP on "
        assert first.startswith(prefix), first
        yield first[len(prefix) :]
        proc.terminate()
        assert proc.wait(timeout=WAIT) == 0
    finally:
        reap(proc, WAIT)
        reader.join(timeout=WAIT)
        proc.stdout.close()


def run_network_module(*args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, int], list[str]]:
    """Runs ``test_plugin_network.py`` in its own pytest with ``args``; returns the run,
    the summary counts (``{"passed": 8, ...}``) and the reason of each skipped test."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(NETWORK_MODULE), *args],
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT,
        cwd=ROOT,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", summary)}
    skips = [reason for n, reason in re.findall(r"^SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", run.stdout, re.M) for _ in range(int(n))]
    return run, counts, skips


def remote_args(address: str, users: tuple[tuple[str, str], ...] = REMOTE_USERS) -> list[str]:
    args = ["--msgr-server", address]
    for email, password in users:
        args += ["--msgr-user", f"{email}:{password}"]
    return args


def test_the_network_module_passes_against_a_remote_server(remote_server: str) -> None:
    run, counts, skips = run_network_module(*remote_args(remote_server))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    # Everything ran but the one test that needs the local server.
    assert counts.get("passed", 0) >= 8 and counts.get("skipped") == 1, out
    assert [s.split(":")[0] for s in skips] == ["msgr_local"], out


def test_with_one_remote_account_the_pair_is_skipped_and_the_server_works(remote_server: str) -> None:
    run, counts, skips = run_network_module(*remote_args(remote_server, REMOTE_USERS[:1]))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert counts.get("passed", 0) >= 5 and "failed" not in counts, out
    pair_skips = [s for s in skips if s.startswith("two accounts are needed")]
    assert len(pair_skips) == counts["skipped"] - 1 >= 3, out
    assert f"two accounts are needed on {remote_server}, 1 given: pass --msgr-user EMAIL:PASSWORD twice" in pair_skips


def test_a_remote_server_that_refuses_the_licence_skips_what_needs_it(remote_server: str) -> None:
    run, counts, skips = run_network_module(*remote_args(remote_server), "--msgr-license", f"{TEST_APP_ID}:WRONGKEY")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    refused = [s for s in skips if s.startswith(f"the server at {remote_server} did not unlock")]
    assert len(refused) == 2 and counts["skipped"] == 3, out
