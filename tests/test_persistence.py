"""``Service(db=…)``: accounts, licences and contact lists survive a new Service on the
same SQLite file; the forward list comes back through ``SYN`` (msnp.md §b.8, §g.2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import msgr
from conftest import (
    ALICE,
    ALICE_BOB_CAROL,
    ALICE_NAME,
    ALICE_NAME_WIRE,
    ALICE_PASSWORD,
    BOB,
    BOB_NAME,
    BOB_PASSWORD,
    CAROL,
    CAROL_NAME,
    CAROL_NAME_WIRE,
    H,
    L,
    MAX_LIST,
    lines,
    raises_exactly,
)
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, Recorder, new_service, pend, unlock

DAVE = "dave@example.com"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "service.sqlite"


def restart(db: Path, *, license: bool = False) -> msgr.Service:
    """A new service on the same file (the seed differs on purpose). Without ``license``
    nothing is registered by hand: what it has comes from the file."""
    return new_service(db=db, seed=999, licenses=[(TEST_APP_ID, TEST_APP_KEY)] if license else [])


def fill(db: Path) -> msgr.Service:
    """A first service: Alice has Bob and Carol on her forward list, Bob has Alice."""
    service = new_service(db=db, users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    log = Recorder()
    privs = {"alice": alice.messenger_priv(), "bob": bob.messenger_priv()}
    for tag, priv in privs.items():
        unlock(priv, cookie=3)
        log.watch(priv, tag)
    privs["alice"].add_contact(BOB)
    privs["alice"].add_contact(CAROL)
    privs["bob"].add_contact(ALICE)
    assert [(e[0], e[2][0]) for e in log] == [("alice", H.S_OK), ("alice", H.S_OK), ("bob", H.S_OK)]
    alice.sign_out()
    bob.sign_out()
    return service


def test_accounts_survive_a_restart(db: Path) -> None:
    first = new_service(db=db, users=ALICE_BOB_CAROL)
    users = first.users
    assert users == {ALICE: ALICE_NAME, BOB: BOB_NAME, CAROL: CAROL_NAME}
    del first
    again = restart(db)
    assert again.users == users
    # The stored password signs in (Service.sign_in with no password uses it)…
    alice = again.sign_in(ALICE)
    assert alice.signed_in
    assert alice.friendly_name == ALICE_NAME
    # …and it is the real one: the explicit password works, a wrong one does not.
    bob = again.sign_in(BOB, BOB_PASSWORD)
    assert bob.signed_in
    with raises_exactly(msgr.AuthenticationFailedError):
        again.sign_in(CAROL, "not-carols")
    # Already there: a second account of the same name is refused.
    with raises_exactly(msgr.FailError):
        again.add_user(ALICE, "other")


def test_contact_lists_survive_a_restart(db: Path) -> None:
    fill(db)
    again = restart(db)
    assert again.contact_list(ALICE, "FL") == [BOB, CAROL]
    assert again.contact_list(BOB, "FL") == [ALICE]
    assert again.contact_list(CAROL, "FL") == []
    # RL is derived from the stored forward lists.
    assert again.contact_list(ALICE, "RL") == [BOB]
    assert again.contact_list(BOB, "RL") == [ALICE]
    assert again.contact_list(CAROL, "RL") == [ALICE]
    assert again.contact_list(ALICE, "AL") == []
    assert again.contact_list(ALICE, "BL") == []


def test_forward_list_comes_back_through_syn(db: Path) -> None:
    fill(db)
    again = restart(db)
    alice = again.sign_in(ALICE)
    got = lines(list(again.trace), user=ALICE, direction="S->C")
    syn = [line for line in got if line.startswith("SYN ")]
    assert len(syn) == 1
    version = syn[0].split()[2]
    assert version != "0"
    fl = [line for line in got if line.startswith("LST") and line.split()[2] == "FL"]
    t = syn[0].split()[1]
    assert fl == [
        f"LST {t} FL {version} 1 2 {BOB} {BOB_NAME} 0",
        f"LST {t} FL {version} 2 2 {CAROL} {CAROL_NAME_WIRE} 0",
    ]
    rl = [line for line in got if line.startswith("LST") and line.split()[2] == "RL"]
    assert rl == [f"LST {t} RL {version} 1 1 {BOB} {BOB_NAME}"]
    # Nobody else is online: no ILN, everyone FLN.
    assert not any(line.startswith("ILN") for line in got)
    assert alice.contacts == [msgr.Contact(BOB, BOB_NAME, "FLN"), msgr.Contact(CAROL, CAROL_NAME, "FLN")]
    # Presence still follows the restored list.
    bob = again.sign_in(BOB)
    assert alice.contacts == [msgr.Contact(BOB, BOB_NAME, "NLN"), msgr.Contact(CAROL, CAROL_NAME, "FLN")]
    bob_got = lines(list(again.trace), user=BOB, direction="S->C")
    assert any(re.fullmatch(rf"LST \d+ FL \d+ 1 1 {re.escape(ALICE)} {ALICE_NAME_WIRE} 0", line) for line in bob_got)
    assert any(re.fullmatch(rf"ILN \d+ NLN {re.escape(ALICE)} {ALICE_NAME_WIRE}", line) for line in bob_got)
    assert bob.contacts == [msgr.Contact(ALICE, ALICE_NAME, "NLN")]


def test_licences_survive_a_restart(db: Path) -> None:
    fill(db)
    again = restart(db)  # no licence registered on this one
    alice = again.sign_in(ALICE)
    priv = alice.messenger_priv()
    log = Recorder()
    log.watch(priv, "priv")
    challenge = pend(priv, 7)
    priv.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 7)
    assert log == [
        ("priv", "on_lock_status_changed", (L.PENDINGRESULT,)),
        ("priv", "on_lock_challenge", (7, challenge)),
        ("priv", "on_lock_result", (7, True)),
        ("priv", "on_lock_status_changed", (L.UNLOCKED,)),
    ]


def test_adds_after_a_restart_are_kept_too(db: Path) -> None:
    fill(db)
    again = restart(db, license=True)
    again.add_user(DAVE, "Dave-s3cret", "Dave D")
    alice = again.sign_in(ALICE)
    priv = alice.messenger_priv()
    log = Recorder()
    log.watch(priv, "priv")
    unlock(priv, cookie=9)
    log.clear()
    priv.add_contact(BOB)  # already there (215): success
    priv.add_contact(DAVE)
    assert log == [
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "FLN"))),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(DAVE, DAVE, "FLN"))),
    ]
    third = restart(db)
    assert third.users[DAVE] == "Dave D"
    assert third.contact_list(ALICE, "FL") == [BOB, CAROL, DAVE]
    assert third.contact_list(DAVE, "RL") == [ALICE]


def test_a_full_list_is_still_full_after_a_restart(db: Path) -> None:
    first = new_service(db=db, users=ALICE_BOB_CAROL)
    names = [f"user{i:03d}@example.com" for i in range(MAX_LIST + 1)]
    for name in names:
        first.add_user(name, "pw")
    alice = first.sign_in(ALICE)
    priv = alice.messenger_priv()
    unlock(priv, cookie=1)
    for name in names[:MAX_LIST]:
        priv.add_contact(name)
    alice.sign_out()
    again = restart(db, license=True)
    assert again.contact_list(ALICE, "FL") == names[:MAX_LIST]
    alice = again.sign_in(ALICE)
    assert len(alice.contacts) == MAX_LIST
    priv = alice.messenger_priv()
    log = Recorder()
    log.watch(priv, "priv")
    unlock(priv, cookie=2)
    log.clear()
    priv.add_contact(names[MAX_LIST])
    assert log == [("priv", "on_contact_list_add", (H.E_FAIL, None))]


def test_str_and_pathlike_name_the_same_file(db: Path) -> None:
    new_service(db=str(db), users=ALICE_BOB_CAROL)
    assert restart(db).users.keys() == {ALICE, BOB, CAROL}
    assert new_service(db=db).users.keys() == {ALICE, BOB, CAROL}


def test_a_service_without_a_file_keeps_nothing(db: Path) -> None:
    fill(db)
    assert msgr.Service().users == {}
    assert msgr.Service().contact_list(ALICE, "FL") == []


def test_a_path_in_a_missing_directory_is_file_not_found(tmp_path: Path) -> None:
    # As open() would say it (the path, errno ENOENT), and nothing is created.
    with pytest.raises(FileNotFoundError) as info:
        msgr.Service(db=tmp_path / "missing" / "service.sqlite")
    assert info.value.filename == str(tmp_path / "missing" / "service.sqlite")
    assert not (tmp_path / "missing").exists()
