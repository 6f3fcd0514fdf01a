"""Independence of paired keep decisions, given the observed margins (exact or Chernoff-bounded).

Pairs (a, b) of decisions that should be independent (neighbouring units, rows, consecutive
calls) are grouped in strata: one stratum per pair of positions, its replicates the calls.
Stratum j holds n_j pairs with r_j firsts kept, c_j seconds kept and k_j both kept. Under H0
(independence, every pair of a stratum alike), given its margins k_j is hypergeometric,

    P[k_j = k | n_j, r_j, c_j] = C(r_j, k) C(n_j - r_j, c_j - k) / C(n_j, c_j),

whatever the keep rate: a biased keep rate, or one that differs between positions, is not
mistaken for a correlation (a Cochran-Mantel-Haenszel design). The statistic is
S = sum_j k_j. With one stratum its law is the hypergeometric itself (Fisher's exact test);
with several, S is a sum of independent hypergeometrics whose cumulant generating function
K(s) = sum_j log E[exp(s k_j)] is exact, and Chernoff's bound P[S >= t] <= exp(K(s) - s t)
(minimised over s) bounds each tail for every sample size: the p-value is never below the
true tail. Two-sided: p = min(1, 2 min(upper, lower)).

Information: a correlation rho moves S by about rho q (1-q) N over N pairs, against a standard
deviation of q (1-q) sqrt(N): the test needs about ((z_alpha + z_beta) / rho)^2 pairs whatever
q is (``power.pair_calls``), where a test of N11 against q^2 needs (1+q)/(1-q) times more.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy

from .chernoff import DiscreteSum
from .result import LOG2, TestResult

__all__ = ["PairCounts", "independence_test"]


class PairCounts:
    """Running per-stratum counts (n, first kept, second kept, both kept) for one pairing."""

    def __init__(self, strata: int) -> None:
        self.n = np.zeros(strata, dtype=np.int64)
        self.first = np.zeros(strata, dtype=np.int64)
        self.second = np.zeros(strata, dtype=np.int64)
        self.both = np.zeros(strata, dtype=np.int64)

    def add(self, first: np.ndarray, second: np.ndarray) -> None:
        """Add replicates: ``first``/``second`` are bool arrays (replicates, strata)."""
        first = np.asarray(first, dtype=bool).reshape(-1, self.n.size)
        second = np.asarray(second, dtype=bool).reshape(-1, self.n.size)
        self.n += first.shape[0]
        self.first += first.sum(0)
        self.second += second.sum(0)
        self.both += (first & second).sum(0)

    @property
    def pairs(self) -> int:
        return int(self.n.sum())


def _hypergeometric_log_pmf(n: int, r: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    low, high = max(0, r + c - n), min(r, c)
    support = np.arange(low, high + 1)
    return support, _scipy.hypergeom.logpmf(support, n, r, c)


def _hypergeometric_sum(n: np.ndarray, r: np.ndarray, c: np.ndarray) -> DiscreteSum:
    """The law of S: one hypergeometric per distinct margins (n, r, c), counted as often as it occurs."""
    triples, weights = np.unique(np.stack([n, r, c], axis=1), axis=0, return_counts=True)
    laws = [_hypergeometric_log_pmf(int(a), int(b), int(d)) for a, b, d in triples]
    return DiscreteSum([s.astype(np.float64) for s, _ in laws], [lp for _, lp in laws], weights)


def _exact_single(n: int, r: int, c: int, k: int) -> tuple[float, float]:
    """(log P[K <= k], log P[K >= k]) for one hypergeometric stratum (Fisher's exact test)."""
    return float(_scipy.hypergeom.logcdf(k, n, r, c)), float(_scipy.hypergeom.logsf(k - 1, n, r, c))


def independence_test(counts: PairCounts, alpha: float, name: str) -> TestResult:
    """Test that paired decisions are independent given each stratum's margins.

    Estimate: rho = sum_j (n_j k_j - r_j c_j) / n_j  /  sum_j (n_j - 1) s_j, with s_j =
    sqrt(r_j (n_j - r_j) c_j (n_j - c_j)) / n_j^2 the product of the two sides' standard
    deviations (E[n k - r c] = n (n - 1) rho sd_a sd_b under a correlation rho).
    """
    informative = (counts.n > 1) & (counts.first > 0) & (counts.first < counts.n) & (counts.second > 0) \
        & (counts.second < counts.n)
    n, r, c, k = (np.asarray(a[informative], dtype=np.float64)
                  for a in (counts.n, counts.first, counts.second, counts.both))
    pairs = counts.pairs
    if n.size == 0:
        return TestResult(name=name, statistic=0.0, log_pvalue=0.0, samples=pairs, estimate=0.0, expected=0.0,
                          ci=(-1.0, 1.0), alpha=alpha, detail="no stratum with both outcomes on both sides")
    total = float(k.sum())
    expected = float(np.sum(r * c / n))
    scale = float(np.sum((n - 1) * np.sqrt(r * (n - r) * c * (n - c)) / n**2))
    if n.size == 1:
        log_lower, log_upper = _exact_single(int(n[0]), int(r[0]), int(c[0]), int(k[0]))
        method = "Fisher's exact test (one stratum)"
        variance = float(r[0] * c[0] * (n[0] - r[0]) * (n[0] - c[0]) / (n[0] ** 2 * (n[0] - 1)))
    else:
        law = _hypergeometric_sum(n.astype(np.int64), r.astype(np.int64), c.astype(np.int64))
        log_lower, log_upper = law.log_tail(total, upper=False), law.log_tail(total, upper=True)
        method = f"Chernoff bound on the exact law of a sum of {n.size:,} hypergeometrics"
        variance = law.cumulants(0.0)[2]
    log_p = min(0.0, LOG2 + min(log_lower, log_upper))
    rho = (total - expected) / scale if scale > 0 else 0.0
    half_width = math.sqrt(2 * variance * math.log(2 / alpha)) / scale if scale > 0 else 1.0
    return TestResult(
        name=name,
        statistic=total,
        log_pvalue=log_p,
        samples=pairs,
        estimate=rho,
        expected=0.0,
        ci=(rho - half_width, rho + half_width),
        alpha=alpha,
        detail=(f"{int(total):,} of {pairs:,} pairs kept together, {expected:,.1f} expected given the margins "
                f"of {n.size:,} strata; {method}"),
    )
