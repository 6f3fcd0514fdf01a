"""C3 keep rate: over n independent unit decisions the kept count is Binomial(n, 1 - p).

Bugs it catches: thresholds off by a little (``rand > p`` in bfloat16, 8-bit or 1/16
quantised keep probabilities), keep and drop confused (``Bernoulli(p)`` as the keep mask),
clamped or skipped ``p``, a keep rate that is wrong only for some dtypes, layouts or kinds,
a keep rate that does not match the scale (E[y] = x then fails: docs/CONTRACT.md C4).
"""

from __future__ import annotations

import torch

from dropout_verify.config import current
from dropout_verify.harness import Statement, calls_for, check_result, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.power import exact_rate_samples
from dropout_verify.stats import SequentialBinomialTest
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C3", "keep rate", "kept units ~ Binomial(n, 1-p)")
REQUEST = ShapeRequest(min_units=1 << 14, max_units=1 << 17, max_numel=1 << 17, max_unit_elements=4)


def _examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:  # one decision a call: one designed example, at a common drop-path rate
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.1, seed=1, rows=2,
                              unit_elements=3)]
    return [
        designed_case(kind, units=1 << 15, dtype="float32", layout="contiguous", p=0.5, seed=1, rows=64,
                      unit_elements=2),
        designed_case(kind, units=1 << 14, dtype="bfloat16", layout="channels_last", p=0.05, seed=2, rows=4,
                      unit_elements=4),
        designed_case(kind, units=40 * 1025, dtype="float16", layout="sliced", p=0.95, seed=3, rows=40),
    ]


@statistical("keep_rate", STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples)
def test_keep_rate(target: Target, case: Case) -> None:
    """Each unit is kept with probability q = 1 - p: the sum of unit keeps ~ Binomial(n, q).

    A truncated two-sided SPRT (``stats.SequentialBinomialTest``) at the decision's alpha,
    stopping early on clear evidence either way; at most the n that the fixed-size exact
    binomial test at alpha / 2 needs (``power.exact_rate_samples``) to detect |keep rate - q|
    >= the level's keep-rate bias at this p with power 0.999.
    """
    run = current()
    q = target.keep_probability(case.p)
    delta = run.effects.keep_rate_bias
    # The truncation test decides at alpha / 2 and may miss only half of 1 - power, early
    # acceptance the other half (stats.SequentialBinomialTest): plan its n for both.
    needed = exact_rate_samples(q, delta, run.alpha_decision / 2, 1 - (1 - POWER) / 2)
    test = SequentialBinomialTest(q, delta, run.alpha_decision, POWER, max_samples=needed)

    def update(_: int, keeps: torch.Tensor) -> bool:
        # The last batch may bring more decisions than the test may use: take the first ones.
        keeps = keeps.reshape(-1)[: needed - test.samples]
        return test.update(int(keeps.sum()), keeps.numel())

    sample_units(target, case, calls_for(needed, case.units), update)
    check_result(STATEMENT, target, test.result(), case,
                 expected=f"keep rate {q:.6g} (detects a bias of {delta:g} with power {POWER})")
