"""What MSNP11 added on the notification server: the personal message (`UUX`) and
the feature policy (`GCF Shields.xml`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .cases import case
from .features import GCF, UUX
from .harness import Harness
from .sources import escargot, r2m, sdk, y111
from .test_presence import EMPTY_PSM



def restore_psm(msnp: Harness, dialect: str) -> None:
    """Puts A's personal message back to empty at the end."""
    msnp.undo(f"{msnp.a.email}'s personal message", lambda h: h.restoring(h.a, dialect).conn.call("UUX", payload=EMPTY_PSM))


@case(
    "ns/uux/1",
    UUX,
    dialects="MSNP11+",
    rule="""C: UUX <trid> <length> + <Data><PSM>…</PSM><CurrentMedia>…</CurrentMedia></Data>; S: UUX <trid> 0
    (the length is always 0).""",
    sources=(y111("commands/uux"), escargot("front/msn/msnp_ns.py _m_uux"), r2m("src/notification_server/commands/uux.rs"), sdk("src/notification_server/commands/set_personal_message.rs")),
)
def test_uux_is_answered_with_length_0(msnp: Harness, dialect: str) -> None:
    """`UUX <t> <n>` + a `<Data>` document -> `UUX <t> 0`."""
    ns, _ = msnp.synced(msnp.a, dialect)
    restore_psm(msnp, dialect)
    payload = b"<Data><PSM>conformance &amp; more</PSM><CurrentMedia></CurrentMedia></Data>"
    reply = ns.conn.call("UUX", payload=payload)
    if reply.name != "UUX" or reply.args[1:] != ("0",) or reply.payload:
        ns.conn.fail(f"expected UUX {reply.trid} 0, got {reply.line!r}")


@case(
    "ns/uux/2",
    UUX,
    dialects="MSNP11+",
    rule="""S: UBX <account> <length> + the payload, no TrID: sent to every online user who may see the contact
    when the contact sends UUX.""",
    sources=(y111("commands/ubx"), escargot("front/msn/msnp_ns.py (UBX on UUX)"), r2m("src/notification_server/commands/ubx.rs")),
)
def test_a_personal_message_reaches_watchers_as_ubx(msnp: Harness, dialect: str) -> None:
    """A's `UUX` reaches B, who watches A, as `UBX <A> <n>` + the same payload."""
    b = msnp.online(msnp.b, dialect)
    a = msnp.online(msnp.a, dialect)
    restore_psm(msnp, dialect)
    payload = b"<Data><PSM>watch this</PSM><CurrentMedia></CurrentMedia></Data>"
    a.conn.call("UUX", payload=payload)
    ubx = b.conn.wait_for(lambda c: c.name == "UBX" and c.payload == payload, what=f"UBX {a.email} {len(payload)} with A's new personal message")
    if ubx.args[:1] != (a.email,):
        b.conn.fail(f"expected UBX {a.email} {len(payload)}, got {ubx.line!r}")


@case(
    "ns/gcf/1",
    GCF,
    dialects="MSNP11+",
    rule="""C: GCF <trid> Shields.xml; S: GCF <trid> Shields.xml <length> + an XML <config> document. The client
    asks for the feature-blocking policy after SYN; msnp11-sdk does not finish signing in until it gets it.""",
    sources=(y111("commands/gcf"), escargot("front/msn/msnp_ns.py _m_gcf, SHIELDS"), r2m("src/notification_server/commands/gcf.rs"), sdk("src/client.rs (login waits for GCF)")),
)
def test_gcf_sends_the_shields_policy(msnp: Harness, dialect: str) -> None:
    """`GCF <t> Shields.xml` -> `GCF <t> Shields.xml <n>` + an XML `<config>` document
    (msnp11-sdk does not finish signing in without it)."""
    ns, _ = msnp.synced(msnp.a, dialect)
    reply = ns.conn.call("GCF", "Shields.xml")
    if reply.name != "GCF" or reply.args[1:2] != ("Shields.xml",) or reply.payload is None:
        ns.conn.fail(f"expected GCF {reply.trid} Shields.xml <n> and the policy, got {reply.line!r}")
    try:
        root = ET.fromstring(reply.payload)
    except ET.ParseError as exc:
        ns.conn.fail(f"the policy is not XML: {exc}")
    if root.tag != "config":
        ns.conn.fail(f"the policy's root element is <config>, not <{root.tag}>")
