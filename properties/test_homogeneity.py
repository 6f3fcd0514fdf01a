"""C5 homogeneity: every unit position is kept at the same rate 1 - p.

Bugs it catches: the first element (or channel, or sample) always kept, vector-tail
elements (past the last multiple of 4, 8 or 32) never dropped, keep rates that drift with
position, wrong results past 1024 elements, a keep rate that depends on the value or sign
of x.
"""

from __future__ import annotations

import torch

from dropout_verify.config import current
from dropout_verify.harness import Statement, check_result, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.power import homogeneity_calls
from dropout_verify.stats import homogeneity_test
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C5", "homogeneity", "every unit position kept at rate 1-p")
REQUEST = ShapeRequest(min_units=1, max_units=1000, max_numel=1 << 15, max_unit_elements=8)


def _examples(kind: Kind) -> list[Case]:
    return [
        designed_case(kind, units=1000, dtype="float32", layout="contiguous", p=0.5, seed=5, rows=10),
        designed_case(kind, units=273, dtype="bfloat16", layout="sliced", p=0.1, seed=6, rows=3, unit_elements=2),
    ]


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return "one decision per call: its only position's rate is the keep rate (C3)"
    return None


@statistical("homogeneity", STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples, applies=_several_units)
def test_positions_share_one_keep_rate(target: Target, case: Case) -> None:
    """Per-unit kept counts k_j over T calls: all ~ Binomial(T, 1-p).

    T is planned so that one unit off by the level's position bias is found with power 0.999
    (worst-position exact binomial, Bonferroni over positions); an omnibus chi-square covers
    drift spread over many positions.
    """
    run = current()
    q = target.keep_probability(case.p)
    calls = homogeneity_calls(q, run.effects.position_bias, case.units, run.alpha_decision, POWER)
    counts = torch.zeros(case.unit_shape, dtype=torch.int64, device=run.device)

    def count(_: int, keeps: torch.Tensor) -> None:
        counts.add_(keeps.sum(0))

    sample_units(target, case, calls, count)
    check_result(STATEMENT, target, homogeneity_test(counts.cpu().numpy(), calls, q, run.alpha_decision), case,
                 expected=f"every {target.kind.unit} kept at rate {q:.6g} (detects one off by "
                          f"{run.effects.position_bias:g} with power {POWER})")
