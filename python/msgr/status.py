"""``msgr.Status``: a user's presence as MSNP names it (msnp.md §b.9)."""

from __future__ import annotations

import enum

__all__ = ["Status"]


class Status(str, enum.Enum):
    """A user's presence, valued by its MSNP code: ``Status.AWAY == "AWY"``. Prints as
    ``Status.AWAY`` (as the other enums do); a format spec formats the code
    (``f"{s:s}"``). ``OFFLINE`` is what the service says of a user who is signed out
    or appears offline; a user cannot set it (``APPEAR_OFFLINE`` is ``HDN``)."""

    ONLINE = "NLN"
    BUSY = "BSY"
    IDLE = "IDL"
    BE_RIGHT_BACK = "BRB"
    AWAY = "AWY"
    ON_THE_PHONE = "PHN"
    OUT_TO_LUNCH = "LUN"
    APPEAR_OFFLINE = "HDN"
    OFFLINE = "FLN"

    def __str__(self) -> str:
        return f"Status.{self.name}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else self.value.__format__(spec)

    @classmethod
    def of(cls, code: str | None) -> Status | str | None:
        """The member for an MSNP code; a code msgr does not know stays as it came."""
        if code is None:
            return None
        try:
            return cls(code)
        except ValueError:
            return code
