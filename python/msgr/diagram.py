"""The lock and session state machines as data and as pictures: ``LockStatus.transitions()``,
``SessionState.transitions()``, and ``.diagram()`` objects that render as SVG in a
notebook (no graphviz needed) or as mermaid text."""

from __future__ import annotations

import html
import math
from collections import defaultdict
from dataclasses import dataclass
from enum import IntEnum

from . import _core
from .enums import HResult, LockStatus, SessionState

__all__ = ["Transition", "StateDiagram", "lock_transitions", "session_transitions"]


@dataclass(frozen=True)
class Transition:
    """One cell of a state machine: in ``state``, ``input`` (by ``role``, for
    sessions) leads to ``next``, or fails with ``error``.

    ``source`` says who causes the input: ``"call"`` (the app calls a method),
    ``"peer"`` (the other side sends something), ``"timer"`` (a time-out) or
    ``"link"`` (the local Messenger: its connections, sign-in and sign-out, launching
    the application). ``phase`` and ``next_phase`` name where the machine is in more
    detail than the public state: the state's own name, or a hidden phase such as
    ``"sending"`` (an invitation waiting for a switchboard). ``ending`` is the code
    ``on_termination`` receives when the transition ends a session with a fixed one
    (None for ``cancel``, which ends with the code the app gives)."""

    state: IntEnum
    input: str
    role: str | None
    next: IntEnum | None
    error: HResult | None
    source: str = "call"
    phase: str = ""
    next_phase: str | None = None
    ending: HResult | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _phase(state: IntEnum, name: str) -> str:
    # The core names a state's own phase by the state's original name (SS_READY).
    return state.name if name.isupper() else name


def lock_transitions() -> list[Transition]:
    """Every (phase, input) cell of the lock machine."""
    rows = []
    for s, i, source, n, e, phase, next_phase in _core.lock_machine():
        state, nxt = LockStatus(s), None if n is None else LockStatus(n)
        error = None if e is None else HResult(e)
        after = None if nxt is None or next_phase is None else _phase(nxt, next_phase)
        rows.append(Transition(state, i, None, nxt, error, source, _phase(state, phase), after))
    return rows


def session_transitions() -> list[Transition]:
    """Every call in every (phase, role) of the session machine, and every other input
    where it has an effect."""
    rows = []
    for s, r, i, source, n, e, phase, next_phase, ending in _core.session_machine():
        state, nxt = SessionState(s), None if n is None else SessionState(n)
        error = None if e is None else HResult(e)
        after = None if nxt is None or next_phase is None else _phase(nxt, next_phase)
        end = None if ending is None else HResult(ending)
        rows.append(Transition(state, i, r, nxt, error, source, _phase(state, phase), after, end))
    return rows


class StateDiagram:
    """States and labelled edges; renders itself in a notebook."""

    def __init__(self, title: str, states: list[str], edges: dict[tuple[str, str], list[str]]) -> None:
        self.title = title
        self.states = states
        self.edges = edges

    def mermaid(self) -> str:
        """``stateDiagram-v2`` text for mermaid (GitHub, JupyterLab 4.1+ render it)."""
        lines = ["stateDiagram-v2"]
        for (a, b), labels in self.edges.items():
            lines.append(f"    {a} --> {b}: {', '.join(labels)}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return f"```mermaid\n{self.mermaid()}\n```"

    def _repr_svg_(self) -> str:
        n = len(self.states)
        size, radius = 640, 240
        cx = cy = size / 2
        pos = {
            s: (cx + radius * math.cos(2 * math.pi * i / n - math.pi / 2), cy + radius * math.sin(2 * math.pi * i / n - math.pi / 2))
            for i, s in enumerate(self.states)
        }
        parts = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{size}' height='{size + 30}' font-family='sans-serif' font-size='11'>",
            "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' markerHeight='7' orient='auto-start-reverse'>"
            "<path d='M 0 0 L 10 5 L 0 10 z' fill='#555'/></marker></defs>",
            f"<text x='10' y='20' font-size='14' font-weight='bold'>{html.escape(self.title)}</text>",
        ]
        for (a, b), labels in self.edges.items():
            (x1, y1), (x2, y2) = pos[a], pos[b]
            dx, dy = x2 - x1, y2 - y1
            dist = math.hypot(dx, dy) or 1.0
            # Stop short of the state boxes, and bend so opposite edges do not overlap.
            sx, sy, ex, ey = x1 + dx * 45 / dist, y1 + dy * 45 / dist, x2 - dx * 45 / dist, y2 - dy * 45 / dist
            mx, my = (sx + ex) / 2 - dy * 0.12, (sy + ey) / 2 + dx * 0.12
            parts.append(
                f"<path d='M {sx:.1f} {sy:.1f} Q {mx:.1f} {my:.1f} {ex:.1f} {ey:.1f}' fill='none' stroke='#555' marker-end='url(#arrow)'/>"
            )
            parts.append(f"<text x='{mx:.1f}' y='{my:.1f}' fill='#225' text-anchor='middle'>{html.escape(', '.join(labels))}</text>")
        for s, (x, y) in pos.items():
            parts.append(f"<rect x='{x - 62:.1f}' y='{y - 14:.1f}' width='124' height='28' rx='8' fill='#eef' stroke='#336'/>")
            parts.append(f"<text x='{x:.1f}' y='{y + 4:.1f}' text-anchor='middle'>{html.escape(s)}</text>")
        parts.append("</svg>")
        return "".join(parts)

    def __repr__(self) -> str:
        return f"<StateDiagram {self.title}: {len(self.states)} states, {len(self.edges)} edges>\n{self.mermaid()}"


def _diagram(title: str, transitions: list[Transition]) -> StateDiagram:
    """The state changes of a table: one edge per pair of states, labelled with every
    input that makes that change (drawn from the table alone)."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    states: list[str] = []
    for t in transitions:
        if t.next is None or t.next == t.state:
            continue
        a, b = t.state.name, t.next.name
        label = t.input if t.role is None else f"{t.input} ({t.role})"
        if label not in edges[(a, b)]:
            edges[(a, b)].append(label)
    for a, b in edges:
        for s in (a, b):
            if s not in states:
                states.append(s)
    return StateDiagram(title, states, dict(edges))


def lock_diagram() -> StateDiagram:
    return _diagram("LockStatus", lock_transitions())


def session_diagram() -> StateDiagram:
    return _diagram("SessionState", session_transitions())


# The enums carry their machines: LockStatus.transitions(), SessionState.diagram().
setattr(LockStatus, "transitions", staticmethod(lock_transitions))
setattr(LockStatus, "diagram", staticmethod(lock_diagram))
setattr(SessionState, "transitions", staticmethod(session_transitions))
setattr(SessionState, "diagram", staticmethod(session_diagram))
