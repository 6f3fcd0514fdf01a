"""The scale tier: one call of 2^24 units at every level (and one above 2^31 elements at thorough,
and at standard on a GPU: ``levels.Check.designed_on_gpu``).

Kernel bugs that only a large call shows: a grid-stride loop whose RNG offset is not advanced
past one wave (about 2^20 elements on a data-centre GPU), later waves or passes that draw at
another rate, indices that overflow int32 past 2^31 elements. Each large call is made once
(``dropout_verify.scale``), checked against C2, added to the run's mask windows (so a stretch
reused anywhere in it, at any shift, is found by ``test_no_repeated_mask``), and judged here by

* the keep rate of every dyadic block of its flat index, from 2^12 units to half the call
  (C5; and the whole call's keep rate, C3): ``stats.blocks``;
* a lag scan at every power of two up to three quarters of the call, every phase (C6):
  ``stats.lags``.

The call above 2^31 needs about 17 GiB (``scale.memory_needed``); a machine without it says so
in the notes of the run, and the property is not checked at that size.
"""

from __future__ import annotations

from dropout_verify.harness import Statement, check_result, statistical
from dropout_verify.kinds import Kind
from dropout_verify.levels import POWER
from dropout_verify.power import lag_scan_effect
from dropout_verify.run import Run
from dropout_verify.scale import scale_cases, scale_lag_counts, scale_sample
from dropout_verify.stats.blocks import block_counts, block_effect, blocks_test
from dropout_verify.stats.lags import LagTally, Series, lag_scan_test, power_of_two_lags
from dropout_verify.strategies import Case, cases
from dropout_verify.targets import Target

BLOCKS = Statement("C5", "homogeneity", "every block of a large call (2^12 units to half the call) kept at rate 1-p")
RATE = Statement("C3", "keep rate", "a large call's kept units ~ Binomial(n, 1-p)")
LAGS = Statement("C6", "independence", "units of a large call L apart are independent, L every power of two")
WAVE = 1 << 20  # about one wave of a data-centre GPU (132 SMs x 2048 threads x 4 elements)


def _large_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return "one decision per call: no large unit tensor (a call's scale is its one decision)"
    return None


def _examples(kind: Kind) -> list[Case]:
    return scale_cases(kind)


@statistical("scale_blocks", BLOCKS, cases=lambda kind: cases(kind), examples=_examples, applies=_large_units)
def test_scale_blocks_share_one_keep_rate(run: Run, target: Target, case: Case) -> None:
    """Every dyadic block of the large call's flat index kept at the call's rate (hypergeometric
    given the call's count: a biased rate is not called inhomogeneous), and the call's count
    ~ Binomial(n, 1-p): one decision, Bonferroni over the blocks and the call."""
    sample = scale_sample(run, target, case, BLOCKS)
    if sample is None:
        return
    q = target.keep_probability(case.p)
    blocks = block_counts(sample.packed, sample.units)
    result = blocks_test(blocks, sample.units, sample.kept, q, run.alpha_decision)
    tests = blocks.sizes.size + 1
    wave = block_effect(sample.units, WAVE, q, run.alpha_decision, POWER, tests)
    smallest = block_effect(sample.units, int(blocks.sizes.min()), q, run.alpha_decision, POWER, tests)
    whole = "the whole call" in result.detail.split(";")[0]
    check_result(run, RATE if whole else BLOCKS, target, result, case,
                 expected=(f"the call's kept units ~ Binomial({sample.units:,}, {q:.6g})" if whole else
                           f"every block at the call's rate (detects a block of 2^20 units off by {wave:.2g}, "
                           f"of {int(blocks.sizes.min()):,} units by {smallest:.2g}, with power {POWER})"),
                 seen=result.detail.split(";")[0])


@statistical("scale_lags", LAGS, cases=lambda kind: cases(kind), examples=_examples, applies=_large_units)
def test_scale_lags_uncorrelated(run: Run, target: Target, case: Case) -> None:
    """Units of the large call L apart, in draw order, at every phase, for L = 1, 2, 4, ... up
    to three quarters of the call: no correlation (``stats.lags``; one decision)."""
    sample = scale_sample(run, target, case, LAGS)
    if sample is None:
        return
    q = target.keep_probability(case.p)
    lags = power_of_two_lags(sample.units)
    tallies = [LagTally(f"units {lag:,} apart", *scale_lag_counts(sample, lag)) for lag in lags]
    result = lag_scan_test(tallies, [Series(sample.kept, sample.units, q)], run.alpha_decision,
                           "independence of a large call's units at powers of two")
    fewest = min(t.pairs for t in tallies)
    smallest = lag_scan_effect(fewest, run.alpha_decision, POWER, q, 2 * len(lags))
    check_result(run, LAGS, target, result, case,
                 expected=f"no correlation at any of {len(lags)} lags (each has {fewest:,} pairs or more: a "
                          f"correlation of {smallest:.2g} at any one is found with power {POWER})",
                 seen=result.detail.split("; ")[0])

