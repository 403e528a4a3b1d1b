"""Several servers' JSON reports side by side: one matrix, feature × dialect, a column
per server under each dialect, and the cases whose grades differ. ``python -m msgr
conformance compare a.json b.json [--html matrix.html]``."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from typing import Any

from .grades import Grade
from .features import FEATURES
from .report import PAGE_CSS, anchor, load

__all__ = ["Compared", "compare"]

_GRADES = {g.value: g for g in Grade}


@dataclass(frozen=True)
class Compared:
    """Reports read for comparison: their ``names``, the JSON ``reports``, the
    ``columns`` (every dialect any of them reports, then ``any``)."""

    names: tuple[str, ...]
    reports: tuple[dict[str, Any], ...]
    columns: tuple[str, ...]

    def cell(self, report: dict[str, Any], feature: str, column: str) -> str | None:
        """A report's grade for a feature in a column (None: no such cell)."""
        row = next((f for f in report["features"] if f["feature"] == feature), None)
        return None if row is None else row["cells"].get(column)

    def rows(self) -> list[tuple[str, list[list[str | None]]]]:
        """(feature, [per column: [per report: grade or None]]) for every feature some
        report has."""
        present = {f["feature"] for r in self.reports for f in r["features"]}
        return [
            (feature.name, [[self.cell(r, feature.name, col) for r in self.reports] for col in self.columns])
            for feature in FEATURES
            if feature.name in present
        ]

    def differences(self) -> list[tuple[str, list[str | None]]]:
        """(case id, [per report: grade or None]) for every case whose grade differs."""
        grades = [{c["case"]: c["grade"] for c in r["cases"]} for r in self.reports]
        ids = sorted({k for g in grades for k in g}, key=_case_order)
        return [(k, [g.get(k) for g in grades]) for k in ids if len({g.get(k) for g in grades}) > 1]

    # ------------------------------------------------------------------ text

    def text(self) -> str:
        """The matrix and the differences as text."""
        lines = [f"msgr conformance: {len(self.reports)} reports side by side"]
        for i, (name, r) in enumerate(zip(self.names, self.reports), 1):
            suite = r.get("suite", {})
            lines.append(
                f"  [{i}] {name}: {r['server']}, {r.get('generated', '?')}, msgr {suite.get('msgr_version', '?')} "
                f"(suite revision {suite.get('revision', '?')})"
            )
        revisions = {r.get("suite", {}).get("revision") for r in self.reports}
        if len(revisions) > 1:
            lines.append("  note: the reports come from different suite revisions; some cases may differ for that reason")
        n = len(self.reports)
        width = max(len("feature"), *(len(f) for f, _ in self.rows()))
        cell = 6
        group = n * (cell + 1) - 1
        lines.append(f"{'':<{width}}  " + "  ".join(f"{c:<{group}}" for c in self.columns))
        lines.append(f"{'feature':<{width}}  " + "  ".join(" ".join(f"{str(i):<{cell}}" for i in range(1, n + 1)) for _ in self.columns))
        lines.append("-" * (width + 2 + len(self.columns) * (group + 2)))
        for feature, cells in self.rows():
            shown = "  ".join(" ".join(f"{_short(g):<{cell}}" for g in per) for per in cells)
            lines.append(f"{feature:<{width}}  {shown}")
        diffs = self.differences()
        lines.append(f"cases graded differently: {len(diffs)}")
        id_width = max([len("case"), *(len(k) for k, _ in diffs)])
        lines.extend(f"  {k:<{id_width}}  " + "  ".join(f"{_short(g):<{cell}}" for g in per) for k, per in diffs)
        return "\n".join(lines)

    # ------------------------------------------------------------------ HTML

    def html(self) -> str:
        """The matrix and the differences as one page."""
        e = html.escape
        n = len(self.reports)
        legend = "".join(
            f"<li>[{i}] <b>{e(name)}</b>: <code>{e(r['server'])}</code>, {e(str(r.get('generated', '?')))}, "
            f"msgr {e(str(r.get('suite', {}).get('msgr_version', '?')))}, suite revision {e(str(r.get('suite', {}).get('revision', '?')))}</li>"
            for i, (name, r) in enumerate(zip(self.names, self.reports), 1)
        )
        head1 = "".join(f"<th colspan='{n}'>{e(c)}</th>" for c in self.columns)
        head2 = "".join(f"<th title='{e(name)}'>{i}</th>" for _ in self.columns for i, name in enumerate(self.names, 1))
        body = []
        for feature, cells in self.rows():
            tds = "".join(_td(g, name) for per in cells for g, name in zip(per, self.names))
            body.append(f"<tr><th class='feature'>{e(feature)}</th>{tds}</tr>")
        diffs = "".join(
            f"<tr><th class='feature'><code>{e(k)}</code></th>" + "".join(_td(g, name) for g, name in zip(per, self.names)) + "</tr>"
            for k, per in self.differences()
        )
        names = "".join(f"<th>[{i}] {e(name)}</th>" for i, name in enumerate(self.names, 1))
        return (
            "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>msgr conformance: comparison</title>"
            f"<style>{PAGE_CSS}</style></head><body><h1>msgr conformance: {n} servers side by side</h1>"
            f"<ul class='reports'>{legend}</ul>"
            f"<table><thead><tr><th rowspan='2'>feature</th>{head1}</tr><tr>{head2}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            f"<h2>Cases graded differently ({len(self.differences())})</h2>"
            f"<table><thead><tr><th>case</th>{names}</tr></thead><tbody>{diffs}</tbody></table>"
            "</body></html>\n"
        )


def _short(value: str | None) -> str:
    grade = _GRADES.get(value or "")
    return grade.short if grade is not None else "-"


def _td(value: str | None, name: str) -> str:
    grade = _GRADES.get(value or "")
    if grade is None:
        return "<td class='na'>–</td>"
    return f"<td class='g-{anchor(grade.value)}' title='{html.escape(name)}: {grade.value}'>{grade.short}</td>"


def _case_order(case_id: str) -> tuple[str, int, str]:
    dialect, _, rest = case_id.partition("/")
    number = int(dialect[4:]) if dialect.startswith("msnp") and dialect[4:].isdigit() else 99
    return (rest, number, dialect)


def compare(paths: list[str], names: list[str] | None = None) -> Compared:
    """Reads the reports at ``paths`` (``ValueError`` naming a file that is not one)."""
    if len(paths) < 2:
        raise ValueError("compare needs two reports or more")
    reports = tuple(load(p) for p in paths)
    if names and len(names) != len(paths):
        raise ValueError(f"{len(names)} names for {len(paths)} reports")
    shown = tuple(names) if names else tuple(os.path.splitext(os.path.basename(p))[0] for p in paths)
    dialects = sorted({d for r in reports for d in r.get("dialects", [])}, key=lambda d: int(d[4:]))
    once = any("any" in r.get("columns", []) for r in reports)
    return Compared(shown, reports, (*dialects, *(("any",) if once else ())))

