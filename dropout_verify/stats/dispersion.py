"""Dispersion: the per-call count of kept units has the binomial variance m q (1-q).

D = sum_t (K_t - m q)^2 / (m q (1-q)) over T calls has mean T under H0. Its law, that of a sum
of T iid draws of Z = (K - m q)^2 / (m q (1-q)) with K ~ Binomial(m, q), is skewed and
heavy-tailed when m q (1-q) is small, so both tails come from Chernoff's bound on that very
law (``chernoff``): a proved bound at every T, deep in the tail too. Two-sided: over-dispersion
(rows or batches dropped together, shared masks) and under-dispersion ("exactly k kept"
permutations) are both rejected. Z has variance 2 + (1 - 6 q (1-q)) / (m q (1-q))
(``power.dispersion_calls`` plans with it).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _scipy

from ..decision import LOG2, Decision
from .chernoff import DiscreteSum

__all__ = ["dispersion_law", "dispersion_test"]


def dispersion_law(calls: int, size: int, rate: float) -> DiscreteSum:
    """The law of D under H0: ``calls`` iid draws of (K - m q)^2 / (m q (1-q))."""
    support = np.arange(size + 1, dtype=np.float64)
    values = (support - size * rate) ** 2 / (size * rate * (1 - rate))
    log_pmf = _scipy.binom.logpmf(support, size, rate)
    order = np.argsort(values)
    return DiscreteSum([values[order]], [log_pmf[order]], [calls])


def dispersion_test(kept_per_call: np.ndarray, size: int, rate: float, alpha: float) -> Decision:
    """Test that the kept count of each call has the binomial variance m q (1-q).

    Estimate: D / T, the mean squared deviation of a call's count from m q over m q (1-q)
    (1 under H0: the variance ratio when the mean is right), with the interval of ratios the
    decision would accept.
    """
    counts = np.asarray(kept_per_call, dtype=np.float64)
    calls = counts.size
    d = float(np.sum((counts - size * rate) ** 2) / (size * rate * (1 - rate)))
    law = dispersion_law(calls, size, rate)
    log_lower, log_upper = law.log_tail(d, upper=False), law.log_tail(d, upper=True)
    log_p = min(0.0, LOG2 + min(log_lower, log_upper))
    level = float(np.log(alpha / 2))
    accepted = (law.threshold(level, upper=False) / calls, law.threshold(level, upper=True) / calls)
    support = np.arange(size + 1)
    observed = np.bincount(counts.astype(np.int64), minlength=size + 1)[: size + 1] / calls
    expected = _scipy.binom.pmf(support, size, rate)
    shown = np.nonzero((observed > 0) | (expected > 1e-4))[0]
    return Decision(
        name="dispersion of per-call kept counts",
        statistic=d,
        log_pvalue=log_p,
        samples=calls,
        estimate=d / calls,
        expected=1.0,
        ci=accepted,
        alpha=alpha,
        # The statistic is taken about the expected count m q, so a keep rate off q raises it
        # as overdispersion does; the sample variance and the mean beside it tell them apart.
        detail=(f"{calls} calls of {size} units; estimate: mean squared deviation of the per-call kept count "
                f"from m q, over the binomial variance (Chernoff bound on the exact law); apart: sample variance "
                f"{float(np.var(counts)) / (size * rate * (1 - rate)):.4g} x binomial, mean {counts.mean():.6g} "
                f"against m q = {size * rate:.6g} (a mean off m q is a keep-rate error, C3)"),
        interval="the range the test accepts",
        evidence={"kept units in a call": shown.astype(float).tolist(),
                  "observed frequency": observed[shown].tolist(), "binomial frequency": expected[shown].tolist()},
    )
