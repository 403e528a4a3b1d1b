"""Helpers for conformance suites: ready-made objects and a pytest plugin
(``msgr.testing.plugin``, registered through the ``pytest11`` entry point)."""

from __future__ import annotations

from .kit import TEST_APP_ID, TEST_APP_KEY, TEST_GUID, Pair, make_pair, unlock

__all__ = ["TEST_APP_ID", "TEST_APP_KEY", "TEST_GUID", "Pair", "make_pair", "unlock"]
