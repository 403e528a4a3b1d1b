"""Typed exceptions: one class per failure HRESULT of the Msgrpriv APIs.

The codes live once, in the Rust catalogue (``msgr._core.hresult_catalogue()``); this
module declares the classes (so editors and type checkers see them) and binds each to
its code at import. A class missing here, or a code without a class, fails the import.
"""

from __future__ import annotations

from typing import ClassVar

from . import _core

__all__ = [
    "MsgrError",
    "LockError",
    "SessionError",
    "error_for",
    "FailError",
    "InvalidArgError",
    "OutOfMemoryError",
    "PointerError",
    "NotImplError",
    "WriteRegDbError",
    "NotLoggedOnError",
    "ApiNotInitializedError",
    "ApiLockedError",
    "ApiUnlockFailedError",
    "ApiAlreadyUnlockedError",
    "ApiPendingUnlockError",
    "ApiDisabledError",
    "ApplicationLaunchFailedError",
    "InvitationDeclinedError",
    "ConnectionFailureError",
    "AuthenticationFailedError",
    "SessionNotReadyError",
    "SessionCancelledLocalError",
    "SessionCancelledRemoteError",
    "SessionProtocolError",
    "SessionTimeoutError",
    "CancelBeforeConnectError",
    "NotInviteeError",
    "NotInviterError",
    "AppAlreadyRegisteredError",
    "AppNotRegisteredError",
    "NotValidForAppInviteError",
    "AppNotSpecifiedError",
    "ContextDataOverLimitError",
    "NoUserInvitedError",
    "InvitedSelfError",
    "SessionStateInvalidError",
    "InvitationSendFailureError",
    "CancelSendFailureError",
    "DeclineSendFailureError",
    "AcceptSendFailureError",
    "ContextDataSendFailureError",
    "NetworkConfigFailureError",
    "NetNotSupportedError",
    "RemoteNetNotSupportedError",
    "FirewallNotSupportedError",
    "OldSipStackError",
    "InvalidArgTypeError",
    "ConnectionTimeoutError",
    "WireError",
]


class MsgrError(Exception):
    """Base of every msgr error. ``hresult`` is the unsigned 32-bit code, ``name`` the
    original constant name (``"SR_INVITED_SELF"``); both are class attributes too."""

    hresult: ClassVar[int] = 0x80004005
    name: ClassVar[str] = "E_FAIL"

    def __init__(self, message: str | None = None, *, hresult: int | None = None) -> None:
        super().__init__(message if message is not None else self.__doc__ or self.name)
        if hresult is not None:
            # Only for codes outside the catalogue (a peer may send anything).
            self.hresult = hresult & 0xFFFFFFFF  # type: ignore[misc]
            self.name = f"0x{self.hresult:08X}"  # type: ignore[misc]

    @property
    def signed(self) -> int:
        """The HRESULT as COM's signed ``long``."""
        return self.hresult - (1 << 32) if self.hresult & 0x80000000 else self.hresult


class LockError(MsgrError):
    """Lock and Key failures (``MSGR_E_API_*``)."""


class SessionError(MsgrError):
    """Session Invite failures (``SR_*``)."""


class FailError(MsgrError):
    """``E_FAIL`` (0x80004005): unspecified failure."""


class InvalidArgError(MsgrError, ValueError):
    """``E_INVALIDARG`` (0x80070057): invalid argument."""


class OutOfMemoryError(MsgrError):
    """``E_OUTOFMEMORY`` (0x8007000E): out of memory, or a value too long."""


class PointerError(MsgrError):
    """``E_POINTER`` (0x80004003): null pointer."""


class NotImplError(MsgrError):
    """``E_NOTIMPL`` (0x80004001): not implemented."""


class WriteRegDbError(MsgrError):
    """``REGDB_E_WRITEREGDB`` (0x80040151): could not write the registration."""


class NotLoggedOnError(MsgrError):
    """``MSGR_E_NOT_LOGGED_ON`` (0x8100031E): not signed in, or the invited user is not signed in."""


class ApiNotInitializedError(LockError):
    """``MSGR_E_API_NOTINITIALIZED`` (0x81000751): Lock and Key is not initialized yet (no OnLockEnable)."""


class ApiLockedError(LockError):
    """``MSGR_E_API_LOCKED`` (0x81000752): the API is locked."""


class ApiUnlockFailedError(LockError):
    """``MSGR_E_API_UNLOCK_FAILED`` (0x81000753): the unlock attempt failed."""


class ApiAlreadyUnlockedError(LockError):
    """``MSGR_E_API_ALREADY_UNLOCKED`` (0x81000754): already unlocked."""


class ApiPendingUnlockError(LockError):
    """``MSGR_E_API_PENDING_UNLOCK`` (0x81000755): a challenge transaction is pending."""


class ApiDisabledError(LockError):
    """``MSGR_E_API_DISABLED`` (0x81000756): Lock and Key is disabled: the API is unusable."""


class ApplicationLaunchFailedError(SessionError):
    """``SR_APPLICATION_LAUNCH_FAILED`` (0x81000601): the application failed to start."""


class InvitationDeclinedError(SessionError):
    """``SR_INVITATION_DECLINED`` (0x81000602): the recipient declined."""


class ConnectionFailureError(SessionError, ConnectionError):
    """``SR_CONNECTION_FAILURE`` (0x81000603): connection failure. Also a
    ``ConnectionError`` (so an ``OSError``), as Python code expects of a refused or
    lost connection; the system's error, when there was one, is its ``__cause__``."""


class AuthenticationFailedError(SessionError):
    """``SR_AUTHENTICATION_FAILED`` (0x81000604): authentication failed."""


class SessionNotReadyError(SessionError):
    """``SR_SESSION_NOT_READY`` (0x81000605): the session is not ready."""


class SessionCancelledLocalError(SessionError):
    """``SR_SESSION_CANCELLED_LOCAL`` (0x81000606): cancelled locally."""


class SessionCancelledRemoteError(SessionError):
    """``SR_SESSION_CANCELLED_REMOTE`` (0x81000607): cancelled by the remote side."""


class SessionProtocolError(SessionError):
    """``SR_SESSION_PROTOCOL_ERROR`` (0x81000608): protocol error."""


class SessionTimeoutError(SessionError):
    """``SR_SESSION_TIMEOUT`` (0x81000609): the session timed out."""


class CancelBeforeConnectError(SessionError):
    """``SR_CANCEL_BEFORE_CONNECT`` (0x8100060A): cancelled before the connection was made."""


class NotInviteeError(SessionError):
    """``SR_NOT_INVITEE`` (0x8100060B): the caller is not the invitee."""


class NotInviterError(SessionError):
    """``SR_NOT_INVITER`` (0x8100060C): the caller is not the inviter."""


class AppAlreadyRegisteredError(SessionError):
    """``SR_APP_ALREADY_REGISTERED`` (0x8100060D): the application GUID is already registered."""


class AppNotRegisteredError(SessionError):
    """``SR_APP_NOT_REGISTERED`` (0x8100060E): the application GUID is not registered."""


class NotValidForAppInviteError(SessionError):
    """``SR_NOT_VALID_FOR_APP_INVITE`` (0x8100060F): not valid for this application or session."""


class AppNotSpecifiedError(SessionError):
    """``SR_APP_NOT_SPECIFIED`` (0x81000610): no application is set on the session."""


class ContextDataOverLimitError(SessionError):
    """``SR_CONTEXT_DATA_OVER_LIMIT`` (0x81000611): context data over the limit."""


class NoUserInvitedError(SessionError):
    """``SR_NO_USER_INVITED`` (0x81000612): no user has been invited."""


class InvitedSelfError(SessionError):
    """``SR_INVITED_SELF`` (0x81000613): the inviter invited himself."""


class SessionStateInvalidError(SessionError):
    """``SR_SESSION_STATE_INVALID`` (0x81000614): not valid in the current session state."""


class InvitationSendFailureError(SessionError):
    """``SR_INVITATION_SEND_FAILURE`` (0x81000615): sending the invitation failed."""


class CancelSendFailureError(SessionError):
    """``SR_CANCEL_SEND_FAILURE`` (0x81000616): sending the cancel failed."""


class DeclineSendFailureError(SessionError):
    """``SR_DECLINE_SEND_FAILURE`` (0x81000617): sending the decline failed."""


class AcceptSendFailureError(SessionError):
    """``SR_ACCEPT_SEND_FAILURE`` (0x81000618): sending the accept failed."""


class ContextDataSendFailureError(SessionError):
    """``SR_CONTEXT_DATA_SEND_FAILURE`` (0x81000619): sending context data failed."""


class NetworkConfigFailureError(SessionError):
    """``SR_NETWORK_CONFIG_FAILURE`` (0x81000620): a network configuration operation failed."""


class NetNotSupportedError(SessionError):
    """``SR_NET_NOT_SUPPORTED`` (0x81000621): unsupported local network."""


class RemoteNetNotSupportedError(SessionError):
    """``SR_REMOTE_NET_NOT_SUPPORTED`` (0x81000622): unsupported remote network."""


class FirewallNotSupportedError(SessionError):
    """``SR_FIREWALL_NOT_SUPPORTED`` (0x81000623): unsupported firewall."""


class OldSipStackError(SessionError):
    """``SR_OLD_SIP_STACK`` (0x81000624): the SIP stack is out of date."""


class InvalidArgTypeError(InvalidArgError, TypeError):
    """``E_INVALIDARG`` for an argument of the wrong type: also a ``TypeError``, as
    Python code expects."""


class ConnectionTimeoutError(ConnectionFailureError, TimeoutError):
    """``SR_CONNECTION_FAILURE`` because the other end did not answer in time: also a
    ``TimeoutError``."""


class WireError(InvalidArgError):
    """``E_INVALIDARG`` for bytes that are not MSNP, or a command or payload that cannot
    be encoded (``msgr.testing.wire``). ``kind`` names the fault: ``line_too_long``,
    ``bad_command_name``, ``bad_payload_length``, ``payload_too_large``, ``not_utf8``,
    ``bad_parameter``, ``not_an_invitation``, ``bad_field``, ``missing_field``,
    ``incomplete``, ``trailing_data`` or ``bad_direction``."""

    def __init__(self, message: str | None = None, kind: str = "bad_parameter") -> None:
        super().__init__(message)
        self.kind = kind


#: Classes that refine another's code for Python's sake (they share its HRESULT).
_REFINEMENTS = (InvalidArgTypeError, ConnectionTimeoutError, WireError)

_BY_CODE: dict[int, type[MsgrError]] = {}
_LEGACY = {0x80000002: 0x8007000E, 0x80000003: 0x80070057}
_BASES = {"general": MsgrError, "lock": LockError, "session": SessionError}


def _bind() -> None:
    for name, code, class_name, group, _meaning in _core.hresult_catalogue():
        if not class_name:
            continue
        cls = globals()[class_name]
        if not issubclass(cls, _BASES[group]):
            raise TypeError(f"{class_name} must derive from {_BASES[group].__name__}")
        cls.hresult = code
        cls.name = name
        _BY_CODE[code] = cls
    unbound = [
        n for n, c in globals().items()
        if isinstance(c, type) and issubclass(c, MsgrError) and c not in _BASES.values()
        and c is not MsgrError and c not in _BY_CODE.values() and c not in _REFINEMENTS
    ]
    if unbound:
        raise TypeError(f"exception classes without a code: {unbound}")
    missing = {c.__name__ for c in (*_BY_CODE.values(), *_REFINEMENTS)} - set(__all__)
    if missing:
        raise TypeError(f"exception classes missing from __all__: {sorted(missing)}")


_bind()


def error_for(hresult: int) -> type[MsgrError]:
    """The exception class of a failure HRESULT (signed or unsigned; the legacy 16-bit
    ``E_INVALIDARG``/``E_OUTOFMEMORY`` values map to the Win32 ones). Codes outside the
    catalogue give ``MsgrError``; success codes are not errors and raise ``ValueError``."""
    if isinstance(hresult, bool) or not isinstance(hresult, int):
        raise TypeError(f"hresult must be an int (or an HResult), not {type(hresult).__name__}")
    code = int(hresult) & 0xFFFFFFFF
    code = _LEGACY.get(code, code)
    if not code & 0x80000000:
        raise ValueError(f"0x{code:08X} is a success code, not an error")
    return _BY_CODE.get(code, MsgrError)


def _from_core(hresult: int, message: str) -> MsgrError:
    """Called by the Rust bindings to build the exception for a core error."""
    cls = error_for(hresult)
    return MsgrError(message, hresult=hresult) if cls is MsgrError else cls(message)


def _wire(message: str, kind: str) -> WireError:
    """Called by the Rust bindings for a codec error (``kind`` as ``WireError`` lists)."""
    return WireError(message, kind)


def _timeout(message: str) -> ConnectionTimeoutError:
    """Called by the Rust bindings when the network did not answer in time."""
    return ConnectionTimeoutError(message)
