"""examples/explore.ipynb executed by nbconvert, as ``jupyter nbconvert --to html
--execute`` does it: a real kernel runs it top to bottom (twice over: it can be re-run),
and the HTML shows the state diagram as SVG embedded in the page (no mermaid, nothing
fetched), the event table and the trace table."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbconvert.preprocessors import ExecutePreprocessor

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "explore.ipynb"


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(NOTEBOOK.parent)}})
    return nb


@pytest.fixture(scope="module")
def page(executed: nbformat.NotebookNode) -> str:
    body, _resources = HTMLExporter().from_notebook_node(executed)
    return body


def svgs(page: str) -> list[str]:
    """Every SVG the page shows: inline ``<svg>`` elements, and ``data:`` images (how
    the default template embeds an ``image/svg+xml`` output)."""
    found = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    for data in re.findall(r"src=\"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\"", page):
        found.append(base64.b64decode(data).decode("utf-8"))
    return found


def test_every_cell_runs_and_offers_svg_for_the_diagrams(executed: nbformat.NotebookNode) -> None:
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    bundles = [o.data for o in outputs if o.output_type == "execute_result" and "image/svg+xml" in o.data]
    assert len(bundles) == 2
    for data in bundles:
        # SVG, and only plain text besides: nothing a renderer would prefer that needs the network.
        assert set(data) == {"image/svg+xml", "text/plain"}


def test_the_page_shows_the_diagram_the_event_table_and_the_trace(page: str) -> None:
    shown = svgs(page)
    # nbconvert re-serialises the page (attributes come out in double quotes).
    page = page.replace('"', "'")
    session = next(svg for svg in shown if ">SessionState</text>" in svg)
    assert session.startswith("<svg") and ">CONNECTED</text>" in session and "accept (invitee)" in session
    assert any(">LockStatus</text>" in svg for svg in shown)
    # No mermaid diagram anywhere: nothing for the template's mermaid loader to fetch.
    assert "stateDiagram" not in page and "class='mermaid'" not in page and "jp-Mermaid'" not in page
    assert page.count("<table class='msgr-eventlog'>") >= 3
    assert "<td>READY → INVITATION</td>" in page
    offer = next(row for row in page.split("<tr>") if "<td>OnInvitation</td>" in row)
    assert "<td>INVITATION</td>" in offer
    assert "<table class='msgr-trace'>" in page and "<td style='white-space:nowrap'>C-&gt;S</td>" in page
    assert "<table class='msgr-timeline'>" in page and "<table class='msgr-transitions'>" in page


def test_the_notebook_can_be_run_again(executed: nbformat.NotebookNode) -> None:
    again = nbformat.from_dict(executed)
    ExecutePreprocessor(timeout=120, kernel_name="python3").preprocess(again, {"metadata": {"path": str(NOTEBOOK.parent)}})
    texts = lambda nb: [o.get("data", {}).get("text/plain") for c in nb.cells if c.cell_type == "code" for o in c.outputs]  # noqa: E731
    assert texts(again) == texts(executed)
