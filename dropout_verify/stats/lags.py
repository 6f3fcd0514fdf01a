"""Lag scans: a unit and the unit L further on are independent, at every phase (C6).

The pairs and their statistic
-----------------------------
A *tally* counts one set of n pairs (a, b) of keep decisions: every unit and the unit L further
along an axis of the unit tensor, or L further in logical or in memory order, at every phase
(the pairs (i, i+L) for all i, overlapping ones included); or a unit of one dropout site and
the unit at the same flat index of another site called after it. With keep rates q1 for the
series of the firsts and q2 for that of the seconds,

    S(q1, q2) = sum over the pairs of (a - q1) (b - q2) = N11 - q2 F - q1 G + n q1 q2,

from four integer counts: N11 pairs both kept, F firsts kept, G seconds kept, n pairs (so the
statistic is the same whatever the number of threads that counted it).

Why overlapping pairs are allowed
---------------------------------
Reveal the decisions in a fixed order (call after call; within a call, in the tally's flat
order) in which every second b comes after its first a, and every unit is the second of at most
one pair. Under H0 (independent decisions, rate q1 in the first series and q2 in the second)
each term (b - q2)(a - q1) has mean 0 given all that was revealed before b: S is a martingale,
however the pairs overlap. Its increments are bounded by B = max(q1, 1-q1) max(q2, 1-q2), and
its predictable variation is

    V = q2 (1-q2) sum over the pairs of (a - q1)^2 = q2 (1-q2) [F (1-q1)^2 + (n - F) q1^2].

Freedman's inequality bounds P[S >= s and V <= v] <= exp(-s^2 / (2 (v + B s / 3))). V is
random, so the bound is taken on a fixed grid v_k = v_0 1.1^k reaching n / 4 (above every
value V can take; v_0 is a quarter of V at the nominal rates, and a smaller V is counted as
v_0): the observed V is rounded up to its grid point, and the grid's K points cost a factor K
(a union bound). The lower tail is the same bound for -S.

A biased keep rate is not a correlation
---------------------------------------
q1 and q2 are not taken as 1 - p: a keep rate off by d gives every pair the mean d^2, a C3
defect that would be called C6 at scale. Instead (Berger and Boos 1994) the rate of each series
lies in its exact Clopper-Pearson interval at level gamma / (number of series), from all of the
series' decisions, and a tally's bound is its supremum over those intervals: S at its minimum
(a quadratic on the diagonal for one series, a bilinear form at the corners for two), V and B
at their maxima. With T tests (tallies x 2 sides),

    p = gamma + T x (the smallest supremum bound over the tests)

is a valid p-value: a rate falls outside its interval with probability at most gamma, and
inside, every test's supremum is at least its bound at the true rates. gamma = alpha / 64.

The planner (``power.lag_scan_pairs``) finds the pairs a tally needs from this very rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

from ..decision import Decision

__all__ = [
    "GAMMA_SHARE",
    "GRID_RATIO",
    "Bounds",
    "LagCounter",
    "LagTally",
    "Series",
    "combined_log_p",
    "grid_points",
    "lag_scan_test",
    "power_of_two_lags",
    "rate_intervals",
    "scanned_lags",
    "tally_bounds",
]

GAMMA_SHARE = 1 / 64  # gamma = alpha x this: the Berger-Boos share of the rates' intervals
GRID_RATIO = 1.1  # the variance grid's step: V rounded up by at most 10%
SHORT_LAGS = 64  # every lag up to this one is scanned
EVIDENCE_POINTS = 2048


@dataclass(frozen=True)
class Series:
    """All decisions of one series (one input's calls): the kept count, the count, the nominal rate."""

    kept: int
    decisions: int
    rate: float  # 1 - p: fixes the variance grid in advance (the test's rates come from the data)


@dataclass(frozen=True)
class LagTally:
    """The counts of one set of pairs: n pairs, F firsts kept, G seconds kept, N11 both kept."""

    name: str
    pairs: int
    first: int
    second: int
    both: int
    series: tuple[int, int] = (0, 0)  # which Series the firsts and the seconds belong to


def scanned_lags(length: int) -> list[int]:
    """The lags scanned along an axis (or a flat sequence) of ``length`` units: every lag 1..64
    and every power of two, each leaving at least a quarter of the units paired (4 (m - L) >= m),
    so that every lag's test has the information the plan counts on."""
    lags = set(range(1, min(SHORT_LAGS, length - 1) + 1)) | set(power_of_two_lags(length))
    return sorted(lag for lag in lags if 4 * (length - lag) >= length)


def power_of_two_lags(length: int) -> list[int]:
    """1, 2, 4, ... up to 3/4 of ``length`` (a quarter of the units paired at least)."""
    return [1 << k for k in range(64) if (1 << k) < length and 4 * (length - (1 << k)) >= length]


def grid_points(pairs: float, rate_first: float, rate_second: float) -> tuple[float, int]:
    """(v_0, K): the variance grid of a tally of ``pairs`` pairs, fixed by its nominal rates."""
    base, points = _grids(np.array([pairs], dtype=np.float64), np.array([rate_first]), np.array([rate_second]))
    return float(base[0]), int(points[0])


def _grids(pairs: np.ndarray, rate_first: np.ndarray, rate_second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    top = pairs / 4.0
    nominal = pairs * rate_first * (1 - rate_first) * rate_second * (1 - rate_second)
    base = np.maximum(nominal / 4.0, 1e-300)
    points = np.maximum(1, np.ceil(np.log(np.maximum(top / base, 1.0)) / math.log(GRID_RATIO)) + 1)
    return base, points


def _spread_max(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """max of q (1-q) over [low, high]: 1/4 when 1/2 is inside, else at the end nearest 1/2."""
    inside = (low <= 0.5) & (high >= 0.5)
    ends = np.maximum(low * (1 - low), high * (1 - high))
    return np.where(inside, 0.25, ends)


def _side_max(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """max of max(q, 1-q) over [low, high] (at an end)."""
    return np.asarray(np.maximum(np.maximum(low, 1 - low), np.maximum(high, 1 - high)))


def _freedman_log(s: np.ndarray, v: np.ndarray, bound: np.ndarray, points: np.ndarray) -> np.ndarray:
    """log of K exp(-s^2 / (2 (v + B s / 3))) for s > 0 (log K otherwise): not capped at 0, so
    that the tallies far from rejection still sort by how far."""
    positive = np.maximum(s, 0.0)
    exponent = -(positive**2) / (2.0 * (v + bound * positive / 3.0))
    return np.asarray(np.log(points) + np.where(s > 0, exponent, -s / np.sqrt(v)))


@dataclass(frozen=True)
class Bounds:
    """Per tally: the log of the supremum bound (not capped at 0: it orders the tallies), the
    variance grid point, the increments' bound and the grid's size."""

    log_bound: np.ndarray
    variation: np.ndarray
    increment: np.ndarray
    points: np.ndarray


def tally_bounds(counts: np.ndarray, intervals: np.ndarray, rates: np.ndarray, same: np.ndarray) -> Bounds:
    """The supremum bounds of tallies, vectorised (the calibration tests call it over whole laws).

    ``counts``: (tallies, 4) pairs, firsts kept, seconds kept, both kept; ``intervals``:
    (tallies, 4) the firsts' and the seconds' rate intervals (low1, high1, low2, high2);
    ``rates``: (tallies, 2) the nominal rates (the variance grid); ``same``: the firsts and the
    seconds are one series (the rate's diagonal only)."""
    n, f, g, both = (counts[:, i].astype(np.float64) for i in range(4))
    low1, high1, low2, high2 = (intervals[:, i] for i in range(4))

    def statistic(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        return np.asarray(both - q2 * f - q1 * g + n * q1 * q2)

    # One series: S(q, q) = N11 - q (F + G) + n q^2 on [low, high], least at the vertex (clipped).
    vertex = np.clip((f + g) / (2 * np.maximum(n, 1)), low1, high1)
    diagonal_min = statistic(vertex, vertex)
    diagonal_max = np.maximum(statistic(low1, low1), statistic(high1, high1))
    # Two series: bilinear in (q1, q2), so its extremes over the box are at the corners.
    corners = np.stack([statistic(a, b) for a in (low1, high1) for b in (low2, high2)])
    least = np.where(same, diagonal_min, corners.min(axis=0))
    most = np.where(same, diagonal_max, corners.max(axis=0))
    # V = q2 (1-q2) h(q1), h(q) = F (1-q)^2 + (n-F) q^2 convex: maxima at the ends, a product bound.
    h_max = np.maximum(f * (1 - low1) ** 2 + (n - f) * low1**2, f * (1 - high1) ** 2 + (n - f) * high1**2)
    v_max = _spread_max(low2, high2) * h_max
    b_max = _side_max(low1, high1) * _side_max(low2, high2)
    base, points = _grids(n, rates[:, 0], rates[:, 1])
    level = np.ceil(np.log(np.maximum(v_max / base, 1.0)) / math.log(GRID_RATIO) - 1e-12)
    v_grid = base * GRID_RATIO ** np.minimum(level, points - 1)
    upper = _freedman_log(least, v_grid, b_max, points)
    lower = _freedman_log(-most, v_grid, b_max, points)
    return Bounds(np.minimum(upper, lower), v_grid, b_max, points)


def rate_intervals(kept: np.ndarray, decisions: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Clopper-Pearson (1 - level) intervals of rates, vectorised."""
    kept = np.asarray(kept, dtype=np.float64)
    decisions = np.asarray(decisions, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        low = np.where(kept <= 0, 0.0, _scipy.beta.ppf(level / 2, np.maximum(kept, 1), decisions - kept + 1))
        high = np.where(kept >= decisions, 1.0, _scipy.beta.isf(level / 2, kept + 1, np.maximum(decisions - kept, 1)))
    return np.asarray(low), np.asarray(high)


def combined_log_p(log_bound: np.ndarray, tests: int, alpha: float) -> np.ndarray:
    """log of gamma + T x the smallest bound (capped at 1): the decision's p-value."""
    return np.asarray(np.minimum(0.0, np.logaddexp(math.log(alpha * GAMMA_SHARE),
                                                   math.log(tests) + np.minimum(0.0, log_bound))))


def lag_scan_test(tallies: Sequence[LagTally], series: Sequence[Series], alpha: float, name: str) -> Decision:
    """One decision over every tally and both tails (see the module docstring)."""
    used = [t for t in tallies if t.pairs > 0]
    decisions = sum(s.decisions for s in series)
    if not used:
        return Decision(name=name, statistic=0.0, log_pvalue=0.0, samples=decisions, estimate=0.0, expected=0.0,
                        ci=(-1.0, 1.0), alpha=alpha, detail="no pairs to test")
    gamma = alpha * GAMMA_SHARE
    low, high = rate_intervals(np.array([s.kept for s in series]), np.array([s.decisions for s in series]),
                               gamma / len(series))
    one, two = (np.array([t.series[i] for t in used]) for i in (0, 1))
    counts = np.array([(t.pairs, t.first, t.second, t.both) for t in used], dtype=np.int64)
    bounds = tally_bounds(counts, np.stack([low[one], high[one], low[two], high[two]], axis=1),
                          np.array([(series[i].rate, series[j].rate) for i, j in zip(one, two)]), one == two)
    per_tally = bounds.log_bound
    tests = 2 * len(used)
    worst = int(np.argmin(per_tally))
    log_p = float(combined_log_p(per_tally[worst : worst + 1], tests, alpha)[0])
    intervals = list(zip(low.tolist(), high.tolist()))
    n, both, f, g = (counts[:, i].astype(np.float64) for i in (0, 3, 1, 2))

    def statistic(q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        return np.asarray(both - q2 * f - q1 * g + n * q1 * q2)

    # The estimate shown: the correlation at the observed rates.
    rates = [s.kept / s.decisions if s.decisions else s.rate for s in series]
    r1, r2 = np.array([rates[i] for i in one]), np.array([rates[i] for i in two])
    scale = n * np.sqrt(np.maximum(r1 * (1 - r1) * r2 * (1 - r2), 1e-300))
    correlation = statistic(r1, r2) / scale
    accepted = _accepted_half_width(bounds.variation, bounds.increment, bounds.points, tests, alpha - gamma) / scale
    shown = np.unique(np.concatenate([np.linspace(0, len(used) - 1, min(len(used), EVIDENCE_POINTS)).astype(int),
                                      [worst]]))
    order = np.argsort(per_tally)
    following = "; ".join(f"{used[i].name} rho {correlation[i]:+.3g}" for i in order[1:3])
    intervals_text = ", ".join(f"[{low:.6g}, {high:.6g}]" for low, high in intervals)
    return Decision(
        name=name,
        statistic=float(statistic(r1, r2)[worst]),
        log_pvalue=log_p,
        samples=decisions,
        estimate=float(correlation[worst]),
        expected=0.0,
        ci=(float(correlation[worst] - accepted[worst]), float(correlation[worst] + accepted[worst])),
        interval="the correlations the test accepts at that tally",
        alpha=alpha,
        detail=(f"most extreme of {len(used)} tallies (x 2 sides): {used[worst].name}, rho "
                f"{correlation[worst]:+.4g} over {used[worst].pairs:,} pairs ({used[worst].both:,} both kept)"
                + (f"; next: {following}" if following else "")
                + f"; keep rates within {intervals_text} (gamma {gamma:.3g}); Freedman's bound, every phase"),
        evidence={"tally": shown.astype(float).tolist(), "correlation": correlation[shown].tolist(),
                  "upper bound": accepted[shown].tolist(), "lower bound": (-accepted[shown]).tolist()},
    )


def _accepted_half_width(v: np.ndarray, bound: np.ndarray, points: np.ndarray, tests: int,
                         level: float) -> np.ndarray:
    """|S| the test accepts at each tally: K exp(-s^2 / (2 (v + B s / 3))) = level / T, solved for s."""
    log_level = np.log(points * tests / max(level, 1e-300))
    third = bound * log_level / 3.0
    return np.asarray(third + np.sqrt(third**2 + 2.0 * v * log_level))


# ----------------------------------------------------------------------------- counting


Flatten = Callable[[np.ndarray], np.ndarray]


class LagCounter:
    """Running counts of every (pairing, lag) over batches of calls.

    A *pairing* turns a batch of unit keeps (calls, *unit shape) into an array (outer, m, inner):
    the pairs at lag L are (X[:, k, :], X[:, k + L, :]) for every k < m - L. An axis of the
    unit tensor is one such view (outer: the calls and the axes before it, inner: those after
    it); a flat order (logical or memory) is (calls, units, 1). Counts are integers.
    """

    def __init__(self, pairings: Sequence[tuple[str, Flatten, Sequence[int]]]) -> None:
        self.pairings = list(pairings)
        self.counts = [np.zeros((len(lags), 4), dtype=np.int64) for _, _, lags in self.pairings]
        self.kept = 0
        self.decisions = 0

    def add(self, keeps: np.ndarray) -> None:
        """Count one batch: ``keeps`` is a bool array (calls, *unit shape)."""
        self.kept += int(np.count_nonzero(keeps))
        self.decisions += int(keeps.size)
        for (_, view, lags), counts in zip(self.pairings, self.counts):
            x = view(keeps)
            m = x.shape[1]
            per_index = np.count_nonzero(x, axis=(0, 2)).astype(np.int64)
            prefix = np.concatenate([[0], np.cumsum(per_index)])
            others = x.shape[0] * x.shape[2]
            for row, lag in enumerate(lags):
                if lag >= m:
                    continue
                both = int(np.count_nonzero(x[:, : m - lag, :] & x[:, lag:, :]))
                counts[row] += (others * (m - lag), int(prefix[m - lag]), int(prefix[m] - prefix[lag]), both)

    def tallies(self) -> list[LagTally]:
        found = []
        for (name, _, lags), counts in zip(self.pairings, self.counts):
            for lag, (pairs, first, second, both) in zip(lags, counts.tolist()):
                found.append(LagTally(f"{name} at lag {lag}", pairs, first, second, both))
        return found
