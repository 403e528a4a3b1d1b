"""What a notebook shows: the state diagrams' geometry (every label on its edge and
inside the picture, arrows ending on boxes, no line through a box), transition tables,
event rows as they were when fired, and the tables' shared ``seq``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

import msgr
from msgr.diagram import Transitions, lock_transitions, session_transitions
from msgr.eventlog import RECORD_COLUMNS, EventLog, Timeline
from msgr.testing import make_pair
from msgr.trace import TraceEntries, _decimals

SVG = "{http://www.w3.org/2000/svg}"
#: DejaVu Sans Mono's advance is 0.602 em, the widest of the usual monospace fonts.
MONO_EM = 0.602

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


# ---- the diagrams' geometry -------------------------------------------------------------------


def boxes(root: ET.Element, cls: str) -> list[Box]:
    found = []
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("class") == cls:
            x, y, w, h = (float(rect.get(k, "0")) for k in ("x", "y", "width", "height"))
            found.append((x, y, x + w, y + h))
    return found


def segments(d: str) -> list[list[tuple[float, float]]]:
    """The path's pieces (lines and cubic curves) as lists of control points."""
    tokens = re.findall(r"[MLC]|-?\d+(?:\.\d+)?", d)
    out: list[list[tuple[float, float]]] = []
    pen = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        command = tokens[i]
        count = {"M": 1, "L": 1, "C": 3}[command]
        points = [(float(tokens[i + 1 + 2 * k]), float(tokens[i + 2 + 2 * k])) for k in range(count)]
        if command != "M":
            out.append([pen, *points])
        pen = points[-1]
        i += 1 + 2 * count
    return out


def sample(piece: list[tuple[float, float]], n: int = 24) -> list[tuple[float, float]]:
    if len(piece) == 2:
        (x0, y0), (x1, y1) = piece
        return [(x0 + (x1 - x0) * t / n, y0 + (y1 - y0) * t / n) for t in range(n + 1)]
    p0, p1, p2, p3 = piece
    pts = []
    for k in range(n + 1):
        t = k / n
        a, b, c, e = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
        pts.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return pts


def inside(point: tuple[float, float], box: Box, margin: float = 1.0) -> bool:
    x, y = point
    return box[0] + margin < x < box[2] - margin and box[1] + margin < y < box[3] - margin


def on_border(point: tuple[float, float], box: Box, side: str) -> bool:
    x, y = point
    edge = box[0] if side == "left" else box[2]
    return abs(x - edge) < 0.6 and box[1] <= y <= box[3]


@pytest.mark.parametrize("diagram", [msgr.SessionState.diagram(), msgr.LockStatus.diagram()], ids=["session", "lock"])
def test_the_diagram_is_laid_out_cleanly(diagram: Any) -> None:
    svg = diagram._repr_svg_()
    root = ET.fromstring(svg)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    assert root.get("viewBox") == f"0 0 {width:.0f} {height:.0f}"
    states, labels = boxes(root, "msgr-state") + boxes(root, "msgr-group"), boxes(root, "msgr-label")
    unreached = boxes(root, "msgr-unreached")
    assert len(unreached) == len(diagram.unreached)
    assert len(states) == len(diagram.states) + len(diagram.groups) and len(labels) == len(diagram.drawn) + sum(
        1 for e in diagram.drawn if len({_side(diagram, t, e.head) for t in e.tails}) == 2
    )
    every = states + labels + unreached
    # Nothing is clipped: every box inside the picture, no two boxes overlap.
    for box in every:
        assert 0 <= box[0] and box[2] <= width and 0 <= box[1] and box[3] <= height, box
    for i, a in enumerate(every):
        for b in every[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # Each label's text fits in its box (in the widest usual monospace font).
    for text in root.iter(f"{SVG}text"):
        if text.get("class") != "msgr-label":
            continue
        size = float(text.get("font-size", "0"))
        spans = list(text)
        x, y = float(spans[0].get("x", "0")), float(spans[0].get("y", "0"))
        box = next(b for b in labels if b[0] <= x <= b[2] and b[1] <= y <= b[3])
        for span in spans:
            assert float(span.get("x", "0")) + len(span.text or "") * MONO_EM * size <= box[2], span.text
            assert box[1] < float(span.get("y", "0")) < box[3]
    # Lines: no line runs through a box; arrows end on a state's border; every label has
    # lines touching both of its sides (it sits on its edge).
    touched: dict[Box, set[str]] = {box: set() for box in labels}
    arrows = 0
    for path in root.iter(f"{SVG}path"):
        if path.get("class") != "msgr-edge":
            continue
        pieces = segments(path.get("d", ""))
        for piece in pieces:
            for point in sample(piece):
                for box in every:
                    assert not inside(point, box), (point, box, path.get("d"))
        start, end = pieces[0][0], pieces[-1][-1]
        if path.get("marker-end"):
            arrows += 1
            assert any(on_border(end, box, "left") for box in states), end
        if path.get("marker-start"):
            arrows += 1
            assert any(on_border(start, box, "right") for box in states), start
        for box in labels:
            for point, side in ((start, "right"), (end, "left")):
                if on_border(point, box, side):
                    touched[box].add(side)
    assert arrows == len(labels)
    assert all(sides == {"left", "right"} for sides in touched.values()), touched


def _side(diagram: Any, tail: str, head: str) -> bool:
    from msgr.diagram import _Layout

    layer = _Layout(diagram).layer
    return layer[tail] > layer[head]


def test_the_session_diagram_reads_left_to_right_from_ready() -> None:
    svg = msgr.SessionState.diagram()._repr_svg_()
    root = ET.fromstring(svg)
    x = {}
    for text in root.iter(f"{SVG}text"):
        if text.text in {s.name for s in msgr.SessionState}:
            x[text.text] = float(text.get("x", "0"))
    assert x["READY"] < x["INVITATION"] < x["ACCEPTED"] < x["CONNECTED"] < x["CANCELLED"]
    assert x["ACCEPTED"] == x["DECLINED"] and x["CANCELLED"] == x["TERMINATED"]
    # Each kind of source has its own line style, explained by the legend.
    for source, (colour, dash, legend) in msgr.diagram.SOURCE_STYLE.items():
        assert legend in svg
        assert re.search(rf"class='msgr-edge'[^>]*stroke='{colour}'" + (rf"[^>]*stroke-dasharray='{dash}'" if dash else ""), svg)
    assert "width='" in svg and int(root.get("width", "0")) <= 1300


def test_the_picture_is_drawn_from_the_table_alone() -> None:
    cells = session_transitions()
    diagram = msgr.SessionState.diagram()
    # A group's lines are those of each of its states.
    drawn = {(tail, e.head) for e in diagram.drawn for group in e.tails for tail in diagram.groups.get(group, (group,))}
    assert drawn == set(diagram.edges)
    for e in diagram.drawn:
        for label in e.labels:
            name, _, role = label.partition(" (")
            # "invite, then invitation_sent": a call into a hidden phase, then the change.
            _before, _then, name = name.rpartition(", then ")
            for group in e.tails:
              for tail in diagram.groups.get(group, (group,)):
                hits = [
                    t for t in cells
                    if t.state.name == tail and t.next is not None and t.next.name == e.head and t.input == name
                    and (t.source == e.source or _before)
                ]
                assert hits, (tail, e.head, label)
                assert {t.role for t in hits} == ({role.rstrip(")")} if role else {"inviter", "invitee"})


def test_the_session_diagram_shows_every_state_of_the_table_and_the_invite_call() -> None:
    diagram = msgr.SessionState.diagram()
    root = ET.fromstring(diagram._repr_svg_())
    shown = {text.text for text in root.iter(f"{SVG}text")}
    assert {s.name for s in msgr.SessionState} <= shown
    assert diagram.unreached == ["UNKNOWN", "FALLBACK_INVITER", "FALLBACK_INVITEE"]
    assert "In the table, never entered:" in shown
    # invite() is what starts an invitation: it moves READY into its hidden "sending"
    # phase, which the switchboard's acknowledgement leaves for INVITATION.
    (invite,) = [e for e in diagram.drawn if e.head == "INVITATION" and e.tails == ("READY",)]
    assert invite.labels == ("invite, then invitation_sent (inviter)",) and invite.source == "call"
    assert "READY --> INVITATION: invite, then invitation_sent (inviter)" in diagram.mermaid()
    # The ways out every state of a session in progress shares are drawn once.
    assert diagram.groups == {"any of INVITATION, ACCEPTED, CONNECTED": ("INVITATION", "ACCEPTED", "CONNECTED")}
    from_group = {label for e in diagram.drawn if e.tails == ("any of INVITATION, ACCEPTED, CONNECTED",) for label in e.labels}
    assert from_group == {"cancel", "peer_cancelled", "peer_cancelled_before_connect", "peer_timed_out", "peer_failed", "peer_connection_failed", "peer_left", "sign_out"}
    assert not any(e.tails == ("INVITATION",) and "cancel" in e.labels for e in diagram.drawn)
    # Nothing ends in the group, and the lock machine has none (its shared sign_out goes back).
    assert all(e.head not in diagram.groups for e in diagram.drawn)
    assert msgr.LockStatus.diagram().groups == {} and msgr.LockStatus.diagram().unreached == []


def test_the_rich_display_is_svg_only_and_mermaid_stays_text() -> None:
    for diagram in (msgr.SessionState.diagram(), msgr.LockStatus.diagram()):
        assert not hasattr(diagram, "_repr_markdown_") and not hasattr(diagram, "_repr_html_")
        assert diagram._repr_svg_().startswith("<svg")
        assert diagram.mermaid().startswith("stateDiagram-v2\n    [*] --> ")
    assert "PENDINGRESULT --> UNLOCKED: accepted" in msgr.LockStatus.diagram().mermaid()


# ---- transition tables ------------------------------------------------------------------------


def test_transitions_are_lists_that_render_as_tables() -> None:
    cells = msgr.SessionState.transitions()
    assert isinstance(cells, list) and isinstance(cells, Transitions)
    assert msgr.LockStatus.transitions() == lock_transitions() == list(lock_transitions())
    text = repr(cells)
    assert "\n" not in text and len(text) < 120 and text == (
        f"<Transitions of SessionState: {len(cells)} cells, "
        f"{sum(t.next is not None and t.next != t.state for t in cells)} change the state, "
        f"{sum(not t.ok for t in cells)} fail>"
    )
    accept = cells.where(input="accept", role="invitee")
    assert isinstance(accept, Transitions) and [t.next for t in accept if t.ok] == [msgr.SessionState.ACCEPTED]
    assert all(t.input == "accept" and t.role == "invitee" for t in accept)
    assert cells.where(state={msgr.SessionState.READY, msgr.SessionState.INVITATION}, changes=True, source="timer") == [
        t for t in cells if t.source == "timer" and t.next is not None and t.next != t.state
    ]
    assert isinstance(cells[:3], Transitions) and cells[0] == list(cells)[0]
    with pytest.raises(TypeError, match="no field"):
        cells.where(colour="red")
    table = accept._repr_html_()
    assert table.count("<tr>") == len(accept) + 1 and "<th>phase</th>" in table
    assert "<b>→ ACCEPTED</b>" in table and "SR_SESSION_STATE_INVALID" in table and "<i>awaiting_launch</i>" in table
    lock_table = lock_transitions()._repr_html_()
    assert "<th>role</th>" not in lock_table and "→ PENDINGRESULT (awaiting_challenge)" in lock_table


# ---- event rows -------------------------------------------------------------------------------


def test_event_rows_show_the_arguments_as_they_were_when_fired() -> None:
    pair = make_pair()
    log = EventLog(pair.service)
    session = pair.invite_and_accept()
    invitation = log.filter("OnInvitation")[0]
    bobs = invitation.args[0]
    assert bobs.state == msgr.SessionState.CONNECTED  # now
    assert invitation.state == msgr.SessionState.INVITATION  # then
    assert "INVITATION" in invitation.shown[0] and "CONNECTED" not in invitation.details
    changes = log.filter("OnStateChanged", source=session)
    assert [e.details for e in changes] == ["READY → INVITATION", "INVITATION → ACCEPTED", "ACCEPTED → CONNECTED"]
    table = log._repr_html_()
    row = next(r for r in table.split("<tr>") if "OnInvitation" in r)
    assert "<td>INVITATION</td>" in row and "CONNECTED" not in row
    assert "<td>READY → INVITATION</td>" in table and "<th>seq</th>" in table
    assert f"<td>{invitation.seq}</td>" in row
    assert "READY → INVITATION" in str(changes[0]) and repr(log).count("→") >= 3


def test_filter_and_slices_give_detached_event_logs() -> None:
    pair = make_pair()
    log = EventLog(pair.service)
    session = pair.invite_and_accept()
    mine = log.filter(source=session)
    several = log.filter(["OnAccepted", "on_ready_to_launch"])
    assert isinstance(mine, EventLog) and isinstance(log[2:5], EventLog) and len(log[2:5]) == 3
    assert several.names() == ["OnAccepted", "OnReadyToLaunch"]
    n = len(mine)
    session.send_context_data("more")
    assert len(mine) == n and log.names()[-1] == "OnContextData"
    assert "<table class='msgr-eventlog'>" in mine._repr_html_() and mine._repr_html_().count("<tr>") == n + 1
    mine.detach()  # a snapshot has nothing to detach from


def test_records_keep_enum_names(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = make_pair()
    log = EventLog(pair.service)
    pair.invite_and_accept()
    pair.bob.sign_out()
    records = log.to_records()
    assert all(set(r) == set(RECORD_COLUMNS) for r in records)
    values = [v for r in records for v in (r["state"], *r["args"])]
    assert not any(hasattr(v, "name") for v in values)  # no IntEnum left to lose its name
    change = next(r for r in records if r["event"] == "OnStateChanged")
    assert change["args"] == ("SessionState.READY",) and change["state"] == "SessionState.INVITATION"
    assert any(r["args"] == ("LockStatus.NOTINITIALIZED",) for r in records)
    invitation = next(r for r in records if r["event"] == "OnInvitation")
    assert invitation["args"][0].startswith("<MsgrSession {") and "INVITATION" in invitation["args"][0]
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)


def test_times_show_enough_decimals_to_order_them() -> None:
    assert _decimals([0.0, 60.0]) == 3
    assert _decimals([0.0, 0.0004, 0.0005]) == 4
    assert _decimals([]) == 3 and _decimals([0.0, 1e-9]) == 6
    assert msgr.diagram.StateDiagram("Empty", [], {})._repr_svg_().startswith("<svg")
    pair = make_pair()
    log = EventLog(pair.service)
    session = pair.invite_and_accept()
    pair.service.advance(0.0002)
    session.send_context_data("later")
    table = log._repr_html_()
    assert "<td>0.0002</td>" in table and "<td>0.0000</td>" in table


def test_events_and_wire_lines_read_together() -> None:
    pair = make_pair()
    log = EventLog(pair.service)
    start = len(pair.service.trace)
    pair.invite_and_accept()
    wire = pair.service.trace[start:]
    assert isinstance(wire, TraceEntries) and "<table class='msgr-trace'>" in wire._repr_html_()
    timeline = log.timeline(wire)
    assert isinstance(timeline, Timeline) and len(timeline) == len(log) + len(wire)
    assert [row.seq for row in timeline.rows] == sorted(row.seq for row in timeline.rows)
    table = timeline._repr_html_()
    assert "<b>OnInvitation</b>" in table and "<code>CAL 2 bob@example.com</code>" in table
    assert table.index("<code>CAL 2") < table.index("<b>OnInvitation</b>")
    assert "Invitation-Command" in table and "<details>" in table
    assert repr(timeline).startswith(f"<Timeline of {len(timeline)} rows>")
    found = pair.service.trace.filter(command="CAL")
    assert isinstance(found, TraceEntries) and found[0].command == "CAL" and "CAL" in repr(found)


def test_the_trace_table_keeps_directions_whole() -> None:
    pair = make_pair()
    pair.invite_and_accept()
    table = pair.service.trace._repr_html_()
    assert "<th>seq</th>" in table
    assert "<td style='white-space:nowrap'>C-&gt;S</td>" in table
    assert "<td style='white-space:nowrap'>S-&gt;C</td>" in table
    assert "<td>C-&gt;S</td>" not in table
