"""One statistical decision, the single model for it: made by the statistics, kept by the run,
carried in reports.

The tests in ``stats`` return a :class:`Decision`; the harness records it for the running
property; ``results.PropertyOutcome`` holds the property's decisions, and report.json carries
them as JSON (``to_json``/``from_json``). A decision rejects exactly when its log p-value is
below the log of its alpha: that is computed, never stored apart from the p-value. No torch
here (dropout-check's supervisor reads decisions without importing torch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["LOG2", "SMALL_EVIDENCE", "Decision", "format_p"]

LOG2 = math.log(2.0)
SMALL_EVIDENCE = 256  # numbers of evidence a passing decision keeps in the report (see for_report)


def _finite(value: float) -> float | str:
    """JSON has no inf or NaN: those travel as strings."""
    return value if math.isfinite(value) else repr(value)


@dataclass(frozen=True)
class Decision:
    """One statistical decision: what was measured, how surprising it is under H0, the verdict.

    Attributes:
        name: what was tested, e.g. "keep rate".
        statistic: the test statistic (a count, a chi-square value, a sum).
        log_pvalue: natural log of the p-value under H0 (0 means p = 1).
        samples: the number of Bernoulli decisions (or pairs, or calls) the test used.
        estimate: the effect estimate (a rate, a correlation, a variance ratio).
        expected: what ``estimate`` is under H0.
        ci: a (1 - alpha) confidence interval for the effect.
        alpha: the decision's threshold: H0 is rejected when the p-value is below it.
        detail: one line about where the effect is (a position, a lag).
        evidence: arrays to plot when the decision fails (rates by position, correlation by lag).
        interval: what ``ci`` is when it is not a confidence interval for ``estimate`` at the
            decision's level (the range of estimates the test accepts; the worst position's own
            interval while an omnibus statistic decides too); "" for a plain CI.
    """

    name: str
    statistic: float
    log_pvalue: float
    samples: int
    estimate: float
    expected: float
    ci: tuple[float, float]
    alpha: float
    detail: str = ""
    evidence: dict[str, list[float]] = field(default_factory=dict, compare=False, repr=False)
    interval: str = ""

    @property
    def pvalue(self) -> float:
        return math.exp(self.log_pvalue) if self.log_pvalue > -745 else 0.0

    @property
    def rejected(self) -> bool:
        return self.log_pvalue < math.log(self.alpha)

    def for_report(self) -> Decision:
        """The decision as a report keeps it: the evidence arrays go with a rejected decision
        (its plot), and with one that holds only when they are small (the periodicity check's
        16,400 lags x 4 arrays, kept for every passing decision, made report.json 56 MB for
        the 17 implementations of the family table)."""
        small = sum(len(values) for values in self.evidence.values()) <= SMALL_EVIDENCE
        return self if self.rejected or small else replace(self, evidence={})

    def describe(self) -> str:
        """A short, fixed-format account of the decision for failure messages and reports."""
        verdict = "REJECTED" if self.rejected else "consistent with H0"
        lines = [
            f"{self.name}: {verdict}",
            f"  expected {self.expected:.6g}, estimated {self.estimate:.6g}"
            + (f" ({self.interval or f'CI at {1 - self.alpha:.10g}'}: [{self.ci[0]:.6g}, {self.ci[1]:.6g}])"
               if math.isfinite(self.ci[0]) or math.isfinite(self.ci[1]) else ""),
            f"  statistic {self.statistic:.6g} over {self.samples:,} samples; "
            f"p-value {format_p(self.log_pvalue)} vs threshold alpha {self.alpha:.3g}",
        ]
        if self.detail:
            lines.append(f"  {self.detail}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """report.json's form (dropout_verify/docs/REPORT.md); pvalue and rejected are derived."""
        return {
            "name": self.name, "statistic": _finite(self.statistic), "pvalue": self.pvalue,
            "log_pvalue": _finite(self.log_pvalue), "alpha": self.alpha, "samples": self.samples,
            "estimate": _finite(self.estimate), "expected": _finite(self.expected),
            "ci": [_finite(self.ci[0]), _finite(self.ci[1])], "rejected": self.rejected,
            "detail": self.detail, "evidence": self.evidence, "interval": self.interval,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Decision:
        return cls(
            name=data["name"], statistic=float(data["statistic"]), log_pvalue=float(data["log_pvalue"]),
            samples=int(data["samples"]), estimate=float(data["estimate"]), expected=float(data["expected"]),
            ci=(float(data["ci"][0]), float(data["ci"][1])), alpha=float(data["alpha"]),
            detail=data.get("detail", ""), evidence=data.get("evidence", {}), interval=data.get("interval", ""),
        )


def format_p(log_p: float) -> str:
    if log_p == -math.inf:
        return "0 (below 1e-308, log p = -inf)"
    if log_p > math.log(1e-300):
        return f"{math.exp(log_p):.3g}"
    return f"10^{log_p / math.log(10):.1f}"
