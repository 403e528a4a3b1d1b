"""Every MessengerPriv member in every lock state, each state reached for real through
the API (msgrpriv.md §1.1 lock table, §3.2, §4.1, C21, C22, C30; C7 for DISABLED/OFF).

Each test asserts the result, the exact events of every object (one ordered log) and
what went on the wire.
"""

from __future__ import annotations

import pytest

import msgr
from conftest import (
    invalid_arg,
    ALICE,
    BOB,
    BOB_NAME,
    H,
    L,
    MALFORMED,
    MAX_ALERT_SITES,
    NOBODY,
    SIGNED_IN_STATES,
    STATES,
    STATUS_OF,
    WORLD_SITE,
    World,
    commands,
    raises_exactly,
    single_not,
    world_in,
)
from msgr.testing import TEST_APP_ID, TEST_APP_KEY

UNLOCKED_STATES = ("UNLOCKED", "OFF")

#: AddContact with a valid name, per state (None: accepted, the verdict comes as an event).
ADD_ERROR: dict[str, type[msgr.MsgrError] | None] = {
    "NOTINITIALIZED_NEW": msgr.NotLoggedOnError,
    "NOTINITIALIZED_SIGNED_OUT": msgr.NotLoggedOnError,
    "INITIALIZED": msgr.ApiLockedError,
    "PENDINGRESULT": msgr.ApiLockedError,
    "UNLOCKED": None,
    "UNLOCKFAILED": msgr.ApiLockedError,
    "DISABLED": msgr.ApiDisabledError,
    "OFF": None,
}
#: RequestChallenge, per state (§1.1 table; OFF is already unlocked).
REQUEST_ERROR: dict[str, type[msgr.MsgrError] | None] = {
    "NOTINITIALIZED_NEW": msgr.ApiNotInitializedError,
    "NOTINITIALIZED_SIGNED_OUT": msgr.ApiNotInitializedError,
    "INITIALIZED": None,
    "PENDINGRESULT": msgr.ApiPendingUnlockError,
    "UNLOCKED": msgr.ApiAlreadyUnlockedError,
    "UNLOCKFAILED": msgr.ApiUnlockFailedError,
    "DISABLED": msgr.ApiDisabledError,
    "OFF": msgr.ApiAlreadyUnlockedError,
}
#: SendResponse (the right answer to the pending challenge where there is one).
SEND_ERROR: dict[str, type[msgr.MsgrError] | None] = {
    "NOTINITIALIZED_NEW": msgr.ApiNotInitializedError,
    "NOTINITIALIZED_SIGNED_OUT": msgr.ApiNotInitializedError,
    "INITIALIZED": msgr.ApiLockedError,
    "PENDINGRESULT": None,
    "UNLOCKED": msgr.ApiAlreadyUnlockedError,
    "UNLOCKFAILED": msgr.ApiUnlockFailedError,
    "DISABLED": msgr.ApiDisabledError,
    "OFF": msgr.ApiAlreadyUnlockedError,
}

states = pytest.mark.parametrize("state", STATES)


@pytest.fixture
def world(state: str) -> World:
    return world_in(state)


def assert_quiet(world: World, mark: int) -> None:
    """Nothing fired and nothing about contacts went on the wire since ``mark``."""
    assert world.log == []
    assert commands(world.wire_since(mark), "ADD", "ILN", "NOT") == []
    assert world.service.contact_list(ALICE, "FL") == []


# =========================================================================== identity


@states
def test_status_and_identity(world: World, state: str) -> None:
    priv = world.priv
    assert isinstance(priv, msgr.MessengerPriv)
    assert isinstance(priv, msgr.MsgrLock)
    assert priv.status is STATUS_OF[state]
    assert priv.messenger is world.alice
    assert world.alice.signed_in is (state in SIGNED_IN_STATES)
    # The session manager of the same Messenger is a separate lock: never unlocked here.
    expected_mgr = {
        "NOTINITIALIZED_NEW": L.NOTINITIALIZED,
        "NOTINITIALIZED_SIGNED_OUT": L.NOTINITIALIZED,
        "DISABLED": L.DISABLED,
        "OFF": L.UNLOCKED,
    }.get(state, L.INITIALIZED)
    assert world.mgr.status is expected_mgr
    assert STATUS_OF[state].name in repr(priv)
    assert world.log == []


@states
def test_callbacks_are_checked_by_name(world: World, state: str) -> None:
    with pytest.raises(AttributeError):
        world.priv.on_contact_list_added = lambda hr, c: None  # misspelt
    with pytest.raises(AttributeError):
        world.priv.on_invitation = lambda s, d: None  # the session manager's, not ours
    with pytest.raises(TypeError):
        world.priv.on_alert_received = "not callable"
    world.priv.on_alert_received = None
    assert world.priv.status is STATUS_OF[state]
    assert world.log == []


# =========================================================================== AddContact


@states
def test_add_contact_none_is_e_pointer_in_every_state(world: World, state: str) -> None:
    mark = world.wire_mark()
    with raises_exactly(msgr.PointerError) as info:
        world.priv.add_contact(None)
    assert info.value.hresult == H.E_POINTER
    assert world.priv.status is STATUS_OF[state]
    assert_quiet(world, mark)


@states
def test_add_contact_existing_user(world: World, state: str) -> None:
    mark = world.wire_mark()
    error = ADD_ERROR[state]
    if error is not None:
        with raises_exactly(error):
            world.priv.add_contact(BOB)
        assert_quiet(world, mark)
        assert world.priv.status is STATUS_OF[state]
        return
    world.priv.add_contact(BOB)
    assert world.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]
    assert type(world.log[0][2][0]) is H
    assert world.service.contact_list(ALICE, "FL") == [BOB]
    assert [c.sign_in_name for c in world.alice.contacts] == [BOB]
    sent = [e for e in commands(world.wire_since(mark), "ADD") if e.direction == "C->S"]
    assert [e.line for e in sent] == [f"ADD {sent[0].trid} FL {BOB} {BOB}"]
    assert world.priv.status is STATUS_OF[state]


@states
def test_add_contact_unknown_user(world: World, state: str) -> None:
    mark = world.wire_mark()
    error = ADD_ERROR[state]
    if error is not None:
        with raises_exactly(error):
            world.priv.add_contact(NOBODY)
        assert_quiet(world, mark)
        return
    world.priv.add_contact(NOBODY)
    assert world.log == [("priv", "on_contact_list_add", (H.E_FAIL, None))]
    assert world.service.contact_list(ALICE, "FL") == []


@states
def test_add_contact_malformed_name(world: World, state: str) -> None:
    mark = world.wire_mark()
    error = ADD_ERROR[state]
    if error is not None:
        with raises_exactly(error):
            world.priv.add_contact(MALFORMED)
        assert_quiet(world, mark)
        return
    world.priv.add_contact(MALFORMED)
    assert world.log == [("priv", "on_contact_list_add", (H.E_INVALIDARG, None))]
    assert world.service.contact_list(ALICE, "FL") == []


@states
def test_add_contact_name_that_is_not_one_parameter(world: World, state: str) -> None:
    # Not logged on / locked come first; once usable the name is refused synchronously.
    mark = world.wire_mark()
    error = ADD_ERROR[state] or msgr.InvalidArgError
    with raises_exactly(error):
        world.priv.add_contact("has space@example.com")
    assert_quiet(world, mark)


# =========================================================================== EnableAlertEvents


@states
def test_alert_sites_start_from_the_state(world: World, state: str) -> None:
    # world_in had the object try to subscribe to WORLD_SITE in its state.
    assert world.priv.alert_sites == ([WORLD_SITE] if state in UNLOCKED_STATES else [])


@states
def test_enable_alert_events_result(world: World, state: str) -> None:
    mark = world.wire_mark()
    result = world.priv.enable_alert_events([7, 3, 7])
    if state in UNLOCKED_STATES:
        assert result is H.S_OK
        assert world.priv.alert_sites == [3, 7]
    else:
        # C22: "the service was locked" is S_FALSE, a success code, not an exception.
        assert result is H.S_FALSE
        assert world.priv.alert_sites == []
    assert world.priv.status is STATUS_OF[state]
    assert world.log == []
    # EnableAlertEvents is local: nothing on the wire (msnp.md §g.1).
    assert world.wire_since(mark) == []


@states
def test_enable_alert_events_empty_list(world: World, state: str) -> None:
    result = world.priv.enable_alert_events([])
    assert result is (H.S_OK if state in UNLOCKED_STATES else H.S_FALSE)
    assert world.priv.alert_sites == []
    assert world.log == []


@states
def test_enable_alert_events_too_many_is_out_of_memory(world: World, state: str) -> None:
    before = world.priv.alert_sites
    with raises_exactly(msgr.OutOfMemoryError) as info:
        world.priv.enable_alert_events(range(MAX_ALERT_SITES + 1))
    assert info.value.hresult == H.E_OUTOFMEMORY
    assert world.priv.alert_sites == before
    assert world.log == []


@states
@pytest.mark.parametrize("bad", [[1 << 31], [-(1 << 31) - 1], [1, "2"], [1.0], [True], [None]], ids=repr)
def test_enable_alert_events_bad_id_is_invalid_arg(world: World, state: str, bad: list[object]) -> None:
    before = world.priv.alert_sites
    with raises_exactly(invalid_arg(*((i, int) for i in bad))):
        world.priv.enable_alert_events(bad)  # type: ignore[arg-type]
    assert world.priv.alert_sites == before
    assert world.log == []


@states
@pytest.mark.parametrize("bad", ["12", b"\x01\x02", 5, None], ids=repr)
def test_enable_alert_events_not_a_list_is_invalid_arg(world: World, state: str, bad: object) -> None:
    with raises_exactly(msgr.InvalidArgTypeError):
        world.priv.enable_alert_events(bad)  # type: ignore[arg-type]
    assert world.log == []


@states
def test_alert_reaches_the_object_only_when_unlocked(world: World, state: str) -> None:
    mark = world.wire_mark()
    sent = world.service.send_alert(ALICE, WORLD_SITE, "Your stock moved")
    entries = world.wire_since(mark)
    if state not in SIGNED_IN_STATES:
        assert sent == msgr.AlertDelivery(sent=False, received=0) and not sent
        assert commands(entries, "NOT") == []
        assert world.log == []
        return
    # Delivered (true) only where the object takes it.
    assert sent == msgr.AlertDelivery(sent=True, received=int(state in UNLOCKED_STATES))
    assert bool(sent) is (state in UNLOCKED_STATES)
    payload = single_not(entries, ALICE).payload
    assert payload is not None
    if state in UNLOCKED_STATES:
        assert world.log == [("priv", "on_alert_received", (payload.decode("utf-8"),))]
    else:
        # Locked objects (subscribing gave S_FALSE), the manager and Bob's subscribed
        # object (another user) get nothing.
        assert world.log == []


# =========================================================================== IMsgrLock


@states
def test_request_challenge(world: World, state: str) -> None:
    error = REQUEST_ERROR[state]
    if error is not None:
        with raises_exactly(error):
            world.priv.request_challenge(555)
        assert world.priv.status is STATUS_OF[state]
        assert world.log == []
        return
    world.priv.request_challenge(555)
    assert world.priv.status is L.PENDINGRESULT
    assert len(world.log) == 2
    challenge = world.log[1][2][1]
    # Lock events go to the MessengerPriv only, not to the manager (§1.1).
    assert world.log == [
        ("priv", "on_lock_status_changed", (L.PENDINGRESULT,)),
        ("priv", "on_lock_challenge", (555, challenge)),
    ]


@states
def test_send_response(world: World, state: str) -> None:
    error = SEND_ERROR[state]
    if error is not None:
        with raises_exactly(error):
            world.priv.send_response(TEST_APP_ID, "0" * 32, 1)
        assert world.priv.status is STATUS_OF[state]
        assert world.log == []
        return
    assert world.challenge is not None and world.cookie is not None
    world.priv.send_response(TEST_APP_ID, msgr.lock_response(world.challenge, TEST_APP_KEY), world.cookie)
    assert world.log == [
        ("priv", "on_lock_result", (world.cookie, True)),
        ("priv", "on_lock_status_changed", (L.UNLOCKED,)),
    ]
    assert world.mgr.status is L.INITIALIZED
    # Unlocked now: the locked members work.
    world.log.clear()
    assert world.priv.enable_alert_events([WORLD_SITE]) is H.S_OK
    world.priv.add_contact(BOB)
    assert world.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]
