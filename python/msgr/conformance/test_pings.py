"""The server's pings (`CHL 0` and the client's `QRY` answer, checked) and the client's
keep-alive (`PNG`/`QNG`)."""

from __future__ import annotations

from msgr import lock_response, msnp11_response

from .cases import Grade, case
from .features import KEEPALIVE, PINGS
from .harness import Harness
from .sources import HYP_ERRORS, escargot, nina, r2m, sdk, y111
from .steps import Ns

PING_SOURCES = (
    "hypothetic.org, Notification: Pings and Challenges — http://hypothetic.org/docs/msn/sitev2.0/notification/pings_challenges.php",
    nina("MSNP8/Challenges"),
    nina("MSNP11/Challenges"),
    y111("commands/chl"),
    y111("commands/qry"),
)

#: The client pairs of each algorithm (the sources of PING_SOURCES).
MD5_PAIR = ("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5")
MSNP11_PAIR = ("PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")


def answer(ns: Ns, challenge: str) -> tuple[str, str]:
    """(product id, digest) of the right answer in the connection's dialect: MD5 up to
    MSNP10, the MSNP11 algorithm from MSNP11."""
    if ns.number >= 11:
        product, key = MSNP11_PAIR
        return product, msnp11_response(challenge, product, key)
    product, key = MD5_PAIR
    return product, lock_response(challenge, key)


def ping_after_chg(msnp: Harness, dialect: str) -> tuple[Ns, str]:
    """A online; the challenge the server sent after the first `CHG` (UNSUPPORTED when
    it sent none: pings are optional)."""
    msnp.probed("pings", dialect)
    ns = msnp.online(msnp.a, dialect)
    ns.barrier()
    chl = next((c for c in ns.conn.pending if c.name == "CHL" and c.trid == 0 and len(c.args) == 2), None)
    if chl is None:
        msnp.missing("pings", dialect, "the server sent no CHL 0 after the first CHG: it does not ping (optional; Escargot and R2M do not either)")
    ns.conn.wait_for(lambda c: c is chl)
    return ns, chl.args[1]


@case(
    "ns/chl/1",
    PINGS,
    rule="""S: CHL 0 <challenge>; C: QRY <trid> <product id> 32 + the answer; S: QRY <trid> with no payload. MSNP8–10:
    lower-case hex MD5(challenge ‖ key) with msmsgs@msnmsgr.com / Q1P7W2E4J9R8U3S5; MSNP11–12 the advanced
    answer with PROD0090YUAUV{2B / YMM8C_H7KCQ2S_KL.""",
    sources=PING_SOURCES,
)
def test_a_right_answer_to_a_ping_is_accepted(msnp: Harness, dialect: str) -> None:
    """`CHL 0 <challenge>` -> `QRY <t> <product id> 32` + the answer -> `QRY <t>` (no
    payload): MD5 with `msmsgs@msnmsgr.com` up to MSNP10, the MSNP11 algorithm with
    `PROD0090YUAUV{2B` from MSNP11."""
    ns, challenge = ping_after_chg(msnp, dialect)
    product, digest = answer(ns, challenge)
    reply = ns.conn.call("QRY", product, payload=digest.encode())
    if reply.name != "QRY" or len(reply.args) != 1 or reply.payload is not None:
        ns.conn.fail(f"a right answer gets QRY {reply.trid}, got {reply.line!r}")


@case(
    "ns/chl/2",
    PINGS,
    rule="540 Challenge response failed: a wrong QRY digest, an unknown client ID, or no QRY within the timeout; the server then closes the connection.",
    sources=(*PING_SOURCES, HYP_ERRORS),
)
def test_a_wrong_answer_to_a_ping_is_540_then_closed(msnp: Harness, dialect: str) -> None:
    """A wrong digest: `540 <t>`, then the server closes."""
    ns, challenge = ping_after_chg(msnp, dialect)
    product, digest = answer(ns, challenge)
    wrong = "0" * 32 if digest != "0" * 32 else "1" * 32
    msnp.refused(ns.conn, ns.conn.call("QRY", product, payload=wrong.encode()), 540, "a wrong answer to a ping")
    msnp.ends_closed(ns.conn, "540", open_grade=Grade.FAILED)


@case(
    "ns/png/1",
    KEEPALIVE,
    rule="""PNG and QNG carry no TrID. From MSNP9, QNG carries the number of seconds until the next PNG;
    msnp11-sdk disconnects itself on a QNG without a number or with 5 or less.""",
    sources=(y111("commands/png"), y111("commands/qng"), escargot("front/msn/msnp_ns.py _m_png"), r2m("src/notification_server/handlers"), sdk("src/client.rs (ping loop)")),
)
def test_png_is_answered_qng(msnp: Harness, dialect: str) -> None:
    """`PNG` -> `QNG` (no TrID either way); from MSNP9 `QNG <seconds to the next PNG>`,
    and msnp11-sdk (MSNP11) hangs up unless that is more than 5."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.conn.send("PNG")
    qng = ns.conn.next_async("QNG")
    if ns.number < 9:
        if len(qng.args) > 1:
            ns.conn.fail(f"expected QNG, got {qng.line!r}")
        return
    if len(qng.args) != 1 or not qng.args[0].isdigit():
        ns.conn.fail(f"{dialect} answers QNG <seconds>, got {qng.line!r}")
    if ns.number == 11 and int(qng.args[0]) <= 5:
        ns.conn.fail(f"MSNP11 clients such as msnp11-sdk disconnect on QNG 5 or less, got {qng.line!r}")
