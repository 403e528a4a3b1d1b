"""Network mode (design §2, §3): ``serve()`` runs the Messenger service on a TCP port;
``connect()`` signs a Windows Messenger in to an MSNP server over TCP and returns the
same ``Messenger`` class as the embedded service.

Over the network events arrive when the server sends them, so a daemon thread
delivers them to the callbacks (in order, one at a time). A callback's exception has
no API call to propagate out of: it goes to ``sys.unraisablehook``. Use
``Messenger.wait_for(predicate, timeout)`` to wait for what the callbacks do.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Callable

from . import _args, _core
from ._dispatch import CoreEvent, Dispatcher
from .errors import InvalidArgError, MsgrError
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
        self.trace = Trace(self._journal.trace_len, self._journal.trace_since, self._journal.clear_trace, self._journal.trace_limit)

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; give it to ``connect()``."""
        host, port = self._core.address
        return (host, port)

    @property
    def running(self) -> bool:
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
) -> ServerHandle:
    """Starts an MSNP server on ``host:port`` (port 0 picks a free one) and returns its
    handle. ``users`` are ``(email, password)`` or ``(email, password, friendly_name)``
    (an account that exists already, in ``db``, gets that password and name);
    ``licenses`` are ``(app_id, key)`` pairs or a mapping. ``advertise`` is the host
    that switchboard referrals (``XFR``/``RNG``) name; by default the bound address, or
    loopback when bound to a wildcard such as ``0.0.0.0``. ``trace_limit`` bounds the
    handle's ``trace`` (by default the latest 100,000 lines; 0 keeps none)."""
    host = _args.text(host, "host")
    port = _args.port(port, zero=True)
    advertise = _args.optional_text(advertise, "advertise")
    limit = None if trace_limit is None else _args.count(trace_limit, "trace_limit")
    mode = _args.text(lock_and_key, "lock_and_key")
    handle = ServerHandle(_core.Server(host, port, mode, _args.seed(seed), _args.path(db, "db"), advertise, limit))
    try:
        for user in users:
            handle.add_user(*user, exist_ok=True)
        pairs = licenses.items() if isinstance(licenses, Mapping) else licenses
        for app_id, key in pairs:
            handle.license(app_id, key)
    except BaseException:
        handle.close()
        raise
    return handle


class _BackgroundDispatcher(Dispatcher):
    """Delivery on the network: only the background thread delivers, and a callback's
    exception goes to ``sys.unraisablehook`` instead of out of an API call."""

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        # The call's events are delivered by the background thread as they arrive.
        self.housekeeping()
        return fn(*args)

    def _fire(self, event: CoreEvent, errors: list[BaseException]) -> None:
        raised: list[BaseException] = []
        super()._fire(event, raised)
        for exc in raised:
            _core.NetworkClient.unraisable(exc, self._resolve(event.messenger, event.obj))


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
    ) -> None:
        core = _core.NetworkClient(host, port, email, password, seed, timeout, local_ip, trace_limit)
        self._core = core
        super().__init__(core.journal, _BackgroundDispatcher)
        self.address = (host, port)
        self._delivered = threading.Condition()
        # The thread holds the Connection weakly, so an abandoned one is collected and
        # its client closed (which ends the thread).
        weakref.finalize(self, core.close)
        self._thread = threading.Thread(target=_deliver_forever, args=(weakref.ref(self), core, core.journal), name=f"msgr-events-{email}", daemon=True)
        self._thread.start()

    def _new_messenger(self, email: str, password: str) -> _core.Messenger:
        core = self._core.messenger
        if core.sign_in_name.lower() != email.lower() or self._messengers:
            raise InvalidArgError(f"a network connection is one Messenger, and {email} is not it")
        return core

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    def close(self) -> None:
        """Signs out (if signed in) and closes the connection; idempotent. Events
        already received are still delivered."""
        self._core.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5.0)

    def _close_messenger(self, messenger: Messenger) -> None:
        self.close()

    def _deliver(self) -> None:
        try:
            self._dispatch.deliver()
        except Exception as exc:  # noqa: BLE001 - raised outside a callback (e.g. converting an event)
            _core.NetworkClient.unraisable(exc, self)
        finally:
            with self._delivered:
                self._delivered.notify_all()

    def _wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
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
    """The delivery thread: waits for events with the GIL released, then delivers them."""
    while True:
        ready = journal.wait_events(_IDLE_SECONDS)
        connection = ref()
        if connection is None:
            return
        if ready or core.closed:
            connection._deliver()
        if core.closed:
            return
        del connection


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


def connect(
    address: tuple[str, int] | str,
    email: str,
    password: str,
    *,
    timeout: float = 10.0,
    local_ip: str | None = None,
    trace_limit: int | None = None,
) -> Messenger:
    """Signs ``email`` in to the MSNP server at ``address`` (``(host, port)`` as
    ``ServerHandle.address`` gives it, or ``"host:port"``) and returns the signed-in
    ``Messenger``. The service's refusal raises as in embedded mode (a wrong password
    is ``AuthenticationFailedError``); no answer within ``timeout`` seconds raises
    ``TimeoutError``. ``timeout`` also bounds each later ``sign_in`` and ``invite``.
    ``local_ip`` is the machine's address sessions report to peers; by default, the
    address of the connection to the server. ``trace_limit`` bounds the connection's
    ``trace`` (by default the latest 100,000 messages)."""
    host, port = _split_address(address)
    timeout = _args.seconds(timeout)
    local_ip = _args.optional_text(local_ip, "local_ip")
    limit = None if trace_limit is None else _args.count(trace_limit, "trace_limit")
    connection = Connection(host, port, _args.text(email, "email"), _args.text(password, "password"), timeout, local_ip=local_ip, trace_limit=limit)
    messenger = Messenger(connection, email, password)
    try:
        messenger.sign_in()
    except BaseException:
        connection.close()
        raise
    return messenger
