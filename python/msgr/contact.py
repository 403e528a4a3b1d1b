"""``msgr.Contact``: a user as the API hands it around (``MsgrSession.user``,
``on_contact_list_add``) and takes it (``MsgrSession.invite``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Contact:
    """A Messenger user: the ``MessengerContact`` of the COM API. ``status`` is the
    presence as last seen, a ``msgr.Status`` (``Status.ONLINE``, equal to its MSNP code
    ``"NLN"``; ``Status.OFFLINE``, ``"FLN"``), or None when unknown: the service
    reports presence only for the forward list, so a peer met in a session but not
    added is None."""

    sign_in_name: str
    friendly_name: str | None = None
    #: A ``msgr.Status`` (equal to its MSNP code, ``"NLN"``), or None when unknown.
    status: str | None = None
    #: The personal message the contact set (MSNP11+), None when none came.
    personal_message: str | None = None
    #: The ids of the groups a forward-list contact is in (``msgr.Group.id``); none
    #: for a contact in no group (up to MSNP9: in group 0, "Other Contacts").
    groups: Sequence[str] = ()

    def __post_init__(self) -> None:
        from .status import Status

        object.__setattr__(self, "status", Status.of(self.status))
        object.__setattr__(self, "groups", tuple(self.groups))

    @property
    def online(self) -> bool:
        """True unless the status is unknown (``None``) or ``"FLN"`` (offline)."""
        return self.status not in (None, "FLN")

    def __str__(self) -> str:
        return self.sign_in_name
