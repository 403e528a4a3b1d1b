"""The events of the API: core name -> callback attribute, COM name, argument types.

One table, used by the dispatcher (to call callbacks and answer the events with an
``[in, out]`` parameter), by objects (to refuse a misspelt ``on_*`` attribute), by the
event log and by the test kits. At import it is checked against the core's own
catalogue (``_core.event_catalogue()``): the same names, the same arities.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from . import _core
from .enums import HResult, LockStatus, SessionState


def _same(target: Any, *args: Any) -> tuple[Any, ...]:
    return args


@dataclass(frozen=True)
class EventSpec:
    core: str
    callback: str
    com: str
    #: (target, *core args) -> the callback's arguments
    convert: Callable[..., tuple[Any, ...]] = _same
    #: (target, callback result) -> None, for events whose answer the core waits for
    reply: Callable[[Any, Any], None] | None = None


# Enum members by value: calling the enum class costs more than the rest of an event.
_HRESULTS: dict[int, HResult] = {m.value: m for m in HResult}
_LOCK_STATUSES: dict[int, LockStatus] = {m.value: m for m in LockStatus}
_SESSION_STATES: dict[int, SessionState] = {m.value: m for m in SessionState}


def _hresult(code: int) -> int:
    member = _HRESULTS.get(code)
    if member is not None:
        return member
    try:
        return HResult(code)
    except ValueError:
        return code


def _lock_status(target: Any, value: int) -> tuple[Any, ...]:
    member = _LOCK_STATUSES.get(value)
    return (LockStatus(value) if member is None else member,)


def _invitation(target: Any, session: int, app_data: str | None) -> tuple[Any, ...]:
    return (target.messenger._session(session, hold=True), app_data)


def _state(target: Any, prev: int) -> tuple[Any, ...]:
    member = _SESSION_STATES.get(prev)
    return (SessionState(prev) if member is None else member,)


def _termination(target: Any, hr: int, app_data: str | None) -> tuple[Any, ...]:
    return (_hresult(hr), app_data)


def _sign_in_failed(target: Any, hr: int, message: str) -> tuple[Any, ...]:
    return (_hresult(hr), message)


def _send_error(target: Any, hr: int) -> tuple[Any, ...]:
    return (_hresult(hr),)


_CoreContact = tuple[str, str | None, str | None, str | None, list[str]]
_CoreGroup = tuple[str, str]


def _contact_list_add(target: Any, hr: int, contact: _CoreContact | None) -> tuple[Any, ...]:
    from .contact import Contact

    return (_hresult(hr), None if contact is None else Contact(*contact))


def _my_status(target: Any, hr: int, status: str) -> tuple[Any, ...]:
    from .status import Status

    return (_hresult(hr), Status.of(status))


def _my_change(target: Any, hr: int, previous: str) -> tuple[Any, ...]:
    return (_hresult(hr), previous)


def _contact_status(target: Any, contact: _CoreContact, previous: str) -> tuple[Any, ...]:
    from .contact import Contact
    from .status import Status

    return (Contact(*contact), Status.of(previous))


def _contact_changed(target: Any, contact: _CoreContact) -> tuple[Any, ...]:
    from .contact import Contact

    return (Contact(*contact),)


def _group_changed(target: Any, hr: int, group: _CoreGroup | None) -> tuple[Any, ...]:
    from .group import Group

    return (_hresult(hr), None if group is None else Group(*group))


def _member_changed(target: Any, hr: int, group: _CoreGroup, contact: _CoreContact) -> tuple[Any, ...]:
    from .contact import Contact
    from .group import Group

    return (_hresult(hr), Group(*group), Contact(*contact))


def _ended(session: Any, result: Any) -> None:
    # After OnTermination nothing more happens to a session: the app may let it go.
    session.messenger._session_ended(session)


def _launch_reply(session: Any, result: Any) -> None:
    # [in, out] pfEnableDefault comes in TRUE; only an explicit False stops the launch.
    session._launch(result is not False)


def _specs(*specs: EventSpec) -> dict[str, EventSpec]:
    return {s.core: s for s in specs}


LOCK_EVENTS = _specs(
    EventSpec("lock_enable", "on_lock_enable", "OnLockEnable"),
    EventSpec("lock_challenge", "on_lock_challenge", "OnLockChallenge"),
    EventSpec("lock_result", "on_lock_result", "OnLockResult"),
    EventSpec("lock_status_changed", "on_lock_status_changed", "OnLockStatusChanged", _lock_status),
)

MANAGER_EVENTS = _specs(
    EventSpec("invitation", "on_invitation", "OnInvitation", _invitation),
    EventSpec("app_registered", "on_app_registered", "OnAppRegistered"),
    EventSpec("app_unregistered", "on_app_unregistered", "OnAppUnRegistered"),
    EventSpec("app_shutdown", "on_app_shutdown", "OnAppShutdown"),
)

SESSION_EVENTS = _specs(
    EventSpec("state_changed", "on_state_changed", "OnStateChanged", _state),
    EventSpec("app_not_present", "on_app_not_present", "OnAppNotPresent"),
    EventSpec("accepted", "on_accepted", "OnAccepted"),
    EventSpec("declined", "on_declined", "OnDeclined"),
    EventSpec("cancelled", "on_cancelled", "OnCancelled"),
    EventSpec("termination", "on_termination", "OnTermination", _termination, reply=_ended),
    EventSpec("ready_to_launch", "on_ready_to_launch", "OnReadyToLaunch"),
    EventSpec("context_data", "on_context_data", "OnContextData"),
    EventSpec("send_error", "on_send_error", "OnSendError", _send_error),
    EventSpec("before_app_launch", "before_app_launch", "BeforeAppLaunch", reply=_launch_reply),
)

PRIV_EVENTS = _specs(
    EventSpec("contact_list_add", "on_contact_list_add", "OnContactListAdd", _contact_list_add),
    EventSpec("alert_received", "on_alert_received", "OnAlertReceived"),
)

MESSENGER_EVENTS = _specs(
    EventSpec("signed_in", "on_signed_in", "OnSignin"),
    EventSpec("signed_out", "on_signed_out", "OnSignout"),
    EventSpec("sign_in_failed", "on_sign_in_failed", "OnSigninFailed", _sign_in_failed),
    EventSpec("text_received", "on_text_received", "OnTextReceived"),
    EventSpec("my_status_change", "on_my_status_change", "OnMyStatusChange", _my_status),
    EventSpec("my_friendly_name_change", "on_my_friendly_name_change", "OnMyFriendlyNameChange", _my_change),
    EventSpec("my_personal_message_change", "on_my_personal_message_change", "OnMyPersonalMessageChange", _my_change),
    EventSpec("contact_status_change", "on_contact_status_change", "OnContactStatusChange", _contact_status),
    EventSpec("contact_personal_message_change", "on_contact_personal_message_change", "OnContactPersonalMessageChange", _contact_changed),
    EventSpec("group_added", "on_group_added", "OnGroupAdded", _group_changed),
    EventSpec("group_removed", "on_group_removed", "OnGroupRemoved", _group_changed),
    EventSpec("group_name_changed", "on_group_name_changed", "OnGroupNameChanged", _group_changed),
    EventSpec("contact_added_to_group", "on_contact_added_to_group", "OnContactAddedToGroup", _member_changed),
    EventSpec("contact_removed_from_group", "on_contact_removed_from_group", "OnContactRemovedFromGroup", _member_changed),
)

ALL_EVENTS = {**LOCK_EVENTS, **MANAGER_EVENTS, **SESSION_EVENTS, **PRIV_EVENTS, **MESSENGER_EVENTS}


def _arity(spec: EventSpec) -> int | None:
    """How many core arguments ``spec.convert`` takes (None: any number)."""
    params = list(inspect.signature(spec.convert).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    return len(params)


def _check_catalogue() -> dict[str, int]:
    core = dict(_core.event_catalogue())
    missing, extra = sorted(core.keys() - ALL_EVENTS.keys()), sorted(ALL_EVENTS.keys() - core.keys())
    if missing or extra:
        raise ImportError(f"msgr._events is out of step with the core: missing {missing}, unknown {extra}")
    for name, spec in ALL_EVENTS.items():
        arity = _arity(spec)
        if arity is not None and arity != core[name]:
            raise ImportError(f"msgr._events: {name} converts {arity} arguments, the core sends {core[name]}")
    return core


#: Event name -> number of arguments the core sends with it.
ARITY = _check_catalogue()


class UnknownEventError(RuntimeError):
    """The core delivered an event this package does not know: a build mismatch."""
