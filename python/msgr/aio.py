"""asyncio for network mode: ``msgr.aio.connect()`` signs a Windows Messenger in to an
MSNP server without blocking the event loop, and delivers its events on the loop.

>>> import msgr.aio
>>> async def main(address):
...     async with msgr.aio.connect(address, "alice@example.com", "secret") as alice:
...         manager = alice.session_manager()              # the regular API objects
...         await alice.unlock(manager, "myapp@msnmsgr.com", "MYKEY")
...         ...

What changes against ``msgr.connect()``:

* **No blocking on the loop.** What waits for the network has an awaitable form that
  runs off the loop (``asyncio.to_thread``): ``await client.sign_in()``,
  ``await client.invite(session, user)``, ``await client.aclose()``. Every other call
  of the regular API (``request_challenge``, ``accept``, ``send_context_data``...)
  returns at once and may be made directly from a coroutine or a callback.
* **Callbacks run on the loop's thread**, one at a time, in order: the connection's
  background thread hands each batch of events to the loop
  (``loop.call_soon_threadsafe``) instead of firing them itself. So a callback may
  touch loop objects (futures, queues, tasks) freely, and an event can never slip in
  between a call and the ``await`` that follows it in the same coroutine: nothing is
  delivered while a coroutine runs.
* **Awaiting events.** ``await client.next_event(obj, "on_lock_result", timeout=5)``
  waits for one event (by object, callback or COM name, and/or a ``where``
  predicate); ``async for event in client.events(...)`` streams them;
  ``await client.wait_for(predicate)`` waits for a condition. Each is a future
  resolved on the loop when the event is delivered (no polling), and a time-out
  raises ``TimeoutError``. Events come as ``msgr.LoggedEvent`` (``.args``,
  ``.source``, ``.callback``, ...).
* **Short flows**: ``await client.unlock(lock, app_id, key)`` runs a whole Lock and
  Key transaction; ``await client.invite(session, user)`` then
  ``await client.wait_connected(session)`` invites and waits for the answer.
* A callback's exception goes to the loop's exception handler
  (``loop.call_exception_handler``), with a note naming the callback.
* ``aclose()`` (or leaving ``async with``) signs out and closes; it is idempotent.
  Waits still pending when the connection closes (however it closes) raise
  ``ConnectionClosedError``; later ones raise it at once.

The objects stay the regular, thread-safe API; ``Messenger.wait_for`` (which blocks)
refuses to run on the loop's thread, where it could only time out.
"""

from __future__ import annotations

import asyncio
import os
import enum
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, TypeVar

from . import _args, net
from ._core import lock_response
from ._dispatch import CoreEvent
from ._events import ALL_EVENTS, EventSpec
from .contact import Contact
from .enums import HResult, LockStatus, SessionState
from .errors import ApiDisabledError, ApiNotInitializedError, ApiUnlockFailedError, InvalidArgError, MsgrError, SessionError, error_for
from .eventlog import LoggedEvent
from .lock import MsgrLock
from .manager import MsgrSessionManager
from .priv import MessengerPriv
from .service import Messenger
from .session import MsgrSession
from .status import Status

__all__ = [
    "connect",
    "AsyncMessenger",
    "Connecting",
    "EventWaiter",
    "EventStream",
    "ConnectionClosedError",
    "CONNECTION_TIMEOUT",
    "LoggedEvent",
]

_T = TypeVar("_T")


class _Default(enum.Enum):
    """``CONNECTION_TIMEOUT``: a ``timeout`` that means the one given to ``connect()``."""

    CONNECTION_TIMEOUT = "the connection's timeout"

    def __repr__(self) -> str:
        return "CONNECTION_TIMEOUT"


#: The default of every ``timeout`` here: the ``timeout`` given to ``connect()``.
#: ``None`` waits without a time limit.
CONNECTION_TIMEOUT: Final = _Default.CONNECTION_TIMEOUT

Timeout = float | None | _Default

#: Every callback and COM event name -> its event.
_EVENT_NAMES: dict[str, EventSpec] = {
    **{spec.com: spec for spec in ALL_EVENTS.values()},
    **{spec.callback: spec for spec in ALL_EVENTS.values()},
}
#: Session states after which a session will never connect.
_ENDED = frozenset({SessionState.CANCELLED, SessionState.DECLINED, SessionState.TERMINATED})


class ConnectionClosedError(ConnectionError):
    """The connection closed while a coroutine waited for it (or was already closed)."""


class _Failed:
    """An outcome that is an exception (kept as a result, so a wait nobody awaits never
    logs "exception was never retrieved")."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _describe(obj: object) -> str:
    try:
        return repr(obj)
    except Exception:  # noqa: BLE001 - a repr that needs the core may fail after close
        return f"<{type(obj).__name__}>"


# --------------------------------------------------------------------------- the loop side


class _Hub:
    """The loop's side of one connection: runs its deliveries (``net.Handoff``), sees
    every event (a dispatcher listener) and resolves the waits registered on it. Only
    ever touched on the loop's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.connection: weakref.ref[net.Connection] | None = None
        self.waits: list[_Wait] = []
        self.streams: list[EventStream] = []
        #: Each session's ``on_termination`` arguments, for ``wait_connected``.
        self.endings: weakref.WeakKeyDictionary[MsgrSession, tuple[Any, ...]] = weakref.WeakKeyDictionary()
        self.closed = False

    def handoff(self) -> net.Handoff:
        return net.Handoff(self.schedule, self.report, self.thread)

    # Called on the connection's background thread: the loop delivers.
    def schedule(self, deliver: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(self._run, deliver)

    def _run(self, deliver: Callable[[], None]) -> None:
        try:
            deliver()
        finally:
            self.settle()

    def deliver_now(self) -> None:
        """Delivers what is queued now, on the loop (the delivery handed off for it,
        if any, then finds nothing)."""
        connection = self.connection() if self.connection is not None else None
        if connection is not None:
            connection._deliver()
        self.settle()

    def report(self, exc: BaseException, obj: Any) -> None:
        self.loop.call_exception_handler(
            {"message": f"msgr: exception in a callback of {_describe(obj)}", "exception": exc, "msgr_object": obj}
        )

    def listen(self, target: Any, spec: EventSpec, values: tuple[Any, ...], event: CoreEvent) -> None:
        """The dispatcher's listener: every event, before its callback, on the loop."""
        state = None if event.state is None else SessionState(event.state)
        logged = LoggedEvent(event.time, target, spec.com, spec.callback, values, event.seq, state)
        if spec.callback == "on_termination" and isinstance(target, MsgrSession):
            self.endings[target] = values
        for wait in list(self.waits):
            wait.offer(logged)
        for stream in list(self.streams):
            stream._offer(logged)

    def settle(self) -> None:
        """After each delivery: conditions are checked again, and if the connection has
        closed every wait fails."""
        for wait in list(self.waits):
            wait.delivered()
        connection = self.connection() if self.connection is not None else None
        if connection is None or connection.closed:
            self.close_all()

    def close_all(self) -> None:
        if self.closed:
            return
        self.closed = True
        for wait in list(self.waits):
            wait.settle(_Failed(ConnectionClosedError("the msgr connection closed while this waited")))
        for stream in list(self.streams):
            stream._end()


class _Wait:
    """One registered wait: a future on the loop, settled by ``offer`` (an event) or
    ``delivered`` (after a delivery), or failed when the connection closes."""

    def __init__(self, hub: _Hub, what: str, missing: str) -> None:
        self._hub = hub
        #: What it waits for, and what its time-out says.
        self._what = what
        self._missing = missing
        self._future: asyncio.Future[Any] = hub.loop.create_future()
        if hub.closed:
            self._future.set_result(_Failed(ConnectionClosedError("the msgr connection is closed")))
        else:
            hub.waits.append(self)

    def offer(self, event: LoggedEvent) -> None:
        """An event was delivered (before its callback runs)."""

    def delivered(self) -> None:
        """A delivery of events finished."""

    def settle(self, outcome: Any) -> None:
        if not self._future.done():
            self._future.set_result(outcome)
        if self in self._hub.waits:
            self._hub.waits.remove(self)

    def done(self) -> bool:
        """Whether the outcome is known (the event came, the wait failed or was withdrawn)."""
        return self._future.done()

    def cancel(self) -> None:
        """Withdraws the wait; awaiting it then raises ``asyncio.CancelledError``."""
        self.settle(_Failed(asyncio.CancelledError(f"the wait for {self._what} was withdrawn")))

    async def _outcome(self, timeout: float | None) -> Any:
        try:
            async with asyncio.timeout(timeout):
                # Shielded: a time-out or a cancellation withdraws the wait below,
                # rather than leaving a cancelled future behind.
                outcome = await asyncio.shield(self._future)
        except TimeoutError:
            self.settle(_Failed(TimeoutError(f"{self._missing} within {timeout:g} s")))
        except asyncio.CancelledError:
            self.cancel()
            raise
        outcome = self._future.result()
        if isinstance(outcome, _Failed):
            raise outcome.exc
        return outcome


class _Filter:
    """Which events a wait or stream wants: from ``source`` (None: any object of the
    connection), with one of ``names`` (None: any), for which ``where`` is true."""

    def __init__(self, client: AsyncMessenger, source: Any, name: str | Iterable[str] | None, where: Callable[[LoggedEvent], object] | None) -> None:
        if source is not None:
            client._own(source)
        if where is not None and not callable(where):
            raise TypeError(f"where must be callable, not {type(where).__name__}")
        names: frozenset[str] | None = None
        if name is not None:
            given = [name] if isinstance(name, str) else list(name)
            if not given or not all(isinstance(n, str) for n in given):
                raise InvalidArgError(f"name must be an event name or several, not {name!r}")
            unknown = [n for n in given if n not in _EVENT_NAMES]
            if unknown:
                raise InvalidArgError(f"no msgr event is called {unknown[0]!r}")
            names = frozenset(_EVENT_NAMES[n].callback for n in given)
            if source is not None:
                fired: frozenset[str] = getattr(type(source), "_callbacks", frozenset())
                foreign = sorted(names - fired)
                if foreign:
                    raise InvalidArgError(f"{type(source).__name__} never fires {foreign[0]}; its events are: {', '.join(sorted(fired))}")
        self.source = source
        self.names = names
        self.where = where
        parts = [f"{' or '.join(sorted(names)) if names else 'an event'}"]
        if source is not None:
            parts.append(f"of {_describe(source)}")
        if where is not None:
            parts.append("matching where")
        self.what = " ".join(parts)

    def matches(self, event: LoggedEvent) -> bool:
        if self.source is not None and event.source is not self.source:
            return False
        if self.names is not None and event.callback not in self.names:
            return False
        return self.where is None or bool(self.where(event))


class EventWaiter(_Wait):
    """A wait for one event, registered when ``AsyncMessenger.next_event`` made it:
    ``await`` it for the ``msgr.LoggedEvent``. An event delivered between its making
    and the ``await`` counts, so make it before starting what causes the event when
    that start awaits (``await client.invite(...)``).

    The time-out counts from the ``await`` and raises ``TimeoutError``; the wait is
    withdrawn then (as when the awaiting task is cancelled, or by ``cancel()``). A
    ``where`` that raises fails the wait with its exception. When the connection
    closes the wait raises ``ConnectionClosedError``."""

    def __init__(self, client: AsyncMessenger, filter: _Filter, timeout: float | None) -> None:
        super().__init__(client._hub, filter.what, f"no {filter.what} came")
        self._filter = filter
        self._timeout = timeout

    def offer(self, event: LoggedEvent) -> None:
        if self._future.done():
            return
        try:
            if not self._filter.matches(event):
                return
        except Exception as exc:  # noqa: BLE001 - the caller's where raised: that is the outcome
            self.settle(_Failed(exc))
            return
        self.settle(event)

    def __await__(self) -> Generator[Any, None, LoggedEvent]:
        return self._outcome(self._timeout).__await__()

    def __repr__(self) -> str:
        return f"<msgr.aio.EventWaiter for {self._what} {'done' if self.done() else 'pending'}>"


class _Condition(_Wait):
    """``wait_for``: a predicate checked after every delivery."""

    def __init__(self, hub: _Hub, predicate: Callable[[], Any], missing: str) -> None:
        super().__init__(hub, "a condition", missing)
        self._predicate = predicate

    def delivered(self) -> None:
        if self._future.done():
            return
        try:
            result = self._predicate()
        except Exception as exc:  # noqa: BLE001 - raised out of wait_for
            self.settle(_Failed(exc))
            return
        if result:
            self.settle(result)


class EventStream(AsyncIterator[LoggedEvent]):
    """Every matching event from its making on, in order: ``async for event in
    client.events(...)``. Nothing is dropped (the queue is unbounded). Iteration ends
    when the stream is closed (``close()``, or leaving ``async with stream``) or the
    connection closes, once the events queued before are taken. A ``where`` that raises
    ends the stream with its exception."""

    def __init__(self, client: AsyncMessenger, filter: _Filter) -> None:
        self._hub = client._hub
        self._filter = filter
        self._queue: asyncio.Queue[LoggedEvent | _Failed | None] = asyncio.Queue()
        self._ended = False
        if self._hub.closed:
            self._end()
        else:
            self._hub.streams.append(self)

    def _offer(self, event: LoggedEvent) -> None:
        try:
            if not self._filter.matches(event):
                return
        except Exception as exc:  # noqa: BLE001 - the caller's where raised: it ends the stream
            self._queue.put_nowait(_Failed(exc))
            self._end()
            return
        self._queue.put_nowait(event)

    def _end(self) -> None:
        if self._ended:
            return
        self._ended = True
        self._queue.put_nowait(None)
        if self in self._hub.streams:
            self._hub.streams.remove(self)

    def close(self) -> None:
        """Stops collecting events; what was collected can still be iterated."""
        self._end()

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> LoggedEvent:
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # stays ended for the next __anext__
            raise StopAsyncIteration
        if isinstance(item, _Failed):
            raise item.exc
        return item

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<msgr.aio.EventStream of {self._filter.what} {'ended' if self._ended else 'open'}>"


# --------------------------------------------------------------------------- the client


class AsyncMessenger:
    """A Messenger signed in over the network, for asyncio: made by ``await
    msgr.aio.connect(...)`` (or ``async with msgr.aio.connect(...) as client``), bound to
    the loop that made it.

    ``messenger`` is the regular ``msgr.Messenger`` (its objects are the regular API,
    with their callbacks run on the loop); the methods here are what waits:
    ``sign_in``, ``invite``, ``unlock``, ``wait_connected``, ``set_status``,
    ``set_friendly_name``, ``set_personal_message``, ``next_event``, ``events``,
    ``wait_for`` and ``aclose``. Every ``timeout`` defaults to the one given to
    ``connect()``; ``None`` means no time limit."""

    def __init__(self, messenger: Messenger, hub: _Hub, timeout: float) -> None:
        connection = messenger.service
        if not isinstance(connection, net.Connection) or connection._handoff is None:
            raise TypeError("AsyncMessenger is made by msgr.aio.connect()")
        self._messenger = messenger
        self._connection = connection
        self._hub = hub
        self._timeout = timeout
        self._closing: asyncio.Task[None] | None = None
        hub.connection = weakref.ref(connection)
        connection._dispatch.listeners.append(hub.listen)

    # ---- what it is --------------------------------------------------------------------

    @property
    def messenger(self) -> Messenger:
        """The regular ``msgr.Messenger``: the whole synchronous API."""
        return self._messenger

    @property
    def connection(self) -> net.Connection:
        """The ``msgr.net.Connection`` (``trace``, ``address``, ``closed``)."""
        return self._connection

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop the callbacks run on (the one ``connect()`` ran on)."""
        return self._hub.loop

    @property
    def timeout(self) -> float:
        """The default time-out of the waits, in seconds (``connect(timeout=...)``)."""
        return self._timeout

    @property
    def closed(self) -> bool:
        """True once the connection is closed, by ``close()`` or by the server."""
        return self._connection.closed

    @property
    def sign_in_name(self) -> str:
        """The signed-in user's e-mail address."""
        return self._messenger.sign_in_name

    def session_manager(self) -> MsgrSessionManager:
        """``messenger.session_manager()``: a new, separately locked session manager."""
        return self._messenger.session_manager()

    def messenger_priv(self) -> MessengerPriv:
        """``messenger.messenger_priv()``: a new, separately locked ``MessengerPriv``."""
        return self._messenger.messenger_priv()

    # ---- blocking calls, off the loop --------------------------------------------------

    async def sign_in(self, password: str | None = None) -> None:
        """``Messenger.sign_in`` off the loop: signs in (again), waiting for the server's
        verdict at most the connection's timeout. The events it caused have been
        delivered when it returns."""
        self._on_loop()
        await asyncio.to_thread(self._messenger.sign_in, password)
        self._hub.deliver_now()

    async def invite(self, session: MsgrSession, user: str | Contact, app_data: str | None = None) -> None:
        """``MsgrSession.invite`` off the loop: returns once the invitation is sent
        (raising as the regular call does), with the events it caused delivered. The
        answer comes later: ``await wait_connected(session)``."""
        self._on_loop()
        self._own(session)
        await asyncio.to_thread(session.invite, user, app_data)
        self._hub.deliver_now()

    # ---- the user's own presence --------------------------------------------------------

    async def _answered(self, ask: Callable[[], None], callback: str, what: str, timeout: Timeout) -> LoggedEvent:
        """Asks (``ask``), then waits for the service's answer (the event ``callback`` of
        the Messenger); a refusal raises the exception of its HRESULT."""
        self._on_loop()
        waiter = self.next_event(self._messenger, callback, timeout=timeout)
        ask()
        event = await waiter
        hr = event.args[0]
        if hr != HResult.S_OK:
            name = getattr(hr, "name", hex(hr))
            raise error_for(hr)(f"the service refused {what}: {name}")
        return event

    async def set_status(self, status: Status | str, *, timeout: Timeout = CONNECTION_TIMEOUT) -> Status:
        """``Messenger.set_status``, then waits for the service's answer
        (``on_my_status_change``) and returns the new status; a refusal raises its
        exception (``InvalidArgError``...), no answer in ``timeout`` ``TimeoutError``."""
        event = await self._answered(lambda: self._messenger.set_status(status), "on_my_status_change", f"the status {status}", timeout)
        return Status(event.args[1])

    async def set_friendly_name(self, name: str, *, timeout: Timeout = CONNECTION_TIMEOUT) -> None:
        """``Messenger.set_friendly_name``, then waits for the service's answer
        (``on_my_friendly_name_change``); a refusal raises its exception."""
        await self._answered(lambda: self._messenger.set_friendly_name(name), "on_my_friendly_name_change", "the friendly name", timeout)

    async def set_personal_message(self, text: str, *, timeout: Timeout = CONNECTION_TIMEOUT) -> None:
        """``Messenger.set_personal_message`` (MSNP11+), then waits for the service's
        answer (``on_my_personal_message_change``); a refusal raises its exception."""
        await self._answered(lambda: self._messenger.set_personal_message(text), "on_my_personal_message_change", "the personal message", timeout)

    async def aclose(self) -> None:
        """Signs out and closes the connection, off the loop. Idempotent, and safe to
        call from several tasks (they all wait for the one closing); a cancelled
        ``aclose`` still closes. The events received until then are delivered (on the
        loop) before it returns; every wait still pending then raises
        ``ConnectionClosedError``."""
        self._on_loop()
        if self._closing is None:
            self._closing = self.loop.create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        try:
            await asyncio.to_thread(self._connection.close)
        finally:
            self._hub.deliver_now()
            self._hub.close_all()

    async def __aenter__(self) -> AsyncMessenger:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    # ---- waiting for events ------------------------------------------------------------

    def next_event(
        self,
        source: Any = None,
        name: str | Iterable[str] | None = None,
        *,
        where: Callable[[LoggedEvent], object] | None = None,
        timeout: Timeout = CONNECTION_TIMEOUT,
    ) -> EventWaiter:
        """The next event of this connection fired on ``source`` (an object of this
        Messenger, or the Messenger; None: any), named ``name`` (a callback or COM name,
        ``"on_accepted"`` or ``"OnAccepted"``, or several; None: any) and for which
        ``where(event)`` is true, as an awaitable ``EventWaiter``:
        ``event = await client.next_event(manager, "on_lock_result", timeout=5)``.

        The wait starts now, not at the ``await``: made before an ``await`` that causes
        the event, it still gets it. ``timeout`` counts from the ``await``; when it runs
        out, ``TimeoutError``. A name ``source`` never fires, an unknown name or an
        object of another connection raise ``InvalidArgError`` at once."""
        self._on_loop_thread()
        return EventWaiter(self, _Filter(self, source, name, where), self._seconds(timeout))

    def events(
        self,
        source: Any = None,
        name: str | Iterable[str] | None = None,
        *,
        where: Callable[[LoggedEvent], object] | None = None,
    ) -> EventStream:
        """Every matching event from now on (the same filters as ``next_event``), as an
        async iterator: ``async for event in client.events(manager, "on_invitation"):``.
        It ends when closed (``stream.close()``, ``async with``) or when the connection
        closes."""
        self._on_loop_thread()
        return EventStream(self, _Filter(self, source, name, where))

    async def wait_for(self, predicate: Callable[[], _T], timeout: Timeout = CONNECTION_TIMEOUT) -> _T:
        """Waits until ``predicate()`` is true and returns its value; the asyncio form of
        ``Messenger.wait_for``. It is checked now and after every delivery of this
        connection's events (on the loop; no polling), so it should depend on what
        events change (states, what callbacks record). A state read from the core may
        be ahead of the events delivered: once the predicate is true, the events queued
        then are delivered before it returns. Raises ``TimeoutError`` after ``timeout``
        seconds, or what the predicate raises."""
        self._on_loop()
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, not {type(predicate).__name__}")
        seconds = self._seconds(timeout)
        result = predicate()
        if not result:
            result = await _Condition(self._hub, predicate, "the condition did not become true")._outcome(seconds)
        # The predicate reads the core's state, which may be ahead of the events
        # delivered so far: deliver what is queued, so the callbacks have seen it too.
        self._hub.deliver_now()
        return result

    # ---- flows -------------------------------------------------------------------------

    async def unlock(self, lock: MsgrLock, app_id: str, key: str, cookie: int = 1, *, timeout: Timeout = CONNECTION_TIMEOUT) -> None:
        """Unlocks ``lock`` (a session manager or ``MessengerPriv`` of this Messenger)
        with the Lock and Key pair ``app_id``/``key``: requests a challenge with
        ``cookie``, answers it with ``msgr.lock_response(challenge, key)`` and waits for
        the verdict. Returns at once if ``lock`` is unlocked already. The object's own
        callbacks still see every event.

        Raises what ``request_challenge`` raises (``ApiPendingUnlockError``...),
        ``ApiUnlockFailedError`` if the service refused the pair (or the transaction
        timed out on the service), ``ApiNotInitializedError`` if signed out meanwhile,
        and ``TimeoutError`` after ``timeout`` seconds in all."""
        self._on_loop()
        self._own(lock)
        if not isinstance(lock, MsgrLock):
            raise InvalidArgError(f"only a session manager or MessengerPriv unlocks, not {type(lock).__name__}")
        app_id, key = _args.text(app_id, "app_id"), _args.text(key, "key")
        cookie = _args.long(cookie, "cookie")
        seconds = self._seconds(timeout)
        if lock.status is LockStatus.UNLOCKED:
            return
        pending = LockStatus.PENDINGRESULT

        def challenge_or_end(event: LoggedEvent) -> bool:
            if event.callback == "on_lock_challenge":
                return bool(event.args[0] == cookie)
            return event.args[0] is not pending

        try:
            async with asyncio.timeout(seconds):
                lock.request_challenge(cookie)
                # Registered after the call: nothing is delivered until this coroutine
                # awaits, so the challenge cannot have come yet.
                event = await self.next_event(lock, ("on_lock_challenge", "on_lock_status_changed"), where=challenge_or_end, timeout=None)
                if event.callback == "on_lock_challenge":
                    lock.send_response(app_id, lock_response(event.args[1], key), cookie)
                    # The verdict's last event: when it is delivered, every callback of
                    # the transaction has run.
                    event = await self.next_event(lock, "on_lock_status_changed", where=lambda e: e.args[0] is not pending, timeout=None)
        except TimeoutError:
            raise TimeoutError(f"the unlock of {_describe(lock)} did not finish within {seconds:g} s") from None
        status: LockStatus = event.args[0]
        if status is LockStatus.UNLOCKED:
            return
        failure: type[MsgrError] = {
            LockStatus.UNLOCKFAILED: ApiUnlockFailedError,
            LockStatus.NOTINITIALIZED: ApiNotInitializedError,
            LockStatus.DISABLED: ApiDisabledError,
        }.get(status, MsgrError)
        raise failure(f"the unlock of {_describe(lock)} with {app_id} ended {status.name}")

    async def wait_connected(self, session: MsgrSession, *, timeout: Timeout = CONNECTION_TIMEOUT) -> None:
        """Waits until ``session`` is ``CONNECTED`` (both sides: the inviter after
        ``invite``, the invitee after ``accept``). If it ends instead, raises the error
        of its ``on_termination`` HRESULT (``InvitationDeclinedError``,
        ``SessionCancelledRemoteError``, ``AppNotRegisteredError``...), the peer's
        app data in the message; ``TimeoutError`` after ``timeout`` seconds."""
        self._on_loop()
        self._own(session)
        if not isinstance(session, MsgrSession):
            raise InvalidArgError(f"wait_connected takes a MsgrSession, not {type(session).__name__}")

        def decided() -> SessionState | None:
            state = session.state
            return state if state is SessionState.CONNECTED or state in _ENDED else None

        state = await self.wait_for(decided, timeout)
        assert state is not None  # wait_for returns a true value
        if state is SessionState.CONNECTED:
            return
        # wait_for delivered the events up to this state: on_termination among them.
        hr, app_data = self._hub.endings.get(session, (None, None))
        cls: type[MsgrError] = SessionError
        if isinstance(hr, int) and hr & 0x80000000:
            cls = error_for(hr)
        reason = hr.name if isinstance(hr, HResult) else hr
        raise cls(f"the session ended {state.name} ({reason}), app data {app_data!r}")

    # ---- helpers -----------------------------------------------------------------------

    def _seconds(self, timeout: Timeout) -> float | None:
        if timeout is CONNECTION_TIMEOUT:
            return self._timeout
        if timeout is None:
            return None
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise InvalidArgError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        return float(timeout)

    def _own(self, obj: Any) -> None:
        """Refuses an object of another Messenger: its events would never come here."""
        owner = obj if isinstance(obj, Messenger) else getattr(obj, "messenger", None)
        if not isinstance(owner, Messenger):
            raise InvalidArgError(f"{_describe(obj)} is not a msgr object")
        if owner is not self._messenger:
            raise InvalidArgError(f"{_describe(obj)} belongs to {owner.sign_in_name}, not to this connection ({self.sign_in_name})")

    def _on_loop_thread(self) -> None:
        if threading.get_ident() != self._hub.thread:
            raise RuntimeError("an AsyncMessenger is used on the thread of its event loop only")

    def _on_loop(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not self._hub.loop:
            raise RuntimeError("an AsyncMessenger is awaited on the event loop that connected it only")

    def __repr__(self) -> str:
        state = "closed" if self.closed else self._messenger.state
        host, port = self._connection.address
        return f"<msgr.aio.AsyncMessenger {self.sign_in_name} {host}:{port} {state}>"


# --------------------------------------------------------------------------- connect


class Connecting:
    """What ``connect()`` returns: ``await`` it for the signed-in ``AsyncMessenger``, or
    use it in ``async with`` (which closes the client at the end)."""

    def __init__(self, address: tuple[str, int] | str, email: str, password: str, timeout: float, options: dict[str, Any]) -> None:
        self._arguments = (address, email, password, timeout)
        # The rest of ``msgr.connect``'s keywords, checked by ``net._open``.
        self._options = options
        self._client: AsyncMessenger | None = None

    async def _connect(self) -> AsyncMessenger:
        address, email, password, timeout = self._arguments
        hub = _Hub(asyncio.get_running_loop())
        messenger = net._open(address, email, password, timeout=timeout, handoff=hub.handoff(), **self._options)
        client = AsyncMessenger(messenger, hub, float(timeout))
        try:
            await client.sign_in()
        except BaseException:
            # Closing ends a sign-in still waiting off the loop, even when cancelled.
            await asyncio.shield(client.aclose())
            raise
        return client

    def __await__(self) -> Generator[Any, None, AsyncMessenger]:
        return self._connect().__await__()

    async def __aenter__(self) -> AsyncMessenger:
        if self._client is not None:
            raise RuntimeError("this connect() is already in use; call connect() again")
        self._client = await self._connect()
        return self._client

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._client is not None:
            await self._client.aclose()


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
) -> Connecting:
    """``msgr.connect`` for asyncio: ``client = await msgr.aio.connect(address, email,
    password)`` signs in without blocking the loop and returns an ``AsyncMessenger``;
    ``async with msgr.aio.connect(...) as client:`` also closes it at the end.

    The arguments are ``msgr.connect``'s: ``address`` is ``(host, port)`` or
    ``"host:port"``; the service's refusal raises as there
    (``AuthenticationFailedError``...), no answer within ``timeout`` seconds raises
    ``TimeoutError``; ``timeout`` also bounds each later ``sign_in`` and ``invite`` and
    is the default time-out of the client's waits. ``lock_and_key``/``keys`` (who runs
    Lock and Key) and ``protocols``/``nexus``/``nexus_ca`` (the dialects to offer, and
    the Passport nexus MSNP8+ signs in through) are also ``msgr.connect``'s. Must be
    awaited on the loop the client will use; its callbacks run there."""
    options = dict(
        local_ip=local_ip,
        trace_limit=trace_limit,
        lock_and_key=lock_and_key,
        keys=keys,
        protocols=protocols,
        nexus=nexus,
        nexus_ca=nexus_ca,
    )
    return Connecting(address, email, password, timeout, options)
