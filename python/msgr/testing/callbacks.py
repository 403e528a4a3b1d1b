"""The callback names of msgr's objects, taken from the package's own event table, and
``Recorder``: one ordered list of every callback of the objects it watches."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .._events import ALL_EVENTS, LOCK_EVENTS, MANAGER_EVENTS, MESSENGER_EVENTS, PRIV_EVENTS, SESSION_EVENTS, EventSpec

_T = TypeVar("_T")


def _callbacks(events: dict[str, EventSpec]) -> tuple[str, ...]:
    return tuple(spec.callback for spec in events.values())


#: The callback attributes of each interface, in COM's order (``IMsgrLock`` events).
LOCK_CALLBACKS = _callbacks(LOCK_EVENTS)
#: ``MsgrSessionManager``'s own events (it has ``LOCK_CALLBACKS`` too).
MANAGER_CALLBACKS = _callbacks(MANAGER_EVENTS)
#: ``MsgrSession``'s events.
SESSION_CALLBACKS = _callbacks(SESSION_EVENTS)
#: ``MessengerPriv``'s own events (it has ``LOCK_CALLBACKS`` too).
PRIV_CALLBACKS = _callbacks(PRIV_EVENTS)
#: ``Messenger``'s events.
MESSENGER_CALLBACKS = _callbacks(MESSENGER_EVENTS)


def callbacks_of(obj: object) -> tuple[str, ...]:
    """Every callback attribute ``obj`` fires, in COM's order: a session manager has
    ``LOCK_CALLBACKS + MANAGER_CALLBACKS``, a ``MessengerPriv``
    ``LOCK_CALLBACKS + PRIV_CALLBACKS``, a session ``SESSION_CALLBACKS`` and a
    ``Messenger`` ``MESSENGER_CALLBACKS``. ``TypeError`` for anything else."""
    fired: frozenset[str] = getattr(type(obj), "_callbacks", frozenset())
    names = tuple(spec.callback for spec in ALL_EVENTS.values() if spec.callback in fired)
    if not names:
        raise TypeError(f"{type(obj).__name__} fires no msgr callbacks")
    return names


class Recorder(list[tuple[Any, ...]]):
    """Records every callback of the objects it watches, in delivery order, as
    ``(tag, callback name, args)`` (or ``(callback name, args)`` when made with
    ``tagged=False``), so one recorder shows the global order of events across objects.

    It is the list of those entries: compare it with ``==``, index it, ``clear()`` it.
    It keeps the objects it watches alive, so a session nobody else holds still
    reports. ``react`` makes a watched callback do something after it is recorded (its
    return value is the callback's: ``before_app_launch`` uses that).

    >>> import msgr
    >>> from msgr.testing import Recorder
    >>> alice = msgr.Service(seed=1).sign_in("alice@example.com")
    >>> log = Recorder()
    >>> manager = log.watch(alice.session_manager(), "mgr")
    >>> alice.sign_out()
    >>> log.take()
    [('mgr', 'on_app_shutdown', ()), ('mgr', 'on_lock_status_changed', (<LockStatus.NOTINITIALIZED: 1>,))]
    """

    def __init__(self, *, tagged: bool = True) -> None:
        super().__init__()
        #: Whether entries start with the watched object's tag.
        self.tagged = tagged
        self._watched: dict[int, tuple[object, Any]] = {}
        self._reactions: dict[tuple[int, str], Callable[..., Any]] = {}

    # ---- watching

    def watch(self, obj: _T, tag: Any = None, names: Iterable[str] | None = None, *, invitee_tag: Any = None) -> _T:
        """Records the callbacks ``names`` of ``obj`` (by default ``callbacks_of(obj)``)
        under ``tag``, replacing whatever callbacks it had; returns ``obj``.

        With ``invitee_tag``, a watched manager's ``on_invitation`` also watches the
        session it delivers (from inside the callback, as an application would) under
        that tag, unless the session is watched already."""
        if names is None:
            names = callbacks_of(obj)
        self._watched[id(obj)] = (obj, tag)
        for name in names:
            setattr(obj, name, self._callback(obj, tag, name, invitee_tag))
        return obj

    def tag_of(self, obj: object) -> Any:
        """The tag ``obj`` is watched under (``None`` if it is not watched)."""
        watched = self._watched.get(id(obj))
        return None if watched is None else watched[1]

    def react(self, obj: object, name: str, fn: Callable[..., Any]) -> None:
        """From now on the recorded callback ``name`` of ``obj`` (a watched object)
        then runs ``fn(*args)`` and returns what it returns."""
        if id(obj) not in self._watched:
            raise ValueError(f"{obj!r} is not watched by this recorder")
        self._reactions[(id(obj), name)] = fn

    def _callback(self, obj: object, tag: Any, name: str, invitee_tag: Any) -> Callable[..., Any]:
        key = (id(obj), name)

        def callback(*args: Any) -> Any:
            self.append((tag, name, args) if self.tagged else (name, args))
            if invitee_tag is not None and name == "on_invitation" and id(args[0]) not in self._watched:
                self.watch(args[0], invitee_tag)
            reaction = self._reactions.get(key)
            return None if reaction is None else reaction(*args)

        return callback

    # ---- reading

    def take(self) -> list[tuple[Any, ...]]:
        """The entries so far, forgetting them."""
        out = list(self)
        self.clear()
        return out

    def names(self, tag: Any = None) -> list[str]:
        """The callback names in order, only those of ``tag`` if given."""
        return [entry[-2] for entry in self if tag is None or (self.tagged and entry[0] == tag)]

    def of(self, tag: Any) -> list[tuple[str, tuple[Any, ...]]]:
        """``(callback name, args)`` of the entries of ``tag``, in order."""
        if not self.tagged:
            raise ValueError("an untagged recorder has no tags")
        return [(name, args) for t, name, args in self if t == tag]


def record(obj: object, names: Iterable[str] | None = None) -> Recorder:
    """A new untagged ``Recorder`` of the callbacks ``names`` of ``obj`` (by default
    all of them): entries are ``(callback name, args)``."""
    recorder = Recorder(tagged=False)
    recorder.watch(obj, names=names)
    return recorder
