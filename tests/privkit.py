"""Helpers for the MessengerPriv suites (``test_priv*``, ``test_contacts*``,
``test_alerts*``, ``test_persistence*``): a small world on the embedded service, one
ordered event log for every callback of every object, a way to put a ``MessengerPriv``
in each lock state for real (through the public API only), and readers for the wire
trace (``ADD``/``ILN``/``NLN``/``FLN``/``LST``/``NOT``).

Self-contained on purpose: it only needs the public ``msgr`` API (reference:
msgrpriv.md §1.1, §3.2, §4.1, §6 C21-C24, C30; msnp.md §g).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import msgr
from conftest import raises_exactly, request  # the shared test helpers

L = msgr.LockStatus
H = msgr.HResult

#: A Lock and Key pair licensed on every service built here.
APP_ID = "privkit@msnmsgr.com"
APP_KEY = "PRIVKIT2024"
SEED = 4511

ALICE = "alice@example.com"
ALICE_PASSWORD = "Alice-s3cret"
ALICE_NAME = "Alice Liddell"
#: How ``ALICE_NAME`` travels as an MSNP parameter (url-encoded).
ALICE_NAME_WIRE = "Alice%20Liddell"
BOB = "bob@example.com"
BOB_PASSWORD = "Bob-s3cret"
#: Bob has no friendly name of his own: the service uses the local part.
BOB_NAME = "bob"
#: An account that exists but is never signed in (unless a test does it).
CAROL = "carol@example.com"
CAROL_PASSWORD = "Carol-s3cret"
CAROL_NAME = "Carol Crane"
CAROL_NAME_WIRE = "Carol%20Crane"
#: A well-formed sign-in name with no account.
NOBODY = "nobody@example.com"
#: Valid as one MSNP parameter but not an address (no dot in the domain): 201.
MALFORMED = "a@b"

#: Callback attributes (in COM order within each interface).
LOCK_CALLBACKS = ("on_lock_enable", "on_lock_challenge", "on_lock_result", "on_lock_status_changed")
PRIV_CALLBACKS = ("on_contact_list_add", "on_alert_received")
MANAGER_CALLBACKS = ("on_invitation", "on_app_registered", "on_app_unregistered", "on_app_shutdown")
MESSENGER_CALLBACKS = ("on_signed_in", "on_signed_out", "on_sign_in_failed")

#: The documented bounds (our decisions for C22 and the list size).
MAX_ALERT_SITES = 256
MAX_LIST = 600
MAX_ALERT_BODY = 1024
LONG_MIN, LONG_MAX = -(1 << 31), (1 << 31) - 1


# =========================================================================== assertions




# =========================================================================== the world


def new_service(lock_and_key: str = "enabled", *, db: str | os.PathLike[str] | None = None, seed: int = SEED,
                users: bool = True, license: bool = True) -> msgr.Service:
    """A seeded service with the privkit pair licensed and alice, bob and carol."""
    service = msgr.Service(lock_and_key=lock_and_key, seed=seed, db=db)
    if license:
        service.license(APP_ID, APP_KEY)
    if users:
        service.add_user(ALICE, ALICE_PASSWORD, ALICE_NAME)
        service.add_user(BOB, BOB_PASSWORD)
        service.add_user(CAROL, CAROL_PASSWORD, CAROL_NAME)
    return service


class EventLog(list):  # type: ignore[type-arg]
    """Every callback of every watched object, in one ordered list of
    ``(tag, callback name, args)``. ``returns`` maps a callback name to what the
    recording callback returns (e.g. ``False`` for ``on_alert_received``)."""

    def __init__(self) -> None:
        super().__init__()
        self.returns: dict[str, Any] = {}

    def watch(self, obj: Any, tag: str, names: tuple[str, ...] | None = None) -> Any:
        if names is None:
            if isinstance(obj, msgr.MessengerPriv):
                names = LOCK_CALLBACKS + PRIV_CALLBACKS
            elif isinstance(obj, msgr.MsgrSessionManager):
                names = LOCK_CALLBACKS + MANAGER_CALLBACKS
            else:
                names = MESSENGER_CALLBACKS
        for name in names:
            setattr(obj, name, self._callback(tag, name))
        return obj

    def _callback(self, tag: str, name: str):  # noqa: ANN202
        def callback(*args: Any) -> Any:
            self.append((tag, name, args))
            return self.returns.get(name)

        return callback

    def take(self) -> list[tuple[str, str, tuple[Any, ...]]]:
        """Everything so far, and forget it."""
        out = list(self)
        self.clear()
        return out




def unlock(obj: msgr.MsgrLock, cookie: int = 4711) -> str:
    """The whole Lock and Key transaction with the licensed pair; returns the challenge."""
    challenge = request(obj, cookie)
    obj.send_response(APP_ID, msgr.lock_response(challenge, APP_KEY), cookie)
    assert obj.status is L.UNLOCKED
    return challenge


def pend(obj: msgr.MsgrLock, cookie: int = 99) -> str:
    """Leaves ``obj`` in ``PENDINGRESULT``: a challenge requested, not answered yet."""
    challenge = request(obj, cookie)
    assert obj.status is L.PENDINGRESULT
    return challenge


def fail_unlock(obj: msgr.MsgrLock, cookie: int = 13) -> str:
    """Answers the challenge with the wrong key: ``UNLOCKFAILED``."""
    challenge = request(obj, cookie)
    obj.send_response(APP_ID, msgr.lock_response(challenge, "WRONGKEY"), cookie)
    assert obj.status is L.UNLOCKFAILED
    return challenge


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
    log: EventLog
    state: str
    #: The challenge of the transaction that reached PENDINGRESULT (else None).
    challenge: str | None = None
    cookie: int | None = None

    def wire_mark(self) -> int:
        return len(self.service.trace)

    def wire_since(self, mark: int) -> list[msgr.TraceEntry]:
        return list(self.service.trace[mark:])


def world_in(state: str, *, seed: int = SEED) -> World:
    """A ``World`` whose ``priv`` is in ``state`` (one of ``STATES``)."""
    mode = {"DISABLED": "disabled", "OFF": "off"}.get(state, "enabled")
    service = new_service(mode, seed=seed)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    bobpriv = bob.messenger_priv()
    if mode == "enabled":
        unlock(bobpriv, 77)
    assert bobpriv.enable_alert_events([WORLD_SITE]) is (H.S_OK if mode != "disabled" else H.S_FALSE)
    if state == "NOTINITIALIZED_NEW":
        alice = msgr.Messenger(service, ALICE, ALICE_PASSWORD)
    else:
        alice = service.sign_in(ALICE, ALICE_PASSWORD)
    priv = alice.messenger_priv()
    mgr = alice.session_manager()
    world = World(service, alice, bob, priv, mgr, bobpriv, EventLog(), state)
    if state == "PENDINGRESULT":
        world.cookie = 99
        world.challenge = pend(priv, world.cookie)
    elif state == "UNLOCKED":
        unlock(priv, 1001)
    elif state == "UNLOCKFAILED":
        fail_unlock(priv, 1002)
    elif state == "NOTINITIALIZED_SIGNED_OUT":
        # Unlocked and subscribed in the previous session: all of it must be gone.
        unlock(priv, 1003)
        assert priv.enable_alert_events([WORLD_SITE]) is H.S_OK
        alice.sign_out()
    # Every object tries to subscribe (S_FALSE unless unlocked).
    priv.enable_alert_events([WORLD_SITE])
    assert priv.status is STATUS_OF[state], (state, priv.status)
    for tag, obj in (("priv", priv), ("mgr", mgr), ("alice", alice), ("bob", bob), ("bobpriv", bobpriv)):
        world.log.watch(obj, tag)
    service.trace.clear()
    return world


# =========================================================================== the wire


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
