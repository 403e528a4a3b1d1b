"""The features the suite checks: the rows of its report. Each case (``cases.py``)
belongs to one. A feature's ``key`` is how ``--msgr-without`` names it, to declare
that the server under check does not offer it (its cases are then UNSUPPORTED).
Also the report's column for the cases that run once, and the suite's revision."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Feature", "FEATURES", "by_key", "ONCE", "SUITE_REVISION"]

#: Bumped whenever a case is added, removed, or judges differently; stamped on every
#: report beside msgr's version, so two reports say whether they used the same cases.
SUITE_REVISION = 3

#: The dialect column of the cases that run once.
ONCE = "any"


@dataclass(frozen=True)
class Feature:
    """A row of the report: ``name`` as shown, ``key`` as ``--msgr-without`` takes it."""

    name: str
    key: str


FRAMING = Feature("framing", "framing")
VER = Feature("VER negotiation", "ver")
CVR = Feature("CVR", "cvr")
SIGN_IN_MD5 = Feature("sign-in MD5", "sign-in-md5")
SIGN_IN_TWN = Feature("sign-in TWN", "sign-in-twn")
PASSPORT = Feature("Passport 1.4", "passport")
PROFILE = Feature("login profile", "profile")
WRONG_PASSWORD = Feature("wrong password", "wrong-password")
UNKNOWN_ACCOUNT = Feature("unknown account", "unknown-account")
SECOND_SIGN_IN = Feature("OUT, OUT OTH", "out")
SYN = Feature("SYN and lists", "syn")
LISTS = Feature("ADD/ADC/REM", "lists")
LIST_ERRORS = Feature("list errors", "list-errors")
GROUPS = Feature("groups", "groups")
NICKNAMES = Feature("contact names", "contact-names")
PHONES = Feature("phone numbers", "phones")
PRIVACY = Feature("GTC/BLP", "privacy")
RENAME = Feature("friendly name", "rename")
CHG = Feature("CHG", "chg")
PRESENCE = Feature("presence to watchers", "presence")
XFR = Feature("XFR SB", "xfr")
CALL = Feature("CAL/RNG/ANS/IRO/JOI", "call")
RELAY = Feature("MSG relay", "relay")
ACKS = Feature("ACK/NAK", "acks")
BYE = Feature("BYE", "bye")
PINGS = Feature("server pings", "pings")
KEEPALIVE = Feature("PNG/QNG", "keepalive")
BAD_INPUT = Feature("bad input", "bad-input")
OTHER_DIALECT = Feature("other dialects' commands", "other-dialects")
UUX = Feature("UUX/UBX", "uux")
GCF = Feature("GCF Shields.xml", "gcf")
LOCK_AND_KEY = Feature("Lock and Key", "lock-and-key")

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
    GROUPS,
    NICKNAMES,
    PHONES,
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


def by_key(key: str) -> Feature | None:
    """The feature ``--msgr-without`` names ``key``, or None."""
    return next((f for f in FEATURES if f.key == key), None)
