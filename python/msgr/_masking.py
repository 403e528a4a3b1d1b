"""What a printed or shared trace hides: the fields that prove a password or a key, or
let whoever reads them in: a ``USR … S`` proof or ticket, a switchboard cookie (in
``XFR``, ``RNG``, and the ``USR``/``ANS`` that redeem it). ``QRY`` answers are payloads
and are hidden by the callers. One place, so that ``msgr serve --trace`` and the
conformance suite's wire logs hide the same things."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["masked_args", "HIDDEN"]

#: What a hidden field is shown as.
HIDDEN = "***"


def masked_args(command: str, args: Sequence[str], direction: str) -> list[str]:
    """``args`` of ``command`` (TrID first, as a trace keeps them) with the secret fields
    replaced by ``***``."""
    shown = list(args)
    hide: int | None = None
    if direction == "C->S":
        if command == "USR" and len(shown) >= 4 and shown[2] == "S":
            hide = 3  # USR t TWN|MD5 S <ticket or proof>
        elif command == "USR" and len(shown) == 3 and "@" in shown[1]:
            hide = 2  # switchboard USR t <account> <cookie>
        elif command == "ANS" and len(shown) >= 3:
            hide = 2  # ANS t <account> <cookie> <session>
    elif command == "XFR" and len(shown) >= 5 and shown[3] == "CKI":
        hide = 4  # XFR t SB <address> CKI <cookie>
    elif command == "RNG" and len(shown) >= 4 and shown[2] == "CKI":
        hide = 3  # RNG <session> <address> CKI <cookie> <caller> <name>
    if hide is not None:
        shown[hide] = HIDDEN
    return shown
