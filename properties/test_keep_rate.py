"""C3 keep rate: over n independent unit decisions the kept count is Binomial(n, 1 - p).

Three properties: the keep rate at drawn and designed examples (every dtype x layout cell),
planned for an absolute and a relative bias; the keep rate at quantisation probes in float32,
float16 and bfloat16, which names the grid or rounding a rate follows; and, with ``--time``,
anytime-valid keep-rate tests that run until the deadline.

Bugs it catches: thresholds off by a little (``rand > p`` in bfloat16, 8-bit or 1/16
quantised keep probabilities, a uniform or p rounded to the input's half dtype), a rate off
by a small fraction of q near p = 1 (or of p near p = 0), keep and drop confused (``Bernoulli(p)`` as the keep mask),
clamped or skipped ``p``, a keep rate that is wrong only for some dtypes, layouts or kinds,
a keep rate that does not match the scale (E[y] = x then fails: dropout_verify/docs/CONTRACT.md C4).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from dropout_verify.errors import NotSupported
from dropout_verify.harness import Statement, calls_for, check_result, claims, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER, QUANTISED_DTYPES
from dropout_verify.power import exact_rate_samples, quantisation_trials
from dropout_verify.run import Run
from dropout_verify.stats import BetaBinomialEProcess, SequentialBinomialTest, probe_points, quantisation_test
from dropout_verify.stats.quantisation import hypotheses, probe_groups, probe_log_pvalues
from dropout_verify.strategies import CELLS, DESIGNED_P, Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C3", "keep rate", "kept units ~ Binomial(n, 1-p)")
REQUEST = ShapeRequest(min_units=1 << 14, max_units=1 << 17, max_numel=1 << 17, max_unit_elements=4)


# The drop probabilities of the twenty designed examples: the common five first (the quick level
# runs those), then fifteen more spread over [0.05, 0.95]. The relative plan makes an example
# near p = 0.05 or 0.95 cost about 16 times one at p = 0.5 (a bias of 1% of q = 0.05 is 5e-4),
# so each extreme is designed once; generated examples reach them too.
KEEP_RATE_P = (*DESIGNED_P, 0.7, 0.2, 0.9, 0.4, 0.6, 0.15, 0.85, 0.35, 0.65, 0.25, 0.75, 0.45, 0.55, 0.8, 0.5)


def _examples(kind: Kind) -> list[Case]:
    """Every dtype x layout cell (dropout_verify/docs/CONTRACT.md section 4), at drop probabilities
    from 0.05 to 0.95."""
    if kind.one_decision_per_call:  # one decision a call: one designed example, at a common drop-path rate
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.1, seed=1, rows=2,
                              unit_elements=3)]
    return [designed_case(kind, units=(1 << 14) + 1025 * (i % 3), dtype=dtype, layout=layout,
                          p=KEEP_RATE_P[i], seed=100 + i, rows=(4, 65, 129)[i % 3], unit_elements=2)
            for i, (dtype, layout) in enumerate(CELLS)]


@statistical("keep_rate", STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples)
def test_keep_rate(run: Run, target: Target, case: Case) -> None:
    """Each unit is kept with probability q = 1 - p: the sum of unit keeps ~ Binomial(n, q).

    A truncated two-sided SPRT (``stats.SequentialBinomialTest``) at the decision's alpha,
    stopping early on clear evidence either way; at most the n that the fixed-size exact
    binomial test at alpha / 2 needs (``power.exact_rate_samples``) to detect |keep rate - q|
    >= the level's keep-rate bias at this p with power 0.999: the absolute bias (0.002 at
    standard), or the relative one (1% of q and of 1 - q) where that is smaller, so that near
    p = 0.95 a rate 1% off q is found too (``levels.Effects.keep_rate_delta``).
    """
    q = target.keep_probability(case.p)
    delta = run.effects.keep_rate_delta(q)
    # The truncation test decides at alpha / 2 and may miss only half of 1 - power, early
    # acceptance the other half (stats.SequentialBinomialTest): plan its n for both.
    needed = exact_rate_samples(q, delta, run.alpha_decision / 2, 1 - (1 - POWER) / 2)
    test = SequentialBinomialTest(q, delta, run.alpha_decision, POWER, max_samples=needed)

    def update(_: int, keeps: torch.Tensor) -> bool:
        # The last batch may bring more decisions than the test may use: take the first ones.
        keeps = keeps.reshape(-1)[: needed - test.samples]
        return test.update(int(keeps.sum()), keeps.numel())

    sample_units(run, target, case, calls_for(needed, case.units), update)
    check_result(run, STATEMENT, target, test.result(), case,
                 expected=f"keep rate {q:.6g} (detects a bias of {delta:g} with power {POWER})")


QUANTISED = Statement("C3", "keep rate", "no grid, in any precision: the rate at probes next to p = 0 and 1 is 1-p")


@claims(QUANTISED)
def test_keep_probability_not_quantised(dropout_target: Target, dropout_run: Run) -> None:
    """For an input of each of float32, float16 and bfloat16, the keep rate at probes a quarter
    cell into the first cells next to p = 0 and p = 1 (of the level's grid, 1/256 at standard,
    of the 8-bit 1/255 grid, of the input's own float format, and of 1/65536 at thorough and
    with --time) is q, not a rounded rate: the matched statistic of every hypothesis (a grid
    1/8 ... 1/4096, 1/255, float16 or bfloat16; the threshold or the uniform rounded, or both,
    down or to nearest, < or <=, torch.rand's wrap; the kernel comparing with p or with 1-p) is
    tested, and the worst probe two-sided (``stats.quantisation``); the closest hypothesis is
    named. Planned to find each planned grid by any of those mechanisms, and a quarter-cell
    deviation of either sign at the probes next to an edge, with power 0.999. A dtype the
    implementation does not support is said, in the notes, not checked.
    """
    run = dropout_run
    target = dropout_target
    if target.kind.one_decision_per_call:
        pytest.skip("n/a: one decision per call: the probes need about 10^7 decisions")
    fine = run.level == "thorough" or run.time is not None
    unsupported = []
    for index, dtype in enumerate(QUANTISED_DTYPES):
        try:
            # The probes' draws follow the run's seed (the design does not): another --seed, another sample.
            _quantisation_decision(run, target, dtype, fine, seed=(2000 + 64 * index + 1_000_003 * run.seed) % 2**62)
        except NotSupported as error:
            unsupported.append(dtype)
            run.note(f"{target.spec}: {dtype} inputs not supported ({error}): their quantisation probes not checked")
    if len(unsupported) == len(QUANTISED_DTYPES):
        pytest.skip(f"not supported for any of {', '.join(QUANTISED_DTYPES)}")


def _quantisation_decision(run: Run, target: Target, dtype: str, fine: bool, seed: int) -> None:
    """The probes of one dtype, sampled and decided (one decision)."""
    groups = tuple(probe_groups(run.effects.quantisation_grids(dtype, fine)))
    probes = probe_points(groups)
    trials = quantisation_trials(groups, run.alpha_decision, POWER, fine)
    kept = np.zeros(probes.size)
    used = np.zeros(probes.size)
    # Values of magnitude 0.01 to 1: kept values x / (1-p) stay finite in float16 at the probe
    # nearest p = 1 (1-p = 2^-13, a scale of 8192).
    shape = designed_case(target.kind, units=1 << 14, dtype=dtype, layout="contiguous", p=0.5, seed=seed,
                          rows=64, unit_elements=1, magnitude=0.1)
    x = shape.make_input(run.device)  # one input for every probe: only p and the seed change
    cases = [Case(shape.shape, dtype, shape.layout, float(1 - q), seed + index, shape.magnitude, kind=shape.kind)
             for index, q in enumerate(probes)]
    for index, case in enumerate(cases):
        totals = [0, 0]

        def count(_: int, keeps: torch.Tensor, totals: list[int] = totals) -> None:
            totals[0] += int(keeps.sum())
            totals[1] += keeps.numel()

        sample_units(run, target, case, calls_for(trials[index], case.units), count, x=x)
        kept[index], used[index] = totals
    keep_rates = np.array([target.keep_probability(float(1 - q)) for q in probes])
    result = quantisation_test(keep_rates, kept, used, run.alpha_decision, hypotheses(fine))
    planned = ", ".join(group.describe() for group in groups)
    worst = int(np.argmin(probe_log_pvalues(keep_rates, kept, used)))  # the example shown: the worst probe's
    check_result(run, QUANTISED, target, result, cases[worst],
                 expected=f"no grid in {dtype} (detects {planned} by any rounding, and a quarter-cell deviation "
                          f"of either sign next to p = 0 or 1, with power {POWER})",
                 seen=f"{dtype} keep rates off 1-p at the probes ({result.estimate:.3g} times the deviations of the "
                      "closest hypothesis, named below, or the worst probe's)")


TIMED = Statement("C3", "keep rate", "anytime-valid keep rate until the --time deadline")
TIMED_P = (0.1, 0.5, 0.9)
TIMED_CHECK_EVERY = 8


@claims(TIMED)
def test_keep_rate_until_deadline(dropout_target: Target, dropout_run: Run) -> None:
    """With --time S: S seconds of keep-rate tests at p = 0.1, 0.5 and 0.9 in turn, each an
    anytime-valid e-process (``stats.anytime``) that may stop at the deadline and keeps its
    share of the budget; reports the smallest bias each detects at the decisions it reached.
    The null is a keep rate within 2^-24 of 1 - p (a p held as float32, which C2 accepts, passes
    however many decisions the deadline allows)."""
    run = dropout_run
    target = dropout_target
    if run.time is None:
        pytest.skip("n/a: no --time given")
    deadline = time.monotonic() + run.time
    cases = [designed_case(target.kind, units=1 if target.kind.one_decision_per_call else 1 << 18,
                           dtype="float32", layout="contiguous", p=p, seed=3000 + i, rows=256)
             for i, p in enumerate(TIMED_P)]
    tests = [BetaBinomialEProcess(target.keep_probability(case.p)) for case in cases]
    inputs = [case.make_input(run.device) for case in cases]  # the mask, not x, changes from round to round
    rounds = 0
    while time.monotonic() < deadline:
        for case, test, x in zip(cases, tests, inputs):
            seed_case = Case(case.shape, case.dtype, case.layout, case.p, case.seed + 7919 * rounds, kind=case.kind)

            def update(_: int, keeps: torch.Tensor, test: BetaBinomialEProcess = test) -> bool:
                test.update(int(keeps.sum()), keeps.numel())
                return time.monotonic() >= deadline

            # C2 and the mask hashes on one round in TIMED_CHECK_EVERY: the rest only count decisions.
            sample_units(run, target, seed_case, max(1, 64 // max(1, case.units >> 16)) if case.units > 1 else 20000,
                         update, x=x, checked=rounds % TIMED_CHECK_EVERY == 0)
            if time.monotonic() >= deadline:
                break
        rounds += 1
    reached = []
    for case, test in zip(cases, tests):
        result = test.result(run.alpha_decision, POWER, f"keep rate at p = {case.p} (anytime)")
        reached.append(f"p = {case.p}: {test.minimum_detectable_bias(run.alpha_decision, POWER):.3g} "
                       f"over {test.samples:,} decisions")
        check_result(run, TIMED, target, result, case,
                     expected=f"keep rate {test.rate:.6g} (within {test.tolerance:.3g}: p held as float32 is accepted)")
    run.note(f"{target.spec}: --time {run.time:g} s reached keep-rate MDEs (power {POWER}): " + "; ".join(reached))
