"""Switchboards: `XFR SB`, the caller's `USR`/`CAL`, the callee's `RNG`/`ANS` with `IRO`,
the caller's `JOI`; `MSG` relayed byte for byte, its acknowledgements, and `BYE`."""

from __future__ import annotations

from msgr.testing.wire import Command, encode_invitation

from .cases import Grade, case
from .features import ACKS, BYE, CALL, RELAY, XFR
from .harness import Harness
from .sources import HYP_ERRORS, HYP_SB, MSNPIKI_ERRORS, escargot, r2m, sdk, y111
from .steps import Ns, Sb, address_of, ring, text_message, typing_message
from .test_sign_in import UNKNOWN

#: An invitation as MSN Messenger sends one (text/x-msmsgsinvite).
INVITATION = [
    ("Application-Name", "Conformance"),
    ("Application-GUID", "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"),
    ("Session-Protocol", "SM1"),
    ("Invitation-Command", "INVITE"),
    ("Invitation-Cookie", "1234567"),
    ("Session-ID", "{B3D5E6F7-1111-2222-3333-444455556666}"),
]


@case(
    "ns/xfr/1",
    XFR,
    rule="""C: XFR 70 SB, S: XFR 70 SB 127.0.0.1:1864 CKI <cookie>: reply fields SB, host:port, CKI, a one-time
    cookie; the U messenger.msn.com tails on XFR belong to MSNP13/14 and must not be sent to MSNP8–12.""",
    sources=(y111("commands/xfr"), HYP_SB, escargot("front/msn/msnp_ns.py _m_xfr"), r2m("src/notification_server/commands/xfr.rs")),
)
def test_xfr_sb_hands_out_a_switchboard(msnp: Harness, dialect: str) -> None:
    """`XFR <t> SB` -> `XFR <t> SB <host:port> CKI <cookie>`, nothing more."""
    a = msnp.online(msnp.a, dialect)
    reply = a.conn.call("XFR", "SB")
    if reply.name != "XFR" or len(reply.args) != 5 or reply.args[1] != "SB" or reply.args[3] != "CKI":
        a.conn.fail(f"expected XFR {reply.trid} SB <host:port> CKI <cookie>, got {reply.line!r}")
    address_of(a.conn, reply.args[2])


@case(
    "ns/xfr/2",
    XFR,
    rule="913: not allowed when offline — XFR SB before the first CHG.",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_ns.py _m_xfr"), r2m("src/notification_server/commands/xfr.rs")),
)
def test_xfr_sb_before_the_first_chg_is_913(msnp: Harness, dialect: str) -> None:
    """A user not yet present (no `CHG` sent) cannot open a switchboard: `913`."""
    a, _ = msnp.synced(msnp.a, dialect)
    msnp.refused(a.conn, a.conn.call("XFR", "SB"), 913, "XFR SB before the first CHG")


@case(
    "ns/xfr/3",
    XFR,
    rule="913: not allowed when offline — XFR SB while HDN (appear offline).",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_ns.py _m_xfr"), r2m("src/notification_server/commands/xfr.rs")),
)
def test_xfr_sb_while_hidden_is_913(msnp: Harness, dialect: str) -> None:
    """A user who appears offline (`HDN`) cannot open a switchboard: `913`."""
    a = msnp.online(msnp.a, dialect)
    a.chg("HDN")
    msnp.refused(a.conn, a.conn.call("XFR", "SB"), 913, "XFR SB while HDN")


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


@case(
    "sb/call/1",
    CALL,
    rule="""USR <trid> <account> <cookie> -> USR <trid> OK <account> <name>; CAL <trid> <account> -> CAL <trid>
    RINGING <session-id>; the callee gets RNG <session-id> <host:port> CKI <cookie> <caller> <caller name>;
    ANS <trid> <account> <cookie> <session-id> -> one IRO <trid> <index> <total> <account> <name> per
    participant, then ANS <trid> OK; the caller gets JOI <account> <name>. MSNP12 adds the capabilities to
    IRO and JOI.""",
    sources=(y111("commands/cal"), y111("commands/rng"), y111("commands/iro"), HYP_SB, escargot("front/msn/msnp_sb.py _m_usr, _m_cal, _m_ans"), r2m("src/switchboard/commands")),
)
def test_a_call_rings_and_joins(msnp: Harness, dialect: str) -> None:
    """The caller's `USR`/`CAL`, the callee's `RNG`/`ANS` with `IRO`, and `JOI`, in the dialect's shapes."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    host, port, cookie = a.xfr()
    a_sb = msnp.connect(a.account, host, port)
    usr = a_sb.call("USR", a.email, cookie)
    if usr.args[1:2] != ("OK",) or len(usr.args) != 4 or usr.args[2].lower() != a.email.lower():
        a_sb.fail(f"expected USR {usr.trid} OK {a.email} <name>, got {usr.line!r}")
    cal = a_sb.call("CAL", b.email)
    if cal.args[1:2] != ("RINGING",) or len(cal.args) != 3:
        a_sb.fail(f"expected CAL {cal.trid} RINGING <session>, got {cal.line!r}")
    rng = b.conn.next_async("RNG")
    if len(rng.args) != 6 or rng.args[2] != "CKI" or rng.args[0] != cal.args[2] or rng.args[4].lower() != a.email.lower():
        b.conn.fail(f"expected RNG {cal.args[2]} <host:port> CKI <cookie> {a.email} <name>, got {rng.line!r}")
    host, port = address_of(b.conn, rng.args[1])
    b_sb = msnp.connect(b.account, host, port)
    trid = b_sb.request("ANS", b.email, rng.args[3], rng.args[0])
    iro = b_sb.expect(trid=trid, what=f"IRO {trid} 1 1 {a.email} …")
    if iro.name != "IRO" or iro.args[1:3] != ("1", "1"):
        b_sb.fail(f"expected IRO {trid} 1 1 {a.email} <name> before ANS {trid} OK, got {iro.line!r}")
    joined_fields(b, iro, 3, a)
    ok = b_sb.expect(trid=trid, what=f"ANS {trid} OK")
    if ok.name != "ANS" or ok.args[1:] != ("OK",):
        b_sb.fail(f"expected ANS {trid} OK, got {ok.line!r}")
    joi = a_sb.next_async("JOI")
    joined_fields(a, joi, 0, b)


@case(
    "sb/call/2",
    CALL,
    rule="Bad cookie at USR (caller) or ANS (callee): 911 and close.",
    sources=(HYP_ERRORS, y111("commands/ans"), escargot("front/msn/msnp_sb.py _m_usr, _m_ans"), r2m("src/switchboard/commands")),
)
def test_bad_switchboard_cookies_are_911_then_closed(msnp: Harness, dialect: str) -> None:
    """`USR` or `ANS` on a switchboard with a cookie it never issued: `911` and a close."""
    a = msnp.online(msnp.a, dialect)
    host, port, _ = a.xfr()
    for command, args in (("USR", (a.email, "0123456789abcdef0123")), ("ANS", (a.email, "0123456789abcdef0123", "12345"))):
        conn = msnp.connect(a.account, host, port)
        msnp.refused(conn, conn.call(command, *args), 911, f"{command} with a cookie nobody issued")
        msnp.ends_closed(conn, f"911 to {command}", open_grade=Grade.FAILED, probe=(command, *args))


@case(
    "sb/call/3",
    CALL,
    rule="""208 Invalid principal-name: sent from the switchboard in reply to a CAL which specifies an invalid
    account name (>>> CAL 2 @@a <<< 208 2). 217: CAL to an offline or unknown user (216 is also on record).""",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_sb.py _m_cal"), r2m("src/switchboard/commands/cal.rs"), sdk("src/switchboard_server/commands (216 read as offline)")),
)
def test_calls_that_cannot_ring(msnp: Harness, dialect: str) -> None:
    """`CAL` of a malformed address (`@@a`): `208`; of an account that is not online: `217`."""
    a = msnp.online(msnp.a, dialect)
    sb = msnp.switchboard(a)
    msnp.refused(sb.conn, sb.conn.call("CAL", "@@a"), 208, "CAL of a malformed address (@@a)")
    msnp.refused(sb.conn, sb.conn.call("CAL", UNKNOWN), 217, "CAL of someone not online")


@case(
    "sb/call/4",
    CALL,
    rule="215: CAL of someone already in the session.",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, escargot("front/msn/msnp_sb.py _m_cal")),
)
def test_calling_a_member_again_is_215(msnp: Harness, dialect: str) -> None:
    """`CAL` of someone already in the switchboard: `215`."""
    _, b, a_sb, _ = msnp.conversation(dialect)
    msnp.refused(a_sb.conn, a_sb.conn.call("CAL", b.email), 215, "CAL of a member")


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


RELAY_RULE = """Switchboard to every other participant: MSG <sender> <sender's url-encoded name> <length> and the
payload bytes passed on unchanged; only the command line is rewritten."""
RELAY_SOURCES = (HYP_SB, y111("commands/msg"), escargot("front/msn/msnp_sb.py _m_msg"), r2m("src/switchboard/commands/msg.rs"))


@case("sb/msg/1", RELAY, rule=RELAY_RULE, sources=RELAY_SOURCES)
def test_a_text_message_is_relayed_byte_for_byte(msnp: Harness, dialect: str) -> None:
    """A plain message (`N`) reaches the other member unchanged, both ways."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    relayed(a_sb, b_sb, "N", text_message("hello from the conformance suite, caf\u00e9 \u263a"))
    relayed(b_sb, a_sb, "N", text_message("and back"))


@case("sb/msg/2", RELAY, rule=RELAY_RULE, sources=RELAY_SOURCES)
def test_an_invitation_is_relayed_byte_for_byte(msnp: Harness, dialect: str) -> None:
    """An invitation (`text/x-msmsgsinvite`, `N`) reaches the other member unchanged."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    relayed(a_sb, b_sb, "N", encode_invitation(INVITATION))


@case("sb/msg/3", RELAY, rule=RELAY_RULE, sources=RELAY_SOURCES)
def test_a_typing_notification_is_relayed_byte_for_byte(msnp: Harness, dialect: str) -> None:
    """A typing notification (`U`) reaches the other member unchanged."""
    a, _, a_sb, b_sb = msnp.conversation(dialect)
    relayed(a_sb, b_sb, "U", typing_message(a.email))


ACK_RULE = """Acknowledgement types: U unacknowledged (no reply); N negative only (NAK <trid> if delivery to
someone failed, otherwise nothing); A acknowledged (ACK <trid> on success, NAK <trid> on failure); S positive
only, used for invitations by MSN 6+ clients (ACK <trid> on success)."""


def barrier_ack(msnp: Harness, sb: Sb, after: list[int]) -> None:
    """A `MSG <t> A` whose `ACK <t>` must come back; by then any reply to the TrIDs in
    ``after`` would have come, and none did."""
    trid = sb.conn.request("MSG", "A", payload=text_message("barrier"))
    reply = sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if reply.name != "ACK":
        sb.conn.fail(f"a delivered MSG … A gets ACK {trid}, got {reply.line!r}")
    stray = [c for c in sb.conn.pending if c.trid in after]
    if stray:
        sb.conn.fail(f"no reply was due to MSG {', '.join(map(str, after))}, got {stray[0].line!r}")


@case(
    "sb/ack/1",
    ACKS,
    rule=ACK_RULE,
    sources=(HYP_SB, y111("commands/msg"), y111("commands/ack")),
)
def test_acknowledgements_of_delivered_messages(msnp: Harness, dialect: str) -> None:
    """Delivered: `A` -> `ACK <t>`; `N` and `U` -> nothing."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    silent = [relayed(a_sb, b_sb, "N", text_message("n")), relayed(a_sb, b_sb, "U", text_message("u"))]
    barrier_ack(msnp, a_sb, silent)
    b_sb.conn.next_async("MSG")


@case(
    "sb/ack/2",
    ACKS,
    dialects="MSNP11+",
    rule="""msnp11-sdk sends its first message right after CAL … RINGING, before any JOI; a server that answers NAK
    (or nothing) to a message sent while alone makes the SDK report failure or hang. Deliver it once the callee
    joins, or at least ACK it — and an ACK says it was delivered.""",
    sources=(sdk("src/switchboard_server/switchboard.rs (writes before JOI)"), y111("commands/ack")),
)
def test_a_message_before_the_callee_joins_is_acked_and_delivered(msnp: Harness, dialect: str) -> None:
    """A message written before the callee joins is acknowledged and delivered once it joins."""
    a = msnp.online(msnp.a, dialect)
    b = msnp.online(msnp.b, dialect)
    a_sb = msnp.switchboard(a)
    rng = ring(a_sb, b)
    early = text_message("sent before you joined")
    trid = a_sb.conn.request("MSG", "A", payload=early)
    reply = a_sb.conn.expect(trid=trid, what=f"ACK {trid} (or NAK)")
    if reply.name == "NAK":
        msnp.verdict.non_strict(f"NAK {trid}: honest, but msnp11-sdk then reports the message failed")
    elif reply.name != "ACK":
        a_sb.conn.fail(f"a message written before the callee joined gets ACK {trid}, got {reply.line!r}")
    b_sb, _ = msnp.answer(b, rng)
    a_sb.conn.next_async("JOI")
    later = text_message("sent after you joined")
    a_sb.conn.request("MSG", "N", payload=later)
    got = b_sb.conn.next_async("MSG")
    if reply.name == "ACK" and got.payload != early:
        b_sb.conn.fail("the message acknowledged before the callee joined never reached it (the first MSG it got was a later one)")


@case(
    "sb/ack/3",
    ACKS,
    rule=ACK_RULE,
    sources=(HYP_SB, y111("commands/msg"), escargot("front/msn/msnp_sb.py _m_msg (closes on an ack type other than U N A D)")),
)
def test_ack_type_s_is_acknowledged(msnp: Harness, dialect: str) -> None:
    """`S` (positive only, MSN 6+ invitations): `ACK <t>` when delivered."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    body = text_message("s")
    trid = a_sb.conn.request("MSG", "S", payload=body)
    # The barrier: a MSG … A, which every server acknowledges one way or another.
    barrier = a_sb.conn.next_trid()
    a_sb.conn.send(Command("MSG", barrier, "A", payload=text_message("after s")), may_close=True)
    reply = a_sb.conn.wait_for_or_closed(lambda c: c.trid in (trid, barrier), what=f"ACK {trid}, or a reply to MSG {barrier} after it")
    if reply is None:
        msnp.verdict.non_strict("the server closed the sender's connection on ack type S (a server on record refuses S so)")
        return
    if reply.trid == barrier:
        msnp.verdict.non_strict(f"no ACK {trid} for a delivered MSG … S (a server on record acknowledges only A and D)")
    elif reply.name != "ACK":
        a_sb.conn.fail(f"a delivered MSG … S gets ACK {trid}, got {reply.line!r}")
    got = b_sb.conn.next_async("MSG")
    if got.payload != body:
        b_sb.conn.fail(f"the S message must arrive unchanged, got {got.line!r}")


@case(
    "sb/ack/4",
    ACKS,
    rule=ACK_RULE,
    sources=(HYP_SB, y111("commands/nak"), escargot("front/msn/msnp_sb.py _m_msg (never NAK)"), r2m("src/switchboard/commands/msg.rs")),
)
def test_undeliverable_messages_are_nakd(msnp: Harness, dialect: str) -> None:
    """The other member left, so nobody can get them: `N` -> `NAK <t>`, `A` -> `NAK <t>`."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    b_sb.conn.send("OUT")
    a_sb.conn.next_async("BYE")
    # N first: the A after it is answered either way, so it shows whether N was.
    n_trid = a_sb.conn.request("MSG", "N", payload=text_message("to nobody (N)"))
    a_trid = a_sb.conn.request("MSG", "A", payload=text_message("to nobody (A)"))
    a_reply = a_sb.conn.expect_or_closed(trid=a_trid, what=f"NAK {a_trid}")
    if a_reply is None:
        a_sb.conn.fail(f"the server closed the switchboard after a message to nobody, without NAK {a_trid}")
    n_reply = next((c for c in a_sb.conn.take_pending(lambda c: c.trid == n_trid)), None)
    for ack, trid, reply in (("N", n_trid, n_reply), ("A", a_trid, a_reply)):
        if reply is not None and reply.name == "NAK":
            continue
        if reply is not None and reply.name == "ACK":
            msnp.verdict.non_strict(f"ACK {trid} for MSG … {ack} that nobody could get (servers on record acknowledge without checking)")
        elif reply is None:
            msnp.verdict.non_strict(f"no NAK {trid} for MSG … {ack} that reached nobody (a server on record never sends NAK)")
        else:
            a_sb.conn.fail(f"MSG … {ack} that reaches nobody gets NAK {trid}, got {reply.line!r}")


@case(
    "sb/bye/1",
    BYE,
    rule="BYE <account> when a participant leaves; client OUT leaves the session.",
    sources=(y111("commands/bye"), HYP_SB, escargot("front/msn/msnp_sb.py")),
)
def test_leaving_sends_bye_to_the_others(msnp: Harness, dialect: str) -> None:
    """A member sends `OUT` on the switchboard: the others get `BYE <account>`."""
    _, b, a_sb, b_sb = msnp.conversation(dialect)
    b_sb.conn.send("OUT")
    bye = a_sb.conn.next_async("BYE")
    if not bye.args or bye.args[0].lower() != b.email.lower() or len(bye.args) > 2:
        a_sb.conn.fail(f"expected BYE {b.email}, got {bye.line!r}")
