"""The service's own operations, shared by the embedded ``Service`` and the TCP server's
``ServerHandle``: both hold a ``_core.ServiceCore``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Callable

from . import _args, _core
from .alerts import AlertDelivery
from .counts import ServiceCounts
from .errors import FailError, InvalidArgTypeError


class ServiceOperations:
    """Accounts, licences, presence and alerts of a Messenger service."""

    _service: _core.ServiceCore
    _closed: bool = False

    def _check_open(self) -> None:
        if self._closed:
            raise FailError(f"{type(self).__name__} is closed: start a new one")

    def _deliver(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Runs an operation that may cause events (the embedded service delivers them
        before returning)."""
        return fn(*args)

    @property
    def lock_and_key(self) -> str:
        """``"enabled"``, ``"disabled"`` or ``"off"``: whether objects start locked."""
        return self._service.lock_and_key

    def license(self, app_id: str, key: str) -> None:
        """Registers an ID/key pair that the Lock and Key server accepts."""
        self._check_open()
        self._service.license(_args.text(app_id, "app_id"), _args.text(key, "key"))

    def add_user(self, email: str, password: str, friendly_name: str | None = None, *, exist_ok: bool = False) -> None:
        """Creates an account. An account that exists is an error (``FailError``), unless
        ``exist_ok``: then its password (and friendly name, if one is given) is
        updated, so a service restarted with the same users works.

        Where MSNP7 is not served the service keeps an Argon2id hash, not the password;
        ``password`` may then be such a hash itself (``msgr.hash_password``), so that
        no file needs to hold the password."""
        self.add_users([(email, password, friendly_name)], exist_ok=exist_ok)

    def add_users(self, users: Iterable[Sequence[str | None]], *, exist_ok: bool = False) -> None:
        """Creates many accounts, each ``(email, password)`` or ``(email, password,
        friendly_name)``, as ``add_user`` does: every one is checked before any is
        written (one bad entry writes none), and their passwords are hashed side by side
        on at most four threads, so thousands of accounts start in seconds, not minutes,
        in memory that does not grow with their number."""
        self._check_open()
        if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
            raise InvalidArgTypeError(f"users must be an iterable of (email, password[, friendly_name]), not {type(users).__name__}")
        checked: list[tuple[str, str, str | None]] = []
        for i, user in enumerate(users):
            if isinstance(user, (str, bytes)) or not isinstance(user, Sequence) or len(user) not in (2, 3):
                raise InvalidArgTypeError(f"users[{i}] must be (email, password) or (email, password, friendly_name), not {user!r:.60}")
            friendly = user[2] if len(user) == 3 else None
            checked.append(
                (_args.text(user[0], f"users[{i}] email"), _args.text(user[1], f"users[{i}] password"), _args.optional_text(friendly, f"users[{i}] friendly_name"))
            )
        self._service.add_users(checked, _args.flag(exist_ok, "exist_ok"))

    @property
    def users(self) -> dict[str, str]:
        """Every account: sign-in name -> friendly name."""
        return dict(self._service.accounts())

    def counts(self) -> ServiceCounts:
        """What the service holds live now (``msgr.ServiceCounts``): connections,
        signed-in users, switchboards, outstanding cookies, tickets and challenges,
        writes in flight. Reading changes nothing. Once every user has signed out and
        their connections have closed, every count is zero (``.idle``)."""
        return ServiceCounts._from_core(self._service.counts())

    def is_online(self, email: str) -> bool:
        """Whether the account is signed in now."""
        return bool(self._service.is_online(_args.text(email, "email")))

    def _count_alerts(self, send: Callable[[], Any]) -> tuple[Any, int | None]:
        """Runs ``send``; how many ``on_alert_received`` it caused, where that can be
        seen (None: a server cannot see into its clients)."""
        return send(), None

    def send_alert(
        self, email: str, site_id: int, text: str, *, site_url: str = "", action_url: str = "", subscribe_url: str = ""
    ) -> AlertDelivery:
        """Pushes an MSN Alert (``NOT``) to a signed-in user; their MessengerPriv objects
        that enabled ``site_id`` (and are unlocked) fire ``on_alert_received``.

        Returns an ``AlertDelivery``: ``.sent`` (False: not signed in, nothing sent),
        ``.received`` (how many MessengerPriv objects took it; None on a server, which
        cannot see into a client), true when it reached an application."""
        self._check_open()
        args = (
            _args.text(email, "email"),
            _args.long(site_id, "site_id"),
            _args.text(text, "text"),
            _args.text(site_url, "site_url"),
            _args.text(action_url, "action_url"),
            _args.text(subscribe_url, "subscribe_url"),
        )
        sent, received = self._count_alerts(lambda: self._deliver(self._service.send_alert, *args))
        return AlertDelivery(bool(sent), received)

    def contact_list(self, email: str, list_name: str = "FL") -> list[str]:
        """The service's copy of a user's list (``FL``, ``AL``, ``BL`` or ``RL``)."""
        return self._service.contact_list(_args.text(email, "email"), _args.text(list_name, "list_name"))
