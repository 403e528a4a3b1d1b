"""What a user sees first (issue 18): enums print as the API names them, and messages
name states and statuses as Python does, the COM name after in brackets."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import msgr
from msgr.testing import TEST_APP_ID, TEST_APP_KEY


@pytest.mark.parametrize(
    ("member", "shown"),
    [
        (msgr.LockStatus.UNLOCKED, "LockStatus.UNLOCKED"),
        (msgr.SessionState.READY, "SessionState.READY"),
        (msgr.HResult.E_FAIL, "HResult.E_FAIL"),
        (msgr.SessionFlags.INVITER, "SessionFlags.INVITER"),
    ],
)
def test_enums_print_as_the_api_names_them(member: object, shown: str) -> None:
    assert str(member) == f"{member}" == "%s" % member == shown
    assert repr(member).startswith(f"<{shown}: ")


def test_enums_still_compute_and_format_as_numbers() -> None:
    assert msgr.LockStatus.UNLOCKED == 4 and msgr.LockStatus.UNLOCKED + 1 == 5
    assert f"{msgr.HResult.E_FAIL:#x}" == "0x80004005"
    assert f"{msgr.LockStatus.UNLOCKED:d}" == "%d" % msgr.LockStatus.UNLOCKED == "4"
    assert str(msgr.SessionFlags.INVITER | msgr.SessionFlags.INVITEE) == "SessionFlags.INVITER|INVITEE"


def test_a_locked_object_names_its_status_as_python_does() -> None:
    with msgr.Service(seed=1) as service:
        manager = service.sign_in("alice@example.com").session_manager()
        with pytest.raises(msgr.ApiLockedError, match=r"the object is LockStatus\.INITIALIZED \(LOCK_INITIALIZED\)"):
            manager.create_session()


def test_a_second_try_after_a_failed_unlock_says_a_new_sign_in_allows_it() -> None:
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        manager = service.sign_in("alice@example.com").session_manager()
        manager.on_lock_challenge = lambda cookie, challenge: manager.send_response(TEST_APP_ID, "0" * 32, cookie)
        manager.request_challenge(1)
        assert manager.status == msgr.LockStatus.UNLOCKFAILED
        with pytest.raises(msgr.ApiUnlockFailedError, match="one try per sign-in; sign out and in again"):
            manager.request_challenge(2)


def test_a_refused_session_call_names_the_state_as_python_does() -> None:
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        alice = service.sign_in("alice@example.com")
        manager = alice.session_manager()
        msgr.testing.unlock(manager)
        session = manager.create_session()
        with pytest.raises(msgr.SessionError, match=r"accept is not allowed for the inviter in SessionState\.READY \(SS_READY\)"):
            session.accept()


def test_a_refused_key_is_logged_with_what_to_do(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="msgr")
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        manager = service.sign_in("alice@example.com").session_manager()
        manager.on_lock_challenge = lambda cookie, challenge: manager.send_response(TEST_APP_ID, "0" * 32, cookie)
        manager.request_challenge(7)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("alice@example.com: the Lock and Key response for cookie 7 was refused" in w and "after a new sign-in" in w for w in warnings), warnings


def test_a_refused_contact_is_logged_with_the_services_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="msgr")
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        alice = service.sign_in("alice@example.com")
        priv = alice.messenger_priv()
        msgr.testing.unlock(priv)
        results: list[object] = []
        priv.on_contact_list_add = lambda hr, contact: results.append(hr)
        priv.add_contact("nobody@example.com")
    assert results == [msgr.HResult.E_FAIL]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("refused to add nobody@example.com to the contact list: 205" in w for w in warnings), warnings


def test_a_refused_connection_is_a_connection_error_too() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    with pytest.raises(ConnectionError) as info:
        msgr.connect(("127.0.0.1", port), "alice@example.com", "pw", timeout=5)
    assert isinstance(info.value, msgr.ConnectionFailureError) and isinstance(info.value, OSError)
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.parametrize("make", [lambda db: msgr.Service(db=db), lambda db: msgr.serve(db=db)], ids=["Service", "serve"])
def test_a_database_in_a_missing_folder_is_a_file_not_found_error_naming_it(tmp_path: Path, make: Callable[[str], object]) -> None:
    db = str(tmp_path / "no-such-folder" / "msgr.sqlite")
    with pytest.raises(FileNotFoundError) as info:
        make(db)
    assert info.value.filename == db
    assert str(info.value) == f"[Errno 2] No such folder for the database: {db!r}"
    with pytest.raises(IsADirectoryError, match="The database is a folder, not a file"):
        make(str(tmp_path))
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="The database's folder is a file"):
        make(str(tmp_path / "file" / "msgr.sqlite"))


@pytest.mark.parametrize(
    ("call", "names"),
    [
        (lambda: msgr.lock_response(123, "K"), "challenge"),
        (lambda: msgr.lock_response("1", b"K"), "key"),
        (lambda: msgr.msnp11_response("1", None, "k"), "product_id"),
        (lambda: msgr.error_for("0x80004005"), "hresult"),
        (lambda: msgr.Service(seed="x"), "seed"),
        (lambda: msgr.connect(("127.0.0.1", 1), "a@example.com", "pw", timeout="x"), "timeout"),
        (lambda: msgr.serve(port="x"), "port"),
        (lambda: msgr.hash_password(1), "password"),
    ],
)
def test_a_wrong_type_names_its_parameter(call: Callable[[], object], names: str) -> None:
    with pytest.raises((TypeError, ValueError), match=f"^{names} must"):
        call()


def test_a_bad_guid_says_every_form_that_is_accepted() -> None:
    with msgr.Service(seed=1) as service:
        service.license(TEST_APP_ID, TEST_APP_KEY)
        manager = service.sign_in("alice@example.com").session_manager()
        msgr.testing.unlock(manager)
        with pytest.raises(msgr.InvalidArgError, match="with or without braces, in either case"):
            manager.register_application("not-a-guid", "App", "http://x", "/bin/x")


def _msgr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msgr", *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_bare_msgr_prints_help_and_every_command() -> None:
    done = _msgr()
    assert done.returncode == 0 and done.stdout.startswith("usage: msgr")
    for command in ("demo", "serve", "load", "conformance", "hash-password", "docs"):
        assert command in done.stdout


def test_msgr_version_names_the_version() -> None:
    done = _msgr("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"msgr {msgr.__version__} (the msgrpriv distribution)"


@pytest.mark.parametrize("command", [[], ["serve"], ["load"], ["conformance"], ["hash-password"], ["docs"]])
def test_help_is_plain_text_that_cites_nothing_a_pip_user_lacks(command: list[str]) -> None:
    text = _msgr(*command, "--help").stdout
    assert "``" not in text and "docs/" not in text and ".md" not in text, text


def test_every_serve_option_has_help() -> None:
    text = _msgr("serve", "--help").stdout
    options = re.findall(r"^\s{2}(-[-\w]+(?:, --[-\w]+)?)(.*)$", text, re.M)
    assert options
    for option, rest in options:
        # The help is on the option's line or the next one.
        assert rest.strip() or option.endswith("--help"), option
    assert "--lock-and-key" in text and "nothing is locked" in text


def test_an_unknown_limit_is_a_usage_error_naming_the_limits() -> None:
    done = _msgr("serve", "--port", "0", "--no-stdin", "--limit", "nope=3")
    assert done.returncode == 2
    assert 'no limit named "nope"' in done.stderr and "wrong_password_account" in done.stderr
    assert "cannot serve" not in done.stderr


def test_msgr_docs_lists_and_prints_what_help_texts_cite() -> None:
    listing = _msgr("docs").stdout.splitlines()
    # Each with its title, then how to read one.
    assert "security           Security: what one client may cost, privacy, secrets" in listing
    assert {line.split()[0] for line in listing if line} >= {"security", "load", "conformance", "protocol/msnp", "msgr"}
    assert listing[-1] == "msgr docs NAME prints one."
    security = _msgr("docs", "security")
    assert security.returncode == 0 and security.stdout.startswith("# Security") and "wrong_password_account" in security.stdout
    missing = _msgr("docs", "nope")
    assert missing.returncode == 2 and missing.stdout == "" and "there are: architecture" in missing.stderr


def test_serve_v_lines_carry_a_time_stamp() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "msgr", "serve", "--port", "0", "-v", "--user", "alice@example.com:pw"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    address = proc.stdout.readline().split()[-1]
    host, _, port = address.rpartition(":")
    with msgr.connect((host, int(port)), "alice@example.com", "pw", timeout=10):
        pass
    _, err = proc.communicate("quit\n", timeout=30)
    signed_in = [line for line in err.splitlines() if "signed in" in line]
    assert signed_in and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} msgr: msgr.server: ", signed_in[0]), err


def test_send_alert_tells_delivered_from_sent_and_from_nothing_sent() -> None:
    with msgr.Service(seed=1) as service:
        alice = service.sign_in("alice@example.com")
        service.add_user("bob@example.com", "pw")
        priv = alice.messenger_priv()
        # Alice is signed in, but no application of hers takes site 42 yet.
        sent = service.send_alert("alice@example.com", 42, "one")
        assert sent == msgr.AlertDelivery(sent=True, received=0) and not sent
        # Bob is not signed in: nothing sent.
        assert service.send_alert("bob@example.com", 42, "two") == msgr.AlertDelivery(sent=False, received=0)
        priv.on_lock_challenge = lambda cookie, challenge: priv.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), cookie)
        service.license(TEST_APP_ID, TEST_APP_KEY)
        priv.request_challenge(1)
        priv.enable_alert_events([42])
        delivered = service.send_alert("alice@example.com", 42, "three")
        assert delivered == msgr.AlertDelivery(sent=True, received=1) and delivered


def test_a_server_cannot_see_into_a_client_so_received_is_none() -> None:
    with msgr.serve(users=[("alice@example.com", "pw"), ("bob@example.com", "pw")]) as server:
        with msgr.connect(server.address, "alice@example.com", "pw"):
            sent = server.send_alert("alice@example.com", 42, "hi")
            assert sent == msgr.AlertDelivery(sent=True, received=None) and sent
        assert not server.send_alert("bob@example.com", 42, "offline")


def test_docstrings_name_only_exceptions_that_exist() -> None:
    import builtins
    import inspect

    seen: set[str] = set()
    for name in msgr.__all__:
        obj = getattr(msgr, name)
        members = [obj, *(m for _n, m in inspect.getmembers(obj) if not _n.startswith("__"))] if inspect.isclass(obj) else [obj]
        for member in members:
            doc = inspect.getdoc(member) or ""
            for error in re.findall(r"``(\w+Error)``", doc):
                seen.add(error)
                assert hasattr(msgr, error) or hasattr(builtins, error), (name, member, error)
    assert {"ApiLockedError", "ApiNotInitializedError", "NotImplError"} <= seen
