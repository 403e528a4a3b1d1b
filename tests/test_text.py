"""Plain instant messages: ``Messenger.send_text`` and ``on_text_received``, over the
switchboard shared with the peer, embedded and over TCP, in every dialect."""

from __future__ import annotations

import pytest

import msgr

MAX_TEXT = 1533


def two(protocol: str = "MSNP7") -> tuple[msgr.Service, msgr.Messenger, msgr.Messenger]:
    service = msgr.Service(seed=4, protocol=protocol)
    return service, service.sign_in("alice@example.com"), service.sign_in("bob@example.com")


@pytest.mark.parametrize("protocol", ["MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"])
def test_a_message_and_its_answer_cross_one_switchboard(protocol: str) -> None:
    service, alice, bob = two(protocol)
    at_bob: list[tuple[str, str]] = []
    at_alice: list[tuple[str, str]] = []

    def answer(sender: str, text: str) -> None:
        at_bob.append((sender, text))
        bob.send_text(sender, text.upper())

    bob.on_text_received = answer
    alice.on_text_received = lambda sender, text: at_alice.append((sender, text))
    alice.send_text("bob@example.com", "ping ✓")
    assert at_bob == [("alice@example.com", "ping ✓")]
    assert at_alice == [("bob@example.com", "PING ✓")]
    xfr = [e for e in service.trace if e.command == "XFR" and e.direction == "C->S"]
    assert len(xfr) == 1, "the answer went back on the same switchboard"
    plain = [e for e in service.trace if e.command == "MSG" and e.payload and b"text/plain" in e.payload]
    assert plain and all(e.payload.startswith(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n") for e in plain if e.payload)


def test_the_longest_message_fits_and_one_byte_more_is_refused() -> None:
    _, alice, bob = two()
    got: list[str] = []
    bob.on_text_received = lambda sender, text: got.append(text)
    alice.send_text(msgr.Contact("bob@example.com"), "é" * (MAX_TEXT // 2) + "x")
    assert got == ["é" * (MAX_TEXT // 2) + "x"]
    with pytest.raises(msgr.InvalidArgError, match="1 to 1533 bytes"):
        alice.send_text("bob@example.com", "x" * (MAX_TEXT + 1))
    with pytest.raises(msgr.InvalidArgError):
        alice.send_text("bob@example.com", "")
    with pytest.raises(msgr.InvalidArgError, match="yourself"):
        alice.send_text("alice@example.com", "hi")
    with pytest.raises(msgr.InvalidArgError):
        alice.send_text("not a name", "hi")
    with pytest.raises(msgr.InvalidArgTypeError):
        alice.send_text("bob@example.com", b"bytes")  # type: ignore[arg-type]


def test_an_offline_peer_is_not_logged_on_and_a_signed_out_sender_neither() -> None:
    _, alice, _bob = two()
    with pytest.raises(msgr.NotLoggedOnError, match="carol@example.com could not be called: 217"):
        alice.send_text("carol@example.com", "hi")
    alice.sign_out()
    with pytest.raises(msgr.NotLoggedOnError):
        alice.send_text("bob@example.com", "hi")


def test_messages_cross_a_tcp_server() -> None:
    users = [("alice@example.com", "pw"), ("bob@example.com", "pw")]
    with msgr.serve(users=users) as server:
        with msgr.connect(server.address, "alice@example.com", "pw") as alice, msgr.connect(
            server.address, "bob@example.com", "pw"
        ) as bob:
            got: list[tuple[str, str]] = []
            bob.on_text_received = lambda sender, text: got.append((sender, text))
            alice.send_text("bob@example.com", "over tcp")
            bob.wait_for(lambda: got, 5)
            assert got == [("alice@example.com", "over tcp")]
