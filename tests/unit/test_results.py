"""dropout_verify.results: results as JSON and back, merged cases, verdicts and exit statuses."""

from __future__ import annotations

import json
import math

import pytest

from dropout_verify.results import (
    SCHEMA,
    SCHEMA_VERSION,
    VERDICTS,
    Decision,
    ImplementationResult,
    PropertyOutcome,
    RunReport,
    merge_outcomes,
)
from tests.unit.builders import decision, implementation, outcome


def through_json(data: dict) -> dict:
    """As a worker sends it to the supervisor: JSON text, strictly (no NaN or Infinity literals)."""
    return json.loads(json.dumps(data, allow_nan=False))


# Decision

def test_decision_round_trip() -> None:
    original = decision("pairs", rejected=True, log_pvalue=-31.5, evidence={"lag": [1.0, 2.0], "r": [0.1, 0.2]},
                        detail="axis 1, distance 2", interval="the range the test accepts")
    data = through_json(original.to_json())
    assert Decision.from_json(data) == original
    assert data["pvalue"] == pytest.approx(math.exp(-31.5))
    assert data["ci"] == [0.47, 0.51]


def test_non_finite_numbers_travel_as_strings() -> None:
    original = decision(statistic=math.inf, log_pvalue=-math.inf, estimate=math.nan, ci=(-math.inf, math.inf))
    data = through_json(original.to_json())
    assert (data["statistic"], data["log_pvalue"], data["estimate"], data["ci"]) == ("inf", "-inf", "nan",
                                                                                       ["-inf", "inf"])
    assert data["pvalue"] == 0.0
    back = Decision.from_json(data)
    assert back.statistic == math.inf and back.log_pvalue == -math.inf and math.isnan(back.estimate)
    assert back.ci == (-math.inf, math.inf)


@pytest.mark.parametrize(("log_pvalue", "pvalue"), [(0.0, 1.0), (math.log(0.05), 0.05), (-744.0, math.exp(-744.0)),
                                                    (-746.0, 0.0), (-1e6, 0.0)])
def test_pvalue_from_its_log(log_pvalue: float, pvalue: float) -> None:
    assert decision(log_pvalue=log_pvalue).pvalue == pytest.approx(pvalue, rel=1e-12, abs=0)


def test_decision_from_older_json_without_optional_keys() -> None:
    data = decision().to_json()
    for key in ("detail", "evidence", "interval"):
        del data[key]
    back = Decision.from_json(data)
    assert (back.detail, back.evidence, back.interval) == ("", {}, "")


# PropertyOutcome

def test_outcome_round_trip() -> None:
    original = outcome("m:f", "test_keep_rate", "FAIL", reason="off", expected="0.5", seen="0.4",
                       message="evidence text", decisions=[decision(rejected=True), decision("second")],
                       example={"shape": [3, 4], "dtype": "float16", "p": 0.25}, reproduce="dropout-check m:f",
                       seconds=1.5, notes=["a note"], variant="nan", violated="C2",
                       variants=[{"variant": "nan", "verdict": "FAIL", "reason": "off"}])
    data = through_json(original.to_json())
    assert PropertyOutcome.from_json(data) == original
    assert data["decisions"][0]["rejected"] is True


def test_label_and_cell() -> None:
    assert outcome("m:f").label == "C3 keep rate"
    assert outcome("m:f", contract="", title="").label == ""
    assert outcome("m:f", verdict="FAIL", violated="C2").cell == "FAIL (C2)"
    assert outcome("m:f", verdict="FAIL").cell == "FAIL"
    assert outcome("m:f", verdict="pass", violated="C2").cell == "pass"


# merge_outcomes

def test_a_single_case_is_kept_as_it_is() -> None:
    single = outcome("m:f", "test_a")
    assert merge_outcomes([single])[0] is single


def test_cases_merge_to_the_most_severe_verdict() -> None:
    cases = [outcome("m:f", "test_bad_p", "pass", variant="nan", seconds=0.25, notes=["n1"],
                     decisions=[decision("d1")]),
             outcome("m:f", "test_bad_p", "FAIL", variant="inf", reason="no error", message="inf was accepted",
                     seconds=0.5, notes=["n1", "n2"], decisions=[decision("d2")]),
             outcome("m:f", "test_bad_p", "n/a", variant="neg", reason="no such keyword", seconds=0.125)]
    [merged] = merge_outcomes(cases)
    assert merged.verdict == "FAIL" and merged.reason == "no error" and merged.message == "inf was accepted"
    assert merged.variant == ""
    assert merged.variants == [{"variant": "nan", "verdict": "pass", "reason": ""},
                               {"variant": "inf", "verdict": "FAIL", "reason": "no error"},
                               {"variant": "neg", "verdict": "n/a", "reason": "no such keyword"}]
    assert [d.name for d in merged.decisions] == ["d1", "d2"]
    assert merged.notes == ["n1", "n2"]
    assert merged.seconds == 0.875
    assert cases[1].variant == "inf"  # the cases themselves are not changed


def test_several_failing_cases_are_named() -> None:
    cases = [outcome("m:f", "test_bad_p", "FAIL", variant=v, message=f"fails at {v}") for v in ("nan", "inf", "neg")]
    [merged] = merge_outcomes(cases)
    assert merged.message == "fails at nan\n  (also fails for the cases: inf, neg)"


@pytest.mark.parametrize(("verdicts", "worst"), [
    (["pass", "not run"], "not run"), (["not run", "FAIL"], "FAIL"), (["info", "pass"], "pass"),
    (["not supported", "info"], "info"), (["n/a", "not supported"], "not supported"), (["n/a", "n/a"], "n/a"),
])
def test_severity_order(verdicts: list[str], worst: str) -> None:
    cases = [outcome("m:f", "test_x", v, variant=str(i)) for i, v in enumerate(verdicts)]
    assert [o.verdict for o in merge_outcomes(cases)] == [worst]


def test_merging_groups_by_implementation_and_property_in_order() -> None:
    outcomes = [outcome("a:f", "test_x", "pass", variant="1"), outcome("b:g", "test_x", "FAIL"),
                outcome("a:f", "test_y", "pass"), outcome("a:f", "test_x", "FAIL", variant="2")]
    merged = merge_outcomes(outcomes)
    assert [(o.implementation, o.property, o.verdict) for o in merged] == [
        ("a:f", "test_x", "FAIL"), ("b:g", "test_x", "FAIL"), ("a:f", "test_y", "pass")]


def test_a_single_parametrised_case_still_records_its_variant() -> None:
    [merged] = merge_outcomes([outcome("m:f", "test_x", "pass", variant="float16")])
    assert merged.variant == "" and merged.variants == [{"variant": "float16", "verdict": "pass", "reason": ""}]


# ImplementationResult.verdict

@pytest.mark.parametrize(("verdicts", "interrupted", "verdict"), [
    (["pass", "pass"], False, "pass"),
    (["pass", "n/a", "info"], False, "pass"),
    (["pass", "FAIL"], False, "FAIL"),
    (["pass", "not run"], False, "FAIL"),
    ([], False, "FAIL"),  # nothing ran: no pass
    (["pass", "not supported"], False, "not verified"),
    (["FAIL", "not supported"], False, "FAIL"),
    (["pass", "not run"], True, "interrupted"),
    (["pass"], True, "interrupted"),
    ([], True, "interrupted"),
])
def test_implementation_verdict(verdicts: list[str], interrupted: bool, verdict: str) -> None:
    assert implementation("m:f", *verdicts, interrupted=interrupted).verdict == verdict


def test_unsupported_lists_the_properties() -> None:
    result = implementation("m:f", "pass", "not supported", "n/a", "not supported")
    assert result.unsupported == ["test_p1", "test_p3"]


def test_implementation_json() -> None:
    result = implementation("m:f", "pass", "FAIL", seconds=1.23456, findings=["changed the default dtype"])
    data = through_json(result.to_json())
    assert data["spec"] == "m:f" and data["verdict"] == "FAIL" and data["seconds"] == 1.235
    assert data["findings"] == ["changed the default dtype"] and data["interrupted"] is False
    assert [PropertyOutcome.from_json(p) for p in data["properties"]] == result.outcomes


# RunReport.exit_code

@pytest.mark.parametrize(("implementations", "interrupted", "code"), [
    ([["pass"], ["pass", "n/a"]], False, 0),
    ([], False, 0),
    ([["pass"], ["pass", "FAIL"]], False, 1),
    ([["pass"], ["not run"]], False, 1),
    ([["pass"], ["pass", "not supported"]], False, 3),
    ([["pass", "not supported"], ["FAIL"]], False, 1),
    ([["pass"], ["FAIL"]], True, 2),
    ([["pass"]], True, 2),
])
def test_exit_code(implementations: list[list[str]], interrupted: bool, code: int) -> None:
    results = [implementation(f"m{i}:f", *verdicts) for i, verdicts in enumerate(implementations)]
    assert RunReport(settings={}, implementations=results, interrupted=interrupted).exit_code == code


def test_an_implementation_cut_short_in_a_run_that_ended_fails_it() -> None:
    results = [implementation("a:f", "pass"), implementation("b:g", "pass", interrupted=True)]
    assert RunReport(settings={}, implementations=results).exit_code == 1


def test_report_json() -> None:
    results = [implementation("a:f", "pass"), implementation("b:g", "pass", "not supported")]
    report = RunReport(settings={"level": "quick", "seed": 3}, implementations=results, seconds=2.0004,
                       environment={"python": "3.11"})
    data = through_json(report.to_json())
    assert data["schema"] == SCHEMA == "dropout-verify/report"
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["run"] == {"level": "quick", "seed": 3, "seconds": 2.0, "interrupted": False, "exit_code": 3}
    assert data["environment"] == {"python": "3.11"}
    assert [(i["spec"], i["verdict"]) for i in data["implementations"]] == [("a:f", "pass"), ("b:g", "not verified")]


def test_verdicts_are_the_documented_ones() -> None:
    assert set(VERDICTS) == {"pass", "FAIL", "n/a", "not supported", "info", "not run"}
    result = ImplementationResult(spec="m:f", outcomes=[outcome("m:f", f"test_{i}", v) for i, v in enumerate(VERDICTS)])
    assert result.verdict == "FAIL"
