"""The steps many cases share, each at the wire level and each checked just enough to
go on: open a connection, agree on a dialect, sign in (``USR MD5`` up to MSNP7,
``USR TWN`` and Passport from MSNP8), download the lists, make two users contacts, go
online, open a switchboard and call someone into it. A step that does not get what it
needs fails the case with the lines exchanged so far; the checks proper are in the
case modules.

Steps do what a real client does, in its order: sign in, ``SYN``, then ``CHG``. A
server that answers `713` (too active) gets the same request again after a back-off,
and one that answers a new connection with `600` (busy) a new connection, until
``Target.limit_wait`` has passed; then the case is RATE-LIMITED, not failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from msgr import lock_response
from msgr.testing.wire import Command, ExchangeError, RawConnection, Transcript

from . import passport
from .target import Account, Target, dialect_number
from .verdict import RateLimited

__all__ = [
    "CAPABILITIES",
    "CVR_FIELDS",
    "SuiteConnection",
    "Ns",
    "Sb",
    "List",
    "connect",
    "negotiate",
    "sign_in",
    "open_switchboard",
    "call_in",
    "address_of",
    "text_message",
    "typing_message",
    "refused_and_not_relayed",
]

#: The client capabilities each dialect's `CHG` announces: MSN 6.0's for MSNP8, MSN
#: 7.0's from MSNP9. MSNP7 has none.
CAPABILITIES = {"MSNP8": "268435500", "MSNP9": "1073791020", "MSNP10": "1073791020", "MSNP11": "1073791020", "MSNP12": "1073791020"}

#: `CVR` as MSN Messenger 6.0 sent it; the account is appended.
CVR_FIELDS = ("0x0409", "winnt", "5.1", "i386", "MSNMSGR", "6.0.0602", "MSMSGS")

#: Error codes that say "not now" rather than "no": too active, and server busy.
TOO_ACTIVE = 713
BUSY = (600, 601, 604)

#: List bits of MSNP8+ `LST` lines.
LIST_BITS = {"FL": 1, "AL": 2, "BL": 4, "RL": 8, "PL": 16}


class SuiteConnection(RawConnection):
    """A raw connection that backs off and asks again when the server says `713`."""

    limit_wait: float = 4.0

    def call(self, name: str, *args: str | int, payload: bytes | None = None, timeout: float | None = None) -> Command:
        """``request`` and the first reply with its TrID; a `713` is retried with the
        next TrID after a growing pause, up to ``limit_wait`` seconds."""
        delay, waited = 0.05, 0.0
        while True:
            reply = super().call(name, *args, payload=payload, timeout=timeout)
            if reply.error_code != TOO_ACTIVE:
                return reply
            if waited >= self.limit_wait:
                raise RateLimited(f"{self.label}: the server answered {name} with 713 (too active) for {waited:.1f} s", self.transcript)
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)

    def barrier(self) -> None:
        """`PNG`, then its `QNG`: every line the server sent before is in by then."""
        self.send("PNG")
        self.next_async("QNG")


def connect(target: Target, label: str, transcript: Transcript, host: str | None = None, port: int | None = None) -> SuiteConnection:
    """A raw connection to the server (or to ``host:port``, a switchboard it named)."""
    conn = SuiteConnection.open(host or target.host, port or target.port, label=label, transcript=transcript, timeout=target.timeout)
    assert isinstance(conn, SuiteConnection)
    conn.limit_wait = target.limit_wait
    return conn


class Busy(Exception):
    """The server answered a new connection with `600`-class busy and closed it."""


def negotiate(conn: RawConnection, dialect: str) -> Command:
    """``VER 1 <dialect> CVR0``, and a ``VER 1 <dialect>`` back. A server that is busy
    (`600 0` and a close) raises ``Busy``."""
    try:
        reply = conn.call("VER", dialect, "CVR0")
    except ExchangeError:
        if conn.closed and any(c.error_code in BUSY for c in conn.pending):
            raise Busy() from None
        raise
    if reply.error_code in BUSY:
        raise Busy()
    if reply.name != "VER" or reply.args[1:2] != (dialect,):
        conn.fail(f"offered {dialect} alone and expected VER {reply.trid} {dialect}, got {reply.line!r}")
    return reply


@dataclass
class List:
    """What a `SYN` downloaded: its reply, then the lines after it in order."""

    reply: Command
    dialect: str
    lines: list[Command] = field(default_factory=list)

    def named(self, name: str) -> list[Command]:
        return [c for c in self.lines if c.name == name]

    def contacts(self) -> dict[str, tuple[set[str], str | None]]:
        """Every contact in the download: lower-case account -> (its lists, its
        contact GUID when the dialect has one)."""
        found: dict[str, tuple[set[str], str | None]] = {}
        number = dialect_number(self.dialect)
        for line in self.named("LST"):
            args = line.args
            if number < 8:
                if len(args) >= 6:
                    found.setdefault(args[5].lower(), (set(), None))[0].add(args[1])
                continue
            if number < 10:
                if len(args) >= 3 and args[2].isdigit():
                    found[args[0].lower()] = ({n for n, bit in LIST_BITS.items() if int(args[2]) & bit}, None)
                continue
            account = next((a[2:] for a in args if a.startswith("N=")), None)
            guid = next((a[2:] for a in args if a.startswith("C=")), None)
            bits = next((a for a in args if a.isdigit()), None)
            if account is not None and bits is not None:
                found[account.lower()] = ({n for n, bit in LIST_BITS.items() if int(bits) & bit}, guid)
        return found

    def lists_of(self, email: str) -> set[str]:
        return self.contacts().get(email.lower(), (set(), None))[0]

    def setting(self, name: str) -> str | None:
        """The value of `GTC` or `BLP` in the download."""
        line = next((c for c in self.lines if c.name == name), None)
        return line.args[-1] if line is not None and line.args else None


@dataclass
class Ns:
    """A signed-in notification connection: ``account`` on ``conn`` in ``dialect``."""

    conn: SuiteConnection
    account: Account
    dialect: str
    target: Target
    #: The `USR … OK` line.
    ok: Command
    #: What the session's `SYN` downloaded (a client downloads once a session).
    lists: List | None = None

    @property
    def number(self) -> int:
        """The dialect's number (7 to 12)."""
        return dialect_number(self.dialect)

    @property
    def email(self) -> str:
        return self.account.email

    def capabilities(self) -> str | None:
        return CAPABILITIES.get(self.dialect)

    def chg(self, status: str = "NLN") -> Command:
        """``CHG <t> <status> [<capabilities>]`` and its reply (whatever it is)."""
        caps = self.capabilities()
        args = (status,) if caps is None else (status, caps)
        return self.conn.call("CHG", *args)

    def online(self) -> Command:
        """``CHG … NLN``, which must be echoed: the user is present from now on."""
        reply = self.chg("NLN")
        if reply.name != "CHG" or reply.args[1:2] != ("NLN",):
            self.conn.fail(f"expected CHG {reply.trid} NLN … to go online, got {reply.line!r}")
        return reply

    def barrier(self) -> None:
        """``PNG`` and its ``QNG``: every line the server sent before is in by then."""
        self.conn.barrier()

    def syn(self) -> List:
        """`SYN` from nothing cached (``SYN t 0``, MSNP10+ ``SYN t 0 0``) and every line
        it produced. MSNP8+ say how many contacts and groups follow; MSNP7 ends with the
        last of its four `LST` series (FL, AL, BL, RL)."""
        args = ("0", "0") if self.number >= 10 else ("0",)
        trid = self.conn.request("SYN", *args)
        reply = self.conn.expect(trid=trid, what=f"the reply to SYN {trid}")
        if reply.name != "SYN":
            self.conn.fail(f"expected SYN {trid} …, got {reply.line!r}")
        got = List(reply, self.dialect)
        self.lists = got
        if self.number >= 8:
            counts = reply.args[-2:]
            if len(reply.args) < 4 or not all(a.isdigit() for a in counts):
                self.conn.fail(f"SYN reply without contact and group counts: {reply.line!r}")
            contacts, groups = int(counts[0]), int(counts[1])
            seen_lst = seen_lsg = 0
            while seen_lst < contacts or seen_lsg < groups:
                # MSNP8+ list lines carry no TrID, though `LSG 1 Friends 0` reads as one.
                line = self.conn.wait_for(
                    lambda c: c.name in ("LSG", "LST") or (c.name in ("GTC", "BLP", "PRP", "BPR") and c.trid in (None, 0)),
                    what=f"the rest of the list ({seen_lst} of {contacts} LST, {seen_lsg} of {groups} LSG so far)",
                )
                got.lines.append(line)
                seen_lst += line.name == "LST"
                seen_lsg += line.name == "LSG"
            # GTC/BLP/PRP may follow the last LST in no count; a barrier brings them in.
            self.barrier()
            got.lines.extend(self.conn.take_pending(lambda c: c.name in ("GTC", "BLP", "PRP", "BPR") and c.trid in (None, 0)))
            return got
        while True:
            line = self.conn.expect(trid=trid, what=f"the rest of the list for SYN {trid}")
            got.lines.append(line)
            if line.name == "LST" and line.args[1:2] == ("RL",):
                index, total = line.args[3:5]
                if index == total:
                    return got

    def add(self, contact: str, list_name: str = "FL") -> Command:
        """Adds ``contact`` to a list (``ADD`` up to MSNP9, ``ADC`` from MSNP10) and
        returns the reply, whatever it is. An `ILN` with the same TrID (the contact's
        presence, when adding to FL) may come first; it stays pending."""
        if self.number >= 10:
            args = (f"N={contact}", f"F={contact}") if list_name == "FL" else (f"N={contact}",)
            name, trid_args = "ADC", (list_name, *args)
        else:
            name, trid_args = "ADD", (list_name, contact, contact)
        delay, waited = 0.05, 0.0
        while True:
            trid = self.conn.request(name, *trid_args)
            reply = self.conn.wait_for(lambda c: c.trid == trid and c.name != "ILN", what=f"the reply to {name} {trid}")
            if reply.error_code != TOO_ACTIVE:
                return reply
            if waited >= self.conn.limit_wait:
                raise RateLimited(f"the server answered {name} with 713 (too active) for {waited:.1f} s", self.conn.transcript)
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)

    def remove(self, contact: str, list_name: str = "FL", guid: str | None = None) -> Command:
        """Removes ``contact`` from a list (MSNP10+ names forward-list entries by
        GUID) and returns the reply, whatever it is."""
        target = guid if (self.number >= 10 and list_name == "FL" and guid) else contact
        return self.conn.call("REM", list_name, target)

    def ensure_on(self, contact: str, list_name: str, lists: List | None = None) -> bool:
        """``contact`` on ``list_name``, added unless the download (``lists``, the
        session's, or a new `SYN`) shows it there. True when it was added."""
        lists = lists or self.lists or self.syn()
        if list_name in lists.lists_of(contact):
            return False
        reply = self.add(contact, list_name)
        if reply.is_error and reply.error_code != 215:
            self.conn.fail(f"could not add {contact} to {list_name}: {reply.line!r}")
        return True

    def ensure_off(self, contact: str, list_name: str, lists: List | None = None) -> bool:
        """``contact`` not on ``list_name``, removed if the download (``lists``, the
        session's, or a new `SYN`) shows it there. True when it was removed."""
        lists = lists or self.lists or self.syn()
        entry = lists.contacts().get(contact.lower())
        if entry is None or list_name not in entry[0]:
            return False
        reply = self.remove(contact, list_name, guid=entry[1])
        if reply.is_error and reply.error_code != 216:
            self.conn.fail(f"could not remove {contact} from {list_name}: {reply.line!r}")
        return True

    def befriend(self, contact: str, lists: List) -> None:
        """``contact`` on this user's forward and allow lists and off the block list,
        as a client makes someone a contact: what every case that involves two users
        starts from, whatever the server does for strangers."""
        self.ensure_off(contact, "BL", lists)
        self.ensure_on(contact, "FL", lists)
        self.ensure_on(contact, "AL", lists)

    def xfr(self) -> tuple[str, int, str]:
        """``XFR <t> SB`` -> (host, port, cookie) of a new switchboard."""
        reply = self.conn.call("XFR", "SB")
        if reply.name != "XFR" or len(reply.args) < 5 or reply.args[1] != "SB" or reply.args[3] != "CKI":
            self.conn.fail(f"expected XFR {reply.trid} SB <host:port> CKI <cookie>, got {reply.line!r}")
        host, port = address_of(self.conn, reply.args[2])
        return host, port, reply.args[4]

    def sign_out(self, timeout: float | None = None) -> None:
        """``OUT``, then waits for the server to close (it signs the user out first)."""
        if self.conn.closed:
            return
        self.conn.send("OUT", may_close=True)
        self.conn.expect_closed(timeout=timeout, what="the server to close after OUT")


def address_of(conn: RawConnection, text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) from an `XFR` or `RNG`."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        conn.fail(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


#: The login URL each nexus named, asked once per run as a client asks once.
_LOGIN_URLS: dict[str, str] = {}


def login_url(target: Target, conn: RawConnection) -> str:
    """The nexus's ``DALogin`` URL (asked on first use)."""
    if target.nexus is None:
        conn.fail("MSNP8 and later sign in through a Passport nexus: give its URL with --msgr-nexus")
    if target.nexus not in _LOGIN_URLS:
        answer, url = passport.nexus(target.nexus, conn.transcript, timeout=target.timeout)
        if url is None:
            conn.fail(f"the nexus {target.nexus} answered {answer.status} without a PassportURLs DALogin")
        _LOGIN_URLS[target.nexus] = url
    return _LOGIN_URLS[target.nexus]


def ticket(target: Target, conn: RawConnection, account: Account, challenge: str) -> str:
    """A Passport ticket for ``account`` from the login server."""
    answer, got = passport.login(login_url(target, conn), account.email, account.password, challenge, conn.transcript, timeout=target.timeout)
    if got is None:
        conn.fail(f"the login server refused {account.email} ({answer.status}) or sent no ticket")
    return got


def _sign_in_once(target: Target, account: Account, dialect: str, transcript: Transcript, label: str) -> Ns:
    conn = connect(target, label, transcript)
    try:
        negotiate(conn, dialect)
        if dialect_number(dialect) >= 8:
            conn.call("CVR", *CVR_FIELDS, account.email)
            first = conn.call("USR", "TWN", "I", account.email)
            if first.args[1:3] != ("TWN", "S") or len(first.args) != 4:
                conn.fail(f"expected USR {first.trid} TWN S <challenge>, got {first.line!r}")
            ok = conn.call("USR", "TWN", "S", ticket(target, conn, account, first.args[3]))
        else:
            conn.call("INF")
            first = conn.call("USR", "MD5", "I", account.email)
            if first.args[1:3] != ("MD5", "S") or len(first.args) != 4:
                conn.fail(f"expected USR {first.trid} MD5 S <salt>, got {first.line!r}")
            ok = conn.call("USR", "MD5", "S", lock_response(first.args[3], account.password))
        if ok.args[1:2] != ("OK",):
            conn.fail(f"{account.email} could not sign in: expected USR {ok.trid} OK …, got {ok.line!r}")
    except BaseException:
        conn.close()
        raise
    return Ns(conn, account, dialect, target, ok)


def sign_in(target: Target, account: Account, dialect: str, transcript: Transcript, label: str) -> Ns:
    """A new connection, ``VER``, then the sign-in of ``account`` in ``dialect``:
    ``INF`` and ``USR MD5`` up to MSNP7, ``CVR`` and ``USR TWN`` with a Passport ticket
    from MSNP8, until ``USR … OK``. A busy server gets a new connection after a pause."""
    delay, waited = 0.05, 0.0
    while True:
        try:
            return _sign_in_once(target, account, dialect, transcript, label)
        except Busy:
            if waited >= target.limit_wait:
                raise RateLimited(f"{label}: the server answered every new connection with 600 (busy) for {waited:.1f} s", transcript) from None
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)


@dataclass
class Sb:
    """A switchboard connection of ``email``."""

    conn: SuiteConnection
    email: str
    session_id: str = ""

    def close(self) -> None:
        self.conn.close()


def open_switchboard(ns: Ns, label: str) -> Sb:
    """`XFR SB`, then `USR <t> <account> <cookie>` on the switchboard it names, until
    `USR <t> OK`."""
    host, port, cookie = ns.xfr()
    conn = connect(ns.target, label, ns.conn.transcript, host, port)
    reply = conn.call("USR", ns.email, cookie)
    if reply.args[1:2] != ("OK",):
        conn.fail(f"expected USR {reply.trid} OK {ns.email} …, got {reply.line!r}")
    return Sb(conn, ns.email)


def ring(caller: Sb, callee: Ns) -> Command:
    """`CAL` the callee (`CAL <t> RINGING <session>`) and the `RNG` it gets."""
    reply = caller.conn.call("CAL", callee.email)
    if reply.args[1:2] != ("RINGING",):
        caller.conn.fail(f"expected CAL {reply.trid} RINGING <session>, got {reply.line!r}")
    caller.session_id = reply.args[2] if len(reply.args) > 2 else ""
    rng = callee.conn.next_async("RNG")
    if len(rng.args) < 5 or rng.args[2] != "CKI":
        callee.conn.fail(f"expected RNG <session> <host:port> CKI <cookie> <caller> <name>, got {rng.line!r}")
    return rng


def answer(callee: Ns, rng: Command, label: str) -> tuple[Sb, list[Command]]:
    """The callee connects to the switchboard its `RNG` names and `ANS`wers; returns its
    connection and what answered (`IRO` lines, then `ANS <t> OK`)."""
    host, port = address_of(callee.conn, rng.args[1])
    conn = connect(callee.target, label, callee.conn.transcript, host, port)
    trid = conn.request("ANS", callee.email, rng.args[3], rng.args[0])
    answered = conn.collect(trid, until=lambda c: c.name != "IRO", what=f"IRO lines and ANS {trid} OK")
    if answered[-1].args[1:2] != ("OK",):
        conn.fail(f"expected ANS {trid} OK, got {answered[-1].line!r}")
    return Sb(conn, callee.email, rng.args[0]), answered


def call_in(caller: Sb, callee: Ns, label: str) -> tuple[Sb, Command, list[Command]]:
    """`CAL` the callee; it gets `RNG`, connects and `ANS`wers. Returns the callee's
    switchboard connection, the `RNG` line and what answered its `ANS`. The caller's
    `JOI` is left for the caller to take."""
    rng = ring(caller, callee)
    sb, answered = answer(callee, rng, label)
    return sb, rng, answered


def text_message(text: str) -> bytes:
    """A plain-text instant message as clients send it."""
    return (
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "X-MMS-IM-Format: FN=Microsoft%20Sans%20Serif; EF=; CO=0; CS=1; PF=0\r\n\r\n" + text
    ).encode()


def typing_message(email: str) -> bytes:
    """A typing notification."""
    return f"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {email}\r\n\r\n\r\n".encode()


def refused_and_not_relayed(sender: Sb, receiver: Sb, trid: int, body: bytes, what: str) -> str:
    """The switchboard ``MSG`` ``trid`` (payload ``body``) that ``sender`` sent must be
    refused and never reach ``receiver``. A small message follows it at once, so the
    next thing ``receiver`` gets tells whether the first was relayed, and then a
    ``MSG … A``, whose answer comes after any answer to ``trid``. Returns how it was
    refused: ``"error"``, ``"closed"`` (the sender's connection), or ``"ignored"``."""
    sender.conn.send(Command("MSG", sender.conn.next_trid(), "N", payload=text_message("small")), may_close=True)
    barrier = sender.conn.next_trid()
    sender.conn.send(Command("MSG", barrier, "A", payload=text_message("barrier")), may_close=True)
    first = receiver.conn.next_async(("MSG", "BYE"))
    if first.name == "MSG" and first.payload == body:
        receiver.conn.fail(f"{what} was relayed")
    answer = sender.conn.wait_for_or_closed(lambda c: c.trid in (trid, barrier), what=f"an error {trid}, a close, or the answer to MSG {barrier}")
    if answer is None:
        return "closed"
    if answer.trid == barrier:
        return "ignored"
    if not answer.is_error:
        sender.conn.fail(f"{what} must be refused, got {answer.line!r}")
    return "error"
