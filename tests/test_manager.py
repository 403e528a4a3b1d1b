"""``MsgrSessionManager`` (msgrpriv.md §1.3, §3.3, §4.2; C17, C18, C30): its members
while locked, ``create_session``, ``get_launching_session``, application registration
with every documented limit at its bound and one past, the registration events, and
one registry per Messenger."""

from __future__ import annotations

import re
import string
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import msgr
from conftest import (
    ALICE,
    ALICE_BOB_CAROL,
    ALICE_PASSWORD,
    APP,
    APP_NAME,
    APP_PATH,
    APP_URL,
    BOB,
    BOB_PASSWORD,
    GUID,
    GUID_RE,
    S,
    UNREGISTERED_GUID,
    raises_exactly,
    session_pair,
)
from msgr.testing import Recorder, fail_unlock, new_service, pend, ready_manager

L = msgr.LockStatus


def alice_manager(lock_and_key: str = "enabled") -> tuple[msgr.Service, msgr.Messenger, msgr.MsgrSessionManager]:
    service = new_service(lock_and_key, users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    return service, alice, ready_manager(alice, guid=None)


def guid(i: int) -> str:
    return f"{{{i:08X}-0000-4000-8000-00000000ABCD}}"


# =========================================================================== C30: locked


def locked_manager(how: str) -> tuple[msgr.Messenger, msgr.MsgrSessionManager]:
    service = new_service("disabled" if how == "DISABLED" else "enabled", users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    if how == "NOTINITIALIZED":
        alice.sign_out()
    elif how == "PENDINGRESULT":
        pend(manager)
    elif how == "UNLOCKFAILED":
        fail_unlock(manager)
    assert manager.status is L[how]
    return alice, manager


LOCK_ERRORS = {
    "NOTINITIALIZED": msgr.ApiNotInitializedError,
    "INITIALIZED": msgr.ApiLockedError,
    "PENDINGRESULT": msgr.ApiLockedError,
    "UNLOCKFAILED": msgr.ApiLockedError,
    "DISABLED": msgr.ApiDisabledError,
}

MEMBERS: dict[str, Callable[[msgr.MsgrSessionManager], Any]] = {
    "create_session": lambda m: m.create_session(),
    "get_launching_session": lambda m: m.get_launching_session(4242),
    "register_application": lambda m: m.register_application(GUID, APP_NAME, APP_URL, APP_PATH, 0),
    "unregister_application": lambda m: m.unregister_application(GUID),
    "applications": lambda m: m.applications,
}


@pytest.mark.parametrize("member", list(MEMBERS))
@pytest.mark.parametrize("how", list(LOCK_ERRORS))
def test_members_fail_with_the_locks_error(how: str, member: str) -> None:
    alice, manager = locked_manager(how)
    log = Recorder()
    log.watch(manager, "mgr")
    with raises_exactly(LOCK_ERRORS[how]):
        MEMBERS[member](manager)
    assert log.take() == []
    assert manager.status is L[how]
    assert manager.registered_applications == []


@pytest.mark.parametrize("how", list(LOCK_ERRORS))
def test_registered_applications_is_not_locked(how: str) -> None:
    service = new_service("disabled" if how == "DISABLED" else "enabled", users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    if how != "DISABLED":
        ready_manager(alice, *APP, cookie=5)
    expected = [] if how == "DISABLED" else [(GUID, APP_NAME, APP_URL, APP_PATH)]
    manager = alice.session_manager()
    if how == "NOTINITIALIZED":
        alice.sign_out()
    elif how == "PENDINGRESULT":
        pend(manager)
    elif how == "UNLOCKFAILED":
        fail_unlock(manager)
    assert manager.status is L[how]
    assert manager.registered_applications == expected


def test_applications_is_not_implemented_once_unlocked() -> None:
    _, _, manager = alice_manager()
    with raises_exactly(msgr.NotImplError) as info:
        manager.applications
    # It says where the registrations are.
    assert "registered_applications" in str(info.value)


def test_unlocked_members_work_after_unlock() -> None:
    alice, manager = locked_manager("INITIALIZED")
    with raises_exactly(msgr.ApiLockedError):
        manager.create_session()
    unlocked = ready_manager(alice, guid=None, cookie=8)
    assert unlocked.create_session().state is S.READY
    with raises_exactly(msgr.ApiLockedError):
        manager.create_session()


def test_nothing_is_locked_on_another_service() -> None:
    service = new_service("off", users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    manager = alice.session_manager()
    assert manager.status is L.UNLOCKED
    manager.register_application(*APP)
    assert manager.create_session().state is S.READY


# =========================================================================== create_session


def test_create_session() -> None:
    _, alice, manager = alice_manager()
    s = manager.create_session()
    assert isinstance(s, msgr.MsgrSession)
    assert s.state is S.READY
    assert s.flags == msgr.SessionFlags.INVITER
    assert GUID_RE.fullmatch(s.session_id), s.session_id
    assert s.application is None
    assert s.messenger is alice


def test_every_session_is_new() -> None:
    _, _, manager = alice_manager()
    sessions = [manager.create_session() for _ in range(20)]
    assert len({id(s) for s in sessions}) == 20
    assert len({s.session_id for s in sessions}) == 20


def test_create_session_is_silent() -> None:
    _, _, manager = alice_manager()
    log = Recorder()
    log.watch(manager, "mgr")
    manager.create_session()
    assert log.take() == []


# =========================================================================== get_launching_session


@pytest.mark.parametrize("pid", [0, -1, -(2**31)])
def test_get_launching_session_bad_pid(pid: int) -> None:
    _, _, manager = alice_manager()
    with raises_exactly(msgr.InvalidArgError):
        manager.get_launching_session(pid)


@pytest.mark.parametrize("pid", [1, 4242, 40001, 2**31 - 1])
def test_get_launching_session_unknown_pid(pid: int) -> None:
    _, _, manager = alice_manager()
    with raises_exactly(msgr.FailError):
        manager.get_launching_session(pid)


def test_get_launching_session_is_per_machine() -> None:
    p = session_pair()
    p.bob.launcher = lambda session: 777
    sa, sb = p.invite()
    sb.accept()
    assert p.mb.get_launching_session(777) is sb
    # Alice's machine launched nothing.
    with raises_exactly(msgr.FailError):
        p.ma.get_launching_session(777)


def test_get_launching_session_of_a_refused_launch() -> None:
    p = session_pair()
    sa, sb = p.invite()
    p.log.react(sb, "before_app_launch", lambda: False)
    sb.accept()
    assert sb.launch_pid is None
    for pid in (1, 40000, 40001, 40002):
        with raises_exactly(msgr.FailError):
            p.mb.get_launching_session(pid)


def test_virtual_pids_are_distinct() -> None:
    p = session_pair()
    pids = []
    sessions = []
    for _ in range(3):
        sa, sb = p.invite()
        sb.accept()
        pids.append(sb.launch_pid)
        sessions.append(sb)
    assert len(set(pids)) == 3
    for pid, session in zip(pids, sessions):
        assert p.mb.get_launching_session(pid) is session


# =========================================================================== register_application


def test_register_and_list() -> None:
    _, _, manager = alice_manager()
    manager.register_application(GUID, APP_NAME, APP_URL, APP_PATH)
    assert manager.registered_applications == [(GUID, APP_NAME, APP_URL, APP_PATH)]
    manager.unregister_application(GUID)
    assert manager.registered_applications == []


def test_register_limits_at_their_bounds() -> None:
    _, _, manager = alice_manager()
    name, url, path = "n" * 256, "u" * 256, "/" + "p" * 259
    manager.register_application(GUID, name, url, path, 0)
    assert manager.registered_applications == [(GUID, name, url, path)]


@pytest.mark.parametrize(
    ("guid_", "name", "url", "path", "flags"),
    [
        pytest.param(GUID[:-1] + "f}", APP_NAME, APP_URL, APP_PATH, 0, id="a-digit-too-many"),
        pytest.param(GUID + " ", APP_NAME, APP_URL, APP_PATH, 0, id="guid-39-chars"),
        pytest.param(GUID + "{}", APP_NAME, APP_URL, APP_PATH, 0, id="guid-40-chars"),
        pytest.param(GUID[1:], APP_NAME, APP_URL, APP_PATH, 0, id="one-brace"),
        pytest.param(GUID.replace("-", ""), APP_NAME, APP_URL, APP_PATH, 0, id="no-hyphens"),
        pytest.param("", APP_NAME, APP_URL, APP_PATH, 0, id="empty-guid"),
        pytest.param(GUID, "n" * 257, APP_URL, APP_PATH, 0, id="name-257"),
        pytest.param(GUID, APP_NAME, "u" * 257, APP_PATH, 0, id="url-257"),
        pytest.param(GUID, APP_NAME, APP_URL, "/" + "p" * 260, 0, id="path-261"),
        pytest.param(GUID, "", APP_URL, APP_PATH, 0, id="empty-name"),
        pytest.param(GUID, APP_NAME, APP_URL, APP_PATH, 1, id="flags-1"),
        pytest.param(GUID, APP_NAME, APP_URL, APP_PATH, -1, id="flags-minus-1"),
        pytest.param(GUID, APP_NAME, APP_URL, APP_PATH, 0x40000, id="flags-bit"),
    ],
)
def test_register_invalid_arguments(guid_: str, name: str, url: str, path: str, flags: int) -> None:
    _, _, manager = alice_manager()
    log = Recorder()
    log.watch(manager, "mgr")
    with raises_exactly(msgr.InvalidArgError):
        manager.register_application(guid_, name, url, path, flags)
    assert manager.registered_applications == []
    assert log.take() == []


@pytest.mark.parametrize("path", ["testapp.exe", "bin/testapp", "..\\testapp.exe", "./testapp", "C:testapp.exe"])
def test_register_relative_path_fails(path: str) -> None:
    _, _, manager = alice_manager()
    with raises_exactly(msgr.FailError):
        manager.register_application(GUID, APP_NAME, APP_URL, path)
    assert manager.registered_applications == []


@pytest.mark.parametrize("path", ["/opt/testapp", "C:\\Program Files\\Test\\test.exe", "D:/apps/test.exe", "\\\\server\\share\\test.exe"])
def test_register_absolute_paths(path: str) -> None:
    _, _, manager = alice_manager()
    manager.register_application(GUID, APP_NAME, APP_URL, path)
    assert manager.registered_applications == [(GUID, APP_NAME, APP_URL, path)]


def test_register_twice_is_already_registered() -> None:
    _, _, manager = alice_manager()
    manager.register_application(*APP)
    log = Recorder()
    log.watch(manager, "mgr")
    with raises_exactly(msgr.AppAlreadyRegisteredError):
        manager.register_application(GUID, "Other name", "http://other", "/other")
    assert manager.registered_applications == [(GUID, APP_NAME, APP_URL, APP_PATH)]
    assert log.take() == []
    # To change a registration, unregister first (§3.3).
    manager.unregister_application(GUID)
    manager.register_application(GUID, "Other name", "http://other", "/other")
    assert manager.registered_applications == [(GUID, "Other name", "http://other", "/other")]


def test_registry_holds_256_applications() -> None:
    service, alice, manager = alice_manager()
    for i in range(256):
        manager.register_application(guid(i), f"app {i}", "", APP_PATH)
    assert len(manager.registered_applications) == 256
    log = Recorder()
    log.watch(manager, "mgr")
    with raises_exactly(msgr.WriteRegDbError):
        manager.register_application(guid(256), "one too many", "", APP_PATH)
    assert len(manager.registered_applications) == 256
    assert log.take() == []
    # Bob's machine has its own registry.
    bob = service.sign_in(BOB, BOB_PASSWORD)
    ready_manager(bob, guid=None, cookie=3).register_application(guid(256), "fine", "", APP_PATH)
    # Making room works again.
    manager.unregister_application(guid(0))
    manager.register_application(guid(256), "now it fits", "", APP_PATH)
    assert len(manager.registered_applications) == 256


def test_unregister_unknown() -> None:
    _, _, manager = alice_manager()
    manager.register_application(*APP)
    with raises_exactly(msgr.AppNotRegisteredError):
        manager.unregister_application(UNREGISTERED_GUID)
    manager.unregister_application(GUID)
    with raises_exactly(msgr.AppNotRegisteredError):
        manager.unregister_application(GUID)


def test_unregister_malformed_guid() -> None:
    _, _, manager = alice_manager()
    manager.register_application(*APP)
    with raises_exactly(msgr.InvalidArgError):
        manager.unregister_application(GUID[:-1])
    assert manager.registered_applications == [(GUID, APP_NAME, APP_URL, APP_PATH)]


@pytest.mark.parametrize(
    "form",
    [GUID.lower(), GUID[1:-1], GUID[1:-1].lower(), uuid.UUID(GUID[1:-1])],
    ids=["lower-case", "no-braces", "lower-no-braces", "uuid.UUID"],
)
def test_guids_in_any_case_with_or_without_braces_or_as_uuid(form: str | uuid.UUID) -> None:
    """As COM's CLSIDFromString: any case, braces optional; reported in the canonical
    braced upper-case form."""
    _, _, manager = alice_manager()
    manager.register_application(form, APP_NAME, APP_URL, APP_PATH)
    assert manager.registered_applications == [(GUID, APP_NAME, APP_URL, APP_PATH)]
    session = manager.create_session()
    session.application = form
    assert session.application == GUID
    manager.unregister_application(form)
    assert manager.registered_applications == []


def test_unregistered_app_can_no_longer_be_set() -> None:
    _, _, manager = alice_manager()
    manager.register_application(*APP)
    manager.unregister_application(GUID)
    s = manager.create_session()
    with raises_exactly(msgr.AppNotRegisteredError):
        s.application = GUID


# =========================================================================== events and machines


def test_registration_events_reach_every_manager_of_the_messenger() -> None:
    service = new_service(users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    log = Recorder()
    m1 = log.watch(ready_manager(alice, guid=None, cookie=1), "m1")
    m2 = log.watch(ready_manager(alice, guid=None, cookie=2), "m2")
    locked = log.watch(alice.session_manager(), "locked")
    log.watch(ready_manager(bob, guid=None, cookie=3), "bob")
    assert locked.status is L.INITIALIZED
    m2.register_application(GUID, APP_NAME, APP_URL, APP_PATH)
    assert log.take() == [
        ("m1", "on_app_registered", (GUID,)),
        ("m2", "on_app_registered", (GUID,)),
        ("locked", "on_app_registered", (GUID,)),
    ]
    m1.unregister_application(GUID)
    assert log.take() == [
        ("m1", "on_app_unregistered", (GUID,)),
        ("m2", "on_app_unregistered", (GUID,)),
        ("locked", "on_app_unregistered", (GUID,)),
    ]


def test_failed_unregister_fires_nothing() -> None:
    _, _, manager = alice_manager()
    log = Recorder()
    log.watch(manager, "mgr")
    with raises_exactly(msgr.AppNotRegisteredError):
        manager.unregister_application(GUID)
    assert log.take() == []


def test_registrations_belong_to_the_messenger() -> None:
    service = new_service(users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    bob = service.sign_in(BOB, BOB_PASSWORD)
    ma, mb = ready_manager(alice, guid=None, cookie=1), ready_manager(bob, guid=None, cookie=2)
    ma.register_application(GUID, "Alice's", APP_URL, APP_PATH)
    assert mb.registered_applications == []
    # Bob's machine: the same GUID is not registered there.
    with raises_exactly(msgr.AppNotRegisteredError):
        mb.unregister_application(GUID)
    with raises_exactly(msgr.AppNotRegisteredError):
        mb.create_session().application = GUID
    mb.register_application(GUID, "Bob's", "http://bob", "/bob/app")
    assert ma.registered_applications == [(GUID, "Alice's", APP_URL, APP_PATH)]
    assert mb.registered_applications == [(GUID, "Bob's", "http://bob", "/bob/app")]
    mb.unregister_application(GUID)
    assert ma.registered_applications == [(GUID, "Alice's", APP_URL, APP_PATH)]
    # Every manager of one Messenger shares its registry.
    assert ready_manager(alice, guid=None, cookie=3).registered_applications == ma.registered_applications


# =========================================================================== Hypothesis: GUIDs

HEX = "0123456789ABCDEF"
valid_guids = st.builds(
    lambda a, b, c, d, e: "{%s-%s-%s-%s-%s}" % (a, b, c, d, e),
    *(st.text(HEX, min_size=n, max_size=n) for n in (8, 4, 4, 4, 12)),
)


@st.composite
def mutated_guids(draw: st.DrawFn) -> str:
    g = list(draw(valid_guids))
    kind = draw(st.sampled_from(["lower", "replace", "delete", "insert", "swap-brace", "strip"]))
    i = draw(st.integers(0, len(g) - 1))
    if kind == "lower":
        return "".join(g).lower()
    if kind == "replace":
        g[i] = draw(st.sampled_from(string.printable + "gGxX-{}é€😀"))
    elif kind == "delete":
        del g[i]
    elif kind == "insert":
        g.insert(i, draw(st.sampled_from(HEX + "-{} ")))
    elif kind == "swap-brace":
        g[0], g[-1] = "(", ")"
    else:
        return "".join(g).strip("{}")
    return "".join(g)


any_guid = st.one_of(valid_guids, mutated_guids(), st.text(max_size=45), st.text(HEX + "{}-", max_size=42))


def canonical(g: str) -> str | None:
    """The registered form of a GUID argument, or None if it is not one: 8-4-4-4-12 hex
    digits in any case, in braces or not."""
    bare = g[1:-1] if g.startswith("{") and g.endswith("}") else g
    if re.fullmatch(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", bare):
        return "{" + bare.upper() + "}"
    return None


def test_register_guid_property() -> None:
    """A GUID registers iff it is 8-4-4-4-12 hex digits (any case, braces optional),
    under its canonical ``{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`` form; anything else is
    E_INVALIDARG, for unregister too."""
    _, _, manager = alice_manager()
    log = Recorder()
    log.watch(manager, "mgr")

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(g=any_guid)
    def check(g: str) -> None:
        log.clear()
        form = canonical(g)
        if form is not None:
            assert GUID_RE.fullmatch(form)
            manager.register_application(g, APP_NAME, APP_URL, APP_PATH)
            assert manager.registered_applications == [(form, APP_NAME, APP_URL, APP_PATH)]
            manager.unregister_application(g)
            assert log.take() == [("mgr", "on_app_registered", (form,)), ("mgr", "on_app_unregistered", (form,))]
            with raises_exactly(msgr.AppNotRegisteredError):
                manager.unregister_application(g)
        else:
            with raises_exactly(msgr.InvalidArgError):
                manager.register_application(g, APP_NAME, APP_URL, APP_PATH)
            with raises_exactly(msgr.InvalidArgError):
                manager.unregister_application(g)
            assert log.take() == []
        assert manager.registered_applications == []

    check()
