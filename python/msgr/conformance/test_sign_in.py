"""Signing in: `USR MD5` (MSNP7), `USR TWN` with Passport 1.4 (MSNP8+), what follows
`USR … OK`, refusals, and a second sign-in of the same account."""

from __future__ import annotations

import pytest

from msgr import lock_response
from msgr.testing.wire import RawConnection, parse_message

from . import passport
from .features import PASSPORT, PROFILE, SECOND_SIGN_IN, SIGN_IN_MD5, SIGN_IN_TWN, UNKNOWN_ACCOUNT, WRONG_PASSWORD
from .harness import Harness, label_of
from .steps import CVR_FIELDS, negotiate
from .target import Account, dialect_number

#: An address no test server has an account for (well-formed: `.com` domain).
UNKNOWN = "no-such-account.msgr-conformance@example.com"


def twn_challenge(conn: RawConnection, email: str) -> str:
    """`CVR`, then `USR <t> TWN I <email>` -> `USR <t> TWN S <challenge>`; the challenge."""
    conn.call("CVR", *CVR_FIELDS, email)
    reply = conn.call("USR", "TWN", "I", email)
    if reply.args[1:3] != ("TWN", "S") or len(reply.args) != 4:
        conn.fail(f"expected USR {reply.trid} TWN S <challenge>, got {reply.line!r}")
    return reply.args[3]


def login_url(msnp: Harness, conn: RawConnection) -> str:
    assert msnp.target.nexus is not None
    answer, url = passport.nexus(msnp.target.nexus, conn.transcript, timeout=msnp.target.timeout)
    if url is None:
        conn.fail(f"the nexus answered {answer.status} without PassportURLs: DALogin=…")
    return url


@SIGN_IN_MD5("MSNP7")
def test_md5_sign_in(msnp: Harness, dialect: str) -> None:
    """`INF` -> `INF <t> MD5`; `USR MD5 I` -> a salt; `USR MD5 S <md5(salt+password)>`
    -> `USR <t> OK <account> <name> …`."""
    account = msnp.a
    conn = msnp.connect(label_of(account.email, "NS"))
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


@SIGN_IN_TWN("MSNP8+")
def test_twn_sign_in(msnp: Harness, dialect: str) -> None:
    """`USR TWN I` -> `USR <t> TWN S <challenge>`; the ticket from Passport in
    `USR TWN S` -> `USR <t> OK <account> <name> 1 0` (MSNP8, 9) or
    `USR <t> OK <account> 1 0` (MSNP10+: no name)."""
    msnp.need_nexus(dialect)
    account = msnp.a
    conn = msnp.connect(label_of(account.email, "NS"))
    negotiate(conn, dialect)
    challenge = twn_challenge(conn, account.email)
    _, ticket = passport.login(login_url(msnp, conn), account.email, account.password, challenge, conn.transcript)
    if ticket is None:
        conn.fail(f"the login server gave {account.email} no ticket")
    ok = conn.call("USR", "TWN", "S", ticket)
    fields = 6 if dialect_number(dialect) < 10 else 5
    shape = "OK <account> <name> <verified> 0" if fields == 6 else "OK <account> <verified> 0"
    if ok.args[1:2] != ("OK",) or len(ok.args) != fields or ok.args[2].lower() != account.email.lower():
        conn.fail(f"expected USR {ok.trid} {shape} in {dialect}, got {ok.line!r}")
    if not all(a.isdigit() for a in ok.args[-2:]):
        conn.fail(f"the last two fields of USR … OK are numbers (verified, restricted), got {ok.line!r}")


@SIGN_IN_TWN("MSNP8+", source="msnp8-12.md §c.6, §l")
def test_a_bad_ticket_is_911_then_closed(msnp: Harness, dialect: str) -> None:
    """A ticket the login server never issued: `911`, then the server closes."""
    msnp.need_nexus(dialect)
    conn = msnp.connect(label_of(msnp.a.email, "NS"))
    negotiate(conn, dialect)
    twn_challenge(conn, msnp.a.email)
    reply = conn.call("USR", "TWN", "S", "t=not-a-ticket&p=msgr-conformance")
    if reply.error_code != 911:
        conn.fail(f"a ticket nobody issued should get 911, got {reply.line!r}")
    conn.expect_closed(what="the server to close after 911")


@PASSPORT("once")
def test_the_nexus_names_the_login_server(msnp: Harness) -> None:
    """The nexus answers `200` with a header spelt exactly `PassportURLs` holding
    `DALogin=<url>`; the login server answers a good `Authorization` with `200` and
    `Authentication-Info: Passport1.4 da-status=success,…,from-PP='<ticket>'`, nothing
    after the ticket's closing quote (clients such as msnp11-sdk take all of it)."""
    if not any(dialect_number(d) >= 8 for d in msnp.target.dialects):
        pytest.skip("no dialect from MSNP8 is checked, and only those sign in through Passport")
    msnp.need_nexus("MSNP8")
    assert msnp.target.nexus is not None
    transcript = msnp.transcript
    answer, url = passport.nexus(msnp.target.nexus, transcript)
    if answer.status != 200 or answer.header("PassportURLs", exact=True) is None:
        msnp.fail(f"the nexus should answer 200 with a PassportURLs header (spelt so), got {answer.status} {answer.headers}")
    if url is None:
        msnp.fail("the nexus's PassportURLs has no DALogin=<url>")
    challenge = "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1136073600,kpp=1,kv=5,ver=2.1.0173.1,tpf=9f86d081884c7d659a2feaa0c55ad015"
    login, ticket = passport.login(url, msnp.a.email, msnp.a.password, challenge, transcript)
    info = login.header("Authentication-Info") or ""
    if login.status != 200 or ticket is None:
        msnp.fail(f"the login server should answer 200 with a ticket, got {login.status}")
    if not info.startswith("Passport1.4 da-status=success") or not info.rstrip().endswith("'"):
        msnp.fail("Authentication-Info should be 'Passport1.4 da-status=success,…,from-PP=\\'<ticket>\\'' with nothing after the ticket")
    if any(c in ticket for c in " ,'"):
        msnp.fail("a ticket must hold no space, comma or quote")


@PROFILE()
def test_the_profile_message_follows_sign_in(msnp: Harness, dialect: str) -> None:
    """After `USR … OK`: `SBS 0 null` (MSNP11+), then `MSG Hotmail Hotmail <n>` with a
    `text/x-msmsgsprofile` payload; MSNP10+ profiles say `ABCHMigrated: 1`."""
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
        ns.conn.fail(f"SBS belongs to MSNP11+, not {dialect}")


def refused_md5(msnp: Harness, dialect: str, account: Account, password: str) -> None:
    """`USR MD5` with a wrong proof: `911` (at `I` or at `S`), then a close."""
    conn = msnp.connect(label_of(account.email, "NS"))
    negotiate(conn, dialect)
    first = conn.call("USR", "MD5", "I", account.email)
    if first.error_code == 911:
        conn.expect_closed(what="the server to close after 911")
        return
    if first.args[1:3] != ("MD5", "S") or len(first.args) != 4:
        conn.fail(f"expected USR {first.trid} MD5 S <salt> or 911, got {first.line!r}")
    reply = conn.call("USR", "MD5", "S", lock_response(first.args[3], password))
    if reply.error_code != 911:
        conn.fail(f"a wrong proof should get 911, got {reply.line!r}")
    conn.expect_closed(what="the server to close after 911")


def refused_passport(msnp: Harness, dialect: str, account: Account, password: str, *, may_refuse_at_usr: bool) -> None:
    """`USR TWN I`, then the login server refuses: `401` with `WWW-Authenticate:
    Passport1.4 da-status=failed…` and no ticket. With ``may_refuse_at_usr`` the
    server may instead refuse the account at once with `911` and a close."""
    msnp.need_nexus(dialect)
    conn = msnp.connect(label_of(account.email, "NS"))
    negotiate(conn, dialect)
    conn.call("CVR", *CVR_FIELDS, account.email)
    first = conn.call("USR", "TWN", "I", account.email)
    if may_refuse_at_usr and first.error_code == 911:
        conn.expect_closed(what="the server to close after 911")
        return
    if first.args[1:3] != ("TWN", "S") or len(first.args) != 4:
        conn.fail(f"expected USR {first.trid} TWN S <challenge>, got {first.line!r}")
    answer, ticket = passport.login(login_url(msnp, conn), account.email, password, first.args[3], conn.transcript)
    if ticket is not None or answer.status != 401:
        conn.fail(f"the login server should refuse with 401 and no ticket, got {answer.status}{' and a ticket' if ticket else ''}")
    challenge = answer.header("WWW-Authenticate") or ""
    if not challenge.startswith("Passport1.4 da-status=failed"):
        conn.fail(f"the 401 should carry WWW-Authenticate: Passport1.4 da-status=failed…, got {challenge!r}")


@WRONG_PASSWORD()
def test_a_wrong_password_is_refused(msnp: Harness, dialect: str) -> None:
    """MSNP7: `911` and a close; MSNP8+: `401` from the login server. Spends one
    guess of the last ``--msgr-user`` account."""
    account = msnp.spare
    wrong = account.password + "-wrong"
    if dialect_number(dialect) < 8:
        refused_md5(msnp, dialect, account, wrong)
    else:
        refused_passport(msnp, dialect, account, wrong, may_refuse_at_usr=False)


@UNKNOWN_ACCOUNT()
def test_an_unknown_account_is_refused(msnp: Harness, dialect: str) -> None:
    """MSNP7: `911` (at `USR MD5 I` or at the proof) and a close; MSNP8+: `911` and
    a close at `USR TWN I`, or a challenge and a `401` from the login server."""
    account = Account(UNKNOWN, "no-such-password")
    if dialect_number(dialect) < 8:
        refused_md5(msnp, dialect, account, account.password)
    else:
        refused_passport(msnp, dialect, account, account.password, may_refuse_at_usr=True)


@SECOND_SIGN_IN(source="msnp.md §b.12; msnp8-12.md §k")
def test_out_signs_out_and_the_server_closes(msnp: Harness, dialect: str) -> None:
    """`OUT` from the client (no TrID): the server closes the connection."""
    ns = msnp.sign_in(msnp.a, dialect)
    ns.conn.send("OUT")
    ns.conn.expect_closed(what="the server to close after OUT")


@SIGN_IN_TWN("MSNP8+", source="msnp.md §a.5; msnp8-12.md §c.1, §l")
def test_a_second_usr_after_sign_in_is_207(msnp: Harness, dialect: str) -> None:
    """`USR` on a connection that is signed in already: `207`."""
    ns = msnp.sign_in(msnp.a, dialect)
    reply = ns.conn.call("USR", "TWN", "I", ns.email)
    if reply.error_code != 207:
        ns.conn.fail(f"USR on a signed-in connection gets 207, got {reply.line!r}")


@SIGN_IN_MD5("MSNP7", source="msnp.md §a.5")
def test_a_second_md5_usr_after_sign_in_is_207(msnp: Harness, dialect: str) -> None:
    """`USR` on a connection that is signed in already: `207`."""
    ns = msnp.sign_in(msnp.a, dialect)
    reply = ns.conn.call("USR", "MD5", "I", ns.email)
    if reply.error_code != 207:
        ns.conn.fail(f"USR on a signed-in connection gets 207, got {reply.line!r}")


@SECOND_SIGN_IN()
def test_a_second_sign_in_sends_out_oth_to_the_first(msnp: Harness, dialect: str) -> None:
    """The same account signs in again: the first connection gets `OUT OTH` and is
    closed."""
    first = msnp.sign_in(msnp.a, dialect, label_of(msnp.a.email, "NS 1"))
    msnp.sign_in(msnp.a, dialect, label_of(msnp.a.email, "NS 2"))
    out = first.conn.next_async("OUT")
    if out.args != ("OTH",):
        first.conn.fail(f"expected OUT OTH on the first connection, got {out.line!r}")
    first.conn.expect_closed(what="the server to close the first connection after OUT OTH")
