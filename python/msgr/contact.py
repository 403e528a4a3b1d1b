"""``msgr.Contact``: a user as the API hands it around (``MsgrSession.user``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Contact:
    """A Messenger user: the ``MessengerContact`` of the COM API."""

    sign_in_name: str
    friendly_name: str | None = None

    def __str__(self) -> str:
        return self.sign_in_name
