"""Chernoff bounds on the tails of a sum of independent discrete random variables.

S = sum over groups g of n_g independent draws of a discrete law L_g (values v, probabilities
w). Its cumulant generating function is exact,

    K(s) = sum_g n_g log sum_v w_g(v) exp(s v),

and for every s >= 0, P[S >= t] <= exp(K(s) - s t) (Markov's inequality on exp(s S)); the
bound used is the smallest over s, at the root of K'(s) = t. Likewise below with s <= 0. The
bound holds for every sample size and every t: a p-value from it is never smaller than the true
tail probability (a proved bound, not an approximation), so a decision taken at alpha keeps
its level deep in the tail, where chi-square and normal approximations do not. It is loose by
about a factor sqrt(2 pi) z at z standard deviations (planners account for it).

Used for the homogeneity omnibus (m positions, each (k - T q)^2 / (T q (1-q)) with k
binomial), the dispersion of per-call counts, and sums of hypergeometrics (pairs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special

__all__ = ["DiscreteSum", "WeightedBinomialSum", "WeightedBinomialSums"]


class DiscreteSum:
    """S = sum over groups of ``counts[g]`` iid draws of law g (``values[g]``, ``log_pmf[g]``)."""

    # Support values closer than this (relative to a law's range) are one value: floating point
    # cannot tell them apart, and an observed total computed in another order may differ from
    # the law's own arithmetic by that much. The merge moves each draw by at most ``tolerance``
    # per draw; ``slack`` (the sum over all draws) is given away in every tail, so bounds stay
    # proved for the unmerged law.
    RELATIVE_TOLERANCE = 1e-9

    def __init__(self, values: Sequence[np.ndarray], log_pmf: Sequence[np.ndarray],
                 counts: Sequence[float] | np.ndarray, *, integer_support: bool = False) -> None:
        # Integer supports (counts) hold exact, distinct values: nothing to merge, no slack.
        merged = ([(np.asarray(v, dtype=np.float64), np.asarray(lp, dtype=np.float64), 0.0)
                   for v, lp in zip(values, log_pmf)] if integer_support
                  else [self._merge(v, lp) for v, lp in zip(values, log_pmf)])
        width = max(len(v) for v, _, _ in merged)
        self.values = np.zeros((len(merged), width))
        self.log_pmf = np.full((len(merged), width), -np.inf)
        tolerances = np.zeros(len(merged))
        for row, (v, lp, tolerance) in enumerate(merged):
            self.values[row, : v.size] = v
            self.values[row, v.size:] = v[-1] if v.size else 0.0
            self.log_pmf[row, : v.size] = lp
            tolerances[row] = tolerance
        self.counts = np.asarray(counts, dtype=np.float64)
        self.slack = float(self.counts @ tolerances)
        finite = np.isfinite(self.log_pmf)
        self.minimum = float(self.counts @ np.where(finite, self.values, np.inf).min(axis=1))
        self.maximum = float(self.counts @ np.where(finite, self.values, -np.inf).max(axis=1))
        _, self.mean, self.variance = self.cumulants(0.0)

    @classmethod
    def _merge(cls, values: np.ndarray, log_pmf: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Sorted support with values within the tolerance merged (probabilities added)."""
        v = np.asarray(values, dtype=np.float64)
        lp = np.asarray(log_pmf, dtype=np.float64)
        keep = np.isfinite(lp)
        v, lp = v[keep], lp[keep]
        if v.size == 0:
            return v, lp, 0.0
        order = np.argsort(v, kind="stable")
        v, lp = v[order], lp[order]
        tolerance = cls.RELATIVE_TOLERANCE * max(float(v[-1] - v[0]), float(np.abs(v).max()), 1e-300)
        starts = np.flatnonzero(np.concatenate(([True], np.diff(v) > tolerance)))
        stops = np.append(starts[1:], v.size)
        if np.any(v[stops - 1] - v[starts] > tolerance):
            # A run of values each within the tolerance of the next could drift: cut such runs
            # where they grow wider than the tolerance (rare, so a plain loop).
            cuts: list[int] = []
            for start, stop in zip(starts.tolist(), stops.tolist()):
                run_start = start
                cuts.append(start)
                for i in range(start, stop):
                    if v[i] - v[run_start] > tolerance:
                        cuts.append(i)
                        run_start = i
            starts = np.array(cuts)
        sizes = np.diff(np.append(starts, v.size))
        merged_v = np.add.reduceat(v, starts) / sizes
        peak = np.maximum.reduceat(lp, starts)
        merged_lp = peak + np.log(np.add.reduceat(np.exp(lp - np.repeat(peak, sizes)), starts))
        return merged_v, merged_lp, tolerance

    def cumulants(self, s: float) -> tuple[float, float, float]:
        """(K(s), K'(s), K''(s))."""
        exponent = self.log_pmf + s * self.values
        peak = exponent.max(axis=1)  # every law has a finite probability: peak is finite
        tilt = np.exp(exponent - peak[:, None])
        mass = tilt.sum(axis=1)
        tilt /= mass[:, None]
        log_mgf = peak + np.log(mass)
        mean = np.einsum("ij,ij->i", tilt, self.values)
        centred = self.values - mean[:, None]
        variance = np.einsum("ij,ij,ij->i", tilt, centred, centred)
        return float(self.counts @ log_mgf), float(self.counts @ mean), float(self.counts @ variance)

    def _edge_log_probability(self, upper: bool) -> float:
        """log P[S = its maximum] (upper) or its minimum: every draw at its extreme value."""
        finite = np.isfinite(self.log_pmf)
        extreme = np.where(finite, self.values, -np.inf if upper else np.inf)
        target = extreme.max(axis=1) if upper else extreme.min(axis=1)
        at_edge = finite & (self.values == target[:, None])
        per_group = _special.logsumexp(np.where(at_edge, self.log_pmf, -np.inf), axis=1)
        return float(self.counts @ per_group)

    def log_tail(self, total: float, *, upper: bool) -> float:
        """Chernoff's bound on log P[S >= total] (``upper``) or log P[S <= total]; 0 past the mean.

        The slack of the merge is given away first (the bound is taken at total - slack above,
        total + slack below): S >= total implies that the merged sum is >= total - slack. So a
        total equal to an edge up to rounding gets a bound near the edge's probability, not 0.
        """
        total = total - self.slack if upper else total + self.slack
        if (upper and total <= self.mean) or (not upper and total >= self.mean):
            return 0.0
        edge = self.maximum if upper else self.minimum
        if (upper and total > edge) or (not upper and total < edge):
            return -math.inf
        if total == edge:
            return self._edge_log_probability(upper)
        def gap_and_slope(s: float) -> tuple[float, float]:
            k = self.cumulants(s)
            return k[1] - total, k[2]

        # Start at the normal approximation's s = (total - mean) / variance, doubled until the
        # root is bracketed (once or twice in the tails).
        bound = (total - self.mean) / max(self.variance, 1e-300)
        for _ in range(400):
            if (gap_and_slope(bound)[0] >= 0) == upper:
                break
            bound *= 2
        else:  # not bracketed: any s gives a valid bound; use the last one tried
            k0 = self.cumulants(bound)[0]
            return min(0.0, k0 - bound * total)
        low, high = (0.0, bound) if upper else (bound, 0.0)
        s = _safeguarded_newton(gap_and_slope, low, high, rising=True, start=bound, rtol=1e-13)
        return min(0.0, self.cumulants(s)[0] - s * total)

    def threshold(self, log_level: float, *, upper: bool) -> float:
        """The total t with Chernoff bound exp(log_level) on the side asked (nearest the mean).

        Parametrised by s: at t = K'(s) the bound is K(s) - s K'(s), which falls as |s| grows,
        so one root search in s finds it. The merge's slack is added back (log_tail gives it away),
        so a total is rejected by log_tail exactly when it lies at or beyond the threshold.
        """
        edge = self.maximum if upper else self.minimum
        sign = 1.0 if upper else -1.0
        if self._edge_log_probability(upper) > log_level:
            return edge + sign * self.slack
        # d/ds [K(s) - s K'(s)] = -s K''(s): one cumulant evaluation gives value and slope.
        def bound_at(s: float) -> tuple[float, float]:
            k = self.cumulants(s)
            return k[0] - s * k[1] - log_level, -s * k[2]

        # Start at the normal approximation's s = sqrt(-2 log_level / variance), doubled until
        # the bound falls below the level there.
        step = sign * math.sqrt(-2.0 * log_level / max(self.variance, 1e-300))
        for _ in range(400):
            if bound_at(step)[0] <= 0:
                break
            step *= 2
        else:
            return edge + sign * self.slack
        low, high = sorted((0.0, step))
        s = _safeguarded_newton(bound_at, low, high, rising=not upper, start=step, rtol=1e-12)
        return self.cumulants(s)[1] + sign * self.slack


def _safeguarded_newton(function: Callable[[float], tuple[float, float]], low: float, high: float, *,
                        rising: bool, start: float, rtol: float) -> float:
    """The root of a monotone ``function`` (value, slope) bracketed by [low, high].

    ``rising``: the function is below 0 at ``low`` and above at ``high`` (else the reverse).
    Newton's steps from ``start`` (a point of the bracket), or bisection when a step would
    leave the bracket (which shrinks every iteration either way): a few cumulant evaluations
    where a derivative-free search needs three times as many. Stops when a step moves s by
    less than ``rtol`` of |s|, or the bracket is that narrow.
    """
    s = start
    for _ in range(200):
        value, slope = function(s)
        if value == 0:
            return s
        if (value < 0) == rising:
            low = s
        else:
            high = s
        step = value / slope if slope != 0 else math.inf
        candidate = s - step
        if not low < candidate < high:
            candidate = 0.5 * (low + high)
        if abs(candidate - s) <= rtol * max(abs(candidate), 1e-300) or high - low <= rtol * max(abs(low), abs(high)):
            return candidate
        s = candidate
    return s


class WeightedBinomialSum:
    """W = sum_i w_i k_i for independent k_i ~ Binomial(n_i, q_i): Chernoff bounds on its tails.

    K(s) = sum_i n_i log(1 - q_i + q_i exp(s w_i)), exact and cheap however large the n_i.
    """

    def __init__(self, weights: np.ndarray, trials: np.ndarray, rates: np.ndarray) -> None:
        self.w = np.asarray(weights, dtype=np.float64)
        self.n = np.asarray(trials, dtype=np.float64)
        self.q = np.asarray(rates, dtype=np.float64)
        self.mean = float(np.sum(self.n * self.q * self.w))
        self.variance = float(np.sum(self.n * self.q * (1 - self.q) * self.w**2))

    def cumulants(self, s: float) -> tuple[float, float]:
        """(K(s), K'(s))."""
        log_terms = np.logaddexp(np.log1p(-self.q), np.log(self.q) + s * self.w)
        tilted = np.exp(np.log(self.q) + s * self.w - log_terms)
        return float(np.sum(self.n * log_terms)), float(np.sum(self.n * self.w * tilted))

    def log_upper_tail(self, total: float) -> float:
        """Chernoff's bound on log P[W >= total]."""
        if total <= self.mean:
            return 0.0
        maximum = float(np.sum(self.n * np.maximum(self.w, 0)))
        if total > maximum:
            return -math.inf
        def gap(s: float) -> float:
            return self.cumulants(s)[1] - total

        scale = math.sqrt(max(self.variance, 1e-300))
        high = 1.0 / scale
        for _ in range(400):
            if gap(high) >= 0:
                break
            high *= 2
        else:
            return min(0.0, self.cumulants(high)[0] - high * total)
        s = float(_optimize.brentq(gap, 0.0, high, xtol=1e-300, rtol=1e-13, maxiter=500))
        return min(0.0, self.cumulants(s)[0] - s * total)


class WeightedBinomialSums:
    """Many sums at once: row h is W_h = sum_i w[h, i] k_i with independent k_i ~ Binomial(n_i, q[h, i]).

    The rows share the trials n_i (one probe set) and may differ in weights and rates (a matched
    statistic per hypothesis, each under its own least favourable null, or under an alternative
    whose rates may be 0 or 1). Chernoff's bounds as in :class:`WeightedBinomialSum`, solved for
    every row together: K_h(s) = sum_i n_i log(1 - q_hi + q_hi exp(s w_hi)) is convex in s, so
    K_h' is increasing and one vectorised bracket-and-bisect (with Newton steps) finds each
    row's root. Any s of the right sign gives a valid bound (Markov's inequality), so the
    root's precision only affects how tight a bound is, never whether it holds.
    """

    MAX_EXPONENT = 1e4  # s |w| past this tilts every probe to its extreme: no use doubling further

    def __init__(self, weights: np.ndarray, trials: np.ndarray, rates: np.ndarray) -> None:
        self.w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        self.n = np.asarray(trials, dtype=np.float64).reshape(1, -1)
        self.q = np.broadcast_to(np.asarray(rates, dtype=np.float64), self.w.shape)
        with np.errstate(divide="ignore"):  # a rate of 0 or 1 (an alternative at an edge) is allowed
            self.log_q, self.log_1q = np.log(self.q), np.log1p(-self.q)
        self.mean = np.sum(self.n * self.q * self.w, axis=1)
        self.variance = np.sum(self.n * self.q * (1 - self.q) * self.w**2, axis=1)
        # The largest value W_h can take: each probe at its larger possible count (a rate of 0
        # or 1 allows one count only), and the log probability of taking it.
        high_count = np.where(self.w > 0, self.q > 0, self.q >= 1)
        self.maximum = np.sum(self.n * self.w * high_count, axis=1)
        self.log_maximum = np.sum(self.n * np.where(self.w == 0, 0.0, np.where(high_count, self.log_q, self.log_1q)),
                                  axis=1)
        self.largest_weight = np.maximum(np.max(np.abs(self.w), axis=1), 1e-300)

    def cumulants(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(K_h(s_h), K_h'(s_h), K_h''(s_h)) for a vector s of one value per row."""
        exponent = self.log_q + s[:, None] * self.w
        log_terms = np.logaddexp(self.log_1q, exponent)
        tilted = np.exp(exponent - log_terms)  # the kept probability of each probe, tilted by s
        k0 = np.sum(self.n * log_terms, axis=1)
        k1 = np.sum(self.n * self.w * tilted, axis=1)
        k2 = np.sum(self.n * self.w**2 * tilted * (1 - tilted), axis=1)
        return k0, k1, k2

    def _root(self, function: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], start: np.ndarray,
              rising: bool) -> np.ndarray:
        """Each row's root in s >= 0 of a monotone ``function`` (value, slope), or the largest s
        tried where none is found below s |w| = MAX_EXPONENT (a valid s all the same)."""
        limit = self.MAX_EXPONENT / self.largest_weight
        low, high = np.zeros_like(start), np.minimum(start, limit)
        for _ in range(2000):  # double until the far end is past the root, or at the limit
            past = (function(high)[0] >= 0) == rising
            if np.all(past | (high >= limit)):
                break
            high = np.where(past, high, np.minimum(2 * high, limit))
        s = 0.5 * (low + high)
        for _ in range(200):
            value, slope = function(s)
            below = (value < 0) == rising  # the root is above s
            low, high = np.where(below, s, low), np.where(below, high, s)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = s - value / slope
            inside = np.isfinite(newton) & (newton > low) & (newton < high)
            s = np.where(inside, newton, 0.5 * (low + high))
            if np.all((high - low <= 1e-13 * np.maximum(high, 1e-300)) | (np.abs(value) < 1e-12)):
                break
        return np.asarray(s)

    def log_upper_tails(self, totals: np.ndarray) -> np.ndarray:
        """Chernoff's bound on log P[W_h >= totals_h] for every row (0 at or below the mean).

        A total at the maximum (within 1e-12 of it: W is summed in another order than the law's
        own arithmetic) gets the maximum's exact probability; a total past it -inf.
        """
        totals = np.asarray(totals, dtype=np.float64)
        result = np.zeros(totals.shape)
        tolerance = 1e-12 * np.maximum(np.abs(self.maximum), 1.0)
        past = totals > self.maximum + tolerance
        at_edge = ~past & (totals >= self.maximum - tolerance)
        result[past] = -np.inf
        result[at_edge] = self.log_maximum[at_edge]
        inner = (totals > self.mean) & ~past & ~at_edge
        if inner.any():
            sub = WeightedBinomialSums(self.w[inner], self.n.reshape(-1), self.q[inner])
            target = totals[inner]
            start = np.maximum((target - sub.mean) / np.maximum(sub.variance, 1e-300), 1e-300)

            def gap(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                _, k1, k2 = sub.cumulants(s)
                return k1 - target, k2

            s = sub._root(gap, start, rising=True)
            k0, _, _ = sub.cumulants(s)
            result[inner] = np.minimum(0.0, np.maximum(k0 - s * target, sub.log_maximum))
        return result

    def log_lower_tails(self, totals: np.ndarray) -> np.ndarray:
        """Chernoff's bound on log P[W_h <= totals_h] for every row: the upper tail of -W."""
        mirrored = WeightedBinomialSums(-self.w, self.n.reshape(-1), self.q)
        return mirrored.log_upper_tails(-np.asarray(totals, dtype=np.float64))

    def upper_thresholds(self, log_level: float) -> np.ndarray:
        """Each row's total t with Chernoff bound exp(log_level) on P[W_h >= t]: rejecting at
        W_h >= t keeps the row's false-alarm probability at exp(log_level) or below. The
        parametric form t = K'(s), bound K(s) - s K'(s) (falling in s > 0, slope -s K''(s));
        a row whose maximum is likelier than the level gets inf (it can never reject)."""
        start = np.sqrt(-2.0 * log_level / np.maximum(self.variance, 1e-300))

        def bound(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            k0, k1, k2 = self.cumulants(s)
            return k0 - s * k1 - log_level, -s * k2

        s = self._root(bound, start, rising=False)
        thresholds = self.cumulants(s)[1]
        return np.where(self.log_maximum > log_level, np.inf, thresholds)
