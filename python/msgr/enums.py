"""The API's enumerations, built from the Rust core so the numbers live in one place."""

from __future__ import annotations

import enum

from . import _core

__all__ = ["HResult", "LockStatus", "SessionState", "SessionFlags"]


class _Named(enum.IntEnum):
    """An ``IntEnum`` that prints as ``LockStatus.UNLOCKED`` (``str``, ``print``, an
    empty format spec), as a plain ``Enum`` does; a numeric spec (``f"{hr:#x}"``) still
    formats the number, and it compares and computes as its value."""

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else int(self).__format__(spec)


class _NamedFlag(enum.IntFlag):
    """``SessionFlags`` printed as ``SessionFlags.INVITER`` (``A|B`` for several)."""

    def __str__(self) -> str:
        return enum.Flag.__str__(self)

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else int(self).__format__(spec)

#: Every HRESULT of the catalogue, under its original name (``HResult.SR_INVITED_SELF``).
HResult = _Named(  # type: ignore[misc]
    "HResult",
    [(name, code) for name, code, *_ in _core.hresult_catalogue()],
    module=__name__,
)
HResult.__doc__ = "Every HRESULT the Msgrpriv APIs use, as unsigned 32-bit values."

#: ``LockStatus`` (members without the ``LOCK_`` prefix; there is no 0).
LockStatus = _Named(  # type: ignore[misc]
    "LockStatus",
    [(name.removeprefix("LOCK_"), value) for name, value in _core.lock_statuses()],
    module=__name__,
)
LockStatus.__doc__ = "IMsgrLock::Status: where an object's Lock and Key stands."

#: ``SESSION_STATE`` (members without the ``SS_`` prefix).
SessionState = _Named(  # type: ignore[misc]
    "SessionState",
    [(name.removeprefix("SS_"), value) for name, value in _core.session_states()],
    module=__name__,
)
SessionState.__doc__ = "IMsgrSession::State. FALLBACK_INVITER/INVITEE are type-library extras, never entered."

#: ``SESSION_FLAGS`` bits (``NONE`` is the empty flag).
SessionFlags = _NamedFlag(  # type: ignore[misc]
    "SessionFlags",
    [(name.removeprefix("SF_"), value) for name, value in _core.session_flags()],
    module=__name__,
)
SessionFlags.__doc__ = "IMsgrSession::Flags: which side holds the session object."
