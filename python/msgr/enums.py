"""The API's enumerations, built from the Rust core so the numbers live in one place."""

from __future__ import annotations

import enum

from . import _core

__all__ = ["HResult", "LockStatus", "SessionState", "SessionFlags"]

#: Every HRESULT of the catalogue, under its original name (``HResult.SR_INVITED_SELF``).
HResult = enum.IntEnum(  # type: ignore[misc]
    "HResult",
    [(name, code) for name, code, *_ in _core.hresult_catalogue()],
    module=__name__,
)
HResult.__doc__ = "Every HRESULT the Msgrpriv APIs use, as unsigned 32-bit values."

#: ``LockStatus`` (members without the ``LOCK_`` prefix; there is no 0).
LockStatus = enum.IntEnum(  # type: ignore[misc]
    "LockStatus",
    [(name.removeprefix("LOCK_"), value) for name, value in _core.lock_statuses()],
    module=__name__,
)
LockStatus.__doc__ = "IMsgrLock::Status: where an object's Lock and Key stands."

#: ``SESSION_STATE`` (members without the ``SS_`` prefix).
SessionState = enum.IntEnum(  # type: ignore[misc]
    "SessionState",
    [(name.removeprefix("SS_"), value) for name, value in _core.session_states()],
    module=__name__,
)
SessionState.__doc__ = "IMsgrSession::State. FALLBACK_INVITER/INVITEE are type-library extras, never entered."

#: ``SESSION_FLAGS`` bits (``NONE`` is the empty flag).
SessionFlags = enum.IntFlag(  # type: ignore[misc]
    "SessionFlags",
    [(name.removeprefix("SF_"), value) for name, value in _core.session_flags()],
    module=__name__,
)
SessionFlags.__doc__ = "IMsgrSession::Flags: which side holds the session object."
