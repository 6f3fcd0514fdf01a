"""The false-alarm budget as a run spends it: at most K decisions per implementation, each at alpha/K.

``levels.decision_count(level)`` is K, counted from a static table (``levels.CHECKS``); the
unit tests (tests/unit/test_levels.py) check the table's arithmetic. Here a real run over
correct implementations of three kinds (element, channel, alpha) is read back from its
report.json: every decision recorded must be at ``alpha_per_decision`` = alpha / K, no
implementation may record more than K, and no property more than its check's share of K (a
total within K could hide one property spending what another leaves unused).

``--time`` is inside the count: ``CHECKS["timed_keep_rate"]`` reserves its decisions at every
level (unspent without --time), and the anytime test decides at alpha / K like the others.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from dropout_verify.levels import CHECKS, decision_count
from tests.helpers import dropout_check, read_report

pytestmark = pytest.mark.subprocess

LEVEL = "quick"
KINDS = {"torch.nn.functional:dropout": "element", "torch.nn.functional:dropout2d": "channel2d",
         "torch.nn.functional:alpha_dropout": "alpha"}
# The property that spends each check of levels.CHECKS (the decisions of its parametrized
# variants are merged into the property's row of the report).
CHECK_OF_PROPERTY = {
    "test_keep_rate": "keep_rate",
    "test_edge_keep_rate": "edge_keep_rate",
    "test_keep_probability_not_quantised": "quantisation",
    "test_keep_rate_independent_of_x": "value_dependence",
    "test_alpha_output_moments": "alpha_moments",
    "test_positions_share_one_keep_rate": "homogeneity",
    "test_kept_count_dispersion": "dispersion",
    "test_pairs_uncorrelated": "independence",
    "test_no_periodic_mask": "periodicity",
    "test_no_repeated_mask": "repeated_masks",
    "test_different_seeds_different_masks": "distinct_seeds",
    "test_keep_rate_until_deadline": "timed_keep_rate",
    "test_lags_uncorrelated": "lags",
    "test_scale_blocks_share_one_keep_rate": "scale_blocks",
    "test_scale_lags_uncorrelated": "scale_lags",
    "test_dropout_sites_independent": "sites",
}
TIMED = "test_keep_rate_until_deadline"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """One run over the three implementations, two at a time, and its report.json."""
    folder = tmp_path_factory.mktemp("budget")
    finished = dropout_check(*KINDS, "--level", LEVEL, "-n", "2", "--report", str(folder / "out"))
    assert (folder / "out" / "report.json").exists(), (finished.returncode, finished.stdout[-3000:],
                                                       finished.stderr[-3000:])
    return finished, read_report(folder / "out")


@pytest.fixture(scope="module")
def report(quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> dict[str, Any]:
    return quick_run[1]


def implementation(report: dict[str, Any], spec: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [i for i in report["implementations"] if i["spec"] == spec]
    assert len(found) == 1, [i["spec"] for i in report["implementations"]]
    return found[0]


def decisions_by_property(report: dict[str, Any], spec: str) -> dict[str, list[dict[str, Any]]]:
    return {p["property"]: p["decisions"] for p in implementation(report, spec)["properties"] if p["decisions"]}


def spending(report: dict[str, Any], spec: str) -> str:
    """Which property recorded how many decisions, for a failure's message."""
    counts = {name: len(decisions) for name, decisions in decisions_by_property(report, spec).items()}
    return f"{spec}: {sum(counts.values())} decisions, K = {report['run']['decisions']}: {counts}"


def test_the_table_names_a_property_for_every_check() -> None:
    assert set(CHECK_OF_PROPERTY.values()) == set(CHECKS)


def test_the_run_verifies_three_kinds(quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    finished, report = quick_run
    assert finished.returncode == 0, (finished.stdout[-3000:], finished.stderr[-3000:])
    assert {i["spec"]: i["kind"] for i in report["implementations"]} == KINDS


def test_the_settings_split_the_budget(quick_run: tuple[subprocess.CompletedProcess[str], dict[str, Any]]) -> None:
    finished, report = quick_run
    run = report["run"]
    assert run["level"] == LEVEL
    assert run["decisions"] == decision_count(LEVEL) > 0
    assert run["alpha"] == 1e-6  # the default budget
    assert run["alpha_per_decision"] * run["decisions"] == pytest.approx(run["alpha"], rel=1e-12)
    # The header says the same split.
    assert (f"split (Bonferroni) over {run['decisions']} statistical decisions: "
            f"alpha {run['alpha_per_decision']:.3g} each") in finished.stdout, finished.stdout[:2000]


@pytest.mark.parametrize("spec", list(KINDS))
def test_an_implementation_records_at_most_k_decisions(report: dict[str, Any], spec: str) -> None:
    recorded = sum(len(d) for d in decisions_by_property(report, spec).values())
    assert 0 < recorded <= report["run"]["decisions"], spending(report, spec)


@pytest.mark.parametrize("spec", list(KINDS))
def test_every_decision_is_at_alpha_over_k(report: dict[str, Any], spec: str) -> None:
    share = report["run"]["alpha_per_decision"]
    off = [(name, d["name"], d["alpha"]) for name, decisions in decisions_by_property(report, spec).items()
           for d in decisions if d["alpha"] != pytest.approx(share, rel=1e-12)]
    assert not off, f"{spec}: decisions not at alpha/K = {share!r}: {off}"


@pytest.mark.parametrize("spec", list(KINDS))
def test_each_property_stays_within_its_checks_share(report: dict[str, Any], spec: str) -> None:
    over = {}
    for name, decisions in decisions_by_property(report, spec).items():
        assert name in CHECK_OF_PROPERTY, f"{spec}: {name} decides, but no check of levels.CHECKS counts it"
        planned = CHECKS[CHECK_OF_PROPERTY[name]].decisions(LEVEL)
        if len(decisions) > planned:
            over[name] = (len(decisions), planned)
    assert not over, f"(recorded, planned) {over}; {spending(report, spec)}"
    assert TIMED not in decisions_by_property(report, spec), "the anytime test decided without --time"


def test_time_spends_the_share_k_reserves_for_it(tmp_path: Path) -> None:
    """--time decides within K (its share is counted at every level), at alpha / K."""
    folder = tmp_path / "out"
    finished = dropout_check("torch.nn.functional:dropout", "--level", LEVEL, "--time", "1", "-k", TIMED,
                             "--report", str(folder))
    assert finished.returncode == 0, (finished.stdout[-3000:], finished.stderr[-3000:])
    report = read_report(folder)
    run = report["run"]
    assert run["decisions"] == decision_count(LEVEL)  # --time adds no decision K does not count
    decisions = decisions_by_property(report, "torch.nn.functional:dropout")
    assert set(decisions) == {TIMED}
    assert len(decisions[TIMED]) == CHECKS["timed_keep_rate"].decisions(LEVEL), decisions[TIMED]
    assert all(d["alpha"] == pytest.approx(run["alpha_per_decision"], rel=1e-12) for d in decisions[TIMED])
