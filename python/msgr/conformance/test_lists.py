"""The contact lists: the `SYN` download in each dialect's shapes, `ADD` (up to MSNP9)
and `ADC`/`REM` (MSNP10+), what the added contact hears, and the refusals."""

from __future__ import annotations

import re

from msgr.testing.wire import Command

from .features import LIST_ERRORS, LISTS, OTHER_DIALECT, SYN
from .harness import Harness
from .steps import Ns
from .test_sign_in import UNKNOWN

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
LIST_BITS = {"FL": 1, "AL": 2, "BL": 4, "RL": 8}


def check_msnp7_lists(ns: Ns, lines: list[Command], contact: str) -> None:
    """`GTC <t> <v> A|N`, `BLP <t> <v> AL|BL`, `LSG` lines, then one `LST <t> <list>
    <v> <index> <total> …` series per list in the order FL, AL, BL, RL, each counting
    1..total (an empty one `0 0`); the contact is on FL."""
    names = [c.name for c in lines]
    if names[:2] != ["GTC", "BLP"] or lines[0].args[-1] not in ("A", "N") or lines[1].args[-1] not in ("AL", "BL"):
        ns.conn.fail("MSNP7 lists start with GTC <t> <v> A|N and BLP <t> <v> AL|BL")
    series = [c for c in lines if c.name == "LST"]
    order: list[str] = []
    for line in series:
        if len(line.args) < 5 or not line.args[3].isdigit() or not line.args[4].isdigit():
            ns.conn.fail(f"expected LST <t> <list> <version> <index> <total> …, got {line.line!r}")
        if not order or order[-1] != line.args[1]:
            order.append(line.args[1])
    if order != ["FL", "AL", "BL", "RL"]:
        ns.conn.fail(f"MSNP7 sends one LST series per list, FL AL BL RL in that order, got {order}")
    on_fl = [c.args[5].lower() for c in series if c.args[1] == "FL" and len(c.args) > 5]
    if contact.lower() not in on_fl:
        ns.conn.fail(f"{contact} was added to FL but is not in the LST FL series")


def check_lists(ns: Ns, reply: Command, lines: list[Command], contact: str) -> None:
    """MSNP8+: `GTC`, `BLP` (no TrID, no version), MSNP10+ `PRP MFN`, the `LSG` lines,
    then one `LST` per contact (its `BPR` lines after it); MSNP8/9 `LST <account>
    <name> <bits> [<groups>]` with group 0 always there; MSNP10+ `LST N= F= [C=] <bits>
    [<network id> (MSNP12)] [<group GUIDs>]` with `C=` exactly when on FL."""
    number = ns.number
    names = [c.name for c in lines]
    if names[:2] != ["GTC", "BLP"] or lines[0].args not in (("A",), ("N",)) or lines[1].args not in (("AL",), ("BL",)):
        ns.conn.fail("the lines after SYN start with GTC A|N and BLP AL|BL, two fields each")
    rest = [n for n in names[2:] if n != "BPR"]
    expected_head = ["PRP"] if number >= 10 else []
    if rest[: len(expected_head)] != expected_head:
        ns.conn.fail(f"{ns.dialect} sends PRP MFN <name> after BLP")
    body = rest[len(expected_head) :]
    if body != sorted(body, key=lambda n: n != "LSG"):
        ns.conn.fail("LSG lines come before the LST lines")
    if number >= 10:
        prp = lines[2]
        if prp.args[:1] != ("MFN",) or len(prp.args) != 2:
            ns.conn.fail(f"expected PRP MFN <name>, got {prp.line!r}")
    groups = [c for c in lines if c.name == "LSG"]
    if number < 10 and not any(g.args[:1] == ("0",) for g in groups):
        ns.conn.fail(f"{ns.dialect} always has group 0 (LSG 0 <name> 0)")
    for group in groups:
        ok = len(group.args) == 3 and group.args[0].isdigit() if number < 10 else len(group.args) == 2 and GUID.match(group.args[1])
        if not ok:
            ns.conn.fail(f"a {ns.dialect} group is {'LSG <id> <name> 0' if number < 10 else 'LSG <name> <guid>'}, got {group.line!r}")
    found = False
    for lst in (c for c in lines if c.name == "LST"):
        args = lst.args
        if number < 10:
            if len(args) < 3 or not args[2].isdigit():
                ns.conn.fail(f"expected LST <account> <name> <bits> [<groups>], got {lst.line!r}")
            account, bits, tail = args[0], int(args[2]), args[3:]
            if bits & 1 and len(tail) != 1:
                ns.conn.fail(f"a contact on FL carries its group numbers after the bits, got {lst.line!r}")
        else:
            if len(args) < 3 or not args[0].startswith("N=") or not args[1].startswith("F="):
                ns.conn.fail(f"expected LST N=<account> F=<name> [C=<guid>] <bits> …, got {lst.line!r}")
            has_guid = args[2].startswith("C=")
            at = 3 if has_guid else 2
            if len(args) <= at or not args[at].isdigit():
                ns.conn.fail(f"no list bits where expected in {lst.line!r}")
            account, bits, tail = args[0][2:], int(args[at]), args[at + 1 :]
            if has_guid != bool(bits & 1) or (has_guid and not GUID.match(args[2][2:])):
                ns.conn.fail(f"C=<contact guid> goes with FL and only with FL, got {lst.line!r}")
            if number >= 12 and (not tail or not tail[0].isdigit()):
                ns.conn.fail(f"MSNP12 puts the network id after the list bits, got {lst.line!r}")
            if number < 12 and tail and not all(GUID.match(g) for g in tail[0].split(",")):
                ns.conn.fail(f"{ns.dialect} has no network id: after the bits only group GUIDs may come, got {lst.line!r}")
        if not 0 < bits < 32:
            ns.conn.fail(f"list bits are FL=1 AL=2 BL=4 RL=8 PL=16, got {bits} in {lst.line!r}")
        found = found or (account.lower() == contact.lower() and bool(bits & 1))
    if not found:
        ns.conn.fail(f"{contact} was added to FL but its LST line is missing or lacks the FL bit")
    if number >= 8 and reply.args[-2:] != (str(len([c for c in lines if c.name == "LST"])), str(len(groups))):
        ns.conn.fail(f"SYN's counts {reply.args[-2:]} do not match the LST and LSG lines sent")


@SYN()
def test_syn_sends_the_lists_in_the_dialects_shapes(msnp: Harness, dialect: str) -> None:
    """The reply to `SYN` and every line after it, with a contact on the forward list:
    `SYN <t> <version>` (MSNP7), `SYN <t> <version> <contacts> <groups>` (MSNP8, 9),
    `SYN <t> <version> <version> <contacts> <groups>` (MSNP10+)."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.ensure_on_forward_list(msnp.b.email)
    got = ns.syn()
    expected_args = {7: 2, 8: 4, 9: 4}.get(ns.number, 5)
    if len(got.reply.args) != expected_args:
        ns.conn.fail(f"{dialect}'s SYN reply has {expected_args - 1} fields after the TrID, got {got.reply.line!r}")
    if ns.number < 8:
        check_msnp7_lists(ns, got.lines, msnp.b.email)
    else:
        check_lists(ns, got.reply, got.lines, msnp.b.email)


@LISTS()
def test_adding_and_removing_a_contact(msnp: Harness, dialect: str) -> None:
    """Up to MSNP9: `ADD <t> FL <a> <a>` -> `ADD <t> FL <version> <a> <a>` (the request
    with the list version inserted), and the contact, online, gets `ADD 0 RL <version>
    <you> <name>`; `REM <t> FL <a>` -> `REM <t> FL <version> <a>`, and the contact gets
    `REM 0 RL <version> <you>`. MSNP10+: `ADC <t> FL N=<a> F=<a>` -> the same plus
    `C=<guid>`, and the contact gets `ADC 0 RL N=<you> …`; `REM <t> FL <guid>` is echoed,
    and the contact gets `REM 0 RL <you>`."""
    a = msnp.sign_in(msnp.a, dialect)
    a.ensure_off_forward_list(msnp.b.email)
    b = msnp.online(msnp.b, dialect)
    reply = a.add(b.email)
    if a.number < 10:
        echo = reply.args[:2] + reply.args[3:]
        if reply.name != "ADD" or echo != (str(reply.trid), "FL", b.email, b.email) or not reply.args[2].isdigit():
            a.conn.fail(f"expected ADD {reply.trid} FL <version> {b.email} {b.email} (the request echoed), got {reply.line!r}")
        told = b.conn.next_async("ADD")
        if told.args[:2] != ("0", "RL") or len(told.args) < 4 or told.args[3].lower() != a.email.lower():
            b.conn.fail(f"expected ADD 0 RL <version> {a.email} <name>, got {told.line!r}")
        removed = a.remove(b.email)
        if removed.name != "REM" or removed.args[1:2] != ("FL",) or not removed.args[2].isdigit() or removed.args[3:] != (b.email,):
            a.conn.fail(f"expected REM {removed.trid} FL <version> {b.email}, got {removed.line!r}")
        gone = b.conn.next_async("REM")
        if gone.args[:2] != ("0", "RL") or gone.args[-1].lower() != a.email.lower():
            b.conn.fail(f"expected REM 0 RL <version> {a.email}, got {gone.line!r}")
        return
    expected = ("FL", f"N={b.email}", f"F={b.email}")
    if reply.name != "ADC" or reply.args[1:4] != expected or len(reply.args) != 5 or not GUID.match(reply.args[4].removeprefix("C=")) or not reply.args[4].startswith("C="):
        a.conn.fail(f"expected ADC {reply.trid} FL N={b.email} F={b.email} C=<guid>, got {reply.line!r}")
    guid = reply.args[4][2:]
    told = b.conn.next_async("ADC")
    if told.args[:2] != ("0", "RL") or told.args[2:3] != (f"N={a.email}",):
        b.conn.fail(f"expected ADC 0 RL N={a.email} F=<name>, got {told.line!r}")
    removed = a.remove(b.email, guid=guid)
    if removed.name != "REM" or removed.args[1:] != ("FL", guid):
        a.conn.fail(f"expected REM {removed.trid} FL {guid}, got {removed.line!r}")
    gone = b.conn.next_async("REM")
    if gone.args[:2] != ("0", "RL") or gone.args[2].removeprefix("N=").lower() != a.email.lower():
        b.conn.fail(f"expected REM 0 RL {a.email}, got {gone.line!r}")


@LISTS()
def test_the_allow_list(msnp: Harness, dialect: str) -> None:
    """Adding to and removing from AL: `ADD <t> AL <version> <a> <a>` / `REM <t> AL
    <version> <a>` up to MSNP9; `ADC <t> AL N=<a>` / `REM <t> AL <a>` echoed from
    MSNP10 (no list version)."""
    a = msnp.sign_in(msnp.a, dialect)
    email = msnp.b.email
    first = a.remove(email, "AL")
    if first.is_error and first.error_code != 216:
        a.conn.fail(f"REM of someone who may not be on AL: the reply or 216, got {first.line!r}")
    added = a.add(email, "AL")
    removed = a.remove(email, "AL")
    if a.number < 10:
        if added.name != "ADD" or added.args[1] != "AL" or not added.args[2].isdigit() or added.args[3:] != (email, email):
            a.conn.fail(f"expected ADD {added.trid} AL <version> {email} {email} (the request echoed), got {added.line!r}")
        if removed.name != "REM" or removed.args[1] != "AL" or not removed.args[2].isdigit() or removed.args[3:] != (email,):
            a.conn.fail(f"expected REM {removed.trid} AL <version> {email}, got {removed.line!r}")
        return
    if added.name != "ADC" or added.args[1:] != ("AL", f"N={email}"):
        a.conn.fail(f"expected ADC {added.trid} AL N={email}, got {added.line!r}")
    if removed.name != "REM" or removed.args[1:] != ("AL", email):
        a.conn.fail(f"expected REM {removed.trid} AL {email} (no N=, no version), got {removed.line!r}")


@LIST_ERRORS()
def test_list_refusals(msnp: Harness, dialect: str) -> None:
    """`201` for a malformed address (`a@b`), `205` (up to MSNP9) or `208` (MSNP10+) for
    an unknown account, `215` for a contact already on the list, `216` to remove someone
    not on it."""
    a = msnp.sign_in(msnp.a, dialect)
    unknown_code = 205 if a.number < 10 else 208
    for contact, code, why in (("a@b", 201, "a malformed address"), (UNKNOWN, unknown_code, "an unknown account")):
        reply = a.add(contact)
        if reply.error_code != code:
            a.conn.fail(f"adding {why} ({contact}) should get {code}, got {reply.line!r}")
    a.ensure_on_forward_list(msnp.b.email)
    again = a.add(msnp.b.email)
    if again.error_code != 215:
        a.conn.fail(f"adding a contact already on FL should get 215, got {again.line!r}")
    absent = a.remove(UNKNOWN, "AL")
    if absent.error_code != 216:
        a.conn.fail(f"removing someone not on AL should get 216, got {absent.line!r}")


@OTHER_DIALECT("MSNP10+", source="msnp8-12.md §e.1, §l")
def test_add_is_gone_from_msnp10(msnp: Harness, dialect: str) -> None:
    """`ADD` on MSNP10+: `502` (command disabled), or the server hangs up."""
    a = msnp.sign_in(msnp.a, dialect)
    trid = a.conn.request("ADD", "FL", msnp.b.email, msnp.b.email)
    reply = a.conn.expect_or_closed(trid=trid, what=f"502 {trid} or a close")
    if reply is not None and reply.error_code != 502:
        a.conn.fail(f"ADD does not exist in {dialect}: expected 502 {trid} or a close, got {reply.line!r}")


@OTHER_DIALECT("MSNP7-9", source="msnp8-12.md §l")
def test_adc_is_not_there_before_msnp10(msnp: Harness, dialect: str) -> None:
    """`ADC` before MSNP10: `502` (command disabled), or the server hangs up."""
    a = msnp.sign_in(msnp.a, dialect)
    trid = a.conn.request("ADC", "FL", f"N={msnp.b.email}", f"F={msnp.b.email}")
    reply = a.conn.expect_or_closed(trid=trid, what=f"502 {trid} or a close")
    if reply is not None and reply.error_code != 502:
        a.conn.fail(f"ADC does not exist in {dialect}: expected 502 {trid} or a close, got {reply.line!r}")
