"""Bad input: unknown commands, TrIDs that are not numbers, lines and payloads past
any sensible size, and commands out of order. The server must refuse each (an error
reply, or a close where that is on record) and go on serving everyone else."""

from __future__ import annotations

from .cases import case
from .features import BAD_INPUT
from .harness import Harness
from .sources import HYP_AUTH, HYP_ERRORS, HYP_MESSAGES, HYP_SB, escargot, y111
from .steps import negotiate, refused_and_not_relayed, text_message

#: Over any line limit a server may have, and still quick to send: 1 MiB.
HUGE = 1 << 20


def still_serving(msnp: Harness, dialect: str) -> None:
    """A new connection still agrees on ``dialect``."""
    negotiate(msnp.connect("after"), dialect)


@case(
    "ns/bad/1",
    BAD_INPUT,
    rule="""200 Invalid syntax (a garbled or unknown command; hypothetic never encountered it). The original
    service closed the connection on commands that have no meaning where they are sent; Escargot ignores an
    unknown command.""",
    sources=(HYP_ERRORS, HYP_AUTH, HYP_MESSAGES, escargot("front/msn/msnp.py (unknown commands are logged and ignored)")),
)
def test_an_unknown_command_is_refused(msnp: Harness, dialect: str) -> None:
    """A command the server does not know, signed in: `200 <t>` (or a close, or nothing)."""
    ns = msnp.sign_in(msnp.a, dialect)
    trid = ns.conn.request("ZZZ", "whatever")
    ns.conn.send("PNG", may_close=True)
    reply = ns.conn.wait_for_or_closed(lambda c: c.trid == trid or c.name == "QNG", what=f"200 {trid}, a close, or the QNG after it")
    if reply is None:
        msnp.verdict.non_strict("the server closed the connection on an unknown command instead of answering 200")
    elif reply.name == "QNG":
        msnp.verdict.non_strict(f"the server ignored the unknown command (no reply to {trid} before QNG)")
    else:
        msnp.refused(ns.conn, reply, 200, "an unknown command")
        ns.conn.next_async("QNG")


@case(
    "ns/bad/2",
    BAD_INPUT,
    rule="The TrID is a decimal unsigned 32-bit number chosen by the client; the server puts the same TrID in its reply or in its error.",
    sources=(HYP_AUTH, y111("files/notification"), "IETF draft-movva-msn-messenger-protocol-00 (1999), §7.1"),
)
def test_a_trid_that_is_not_a_number_is_refused(msnp: Harness, dialect: str) -> None:
    """`CHG x NLN` and `CHG 4294967296 NLN`: an error or a close, never a `CHG` reply."""
    ns, _ = msnp.synced(msnp.a, dialect)
    for bad in ("x", "4294967296"):
        ns.conn.send(f"CHG {bad} NLN" + (f" {ns.capabilities()}" if ns.capabilities() else ""), may_close=True)
        ns.conn.send("PNG", may_close=True)
        reply = ns.conn.wait_for_or_closed(lambda c: c.is_error or c.name in ("CHG", "QNG"), what=f"an error for TrID {bad!r}, or a close")
        if reply is None:
            return
        if reply.name == "CHG":
            msnp.verdict.non_strict(f"the server took {bad!r} as a TrID and answered {reply.line!r}")
        elif reply.name == "QNG":
            msnp.verdict.non_strict(f"the server ignored CHG with TrID {bad!r} (neither an error nor a close)")
            continue
        ns.conn.next_async("QNG")


@case(
    "ns/bad/3",
    BAD_INPUT,
    rule="Line length: no documented maximum; a server must refuse a line past its limit (an error or a close) and go on serving the others.",
    sources=(HYP_AUTH, escargot("front/msn/msnp.py (reader)")),
)
def test_a_huge_line_is_refused(msnp: Harness, dialect: str) -> None:
    """A 1 MiB command line: an error or a close, and the server serves others."""
    conn = msnp.connect()
    negotiate(conn, dialect)
    conn.send(b"CVR 2 " + b"x" * HUGE, may_close=True)
    conn.skip_trids(2)
    reply = msnp.login_barrier(conn, 2, "a 1 MiB line")
    if reply is not None and reply.trid == 2 and not reply.is_error:
        conn.fail(f"a 1 MiB line must be refused, got {reply.line!r}")
    still_serving(msnp, dialect)


@case(
    "sb/bad/1",
    BAD_INPUT,
    rule="Maximum payload: 1664 bytes. Escargot closes the switchboard connection, without an error, if the payload is longer.",
    sources=(HYP_SB, escargot("front/msn/msnp_sb.py _m_msg"), "twisted/words/protocols/msn.py (MAX_MESSAGE_SIZE)"),
)
def test_a_msg_over_1664_bytes_is_not_relayed(msnp: Harness, dialect: str) -> None:
    """A 1665-byte switchboard `MSG`: refused (an error or a close) and never relayed."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    body = text_message("x" * 2000)[:1665]
    trid = a_sb.conn.request("MSG", "N", payload=body)
    if refused_and_not_relayed(a_sb, b_sb, trid, body, "a 1665-byte payload") == "ignored":
        msnp.verdict.non_strict("the server dropped the 1665-byte payload without an error or a close")


@case(
    "sb/bad/2",
    BAD_INPUT,
    rule="Acknowledgement types: U, N, A, D (MSNP9+), S; Escargot closes the connection if the ack type is not one of U N A D.",
    sources=(HYP_SB, y111("commands/msg"), escargot("front/msn/msnp_sb.py _m_msg")),
)
def test_an_unknown_ack_type_is_refused(msnp: Harness, dialect: str) -> None:
    """`MSG <t> X <n>`: refused (an error or a close) and never relayed."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    body = text_message("ack type X")
    trid = a_sb.conn.request("MSG", "X", payload=body)
    if refused_and_not_relayed(a_sb, b_sb, trid, body, "the message with ack type X") == "ignored":
        msnp.verdict.non_strict("the server dropped the message with ack type X without an error or a close")


@case(
    "ns/bad/4",
    BAD_INPUT,
    rule="""If you send a command which has no meaning during the login stage (for example, a SYN command), you
    will be disconnected immediately with no error. 302 Not logged in.""",
    sources=(HYP_AUTH, HYP_ERRORS),
)
def test_list_and_status_commands_before_sign_in_are_refused(msnp: Harness, dialect: str) -> None:
    """`SYN` and `CHG` after `VER` but before `USR … OK`: a close, or `302`."""
    for command, args in (("SYN", ("0",)), ("CHG", ("NLN",))):
        conn = msnp.connect()
        negotiate(conn, dialect)
        trid = conn.request(command, *args)
        reply = msnp.login_barrier(conn, trid, f"{command} before sign-in")
        if reply is not None and reply.trid == trid:
            msnp.refused(conn, reply, 302, f"{command} before sign-in")


@case(
    "sb/bad/3",
    BAD_INPUT,
    rule="A switchboard connection starts with USR (caller) or ANS (callee); anything else first is refused.",
    sources=(HYP_SB, escargot("front/msn/msnp_sb.py")),
)
def test_a_switchboard_command_before_usr_is_refused(msnp: Harness, dialect: str) -> None:
    """`CAL` on a switchboard connection before `USR`/`ANS`: an error or a close."""
    a = msnp.online(msnp.a, dialect)
    host, port, cookie = a.xfr()
    conn = msnp.connect(a.account, host, port)
    trid = conn.request("CAL", msnp.b.email)
    # The barrier: the USR that should have come first, which the switchboard answers.
    barrier = conn.request("USR", a.email, cookie)
    reply = conn.wait_for_or_closed(lambda c: c.trid in (trid, barrier), what=f"an error {trid}, a close, or the reply to USR {barrier}")
    if reply is None:
        return
    if reply.trid == barrier:
        msnp.verdict.non_strict(f"the switchboard ignored CAL before USR (it answered the USR {barrier} after it)")
    elif not reply.is_error:
        conn.fail(f"CAL before USR must be refused, got {reply.line!r}")
