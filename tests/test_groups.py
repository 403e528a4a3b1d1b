"""Groups over TCP on ``msgr serve`` (the wire shapes in each dialect are the Rust
core's tests, ``src/service/group_tests.rs``): made in one dialect, they are in the
database after a restart and show in every other dialect's list download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import msgr
from msgr.conformance import steps
from msgr.conformance.target import Account, Target
from msgr.testing.wire import Transcript

ALICE = Account("alice@example.com", "pw-alice")
BOB = Account("bob@example.com", "pw-bob")
USERS = [(ALICE.email, ALICE.password), (BOB.email, BOB.password)]


def sign_in(server: msgr.ServerHandle, dialect: str) -> steps.Ns:
    host, port = server.address
    target = Target(host, port, (ALICE, BOB), nexus=server.nexus_url, timeout=5.0)
    return steps.sign_in(target, ALICE, dialect, Transcript(), "alice")


def downloaded(server: msgr.ServerHandle, dialect: str) -> list[str]:
    """The `LSG` and `LST` lines of Alice's list download in ``dialect`` (signed out after)."""
    ns = sign_in(server, dialect)
    try:
        return [c.line for c in ns.syn().lines if c.name in ("LSG", "LST")]
    finally:
        ns.sign_out()


def test_groups_survive_a_restart_and_show_in_every_dialect(tmp_path: Path) -> None:
    db = str(tmp_path / "msgr.sqlite")
    with msgr.serve(users=USERS, db=db) as server:
        ns = sign_in(server, "MSNP9")
        try:
            ns.syn()
            assert ns.conn.call("ADG", "Friends", "0").line.startswith("ADG ")
            assert ns.conn.call("ADG", "Work", "0").line.startswith("ADG ")
            added = ns.conn.call("ADD", "FL", BOB.email, "Bob", "1")
            assert added.args[-1] == "1", added.line
            assert ns.conn.call("ADD", "FL", BOB.email, "Bob", "2").line.startswith("ADD ")
            assert ns.conn.call("RMG", "0").line.split()[0] == "230"
        finally:
            ns.sign_out()
    with msgr.serve(users=USERS, db=db) as server:
        for dialect in ("MSNP7", "MSNP8", "MSNP9"):
            got = downloaded(server, dialect)
            # LSG <id> <name> 0 (MSNP8, 9); LSG <t> <v> <index> <total> <id> <name> 0 (MSNP7).
            at = 5 if dialect == "MSNP7" else 1
            groups = [(line.split()[at], line.split()[at + 1]) for line in got if line.startswith("LSG")]
            assert groups == [("0", "Other%20Contacts"), ("1", "Friends"), ("2", "Work")], (dialect, got)
            assert any(line.endswith(" 1,2") and BOB.email in line for line in got if line.startswith("LST")), (dialect, got)
        for dialect in ("MSNP10", "MSNP11", "MSNP12"):
            got = downloaded(server, dialect)
            groups = [line.split()[1:] for line in got if line.startswith("LSG")]
            assert [name for name, _ in groups] == ["Friends", "Work"], (dialect, got)
            guids = [guid for _, guid in groups]
            (bob,) = [line for line in got if line.startswith("LST") and f"N={BOB.email}" in line]
            assert bob.endswith(" " + ",".join(guids)), (dialect, bob)


@pytest.mark.parametrize("dialect", ["MSNP11"])
def test_a_group_made_over_tcp_has_the_shape_msnp11_sdk_reads(dialect: str) -> None:
    with msgr.serve(users=USERS) as server:
        ns = sign_in(server, dialect)
        try:
            ns.syn()
            made = ns.conn.call("ADG", "Friends")
            # ADG <t> 1 <name> <guid>: the name 4th, the GUID 5th.
            assert made.args[1:3] == ("1", "Friends") and len(made.args[3]) == 36, made.line
            renamed = ns.conn.call("REG", made.args[3], "Best%20Friends")
            assert renamed.args[1:] == ("1", "Best%20Friends", made.args[3]), renamed.line
            removed = ns.conn.call("RMG", made.args[3])
            assert removed.args[1:] == ("1", made.args[3]), removed.line
        finally:
            ns.sign_out()


@pytest.mark.parametrize("dialect", ["MSNP7", "MSNP9", "MSNP11"])
def test_msgr_signs_in_to_a_list_with_groups(dialect: str) -> None:
    with msgr.serve(users=USERS) as server:
        ns = sign_in(server, "MSNP9")
        try:
            ns.syn()
            ns.conn.call("ADG", "Friends", "0")
            ns.conn.call("ADD", "FL", BOB.email, "Bob", "1")
        finally:
            ns.sign_out()
        # `LSG 1 Friends 0` up to MSNP9 reads like a reply to TrID 1: it must not be.
        with msgr.connect(server.address, ALICE.email, ALICE.password, protocols=[dialect], nexus=server.nexus_url, timeout=5) as alice:
            assert alice.signed_in
            assert [c.sign_in_name for c in alice.contacts] == [BOB.email]


# --------------------------------------------------------------------------- msgr's client


def with_bob(messenger: msgr.Messenger, service: msgr.Service | msgr.ServerHandle) -> None:
    """Bob on the Messenger's forward list (through an unlocked MessengerPriv)."""
    service.license("groups@msnmsgr.com", "KEY")
    priv = messenger.messenger_priv()
    priv.on_lock_challenge = lambda cookie, challenge: priv.send_response("groups@msnmsgr.com", msgr.lock_response(challenge, "KEY"), cookie)
    priv.request_challenge(1)
    messenger.wait_for(lambda: priv.status == msgr.LockStatus.UNLOCKED, 10)
    priv.add_contact(BOB.email)
    messenger.wait_for(lambda: any(c.sign_in_name == BOB.email for c in messenger.contacts), 10)


def bob_of(messenger: msgr.Messenger) -> msgr.Contact:
    (bob,) = [c for c in messenger.contacts if c.sign_in_name == BOB.email]
    return bob


def exercise_groups(alice: msgr.Messenger, modern: bool) -> None:
    """Makes, fills, renames, empties and removes a group, checking each answer."""
    events: list[Any] = []
    for name in ("on_group_added", "on_group_removed", "on_group_name_changed", "on_contact_added_to_group", "on_contact_removed_from_group"):
        setattr(alice, name, lambda *args, name=name: events.append((name, *args)))
    before = alice.groups
    assert [g.id for g in before] == ([] if modern else ["0"])
    alice.add_group("Friends")
    alice.wait_for(lambda: len(alice.groups) == len(before) + 1, 10)
    friends = alice.groups[-1]
    assert friends.name == "Friends" and str(friends) == "Friends"
    assert (len(friends.id) == 36) if modern else friends.id == "1"
    assert events == [("on_group_added", msgr.HResult.S_OK, friends)]
    alice.add_to_group(bob_of(alice), friends)
    alice.wait_for(lambda: bob_of(alice).groups == (friends.id,), 10)
    assert events[-1] == ("on_contact_added_to_group", msgr.HResult.S_OK, friends, bob_of(alice))
    alice.rename_group(friends, "Best Friends")
    alice.wait_for(lambda: alice.groups[-1].name == "Best Friends", 10)
    assert events[-1] == ("on_group_name_changed", msgr.HResult.S_OK, msgr.Group(friends.id, "Best Friends"))
    # Refused by the service: the event says so, nothing changes.
    alice.add_group("Best Friends")
    alice.wait_for(lambda: events[-1][0] == "on_group_added", 10)
    assert events[-1] == ("on_group_added", msgr.HResult.E_INVALIDARG, None)
    # Refused before anything is sent.
    with pytest.raises(msgr.InvalidArgError):
        alice.add_group("   ")
    with pytest.raises(msgr.InvalidArgError, match="no group"):
        alice.remove_group("9999")
    alice.remove_from_group(BOB.email, friends.id)
    alice.wait_for(lambda: bob_of(alice).groups == (), 10)
    assert events[-1][0] == "on_contact_removed_from_group" and events[-1][1] == msgr.HResult.S_OK
    alice.add_to_group(BOB.email, friends)
    alice.wait_for(lambda: bob_of(alice).groups == (friends.id,), 10)
    alice.remove_group(friends)
    alice.wait_for(lambda: [g.id for g in alice.groups] == [g.id for g in before], 10)
    # Its member left it with it.
    assert bob_of(alice).groups == ()
    assert events[-1] == ("on_group_removed", msgr.HResult.S_OK, msgr.Group(friends.id, "Best Friends"))


def test_msgr_groups_embedded() -> None:
    with msgr.Service(seed=1) as service:
        service.add_user(BOB.email, BOB.password)
        alice = service.sign_in(ALICE.email)
        with_bob(alice, service)
        exercise_groups(alice, modern=False)
        events: list[Any] = []
        alice.on_group_removed = lambda hr, group: events.append((hr, group))
        alice.remove_group("0")
        assert events == [(msgr.HResult.E_INVALIDARG, msgr.Group("0", "Other Contacts"))], "230: group 0 stays"


@pytest.mark.parametrize("dialect", ["MSNP9", "MSNP11"])
def test_msgr_groups_over_tcp_and_read_back_at_the_next_sign_in(dialect: str) -> None:
    with msgr.serve(users=USERS) as server:
        kw: dict[str, Any] = {"protocols": [dialect], "nexus": server.nexus_url, "timeout": 10}
        with msgr.connect(server.address, ALICE.email, ALICE.password, **kw) as alice:
            with_bob(alice, server)
            exercise_groups(alice, modern=dialect == "MSNP11")
            alice.add_group("Work")
            alice.wait_for(lambda: any(g.name == "Work" for g in alice.groups), 10)
            alice.add_to_group(BOB.email, alice.groups[-1])
            alice.wait_for(lambda: bool(bob_of(alice).groups), 10)
            work = alice.groups[-1]
        with msgr.connect(server.address, ALICE.email, ALICE.password, **kw) as again:
            assert again.groups[-1] == work
            assert bob_of(again).groups == (work.id,)
