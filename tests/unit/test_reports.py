"""dropout_verify.reports: report.json, report.md and junit.xml written from a hand-built run."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from dropout_verify.reports import junit_xml, markdown, write_reports
from dropout_verify.results import SCHEMA, SCHEMA_VERSION, PropertyOutcome, RunReport
from tests.unit.builders import decision, implementation, outcome

RUN_KEYS = {"specs", "named", "kind", "convention", "seed", "level", "alpha", "decisions", "alpha_per_decision",
            "device", "call_timeout", "time", "effects", "invocation_dir", "command", "seconds", "interrupted",
            "exit_code"}  # dropout_verify/docs/REPORT.md
IMPLEMENTATION_KEYS = {"spec", "kind", "kind_source", "verdict", "seconds", "findings", "properties"}
PROPERTY_KEYS = {"property", "contract", "title", "claim", "verdict", "reason", "violated", "expected", "seen",
                 "message", "decisions", "example", "reproduce", "seconds", "notes", "variant", "variants"}
DECISION_KEYS = {"name", "statistic", "pvalue", "log_pvalue", "alpha", "rejected", "samples", "estimate", "expected",
                 "ci", "interval", "detail", "evidence"}


def test_writes_the_three_reports(report: RunReport, tmp_path: Path) -> None:
    folder = tmp_path / "new" / "reports"
    written = write_reports(report, folder)
    assert written == [folder / "report.json", folder / "report.md", folder / "junit.xml"]
    assert not (folder / "plots").exists() and not (folder / "plots-skipped.txt").exists()  # no evidence arrays


def test_report_json_follows_the_documented_schema(report: RunReport, tmp_path: Path) -> None:
    write_reports(report, tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert (data["schema"], data["schema_version"]) == (SCHEMA, SCHEMA_VERSION)
    assert set(data["run"]) >= RUN_KEYS
    assert data["run"]["exit_code"] == 1 and data["run"]["interrupted"] is False and data["run"]["seconds"] == 3.75
    assert data["environment"] == {"python": "3.11", "torch": "2.13.0+cpu"}
    assert [(i["spec"], i["verdict"]) for i in data["implementations"]] == [("pkg.good:dropout", "pass"),
                                                                              ("pkg.bad:dropout", "FAIL")]
    for implementation_data, result in zip(data["implementations"], report.implementations):
        assert set(implementation_data) >= IMPLEMENTATION_KEYS
        for property_data in implementation_data["properties"]:
            assert set(property_data) >= PROPERTY_KEYS
            for decision_data in property_data["decisions"]:
                assert set(decision_data) >= DECISION_KEYS
        assert [PropertyOutcome.from_json(p) for p in implementation_data["properties"]] == result.outcomes


def test_junit_counts(report: RunReport, tmp_path: Path) -> None:
    write_reports(report, tmp_path)
    root = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("name") == "dropout-verify"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert {name: (s.get("tests"), s.get("failures"), s.get("skipped")) for name, s in suites.items()} == {
        "pkg.good:dropout": ("3", "0", "1"), "pkg.bad:dropout": ("3", "2", "1")}
    assert suites["pkg.bad:dropout"].get("time") == "2.500"
    bad = {case.get("name"): case for case in suites["pkg.bad:dropout"].iter("testcase")}
    failure = bad["test_keep_rate"].find("failure")
    assert failure is not None and failure.get("message") == "keep rate 0.4, expected 0.5"
    assert failure.text == "keep rate off: 0.4 against 0.5"
    assert bad["test_keep_rate"].findtext("system-out") == "runs slowly on float64"
    skipped = bad["test_gradient"].find("skipped")
    assert skipped is not None and skipped.get("message") == "not supported: no backward kernel"
    properties = {p.get("name"): p.get("value") for p in bad["test_keep_rate"].iter("property")}
    assert properties["contract"] == "C3 keep rate"
    assert properties["pvalue: keep rate"].endswith("(alpha 2.5e-08)")
    good = {case.get("name"): case for case in suites["pkg.good:dropout"].iter("testcase")}
    assert good["test_keep_rate"].find("failure") is None and good["test_keep_rate"].find("skipped") is None


def test_junit_counts_a_property_not_run_once_as_skipped_with_its_reason() -> None:
    """The failure that stopped the run (a hang) is counted where it happened, not again for each property."""
    result = implementation("a:f", "FAIL", "not run", "n/a")
    result.outcomes[1].reason = "hung in test_p0"
    suite = ElementTree.fromstring(junit_xml(RunReport(settings={}, implementations=[result]))).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "2")
    skipped = [case.find("skipped") for case in suite.iter("testcase")]
    assert skipped[0] is None and skipped[1] is not None and skipped[1].get("message") == "not run: hung in test_p0"


def test_markdown(report: RunReport, tmp_path: Path) -> None:
    write_reports(report, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert text == markdown(report)
    lines = text.splitlines()
    assert lines[0] == "# dropout-verify report"
    assert "Verdict: **some properties FAIL (1 of 2 implementations)" in lines[2]
    assert "Reproduce: `dropout-check pkg.good:dropout pkg.bad:dropout --seed 7 --level quick --alpha 1e-06`" in lines
    assert "- [1] `pkg.good:dropout` (kind element): **pass**, 1.2 s" in lines
    assert "- [2] `pkg.bad:dropout` (kind element): **FAIL** (1 properties not supported by the kernel here), 2.5 s" \
        in lines
    assert "| contract | property | [1] | [2] |" in lines
    assert "| C3 keep rate | test_keep_rate | pass | **FAIL** |" in lines
    assert "| C6 independence | test_pairs | - | **FAIL (C2)** |" in lines
    for heading in ("## Findings", "## Where to start", "## Evidence", "### test_pairs — `pkg.bad:dropout`"):
        assert heading in lines
    assert text.count("```") == 4


def test_markdown_of_a_passing_run_has_no_evidence() -> None:
    report = RunReport(settings={"level": "quick"}, implementations=[implementation("a:f", "pass")])
    text = markdown(report)
    assert "Verdict: **all properties hold**" in text
    assert "## Evidence" not in text and "## Findings" not in text


def test_appends_to_the_ci_summary(report: RunReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_reports(report, tmp_path / "out")
    assert summary.read_text() == "earlier step\n" + markdown(report)


def failing_with_evidence() -> RunReport:
    rejected = decision(rejected=True, log_pvalue=-50.0, evidence={"p": [0.1, 0.5, 0.9], "keep rate": [0.8, 0.4, 0.1],
                                                                   "expected": [0.9, 0.5, 0.1]})
    result = implementation("a:f", "pass")
    result.outcomes.append(outcome("a:f", "test_keep_rate", "FAIL", decisions=[decision(), rejected]))
    return RunReport(settings={}, implementations=[result])


def test_without_matplotlib_a_note_says_how_to_get_plots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    written = write_reports(failing_with_evidence(), tmp_path)
    note = tmp_path / "plots-skipped.txt"
    assert note in written and "pip install 'dropout-verify[plots]'" in note.read_text()
    assert not (tmp_path / "plots").exists()


def test_a_plot_for_each_rejected_decision_with_evidence(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    written = write_reports(failing_with_evidence(), tmp_path)
    plots = sorted((tmp_path / "plots").iterdir())
    assert [p.name for p in plots] == ["a_f__test_keep_rate__1.png"]  # the second decision, the rejected one
    assert plots[0] in written and plots[0].read_bytes().startswith(b"\x89PNG")
