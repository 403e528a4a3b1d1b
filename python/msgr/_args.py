"""Checks of Python arguments, raising the HRESULT a COM caller would have got: a value
out of range is ``InvalidArgError`` (a ``ValueError``); a value of the wrong type is
``InvalidArgTypeError`` (``InvalidArgError`` and ``TypeError`` at once)."""

from __future__ import annotations

import errno
import math
import operator
import os
import re
import uuid
from typing import Any

from .errors import InvalidArgError, InvalidArgTypeError, PointerError

LONG_MIN, LONG_MAX = -(1 << 31), (1 << 31) - 1
U64_MAX = (1 << 64) - 1


def integer(value: Any, what: str, low: int, high: int, *, meaning: str = "") -> int:
    """An ``int`` (not a ``bool``) in ``low..=high``; ``meaning`` words the range."""
    if isinstance(value, bool):
        raise InvalidArgTypeError(f"{what} must be an int, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidArgTypeError(f"{what} must be an int, not {type(value).__name__}") from None
    if not low <= number <= high:
        raise InvalidArgError(f"{what} {number} {meaning or f'is not in {low}..{high}'}")
    return number


def long(value: Any, what: str) -> int:
    """A COM ``long``: a 32-bit signed integer."""
    if type(value) is int and LONG_MIN <= value <= LONG_MAX:
        return value
    return integer(value, what, LONG_MIN, LONG_MAX, meaning="does not fit a 32-bit long")


def flag(value: Any, what: str) -> bool:
    """A ``bool``."""
    if not isinstance(value, bool):
        raise InvalidArgTypeError(f"{what} must be True or False, not {type(value).__name__}")
    return value


def count(value: Any, what: str) -> int:
    """A number of things: an int from 0 up."""
    return integer(value, what, 0, (1 << 63) - 1, meaning="is not 0 or more")


def seed(value: Any) -> int | None:
    """A seed for the random numbers: None, or an int in 0..2**64-1."""
    return None if value is None else integer(value, "seed", 0, U64_MAX)


def port(value: Any, *, zero: bool) -> int:
    """A TCP port; 0 (pick a free one) only where ``zero`` allows it."""
    low = 0 if zero else 1
    return integer(value, "port", low, 65535)


def seconds(value: Any, what: str = "timeout") -> float:
    """A finite, non-negative number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgTypeError(f"{what} must be a number of seconds, not {type(value).__name__}")
    if not (math.isfinite(value) and value >= 0):
        raise InvalidArgError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def path(value: Any, what: str) -> str | None:
    """A file name: None, a ``str`` or an ``os.PathLike``."""
    if value is None:
        return None
    try:
        name = os.fspath(value)
    except TypeError:
        raise InvalidArgTypeError(f"{what} must be a path (str or os.PathLike), not {type(value).__name__}") from None
    if not isinstance(name, str):
        raise InvalidArgTypeError(f"{what} must be a text path, not {type(name).__name__}")
    return text(name, what)


def database(value: Any) -> str | None:
    """``db=``: a path whose folder exists and can be written to, or the ``OSError``
    (``FileNotFoundError``, ``NotADirectoryError``, ``PermissionError``) that says
    which, with the path, as ``open()`` would raise it."""
    name = path(value, "db")
    if name is None:
        return None
    folder = os.path.dirname(os.path.abspath(name))
    if not os.path.exists(folder):
        raise FileNotFoundError(errno.ENOENT, "No such folder for the database", name)
    if not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, "The database's folder is a file", name)
    if os.path.isdir(name):
        raise IsADirectoryError(errno.EISDIR, "The database is a folder, not a file", name)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "Cannot write in the database's folder", name)
    return name


def text(value: Any, what: str, *, null: type[Exception] = InvalidArgError) -> str:
    """A BSTR argument. ``None`` (a NULL BSTR) raises ``null``."""
    if value is None:
        raise null(f"{what} must not be None")
    if not isinstance(value, str):
        raise InvalidArgTypeError(f"{what} must be a str, not {type(value).__name__}")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate: no BSTR the wire could carry.
        raise InvalidArgError(f"{what} is not valid Unicode text: {exc.reason} at {exc.start}") from None
    return value


def optional_text(value: Any, what: str) -> str | None:
    return None if value is None else text(value, what)


def guid(value: Any, what: str) -> str:
    """A GUID as COM takes it, in any case, with or without braces, or a ``uuid.UUID``;
    given to the core in the canonical ``{XXXXXXXX-...}`` upper-case form. Text that is
    no GUID at all goes to the core as it is, which answers with the documented error."""
    if isinstance(value, uuid.UUID):
        return "{" + str(value).upper() + "}"
    given = text(value, what)
    bare = given[1:-1] if given.startswith("{") and given.endswith("}") else given
    return "{" + bare.upper() + "}" if _GUID.fullmatch(bare) else given


#: 8-4-4-4-12 hex digits (the braces around them are both there or neither).
_GUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")


__all__ = [
    "count",
    "flag",
    "guid",
    "integer",
    "long",
    "path",
    "port",
    "seconds",
    "seed",
    "text",
    "optional_text",
    "InvalidArgError",
    "InvalidArgTypeError",
    "PointerError",
]
