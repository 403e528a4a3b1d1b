"""Groups over TCP on ``msgr serve`` (the wire shapes in each dialect are the Rust
core's tests, ``src/service/group_tests.rs``): made in one dialect, they are in the
database after a restart and show in every other dialect's list download."""

from __future__ import annotations

from pathlib import Path

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


def lines(ns: steps.Ns) -> list[str]:
    return [c.line for c in ns.syn().lines if c.name in ("LSG", "LST")]


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
            ns = sign_in(server, dialect)
            try:
                got = lines(ns)
            finally:
                ns.sign_out()
            # LSG <id> <name> 0 (MSNP8, 9); LSG <t> <v> <index> <total> <id> <name> 0 (MSNP7).
            at = 5 if dialect == "MSNP7" else 1
            groups = [(line.split()[at], line.split()[at + 1]) for line in got if line.startswith("LSG")]
            assert groups == [("0", "Other%20Contacts"), ("1", "Friends"), ("2", "Work")], (dialect, got)
            assert any(line.endswith(" 1,2") and BOB.email in line for line in got if line.startswith("LST")), (dialect, got)
        for dialect in ("MSNP10", "MSNP11", "MSNP12"):
            ns = sign_in(server, dialect)
            try:
                got = lines(ns)
            finally:
                ns.sign_out()
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
