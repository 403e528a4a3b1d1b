"""Shared constants, helpers and fixtures of the msgr test suites.

Everything here runs against the embedded service (``msgr.Service``): deterministic, no
sockets, no sleeps, time moved with ``service.advance``. The building blocks (services,
Lock and Key transactions, the callback ``Recorder``) are the public test kit,
``msgr.testing``; what is here is only the suites' own plumbing:

* the accounts, the application and the documented bounds the suites use;
* the Session Invite world (``SessionPair``), a way to put a session in each state of
  the transition table (``run_in_state``) and a reader of ``text/x-msmsgsinvite``
  payloads;
* the MessengerPriv world (``World``/``world_in``), readers of the wire trace and of
  ``<NOTIFICATION>`` payloads;
* the fixtures.

The payload readers are the suites' own, written from the protocol notes (msnp.md §f,
§g) and independent of msgr's (``TraceEntry.invitation``), so that they check what msgr
puts on the wire.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import enum
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import msgr
from msgr.testing import Recorder, fail_unlock, new_service, pend, ready_manager, unlock

S = msgr.SessionState
L = msgr.LockStatus
H = msgr.HResult

FIXTURES = Path(__file__).parent / "fixtures"
INVITATIONS = FIXTURES / "invitations"

#: Windows Messenger's own client pair (msnp.md §d.3): answers the service's pings.
CLIENT_ID = "msmsgs@msnmsgr.com"
CLIENT_KEY = "Q1P7W2E4J9R8U3S5"

# --------------------------------------------------------------------------- accounts

ALICE = "alice@example.com"
ALICE_PASSWORD = "Alice-s3cret"
ALICE_NAME = "Alice Liddell"
#: How ``ALICE_NAME`` travels as an MSNP parameter (url-encoded).
ALICE_NAME_WIRE = "Alice%20Liddell"
BOB = "bob@example.com"
BOB_PASSWORD = "Bob-s3cret"
#: Bob has no friendly name of his own: the service uses the local part.
BOB_NAME = "bob"
#: An account that exists (where the suite adds it) but is never signed in unless a
#: test does it.
CAROL = "carol@example.com"
CAROL_PASSWORD = "Carol-s3cret"
CAROL_NAME = "Carol Crane"
CAROL_NAME_WIRE = "Carol%20Crane"
#: A well-formed sign-in name with no account.
NOBODY = "nobody@example.com"
#: Valid as one MSNP parameter but not an address (no dot in the domain): 201.
MALFORMED = "a@b"

#: The accounts of the ``service`` fixture (and of ``msgr.testing.new_service`` calls
#: that give them): two users...
ALICE_AND_BOB = ((ALICE, ALICE_PASSWORD, ALICE_NAME), (BOB, BOB_PASSWORD))
#: ...or three, for the Session Invite and MessengerPriv suites.
ALICE_BOB_CAROL = (*ALICE_AND_BOB, (CAROL, CAROL_PASSWORD, CAROL_NAME))

# --------------------------------------------------------------------------- the application

#: The application both users register (reference §1.3: upper-case hex, braces).
GUID = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"
#: A well-formed GUID that nobody registers.
UNREGISTERED_GUID = "{00000000-1111-2222-3333-444444444444}"
APP_NAME = "Test App"
APP_URL = "http://example.com/testapp"
APP_PATH = "/opt/testapp/testapp"
#: ``register_application(*APP)`` / ``ready_manager(messenger, *APP)``.
APP = (GUID, APP_NAME, APP_URL, APP_PATH)

GUID_RE = re.compile(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}")
LOCAL_IP_RE = re.compile(r"127\.0\.0\.\d{1,3}")

# --------------------------------------------------------------------------- documented bounds

#: Our decisions for C22 and the list size.
MAX_ALERT_SITES = 256
MAX_LIST = 600
MAX_ALERT_BODY = 1024
LONG_MIN, LONG_MAX = -(1 << 31), (1 << 31) - 1


# =========================================================================== assertions


@contextlib.contextmanager
def raises_exactly(cls: type[BaseException]) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Like ``pytest.raises`` but the exception must be exactly ``cls``, not a subclass,
    and for ``MsgrError`` classes carry that class's ``hresult``."""
    with pytest.raises(cls) as info:
        yield info
    assert type(info.value) is cls, f"expected exactly {cls.__name__}, got {type(info.value).__name__}: {info.value}"
    if issubclass(cls, msgr.MsgrError):
        assert info.value.hresult == cls.hresult


def invalid_arg(*arguments: tuple[object, type]) -> type[msgr.InvalidArgError]:
    """What a call raises when one of its ``(value, expected type)`` arguments is bad:
    ``InvalidArgTypeError`` (also a ``TypeError``) for a value of the wrong type, else
    ``InvalidArgError``. ``None`` for text is a NULL BSTR, a missing value, not a wrong
    type; a ``bool`` is not an ``int``."""

    def wrong(value: object, kind: type) -> bool:
        if kind is str:
            return value is not None and not isinstance(value, str)
        if isinstance(value, bool):
            return True
        numeric = (int, float) if kind is float else (int,)
        return not isinstance(value, numeric)

    if any(wrong(value, kind) for value, kind in arguments):
        return msgr.InvalidArgTypeError
    return msgr.InvalidArgError


def ids(value: object) -> str | None:
    """Readable parametrize ids for enum members (``CANCELLED``, not ``5``)."""
    return value.name if isinstance(value, enum.Enum) else None


def who(contact: msgr.Contact) -> tuple[str, str | None]:
    """``(sign_in_name, friendly_name)`` of a ``msgr.Contact`` (the fields the contract
    names; the class may carry more)."""
    assert isinstance(contact, msgr.Contact), contact
    return contact.sign_in_name, contact.friendly_name


def error_class(hresult: int) -> type[msgr.MsgrError]:
    return msgr.error_for(hresult)


def utf16_units(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


# =========================================================================== Session Invite: two users


@dataclass
class SessionPair:
    """Alice (inviter side, tag ``A``) and Bob (invitee side, tag ``B``), both signed in,
    each with one unlocked session manager (``A.mgr`` / ``B.mgr``) watched by ``log``;
    sessions Alice's manager is invited to are tagged ``A.in``."""

    service: msgr.Service
    alice: msgr.Messenger
    bob: msgr.Messenger
    ma: msgr.MsgrSessionManager
    mb: msgr.MsgrSessionManager
    log: Recorder = field(default_factory=Recorder)
    invitee: list[msgr.MsgrSession] = field(default_factory=list)

    def session(self, app: str | None = GUID, tag: str = "A") -> msgr.MsgrSession:
        """A new READY inviter session of Alice's, watched under ``tag``."""
        s = self.log.watch(self.ma.create_session(), tag)
        if app is not None:
            s.application = app
        return s

    def invite(self, app_data: str | None = "hello", tag: str = "A") -> tuple[msgr.MsgrSession, msgr.MsgrSession]:
        """Alice invites Bob; returns (Alice's session, Bob's session)."""
        sa = self.session(tag=tag)
        sa.invite(BOB, app_data)
        return sa, self.last_invitee()

    def connect(self, accept_data: str | None = None) -> tuple[msgr.MsgrSession, msgr.MsgrSession]:
        sa, sb = self.invite()
        sb.accept(accept_data)
        assert sa.state is S.CONNECTED and sb.state is S.CONNECTED
        return sa, sb

    def last_invitee(self) -> msgr.MsgrSession:
        assert self.invitee, "Bob received no invitation"
        return self.invitee[-1]


def session_pair(register_on_bob: bool = True) -> SessionPair:
    """A ``SessionPair`` on a new service; both managers have ``APP`` registered (Bob's
    only if ``register_on_bob``)."""
    service = new_service(users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    ma = ready_manager(alice, *APP, cookie=11)
    mb = ready_manager(bob, guid=None, cookie=22)
    if register_on_bob:
        mb.register_application(*APP)
    pair = SessionPair(service, alice, bob, ma, mb)
    pair.log.watch(alice, "alice")
    pair.log.watch(bob, "bob")
    pair.log.watch(ma, "A.mgr", invitee_tag="A.in")
    pair.log.watch(mb, "B.mgr", invitee_tag="B")
    # Remember every session Bob is invited to.
    pair.log.react(mb, "on_invitation", lambda session, data: pair.invitee.append(session))
    return pair


# =========================================================================== Session Invite: reaching states

#: The (state, role) pairs a session really reaches through the API.
REACHABLE = (
    (S.READY, "inviter"),
    (S.INVITATION, "inviter"),
    (S.INVITATION, "invitee"),
    (S.ACCEPTED, "invitee"),
    (S.CONNECTED, "inviter"),
    (S.CONNECTED, "invitee"),
    (S.CANCELLED, "inviter"),
    (S.CANCELLED, "invitee"),
    (S.DECLINED, "inviter"),
    (S.DECLINED, "invitee"),
    (S.TERMINATED, "inviter"),
    (S.TERMINATED, "invitee"),
)


@dataclass
class Outcome:
    """What one call did to a session in a given state."""

    session: msgr.MsgrSession
    before: msgr.SessionState
    #: ``session.state`` right after the call returned (or raised).
    after: msgr.SessionState
    error: BaseException | None
    #: ``session.state`` read in every ``on_state_changed`` of the session after the call.
    entered: list[tuple[msgr.SessionState, msgr.SessionState]]


def run_in_state(state: msgr.SessionState, role: str, action: Callable[[msgr.MsgrSession], Any]) -> Outcome:
    """Puts a session of ``role`` in ``state`` for real, runs ``action(session)`` there
    (inside ``before_app_launch`` for the invitee's ``ACCEPTED``), and reports what
    happened."""
    p = session_pair()
    entered: list[tuple[msgr.SessionState, msgr.SessionState]] = []
    result: dict[str, Any] = {}

    def act(session: msgr.MsgrSession) -> None:
        result["before"] = session.state
        session.on_state_changed = lambda prev: entered.append((prev, session.state))
        try:
            action(session)
        except msgr.MsgrError as exc:
            result["error"] = exc
        result["after"] = session.state
        result["session"] = session

    def pick(sa: msgr.MsgrSession, sb: msgr.MsgrSession) -> msgr.MsgrSession:
        return sa if role == "inviter" else sb

    if (state, role) == (S.READY, "inviter"):
        act(p.session())
    elif state is S.INVITATION:
        act(pick(*p.invite()))
    elif (state, role) == (S.ACCEPTED, "invitee"):
        sa, sb = p.invite()

        def before_app_launch() -> None:
            assert sb.state is S.ACCEPTED
            act(sb)

        p.log.react(sb, "before_app_launch", before_app_launch)
        sb.accept()
    elif state is S.CONNECTED:
        act(pick(*p.connect()))
    elif state is S.CANCELLED:
        sa, sb = p.invite()
        sa.cancel(H.SR_SESSION_CANCELLED_LOCAL)
        act(pick(sa, sb))
    elif state is S.DECLINED:
        sa, sb = p.invite()
        sb.decline()
        act(pick(sa, sb))
    elif state is S.TERMINATED:
        sa, sb = p.connect()
        # The peer signs out: this side's session fails (SR_CONNECTION_FAILURE).
        (p.bob if role == "inviter" else p.alice).sign_out()
        act(pick(sa, sb))
    else:  # pragma: no cover - guarded by REACHABLE
        raise AssertionError(f"{state!r} is not reachable for the {role}")
    assert "session" in result, f"the action never ran in {state.name}/{role}"
    assert result["before"] is state, (result["before"], state)
    return Outcome(result["session"], result["before"], result["after"], result.get("error"), entered)


# =========================================================================== Session Invite: payloads


@dataclass
class Invitation:
    """A parsed ``text/x-msmsgsinvite`` payload: MIME headers and body fields, each in
    order, names as sent."""

    headers: list[tuple[str, str]]
    fields: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        return _first(self.headers, name)

    def get(self, name: str) -> str | None:
        return _first(self.fields, name)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    @property
    def command(self) -> str | None:
        c = self.get("Invitation-Command")
        return None if c is None else c.upper()

    @property
    def media_type(self) -> str | None:
        ct = self.header("Content-Type")
        return None if ct is None else ct.split(";")[0].strip().lower()

    def names(self) -> list[str]:
        return [n for n, _ in self.fields]


def _first(pairs: list[tuple[str, str]], name: str) -> str | None:
    for n, v in pairs:
        if n.lower() == name.lower():
            return v
    return None


def _name_value_lines(block: str) -> list[tuple[str, str]]:
    out = []
    for line in block.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        name, sep, value = line.partition(":")
        assert sep, f"not a 'Name: value' line: {line!r}"
        out.append((name.strip(), value.strip()))
    return out


def parse_invitation(payload: bytes) -> Invitation:
    """Splits the payload at its first empty line into MIME headers and the body, and
    each line at its first ``:`` (msnp.md §f.1–§f.2)."""
    text = payload.decode("utf-8")
    normalised = text.replace("\r\n", "\n")
    head, sep, body = normalised.partition("\n\n")
    assert sep, "no empty line between the MIME headers and the body"
    return Invitation(_name_value_lines(head), _name_value_lines(body))


def invitation_messages(service: msgr.Service, direction: str | None = None, user: str | None = None) -> list[msgr.TraceEntry]:
    """The ``MSG`` entries of the trace that carry ``text/x-msmsgsinvite``."""
    out = []
    for e in service.trace.filter(command="MSG", direction=direction, user=user):
        if e.payload is not None and b"text/x-msmsgsinvite" in e.payload.split(b"\r\n\r\n", 1)[0]:
            out.append(e)
    return out


def sent_invitations(service: msgr.Service, user: str | None = None) -> list[Invitation]:
    """Every invitation message a client sent, parsed, in order."""
    return [parse_invitation(e.payload) for e in invitation_messages(service, "C->S", user)]  # type: ignore[arg-type]


# =========================================================================== MessengerPriv: the world

#: Every way a MessengerPriv can stand, each reached for real. ``OFF`` is a service
#: without Lock and Key (C7: nothing locked, status UNLOCKED from the start).
STATES = (
    "NOTINITIALIZED_NEW",
    "NOTINITIALIZED_SIGNED_OUT",
    "INITIALIZED",
    "PENDINGRESULT",
    "UNLOCKED",
    "UNLOCKFAILED",
    "DISABLED",
    "OFF",
)
#: The LockStatus each of ``STATES`` shows.
STATUS_OF = {
    "NOTINITIALIZED_NEW": L.NOTINITIALIZED,
    "NOTINITIALIZED_SIGNED_OUT": L.NOTINITIALIZED,
    "INITIALIZED": L.INITIALIZED,
    "PENDINGRESULT": L.PENDINGRESULT,
    "UNLOCKED": L.UNLOCKED,
    "UNLOCKFAILED": L.UNLOCKFAILED,
    "DISABLED": L.DISABLED,
    "OFF": L.UNLOCKED,
}
SIGNED_IN_STATES = tuple(s for s in STATES if not s.startswith("NOTINITIALIZED"))
#: A Messenger's callbacks about its own sign-in and text, without the presence ones.
SESSION_CALLBACKS = ("on_signed_in", "on_signed_out", "on_sign_in_failed", "on_text_received")
#: The site every world's objects have tried to subscribe to.
WORLD_SITE = 4242


@dataclass
class World:
    """Alice's ``priv`` in a given state, with her session manager (``mgr``, never
    unlocked) and Bob online with an unlocked MessengerPriv of his own (``bobpriv``)
    subscribed to ``WORLD_SITE``. Every callback of all of them goes to ``log``
    (tags ``priv``, ``mgr``, ``alice``, ``bob``, ``bobpriv``), cleared once the state
    is reached."""

    service: msgr.Service
    alice: msgr.Messenger
    bob: msgr.Messenger
    priv: msgr.MessengerPriv
    mgr: msgr.MsgrSessionManager
    bobpriv: msgr.MessengerPriv
    log: Recorder
    state: str
    #: The challenge of the transaction that reached PENDINGRESULT (else None).
    challenge: str | None = None
    cookie: int | None = None

    def wire_mark(self) -> int:
        return len(self.service.trace)

    def wire_since(self, mark: int) -> list[msgr.TraceEntry]:
        return list(self.service.trace[mark:])


def world_in(state: str) -> World:
    """A ``World`` whose ``priv`` is in ``state`` (one of ``STATES``)."""
    mode = {"DISABLED": "disabled", "OFF": "off"}.get(state, "enabled")
    service = new_service(mode, users=ALICE_BOB_CAROL)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    bobpriv = bob.messenger_priv()
    if mode == "enabled":
        unlock(bobpriv, cookie=77)
    assert bobpriv.enable_alert_events([WORLD_SITE]) is (H.S_OK if mode != "disabled" else H.S_FALSE)
    if state == "NOTINITIALIZED_NEW":
        alice = msgr.Messenger(service, ALICE, ALICE_PASSWORD)
    else:
        alice = service.sign_in(ALICE, ALICE_PASSWORD)
    priv = alice.messenger_priv()
    mgr = alice.session_manager()
    world = World(service, alice, bob, priv, mgr, bobpriv, Recorder(), state)
    if state == "PENDINGRESULT":
        world.cookie = 99
        world.challenge = pend(priv, world.cookie)
    elif state == "UNLOCKED":
        unlock(priv, cookie=1001)
    elif state == "UNLOCKFAILED":
        fail_unlock(priv, cookie=1002)
    elif state == "NOTINITIALIZED_SIGNED_OUT":
        # Unlocked and subscribed in the previous session: all of it must be gone.
        unlock(priv, cookie=1003)
        assert priv.enable_alert_events([WORLD_SITE]) is H.S_OK
        alice.sign_out()
    # Every object tries to subscribe (S_FALSE unless unlocked).
    priv.enable_alert_events([WORLD_SITE])
    assert priv.status is STATUS_OF[state], (state, priv.status)
    for tag, obj in (("priv", priv), ("mgr", mgr), ("bobpriv", bobpriv)):
        world.log.watch(obj, tag)
    # The Messengers' sign-in and text events; their presence events have cases of
    # their own (test_my_presence.py).
    for tag, obj in (("alice", alice), ("bob", bob)):
        world.log.watch(obj, tag, names=SESSION_CALLBACKS)
    service.trace.clear()
    return world


# =========================================================================== MessengerPriv: the wire


def lines(entries: list[msgr.TraceEntry], *, user: str | None = None, direction: str | None = None) -> list[str]:
    """The command lines of some trace entries, optionally of one user / direction
    (``"C->S"`` or ``"S->C"``)."""
    return [
        e.line
        for e in entries
        if (user is None or e.user.lower() == user.lower()) and (direction is None or e.direction == direction)
    ]


def commands(entries: list[msgr.TraceEntry], *names: str) -> list[msgr.TraceEntry]:
    return [e for e in entries if e.command in names]


def last_trid(entries: list[msgr.TraceEntry], command: str, user: str) -> int:
    """The TrID of the last ``command`` the client of ``user`` sent."""
    found = [e for e in entries if e.command == command and e.direction == "C->S" and e.user.lower() == user.lower()]
    assert found, f"no {command} from {user}"
    trid = found[-1].trid
    assert trid is not None
    return trid


@dataclass(frozen=True)
class Notification:
    """A parsed ``<NOTIFICATION>`` (msnp.md §g.1)."""

    raw: str
    site_id: str
    site_url: str
    to_name: str
    to_pid: str
    action_url: str
    subscribe_url: str
    text: str


def parse_notification(payload: bytes | str) -> Notification:
    """Parses a ``NOT`` payload with ``xml.etree`` (so escaping is checked for real)."""
    raw = payload.decode("utf-8") if isinstance(payload, bytes) else payload
    root = ET.fromstring(raw)
    assert root.tag == "NOTIFICATION", root.tag
    to = root.find("TO")
    msg = root.find("MSG")
    assert to is not None and msg is not None, raw
    action, subscr, body = msg.find("ACTION"), msg.find("SUBSCR"), msg.find("BODY")
    assert action is not None and subscr is not None and body is not None, raw
    text = body.find("TEXT")
    assert text is not None, raw
    return Notification(
        raw=raw,
        site_id=root.attrib["siteid"],
        site_url=root.attrib.get("siteurl", ""),
        to_name=to.attrib["name"],
        to_pid=to.attrib.get("pid", ""),
        action_url=action.attrib.get("url", ""),
        subscribe_url=subscr.attrib.get("url", ""),
        text=text.text or "",
    )


def single_not(entries: list[msgr.TraceEntry], user: str) -> msgr.TraceEntry:
    """The one ``NOT`` sent to ``user`` among ``entries``; checks its framing."""
    found = [e for e in entries if e.command == "NOT"]
    assert len(found) == 1, [e.line for e in found]
    entry = found[0]
    assert entry.direction == "S->C"
    assert entry.user.lower() == user.lower()
    assert entry.payload is not None
    assert entry.args == (str(len(entry.payload)),), entry.line
    assert entry.trid is None
    return entry


# --------------------------------------------------------------------------- subprocesses


def pipe_lines(stream: Any) -> queue.Queue[str]:
    """The lines of a pipe (a ``msgr serve`` subprocess's stdout), read on a daemon
    thread so that reads can time out."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def quit_serve(proc: Any, timeout: float) -> None:
    """Stops a ``msgr serve`` subprocess as its admin would (``quit`` on stdin); it must
    exit 0 within ``timeout`` seconds."""
    proc.stdin.write("quit\n")
    proc.stdin.flush()
    assert proc.wait(timeout=timeout) == 0


def reap(proc: Any, timeout: float) -> None:
    """Kills a subprocess a failing test left running, and waits for it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=timeout)


def pipe_until(lines: queue.Queue[str], prefix: str, timeout: float = 10.0) -> str:
    """The first line that starts with ``prefix``; ``queue.Empty`` after ``timeout``
    seconds without a line."""
    while True:
        line = lines.get(timeout=timeout)
        if line.startswith(prefix):
            return line


# =========================================================================== fixtures


@pytest.fixture
def service() -> msgr.Service:
    return new_service(users=ALICE_AND_BOB)


@pytest.fixture
def alice(service: msgr.Service) -> msgr.Messenger:
    return service.sign_in(ALICE, ALICE_PASSWORD)


@pytest.fixture
def bob(service: msgr.Service) -> msgr.Messenger:
    return service.sign_in(BOB, BOB_PASSWORD)


@pytest.fixture
def manager(alice: msgr.Messenger) -> msgr.MsgrSessionManager:
    return alice.session_manager()


@pytest.fixture
def priv(alice: msgr.Messenger) -> msgr.MessengerPriv:
    return alice.messenger_priv()


@pytest.fixture
def disabled_service() -> msgr.Service:
    return new_service("disabled", users=ALICE_AND_BOB)


@pytest.fixture
def off_service() -> msgr.Service:
    return new_service("off", users=ALICE_AND_BOB)
