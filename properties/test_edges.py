"""C7 edges: p = 0 returns x; p = 1 returns finite zeros that stay differentiable (alpha
dropout: finite, values reported); p within 1e-6 of 0 or 1 stays finite and keeps the rate.

Bugs it catches: NaN from 0/0 at p = 1, ``torch.zeros_like`` that cuts the autograd graph,
zeros at p = 0 (the notebook's second function), ``rand > p`` dropping elements at p = 0,
p clamped away from its edges, a bfloat16 rand that is 0 about 0.2% of the time.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import strategies as st

from dropout_verify.harness import (
    Statement,
    calls_for,
    check_result,
    checked_output,
    claims,
    exact,
    sample_units,
    seeded,
    skip_unjudged,
    violation,
)
from dropout_verify.kinds import ShapeRequest
from dropout_verify.levels import CHECKS
from dropout_verify.run import Run
from dropout_verify.stats import binomial_test
from dropout_verify.strategies import Case, cases, designed_case
from dropout_verify.targets import Target
from dropout_verify.values import check_support

P_ZERO = Statement("C7", "edges", "p = 0 returns x unchanged")
P_ONE = Statement("C7", "edges", "p = 1 returns zeros, finite and differentiable")
NEAR = Statement("C7", "edges", "p near 0 or 1: finite, in support, unbiased")
EDGE_RATES = (1e-6, 1 - 1e-6, 1e-3, 1 - 1e-3)
assert all(len(EDGE_RATES) == count for count in CHECKS["edge_keep_rate"].designed.values())


@exact(P_ZERO, cases=lambda kind: cases(kind, p=st.just(0.0), request=ShapeRequest(max_numel=1 << 13)),
       examples=lambda kind: [designed_case(kind, units=1025, dtype="bfloat16", layout="contiguous", p=0.0, seed=0)])
def test_p_zero_is_identity(run: Run, target: Target, case: Case) -> None:
    """p = 0: y == x, element for element (no element dropped, no rescale, no shift).

    Inputs stay under 8192 elements: a float32 ``rand > p`` keep rule drops an element at
    p = 0 only when the draw is exactly 0 (2**-24 a draw), a flaw too small to fail a run
    on; the bfloat16 version (about 1 draw in 500 is 0) is found at once.
    """
    x = case.make_input(run.device)
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, 0.0)
    if not torch.equal(y.to(x.dtype), x):
        changed = int((y != x).sum())
        raise violation(run, P_ZERO, target, expected="y == x", case=case,
                        seen=f"{changed} of {x.numel()} elements differ (e.g. dropped or rescaled)")


@exact(P_ONE, cases=lambda kind: cases(kind, p=st.just(1.0), request=ShapeRequest(min_units=1)),
       examples=lambda kind: [designed_case(kind, units=1025, dtype="float32", layout="contiguous", p=1.0, seed=0)])
def test_p_one(run: Run, target: Target, case: Case) -> None:
    """p = 1: every element dropped, finite (no NaN from 0/0), and backward works. For
    inverted dropout the output is zeros with zero gradients; for alpha dropout the value is
    implementation-defined (PyTorch gives zeros): finite required, values reported."""
    x = case.make_input(run.device).detach().requires_grad_(True)
    with seeded(run, case.seed):
        y = checked_output(target, x, 1.0)
    values = target.kind.values
    if not bool(torch.isfinite(y.detach()).all()):
        raise violation(run, P_ONE, target, expected="finite values", case=case,
                        seen=f"{int(torch.isnan(y).sum())} NaN and {int(torch.isinf(y).sum())} inf elements")
    if values.zeros_at_p_one and not torch.equal(y.detach(), torch.zeros_like(y)):
        raise violation(run, P_ONE, target, expected="all zeros", case=case,
                        seen=f"{int((y != 0).sum())} nonzero elements")
    if not values.zeros_at_p_one:
        distinct = torch.unique(y.detach().to(torch.float64))[:3].tolist()
        run.note(f"{target.spec}: p = 1 gives {'zeros' if distinct == [0.0] else f'values such as {distinct}'} "
             f"(implementation-defined for {target.kind.name})")
        return
    if not y.requires_grad:
        raise violation(run, P_ONE, target, expected="an output on the autograd graph of x", case=case,
                        seen="an output that does not require grad (graph cut, e.g. torch.zeros_like)")
    try:
        y.backward(torch.ones_like(y))  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    except Exception as error:  # noqa: BLE001 - any failure of backward is the finding
        raise violation(run, P_ONE, target, expected="backward to succeed", case=case,
                        seen=f"backward raised {type(error).__name__}: {error}") from None
    if x.grad is None or not torch.equal(x.grad, torch.zeros_like(x)):
        raise violation(run, P_ONE, target, expected="zero gradients", case=case,
                        seen=f"gradient {None if x.grad is None else x.grad.reshape(-1)[:5].tolist()}")


@claims(NEAR)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("p", [1e-7, 1e-6, 1 - 1e-6, 1 - 1e-7])
def test_near_edges_finite(dropout_target: Target, dropout_run: Run, p: float, dtype: str) -> None:
    """p within 1e-6 of an edge: no NaN, and every value is the kept or dropped one where that fits.

    Where the scale itself overflows the dtype (float16 and 1-p < 1/65504), a kernel that
    scales in the input's dtype cannot be finite (``aten.native_dropout`` on CPU gives NaN
    for dropped elements there): that corner is reported, not judged (``values.unjudged``).
    """
    run = dropout_run
    target = dropout_target
    # magnitude 1e-3 keeps x/(1-p) <= 1e-2 / 1e-7 = 1e5, finite except in float16 (max 65504).
    case = designed_case(target.kind, units=64 * 257, dtype=dtype, layout="contiguous", p=p, seed=7, rows=64,
                         magnitude=1e-3 if dtype != "float16" else 1e-5)
    x = case.make_input(run.device)
    keep = target.keep_probability(p)
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, p)
    if skip_unjudged(run, target, x.dtype, p, f"values ({int(torch.isnan(y).sum())} NaN of {y.numel()})"):
        return
    if torch.isnan(y).any() or torch.isinf(y).any():
        raise violation(run, NEAR, target, expected="finite values", case=case,
                        seen=f"{int(torch.isnan(y).sum())} NaN and {int(torch.isinf(y).sum())} inf elements")
    report = check_support(target.kind, x, y, keep)
    if report.bad:
        raise violation(run, NEAR, target, expected="the kept or dropped value", seen=report.describe(), case=case)


@claims(NEAR)
@pytest.mark.parametrize("p", EDGE_RATES)
def test_edge_keep_rate(dropout_target: Target, dropout_run: Run, p: float) -> None:
    """Near the edges the kept count is still Binomial(n, 1-p) (exact binomial test).

    n is the level's ``edge_samples`` unit decisions (2**22 quick, 2**25 standard, 2**26
    thorough). It finds gross edge bias: at the standard level, with p = 1e-6, about 34 of
    33 million units are dropped, so a dropout that treats a tiny p as 0 (or 1 - 1e-6 as 1:
    P[Poisson(34) = 0] = 2e-15), a clamp, a coarse threshold or a 0.2% rand-is-zero bias is
    seen. The quick level (about 4 expected drops) sees only rates off by a factor of 5 or more.
    """
    run = dropout_run
    target = dropout_target
    if target.kind.one_decision_per_call:
        pytest.skip("n/a: one decision per call: 2**25 calls are out of reach; the keep rate (C3) is tested "
                    "at p in [0.05, 0.95]")
    case = designed_case(target.kind, units=1 << 20, dtype="float32", layout="contiguous", p=p, seed=11, rows=1024)
    q = target.keep_probability(p)
    kept = [0]
    calls = calls_for(run.effects.edge_samples, case.units)

    def count(_: int, keeps: torch.Tensor) -> None:
        kept[0] += int(keeps.sum())

    used = sample_units(run, target, case, calls, count)
    result = binomial_test(kept[0], used * case.units, q, run.alpha_decision, name="keep rate near an edge")
    check_result(run, NEAR, target, result, case, expected=f"keep rate {q:.9g}")
