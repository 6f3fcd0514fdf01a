"""The --time e-process (stats.anytime) at the scale it is meant for: up to 1e17 decisions.

* its e-value keeps its digits where a plain difference of log-betas loses them;
* a keep probability held as float32 (within 2^-24 of q) is never rejected, over 1e17 decisions,
  where the e-process of q alone rejects it (after about 1e16: the bug the composite null fixes);
* at the decisions reached, a bias of the reported minimum is rejected by one look with
  probability >= 0.999, computed exactly over the binomial law; its confidence sequence is an
  interval around k/n that misses the null exactly when the test rejects.

The exact level at the decision alpha (a dynamic programme over every look) is in
tests/test_calibration_deep.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special
from scipy import stats as scipy_stats

from dropout_verify.stats.anytime import FLOAT32_KEEP_TOLERANCE, BetaBinomialEProcess, _counts, _mixture_gap

pytestmark = pytest.mark.slow

ALPHA = 1e-8
POWER = 0.999


def _float32(value: float) -> float:
    return float(np.float32(value))


@pytest.mark.parametrize("n", [10**9, 10**12, 10**15, 10**18])
def test_the_e_value_keeps_its_digits(n: int) -> None:
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    q = 0.9
    c = q * (1 - q) / 1e-8
    a, b = c * q, c * (1 - q)
    k = round(n * (q + 1e-9))
    ma, mb, mc = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(a) + mpmath.mpf(b)  # exact sums with the integer counts
    exact = (mpmath.loggamma(ma + k) + mpmath.loggamma(mb + (n - k)) - mpmath.loggamma(mc + n)
             - (mpmath.loggamma(ma) + mpmath.loggamma(mb) - mpmath.loggamma(mc))
             - k * mpmath.log(mpmath.mpf(k) / n) - (n - k) * mpmath.log(mpmath.mpf(n - k) / n))
    assert abs(float(_mixture_gap(*_counts(k, n), a, b)) - float(exact)) < 1e-6
    plain = (float(special.betaln(a + k, b + n - k) - special.betaln(a, b))
             - k * math.log(k / n) - (n - k) * math.log1p(-k / n))
    if n >= 10**15:  # the form it replaces: off by e^5.9 at 1e15 decisions, e^320 at 1e17
        assert abs(plain - float(exact)) > 1.0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_a_keep_probability_held_as_float32_passes_1e17_decisions(p: float) -> None:
    """Kept counts of 1e15 decisions a look, 100 looks, at the keep probability of a kernel
    holding p as float32 (float32(1 - float32(p)): 2.4e-8 off q at p = 0.1 and 0.9)."""
    q = 1 - p
    held = _float32(1 - _float32(p))
    assert abs(held - q) <= FLOAT32_KEEP_TOLERANCE
    composite, simple = BetaBinomialEProcess(q), BetaBinomialEProcess(q, tolerance=0.0)
    rng = np.random.default_rng(17)
    batch = 10**15
    for _ in range(100):
        kept = int(rng.binomial(batch, held))
        composite.update(kept, batch)
        simple.update(kept, batch)
    assert composite.max_log_e < -math.log(ALPHA), composite.max_log_e
    if held != q:  # the e-process of q alone finds the float32 offset (the bug fixed)
        assert simple.max_log_e >= -math.log(ALPHA), simple.max_log_e


def _rejection_probability(process: BetaBinomialEProcess, samples: int, rate: float) -> float:
    """P[one look at ``samples`` rejects] at keep rate ``rate``, summed over the kept counts
    within 12 standard deviations of the mean (the rest weigh below 1e-32)."""
    spread = math.sqrt(samples * rate * (1 - rate))
    kept = np.arange(max(0, math.floor(samples * rate - 12 * spread)),
                     min(samples, math.ceil(samples * rate + 12 * spread)) + 1)
    rejects = process.log_e_of_counts(kept, samples) >= -math.log(ALPHA)
    return float(np.sum(scipy_stats.binom.pmf(kept[rejects], samples, rate)))


@pytest.mark.parametrize("q, n", [(0.9, 10**6), (0.5, 10**8), (0.1, 10**9)])
def test_a_bias_of_the_reported_minimum_is_caught(q: float, n: int) -> None:
    process = BetaBinomialEProcess(q)
    process.update(round(n * q), n)
    bias = process.minimum_detectable_bias(ALPHA, POWER)
    for side in (+1, -1):
        assert _rejection_probability(process, n, q + side * bias) >= POWER
    # and it is the minimum: a bias 10% smaller is caught less often on one side at least
    assert min(_rejection_probability(process, n, q + side * 0.9 * bias) for side in (+1, -1)) < POWER


def test_the_confidence_sequence_misses_the_null_exactly_when_the_test_rejects() -> None:
    q, n = 0.5, 10**7
    process = BetaBinomialEProcess(q)
    edge = 0
    for kept in range(n // 2, n // 2 + 40_000, 100):
        process.kept, process.samples = kept, n
        low, high = process.confidence_sequence(ALPHA)
        assert low < kept / n < high
        misses = low > q + FLOAT32_KEEP_TOLERANCE or high < q - FLOAT32_KEEP_TOLERANCE
        assert misses == (process.log_e() >= -math.log(ALPHA)), kept
        edge += misses
    assert 0 < edge < 400  # both outcomes were seen
