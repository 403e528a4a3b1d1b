"""Run-to-completion delivery of core events to Python callbacks.

A public call runs its core operation, then delivers every event the core queued, in
FIFO order, before it returns. A callback may call back into the API: that nested call
only queues its events, which the outer delivery loop fires after the ones before them,
so no callback ever sees half-updated state. A callback's exception does not stop the
delivery (the state changes behind later events have happened already); once every
event is delivered the first exception propagates, with a note naming its event.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, NamedTuple, Protocol

from ._callback import callback_of
from ._events import ALL_EVENTS, ARITY, EventSpec, UnknownEventError, _same


class CoreEvent(NamedTuple):
    """An event as the core hands it over. ``seq`` is shared with the wire trace, so a
    reader can tell which line caused it; ``time`` is the driver's clock when it
    happened (virtual in embedded mode); ``state`` is its session's state then (events
    are delivered after the call that caused them, when it may have moved on)."""

    seq: int
    time: float
    messenger: int
    obj: int | None
    name: str
    args: tuple[Any, ...]
    #: The state (a ``SessionState`` value) of the event's session when it fired.
    state: int | None = None


class _Journal(Protocol):
    def take_events(self) -> list[tuple[Any, ...]]: ...


class Dispatcher:
    def __init__(self, journal: _Journal, resolve: Callable[[int, int | None], Any]) -> None:
        self._journal = journal
        self._resolve = resolve
        self._lock = threading.Lock()
        self._delivering = False
        #: Called with (target, spec, callback arguments, the core's event) for every
        #: event, before its callback.
        self.listeners: list[Callable[[Any, Any, tuple[Any, ...], CoreEvent], None]] = []
        #: Run before every API call (outside any core call); see ``_Backend``.
        self.housekeeping: Callable[[], None] = lambda: None

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs a core call, then delivers what it caused (unless already delivering).
        A failing call still delivers the events it caused before its error propagates."""
        self.housekeeping()
        try:
            result = fn(*args)
        except BaseException as failure:
            try:
                self.deliver()
            except Exception as callback_error:  # noqa: BLE001 - attached to the failure
                failure.add_note(f"msgr: a callback also raised while this call's events were delivered: {callback_error!r}")
                failure.__context__ = callback_error
            raise
        self.deliver()
        return result

    def deliver(self) -> None:
        lock = self._lock
        with lock:
            if self._delivering:
                return
            self._delivering = True
        errors: list[BaseException] = []
        take, fire, make = self._journal.take_events, self._fire, tuple.__new__
        try:
            while True:
                # Taking the batch and clearing the flag happen under one lock, so an
                # event queued by another thread is never left behind.
                with lock:
                    batch = take()
                    if not batch:
                        self._delivering = False
                        break
                for raw in batch:
                    # The core's tuple has CoreEvent's fields in order: made without the
                    # NamedTuple's Python-level constructor, which costs more than the rest.
                    fire(make(CoreEvent, raw), errors)
        except BaseException:
            with lock:
                self._delivering = False
            raise
        if errors:
            first = errors[0]
            for other in errors[1:]:
                first.add_note(f"msgr: another callback also raised {type(other).__name__}: {other}")
            raise first

    def _fire(self, event: CoreEvent, errors: list[BaseException]) -> None:
        name, args = event.name, event.args
        entry = _FIRING.get(name)
        if entry is None or len(args) != entry[1]:
            raise UnknownEventError(f"the core sent {name}{args!r}, which msgr._events does not describe")
        target = self._resolve(event.messenger, event.obj)
        if target is None:
            return
        spec = entry[0]
        values = args if entry[2] else spec.convert(target, *args)
        if self.listeners:
            for listener in list(self.listeners):
                listener(target, spec, values, event)
        callback = callback_of(target, spec.callback)
        result = None
        if callback is not None:
            try:
                result = callback(*values)
            except Exception as exc:  # noqa: BLE001 - re-raised after delivery
                exc.add_note(f"msgr: raised by {spec.callback} ({spec.com}) of {target!r}")
                errors.append(exc)
        if spec.reply is not None:
            # The core waits for this answer; a callback that raised leaves the default.
            spec.reply(target, result)


#: Core event name -> (spec, the number of arguments the core sends, whether they reach
#: the callback as they are), looked up once per event.
_FIRING: dict[str, tuple[EventSpec, int, bool]] = {
    name: (spec, ARITY[name], spec.convert is _same) for name, spec in ALL_EVENTS.items()
}
