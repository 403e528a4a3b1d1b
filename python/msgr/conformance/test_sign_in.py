"""Signing in: `USR MD5` (MSNP7), `USR TWN` with Passport 1.4 (MSNP8+), what follows
`USR … OK`, refusals, a second sign-in of the same account, and `OUT`."""

from __future__ import annotations

from msgr import lock_response
from msgr.testing.wire import RawConnection, parse_message

from . import passport
from .cases import Grade, case
from .features import OTHER_DIALECT, PASSPORT, PROFILE, SECOND_SIGN_IN, SIGN_IN_MD5, SIGN_IN_TWN, UNKNOWN_ACCOUNT, WRONG_PASSWORD
from .harness import Harness
from .sources import HYP_AUTH, HYP_ERRORS, HYP_MESSAGES, MS_PASS, MSNPIKI_ERRORS, escargot, r2m, sdk, y111
from .steps import CVR_FIELDS, login_url, negotiate
from .target import Account, dialect_number

#: An address no test server has an account for (well-formed: `.com` domain).
UNKNOWN = "no-such-account.msgr-conformance@example.com"

#: A Passport 1.4 challenge as the `USR … TWN S` line carries it.
CHALLENGE = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1136073600,kpp=1,kv=5,ver=2.1.0173.1,tpf=9f86d081884c7d659a2feaa0c55ad015"


def twn_challenge(conn: RawConnection, email: str) -> str:
    """`CVR`, then `USR <t> TWN I <email>` -> `USR <t> TWN S <challenge>`; the challenge."""
    conn.call("CVR", *CVR_FIELDS, email)
    reply = conn.call("USR", "TWN", "I", email)
    if reply.args[1:3] != ("TWN", "S") or len(reply.args) != 4:
        conn.fail(f"expected USR {reply.trid} TWN S <challenge>, got {reply.line!r}")
    return reply.args[3]


@case(
    "ns/usr/1",
    SIGN_IN_MD5,
    dialects="MSNP7",
    rule="""INF <trid> MD5; USR <trid> MD5 I <account> is answered USR <trid> MD5 S <salt>; USR <trid> MD5 S
    <md5(salt + password) in lower-case hex> is answered USR <trid> OK <account> <url-encoded friendly name>.""",
    sources=(HYP_AUTH, escargot("front/msn/msnp_ns.py _m_inf, _m_usr")),
)
def test_md5_sign_in(msnp: Harness, dialect: str) -> None:
    """`INF`, `USR MD5 I` (a salt), `USR MD5 S <md5(salt+password)>` -> `USR <t> OK`."""
    account = msnp.a
    conn = msnp.connect(account)
    negotiate(conn, dialect)
    inf = conn.call("INF")
    if inf.name != "INF" or "MD5" not in inf.args[1:]:
        conn.fail(f"expected INF {inf.trid} MD5, got {inf.line!r}")
    first = conn.call("USR", "MD5", "I", account.email)
    if first.args[1:3] != ("MD5", "S") or len(first.args) != 4:
        conn.fail(f"expected USR {first.trid} MD5 S <salt>, got {first.line!r}")
    ok = conn.call("USR", "MD5", "S", lock_response(first.args[3], account.password))
    if ok.args[1:2] != ("OK",) or len(ok.args) < 4 or ok.args[2].lower() != account.email.lower():
        conn.fail(f"expected USR {ok.trid} OK {account.email} <name> …, got {ok.line!r}")


@case(
    "ns/usr/2",
    SIGN_IN_MD5,
    dialects="MSNP7",
    rule="207 Already logged in: if the client sends a USR after already logging in, this error will be sent in response.",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS),
)
def test_a_second_md5_usr_after_sign_in_is_207(msnp: Harness, dialect: str) -> None:
    """`USR` on a connection that is signed in already: `207`."""
    second_usr_is_207(msnp, dialect, "MD5")


def second_usr_is_207(msnp: Harness, dialect: str, method: str) -> None:
    """A signs in, then sends `USR <t> <method> I` again: `207`."""
    ns = msnp.sign_in(msnp.a, dialect)
    msnp.refused(ns.conn, ns.conn.call("USR", method, "I", ns.email), 207, "USR on a signed-in connection")


@case(
    "ns/usr/3",
    SIGN_IN_TWN,
    dialects="MSNP8+",
    rule="""USR TWN I is answered USR <trid> TWN S <challenge>; the Passport ticket in USR TWN S is answered
    USR <trid> OK <account> <url-encoded friendly name> <verified> <restricted> in MSNP8 and MSNP9, and
    USR <trid> OK <account> <verified> <restricted> from MSNP10 (the friendly name moves to SYN's PRP MFN).""",
    sources=(y111("commands/usr"), y111("versions/msnp10"), escargot("front/msn/msnp_ns.py _m_usr"), r2m("src/notification_server/commands/usr_s.rs")),
)
def test_twn_sign_in(msnp: Harness, dialect: str) -> None:
    """`USR TWN I` -> a challenge; the ticket in `USR TWN S` -> `USR <t> OK` in the dialect's shape."""
    account = msnp.a
    conn = msnp.connect(account)
    negotiate(conn, dialect)
    challenge = twn_challenge(conn, account.email)
    _, ticket = passport.login(login_url(msnp.target, conn), account.email, account.password, challenge, conn.transcript, timeout=msnp.target.timeout)
    if ticket is None:
        conn.fail(f"the login server gave {account.email} no ticket")
    ok = conn.call("USR", "TWN", "S", ticket)
    fields = 6 if dialect_number(dialect) < 10 else 5
    shape = "OK <account> <name> <verified> <restricted>" if fields == 6 else "OK <account> <verified> <restricted>"
    if ok.args[1:2] != ("OK",) or len(ok.args) != fields or ok.args[2].lower() != account.email.lower():
        conn.fail(f"expected USR {ok.trid} {shape} in {dialect}, got {ok.line!r}")
    if not all(a.isdigit() for a in ok.args[-2:]):
        conn.fail(f"the last two fields of USR … OK are numbers (verified, restricted), got {ok.line!r}")


@case(
    "ns/usr/4",
    SIGN_IN_TWN,
    dialects="MSNP8+",
    rule="Bad or expired ticket: 911 <trid> and close.",
    sources=(HYP_ERRORS, escargot("front/msn/msnp_ns.py _m_usr (Err.AuthFail, close)"), r2m("src/notification_server/commands/usr_s.rs")),
)
def test_a_bad_ticket_is_911_then_closed(msnp: Harness, dialect: str) -> None:
    """A ticket the login server never issued: `911`, then a close."""
    conn = msnp.connect(msnp.a)
    negotiate(conn, dialect)
    twn_challenge(conn, msnp.a.email)
    msnp.refused(conn, conn.call("USR", "TWN", "S", "t=not-a-ticket&p=msgr-conformance"), 911, "a ticket nobody issued")
    msnp.ends_closed(conn, "911", open_grade=Grade.NON_STRICT, why="a server on record keeps it open after 911 for a ticket it does not know", probe=msnp.login_probe())


@case(
    "ns/usr/5",
    SIGN_IN_TWN,
    dialects="MSNP8+",
    rule="207 Already logged in: if the client sends a USR after already logging in, this error will be sent in response.",
    sources=(HYP_ERRORS, MSNPIKI_ERRORS, r2m("src/notification_server/commands/usr_i.rs")),
)
def test_a_second_usr_after_sign_in_is_207(msnp: Harness, dialect: str) -> None:
    """`USR` on a connection that is signed in already: `207`."""
    second_usr_is_207(msnp, dialect, "TWN")


@case(
    "nexus/login/1",
    PASSPORT,
    dialects="once",
    rule="""The nexus answers 200 with a header spelt PassportURLs holding DALogin=<login server>; the login
    server answers a good Authorization with 200 and Authentication-Info: Passport1.4
    da-status=success,…,from-PP='<ticket>', nothing after the ticket's closing quote.""",
    sources=(MS_PASS, y111("services/passport14"), sdk("src/http/http_client.rs (takes everything after from-PP=)")),
)
def test_the_nexus_names_the_login_server(msnp: Harness) -> None:
    """The nexus names the login server, which issues a ticket for a right password."""
    if not any(dialect_number(d) >= 8 for d in msnp.target.dialects if d in msnp.target.accepted):
        msnp.verdict.unsupported("no dialect from MSNP8 is checked, and only those sign in through Passport")
    assert msnp.target.nexus is not None
    transcript = msnp.transcript
    answer, url = passport.nexus(msnp.target.nexus, transcript, timeout=msnp.target.timeout)
    if answer.status != 200 or answer.header("PassportURLs", exact=True) is None:
        msnp.fail(f"the nexus should answer 200 with a PassportURLs header (spelt so), got {answer.status} {answer.headers}")
    if url is None:
        msnp.fail("the nexus's PassportURLs has no DALogin=<url>")
    login, ticket = passport.login(url, msnp.a.email, msnp.a.password, CHALLENGE, transcript, timeout=msnp.target.timeout)
    info = login.header("Authentication-Info") or ""
    if login.status != 200 or ticket is None:
        msnp.fail(f"the login server should answer 200 with a ticket, got {login.status}")
    if not info.startswith("Passport1.4 da-status=success") or not info.rstrip().endswith("'"):
        msnp.fail("Authentication-Info should be 'Passport1.4 da-status=success,…,from-PP=\\'<ticket>\\'' with nothing after the ticket")
    if any(c in ticket for c in " ,'"):
        msnp.fail("a ticket must hold no space, comma or quote")


@case(
    "ns/profile/1",
    PROFILE,
    rule="""In all known cases, immediately after sending the final USR, the NS will send a profile message
    (Content-Type text/x-msmsgsprofile). MSNP11 and MSNP12 send SBS 0 null first (do not send it below
    MSNP11); MSNP10+ profiles send ABCHMigrated: 1.""",
    sources=(HYP_MESSAGES, y111("versions/msnp10"), y111("versions/msnp11"), escargot("front/msn/msnp_ns.py _util_usr_final"), r2m("src/notification_server/commands/usr_s.rs")),
)
def test_the_profile_message_follows_sign_in(msnp: Harness, dialect: str) -> None:
    """After `USR … OK`: `SBS 0 null` (MSNP11+), then `MSG Hotmail Hotmail` with the profile."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.barrier()
    pending = ns.conn.pending
    names = [c.name for c in pending]
    profile = next((c for c in pending if c.name == "MSG" and c.args[:2] == ("Hotmail", "Hotmail")), None)
    if profile is None or profile.payload is None:
        ns.conn.fail("expected the profile, MSG Hotmail Hotmail <n>, after USR … OK")
    headers = dict((k.lower(), v) for k, v in parse_message(profile.payload)[0])
    if not headers.get("content-type", "").lower().startswith("text/x-msmsgsprofile"):
        ns.conn.fail(f"the profile's Content-Type should be text/x-msmsgsprofile, not {headers.get('content-type')!r}")
    number = dialect_number(dialect)
    if number >= 10 and headers.get("abchmigrated") != "1":
        ns.conn.fail(f"{dialect} profiles say ABCHMigrated: 1 (lists with GUIDs), got {headers.get('abchmigrated')!r}")
    if number >= 11:
        sbs = next((c for c in pending if c.name == "SBS"), None)
        if sbs is None or sbs.args != ("0", "null") or names.index("SBS") > names.index("MSG"):
            ns.conn.fail("MSNP11+ send SBS 0 null after USR … OK, before the profile")
    elif "SBS" in names:
        if number == 10:
            msnp.verdict.non_strict("SBS belongs to MSNP11+; a server on record sends it from MSNP10, and clients ignore it")
        else:
            ns.conn.fail(f"SBS belongs to MSNP11+, not {dialect}")


def refused_md5(msnp: Harness, dialect: str, account: Account, password: str) -> None:
    """`USR MD5` with a wrong proof: `911` (at `I` or at `S`), then a close."""
    conn = msnp.connect(account)
    negotiate(conn, dialect)
    first = conn.call("USR", "MD5", "I", account.email)
    if first.error_code == 911:
        msnp.ends_closed(conn, "911", open_grade=Grade.FAILED, probe=msnp.login_probe())
        return
    if first.args[1:3] != ("MD5", "S") or len(first.args) != 4:
        conn.fail(f"expected USR {first.trid} MD5 S <salt> or 911, got {first.line!r}")
    msnp.refused(conn, conn.call("USR", "MD5", "S", lock_response(first.args[3], password)), 911, "a wrong MD5 proof")
    msnp.ends_closed(conn, "911", open_grade=Grade.FAILED, probe=msnp.login_probe())


def refused_passport(msnp: Harness, dialect: str, account: Account, password: str, *, may_refuse_at_usr: bool) -> None:
    """`USR TWN I`, then the login server refuses: `401` with `WWW-Authenticate:
    Passport1.4 da-status=failed…` and no ticket. With ``may_refuse_at_usr`` the
    server may instead refuse the account at once with `911` and a close."""
    conn = msnp.connect(account)
    negotiate(conn, dialect)
    conn.call("CVR", *CVR_FIELDS, account.email)
    first = conn.call("USR", "TWN", "I", account.email)
    if may_refuse_at_usr and first.error_code == 911:
        msnp.ends_closed(conn, "911", open_grade=Grade.FAILED, probe=msnp.login_probe())
        return
    if first.args[1:3] != ("TWN", "S") or len(first.args) != 4:
        conn.fail(f"expected USR {first.trid} TWN S <challenge>, got {first.line!r}")
    answer, ticket = passport.login(login_url(msnp.target, conn), account.email, password, first.args[3], conn.transcript, timeout=msnp.target.timeout)
    if ticket is not None or answer.status != 401:
        conn.fail(f"the login server should refuse with 401 and no ticket, got {answer.status}{' and a ticket' if ticket else ''}")
    challenge = answer.header("WWW-Authenticate") or ""
    if not challenge.startswith("Passport1.4 da-status=failed"):
        msnp.verdict.non_strict(f"the 401 carries no WWW-Authenticate: Passport1.4 da-status=failed… (got {challenge!r}); clients read the status")


@case(
    "ns/usr/6",
    WRONG_PASSWORD,
    dialects="MSNP7",
    rule="911 Authentication failed: a wrong USR MD5 proof; the server then closes the connection.",
    sources=(HYP_ERRORS, HYP_AUTH, escargot("front/msn/msnp_ns.py _m_usr")),
)
def test_a_wrong_md5_password_is_refused(msnp: Harness, dialect: str) -> None:
    """A wrong MD5 proof: `911` and a close (spends one guess of the last ``--msgr-user``)."""
    account = msnp.spare
    refused_md5(msnp, dialect, account, account.password + "-wrong")


@case(
    "nexus/login/2",
    WRONG_PASSWORD,
    dialects="once",
    rule="""A wrong password at the login server: 401 with WWW-Authenticate: Passport1.4 da-status=failed,… and
    no ticket (the same in every dialect from MSNP8, so checked once).""",
    sources=(MS_PASS, y111("services/passport14"), escargot("front/msn/http/other.py handle_login"), r2m("src/http/passport_one_four.rs")),
)
def test_a_wrong_passport_password_is_refused(msnp: Harness) -> None:
    """A wrong password: the login server's `401` and no ticket (spends one guess of the last ``--msgr-user``)."""
    runnable = [d for d in msnp.target.dialects if d in msnp.target.accepted and dialect_number(d) >= 8]
    if not runnable:
        msnp.verdict.unsupported("no dialect from MSNP8 is checked, and only those sign in through Passport")
    account = msnp.spare
    refused_passport(msnp, runnable[-1], account, account.password + "-wrong", may_refuse_at_usr=False)


@case(
    "ns/usr/7",
    UNKNOWN_ACCOUNT,
    rule="""An account that does not exist is refused as a wrong password is: MSNP7 911 (at USR MD5 I or at the
    proof) and a close; from MSNP8 911 and a close at USR TWN I (R2M), or a challenge and the login server's
    401 (Escargot).""",
    sources=(HYP_ERRORS, MS_PASS, escargot("front/msn/msnp_ns.py _m_usr"), r2m("src/notification_server/commands/usr_i.rs")),
)
def test_an_unknown_account_is_refused(msnp: Harness, dialect: str) -> None:
    """An account that does not exist cannot sign in."""
    account = Account(UNKNOWN, "no-such-password")
    if dialect_number(dialect) < 8:
        refused_md5(msnp, dialect, account, account.password)
    else:
        refused_passport(msnp, dialect, account, account.password, may_refuse_at_usr=True)


@case(
    "ns/out/1",
    SECOND_SIGN_IN,
    rule="C: OUT — the client signs out; the server closes (older servers first echoed OUT).",
    sources=(y111("commands/out"), escargot("front/msn/msnp_ns.py (OUT closes)"), r2m("src/notification_server/handlers")),
)
def test_out_signs_out_and_the_server_closes(msnp: Harness, dialect: str) -> None:
    """`OUT` from the client (no TrID): the server closes the connection."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.conn.send("OUT")
    echoed = ns.conn.expect_closed(what="the server to close after OUT")
    if any(c.name == "OUT" for c in echoed):
        msnp.verdict.note("the server echoed OUT before closing, as older servers did")


@case(
    "ns/out/2",
    SECOND_SIGN_IN,
    rule="A second account signing in elsewhere: the older session gets OUT OTH and is closed. The server closes the connection after sending any OUT.",
    sources=(y111("commands/out"), escargot("front/msn/msnp_ns.py on_login_elsewhere"), r2m("src/notification_server/handlers")),
)
def test_a_second_sign_in_sends_out_oth_to_the_first(msnp: Harness, dialect: str) -> None:
    """The same account signs in again: the first connection gets `OUT OTH` and is closed."""
    first = msnp.sign_in(msnp.a, dialect)
    msnp.sign_in(msnp.a, dialect)
    out = first.conn.next_async("OUT")
    if out.args != ("OTH",):
        first.conn.fail(f"expected OUT OTH on the first connection, got {out.line!r}")
    msnp.ends_closed(first.conn, "OUT OTH", open_grade=Grade.NON_STRICT)


@case(
    "ns/usr/8",
    OTHER_DIALECT,
    dialects="MSNP8+",
    rule="""MSNP8 replaced the MD5 sign-in by TWN (Passport 1.4): INF and USR MD5 do not exist there. If you
    send a command which has no meaning during the login stage, you will be disconnected immediately with no
    error; 502 (command disabled) is the ordinary refusal of a command a dialect lacks.""",
    sources=(HYP_AUTH, y111("versions/msnp8"), escargot("front/msn/msnp_ns.py _m_usr (closes)"), r2m("src/notification_server/commands/usr_i.rs")),
)
def test_md5_sign_in_is_gone_from_msnp8(msnp: Harness, dialect: str) -> None:
    """`INF` and `USR MD5` on MSNP8+ are refused: a close, or an error."""
    for command, args in (("INF", ()), ("USR", ("MD5", "I", msnp.a.email))):
        conn = msnp.connect(msnp.a)
        negotiate(conn, dialect)
        trid = conn.request(command, *args)
        reply = msnp.login_barrier(conn, trid, f"{command}{' MD5' if args else ''} in {dialect}")
        if reply is not None and reply.trid == trid and not reply.is_error:
            conn.fail(f"{command} does not exist in {dialect}: expected a close or an error, got {reply.line!r}")
