"""Presence: `CHG` and its echo, and what watchers (users who have you on their forward
list) hear: `ILN` after their first `CHG`, `NLN` when you change, `FLN` when you leave
or hide."""

from __future__ import annotations

from msgr.testing.wire import Command

from .features import CHG, PRESENCE
from .harness import Harness
from .steps import Ns


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


@CHG()
def test_chg_is_echoed(msnp: Harness, dialect: str) -> None:
    """`CHG <t> <status> [<capabilities>]` -> the same line back, capabilities as given."""
    ns = msnp.sign_in(msnp.a, dialect)
    for status in ("NLN", "BSY", "AWY"):
        reply = ns.chg(status)
        caps = ns.capabilities()
        expected = (status,) if caps is None else (status, caps)
        if reply.name != "CHG" or reply.args[1:3] != expected:
            ns.conn.fail(f"expected CHG {reply.trid} {' '.join(expected)}, got {reply.line!r}")


@CHG()
def test_chg_to_fln_is_201(msnp: Harness, dialect: str) -> None:
    """`FLN` is not a status a client may set: `201`."""
    ns = msnp.sign_in(msnp.a, dialect)
    reply = ns.chg("FLN")
    if reply.error_code != 201:
        ns.conn.fail(f"CHG to FLN should get 201, got {reply.line!r}")


@PRESENCE()
def test_iln_answers_the_first_chg(msnp: Harness, dialect: str) -> None:
    """B is online; A (B on A's forward list) sends its first `CHG`: the `CHG` reply,
    then `ILN <same TrID> NLN <B> <name> …` and, from MSNP11, B's `UBX`."""
    b = msnp.online(msnp.b, dialect)
    a = msnp.sign_in(msnp.a, dialect)
    a.ensure_on_forward_list(b.email)
    caps = a.capabilities()
    trid = a.conn.request("CHG", *(("NLN",) if caps is None else ("NLN", caps)))
    first = a.conn.expect(trid=trid, what=f"CHG {trid} NLN …")
    if first.name != "CHG":
        a.conn.fail(f"the CHG reply comes first, got {first.line!r}")
    iln = a.conn.expect(trid=trid, name="ILN", what=f"ILN {trid} NLN {b.email} …")
    check_presence_line(a, iln, "NLN", b, 1)
    if a.number >= 11:
        ubx = a.conn.next_async("UBX")
        if ubx.args[:1] != (b.email,) or ubx.payload is None or not ubx.payload.startswith(b"<Data"):
            a.conn.fail(f"MSNP11+ follow each ILN with the contact's UBX {b.email} <n> + <Data>…, got {ubx.line!r}")


@PRESENCE()
def test_nln_and_fln_reach_watchers(msnp: Harness, dialect: str) -> None:
    """A is online with B on its forward list. B goes online: A gets `NLN NLN <B> …`;
    B turns busy: `NLN BSY <B> …`; B signs out: `FLN <B>`."""
    a = msnp.sign_in(msnp.a, dialect)
    a.ensure_on_forward_list(msnp.b.email)
    a.online()
    b = msnp.online(msnp.b, dialect)
    check_presence_line(a, a.conn.next_async("NLN"), "NLN", b, 0)
    b.chg("BSY")
    check_presence_line(a, a.conn.next_async("NLN"), "BSY", b, 0)
    b.sign_out()
    fln = a.conn.next_async("FLN")
    if not fln.args or fln.args[0].lower() != b.email.lower():
        a.conn.fail(f"expected FLN {b.email}, got {fln.line!r}")


@PRESENCE(source="msnp8-12.md §f.3")
def test_hidden_users_look_offline(msnp: Harness, dialect: str) -> None:
    """B goes `HDN` (appear offline): its watchers get `FLN <B>`."""
    a = msnp.sign_in(msnp.a, dialect)
    a.ensure_on_forward_list(msnp.b.email)
    a.online()
    b = msnp.online(msnp.b, dialect)
    a.conn.next_async("NLN")
    b.chg("HDN")
    fln = a.conn.next_async(("FLN", "NLN"))
    if fln.name != "FLN" or [a.lower() for a in fln.args[:1]] != [b.email.lower()]:
        a.conn.fail(f"a hidden user looks offline: expected FLN {b.email}, got {fln.line!r}")
