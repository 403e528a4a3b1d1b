"""Building blocks the fixtures use, usable without pytest too: a seeded service with
a licence and users, a ready session manager, and two ready users."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgr

from .lock_and_key import TEST_APP_ID, TEST_APP_KEY, TIMEOUT, unlock

#: A made-up application (``register_application`` arguments) for tests.
TEST_GUID = "{6D2D0C1E-5A7F-4B3C-9E8D-7F6A5B4C3D2E}"
TEST_APP_NAME = "Conformance App"
TEST_APP_URL = "http://example.com/app"
TEST_APP_PATH = "/usr/bin/conformance-app"

#: An account: ``(email, password)`` or ``(email, password, friendly name)``, as
#: ``msgr.serve(users=...)`` takes them.
User = tuple[str, str] | tuple[str, str, str | None]


def new_service(
    lock_and_key: str = "enabled",
    *,
    seed: int = 1,
    users: Iterable[User] = (),
    licenses: Iterable[tuple[str, str]] = ((TEST_APP_ID, TEST_APP_KEY),),
    db: str | os.PathLike[str] | None = None,
) -> msgr.Service:
    """A seeded embedded service (Lock and Key ``"enabled"``, ``"disabled"`` or
    ``"off"``) with every ``(app_id, key)`` of ``licenses`` licensed (by default the
    test pair) and every account of ``users`` added, in order."""
    service = msgr.Service(lock_and_key=lock_and_key, seed=seed, db=db)
    for app_id, key in licenses:
        service.license(app_id, key)
    for user in users:
        service.add_user(*user)
    return service


def ready_manager(
    messenger: msgr.Messenger,
    guid: str | None = TEST_GUID,
    name: str = TEST_APP_NAME,
    url: str = TEST_APP_URL,
    path: str = TEST_APP_PATH,
    *,
    cookie: int = 1,
    app_id: str = TEST_APP_ID,
    key: str = TEST_APP_KEY,
    timeout: float = TIMEOUT,
) -> msgr.MsgrSessionManager:
    """A new session manager of ``messenger``, unlocked with ``app_id``/``key`` (see
    ``unlock``; nothing to do where the service has Lock and Key off) and, unless
    ``guid`` is ``None``, with the application ``guid``/``name``/``url``/``path``
    registered."""
    manager = messenger.session_manager()
    if manager.status is not msgr.LockStatus.UNLOCKED:
        unlock(manager, app_id, key, cookie, timeout=timeout)
    if guid is not None:
        manager.register_application(guid, name, url, path)
    return manager


@dataclass
class Pair:
    """Two signed-in Messengers whose session managers are unlocked and have
    ``guid`` registered."""

    service: Any
    alice: msgr.Messenger
    bob: msgr.Messenger
    alice_manager: msgr.MsgrSessionManager
    bob_manager: msgr.MsgrSessionManager
    guid: str = TEST_GUID

    def invite_and_accept(self, app_data: str = "hello", accept_data: str = "ok") -> msgr.MsgrSession:
        """Alice invites Bob to ``guid`` and Bob accepts at once (his ``on_invitation`` is
        replaced); returns Alice's session, which an embedded service has connected."""
        self.bob_manager.on_invitation = lambda session, _: session.accept(accept_data)
        session = self.alice_manager.create_session()
        session.application = self.guid
        session.invite(self.bob.sign_in_name, app_data)
        return session


def make_pair(service: Any = None, *, alice: str = "alice@example.com", bob: str = "bob@example.com") -> Pair:
    """A ready pair on an embedded service (a new seeded one unless given), which gets
    the test pair licensed; the accounts are created unless they exist."""
    if service is None:
        service = msgr.Service(seed=1)
    service.license(TEST_APP_ID, TEST_APP_KEY)
    a, b = service.sign_in(alice), service.sign_in(bob)
    return Pair(service, a, b, ready_manager(a), ready_manager(b))
