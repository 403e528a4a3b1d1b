"""The lock and session state machines as data and as pictures: ``LockStatus.transitions()``,
``SessionState.transitions()`` (tables that render as HTML in a notebook), and
``.diagram()`` objects that render as SVG in a notebook (laid out here, in pure Python:
no graphviz, no network) or as mermaid text (``.mermaid()``)."""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, SupportsIndex, overload

from . import _core
from .enums import HResult, LockStatus, SessionState

__all__ = ["Transition", "Transitions", "StateDiagram", "lock_transitions", "session_transitions"]


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


#: Rows shown by ``Transitions._repr_html_`` before the rest is summarised.
HTML_ROWS = 400

#: How each ``source`` is drawn: colour, dash pattern, what the legend says.
SOURCE_STYLE: dict[str, tuple[str, str, str]] = {
    "call": ("#1f2937", "", "call (the app)"),
    "peer": ("#1d4ed8", "7 4", "peer (the other side)"),
    "timer": ("#c2410c", "1.5 3", "timer"),
    "link": ("#8b8f96", "", "link (local Messenger)"),
}
_OTHER_STYLE = ("#6b21a8", "", "other")


def _style(source: str) -> tuple[str, str, str]:
    return SOURCE_STYLE.get(source, _OTHER_STYLE)


class Transitions(list[Transition]):
    """A state machine's cells: a plain ``list`` of ``Transition`` that renders as a
    table in a notebook. ``where(...)`` picks cells by field."""

    @overload
    def __getitem__(self, index: SupportsIndex) -> Transition: ...
    @overload
    def __getitem__(self, index: slice) -> Transitions: ...
    def __getitem__(self, index: SupportsIndex | slice) -> Transition | Transitions:
        if isinstance(index, slice):
            return Transitions(super().__getitem__(index))
        return super().__getitem__(index)

    def where(self, **criteria: Any) -> Transitions:
        """The cells whose fields all match: ``where(input="accept", role="invitee")``.
        A value may be a set, list or tuple of allowed values; ``ok=True`` keeps the
        cells that do not fail, ``changes=True`` those whose public state changes."""
        names = {f.name for f in fields(Transition)} | {"ok", "changes"}
        unknown = sorted(criteria.keys() - names)
        if unknown:
            raise TypeError(f"Transition has no field {', '.join(unknown)} (fields: {', '.join(sorted(names))})")

        def value(t: Transition, name: str) -> Any:
            if name == "changes":
                return t.next is not None and t.next != t.state
            return getattr(t, name)

        def matches(t: Transition) -> bool:
            for name, wanted in criteria.items():
                have = value(t, name)
                if isinstance(wanted, (set, frozenset, list, tuple)):
                    if have not in wanted:
                        return False
                elif have != wanted:
                    return False
            return True

        return Transitions(t for t in self if matches(t))

    def _machine(self) -> str:
        return type(self[0].state).__name__ if self else "state machine"

    def __repr__(self) -> str:
        changes = sum(1 for t in self if t.next is not None and t.next != t.state)
        errors = sum(1 for t in self if not t.ok)
        return f"<Transitions of {self._machine()}: {len(self)} cells, {changes} change the state, {errors} fail>"

    def _repr_html_(self) -> str:
        roles = any(t.role is not None for t in self)
        head = ["state", "phase", *(["role"] if roles else []), "input", "source", "next", "error", "ending"]
        rows = []
        for t in list.__getitem__(self, slice(0, HTML_ROWS)):
            colour, _dash, _text = _style(t.source)
            phase = "" if t.phase == t.state.name else t.phase
            if t.next is None:
                nxt = ""
            else:
                nxt = f"→ {t.next.name}"
                if t.next_phase and t.next_phase != t.next.name:
                    nxt += f" ({t.next_phase})"
            cells = [
                html.escape(t.state.name),
                f"<i>{html.escape(phase)}</i>" if phase else "",
                *([html.escape(t.role or "")] if roles else []),
                f"<code>{html.escape(t.input)}</code>",
                f"<span style='color:{colour}'>{html.escape(t.source)}</span>",
                f"<b>{html.escape(nxt)}</b>" if t.next is not None and t.next != t.state else html.escape(nxt),
                f"<span style='color:#b91c1c'>{html.escape(t.error.name)}</span>" if t.error is not None else "",
                html.escape(t.ending.name) if t.ending is not None else "",
            ]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        more = len(self) - HTML_ROWS
        tail = f"<tr><td colspan='{len(head)}'>… {more} more cells</td></tr>" if more > 0 else ""
        caption = html.escape(repr(self).strip("<>"))
        style = (
            "<style>table.msgr-transitions.msgr-transitions.msgr-transitions > tbody > tr > td, table.msgr-transitions.msgr-transitions.msgr-transitions > thead > tr > th"
            "{text-align:left; white-space:nowrap; padding:2px 10px}</style>"
        )
        return (
            f"{style}<table class='msgr-transitions'><caption style='text-align:left'>{caption}</caption>"
            f"<thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}{tail}</tbody></table>"
        )


def _phase(state: IntEnum, name: str) -> str:
    # The core names a state's own phase by the state's original name (SS_READY).
    return state.name if name.isupper() else name


def lock_transitions() -> Transitions:
    """Every (phase, input) cell of the lock machine."""
    rows = Transitions()
    for s, i, source, n, e, phase, next_phase in _core.lock_machine():
        state, nxt = LockStatus(s), None if n is None else LockStatus(n)
        error = None if e is None else HResult(e)
        after = None if nxt is None or next_phase is None else _phase(nxt, next_phase)
        rows.append(Transition(state, i, None, nxt, error, source, _phase(state, phase), after))
    return rows


def session_transitions() -> Transitions:
    """Every call in every (phase, role) of the session machine, and every other input
    where it has an effect."""
    rows = Transitions()
    for s, r, i, source, n, e, phase, next_phase, ending in _core.session_machine():
        state, nxt = SessionState(s), None if n is None else SessionState(n)
        error = None if e is None else HResult(e)
        after = None if nxt is None or next_phase is None else _phase(nxt, next_phase)
        end = None if ending is None else HResult(ending)
        rows.append(Transition(state, i, r, nxt, error, source, _phase(state, phase), after, end))
    return rows


# ---- the diagram ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Edge:
    """Every input of one ``source`` kind that takes the machine from any of ``tails``
    to ``head``, drawn as one label (merged where several states share it)."""

    tails: tuple[str, ...]
    head: str
    source: str
    labels: tuple[str, ...]


# Sizes, in pixels. Labels are monospaced (identifiers), so their width is known from
# their length; state names are estimated generously.
_LABEL_FONT, _LABEL_CHAR, _LABEL_LINE = 10.5, 6.45, 12.5
_STATE_FONT = 12
_COLUMN_GAP = 26.0
_WRAP = 20


def _state_width(name: str) -> float:
    # Bold sans-serif capitals, measured wide (DejaVu Sans Bold is among the widest).
    em = sum(0.42 if c in "IJ" else 1.0 if c in "MW" else 0.76 if c.isupper() else 0.66 for c in name)
    return em * _STATE_FONT + 18


def _wrap(items: Iterable[str], width: int = _WRAP) -> list[str]:
    """Items joined by commas into lines of at most ``width`` characters. An item is
    never split, except that a role that does not fit goes to the next line, indented,
    and so does what follows a ``then``."""
    lines: list[str] = []
    items = list(items)
    for k, item in enumerate(items):
        text = item + ("," if k < len(items) - 1 else "")
        if lines and len(lines[-1]) + 1 + len(text) <= width:
            lines[-1] += " " + text
        elif len(text) > width and ", then " in text:
            first, rest = text.split(", then ", 1)
            lines.extend([first + ", then", *_wrap([rest], width)])
        elif len(text) > width and " (" in text:
            name, role = text.split(" (", 1)
            lines.extend([name, "  (" + role])
        else:
            lines.append(text)
    return lines


@dataclass
class _Node:
    key: str
    rank: int
    kind: str  # "state", "label" or "dummy"
    width: float = 0.0
    height: float = 0.0
    lines: list[str] = field(default_factory=list)
    edge: Edge | None = None
    y: float = 0.0
    order: float = 0.0


class StateDiagram:
    """A state machine's changes of state: states, and labelled edges drawn from its
    table. Renders itself as SVG in a notebook; ``mermaid()`` gives the same as text."""

    def __init__(
        self,
        title: str,
        states: list[str],
        edges: dict[tuple[str, str], list[str]],
        drawn: list[Edge] | None = None,
        *,
        groups: dict[str, tuple[str, ...]] | None = None,
        unreached: list[str] | None = None,
    ) -> None:
        self.title = title
        #: The states that something enters or leaves, the start state first.
        self.states = states
        #: (from, to) -> every input that makes that change, ``"input (role)"`` for sessions.
        self.edges = edges
        #: What the picture draws: per target state and kind of source, one label
        #: (shared by the states it comes from, or by a group). By default one per pair
        #: of states.
        self.drawn = drawn if drawn is not None else [Edge((a,), b, "call", tuple(labels)) for (a, b), labels in edges.items()]
        #: A tail of ``drawn`` that stands for several states (``"any of A, B, C"``):
        #: its ways out are those of each of them.
        self.groups = groups or {}
        #: States of the table that nothing enters or leaves (drawn apart).
        self.unreached = unreached or []

    def mermaid(self) -> str:
        """``stateDiagram-v2`` text for mermaid (GitHub, JupyterLab 4.1+ render it)."""
        lines = ["stateDiagram-v2"]
        if self.states:
            lines.append(f"    [*] --> {self.states[0]}")
        for (a, b), labels in self.edges.items():
            lines.append(f"    {a} --> {b}: {', '.join(labels)}")
        lines.extend(f"    {s}" for s in self.unreached)
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        if not self.drawn:
            title = html.escape(self.title)
            return (
                "<svg xmlns='http://www.w3.org/2000/svg' width='320' height='40'>"
                f"<text x='12' y='24' font-family='sans-serif' font-size='13'>{title}: no changes of state</text></svg>"
            )
        return _Layout(self).svg()

    def __repr__(self) -> str:
        count = len(self.states) + len(self.unreached)
        return f"<StateDiagram {self.title}: {count} states, {len(self.edges)} changes of state>\n{self.mermaid()}"


class _Layout:
    """A layered left-to-right drawing (Sugiyama style): states in columns by their
    longest distance from the start state (edges that go back are reversed for the
    layout); every edge's label is a node of its own in the column just before the
    state it enters, so it sits on its edge; edges longer than one column pass through
    invisible points; columns are ordered to cross little and placed to run straight."""

    def __init__(self, diagram: StateDiagram) -> None:
        self.d = diagram
        self.nodes: dict[str, _Node] = {}
        self.segments: list[tuple[str, str]] = []
        # Per edge: the chain of node keys for each tail (left to right), and whether the
        # edge goes back (right to left: arrow at the left end).
        self.chains: list[tuple[Edge, list[list[str]], bool]] = []
        self._rank()
        self._build()
        self._order()
        self._place()

    # -- ranks -------------------------------------------------------------------------

    def _rank(self) -> None:
        d = self.d
        nodes = [*d.states, *d.groups]
        succ: dict[str, list[str]] = defaultdict(list)
        for e in d.drawn:
            for t in e.tails:
                if e.head not in succ[t]:
                    succ[t].append(e.head)
        # Edges into a state on the current depth-first path go back.
        self.back: set[tuple[str, str]] = set()
        visited: set[str] = set()
        on_path: set[str] = set()

        def visit(s: str) -> None:
            visited.add(s)
            on_path.add(s)
            for n in succ[s]:
                if n in on_path:
                    self.back.add((s, n))
                elif n not in visited:
                    visit(n)
            on_path.discard(s)

        for s in nodes:
            if s not in visited:
                visit(s)
        forward: dict[str, list[str]] = defaultdict(list)
        for a in nodes:
            for b in succ[a]:
                if (a, b) in self.back:
                    forward[b].append(a)
                else:
                    forward[a].append(b)
        layer = {s: 0 for s in nodes}

        def relax() -> None:
            for _ in nodes:  # longest path in a DAG: at most one pass per node
                changed = False
                for a in nodes:
                    for b in forward[a]:
                        if layer[b] < layer[a] + 1:
                            layer[b] = layer[a] + 1
                            changed = True
                if not changed:
                    break

        relax()
        # A group stands in the column of its last member, so its lines start past them.
        for group, members in d.groups.items():
            layer[group] = max(layer[group], *(layer[m] for m in members))
        relax()
        self.layer = layer

    # -- nodes and chains --------------------------------------------------------------

    def _add(self, node: _Node) -> str:
        self.nodes[node.key] = node
        return node.key

    def _build(self) -> None:
        for s in self.d.states:
            w = _state_width(s)
            self._add(_Node(s, 2 * self.layer[s], "state", w, 30.0))
        for group, members in self.d.groups.items():
            lines = ["any of", *_wrap(members, 12)]
            w = max(_state_width(line) for line in lines)
            self._add(_Node(group, 2 * self.layer[group], "state", w, 15.0 * len(lines) + 12, lines))
        # An edge shared by states on both sides of its head is drawn once per side, so
        # every drawn edge runs one way.
        drawn = []
        for e in self.d.drawn:
            for back in (False, True):
                tails = tuple(t for t in e.tails if (self.layer[t] > self.layer[e.head]) == back)
                if tails:
                    drawn.append((Edge(tails, e.head, e.source, e.labels), back))
        for n, (e, back) in enumerate(drawn):
            lines = _wrap(e.labels)
            label_rank = 2 * self.layer[e.head] + (1 if back else -1)
            label = self._add(
                _Node(
                    f"label{n}", label_rank, "label",
                    max(len(line) for line in lines) * _LABEL_CHAR + 12,
                    len(lines) * _LABEL_LINE + 7, lines, e,
                )
            )
            chains = []
            for k, tail in enumerate(e.tails):
                tail_rank = 2 * self.layer[tail]
                lo, hi = (label_rank, tail_rank) if back else (tail_rank, label_rank)
                chain = [label] if back else [tail]
                for r in range(lo + 1, hi):
                    key = self._add(_Node(f"d{n}.{k}.{r}", r, "dummy"))
                    chain.append(key)
                chain.append(tail if back else label)
                chains.append(chain)
            head = [e.head, label] if back else [label, e.head]
            self.chains.append((e, [*chains, head], back))
            for chain in [*chains, head]:
                for u, v in zip(chain, chain[1:]):
                    if (u, v) not in self.segments:
                        self.segments.append((u, v))
        self.ranks: list[list[str]] = [[] for _ in range(max(n.rank for n in self.nodes.values()) + 1)]
        for key, node in self.nodes.items():
            self.ranks[node.rank].append(key)

    # -- order within columns ----------------------------------------------------------

    def _crossings(self) -> int:
        pos = {k: i for rank in self.ranks for i, k in enumerate(rank)}
        count = 0
        by_rank: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for u, v in self.segments:
            by_rank[self.nodes[u].rank].append((pos[u], pos[v]))
        for segs in by_rank.values():
            for i, (a1, b1) in enumerate(segs):
                for a2, b2 in segs[i + 1:]:
                    if (a1 - a2) * (b1 - b2) < 0:
                        count += 1
        return count

    def _order(self) -> None:
        left: dict[str, list[str]] = defaultdict(list)
        right: dict[str, list[str]] = defaultdict(list)
        for u, v in self.segments:
            right[u].append(v)
            left[v].append(u)
        best, best_count = [list(r) for r in self.ranks], self._crossings()
        for sweep in range(16):
            pos = {k: i for rank in self.ranks for i, k in enumerate(rank)}
            indices = range(1, len(self.ranks)) if sweep % 2 == 0 else range(len(self.ranks) - 2, -1, -1)
            for r in indices:
                neighbours = left if sweep % 2 == 0 else right
                rank = self.ranks[r]

                def centre(k: str) -> float:
                    near = neighbours[k]
                    return sum(pos[n] for n in near) / len(near) if near else pos[k]

                rank.sort(key=lambda k: (centre(k), pos[k]))
                for i, k in enumerate(rank):
                    pos[k] = i
            count = self._crossings()
            if count < best_count:
                best, best_count = [list(r) for r in self.ranks], count
        self.ranks = best

    # -- coordinates -------------------------------------------------------------------

    def _gap(self, a: _Node, b: _Node) -> float:
        if a.kind == "dummy" and b.kind == "dummy":
            return 9.0
        if a.kind == "dummy" or b.kind == "dummy":
            return 11.0
        return 18.0

    def _place(self) -> None:
        nodes = self.nodes
        # Ports: a state's box grows to give every line its own place on each side.
        self.ports: dict[tuple[str, str], float] = {}
        sides: dict[tuple[str, str], list[str]] = defaultdict(list)
        for u, v in self.segments:
            if nodes[u].kind == "state":
                sides[(u, "right")].append(v)
            if nodes[v].kind == "state":
                sides[(v, "left")].append(u)
        for (s, _side), others in sides.items():
            nodes[s].height = max(nodes[s].height, 10.0 * len(others) + 10)

        neighbours: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for u, v in self.segments:
            kinds = {nodes[u].kind, nodes[v].kind}
            weight = 8.0 if kinds == {"dummy"} else 3.0 if "dummy" in kinds or "label" in kinds else 1.0
            neighbours[u].append((v, weight))
            neighbours[v].append((u, weight))
        for rank in self.ranks:
            y = 0.0
            for k in rank:
                nodes[k].y = y + nodes[k].height / 2
                y += nodes[k].height + 14
        for sweep in range(60):
            indices = range(len(self.ranks)) if sweep % 2 == 0 else range(len(self.ranks) - 1, -1, -1)
            for r in indices:
                rank = self.ranks[r]
                wanted = []
                for k in rank:
                    near = neighbours[k]
                    total = sum(w for _n, w in near)
                    wanted.append(sum(nodes[n].y * w for n, w in near) / total if total else nodes[k].y)
                for k, y in zip(rank, self._fit(rank, wanted)):
                    nodes[k].y = y
        top = min(n.y - n.height / 2 for n in nodes.values())
        self.header = 58.0
        for n in nodes.values():
            n.y += self.header - top
        self.height = max(n.y + n.height / 2 for n in nodes.values()) + 16
        # Under the picture: the states nothing enters or leaves.
        self.footer = self.height
        if self.d.unreached:
            self.height += 62

        # Columns: each as wide as its widest node.
        self.column_x: list[float] = []
        self.column_w: list[float] = []
        x = 34.0  # room for the start marker
        for rank in self.ranks:
            w = max([nodes[k].width for k in rank] + [8.0])
            self.column_x.append(x)
            self.column_w.append(w)
            x += w + _COLUMN_GAP
        footer = 12 + sum(_state_width(s) + 12 for s in self.d.unreached)
        self.width = max(x - _COLUMN_GAP + 16, 520.0, footer)

        for (s, side), others in sides.items():
            node = nodes[s]
            others.sort(key=lambda o: (nodes[o].y, self.ranks[nodes[o].rank].index(o)))
            step = node.height / (len(others) + 1)
            for i, o in enumerate(others):
                self.ports[(s, o)] = node.y - node.height / 2 + step * (i + 1)

    def _fit(self, rank: list[str], wanted: list[float]) -> list[float]:
        """The positions nearest (least squares) to ``wanted`` that keep the order and
        the gaps: pool-adjacent-violators on the positions less their fixed offsets."""
        nodes = self.nodes
        offsets = [0.0]
        for a, b in zip(rank, rank[1:]):
            offsets.append(offsets[-1] + nodes[a].height / 2 + self._gap(nodes[a], nodes[b]) + nodes[b].height / 2)
        blocks: list[list[float]] = []  # [mean, count]
        for w, o in zip(wanted, offsets):
            blocks.append([w - o, 1.0])
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
                m2, c2 = blocks.pop()
                m1, c1 = blocks.pop()
                blocks.append([(m1 * c1 + m2 * c2) / (c1 + c2), c1 + c2])
        out: list[float] = []
        for mean, count in blocks:
            out.extend([mean] * int(count))
        return [v + o for v, o in zip(out, offsets)]

    # -- drawing -----------------------------------------------------------------------

    def _box(self, key: str) -> tuple[float, float]:
        """Left and right x of a node (dummies span their column)."""
        node = self.nodes[key]
        x, w = self.column_x[node.rank], self.column_w[node.rank]
        if node.kind == "dummy":
            return x, x + w
        # A label or a state is centred in its column; lines end on its borders.
        return x + (w - node.width) / 2, x + (w + node.width) / 2

    def _path(self, chain: list[str]) -> str:
        """A smooth path along a chain of nodes, left to right: curves only in the gaps
        between columns (horizontal at both ends), straight lines inside a column, so
        no line crosses a box; it starts and ends on the borders of its end nodes."""
        d: list[str] = []
        last = len(chain) - 1
        previous: tuple[float, float] | None = None  # where the line leaves a column
        for i, key in enumerate(chain):
            node = self.nodes[key]
            column_left = self.column_x[node.rank]
            column_right = column_left + self.column_w[node.rank]
            inner_left, inner_right = self._box(key)
            if node.kind == "state":
                y = self.ports[(key, chain[1] if i == 0 else chain[i - 1])]
            else:
                y = node.y
            if previous is None:
                d.append(f"M {inner_right:.1f} {y:.1f}")
            else:
                (ax, ay), half = previous, (column_left - previous[0]) / 2
                d.append(f"C {ax + half:.1f} {ay:.1f} {column_left - half:.1f} {y:.1f} {column_left:.1f} {y:.1f}")
                end_x = inner_left if i == last else column_right
                if end_x > column_left + 0.05:
                    d.append(f"L {end_x:.1f} {y:.1f}")
            if i == 0 and column_right > inner_right + 0.05:
                d.append(f"L {column_right:.1f} {y:.1f}")
            previous = (column_right, y)
        return " ".join(d)

    def _unreached(self) -> list[str]:
        """The states nothing enters or leaves, in a row under the picture, with what
        they are."""
        if not self.d.unreached:
            return []
        y = self.footer
        out = [f"<text x='12' y='{y + 12:.1f}' font-size='11' fill='#333'>In the table, never entered:</text>"]
        x = 12.0
        for s in self.d.unreached:
            w = _state_width(s)
            out.append(
                f"<rect class='msgr-unreached' x='{x:.1f}' y='{y + 20:.1f}' width='{w:.1f}' height='28' rx='7' "
                "fill='#fff' stroke='#94a3b8' stroke-width='1.2' stroke-dasharray='4 3'/>"
            )
            out.append(
                f"<text x='{x + w / 2:.1f}' y='{y + 38.5:.1f}' text-anchor='middle' font-size='{_STATE_FONT}' "
                f"font-weight='bold' fill='#64748b'>{html.escape(s)}</text>"
            )
            x += w + 12
        return out

    def svg(self) -> str:
        d = self.d
        uid = "msgr-" + "".join(c for c in d.title.lower() if c.isalnum())
        used = sorted({e.source for e in d.drawn}, key=lambda s: list(SOURCE_STYLE).index(s) if s in SOURCE_STYLE else 9)
        out = [
            f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width:.0f}' height='{self.height:.0f}' "
            f"viewBox='0 0 {self.width:.0f} {self.height:.0f}' font-family='DejaVu Sans, Helvetica, Arial, sans-serif' "
            "style='background:#fff; max-width:100%; height:auto'>",
            f"<title>{html.escape(d.title)}: its changes of state</title>",
            "<defs>",
        ]
        for source in used:
            colour = _style(source)[0]
            out.append(
                f"<marker id='{uid}-head-{source}' viewBox='0 0 10 10' refX='10' refY='5' markerUnits='userSpaceOnUse' "
                f"markerWidth='10' markerHeight='9' orient='auto-start-reverse'><path d='M 0 0.5 L 10 5 L 0 9.5 z' fill='{colour}'/></marker>"
            )
        out.append("</defs>")
        out.append(f"<text x='12' y='22' font-size='15' font-weight='bold' fill='#111'>{html.escape(d.title)}</text>")
        # Legend: one sample line per kind of source.
        x = 12.0
        for source in used:
            colour, dash, text = _style(source)
            dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
            out.append(
                f"<line x1='{x:.0f}' y1='40' x2='{x + 30:.0f}' y2='40' stroke='{colour}' stroke-width='1.6'{dash_attr} "
                f"marker-end='url(#{uid}-head-{source})'/>"
            )
            out.append(f"<text x='{x + 36:.0f}' y='44' font-size='11' fill='#333'>{html.escape(text)}</text>")
            x += 36 + len(text) * 6.6 + 22
        # Edges, under the labels and boxes.
        for e, chains, back in self.chains:
            colour, dash, _text = _style(e.source)
            dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
            *tails, head = chains
            marker = "marker-start" if back else "marker-end"
            for chain in tails:
                out.append(
                    f"<path class='msgr-edge' d='{self._path(chain)}' fill='none' stroke='{colour}' stroke-width='1.5'{dash_attr}/>"
                )
            out.append(
                f"<path class='msgr-edge' d='{self._path(head)}' fill='none' stroke='{colour}' stroke-width='1.5'{dash_attr} "
                f"{marker}='url(#{uid}-head-{e.source})'/>"
            )
        for node in self.nodes.values():
            if node.kind != "label" or node.edge is None:
                continue
            colour, dash, _text = _style(node.edge.source)
            dash_attr = f" stroke-dasharray='{dash}'" if dash else ""
            x = self.column_x[node.rank] + (self.column_w[node.rank] - node.width) / 2
            top = node.y - node.height / 2
            out.append(
                f"<rect class='msgr-label' x='{x:.1f}' y='{top:.1f}' width='{node.width:.1f}' height='{node.height:.1f}' rx='4' "
                f"fill='#fff' stroke='{colour}' stroke-width='1'{dash_attr}/>"
            )
            out.append(
                f"<text class='msgr-label' font-family='DejaVu Sans Mono, Menlo, Consolas, monospace' font-size='{_LABEL_FONT}' fill='#111'>"
            )
            for i, line in enumerate(node.lines):
                out.append(f"<tspan x='{x + 6:.1f}' y='{top + 3.5 + _LABEL_LINE * (i + 1) - 3:.1f}'>{html.escape(line)}</tspan>")
            out.append("</text>")
        finals = {s for s in d.states if not any(s in e.tails for e in d.drawn)}
        for s in d.states:
            node = self.nodes[s]
            x0, x1 = self._box(s)
            top = node.y - node.height / 2
            fill = "#f1f5f9" if s in finals else "#e0e7ff"
            out.append(
                f"<rect class='msgr-state' x='{x0:.1f}' y='{top:.1f}' width='{node.width:.1f}' height='{node.height:.1f}' rx='7' "
                f"fill='{fill}' stroke='#1e293b' stroke-width='{2.2 if s in finals else 1.3}'/>"
            )
            out.append(
                f"<text x='{(x0 + x1) / 2:.1f}' y='{node.y + 4.5:.1f}' text-anchor='middle' font-size='{_STATE_FONT}' "
                f"font-weight='bold' fill='#111'>{html.escape(s)}</text>"
            )
        for group in d.groups:
            node = self.nodes[group]
            x0, x1 = self._box(group)
            top = node.y - node.height / 2
            out.append(
                f"<rect class='msgr-group' x='{x0:.1f}' y='{top:.1f}' width='{node.width:.1f}' height='{node.height:.1f}' rx='7' "
                "fill='#f8fafc' stroke='#475569' stroke-width='1.3' stroke-dasharray='5 3'/>"
            )
            for i, line in enumerate(node.lines):
                weight = "normal" if i == 0 else "bold"
                out.append(
                    f"<text x='{(x0 + x1) / 2:.1f}' y='{top + 6 + 15.0 * (i + 1) - 3:.1f}' text-anchor='middle' "
                    f"font-size='{_STATE_FONT if i else 11}' font-weight='{weight}' fill='#111'>{html.escape(line)}</text>"
                )
        out.extend(self._unreached())
        if d.states:  # the start marker: a dot and an arrow into the first state
            start = self.nodes[d.states[0]]
            x0, _x1 = self._box(d.states[0])
            out.append(f"<circle cx='{x0 - 24:.1f}' cy='{start.y:.1f}' r='5' fill='#111'/>")
            out.append(
                f"<line x1='{x0 - 19:.1f}' y1='{start.y:.1f}' x2='{x0:.1f}' y2='{start.y:.1f}' stroke='#111' stroke-width='1.5' "
                f"marker-end='url(#{uid}-head-call)'/>" if "call" in used else
                f"<line x1='{x0 - 19:.1f}' y1='{start.y:.1f}' x2='{x0 - 1:.1f}' y2='{start.y:.1f}' stroke='#111' stroke-width='1.5'/>"
            )
        out.append("</svg>")
        return "".join(out)


#: Least number of states whose shared ways out are drawn once, from a group.
_GROUP_LEAST = 3


def _diagram(title: str, transitions: list[Transition]) -> StateDiagram:
    """The state changes of a table, drawn from the table alone. ``edges``: one per pair
    of states, with every input that makes that change. The picture: per target state
    and kind of source, the inputs that lead there (an input taken in both roles is
    named once, one role's is marked with it); states that share the same inputs into
    the same state share one label. Self-loops (no change of public state) are left
    out, except a call that moves into a hidden phase of its state: the change out of
    that phase names it first (``invite, then invitation_sent``). Ways out shared by
    several states into an end (``cancel`` from every state of a session in progress)
    are drawn once, from a group of those states. States of the table that nothing enters or
    leaves are listed apart (``unreached``)."""
    # Calls that move into a hidden phase of the same state: (state, phase) -> inputs.
    entering: dict[tuple[str, str], list[str]] = {}
    for t in transitions:
        if t.next == t.state and t.source == "call" and t.next_phase and t.next_phase != t.phase and t.phase == t.state.name:
            names = entering.setdefault((t.state.name, t.next_phase), [])
            if t.input not in names:
                names.append(t.input)
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    per_tail: dict[tuple[str, str, str], dict[str, set[str | None]]] = {}
    states: list[str] = []
    for t in transitions:
        if t.next is None or t.next == t.state:
            continue
        a, b = t.state.name, t.next.name
        for s in (a, b):
            if s not in states:
                states.append(s)
        name, source = t.input, t.source
        before = entering.get((a, t.phase))
        if before:
            name, source = f"{'/'.join(before)}, then {t.input}", "call"
        label = name if t.role is None else f"{name} ({t.role})"
        if label not in edges[(a, b)]:
            edges[(a, b)].append(label)
        per_tail.setdefault((a, b, source), {}).setdefault(name, set()).add(t.role)
    all_roles = {t.role for t in transitions}
    # Each shown label, and the states it leaves from.
    tails_of: dict[tuple[str, str, str], list[str]] = {}
    for (a, b, source), inputs in per_tail.items():
        for name, roles in inputs.items():
            label = name if roles >= all_roles else f"{name} ({', '.join(sorted(r for r in roles if r))})"
            tails_of.setdefault((b, source, label), []).append(a)
    # Only ways into an end (a state with no way out) are grouped: drawn from a group
    # in the column of its last member, they run on to the right, not back.
    ends = {b for (_a, b, _source) in per_tail} - {a for (a, _b, _source) in per_tail}
    groups = _groups({key: tails for key, tails in tails_of.items() if key[0] in ends})
    labels_of: dict[tuple[str, str, str], list[str]] = {}
    for (b, source, label), tails in tails_of.items():
        for group, members in groups.items():
            if b in ends and set(members) <= set(tails):
                tails = [group, *(t for t in tails if t not in members)]
        for a in tails:
            labels_of.setdefault((a, b, source), []).append(label)
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for (a, b, source), labels in labels_of.items():
        grouped.setdefault((b, source, tuple(labels)), []).append(a)
    kinds = list(SOURCE_STYLE)
    drawn = [Edge(tuple(tails), b, source, labels) for (b, source, labels), tails in grouped.items()]
    drawn.sort(key=lambda e: (states.index(e.head), kinds.index(e.source) if e.source in kinds else 9))
    unreached = list(dict.fromkeys(t.state.name for t in transitions if t.state.name not in states))
    return StateDiagram(title, states, dict(edges), drawn, groups=groups, unreached=unreached)


def _groups(tails_of: dict[tuple[str, str, str], list[str]]) -> dict[str, tuple[str, ...]]:
    """The largest set of states (at least ``_GROUP_LEAST``) that share some way out, as
    ``{"any of A, B, C": (A, B, C)}``; none when no such set exists."""
    shared = [tuple(tails) for tails in tails_of.values() if len(tails) >= _GROUP_LEAST]
    if not shared:
        return {}
    members = max(shared, key=lambda tails: (len(tails), shared.count(tails)))
    return {f"any of {', '.join(members)}": members}


def lock_diagram() -> StateDiagram:
    """``LockStatus.diagram()``: the lock's states and what moves between them, as SVG
    in a notebook and as ``.mermaid()`` text."""
    return _diagram("LockStatus", lock_transitions())


def session_diagram() -> StateDiagram:
    """``SessionState.diagram()``: a session's states and what moves between them, as
    SVG in a notebook and as ``.mermaid()`` text."""
    return _diagram("SessionState", session_transitions())


# The enums carry their machines: LockStatus.transitions(), SessionState.diagram().
setattr(LockStatus, "transitions", staticmethod(lock_transitions))
setattr(LockStatus, "diagram", staticmethod(lock_diagram))
setattr(SessionState, "transitions", staticmethod(session_transitions))
setattr(SessionState, "diagram", staticmethod(session_diagram))
