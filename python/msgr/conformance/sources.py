"""Where the rules the cases check are written: public documentation of the original
service, and the code of the servers and clients whose behaviour is on record. A
case names the sources its rule rests on; these are the ones many cases share."""

from __future__ import annotations

__all__ = [
    "HYP_AUTH",
    "HYP_ERRORS",
    "HYP_MESSAGES",
    "HYP_SB",
    "MSNPIKI_ERRORS",
    "MS_PASS",
    "DRAFT",
    "y111",
    "nina",
    "escargot",
    "r2m",
    "sdk",
]

HYP_AUTH = "hypothetic.org, Notification: Authentication — http://www.hypothetic.org/docs/msn/sitev2.0/notification/authentication.php"
HYP_ERRORS = "hypothetic.org, Reference: Error List — http://www.hypothetic.org/docs/msn/reference/error_list.php"
HYP_MESSAGES = "hypothetic.org, Notification: Messages — http://www.hypothetic.org/docs/msn/notification/messages.php"
HYP_SB = "hypothetic.org, Switchboard — http://www.hypothetic.org/docs/msn/switchboard/"
MSNPIKI_ERRORS = "MSNPiki, Reference:Error List — http://msnpiki.msnfanatic.com/index.php/Reference:Error_List"
MS_PASS = "Microsoft [MS-PASS] Passport Server Side Include (SSI) Version 1.4 Protocol, §2.2.1–2.2.12"
DRAFT = "IETF draft-movva-msn-messenger-protocol-00 (1999), §7–§8"


def y111(page: str) -> str:
    """A page of the yellows111 msnp-wiki (``commands/usr``, ``versions/msnp11``)."""
    return f"yellows111 msnp-wiki, {page} — https://yellows111.darkok.xyz/msnp/{page}.html"


def nina(page: str) -> str:
    """A page of the NINA wiki (``Commands/USR``)."""
    return f"NINA wiki, Protocols/MSNP/{page} — https://wiki.nina.chat/wiki/Protocols/MSNP/{page}"


def escargot(where: str) -> str:
    """Where Escargot (a third-party server) shows the behaviour."""
    return f"Escargot server (github.com/subpurple/escargot @1f5a1903), {where}"


def r2m(where: str) -> str:
    """Where R²M (a third-party server) shows the behaviour."""
    return f"R²M server (github.com/campos02/rusty-retro-messaging @07ae691), {where}"


def sdk(where: str) -> str:
    """Where msnp11-sdk (a third-party client) needs the behaviour."""
    return f"msnp11-sdk 0.13 client (crates.io/crates/msnp11-sdk), {where}"
