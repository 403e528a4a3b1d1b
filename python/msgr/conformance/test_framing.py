"""Framing: how commands travel on TCP (msnp.md §a.2, §a.3). A server reads a line up
to LF (a bare LF too), whatever the segments it arrives in, several commands from one
segment, and a payload by its byte count."""

from __future__ import annotations

from .features import FRAMING
from .harness import Harness
from .steps import CVR_FIELDS


@FRAMING()
def test_a_bare_lf_ends_a_command(msnp: Harness, dialect: str) -> None:
    """`VER 1 <d> CVR0` ended by LF alone is answered like one ended by CR LF."""
    conn = msnp.connect("NS")
    conn.send_bytes(f"VER 1 {dialect} CVR0\n".encode())
    reply = conn.expect(trid=1, what="the reply to a VER ended by a bare LF")
    if reply.name != "VER" or reply.args[1:2] != (dialect,):
        conn.fail(f"a bare LF ends a line: expected VER 1 {dialect}, got {reply.line!r}")


@FRAMING()
def test_commands_split_across_segments_and_joined_in_one(msnp: Harness, dialect: str) -> None:
    """`VER` sent a byte at a time, then two `CVR` lines in one write: each is
    answered, in order."""
    conn = msnp.connect("NS")
    conn.send_bytes(f"VER 1 {dialect} CVR0\r\n".encode(), chunk=1)
    negotiated = conn.expect(trid=1, what="the reply to a VER sent a byte at a time")
    if negotiated.name != "VER" or negotiated.args[1:2] != (dialect,):
        conn.fail(f"expected VER 1 {dialect}, got {negotiated.line!r}")
    conn.send_bytes(b"".join(f"CVR {t} {' '.join(CVR_FIELDS)} {msnp.a.email}\r\n".encode() for t in (2, 3)))
    for trid in (2, 3):
        reply = conn.expect(trid=trid, what=f"the reply to CVR {trid}, sent in one write with another")
        if reply.name != "CVR":
            conn.fail(f"each of two commands in one write is answered: expected CVR {trid} …, got {reply.line!r}")


@FRAMING(source="msnp.md §a.3, §a.4")
def test_a_payload_is_read_by_its_byte_count(msnp: Harness, dialect: str) -> None:
    """A `MSG` whose payload holds CR LF and multi-byte UTF-8, its line and payload sent
    in two writes: acknowledged, and relayed whole."""
    _, _, a_sb, b_sb = msnp.conversation(dialect)
    payload = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nline one\r\nl\u00ednea \u2603 two\r\n".encode()
    trid = a_sb.conn.next_trid()
    a_sb.conn.send_bytes(f"MSG {trid} A {len(payload)}\r\n".encode())
    a_sb.conn.send_bytes(payload)
    ack = a_sb.conn.expect(trid=trid, what=f"ACK {trid}")
    if ack.name != "ACK":
        a_sb.conn.fail(f"expected ACK {trid}, got {ack.line!r}")
    got = b_sb.conn.next_async("MSG")
    if got.payload != payload:
        b_sb.conn.fail(f"the payload must arrive whole and unchanged, got {got.payload!r}")
