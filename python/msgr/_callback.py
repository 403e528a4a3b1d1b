"""Callback attributes: the Python stand-in for advising a COM event sink."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar, overload

_F = TypeVar("_F", bound=Callable[..., object])


class Callback(Generic[_F]):
    """An ``on_*`` attribute: None until the app assigns a function, which the event then
    calls. A descriptor rather than a plain attribute so that each callback carries its
    own documentation (``help()`` shows it). A non-callable is refused when assigned, not
    when the event fires: the objects' ``__setattr__`` checks it (``check``).

    At run time it is a non-data descriptor, so an assigned function sits in the
    instance's ``__dict__`` and is read from there as fast as any attribute: events look
    their callbacks up on every delivery. Type checkers see the setter."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Callback[_F]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _F | None: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        # Reached only while the instance has none of its own.
        return obj.__dict__.get(self._name)

    if TYPE_CHECKING:

        def __set__(self, obj: object, value: _F | None) -> None: ...

        def __delete__(self, obj: object) -> None: ...

    def __repr__(self) -> str:
        return f"<callback {self._name}>"


def check(name: str, value: object) -> None:
    """What assigning ``value`` to the callback ``name`` requires."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, not {type(value).__name__}")


#: (class, callback name) -> whether the class's attribute is a plain ``Callback`` (an
#: unassigned one is None) rather than, say, a method a subclass defines.
_PLAIN: dict[tuple[type, str], bool] = {}


def callback_of(target: Any, name: str) -> Any:
    """``getattr(target, name, None)`` for a callback attribute, without a Python-level
    descriptor call whether it is assigned or not."""
    try:
        found = target.__dict__.get(name)
    except AttributeError:
        return getattr(target, name, None)
    if found is not None:
        return found
    key = (type(target), name)
    plain = _PLAIN.get(key)
    if plain is None:
        plain = _PLAIN[key] = isinstance(inspect.getattr_static(type(target), name, None), Callback)
    return None if plain else getattr(target, name, None)
