"""Bad input: unknown commands, TrIDs that are not numbers, lines and payloads past
any sensible size, commands out of order, and commands of another dialect. The
server must refuse each (an error reply, or a close where the notes allow it) and go
on serving everyone else."""

from __future__ import annotations

from .features import BAD_INPUT, OTHER_DIALECT
from .harness import Harness, label_of
from .steps import negotiate, refused_and_not_relayed, text_message

#: Over any line limit a server may have, and still quick to send: 1 MiB.
HUGE = 1 << 20


def still_serving(msnp: Harness, dialect: str) -> None:
    """A new connection still agrees on ``dialect``."""
    negotiate(msnp.connect("NS after"), dialect)


@BAD_INPUT(source="msnp.md §a.5 (200: syntax error)")
def test_an_unknown_command_is_200(msnp: Harness, dialect: str) -> None:
    """A command the server does not know, signed in: `200 <t>`; the connection stays."""
    ns = msnp.sign_in(msnp.a, dialect)
    reply = ns.conn.call("ZZZ", "whatever")
    if reply.error_code != 200:
        ns.conn.fail(f"an unknown command gets 200 {reply.trid}, got {reply.line!r}")
    ns.barrier()


@BAD_INPUT(source="msnp.md §a.2 (TrIDs are decimal 32-bit numbers)")
def test_a_trid_that_is_not_a_number_is_refused(msnp: Harness, dialect: str) -> None:
    """`CHG x NLN` and `CHG 4294967296 NLN` (one past 32 bits): an error reply (it
    cannot carry that TrID) or a close, never a `CHG` reply."""
    ns = msnp.sign_in(msnp.a, dialect)
    for bad in ("x", "4294967296"):
        ns.conn.send(f"CHG {bad} NLN" + (f" {ns.capabilities()}" if ns.capabilities() else ""))
        reply = ns.conn.wait_for_or_closed(
            lambda c: c.is_error or c.name == "CHG", what=f"an error for TrID {bad!r}, or a close"
        )
        if reply is None:
            return
        if not reply.is_error:
            ns.conn.fail(f"CHG with TrID {bad!r} must be refused, got {reply.line!r}")


@BAD_INPUT(source="msnp.md §a.2 (no documented maximum line length)")
def test_a_huge_line_is_refused(msnp: Harness, dialect: str) -> None:
    """A 1 MiB command line: an error reply or a close, and the server serves others."""
    conn = msnp.connect("NS")
    negotiate(conn, dialect)
    conn.send(b"CVR 2 " + b"x" * HUGE, may_close=True)
    reply = conn.expect_or_closed(what="an error reply or a close after a 1 MiB line")
    if reply is not None and not reply.is_error:
        conn.fail(f"a 1 MiB line must be refused, got {reply.line!r}")
    still_serving(msnp, dialect)


@BAD_INPUT(source="msnp.md §a.4 (1664-byte MSG payloads; more is refused)")
def test_a_msg_over_1664_bytes_is_not_relayed(msnp: Harness, dialect: str) -> None:
    """A switchboard `MSG` with a 1665-byte payload: refused (an error or a close) and
    never relayed; the next thing the other member gets is not it."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    body = text_message("x" * 2000)[:1665]
    trid = a_sb.conn.request("MSG", "N", payload=body)
    refused_and_not_relayed(a_sb.conn, b_sb.conn, trid, body, "a 1665-byte payload")


@BAD_INPUT(source="msnp.md §a.4 (ack types U N A D S)")
def test_an_unknown_ack_type_is_refused(msnp: Harness, dialect: str) -> None:
    """`MSG <t> X <n>`: refused (an error or a close) and never relayed."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    body = text_message("ack type X")
    trid = a_sb.conn.request("MSG", "X", payload=body)
    refused_and_not_relayed(a_sb.conn, b_sb.conn, trid, body, "the message with ack type X")


@BAD_INPUT(source="msnp.md §a.5 (302: not logged in)")
def test_list_and_status_commands_before_sign_in_are_302(msnp: Harness, dialect: str) -> None:
    """`SYN` and `CHG` after `VER` but before `USR … OK`: `302 <t>`."""
    conn = msnp.connect("NS")
    negotiate(conn, dialect)
    for command, args in (("SYN", ("0",)), ("CHG", ("NLN",))):
        reply = conn.call(command, *args)
        if reply.error_code != 302:
            conn.fail(f"{command} before sign-in gets 302 {reply.trid}, got {reply.line!r}")


@BAD_INPUT(source="msnp.md §c.1, §c.2 (a switchboard starts with USR or ANS)")
def test_a_switchboard_command_before_usr_is_refused(msnp: Harness, dialect: str) -> None:
    """`CAL` on a switchboard connection before `USR`/`ANS`: an error reply or a close."""
    a = msnp.online(msnp.a, dialect)
    host, port, _ = a.xfr()
    conn = msnp.connect(label_of(a.email, "SB"), host, port)
    trid = conn.request("CAL", msnp.b.email)
    reply = conn.expect_or_closed(trid=trid, what=f"an error {trid} or a close")
    if reply is not None and not reply.is_error:
        conn.fail(f"CAL before USR must be refused, got {reply.line!r}")


@OTHER_DIALECT("MSNP8+", source="msnp.md §b.4, §b.5; msnp8-12.md §c.1")
def test_md5_sign_in_is_gone_from_msnp8(msnp: Harness, dialect: str) -> None:
    """`INF` and `USR MD5` on MSNP8+: the server hangs up (with or without an error)."""
    for command, args in (("INF", ()), ("USR", ("MD5", "I", msnp.a.email))):
        conn = msnp.connect(f"NS {command}")
        negotiate(conn, dialect)
        trid = conn.request(command, *args)
        reply = conn.expect_or_closed(trid=trid, what="a close")
        if reply is not None and not reply.is_error:
            conn.fail(f"{command} does not exist in {dialect}: the server hangs up, got {reply.line!r}")
        conn.expect_closed(what=f"the server to hang up after {command} in {dialect}")
