"""Presence: `CHG` and its echo, and what watchers (users who have you on their forward
list) hear: `ILN` after their first `CHG`, `NLN` when you change, `FLN` when you leave
or hide. Every user here signs in, downloads its lists, then changes status, as real
clients do (some servers build their watcher lists at `SYN`)."""

from __future__ import annotations

from msgr.testing.wire import Command

from .cases import case
from .features import CHG, PRESENCE
from .harness import Harness
from .sources import HYP_ERRORS, escargot, r2m, y111
from .steps import Ns

#: An empty personal message, as MSNP11 clients send and servers relay it.
EMPTY_PSM = b"<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>"


def check_presence_line(watcher: Ns, line: Command, status: str, who: Ns, first: int) -> None:
    """`ILN`/`NLN` fields from ``first`` on: status, account, URL-encoded name, then
    the capabilities from MSNP8 (as the user's `CHG` gave them) and, from MSNP9, an
    optional MSN object. Never `HDN` or `FLN` as a status."""
    fields = line.args[first:]
    number = watcher.number
    allowed = (3,) if number < 8 else (4,) if number == 8 else (4, 5)
    if len(fields) not in allowed or fields[0] != status or fields[1].lower() != who.email.lower():
        shape = "<status> <account> <name>" + ("" if number < 8 else " <capabilities>") + (" [<msn object>]" if number >= 9 else "")
        watcher.conn.fail(f"expected {line.name} {'<t> ' if first else ''}{shape} with {status} {who.email}, got {line.line!r}")
    caps = who.capabilities()
    if number >= 8 and caps is not None and fields[3] != caps:
        watcher.conn.fail(f"{who.email} announced capabilities {caps} in CHG; watchers get them as given, got {fields[3]!r}")


def heard(watcher: Ns, who: Ns, name: str, status: str | None = None, *, strict: bool = True) -> Command:
    """The next `NLN` (with ``status``) or `FLN` of ``who`` the watcher gets. Others of
    ``who`` before it (a server may repeat an old status) are passed over, and named if
    the one awaited never comes. ``strict`` (the presence cases) fails at once on an
    `NLN` whose status is `FLN` or `HDN`; elsewhere such a line is only passed over
    and noted, since presence is not what those cases judge."""
    email = who.email.lower()
    passed: list[str] = []

    def match(c: Command) -> bool:
        if c.name not in ("NLN", "FLN"):
            return False
        account = c.args[1] if c.name == "NLN" and len(c.args) > 1 else c.args[0] if c.args else ""
        if account.lower() != email:
            return False
        if strict and c.name == "NLN" and c.args[:1] in (("FLN",), ("HDN",)):
            watcher.conn.fail(f"NLN never carries {c.args[0]} as a status (a user going offline or hidden is FLN): got {c.line!r}")
        if c.name == name and (status is None or c.args[:1] == (status,)):
            return True
        passed.append(c.line)
        return False

    try:
        return watcher.conn.wait_for(match, what=f"{name} {status + ' ' if status else ''}{who.email}")
    finally:
        if passed:
            watcher.conn.transcript.note(watcher.conn.label, f"passed over while waiting: {'; '.join(passed)}")


@case(
    "ns/chg/1",
    CHG,
    rule="""CHG <trid> <status> [<capabilities> [<msn object>]]: the reply is the request echoed. Statuses: NLN
    online, BSY busy, IDL idle, BRB be right back, AWY away, PHN on the phone, LUN out to lunch, HDN appear
    offline.""",
    sources=(y111("commands/chg"), escargot("front/msn/msnp_ns.py _m_chg"), r2m("src/notification_server/commands/chg.rs")),
)
def test_chg_is_echoed(msnp: Harness, dialect: str) -> None:
    """`CHG <t> <status> [<capabilities>]` -> the same line back, capabilities as given."""
    ns, _ = msnp.synced(msnp.a, dialect)
    for status in ("NLN", "BSY", "AWY", "IDL", "BRB", "PHN", "LUN"):
        reply = ns.chg(status)
        caps = ns.capabilities()
        expected = (status,) if caps is None else (status, caps)
        if reply.name != "CHG" or reply.args[1:3] != expected:
            ns.conn.fail(f"expected CHG {reply.trid} {' '.join(expected)}, got {reply.line!r}")


@case(
    "ns/chg/2",
    CHG,
    rule="201 Invalid parameter: sent if the command has a parameter that is considered invalid by the server. Setting your status to FLN would be an example.",
    sources=(HYP_ERRORS, escargot("front/msn/msnp_ns.py _m_chg"), r2m("src/notification_server/commands/chg.rs")),
)
def test_chg_to_fln_is_201(msnp: Harness, dialect: str) -> None:
    """`FLN` is not a status a client may set: `201`."""
    ns, _ = msnp.synced(msnp.a, dialect)
    msnp.refused(ns.conn, ns.chg("FLN"), 201, "CHG to FLN")


@case(
    "ns/presence/1",
    PRESENCE,
    rule="""First CHG of the session triggers, after the CHG reply, one ILN <same trid> … per FL contact who is
    online and visible to this user, and on MSNP11+ each followed by that contact's UBX (here the contact has a
    personal message; whether one is sent for an empty one varies).""",
    sources=(y111("commands/iln"), "MSNPiki, Command:ILN — http://msnpiki.msnfanatic.com/index.php/Command:ILN", escargot("front/msn/msnp_ns.py _m_chg"), r2m("src/notification_server/commands/iln.rs")),
)
def test_iln_answers_the_first_chg(msnp: Harness, dialect: str) -> None:
    """B is online; A's first `CHG` gets its reply, then `ILN <same t> NLN <B> …` (and B's `UBX`)."""
    b = msnp.online(msnp.b, dialect)
    psm = b"<Data><PSM>conformance</PSM><CurrentMedia></CurrentMedia></Data>"
    if b.number >= 11:
        msnp.undo(f"{b.email}'s personal message", lambda h: h.restoring(h.b, dialect).conn.call("UUX", payload=EMPTY_PSM))
        b.conn.call("UUX", payload=psm)
    a, _ = msnp.synced(msnp.a, dialect)
    caps = a.capabilities()
    trid = a.conn.request("CHG", *(("NLN",) if caps is None else ("NLN", caps)))
    first = a.conn.expect(trid=trid, what=f"CHG {trid} NLN …")
    if first.name != "CHG":
        a.conn.fail(f"the CHG reply comes first, got {first.line!r}")
    iln = a.conn.expect(trid=trid, name="ILN", what=f"ILN {trid} NLN {b.email} …")
    check_presence_line(a, iln, "NLN", b, 1)
    if a.number >= 11:
        ubx = a.conn.next_async("UBX")
        if ubx.args[:1] != (b.email,) or ubx.payload != psm:
            a.conn.fail(f"MSNP11+ follow each ILN with the contact's UBX {b.email} {len(psm)} + its personal message, got {ubx.line!r}")


@case(
    "ns/presence/2",
    PRESENCE,
    rule="""NLN (a contact's status, name, capabilities or picture changed; no TrID): NLN <status> <account> <name>
    <capabilities> [<msn object>]; FLN <account> when a contact went offline. Who receives NLN/FLN: every
    online user who has the changing user on FL, unless that user blocks them.""",
    sources=(y111("commands/nln"), y111("commands/fln"), escargot("front/msn/misc.py build_presence_notif"), r2m("src/notification_server/commands/nln.rs, fln.rs")),
)
def test_nln_and_fln_reach_watchers(msnp: Harness, dialect: str) -> None:
    """B goes online, busy, then signs out: A (watching) gets `NLN NLN`, `NLN BSY`, `FLN`."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    check_presence_line(a, heard(a, b, "NLN"), "NLN", b, 0)
    b.chg("BSY")
    check_presence_line(a, heard(a, b, "NLN", "BSY"), "BSY", b, 0)
    b.sign_out()
    heard(a, b, "FLN")


@case(
    "ns/presence/3",
    PRESENCE,
    rule="When a user goes HDN, others get FLN. The status is never HDN or FLN in ILN/NLN.",
    sources=(y111("commands/chg"), y111("commands/fln"), r2m("src/notification_server/commands/chg.rs")),
)
def test_hidden_users_look_offline(msnp: Harness, dialect: str) -> None:
    """B goes `HDN` (appear offline): its watchers get `FLN <B>`."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    heard(a, b, "NLN", "NLN")
    b.chg("HDN")
    heard(a, b, "FLN")
