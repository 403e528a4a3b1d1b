"""The conformance report: every check's outcome, gathered while the run goes, then a
table feature × dialect -> pass / fail / skip, for the terminal and as JSON and HTML
(``--msgr-report PATH.json`` / ``PATH.html``). A failed check keeps its message and the
lines it exchanged; a skipped one its reason."""

from __future__ import annotations

import datetime
import html
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Result", "Report", "ANY", "cell_outcome"]

#: The column of checks that run once, not per dialect (the choice of dialect itself).
ANY = "any"

_SHORT = {"passed": "pass", "failed": "FAIL", "skipped": "skip"}


@dataclass
class Result:
    """One check: its node id, feature and source, dialect (None when it runs once),
    ``outcome`` (``passed``, ``failed``, ``skipped``), the failure or skip ``message``
    and, for a failure, the lines it exchanged."""

    nodeid: str
    name: str
    feature: str
    source: str
    dialect: str | None
    outcome: str = "passed"
    message: str = ""
    exchanged: list[dict[str, object]] = field(default_factory=list)
    duration: float = 0.0

    def to_record(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "feature": self.feature,
            "source": self.source,
            "dialect": self.dialect,
            "outcome": self.outcome,
            "message": self.message,
            "duration": round(self.duration, 6),
            "exchanged": self.exchanged,
        }


def cell_outcome(outcomes: list[str]) -> str | None:
    """A cell's verdict from its checks: ``fail`` if any failed, else ``pass`` if any
    passed, else ``skip``; None for no checks (the feature does not apply)."""
    if not outcomes:
        return None
    if "failed" in outcomes:
        return "fail"
    if "passed" in outcomes:
        return "pass"
    return "skip"


class Report:
    """The results of one run against ``server``, checked in ``dialects``."""

    def __init__(self, server: str, dialects: tuple[str, ...], *, nexus: str | None = None, version: str = "") -> None:
        self.server = server
        self.dialects = dialects
        self.nexus = nexus
        self.version = version
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.results: dict[str, Result] = {}
        #: Feature -> source, in the order the checks were collected.
        self.features: dict[str, str] = {}

    def expect(self, nodeid: str, name: str, feature: str, source: str, dialect: str | None) -> None:
        """Registers a collected check (so a feature shows even if nothing ran)."""
        self.features.setdefault(feature, source)
        self.results[nodeid] = Result(nodeid, name, feature, source, dialect, outcome="")

    def record(self, nodeid: str, outcome: str, message: str = "", exchanged: list[dict[str, object]] | None = None, duration: float = 0.0) -> None:
        """A phase's outcome: a failure in any phase fails the check; a skip counts
        unless it already failed; a pass only from the call itself."""
        result = self.results.get(nodeid)
        if result is None:
            return
        result.duration += duration
        if result.outcome == "failed":
            return
        if outcome == "failed" or outcome == "skipped" or (outcome == "passed" and not result.outcome):
            result.outcome = outcome
            result.message = message
            result.exchanged = exchanged or []

    @property
    def ran(self) -> list[Result]:
        return [r for r in self.results.values() if r.outcome]

    def columns(self) -> list[str]:
        once = any(r.dialect is None for r in self.ran)
        return [*self.dialects, *([ANY] if once else [])]

    def counts(self) -> dict[str, int]:
        out = {"passed": 0, "failed": 0, "skipped": 0}
        for r in self.ran:
            out[r.outcome] += 1
        return out

    def table(self) -> list[tuple[str, str, dict[str, str | None], int]]:
        """(feature, source, {column: pass/fail/skip/None}, number of checks) per feature."""
        rows = []
        for feature, source in self.features.items():
            mine = [r for r in self.ran if r.feature == feature]
            if not mine:
                continue
            cells = {
                column: cell_outcome([r.outcome for r in mine if (r.dialect or ANY) == column]) for column in self.columns()
            }
            rows.append((feature, source, cells, len(mine)))
        return rows

    # ------------------------------------------------------------------ renderings

    def summary_line(self) -> str:
        c = self.counts()
        return (
            f"msgr conformance of {self.server} ({', '.join(self.dialects)}): "
            f"{len(self.ran)} checks, {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
        )

    def terminal_lines(self) -> list[str]:
        """The table as text: one row per feature, a column per dialect."""
        columns = self.columns()
        rows = self.table()
        width = max([len("feature"), *(len(f) for f, _, _, _ in rows)])
        header = f"{'feature':<{width}}  " + "  ".join(f"{c:<6}" for c in columns) + "  checks"
        lines = [self.summary_line(), header, "-" * len(header)]
        for feature, _, cells, n in rows:
            shown = ("FAIL" if v == "fail" else (v or "-") for v in cells.values())
            lines.append(f"{feature:<{width}}  " + "  ".join(f"{v:<6}" for v in shown) + f"  {n:>6}")
        failed = [r for r in self.ran if r.outcome == "failed"]
        if failed:
            lines.append("failed:")
            lines.extend(f"  {r.nodeid}: {r.message.splitlines()[0] if r.message else ''}" for r in failed)
        return lines

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data: the server, the dialects, the counts, one
        entry per feature (source, a verdict per column, the number of checks) and one
        per check."""
        return {
            "server": self.server,
            "nexus": self.nexus,
            "dialects": list(self.dialects),
            "columns": self.columns(),
            "generated": self.started.isoformat(timespec="seconds"),
            "msgr_version": self.version,
            "summary": self.counts(),
            "features": [
                {"feature": f, "source": s, "cells": cells, "checks": n} for f, s, cells, n in self.table()
            ],
            "tests": [r.to_record() for r in self.ran],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2, ensure_ascii=False)
            f.write("\n")

    def to_html(self) -> str:
        """A self-contained page: the table (cells link to their failures), then each
        failure with its message and the lines it exchanged, then the skip reasons."""
        e = html.escape
        columns = self.columns()
        c = self.counts()
        head = "".join(f"<th>{e(col)}</th>" for col in columns)
        body = []
        for feature, source, cells, n in self.table():
            tds = []
            for col, verdict in cells.items():
                if verdict is None:
                    tds.append('<td class="na">–</td>')
                    continue
                anchor = _anchor(feature, col)
                text = {"pass": "pass", "fail": "FAIL", "skip": "skip"}[verdict]
                link = f'<a href="#{anchor}">{text}</a>' if verdict != "pass" else text
                tds.append(f'<td class="{verdict}">{link}</td>')
            body.append(
                f"<tr><th class='feature'>{e(feature)}<div class='source'>{e(source)}</div></th>{''.join(tds)}<td class='n'>{n}</td></tr>"
            )
        details = []
        for title, outcome in (("Failures", "failed"), ("Skipped", "skipped")):
            chosen = [r for r in self.ran if r.outcome == outcome]
            if not chosen:
                continue
            details.append(f"<h2>{title} ({len(chosen)})</h2>")
            seen: set[str] = set()
            for r in chosen:
                anchor = _anchor(r.feature, r.dialect or ANY)
                id_attr = f' id="{anchor}"' if anchor not in seen else ""
                seen.add(anchor)
                lines = "\n".join(
                    f"{float(str(x['time'])):8.3f}  {x['conn']!s:<12} {x['dir']}  {x['line']}" for x in r.exchanged
                )
                exchanged = f"<pre>{e(lines)}</pre>" if lines else ""
                details.append(
                    f"<section class='{outcome}'{id_attr}><h3>{e(r.feature)} · {e(r.dialect or ANY)} · <code>{e(r.name)}</code></h3>"
                    f"<p class='source'>{e(r.source)}</p><pre class='message'>{e(r.message)}</pre>{exchanged}</section>"
                )
        return _PAGE.format(
            title=e(f"msgr conformance: {self.server}"),
            server=e(self.server),
            nexus=e(self.nexus or "none"),
            dialects=e(", ".join(self.dialects)),
            generated=e(self.started.isoformat(timespec="seconds")),
            version=e(self.version),
            passed=c["passed"],
            failed=c["failed"],
            skipped=c["skipped"],
            head=head,
            rows="\n".join(body),
            details="\n".join(details),
        )

    def write_html(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_html())


def _anchor(feature: str, column: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in feature.lower()).strip("-")
    return f"{slug}--{column.lower()}"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .35em .7em; text-align: center; }}
th.feature {{ text-align: left; font-weight: 600; }}
.source {{ font-weight: normal; font-size: .8em; color: #666; }}
td.pass {{ background: #d8f0d8; }}
td.fail {{ background: #f6c9c9; font-weight: 700; }}
td.skip {{ background: #eee; color: #666; }}
td.na {{ color: #bbb; }}
td a {{ color: inherit; }}
td.n {{ color: #666; }}
section {{ border-left: 4px solid #ccc; padding: 0 1em; margin: 1em 0; }}
section.failed {{ border-color: #d33; }}
pre {{ background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }}
pre.message {{ white-space: pre-wrap; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Server <code>{server}</code>, nexus <code>{nexus}</code>, dialects {dialects}. Generated {generated} by msgr {version}.</p>
<p><b>{passed}</b> passed, <b>{failed}</b> failed, <b>{skipped}</b> skipped.</p>
<table>
<thead><tr><th>feature (source)</th>{head}<th>checks</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{details}
</body></html>
"""
