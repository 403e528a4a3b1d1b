"""Callback attributes: the Python stand-in for advising a COM event sink."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

_F = TypeVar("_F", bound=Callable[..., object])


class Callback(Generic[_F]):
    """An ``on_*`` attribute: None until the app assigns a function, which the event then
    calls. A descriptor rather than a plain attribute so that each callback carries its
    own documentation (``help()`` shows it) and a non-callable is refused when assigned,
    not when the event fires."""

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
        return obj.__dict__.get(self._name)

    def __set__(self, obj: object, value: _F | None) -> None:
        if value is not None and not callable(value):
            raise TypeError(f"{self._name} must be callable or None, not {type(value).__name__}")
        obj.__dict__[self._name] = value

    def __delete__(self, obj: object) -> None:
        obj.__dict__.pop(self._name, None)

    def __repr__(self) -> str:
        return f"<callback {self._name}>"
