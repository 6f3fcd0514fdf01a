"""C6 independence: keep decisions are independent across elements and across calls.

Three properties:

* pairs: neighbours in memory, rows (dim 0, the batch) and consecutive calls are
  uncorrelated (exact binomial test on the number of pairs kept together);
* dispersion: the kept count of one call has the binomial variance m q (1-q), neither more
  (rows or batches dropped together) nor less ("exactly k kept" permutations);
* periodicity: no lag, within a call or across the next calls, repeats the mask.

Bugs they catch: a mask broadcast over the batch, rows dropped whole, groups of 4 elements
sharing one random draw, masks that repeat after some period or across steps (RNG offset
not advanced), a fixed seed inside the function, "exactly round(q m)" kept per call.
"""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from .config import current
from .harness import calls_for, check_result, sample_keeps, statistical_settings
from .levels import POWER
from .power import dispersion_calls, pair_samples
from .stats import dispersion_test, pair_test, periodicity_test
from .strategies import Case, cases, layout_fits, probabilities

PAIRS = "C6 independence (neighbours, rows and consecutive calls uncorrelated)"
DISPERSION = "C6 independence (per-call kept count has binomial variance)"
PERIODIC = "C6 independence (no repeated or periodic mask)"


def memory_order(kept: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """kept flattened in the order x's elements lie in memory (outermost stride first).

    Kernels draw their random numbers in memory order, so that is where neighbours share
    draws (a channels_last or transposed tensor differs from the logical order).
    """
    if kept.dim() == 0:
        return kept.reshape(1)
    order = sorted(range(x.dim()), key=lambda d: (x.stride(d) != 0, x.stride(d)), reverse=True)
    return kept.permute(order).reshape(-1)


@st.composite
def row_cases(draw: st.DrawFn) -> Case:
    """Matrices and batches: at least 2 rows, so rows can be paired."""
    rows = draw(st.sampled_from((2, 3, 4, 8, 16, 31, 64)))
    trailing = draw(st.sampled_from(((), (3,), (7,), (2, 5))))
    last = draw(st.integers(max(1, 4096 // rows), max(2, (1 << 16) // rows)))
    shape = (rows, *trailing, last) if len(trailing) < 2 else (rows, *trailing, last // 10 + 1)
    layout = draw(st.sampled_from([name for name in ("contiguous", "transposed", "sliced", "channels_last", "expanded")
                                   if layout_fits(shape, name)]))
    return Case(shape, draw(st.sampled_from(("float32", "float64", "float16", "bfloat16"))), layout,
                draw(probabilities(0.05, 0.95)), draw(st.integers(0, 2**63 - 1)))


@statistical_settings("independence")
@given(case=row_cases())
@example(case=Case((64, 1025), "float32", "expanded", 0.5, seed=7))
def test_pairs_uncorrelated(dropout_target, case):
    """For disjoint pairs (a, b): P(both kept) = q^2 (neighbours in memory, rows, calls).

    The calls are planned so that each of the three pairings has enough pairs to find a
    correlation of the level's size with power 0.999.
    """
    run = current()
    q = dropout_target.keep_probability(case.p)
    needed = pair_samples(q, run.effects.correlation, run.alpha_decision, POWER)
    rows = case.shape[0]
    pairs_per_call = min(case.numel // 2, (rows // 2) * (case.numel // rows))
    calls = 2 * calls_for(needed, 2 * pairs_per_call)  # even: calls pair up
    together = {"neighbours": 0, "rows": 0, "calls": 0}
    pairs = {"neighbours": 0, "rows": 0, "calls": 0}
    previous: list[torch.Tensor] = []
    x = case.make_input(run.device)

    def count(call: int, keeps: torch.Tensor) -> None:
        flat = memory_order(keeps, x)
        half = flat.numel() // 2
        together["neighbours"] += int((flat[0 : 2 * half : 2] & flat[1 : 2 * half : 2]).sum())
        pairs["neighbours"] += half
        by_row = keeps.reshape(rows, -1)
        row_pairs = rows // 2
        together["rows"] += int((by_row[0 : 2 * row_pairs : 2] & by_row[1 : 2 * row_pairs : 2]).sum())
        pairs["rows"] += row_pairs * by_row.shape[1]
        if call % 2:
            together["calls"] += int((previous[0] & keeps).sum())
            pairs["calls"] += keeps.numel()
        previous[:] = [keeps]

    sample_keeps(dropout_target, case, calls, count, x=x)
    for name in ("calls", "rows", "neighbours"):
        result = pair_test(together[name], pairs[name], q, run.alpha_decision, name=f"independence of {name}")
        check_result(PAIRS, dropout_target, result, case,
                     expected=f"no correlation between {name} (detects |rho| >= {run.effects.correlation:g} "
                              f"with power {POWER})")


@statistical_settings("dispersion")
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=16, max_numel=4096))
@example(case=Case((16, 64), "float32", "contiguous", 0.5, seed=8))
def test_kept_count_dispersion(dropout_target, case):
    """Var[kept count of a call] = m q (1-q): two-sided scaled chi-square on T calls."""
    run = current()
    q = dropout_target.keep_probability(case.p)
    calls = dispersion_calls(run.effects.variance_ratio, run.alpha_decision, POWER)
    counts = torch.zeros(calls, dtype=torch.int64, device=run.device)

    def count(call: int, keeps: torch.Tensor) -> None:
        counts[call] = keeps.sum()

    sample_keeps(dropout_target, case, calls, count)
    result = dispersion_test(counts.cpu().numpy(), case.numel, q, run.alpha_decision)
    check_result(DISPERSION, dropout_target, result, case,
                 expected=f"variance ratio 1 (detects x{run.effects.variance_ratio:g} or "
                          f"/{run.effects.variance_ratio:g} with power {POWER})")


PERIOD_CALLS = 4  # masks of this many consecutive calls are scanned as one sequence


@statistical_settings("periodicity")
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=1 << 12, max_numel=1 << 16))
@example(case=Case((4, 8, 16, 33), "float32", "channels_last", 0.3, seed=9))
def test_no_periodic_mask(dropout_target, case):
    """No lag L of the sequence (masks of 4 consecutive calls, in memory order) repeats it.

    Conservative Azuma-Hoeffding bound at every lag, Bonferroni over all lags; a mask with
    period L, or a call that repeats (or shifts) the previous call's mask, is rejected.
    """
    run = current()
    q = dropout_target.keep_probability(case.p)
    chunks: list[torch.Tensor] = []
    x = case.make_input(run.device)
    sample_keeps(dropout_target, case, PERIOD_CALLS, lambda _, keeps: chunks.append(memory_order(keeps, x).cpu()), x=x)
    sequence = torch.cat(chunks)
    result = periodicity_test(sequence, q, run.alpha_decision, max_lag=sequence.numel() - 1)
    check_result(PERIODIC, dropout_target, result, case, expected="no lag with correlation (a repeated mask has 1)")
