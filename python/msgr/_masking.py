"""What a printed or shared trace hides: the fields that prove a password or a key, or
let whoever reads them in: a ``USR … S`` proof or ticket, a switchboard cookie (in
``XFR``, ``RNG``, and the ``USR``/``ANS`` that redeem it). ``QRY`` answers are payloads
and are hidden by the callers. The rule is the core's (``src/wire/masking.rs``), so
that ``msgr serve --trace``, every trace, the conformance suite's wire logs and the
``msgr.wire`` log hide the same things."""

from __future__ import annotations

from collections.abc import Sequence

from . import _core

__all__ = ["masked_args", "HIDDEN"]

#: What a hidden field is shown as.
HIDDEN = "***"


def masked_args(command: str, args: Sequence[str], direction: str) -> list[str]:
    """``args`` of ``command`` (TrID first, as a trace keeps them) sent in ``direction``
    (``"C->S"`` or ``"S->C"``) with the secret field replaced by ``***``."""
    shown = list(args)
    hide = _core.secret_field(direction, command, shown)
    if hide is not None:
        shown[hide] = HIDDEN
    return shown
