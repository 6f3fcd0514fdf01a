"""C5 homogeneity: every unit position is kept at the same rate 1 - p, whatever x holds.

Two properties: per position (up to 8192 positions, past 1024 and 4096), and per group of
units by the sign and size of x.
Bugs it catches: the first element (or channel, or sample) always kept, vector-tail
elements (past the last multiple of 4, 8 or 32) never dropped, keep rates that drift with
position, wrong results past 1024 elements, a keep rate that depends on the value or sign
of x.
"""

from __future__ import annotations

import math

import torch

from dropout_verify.decision import Decision
from dropout_verify.harness import Statement, calls_for, check_result, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.power import exact_rate_samples, homogeneity_calls
from dropout_verify.run import Run
from dropout_verify.stats import binomial_test, homogeneity_test
from dropout_verify.strategies import DESIGNED_P, Case, cases, cells_from, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C5", "homogeneity", "every unit position kept at rate 1-p")
REQUEST = ShapeRequest(min_units=1, max_units=8192, max_numel=1 << 15, max_unit_elements=4)
POSITIONS = (1000, 4099, 273, 8192, 700)  # past 1024 and 4096 too, where tails and second passes go wrong


# The fifteen other cells (strategies.cells_from): few positions, so few calls (tens of ms each).
CELL_POSITIONS = (96, 131, 200, 64, 77)
CELL_ROWS = (4, 3, 8, 4, 1)  # two rows or more where the cell is transposed


def _examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return []
    cells = cells_from(0)
    # Three rows for the transposed cell (one row was a 1-D input, which has no transposed layout).
    large = [designed_case(kind, units=units, dtype=dtype, layout=layout, p=p, seed=50 + i, rows=(10, 3, 3, 64, 7)[i])
             for i, ((dtype, layout), p, units) in enumerate(zip(cells[:5], DESIGNED_P, POSITIONS))]
    small = [designed_case(kind, units=CELL_POSITIONS[i % 5], dtype=dtype, layout=layout, p=DESIGNED_P[(i + 1) % 5],
                           seed=550 + i, rows=CELL_ROWS[i % 5])
             for i, (dtype, layout) in enumerate(cells[5:])]
    return large + small


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return "one decision per call: its only position's rate is the keep rate (C3)"
    return None


@statistical("homogeneity", STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples, applies=_several_units)
def test_positions_share_one_keep_rate(run: Run, target: Target, case: Case) -> None:
    """Per-unit kept counts k_j over T calls: all ~ Binomial(T, 1-p).

    T is planned so that one unit off by the level's position bias is found with power 0.999
    (worst-position exact binomial, Bonferroni over positions); an omnibus chi-square covers
    drift spread over many positions.
    """
    q = target.keep_probability(case.p)
    calls = homogeneity_calls(q, run.effects.position_bias, case.units, run.alpha_decision, POWER)
    counts = torch.zeros(case.unit_shape, dtype=torch.int64, device=run.device)

    def count(_: int, keeps: torch.Tensor) -> None:
        counts.add_(keeps.sum(0))

    sample_units(run, target, case, calls, count)
    result = homogeneity_test(counts.cpu().numpy(), calls, q, run.alpha_decision)
    check_result(run, STATEMENT, target, result, case,
                 expected=f"every {target.kind.unit} kept at rate {q:.6g} (detects one off by "
                          f"{run.effects.position_bias:g} with power {POWER})",
                 seen=f"the worst of {counts.numel()} positions off {q:.6g} by {result.estimate:+.4g}; over all "
                      f"positions X^2 = {result.statistic:.1f} against {counts.numel()} expected (either decides)")


VALUES = Statement("C5", "homogeneity", "the keep rate does not depend on x's sign or size")
VALUE_GROUPS = 8  # sign x quartile of |x|
VALUE_REQUEST = ShapeRequest(min_units=1 << 12, max_units=1 << 16, max_numel=1 << 17, max_unit_elements=2)


def _same_side(results: list[Decision], q: float) -> str:
    """A hint for the reader when every group errs the same way: a rate off q everywhere."""
    rates = [r.estimate for r in results]
    if len(rates) > 1 and (all(r < q for r in rates) or all(r > q for r in rates)):
        return (f"; every group {'below' if rates[0] < q else 'above'} {q:.6g} ({min(rates):.5g} to "
                f"{max(rates):.5g}): the keep rate is off everywhere, see C3 keep rate")
    return ""


@statistical("value_dependence", VALUES,
             cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=VALUE_REQUEST),
             examples=lambda kind: [] if kind.one_decision_per_call else [
                 designed_case(kind, units=1 << 15, dtype="float32", layout="contiguous", p=0.5, seed=60, rows=32),
                 designed_case(kind, units=1 << 14, dtype="bfloat16", layout="transposed", p=0.1, seed=61, rows=16,
                               magnitude=1e3)],
             applies=_several_units)
def test_keep_rate_independent_of_x(run: Run, target: Target, case: Case) -> None:
    """Units grouped by the sign and the size (quartile of |x|) of their first element: each
    group's kept count ~ Binomial(n_g, 1-p), exact binomial tests with Bonferroni over the 8
    groups, planned to find one group off by the level's value bias with power 0.999. Catches a
    threshold computed from x's bits (a kernel reusing the input's register for its random number)."""
    q = target.keep_probability(case.p)
    x = case.make_input(run.device)
    first = target.kind.layout.unit_decisions(x.detach().to(torch.float64).cpu())
    magnitude = first.abs().reshape(-1)
    edges = torch.quantile(magnitude, torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))
    group = (torch.bucketize(magnitude, edges) + 4 * (first.reshape(-1) < 0)).reshape(first.shape)
    sizes = torch.bincount(group.reshape(-1), minlength=VALUE_GROUPS)
    alpha = run.alpha_decision / VALUE_GROUPS
    needed = exact_rate_samples(q, run.effects.value_bias, alpha, POWER)
    calls = calls_for(needed, max(int(sizes[sizes > 0].min()), 1))
    kept = torch.zeros(VALUE_GROUPS, dtype=torch.int64)

    def count(_: int, keeps: torch.Tensor) -> None:
        flat = keeps.reshape(keeps.shape[0], -1).cpu()
        kept.add_(torch.bincount(group.reshape(-1), weights=flat.sum(0).to(torch.float64),
                                 minlength=VALUE_GROUPS).to(torch.int64))

    used = sample_units(run, target, case, calls, count, x=x)
    results = [binomial_test(int(kept[g]), int(sizes[g]) * used, q, alpha,
                             name=f"keep rate of x {'< 0' if g >= 4 else '>= 0'}, |x| quartile {g % 4 + 1}")
               for g in range(VALUE_GROUPS) if int(sizes[g]) > 0]
    worst = min(results, key=lambda r: r.log_pvalue)
    combined = Decision(
        name="keep rate by sign and size of x", statistic=worst.statistic,
        log_pvalue=min(0.0, math.log(len(results)) + worst.log_pvalue), samples=sum(r.samples for r in results),
        estimate=worst.estimate, expected=q, ci=worst.ci, alpha=run.alpha_decision,
        interval=f"the most extreme group's CI at 1 - alpha/{len(results)}",
        detail=f"most extreme group: {worst.name} = {worst.estimate:.5g} over {worst.samples:,} decisions"
               + _same_side(results, q),
        evidence={"group": [float(i) for i in range(len(results))], "keep rate": [r.estimate for r in results],
                  "expected": [q] * len(results)})
    check_result(run, VALUES, target, combined, case,
                 expected=f"rate {q:.6g} in every group (detects one off by {run.effects.value_bias:g} "
                          f"with power {POWER})")
