"""The features the suite checks, each with where its expectations come from: the
project's protocol notes (in the repository, ``docs/protocol/msnp.md`` for MSNP7 and what
did not change, ``docs/protocol/msnp8-12.md`` for MSNP8 to MSNP12; section numbers as in
those files) and, for the Lock and Key extension, ``docs/decisions.md``.
``docs/conformance.md`` describes each."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

__all__ = ["Feature", "FEATURES"]


@dataclass(frozen=True)
class Feature:
    """A row of the report: ``name`` and ``source``."""

    name: str
    source: str

    def __call__(self, dialects: str = "all", source: str | None = None) -> pytest.MarkDecorator:
        """The ``msgr_feature`` marker of a check of this feature: in ``dialects``
        (``"all"``, ``"MSNP8+"``, ``"MSNP7-9"``, ``"MSNP11"``, or ``"once"``), with its
        own ``source`` when it is narrower than the feature's."""
        return pytest.mark.msgr_feature(self.name, source or self.source, dialects=dialects)


VER = Feature("VER negotiation", "msnp8-12.md §b.1; msnp.md §b.2")
CVR = Feature("CVR", "msnp8-12.md §b.2; msnp.md §b.3")
SIGN_IN_MD5 = Feature("sign-in MD5", "msnp.md §b.4, §b.5")
SIGN_IN_TWN = Feature("sign-in TWN", "msnp8-12.md §c.1, §c.6")
PASSPORT = Feature("Passport 1.4", "msnp8-12.md §c.2–§c.5")
PROFILE = Feature("login profile", "msnp.md §a.4; msnp8-12.md §c.6, §c.7")
WRONG_PASSWORD = Feature("wrong password", "msnp.md §b.5; msnp8-12.md §c.5")
UNKNOWN_ACCOUNT = Feature("unknown account", "msnp.md §b.5; msnp8-12.md §c.1, §c.5")
SECOND_SIGN_IN = Feature("OUT, OUT OTH", "msnp.md §b.12; msnp8-12.md §c.6, §k")
FRAMING = Feature("framing", "msnp.md §a.2, §a.3")
SYN = Feature("SYN and lists", "msnp.md §b.8; msnp8-12.md §d.1–§d.5")
LISTS = Feature("ADD/ADC/REM", "msnp.md §g.2; msnp8-12.md §e.1–§e.3")
LIST_ERRORS = Feature("list errors", "msnp.md §a.5, §g.2; msnp8-12.md §e.1–§e.3, §l")
PRIVACY = Feature("GTC/BLP", "msnp8-12.md §d.7")
RENAME = Feature("friendly name", "msnp8-12.md §d.8, §f.3")
CHG = Feature("CHG", "msnp.md §b.9; msnp8-12.md §f.1")
PRESENCE = Feature("presence to watchers", "msnp8-12.md §f.1, §f.3")
XFR = Feature("XFR SB", "msnp.md §b.10; msnp8-12.md §j.1")
CALL = Feature("CAL/RNG/ANS/IRO/JOI", "msnp.md §b.11, §c.1, §c.2; msnp8-12.md §j.2, §j.3")
RELAY = Feature("MSG relay", "msnp.md §a.4; msnp8-12.md §j.4")
ACKS = Feature("ACK/NAK", "msnp.md §a.4")
BYE = Feature("BYE", "msnp.md §c.3; msnp8-12.md §j.4")
PINGS = Feature("server pings", "msnp.md §d.1, §d.3, §d.4; msnp8-12.md §i")
KEEPALIVE = Feature("PNG/QNG", "msnp.md §b.13; msnp8-12.md §g")
BAD_INPUT = Feature("bad input", "msnp.md §a.2–§a.5")
OTHER_DIALECT = Feature("other dialects' commands", "msnp.md §b.4; msnp8-12.md §c.1, §e.1, §l")
UUX = Feature("UUX/UBX", "msnp8-12.md §h.1, §h.2")
GCF = Feature("GCF Shields.xml", "msnp8-12.md §h.3")
LOCK_AND_KEY = Feature("Lock and Key", "msnp.md §e.1, §e.3; docs/decisions.md (Lock and Key, wire)")

#: Every feature, in the report's order.
FEATURES: tuple[Feature, ...] = (
    FRAMING,
    VER,
    CVR,
    SIGN_IN_MD5,
    SIGN_IN_TWN,
    PASSPORT,
    PROFILE,
    WRONG_PASSWORD,
    UNKNOWN_ACCOUNT,
    SECOND_SIGN_IN,
    SYN,
    LISTS,
    LIST_ERRORS,
    PRIVACY,
    RENAME,
    CHG,
    PRESENCE,
    XFR,
    CALL,
    RELAY,
    ACKS,
    BYE,
    PINGS,
    KEEPALIVE,
    BAD_INPUT,
    OTHER_DIALECT,
    UUX,
    GCF,
    LOCK_AND_KEY,
)
