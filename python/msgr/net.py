"""Network mode: ``serve()`` runs the Messenger service on a TCP port;
``connect()`` signs a Windows Messenger in to an MSNP server over TCP and returns the
same ``Messenger`` class as the embedded service.

Over the network events arrive when the server sends them, so a daemon thread
delivers them to the callbacks (in order, one at a time). A callback's exception has
no API call to propagate out of: it goes to ``sys.unraisablehook``. Use
``Messenger.wait_for(predicate, timeout)`` to wait for what the callbacks do.
(``msgr.aio`` has the thread hand the deliveries to an asyncio loop instead: see
``Handoff``.)
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from . import _args, _core, _observe
from ._dispatch import CoreEvent, Dispatcher
from .errors import InvalidArgError, InvalidArgTypeError, MsgrError
from ._service_ops import ServiceOperations
from .service import Messenger, _Backend
from .trace import Trace

__all__ = ["serve", "connect", "ServerHandle", "Connection"]

#: ``wait_for`` is woken after every delivery; this bounds how stale a predicate that
#: depends on state without an event can get.
_POLL_SECONDS = 0.05
#: How long the delivery thread blocks in one wait before checking it is still wanted.
_IDLE_SECONDS = 0.5


class ServerHandle(ServiceOperations):
    """A running MSNP server (``serve()``): one TCP port for notification and
    switchboard connections. Close it with ``close()`` or a ``with`` block."""

    def __init__(self, core: _core.Server) -> None:
        self._core = core
        self._service = core.service
        self._journal = core.journal
        #: Every MSNP line the server received and sent, as ``Service.trace`` (the
        #: latest ``trace_limit`` of them).
        self.trace = Trace(self._journal.trace_len, self._journal.trace_window, self._journal.clear_trace, self._journal.trace_limit)
        _observe.created(self)

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; give it to ``connect()``."""
        host, port = self._core.address
        return (host, port)

    @property
    def nexus_url(self) -> str:
        """The Passport nexus's URL, ``http://HOST:PORT/rdr/pprdr.asp`` (``https://``
        when served with ``tls_cert``), where HOST is the advertised host and PORT the
        nexus's own port (``nexus_port``). MSNP8 and later sign in through it: give it to
        ``connect(..., nexus=server.nexus_url)``."""
        return str(self._core.nexus_url)

    @property
    def running(self) -> bool:
        """True until ``close()``: the server accepts connections."""
        return bool(self._core.running)

    def close(self) -> None:
        """Closes every connection (their Messengers are signed out) and stops serving.
        Idempotent; afterwards the handle refuses further calls."""
        self._closed = True
        self._core.close()

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        host, port = self.address
        state = "serving" if self.running else "closed"
        return f"<msgr.ServerHandle {host}:{port} {state} users={len(self.users)}>"


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    lock_and_key: str = "enabled",
    seed: int | None = None,
    db: str | None = None,
    users: Iterable[tuple[str, ...]] = (),
    licenses: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    advertise: str | None = None,
    trace_limit: int | None = None,
    protocols: Sequence[str] | None = None,
    tls_cert: str | os.PathLike[str] | None = None,
    tls_key: str | os.PathLike[str] | None = None,
    nexus_port: int = 0,
    limits: Mapping[str, float | tuple[int, float]] | None = None,
) -> ServerHandle:
    """Starts an MSNP server on ``host:port`` (port 0 picks a free one) and returns its
    handle. ``users`` are ``(email, password)`` or ``(email, password, friendly_name)``
    (an account that exists already, in ``db``, gets that password and name);
    ``licenses`` are ``(app_id, key)`` pairs or a mapping. ``advertise`` is the host
    that switchboard referrals (``XFR``/``RNG``) and the nexus's URLs name; by default
    the bound address, or loopback when bound to a wildcard such as ``0.0.0.0``.
    ``trace_limit`` bounds the handle's ``trace`` (by default the latest 100,000 lines;
    0 keeps none).

    ``protocols`` lists the MSNP dialects the server agrees to, by name in any case
    (``["MSNP8", "MSNP7"]``); by default every dialect msgr implements. An unknown name
    or an empty list raises ``InvalidArgError``.

    MSNP8 and later sign in with a Passport ticket, which the server's Passport nexus
    hands out over HTTP on a port of its own, ``nexus_port`` (0 picks a free one), at
    ``ServerHandle.nexus_url``. With ``tls_cert`` and ``tls_key`` (PEM files of the
    certificate chain and its private key; both or neither) it serves HTTPS instead of
    plain HTTP.

    ``limits`` changes what one client may cost (``msgr docs security`` has every limit, its
    default and the threat it answers): seconds for ``sign_in``, ``partial`` and
    ``idle``; counts for ``max_challenges``, ``max_connections`` and
    ``max_per_address``; ``(burst, seconds per token)`` for ``wrong_password_account``,
    ``wrong_password_address``, ``qry``, ``xfr``, ``cal`` and ``rings``. An unknown
    name or a bad value raises ``InvalidArgError``."""
    host = _args.text(host, "host")
    port = _args.port(port, zero=True)
    advertise = _args.optional_text(advertise, "advertise")
    limit = None if trace_limit is None else _args.count(trace_limit, "trace_limit")
    mode = _args.text(lock_and_key, "lock_and_key")
    names = _protocols(protocols)
    cert, key = _args.path(tls_cert, "tls_cert"), _args.path(tls_key, "tls_key")
    nexus_port = _args.integer(nexus_port, "nexus_port", 0, 65535)
    chosen = _limits(limits)
    core = _core.Server(host, port, mode, _args.seed(seed), _args.database(db), advertise, limit, names, cert, key, nexus_port, chosen)
    handle = ServerHandle(core)
    try:
        handle.add_users(users, exist_ok=True)
        pairs = licenses.items() if isinstance(licenses, Mapping) else licenses
        for app_id, key in pairs:
            handle.license(app_id, key)
    except BaseException:
        handle.close()
        raise
    return handle


def _limits(limits: Mapping[str, float | tuple[int, float]] | None) -> dict[str, float | tuple[int, float]] | None:
    """``serve(limits=)``, type-checked here; the core checks names and ranges."""
    if limits is None:
        return None
    if not isinstance(limits, Mapping):
        raise InvalidArgTypeError(f"limits must be a mapping of limit names to values, not {type(limits).__name__}")
    checked: dict[str, float | tuple[int, float]] = {}
    for name, value in limits.items():
        name = _args.text(name, "a limit's name")
        if isinstance(value, tuple) and len(value) == 2:
            burst = _args.integer(value[0], f"{name}'s burst", 1, (1 << 32) - 1, meaning="is not 1 to 4294967295")
            checked[name] = (burst, float(_args.seconds(value[1], f"{name}'s seconds")))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            checked[name] = float(value)
        else:
            raise InvalidArgTypeError(f"limit {name} is a number or (burst, seconds), not {type(value).__name__}")
    return checked


@dataclass(frozen=True)
class Handoff:
    """Where a ``Connection`` delivers its events when not on its own thread (``msgr.aio``
    hands them to an asyncio loop this way).

    The background thread still waits for events, but instead of delivering them it
    calls ``schedule(deliver)``, which must arrange for ``deliver()`` to run soon on the
    thread whose ident is ``thread`` (``loop.call_soon_threadsafe``), and then waits
    until it has run before waiting for more. ``schedule`` raising means nothing will
    ever deliver again (the loop is closed): the exception goes to
    ``sys.unraisablehook`` and the connection is closed. A callback's exception goes to
    ``report(exc, obj)`` instead of ``sys.unraisablehook``."""

    schedule: Callable[[Callable[[], None]], object]
    report: Callable[[BaseException, Any], None]
    thread: int


class _BackgroundDispatcher(Dispatcher):
    """Delivery on the network: only the background thread (or a ``Handoff``) delivers,
    and a callback's exception goes to ``report`` (``sys.unraisablehook`` unless a
    ``Handoff`` says otherwise) instead of out of an API call."""

    def __init__(self, journal: Any, resolve: Callable[[int, int | None], Any]) -> None:
        super().__init__(journal, resolve)
        #: Where a callback's exception goes: ``report(exc, the object of the event)``.
        self.report: Callable[[BaseException, Any], None] = _core.NetworkClient.unraisable

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        # The call's events are delivered by the background thread as they arrive.
        self.housekeeping()
        return fn(*args)

    def _fire(self, event: CoreEvent, errors: list[BaseException]) -> None:
        raised: list[BaseException] = []
        super()._fire(event, raised)
        for exc in raised:
            self.report(exc, self._resolve(event.messenger, event.obj))


class Connection(_Backend):
    """The network side of a ``Messenger`` from ``connect()`` (its ``.service``): the
    client, the background delivery thread and the client's wire trace."""

    def __init__(
        self,
        host: str,
        port: int,
        email: str,
        password: str,
        timeout: float,
        seed: int | None = None,
        local_ip: str | None = None,
        trace_limit: int | None = None,
        handoff: Handoff | None = None,
        lock_and_key: str = "auto",
        keys: dict[str, str] | None = None,
        challenge_timeout: float | None = None,
        protocols: list[str] | None = None,
        nexus: str | None = None,
        nexus_ca: str | None = None,
    ) -> None:
        core = _core.NetworkClient(
            host,
            port,
            email,
            password,
            seed,
            timeout,
            local_ip,
            trace_limit,
            lock_and_key=lock_and_key,
            keys=keys,
            challenge_timeout=challenge_timeout,
            protocols=protocols,
            nexus=nexus,
            nexus_ca=nexus_ca,
        )
        self._core = core
        super().__init__(core.journal, _BackgroundDispatcher)
        self.address = (host, port)
        self._delivered = threading.Condition()
        # Fixed before the thread starts, so no event is ever delivered elsewhere.
        self._handoff = handoff
        #: Set once the delivery handed off last has run (or to wake the thread).
        self._handed_off: threading.Event | None = None
        if handoff is not None:
            assert isinstance(self._dispatch, _BackgroundDispatcher)
            self._dispatch.report = handoff.report
        # The thread holds the Connection weakly, so an abandoned one is collected and
        # its client closed (which ends the thread).
        weakref.finalize(self, core.close)
        _observe.created(self)
        self._thread = threading.Thread(target=_deliver_forever, args=(weakref.ref(self), core, core.journal), name=f"msgr-events-{email}", daemon=True)
        self._thread.start()

    def _new_messenger(self, email: str, password: str) -> _core.Messenger:
        core = self._core.messenger
        if core.sign_in_name.lower() != email.lower() or self._messengers:
            raise InvalidArgError(f"a network connection is one Messenger, and {email} is not it")
        return core

    @property
    def closed(self) -> bool:
        """True once ``close()`` has run."""
        return bool(self._core.closed)

    def close(self) -> None:
        """Signs out (if signed in) and closes the connection; idempotent. Events
        already received are still delivered."""
        self._core.close()
        # With a Handoff the thread may be waiting for a delivery that the caller's
        # own thread (the loop) would run: wake it, it sees the closing and ends.
        waiting = self._handed_off
        if waiting is not None:
            waiting.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)

    def _close_messenger(self, messenger: Messenger) -> None:
        self.close()

    def _deliver(self) -> None:
        try:
            self._dispatch.deliver()
        except Exception as exc:  # noqa: BLE001 - raised outside a callback (e.g. converting an event)
            report = _core.NetworkClient.unraisable if self._handoff is None else self._handoff.report
            report(exc, self)
        finally:
            with self._delivered:
                self._delivered.notify_all()

    def _hand_off(self, handoff: Handoff) -> threading.Event | None:
        """Schedules a delivery through ``handoff``; returns what is set once it ran, or
        None if it cannot be scheduled (the connection is closed then)."""
        done = threading.Event()
        self._handed_off = done

        def run() -> None:
            try:
                self._deliver()
            finally:
                done.set()

        try:
            handoff.schedule(run)
        except Exception as exc:  # noqa: BLE001 - e.g. the event loop is closed
            exc.add_note(f"msgr: nothing can deliver the events of {self!r} any more; it is closed")
            _core.NetworkClient.unraisable(exc, self)
            self.close()
            return None
        return done

    def _wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        if self._handoff is not None and threading.get_ident() == self._handoff.thread:
            # The events it waits for would be delivered by this very thread.
            raise RuntimeError(
                "Messenger.wait_for would block the thread that delivers this connection's events "
                "(an asyncio loop): await msgr.aio's wait_for or next_event instead"
            )
        deadline = time.monotonic() + timeout
        with self._delivered:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the condition did not become true within {timeout:g} s")
                self._delivered.wait(min(remaining, _POLL_SECONDS))

    def __repr__(self) -> str:
        host, port = self.address
        return f"<msgr.net.Connection {host}:{port} {'closed' if self.closed else 'open'}>"


def _deliver_forever(ref: weakref.ref[Connection], core: Any, journal: Any) -> None:
    """The delivery thread: waits for events with the GIL released, then delivers them
    (or hands their delivery off, see ``Handoff``)."""
    while True:
        ready = journal.wait_events(_IDLE_SECONDS)
        connection = ref()
        if connection is None:
            return
        closed = core.closed
        handoff = connection._handoff
        if handoff is None:
            if ready or closed:
                connection._deliver()
            if closed:
                return
            del connection
            continue
        if not (ready or closed):
            del connection
            continue
        # Seen closed before scheduling: that delivery takes every last event.
        done = connection._hand_off(handoff)
        del connection
        if closed or done is None:
            return
        # The events stay queued until that delivery takes them (wait_events would
        # return at once), so wait for it; the connection may close meanwhile.
        while not done.wait(_IDLE_SECONDS):
            if core.closed or ref() is None:
                break


def _protocols(value: Any) -> list[str] | None:
    """``protocols``: None, or a list or tuple of dialect names (the core checks the
    names themselves)."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise InvalidArgTypeError(f"protocols must be a list of dialect names such as ['MSNP8'], not {type(value).__name__}")
    return [_args.text(name, "protocols entry") for name in value]


def _split_address(address: tuple[str, int] | str) -> tuple[str, int]:
    if isinstance(address, str):
        host, sep, port_text = address.rpartition(":")
        if not sep or not port_text.isdigit():
            raise InvalidArgError(f"address must be (host, port) or 'host:port', not {address!r}")
        host, port = host.strip("[]"), int(port_text)
    elif isinstance(address, tuple) and len(address) == 2:
        host, port = address
    else:
        raise InvalidArgError(f"address must be (host, port) or 'host:port', not {address!r}")
    host = _args.text(host, "host")
    return host, _args.port(port, zero=False)


#: The values of ``connect(lock_and_key=...)``.
LOCK_AND_KEY_MODES = ("auto", "service", "local", "off")


def _lock_and_key(mode: Any, keys: Any) -> tuple[str, dict[str, str] | None]:
    """``connect()``'s ``lock_and_key`` and ``keys``, checked: ``keys`` (app id -> key)
    goes with ``"local"`` and with nothing else."""
    mode = _args.text(mode, "lock_and_key")
    if mode not in LOCK_AND_KEY_MODES:
        raise InvalidArgError(f"lock_and_key must be one of {', '.join(map(repr, LOCK_AND_KEY_MODES))}, not {mode!r}")
    if keys is None:
        if mode == "local":
            raise InvalidArgError("lock_and_key='local' needs keys={app_id: key, ...}: the pairs the client checks responses against")
        return mode, None
    if mode != "local":
        raise InvalidArgError(f"keys= is for lock_and_key='local' only; with {mode!r} the service checks the keys")
    if not isinstance(keys, Mapping):
        raise InvalidArgTypeError(f"keys must be a mapping of app id to key, not {type(keys).__name__}")
    pairs = {_args.text(app_id, "an app id of keys"): _args.text(key, f"the key of {app_id!r}") for app_id, key in keys.items()}
    if not pairs:
        raise InvalidArgError("keys must hold at least one app id and its key")
    return mode, pairs


def connect(
    address: tuple[str, int] | str,
    email: str,
    password: str,
    *,
    timeout: float = 10.0,
    local_ip: str | None = None,
    trace_limit: int | None = None,
    lock_and_key: str = "auto",
    keys: Mapping[str, str] | None = None,
    protocols: Sequence[str] | None = None,
    nexus: str | None = None,
    nexus_ca: str | os.PathLike[str] | None = None,
) -> Messenger:
    """Signs ``email`` in to the MSNP server at ``address`` (``(host, port)`` as
    ``ServerHandle.address`` gives it, or ``"host:port"``) and returns the signed-in
    ``Messenger``. The service's refusal raises as in embedded mode (a wrong password
    is ``AuthenticationFailedError``); no answer within ``timeout`` seconds raises
    ``TimeoutError``. ``timeout`` also bounds each later ``sign_in`` and ``invite``.
    ``local_ip`` is the machine's address sessions report to peers; by default, the
    address of the connection to the server. ``trace_limit`` bounds the connection's
    ``trace`` (by default the latest 100,000 messages).

    ``lock_and_key`` says who runs Lock and Key for the session manager and
    MessengerPriv:

    * ``"auto"`` (the default): the service's sign-in profile decides (msgr's server
      sends an ``X-Msgr-LockAndKey`` header); a server that sends none, as every
      legacy MSNP server, is taken to do Lock and Key, so objects start locked and
      ``request_challenge`` asks it with ``CHL``.
    * ``"service"``: the service does Lock and Key, whatever its profile says.
    * ``"local"``: the client issues the challenges itself and checks each
      response against ``keys``, a mapping of app id to key, with no wire traffic: an
      app unlocks against a server that has no Lock and Key (Escargot and other
      third-party servers). An unknown app id or a wrong key fails the unlock
      (``on_lock_result(cookie, False)``), as the service would answer.
    * ``"off"``: nothing is locked; objects are ``LockStatus.UNLOCKED`` at sign-in.

    ``keys`` is required with ``"local"`` and refused with the other modes
    (``InvalidArgError``). A server without Lock and Key silently drops the ``CHL``
    that ``"auto"`` or ``"service"`` sends: after 50 s the unlock fails with
    ``on_lock_result(cookie, False)`` and the ``msgr.client`` logger warns that the
    service never answered, naming ``lock_and_key="local"`` as the way out.

    ``protocols`` lists the MSNP dialects to offer, by name in any case
    (``["MSNP8"]``); the server picks the best it also speaks. By default every
    dialect msgr implements, best first, leaving out those that sign in with Passport
    (MSNP8 and later) unless ``nexus`` is given. An unknown name or an empty list raises
    ``InvalidArgError``. ``nexus`` is the Passport nexus URL those dialects sign in
    through (``ServerHandle.nexus_url``); the login's HTTP requests share the 10 s
    connect time-out of the client's sockets, an unreachable nexus raises
    ``ConnectionFailureError`` and a refused password ``AuthenticationFailedError``.
    Over HTTPS the login trusts the public web CAs and, with ``nexus_ca``, the
    certificates in that PEM file too (a private CA or a self-signed certificate)."""
    messenger = _open(
        address,
        email,
        password,
        timeout=timeout,
        local_ip=local_ip,
        trace_limit=trace_limit,
        lock_and_key=lock_and_key,
        keys=keys,
        protocols=protocols,
        nexus=nexus,
        nexus_ca=nexus_ca,
    )
    try:
        messenger.sign_in()
    except BaseException:
        messenger.service.close()
        raise
    return messenger


def _open(
    address: tuple[str, int] | str,
    email: str,
    password: str,
    *,
    timeout: float,
    local_ip: str | None,
    trace_limit: int | None,
    handoff: Handoff | None = None,
    lock_and_key: str = "auto",
    keys: Mapping[str, str] | None = None,
    challenge_timeout: float | None = None,
    protocols: Sequence[str] | None = None,
    nexus: str | None = None,
    nexus_ca: str | os.PathLike[str] | None = None,
) -> Messenger:
    """``connect()`` up to the sign-in: checks the arguments and returns the Messenger of
    a new ``Connection`` (signed out). ``msgr.aio`` signs in off its loop.
    ``challenge_timeout`` shortens the 50 s a Lock and Key transaction may wait, for
    tests."""
    mode, pairs = _lock_and_key(lock_and_key, keys)
    limit_chl = None if challenge_timeout is None else _args.seconds(challenge_timeout, "challenge_timeout")
    host, port = _split_address(address)
    timeout = _args.seconds(timeout)
    local_ip = _args.optional_text(local_ip, "local_ip")
    limit = None if trace_limit is None else _args.count(trace_limit, "trace_limit")
    email, password = _args.text(email, "email"), _args.text(password, "password")
    names = _protocols(protocols)
    nexus = _args.optional_text(nexus, "nexus")
    ca = _args.path(nexus_ca, "nexus_ca")
    connection = Connection(
        host,
        port,
        email,
        password,
        timeout,
        local_ip=local_ip,
        trace_limit=limit,
        handoff=handoff,
        lock_and_key=mode,
        keys=pairs,
        challenge_timeout=limit_chl,
        protocols=names,
        nexus=nexus,
        nexus_ca=ca,
    )
    return Messenger(connection, email, password)
