"""What MSNP11 added on the notification server: the personal message (`UUX`) and
the feature policy (`GCF Shields.xml`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .features import GCF, UUX
from .harness import Harness


@UUX("MSNP11+")
def test_uux_is_answered_with_length_0(msnp: Harness, dialect: str) -> None:
    """`UUX <t> <n>` + `<Data><PSM>…</PSM><CurrentMedia>…</CurrentMedia></Data>` ->
    `UUX <t> 0`."""
    ns = msnp.sign_in(msnp.a, dialect)
    payload = b"<Data><PSM>conformance &amp; more</PSM><CurrentMedia></CurrentMedia></Data>"
    reply = ns.conn.call("UUX", payload=payload)
    if reply.name != "UUX" or reply.args[1:] != ("0",) or reply.payload:
        ns.conn.fail(f"expected UUX {reply.trid} 0, got {reply.line!r}")


@UUX("MSNP11+")
def test_a_personal_message_reaches_watchers_as_ubx(msnp: Harness, dialect: str) -> None:
    """A's `UUX` reaches B, who has A on the forward list, as `UBX <A> <n>` + the same
    payload."""
    b = msnp.sign_in(msnp.b, dialect)
    b.ensure_on_forward_list(msnp.a.email)
    b.online()
    a = msnp.online(msnp.a, dialect)
    payload = b"<Data><PSM>watch this</PSM><CurrentMedia></CurrentMedia></Data>"
    a.conn.call("UUX", payload=payload)
    ubx = b.conn.wait_for(lambda c: c.name == "UBX" and c.payload == payload, what=f"UBX {a.email} {len(payload)} with A's new personal message")
    if ubx.args[:1] != (a.email,):
        b.conn.fail(f"expected UBX {a.email} {len(payload)}, got {ubx.line!r}")
    a.conn.call("UUX", payload=b"<Data><PSM></PSM><CurrentMedia></CurrentMedia></Data>")


@GCF("MSNP11+")
def test_gcf_sends_the_shields_policy(msnp: Harness, dialect: str) -> None:
    """`GCF <t> Shields.xml` -> `GCF <t> Shields.xml <n>` + an XML `<config>` document
    (msnp11-sdk does not finish signing in without it)."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.syn()
    reply = ns.conn.call("GCF", "Shields.xml")
    if reply.name != "GCF" or reply.args[1:2] != ("Shields.xml",) or reply.payload is None:
        ns.conn.fail(f"expected GCF {reply.trid} Shields.xml <n> and the policy, got {reply.line!r}")
    try:
        root = ET.fromstring(reply.payload)
    except ET.ParseError as exc:
        ns.conn.fail(f"the policy is not XML: {exc}")
    if root.tag != "config":
        ns.conn.fail(f"the policy's root element is <config>, not <{root.tag}>")
