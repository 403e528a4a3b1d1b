"""Passwords as ``msgr serve`` keeps them where MSNP7 is not served: Argon2id hashes
(PHC strings), which a users file, ``$MSGR_USERS`` or ``add_user`` may hold in place of
the password, so that no file or environment holds a password a reader could use."""

from __future__ import annotations

from collections.abc import Iterable

from . import _core
from .errors import InvalidArgError, InvalidArgTypeError

__all__ = ["hash_password", "hash_users_lines"]


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (``$argon2id$v=19$m=7168,t=5,p=1$…``, freshly
    salted) that the server takes in place of it. ``InvalidArgError`` for what is not a
    password (empty, past 256 bytes, control characters) or is a hash already."""
    if not isinstance(password, str):
        raise InvalidArgTypeError(f"password must be a str, not {type(password).__name__}")
    return _core.hash_passwords([("password", password)])[0]


def hash_users_lines(lines: Iterable[str]) -> list[str]:
    """``EMAIL:PASSWORD`` lines (a users file) with each password replaced by its hash,
    hashed side by side; blank lines, ``#`` comments and lines that hold a hash already
    are kept as they are. A line that is none of these is ``InvalidArgError``, naming
    its number (never its password)."""
    out: list[str] = []
    todo: list[tuple[int, str, str]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        email, sep, password = line.strip().partition(":")
        if not line.strip() or email.startswith("#") or password.startswith("$argon2id$"):
            out.append(line)
            continue
        if not sep or not email or not password:
            raise InvalidArgError(f"line {number}: expected EMAIL:PASSWORD")
        todo.append((len(out), email, password))
        out.append("")
    hashes = _core.hash_passwords([(f"line {at + 1} ({email})", password) for at, email, password in todo])
    for (at, email, _), hashed in zip(todo, hashes):
        out[at] = f"{email}:{hashed}"
    return out
