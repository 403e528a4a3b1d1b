"""The suite's cases and their grades.

A case has a stable id tied to the protocol (``ns/usr/3``: the server it talks to,
the command, a number; per dialect it reads ``msnp11/ns/usr/3``, and a case that
runs once ``any/nexus/passport/1``), the rule it checks quoted with its public
sources, the feature it belongs to (a row of the report), and the dialects it
applies to. ``CASES`` holds every case once its module is imported; ``catalogue()``
imports them all, so the list needs no server.

A case ends with one grade (``Grade``), the worst of how the server answered and,
for a case that says how the connection must end, how it ended.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from .features import ONCE, SUITE_REVISION, Feature
from .grades import SEVERITY, Grade, worst
from .target import DIALECTS, dialect_number

__all__ = ["Grade", "SEVERITY", "worst", "Case", "CASES", "case", "catalogue", "applies", "ONCE", "SUITE_REVISION"]



def applies(spec: str, dialect: str) -> bool:
    """Whether a case's ``dialects`` (``"all"``, ``"MSNP8+"``, ``"MSNP7-9"``,
    ``"MSNP11"``) covers ``dialect``."""
    n = dialect_number(dialect)
    if spec == "all":
        return True
    if spec.endswith("+"):
        return n >= dialect_number(spec[:-1])
    if "-" in spec:
        low, high = spec.split("-", 1)
        return dialect_number(low) <= n <= int(high)
    return n == dialect_number(spec)


@dataclass(frozen=True)
class Case:
    """One case: ``id`` (``ns/usr/3``), ``feature``, ``dialects`` (a spec for
    ``applies``, or ``"once"``), ``title`` (what it checks, one line), ``rule`` (the
    requirement, quoted), ``sources`` (where the rule is written, public), and the
    test function's ``module`` and ``function``."""

    id: str
    feature: Feature
    dialects: str
    title: str
    rule: str
    sources: tuple[str, ...]
    module: str
    function: str

    @property
    def once(self) -> bool:
        return self.dialects == "once"

    def in_dialects(self) -> tuple[str, ...]:
        """The dialects of ``DIALECTS`` the case applies to (empty when it runs once)."""
        if self.once:
            return ()
        return tuple(d for d in DIALECTS if applies(self.dialects, d))

    def full_id(self, dialect: str | None) -> str:
        """``msnp11/ns/usr/3``, or ``any/…`` for a case that runs once."""
        return f"{(dialect or ONCE).lower()}/{self.id}"

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "feature": self.feature.name,
            "dialects": self.dialects,
            "title": self.title,
            "rule": self.rule,
            "sources": list(self.sources),
        }


#: Every case by id, in the order their modules define them.
CASES: dict[str, Case] = {}

_MARKER = "msgr_case"
F = TypeVar("F", bound=Callable[..., Any])


def case(id: str, feature: Feature, *, rule: str, sources: tuple[str, ...] | list[str], dialects: str = "all") -> Callable[[F], F]:
    """Declares a test function a case. Its docstring's first line is the title."""

    def register(function: F) -> F:
        if id in CASES and CASES[id].function != function.__name__:
            raise ValueError(f"case id {id} is used twice ({CASES[id].function}, {function.__name__})")
        title = (function.__doc__ or function.__name__).strip().splitlines()[0]
        CASES[id] = Case(id, feature, dialects, title, " ".join(rule.split()), tuple(sources), function.__module__, function.__name__)
        return pytest.mark.msgr_case(id)(function)  # type: ignore[no-any-return]

    return register


def case_of(item: pytest.Item) -> Case | None:
    """The case a collected test belongs to."""
    marker = item.get_closest_marker(_MARKER)
    return CASES.get(str(marker.args[0])) if marker is not None and marker.args else None


def catalogue() -> list[Case]:
    """Every case, its module imported: the list a run can choose from."""
    package = __name__.rsplit(".", 1)[0]
    path = importlib.import_module(package).__path__
    for module in pkgutil.iter_modules(path):
        if module.name.startswith("test_"):
            importlib.import_module(f"{package}.{module.name}")
    return list(CASES.values())
