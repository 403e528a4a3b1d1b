"""msgr's Lock and Key extension, checked when the server announces it: the client asks
for a challenge with `CHL <t>`, answers for an application with `QRY <t'> <app id> 32`
+ MD5(challenge ‖ key), and a wrong answer costs only that answer."""

from __future__ import annotations

import pytest

from msgr import lock_response
from msgr.testing.wire import parse_message

from .features import LOCK_AND_KEY
from .harness import Harness
from .steps import Ns

#: The profile header by which a server says it runs Lock and Key (docs/decisions.md C7).
HEADER = "x-msgr-lockandkey"


def announced(msnp: Harness, dialect: str) -> Ns:
    """A signed in; skips unless its profile says `X-Msgr-LockAndKey: enabled`."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.barrier()
    profile = next((c for c in ns.conn.pending if c.name == "MSG" and c.args[:2] == ("Hotmail", "Hotmail") and c.payload), None)
    mode = None
    if profile is not None and profile.payload is not None:
        mode = dict((k.lower(), v.strip()) for k, v in parse_message(profile.payload)[0]).get(HEADER)
    if mode != "enabled":
        pytest.skip(f"the server does not announce Lock and Key (its profile has X-Msgr-LockAndKey: {mode or 'nothing'})")
    return ns


def challenge(ns: Ns) -> str:
    """`CHL <t>` -> `CHL <t> <challenge>` (the same TrID)."""
    reply = ns.conn.call("CHL")
    if reply.name != "CHL" or len(reply.args) != 2 or not reply.args[1]:
        ns.conn.fail(f"expected CHL {reply.trid} <challenge>, got {reply.line!r}")
    return reply.args[1]


@LOCK_AND_KEY()
def test_a_right_answer_unlocks(msnp: Harness, dialect: str) -> None:
    """`QRY <t'> <app id> 32` + MD5(challenge ‖ key) on a new TrID -> `QRY <t'>`. Needs
    the pair the server licenses (``--msgr-license ID:KEY``)."""
    ns = announced(msnp, dialect)
    if msnp.target.license is None:
        pytest.skip("give the Lock and Key pair the server licenses with --msgr-license ID:KEY")
    app_id, key = msnp.target.license
    digest = lock_response(challenge(ns), key)
    reply = ns.conn.call("QRY", app_id, payload=digest.encode())
    if reply.name != "QRY" or len(reply.args) != 1:
        ns.conn.fail(f"a right answer for {app_id} gets QRY {reply.trid}, got {reply.line!r}")


@LOCK_AND_KEY()
def test_a_wrong_answer_is_540_and_the_connection_stays(msnp: Harness, dialect: str) -> None:
    """A wrong answer for an application: `540 <t'>`, and unlike a wrong answer to a
    ping the connection stays (`PNG` still gets `QNG`)."""
    ns = announced(msnp, dialect)
    app_id = msnp.target.license[0] if msnp.target.license else "conformance@msnmsgr.com"
    challenge(ns)
    reply = ns.conn.call("QRY", app_id, payload=b"0" * 32)
    if reply.error_code != 540:
        ns.conn.fail(f"a wrong answer for {app_id} gets 540 {reply.trid}, got {reply.line!r}")
    ns.barrier()
