"""Calibration: under exactly-Bernoulli data every statistical check's p-values are uniform
or conservative, P[p-value <= u] <= u, for u across (0, 1).

For each check, R independent data sets are simulated from a correct dropout's law (numpy,
fixed seed: the verdict is deterministic). For every u on a grid the count of p-values
<= u is compared with Binomial(R, u): an excess is flagged by the one-sided exact binomial
test at CALIBRATION_ALPHA / len(U_GRID) (Bonferroni over the grid), so each calibration
test has a false-alarm probability of at most CALIBRATION_ALPHA. With R = 4000 an
anti-conservative check whose P[p <= 0.01] is 0.02 (or whose P[p <= 0.1] is 0.125) fails
with probability above 0.99.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

from dropout_verify import stats

# Thousands of simulated data sets per check (about two minutes): left out of make test-fast.
pytestmark = pytest.mark.slow

CALIBRATION_ALPHA = 1e-4
U_GRID = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
REPLICATES = 4000
RATES = (0.05, 0.5, 0.93)  # keep probabilities: near both edges and the middle
ALPHA = 1e-8  # any decision alpha: it sets only the reported interval, not the p-value


def assert_calibrated(log_pvalues: np.ndarray, name: str) -> None:
    pvalues = np.exp(np.asarray(log_pvalues, dtype=np.float64))
    for u in U_GRID:
        seen = int(np.sum(pvalues <= u))
        excess_p = float(scipy_stats.binom.sf(seen - 1, pvalues.size, u))
        assert excess_p > CALIBRATION_ALPHA / len(U_GRID), (
            f"{name}: {seen} of {pvalues.size} p-values <= {u} (expected at most about {u * pvalues.size:.0f}); "
            f"P[Binomial >= seen] = {excess_p:.3g} < {CALIBRATION_ALPHA / len(U_GRID):.3g}"
        )


@pytest.mark.parametrize("rate", RATES)
def test_binomial_test_is_calibrated(rate):
    rng = np.random.default_rng(1)
    n = 20_000
    kept = rng.binomial(n, rate, REPLICATES)
    log_p = [stats.binomial_test(int(k), n, rate, ALPHA).log_pvalue for k in kept]
    assert_calibrated(log_p, f"binomial_test(q={rate})")


@pytest.mark.parametrize("rate", RATES)
def test_homogeneity_test_is_calibrated(rate):
    rng = np.random.default_rng(3)
    positions = 300
    trials = max(400, math.ceil(20 / min(rate, 1 - rate)))
    counts = rng.binomial(trials, rate, (REPLICATES, positions))
    log_p = [stats.homogeneity_test(row, trials, rate, ALPHA).log_pvalue for row in counts]
    assert_calibrated(log_p, f"homogeneity_test(q={rate})")


@pytest.mark.parametrize("rate, size", [(0.05, 16), (0.05, 256), (0.5, 16), (0.93, 64), (0.5, 1000)])
def test_dispersion_test_is_calibrated(rate, size):
    rng = np.random.default_rng(4)
    calls = 2000
    counts = rng.binomial(size, rate, (REPLICATES, calls))
    log_p = [stats.dispersion_test(row, size, rate, ALPHA).log_pvalue for row in counts]
    assert_calibrated(log_p, f"dispersion_test(q={rate}, m={size})")


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("strata, replicates", [(1, 2000), (200, 16)])
def test_independence_test_is_calibrated(rate, strata, replicates):
    rng = np.random.default_rng(5)
    log_p = []
    for _ in range(REPLICATES // 4):
        counts = stats.PairCounts(strata)
        counts.add(rng.random((replicates, strata)) < rate, rng.random((replicates, strata)) < rate)
        log_p.append(stats.independence_test(counts, ALPHA, "pairs").log_pvalue)
    assert_calibrated(log_p, f"independence_test(q={rate}, strata={strata})")


@pytest.mark.parametrize("rate", RATES)
def test_periodicity_test_is_calibrated(rate):
    generator = torch.Generator().manual_seed(6)
    length = 2048
    log_p = []
    for _ in range(REPLICATES // 4):  # the bound is far from tight: fewer replicates suffice
        sequence = torch.rand(length, generator=generator) < rate
        log_p.append(stats.periodicity_test(sequence, rate, ALPHA, max_lag=length - 1).log_pvalue)
    assert_calibrated(log_p, f"periodicity_test(q={rate})")


@pytest.mark.parametrize("rate", RATES)
def test_sequential_binomial_test_is_calibrated(rate):
    """The SPRT's p-value min(1, 2 min(p_sequential, p_exact)) under H0, batches of 2000."""
    rng = np.random.default_rng(7)
    batch, max_samples = 2000, 200_000
    log_p = []
    for _ in range(REPLICATES // 2):
        test = stats.SequentialBinomialTest(rate, 0.02, 1e-3, 0.999, max_samples)
        while not test.update(int(rng.binomial(batch, rate)), batch):
            pass
        log_p.append(test.result().log_pvalue)
    assert_calibrated(log_p, f"SequentialBinomialTest(q={rate})")


@pytest.mark.parametrize("size, rate, calls", [(20, 0.05, 400), (40, 0.5, 300), (100, 0.93, 200), (20, 0.05, 5000)])
def test_dispersion_deep_tails_are_conservative(size, rate, calls):
    """Where the per-decision alpha lives (1e-6 to 1e-8), compare the dispersion p-value with
    the exact tail of D. With m q an integer, (K - m q)^2 lies on the integers, so the law of
    D * m q (1-q), a sum of ``calls`` iid integer draws, is an exact FFT convolution."""
    center = round(size * rate)
    assert center == size * rate
    support = np.arange(size + 1)
    single = np.zeros((size - center) ** 2 + center**2 + 1)
    np.add.at(single, (support - center) ** 2, scipy_stats.binom.pmf(support, size, rate))
    law, power, remaining = np.array([1.0]), single, calls
    while remaining:  # exponentiation by squaring
        if remaining & 1:
            law = _fft_convolve(law, power)
        remaining >>= 1
        if remaining:
            power = _fft_convolve(power, power)
    upper = np.cumsum(law[::-1])[::-1]  # P[sum >= j]
    lower = np.cumsum(law)  # P[sum <= j]
    # Below 1e-8 the FFT's rounding noise (about 1e-16 of the peak, summed over a million
    # terms) is no longer small against the tail, so the exact reference stops there.
    for exponent in (-2, -4, -6, -8):
        checks = [("upper", int(np.argmax(upper <= 10.0**exponent)), upper)]
        j_low = int(np.argmax(lower >= 10.0**exponent)) - 1
        if j_low >= 0 and lower[j_low] > 1e-300:
            checks.append(("lower", j_low, lower))
        for side, j, tail in checks:
            counts = np.full(calls, float(center))
            counts[0] += math.sqrt(j)  # any counts with sum (K - mq)^2 = j give the same D
            reported = math.exp(stats.dispersion_test(counts, size, rate, ALPHA).log_pvalue) / 2
            assert reported >= tail[j], (
                f"{side} tail at m={size}, q={rate}, T={calls}: exact {tail[j]:.4g}, reported {reported:.4g}"
            )


def _fft_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    size = a.size + b.size - 1
    n = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, n) * np.fft.rfft(b, n), n)[:size]
    return np.clip(out, 0, None)
