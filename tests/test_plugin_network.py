"""Network conformance through the plugin's fixtures, written once and run both ways:
against the plugin's local server (in the normal run) and against a
``python -m msgr serve`` named with ``--msgr-server`` / ``--msgr-user`` (run by
``test_plugin.py``).

It uses only the plugin's fixtures and msgr's public API, nothing from this suite's
conftest and nothing it could only know about a local server (except in the
``msgr_local`` test), so it is also a template for a suite that checks another MSNP
server. Every wait is bounded; every connection is closed by the fixtures.
"""

from __future__ import annotations

import uuid

import pytest

import msgr
from msgr.testing import NetworkPair, RemoteServerError, ServerUnderTest

S = msgr.SessionState
WAIT = 10.0


def test_the_server_has_an_address_and_accounts(msgr_server: ServerUnderTest) -> None:
    host, port = msgr_server.address
    assert host and 0 < port < 65536
    assert msgr_server.users, "the server under test has no account"
    assert all(email and password for email, password in msgr_server.users.items())
    assert msgr_server.remote is (msgr_server.handle is None)
    assert f":{port}" in repr(msgr_server)


def test_connect_signs_in_the_first_account(msgr_server: ServerUnderTest) -> None:
    email = next(iter(msgr_server.users))
    messenger = msgr_server.connect()
    assert isinstance(messenger, msgr.Messenger)
    assert messenger.signed_in
    assert messenger.sign_in_name.lower() == email.lower()


def test_a_wrong_password_is_refused(msgr_server: ServerUnderTest) -> None:
    email, password = next(iter(msgr_server.users.items()))
    with pytest.raises(msgr.AuthenticationFailedError):
        msgr_server.connect(email, password + "-not")


def test_an_unknown_account_needs_a_password(msgr_server: ServerUnderTest) -> None:
    with pytest.raises(ValueError, match="pass password="):
        msgr_server.connect("nobody-known@example.com")


def test_the_pair_is_two_signed_in_accounts(msgr_network_pair: NetworkPair, msgr_server: ServerUnderTest) -> None:
    pair = msgr_network_pair
    assert pair.alice.signed_in and pair.bob.signed_in
    assert pair.alice.sign_in_name.lower() == pair.alice_email.lower()
    assert pair.bob.sign_in_name.lower() == pair.bob_email.lower()
    assert [pair.alice_email, pair.bob_email] == list(msgr_server.users)[:2]
    assert pair.server is msgr_server


def test_the_pair_unlocks_once_and_registers_the_app(msgr_network_pair: NetworkPair) -> None:
    pair = msgr_network_pair
    alice_manager, bob_manager = pair.unlock(skip=True)
    for manager in (alice_manager, bob_manager):
        assert manager.status is msgr.LockStatus.UNLOCKED
        assert [guid for guid, *_ in manager.registered_applications] == [pair.guid]
    assert pair.unlock() == (alice_manager, bob_manager)
    assert pair.alice_manager is alice_manager and pair.bob_manager is bob_manager


def test_an_invitation_is_accepted_and_carries_data_both_ways(msgr_network_pair: NetworkPair) -> None:
    pair = msgr_network_pair
    alice_manager, bob_manager = pair.unlock(skip=True)
    invited: list[tuple[msgr.MsgrSession, str | None]] = []
    bob_manager.on_invitation = lambda session, data: invited.append((session, data))

    sa = alice_manager.create_session()
    sa.application = pair.guid
    got_a: list[str] = []
    sa.on_context_data = got_a.append
    sa.invite(pair.bob_email, "hello")
    pair.bob.wait_for(lambda: invited, WAIT)
    sb, data = invited[0]
    assert data == "hello"
    assert sb.user.sign_in_name.lower() == pair.alice_email.lower()

    got_b: list[str] = []
    sb.on_context_data = got_b.append
    sb.accept("yes")
    pair.alice.wait_for(lambda: sa.state is S.CONNECTED, WAIT)
    pair.bob.wait_for(lambda: sb.state is S.CONNECTED, WAIT)
    sa.send_context_data("from alice")
    pair.bob.wait_for(lambda: got_b, WAIT)
    sb.send_context_data("from bob")
    pair.alice.wait_for(lambda: got_a, WAIT)
    assert (got_a, got_b) == (["from bob"], ["from alice"])


def test_accounts_and_licences_are_created_only_locally(msgr_server: ServerUnderTest) -> None:
    email = f"plugin-{uuid.uuid4().hex[:12]}@example.com"
    if msgr_server.remote:
        with pytest.raises(RemoteServerError, match="--msgr-user"):
            msgr_server.add_user(email, "pw")
        with pytest.raises(RemoteServerError):
            msgr_server.license("someone@msnmsgr.com", "KEY")
        assert email not in msgr_server.users
        return
    msgr_server.add_user(email, "pw")
    msgr_server.license(f"app-{email}", "KEY")
    assert msgr_server.users[email] == "pw"
    assert msgr_server.connect(email).signed_in


@pytest.mark.msgr_local
def test_the_local_server_is_a_seeded_msgr_serve(msgr_server: ServerUnderTest) -> None:
    handle = msgr_server.handle
    assert handle is not None and not msgr_server.remote
    assert handle.address == msgr_server.address
    assert msgr_server.address[0] == "127.0.0.1"
    alice = msgr_server.connect()
    assert handle.is_online(alice.sign_in_name)
