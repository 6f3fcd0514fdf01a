"""Calibration of the lag scan, the block test and the mask windows where they decide (alpha ~ 1e-8).

Each is checked against an exact computation of its law under H0:

* the lag scan (``stats.lags``) at lag 1 of one sequence: the joint law of (kept, both kept,
  first, last) by dynamic programming over the sequence, every outcome's decision taken, the
  probability of a rejection summed (at most alpha); the same for two aligned series (the
  dropout sites), whose counts are multinomial;
* the block test (``stats.blocks``): its hypergeometric tails (Boost's, with scipy's log-space
  sums where they underflow) against the exact sum of the law, deep in the tail, and the
  probability that a block's test rejects against its share of alpha;
* the windows (``masks``): the chance that two windows of one sequence, overlapping, coincide,
  enumerated, against the bound max(q, 1-q)^w that the window length rests on.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import special as scipy_special
from scipy import stats as scipy_stats

from dropout_verify.masks import CHANCE_BITS, RATE_RANGE, window_for
from dropout_verify.stats.blocks import _hypergeometric_log_tail
from dropout_verify.stats.lags import (
    GAMMA_SHARE,
    LagTally,
    Series,
    combined_log_p,
    lag_scan_test,
    rate_intervals,
    tally_bounds,
)

ALPHA = 1e-8


def _lag_one_law(n: int, rate: float) -> np.ndarray:
    """P[first, last, K, N11] of n Bernoulli(rate) decisions, N11 = pairs (i, i + 1) both kept
    (dynamic programming over the sequence)."""
    law = np.zeros((2, 2, n + 1, n))
    law[0, 0, 0, 0] = 1 - rate
    law[1, 1, 1, 0] = rate
    for _ in range(n - 1):
        new = np.zeros_like(law)
        new[:, 0, :, :] += (law[:, 0] + law[:, 1]) * (1 - rate)  # next dropped
        new[:, 1, 1:, :] += law[:, 0, :-1, :] * rate  # next kept after a dropped
        new[:, 1, 1:, 1:] += law[:, 1, :-1, :-1] * rate  # next kept after a kept: one more pair
        law = new
    return law


def _rejects(counts: np.ndarray, kept: list[np.ndarray], decisions: list[int], rates: tuple[float, ...],
             series: tuple[int, int]) -> np.ndarray:
    """The decision of ``lag_scan_test`` on one tally, for many outcomes at once (its own
    vectorised parts: the rates' intervals, the supremum bound, gamma + T x bound)."""
    gamma = ALPHA * GAMMA_SHARE
    intervals = []
    for k, d in zip(kept, decisions):  # once per distinct count, then looked up
        distinct, inverse = np.unique(k, return_inverse=True)
        low, high = rate_intervals(distinct, np.full(distinct.size, d), gamma / len(rates))
        intervals.append((low[inverse], high[inverse]))
    one, two = intervals[series[0]], intervals[series[1]]
    bounds = tally_bounds(counts, np.stack([one[0], one[1], two[0], two[1]], axis=1),
                          np.tile([rates[series[0]], rates[series[1]]], (counts.shape[0], 1)),
                          np.full(counts.shape[0], series[0] == series[1]))
    return np.asarray(combined_log_p(bounds.log_bound, 2, ALPHA) < math.log(ALPHA))


@pytest.mark.parametrize("n, rate", [(300, 0.5), (300, 0.05), (300, 0.9)])
def test_lag_scan_rejects_at_most_alpha_exactly(n: int, rate: float) -> None:
    """One tally (lag 1 of n decisions), its nuisance rate from the same decisions: the exact
    probability of a rejection at alpha = 1e-8 is at most alpha (and rejections exist)."""
    law = _lag_one_law(n, rate)
    first, last, kept, both = np.nonzero(law > 0)
    counts = np.stack([np.full(kept.size, n - 1), kept - last, kept - first, both], axis=1)
    rejected = _rejects(counts, [kept], [n], (rate,), (0, 0))
    assert rejected.any()
    assert float(law[first, last, kept, both][rejected].sum()) <= ALPHA
    # The function the suite calls agrees with the vectorised parts, on rejected outcomes and not.
    for index in [*np.flatnonzero(rejected)[:3].tolist(), *np.flatnonzero(~rejected)[:3].tolist()]:
        tally = LagTally("lag 1", *(int(v) for v in counts[index]))
        assert lag_scan_test([tally], [Series(int(kept[index]), n, rate)], ALPHA, "x").rejected == rejected[index]


@pytest.mark.slow
@pytest.mark.parametrize("n, rates", [(170, (0.5, 0.5)), (170, (0.1, 0.6)), (170, (0.9, 0.05))])
def test_two_series_scan_rejects_at_most_alpha_exactly(n: int, rates: tuple[float, float]) -> None:
    """Two aligned series (dropout sites): (N11, N10, N01, N00) is multinomial; every table's
    decision at alpha = 1e-8 taken, the probability of a rejection summed."""
    q1, q2 = rates
    n11, n10, n01 = (a.ravel() for a in np.meshgrid(*[np.arange(n + 1)] * 3, indexing="ij"))
    valid = n11 + n10 + n01 <= n
    n11, n10, n01 = n11[valid], n10[valid], n01[valid]
    n00 = n - n11 - n10 - n01
    first, second = n11 + n10, n11 + n01
    counts = np.stack([np.full(n11.size, n), first, second, n11], axis=1)
    rejected = _rejects(counts, [first, second], [n, n], rates, (0, 1))
    cells = np.log([q1 * q2, q1 * (1 - q2), (1 - q1) * q2, (1 - q1) * (1 - q2)])
    log_p = (scipy_special.gammaln(n + 1) - scipy_special.gammaln(n11 + 1) - scipy_special.gammaln(n10 + 1)
             - scipy_special.gammaln(n01 + 1) - scipy_special.gammaln(n00 + 1)
             + n11 * cells[0] + n10 * cells[1] + n01 * cells[2] + n00 * cells[3])
    assert rejected.any()
    assert float(np.exp(log_p[rejected]).sum()) <= ALPHA


def test_lag_scan_rejects_a_copied_sequence_and_not_a_biased_rate() -> None:
    """Pairs whose second copies its first are a correlation of 1; a keep rate of 0.6 where 0.5
    was expected is not a correlation (the rate comes from the data)."""
    rng = np.random.default_rng(3)
    a = rng.random(20_000) < 0.5
    copied = LagTally("copied", a.size, int(a.sum()), int(a.sum()), int(a.sum()))
    assert lag_scan_test([copied], [Series(int(a.sum()), a.size, 0.5)], ALPHA, "x").rejected
    b = rng.random(1 << 20) < 0.6
    biased = LagTally("lag 1", b.size - 1, int(b[:-1].sum()), int(b[1:].sum()), int((b[:-1] & b[1:]).sum()))
    assert not lag_scan_test([biased], [Series(int(b.sum()), b.size, 0.5)], ALPHA, "x").rejected


@pytest.mark.slow
@pytest.mark.parametrize("total, kept, size", [(1 << 20, 900_000, 4096), (1 << 20, 52_000, 1 << 16),
                                               (1 << 20, 1 << 19, 1 << 18)])
def test_block_tails_match_the_exact_law_deep_in_the_tail(total: int, kept: int, size: int) -> None:
    """The block test's hypergeometric tails (fast, Boost) equal the exact sum of the law, from
    the body to far past 1e-8, on both sides (to 1e-5 of the log: the sum of up to a million
    terms in log space is itself good to about that)."""
    mean = size * kept / total
    spread = math.sqrt(size * kept / total * (1 - kept / total) * (1 - size / total))
    ks = np.array([round(mean + z * spread) for z in (-40, -9, -6, -2, 0, 2, 6, 9, 40)])
    for upper in (False, True):
        fast = _hypergeometric_log_tail(ks, total, kept, np.full(ks.size, size), upper=upper)
        for k, value in zip(ks.tolist(), fast.tolist()):
            support = np.arange(k, min(kept, size) + 1) if upper else np.arange(max(0, size - (total - kept)), k + 1)
            exact = min(0.0, float(scipy_special.logsumexp(scipy_stats.hypergeom.logpmf(support, total, kept, size))))
            assert value == pytest.approx(exact, rel=1e-5, abs=1e-6), (k, upper)


def test_a_block_rejects_at_most_its_share_of_alpha() -> None:
    """The doubling rule on the exact law: one block's rejection probability, summed over its
    whole law, is at most alpha / T."""
    total, kept, size, share = 1 << 14, 1 << 13, 1024, ALPHA / 31
    k = np.arange(0, size + 1)
    lower = _hypergeometric_log_tail(k, total, kept, np.full(k.size, size), upper=False)
    upper = _hypergeometric_log_tail(k, total, kept, np.full(k.size, size), upper=True)
    log_p = np.minimum(0.0, math.log(2) + np.minimum(lower, upper))
    rejected = log_p < math.log(share)
    assert float(scipy_stats.hypergeom.pmf(k[rejected], total, kept, size).sum()) <= share


@pytest.mark.parametrize("rate", [0.5, 0.3, 0.9])
@pytest.mark.parametrize("width, shift", [(8, 1), (8, 3), (9, 4), (10, 7)])
def test_overlapping_windows_coincide_at_most_max_rate_to_the_width(rate: float, width: int, shift: int) -> None:
    """Two windows of w units of one Bernoulli sequence, d < w apart: every sequence of w + d
    units enumerated, the chance that the windows coincide is at most max(q, 1-q)^w (the bound
    the window length rests on; for d >= w the windows are independent and it is smaller)."""
    chance = 0.0
    for bits in itertools.product((0, 1), repeat=width + shift):
        if bits[:width] == bits[shift:]:
            kept = sum(bits)
            chance += rate**kept * (1 - rate) ** (width + shift - kept)
    assert chance <= max(rate, 1 - rate) ** width * (1 + 1e-12)


def test_window_length_gives_two_to_the_minus_100() -> None:
    for rate in np.linspace(RATE_RANGE[0], RATE_RANGE[1], 91):
        window = window_for(float(rate))
        assert window is not None and window.units % 64 == 0
        assert window.log_chance <= -CHANCE_BITS * math.log(2)
        assert window.units - 64 < CHANCE_BITS / -math.log2(max(rate, 1 - rate))  # the least multiple of 64
    assert window_for(0.01) is None and window_for(0.999) is None
