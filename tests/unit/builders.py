"""Hand-built results (decisions, outcomes, implementations, reports) for the in-process unit tests."""

from __future__ import annotations

import math
from typing import Any

from dropout_verify.decision import Decision
from dropout_verify.results import ImplementationResult, PropertyOutcome, RunReport

SETTINGS: dict[str, Any] = {
    "specs": ["pkg.good:dropout", "pkg.bad:dropout"], "named": True, "kind": None, "convention": "drop", "seed": 7,
    "level": "quick", "alpha": 1e-6, "decisions": 40, "alpha_per_decision": 2.5e-8, "device": "cpu",
    "call_timeout": 60.0, "time": None, "compile": False, "invocation_dir": "/somewhere",
    "command": "dropout-check pkg.good:dropout pkg.bad:dropout --seed 7 --level quick --alpha 1e-06",
    "effects": {"keep_rate_bias": 0.01},
}


def decision(name: str = "keep rate", *, rejected: bool = False, log_pvalue: float = -2.0,
             evidence: dict[str, list[float]] | None = None, **fields: Any) -> Decision:
    values: dict[str, Any] = {"statistic": 3.5, "alpha": 2.5e-8, "samples": 1000, "estimate": 0.49,
                              "expected": 0.5, "ci": (0.47, 0.51), "detail": "", "interval": ""}
    values.update(fields)
    if rejected:  # a decision rejects when its p-value is below its alpha: nothing else says so
        log_pvalue = min(log_pvalue, math.log(values["alpha"]) - 10.0)
    return Decision(name=name, log_pvalue=log_pvalue, evidence=evidence or {}, **values)


def outcome(implementation: str, prop: str = "test_keep_rate", verdict: str = "pass", **fields: Any) -> PropertyOutcome:
    values: dict[str, Any] = {"contract": "C3", "title": "keep rate", "claim": "kept units ~ Binomial(n, 1-p)"}
    values.update(fields)
    return PropertyOutcome(implementation=implementation, property=prop, verdict=verdict, **values)


def implementation(spec: str, *verdicts: str, **fields: Any) -> ImplementationResult:
    """An implementation whose properties test_p0, test_p1, ... have these verdicts."""
    outcomes = [outcome(spec, f"test_p{i}", v, contract=f"C{i + 1}", title=f"point {i}")
                for i, v in enumerate(verdicts)]
    return ImplementationResult(spec=spec, kind="element", kind_source="default", outcomes=outcomes, **fields)


def sample_report() -> RunReport:
    """Two implementations: one that passes every judged property, one with a failure and more.

    The good one: keep rate pass, gradient pass, a C8 property n/a.
    The bad one: keep rate FAIL (its own C3, with a rejected decision), pairs FAIL as C2, gradient
    not supported, a note and a finding.
    """
    good, bad = "pkg.good:dropout", "pkg.bad:dropout"
    passing = [
        outcome(good, "test_keep_rate", "pass", decisions=[decision()], seconds=0.5),
        outcome(good, "test_gradient", "pass", contract="C4", title="gradient", claim="dx = mask"),
        outcome(good, "test_attention_only", "n/a", contract="C8", title="attention", claim="only for attention",
                reason="not a property of kind element"),
    ]
    failing = [
        outcome(bad, "test_keep_rate", "FAIL", reason="keep rate 0.4, expected 0.5",
                message="keep rate off: 0.4 against 0.5", reproduce="dropout-check pkg.bad:dropout -k test_keep_rate",
                decisions=[decision(rejected=True, log_pvalue=-40.0, estimate=0.4, detail="everywhere")],
                notes=["runs slowly on float64"], seconds=1.0),
        outcome(bad, "test_pairs", "FAIL", contract="C6", title="independence", claim="pairs", violated="C2",
                reason="a wrong value", message="value 3.0 where 2.0 was expected"),
        outcome(bad, "test_gradient", "not supported", contract="C4", title="gradient", claim="dx = mask",
                reason="no backward kernel"),
    ]
    results = [
        ImplementationResult(spec=good, kind="element", kind_source="declared", seconds=1.25, outcomes=passing),
        ImplementationResult(spec=bad, kind="element", kind_source="option", seconds=2.5, outcomes=failing,
                             findings=["a call changed torch.get_default_dtype() (undone)"]),
    ]
    return RunReport(settings=dict(SETTINGS), implementations=results, seconds=3.75,
                     environment={"python": "3.11", "torch": "2.13.0+cpu"})
