"""C7 edges: p = 0 returns x; p = 1 returns finite zeros that stay differentiable; p within
1e-6 of 0 or 1 stays finite and keeps the right rate.

Bugs it catches: NaN from 0/0 at p = 1, ``torch.zeros_like`` that cuts the autograd graph,
zeros at p = 0 (the notebook's second function), ``rand > p`` dropping elements at p = 0,
p clamped away from its edges, a bfloat16 rand that is 0 about 0.2% of the time.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from .config import current
from .harness import calls_for, check_result, checked_output, contract_settings, seeded, violation
from .levels import CHECKS
from .plugin import NON_FINITE_KEY
from .stats import binomial_test
from .strategies import Case, cases
from .values import check_support

P_ZERO = "C7 edges (p = 0 returns x unchanged)"
P_ONE = "C7 edges (p = 1 returns zeros, finite and differentiable)"
NEAR = "C7 edges (p near 0 or 1: finite, in support, unbiased)"
EDGE_RATES = (1e-6, 1 - 1e-6, 1e-3, 1 - 1e-3)
assert len(EDGE_RATES) == CHECKS["edge_keep_rate"].explicit


@contract_settings()
@given(case=cases(p=st.just(0.0), max_numel=1 << 13))
@example(case=Case((1025,), "bfloat16", "contiguous", 0.0, seed=0))
def test_p_zero_is_identity(dropout_target, case):
    """p = 0: y == x, element for element (no element dropped, no rescale).

    Inputs stay under 8192 elements: a float32 ``rand > p`` keep rule drops an element at
    p = 0 only when the draw is exactly 0 (2**-24 a draw), a flaw too small to fail a
    run on; the bfloat16 version (about 1 draw in 500 is 0) is found at once.
    """
    x = case.make_input(current().device)
    with seeded(case.seed), torch.no_grad():
        y = checked_output(dropout_target, x, 0.0)
    if not torch.equal(y.to(x.dtype), x):
        changed = int((y != x).sum())
        raise violation(P_ZERO, dropout_target, expected="y == x", case=case,
                        seen=f"{changed} of {x.numel()} elements differ (e.g. dropped or rescaled)")


@contract_settings()
@given(case=cases(p=st.just(1.0), min_numel=1))
@example(case=Case((1025,), "float32", "contiguous", 1.0, seed=0))
def test_p_one_is_differentiable_zeros(dropout_target, case):
    """p = 1: y == 0 everywhere (no NaN from 0/0), and backward gives zero gradients."""
    x = case.make_input(current().device).detach().requires_grad_(True)
    with seeded(case.seed):
        y = checked_output(dropout_target, x, 1.0)
    if not torch.equal(y.detach(), torch.zeros_like(y)):
        raise violation(P_ONE, dropout_target, expected="all zeros", case=case,
                        seen=f"{int((y != 0).sum())} nonzero, {int(torch.isnan(y).sum())} NaN elements")
    if not y.requires_grad:
        raise violation(P_ONE, dropout_target, expected="an output on the autograd graph of x", case=case,
                        seen="an output that does not require grad (graph cut, e.g. torch.zeros_like)")
    try:
        y.backward(torch.ones_like(y))
    except Exception as error:  # noqa: BLE001 - any failure of backward is the finding
        raise violation(P_ONE, dropout_target, expected="backward to succeed", case=case,
                        seen=f"backward raised {type(error).__name__}: {error}") from None
    if x.grad is None or not torch.equal(x.grad, torch.zeros_like(x)):
        raise violation(P_ONE, dropout_target, expected="zero gradients", case=case,
                        seen=f"gradient {None if x.grad is None else x.grad.reshape(-1)[:5].tolist()}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("p", [1e-7, 1e-6, 1 - 1e-6, 1 - 1e-7])
def test_near_edges_finite(dropout_target, p, dtype, record_property):
    """p within 1e-6 of an edge: no NaN, and every value is 0 or x/(1-p) where that fits.

    Where the scale 1/(1-p) itself overflows the dtype (float16 and 1-p < 1/65504), a
    kernel that scales in the input's dtype cannot be finite (``aten.native_dropout`` on CPU
    gives NaN for dropped elements there): that corner is reported, not judged.
    """
    # magnitude 1e-3 keeps x/(1-p) <= 1e-2 / 1e-7 = 1e5, finite except in float16 (max 65504).
    case = Case((64, 257), dtype, "contiguous", p, seed=7, magnitude=1e-3 if dtype != "float16" else 1e-5)
    x = case.make_input(current().device)
    with seeded(case.seed), torch.no_grad():
        y = checked_output(dropout_target, x, p)
    scale_overflows = 1 / dropout_target.keep_probability(p) > torch.finfo(x.dtype).max
    if scale_overflows:
        nan = int(torch.isnan(y).sum())
        if nan:
            record_property(NON_FINITE_KEY, f"{dropout_target.spec}: {dtype} at p={p!r} (1/(1-p) overflows {dtype}): "
                                        f"{nan} NaN of {y.numel()}")
        return
    if torch.isnan(y).any() or torch.isinf(y).any():
        raise violation(NEAR, dropout_target, expected="finite values", case=case,
                        seen=f"{int(torch.isnan(y).sum())} NaN and {int(torch.isinf(y).sum())} inf elements")
    report = check_support(x, y, dropout_target.keep_probability(p))
    if report.bad:
        raise violation(NEAR, dropout_target, expected="0 or x/(1-p)", seen=report.describe(), case=case)


@pytest.mark.parametrize("p", EDGE_RATES)
def test_edge_keep_rate(dropout_target, p):
    """Near the edges the kept count is still Binomial(n, 1-p) (exact binomial test).

    n is the level's ``edge_samples`` (2**22 quick, 2**25 standard, 2**26 thorough). It finds
    gross edge bias: at the standard level, with p = 1e-6, about 34 of 33 million elements
    are dropped, so a dropout that treats a tiny p as 0 (or 1 - 1e-6 as 1: P[Poisson(34) = 0]
    = 2e-15), a clamp, a coarse threshold or a 0.2% rand-is-zero bias is seen. The quick
    level (about 4 expected drops) sees only rates off by a factor of about 5 or more.
    """
    run = current()
    case = Case((1024, 1024), "float32", "contiguous", p, seed=11)
    q = dropout_target.keep_probability(p)
    kept = [0]
    calls = calls_for(run.effects.edge_samples, case.numel)
    x = case.make_input(run.device)
    with seeded(case.seed), torch.no_grad():
        for _ in range(calls):
            kept[0] += int((checked_output(dropout_target, x, p) != 0).sum())
    result = binomial_test(kept[0], calls * case.numel, q, run.alpha_decision, name="keep rate near an edge")
    check_result(NEAR, dropout_target, result, case, expected=f"keep rate {q:.9g}")
