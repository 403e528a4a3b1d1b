"""MessengerPriv's own lock: locked by default, unlocked separately from the session
manager and from other MessengerPriv objects, events on the object whose IMsgrLock was
used, OnLockStatusChanged on both kinds (C24), and what a sign-out takes away
(msgrpriv.md §1.1, §3.2, §4.1, C3, C22, C24, C30)."""

from __future__ import annotations

import msgr
from conftest import (
    ALICE,
    ALICE_BOB_CAROL,
    ALICE_PASSWORD,
    BOB,
    BOB_NAME,
    CAROL,
    H,
    L,
    WORLD_SITE,
    commands,
    raises_exactly,
    single_not,
    world_in,
)
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, Recorder, fail_unlock, new_service, pend, unlock

SHUTDOWN = ("mgr", "on_app_shutdown", ())


def signed_out(reason: str = "user") -> list[tuple[str, str, tuple[object, ...]]]:
    return [
        SHUTDOWN,
        ("priv", "on_lock_status_changed", (L.NOTINITIALIZED,)),
        ("mgr", "on_lock_status_changed", (L.NOTINITIALIZED,)),
        ("alice", "on_signed_out", (reason,)),
    ]


SIGNED_IN = [
    ("alice", "on_signed_in", ()),
    ("priv", "on_lock_enable", (True,)),
    ("priv", "on_lock_status_changed", (L.INITIALIZED,)),
    ("mgr", "on_lock_enable", (True,)),
    ("mgr", "on_lock_status_changed", (L.INITIALIZED,)),
]


def test_messenger_priv_is_a_new_locked_object_each_time() -> None:
    service = new_service(users=ALICE_BOB_CAROL)
    alice = service.sign_in(ALICE, ALICE_PASSWORD)
    first, second = alice.messenger_priv(), alice.messenger_priv()
    assert first is not second
    assert type(first) is msgr.MessengerPriv
    assert isinstance(first, msgr.MsgrLock)
    assert first.status is L.INITIALIZED and second.status is L.INITIALIZED


def test_sign_in_enables_both_kinds_with_status_changed_on_each() -> None:
    # C24: OnLockStatusChanged fires on MessengerPriv too, not only on the manager.
    service = new_service(users=ALICE_BOB_CAROL)
    alice = msgr.Messenger(service, ALICE, ALICE_PASSWORD)
    priv, mgr = alice.messenger_priv(), alice.session_manager()
    assert priv.status is L.NOTINITIALIZED and mgr.status is L.NOTINITIALIZED
    log = Recorder()
    log.watch(priv, "priv")
    log.watch(mgr, "mgr")
    log.watch(alice, "alice")
    alice.sign_in()
    assert log == SIGNED_IN
    assert priv.status is L.INITIALIZED


def test_disabled_service_disables_both_kinds() -> None:
    service = new_service("disabled", users=ALICE_BOB_CAROL)
    alice = msgr.Messenger(service, ALICE, ALICE_PASSWORD)
    priv, mgr = alice.messenger_priv(), alice.session_manager()
    log = Recorder()
    log.watch(priv, "priv")
    log.watch(mgr, "mgr")
    log.watch(alice, "alice")
    alice.sign_in()
    assert log == [
        ("alice", "on_signed_in", ()),
        ("priv", "on_lock_enable", (False,)),
        ("priv", "on_lock_status_changed", (L.DISABLED,)),
        ("mgr", "on_lock_enable", (False,)),
        ("mgr", "on_lock_status_changed", (L.DISABLED,)),
    ]
    log.clear()
    with raises_exactly(msgr.ApiDisabledError):
        priv.add_contact(BOB)
    assert priv.enable_alert_events([1]) is H.S_FALSE
    with raises_exactly(msgr.ApiDisabledError):
        priv.request_challenge(1)
    assert log == []


def test_priv_unlocks_separately_from_the_session_manager() -> None:
    w = world_in("INITIALIZED")
    priv_challenge = pend(w.priv, 11)
    w.priv.send_response(TEST_APP_ID, msgr.lock_response(priv_challenge, TEST_APP_KEY), 11)
    assert w.log == [
        ("priv", "on_lock_status_changed", (L.PENDINGRESULT,)),
        ("priv", "on_lock_challenge", (11, priv_challenge)),
        ("priv", "on_lock_result", (11, True)),
        ("priv", "on_lock_status_changed", (L.UNLOCKED,)),
    ]
    assert w.priv.status is L.UNLOCKED
    assert w.mgr.status is L.INITIALIZED
    w.log.clear()
    # The manager runs its own transaction, with its own cookie and challenge.
    mgr_challenge = pend(w.mgr, 12)
    w.mgr.send_response(TEST_APP_ID, msgr.lock_response(mgr_challenge, TEST_APP_KEY), 12)
    assert mgr_challenge != priv_challenge
    assert w.log == [
        ("mgr", "on_lock_status_changed", (L.PENDINGRESULT,)),
        ("mgr", "on_lock_challenge", (12, mgr_challenge)),
        ("mgr", "on_lock_result", (12, True)),
        ("mgr", "on_lock_status_changed", (L.UNLOCKED,)),
    ]


def test_unlocking_the_manager_leaves_the_priv_locked() -> None:
    w = world_in("INITIALIZED")
    unlock(w.mgr, cookie=21)
    w.log.clear()
    assert w.priv.status is L.INITIALIZED
    with raises_exactly(msgr.ApiLockedError):
        w.priv.add_contact(BOB)
    assert w.priv.enable_alert_events([WORLD_SITE]) is H.S_FALSE
    # Sent to Alice's connection; her locked object does not take it.
    assert w.service.send_alert(ALICE, WORLD_SITE, "x") == msgr.AlertDelivery(sent=True, received=0)
    assert w.log == []


def test_two_privs_of_one_messenger_lock_separately() -> None:
    w = world_in("UNLOCKED")
    other = w.alice.messenger_priv()
    w.log.watch(other, "other")
    assert other.status is L.INITIALIZED
    with raises_exactly(msgr.ApiLockedError):
        other.add_contact(BOB)
    assert other.enable_alert_events([WORLD_SITE]) is H.S_FALSE
    assert other.alert_sites == []
    w.priv.add_contact(BOB)
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]
    w.log.clear()
    # A failed transaction on one does not touch the other.
    fail_unlock(other, cookie=5)
    assert w.log == [
        ("other", "on_lock_status_changed", (L.PENDINGRESULT,)),
        ("other", "on_lock_challenge", (5, w.log[1][2][1])),
        ("other", "on_lock_result", (5, False)),
        ("other", "on_lock_status_changed", (L.UNLOCKFAILED,)),
    ]
    assert w.priv.status is L.UNLOCKED


def test_contact_list_add_goes_to_the_object_that_asked() -> None:
    w = world_in("UNLOCKED")
    other = w.alice.messenger_priv()
    w.log.watch(other, "other")
    unlock(other, cookie=6)
    w.log.clear()
    other.add_contact(CAROL)
    w.priv.add_contact(BOB)
    assert w.log == [
        ("other", "on_contact_list_add", (H.S_OK, msgr.Contact(CAROL, CAROL, "FLN"))),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN"))),
    ]


def test_sign_out_relocks_and_clears_alert_subscriptions() -> None:
    w = world_in("UNLOCKED")
    assert w.priv.alert_sites == [WORLD_SITE]
    w.alice.sign_out()
    assert w.log == signed_out()
    assert w.priv.status is L.NOTINITIALIZED
    assert w.priv.alert_sites == []
    assert w.priv.enable_alert_events([WORLD_SITE]) is H.S_FALSE
    with raises_exactly(msgr.NotLoggedOnError):
        w.priv.add_contact(BOB)
    assert w.service.send_alert(ALICE, WORLD_SITE, "while away") == msgr.AlertDelivery(sent=False, received=0)
    w.log.clear()

    w.alice.sign_in()
    assert w.log == SIGNED_IN
    w.log.clear()
    # A new session: locked again, and the old subscription is not back.
    assert w.priv.alert_sites == []
    assert w.priv.enable_alert_events([WORLD_SITE]) is H.S_FALSE
    with raises_exactly(msgr.ApiLockedError):
        w.priv.add_contact(BOB)
    # Sent, and nobody took it (locked): not delivered.
    assert w.service.send_alert(ALICE, WORLD_SITE, "locked") == msgr.AlertDelivery(sent=True, received=0)
    assert w.log == []

    unlock(w.priv, cookie=31)
    w.log.clear()
    assert w.priv.alert_sites == []
    mark = w.wire_mark()
    assert not w.service.send_alert(ALICE, WORLD_SITE, "unlocked, not subscribed")
    assert len(commands(w.wire_since(mark), "NOT")) == 1
    assert w.log == []

    assert w.priv.enable_alert_events([WORLD_SITE]) is H.S_OK
    mark = w.wire_mark()
    assert w.service.send_alert(ALICE, WORLD_SITE, "subscribed again") == msgr.AlertDelivery(sent=True, received=1)
    payload = single_not(w.wire_since(mark), ALICE).payload
    assert payload is not None
    assert w.log == [("priv", "on_alert_received", (payload.decode("utf-8"),))]


def test_sign_out_ends_a_pending_transaction_and_a_new_session_allows_one_more() -> None:
    # C3: one transaction per object per sign-in session, reset at sign-out.
    w = world_in("PENDINGRESULT")
    w.alice.sign_out()
    assert w.priv.status is L.NOTINITIALIZED
    w.alice.sign_in()
    w.log.clear()
    assert w.priv.status is L.INITIALIZED
    unlock(w.priv, cookie=41)
    assert w.priv.enable_alert_events([1]) is H.S_OK


def test_unlock_failed_lasts_until_sign_out() -> None:
    w = world_in("UNLOCKFAILED")
    with raises_exactly(msgr.ApiUnlockFailedError):
        w.priv.request_challenge(2)
    with raises_exactly(msgr.ApiLockedError):
        w.priv.add_contact(BOB)
    assert w.priv.enable_alert_events([1]) is H.S_FALSE
    w.alice.sign_out()
    w.alice.sign_in()
    unlock(w.priv, cookie=42)
    w.log.clear()
    w.priv.add_contact(BOB)
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]


def test_second_request_while_pending_is_refused() -> None:
    # A second request while pending is refused without a new transaction.
    w = world_in("INITIALIZED")
    challenge = pend(w.priv, 50)
    w.log.clear()
    with raises_exactly(msgr.ApiPendingUnlockError):
        w.priv.request_challenge(51)
    with raises_exactly(msgr.ApiLockedError):
        w.priv.add_contact(BOB)
    assert w.priv.enable_alert_events([1]) is H.S_FALSE
    assert w.log == []
    w.priv.send_response(TEST_APP_ID, msgr.lock_response(challenge, TEST_APP_KEY), 50)
    assert w.priv.status is L.UNLOCKED


def test_signed_in_elsewhere_relocks_and_clears_subscriptions() -> None:
    w = world_in("UNLOCKED")
    second = w.service.sign_in(ALICE, ALICE_PASSWORD)
    assert second.signed_in
    assert w.log == signed_out("signed_in_elsewhere")
    assert w.alice.state == "offline"
    assert w.priv.status is L.NOTINITIALIZED
    assert w.priv.alert_sites == []
    with raises_exactly(msgr.NotLoggedOnError):
        w.priv.add_contact(BOB)
    w.log.clear()
    # The alert now goes to the new session, whose objects have not subscribed.
    assert w.service.send_alert(ALICE, WORLD_SITE, "to the new session") == msgr.AlertDelivery(sent=True, received=0)
    assert w.log == []


def test_no_contact_list_add_leaks_into_the_next_session() -> None:
    # Sign-out clears pending adds: nothing about an earlier add fires later.
    w = world_in("UNLOCKED")
    w.priv.add_contact(BOB)
    w.priv.add_contact(CAROL)
    assert w.log == [
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN"))),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(CAROL, CAROL, "FLN"))),
    ]
    w.log.clear()
    w.alice.sign_out()
    assert w.log == signed_out()
    w.log.clear()
    w.alice.sign_in()
    assert w.log == SIGNED_IN
    w.log.clear()
    unlock(w.priv, cookie=61)
    w.log.clear()
    w.service.advance(120)
    assert w.log == []
