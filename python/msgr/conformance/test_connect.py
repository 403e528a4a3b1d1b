"""Opening a connection: `VER` (the dialect) and `CVR` (the client's version)."""

from __future__ import annotations

from .cases import Grade, case
from .features import CVR, VER
from .harness import Harness
from .sources import HYP_AUTH, escargot, r2m, y111
from .steps import CVR_FIELDS
from .target import Target, dialect_number


def first_dialect(args: tuple[str, ...]) -> str | None:
    """The first ``MSNPn`` token of a `VER` reply (a client takes that one)."""
    return next((a for a in args[1:] if a.startswith("MSNP")), None)


@case(
    "ns/ver/1",
    VER,
    rule="""The client lists every dialect it speaks, best first, then CVR0. The server answers with the
    chosen dialect first; for MSNP8 and later the chosen dialect alone (VER 1 MSNP11), older documentation
    shows the accepted list echoed (VER 1 MSNP7 … CVR0). No common dialect: VER <trid> 0, then close.""",
    sources=(HYP_AUTH, y111("commands/ver"), escargot("front/msn/msnp_ns.py _m_ver"), r2m("src/notification_server/commands/ver.rs")),
)
def test_ver_agrees_to_a_dialect_offered_alone(msnp: Harness, dialect: str, target: Target) -> None:
    """Each dialect offered alone is agreed to, with the chosen dialect first."""
    conn = msnp.connect()
    reply = conn.call("VER", dialect, "CVR0")
    if reply.name == "VER" and reply.args[1:] == ("0",):
        if target.requested:
            conn.fail(f"the run names {dialect} (--msgr-protocols), and the server refused it: {reply.line!r}")
        msnp.verdict.unsupported(f"the server refuses {dialect} ({reply.line!r})")
    if reply.name != "VER" or first_dialect(reply.args) != dialect:
        conn.fail(f"offered {dialect} alone and expected VER {reply.trid} {dialect}, got {reply.line!r}")
    extra = [a for a in reply.args[1:] if a not in (dialect, "CVR0")]
    if extra:
        conn.fail(f"the reply names dialects the client did not offer: {extra}")
    if dialect_number(dialect) >= 8 and reply.args[1:] != (dialect,):
        msnp.verdict.non_strict(f"from MSNP8 the chosen dialect comes alone, got {reply.line!r} (the older echo of the list)")


@case(
    "ns/ver/2",
    VER,
    dialects="once",
    rule="""Escargot takes the highest dialect it supports that the client listed; R2M takes the first one in
    the client's order that it supports. With a client list sorted best first they agree.""",
    sources=(y111("commands/ver"), escargot("front/msn/msnp_ns.py _m_ver"), r2m("src/notification_server/commands/ver.rs")),
)
def test_ver_picks_the_best_common_dialect(msnp: Harness, target: Target) -> None:
    """Offered every dialect it agrees to, best first, the server picks the best."""
    offered = sorted(target.accepted, key=dialect_number, reverse=True)
    conn = msnp.connect()
    reply = conn.call("VER", *offered, "CVR0")
    if reply.name != "VER" or first_dialect(reply.args) != offered[0]:
        conn.fail(f"offered {' '.join(offered)} and expected {offered[0]} (the best it agrees to alone), got {reply.line!r}")


@case(
    "ns/ver/3",
    VER,
    dialects="once",
    rule="""If the server supports at least one of these protocols the parameters will be a list of the
    supported protocol(s), otherwise the response will contain a single parameter of 0, and will disconnect
    you immediately.""",
    sources=(HYP_AUTH, escargot("front/msn/msnp_ns.py _m_ver"), r2m("src/notification_server/commands/ver.rs")),
)
def test_ver_without_a_common_dialect_is_0_then_closed(msnp: Harness) -> None:
    """No dialect in common: `VER <t> 0`, then a close."""
    conn = msnp.connect()
    reply = conn.call("VER", "MSNP99", "CVR0")
    if reply.name != "VER" or reply.args[1:] != ("0",):
        conn.fail(f"offered only MSNP99 and expected VER {reply.trid} 0, got {reply.line!r}")
    msnp.ends_closed(conn, "VER 0", open_grade=Grade.FAILED, probe=msnp.login_probe())


@case(
    "ns/ver/4",
    VER,
    rule="""If you send a command at the wrong time (for example, if you send a VER command when the protocol
    version to use has already been negotiated), the server will send a 715 error, then disconnect you.""",
    sources=(HYP_AUTH, escargot("front/msn/msnp_ns.py _m_ver (Err.NotExpected, close)")),
)
def test_a_second_ver_is_715_then_closed(msnp: Harness, dialect: str) -> None:
    """A second `VER` on the same connection: `715`, then a close."""
    conn = msnp.connect()
    first = conn.call("VER", dialect, "CVR0")
    if first.name != "VER" or first_dialect(first.args) != dialect:
        conn.fail(f"offered {dialect} alone and expected VER {first.trid} {dialect}, got {first.line!r}")
    trid = conn.request("VER", dialect, "CVR0")
    reply = msnp.login_barrier(conn, trid, "a second VER")
    if reply is not None and reply.trid != trid:
        return
    if reply is None:
        msnp.verdict.non_strict("the server closed without 715")
    elif reply.name == "VER":
        msnp.verdict.non_strict(f"the server negotiated again ({reply.line!r}) where the original refused with 715")
        return
    elif reply.error_code != 715:
        conn.fail(f"a second VER should be refused with 715, got {reply.line!r}")
    msnp.ends_closed(conn, "715", open_grade=Grade.NON_STRICT, probe=msnp.login_probe())


@case(
    "ns/cvr/1",
    CVR,
    rule="""Server fields: recommended version, recommended version again, minimum version, download URL, info
    URL.""",
    sources=(y111("commands/cvr"), escargot("front/msn/msnp_ns.py _m_cvr"), r2m("src/notification_server/commands/cvr.rs")),
)
def test_cvr_is_answered_with_versions_and_urls(msnp: Harness, dialect: str, target: Target) -> None:
    """`CVR` -> `CVR <t> <recommended> <recommended> <minimum> <download URL> <info URL>`."""
    conn = msnp.connect()
    conn.call("VER", dialect, "CVR0")
    reply = conn.call("CVR", *CVR_FIELDS, target.accounts[0].email)
    if reply.is_error and dialect_number(dialect) < 8:
        msnp.verdict.informational(f"CVR is optional before MSNP8, and the server refused it: {reply.line!r}")
        return
    if reply.name != "CVR" or len(reply.args) != 6:
        conn.fail(f"expected CVR {reply.trid} <version> <version> <minimum> <url> <url>, got {reply.line!r}")
