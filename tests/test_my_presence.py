"""The user's own presence from the client: ``set_status`` (every MSNP status),
``set_friendly_name`` and ``set_personal_message`` (MSNP11+), each answered by the
service with its event, and what watchers see (``on_contact_status_change``,
``on_contact_personal_message_change``), embedded and over TCP."""

from __future__ import annotations

from typing import Any

import pytest

import msgr
from msgr import HResult, Status

SETTABLE = [s for s in Status if s is not Status.OFFLINE]


def befriended(service: msgr.Service) -> tuple[msgr.Messenger, msgr.Messenger]:
    """Alice and Bob signed in, Bob watching Alice (she is on his forward list)."""
    service.add_user("alice@example.com", "pw-a", "Alice")
    service.add_user("bob@example.com", "pw-b", "Bob")
    alice = service.sign_in("alice@example.com", "pw-a")
    bob = service.sign_in("bob@example.com", "pw-b")
    service.license("presence@msnmsgr.com", "KEY")
    priv = bob.messenger_priv()
    priv.on_lock_challenge = lambda cookie, challenge: priv.send_response("presence@msnmsgr.com", msgr.lock_response(challenge, "KEY"), cookie)
    priv.request_challenge(1)
    priv.add_contact("alice@example.com")
    return alice, bob


@pytest.mark.parametrize("status", SETTABLE, ids=[s.name for s in SETTABLE])
def test_every_status_is_set_answered_and_seen_by_watchers(status: Status) -> None:
    with msgr.Service(seed=1) as service:
        alice, bob = befriended(service)
        mine: list[Any] = []
        seen: list[Any] = []
        alice.on_my_status_change = lambda hr, now: mine.append((hr, now))
        bob.on_contact_status_change = lambda contact, previous: seen.append((contact.sign_in_name, contact.status, previous))
        assert alice.status is Status.ONLINE
        alice.set_status(status)
        assert alice.status is status
        if status is Status.ONLINE:
            # Already so: the service answers, and nothing changes for watchers.
            assert mine == [(HResult.S_OK, Status.ONLINE)] and seen == []
            return
        assert mine == [(HResult.S_OK, status)]
        assert isinstance(mine[0][1], Status) and mine[0][1] == status.value
        # Appearing offline looks offline to others (FLN); the rest are NLN <status>.
        shown = Status.OFFLINE if status is Status.APPEAR_OFFLINE else status
        assert seen == [("alice@example.com", shown, Status.ONLINE)]
        (contact,) = [c for c in bob.contacts if c.sign_in_name == "alice@example.com"]
        assert contact.status == shown and str(contact.status) == f"Status.{shown.name}"


def test_a_status_given_by_code_or_name_and_the_ones_refused() -> None:
    with msgr.Service(seed=1) as service:
        alice = service.sign_in("alice@example.com")
        alice.set_status("BSY")
        assert alice.status is Status.BUSY
        alice.set_status("away")
        assert alice.status is Status.AWAY
        for bad in ("FLN", Status.OFFLINE, "gone", ""):
            with pytest.raises(msgr.InvalidArgError, match="Status.APPEAR_OFFLINE") as info:
                alice.set_status(bad)
            assert "Status.ONLINE (NLN)" in str(info.value)
        with pytest.raises(msgr.InvalidArgTypeError, match="status must be a msgr.Status"):
            alice.set_status(2)  # type: ignore[arg-type]
        alice.sign_out()
        assert alice.status is None
        with pytest.raises(msgr.NotLoggedOnError):
            alice.set_status(Status.AWAY)


def test_a_new_friendly_name_is_answered_and_watchers_see_it() -> None:
    with msgr.Service(seed=1) as service:
        alice, bob = befriended(service)
        changes: list[Any] = []
        alice.on_my_friendly_name_change = lambda hr, previous: changes.append((hr, previous))
        alice.set_friendly_name("Alice in Wonderland")
        assert changes == [(HResult.S_OK, "Alice")] and alice.friendly_name == "Alice in Wonderland"
        (contact,) = [c for c in bob.contacts if c.sign_in_name == "alice@example.com"]
        assert contact.friendly_name == "Alice in Wonderland"
        for bad in ("", "   ", "a\nb", "x" * 130):
            with pytest.raises(msgr.InvalidArgError):
                alice.set_friendly_name(bad)
        assert alice.friendly_name == "Alice in Wonderland"


def test_personal_messages_need_msnp11() -> None:
    with msgr.Service(seed=1) as service:
        alice = service.sign_in("alice@example.com")
        with pytest.raises(msgr.NotImplError, match="MSNP11"):
            alice.set_personal_message("hi")


@pytest.mark.parametrize("dialect", ["MSNP9", "MSNP11", "MSNP12"])
def test_over_tcp_status_name_and_personal_message(dialect: str) -> None:
    users = [("alice@example.com", "pw-a", "Alice"), ("bob@example.com", "pw-b", "Bob")]
    with msgr.serve(users=users) as server:
        kw = {"protocols": [dialect], "nexus": server.nexus_url, "timeout": 10}
        with msgr.connect(server.address, "bob@example.com", "pw-b", **kw) as bob, msgr.connect(
            server.address, "alice@example.com", "pw-a", **kw
        ) as alice:
            priv = bob.messenger_priv()
            server.license("presence@msnmsgr.com", "KEY")
            priv.on_lock_challenge = lambda cookie, challenge: priv.send_response("presence@msnmsgr.com", msgr.lock_response(challenge, "KEY"), cookie)
            priv.request_challenge(1)
            bob.wait_for(lambda: priv.status == msgr.LockStatus.UNLOCKED)
            priv.add_contact("alice@example.com")
            bob.wait_for(lambda: any(c.sign_in_name == "alice@example.com" and c.online for c in bob.contacts))
            seen: list[Any] = []
            bob.on_contact_status_change = lambda contact, previous: seen.append((contact.status, previous))
            alice.set_status(Status.OUT_TO_LUNCH)
            alice.wait_for(lambda: alice.status is Status.OUT_TO_LUNCH)
            bob.wait_for(lambda: (Status.OUT_TO_LUNCH, Status.ONLINE) in seen)
            alice.set_friendly_name("Alice & co")
            alice.wait_for(lambda: alice.friendly_name == "Alice & co")
            bob.wait_for(lambda: any(c.friendly_name == "Alice & co" for c in bob.contacts))
            if dialect == "MSNP9":
                with pytest.raises(msgr.NotImplError):
                    alice.set_personal_message("lunch")
                return
            heard: list[Any] = []
            bob.on_contact_personal_message_change = lambda contact: heard.append(contact.personal_message)
            mine: list[Any] = []
            alice.on_my_personal_message_change = lambda hr, previous: mine.append((hr, previous))
            alice.set_personal_message("at <lunch> & back")
            alice.wait_for(lambda: alice.personal_message == "at <lunch> & back")
            assert mine == [(HResult.S_OK, "")]
            bob.wait_for(lambda: "at <lunch> & back" in heard)
            (contact,) = [c for c in bob.contacts if c.sign_in_name == "alice@example.com"]
            assert contact.personal_message == "at <lunch> & back"
