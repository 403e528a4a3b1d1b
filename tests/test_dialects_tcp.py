"""msgr's client against msgr's server over TCP in every dialect: sign-in (Passport
through the server's own nexus from MSNP8), Lock and Key, an invitation to CONNECTED
with context data, a cancel, a plain message; and the same from asyncio."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import msgr
import msgr.aio
from msgr.testing import TEST_APP_ID, TEST_APP_KEY, TEST_GUID, ready_manager

DIALECTS = ["MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12"]
USERS = [("alice@example.com", "pw-a"), ("bob@example.com", "pw-b")]
WAIT = 10.0
S = msgr.SessionState


@pytest.fixture(scope="module")
def server() -> Iterator[msgr.ServerHandle]:
    with msgr.serve(users=USERS, licenses={TEST_APP_ID: TEST_APP_KEY}) as handle:
        yield handle


def connect(server: msgr.ServerHandle, who: int, protocol: str) -> msgr.Messenger:
    email, password = USERS[who]
    return msgr.connect(server.address, email, password, protocols=[protocol], nexus=server.nexus_url)


@pytest.mark.parametrize("protocol", DIALECTS)
def test_every_api_flow_over_tcp(server: msgr.ServerHandle, protocol: str) -> None:
    with connect(server, 0, protocol) as alice, connect(server, 1, protocol) as bob:
        traced = [e.line for e in alice.service.trace]
        assert traced[0] == f"VER 1 {protocol} CVR0"
        assert ("USR 3 TWN I alice@example.com" in traced) is (protocol != "MSNP7")
        alice_manager, bob_manager = ready_manager(alice), ready_manager(bob)
        assert alice_manager.status is msgr.LockStatus.UNLOCKED

        sessions: list[msgr.MsgrSession] = []
        data: list[str] = []

        def on_invitation(session: msgr.MsgrSession, app_data: str | None) -> None:
            sessions.append(session)
            session.on_context_data = data.append
            if app_data == "play":
                session.accept("ready")

        bob_manager.on_invitation = on_invitation
        session = alice_manager.create_session()
        session.application = TEST_GUID
        session.invite("bob@example.com", "play")
        alice.wait_for(lambda: session.state is S.CONNECTED, WAIT)
        bob.wait_for(lambda: sessions and sessions[0].state is S.CONNECTED, WAIT)
        session.send_context_data("e2e4")
        bob.wait_for(lambda: data, WAIT)
        assert data == ["e2e4"]

        later = alice_manager.create_session()
        later.application = TEST_GUID
        later.invite("bob@example.com", "maybe")
        bob.wait_for(lambda: len(sessions) == 2, WAIT)
        later.cancel(int(msgr.HResult.SR_SESSION_CANCELLED_LOCAL))
        bob.wait_for(lambda: sessions[1].state is S.CANCELLED, WAIT)

        texts: list[tuple[str, str]] = []
        bob.on_text_received = lambda sender, text: texts.append((sender, text))
        alice.send_text("bob@example.com", f"hello in {protocol}")
        bob.wait_for(lambda: texts, WAIT)
        assert texts == [("alice@example.com", f"hello in {protocol}")]


def test_asyncio_signs_in_over_msnp11_through_the_nexus(server: msgr.ServerHandle) -> None:
    async def main() -> list[str]:
        email, password = USERS[0]
        async with msgr.aio.connect(server.address, email, password, protocols=["MSNP11"], nexus=server.nexus_url) as alice:
            manager = alice.session_manager()
            await alice.unlock(manager, TEST_APP_ID, TEST_APP_KEY)
            return [e.line for e in alice.messenger.service.trace][:2] + [manager.status.name]

    assert asyncio.run(main()) == ["VER 1 MSNP11 CVR0", "VER 1 MSNP11", "UNLOCKED"]


def test_without_a_nexus_the_client_offers_msnp7_only(server: msgr.ServerHandle) -> None:
    email, password = USERS[0]
    with msgr.connect(server.address, email, password) as alice:
        assert alice.service.trace[0].line == "VER 1 MSNP7 CVR0"
    with msgr.connect(server.address, email, password, nexus=server.nexus_url) as alice:
        assert alice.service.trace[0].line == "VER 1 MSNP12 MSNP11 MSNP10 MSNP9 MSNP8 MSNP7 CVR0"
        assert alice.service.trace[1].line == "VER 1 MSNP12"
