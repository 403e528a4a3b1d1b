"""AddContact / OnContactListAdd over MSNP ``ADD`` and the forward list with presence
(msgrpriv.md §3.2, §4.1, C21, C23; msnp.md §g.2, §b.8)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import msgr
from conftest import (
    ALICE,
    ALICE_NAME,
    ALICE_NAME_WIRE,
    BOB,
    BOB_NAME,
    CAROL,
    CAROL_NAME,
    CAROL_NAME_WIRE,
    CAROL_PASSWORD,
    H,
    MALFORMED,
    MAX_LIST,
    NOBODY,
    World,
    commands,
    last_trid,
    lines,
    raises_exactly,
    world_in,
)

VER = r"\d+"


@pytest.fixture
def w() -> World:
    """Alice unlocked, Bob online, Carol offline."""
    return world_in("UNLOCKED")


def add(w: World, name: str) -> tuple[int, list[str]]:
    """``add_contact(name)``; returns the TrID of the ``ADD`` and every wire line it caused."""
    mark = w.wire_mark()
    w.priv.add_contact(name)
    entries = w.wire_since(mark)
    return last_trid(entries, "ADD", ALICE), lines(entries)


# =========================================================================== outcomes


def test_add_existing_online_user(w: World) -> None:
    t, wire = add(w, BOB)
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]
    contact = w.log[0][2][1]
    assert contact.online
    # Request, the contact's presence with the same TrID, the reply (the request with the
    # new list version inserted), then the reverse-list notice to Bob (msnp.md §g.2).
    assert wire[:3] == [
        f"ADD {t} FL {BOB} {BOB}",
        f"ILN {t} NLN {BOB} {BOB_NAME}",
        f"ADD {t} FL 1 {BOB} {BOB}",
    ]
    assert len(wire) == 4
    assert re.fullmatch(rf"ADD 0 RL {VER} {re.escape(ALICE)} {ALICE_NAME_WIRE}", wire[3]), wire[3]
    entries = commands(w.service.trace[:], "ADD", "ILN")
    assert [(e.user, e.direction) for e in entries] == [
        (ALICE, "C->S"),
        (ALICE, "S->C"),
        (ALICE, "S->C"),
        (BOB, "S->C"),
    ]


def test_add_existing_offline_user(w: World) -> None:
    t, wire = add(w, CAROL)
    # Offline, so no ILN tells her friendly name: the contact is known by the custom
    # name the reply echoes, the account (as against any legacy server).
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(CAROL, CAROL, "FLN")))]
    assert not w.log[0][2][1].online
    # No ILN (offline) and no RL notice (nobody to tell).
    assert wire == [f"ADD {t} FL {CAROL} {CAROL}", f"ADD {t} FL 1 {CAROL} {CAROL}"]


def test_add_again_is_success_215(w: World) -> None:
    add(w, BOB)
    add(w, CAROL)
    w.log.clear()
    t, wire = add(w, BOB)
    assert wire == [f"ADD {t} FL {BOB} {BOB}", f"215 {t}"]
    t2, wire2 = add(w, CAROL)
    assert wire2 == [f"ADD {t2} FL {CAROL} {CAROL}", f"215 {t2}"]
    assert w.log == [
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN"))),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(CAROL, CAROL, "FLN"))),
    ]
    assert w.service.contact_list(ALICE, "FL") == [BOB, CAROL]


def test_add_again_in_another_case_is_success(w: World) -> None:
    add(w, BOB)
    w.log.clear()
    t, wire = add(w, BOB.upper())
    assert wire == [f"ADD {t} FL {BOB.upper()} {BOB.upper()}", f"215 {t}"]
    assert len(w.log) == 1
    tag, name, (hr, contact) = w.log[0]
    assert (tag, name, hr) == ("priv", "on_contact_list_add", H.S_OK)
    assert contact is not None and contact.sign_in_name.lower() == BOB
    assert w.service.contact_list(ALICE, "FL") == [BOB]


def test_add_unknown_user_is_e_fail(w: World) -> None:
    t, wire = add(w, NOBODY)
    assert wire == [f"ADD {t} FL {NOBODY} {NOBODY}", f"205 {t}"]
    assert w.log == [("priv", "on_contact_list_add", (H.E_FAIL, None))]
    assert w.service.contact_list(ALICE, "FL") == []
    assert w.alice.contacts == []


def test_add_malformed_name_is_e_invalidarg(w: World) -> None:
    t, wire = add(w, MALFORMED)
    assert wire == [f"ADD {t} FL {MALFORMED} {MALFORMED}", f"201 {t}"]
    assert w.log == [("priv", "on_contact_list_add", (H.E_INVALIDARG, None))]
    assert w.service.contact_list(ALICE, "FL") == []


def test_outcomes_in_a_row_keep_their_order(w: World) -> None:
    for name in (NOBODY, BOB, MALFORMED, CAROL, BOB):
        w.priv.add_contact(name)
    assert w.log == [
        ("priv", "on_contact_list_add", (H.E_FAIL, None)),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN"))),
        ("priv", "on_contact_list_add", (H.E_INVALIDARG, None)),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(CAROL, CAROL, "FLN"))),
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN"))),
    ]
    trids = [e.trid for e in commands(w.service.trace[:], "ADD") if e.direction == "C->S"]
    assert len(trids) == 5 and len(set(trids)) == 5


def test_callback_return_value_is_ignored(w: World) -> None:
    # C23: OnContactListAdd is treated as void.
    w.log.react(w.priv, "on_contact_list_add", lambda hr, contact: False)
    w.priv.add_contact(BOB)
    w.priv.add_contact(CAROL)
    assert [e[2][0] for e in w.log] == [H.S_OK, H.S_OK]
    assert w.service.contact_list(ALICE, "FL") == [BOB, CAROL]


def test_friendly_names_are_url_decoded(w: World) -> None:
    # Alice's friendly name travels as Alice%20Liddell; the contact carries it decoded.
    w.bobpriv.add_contact(ALICE)
    assert w.log == [("bobpriv", "on_contact_list_add", (H.S_OK, msgr.Contact(ALICE, ALICE_NAME, "NLN")))]
    assert w.bob.contacts == [msgr.Contact(ALICE, ALICE_NAME, "NLN")]


# =========================================================================== synchronous refusals


@pytest.mark.parametrize(
    "name",
    ["", " ", "has space@example.com", "tab\t@example.com", "nl\n@example.com", "cr\r@example.com",
     "nul\x00@example.com", "del\x7f@example.com", "x" * 118 + "@example.com"],
    ids=repr,
)
def test_name_that_is_not_one_msnp_parameter_is_refused_synchronously(w: World, name: str) -> None:
    mark = w.wire_mark()
    with raises_exactly(msgr.InvalidArgError) as info:
        w.priv.add_contact(name)
    assert info.value.hresult == H.E_INVALIDARG
    assert commands(w.wire_since(mark), "ADD") == []
    assert w.log == []


def test_longest_name_goes_to_the_service() -> None:
    # 129 characters is still one parameter: the service decides (unknown: E_FAIL).
    w = world_in("UNLOCKED")
    name = "x" * 117 + "@example.com"
    assert len(name) == 129
    t, wire = add(w, name)
    assert wire == [f"ADD {t} FL {name} {name}", f"205 {t}"]
    assert w.log == [("priv", "on_contact_list_add", (H.E_FAIL, None))]


def test_name_that_is_not_even_utf8_is_invalid_arg(w: World) -> None:
    # A lone surrogate cannot be encoded, so it cannot be one MSNP parameter either.
    mark = w.wire_mark()
    with raises_exactly(msgr.InvalidArgError):
        w.priv.add_contact("\ud800@example.com")
    assert commands(w.wire_since(mark), "ADD") == []
    assert w.log == []


@pytest.mark.parametrize("name", [5, b"bob@example.com", ["bob@example.com"]], ids=repr)
def test_name_of_the_wrong_type_is_invalid_arg(w: World, name: object) -> None:
    with raises_exactly(msgr.InvalidArgTypeError):
        w.priv.add_contact(name)  # type: ignore[arg-type]
    assert w.log == []


@pytest.mark.parametrize("service", [0, b"svc", object(), 1.5], ids=repr)
def test_service_of_the_wrong_type_is_invalid_arg(w: World, service: object) -> None:
    mark = w.wire_mark()
    with raises_exactly(msgr.InvalidArgTypeError):
        w.priv.add_contact(BOB, service)  # type: ignore[arg-type]
    assert commands(w.wire_since(mark), "ADD") == []
    assert w.log == []


@pytest.mark.parametrize("service", [None, "", "{some-service-id}"], ids=repr)
def test_service_none_or_str_is_accepted(w: World, service: str | None) -> None:
    w.priv.add_contact(BOB, service)
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]


BAD_CHARS = st.sampled_from([" ", "\t", "\n", "\r", "\x00", "\x01", "\x1f", "\x7f"])


@settings(max_examples=40, deadline=None)
@given(st.tuples(st.text(max_size=20), BAD_CHARS, st.text(max_size=20)).map("".join))
def test_any_name_with_space_or_control_is_refused_synchronously(name: str) -> None:
    w = world_in("UNLOCKED")
    mark = w.wire_mark()
    with raises_exactly(msgr.InvalidArgError):
        w.priv.add_contact(name)
    assert commands(w.wire_since(mark), "ADD") == []
    assert w.log == []


# =========================================================================== the lists and presence


def test_service_lists_after_adds(w: World) -> None:
    add(w, BOB)
    add(w, CAROL)
    add(w, NOBODY)
    s = w.service
    assert s.contact_list(ALICE, "FL") == [BOB, CAROL]
    assert s.contact_list(ALICE) == [BOB, CAROL]
    # AddContact touches the forward list only.
    assert s.contact_list(ALICE, "AL") == []
    assert s.contact_list(ALICE, "BL") == []
    # RL is derived: who has that user on FL.
    assert s.contact_list(BOB, "RL") == [ALICE]
    assert s.contact_list(CAROL, "RL") == [ALICE]
    assert s.contact_list(ALICE, "RL") == []
    assert s.contact_list(BOB, "FL") == []
    assert w.alice.contacts == [msgr.Contact(BOB, BOB_NAME, "NLN"), msgr.Contact(CAROL, CAROL, "FLN")]
    # Bob's forward list is not touched by being added.
    assert w.bob.contacts == []


def test_reverse_list_gathers_everyone_who_added(w: World) -> None:
    add(w, CAROL)
    w.bobpriv.add_contact(CAROL)
    assert w.service.contact_list(CAROL, "RL") == [ALICE, BOB]
    assert w.service.contact_list(ALICE, "FL") == [CAROL]
    assert w.service.contact_list(BOB, "FL") == [CAROL]


def test_presence_follows_the_contact_signing_in_and_out(w: World) -> None:
    add(w, CAROL)
    w.log.clear()
    assert w.alice.contacts == [msgr.Contact(CAROL, CAROL, "FLN")]

    mark = w.wire_mark()
    carol = w.service.sign_in(CAROL, CAROL_PASSWORD)
    to_alice = lines(w.wire_since(mark), user=ALICE, direction="S->C")
    assert to_alice == [f"NLN NLN {CAROL} {CAROL_NAME_WIRE}"]
    assert w.alice.contacts == [msgr.Contact(CAROL, CAROL_NAME, "NLN")]
    # Carol's list download shows who has her: Alice on her RL.
    carol_lst = [l for l in lines(w.wire_since(mark), user=CAROL, direction="S->C") if l.startswith("LST")]
    assert any(re.fullmatch(rf"LST \d+ RL {VER} 1 1 {re.escape(ALICE)} {ALICE_NAME_WIRE}", l) for l in carol_lst), carol_lst

    mark = w.wire_mark()
    carol.sign_out()
    to_alice = lines(w.wire_since(mark), user=ALICE, direction="S->C")
    assert to_alice == [f"FLN {CAROL}"]
    assert w.alice.contacts == [msgr.Contact(CAROL, CAROL_NAME, "FLN")]
    # Presence changes fire no MessengerPriv or Messenger callback.
    assert w.log == []


def test_contacts_not_on_the_forward_list_give_no_presence(w: World) -> None:
    mark = w.wire_mark()
    carol = w.service.sign_in(CAROL, CAROL_PASSWORD)
    carol.sign_out()
    assert lines(w.wire_since(mark), user=ALICE) == []
    assert w.alice.contacts == []


def test_initial_presence_and_list_at_the_next_sign_in(w: World) -> None:
    add(w, BOB)
    add(w, CAROL)
    w.alice.sign_out()
    mark = w.wire_mark()
    w.alice.sign_in()
    got = lines(w.wire_since(mark), user=ALICE, direction="S->C")
    fl = [l for l in got if l.startswith("LST") and " FL " in l]
    assert len(fl) == 2
    assert re.fullmatch(rf"LST \d+ FL {VER} 1 2 {re.escape(BOB)} {BOB_NAME} 0", fl[0]), fl
    assert re.fullmatch(rf"LST \d+ FL {VER} 2 2 {re.escape(CAROL)} {CAROL_NAME_WIRE} 0", fl[1]), fl
    iln = [l for l in got if l.startswith("ILN")]
    assert len(iln) == 1 and re.fullmatch(rf"ILN \d+ NLN {re.escape(BOB)} {BOB_NAME}", iln[0]), iln
    assert w.alice.contacts == [msgr.Contact(BOB, BOB_NAME, "NLN"), msgr.Contact(CAROL, CAROL_NAME, "FLN")]


# =========================================================================== the 600 limit


def test_forward_list_holds_at_most_600() -> None:
    w = world_in("UNLOCKED")
    names = [f"user{i:03d}@example.com" for i in range(MAX_LIST + 1)]
    for name in names:
        w.service.add_user(name, "pw")
    w.service.trace.clear()
    for name in names[:MAX_LIST]:
        w.priv.add_contact(name)
    assert w.log == [
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(name, name, "FLN"))) for name in names[:MAX_LIST]
    ]
    w.log.clear()
    w.service.trace.clear()
    t, wire = add(w, names[MAX_LIST])
    assert wire == [f"ADD {t} FL {names[MAX_LIST]} {names[MAX_LIST]}", f"210 {t}"]
    assert w.log == [("priv", "on_contact_list_add", (H.E_FAIL, None))]
    assert len(w.service.contact_list(ALICE, "FL")) == MAX_LIST
    assert names[MAX_LIST] not in w.service.contact_list(ALICE, "FL")
    assert len(w.alice.contacts) == MAX_LIST
    w.log.clear()
    # Full, yet one already there is still success (215), and unknown is still E_FAIL.
    w.priv.add_contact(names[0])
    w.priv.add_contact(NOBODY)
    assert w.log == [
        ("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(names[0], names[0], "FLN"))),
        ("priv", "on_contact_list_add", (H.E_FAIL, None)),
    ]
    # The limit is per list owner: Bob can still add.
    w.bobpriv.add_contact(names[MAX_LIST])
    assert w.service.contact_list(BOB, "FL") == [names[MAX_LIST]]


def test_contacts_of_two_users_do_not_mix(w: World) -> None:
    add(w, BOB)
    w.bobpriv.add_contact(CAROL)
    assert w.alice.contacts == [msgr.Contact(BOB, BOB_NAME, "NLN")]
    assert w.bob.contacts == [msgr.Contact(CAROL, CAROL, "FLN")]


def test_priv_of_an_off_service_adds_without_unlocking() -> None:
    w = world_in("OFF")
    w.priv.add_contact(BOB)
    assert w.log == [("priv", "on_contact_list_add", (H.S_OK, msgr.Contact(BOB, BOB_NAME, "NLN")))]
