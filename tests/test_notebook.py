"""examples/explore.ipynb runs top to bottom and shows what it says it shows. The cells
run as a script in one namespace, as a kernel would run them, and each cell's last
expression is rendered the way Jupyter would (``_repr_html_``/``_repr_svg_``)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import msgr

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "explore.ipynb"


def run_notebook() -> tuple[dict[str, Any], list[Any]]:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    shown: list[Any] = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        assert cell["outputs"] == [], "the notebook is committed without outputs"
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "explore.ipynb", "exec"), namespace)
        if last is not None:
            shown.append(eval(compile(ast.Expression(last.value), "explore.ipynb", "eval"), namespace))
    return namespace, shown


def render(value: Any) -> str:
    for method in ("_repr_html_", "_repr_svg_"):
        if hasattr(value, method):
            return getattr(value, method)()
    return repr(value)


def test_notebook_runs_and_shows_each_step(capsys) -> None:
    ns, shown = run_notebook()
    assert capsys.readouterr().out == "terminated: SR_SESSION_TIMEOUT\n"
    (
        service, unlocked, log_table, connected, invitation, timeline, timed_out, session_events, trace,
        accept_cells, diagram, lock_diagram,
    ) = shown
    assert isinstance(service, msgr.Service)
    assert unlocked == (msgr.LockStatus.UNLOCKED, msgr.LockStatus.UNLOCKED)
    assert "OnLockChallenge" in render(log_table)
    state, remote, user, received = connected
    assert state == msgr.SessionState.CONNECTED and remote == "127.0.0.4"
    assert user.sign_in_name == "bob@example.com" and received == ["192.0.2.10:6891"]
    # The invitation's events, both sides, each as it was when it fired.
    assert isinstance(invitation, msgr.EventLog)
    assert invitation.names() == [
        "OnStateChanged", "OnInvitation", "OnStateChanged", "BeforeAppLaunch", "OnStateChanged",
        "OnAccepted", "OnStateChanged", "OnReadyToLaunch", "OnStateChanged", "OnContextData",
    ]
    table = render(invitation)
    offer = next(row for row in table.split("<tr>") if "OnInvitation" in row)
    assert "<td>INVITATION</td>" in offer and "CONNECTED" not in offer
    assert "<td>READY → INVITATION</td>" in table and "<td>ACCEPTED → CONNECTED</td>" in table
    assert [row.seq for row in timeline.rows] == sorted(row.seq for row in timeline.rows)
    wire = render(timeline)
    assert "<b>OnInvitation</b>" in wire and "<code>CAL 2 bob@example.com</code>" in wire and "Invitation-Command" in wire
    assert timed_out == msgr.SessionState.CANCELLED
    assert [e.event for e in session_events] == ["OnStateChanged", "OnStateChanged", "OnAccepted", "OnStateChanged"]
    assert isinstance(session_events, msgr.EventLog)
    assert [e.details for e in session_events if e.event == "OnStateChanged"] == [
        "READY → INVITATION", "INVITATION → ACCEPTED", "ACCEPTED → CONNECTED"
    ]
    html = render(trace)
    for command in ("VER", "CHL", "QRY", "XFR", "CAL", "RNG", "ANS", "JOI", "MSG"):
        assert f"<td>{command}</td>" in html
    assert "Invitation-Command" in html and "CONTEXT" in html
    assert "<td style='white-space:nowrap'>C-&gt;S</td>" in html and "<td>60.000</td>" in html
    # What accept does for the invitee: in each state's own phase as before, and in
    # the hidden phases too.
    assert isinstance(accept_cells, list) and "<table class='msgr-transitions'>" in render(accept_cells)
    assert [t.next for t in accept_cells if t.phase == t.state.name] == [
        None, None, msgr.SessionState.ACCEPTED, None, None, None, None, None, None, None
    ]
    assert [t.phase for t in accept_cells if t.phase != t.state.name] == ["sending", "awaiting_launch", "awaiting_address"]
    assert all(t.input == "accept" and t.role == "invitee" for t in accept_cells)
    svg = render(diagram)
    assert svg.startswith("<svg") and "CONNECTED" in svg and "accept (invitee)" in svg
    assert not hasattr(diagram, "_repr_markdown_")
    lock_svg = render(lock_diagram)
    assert lock_svg.startswith("<svg") and ">PENDINGRESULT</text>" in lock_svg and ">request_challenge</tspan>" in lock_svg
    assert ns["log"].names().count("OnLockResult") == 3
