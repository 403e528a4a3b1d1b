"""Contact groups: `ADG`, `REG`, `RMG` in each dialect's shape, putting a contact into
a group and taking it out (`ADD`/`REM` with a group number up to MSNP9, `ADC`/`REM`
with GUIDs from MSNP10), what the next list download shows, and the refusals."""

from __future__ import annotations

import secrets

from msgr.testing.wire import Command

from .cases import case
from .features import GROUPS
from .harness import Harness
from .sources import HYP_ERRORS, MSNPIKI_ERRORS, escargot, r2m, sdk, y111
from .steps import Ns
from .test_lists import GUID

_SOURCES = (
    y111("commands/adg"),
    y111("commands/rmg"),
    y111("commands/reg"),
    y111("commands/lsg"),
    "hypothetic.org, Notification: Lists — http://hypothetic.org/docs/msn/sitev2.0/notification/users_groups.php",
    escargot("front/msn/msnp_ns.py _m_adg, _m_rmg, _m_reg"),
    r2m("src/notification_server/commands/adg.rs, rmg.rs, reg.rs"),
    sdk("src/notification_server/commands/adg.rs, rmg.rs, reg.rs"),
)


def fresh_name(ns: Ns) -> str:
    """A group name no earlier run left behind (URL-safe as it is)."""
    return f"msgr-{ns.number}-{secrets.token_hex(3)}"


def trailing_zero(ns: Ns) -> tuple[str, ...]:
    """Up to MSNP9 a group name is followed by an unused `0`."""
    return () if ns.number >= 10 else ("0",)


def made_group(msnp: Harness, ns: Ns, reply: Command, name: str) -> str:
    """The new group's reference from an `ADG` reply: `ADG <t> <version> <name> <id> 0`
    up to MSNP9; from MSNP10 `ADG <t> 1 <name> <guid>` (what msnp11-sdk reads), while
    `ADG <t> <name> <guid> [0]` (y111, Escargot) is NON-STRICT."""
    args = reply.args
    if ns.number < 10:
        if reply.name != "ADG" or len(args) != 5 or not args[1].isdigit() or args[2] != name or not args[3].isdigit() or args[4] != "0":
            ns.conn.fail(f"expected ADG {reply.trid} <version> {name} <id> 0, got {reply.line!r}")
        return args[3]
    if reply.name == "ADG" and args[1:3] == ("1", name) and len(args) == 4 and GUID.match(args[3]):
        return args[3]
    if reply.name == "ADG" and args[1:2] == (name,) and len(args) in (3, 4) and GUID.match(args[2]):
        msnp.verdict.non_strict(f"ADG answered {reply.line!r}: msnp11-sdk reads the name 4th and the GUID 5th (ADG <t> 1 <name> <guid>)")
        return args[2]
    ns.conn.fail(f"expected ADG {reply.trid} 1 {name} <guid>, got {reply.line!r}")


def make_group(msnp: Harness, ns: Ns, name: str) -> str:
    """`ADG` a group called ``name``, removed again at the end; its reference. A server
    that ignores `ADG` (found by a `PNG` barrier), refuses it as unknown or disabled
    (`200`, `502`) or closes has no groups: UNSUPPORTED."""
    reply = msnp.probe(ns, "groups", "no groups", "ADG", name, *trailing_zero(ns))
    group = made_group(msnp, ns, reply, name)

    def remove(h: Harness) -> None:
        again = h.restoring(ns.account, ns.dialect)
        again.conn.call("RMG", group)

    msnp.undo(f"the group {name}", remove)
    return group


def groups_listed(ns: Ns) -> dict[str, str]:
    """The groups of a new list download: reference -> name (MSNP7 `LSG <t> <v> <i>
    <n> <id> <name> 0`, MSNP8/9 `LSG <id> <name> 0`, MSNP10+ `LSG <name> <guid>`)."""
    found = {}
    for line in ns.syn().named("LSG"):
        args = line.args
        if ns.number < 8 and len(args) >= 6:
            found[args[4]] = args[5]
        elif 8 <= ns.number < 10 and len(args) >= 2:
            found[args[0]] = args[1]
        elif ns.number >= 10 and len(args) >= 2:
            found[args[1].lower()] = args[0]
    return found


def groups_of(ns: Ns, contact: str) -> set[str]:
    """The groups a new list download puts ``contact`` in (MSNP8+; MSNP7 the `LST FL`
    line's last field)."""
    for line in ns.syn().named("LST"):
        args = line.args
        if ns.number < 8:
            if args[1:2] == ("FL",) and len(args) >= 8 and args[5].lower() == contact.lower():
                return set(args[7].split(","))
        elif ns.number < 10:
            if args and args[0].lower() == contact.lower():
                return set(args[3].split(",")) if len(args) > 3 else set()
        elif f"N={contact}".lower() in (a.lower() for a in args):
            at = next(i for i, a in enumerate(args) if a.isdigit()) + (2 if ns.number >= 12 else 1)
            return {g.lower() for g in args[at].split(",")} if len(args) > at else set()
    return set()


@case(
    "ns/groups/1",
    GROUPS,
    rule="""MSNP7–9: C: ADG 40 Friends 0, S: ADG 40 <version> Friends <id> 0; C: REG 42 <id> <name> 0,
    S: REG 42 <version> <id> <name> 0; C: RMG 41 <id>, S: RMG 41 <version> <id>. MSNP10–12: C: ADG 40 Friends,
    S: ADG 40 1 Friends <guid>; C: REG 42 <guid> <name>, S: REG 42 1 <name> <guid>; C: RMG 41 <guid>,
    S: RMG 41 1 <guid> (the shapes msnp11-sdk reads). The name is echoed as sent; the next SYN lists the group
    as LSG <id> <name> 0 (MSNP8/9), LSG <name> <guid> (MSNP10+).""",
    sources=_SOURCES,
)
def test_a_group_is_made_renamed_and_removed(msnp: Harness, dialect: str) -> None:
    """A group is made, renamed and removed, each answered in the dialect's shape and
    seen in the next list download."""
    msnp.probed("groups", dialect)
    ns, _ = msnp.synced(msnp.a, dialect, contacts=False)
    name, renamed = fresh_name(ns), fresh_name(ns)
    group = make_group(msnp, ns, name)
    if groups_listed(ns).get(group.lower()) != name:
        ns.conn.fail(f"the next list download should list the group {name} ({group})")
    reply = ns.conn.call("REG", group, renamed, *trailing_zero(ns))
    if ns.number < 10:
        ok = reply.name == "REG" and len(reply.args) == 5 and reply.args[1].isdigit() and reply.args[2:] == (group, renamed, "0")
        shape = f"REG {reply.trid} <version> {group} {renamed} 0"
        if not ok and reply.name == "REG" and len(reply.args) == 4 and reply.args[1].isdigit() and reply.args[2:] == (group, renamed):
            msnp.verdict.non_strict(f"REG answered {reply.line!r}, without the trailing 0 of {shape}")
            ok = True
    else:
        ok = reply.name == "REG" and reply.args[1:] == ("1", renamed, group)
        shape = f"REG {reply.trid} 1 {renamed} {group}"
        if not ok and reply.name == "REG" and reply.args[1:] in ((group, renamed), ("1", renamed, group, "0")):
            msnp.verdict.non_strict(f"REG answered {reply.line!r}: msnp11-sdk reads the name 4th and the GUID 5th ({shape})")
            ok = True
    if not ok:
        ns.conn.fail(f"expected {shape}, got {reply.line!r}")
    if groups_listed(ns).get(group.lower()) != renamed:
        ns.conn.fail(f"the next list download should list the group as {renamed}")
    reply = ns.conn.call("RMG", group)
    version = reply.args[1] if len(reply.args) > 1 else ""
    if reply.name != "RMG" or len(reply.args) != 3 or reply.args[2] != group or not (version.isdigit() if ns.number < 10 else version == "1"):
        if ns.number >= 10 and reply.name == "RMG" and reply.args[1:] == (group,):
            msnp.verdict.non_strict(f"RMG answered {reply.line!r}: msnp11-sdk reads the GUID 4th (RMG <t> 1 <guid>)")
        else:
            ns.conn.fail(f"expected RMG {reply.trid} {'<version>' if ns.number < 10 else '1'} {group}, got {reply.line!r}")
    msnp.undone(f"the group {name}")
    if group.lower() in groups_listed(ns):
        ns.conn.fail(f"the group {group} is still in the list download after RMG")


@case(
    "ns/groups/2",
    GROUPS,
    rule="""A contact on FL goes into a group with ADD <t> FL <account> <name> <id> up to MSNP9 (the reply is
    the request with the list version) and ADC <t> FL C=<contact guid> <group guid> from MSNP10 (echoed), and
    out of it with REM <t> FL <account> <id> (MSNP7–9, the list version inserted) or REM <t> FL <contact guid>
    <group guid> (MSNP10+, echoed). The next SYN shows its groups after the list bits (MSNP12: after the
    network id).""",
    sources=_SOURCES + (y111("commands/add"), y111("commands/adc"), y111("commands/rem"), y111("commands/lst")),
)
def test_a_contact_joins_and_leaves_a_group(msnp: Harness, dialect: str) -> None:
    """A forward-list contact goes into a group and out of it again."""
    msnp.probed("groups", dialect)
    ns, lists = msnp.synced(msnp.a, dialect)
    contact = msnp.b.email
    group = make_group(msnp, ns, fresh_name(ns))
    if ns.number < 10:
        reply = ns.conn.call("ADD", "FL", contact, contact, group)
        if reply.name != "ADD" or reply.args[1:2] != ("FL",) or not reply.args[2].isdigit() or reply.args[3:4] != (contact,) or reply.args[-1] != group:
            ns.conn.fail(f"expected ADD {reply.trid} FL <version> {contact} <name> {group}, got {reply.line!r}")
    else:
        guid = lists.contacts().get(contact.lower(), (set(), None))[1]
        if guid is None:
            ns.conn.fail(f"the list download gives {contact} no contact GUID (C=)")
        request = (f"C={guid}", group)
        reply = ns.conn.call("ADC", "FL", *request)
        if reply.name != "ADC" or reply.args[1:] != ("FL", *request):
            ns.conn.fail(f"expected ADC {reply.trid} FL C={guid} {group} (echoed), got {reply.line!r}")
    if group.lower() not in groups_of(ns, contact):
        ns.conn.fail(f"the next list download should put {contact} in the group {group}")
    target = contact if ns.number < 10 else f"{guid}"
    reply = ns.conn.call("REM", "FL", target, group)
    if ns.number < 10:
        ok = reply.name == "REM" and reply.args[1:2] == ("FL",) and reply.args[2].isdigit() and reply.args[3:] == (contact, group)
    else:
        ok = reply.name == "REM" and reply.args[1:] == ("FL", target, group)
    if not ok:
        ns.conn.fail(f"expected REM {reply.trid} FL {'<version> ' if ns.number < 10 else ''}{target} {group}, got {reply.line!r}")
    if group.lower() in groups_of(ns, contact):
        ns.conn.fail(f"{contact} is still in the group {group} after REM")


@case(
    "ns/groups/3",
    GROUPS,
    rule="""228: a group of that name exists (ADG); 224: no such group (RMG, REG, and ADD/ADC/REM with a group);
    225: the contact is not in that group (REM with a group); 230: group 0 cannot be removed (RMG 0, up to
    MSNP9, where group 0 always exists).""",
    sources=(y111("commands/adg"), y111("commands/rmg"), HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_ns.py _m_adg, _m_rmg"), sdk("src/notification_server/commands/rmg.rs")),
)
def test_group_refusals(msnp: Harness, dialect: str) -> None:
    """A taken name, a group that does not exist, a contact not in the group, group 0."""
    msnp.probed("groups", dialect)
    ns, lists = msnp.synced(msnp.a, dialect)
    name = fresh_name(ns)
    group = make_group(msnp, ns, name)
    msnp.refused(ns.conn, ns.conn.call("ADG", name, *trailing_zero(ns)), 228, "ADG with the name of a group there is")
    missing = "9999" if ns.number < 10 else "00000000-0000-4000-8000-000000000000"
    msnp.refused(ns.conn, ns.conn.call("RMG", missing), 224, "RMG of a group there is not")
    msnp.refused(ns.conn, ns.conn.call("REG", missing, fresh_name(ns), *trailing_zero(ns)), 224, "REG of a group there is not")
    contact = msnp.b.email
    if ns.number < 10:
        target = contact
        msnp.refused(ns.conn, ns.conn.call("RMG", "0"), 230, "RMG 0 (group 0 always exists)")
    else:
        guid = lists.contacts().get(contact.lower(), (set(), None))[1]
        if guid is None:
            ns.conn.fail(f"the list download gives {contact} no contact GUID (C=)")
        target = guid
    msnp.refused(ns.conn, ns.conn.call("REM", "FL", target, group), 225, "REM from a group the contact is not in")
    msnp.refused(ns.conn, ns.conn.call("REM", "FL", target, missing), 224, "REM from a group there is not")
