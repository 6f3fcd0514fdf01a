"""C5 homogeneity: every position is kept at the same rate 1 - p.

Bugs it catches: the first element always kept, vector-tail elements (past the last
multiple of 4, 8 or 32) never dropped, keep rates that drift with position, wrong results
past 1024 elements, a keep rate that depends on the value or sign of x.
"""

from __future__ import annotations

import torch
from hypothesis import example, given

from .config import current
from .harness import check_result, sample_keeps, statistical_settings
from .levels import POWER
from .power import homogeneity_calls
from .stats import homogeneity_test
from .strategies import Case, cases, probabilities

STATEMENT = "C5 homogeneity (every position kept at rate 1-p)"


@statistical_settings("homogeneity")
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=1, max_numel=1000))
@example(case=Case((1000,), "float32", "contiguous", 0.5, seed=5))
@example(case=Case((3, 7, 13), "bfloat16", "sliced", 0.1, seed=6))
def test_positions_share_one_keep_rate(dropout_target, case):
    """Per-position kept counts k_j over T calls: all ~ Binomial(T, 1-p).

    T is planned so that one position off by the level's position bias is found with power
    0.999 (worst-position exact binomial, Bonferroni over positions); an omnibus chi-square
    covers drift spread over many positions.
    """
    run = current()
    q = dropout_target.keep_probability(case.p)
    calls = homogeneity_calls(q, run.effects.position_bias, case.numel, run.alpha_decision, POWER)
    counts = torch.zeros(case.shape, dtype=torch.int64, device=run.device)

    def count(_: int, keeps: torch.Tensor) -> None:
        counts.add_(keeps)

    sample_keeps(dropout_target, case, calls, count)
    result = homogeneity_test(counts.cpu().numpy(), calls, q, run.alpha_decision)
    check_result(STATEMENT, dropout_target, result, case,
                 expected=f"every position kept at rate {q:.6g} (detects one position off by "
                          f"{run.effects.position_bias:g} with power {POWER})")
