"""The exception hierarchy (design §3 and its appendix): one class per failure HRESULT."""

from __future__ import annotations

import pytest

import msgr
import msgr.errors

# The design appendix, verbatim: (HRESULT name, value, class name, direct base).
APPENDIX = [
    ("E_FAIL", 0x80004005, "FailError", "MsgrError"),
    ("E_INVALIDARG", 0x80070057, "InvalidArgError", "MsgrError"),
    ("E_OUTOFMEMORY", 0x8007000E, "OutOfMemoryError", "MsgrError"),
    ("E_POINTER", 0x80004003, "PointerError", "MsgrError"),
    ("E_NOTIMPL", 0x80004001, "NotImplError", "MsgrError"),
    ("REGDB_E_WRITEREGDB", 0x80040151, "WriteRegDbError", "MsgrError"),
    ("MSGR_E_NOT_LOGGED_ON", 0x8100031E, "NotLoggedOnError", "MsgrError"),
    ("MSGR_E_API_NOTINITIALIZED", 0x81000751, "ApiNotInitializedError", "LockError"),
    ("MSGR_E_API_LOCKED", 0x81000752, "ApiLockedError", "LockError"),
    ("MSGR_E_API_UNLOCK_FAILED", 0x81000753, "ApiUnlockFailedError", "LockError"),
    ("MSGR_E_API_ALREADY_UNLOCKED", 0x81000754, "ApiAlreadyUnlockedError", "LockError"),
    ("MSGR_E_API_PENDING_UNLOCK", 0x81000755, "ApiPendingUnlockError", "LockError"),
    ("MSGR_E_API_DISABLED", 0x81000756, "ApiDisabledError", "LockError"),
    ("SR_APPLICATION_LAUNCH_FAILED", 0x81000601, "ApplicationLaunchFailedError", "SessionError"),
    ("SR_INVITATION_DECLINED", 0x81000602, "InvitationDeclinedError", "SessionError"),
    ("SR_CONNECTION_FAILURE", 0x81000603, "ConnectionFailureError", "SessionError"),
    ("SR_AUTHENTICATION_FAILED", 0x81000604, "AuthenticationFailedError", "SessionError"),
    ("SR_SESSION_NOT_READY", 0x81000605, "SessionNotReadyError", "SessionError"),
    ("SR_SESSION_CANCELLED_LOCAL", 0x81000606, "SessionCancelledLocalError", "SessionError"),
    ("SR_SESSION_CANCELLED_REMOTE", 0x81000607, "SessionCancelledRemoteError", "SessionError"),
    ("SR_SESSION_PROTOCOL_ERROR", 0x81000608, "SessionProtocolError", "SessionError"),
    ("SR_SESSION_TIMEOUT", 0x81000609, "SessionTimeoutError", "SessionError"),
    ("SR_CANCEL_BEFORE_CONNECT", 0x8100060A, "CancelBeforeConnectError", "SessionError"),
    ("SR_NOT_INVITEE", 0x8100060B, "NotInviteeError", "SessionError"),
    ("SR_NOT_INVITER", 0x8100060C, "NotInviterError", "SessionError"),
    ("SR_APP_ALREADY_REGISTERED", 0x8100060D, "AppAlreadyRegisteredError", "SessionError"),
    ("SR_APP_NOT_REGISTERED", 0x8100060E, "AppNotRegisteredError", "SessionError"),
    ("SR_NOT_VALID_FOR_APP_INVITE", 0x8100060F, "NotValidForAppInviteError", "SessionError"),
    ("SR_APP_NOT_SPECIFIED", 0x81000610, "AppNotSpecifiedError", "SessionError"),
    ("SR_CONTEXT_DATA_OVER_LIMIT", 0x81000611, "ContextDataOverLimitError", "SessionError"),
    ("SR_NO_USER_INVITED", 0x81000612, "NoUserInvitedError", "SessionError"),
    ("SR_INVITED_SELF", 0x81000613, "InvitedSelfError", "SessionError"),
    ("SR_SESSION_STATE_INVALID", 0x81000614, "SessionStateInvalidError", "SessionError"),
    ("SR_INVITATION_SEND_FAILURE", 0x81000615, "InvitationSendFailureError", "SessionError"),
    ("SR_CANCEL_SEND_FAILURE", 0x81000616, "CancelSendFailureError", "SessionError"),
    ("SR_DECLINE_SEND_FAILURE", 0x81000617, "DeclineSendFailureError", "SessionError"),
    ("SR_ACCEPT_SEND_FAILURE", 0x81000618, "AcceptSendFailureError", "SessionError"),
    ("SR_CONTEXT_DATA_SEND_FAILURE", 0x81000619, "ContextDataSendFailureError", "SessionError"),
    ("SR_NETWORK_CONFIG_FAILURE", 0x81000620, "NetworkConfigFailureError", "SessionError"),
    ("SR_NET_NOT_SUPPORTED", 0x81000621, "NetNotSupportedError", "SessionError"),
    ("SR_REMOTE_NET_NOT_SUPPORTED", 0x81000622, "RemoteNetNotSupportedError", "SessionError"),
    ("SR_FIREWALL_NOT_SUPPORTED", 0x81000623, "FirewallNotSupportedError", "SessionError"),
    ("SR_OLD_SIP_STACK", 0x81000624, "OldSipStackError", "SessionError"),
]

IDS = [row[0] for row in APPENDIX]


def to_signed(code: int) -> int:
    return code - (1 << 32) if code & 0x80000000 else code


# ----------------------------------------------------------------- the three bases


def test_base_classes_exist_in_both_modules() -> None:
    for name in ("MsgrError", "LockError", "SessionError"):
        assert getattr(msgr, name) is getattr(msgr.errors, name)
        assert name in msgr.__all__
        assert name in msgr.errors.__all__


def test_base_hierarchy() -> None:
    assert msgr.MsgrError.__bases__ == (Exception,)
    assert msgr.LockError.__bases__ == (msgr.MsgrError,)
    assert msgr.SessionError.__bases__ == (msgr.MsgrError,)
    assert not issubclass(msgr.LockError, msgr.SessionError)
    assert not issubclass(msgr.SessionError, msgr.LockError)


def test_error_for_is_exported() -> None:
    assert msgr.error_for is msgr.errors.error_for
    assert "error_for" in msgr.__all__


# ----------------------------------------------------------------- one class per code


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_class_is_exported_from_msgr_and_msgr_errors(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    cls = getattr(msgr.errors, class_name)
    assert getattr(msgr, class_name) is cls
    assert class_name in msgr.errors.__all__
    assert class_name in msgr.__all__
    assert cls.__name__ == class_name


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_direct_base(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    cls = getattr(msgr, class_name)
    base = getattr(msgr, base_name)
    if class_name == "InvalidArgError":
        assert cls.__bases__ == (msgr.MsgrError, ValueError)
        assert issubclass(cls, ValueError)
    elif class_name == "ConnectionFailureError":
        # Also what `except ConnectionError:` catches, as Python's own socket errors.
        assert cls.__bases__ == (base, ConnectionError)
        assert issubclass(cls, OSError)
    else:
        assert cls.__bases__ == (base,)
        assert not issubclass(cls, ValueError)
    assert issubclass(cls, msgr.MsgrError)
    assert issubclass(cls, Exception)
    # The group base follows the prefix.
    assert issubclass(cls, msgr.LockError) == hr_name.startswith("MSGR_E_API_")
    assert issubclass(cls, msgr.SessionError) == hr_name.startswith("SR_")


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_class_attributes_match_hresult(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    cls = getattr(msgr, class_name)
    assert cls.hresult == value
    assert cls.name == hr_name
    assert msgr.HResult[hr_name] == value
    assert cls.hresult == msgr.HResult[hr_name]
    assert cls.name == msgr.HResult(value).name
    assert type(cls.hresult) in (int, msgr.HResult)


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_instances_carry_hresult_and_name(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    cls = getattr(msgr, class_name)
    exc = cls("something went wrong")
    assert exc.hresult == value
    assert exc.name == hr_name
    assert str(exc) == "something went wrong"
    assert isinstance(exc, msgr.MsgrError)
    # With no message the exception still says something.
    bare = cls()
    assert bare.hresult == value
    assert bare.name == hr_name
    assert str(bare) != ""
    with pytest.raises(cls) as info:
        raise exc
    assert info.value is exc


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_error_for_unsigned_and_signed(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    cls = getattr(msgr, class_name)
    assert msgr.error_for(value) is cls
    assert msgr.error_for(to_signed(value)) is cls
    assert msgr.error_for(msgr.HResult[hr_name]) is cls


@pytest.mark.parametrize(("hr_name", "value", "class_name", "base_name"), APPENDIX, ids=IDS)
def test_from_core_builds_the_typed_exception(hr_name: str, value: int, class_name: str, base_name: str) -> None:
    exc = msgr.errors._from_core(value, f"{hr_name}: detail")
    assert type(exc) is getattr(msgr, class_name)
    assert exc.hresult == value
    assert exc.name == hr_name
    assert str(exc) == f"{hr_name}: detail"


def test_every_failure_code_has_exactly_one_class() -> None:
    failures = {hr.name for hr in msgr.HResult if hr & 0x80000000}
    assert failures == {row[0] for row in APPENDIX}
    classes = [getattr(msgr, row[2]) for row in APPENDIX]
    assert len(set(classes)) == len(APPENDIX)


# ----------------------------------------------------------------- legacy, unknown and success codes


def test_legacy_invalidarg_maps_to_invalid_arg_error() -> None:
    assert msgr.error_for(0x80000003) is msgr.InvalidArgError
    assert msgr.error_for(to_signed(0x80000003)) is msgr.InvalidArgError
    assert msgr.error_for(-2147483645) is msgr.InvalidArgError


def test_legacy_outofmemory_maps_to_out_of_memory_error() -> None:
    assert msgr.error_for(0x80000002) is msgr.OutOfMemoryError
    assert msgr.error_for(to_signed(0x80000002)) is msgr.OutOfMemoryError
    assert msgr.error_for(-2147483646) is msgr.OutOfMemoryError


def test_legacy_codes_through_from_core() -> None:
    exc = msgr.errors._from_core(0x80000003, "legacy")
    assert type(exc) is msgr.InvalidArgError
    assert exc.hresult == 0x80070057
    assert exc.name == "E_INVALIDARG"
    exc = msgr.errors._from_core(0x80000002, "legacy")
    assert type(exc) is msgr.OutOfMemoryError
    assert exc.hresult == 0x8007000E


@pytest.mark.parametrize(
    "code",
    [0x8100061A, 0x8100061F, 0x80004002, 0x8100031F, 0x81000757, 0xFFFFFFFF],
    ids=lambda c: f"0x{c:08X}",
)
def test_unknown_failure_code(code: int) -> None:
    assert msgr.error_for(code) is msgr.MsgrError
    assert msgr.error_for(to_signed(code)) is msgr.MsgrError
    exc = msgr.errors._from_core(code, "a peer sent something odd")
    assert type(exc) is msgr.MsgrError
    assert exc.hresult == code
    assert str(exc) == "a peer sent something odd"
    # The class attribute keeps the E_FAIL default: only the instance carries the odd code.
    assert msgr.MsgrError.hresult == 0x80004005


def test_unknown_failure_code_from_signed_form_through_from_core() -> None:
    exc = msgr.errors._from_core(to_signed(0x8100061A), "signed")
    assert type(exc) is msgr.MsgrError
    assert exc.hresult == 0x8100061A


@pytest.mark.parametrize("code", [0, 1, 0x00000002, 0x7FFFFFFF, msgr.HResult.S_OK, msgr.HResult.S_FALSE])
def test_success_codes_are_not_errors(code: int) -> None:
    with pytest.raises(ValueError) as info:
        msgr.error_for(code)
    assert not isinstance(info.value, msgr.MsgrError)


def test_invalid_arg_error_is_caught_as_value_error() -> None:
    with pytest.raises(ValueError):
        raise msgr.InvalidArgError("bad")
    with pytest.raises(msgr.MsgrError):
        raise msgr.InvalidArgError("bad")


def test_lock_errors_are_caught_by_group() -> None:
    for row in APPENDIX:
        cls = getattr(msgr, row[2])
        group = getattr(msgr, row[3])
        with pytest.raises(group):
            raise cls("x")
