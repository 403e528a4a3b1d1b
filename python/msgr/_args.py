"""Checks of Python arguments, raising the HRESULT a COM caller would have got."""

from __future__ import annotations

import operator
from typing import Any

from .errors import InvalidArgError, PointerError

LONG_MIN, LONG_MAX = -(1 << 31), (1 << 31) - 1


def long(value: Any, what: str) -> int:
    """A COM ``long``: a 32-bit signed integer."""
    if isinstance(value, bool):
        raise InvalidArgError(f"{what} must be an int, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgError(f"{what} must be an int, not {type(value).__name__}") from None
    if not LONG_MIN <= number <= LONG_MAX:
        raise InvalidArgError(f"{what} {number} does not fit a 32-bit long")
    return number


def count(value: Any, what: str) -> int:
    """A number of things: an int from 0 up."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0 or value >= 1 << 63:
        raise InvalidArgError(f"{what} must be 0 or more, not {value}")
    return value


def text(value: Any, what: str, *, null: type[Exception] = InvalidArgError) -> str:
    """A BSTR argument. ``None`` (a NULL BSTR) raises ``null``."""
    if value is None:
        raise null(f"{what} must not be None")
    if not isinstance(value, str):
        raise InvalidArgError(f"{what} must be a str, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate: no BSTR the wire could carry.
        raise InvalidArgError(f"{what} is not valid Unicode text: {exc.reason} at {exc.start}") from None
    return value


def optional_text(value: Any, what: str) -> str | None:
    return None if value is None else text(value, what)


__all__ = ["count", "long", "text", "optional_text", "InvalidArgError", "PointerError"]
