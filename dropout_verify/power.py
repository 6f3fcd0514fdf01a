"""Sample sizes from alpha, the effect to detect and the power wanted.

Every statistical check asks this module how many samples it needs, so that it detects the
level's minimum effect with probability at least ``power`` while its false-alarm
probability stays at its share ``alpha`` of the run's budget. Each planner works from the
decision's own rule: exact binomial tails for rates (``exact_rate_samples``), the Chernoff
thresholds of the exact laws for dispersion, pairs and alpha moments, with the true variance
of each statistic under the alternative. ``rate_samples`` is the normal-approximation start
of the exact search. The power benchmark (benchmarks/bench_power.py) measures what each
achieves by simulation.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats as _scipy

__all__ = [
    "dispersion_calls",
    "dispersion_variance",
    "exact_rate_samples",
    "homogeneity_calls",
    "lag_scan_effect",
    "lag_scan_pairs",
    "moments_samples",
    "pair_calls",
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


def homogeneity_calls(rate: float, delta: float, positions: int, alpha: float, power: float) -> int:
    """Calls so that one position of ``positions`` whose keep rate is off by ``delta`` is found.

    The worst-position statistic runs at alpha / 2 split over the positions, an exact
    binomial test each (``stats.homogeneity_test``): planned with exact binomial tails
    (``exact_rate_samples``). At least 20 / min(q, 1-q) calls keep every position's expected
    kept and dropped counts at 20 or more.
    """
    per_position_alpha = alpha / (2 * positions)
    floor = math.ceil(20 / min(rate, 1 - rate))
    return max(floor, exact_rate_samples(rate, delta, per_position_alpha, power))


def dispersion_variance(size: int, rate: float) -> float:
    """Var[(K - m q)^2 / (m q (1-q))] for K ~ Binomial(m, q): 2 + (1 - 6 q (1-q)) / (m q (1-q))."""
    spread = size * rate * (1 - rate)
    return 2.0 + (1.0 - 6.0 * rate * (1 - rate)) / spread


@functools.lru_cache(maxsize=256)
def dispersion_calls(ratio: float, alpha: float, power: float, size: int, rate: float) -> int:
    """Calls so that a per-call count variance off by a factor ``ratio`` (either way) is found.

    The test rejects when D / T passes the Chernoff thresholds of the exact law at alpha / 2
    (``stats.dispersion``). Under an alternative, D / T is close to normal around its mean with
    the variance of one call's statistic D_i over T. V is that variance for correct dropout
    (``dispersion_variance``). Over-dispersion by r scales the counts' spread: Var(D_i) ~ r^2 V.
    Under-dispersion by r = 1/ratio is planned as a fraction 1 - r of calls keeping exactly the
    expected count (D_i = 0) and the rest binomial (the power benchmark's defect): E[D_i] = r,
    Var(D_i) = r (V + 1) - r^2, larger than r^2 V, and D / T skewed to the right, so its
    1 - power quantile takes the Cornish-Fisher term (z^2 - 1) g / 6, g the skewness of D / T
    (exact moments of D_i from the binomial law). T is the smallest number of calls with both
    sides detected with probability ``power``, by doubling and bisection.
    """
    from .stats.dispersion import dispersion_law

    z_b = z_upper(1 - power)
    variance = dispersion_variance(size, rate)
    sd_over = ratio * math.sqrt(variance)
    under = 1 / ratio
    counts = np.arange(size + 1)
    null_d = (counts - size * rate) ** 2 / (size * rate * (1 - rate))
    pmf = _scipy.binom.pmf(counts, size, rate)
    m2, m3 = under * float(pmf @ null_d**2), under * float(pmf @ null_d**3)  # raw moments; E[D_i] = under
    var_under = m2 - under**2
    skew_under = (m3 - 3 * under * m2 + 2 * under**3) / var_under**1.5
    level = math.log(alpha / 2)

    def detects(calls: int) -> bool:
        law = dispersion_law(calls, size, rate)
        upper = law.threshold(level, upper=True) / calls
        lower = law.threshold(level, upper=False) / calls
        quantile = z_b + (z_b**2 - 1) * skew_under / math.sqrt(calls) / 6
        return (ratio - upper >= z_b * sd_over / math.sqrt(calls)
                and lower - under >= quantile * math.sqrt(var_under / calls))

    high = 64
    while not detects(high):
        high *= 2
    low = high // 2
    while high - low > max(1, high // 200):
        middle = (low + high) // 2
        low, high = (low, middle) if detects(middle) else (middle, high)
    return high


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


@functools.lru_cache(maxsize=256)
def moments_samples(keep: float, delta: float, alpha: float, power: float) -> int:
    """Outputs for ``stats.alpha_moments_test`` to see a mean off by ``delta`` or a second moment
    off by a factor 1 +- ``delta``, each with probability ``power``.

    The test rejects when a sample moment passes the Chernoff threshold m*(n), where
    n I(m*) = log(4 / alpha). Under an alternative the sample moment is close to normal
    around the shifted value (the central limit theorem, n in the millions), so n is the
    smallest with |shift| - |m* - H0 value| >= z_power sd / sqrt(n), found by doubling and
    bisection; the power benchmark measures what it achieves.
    """
    from .stats.moments import AlphaLaw, _inverse_rate

    law = AlphaLaw(keep)
    z_b = z_upper(1 - power)
    sd2 = math.sqrt(max(law.fourth_moment - 1.0, 1e-12))
    upper_s2 = 1.0 / (2.0 * law.a**2)

    def detects(n: int) -> bool:
        level = (math.log(4.0) - math.log(alpha)) / n
        for side in (+1, -1):
            mean_threshold = abs(_inverse_rate(law.k1, 0.0, math.inf, level, side, 1 / math.sqrt(n)))
            if delta - mean_threshold < z_b * (1 + delta) / math.sqrt(n):
                return False
            threshold = abs(_inverse_rate(law.k2, 1.0, upper_s2, level, side, 1 / math.sqrt(n)) - 1.0)
            if delta - threshold < z_b * sd2 * (1 + delta) ** 2 / math.sqrt(n):
                return False
        return True

    high = 1024
    while not detects(high):
        high *= 2
    low = high // 2
    while high - low > max(1, high // 1000):
        middle = (low + high) // 2
        low, high = (low, middle) if detects(middle) else (middle, high)
    return high


MIN_REPLICATES = 32  # pairs per stratum: the conditional test keeps ((n-1)/n)^3 >= 0.9 of the information


def pair_calls(pairings: dict[str, tuple[int, float]], correlation: float, alpha: float, power: float,
               keep: float) -> int:
    """Calls so that every pairing of ``stats.pairs.independence_test`` finds ``correlation``.

    ``pairings`` maps a name to (strata, replicates each call adds to a stratum): 1 for
    neighbours and axes, 1/2 for consecutive calls (two calls make one pair). With n
    replicates a stratum is cut in blocks of m = 64 (and a last one of n mod 64), whose margins
    r and c (kept on each side) are Binomial(m, q): the planner gives each margin pair (r, c)
    its expected number of blocks, builds the test's own law, the sum of those blocks'
    hypergeometrics, and takes its Chernoff thresholds at alpha / 2 (the decision's, both
    sides). Planning at the typical margin r = c = m q instead overstates the information by
    about 1.5% at q = 0.5 (r (m - r) is concave), enough to cost power 0.999 -> 0.9988.
    Under a correlation rho two Bernoulli(q) decisions have the odds ratio
    psi = P11 P00 / (P10 P01), and a block's kept-together count given its margins is
    Fisher's noncentral hypergeometric with that psi: its mean and variance (larger than the
    null's: 22% at q = 0.9, rho = 0.03) give the shift of the sum and its spread. The sum must
    clear the threshold by z_power of those standard deviations, for +rho and for -rho (where
    -rho is a possible correlation at q). The calls are even, and give every stratum at least
    MIN_REPLICATES replicates; the power benchmark measures the power achieved.
    """
    # Plans cost a second or two each, and every drop probability would need its own: plan at q
    # moved away from 1/2 onto a grid of PAIR_PLAN_STEP (more calls, as q further from 1/2 needs).
    distance = math.ceil(abs(keep - 0.5) / PAIR_PLAN_STEP - 1e-9) * PAIR_PLAN_STEP
    planned = keep if distance >= 0.5 - PAIR_PLAN_STEP else 0.5 + math.copysign(distance, keep - 0.5)
    return _pair_calls(tuple(sorted(pairings.values())), correlation, alpha, power, round(planned, 12))


PAIR_PLAN_STEP = 0.025


@functools.lru_cache(maxsize=1024)
def _pair_calls(pairings: tuple[tuple[int, float], ...], correlation: float, alpha: float, power: float,
                keep: float) -> int:
    """``pair_calls`` on a hashable description of the pairings (examples repeat them)."""
    from .stats.pairs import BLOCK, hypergeometric_sum

    z_power = z_upper(1 - power)
    log_level = math.log(alpha / 2)
    spread_q = keep * (1 - keep)
    # -rho is possible at q only while P00 and P11 stay positive.
    signs = [rho for rho in (correlation, -correlation) if min(keep, 1 - keep) ** 2 + rho * spread_q > 0]

    def odds_ratio(rho: float) -> float:
        together = (keep**2 + rho * spread_q) * ((1 - keep) ** 2 + rho * spread_q)
        return together / (spread_q * (1 - rho)) ** 2

    @functools.cache
    def block_law(m: int) -> tuple[np.ndarray, ...]:
        """One block of m: its informative margin pairs (r, c) with their probabilities, and
        under +-rho the shift of the kept-together count from r c / m and its variance."""
        kept = np.arange(1, m)
        weight = _scipy.binom.pmf(kept, m, keep)
        likely = weight > 1e-7 * weight.max()  # the rest carry < 1e-5 of the information
        kept, weight = kept[likely], weight[likely]
        r, c = (a.ravel() for a in np.meshgrid(kept, kept, indexing="ij"))
        n, w = np.full(r.size, m), np.outer(weight, weight).ravel()
        moments = []
        for rho in signs:
            alternative = _scipy.nchypergeom_fisher(n, r, c, odds_ratio(rho))
            moments += [alternative.mean() - r * c / n, alternative.var()]
        return (n, r, c, w, *moments)

    @functools.cache
    def enough(strata: int, replicates: int) -> bool:
        full, rest = divmod(replicates, BLOCK)
        sizes = [(BLOCK, strata * full)] if full else []
        if rest > 1:
            sizes.append((rest, strata))
        if not sizes:
            return False
        laws = [block_law(m) for m, _ in sizes]
        n, r, c = (np.concatenate([law[i] for law in laws]) for i in range(3))
        w = np.concatenate([law[3] * blocks for law, (_, blocks) in zip(laws, sizes)])
        law = hypergeometric_sum(n, r, c, w)
        for index, rho in enumerate(signs):
            shift = float(sum(blocks * np.sum(block[3] * block[4 + 2 * index])
                              for block, (_, blocks) in zip(laws, sizes)))
            spread = math.sqrt(sum(blocks * float(np.sum(block[3] * block[5 + 2 * index]))
                                   for block, (_, blocks) in zip(laws, sizes)))
            if rho > 0 and law.mean + shift - z_power * spread < law.threshold(log_level, upper=True):
                return False
            if rho < 0 and law.mean + shift + z_power * spread > law.threshold(log_level, upper=False):
                return False
        return True

    def sufficient(calls: int) -> bool:
        return all(enough(strata, math.floor(calls * per_call)) for strata, per_call in pairings)

    low = 2 * math.ceil(MIN_REPLICATES / min(rate for _, rate in pairings) / 2)
    if sufficient(low):
        return low
    high = 2 * low
    while not sufficient(high):
        low, high = high, 2 * high
    # Bisection over even call counts, to 1%: high is always sufficient (power is kept), and a
    # plan 1% above the least sufficient costs 1% more calls but half the planning.
    while high - low > max(2, high // 100):
        middle = 2 * ((low + high) // 4)
        low, high = (low, middle) if sufficient(middle) else (middle, high)
    return high


def quantisation_trials(probes: np.ndarray, target_step: float, alpha: float, power: float) -> int:
    """Decisions per probe so that a keep rate following the target grid or the 1/255 grid,
    in any rounding mode, is found with probability ``power`` (``stats.quantisation``).

    Under hypothesis H the matched statistic has mean n A and variance n A, with
    A = sum_i d_i^2 / (q_i (1-q_i)) over the probes; Chernoff's threshold is about
    sqrt(2 n A log(H / alpha)) (H hypotheses, Bonferroni), so n = (sqrt(2 log(H/alpha)) + z_power)^2 / A
    for the weakest target hypothesis, plus 10% for the bound's looseness. The power benchmark
    measures what it achieves.
    """
    from .stats.quantisation import Hypothesis, hypotheses

    count = len(hypotheses())
    variance = probes * (1 - probes)
    weakest = min(float(np.sum(Hypothesis(grid, step, mode).deviations(probes) ** 2 / variance))
                  for grid, step in ((f"1/{round(1 / target_step)}", target_step), ("1/255", 1 / 255))
                  for mode in ("nearest", "down", "up"))
    z = math.sqrt(2 * math.log(count / alpha)) + z_upper(1 - power)
    return math.ceil(1.1 * z * z / weakest)


@functools.lru_cache(maxsize=1024)
def lag_scan_pairs(correlation: float, alpha: float, power: float, rates: tuple[float, float], tests: int,
                   series: int = 1) -> int:
    """Pairs one tally of ``stats.lags.lag_scan_test`` needs to find ``correlation`` with ``power``.

    The alternative: each pair correlated by rho (a second copies its first with probability
    rho, else draws afresh: the lag-L correlation of the power benchmark and of the mutants).
    S then has mean rho s1 s2 n (s_i^2 = q_i (1-q_i)) and variance n s1^2 s2^2 (1 + (rho + 2 rho^2)
    (kappa - 1)), kappa = sqrt(m4_1 m4_2) / (s1^2 s2^2), m4 = s^2 (1 - 3 s^2) the fourth central
    moment of a decision (at q = 0.05 a copied pair's product has 18 times the variance of an
    independent one). The decision takes S at its least over the rates' intervals (half-width
    h_i = z s_i / sqrt(n) at gamma, the series counted as n decisions: the fewest possible), which
    costs up to 2 h_2 |F - n q1| + 2 h_1 |G - n q2| + 4 n h_1 h_2 (each |F - n q| taken at z_power
    standard deviations), and V and B at their largest over the intervals, V rounded up a grid
    step. The tally must clear Freedman's threshold at alpha (1 - gamma share) / (K tests) by
    z_power standard deviations; n is the least such, by doubling and bisection (to 1%).
    """
    from .stats.lags import GAMMA_SHARE, GRID_RATIO, grid_points

    q1, q2 = rates
    z_power = z_upper(1 - power)
    z_gamma = z_upper(alpha * GAMMA_SHARE / (2 * series))
    s1, s2 = q1 * (1 - q1), q2 * (1 - q2)
    kappa = math.sqrt(s1 * (1 - 3 * s1) * s2 * (1 - 3 * s2)) / (s1 * s2)
    inflation = 1 + (correlation + 2 * correlation**2) * max(kappa - 1, 0.0)

    def detects(n: int) -> bool:
        h1, h2 = z_gamma * math.sqrt(s1 / n), z_gamma * math.sqrt(s2 / n)
        shift = correlation * math.sqrt(s1 * s2) * n
        slack = 2 * h2 * z_power * math.sqrt(n * s1) + 2 * h1 * z_power * math.sqrt(n * s2) + 4 * n * h1 * h2
        spread = math.sqrt(n * s1 * s2 * inflation)
        v = GRID_RATIO * n * min(0.25, s2 + 2 * h2 * abs(1 - 2 * q2)) * (s1 + 4 * h1 * h1)
        bound = min(1.0, max(q1, 1 - q1) + 2 * h1) * min(1.0, max(q2, 1 - q2) + 2 * h2)
        _, points = grid_points(n, q1, q2)
        log_level = math.log(points * tests / (alpha * (1 - GAMMA_SHARE)))
        third = bound * log_level / 3
        threshold = third + math.sqrt(third**2 + 2 * v * log_level)
        return shift - slack - z_power * spread >= threshold

    high = 1024
    while not detects(high):
        high *= 2
    low = high // 2
    while high - low > max(1, high // 100):
        middle = (low + high) // 2
        low, high = (low, middle) if detects(middle) else (middle, high)
    return high


def lag_scan_effect(pairs: int, alpha: float, power: float, rate: float, tests: int) -> float:
    """The smallest correlation a tally of ``pairs`` pairs finds with ``power`` (``lag_scan_pairs``
    inverted, by bisection on a grid of 1% steps)."""
    low, high = 1e-4, 1.0
    if lag_scan_pairs(high, alpha, power, (rate, rate), tests) > pairs:
        return math.inf
    while high / low > 1.01:
        middle = math.sqrt(low * high)
        rounded = float(f"{middle:.3g}")
        if lag_scan_pairs(rounded, alpha, power, (rate, rate), tests) <= pairs:
            high = rounded
        else:
            low = middle
    return high
