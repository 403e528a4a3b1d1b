"""The embedded Messenger service and the Messengers signed in to it."""

from __future__ import annotations

import collections
import os
import secrets
import threading
import weakref
from typing import Any, Callable

from . import _args, _core, _observe
from ._callback import Callback
from ._dispatch import Dispatcher
from ._events import MESSENGER_EVENTS
from ._service_ops import ServiceOperations
from .lock import MsgrLock, _EventSource
from .manager import MsgrSessionManager
from .priv import MessengerPriv
from .contact import Contact
from .counts import ClientCounts
from .enums import HResult
from .session import MsgrSession
from .status import Status
from .group import Group
from .trace import Trace

__all__ = ["Service", "Messenger"]

class _Backend:
    """What the Messengers of one driver (the embedded hub or a network client) share:
    its journal of events and trace, the dispatcher that delivers the events, and the
    Python object of each core handle. ``Service`` is the embedded one; ``msgr.net`` has
    the network one."""

    def __init__(self, journal: _core.Journal, dispatcher: type[Dispatcher] = Dispatcher) -> None:
        self._journal = journal
        self._messengers: dict[int, Messenger] = {}
        self._objects: dict[tuple[int, int], weakref.ref[Any]] = {}
        #: (messenger, object) whose Python object is gone. Finalizers only queue here:
        #: one may run inside a core call (at any allocation), where calling back into
        #: the core would deadlock; the next API call hands them over.
        self._released: collections.deque[tuple[int, int]] = collections.deque()
        self._dispatch = dispatcher(journal, self._resolve)
        self._dispatch.housekeeping = self._release_pending
        #: The MSNP wire log: every message sent or received, in order.
        self.trace = Trace(journal.trace_len, journal.trace_window, journal.clear_trace, journal.trace_limit)

    def _release_pending(self) -> None:
        while self._released:
            try:
                messenger, obj = self._released.popleft()
            except IndexError:
                return
            self._objects.pop((messenger, obj), None)
            owner = self._messengers.get(messenger)
            if owner is not None:
                owner._core.release_object(obj)

    def _resolve(self, messenger: int, obj: int | None) -> Any:
        m = self._messengers.get(messenger)
        if obj is None or m is None:
            return m
        ref = self._objects.get((messenger, obj))
        if ref is not None:
            return ref()
        return m._session(obj)

    def _new_messenger(self, email: str, password: str) -> _core.Messenger:
        """The core object of a new Messenger."""
        raise NotImplementedError

    def _close_messenger(self, messenger: Messenger) -> None:
        """``Messenger.close()``: in memory, a sign-out."""
        if messenger.state != "offline":
            messenger.sign_out()

    def _wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        # Embedded delivery is synchronous: every event a call caused was delivered
        # before it returned, so waiting could not change the answer.
        result = predicate()
        if not result:
            raise TimeoutError("the condition is false, and nothing is in flight in embedded mode")
        return result


class Service(ServiceOperations, _Backend):
    """An embedded .NET Messenger Service: accounts, the Lock and Key server,
    switchboards, contact lists and alerts, all in-process, deterministic, on a virtual
    clock.

    ``lock_and_key`` is ``"enabled"`` (the .NET service: objects start locked),
    ``"disabled"`` (``OnLockEnable(False)``: the APIs are unusable) or ``"off"`` (another
    service: nothing is locked). ``seed`` makes challenges, salts and cookies
    reproducible. ``db`` persists accounts, licences and contact lists in a SQLite file (a
    restarted service with the same file has them back). ``trace_limit`` bounds
    ``trace``: it keeps the latest 100,000 messages unless told otherwise (0 keeps none).

    ``protocol`` is the MSNP dialect its Messengers speak, ``"MSNP7"`` (Windows
    Messenger 4.x's, the default) to ``"MSNP12"``: from ``"MSNP8"`` they sign in with
    ``USR TWN`` and a Passport ticket from the service's own login server, and the trace
    shows that dialect's lines (``ADC`` instead of ``ADD`` from MSNP10, ``UBX`` from
    MSNP11...). The service itself speaks every dialect.
    """

    def __init__(
        self,
        *,
        lock_and_key: str = "enabled",
        seed: int | None = None,
        db: str | os.PathLike[str] | None = None,
        trace_limit: int | None = None,
        protocol: str = "MSNP7",
    ) -> None:
        limit = None if trace_limit is None else _args.count(trace_limit, "trace_limit")
        mode = _args.text(lock_and_key, "lock_and_key")
        dialect = _args.text(protocol, "protocol")
        self._core = _core.EmbeddedService(mode, _args.seed(seed), _args.database(db), limit, dialect)
        self._protocol = dialect.upper()
        self._service = self._core.service
        super().__init__(self._core.journal)
        _observe.created(self)

    def _new_messenger(self, email: str, password: str) -> _core.Messenger:
        return self._core.add_messenger(email, password)

    def _deliver(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._dispatch.call(fn, *args)

    def _count_alerts(self, send: Callable[[], Any]) -> tuple[Any, int | None]:
        # Events are delivered before the call returns: those of this alert are here.
        received = 0

        def listen(_target: Any, spec: Any, _values: tuple[Any, ...], _event: Any) -> None:
            nonlocal received
            received += spec.com == "OnAlertReceived"

        self._dispatch.listeners.append(listen)
        try:
            result = send()
        finally:
            self._dispatch.listeners.remove(listen)
        return result, received

    @property
    def protocol(self) -> str:
        """The MSNP dialect this service's Messengers speak (``"MSNP7"`` … ``"MSNP12"``)."""
        return self._protocol

    @property
    def now(self) -> float:
        """The virtual clock, in seconds since the service started."""
        return self._journal.now

    def sign_in(self, email: str, password: str | None = None) -> Messenger:
        """Signs a new Windows Messenger in and returns it. With no password the account
        is created on first use (a notebook convenience) or its stored password used."""
        self._check_open()
        email = _args.text(email, "email")
        if password is None:
            password = self._service.account_password(email)
            if password is None:
                password = secrets.token_hex(8)
                self._service.add_users([(email, password, None)])
        messenger = Messenger(self, email, _args.text(password, "password"))
        messenger.sign_in()
        return messenger

    def advance(self, seconds: float) -> None:
        """Moves the virtual clock, firing every timeout that falls due, in order."""
        self._dispatch.call(self._core.advance, _args.seconds(seconds, "seconds"))

    def close(self) -> None:
        """Shuts the service down: every Messenger is signed out (``OUT SSD``, as the
        real service did) and the database file is closed. Idempotent; afterwards the
        service refuses new sign-ins and operations."""
        if not self._closed:
            self._closed = True
            self._dispatch.call(self._core.close)

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._closed:
            return "<msgr.Service closed>"
        online = sum(1 for m in self._messengers.values() if m.signed_in)
        return f"<msgr.Service lock_and_key={self.lock_and_key} users={len(self.users)} online={online} t={self.now:g}s>"


def _group_id(group: Any) -> str:
    """A group's id, from a ``Group`` or the id itself."""
    return group.id if isinstance(group, Group) else _args.text(group, "group")


def _status_code(status: Any) -> str:
    """The MSNP code of a status a user may set; ``InvalidArgError`` names them."""
    from .errors import InvalidArgError, InvalidArgTypeError

    if not isinstance(status, str):
        raise InvalidArgTypeError(f"status must be a msgr.Status, not {type(status).__name__}")
    member = Status.of(status)
    if not isinstance(member, Status):
        try:
            member = Status[status.upper()]
        except KeyError:
            member = None
    if member is None or member is Status.OFFLINE:
        settable = ", ".join(f"{s} ({s.value})" for s in Status if s is not Status.OFFLINE)
        raise InvalidArgError(f"status must be one of {settable}, not {status!r} (to appear offline: Status.APPEAR_OFFLINE)")
    return str(member.value)


class Messenger(_EventSource):
    """A Windows Messenger signed in to a service (the "machine" the API objects live
    on). Objects obtained from it outlive its sign-in sessions.

    Callbacks: ``on_signed_in()``, ``on_signed_out(reason: str)``,
    ``on_sign_in_failed(hresult: int, message: str)``, ``on_text_received(sender: str,
    text: str)``; the user's own presence: ``on_my_status_change(hresult, status)``,
    ``on_my_friendly_name_change(hresult, previous)``,
    ``on_my_personal_message_change(hresult, previous)``; contacts:
    ``on_contact_status_change(contact, previous)``,
    ``on_contact_personal_message_change(contact)``; groups: ``on_group_added(hresult,
    group)``, ``on_group_removed``, ``on_group_name_changed``,
    ``on_contact_added_to_group(hresult, group, contact)``,
    ``on_contact_removed_from_group``.
    """

    _callbacks = frozenset(e.callback for e in MESSENGER_EVENTS.values())
    sign_in_name: str
    _service: _Backend
    _core: _core.Messenger
    _dispatch: Dispatcher
    _id: int
    #: Every session's object, held weakly; a dead one's entry goes with it.
    _sessions: dict[int, weakref.ref[MsgrSession]]
    _live: dict[int, MsgrSession]
    _sessions_lock: threading.RLock

    on_signed_in: Callback[Callable[[], object]] = Callback(
        """``on_signed_in()`` (OnSignin): sign-in finished; the lock objects get
        ``on_lock_enable`` right after."""
    )
    on_signed_out: Callback[Callable[[str], object]] = Callback(
        """``on_signed_out(reason)`` (OnSignout): the user is offline, every lock
        object is ``LockStatus.NOTINITIALIZED`` and live sessions have ended. ``reason`` is
        ``"user"`` (``sign_out()``), ``"signed_in_elsewhere"`` (``OUT OTH``),
        ``"server_shutdown"`` (``OUT SSD``), ``"server_closed"`` (any other ``OUT``:
        ``MIG``, ``TOU``, ``RCT``; the ``msgr.client`` log names the code) or
        ``"connection_lost"``. A server's ``OUT`` ends the sign-in at once, even if the
        server keeps the socket open."""
    )
    on_text_received: Callback[Callable[[str, str], object]] = Callback(
        """``on_text_received(sender, text)`` (OnTextReceived): a plain instant message from
        ``sender`` on a switchboard, as MSN Messenger and other clients send them."""
    )
    on_sign_in_failed: Callback[Callable[[HResult, str], object]] = Callback(
        """``on_sign_in_failed(hr, message)`` (OnSigninFailed): the service refused the
        sign-in (e.g. a wrong password) or the connection failed during it."""
    )
    on_my_status_change: Callback[Callable[[HResult, Status], object]] = Callback(
        """``on_my_status_change(hr, status)`` (OnMyStatusChange): the service answered
        ``set_status``: ``S_OK`` and the new status, or the failure and the status the
        user still has."""
    )
    on_my_friendly_name_change: Callback[Callable[[HResult, str], object]] = Callback(
        """``on_my_friendly_name_change(hr, previous)`` (OnMyFriendlyNameChange): the
        service answered ``set_friendly_name``; ``previous`` is the name before (on
        failure, the name kept)."""
    )
    on_my_personal_message_change: Callback[Callable[[HResult, str], object]] = Callback(
        """``on_my_personal_message_change(hr, previous)`` (OnMyPersonalMessageChange), an
        event of ours: the service answered ``set_personal_message`` (MSNP11+);
        ``previous`` is the message before."""
    )
    on_contact_status_change: Callback[Callable[[Contact, Status], object]] = Callback(
        """``on_contact_status_change(contact, previous)`` (OnContactStatusChange): a
        forward-list contact's presence changed (``contact.status`` is the new one)."""
    )
    on_contact_personal_message_change: Callback[Callable[[Contact], object]] = Callback(
        """``on_contact_personal_message_change(contact)`` (OnContactPersonalMessageChange),
        an event of ours: a contact's personal message changed
        (``contact.personal_message``, MSNP11+)."""
    )
    on_group_added: Callback[Callable[[HResult, Group | None], object]] = Callback(
        """``on_group_added(hr, group)`` (OnGroupAdded): the service answered
        ``add_group`` (``group`` is None when it refused)."""
    )
    on_group_removed: Callback[Callable[[HResult, Group], object]] = Callback(
        """``on_group_removed(hr, group)`` (OnGroupRemoved): the service answered
        ``remove_group``; its members left it."""
    )
    on_group_name_changed: Callback[Callable[[HResult, Group], object]] = Callback(
        """``on_group_name_changed(hr, group)`` (OnGroupNameChanged): the service
        answered ``rename_group``; ``group`` has the name it has now."""
    )
    on_contact_added_to_group: Callback[Callable[[HResult, Group, Contact], object]] = Callback(
        """``on_contact_added_to_group(hr, group, contact)`` (OnContactAddedToGroup): the
        service answered ``add_to_group``."""
    )
    on_contact_removed_from_group: Callback[Callable[[HResult, Group, Contact], object]] = Callback(
        """``on_contact_removed_from_group(hr, group, contact)``
        (OnContactRemovedFromGroup): the service answered ``remove_from_group``."""
    )
    #: ``launcher(session) -> pid | None`` starts the application when an accepted
    #: session is about to launch; None (the default) records a virtual launch.
    launcher: Callable[[MsgrSession], int | None] | None = None

    def __init__(self, service: _Backend, email: str, password: str) -> None:
        core = service._new_messenger(email, password)
        object.__setattr__(self, "_service", service)
        object.__setattr__(self, "_core", core)
        object.__setattr__(self, "_dispatch", service._dispatch)
        object.__setattr__(self, "_id", core.id)
        object.__setattr__(self, "sign_in_name", email)
        # Sessions are held weakly, except live ones (invited or invited to): an app
        # often sets a session's callbacks inside on_invitation without keeping it.
        object.__setattr__(self, "_sessions", {})
        object.__setattr__(self, "_live", {})
        object.__setattr__(self, "_sessions_lock", threading.RLock())
        service._messengers[self._id] = self

    def _session(self, oid: int, *, hold: bool = False) -> MsgrSession:
        """The one Python object of a core session; ``hold`` keeps it alive until it ends."""
        # Every event of a session comes here: the usual case, a session that has its
        # object, is read without the lock.
        ref = self._sessions.get(oid)
        session = None if ref is None else ref()
        if session is not None and not hold:
            return session
        # Over the network the delivery thread may get here at the same time as the
        # caller, and both must end up with the same object.
        with self._sessions_lock:
            ref = self._sessions.get(oid)
            session = None if ref is None else ref()
            if session is None:
                session = MsgrSession(self, oid)
                self._sessions[oid] = weakref.ref(session, self._session_gone(oid))
            if hold:
                self._live[oid] = session
        return session

    def _session_gone(self, oid: int) -> Callable[[weakref.ref[MsgrSession]], None]:
        """The callback of a session object's weak reference: forgets the reference and
        queues the release (the next API call hands it to the core)."""
        sessions, lock, released, key = self._sessions, self._sessions_lock, self._service._released, (self._id, oid)

        def gone(ref: weakref.ref[MsgrSession]) -> None:
            # Re-entrant: this may run at any allocation, the lock's holder included.
            with lock:
                if sessions.get(oid) is ref:
                    del sessions[oid]
            released.append(key)

        return gone

    def _session_ended(self, session: MsgrSession) -> None:
        with self._sessions_lock:
            self._live.pop(session._id, None)

    def _register(self, obj: MsgrLock, kind: str) -> int:
        oid: int = self._core.create_lock_object(kind)
        key = (self._id, oid)
        released = self._service._released
        # The weak reference's callback queues the release (a finalizer would too, at
        # several times the cost); ``_objects`` keeps the reference alive until then.
        self._service._objects[key] = weakref.ref(obj, lambda _ref: released.append(key))
        return oid

    @property
    def service(self) -> Any:
        """The embedded ``Service``, or for ``msgr.connect`` the ``msgr.net.Connection``."""
        return self._service

    @property
    def signed_in(self) -> bool:
        """``state == "signed_in"``."""
        return self.state == "signed_in"

    @property
    def state(self) -> str:
        """``"offline"``, ``"signing_in"`` or ``"signed_in"``."""
        return self._core.state

    @property
    def friendly_name(self) -> str | None:
        """The friendly name the service reported at the last sign-in."""
        return self._core.friendly_name

    @property
    def status(self) -> Status | None:
        """The user's presence as the service last confirmed it (``Status.ONLINE`` once
        signed in), None when not signed in."""
        code = self._core.status
        return None if code is None else Status(code)

    def set_status(self, status: Status | str) -> None:
        """Asks the service for a new presence (``CHG``): any ``Status`` but
        ``OFFLINE`` (sign out for that; ``APPEAR_OFFLINE`` looks offline to others). The
        answer is ``on_my_status_change``; ``status`` changes then (over the network,
        ``wait_for(lambda: m.status is Status.AWAY)``). ``InvalidArgError`` for another
        value, ``NotLoggedOnError`` when not signed in."""
        code = _status_code(status)
        self._dispatch.call(self._core.set_status, code)

    def set_friendly_name(self, name: str) -> None:
        """Asks the service for a new friendly name (``REA`` up to MSNP9, ``PRP MFN``
        from MSNP10): 1 to 129 characters, not only spaces, no control characters. The
        answer is ``on_my_friendly_name_change``; ``friendly_name`` changes then."""
        self._dispatch.call(self._core.set_friendly_name, _args.text(name, "name"))

    @property
    def personal_message(self) -> str:
        """The user's personal message as the service last took it (MSNP11+)."""
        return self._core.personal_message

    @property
    def groups(self) -> list[Group]:
        """The user's contact groups, in list order (``Group.id`` as the dialect names
        them: numbers up to MSNP9, with group ``"0"``; GUIDs from MSNP10). Each
        contact's ``Contact.groups`` names the groups it is in."""
        return [Group(*g) for g in self._core.groups()]

    def add_group(self, name: str) -> None:
        """Asks the service for a new group (``ADG``); ``on_group_added`` gives the
        answer and the group (``groups`` has it then). ``InvalidArgError`` for a name
        the service would not take (empty, only spaces, over 61 bytes URL-encoded)."""
        self._dispatch.call(self._core.add_group, _args.text(name, "name"))

    def remove_group(self, group: Group | str) -> None:
        """Asks the service to remove a group (``RMG``; its members leave it);
        ``on_group_removed`` gives the answer. ``InvalidArgError`` for a group the user
        does not have."""
        self._dispatch.call(self._core.remove_group, _group_id(group))

    def rename_group(self, group: Group | str, name: str) -> None:
        """Asks the service to rename a group (``REG``); ``on_group_name_changed``."""
        self._dispatch.call(self._core.rename_group, _group_id(group), _args.text(name, "name"))

    def add_to_group(self, contact: Contact | str, group: Group | str) -> None:
        """Puts a forward-list contact into a group too (``ADD``/``ADC`` with the group);
        ``on_contact_added_to_group`` gives the answer."""
        user = contact.sign_in_name if isinstance(contact, Contact) else _args.text(contact, "contact")
        self._dispatch.call(self._core.add_contact_to_group, user, _group_id(group))

    def remove_from_group(self, contact: Contact | str, group: Group | str) -> None:
        """Takes a contact out of one group (``REM`` with the group); it stays on the
        forward list. ``on_contact_removed_from_group`` gives the answer."""
        user = contact.sign_in_name if isinstance(contact, Contact) else _args.text(contact, "contact")
        self._dispatch.call(self._core.remove_contact_from_group, user, _group_id(group))

    def set_personal_message(self, text: str) -> None:
        """Asks the service to show a personal message (``UUX``, MSNP11 and later;
        ``NotImplError`` in older dialects): at most 129 characters, no control
        characters; empty clears it. The answer is ``on_my_personal_message_change``."""
        self._dispatch.call(self._core.set_personal_message, _args.text(text, "text"))

    def close(self) -> None:
        """Signs out, and over the network closes the connection too. Idempotent."""
        self._service._close_messenger(self)

    def __enter__(self) -> Messenger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sign_in(self, password: str | None = None) -> None:
        """Signs in (again). Every object of this Messenger gets ``on_lock_enable``. A
        password given here replaces the stored one only if the service accepts it."""
        self._dispatch.call(self._core.sign_in, _args.optional_text(password, "password"))

    def sign_out(self) -> None:
        """Signs out: every object is locked again (``LockStatus.NOTINITIALIZED``)."""
        self._dispatch.call(self._core.sign_out)

    @property
    def contacts(self) -> list[Contact]:
        """The forward list as the service last reported it, with presence."""
        return [Contact(*c) for c in self._core.forward_list()]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Blocks until ``predicate()`` is true, checking it after each delivery of
        events, and returns its value; raises ``TimeoutError`` after ``timeout`` seconds.
        Over the network events arrive on a background thread; in embedded mode they
        were all delivered already, so the predicate is checked once."""
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
        return self._service._wait_for(predicate, _args.seconds(timeout))

    def counts(self) -> ClientCounts:
        """What this Messenger holds live now (``msgr.ClientCounts``): objects,
        sessions and those under way, its notification and switchboard connections,
        queued messages, awaited calls. Reading changes nothing. Signed out, with its
        sessions ended, ``.idle`` is true."""
        return ClientCounts._from_core(self._core.counts())

    def send_text(self, user: str | Contact, text: str) -> None:
        """Sends ``text`` to ``user`` as a plain instant message (``text/plain`` on the
        switchboard shared with them, opened if need be), the way MSN Messenger and other
        clients talk; the peer's ``on_text_received`` gets it. Returns once the switchboard
        acknowledged delivery (the message goes with ack type ``A``); a peer who is offline,
        or left the switchboard before it arrived, raises ``NotLoggedOnError``, an empty or
        too long text (over 1,533 bytes of UTF-8, what fits one message) ``InvalidArgError``."""
        if isinstance(user, Contact):
            user = user.sign_in_name
        self._dispatch.call(self._core.send_text, _args.text(user, "user"), _args.text(text, "text"))

    def session_manager(self) -> MsgrSessionManager:
        """A new, separately locked ``MsgrSessionManager``."""
        return MsgrSessionManager(self)

    def messenger_priv(self) -> MessengerPriv:
        """A new, separately locked ``MessengerPriv``."""
        return MessengerPriv(self)

    def __repr__(self) -> str:
        return f"<msgr.Messenger {self.sign_in_name} {self.state}>"
