"""``msgr.Group``: one of the user's contact groups."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A contact group: ``id`` as the dialect names it (its number up to MSNP9, where
    group ``"0"``, "Other Contacts", always exists; its GUID from MSNP10) and its
    ``name``. ``str(group)`` is the name."""

    id: str
    name: str

    def __str__(self) -> str:
        return self.name
