"""What the conformance suite (``msgr.conformance``) found ``msgr serve`` doing against
the protocol notes, fixed and pinned here at the wire level, over TCP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import msgr
from msgr.testing.wire import RawConnection

USERS = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b")]


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve("127.0.0.1", 0, users=USERS, protocols=["MSNP7"]) as handle:
        yield handle


@pytest.fixture
def alice(server: msgr.ServerHandle) -> Iterator[RawConnection]:
    with RawConnection.open(*server.address, label="alice NS") as conn:
        conn.call("VER", "MSNP7", "CVR0")
        salt = conn.call("USR", "MD5", "I", "alice@example.com").args[3]
        assert conn.call("USR", "MD5", "S", msgr.lock_response(salt, "pw-a")).args[1] == "OK"
        yield conn
        conn.send("OUT")
        conn.expect_closed()


def test_an_add_reply_echoes_the_request(alice: RawConnection) -> None:
    """msnp.md §g.2: the reply is the request with the list version inserted after the
    list name: the custom name as sent, a group only when one was sent. (msgr used to
    answer with the contact's own friendly name and always add group 0.)"""
    for request in (("FL", "bob@example.com", "Bobby%20B"), ("AL", "bob@example.com", "bob@example.com"), ("BL", "bob@example.com", "x", "0")):
        reply = alice.call("ADD", *request)
        assert reply.name == "ADD" and reply.args[2].isdigit(), reply.line
        assert reply.args[:2] + reply.args[3:] == (str(reply.trid), *request)
        alice.call("REM", request[0], request[1])


def test_an_add_to_a_group_other_than_0_is_224(alice: RawConnection) -> None:
    """Group 0 ("Other Contacts") is the only group msgr keeps (msnp8-12.md §e.1)."""
    assert alice.call("ADD", "FL", "bob@example.com", "bob@example.com", "1").error_code == 224
