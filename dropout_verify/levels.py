"""Levels (quick, standard, thorough), the statistical checks and the false-alarm budget.

A run gets one family-wise false-alarm budget per implementation (``--dropout-alpha``,
default 1e-6). It is split by Bonferroni over every statistical decision the run can make
at its level, counted here from one static table, so that running one test alone (the
reproduce command) uses the very thresholds of the whole run:

    alpha_decision = alpha_budget / K,   K = sum over checks of decisions x examples.

With that split, a correct implementation fails any statistical check of the run with
probability at most alpha_budget. Each check then plans its sample size (``power``) to
detect the level's minimum effect with probability ``POWER`` at alpha_decision.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKS", "LEVELS", "POWER", "Check", "Effects", "decision_count"]

POWER = 0.999


@dataclass(frozen=True)
class Effects:
    """The smallest effects a level detects with probability ``POWER``."""

    keep_rate_bias: float  # absolute |keep rate - (1-p)|, at any p in [0.05, 0.95]
    position_bias: float  # one position (of up to 1000) off by this much in keep rate
    correlation: float  # between neighbours, rows or consecutive calls
    variance_ratio: float  # per-call kept-count variance off from binomial by this factor
    moment_bias: float  # alpha kinds: |mean| of y for x ~ N(0, 1), and |Var[y] - 1|
    contract_examples: int  # Hypothesis examples for each exact (non-statistical) property
    edge_samples: int  # decisions for each near-edge keep rate (p = 1e-6, 1e-3 and mirrors)


LEVELS: dict[str, Effects] = {
    "quick": Effects(keep_rate_bias=0.01, position_bias=0.3, correlation=0.1, variance_ratio=1.5,
                     moment_bias=0.03, contract_examples=20, edge_samples=1 << 22),
    "standard": Effects(keep_rate_bias=0.002, position_bias=0.1, correlation=0.03, variance_ratio=1.15,
                        moment_bias=0.01, contract_examples=60, edge_samples=1 << 25),
    "thorough": Effects(keep_rate_bias=0.0002, position_bias=0.03, correlation=0.01, variance_ratio=1.05,
                        moment_bias=0.002, contract_examples=200, edge_samples=1 << 26),
}


@dataclass(frozen=True)
class Check:
    """A statistical property: how many decisions each example makes, how many examples."""

    decisions_per_example: int
    generated: dict[str, int]  # Hypothesis examples generated, per level
    explicit: int  # explicit @example cases, run at every level

    def decisions(self, level: str) -> int:
        return self.decisions_per_example * (self.generated[level] + self.explicit)


def _per_level(quick: int, standard: int, thorough: int) -> dict[str, int]:
    return {"quick": quick, "standard": standard, "thorough": thorough}


CHECKS: dict[str, Check] = {
    "keep_rate": Check(1, _per_level(3, 8, 8), explicit=3),
    "edge_keep_rate": Check(1, _per_level(0, 0, 0), explicit=4),
    "alpha_moments": Check(1, _per_level(2, 3, 4), explicit=1),
    "homogeneity": Check(1, _per_level(2, 5, 6), explicit=2),
    "dispersion": Check(1, _per_level(2, 4, 4), explicit=1),
    "independence": Check(3, _per_level(2, 4, 5), explicit=1),
    "periodicity": Check(1, _per_level(1, 3, 4), explicit=1),
    "distinct_seeds": Check(1, _per_level(0, 0, 0), explicit=1),
}


def decision_count(level: str) -> int:
    """K: the number of statistical decisions a run at ``level`` can make per implementation."""
    return sum(check.decisions(level) for check in CHECKS.values())
