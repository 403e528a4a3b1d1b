"""The grades a conformance case ends with, and how a connection's ending is graded:
plain data, so reports can be read and compared without pytest."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Grade", "SEVERITY", "worst", "Ending"]


class Grade(str, enum.Enum):
    """How a case ended, from best to worst for the server (as Autobahn|Testsuite
    grades): ``OK`` is the original service's behaviour; ``NON_STRICT`` an answer
    recorded for some server but not for the original service (``--msgr-strict``
    makes it ``FAILED``); ``INFORMATIONAL`` behaviour that is recorded but not graded
    (the original's answer is not known); ``UNSUPPORTED`` a feature the server does not
    offer (declared with ``--msgr-without``, or found by probing), never a failure;
    ``SKIPPED`` the run lacks what the case needs (an option); ``RATE_LIMITED`` the
    server kept refusing with `600`/`713` after the suite backed off, so nothing
    could be judged; ``SETUP_FAILED`` the server failed a step the case only builds
    on (a sign-in, a switchboard join: another case judges that step), so this case's
    feature was not judged; ``FAILED`` a departure from every recorded answer."""

    OK = "OK"
    NON_STRICT = "NON-STRICT"
    INFORMATIONAL = "INFORMATIONAL"
    UNSUPPORTED = "UNSUPPORTED"
    SKIPPED = "SKIPPED"
    RATE_LIMITED = "RATE-LIMITED"
    SETUP_FAILED = "SETUP-FAILED"
    FAILED = "FAILED"

    @property
    def short(self) -> str:
        """Six characters at most, for the terminal table."""
        return _SHORT[self]

    @property
    def counts_as_failure(self) -> bool:
        """Whether pytest reports the case failed (and the run's exit status is 1)."""
        return self in (Grade.FAILED, Grade.SETUP_FAILED, Grade.RATE_LIMITED)

    @property
    def judged(self) -> bool:
        """Whether the server's behaviour was judged at all."""
        return self not in (Grade.UNSUPPORTED, Grade.SKIPPED, Grade.SETUP_FAILED, Grade.RATE_LIMITED)


_SHORT = {
    Grade.OK: "OK",
    Grade.NON_STRICT: "NONSTR",
    Grade.INFORMATIONAL: "INFO",
    Grade.UNSUPPORTED: "UNSUP",
    Grade.SKIPPED: "SKIP",
    Grade.RATE_LIMITED: "LIMIT",
    Grade.SETUP_FAILED: "SETUP",
    Grade.FAILED: "FAIL",
}

#: Worst first: a case takes the worst of its answer and its close; a cell of the
#: matrix shows the worst of its cases in this order (so one OK case beside an
#: UNSUPPORTED one shows OK).
SEVERITY = (
    Grade.FAILED,
    Grade.SETUP_FAILED,
    Grade.RATE_LIMITED,
    Grade.NON_STRICT,
    Grade.OK,
    Grade.INFORMATIONAL,
    Grade.SKIPPED,
    Grade.UNSUPPORTED,
)


def worst(grades: Iterable[Grade]) -> Grade | None:
    """The grade a cell (or a case with several parts) shows; None for none."""
    present = set(grades)
    for grade in SEVERITY:
        if grade in present:
            return grade
    return None



@dataclass(frozen=True)
class Ending:
    """How a connection ended that the case said must end a certain way: ``how``
    (``closed``, ``left open``, …) and its grade."""

    how: str
    grade: Grade
    why: str = ""
