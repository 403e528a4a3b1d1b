"""What a user keeps about contacts and tells them: the name kept for a contact (`REA`
on the contact up to MSNP9, `SBP <guid> MFN` from MSNP10) and phone numbers (`PRP
PHH|PHW|PHM|MOB|MBE`, the contacts' as `BPR`)."""

from __future__ import annotations

import secrets

from msgr.testing.wire import Command, ExchangeError

from .cases import case
from .features import NICKNAMES, PHONES
from .harness import Harness
from .sources import escargot, r2m, sdk, y111
from .steps import Ns


def contact_guid(ns: Ns, contact: str) -> str:
    """``contact``'s GUID in ``ns``'s latest list download (MSNP10+)."""
    lists = ns.lists or ns.syn()
    guid = lists.contacts().get(contact.lower(), (set(), None))[1]
    if guid is None:
        ns.conn.fail(f"the list download gives {contact} no contact GUID (C=)")
    return guid


def lst_name(ns: Ns, contact: str) -> str | None:
    """The name field of ``contact``'s `LST` line in a new list download (encoded)."""
    for line in ns.syn().named("LST"):
        args = line.args
        if ns.number < 8 and args[1:2] == ("FL",) and len(args) >= 7 and args[5].lower() == contact.lower():
            return args[6]
        if 8 <= ns.number < 10 and args and args[0].lower() == contact.lower():
            return args[1] if len(args) > 1 else None
        if ns.number >= 10 and f"N={contact}".lower() in (a.lower() for a in args):
            return next((a[2:] for a in args if a.startswith("F=")), None)
    return None


def keep_name(ns: Ns, contact: str, name: str) -> Command:
    """`REA <t> <contact> <name>` (up to MSNP9) or `SBP <t> <guid> MFN <name>`."""
    if ns.number < 10:
        return ns.conn.call("REA", contact, name)
    return ns.conn.call("SBP", contact_guid(ns, contact), "MFN", name)


@case(
    "ns/nickname/1",
    NICKNAMES,
    rule="""Up to MSNP9 REA <t> <contact> <name> on a forward-list contact is answered REA <t> <version> <contact>
    <name>; from MSNP10 SBP <t> <contact guid> MFN <name> is echoed. The name is echoed byte for byte, and the
    next SYN shows it in the contact's LST line.""",
    sources=(y111("commands/rea"), y111("commands/sbp"), escargot("front/msn/msnp_ns.py _m_rea, _m_sbp"), r2m("src/notification_server/commands/sbp.rs"), sdk("src/notification_server/commands/set_contact_name.rs")),
)
def test_a_name_is_kept_for_a_contact(msnp: Harness, dialect: str) -> None:
    """A name kept for a forward-list contact is echoed as sent and listed."""
    ns, _ = msnp.synced(msnp.a, dialect)
    contact = msnp.b.email
    before = lst_name(ns, contact) or contact

    def restore(h: Harness) -> None:
        keep_name(h.restoring(ns.account, ns.dialect), contact, before)

    msnp.undo(f"the name {ns.email} keeps for {contact}", restore)
    name = f"Name%20{secrets.token_hex(3)}"
    reply = keep_name(ns, contact, name)
    if reply.error_code in (200, 208, 502):
        msnp.missing("contact-names", dialect, f"the server refused a name for a contact ({reply.name}): it keeps none")
    if ns.number < 10:
        ok = reply.name == "REA" and len(reply.args) == 4 and reply.args[1].isdigit() and reply.args[2:] == (contact, name)
        shape = f"REA {reply.trid} <version> {contact} {name}"
    else:
        guid = contact_guid(ns, contact)
        ok = reply.name == "SBP" and reply.args[1:] == (guid, "MFN", name)
        shape = f"SBP {reply.trid} {guid} MFN {name}"
    if not ok:
        ns.conn.fail(f"expected {shape}, got {reply.line!r}")
    # Whether the original listed the kept name is our reading [I]: not doing so is
    # NON-STRICT, the echo above is the rule.
    shown = lst_name(ns, contact)
    if shown is None or shown.lower() != name.lower():
        msnp.verdict.non_strict(f"the name was echoed but the next list download names {contact} {shown!r}, not {name}")


def set_phone(msnp: Harness, ns: Ns, kind: str, value: str) -> Command:
    """`PRP <t> <kind> <value>`: `PRP <t> <version> <kind> <value>` up to MSNP9, echoed
    from MSNP10. A server that refuses it as unknown or disabled keeps no numbers:
    UNSUPPORTED."""
    reply = ns.conn.call("PRP", kind, value)
    if reply.error_code in (200, 502):
        msnp.missing("phones", ns.dialect, f"the server refused PRP {kind} ({reply.name}): it keeps no phone numbers")
    if ns.number < 10:
        ok = reply.name == "PRP" and len(reply.args) == 4 and reply.args[1].isdigit() and reply.args[2:] == (kind, value)
        shape = f"PRP {reply.trid} <version> {kind} {value}"
    else:
        ok = reply.name == "PRP" and reply.args[1:] == (kind, value)
        shape = f"PRP {reply.trid} {kind} {value}"
    if not ok:
        ns.conn.fail(f"expected {shape}, got {reply.line!r}")
    return reply


@case(
    "ns/phone/1",
    PHONES,
    dialects="MSNP8+",
    rule="""C: PRP <t> PHH <number> (PHW, PHM; MOB and MBE take Y or N); S: PRP <t> <version> PHH <number> (MSNP8/9),
    the request echoed (MSNP10+). The next SYN carries the user's own numbers as PRP <type> <value> before the
    LSG lines; a watcher who may see the user gets BPR <version> <account> <type> <value> (MSNP8/9) or BPR
    <account> <type> <value> (MSNP10+), and its own SYN has BPR <type> <value> after the user's LST.""",
    sources=(y111("commands/prp"), y111("commands/bpr"), "Twisted Words 2.x, twisted/words/protocols/msn.py handle_PRP, handle_BPR", escargot("front/msn/msnp_ns.py _m_prp")),
)
def test_a_phone_number_is_kept_and_watchers_see_it(msnp: Harness, dialect: str) -> None:
    """A's home number is echoed, listed in A's download, and reaches B as `BPR`."""
    b = msnp.online(msnp.b, dialect)
    a, _ = msnp.synced(msnp.a, dialect)
    number = f"555%20{secrets.randbelow(10**6):06d}"
    msnp.undo(f"{a.email}'s home number", lambda h: h.restoring(h.a, dialect).conn.call("PRP", "PHH"))
    set_phone(msnp, a, "PHH", number)
    # BPR is optional (msnp8-12.md §d.6: "a server may send none"); the original sent
    # it, so a server that does not is NON-STRICT. One that sends it must shape it right.
    try:
        told: Command | None = b.conn.wait_for(lambda c: c.name == "BPR" and c.args[-2:] == ("PHH", number), what=f"BPR … {a.email} PHH {number}")
    except ExchangeError:
        told = None
        msnp.verdict.non_strict(f"B was not sent BPR … {a.email} PHH {number} (optional; the original sent it)")
    expected = 4 if b.number < 10 else 3
    if told is not None and (len(told.args) != expected or told.args[-3] != a.email or (b.number < 10 and not told.args[0].isdigit())):
        b.conn.fail(f"expected BPR {'<version> ' if b.number < 10 else ''}{a.email} PHH {number}, got {told.line!r}")
    own = a.syn()
    if not any(c.args == ("PHH", number) for c in own.named("PRP")):
        msnp.verdict.non_strict(f"A's next list download carries no PRP PHH {number}")
    lines = b.syn().lines
    at = next((i for i, c in enumerate(lines) if c.name == "LST" and any(a.email.lower() in x.lower() for x in c.args)), None)
    if at is None or not any(c.name == "BPR" and c.args == ("PHH", number) for c in lines[at + 1 : at + 6]):
        msnp.verdict.non_strict(f"B's list download carries no BPR PHH {number} after A's LST (optional)")
