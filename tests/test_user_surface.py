"""What a user sees first (issue 18): enums print as the API names them, and messages
name states and statuses as Python does, the COM name after in brackets."""

from __future__ import annotations

import logging

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
