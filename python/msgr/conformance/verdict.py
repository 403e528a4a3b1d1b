"""What a case found, as it runs: the grade of the server's answer, the grade of how
the connection ended (for a case that says how it must end), and notes. A case
fails by raising (``ExchangeError`` from a step or an expectation); it gives any
other grade through its ``Verdict``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from _pytest.outcomes import Skipped

from msgr.testing.wire import ExchangeError, Transcript

from .grades import SEVERITY, Ending, Grade, worst

__all__ = ["Verdict", "Unsupported", "NotRun", "RateLimited", "SetupFailed", "Ending"]


class Unsupported(Skipped):
    """The server does not offer what the case checks (declared, or found by probing)."""


class NotRun(Skipped):
    """The run lacks what the case needs (an option): no verdict on the server."""


class RateLimited(ExchangeError):
    """The server kept answering `713` (too active) or `600` (busy) after the suite
    backed off: the case could not be judged."""

    def __init__(self, message: str, transcript: Transcript) -> None:
        super().__init__(f"rate limited: {message}", transcript)


class SetupFailed(ExchangeError):
    """A step the case only builds on failed (a sign-in, a `SYN`, a switchboard join):
    the server failed something another case judges, and this case's feature could
    not be judged."""


@dataclass
class Verdict:
    """The grades a case has gathered: the answer starts OK, each ``non_strict`` or
    ``informational`` lowers it; ``ending`` is set by the close checks."""

    answer: Grade = Grade.OK
    ending: Ending | None = None
    notes: list[str] = field(default_factory=list)

    def non_strict(self, why: str) -> None:
        """An answer recorded for some server but not the original service's."""
        self.notes.append(f"NON-STRICT: {why}")
        self.answer = worst([self.answer, Grade.NON_STRICT]) or Grade.NON_STRICT

    def informational(self, why: str) -> None:
        """Behaviour recorded, not graded: the original service's answer is not known."""
        self.notes.append(f"INFORMATIONAL: {why}")
        if self.answer == Grade.OK:
            self.answer = Grade.INFORMATIONAL

    def note(self, text: str) -> None:
        """A remark that does not change the grade (a restore that failed, …)."""
        self.notes.append(text)

    def ended(self, how: str, grade: Grade, why: str = "") -> None:
        """How the connection ended, and its grade (the worst one counts when a case
        checks several)."""
        if self.ending is None or _rank(grade) < _rank(self.ending.grade):
            self.ending = Ending(how, grade, why)

    @property
    def grade(self) -> Grade:
        """The case's grade if nothing failed: the worse of answer and ending, where a
        part that could not be graded (INFORMATIONAL) outweighs an OK one."""
        parts = [self.answer] + ([self.ending.grade] if self.ending is not None else [])
        graded_worse = [g for g in parts if g in (Grade.FAILED, Grade.RATE_LIMITED, Grade.NON_STRICT)]
        if graded_worse:
            return worst(graded_worse) or Grade.FAILED
        return Grade.INFORMATIONAL if Grade.INFORMATIONAL in parts else Grade.OK

    @staticmethod
    def unsupported(why: str) -> NoReturn:
        """Ends the case UNSUPPORTED."""
        raise Unsupported(why)

    @staticmethod
    def not_run(why: str) -> NoReturn:
        """Ends the case SKIPPED."""
        raise NotRun(why)


def _rank(grade: Grade) -> int:
    """Position in ``SEVERITY`` (0 is the worst)."""
    return SEVERITY.index(grade)
