"""Switchboards: `XFR SB`, the caller's `USR`/`CAL`, the callee's `RNG`/`ANS` with `IRO`,
the caller's `JOI`; `MSG` relayed byte for byte, its acknowledgements, and `BYE`."""

from __future__ import annotations

import pytest

from msgr.testing.wire import Command, encode_invitation

from .features import ACKS, BYE, CALL, RELAY, XFR
from .harness import Harness, label_of
from .steps import Ns, Sb, address_of, text_message, typing_message
from .test_sign_in import UNKNOWN


@XFR()
def test_xfr_sb_hands_out_a_switchboard(msnp: Harness, dialect: str) -> None:
    """`XFR <t> SB` -> `XFR <t> SB <host:port> CKI <cookie>`, nothing more (the MSNP13+
    tails are not for these dialects)."""
    a = msnp.online(msnp.a, dialect)
    reply = a.conn.call("XFR", "SB")
    if reply.name != "XFR" or len(reply.args) != 5 or reply.args[1] != "SB" or reply.args[3] != "CKI":
        a.conn.fail(f"expected XFR {reply.trid} SB <host:port> CKI <cookie>, got {reply.line!r}")
    address_of(a.conn, reply.args[2])


@XFR(source="msnp.md §b.10; msnp8-12.md §f.1, §j.1")
def test_xfr_sb_before_the_first_chg_is_913(msnp: Harness, dialect: str) -> None:
    """A user not yet present (no `CHG` sent) cannot open a switchboard: `913`."""
    a = msnp.sign_in(msnp.a, dialect)
    reply = a.conn.call("XFR", "SB")
    if reply.error_code != 913:
        a.conn.fail(f"XFR SB before the first CHG should get 913, got {reply.line!r}")


@XFR(source="msnp.md §b.10; msnp8-12.md §j.1")
def test_xfr_sb_while_hidden_is_913(msnp: Harness, dialect: str) -> None:
    """A user who appears offline (`HDN`) cannot open a switchboard: `913`."""
    a = msnp.online(msnp.a, dialect)
    a.chg("HDN")
    reply = a.conn.call("XFR", "SB")
    if reply.error_code != 913:
        a.conn.fail(f"XFR SB while HDN should get 913, got {reply.line!r}")


def joined_fields(ns: Ns, line: Command, first: int, who: Ns) -> None:
    """`IRO`/`JOI` end with `<account> <name>`, plus (MSNP12) the capabilities the user
    gave in `CHG`."""
    fields = line.args[first:]
    caps = who.capabilities()
    modern = ns.number >= 12
    expected = 3 if modern else 2
    if len(fields) != expected or fields[0].lower() != who.email.lower():
        tail = " <capabilities>" if modern else ""
        ns.conn.fail(f"expected {line.name} … {who.email} <name>{tail} in {ns.dialect}, got {line.line!r}")
    if modern and fields[2] != caps:
        ns.conn.fail(f"{who.email} announced capabilities {caps}; {line.name} carries them as given, got {fields[2]!r}")


@CALL()
def test_a_call_rings_and_joins(msnp: Harness, dialect: str) -> None:
    """Caller: `USR <t> <a> <cookie>` -> `USR <t> OK <a> <name>`; `CAL <t> <b>` ->
    `CAL <t> RINGING <session>`. Callee: `RNG <session> <host:port> CKI <cookie> <a>
    <name>`; `ANS <t> <b> <cookie> <session>` -> `IRO <t> 1 1 <a> <name>`, `ANS <t> OK`.
    Caller: `JOI <b> <name>`. MSNP12 adds capabilities to `IRO` and `JOI`."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    host, port, cookie = a.xfr()
    a_sb = msnp.connect(label_of(a.email, "SB"), host, port)
    usr = a_sb.call("USR", a.email, cookie)
    if usr.args[1:2] != ("OK",) or len(usr.args) != 4 or usr.args[2].lower() != a.email.lower():
        a_sb.fail(f"expected USR {usr.trid} OK {a.email} <name>, got {usr.line!r}")
    cal = a_sb.call("CAL", b.email)
    if cal.args[1:2] != ("RINGING",) or len(cal.args) != 3:
        a_sb.fail(f"expected CAL {cal.trid} RINGING <session>, got {cal.line!r}")
    ring = b.conn.next_async("RNG")
    if len(ring.args) != 6 or ring.args[2] != "CKI" or ring.args[0] != cal.args[2] or ring.args[4].lower() != a.email.lower():
        b.conn.fail(f"expected RNG {cal.args[2]} <host:port> CKI <cookie> {a.email} <name>, got {ring.line!r}")
    host, port = address_of(b.conn, ring.args[1])
    b_sb = msnp.connect(label_of(b.email, "SB"), host, port)
    trid = b_sb.request("ANS", b.email, ring.args[3], ring.args[0])
    iro = b_sb.expect(trid=trid, what=f"IRO {trid} 1 1 {a.email} …")
    if iro.name != "IRO" or iro.args[1:3] != ("1", "1"):
        b_sb.fail(f"expected IRO {trid} 1 1 {a.email} <name> before ANS {trid} OK, got {iro.line!r}")
    joined_fields(b, iro, 3, a)
    ok = b_sb.expect(trid=trid, what=f"ANS {trid} OK")
    if ok.name != "ANS" or ok.args[1:] != ("OK",):
        b_sb.fail(f"expected ANS {trid} OK, got {ok.line!r}")
    joi = a_sb.next_async("JOI")
    joined_fields(a, joi, 0, b)


@CALL(source="msnp.md §c.1, §c.2; msnp8-12.md §j.2, §j.3")
def test_bad_switchboard_cookies_are_911_then_closed(msnp: Harness, dialect: str) -> None:
    """`USR` or `ANS` on a switchboard with a cookie it never issued: `911` and a close."""
    a = msnp.online(msnp.a, dialect)
    host, port, _ = a.xfr()
    for command, args in (("USR", (a.email, "0123456789abcdef0123")), ("ANS", (a.email, "0123456789abcdef0123", "12345"))):
        conn = msnp.connect(label_of(a.email, f"SB {command}"), host, port)
        reply = conn.call(command, *args)
        if reply.error_code != 911:
            conn.fail(f"{command} with a cookie nobody issued should get 911, got {reply.line!r}")
        conn.expect_closed(what="the server to close after 911")


@CALL(source="msnp.md §a.5, §c.1; msnp8-12.md §j.2")
def test_calls_that_cannot_ring(msnp: Harness, dialect: str) -> None:
    """`CAL` of a malformed address: `208`; of an account that is not online (or does
    not exist): `217` (`216` is also on record)."""
    a = msnp.online(msnp.a, dialect)
    sb = msnp.switchboard(a)
    malformed = sb.conn.call("CAL", "a@b")
    if malformed.error_code != 208:
        sb.conn.fail(f"CAL of a malformed address should get 208, got {malformed.line!r}")
    offline = sb.conn.call("CAL", UNKNOWN)
    if offline.error_code not in (216, 217):
        sb.conn.fail(f"CAL of someone not online should get 217, got {offline.line!r}")


@CALL(source="msnp.md §c.1; msnp8-12.md §j.2")
def test_calling_a_member_again_is_215(msnp: Harness, dialect: str) -> None:
    """`CAL` of someone already in the switchboard: `215`."""
    _, b, a_sb, _ = msnp.conversation(dialect)
    reply = a_sb.conn.call("CAL", b.email)
    if reply.error_code != 215:
        a_sb.conn.fail(f"CAL of a member should get 215, got {reply.line!r}")


def relayed(sender: Sb, receiver: Sb, ack: str, payload: bytes) -> int:
    """Sends ``payload`` as `MSG <t> <ack>` and checks that the receiver gets `MSG
    <sender> <name> <n>` with exactly those bytes; returns the TrID."""
    trid = sender.conn.request("MSG", ack, payload=payload)
    got = receiver.conn.next_async("MSG")
    if len(got.args) != 3 or got.args[0].lower() != sender.email.lower():
        receiver.conn.fail(f"expected MSG {sender.email} <name> {len(payload)}, got {got.line!r}")
    if got.payload != payload:
        receiver.conn.fail(f"the payload must arrive byte for byte: sent {payload!r}, received {got.payload!r}")
    return trid


@RELAY()
@pytest.mark.parametrize("kind", ["text", "invitation", "typing"])
def test_msg_is_relayed_byte_for_byte(msnp: Harness, dialect: str, kind: str) -> None:
    """A plain message (`N`), an invitation (`text/x-msmsgsinvite`, `N`) and a typing
    notification (`U`) reach the other member unchanged, under `MSG <sender> <name> <n>`."""
    a, b, a_sb, b_sb = msnp.conversation(dialect)
    if kind == "text":
        relayed(a_sb, b_sb, "N", text_message("hello from the conformance suite, caf\u00e9 \u263a"))
        relayed(b_sb, a_sb, "N", text_message("and back"))
    elif kind == "invitation":
        fields = [
            ("Application-Name", "Conformance"),
            ("Application-GUID", "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"),
            ("Session-Protocol", "SM1"),
            ("Invitation-Command", "INVITE"),
            ("Invitation-Cookie", "1234567"),
            ("Session-ID", "{B3D5E6F7-1111-2222-3333-444455556666}"),
        ]
        relayed(a_sb, b_sb, "N", encode_invitation(fields))
    else:
        relayed(a_sb, b_sb, "U", typing_message(a.email))


def barrier_ack(sb: Sb, after: list[int]) -> None:
    """A `MSG <t> A` whose `ACK <t>` must come back; by then any reply to the TrIDs in
    ``after`` would have come, and none did."""
    trid = sb.conn.request("MSG", "A", payload=text_message("barrier"))
    reply = sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if reply.name != "ACK":
        sb.conn.fail(f"a delivered MSG … A gets ACK {trid}, got {reply.line!r}")
    stray = [c for c in sb.conn.pending if c.trid in after]
    if stray:
        sb.conn.fail(f"no reply was due to MSG {', '.join(map(str, after))}, got {stray[0].line!r}")


@ACKS()
def test_acknowledgements_of_delivered_messages(msnp: Harness, dialect: str) -> None:
    """Delivered: `A` -> `ACK <t>`; `N` and `U` -> nothing."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    silent = [relayed(a_sb, b_sb, "N", text_message("n")), relayed(a_sb, b_sb, "U", text_message("u"))]
    barrier_ack(a_sb, silent)
    b_sb.conn.next_async("MSG")


@ACKS("MSNP11+", source="msnp8-12.md §j.4, §m.5 (msnp11-sdk writes before JOI)")
def test_a_message_before_the_callee_joins_is_acked_and_delivered(msnp: Harness, dialect: str) -> None:
    """msnp11-sdk sends its first message right after `CAL … RINGING`: the server
    acknowledges it (`ACK`, not `NAK` or nothing) and the callee gets it once joined."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    a_sb = msnp.switchboard(a)
    cal = a_sb.conn.call("CAL", b.email)
    if cal.args[1:2] != ("RINGING",):
        a_sb.conn.fail(f"expected CAL {cal.trid} RINGING <session>, got {cal.line!r}")
    payload = text_message("sent before you joined")
    trid = a_sb.conn.request("MSG", "A", payload=payload)
    ack = a_sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if ack.name != "ACK":
        a_sb.conn.fail(f"a message written before the callee joined gets ACK {trid}, got {ack.line!r}")
    ring = b.conn.next_async("RNG")
    host, port = address_of(b.conn, ring.args[1])
    b_sb = msnp.connect(label_of(b.email, "SB"), host, port)
    b_sb.collect(b_sb.request("ANS", b.email, ring.args[3], ring.args[0]), until=lambda c: c.name != "IRO")
    got = b_sb.next_async("MSG")
    if got.payload != payload:
        b_sb.fail(f"the early message must arrive unchanged, got {got.payload!r}")


@ACKS(source="msnp.md §a.4 (ack types: S as MSN 6+ sends invitations)")
def test_ack_type_s_is_acknowledged(msnp: Harness, dialect: str) -> None:
    """`S` (positive only, MSN 6+ invitations): `ACK <t>` when delivered."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    trid = relayed(a_sb, b_sb, "S", text_message("s"))
    reply = a_sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if reply.name != "ACK":
        a_sb.conn.fail(f"a delivered MSG … S gets ACK {trid}, got {reply.line!r}")


@ACKS()
def test_undeliverable_messages_are_nakd(msnp: Harness, dialect: str) -> None:
    """The other member left, so nobody can get it: `A` -> `NAK <t>`, `N` -> `NAK <t>`."""
    _, b, a_sb, b_sb = msnp.conversation(dialect)
    b_sb.conn.send("OUT")
    a_sb.conn.next_async("BYE")
    for ack in ("A", "N"):
        trid = a_sb.conn.request("MSG", ack, payload=text_message(f"to nobody ({ack})"))
        reply = a_sb.conn.expect(trid=trid, what=f"NAK {trid}")
        if reply.name != "NAK":
            a_sb.conn.fail(f"MSG … {ack} that reaches nobody gets NAK {trid}, got {reply.line!r}")


@BYE()
def test_leaving_sends_bye_to_the_others(msnp: Harness, dialect: str) -> None:
    """A member sends `OUT` on the switchboard: the others get `BYE <account>`."""
    _, b, a_sb, b_sb = msnp.conversation(dialect)
    b_sb.conn.send("OUT")
    bye = a_sb.conn.next_async("BYE")
    if not bye.args or bye.args[0].lower() != b.email.lower() or len(bye.args) > 2:
        a_sb.conn.fail(f"expected BYE {b.email}, got {bye.line!r}")
