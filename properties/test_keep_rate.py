"""C3 keep rate: over n independent decisions the kept count is Binomial(n, 1 - p).

Bugs it catches: thresholds off by a little (``rand > p`` in bfloat16, 8-bit or 1/16
quantised keep probabilities), keep and drop confused (``Bernoulli(p)`` as the keep mask),
clamped or skipped ``p``, a keep rate that is wrong only for some dtypes or layouts.
"""

from __future__ import annotations

from hypothesis import example, given

from .config import current
from .harness import calls_for, check_result, sample_keeps, statistical_settings
from .power import exact_rate_samples
from .levels import POWER
from .stats import SequentialBinomialTest
from .strategies import Case, cases, probabilities

STATEMENT = "C3 keep rate (kept count ~ Binomial(n, 1-p))"


@statistical_settings("keep_rate")
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=1 << 14, max_numel=1 << 17))
@example(case=Case((256, 513), "float32", "contiguous", 0.5, seed=1))
@example(case=Case((4, 8, 33, 31), "bfloat16", "channels_last", 0.05, seed=2))
@example(case=Case((40, 1025), "float16", "sliced", 0.95, seed=3))
def test_keep_rate(dropout_target, case):
    """Each element is kept with probability q = 1 - p: sum of keeps ~ Binomial(n, q).

    A truncated two-sided SPRT (``stats.SequentialBinomialTest``) at the decision's alpha,
    stopping early on clear evidence either way; at most the n that the fixed-size exact
    binomial test at alpha / 2 needs (``power.exact_rate_samples``) to detect |keep rate - q| >= the level's keep-rate bias at this p
    with power 0.999.
    """
    run = current()
    q = dropout_target.keep_probability(case.p)
    delta = run.effects.keep_rate_bias
    # The truncation test decides at alpha / 2 (stats.SequentialBinomialTest): plan its n there.
    needed = exact_rate_samples(q, delta, run.alpha_decision / 2, POWER)
    test = SequentialBinomialTest(q, delta, run.alpha_decision, POWER, max_samples=needed)

    def update(_: int, keeps) -> bool:
        # The last call may bring more decisions than the test may use: take the first ones.
        keeps = keeps.reshape(-1)[: needed - test.samples]
        return test.update(int(keeps.sum()), keeps.numel())

    sample_keeps(dropout_target, case, calls_for(needed, case.numel), update)
    result = test.result()
    check_result(
        STATEMENT, dropout_target, result, case,
        expected=f"keep rate {q:.6g} (detects a bias of {run.effects.keep_rate_bias:g} with power {POWER})",
    )
