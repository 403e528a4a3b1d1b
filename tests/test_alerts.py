"""EnableAlertEvents / OnAlertReceived and ``Service.send_alert`` over MSNP ``NOT``
(msgrpriv.md §3.2, §4.1, C22; msnp.md §g.1)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import msgr
from conftest import (
    invalid_arg,
    ALICE,
    BOB,
    CAROL,
    CAROL_PASSWORD,
    H,
    L,
    LONG_MAX,
    LONG_MIN,
    MAX_ALERT_BODY,
    MAX_ALERT_SITES,
    NOBODY,
    WORLD_SITE,
    World,
    commands,
    parse_notification,
    raises_exactly,
    single_not,
    world_in,
)
from msgr.testing import unlock


@pytest.fixture
def w() -> World:
    """Alice's priv unlocked and subscribed to WORLD_SITE; Bob's too."""
    return world_in("UNLOCKED")


def send(w: World, user: str, site: int, text: str = "ping", **urls: str) -> str:
    """``send_alert`` to a signed-in user; returns the payload that went on the wire."""
    mark = w.wire_mark()
    assert w.service.send_alert(user, site, text, **urls).sent is True
    payload = single_not(w.wire_since(mark), user).payload
    assert payload is not None
    return payload.decode("utf-8")


def received(tag: str, payload: str) -> tuple[str, str, tuple[str]]:
    return (tag, "on_alert_received", (payload,))


# =========================================================================== the wire


def test_send_alert_puts_a_notification_on_the_wire(w: World) -> None:
    urls = {
        "site_url": "http://alerts.example.com/",
        "action_url": "go?x=1&y=2",
        "subscribe_url": "sub?a=<b>",
    }
    payload = send(w, ALICE, 17, "Rain & <wind> at \"noon\" isn't 'nice'", **urls)
    n = parse_notification(payload)
    assert n.site_id == "17"
    assert n.to_name == ALICE
    assert n.site_url == urls["site_url"]
    assert n.action_url == urls["action_url"]
    assert n.subscribe_url == urls["subscribe_url"]
    assert n.text == "Rain & <wind> at \"noon\" isn't 'nice'"
    assert payload.startswith("<NOTIFICATION ")
    assert 'siteid="17"' in payload.split(">", 1)[0]
    # Escaped, not raw, in the document.
    assert "<wind>" not in payload and "Rain & " not in payload
    # Not subscribed to 17: nothing fired.
    assert w.log == []


def test_alert_to_someone_not_signed_in_sends_nothing(w: World) -> None:
    mark = w.wire_mark()
    assert w.service.send_alert(CAROL, WORLD_SITE, "offline") == msgr.AlertDelivery(sent=False, received=0)
    assert not w.service.send_alert(NOBODY, WORLD_SITE, "no account")
    assert commands(w.wire_since(mark), "NOT") == []
    assert w.log == []


def test_each_alert_gets_its_own_notification_id(w: World) -> None:
    first = ET.fromstring(send(w, ALICE, WORLD_SITE)).attrib["id"]
    second = ET.fromstring(send(w, ALICE, WORLD_SITE)).attrib["id"]
    assert first != second


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("a" * (MAX_ALERT_BODY - 13), True),  # <TEXT>…</TEXT> is 13 bytes of markup
        ("a" * (MAX_ALERT_BODY - 12), False),
        ("&" * 202, True),  # &amp; is 5 bytes: 1010 + 13
        ("&" * 203, False),
        ("é" * 505, True),  # 2 bytes each in UTF-8: 1010 + 13
        ("é" * 506, False),
    ],
    ids=lambda v: v if isinstance(v, bool) else f"{v[0]!r}x{len(v)}",
)
def test_body_is_limited_to_1024_bytes(w: World, text: str, fits: bool) -> None:
    mark = w.wire_mark()
    if fits:
        payload = send(w, ALICE, WORLD_SITE, text)
        assert parse_notification(payload).text == text
        assert w.log == [received("priv", payload)]
        return
    with raises_exactly(msgr.InvalidArgError):
        w.service.send_alert(ALICE, WORLD_SITE, text)
    assert commands(w.wire_since(mark), "NOT") == []
    assert w.log == []


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((ALICE, 1 << 31, "x"), {}),
        ((ALICE, LONG_MIN - 1, "x"), {}),
        ((ALICE, "1", "x"), {}),
        ((ALICE, True, "x"), {}),
        ((ALICE, 1.0, "x"), {}),
        ((None, 1, "x"), {}),
        ((ALICE, 1, None), {}),
        ((ALICE, 1, b"x"), {}),
        ((ALICE, 1, "x"), {"site_url": None}),
        ((ALICE, 1, "x"), {"action_url": 3}),
    ],
    ids=repr,
)
def test_send_alert_bad_arguments_are_invalid_arg(w: World, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    mark = w.wire_mark()
    kinds = (str, int, str)
    expected = invalid_arg(*zip(args, kinds), *((v, str) for v in kwargs.values()))
    with raises_exactly(expected):
        w.service.send_alert(*args, **kwargs)  # type: ignore[arg-type]
    assert commands(w.wire_since(mark), "NOT") == []


# =========================================================================== filtering


def test_alerts_are_filtered_by_site_id(w: World) -> None:
    assert w.priv.enable_alert_events([1, 2]) is H.S_OK
    p1 = send(w, ALICE, 1, "one")
    send(w, ALICE, 3, "three")
    p2 = send(w, ALICE, 2, "two")
    send(w, ALICE, WORLD_SITE, "no longer subscribed")
    assert w.log == [received("priv", p1), received("priv", p2)]


def test_two_privs_of_one_messenger_filter_independently(w: World) -> None:
    other = w.alice.messenger_priv()
    w.log.watch(other, "other")
    unlock(other, cookie=8)
    w.log.clear()
    assert w.priv.enable_alert_events([1, 2]) is H.S_OK
    assert other.enable_alert_events([2, 3]) is H.S_OK
    assert (w.priv.alert_sites, other.alert_sites) == ([1, 2], [2, 3])
    p1 = send(w, ALICE, 1)
    p2 = send(w, ALICE, 2)
    p3 = send(w, ALICE, 3)
    p4 = send(w, ALICE, 4)
    assert w.log == [received("priv", p1), received("priv", p2), received("other", p2), received("other", p3)]
    assert p4 not in [e[2][0] for e in w.log]
    # Changing one list leaves the other alone.
    w.log.clear()
    assert other.enable_alert_events([]) is H.S_OK
    assert (w.priv.alert_sites, other.alert_sites) == ([1, 2], [])
    p5 = send(w, ALICE, 2)
    assert w.log == [received("priv", p5)]


def test_alert_to_a_user_who_did_not_subscribe_is_not_delivered(w: World) -> None:
    # Bob's priv is unlocked but unsubscribes; Alice's stays subscribed to the site.
    assert w.bobpriv.enable_alert_events([]) is H.S_OK
    assert w.bobpriv.alert_sites == []
    assert w.priv.alert_sites == [WORLD_SITE]
    payload = send(w, BOB, WORLD_SITE, "for bob")
    assert parse_notification(payload).to_name == BOB
    assert w.log == []


def test_alert_to_a_signed_in_user_with_no_subscription_is_not_delivered(w: World) -> None:
    # Carol is online with an unlocked MessengerPriv that never subscribed, and a
    # session manager; Alice and Bob are subscribed to the very site.
    carol = w.service.sign_in(CAROL, CAROL_PASSWORD)
    carolpriv = carol.messenger_priv()
    unlock(carolpriv, cookie=12)
    w.log.watch(carol, "carol")
    w.log.watch(carolpriv, "carolpriv")
    w.log.watch(carol.session_manager(), "carolmgr")
    payload = send(w, CAROL, WORLD_SITE, "nobody listens")
    assert parse_notification(payload).to_name == CAROL
    assert w.log == []


def test_alert_goes_to_the_addressed_user_only(w: World) -> None:
    to_bob = send(w, BOB, WORLD_SITE, "bob's")
    to_alice = send(w, ALICE, WORLD_SITE, "alice's")
    assert w.log == [received("bobpriv", to_bob), received("priv", to_alice)]


def test_enable_replaces_the_previous_list(w: World) -> None:
    assert w.priv.enable_alert_events([5, 6]) is H.S_OK
    assert w.priv.enable_alert_events((9,)) is H.S_OK
    assert w.priv.alert_sites == [9]
    send(w, ALICE, 5)
    p = send(w, ALICE, 9)
    assert w.log == [received("priv", p)]


def test_empty_list_unsubscribes(w: World) -> None:
    assert w.priv.enable_alert_events([]) is H.S_OK
    assert w.priv.alert_sites == []
    send(w, ALICE, WORLD_SITE)
    assert w.log == []


@pytest.mark.parametrize(
    "ids",
    [(3, 1, 2), {3, 1, 2}, range(1, 4), (i for i in (1, 2, 3)), [3, 3, 1, 2, 1]],
    ids=["tuple", "set", "range", "generator", "duplicates"],
)
def test_any_iterable_of_ints_is_accepted(w: World, ids: object) -> None:
    assert w.priv.enable_alert_events(ids) is H.S_OK  # type: ignore[arg-type]
    assert w.priv.alert_sites == [1, 2, 3]


def test_long_range_bounds_and_256_ids(w: World) -> None:
    assert w.priv.enable_alert_events([LONG_MIN, LONG_MAX, 0, -1]) is H.S_OK
    assert w.priv.alert_sites == [LONG_MIN, -1, 0, LONG_MAX]
    p_min = send(w, ALICE, LONG_MIN)
    p_max = send(w, ALICE, LONG_MAX)
    assert w.log == [received("priv", p_min), received("priv", p_max)]
    ids = list(range(1000, 1000 + MAX_ALERT_SITES))
    assert w.priv.enable_alert_events(ids) is H.S_OK
    assert w.priv.alert_sites == ids
    with raises_exactly(msgr.OutOfMemoryError):
        w.priv.enable_alert_events(range(MAX_ALERT_SITES + 1))
    assert w.priv.alert_sites == ids


def test_callback_returning_false_changes_nothing(w: World) -> None:
    # pfEnableDefault = FALSE: Messenger has no popup to suppress.
    w.log.react(w.priv, "on_alert_received", lambda payload: False)
    p1 = send(w, ALICE, WORLD_SITE, "first")
    p2 = send(w, ALICE, WORLD_SITE, "second")
    assert w.log == [received("priv", p1), received("priv", p2)]
    assert w.priv.status is L.UNLOCKED
    assert w.priv.alert_sites == [WORLD_SITE]


def test_the_callback_gets_the_exact_payload(w: World) -> None:
    payload = send(w, ALICE, WORLD_SITE, "Ünïcödé ☃ 𝄞 & more", site_url="http://x/?a=1&b=2")
    assert w.log == [received("priv", payload)]
    assert parse_notification(w.log[0][2][0]).text == "Ünïcödé ☃ 𝄞 & more"


# =========================================================================== Hypothesis

SITE = st.integers(LONG_MIN, LONG_MAX)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.one_of(
        st.lists(st.one_of(SITE, st.integers(-3, 3)), max_size=24),
        st.lists(SITE, min_size=MAX_ALERT_SITES - 4, max_size=MAX_ALERT_SITES + 4),
    ),
    probes=st.lists(SITE, max_size=4),
)
def test_random_site_lists_filter_exactly(ids: list[int], probes: list[int]) -> None:
    w = world_in("UNLOCKED")
    if len(ids) > MAX_ALERT_SITES:
        with raises_exactly(msgr.OutOfMemoryError):
            w.priv.enable_alert_events(ids)
        assert w.priv.alert_sites == [WORLD_SITE]
        subscribed = {WORLD_SITE}
    else:
        assert w.priv.enable_alert_events(ids) is H.S_OK
        assert w.priv.alert_sites == sorted(set(ids))
        subscribed = set(ids)
    expected = []
    for site in [*ids[:4], *probes, WORLD_SITE]:
        payload = send(w, ALICE, site, f"site {site}")
        assert parse_notification(payload).site_id == str(site)
        if site in subscribed:
            expected.append(received("priv", payload))
    assert w.log == expected


#: XML 1.0 ``Char`` without CR (see ``test_carriage_return_round_trips``).
XML_TEXT_CHAR = st.one_of(
    st.sampled_from("\t\n<>&\"' ]]>"),
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
URL = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=XML_TEXT_CHAR, max_size=150), site_url=URL, action_url=URL, subscribe_url=URL)
def test_random_texts_round_trip_through_the_notification(text: str, site_url: str, action_url: str, subscribe_url: str) -> None:
    w = world_in("UNLOCKED")
    payload = send(w, ALICE, WORLD_SITE, text, site_url=site_url, action_url=action_url, subscribe_url=subscribe_url)
    n = parse_notification(payload)
    assert n.text == text
    assert (n.site_url, n.action_url, n.subscribe_url) == (site_url, action_url, subscribe_url)
    assert n.site_id == str(WORLD_SITE)
    assert w.log == [received("priv", payload)]


def test_carriage_return_round_trips() -> None:
    # XML parsers turn a raw CR (and CR LF) into LF, so "text XML-escaped" must escape
    # it (&#13;) for the text to come back as sent.
    w = world_in("UNLOCKED")
    text = "line one\r\nline two\rline three"
    payload = send(w, ALICE, WORLD_SITE, text)
    assert parse_notification(payload).text == text


@pytest.mark.parametrize("text", ["bell\x07", "nul\x00", "esc\x1b[0m"], ids=repr)
def test_text_that_xml_cannot_carry_is_refused_or_still_well_formed(text: str) -> None:
    # Characters outside XML 1.0's Char cannot be escaped: the service must not put a
    # payload that is not well-formed XML on the wire (msnp.md §g.1: an XML payload).
    w = world_in("UNLOCKED")
    mark = w.wire_mark()
    try:
        sent = w.service.send_alert(ALICE, WORLD_SITE, text)
    except msgr.InvalidArgError:
        assert commands(w.wire_since(mark), "NOT") == []
        assert w.log == []
        return
    assert sent is True
    payload = single_not(w.wire_since(mark), ALICE).payload
    assert payload is not None
    parse_notification(payload)
