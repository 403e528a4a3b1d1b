"""Helpers for the Session Invite suites (``test_session*``, ``test_manager*``,
``test_invite_wire*``): a two-user world on the embedded service, an event log that
records every callback of every object in one ordered list, a way to put a session in
each state of the transition table, and a parser for ``text/x-msmsgsinvite`` payloads.

Self-contained on purpose: it only needs the public ``msgr`` API.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgr
from conftest import raises_exactly  # the shared test helpers

S = msgr.SessionState
H = msgr.HResult
F = msgr.SessionFlags

FIXTURES = Path(__file__).parent / "fixtures"
INVITATIONS = FIXTURES / "invitations"

#: A Lock and Key pair licensed on every service built here.
APP_ID = "sessionkit@msnmsgr.com"
APP_KEY = "SESSIONKIT42"

ALICE = "alice@example.com"
ALICE_PASSWORD = "Alice-s3cret"
ALICE_NAME = "Alice Liddell"
BOB = "bob@example.com"
BOB_PASSWORD = "Bob-s3cret"
#: An account that exists but is never signed in.
CAROL = "carol@example.com"
#: A well-formed sign-in name with no account.
NOBODY = "nobody@example.com"

#: The application both users register (reference §1.3: upper-case hex, braces).
GUID = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}"
#: A well-formed GUID that nobody registers.
UNREGISTERED_GUID = "{00000000-1111-2222-3333-444444444444}"
APP_NAME = "Test App"
APP_URL = "http://example.com/testapp"
APP_PATH = "/opt/testapp/testapp"

GUID_RE = re.compile(r"\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}")
LOCAL_IP_RE = re.compile(r"127\.0\.0\.\d{1,3}")

#: Callback attributes (design §3), in COM order within each interface.
LOCK_CALLBACKS = ("on_lock_enable", "on_lock_challenge", "on_lock_result", "on_lock_status_changed")
MANAGER_CALLBACKS = ("on_invitation", "on_app_registered", "on_app_unregistered", "on_app_shutdown")
SESSION_CALLBACKS = (
    "on_state_changed",
    "on_app_not_present",
    "on_accepted",
    "on_declined",
    "on_cancelled",
    "on_termination",
    "on_ready_to_launch",
    "on_context_data",
    "on_send_error",
    "before_app_launch",
)
MESSENGER_CALLBACKS = ("on_signed_in", "on_signed_out", "on_sign_in_failed")


# =========================================================================== assertions




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


# =========================================================================== Lock and Key


def unlock(obj: msgr.MsgrLock, cookie: int = 4711) -> None:
    """Runs the whole Lock and Key transaction with the licensed pair."""
    got: list[str] = []
    previous = obj.on_lock_challenge
    obj.on_lock_challenge = lambda c, challenge: got.append(challenge)
    try:
        obj.request_challenge(cookie)
    finally:
        obj.on_lock_challenge = previous
    assert len(got) == 1
    obj.send_response(APP_ID, msgr.lock_response(got[0], APP_KEY), cookie)
    assert obj.status is msgr.LockStatus.UNLOCKED


def pend(obj: msgr.MsgrLock, cookie: int = 99) -> None:
    """Leaves ``obj`` in ``PENDINGRESULT``: a challenge requested, never answered."""
    obj.request_challenge(cookie)
    assert obj.status is msgr.LockStatus.PENDINGRESULT


def fail_unlock(obj: msgr.MsgrLock, cookie: int = 98) -> None:
    """Leaves ``obj`` in ``UNLOCKFAILED``: answered with a wrong key."""
    got: list[str] = []
    previous = obj.on_lock_challenge
    obj.on_lock_challenge = lambda c, challenge: got.append(challenge)
    try:
        obj.request_challenge(cookie)
    finally:
        obj.on_lock_challenge = previous
    obj.send_response(APP_ID, msgr.lock_response(got[0], "NOT" + APP_KEY), cookie)
    assert obj.status is msgr.LockStatus.UNLOCKFAILED


def new_service(lock_and_key: str = "enabled", seed: int = 20240611) -> msgr.Service:
    service = msgr.Service(lock_and_key=lock_and_key, seed=seed)
    service.license(APP_ID, APP_KEY)
    service.add_user(ALICE, ALICE_PASSWORD, ALICE_NAME)
    service.add_user(BOB, BOB_PASSWORD)
    service.add_user(CAROL, "Carol-s3cret")
    return service


def unlocked_manager(messenger: msgr.Messenger, cookie: int = 4711) -> msgr.MsgrSessionManager:
    manager = messenger.session_manager()
    if manager.status is not msgr.LockStatus.UNLOCKED:
        unlock(manager, cookie)
    return manager


def register(manager: msgr.MsgrSessionManager, guid: str = GUID) -> None:
    manager.register_application(guid, APP_NAME, APP_URL, APP_PATH, 0)


# =========================================================================== event log


class EventLog:
    """Every callback of every watched object, in one ordered list of
    ``(tag, callback name, args)``.

    A watched manager's ``on_invitation`` also watches the session it delivers (from
    inside the callback, as an application would), under ``invitee_tag``.
    ``react(obj, name, fn)`` runs ``fn(*args)`` after recording; its return value is
    the callback's (``before_app_launch`` uses that)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, tuple[Any, ...]]] = []
        self._tags: dict[int, str] = {}
        self._keep: list[Any] = []
        self._reactions: dict[tuple[int, str], Callable[..., Any]] = {}

    # ---- watching

    def watch(self, obj: Any, tag: str, names: tuple[str, ...], invitee_tag: str | None = None) -> Any:
        self._tags[id(obj)] = tag
        self._keep.append(obj)
        for name in names:
            setattr(obj, name, self._callback(obj, tag, name, invitee_tag))
        return obj

    def watch_manager(self, manager: msgr.MsgrSessionManager, tag: str, invitee_tag: str | None = None) -> msgr.MsgrSessionManager:
        return self.watch(manager, tag, LOCK_CALLBACKS + MANAGER_CALLBACKS, invitee_tag)

    def watch_session(self, session: msgr.MsgrSession, tag: str) -> msgr.MsgrSession:
        return self.watch(session, tag, SESSION_CALLBACKS)

    def watch_messenger(self, messenger: msgr.Messenger, tag: str) -> msgr.Messenger:
        return self.watch(messenger, tag, MESSENGER_CALLBACKS)

    def tag_of(self, obj: Any) -> str | None:
        return self._tags.get(id(obj))

    def react(self, obj: Any, name: str, fn: Callable[..., Any]) -> None:
        self._reactions[(id(obj), name)] = fn

    def _callback(self, obj: Any, tag: str, name: str, invitee_tag: str | None) -> Callable[..., Any]:
        def callback(*args: Any) -> Any:
            self.entries.append((tag, name, args))
            if name == "on_invitation" and invitee_tag is not None and id(args[0]) not in self._tags:
                self.watch_session(args[0], invitee_tag)
            reaction = self._reactions.get((id(obj), name))
            return None if reaction is None else reaction(*args)

        return callback

    # ---- reading

    def take(self) -> list[tuple[str, str, tuple[Any, ...]]]:
        """The entries so far, forgetting them."""
        out, self.entries = self.entries, []
        return out

    def clear(self) -> None:
        self.entries = []

    def of(self, tag: str) -> list[tuple[str, tuple[Any, ...]]]:
        return [(n, a) for t, n, a in self.entries if t == tag]

    def names(self, tag: str | None = None) -> list[str]:
        return [n for t, n, _ in self.entries if tag is None or t == tag]

    def __len__(self) -> int:
        return len(self.entries)


# =========================================================================== two users


@dataclass
class Pair:
    """Alice (inviter side, tag ``A``) and Bob (invitee side, tag ``B``), both signed in,
    each with one unlocked session manager (``A.mgr`` / ``B.mgr``) watched by ``log``."""

    service: msgr.Service
    alice: msgr.Messenger
    bob: msgr.Messenger
    ma: msgr.MsgrSessionManager
    mb: msgr.MsgrSessionManager
    log: EventLog = field(default_factory=EventLog)
    invitee: list[msgr.MsgrSession] = field(default_factory=list)

    def session(self, app: str | None = GUID, tag: str = "A") -> msgr.MsgrSession:
        """A new READY inviter session of Alice's, watched under ``tag``."""
        s = self.log.watch_session(self.ma.create_session(), tag)
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


def make_pair(register_on_bob: bool = True, seed: int = 20240611) -> Pair:
    service = new_service(seed=seed)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    ma = unlocked_manager(alice, 11)
    mb = unlocked_manager(bob, 22)
    register(ma)
    if register_on_bob:
        register(mb)
    pair = Pair(service, alice, bob, ma, mb)
    pair.log.watch_messenger(alice, "alice")
    pair.log.watch_messenger(bob, "bob")
    pair.log.watch_manager(ma, "A.mgr", invitee_tag="A.in")
    pair.log.watch_manager(mb, "B.mgr", invitee_tag="B")
    # Remember every session Bob is invited to (the log's own reaction slot stays free).
    pair.log.react(mb, "on_invitation", lambda session, data: pair.invitee.append(session))
    return pair


# =========================================================================== reaching states

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
    p = make_pair()
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


# =========================================================================== payloads


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


def _lines(block: str) -> list[tuple[str, str]]:
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
    return Invitation(_lines(head), _lines(body))


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


def utf16_units(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2
