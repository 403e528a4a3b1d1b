"""Optional packages, imported where used, with an error that names what is missing
and how to get it (a bare ``ImportError`` from deep inside msgr says neither)."""

from __future__ import annotations

from typing import Any

__all__ = ["pandas"]


def pandas(purpose: str) -> Any:
    """The ``pandas`` module, or ``ModuleNotFoundError`` saying that ``purpose`` needs
    it and how to install it."""
    try:
        import pandas as module  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"{purpose} needs pandas, an optional package msgr does not install: pip install pandas",
            name="pandas",
        ) from exc
    return module
