"""The conformance suite's parts that need no server: the catalogue of cases, how a case's
grade is made of its answer and its ending, how a cell is made of its cases, and the
reports (JSON, JUnit XML, HTML) and their comparison, from results made by hand."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msgr.conformance.cases import CASES, Case, applies, catalogue
from msgr.conformance.compare import compare
from msgr.conformance.features import FEATURES, ONCE, SUITE_REVISION, by_key
from msgr.conformance.grades import SEVERITY, Ending, Grade, worst
from msgr.conformance.report import Report
from msgr.conformance.target import DIALECTS
from msgr.conformance.verdict import Verdict


def test_the_catalogue_holds_every_case_once_with_its_rule_and_public_sources() -> None:
    cases = catalogue()
    assert len(cases) == len(CASES) == len({c.id for c in cases}) > 60
    for c in cases:
        assert re.fullmatch(r"(ns|sb|nexus)/[a-z0-9-]+/\d+", c.id), c.id
        assert c.feature in FEATURES and by_key(c.feature.key) is c.feature
        assert c.once or c.in_dialects(), c.id
        assert len(c.rule) > 30 and c.sources and all(len(s) > 10 for s in c.sources), c.id
        assert not re.search(r"msnp(8-12)?\.md|decisions\.md|docs/protocol", " ".join((c.rule, *c.sources))), c.id
        assert c.title and not c.title.endswith(":"), c.id
    assert {c.feature for c in cases} == set(FEATURES)


@pytest.mark.parametrize(
    ("spec", "dialect", "expected"),
    [("all", "MSNP7", True), ("MSNP8+", "MSNP7", False), ("MSNP8+", "MSNP12", True), ("MSNP7-9", "MSNP9", True), ("MSNP7-9", "MSNP10", False), ("MSNP11", "MSNP11", True), ("MSNP11", "MSNP12", False)],
)
def test_a_cases_dialects(spec: str, dialect: str, expected: bool) -> None:
    assert applies(spec, dialect) is expected


def test_a_full_id_names_the_dialect_or_any() -> None:
    case = CASES["ns/usr/3"]
    assert case.full_id("MSNP11") == "msnp11/ns/usr/3" and case.full_id(None) == f"{ONCE}/ns/usr/3"


@pytest.mark.parametrize(
    ("steps", "grade"),
    [
        ([], Grade.OK),
        (["non_strict"], Grade.NON_STRICT),
        (["informational"], Grade.INFORMATIONAL),
        (["informational", "non_strict"], Grade.NON_STRICT),
        (["ended OK"], Grade.OK),
        (["ended NON-STRICT"], Grade.NON_STRICT),
        (["ended FAILED"], Grade.FAILED),
        (["informational", "ended OK"], Grade.INFORMATIONAL),
        (["non_strict", "ended FAILED"], Grade.FAILED),
        (["ended OK", "ended NON-STRICT"], Grade.NON_STRICT),
    ],
)
def test_a_cases_grade_is_the_worse_of_its_answer_and_its_ending(steps: list[str], grade: Grade) -> None:
    verdict = Verdict()
    for step in steps:
        if step.startswith("ended "):
            verdict.ended("closed", Grade(step.split(" ", 1)[1]))
        else:
            getattr(verdict, step)("why")
    assert verdict.grade == grade


@given(st.lists(st.sampled_from(list(Grade)), min_size=1))
def test_a_cell_shows_the_worst_of_its_cases_in_the_documented_order(grades: list[Grade]) -> None:
    shown = worst(grades)
    assert shown in grades
    assert all(SEVERITY.index(shown) <= SEVERITY.index(g) for g in grades)


def test_the_order_of_the_grades_in_a_cell() -> None:
    assert worst([Grade.OK, Grade.UNSUPPORTED]) == Grade.OK
    assert worst([Grade.INFORMATIONAL, Grade.OK]) == Grade.OK
    assert worst([Grade.SKIPPED, Grade.UNSUPPORTED]) == Grade.SKIPPED
    assert worst([Grade.NON_STRICT, Grade.SETUP_FAILED]) == Grade.SETUP_FAILED
    assert worst([]) is None
    assert [g for g in Grade if g.counts_as_failure] == [Grade.RATE_LIMITED, Grade.SETUP_FAILED, Grade.FAILED]


def made_report(server: str, grades: dict[tuple[str, str | None], Grade]) -> Report:
    """A report with the given (case id, dialect) -> grade, as if a run had made it."""
    report = Report(server, tuple(DIALECTS), accepted=tuple(DIALECTS), nexus="http://n/rdr", version="9.9", options={"timeout": 1.5})
    for (case_id, dialect), grade in grades.items():
        case: Case = CASES[case_id]
        nodeid = f"x::{case_id}[{dialect}]"
        report.expect(nodeid, case, dialect, rerun=f"pytest --msgr-case {case.full_id(dialect)}")
        report.record(
            nodeid,
            grade=grade,
            answer=grade if grade.judged else None,
            ending=Ending("left open", Grade.NON_STRICT, "still answering") if case_id == "ns/out/2" else None,
            message="" if grade == Grade.OK else f"why {case_id}",
            wire=[{"time": 0.001, "conn": "NS#1 alice", "dir": "C->S", "line": "VER 1 MSNP11 CVR0"}, {"time": 0.002, "conn": "NS#1 alice", "dir": "S->C", "line": "VER 1 MSNP11"}],
            duration=0.01,
        )
    return report


SAMPLE = {
    ("ns/ver/1", "MSNP11"): Grade.OK,
    ("ns/ver/1", "MSNP7"): Grade.UNSUPPORTED,
    ("ns/out/2", "MSNP11"): Grade.NON_STRICT,
    ("sb/ack/2", "MSNP11"): Grade.FAILED,
    ("sb/ack/1", "MSNP11"): Grade.SETUP_FAILED,
    ("nexus/login/1", None): Grade.OK,
}


def test_the_json_report(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    made_report("127.0.0.9:1863", SAMPLE).write(str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["suite"] == {"name": "msgr.conformance", "msgr_version": "9.9", "revision": SUITE_REVISION}
    assert data["columns"] == [*DIALECTS, "any"]
    assert data["summary"]["FAILED"] == 1 and data["summary"]["SETUP-FAILED"] == 1 and data["summary"]["OK"] == 2
    acks = next(f for f in data["features"] if f["key"] == "acks")
    assert acks["cells"]["MSNP11"] == "FAILED" and acks["cells"]["MSNP8"] is None
    ver = next(f for f in data["features"] if f["key"] == "ver")
    assert ver["cells"]["MSNP7"] == "UNSUPPORTED" and ver["cells"]["MSNP11"] == "OK"
    out2 = next(c for c in data["cases"] if c["case"] == "msnp11/ns/out/2")
    assert out2["ending"] == {"how": "left open", "grade": "NON-STRICT", "why": "still answering"}
    assert out2["rule"] == CASES["ns/out/2"].rule and out2["sources"] == list(CASES["ns/out/2"].sources)


def test_the_junit_report(tmp_path: Path) -> None:
    path = tmp_path / "r.xml"
    made_report("127.0.0.9:1863", SAMPLE).write(str(path))
    suite = ET.parse(path).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "1")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["msnp11/sb/ack/2"].find("failure") is not None and cases["msnp11/sb/ack/2"].get("classname") == "msgr.conformance.acks"
    assert cases["msnp7/ns/ver/1"].find("skipped") is not None
    out = cases["msnp11/ns/out/2"].find("system-out")
    assert out is not None and out.text is not None and "connection: left open (NON-STRICT)" in out.text and ">>>  VER 1 MSNP11 CVR0" in out.text


def test_the_html_report_links_every_cell_to_its_cases(tmp_path: Path) -> None:
    page = made_report("127.0.0.9:1863", SAMPLE).to_html()
    targets = re.findall(r"href=\"#(cell-[^\"]+)\"", page)
    assert len(targets) == 5 and all(f"id='{t}'" in page for t in targets)  # both ACK cases share a cell
    assert page.count("<details class='case") == 6 and "<details class='case k-failed' id='case-msnp11-sb-ack-2' open>" in page
    assert "<code>" in page and "&lt;&lt;&lt;" in page


def test_compare_lines_reports_up_and_lists_the_differences(tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    made_report("a:1", SAMPLE).write(str(one))
    made_report("b:2", {**SAMPLE, ("sb/ack/2", "MSNP11"): Grade.OK, ("ns/ver/1", "MSNP7"): Grade.OK}).write(str(two))
    compared = compare([str(one), str(two)], ["first", "second"])
    assert compared.columns == (*DIALECTS, "any")
    assert compared.differences() == [("msnp7/ns/ver/1", ["UNSUPPORTED", "OK"]), ("msnp11/sb/ack/2", ["FAILED", "OK"])]
    text = compared.text()
    assert "[1] first: a:1" in text and "[2] second: b:2" in text and "cases graded differently: 2" in text
    row = next(line for line in text.splitlines() if line.startswith("ACK/NAK"))
    assert row.split()[1:] == ["-"] * 8 + ["FAIL", "SETUP"] + ["-"] * 4, row  # the other ACK case is SETUP-FAILED in both
    assert compared.html().count("<tr><th class='feature'>") == len(compared.rows()) + 2
    with pytest.raises(ValueError, match="two reports"):
        compare([str(one)])
    (tmp_path / "junk.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="not a msgr conformance JSON report"):
        compare([str(one), str(tmp_path / "junk.json")])
