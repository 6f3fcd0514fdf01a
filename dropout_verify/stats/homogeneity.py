"""Homogeneity: every unit position is kept at the same rate.

Two statistics, each at alpha/2 (Bonferroni), so the decision keeps its level:

* the omnibus X^2 = sum_j (k_j - T q)^2 / (T q (1-q)) over the m positions, for drift spread
  over many positions. Its tail comes from Chernoff's bound on the exact law (a sum of m iid
  draws of (k - T q)^2 / (T q (1-q)) with k ~ Binomial(T, q); ``chernoff``), never from the
  chi-square approximation, which is anti-conservative deep in the tail (23 times the nominal
  tail at alpha = 1e-8 with one position and q near 0.05 or 0.95);
* the worst single position, for one bad element (first kept, tail never dropped): min_j of
  the exact two-sided binomial p-values, times m (Bonferroni over positions).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy

from ..decision import LOG2, Decision, format_p
from .binomial import clopper_pearson
from .chernoff import DiscreteSum

__all__ = ["homogeneity_test", "omnibus_law", "omnibus_statistic"]

EVIDENCE_POINTS = 2048  # positions plotted when a decision fails


def omnibus_law(positions: int, trials: int, rate: float) -> DiscreteSum:
    """The law of X^2 under H0: ``positions`` iid draws of (k - T q)^2 / (T q (1-q))."""
    support = np.arange(trials + 1, dtype=np.float64)
    values = (support - trials * rate) ** 2 / (trials * rate * (1 - rate))
    log_pmf = _scipy.binom.logpmf(support, trials, rate)
    order = np.argsort(values)
    return DiscreteSum([values[order]], [log_pmf[order]], [positions])


def omnibus_statistic(kept_per_position: np.ndarray, trials: int, rate: float) -> float:
    """X^2 = sum over positions of (k_j - T q)^2 / (T q (1-q)), in floating point as observed."""
    counts = np.asarray(kept_per_position, dtype=np.float64).reshape(-1)
    return float(np.sum((counts - trials * rate) ** 2) / (trials * rate * (1 - rate)))


def homogeneity_test(kept_per_position: np.ndarray, trials: int, rate: float, alpha: float) -> Decision:
    """Test that every one of m positions is kept at the same rate q over ``trials`` calls.

    Estimate: the largest |k_j / T - q| and where it is.
    """
    counts = np.asarray(kept_per_position, dtype=np.float64).reshape(-1)
    m = counts.size
    chi_square = omnibus_statistic(counts, trials, rate)
    law = omnibus_law(m, trials, rate)
    log_p_omnibus = min(law.log_tail(chi_square, upper=True), law.log_tail(chi_square, upper=False))
    # Two-sided exact p-value per position; only the most extreme positions can be the minimum.
    log_lower = _scipy.binom.logcdf(counts, trials, rate)
    log_upper = _scipy.binom.logsf(counts - 1, trials, rate)
    per_position = np.minimum(0.0, LOG2 + np.minimum(log_lower, log_upper))
    worst = int(np.argmin(per_position))
    log_p_worst = min(0.0, math.log(m) + float(per_position[worst]))
    log_p = min(0.0, LOG2 + min(LOG2 + log_p_omnibus, log_p_worst))
    worst_rate = counts[worst] / trials
    ci = clopper_pearson(counts[worst], trials, alpha / m)
    shown = np.unique(np.concatenate([np.linspace(0, m - 1, min(m, EVIDENCE_POINTS)).astype(int), [worst]]))
    low = _scipy.binom.ppf(alpha / (4 * m), trials, rate) / trials
    high = _scipy.binom.isf(alpha / (4 * m), trials, rate) / trials
    return Decision(
        name="homogeneity across positions",
        statistic=chi_square,
        log_pvalue=log_p,
        samples=m * trials,
        estimate=float(worst_rate - rate),
        expected=0.0,
        ci=(ci[0] - rate, ci[1] - rate),
        interval=f"the worst position's own interval at 1 - alpha/{m}; the omnibus X^2 below decides too",
        alpha=alpha,
        detail=(
            f"worst position: flat index {worst} of {m}, kept {int(counts[worst])}/{trials} "
            f"= {worst_rate:.4g} (p {format_p(log_p_worst)} after x{m}); omnibus X^2 "
            f"{chi_square:.1f} over {m} positions, expected {m} (Chernoff p {format_p(min(0.0, LOG2 + log_p_omnibus))})"
        ),
        evidence={"position": shown.astype(float).tolist(), "keep rate": (counts[shown] / trials).tolist(),
                  "expected": [rate] * shown.size, "low": [float(low)] * shown.size,
                  "high": [float(high)] * shown.size},
    )
