"""The MSNP server a network conformance suite runs against, and two users signed in
to it over TCP.

* ``ServerUnderTest``: a server at an address, with the accounts tests may use
  (email -> password). Either *local* (``ServerUnderTest.start()`` runs ``msgr.serve``
  on 127.0.0.1 with ``LOCAL_USERS`` and the test licence; accounts and licences can be
  added) or *remote* (``ServerUnderTest(address, users)``: a server run by someone
  else, whose accounts are the ones given; adding raises ``RemoteServerError``).
  ``connect()`` signs an account in over TCP; ``disconnect()`` closes what it opened.
* ``NetworkPair``: ``alice`` and ``bob``, two signed-in ``msgr.Messenger`` objects of
  one server, with their addresses, and ``unlock()`` for session managers unlocked
  with the server's Lock and Key pair and ``TEST_GUID`` registered.

The pytest plugin's ``msgr_server`` and ``msgr_network_pair`` fixtures give these
objects; they work without pytest too. Where this module says a test is *skipped*
(no account to sign in with, or ``unlock(skip=True)`` refused), it calls
``pytest.skip``, which outside pytest raises pytest's ``Skipped`` exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

import msgr

from .kit import TEST_GUID, ready_manager
from .lock_and_key import TEST_APP_ID, TEST_APP_KEY, TIMEOUT

__all__ = ["LOCAL_USERS", "RemoteServerError", "ServerUnderTest", "NetworkPair", "format_address"]

#: The accounts ``ServerUnderTest.start()`` creates unless told otherwise, in order:
#: ``(email, password)`` of alice and bob (the first two make a ``NetworkPair``).
LOCAL_USERS: tuple[tuple[str, str], ...] = (
    ("alice@example.com", "alice-password"),
    ("bob@example.com", "bob-password"),
)


class RemoteServerError(RuntimeError):
    """Raised when a remote server is asked to do what only the local one can: create
    an account (``add_user``) or license an application (``license``). Give remote
    accounts with ``--msgr-user`` instead, or mark the test ``msgr_local``."""


def format_address(address: tuple[str, int]) -> str:
    """``"host:port"``, with an IPv6 host in brackets (``"[::1]:1863"``)."""
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _skip(reason: str) -> NoReturn:
    """Skips the running test (pytest is imported only here, when a skip happens)."""
    import pytest

    pytest.skip(reason)


class ServerUnderTest:
    """The MSNP server tests run against: its ``address``, the accounts tests may use
    (``users``: email -> password, in the order given) and whether it is ``remote``.

    A local one (made with ``start()``, or given the ``handle`` of a ``msgr.serve``)
    can create accounts and licences; a remote one raises ``RemoteServerError`` for
    both. ``connect()`` signs an account in over TCP and remembers the Messenger;
    ``disconnect()`` closes every one it opened, and ``close()`` also stops a local
    server. Usable as a context manager (``close()`` at the end).

    ``test_license`` is the ``(app_id, key)`` pair tests unlock Lock and Key objects
    with: the test pair of ``msgr.testing`` unless given. A local server licenses it;
    for a remote one it is what you said the server licenses (not checked here:
    ``NetworkPair.unlock`` finds out).
    """

    def __init__(
        self,
        address: tuple[str, int],
        users: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        handle: msgr.ServerHandle | None = None,
        test_license: tuple[str, str] = (TEST_APP_ID, TEST_APP_KEY),
        timeout: float = TIMEOUT,
    ) -> None:
        """A server at ``address`` (``(host, port)``) whose accounts ``users`` tests may
        sign in with. With ``handle`` (the ``msgr.serve`` handle serving ``address``)
        the server is local, and ``close()`` closes the handle; without, it is
        remote. ``timeout`` bounds each ``connect`` (seconds)."""
        host, port = address
        self._address = (host, port)
        pairs = users.items() if isinstance(users, Mapping) else users
        self._users: dict[str, str] = {}
        for email, password in pairs:
            self._users[email] = password
        self._handle = handle
        self._test_license = (test_license[0], test_license[1])
        self._timeout = float(timeout)
        self._connections: list[msgr.Messenger] = []

    @classmethod
    def start(
        cls,
        *,
        users: Iterable[tuple[str, str]] = LOCAL_USERS,
        licenses: Iterable[tuple[str, str]] = ((TEST_APP_ID, TEST_APP_KEY),),
        seed: int | None = 1,
        lock_and_key: str = "enabled",
        timeout: float = TIMEOUT,
    ) -> ServerUnderTest:
        """Starts a local ``msgr.serve`` on a free 127.0.0.1 port with the accounts
        ``users`` (``(email, password)``, by default ``LOCAL_USERS``) and ``licenses``
        (by default the test pair, which is also ``test_license``), seeded with
        ``seed``, and returns it. ``close()`` stops it."""
        accounts = [(email, password) for email, password in users]
        pairs = [(app_id, key) for app_id, key in licenses]
        handle = msgr.serve("127.0.0.1", 0, lock_and_key=lock_and_key, seed=seed, users=accounts, licenses=pairs)
        return cls(handle.address, accounts, handle=handle, timeout=timeout)

    # ------------------------------------------------------------------ what it is

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, as ``msgr.connect`` takes it."""
        return self._address

    @property
    def remote(self) -> bool:
        """True for a server this object did not start (``--msgr-server``)."""
        return self._handle is None

    @property
    def handle(self) -> msgr.ServerHandle | None:
        """The local server's ``msgr.ServerHandle`` (presence, alerts, contact lists as
        the service sees them), or None for a remote server."""
        return self._handle

    @property
    def users(self) -> dict[str, str]:
        """The accounts tests may use, email -> password, in the order given (a copy).
        Locally: the accounts it started with and those ``add_user`` created."""
        return dict(self._users)

    @property
    def test_license(self) -> tuple[str, str]:
        """The ``(app_id, key)`` pair tests unlock Lock and Key objects with."""
        return self._test_license

    # ------------------------------------------------------------------ local only

    def _local(self, what: str) -> msgr.ServerHandle:
        if self._handle is None:
            raise RemoteServerError(
                f"cannot {what} on the remote server {format_address(self._address)}: "
                "only the local server creates accounts and licences (give remote accounts "
                "with --msgr-user, or mark the test msgr_local)"
            )
        return self._handle

    def add_user(self, email: str, password: str, friendly_name: str | None = None) -> None:
        """Creates an account on the local server and adds it to ``users``. It stays
        for the server's lifetime (the plugin's local server lives for the whole test
        run). Raises ``RemoteServerError`` on a remote server, and what
        ``msgr.ServerHandle.add_user`` raises (an existing account, a bad address)."""
        self._local(f"add the account {email}").add_user(email, password, friendly_name)
        self._users[email] = password

    def license(self, app_id: str, key: str) -> None:
        """Licenses an application ID/key pair on the local server (for its lifetime).
        Raises ``RemoteServerError`` on a remote server."""
        self._local(f"license {app_id}").license(app_id, key)

    # ------------------------------------------------------------------ connections

    def _password(self, email: str) -> str:
        for known, password in self._users.items():
            if known.lower() == email.lower():
                return password
        raise ValueError(f"{email} is not an account of {self!r} (known: {', '.join(self._users) or 'none'}); pass password=")

    def connect(self, email: str | None = None, password: str | None = None, *, timeout: float | None = None) -> msgr.Messenger:
        """Signs ``email`` in over TCP (``msgr.connect``) and returns the signed-in
        Messenger, which ``disconnect()`` closes (the plugin does at the end of each
        test).

        ``email`` defaults to the first account of ``users`` (the test is skipped if
        there is none: a remote server given no ``--msgr-user``); ``password``
        defaults to that account's (``ValueError`` for an email not in ``users``).
        ``timeout`` (seconds, by default the server's) bounds the sign-in. Raises what
        ``msgr.connect`` raises: ``AuthenticationFailedError`` for a wrong password,
        ``TimeoutError`` when the server does not answer."""
        if email is None:
            if not self._users:
                _skip(f"no account to sign in with on {format_address(self._address)}: pass --msgr-user EMAIL:PASSWORD")
            email = next(iter(self._users))
        if password is None:
            password = self._password(email)
        messenger = msgr.connect(self._address, email, password, timeout=self._timeout if timeout is None else timeout)
        self._connections.append(messenger)
        return messenger

    def pair(self, alice: str | None = None, bob: str | None = None) -> NetworkPair:
        """Signs two accounts in (by default the first two of ``users``) and returns
        them as a ``NetworkPair``; the test is skipped if ``users`` has fewer than two
        accounts and none are named."""
        if alice is None or bob is None:
            emails = list(self._users)
            if len(emails) < 2:
                _skip(
                    f"two accounts are needed on {format_address(self._address)}, "
                    f"{len(emails)} given: pass --msgr-user EMAIL:PASSWORD twice"
                )
            alice = emails[0] if alice is None else alice
            bob = emails[1] if bob is None else bob
        a = self.connect(alice)
        b = self.connect(bob)
        return NetworkPair(self, a, b, alice, bob)

    def disconnect(self) -> None:
        """Closes (signs out) every Messenger ``connect`` opened and not yet closed by
        this method; idempotent."""
        connections, self._connections = self._connections, []
        for messenger in connections:
            messenger.service.close()

    def close(self) -> None:
        """``disconnect()``, then stops the local server (a remote one is left alone)."""
        self.disconnect()
        if self._handle is not None:
            self._handle.close()

    def __enter__(self) -> ServerUnderTest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "remote" if self.remote else "local"
        return f"<msgr.testing.ServerUnderTest {kind} {format_address(self._address)} users={len(self._users)}>"


@dataclass(eq=False)
class NetworkPair:
    """Two Messengers signed in over TCP to ``server``: ``alice`` (account
    ``alice_email``) and ``bob`` (``bob_email``); the same attribute names as
    ``msgr.testing.Pair``, the embedded pair.

    Their session managers are not unlocked up front, since a remote server may not
    license ``server.test_license``: ``unlock()`` (or the first use of
    ``alice_manager`` / ``bob_manager``) unlocks one for each and registers ``guid``.
    """

    server: ServerUnderTest
    alice: msgr.Messenger
    bob: msgr.Messenger
    alice_email: str
    bob_email: str
    guid: str = TEST_GUID
    _managers: tuple[msgr.MsgrSessionManager, msgr.MsgrSessionManager] | None = field(default=None, init=False, repr=False)

    def unlock(self, *, skip: bool = False) -> tuple[msgr.MsgrSessionManager, msgr.MsgrSessionManager]:
        """Alice's and Bob's session managers, unlocked with ``server.test_license``
        (nothing to unlock where the server has Lock and Key off) and with ``guid``
        registered; made on the first call, the same pair afterwards.

        If the server does not unlock them (it does not license that pair, or does
        not answer in time), raises ``AssertionError`` saying so, or with
        ``skip=True`` skips the test instead."""
        if self._managers is None:
            app_id, key = self.server.test_license
            try:
                managers = (
                    ready_manager(self.alice, self.guid, app_id=app_id, key=key),
                    ready_manager(self.bob, self.guid, app_id=app_id, key=key),
                )
            except AssertionError as exc:
                reason = (
                    f"the server at {format_address(self.server.address)} did not unlock a session manager "
                    f"with {app_id} (pass --msgr-license ID:KEY with a pair it licenses): {exc}"
                )
                if skip:
                    _skip(reason)
                raise AssertionError(reason) from exc
            self._managers = managers
        return self._managers

    @property
    def alice_manager(self) -> msgr.MsgrSessionManager:
        """Alice's unlocked session manager (``unlock()[0]``)."""
        return self.unlock()[0]

    @property
    def bob_manager(self) -> msgr.MsgrSessionManager:
        """Bob's unlocked session manager (``unlock()[1]``)."""
        return self.unlock()[1]
