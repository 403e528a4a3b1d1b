"""The steps many checks share, each at the wire level and each checked just enough to
go on: open a connection, agree on a dialect, sign in (``USR MD5`` up to MSNP7,
``USR TWN`` and Passport from MSNP8), download the lists, go online, open a
switchboard and call someone into it. A step that does not get what it needs fails
the test with the lines exchanged so far; the checks of each feature proper are in
the test modules."""

from __future__ import annotations

from dataclasses import dataclass, field

from msgr import lock_response
from msgr.testing.wire import Command, RawConnection, Transcript

from . import passport
from .target import Account, Target, dialect_number

__all__ = [
    "CAPABILITIES",
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

#: The client capabilities each dialect's `CHG` announces (msnp8-12.md §f.2): MSN 6.0's
#: for MSNP8, MSN 7.0's from MSNP9. MSNP7 has none.
CAPABILITIES = {"MSNP8": "268435500", "MSNP9": "1073791020", "MSNP10": "1073791020", "MSNP11": "1073791020", "MSNP12": "1073791020"}

#: `CVR` as MSN Messenger 6.0 sent it (msnp.md §b.3); the account is appended.
CVR_FIELDS = ("0x0409", "winnt", "5.1", "i386", "MSNMSGR", "6.0.0602", "MSMSGS")


def connect(target: Target, label: str, transcript: Transcript, host: str | None = None, port: int | None = None) -> RawConnection:
    """A raw connection to the server (or to ``host:port``, a switchboard it named)."""
    return RawConnection.open(host or target.host, port or target.port, label=label, transcript=transcript, timeout=target.timeout)


def negotiate(conn: RawConnection, dialect: str) -> Command:
    """``VER 1 <dialect> CVR0``, and a ``VER 1 <dialect>`` back (msnp8-12.md §b.1)."""
    reply = conn.call("VER", dialect, "CVR0")
    if reply.name != "VER" or reply.args[1:2] != (dialect,):
        conn.fail(f"offered {dialect} alone and expected VER {reply.trid} {dialect}, got {reply.line!r}")
    return reply


@dataclass
class List:
    """What a `SYN` downloaded: its reply, then the lines after it in order."""

    reply: Command
    lines: list[Command] = field(default_factory=list)

    def named(self, name: str) -> list[Command]:
        return [c for c in self.lines if c.name == name]


@dataclass
class Ns:
    """A signed-in notification connection: ``account`` on ``conn`` in ``dialect``."""

    conn: RawConnection
    account: Account
    dialect: str
    target: Target
    #: The `USR … OK` line.
    ok: Command

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
        self.conn.send("PNG")
        self.conn.next_async("QNG")

    def syn(self) -> List:
        """`SYN` from nothing cached (``SYN t 0``, MSNP10+ ``SYN t 0 0``) and every line
        it produced. MSNP8+ say how many contacts and groups follow; MSNP7 ends with the
        last of its four `LST` series (FL, AL, BL, RL; msnp.md §b.8)."""
        args = ("0", "0") if self.number >= 10 else ("0",)
        trid = self.conn.request("SYN", *args)
        reply = self.conn.expect(trid=trid, what=f"the reply to SYN {trid}")
        if reply.name != "SYN":
            self.conn.fail(f"expected SYN {trid} …, got {reply.line!r}")
        got = List(reply)
        if self.number >= 8:
            counts = reply.args[-2:]
            if len(reply.args) < 4 or not all(a.isdigit() for a in counts):
                self.conn.fail(f"SYN reply without contact and group counts: {reply.line!r}")
            contacts, groups = int(counts[0]), int(counts[1])
            seen_lst = seen_lsg = 0
            while seen_lst < contacts or seen_lsg < groups:
                line = self.conn.wait_for(
                    lambda c: c.name in ("GTC", "BLP", "PRP", "LSG", "LST", "BPR") and c.trid in (None, 0),
                    what=f"the rest of the list ({seen_lst} of {contacts} LST, {seen_lsg} of {groups} LSG so far)",
                )
                got.lines.append(line)
                seen_lst += line.name == "LST"
                seen_lsg += line.name == "LSG"
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
        presence, when adding to FL, msnp8-12.md §e.2) may come first; it stays
        pending."""
        if self.number >= 10:
            args = (f"N={contact}", f"F={contact}") if list_name == "FL" else (f"N={contact}",)
            trid = self.conn.request("ADC", list_name, *args)
        else:
            trid = self.conn.request("ADD", list_name, contact, contact)
        return self.conn.wait_for(lambda c: c.trid == trid and c.name != "ILN", what=f"the reply to {trid}")

    def forward_guid(self, contact: str) -> str | None:
        """MSNP10+: the contact GUID of ``contact`` on the forward list (from `SYN`)."""
        for line in self.syn().named("LST"):
            if line.args and line.args[0].lower() == f"n={contact.lower()}":
                for arg in line.args:
                    if arg.startswith("C="):
                        return arg[2:]
        return None

    def remove(self, contact: str, list_name: str = "FL", guid: str | None = None) -> Command:
        """Removes ``contact`` from a list (MSNP10+ names forward-list entries by
        GUID) and returns the reply, whatever it is."""
        target = guid if (self.number >= 10 and list_name == "FL" and guid) else contact
        return self.conn.call("REM", list_name, target)

    def ensure_on_forward_list(self, contact: str) -> None:
        """``contact`` on this user's forward list, added if it was not (`215`, already
        there, is fine)."""
        reply = self.add(contact)
        if reply.is_error and reply.error_code != 215:
            self.conn.fail(f"could not add {contact} to the forward list: {reply.line!r}")

    def ensure_off_forward_list(self, contact: str) -> None:
        """``contact`` not on this user's forward list (`216`, not there, is fine)."""
        guid = self.forward_guid(contact) if self.number >= 10 else None
        if self.number >= 10 and guid is None:
            return
        reply = self.remove(contact, guid=guid)
        if reply.is_error and reply.error_code != 216:
            self.conn.fail(f"could not remove {contact} from the forward list: {reply.line!r}")

    def xfr(self) -> tuple[str, int, str]:
        """``XFR <t> SB`` -> (host, port, cookie) of a new switchboard."""
        reply = self.conn.call("XFR", "SB")
        if reply.name != "XFR" or len(reply.args) < 5 or reply.args[1] != "SB" or reply.args[3] != "CKI":
            self.conn.fail(f"expected XFR {reply.trid} SB <host:port> CKI <cookie>, got {reply.line!r}")
        host, port = address_of(self.conn, reply.args[2])
        return host, port, reply.args[4]

    def sign_out(self) -> None:
        """``OUT``, then waits for the server to close (it signs the user out first)."""
        if self.conn.closed:
            return
        self.conn.send("OUT")
        self.conn.expect_closed(what="the server to close after OUT")


def address_of(conn: RawConnection, text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) from an `XFR` or `RNG`."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit():
        conn.fail(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


def _ticket(target: Target, conn: RawConnection, account: Account, challenge: str) -> str:
    transcript = conn.transcript
    if target.nexus is None:
        conn.fail("MSNP8 and later sign in through a Passport nexus: give its URL with --msgr-nexus")
    answer, login_url = passport.nexus(target.nexus, transcript, timeout=target.timeout)
    if login_url is None:
        conn.fail(f"the nexus {target.nexus} answered {answer.status} without a PassportURLs DALogin")
    answer, ticket = passport.login(login_url, account.email, account.password, challenge, transcript, timeout=target.timeout)
    if ticket is None:
        conn.fail(f"the login server refused {account.email} ({answer.status}) or sent no ticket")
    return ticket


def sign_in(target: Target, account: Account, dialect: str, transcript: Transcript, label: str) -> Ns:
    """A new connection, ``VER``, then the sign-in of ``account`` in ``dialect``:
    ``INF`` and ``USR MD5`` up to MSNP7 (msnp.md §b.4–b.5), ``CVR`` and ``USR TWN``
    with a Passport ticket from MSNP8 (msnp8-12.md §b.2, §c), until ``USR … OK``."""
    conn = connect(target, label, transcript)
    try:
        negotiate(conn, dialect)
        if dialect_number(dialect) >= 8:
            conn.call("CVR", *CVR_FIELDS, account.email)
            first = conn.call("USR", "TWN", "I", account.email)
            if first.args[1:3] != ("TWN", "S") or len(first.args) != 4:
                conn.fail(f"expected USR {first.trid} TWN S <challenge>, got {first.line!r}")
            ok = conn.call("USR", "TWN", "S", _ticket(target, conn, account, first.args[3]))
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


@dataclass
class Sb:
    """A switchboard connection of ``email``."""

    conn: RawConnection
    email: str
    session_id: str = ""

    def close(self) -> None:
        self.conn.close()


def open_switchboard(ns: Ns, label: str) -> Sb:
    """`XFR SB`, then `USR <t> <account> <cookie>` on the switchboard it names, until
    `USR <t> OK` (msnp8-12.md §j.1–j.2)."""
    host, port, cookie = ns.xfr()
    conn = connect(ns.target, label, ns.conn.transcript, host, port)
    reply = conn.call("USR", ns.email, cookie)
    if reply.args[1:2] != ("OK",):
        conn.fail(f"expected USR {reply.trid} OK {ns.email} …, got {reply.line!r}")
    return Sb(conn, ns.email)


def call_in(caller: Sb, callee: Ns, label: str) -> tuple[Sb, Command, list[Command]]:
    """`CAL` the callee; it gets `RNG`, connects and `ANS`wers. Returns the callee's
    switchboard connection, the `RNG` line and what answered its `ANS` (`IRO` lines,
    then `ANS <t> OK`). The caller's `JOI` is left for the caller to take."""
    reply = caller.conn.call("CAL", callee.email)
    if reply.args[1:2] != ("RINGING",):
        caller.conn.fail(f"expected CAL {reply.trid} RINGING <session>, got {reply.line!r}")
    caller.session_id = reply.args[2] if len(reply.args) > 2 else ""
    ring = callee.conn.next_async("RNG")
    if len(ring.args) < 5 or ring.args[2] != "CKI":
        callee.conn.fail(f"expected RNG <session> <host:port> CKI <cookie> <caller> <name>, got {ring.line!r}")
    host, port = address_of(callee.conn, ring.args[1])
    conn = connect(callee.target, label, callee.conn.transcript, host, port)
    trid = conn.request("ANS", callee.email, ring.args[3], ring.args[0])
    answered = conn.collect(trid, until=lambda c: c.name != "IRO", what=f"IRO lines and ANS {trid} OK")
    if answered[-1].args[1:2] != ("OK",):
        conn.fail(f"expected ANS {trid} OK, got {answered[-1].line!r}")
    return Sb(conn, callee.email, ring.args[0]), ring, answered


def text_message(text: str) -> bytes:
    """A plain-text instant message as clients send it (msnp8-12.md §j.4)."""
    return (
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        "X-MMS-IM-Format: FN=Microsoft%20Sans%20Serif; EF=; CO=0; CS=1; PF=0\r\n\r\n" + text
    ).encode()


def typing_message(email: str) -> bytes:
    """A typing notification (msnp8-12.md §j.4)."""
    return f"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: {email}\r\n\r\n\r\n".encode()


def refused_and_not_relayed(sender: RawConnection, receiver: RawConnection, trid: int, body: bytes, what: str) -> None:
    """The switchboard ``MSG`` ``trid`` (payload ``body``) that ``sender`` sent must be
    refused (an error or a close) and never reach ``receiver``: after a refusal a small
    message follows, so the next thing ``receiver`` gets tells which it saw."""
    reply = sender.expect_or_closed(trid=trid, what=f"an error {trid} or a close")
    if reply is not None:
        if not reply.is_error:
            sender.fail(f"{what} must be refused, got {reply.line!r}")
        sender.request("MSG", "N", payload=text_message("small"))
    first = receiver.next_async(("MSG", "BYE"))
    if first.name == "MSG" and first.payload == body:
        receiver.fail(f"{what} was relayed")
