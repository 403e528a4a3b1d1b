"""The embedded service and its Messengers (design §3, "Service and clients")."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

import msgr
from conftest import ALICE, ALICE_AND_BOB, ALICE_NAME, ALICE_PASSWORD, BOB, BOB_PASSWORD, CLIENT_ID, invalid_arg, raises_exactly
from msgr.testing import LOCK_CALLBACKS, TEST_APP_ID, TEST_APP_KEY, fail_unlock, new_service, record, unlock

S = msgr.LockStatus


# =========================================================================== sign-in


def test_sign_in_with_password(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    assert isinstance(alice, msgr.Messenger)
    assert alice.sign_in_name == ALICE
    assert alice.signed_in is True
    assert alice.state == "signed_in"


def test_sign_in_without_password_creates_the_account() -> None:
    service = msgr.Service(seed=1)
    assert service.users == {}
    carol = service.sign_in("carol@example.com")
    assert carol.signed_in
    assert carol.sign_in_name == "carol@example.com"
    assert service.users == {"carol@example.com": "carol"}


def test_sign_in_without_password_uses_the_existing_account(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE)
    assert alice.signed_in
    assert service.users[ALICE] == ALICE_NAME
    assert len(service.users) == 2


def test_sign_in_wrong_password(service: msgr.Service) -> None:
    with raises_exactly(msgr.AuthenticationFailedError) as info:
        service.sign_in(ALICE, "wrong")
    assert info.value.hresult == 0x81000604
    assert info.value.name == "SR_AUTHENTICATION_FAILED"
    assert isinstance(info.value, msgr.SessionError)
    # The service said 911 to the proof.
    last = service.trace[-1]
    assert (last.direction, last.command) == ("S->C", "911")
    assert last.trid == service.trace[-2].trid
    # Nobody is online: alice can sign in normally and nobody gets dropped.
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    assert alice.signed_in
    assert not any(e.command == "OUT" for e in service.trace)


def test_sign_in_unknown_account_with_password(service: msgr.Service) -> None:
    with raises_exactly(msgr.AuthenticationFailedError):
        service.sign_in("nobody@example.com", "whatever")
    assert "nobody@example.com" not in service.users


def test_messenger_wrong_password_stays_offline(alice: msgr.Messenger) -> None:
    manager = alice.session_manager()
    alice.sign_out()
    rec = record(manager, LOCK_CALLBACKS)
    with raises_exactly(msgr.AuthenticationFailedError):
        alice.sign_in("wrong")
    assert alice.state == "offline"
    assert alice.signed_in is False
    assert manager.status is S.NOTINITIALIZED
    assert rec == []
    with raises_exactly(msgr.ApiNotInitializedError):
        manager.request_challenge(1)
    # The right password works afterwards.
    alice.sign_in(ALICE_PASSWORD)
    assert alice.signed_in
    assert manager.status is S.INITIALIZED
    assert rec == [("on_lock_enable", (True,)), ("on_lock_status_changed", (S.INITIALIZED,))]


def test_sign_out_and_in_again(alice: msgr.Messenger) -> None:
    rec = record(alice)
    alice.sign_out()
    assert alice.state == "offline"
    assert rec == [("on_signed_out", ("user",))]
    rec.clear()
    alice.sign_in()
    assert alice.state == "signed_in"
    assert rec == [("on_signed_in", ())]


def test_friendly_name(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    assert alice.friendly_name == ALICE_NAME
    assert bob.friendly_name == "bob"


def test_sign_in_elsewhere_drops_the_first(service: msgr.Service) -> None:
    first = service.sign_in(ALICE, ALICE_PASSWORD)
    manager = first.session_manager()
    unlock(manager, cookie=1)
    m_rec = record(manager, LOCK_CALLBACKS)
    f_rec = record(first)
    second = service.sign_in(ALICE)
    assert second is not first
    assert second.signed_in
    assert first.state == "offline"
    assert f_rec == [("on_signed_out", ("signed_in_elsewhere",))]
    assert m_rec == [("on_lock_status_changed", (S.NOTINITIALIZED,))]
    assert manager.status is S.NOTINITIALIZED
    outs = [e for e in service.trace if e.command == "OUT"]
    assert [(str(e), e.direction, e.user) for e in outs] == [("OUT OTH", "S->C", ALICE)]
    # The new Messenger's objects start fresh.
    assert second.session_manager().status is S.INITIALIZED


def test_sign_in_elsewhere_is_case_insensitive(service: msgr.Service) -> None:
    first = service.sign_in(ALICE, ALICE_PASSWORD)
    rec = record(first)
    second = service.sign_in(ALICE.upper(), ALICE_PASSWORD)
    assert second.signed_in
    assert rec == [("on_signed_out", ("signed_in_elsewhere",))]


def test_different_accounts_coexist(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    assert alice.signed_in and bob.signed_in
    bob.sign_out()
    assert alice.signed_in


# =========================================================================== accounts and licenses


@pytest.mark.parametrize(
    "email",
    ["", "nobody", "a@b", "@example.com", "a@.com", "a@b.", "a b@example.com", "a@b@example.com", " a@example.com"],
)
def test_add_user_bad_email(service: msgr.Service, email: str) -> None:
    users = service.users
    with raises_exactly(msgr.InvalidArgError):
        service.add_user(email, "pw")
    assert service.users == users


@pytest.mark.parametrize("password", ["", "p\nw", "p\x00w"], ids=["empty", "newline", "nul"])
def test_add_user_bad_password(service: msgr.Service, password: str) -> None:
    with raises_exactly(msgr.InvalidArgError):
        service.add_user("carol@example.com", password)
    assert "carol@example.com" not in service.users


@pytest.mark.parametrize(
    ("email", "password", "friendly"),
    [(None, "pw", None), (5, "pw", None), ("c@example.com", None, None), ("c@example.com", 5, None), ("c@example.com", "pw", 5)],
    ids=["email-None", "email-int", "password-None", "password-int", "friendly-int"],
)
def test_add_user_bad_types(service: msgr.Service, email: Any, password: Any, friendly: Any) -> None:
    with raises_exactly(invalid_arg((email, str), (password, str), (friendly, str))):
        service.add_user(email, password, friendly)


def test_add_user_duplicate(service: msgr.Service) -> None:
    with raises_exactly(msgr.FailError) as info:
        service.add_user(ALICE, "other")
    assert info.value.hresult == 0x80004005
    with raises_exactly(msgr.FailError):
        service.add_user(ALICE.upper(), "other")
    # The original account is untouched.
    assert service.users[ALICE] == ALICE_NAME
    assert service.sign_in(ALICE, ALICE_PASSWORD).signed_in


def test_add_user_friendly_name(service: msgr.Service) -> None:
    service.add_user("carol@example.com", "pw", "Carol C")
    service.add_user("dave@example.com", "pw")
    assert service.users["carol@example.com"] == "Carol C"
    assert service.users["dave@example.com"] == "dave"


def test_users_is_a_snapshot(service: msgr.Service) -> None:
    users = service.users
    assert users == {ALICE: ALICE_NAME, BOB: "bob"}
    users["x@example.com"] = "x"
    assert "x@example.com" not in service.users


@pytest.mark.parametrize(
    ("app_id", "key"),
    [
        ("", "KEY"),
        ("has space@msnmsgr.com", "KEY"),
        (" app@msnmsgr.com", "KEY"),
        ("app@msnmsgr.com", ""),
        ("app@msnmsgr.com", "KEY WITH SPACE"),
        (CLIENT_ID, "ANYKEY"),
        (None, "KEY"),
        ("app@msnmsgr.com", None),
        (5, "KEY"),
    ],
    ids=["empty-id", "space-id", "leading-space-id", "empty-key", "space-key", "client-id", "None-id", "None-key", "int-id"],
)
def test_license_validation(service: msgr.Service, app_id: Any, key: Any) -> None:
    with raises_exactly(invalid_arg((app_id, str), (key, str))):
        service.license(app_id, key)


def test_licensed_pair_unlocks_and_unlicensed_does_not(service: msgr.Service) -> None:
    service.license("other@msnmsgr.com", "OTHERKEY")
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    a, b, c = alice.session_manager(), alice.session_manager(), alice.session_manager()
    unlock(a, cookie=1, app_id="other@msnmsgr.com", key="OTHERKEY")
    fail_unlock(b, cookie=2, app_id="other@msnmsgr.com", key=TEST_APP_KEY)
    unlock(c, cookie=3, app_id=TEST_APP_ID, key=TEST_APP_KEY)
    assert (a.status, b.status, c.status) == (S.UNLOCKED, S.UNLOCKFAILED, S.UNLOCKED)


def test_bad_lock_and_key_mode() -> None:
    with raises_exactly(msgr.InvalidArgError):
        msgr.Service(lock_and_key="sometimes")


# =========================================================================== determinism


def run_scenario(seed: int) -> tuple[list[str], list[Any]]:
    service = new_service(seed=seed, users=ALICE_AND_BOB)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    m, p = alice.session_manager(), bob.messenger_priv()
    rec_m, rec_p = record(m, LOCK_CALLBACKS), record(p, LOCK_CALLBACKS)
    unlock(m, cookie=1)
    fail_unlock(p, cookie=2, key="WRONG")
    service.advance(10)
    alice.sign_out()
    alice.sign_in()
    unlock(m, cookie=3)
    return [str(e) for e in service.trace], list(rec_m) + list(rec_p)


def test_seed_makes_runs_identical() -> None:
    assert run_scenario(42) == run_scenario(42)


def salts_and_challenges(lines: list[str]) -> list[str]:
    return [l for l in lines if re.fullmatch(r"USR 3 MD5 S [0-9a-f]+|CHL \d+ \d{20}", l)]


def test_different_seeds_differ() -> None:
    a, b = run_scenario(42), run_scenario(43)
    assert a[0] != b[0]
    # 2 sign-ins + 1 re-sign-in (salt and ping each) + 3 requested challenges.
    assert len(salts_and_challenges(a[0])) == 9
    assert set(salts_and_challenges(a[0])).isdisjoint(salts_and_challenges(b[0]))


def test_seed_makes_challenges_identical() -> None:
    a, b = run_scenario(7), run_scenario(7)
    assert salts_and_challenges(a[0]) == salts_and_challenges(b[0])
    assert [e for e in a[1] if e[0] == "on_lock_challenge"] == [e for e in b[1] if e[0] == "on_lock_challenge"]


# =========================================================================== the clock


def test_advance_moves_the_clock(service: msgr.Service) -> None:
    assert service.now == 0
    service.advance(0)
    assert service.now == 0
    service.advance(1.5)
    assert service.now == 1.5
    service.advance(10)
    assert service.now == 11.5


@pytest.mark.parametrize(
    "seconds",
    [-1, -0.001, math.nan, math.inf, -math.inf, "1", None, True, b"1", [1]],
    ids=["-1", "-0.001", "nan", "inf", "-inf", "str", "None", "bool", "bytes", "list"],
)
def test_advance_rejects_bad_values(service: msgr.Service, seconds: Any) -> None:
    service.advance(3)
    with raises_exactly(invalid_arg((seconds, float))):
        service.advance(seconds)
    assert service.now == 3


# =========================================================================== reprs


def test_reprs(service: msgr.Service) -> None:
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    manager, priv = alice.session_manager(), alice.messenger_priv()
    assert isinstance(repr(service), str)
    r = repr(alice)
    assert ALICE in r and "signed_in" in r
    r = repr(manager)
    assert ALICE in r and "INITIALIZED" in r and "MsgrSessionManager" in r
    unlock(priv, cookie=1)
    r = repr(priv)
    assert ALICE in r and "UNLOCKED" in r and "MessengerPriv" in r
    alice.sign_out()
    assert "offline" in repr(alice)
    assert "NOTINITIALIZED" in repr(manager)
    assert isinstance(repr(service.trace), str)
