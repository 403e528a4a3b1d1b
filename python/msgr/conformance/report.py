"""The conformance report: every case's grade, gathered while the run goes, then a
matrix feature × dialect for the terminal, and files for people and CI
(``--msgr-report PATH``): JSON (``.json``), an HTML page (``.html``) whose every cell
links to its cases (the rule, the grade, the wire log of every connection, the
command that reruns the case), and JUnit XML (``.xml``)."""

from __future__ import annotations

import datetime
import html
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .features import FEATURES, ONCE, SUITE_REVISION, Feature
from .grades import Ending, Grade, worst

if TYPE_CHECKING:
    from .cases import Case

__all__ = ["Result", "Report", "ONCE", "cell_grade", "direction_arrow", "load", "anchor"]


def direction_arrow(direction: str) -> str:
    """``>>>`` for what the suite sent, ``<<<`` for what the server sent, ``---`` for
    what happened to the connection."""
    return {"C->S": ">>>", "S->C": "<<<"}.get(direction, "---")


def wire_lines(wire: list[dict[str, Any]]) -> list[str]:
    """A wire log as text lines: ``  0.012  NS#1 alice      >>>  VER 1 MSNP8 CVR0``."""
    return [f"{float(x['time']):8.3f}  {x['conn']!s:<16} {direction_arrow(str(x['dir']))}  {x['line']}" for x in wire]


@dataclass
class Result:
    """One case in one dialect (``dialect`` None for a case that runs once)."""

    case: Case
    dialect: str | None
    nodeid: str
    grade: Grade | None = None
    answer: Grade | None = None
    ending: Ending | None = None
    message: str = ""
    notes: list[str] = field(default_factory=list)
    wire: list[dict[str, Any]] = field(default_factory=list)
    duration: float = 0.0
    rerun: str = ""

    @property
    def id(self) -> str:
        return self.case.full_id(self.dialect)

    @property
    def column(self) -> str:
        return self.dialect or ONCE

    def to_record(self) -> dict[str, Any]:
        return {
            "case": self.id,
            **self.case.to_record(),
            "dialect": self.dialect,
            "grade": self.grade.value if self.grade else None,
            "answer": self.answer.value if self.answer else None,
            "ending": None if self.ending is None else {"how": self.ending.how, "grade": self.ending.grade.value, "why": self.ending.why},
            "message": self.message,
            "notes": list(self.notes),
            "duration": round(self.duration, 6),
            "rerun": self.rerun,
            "wire": self.wire,
            "nodeid": self.nodeid,
        }


def cell_grade(grades: list[Grade]) -> Grade | None:
    """A cell's grade from its cases' (None: no case, the feature does not exist in
    that dialect)."""
    return worst(grades)


def anchor(*parts: str) -> str:
    """An HTML id made of ``parts``."""
    return "-".join("".join(ch if ch.isalnum() else "-" for ch in p.lower()).strip("-") for p in parts)


class Report:
    """The results of one run against ``server``, reported in ``dialects``."""

    def __init__(
        self,
        server: str,
        dialects: tuple[str, ...],
        *,
        accepted: tuple[str, ...] = (),
        nexus: str | None = None,
        version: str = "",
        options: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        self.dialects = dialects
        self.accepted = accepted
        self.nexus = nexus
        self.version = version
        self.options = options or {}
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.finished: datetime.datetime | None = None
        self.results: dict[str, Result] = {}

    def expect(self, nodeid: str, case: Case, dialect: str | None, rerun: str = "") -> None:
        """Registers a collected case."""
        self.results[nodeid] = Result(case, dialect, nodeid, rerun=rerun)

    def record(self, nodeid: str, **fields: Any) -> None:
        """Sets what a case ended with."""
        result = self.results.get(nodeid)
        if result is None:
            return
        for key, value in fields.items():
            setattr(result, key, value)

    @property
    def ran(self) -> list[Result]:
        return [r for r in self.results.values() if r.grade is not None]

    def columns(self) -> list[str]:
        once = any(r.dialect is None for r in self.ran)
        return [*self.dialects, *([ONCE] if once else [])]

    def counts(self) -> dict[str, int]:
        out = {g.value: 0 for g in Grade}
        for r in self.ran:
            assert r.grade is not None
            out[r.grade.value] += 1
        return out

    def table(self) -> list[tuple[Feature, dict[str, Grade | None], int]]:
        """(feature, {column: grade or None}, number of cases) per feature that ran."""
        rows = []
        for feature in FEATURES:
            mine = [r for r in self.ran if r.case.feature == feature]
            if not mine:
                continue
            cells = {column: cell_grade([r.grade for r in mine if r.column == column and r.grade]) for column in self.columns()}
            rows.append((feature, cells, len(mine)))
        return rows

    # ------------------------------------------------------------------ terminal

    def summary_line(self) -> str:
        c = self.counts()
        shown = ", ".join(f"{n} {g}" for g, n in c.items() if n)
        return f"msgr conformance of {self.server} ({', '.join(self.dialects)}): {len(self.ran)} cases: {shown or 'none'}"

    def terminal_lines(self) -> list[str]:
        """The matrix as text, then the cases that did not pass cleanly."""
        columns = self.columns()
        rows = self.table()
        width = max([len("feature"), *(len(f.name) for f, _, _ in rows)])
        header = f"{'feature':<{width}}  " + "  ".join(f"{c:<6}" for c in columns) + "  cases"
        lines = [self.summary_line(), header, "-" * len(header)]
        for feature, cells, n in rows:
            shown = ((g.short if g else "-") for g in cells.values())
            lines.append(f"{feature.name:<{width}}  " + "  ".join(f"{v:<6}" for v in shown) + f"  {n:>5}")
        for grade in (Grade.FAILED, Grade.SETUP_FAILED, Grade.RATE_LIMITED, Grade.NON_STRICT):
            chosen = [r for r in self.ran if r.grade == grade]
            if chosen:
                lines.append(f"{grade.value}:")
                lines.extend(f"  {r.id}: {_first_line(r)}" for r in chosen)
        return lines

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "suite": {"name": "msgr.conformance", "msgr_version": self.version, "revision": SUITE_REVISION},
            "server": self.server,
            "nexus": self.nexus,
            "dialects": list(self.dialects),
            "accepted": list(self.accepted),
            "columns": self.columns(),
            "options": self.options,
            "generated": self.started.isoformat(timespec="seconds"),
            "duration": round(((self.finished or self.started) - self.started).total_seconds(), 3),
            "summary": self.counts(),
            "features": [
                {"feature": f.name, "key": f.key, "cells": {c: (g.value if g else None) for c, g in cells.items()}, "cases": n}
                for f, cells, n in self.table()
            ],
            "cases": [r.to_record() for r in self.ran],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1, ensure_ascii=False, default=str)
            f.write("\n")

    # ------------------------------------------------------------------ JUnit

    def to_junit(self) -> str:
        """JUnit XML: a test case per case (classname the feature), failed for FAILED
        and RATE-LIMITED, skipped for UNSUPPORTED and SKIPPED; the grade, the rule and
        the wire log in ``system-out``."""
        c = self.counts()
        suite = ET.Element(
            "testsuite",
            name="msgr.conformance",
            tests=str(len(self.ran)),
            failures=str(sum(c[g.value] for g in Grade if g.counts_as_failure)),
            errors="0",
            skipped=str(c[Grade.UNSUPPORTED.value] + c[Grade.SKIPPED.value]),
            time=f"{sum(r.duration for r in self.ran):.3f}",
            timestamp=self.started.isoformat(timespec="seconds"),
            hostname=self.server,
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (("msgr_version", self.version), ("suite_revision", str(SUITE_REVISION)), ("server", self.server), ("dialects", ",".join(self.dialects))):
            ET.SubElement(properties, "property", name=name, value=value)
        for r in self.ran:
            assert r.grade is not None
            element = ET.SubElement(suite, "testcase", classname=f"msgr.conformance.{r.case.feature.key}", name=r.id, time=f"{r.duration:.3f}")
            if r.grade.counts_as_failure:
                failure = ET.SubElement(element, "failure", message=f"{r.grade.value}: {_first_line(r)}", type=r.grade.value)
                failure.text = r.message
            elif not r.grade.judged:
                ET.SubElement(element, "skipped", message=f"{r.grade.value}: {_first_line(r)}")
            out = ET.SubElement(element, "system-out")
            out.text = "\n".join(_case_text(r))
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

    def write_junit(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_junit())

    # ------------------------------------------------------------------ HTML

    def to_html(self) -> str:
        """A self-contained page: the matrix (each cell links to its cases), then
        every case grouped by feature and column, with its rule, sources, grades,
        message, wire log and the command that reruns it."""
        e = html.escape
        columns = self.columns()
        head = "".join(f"<th>{e(col)}</th>" for col in columns)
        body = []
        sections = []
        for feature, cells, n in self.table():
            tds = []
            for col, grade in cells.items():
                if grade is None:
                    tds.append('<td class="na" title="no such feature in this dialect">–</td>')
                    continue
                target = anchor("cell", feature.key, col)
                tds.append(f'<td class="g-{anchor(grade.value)}"><a href="#{target}">{e(grade.value)}</a></td>')
                mine = [r for r in self.ran if r.case.feature == feature and r.column == col]
                sections.append(f"<section id='{target}'><h3>{e(feature.name)} · {e(col)} · {e(grade.value)}</h3>")
                sections.extend(_case_html(r) for r in mine)
                sections.append("</section>")
            body.append(f"<tr><th class='feature'>{e(feature.name)}</th>{''.join(tds)}<td class='n'>{n}</td></tr>")
        c = self.counts()
        counts = " · ".join(f"<span class='g-{anchor(g)}'>{n} {e(g)}</span>" for g, n in c.items() if n)
        options = ", ".join(f"{e(k)}={e(json.dumps(v))}" for k, v in self.options.items() if v not in (None, [], False))
        return _PAGE.format(
            title=e(f"msgr conformance: {self.server}"),
            server=e(self.server),
            nexus=e(self.nexus or "none"),
            dialects=e(", ".join(self.dialects)),
            accepted=e(", ".join(self.accepted) or "none"),
            generated=e(self.started.isoformat(timespec="seconds")),
            version=e(self.version),
            revision=SUITE_REVISION,
            options=options or "defaults",
            counts=counts,
            head=head,
            rows="\n".join(body),
            sections="\n".join(sections),
            legend=_LEGEND,
            css=PAGE_CSS,
        )

    def write_html(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html())

    def write(self, path: str) -> None:
        """Writes the report in the format ``path``'s suffix names."""
        lower = path.lower()
        if lower.endswith(".json"):
            self.write_json(path)
        elif lower.endswith(".xml"):
            self.write_junit(path)
        else:
            self.write_html(path)


def _first_line(r: Result) -> str:
    text = r.message or (r.ending.why if r.ending and r.ending.why else "") or next(iter(r.notes), "")
    return text.splitlines()[0] if text else ""


def _case_text(r: Result) -> list[str]:
    assert r.grade is not None
    lines = [f"{r.id}: {r.grade.value}  ({r.case.title})", f"rule: {r.case.rule}", *(f"source: {s}" for s in r.case.sources)]
    if r.answer is not None:
        lines.append(f"answer: {r.answer.value}")
    if r.ending is not None:
        lines.append(f"connection: {r.ending.how} ({r.ending.grade.value}){': ' + r.ending.why if r.ending.why else ''}")
    if r.message:
        lines.append(f"message: {r.message}")
    lines.extend(r.notes)
    if r.rerun:
        lines.append(f"rerun: {r.rerun}")
    lines.append("wire:")
    lines.extend(wire_lines(r.wire))
    return lines


def _case_html(r: Result) -> str:
    e = html.escape
    assert r.grade is not None
    cls = anchor(r.grade.value)
    opened = " open" if r.grade in (Grade.FAILED, Grade.SETUP_FAILED, Grade.RATE_LIMITED, Grade.NON_STRICT) else ""
    parts = [f"<details class='case k-{cls}' id='{anchor('case', r.id)}'{opened}>"]
    parts.append(f"<summary><code>{e(r.id)}</code> <b class='g-{cls}'>{e(r.grade.value)}</b> {_code_spans(r.case.title)}</summary>")
    parts.append(f"<blockquote>{e(r.case.rule)}</blockquote>")
    parts.append("<ul class='sources'>" + "".join(f"<li>{e(s)}</li>" for s in r.case.sources) + "</ul>")
    graded = []
    if r.answer is not None:
        graded.append(f"answer: <b>{e(r.answer.value)}</b>")
    if r.ending is not None:
        graded.append(f"connection {e(r.ending.how)}: <b>{e(r.ending.grade.value)}</b>")
    if graded:
        parts.append(f"<p>{' · '.join(graded)}</p>")
    if r.message:
        parts.append(f"<pre class='message'>{e(r.message)}</pre>")
    if r.ending is not None and r.ending.why:
        parts.append(f"<p class='note'>{e(r.ending.why)}</p>")
    parts.extend(f"<p class='note'>{e(n)}</p>" for n in r.notes)
    if r.wire:
        rows = "".join(
            f"<tr class='{_ROW_CLASS.get(str(x['dir']), 'conn')}'>"
            f"<td>{float(x['time']):.3f}</td><td>{e(str(x['conn']))}</td><td>{e(direction_arrow(str(x['dir'])))}</td><td>{e(str(x['line']))}</td></tr>"
            for x in r.wire
        )
        parts.append(f"<table class='wire'>{rows}</table>")
    if r.rerun:
        parts.append(f"<p>Rerun just this case (passwords masked):</p><pre class='rerun'>{e(r.rerun)}</pre>")
    parts.append("</details>")
    return "".join(parts)


#: The wire log's row classes: what the suite sent, what the server sent.
_ROW_CLASS = {"C->S": "sent", "S->C": "got"}


def _code_spans(text: str) -> str:
    """``text`` escaped, with its `backticked` spans as <code>."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def load(path: str) -> dict[str, Any]:
    """A JSON report written by ``Report.write_json``; ``ValueError`` if it is not one."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "cases" not in data or "features" not in data or "suite" not in data:
        raise ValueError(f"{path} is not a msgr conformance JSON report")
    return data


_LEGEND = (
    "<p class='legend'>"
    "<span class='g-ok'>OK</span> the original service's behaviour · "
    "<span class='g-non-strict'>NON-STRICT</span> an answer recorded for another server, not the original's · "
    "<span class='g-informational'>INFORMATIONAL</span> recorded, not graded · "
    "<span class='g-unsupported'>UNSUPPORTED</span> not offered by the server · "
    "<span class='g-skipped'>SKIPPED</span> the run lacked an option · "
    "<span class='g-rate-limited'>RATE-LIMITED</span> refused with 600/713 after back-off · "
    "<span class='g-setup-failed'>SETUP-FAILED</span> a step the case builds on failed (judged by its own case) · "
    "<span class='g-failed'>FAILED</span> · – no such feature in that dialect</p>"
)

#: The page's style, shared with the compare page.
PAGE_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: center; }
th.feature { text-align: left; font-weight: 600; white-space: nowrap; }
td a { color: inherit; text-decoration: none; display: block; }
td.n { color: #666; }
td.na { color: #bbb; }
.g-ok { background: #d8f0d8; }
.g-non-strict { background: #fbe9a6; }
.g-informational { background: #d6e6f7; }
.g-unsupported { background: #eee; color: #555; }
.g-skipped { background: #f4f4f4; color: #777; }
.g-rate-limited { background: #f9d2a6; }
.g-setup-failed { background: #f3d9e8; }
.g-failed { background: #f6c9c9; font-weight: 700; }
.legend span, p span { padding: .1em .4em; border-radius: 3px; }
section { margin: 1.5em 0; }
details.case { border-left: 4px solid #ccc; padding: .2em .8em; margin: .4em 0; background: #fff; }
details.case.k-failed { border-color: #d33; } details.case.k-non-strict { border-color: #d9b300; }
details.case.k-rate-limited { border-color: #e08a00; } details.case.k-setup-failed { border-color: #b5608e; } details.case.k-ok { border-color: #5a5; }
details.case summary b { padding: 0 .3em; }
blockquote { margin: .4em 0; padding-left: .8em; border-left: 3px solid #ddd; color: #444; }
ul.sources { font-size: .85em; color: #555; margin: .2em 0; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: .85em; white-space: pre-wrap; }
p.note { font-size: .9em; color: #555; }
table.wire { font-family: ui-monospace, monospace; font-size: .8em; margin: .4em 0; }
table.wire td { border: none; text-align: left; padding: 0 .6em 0 0; white-space: nowrap; vertical-align: top; }
table.wire td:nth-child(4) { white-space: pre-wrap; word-break: break-all; }
table.wire tr.sent td:nth-child(4) { color: #124; }
table.wire tr.got td:nth-child(4) { color: #063; }
table.wire tr.conn td { color: #888; font-style: italic; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{css}</style></head>
<body>
<h1>{title}</h1>
<p>Server <code>{server}</code>, nexus <code>{nexus}</code>. Dialects reported: {dialects} (agreed to when offered alone: {accepted}).
Generated {generated} by msgr {version}, suite revision {revision}; options: {options}.</p>
<p>{counts}</p>
{legend}
<table>
<thead><tr><th>feature</th>{head}<th>cases</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>Cases</h2>
{sections}
</body></html>
"""
