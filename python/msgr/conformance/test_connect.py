"""Opening a connection: `VER` (the dialect) and `CVR` (the client's version)."""

from __future__ import annotations

import pytest

from .features import CVR, VER
from .harness import Harness
from .steps import CVR_FIELDS, negotiate
from .target import Target, dialect_number


def first_dialect(args: tuple[str, ...]) -> str | None:
    """The first ``MSNPn`` token of a `VER` reply (a client takes that one)."""
    return next((a for a in args[1:] if a.startswith("MSNP")), None)


@VER()
def test_ver_agrees_to_a_dialect_offered_alone(msnp: Harness, dialect: str) -> None:
    """`VER 1 <d> CVR0` -> `VER 1 <d>`: the chosen dialect first."""
    conn = msnp.connect("NS")
    reply = conn.call("VER", dialect, "CVR0")
    if reply.name != "VER" or first_dialect(reply.args) != dialect:
        conn.fail(f"offered {dialect} alone and expected VER {reply.trid} {dialect}, got {reply.line!r}")


@VER("once")
def test_ver_picks_the_best_common_dialect(msnp: Harness, target: Target) -> None:
    """Offered every dialect best first, the server answers with the best it has."""
    offered = sorted(target.accepted, key=dialect_number, reverse=True)
    conn = msnp.connect("NS")
    reply = conn.call("VER", *offered, "CVR0")
    if reply.name != "VER" or first_dialect(reply.args) != offered[0]:
        conn.fail(f"offered {' '.join(offered)} and expected {offered[0]} (the best it agrees to alone), got {reply.line!r}")


@VER("once")
def test_ver_without_a_common_dialect_is_0_then_closed(msnp: Harness) -> None:
    """No dialect in common: `VER <t> 0`, then the server closes."""
    conn = msnp.connect("NS")
    reply = conn.call("VER", "MSNP99", "CVR0")
    if reply.name != "VER" or reply.args[1:] != ("0",):
        conn.fail(f"offered only MSNP99 and expected VER {reply.trid} 0, got {reply.line!r}")
    conn.expect_closed(what="the server to close after VER 0")


@VER()
def test_a_second_ver_is_715_then_closed(msnp: Harness, dialect: str) -> None:
    """A second `VER` on the same connection: `715` and a close (Escargot's answer,
    the only one on record)."""
    conn = msnp.connect("NS")
    negotiate(conn, dialect)
    reply = conn.call("VER", dialect, "CVR0")
    if reply.error_code != 715:
        conn.fail(f"a second VER should be refused with 715, got {reply.line!r}")
    conn.expect_closed(what="the server to close after 715")


@CVR()
def test_cvr_is_answered_with_versions_and_urls(msnp: Harness, dialect: str, target: Target) -> None:
    """`CVR` -> `CVR <t> <recommended> <recommended> <minimum> <download URL> <info URL>`.
    Optional in MSNP7, where the client may leave it out."""
    conn = msnp.connect("NS")
    negotiate(conn, dialect)
    reply = conn.call("CVR", *CVR_FIELDS, target.accounts[0].email)
    if reply.is_error and dialect_number(dialect) < 8:
        pytest.skip(f"CVR is optional in MSNP7, and the server answered {reply.line!r}")
    if reply.name != "CVR" or len(reply.args) != 6:
        conn.fail(f"expected CVR {reply.trid} <version> <version> <minimum> <url> <url>, got {reply.line!r}")
