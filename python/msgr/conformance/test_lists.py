"""The contact lists: the `SYN` download in each dialect's shapes, `ADD` (up to MSNP9)
and `ADC`/`REM` (MSNP10+), what the added contact hears, and the refusals."""

from __future__ import annotations

import re

from msgr.testing.wire import Command

from .cases import case
from .features import LIST_ERRORS, LISTS, OTHER_DIALECT, SYN
from .harness import Harness
from .sources import HYP_ERRORS, MSNPIKI_ERRORS, escargot, r2m, sdk, y111
from .steps import Ns
from .test_sign_in import UNKNOWN

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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
    # PRP MFN (MSNP10+) and the user's own phone numbers (PRP PHH …) come before LSG.
    head = next((i for i, n in enumerate(rest) if n != "PRP"), len(rest))
    if number >= 10 and head == 0:
        ns.conn.fail(f"{ns.dialect} sends PRP MFN <name> after BLP")
    body = rest[head:]
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


def lists_put_back(msnp: Harness, ns: Ns, contact: str, before: set[str]) -> None:
    """At the end, ``contact`` is on exactly the lists among FL, AL and BL of ``ns``'s
    user that it was on at the start (``before``)."""

    def restore(h: Harness) -> None:
        again = h.restoring(ns.account, ns.dialect)
        lists = again.lists
        for name in ("BL", "FL", "AL"):
            if name in before:
                again.ensure_on(contact, name, lists)
            else:
                again.ensure_off(contact, name, lists)

    msnp.undo(f"{contact} on {ns.email}'s lists as before ({', '.join(sorted(before & {'FL', 'AL', 'BL'})) or 'none'})", restore)


@case(
    "ns/syn/1",
    SYN,
    rule="""SYN <trid> <version> is answered SYN <trid> <version> (MSNP7, then four LST series FL AL BL RL),
    SYN <trid> <version> <contacts> <groups> (MSNP8, 9) or SYN <trid> <list version> <settings version>
    <contacts> <groups> (MSNP10+), then GTC, BLP, [PRP …], LSG × groups, then for each contact an LST line
    (N=, F=, C= only when on FL, list bits FL=1 AL=2 BL=4 RL=8 PL=16, the network id in MSNP12) followed by its
    BPR lines. A contact on no list is no contact.""",
    sources=(y111("commands/syn"), y111("commands/lst"), "MSNPiki, Command:SYN — http://msnpiki.msnfanatic.com/index.php/Command:SYN", escargot("front/msn/msnp_ns.py _m_syn"), r2m("src/notification_server/commands/syn.rs")),
)
def test_syn_sends_the_lists_in_the_dialects_shapes(msnp: Harness, dialect: str) -> None:
    """`SYN` sends the lists in the dialect's shapes: a contact among them, and none for a
    contact added and removed again in an earlier session (the third account)."""
    ns, lists = msnp.synced(msnp.a, dialect)
    removed = msnp.spare.email
    if msnp.spare != msnp.b:
        lists_put_back(msnp, ns, removed, lists.lists_of(removed))
        with msnp.setup(f"add {removed} to the forward list and remove it again"):
            ns.ensure_off(removed, "FL", lists)
            ns.ensure_off(removed, "AL", lists)
            added = ns.add(removed)
            guid = next((a[2:] for a in added.args if a.startswith("C=")), None)
            if added.is_error or (ns.number >= 10 and guid is None):
                ns.conn.fail(f"could not add {removed} to FL: {added.line!r}")
            gone = ns.remove(removed, guid=guid)
            if gone.is_error:
                ns.conn.fail(f"could not remove {removed} from FL again: {gone.line!r}")
    # The download a client gets when it next signs in.
    ns = msnp.sign_in(msnp.a, dialect)
    got = ns.syn()
    expected_args = {7: 2, 8: 4, 9: 4}.get(ns.number, 5)
    if len(got.reply.args) != expected_args:
        ns.conn.fail(f"{dialect}'s SYN reply has {expected_args - 1} fields after the TrID, got {got.reply.line!r}")
    if ns.number < 8:
        check_msnp7_lists(ns, got.lines, msnp.b.email)
    else:
        check_lists(ns, got.reply, got.lines, msnp.b.email)


def removed_from_rl(msnp: Harness, told: Command, ns: Ns) -> None:
    """The contact's `REM 0 RL [<version>] <account>`; R²M writes the account as ``N=…``."""
    account = told.args[-1]
    if told.args[:2] != ("0", "RL") or account.removeprefix("N=").lower() != ns.email.lower():
        msnp.fail(f"expected REM 0 RL {'<version> ' if ns.number < 10 else ''}{ns.email}, got {told.line!r}")
    if account.startswith("N="):
        msnp.verdict.non_strict(f"REM 0 RL names the account as {account} (a form on record); the original sends the account alone")


@case(
    "ns/lists/1",
    LISTS,
    rule="""Up to MSNP9 the reply to ADD is the request with the new list version after the list name, and
    someone added gets ADD 0 RL <version> <account> <name>; REM's reply likewise, and the contact gets
    REM 0 RL <version> <account>. From MSNP10 ADC FL N=<account> F=<name> is answered with the same plus
    C=<contact guid>, the contact gets ADC 0 RL N=<account> F=<name>; REM FL <guid> is echoed and the contact
    gets REM 0 RL <account>.""",
    sources=(y111("commands/add"), y111("commands/adc"), y111("commands/rem"), "hypothetic.org, Notification: Lists — http://hypothetic.org/docs/msn/sitev2.0/notification/users_groups.php", escargot("front/msn/msnp_ns.py _m_add, _m_adc, _m_rem, on_added_me"), r2m("src/notification_server/commands/adc.rs, add.rs, rem.rs")),
)
def test_adding_and_removing_a_contact(msnp: Harness, dialect: str) -> None:
    """Adding a contact to FL and removing it again; the contact hears of both, in order.
    The contact is the third account, so A and B stay each other's contacts."""
    a, lists = msnp.synced(msnp.a, dialect, contacts=False)
    contact = msnp.spare
    lists_put_back(msnp, a, contact.email, lists.lists_of(contact.email))
    a.ensure_off(contact.email, "FL", lists)
    b = msnp.online(contact, dialect, contacts=False)
    added_name = "ADD" if a.number < 10 else "ADC"
    reply = a.add(b.email)
    if a.number < 10:
        echo = reply.args[:2] + reply.args[3:]
        if reply.name != "ADD" or echo != (str(reply.trid), "FL", b.email, b.email) or not reply.args[2].isdigit():
            a.conn.fail(f"expected ADD {reply.trid} FL <version> {b.email} {b.email} (the request echoed), got {reply.line!r}")
        removed = a.remove(b.email)
        if removed.name != "REM" or removed.args[1:2] != ("FL",) or not removed.args[2].isdigit() or removed.args[3:] != (b.email,):
            a.conn.fail(f"expected REM {removed.trid} FL <version> {b.email}, got {removed.line!r}")
    else:
        expected = ("FL", f"N={b.email}", f"F={b.email}")
        guid_arg = reply.args[4] if len(reply.args) == 5 else ""
        if reply.name != "ADC" or reply.args[1:4] != expected or not guid_arg.startswith("C=") or not GUID.match(guid_arg[2:]):
            a.conn.fail(f"expected ADC {reply.trid} FL N={b.email} F={b.email} C=<guid>, got {reply.line!r}")
        guid = guid_arg[2:]
        removed = a.remove(b.email, guid=guid)
        if removed.name != "REM" or removed.args[1:] != ("FL", guid):
            a.conn.fail(f"expected REM {removed.trid} FL {guid}, got {removed.line!r}")
    # B hears of the add, then of the removal: the second is the barrier for the first.
    told = b.conn.next_async((added_name, "REM"))
    if told.name == "REM":
        b.conn.fail(f"{b.email} was never told it was added ({added_name} 0 RL …): the removal came first, {told.line!r}")
    if a.number < 10:
        if told.args[:2] != ("0", "RL") or len(told.args) < 4 or told.args[3].lower() != a.email.lower():
            b.conn.fail(f"expected ADD 0 RL <version> {a.email} <name>, got {told.line!r}")
    elif told.args[:2] != ("0", "RL") or told.args[2:3] != (f"N={a.email}",):
        b.conn.fail(f"expected ADC 0 RL N={a.email} F=<name>, got {told.line!r}")
    removed_from_rl(msnp, b.conn.next_async("REM"), a)


@case(
    "ns/lists/2",
    LISTS,
    rule="""ADD <trid> AL <account> <name> is answered ADD <trid> AL <version> <account> <name> and REM <trid> AL
    <account> REM <trid> AL <version> <account> up to MSNP9; from MSNP10 ADC <trid> AL N=<account> and REM
    <trid> AL <account> are echoed (list-version-updating commands no longer return the list version).""",
    sources=(y111("commands/adc"), y111("versions/msnp10"), escargot("front/msn/msnp_ns.py _m_adc, _m_rem"), r2m("src/notification_server/commands/adc.rs, rem.rs")),
)
def test_the_allow_list(msnp: Harness, dialect: str) -> None:
    """Adding to and removing from the allow list, in the dialect's shapes (the third account)."""
    a, lists = msnp.synced(msnp.a, dialect, contacts=False)
    email = msnp.spare.email
    lists_put_back(msnp, a, email, lists.lists_of(email))
    a.ensure_off(email, "AL", lists)
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


@case(
    "ns/lists/3",
    LIST_ERRORS,
    rule="""201: ADD an invalid email address (a@b). 205: ADD a non-existent, but valid, account name; with MSNP10
    and above, this has changed to error 208. 215: the user is already on the list. 216: REM of a user who is
    not on the list.""",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_ns.py _add_common, _m_rem"), r2m("src/notification_server/commands/adc.rs, add.rs, rem.rs"), sdk("src/notification_server/commands/add_contact.rs (201, 208, 215)")),
)
def test_list_refusals(msnp: Harness, dialect: str) -> None:
    """`201` for `a@b`, `205`/`208` for an unknown account, `215` already there, `216` not there."""
    a, _ = msnp.synced(msnp.a, dialect)
    unknown_code = 205 if a.number < 10 else 208
    for contact, code, why in (("a@b", 201, "a malformed address"), (UNKNOWN, unknown_code, "an unknown account")):
        msnp.refused(a.conn, a.add(contact), code, f"adding {why} ({contact})")
    again = a.add(msnp.b.email)
    if again.name in ("ADD", "ADC"):
        msnp.verdict.non_strict(f"adding a contact already on FL was accepted again ({again.line!r}) where the original refuses with 215; the list ends the same")
    else:
        msnp.refused(a.conn, again, 215, "adding a contact already on FL")
    msnp.refused(a.conn, a.remove(UNKNOWN, "AL"), 216, "removing someone not on AL")


@case(
    "ns/lists/4",
    OTHER_DIALECT,
    dialects="MSNP10+",
    rule="ADD on MSNP10+: automatic disconnection (y111); Escargot closes, R2M answers 502 (command disabled).",
    sources=(y111("commands/add"), escargot("front/msn/msnp_ns.py _m_add"), r2m("src/notification_server/commands/add.rs")),
)
def test_add_is_gone_from_msnp10(msnp: Harness, dialect: str) -> None:
    """`ADD` on MSNP10+: the server hangs up (or answers `502`)."""
    a = msnp.sign_in(msnp.a, dialect)
    trid = a.conn.request("ADD", "FL", msnp.b.email, msnp.b.email)
    reply = a.conn.expect_or_closed(trid=trid, what=f"a close (or 502 {trid})")
    if reply is None:
        return
    if reply.error_code != 502:
        a.conn.fail(f"ADD does not exist in {dialect}: expected a close or 502 {trid}, got {reply.line!r}")
    msnp.verdict.non_strict("502 where the original service disconnects")


@case(
    "ns/lists/5",
    OTHER_DIALECT,
    dialects="MSNP7-9",
    rule="502 command disabled: commands of another dialect (GCF/PRP/ADC below their dialect).",
    sources=(HYP_ERRORS, escargot("front/msn/msnp_ns.py _m_adc"), r2m("src/notification_server/commands/adc.rs")),
)
def test_adc_is_not_there_before_msnp10(msnp: Harness, dialect: str) -> None:
    """`ADC` before MSNP10: `502`, or the server hangs up."""
    a = msnp.sign_in(msnp.a, dialect)
    trid = a.conn.request("ADC", "FL", f"N={msnp.b.email}", f"F={msnp.b.email}")
    reply = a.conn.expect_or_closed(trid=trid, what=f"502 {trid} or a close")
    if reply is not None and reply.error_code != 502:
        a.conn.fail(f"ADC does not exist in {dialect}: expected 502 {trid} or a close, got {reply.line!r}")
