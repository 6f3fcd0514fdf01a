"""Sample sizes from alpha, the effect to detect and the power wanted.

Every statistical check asks this module how many samples it needs, so that it detects the
level's minimum effect with probability at least ``power`` while its false-alarm
probability stays at its share ``alpha`` of the run's budget. Each planner works from the
decision's own rule: exact binomial tails for rates (``exact_rate_samples``), the Chernoff
thresholds of the exact laws for dispersion, pairs and alpha moments, with the true variance
of each statistic under the alternative (for dispersion, the saddlepoint tail of the
alternative's exact law). ``rate_samples`` is the normal-approximation start
of the exact search. The power benchmark (benchmarks/bench_power.py) measures what each
achieves by simulation.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize as _optimize
from scipy import stats as _scipy

from .plan_table import tabled
from .stats.binomial import rejection_bounds
from .stats.chernoff import DiscreteSum

if TYPE_CHECKING:
    from .stats.quantisation import ProbeGroup

__all__ = [
    "dispersion_alternatives",
    "dispersion_calls",
    "dispersion_variance",
    "exact_rate_samples",
    "homogeneity_calls",
    "lag_scan_effect",
    "lag_scan_pairs",
    "least_sufficient",
    "moments_samples",
    "pair_calls",
    "rate_samples",
    "saddlepoint_tail",
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


def dispersion_alternatives(ratio: float, size: int, rate: float) -> dict[str, np.ndarray]:
    """The laws of one call's kept count K that ``dispersion_calls`` plans against: a variance
    about m q off from binomial by exactly ``ratio``, either way (E[(K - m q)^2] = ratio m q (1-q)
    and m q (1-q) / ratio). Each is a probability vector over K = 0..m.

    * over-dispersed ("over"): Beta-Binomial(m, q) with intra-call correlation
      (ratio - 1) / (m - 1): a keep rate that varies from call to call, rows dropped together;
    * under-dispersed ("under"): a fraction f of calls keeping exactly the count nearest m q,
      k0 = round(m q), the rest binomial ("exactly k kept" in some calls). When m q is not an
      integer no call can keep m q exactly: the smallest squared deviation a call can have is
      d0 = (k0 - m q)^2 / (m q (1-q)) > 0, so f = (1 - 1/ratio) / (1 - d0), not 1 - 1/ratio,
      gives the stated ratio (planning with d0 = 0 overstated the defect: at m = 31, p = 0.05 the
      defect planned for was a ratio of 1.127, not 1.15, and power fell to 0.970). Absent when
      d0 >= 1/ratio: then no count law is that under-dispersed (every call has D_i >= d0).
    """
    counts = np.arange(size + 1)
    binomial = _scipy.binom.pmf(counts, size, rate)
    laws: dict[str, np.ndarray] = {}
    if size > 1:
        icc = (ratio - 1) / (size - 1)
        total = (1 - icc) / icc  # a + b of the Beta: Var[K] = m q (1-q) (1 + (m - 1) icc)
        laws["over"] = _scipy.betabinom.pmf(counts, size, rate * total, (1 - rate) * total)
    nearest = int(np.argmin(np.abs(counts - size * rate)))
    d0 = (nearest - size * rate) ** 2 / (size * rate * (1 - rate))
    if d0 < 1 / ratio:
        fraction = (1 - 1 / ratio) / (1 - d0)
        under = (1 - fraction) * binomial
        under[nearest] += fraction
        laws["under"] = under
    return laws


def saddlepoint_tail(law: DiscreteSum, total: float, *, upper: bool) -> float:
    """P[S >= total] (``upper``) or P[S <= total] for S of ``law``: the Lugannani-Rice
    saddlepoint approximation, for planning only (decisions use Chernoff's proved bounds).

    With K the cumulant generating function of S, s the root of K'(s) = total,
    w = sign(s) sqrt(2 (s total - K(s))) and u = s sqrt(K''(s)):
    P[S >= total] ~ 1 - Phi(w) + phi(w) (1/u - 1/w). Its relative error is O(1/n) for a sum of
    n draws, far below what a planned power needs, where the normal approximation (and
    Cornish-Fisher's skewness term) errs by 10% at 3 standard deviations of a sum of skewed
    D_i. At the mean (w -> 0) it falls back to the normal approximation, which is exact there.
    """
    spread = math.sqrt(max(law.variance, 1e-300))
    if abs(total - law.mean) < 1e-6 * spread:
        return 0.5

    def gap(s: float) -> float:
        return law.cumulants(s)[1] - total

    step = (total - law.mean) / law.variance
    for _ in range(200):
        if (gap(step) >= 0) == (total > law.mean):
            break
        step *= 2
    s = float(_optimize.brentq(gap, *sorted((0.0, step)), xtol=1e-300, rtol=1e-12, maxiter=500))
    log_mgf, _, curvature = law.cumulants(s)
    w = math.copysign(math.sqrt(max(2.0 * (s * total - log_mgf), 0.0)), s)
    u = s * math.sqrt(curvature)
    above = float(_scipy.norm.sf(w) + _scipy.norm.pdf(w) * (1 / u - 1 / w))
    return min(max(above if upper else 1.0 - above, 0.0), 1.0)


# The saddlepoint tail of a sum of D_i errs by up to 4% (relative) against exact multinomial
# simulation at the planned sizes (m = 31 to 4096): a planned miss probability of 0.9 (1 - power)
# keeps the power achieved at or above ``power`` for about 1% more calls.
SADDLEPOINT_MARGIN = 0.9


def least_sufficient(sufficient: Callable[[int], bool], start: int, resolution: int) -> int:
    """A sample size n with ``sufficient(n)``, at most 1/``resolution`` above the least such n
    that is not below start / 2 (the planners' floor: a smaller plan is never made).

    Doubles from ``start`` until a size suffices, then bisects the last doubling's bracket
    [high / 2, high] until it is narrower than high / ``resolution`` (or 1). The power a plan
    achieves grows with n, so the least sufficient n lies in the final bracket and the n
    returned, its upper end, is sufficient; planning to a resolution instead of exactly costs
    at most that share of extra samples and saves most of the planning.
    """
    high = start
    while not sufficient(high):
        high *= 2
    low = high // 2
    while high - low > max(1, high // resolution):
        middle = (low + high) // 2
        low, high = (low, middle) if sufficient(middle) else (middle, high)
    return high


@functools.lru_cache(maxsize=256)
@tabled
def dispersion_calls(ratio: float, alpha: float, power: float, size: int, rate: float) -> int:
    """Calls so that a per-call count variance off by a factor ``ratio`` (either way) is found.

    The test rejects when D, the sum over T calls of D_i = (K_i - m q)^2 / (m q (1-q)), passes
    the Chernoff thresholds of its exact law at alpha / 2 on either side (``stats.dispersion``).
    The defects planned against are ``dispersion_alternatives``: a Beta-Binomial count
    (E[D_i] = ratio) and, as far as the integers allow, a count held at the one nearest m q in
    some calls (E[D_i] = 1/ratio, the least deviation a call can have taken into account). Under
    each, D is a sum of T iid draws of a known discrete law, and the chance that it stays inside
    the threshold (a miss) is its saddlepoint tail (``saddlepoint_tail``, accurate where the
    skewness of D_i at small m q (1-q) makes the normal approximation optimistic). T is the
    smallest number of calls at which each defect is missed with probability at most
    1 - ``power``, by doubling and bisection to 0.5%; the power benchmark measures the power
    achieved at every designed (m, q).
    """
    from .stats.dispersion import dispersion_law

    counts = np.arange(size + 1)
    values = (counts - size * rate) ** 2 / (size * rate * (1 - rate))
    with np.errstate(divide="ignore"):  # a count the alternative never gives: log 0 = -inf, left out
        alternatives = {side: np.log(pmf) for side, pmf in dispersion_alternatives(ratio, size, rate).items()}
    level = math.log(alpha / 2)
    miss = SADDLEPOINT_MARGIN * (1 - power)

    def detects(calls: int) -> bool:
        law = dispersion_law(calls, size, rate)
        for side, log_pmf in alternatives.items():
            alternative = DiscreteSum([values], [log_pmf], [calls])
            if side == "over":
                missed = saddlepoint_tail(alternative, law.threshold(level, upper=True), upper=False)
            else:
                missed = saddlepoint_tail(alternative, law.threshold(level, upper=False), upper=True)
            if missed > miss:
                return False
        return True

    return least_sufficient(detects, start=64, resolution=200)


@functools.lru_cache(maxsize=256)
@tabled
def exact_rate_samples(rate: float, delta: float, alpha: float, power: float) -> int:
    """The smallest n at which the exact two-sided binomial test (doubling rule) at ``alpha``
    detects a rate shift of ``delta`` in either direction with probability ``power``.

    Found by bisection around the normal-approximation n, with exact binomial tails; the
    achieved power is not perfectly monotone in n (discreteness), so the n returned is the
    bisection's upper end, within 0.05% of the smallest such n.
    """

    def achieved(n: int) -> float:
        low, high = rejection_bounds(_scipy.binom(n, rate), alpha / 2)
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
@tabled
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

    return least_sufficient(detects, start=1024, resolution=1000)


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
@tabled
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


@functools.lru_cache(maxsize=64)
@tabled
def quantisation_trials(groups: tuple[ProbeGroup, ...], alpha: float, power: float, fine: bool) -> tuple[int, ...]:
    """Trials at each probe of ``stats.quantisation.probe_points(groups)`` so that the decision
    at ``alpha`` finds every planned grid (each group's grids, every mechanism and side) with
    probability ``power``, and its worst-probe omnibus finds a quarter-cell deviation of either
    sign at the probes next to the edges.

    Each group is planned on its own probes alone (the other groups' probes only add
    information), with one trial count n for all of them, the smallest that passes both:

    * matched statistics: the decision rejects hypothesis H when W_H reaches the Chernoff
      threshold t_H of its least favourable null at alpha / (2 H) (H hypotheses tested at the
      decision's probes). Under H the counts are Binomial(n, q_i + d_i), and Chernoff's bound on
      the lower tail of W_H under that law at t_H bounds the probability of a miss: n is the
      smallest at which that bound is 1 - power or less for every planned hypothesis. A proved
      bound on the miss, not a normal approximation (near the edges the counts are small and
      skewed);
    * the omnibus: at the probes a quarter cell from an edge (q = h/4 and 1 - h/4), a rate off
      by h/4 either way (zero or doubled) is rejected by the exact per-probe test at
      alpha / (2 P) (P probes) with probability ``power``, computed exactly.

    Found by doubling and bisection to 1%; the power benchmark measures what the plan achieves.
    """
    from .stats.quantisation import hypotheses, matched, probe_points

    everything = probe_points(groups)
    tested, _ = matched(everything, hypotheses(fine))
    log_matched = math.log(alpha / (2 * max(len(tested), 1)))
    per_tail = alpha / (4 * everything.size)  # the omnibus rejects when P x 2 min(tails) < alpha / 2
    trials = np.zeros(everything.size, dtype=np.int64)
    for group in groups:
        keep = group.keep_probabilities()
        needed = _group_trials(group, fine, log_matched, per_tail, power)
        members = np.isin(everything, keep)
        trials[members] = np.maximum(trials[members], needed)
    return tuple(int(n) for n in trials)


def _group_trials(group: ProbeGroup, fine: bool, log_matched: float, per_tail: float, power: float) -> int:
    """The trials per probe of one group (``quantisation_trials``)."""
    from .stats.chernoff import WeightedBinomialSums
    from .stats.quantisation import EPSILON, hypotheses, matched, null_rates

    keep = group.keep_probabilities()
    _, d = matched(keep, hypotheses(fine, only=group.grids))
    w = d / (keep * (1 - keep))
    null, alternative = null_rates(keep, w), np.clip(keep + d, 0.0, 1.0)

    def finds_grids(n: int) -> bool:
        counts = np.full(keep.size, float(n))
        thresholds = WeightedBinomialSums(w, counts, null).upper_thresholds(log_matched)
        misses = WeightedBinomialSums(w, counts, alternative).log_lower_tails(thresholds)
        return bool(np.all(np.isfinite(thresholds)) and np.all(misses <= math.log(1 - power)))

    def finds_either_sign(n: int) -> bool:
        for q in group.edge_probes().tolist():  # a quarter cell from an edge
            low = _scipy.binom.ppf(per_tail, n, max(q - EPSILON, 0.0))
            while low >= 0 and _scipy.binom.cdf(low, n, max(q - EPSILON, 0.0)) >= per_tail:
                low -= 1
            high = _scipy.binom.isf(per_tail, n, min(q + EPSILON, 1.0)) + 1
            while _scipy.binom.sf(high - 1, n, min(q + EPSILON, 1.0)) >= per_tail:
                high += 1
            for shifted in (q - group.cell / 4, q + group.cell / 4):
                shifted = min(max(shifted, 0.0), 1.0)
                found = (_scipy.binom.cdf(low, n, shifted) if low >= 0 else 0.0) + _scipy.binom.sf(high - 1, n, shifted)
                if found < power:
                    return False
        return True

    def sufficient(n: int) -> bool:
        return finds_either_sign(n) and finds_grids(n)

    return least_sufficient(sufficient, start=1024, resolution=100)


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

    return least_sufficient(detects, start=1024, resolution=100)


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
