"""Framing: how commands travel on TCP. A server reads a line up to LF (a bare LF too),
whatever the segments it arrives in, several commands from one segment, and a payload
by its byte count. The cases control their segments (``TCP_NODELAY`` and a pause
between writes), so the verdict does not depend on how the kernel joins them."""

from __future__ import annotations

import time

from .cases import case
from .features import FRAMING
from .harness import Harness
from .sources import DRAFT, HYP_SB, escargot, y111
from .steps import CVR_FIELDS

#: Seconds between writes that must leave as segments of their own.
PAUSE = 0.003

LINE_RULE = """A command is three upper-case letters, parameters separated by single spaces, and ends with CR LF;
Escargot also accepts a bare LF. TCP is a stream: a command may arrive in several segments, and several
commands in one."""
LINE_SOURCES = (DRAFT, y111("files/notification"), escargot("front/msn/msnp.py (reader)"))


@case("ns/framing/1", FRAMING, rule=LINE_RULE, sources=LINE_SOURCES)
def test_a_bare_lf_ends_a_command(msnp: Harness, dialect: str) -> None:
    """`VER 1 <d> CVR0` ended by LF alone is answered like one ended by CR LF."""
    conn = msnp.connect()
    conn.send_bytes(f"VER 1 {dialect} CVR0\n".encode())
    reply = conn.expect_or_closed(trid=1, what="the reply to a VER ended by a bare LF")
    if reply is None or reply.is_error:
        msnp.verdict.informational(
            "the server refused a line ended by a bare LF (" + ("closed" if reply is None else reply.line) + "); clients send CR LF, and accepting LF alone is leniency"
        )
        return
    if reply.name != "VER" or reply.args[1:2] != (dialect,):
        conn.fail(f"a bare LF ends a line: expected VER 1 {dialect}, got {reply.line!r}")


@case("ns/framing/2", FRAMING, rule=LINE_RULE, sources=LINE_SOURCES)
def test_a_command_split_across_segments_is_read(msnp: Harness, dialect: str) -> None:
    """`VER` sent a byte at a time, each byte in its own segment, is answered."""
    conn = msnp.connect()
    conn.skip_trids(1)
    conn.send_bytes(f"VER 1 {dialect} CVR0\r\n".encode(), chunk=1, pause=PAUSE)
    reply = conn.expect(trid=1, what="the reply to a VER sent a byte at a time")
    if reply.name != "VER" or reply.args[1:2] != (dialect,):
        conn.fail(f"expected VER 1 {dialect}, got {reply.line!r}")


@case("ns/framing/3", FRAMING, rule=LINE_RULE, sources=LINE_SOURCES)
def test_two_commands_in_one_segment_are_each_answered(msnp: Harness, dialect: str) -> None:
    """Two `CVR` lines in one write: each is answered, in order."""
    conn = msnp.connect()
    conn.call("VER", dialect, "CVR0")
    conn.send_bytes(b"".join(f"CVR {t} {' '.join(CVR_FIELDS)} {msnp.a.email}\r\n".encode() for t in (2, 3)))
    conn.skip_trids(3)
    for trid in (2, 3):
        reply = conn.expect(trid=trid, what=f"the reply to CVR {trid}, sent in one write with another")
        if reply.name != "CVR":
            conn.fail(f"each of two commands in one write is answered: expected CVR {trid} …, got {reply.line!r}")


@case(
    "sb/framing/1",
    FRAMING,
    rule="""A payload command has a byte count as its last parameter; exactly that many bytes follow the CR LF of
    the command line, and no CR LF is added after the payload. The count is in bytes (UTF-8), never in
    characters; a payload may itself hold CR LF.""",
    sources=(DRAFT, HYP_SB, y111("commands/msg")),
)
def test_a_payload_is_read_by_its_byte_count(msnp: Harness, dialect: str) -> None:
    """A `MSG` with CR LF and UTF-8 inside, its line and payload in two segments, is relayed whole."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    payload = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nline one\r\nl\u00ednea \u2603 two\r\n".encode()
    trid = a_sb.conn.next_trid()
    a_sb.conn.send_bytes(f"MSG {trid} A {len(payload)}\r\n".encode())
    time.sleep(PAUSE)
    a_sb.conn.send_bytes(payload)
    ack = a_sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if ack.name != "ACK":
        a_sb.conn.fail(f"expected ACK {trid}, got {ack.line!r}")
    got = b_sb.conn.next_async("MSG")
    if got.payload != payload:
        b_sb.conn.fail(f"the payload must arrive whole and unchanged, got {got.payload!r}")
