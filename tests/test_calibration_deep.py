"""Calibration where the decisions are made: at alpha around 1e-8, exactly.

Simulation cannot see a tail of 1e-8, so each check is compared with an exact computation of
its own law under H0 (enumeration, convolution, dynamic programming, or a closed form):

* exact tests (binomial, Fisher's hypergeometric): P[p-value <= alpha] summed over the whole
  law is at most alpha;
* tests with proved bounds (Chernoff: homogeneity's omnibus, dispersion, pairs over strata,
  quantisation probes, alpha moments; Freedman: periodicity): the reported p-value is at least
  the exact tail probability at the statistic, for statistics whose exact tail is near 1e-8;
* sequential tests (the truncated SPRT, the anytime e-process): the probability of ever
  rejecting, computed by dynamic programming over the kept count, is at most alpha.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from dropout_verify import stats
from dropout_verify.kinds.base import ALPHA_PRIME, alpha_scale
from dropout_verify.stats import quantisation
from dropout_verify.stats.dispersion import dispersion_law
from dropout_verify.stats.homogeneity import omnibus_law, omnibus_statistic
from dropout_verify.stats.moments import AlphaLaw

ALPHA = 1e-8


def _convolve_power(single: np.ndarray, times: int) -> np.ndarray:
    """The law of a sum of ``times`` iid draws on the integers 0, 1, ... (FFT, squaring)."""
    law, power = np.array([1.0]), single
    while times:
        if times & 1:
            law = _fft(law, power)
        times >>= 1
        if times:
            power = _fft(power, power)
    return law


def _fft(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    size = a.size + b.size - 1
    n = 1 << (size - 1).bit_length()
    return np.clip(np.fft.irfft(np.fft.rfft(a, n) * np.fft.rfft(b, n), n)[:size], 0, None)


# ----------------------------------------------------------------------------- exact tests


@pytest.mark.parametrize("n, rate", [(20_000, 0.5), (20_000, 0.05), (5_000, 0.93)])
def test_binomial_test_rejects_at_most_alpha(n: int, rate: float) -> None:
    k = np.arange(n + 1)
    lower = scipy_stats.binom.logcdf(k, n, rate)
    upper = scipy_stats.binom.logsf(k - 1, n, rate)
    log_p = np.minimum(0.0, math.log(2) + np.minimum(lower, upper))
    rejected = log_p < math.log(ALPHA)
    assert float(scipy_stats.binom.pmf(k[rejected], n, rate).sum()) <= ALPHA


@pytest.mark.parametrize("n, r, c", [(64, 32, 32), (64, 60, 58), (64, 10, 50), (50, 25, 20)])
def test_fisher_single_stratum_rejects_at_most_alpha(n: int, r: int, c: int) -> None:
    """One stratum of at most one block (64 pairs): Fisher's exact test, every table enumerated."""
    total = 0.0
    for k in range(max(0, r + c - n), min(r, c) + 1):
        counts = stats.PairCounts(1)
        first = np.zeros((n, 1), dtype=bool)
        second = np.zeros((n, 1), dtype=bool)
        first[:r] = True
        second[:k] = True
        second[r : r + c - k] = True
        counts.add(first, second)
        if stats.independence_test(counts, ALPHA, "pairs").rejected:
            total += float(scipy_stats.hypergeom.pmf(k, n, r, c))
    assert total <= ALPHA


# ----------------------------------------------------------------------------- proved bounds


def _check_bound(reported_log_p: float, exact_tail: float, what: str) -> None:
    assert reported_log_p >= math.log(exact_tail) - 1e-9, (
        f"{what}: bound {math.exp(reported_log_p):.4g} < exact {exact_tail:.4g}")


@pytest.mark.parametrize("positions, trials, rate", [(1, 400, 0.05), (1, 60, 0.95), (10, 400, 0.05), (300, 100, 0.5)])
def test_homogeneity_omnibus_bound_holds_deep_in_the_tail(positions: int, trials: int, rate: float) -> None:
    """The omnibus statistic's law on a fine lattice: T q (1-q) X^2 = sum (k - T q)^2 is on the
    integers when T q is; exact FFT convolution of ``positions`` draws."""
    center = trials * rate
    assert abs(center - round(center)) < 1e-9
    center = round(center)
    k = np.arange(trials + 1)
    single = np.zeros((trials - center) ** 2 + center**2 + 1)
    np.add.at(single, (k - center) ** 2, scipy_stats.binom.pmf(k, trials, rate))
    law = _convolve_power(single, positions)
    upper = np.cumsum(law[::-1])[::-1]
    j = int(np.argmax(upper <= ALPHA))  # the statistic whose exact tail first drops below alpha
    chi_square = j / (trials * rate * (1 - rate))
    bound = omnibus_law(positions, trials, rate).log_tail(chi_square, upper=True)
    _check_bound(bound, float(upper[j]), f"homogeneity m={positions} T={trials} q={rate}")


@pytest.mark.parametrize("kept, trials, rate, edge_values", [
    ([24] * 3, 485, 0.05, [24]),          # every position at the expectation's nearest count
    ([226] * 4, 410, 0.55, [225, 226]),   # two counts tie for nearest (T q = 225.5)
    ([0, 20, 0], 20, 0.5, [0, 20]),       # the largest statistic, reached two ways
])
def test_homogeneity_bound_holds_at_the_edges_of_its_law(
        kept: list[int], trials: int, rate: float, edge_values: list[int]) -> None:
    """At an edge of the omnibus law (the smallest or largest X^2 possible) the observed
    statistic, computed in floating point, may land a rounding error past the law's own edge;
    the bound must still be the edge's probability or more, never 0 (a false alarm at any alpha).
    Exact: P[X^2 at the edge] = (sum of the binomial pmf at the counts reaching it)^m."""
    exact = float(np.sum(scipy_stats.binom.pmf(edge_values, trials, rate))) ** len(kept)
    chi_square = omnibus_statistic(np.array(kept), trials, rate)
    law = omnibus_law(len(kept), trials, rate)
    bound = min(law.log_tail(chi_square, upper=True), law.log_tail(chi_square, upper=False))
    _check_bound(bound, exact, f"homogeneity edge {kept} of {trials} at q={rate}")
    if exact > 1e-5:  # a total that likely under H0 is never rejected at 1e-6 (it once was)
        assert not stats.homogeneity_test(np.array(kept), trials, rate, 1e-6).rejected


@pytest.mark.parametrize("size, rate, calls", [(20, 0.05, 400), (40, 0.5, 300), (100, 0.93, 200), (20, 0.05, 5000)])
def test_dispersion_bound_holds_deep_in_the_tail(size: int, rate: float, calls: int) -> None:
    center = round(size * rate)
    assert center == size * rate
    support = np.arange(size + 1)
    single = np.zeros((size - center) ** 2 + center**2 + 1)
    np.add.at(single, (support - center) ** 2, scipy_stats.binom.pmf(support, size, rate))
    law = _convolve_power(single, calls)
    upper, lower = np.cumsum(law[::-1])[::-1], np.cumsum(law)
    spread = size * rate * (1 - rate)
    exact_law = dispersion_law(calls, size, rate)
    j = int(np.argmax(upper <= ALPHA))
    _check_bound(exact_law.log_tail(j / spread, upper=True), float(upper[j]), "dispersion upper")
    j_low = int(np.argmax(lower >= ALPHA)) - 1
    if j_low >= 0 and lower[j_low] > 1e-300:
        _check_bound(exact_law.log_tail(j_low / spread, upper=False), float(lower[j_low]), "dispersion lower")


def test_pairs_bound_over_strata_holds_deep_in_the_tail() -> None:
    """Three strata of different margins; the exact law of the sum of their hypergeometrics."""
    margins = [(64, 32, 30), (64, 60, 58), (40, 5, 20)]
    law = np.array([1.0])
    for n, r, c in margins:
        k = np.arange(max(0, r + c - n), min(r, c) + 1)
        pmf = np.zeros(min(r, c) + 1)
        pmf[k] = scipy_stats.hypergeom.pmf(k, n, r, c)
        law = np.convolve(law, pmf)
    upper, lower = np.cumsum(law[::-1])[::-1], np.cumsum(law)
    from dropout_verify.stats.pairs import hypergeometric_sum

    n, r, c = (np.array(v) for v in zip(*margins))
    summed = hypergeometric_sum(n, r, c, np.ones(3, dtype=np.int64))
    for total in range(law.size):
        if 0 < upper[total] < 1e-4:
            _check_bound(summed.log_tail(total, upper=True), float(upper[total]), f"pairs upper at {total}")
        if 0 < lower[total] < 1e-4:
            _check_bound(summed.log_tail(total, upper=False), float(lower[total]), f"pairs lower at {total}")


def test_hypergeometric_laws_do_not_depend_on_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The laws a pair test uses are the same whether they come from the cache, are computed
    afresh, or the cache is emptied half-way through a call (a cache of 5 laws for 30)."""
    from dropout_verify.stats import pairs

    rng = np.random.default_rng(3)
    n = rng.integers(2, 65, 30)
    r, c = (np.maximum(1, rng.integers(1, 64, 30) % n) for _ in range(2))
    fresh = pairs.hypergeometric_sum(n, r, c, np.ones(30))
    monkeypatch.setattr(pairs, "_HYPERGEOMETRIC_CACHE_SIZE", 5)
    for _ in range(3):
        again = pairs.hypergeometric_sum(n, r, c, np.ones(30))
        np.testing.assert_array_equal(again.values, fresh.values)
        np.testing.assert_array_equal(again.log_pmf, fresh.log_pmf)


@pytest.mark.parametrize("level", [1e-3, 1e-8, 1e-30])
def test_chernoff_threshold_is_where_the_bound_meets_the_level(level: float) -> None:
    """The threshold's root search (Newton, safeguarded) lands where the bound equals the level:
    log_tail just inside the threshold is above log(level), just outside at most log(level)."""
    from dropout_verify.stats.pairs import hypergeometric_sum

    rng = np.random.default_rng(4)
    n = rng.integers(2, 65, 300)
    r, c = (np.maximum(1, rng.binomial(n, 0.9) % n) for _ in range(2))
    law = hypergeometric_sum(n, r, c, rng.integers(1, 20, 300))
    for upper in (True, False):
        t = law.threshold(math.log(level), upper=upper)
        inward = -1e-6 * math.sqrt(law.variance) if upper else 1e-6 * math.sqrt(law.variance)
        assert law.log_tail(t, upper=upper) <= math.log(level) * (1 - 1e-9)
        assert law.log_tail(t + inward * 1e3, upper=upper) > math.log(level)


@pytest.mark.parametrize("length, rate", [(12, 0.05), (12, 0.5), (13, 0.9)])
def test_periodicity_rejects_at_most_alpha_exactly(length: int, rate: float) -> None:
    """Every one of the 2^n sequences, weighted by its exact probability: the total weight of
    sequences the test rejects at a deep alpha is at most that alpha."""
    deep = 1e-6
    total = 0.0
    for bits in itertools.product((0, 1), repeat=length):
        sequence = torch.tensor(bits, dtype=torch.bool)
        kept = sum(bits)
        if stats.periodicity_test(sequence, rate, deep, max_lag=length - 1).rejected:
            total += rate**kept * (1 - rate) ** (length - kept)
    assert total <= deep


@pytest.mark.parametrize("keep, n", [(0.8, 10), (0.5, 200), (0.95, 1000)])
def test_alpha_moment_bounds_hold_against_the_exact_mixture_law(keep: float, n: int) -> None:
    """S1 = sum y for n outputs is, given j kept, N(j a A p + (n-j) d, j a^2): its tail is an
    exact binomial mixture of normal tails. S2 = sum y^2 is, given j kept, a^2 times a
    noncentral chi-square with j degrees of freedom plus (n-j) d^2."""
    law = AlphaLaw(keep)
    a, p = alpha_scale(keep), 1 - keep
    mean_kept, dropped = a * ALPHA_PRIME * p, law.dropped
    j = np.arange(n + 1)
    weights = scipy_stats.binom.pmf(j, n, keep)

    def tail_s1(t: float) -> float:
        centres = j * mean_kept + (n - j) * dropped
        spreads = np.sqrt(np.maximum(j, 1e-300)) * a
        tails = np.where(j > 0, scipy_stats.norm.sf((t - centres) / spreads), (centres >= t).astype(float))
        return float(weights @ tails)

    def tail_s2(t: float) -> float:
        rest = (n - j) * dropped**2
        c = ALPHA_PRIME * p
        tails = np.where(j > 0, scipy_stats.ncx2.sf(np.maximum(t - rest, 0) / a**2, np.maximum(j, 1), j * c * c),
                         (rest >= t).astype(float))
        return float(weights @ tails)

    for tail, k, mean, upper_s in ((tail_s1, law.k1, 0.0, math.inf), (tail_s2, law.k2, 1.0, 1 / (2 * a * a))):
        from dropout_verify.stats.moments import _rate

        low, high = mean, mean + 50.0
        for _ in range(200):  # the statistic (per output) whose exact upper tail is about alpha
            middle = 0.5 * (low + high)
            low, high = (middle, high) if tail(n * middle) > ALPHA else (low, middle)
        exact = tail(n * high)
        bound = -n * _rate(k, high, mean, upper_s)
        _check_bound(bound, exact, f"moment tail at n={n}, q={keep}")


def test_quantisation_bound_holds_against_the_exact_law() -> None:
    """Two probes of few trials: W = w1 k1 + w2 k2 enumerated exactly."""
    keep = np.array([0.3, 0.7])
    trials = np.array([60, 40])
    weights = np.array([1.7, -0.4])
    law = stats.chernoff.WeightedBinomialSum(weights, trials, keep)
    k1, k2 = np.meshgrid(np.arange(61), np.arange(41), indexing="ij")
    w = weights[0] * k1 + weights[1] * k2
    probability = scipy_stats.binom.pmf(k1, 60, 0.3) * scipy_stats.binom.pmf(k2, 40, 0.7)
    order = np.argsort(w, axis=None)
    values, masses = w.reshape(-1)[order], probability.reshape(-1)[order]
    tails = np.cumsum(masses[::-1])[::-1]
    for value, tail in zip(values, tails):
        if 1e-12 < tail < 1e-4:
            _check_bound(law.log_upper_tail(float(value)), float(tail), f"quantisation at {value:.3g}")


def _exact_weighted_law(weights: np.ndarray, trials: np.ndarray, rates: np.ndarray) -> tuple[np.ndarray, ...]:
    """Every outcome (k1, k2) of two probes: the statistic w1 k1 + w2 k2, its probability, the counts."""
    k1, k2 = np.meshgrid(np.arange(trials[0] + 1), np.arange(trials[1] + 1), indexing="ij")
    k1, k2 = k1.reshape(-1), k2.reshape(-1)
    probability = scipy_stats.binom.pmf(k1, trials[0], rates[0]) * scipy_stats.binom.pmf(k2, trials[1], rates[1])
    return weights[0] * k1 + weights[1] * k2, probability, k1, k2


@pytest.mark.parametrize("keep, trials, weights", [
    ((0.004, 0.012), (1500, 1000), (-1.0, -0.33)),   # a quarter and three quarters of a cell from q = 0
    ((0.99, 0.997), (1000, 1500), (-1.0, 3.0)),       # next to q = 1, weights of both signs
    ((0.3, 0.7), (400, 300), (0.5, -1.2)),
])
def test_vectorised_quantisation_bounds_hold_deep_in_the_tail(keep: tuple[float, float], trials: tuple[int, int],
                                                               weights: tuple[float, float]) -> None:
    """``chernoff.WeightedBinomialSums`` (every hypothesis at once), against the exact law of two
    probes enumerated: its upper and lower tail bounds are at least the exact tails wherever
    those are between 1e-14 and 1e-6, and its threshold at alpha rejects with exact
    probability at most alpha."""
    q, n, w = np.array(keep), np.array(trials), np.array(weights)
    values, probability, _, _ = _exact_weighted_law(w, n, q)
    order = np.argsort(values)
    values, masses = values[order], probability[order]
    upper = np.cumsum(masses[::-1])[::-1]
    lower = np.cumsum(masses)
    deep_upper = (upper > 1e-14) & (upper < 1e-6)
    deep_lower = (lower > 1e-14) & (lower < 1e-6)
    assert deep_upper.any() and deep_lower.any()
    for deep, exact, tails in ((deep_upper, upper, "log_upper_tails"), (deep_lower, lower, "log_lower_tails")):
        picked = np.flatnonzero(deep)[:: max(1, int(deep.sum()) // 400)]  # up to 400 statistics
        law = stats.chernoff.WeightedBinomialSums(np.tile(w, (picked.size, 1)), n, q)
        bounds = getattr(law, tails)(values[picked])
        assert np.all(bounds >= np.log(exact[picked]) - 1e-9), tails
    threshold = float(stats.chernoff.WeightedBinomialSums(w, n, q).upper_thresholds(math.log(ALPHA))[0])
    assert float(masses[values >= threshold - 1e-9].sum()) <= ALPHA


@pytest.mark.parametrize("keep, trials", [((0.004, 0.012), (700, 500)), ((0.99, 0.997), (500, 700))])
def test_matched_statistic_keeps_its_level_over_the_composite_null(keep: tuple[float, float],
                                                                   trials: tuple[int, int]) -> None:
    """A matched statistic's p-value (``stats.quantisation``: Chernoff at the least favourable
    null q + EPSILON sign(w)) rejects at alpha with exact probability at most alpha at every
    rate the null allows: q - EPSILON sign(w), q and q + EPSILON sign(w) (each k rises with its
    rate, so the last is the largest). EPSILON is scaled up here (5e-4) so that the three
    rates differ where two probes of hundreds of trials can tell them apart."""
    q, n = np.array(keep), np.array(trials)
    deviations = np.array([-0.003, 0.002]) * np.sign(0.5 - q)
    w = deviations / (q * (1 - q))
    epsilon = 5e-4
    null = q + epsilon * np.sign(w)
    law = stats.chernoff.WeightedBinomialSums(w, n, null)
    values, _, k1, k2 = _exact_weighted_law(w, n, q)
    # The p-value falls as the statistic rises (checked on 200 statistics): the rejection region
    # is every statistic from the first one rejected, found by bisection over the sorted values.
    candidates = np.unique(values)

    def log_p(indices: np.ndarray) -> np.ndarray:
        law = stats.chernoff.WeightedBinomialSums(np.tile(w, (indices.size, 1)), n, null)
        return law.log_upper_tails(candidates[indices])

    spread = np.linspace(0, candidates.size - 1, 200).astype(int)
    assert np.all(np.diff(log_p(spread)) <= 1e-12)
    low, high = 0, candidates.size - 1
    assert log_p(np.array([high]))[0] < math.log(ALPHA)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if log_p(np.array([middle]))[0] < math.log(ALPHA) else (middle, high)
    rejected = values >= candidates[high]
    assert rejected.any()
    for rates in (q - epsilon * np.sign(w), q, null):
        exact = scipy_stats.binom.pmf(k1, n[0], rates[0]) * scipy_stats.binom.pmf(k2, n[1], rates[1])
        assert float(exact[rejected].sum()) <= ALPHA, rates
    assert law.mean[0] > stats.chernoff.WeightedBinomialSums(w, n, q).mean[0]


@pytest.mark.parametrize("keep, trials", [(2.0**-13, 1_015_808), (1 - 2.0**-13, 1_015_808), (2.0**-18, 33_292_288),
                                          (0.0029411316, 123_904)])
def test_worst_probe_test_keeps_its_level_over_the_composite_null(keep: float, trials: int) -> None:
    """The omnibus's per-probe test (``quantisation.probe_log_pvalues``, exact two-sided with the
    tails at q -+ EPSILON) at the planned sizes of the float16, 1/65536 and 1/255 probes: its
    rejection region at alpha has exact probability at most alpha at q - EPSILON, q and
    q + EPSILON."""
    sd = math.sqrt(trials * keep * (1 - keep))
    k = np.arange(max(0, int(trials * keep - 40 * sd - 50)), min(trials, int(trials * keep + 40 * sd + 50)) + 1)
    log_p = quantisation.probe_log_pvalues(np.full(k.size, keep), k.astype(float), np.full(k.size, float(trials)))
    rejected = log_p < math.log(ALPHA)
    assert rejected.any()
    for rate in (keep - quantisation.EPSILON, keep, keep + quantisation.EPSILON):
        inside = float(scipy_stats.binom.pmf(k[~rejected], trials, rate).sum())
        assert 1 - inside <= ALPHA * (1 + 1e-6), rate


def test_quantisation_names_the_closest_grid_and_the_mean_deviation() -> None:
    """An 8-bit floor of 1-p is named as such at scale 1, and torch's ``rand_like(x) > p`` for a
    float16 x as a rounded uniform and p with torch.rand's wrap; a plain bias (2% fewer kept)
    is rejected too, and its detail shows the mean deviation that tells it from a grid."""
    every = quantisation.hypotheses()
    groups = quantisation.probe_groups(("1/256", "1/255", "float16"))
    keep = quantisation.probe_points(groups)
    trials = np.full(keep.size, 10**7)

    def named(grid: str, key: str, side: str) -> quantisation.Hypothesis:
        return next(h for h in every if h.grid.name == grid and h.mechanism.key == key and h.side == side)

    for hypothesis in (named("1/255", "t-down", "1-p"), named("float16", "both-nearest<=+wrap", "p")):
        rates = hypothesis.keep_rates(keep)
        result = quantisation.quantisation_test(keep, np.round(trials * rates), trials, ALPHA)
        assert result.rejected and abs(result.estimate - 1) < 0.02, result.detail
        assert f"closest hypothesis: {hypothesis.describe()} (scale 1" in result.detail, result.detail
    bias = quantisation.quantisation_test(keep, np.round(trials * keep * 0.98), trials, ALPHA)
    assert bias.rejected, bias.detail
    assert f"mean rate - q {np.mean(np.round(trials * keep * 0.98) / trials - keep):+.3g}" in bias.detail, bias.detail


def test_dispersion_tells_a_wrong_mean_from_overdispersion() -> None:
    """Counts ~ Binomial(1024, 0.475) judged at q = 0.5: rejected (the statistic is about m q),
    and the detail shows a sample variance ratio near 1 with the mean off, so a reader looks for
    a keep-rate error, not for correlated decisions; ci is labelled as the accepted range."""
    counts = np.random.default_rng(3).binomial(1024, 0.475, size=1000)
    result = stats.dispersion.dispersion_test(counts, 1024, 0.5, ALPHA)
    assert result.rejected and result.estimate > 2 and result.interval == "the range the test accepts"
    ratio = float(result.detail.split("sample variance ")[1].split(" x")[0])
    assert 0.85 < ratio < 1.15, result.detail
    assert f"mean {counts.mean():.6g} against m q = 512" in result.detail, result.detail
    assert "the range the test accepts: [" in result.describe()


def test_pair_correlation_estimate_stays_a_correlation() -> None:
    """A mask copied across the pairing is rho = 1 exactly (not 1.02), its interval inside [-1, 1];
    an inverted copy is -1."""
    generator = torch.Generator().manual_seed(5)
    first = torch.rand(2000, 64, generator=generator) < 0.5
    for second, expected in ((first, 1.0), (~first, -1.0)):
        counts = stats.PairCounts(64)
        counts.add(first.numpy(), second.numpy())
        result = stats.independence_test(counts, ALPHA, "pairs")
        assert result.rejected and result.estimate == pytest.approx(expected, abs=1e-12), result
        assert -1.0 <= result.ci[0] <= result.ci[1] <= 1.0, result.ci


# ----------------------------------------------------------------------------- sequential tests


def _dp_rejection(rate: float, batch: int, batches: int, decide) -> float:  # noqa: ANN001
    """P_H0[the test rejects at some batch], by dynamic programming over the kept count."""
    alive = np.array([1.0])  # mass over kept count of runs still going
    rejected = 0.0
    step = scipy_stats.binom.pmf(np.arange(batch + 1), batch, rate)
    for index in range(1, batches + 1):
        alive = np.convolve(alive, step)
        verdict = decide(np.arange(alive.size), index * batch)  # +1 reject, -1 accept, 0 go on
        rejected += float(alive[verdict > 0].sum())
        alive = np.where(verdict == 0, alive, 0.0)
    return rejected


@pytest.mark.parametrize("rate", [0.05, 0.5, 0.93])
def test_sequential_binomial_test_rejects_at_most_alpha_exactly(rate: float) -> None:
    batch, batches, delta = 500, 40, 0.05
    template = stats.SequentialBinomialTest(rate, delta, ALPHA, 0.999, batch * batches)

    def decide(kept: np.ndarray, samples: int) -> np.ndarray:
        log_lr = np.stack([kept * a + (samples - kept) * b for a, b in template.sides])
        verdict = np.zeros(kept.size, dtype=int)
        verdict[log_lr.max(0) >= template.log_reject] = 1
        verdict[(verdict == 0) & (log_lr.max(0) <= template.log_accept)] = -1
        if samples >= template.max_samples:
            still = verdict == 0
            lower = scipy_stats.binom.logcdf(kept, samples, rate)
            upper = scipy_stats.binom.logsf(kept - 1, samples, rate)
            exact = np.minimum(0.0, math.log(2) + np.minimum(lower, upper))
            verdict[still & (math.log(2) + exact < math.log(ALPHA))] = 1
            verdict[still & (verdict == 0)] = -1
        return verdict

    # Ville bounds the whole path, including the peak of the LR, not only its end: the DP uses
    # the test's own rule at every look, so its rejection probability is exactly what the test does.
    assert _dp_rejection(rate, batch, batches, decide) <= ALPHA


@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_anytime_e_process_rejects_at_most_alpha_over_its_composite_null(rate: float) -> None:
    """E_n = min over |q' - q| <= t of M_n(q') (stats.anytime): the probability of ever rejecting
    at the decision alpha, computed exactly over 60 looks, is at most alpha at every rate of the
    null (both ends and inside). t = 0.01 here, so that 12,000 decisions tell the null's rates
    apart. The test has teeth: the largest M_n over the null's ends is not an e-process (it
    rejects at q itself), and the e-process of q alone rejects rates at the null's ends."""
    tolerance = 0.01
    process = stats.BetaBinomialEProcess(rate, concentration=rate * (1 - rate) / 0.03**2, tolerance=tolerance)
    level = -math.log(ALPHA)

    def composite(kept: np.ndarray, samples: int) -> np.ndarray:
        return (process.log_e_of_counts(kept, samples) >= level).astype(int)

    def largest_at_the_ends(kept: np.ndarray, samples: int) -> np.ndarray:
        ends = np.maximum(process.log_e_of_counts(kept, samples, rate - tolerance),
                          process.log_e_of_counts(kept, samples, rate + tolerance))
        return (ends >= level).astype(int)

    def simple(kept: np.ndarray, samples: int) -> np.ndarray:
        return (process.log_e_of_counts(kept, samples, rate) >= level).astype(int)

    for truth in (rate - tolerance, rate - tolerance / 2, rate, rate + tolerance):
        assert _dp_rejection(truth, 200, 60, composite) <= ALPHA, truth
    assert _dp_rejection(rate, 200, 60, largest_at_the_ends) > 100 * ALPHA
    assert _dp_rejection(rate + tolerance, 200, 60, simple) > 100 * ALPHA
