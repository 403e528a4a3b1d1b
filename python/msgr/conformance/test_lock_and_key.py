"""Lock and Key, judged by behaviour: the client asks for a challenge with `CHL <t>`,
answers for an application with `QRY <t'> <app id> 32` + MD5(challenge ‖ key), and a
wrong answer costs only that answer. A server that does not answer `CHL <t>` with a
challenge (an error, silence, or a close) does not offer Lock and Key: its cases are
UNSUPPORTED."""

from __future__ import annotations

from msgr import lock_response

from .cases import case
from .features import LOCK_AND_KEY
from .harness import Harness
from .steps import Ns

#: Where the mapping of Lock and Key onto CHL/QRY is written: Microsoft's page on the
#: API, and the note that chose the wire form (no public server is known to run it).
SOURCES = (
    "Microsoft Docs (win32, archived), Windows Messenger: Lock and Key overview — desktop-src/winmessenger/im-lock-and-key-ovw.md",
    "msgr's mapping of Lock and Key onto CHL/QRY: the rule quoted is its whole text (no public server is known to run Lock and Key)",
)


def challenge(msnp: Harness, ns: Ns) -> str:
    """`CHL <t>` -> `CHL <t> <challenge>` (the same TrID); UNSUPPORTED when the server
    answers anything else, nothing (found by a `PNG` barrier) or closes."""
    reply = msnp.probe(ns, "lock-and-key", "no Lock and Key", "CHL", missing_on=lambda reply: reply.is_error)
    if reply.name != "CHL" or len(reply.args) != 2 or not reply.args[1]:
        ns.conn.fail(f"expected CHL {reply.trid} <challenge>, got {reply.line!r}")
    return reply.args[1]


@case(
    "ns/lock/1",
    LOCK_AND_KEY,
    rule="""A licensed object asks for a challenge (RequestChallenge): C: CHL <trid>, S: CHL <trid> <challenge>, the
    same TrID; a server without Lock and Key refuses or ignores it.""",
    sources=SOURCES,
)
def test_a_client_challenge_is_issued(msnp: Harness, dialect: str) -> None:
    """`CHL <t>` from the client -> `CHL <t> <challenge>`."""
    msnp.probed("lock-and-key", dialect)
    ns, _ = msnp.synced(msnp.a, dialect)
    challenge(msnp, ns)


@case(
    "ns/lock/2",
    LOCK_AND_KEY,
    rule="""The object answers (SendResponse): C: QRY <trid'> <application id> 32 + lower-case hex MD5(challenge ‖
    key); S: QRY <trid'> when the ID/key pair is licensed and the answer right (LOCK_UNLOCKED).""",
    sources=SOURCES,
)
def test_a_right_answer_unlocks(msnp: Harness, dialect: str) -> None:
    """A right answer for a licensed application -> `QRY <t'>` (needs ``--msgr-license``)."""
    msnp.probed("lock-and-key", dialect)
    ns, _ = msnp.synced(msnp.a, dialect)
    issued = challenge(msnp, ns)
    if msnp.target.license is None:
        msnp.verdict.not_run("the server issues Lock and Key challenges: give a pair it licenses with --msgr-license ID:KEY")
    app_id, key = msnp.target.license
    reply = ns.conn.call("QRY", app_id, payload=lock_response(issued, key).encode())
    if reply.name != "QRY" or len(reply.args) != 1:
        ns.conn.fail(f"a right answer for {app_id} gets QRY {reply.trid}, got {reply.line!r}")


@case(
    "ns/lock/3",
    LOCK_AND_KEY,
    rule="""A wrong answer for an application: 540 <trid'>, and unlike a wrong answer to a server ping the
    connection stays (the object is LOCK_UNLOCKFAILED; the user stays signed in).""",
    sources=SOURCES,
)
def test_a_wrong_answer_is_540_and_the_connection_stays(msnp: Harness, dialect: str) -> None:
    """A wrong answer: `540 <t'>`, and the connection stays (`PNG` still gets `QNG`)."""
    msnp.probed("lock-and-key", dialect)
    ns, _ = msnp.synced(msnp.a, dialect)
    challenge(msnp, ns)
    app_id = msnp.target.license[0] if msnp.target.license else "conformance@msnmsgr.com"
    msnp.refused(ns.conn, ns.conn.call("QRY", app_id, payload=b"0" * 32), 540, f"a wrong answer for {app_id}")
    ns.barrier()
