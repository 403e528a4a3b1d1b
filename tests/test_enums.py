"""The API's enumerations with the exact values of the reference (msgrpriv.md §2, §5)."""

from __future__ import annotations

import enum

import pytest

import msgr

# msgrpriv.md §2.1, §2.5 and §5: (name, unsigned value, signed value as printed there).
HRESULTS = [
    ("S_OK", 0x00000000, 0),
    ("S_FALSE", 0x00000001, 1),
    ("E_FAIL", 0x80004005, -2147467259),
    ("E_INVALIDARG", 0x80070057, -2147024809),
    ("E_OUTOFMEMORY", 0x8007000E, -2147024882),
    ("E_POINTER", 0x80004003, -2147467261),
    ("E_NOTIMPL", 0x80004001, -2147467263),
    ("REGDB_E_WRITEREGDB", 0x80040151, -2147221167),
    ("MSGR_E_NOT_LOGGED_ON", 0x8100031E, -2130705634),
    ("MSGR_E_API_NOTINITIALIZED", 0x81000751, -2130704559),
    ("MSGR_E_API_LOCKED", 0x81000752, -2130704558),
    ("MSGR_E_API_UNLOCK_FAILED", 0x81000753, -2130704557),
    ("MSGR_E_API_ALREADY_UNLOCKED", 0x81000754, -2130704556),
    ("MSGR_E_API_PENDING_UNLOCK", 0x81000755, -2130704555),
    ("MSGR_E_API_DISABLED", 0x81000756, -2130704554),
    ("SR_APPLICATION_LAUNCH_FAILED", 0x81000601, -2130704895),
    ("SR_INVITATION_DECLINED", 0x81000602, -2130704894),
    ("SR_CONNECTION_FAILURE", 0x81000603, -2130704893),
    ("SR_AUTHENTICATION_FAILED", 0x81000604, -2130704892),
    ("SR_SESSION_NOT_READY", 0x81000605, -2130704891),
    ("SR_SESSION_CANCELLED_LOCAL", 0x81000606, -2130704890),
    ("SR_SESSION_CANCELLED_REMOTE", 0x81000607, -2130704889),
    ("SR_SESSION_PROTOCOL_ERROR", 0x81000608, -2130704888),
    ("SR_SESSION_TIMEOUT", 0x81000609, -2130704887),
    ("SR_CANCEL_BEFORE_CONNECT", 0x8100060A, -2130704886),
    ("SR_NOT_INVITEE", 0x8100060B, -2130704885),
    ("SR_NOT_INVITER", 0x8100060C, -2130704884),
    ("SR_APP_ALREADY_REGISTERED", 0x8100060D, -2130704883),
    ("SR_APP_NOT_REGISTERED", 0x8100060E, -2130704882),
    ("SR_NOT_VALID_FOR_APP_INVITE", 0x8100060F, -2130704881),
    ("SR_APP_NOT_SPECIFIED", 0x81000610, -2130704880),
    ("SR_CONTEXT_DATA_OVER_LIMIT", 0x81000611, -2130704879),
    ("SR_NO_USER_INVITED", 0x81000612, -2130704878),
    ("SR_INVITED_SELF", 0x81000613, -2130704877),
    ("SR_SESSION_STATE_INVALID", 0x81000614, -2130704876),
    ("SR_INVITATION_SEND_FAILURE", 0x81000615, -2130704875),
    ("SR_CANCEL_SEND_FAILURE", 0x81000616, -2130704874),
    ("SR_DECLINE_SEND_FAILURE", 0x81000617, -2130704873),
    ("SR_ACCEPT_SEND_FAILURE", 0x81000618, -2130704872),
    ("SR_CONTEXT_DATA_SEND_FAILURE", 0x81000619, -2130704871),
    ("SR_NETWORK_CONFIG_FAILURE", 0x81000620, -2130704864),
    ("SR_NET_NOT_SUPPORTED", 0x81000621, -2130704863),
    ("SR_REMOTE_NET_NOT_SUPPORTED", 0x81000622, -2130704862),
    ("SR_FIREWALL_NOT_SUPPORTED", 0x81000623, -2130704861),
    ("SR_OLD_SIP_STACK", 0x81000624, -2130704860),
]

LOCK_STATUS = [
    ("NOTINITIALIZED", 1),
    ("INITIALIZED", 2),
    ("PENDINGRESULT", 3),
    ("UNLOCKED", 4),
    ("UNLOCKFAILED", 5),
    ("DISABLED", 6),
]

SESSION_STATE = [
    ("UNKNOWN", 0),
    ("READY", 1),
    ("INVITATION", 2),
    ("ACCEPTED", 3),
    ("CONNECTED", 4),
    ("CANCELLED", 5),
    ("DECLINED", 6),
    ("TERMINATED", 7),
    ("FALLBACK_INVITER", 8),
    ("FALLBACK_INVITEE", 9),
]

SESSION_FLAGS = [("INVITER", 1), ("INVITEE", 2), ("APP_INVITE_COMPATIBLE", 4)]


# ----------------------------------------------------------------- HResult


def test_hresult_is_an_int_enum() -> None:
    assert issubclass(msgr.HResult, enum.IntEnum)


@pytest.mark.parametrize(("name", "value", "signed"), HRESULTS, ids=[r[0] for r in HRESULTS])
def test_hresult_member(name: str, value: int, signed: int) -> None:
    member = msgr.HResult[name]
    assert member.name == name
    assert member.value == value
    assert member == value
    assert msgr.HResult(value) is member
    # The reference's signed column is the same 32 bits read as a COM long.
    assert (signed & 0xFFFFFFFF) == value


def test_hresult_covers_the_reference_without_aliases() -> None:
    members = {m.name: m.value for m in msgr.HResult}
    assert members.items() >= {n: v for n, v, _ in HRESULTS}.items()
    # No two names share a value (an alias would hide a name from HResult(value)).
    assert len(msgr.HResult.__members__) == len(set(members.values()))


def test_hresult_failure_codes_have_facility_0x100_for_lock_and_session() -> None:
    for name, value, _ in HRESULTS:
        if name.startswith(("SR_", "MSGR_E_")):
            assert value >> 16 == 0x8100, name


def test_sr_unused_gap() -> None:
    # msgrpriv.md §2.5: 0x8100061A-0x8100061F are unused.
    for value in range(0x8100061A, 0x81000620):
        with pytest.raises(ValueError):
            msgr.HResult(value)


def test_legacy_codes_are_not_members() -> None:
    # The 16-bit OLE values are decoded (error_for) but never returned (reference C1).
    for value in (0x80000002, 0x80000003):
        with pytest.raises(ValueError):
            msgr.HResult(value)


# ----------------------------------------------------------------- LockStatus


def test_lock_status_is_an_int_enum() -> None:
    assert issubclass(msgr.LockStatus, enum.IntEnum)


def test_lock_status_exact_members() -> None:
    assert [(m.name, m.value) for m in msgr.LockStatus] == LOCK_STATUS


@pytest.mark.parametrize(("name", "value"), LOCK_STATUS)
def test_lock_status_member(name: str, value: int) -> None:
    assert msgr.LockStatus[name] == value
    assert msgr.LockStatus(value).name == name
    assert int(msgr.LockStatus[name]) == value


def test_lock_status_has_no_zero() -> None:
    for bad in (0, 7, -1):
        with pytest.raises(ValueError):
            msgr.LockStatus(bad)


def test_lock_status_members_have_no_prefix() -> None:
    assert not any(m.name.startswith("LOCK_") for m in msgr.LockStatus)


# ----------------------------------------------------------------- SessionState


def test_session_state_is_an_int_enum() -> None:
    assert issubclass(msgr.SessionState, enum.IntEnum)


def test_session_state_exact_members() -> None:
    assert [(m.name, m.value) for m in msgr.SessionState] == SESSION_STATE


@pytest.mark.parametrize(("name", "value"), SESSION_STATE)
def test_session_state_member(name: str, value: int) -> None:
    assert msgr.SessionState[name] == value
    assert msgr.SessionState(value).name == name


def test_session_state_out_of_range() -> None:
    for bad in (-1, 10):
        with pytest.raises(ValueError):
            msgr.SessionState(bad)


# ----------------------------------------------------------------- SessionFlags


def test_session_flags_is_an_int_flag() -> None:
    assert issubclass(msgr.SessionFlags, enum.IntFlag)


def test_session_flags_exact_members() -> None:
    assert [(m.name, m.value) for m in msgr.SessionFlags] == SESSION_FLAGS


@pytest.mark.parametrize(("name", "value"), [("NONE", 0), *SESSION_FLAGS])
def test_session_flags_member(name: str, value: int) -> None:
    assert msgr.SessionFlags[name] == value
    assert msgr.SessionFlags[name].value == value


def test_session_flags_none_is_empty() -> None:
    assert msgr.SessionFlags.NONE == 0
    assert not msgr.SessionFlags.NONE
    assert msgr.SessionFlags(0) is msgr.SessionFlags.NONE


def test_session_flags_combine() -> None:
    both = msgr.SessionFlags.INVITER | msgr.SessionFlags.APP_INVITE_COMPATIBLE
    assert both == 5
    assert msgr.SessionFlags.INVITER in both
    assert msgr.SessionFlags.INVITEE not in both
    assert msgr.SessionFlags(6) == msgr.SessionFlags.INVITEE | msgr.SessionFlags.APP_INVITE_COMPATIBLE


def test_enums_are_exported() -> None:
    for name in ("HResult", "LockStatus", "SessionState", "SessionFlags"):
        assert name in msgr.__all__
        assert getattr(msgr, name) is getattr(msgr.enums, name)
