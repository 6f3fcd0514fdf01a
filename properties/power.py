"""Sample sizes from alpha, the effect to detect and the power wanted.

Every statistical check asks this module how many samples it needs, so that it detects the
level's minimum effect with probability at least ``power`` while its false-alarm
probability stays at its share ``alpha`` of the run's budget. The formulas are the usual
normal-approximation ones for two-sided tests (z_a = z at alpha/2, z_b = z at 1 - power):

    rate:       n = ((z_a sqrt(q0 (1-q0)) + z_b sqrt(q1 (1-q1))) / delta)^2,  q1 = q0 +- delta
    variance:   T = 2 (z_a + r z_b)^2 / (r - 1)^2, for variance ratio r and 1/r

The normal approximation is accurate for the large samples used here; the suite's own tests
measure the achieved power by simulation.
"""

from __future__ import annotations

import functools
import math

from scipy import stats as _scipy

__all__ = [
    "dispersion_calls",
    "exact_rate_samples",
    "homogeneity_calls",
    "pair_samples",
    "rate_samples",
    "z_upper",
]


def z_upper(tail: float) -> float:
    """The standard normal quantile z with P[Z > z] = tail."""
    return float(_scipy.norm.isf(tail))


def rate_samples(rate: float, delta: float, alpha: float, power: float) -> int:
    """Trials for a two-sided binomial test at ``alpha`` to see |rate shift| >= ``delta``.

    Both directions are planned and the larger sample kept; a shifted rate is clipped into
    (0, 1), since a shift past an edge is only easier to detect.
    """
    z_a, z_b = z_upper(alpha / 2), z_upper(1 - power)
    needed = 0.0
    for shifted in (rate - delta, rate + delta):
        shifted = min(max(shifted, 1e-12), 1 - 1e-12)
        spread = z_a * math.sqrt(rate * (1 - rate)) + z_b * math.sqrt(shifted * (1 - shifted))
        needed = max(needed, (spread / abs(shifted - rate)) ** 2)
    return math.ceil(needed)


def pair_samples(rate: float, correlation: float, alpha: float, power: float) -> int:
    """Disjoint pairs for the N11 test to see correlation ``correlation`` between decisions."""
    return rate_samples(rate * rate, correlation * rate * (1 - rate), alpha, power)


def homogeneity_calls(rate: float, delta: float, positions: int, alpha: float, power: float) -> int:
    """Calls so that one position of ``positions`` whose keep rate is off by ``delta`` is found.

    The worst-position statistic runs at alpha / 2 split over the positions (see
    ``stats.homogeneity_test``). At least 20 / min(q, 1-q) calls keep every cell of the
    omnibus chi-square at an expected count of 20 or more.
    """
    per_position_alpha = alpha / (2 * positions)
    floor = math.ceil(20 / min(rate, 1 - rate))
    return max(floor, rate_samples(rate, delta, per_position_alpha, power))


def dispersion_calls(ratio: float, alpha: float, power: float) -> int:
    """Calls so that a per-call count variance off by a factor ``ratio`` (either way) is found."""
    z_a, z_b = z_upper(alpha / 2), z_upper(1 - power)
    needed = 0.0
    for r in (ratio, 1 / ratio):
        needed = max(needed, 2 * (z_a + r * z_b) ** 2 / (r - 1) ** 2)
    return math.ceil(needed)


@functools.lru_cache(maxsize=256)
def exact_rate_samples(rate: float, delta: float, alpha: float, power: float) -> int:
    """The smallest n at which the exact two-sided binomial test (doubling rule) at ``alpha``
    detects a rate shift of ``delta`` in either direction with probability ``power``.

    Found by bisection around the normal-approximation n, with exact binomial tails; the
    achieved power is not perfectly monotone in n (discreteness), so the n returned is the
    bisection's upper end, within 0.05% of the smallest such n.
    """

    def achieved(n: int) -> float:
        low = _scipy.binom.ppf(alpha / 2, n, rate)
        while low >= 0 and 2 * _scipy.binom.cdf(low, n, rate) > alpha:
            low -= 1
        high = _scipy.binom.isf(alpha / 2, n, rate)
        while 2 * _scipy.binom.sf(high - 1, n, rate) > alpha:
            high += 1
        worst = 1.0
        for shifted in (rate - delta, rate + delta):
            if 0 < shifted < 1:
                worst = min(worst, _scipy.binom.cdf(low, n, shifted) + _scipy.binom.sf(high - 1, n, shifted))
        return float(worst)

    guess = rate_samples(rate, delta, alpha, power)
    low, high = max(1, int(guess * 0.8)), int(guess * 1.2) + 1
    while achieved(high) < power:
        low, high = high, high * 2
    while high - low > max(1, guess // 2000):
        middle = (low + high) // 2
        low, high = (low, middle) if achieved(middle) >= power else (middle, high)
    return high
