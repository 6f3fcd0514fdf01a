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
q is, where a test of N11 against q^2 needs (1+q)/(1-q) times more. ``power.pair_calls`` plans
from this very law's Chernoff thresholds (they sit further out than z_alpha when q is skewed).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _scipy

from ..decision import LOG2, Decision
from .chernoff import DiscreteSum

__all__ = ["PairCounts", "combine_pairings", "independence_test"]


BLOCK = 64  # replicates of one stratum conditioned together: ((B-1)/B)^3 = 0.95 of the information


class PairCounts:
    """Running per-stratum counts (n, first kept, second kept, both kept) for one pairing.

    Replicates of a stratum are conditioned on their margins in blocks of ``BLOCK``: each
    complete block is a stratum of its own (pairs within a block are alike under H0 just as
    within the whole stratum). That keeps every hypergeometric law small, and keeps a stratum
    that collects a hundred thousand replicates (a whole-call drop-path) as cheap as any other.
    Complete blocks are kept as a table of (first kept, second kept) margins.
    """

    def __init__(self, strata: int) -> None:
        self.n = np.zeros(strata, dtype=np.int64)
        self.first = np.zeros(strata, dtype=np.int64)
        self.second = np.zeros(strata, dtype=np.int64)
        self.both = np.zeros(strata, dtype=np.int64)
        self.blocks = np.zeros((BLOCK + 1, BLOCK + 1), dtype=np.int64)  # count of complete blocks by (r, c)
        self.blocks_both = 0
        self.pairs = 0

    def add(self, first: np.ndarray, second: np.ndarray) -> None:
        """Add replicates: ``first``/``second`` are bool arrays (replicates, strata)."""
        first = np.asarray(first, dtype=bool).reshape(-1, self.n.size)
        second = np.asarray(second, dtype=bool).reshape(-1, self.n.size)
        self.pairs += first.size
        row = 0
        while row < first.shape[0]:
            take = min(first.shape[0] - row, BLOCK - int(self.n[0]))
            a, b = first[row : row + take], second[row : row + take]
            self.n += take
            self.first += np.add.reduce(a, axis=0, dtype=np.int32)
            self.second += np.add.reduce(b, axis=0, dtype=np.int32)
            self.both += np.add.reduce(a & b, axis=0, dtype=np.int32)
            row += take
            if self.n[0] == BLOCK:  # every stratum gets a replicate per call: blocks complete together
                np.add.at(self.blocks, (self.first, self.second), 1)
                self.blocks_both += int(self.both.sum())
                for counts in (self.n, self.first, self.second, self.both):
                    counts[:] = 0

    def strata(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(n, r, c, weight, both-kept total) of every stratum: complete blocks and the open remainder."""
        r_blocks, c_blocks = np.nonzero(self.blocks)
        weights = self.blocks[r_blocks, c_blocks]
        n = np.concatenate([np.full(r_blocks.size, BLOCK), self.n])
        r = np.concatenate([r_blocks, self.first])
        c = np.concatenate([c_blocks, self.second])
        w = np.concatenate([weights, np.ones(self.n.size, dtype=np.int64)])
        return n, r, c, w, np.array([self.blocks_both + int(self.both.sum())])


def hypergeometric_sum(n: np.ndarray, r: np.ndarray, c: np.ndarray, w: np.ndarray) -> DiscreteSum:
    """The law of S: one hypergeometric per distinct margins (n, r, c), counted by its weight.

    Strata share their margins often (a few thousand distinct triples at most, with blocks of
    64 replicates), so each distinct law is computed once, those not seen before in one
    vectorised call; the planner asks for the same triples again and again (with other weights).
    """
    base = int(n.max()) + 1
    keys = (n * base + r) * base + c
    unique, inverse = np.unique(keys, return_inverse=True)
    weights = np.bincount(inverse, weights=w).astype(np.float64)
    nu, ru, cu = unique // (base * base), (unique // base) % base, unique % base
    triples = list(zip(nu.tolist(), ru.tolist(), cu.tolist()))
    missing = [t for t in triples if t not in _HYPERGEOMETRIC_LAWS]  # triples are distinct
    if len(_HYPERGEOMETRIC_LAWS) + len(missing) > _HYPERGEOMETRIC_CACHE_SIZE:
        _HYPERGEOMETRIC_LAWS.clear()  # start afresh with this call's laws
        missing = triples
    if missing:
        nm, rm, cm = (np.array(a)[:, None] for a in zip(*missing))
        log_pmf = _scipy.hypergeom.logpmf(np.arange(int(nm.max()) + 1)[None, :], nm, rm, cm)
        for (nn, rr, cc), row in zip(missing, log_pmf):
            low, high = max(0, rr + cc - nn), min(rr, cc)
            _HYPERGEOMETRIC_LAWS[(nn, rr, cc)] = (np.arange(low, high + 1, dtype=np.float64), row[low: high + 1].copy())
    laws = [_HYPERGEOMETRIC_LAWS[t] for t in triples]
    return DiscreteSum([v for v, _ in laws], [lp for _, lp in laws], weights, integer_support=True)


# Support and log-probabilities of Hypergeometric(n, r, c) by (n, r, c), n <= BLOCK: about 1 kB
# each, so at most ~20 MB; cleared whole when full.
_HYPERGEOMETRIC_LAWS: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
_HYPERGEOMETRIC_CACHE_SIZE = 20_000


def _exact_single(n: int, r: int, c: int, k: int) -> tuple[float, float]:
    """(log P[K <= k], log P[K >= k]) for one hypergeometric stratum (Fisher's exact test)."""
    return float(_scipy.hypergeom.logcdf(k, n, r, c)), float(_scipy.hypergeom.logsf(k - 1, n, r, c))


def independence_test(counts: PairCounts, alpha: float, name: str) -> Decision:
    """Test that paired decisions are independent given each stratum's (block's) margins.

    Estimate: rho = sum_j (k_j - r_j c_j / n_j)  /  sum_j s_j / n_j, with s_j =
    sqrt(r_j (n_j - r_j) c_j (n_j - c_j)): a mean of the strata's phi coefficients
    (n k - r c) / s, weighted by s / n, so in [-1, 1] (a mask copied across the pairing gives 1;
    the earlier (n_j - 1) / n_j normalisation showed such a copy as rho +1.02). Only the shown
    estimate and interval use it; the decision is the exact law's tail.
    """
    n, r, c, w, both = counts.strata()
    informative = (n > 1) & (r > 0) & (r < n) & (c > 0) & (c < n) & (w > 0)
    n, r, c, w = (a[informative] for a in (n, r, c, w))
    pairs = counts.pairs
    if n.size == 0:
        return Decision(name=name, statistic=0.0, log_pvalue=0.0, samples=pairs, estimate=0.0, expected=0.0,
                          ci=(-1.0, 1.0), alpha=alpha, detail="no stratum with both outcomes on both sides")
    nf, rf, cf, wf = (a.astype(np.float64) for a in (n, r, c, w))
    # Kept-together counts of uninformative strata are fixed by their margins: subtract them.
    n_all, r_all, c_all, w_all, _ = counts.strata()
    fixed = ~((n_all > 1) & (r_all > 0) & (r_all < n_all) & (c_all > 0) & (c_all < n_all) & (w_all > 0))
    fixed_both = float(np.sum(w_all[fixed] * np.minimum(r_all[fixed], c_all[fixed]) *
                              ((r_all[fixed] == n_all[fixed]) | (c_all[fixed] == n_all[fixed]))))
    total = float(both[0]) - fixed_both
    expected = float(np.sum(wf * rf * cf / nf))
    scale = float(np.sum(wf * np.sqrt(rf * (nf - rf) * cf * (nf - cf)) / nf))
    if n.size == 1 and w[0] == 1:
        log_lower, log_upper = _exact_single(int(n[0]), int(r[0]), int(c[0]), round(total))
        method = "Fisher's exact test (one stratum)"
        variance = float(rf[0] * cf[0] * (nf[0] - rf[0]) * (nf[0] - cf[0]) / (nf[0] ** 2 * (nf[0] - 1)))
    else:
        law = hypergeometric_sum(n, r, c, w)
        log_lower, log_upper = law.log_tail(total, upper=False), law.log_tail(total, upper=True)
        method = f"Chernoff bound on the exact law of a sum of {int(w.sum()):,} hypergeometrics"
        variance = law.cumulants(0.0)[2]
    log_p = min(0.0, LOG2 + min(log_lower, log_upper))
    rho = (total - expected) / scale if scale > 0 else 0.0
    half_width = math.sqrt(2 * variance * math.log(2 / alpha)) / scale if scale > 0 else 1.0
    return Decision(
        name=name,
        statistic=total,
        log_pvalue=log_p,
        samples=pairs,
        estimate=rho,
        expected=0.0,
        ci=(max(-1.0, rho - half_width), min(1.0, rho + half_width)),  # a correlation lies in [-1, 1]
        alpha=alpha,
        interval="the estimate +- the largest |rho| the test accepts (from the null's spread)",
        detail=(f"{int(total):,} informative pairs kept together, {expected:,.1f} expected given the margins "
                f"of {int(w.sum()):,} strata of up to {BLOCK} pairs; {method}"),
    )


def combine_pairings(results: list[Decision], alpha: float, name: str) -> Decision:
    """One decision over several pairings: the smallest p-value times their number (Bonferroni).

    The result describes the most extreme pairing (which axis and lag), and carries every
    pairing's correlation as evidence (correlation by pairing).
    """
    count = len(results)
    worst = min(results, key=lambda r: r.log_pvalue)
    log_p = min(0.0, math.log(count) + worst.log_pvalue)
    others = sorted(results, key=lambda r: r.log_pvalue)[1:3]
    also = "; next: " + ", ".join(f"{r.name.removeprefix('independence of ')} rho {r.estimate:+.3g}"
                                  for r in others) if others else ""
    return Decision(
        name=name, statistic=worst.statistic, log_pvalue=log_p, samples=sum(r.samples for r in results),
        estimate=worst.estimate, expected=0.0, ci=worst.ci, alpha=alpha, interval=worst.interval,
        detail=(f"most extreme of {count} pairings: {worst.name.removeprefix('independence of ')} "
                f"(rho {worst.estimate:+.3g}, {worst.detail}){also}"),
        evidence={"pairing": [float(i) for i in range(count)], "correlation": [r.estimate for r in results],
                  "upper bound": [r.ci[1] - r.estimate for r in results],
                  "lower bound": [r.ci[0] - r.estimate for r in results]},
    )
