"""C9 gradient: dy/dx = mask / (1-p), with the very mask of the forward pass.

Bugs it catches: straight-through gradients (ones), detached outputs (no gradient), a mask
drawn afresh in backward (activation checkpointing without the RNG state), a wrong scale in
backward only.
"""

from __future__ import annotations

import torch
from hypothesis import example, given

from .config import current
from .harness import checked_output, contract_settings, seeded, violation
from .strategies import Case, cases, probabilities

STATEMENT = "C9 gradient (dy/dx = forward mask / (1-p))"


@contract_settings()
@given(case=cases(p=probabilities(0.0, 0.99), min_numel=1))
@example(case=Case((8, 1025), "float32", "contiguous", 0.5, seed=0))
@example(case=Case((2, 3, 5, 7), "float64", "channels_last", 0.2, seed=1))
def test_gradient_matches_forward_mask(dropout_target, case):
    """x.grad == g * (y != 0) / (1-p) for an upstream gradient g, within 2 units of precision."""
    device = current().device
    x = case.make_input(device).detach().requires_grad_(True)
    upstream = torch.randn(case.shape, generator=torch.Generator().manual_seed(case.seed ^ 0xFACE),
                           dtype=torch.float64).to(case.torch_dtype).to(device)
    with seeded(case.seed):
        y = checked_output(dropout_target, x, case.p)
    if not y.requires_grad:
        raise violation(STATEMENT, dropout_target, expected="an output on the autograd graph of x", case=case,
                        seen="an output that does not require grad (detached)")
    try:
        y.backward(upstream)
    except Exception as error:  # noqa: BLE001 - any failure of backward is the finding
        raise violation(STATEMENT, dropout_target, expected="backward to succeed", case=case,
                        seen=f"backward raised {type(error).__name__}: {error}") from None
    if x.grad is None:
        raise violation(STATEMENT, dropout_target, expected="a gradient for x", case=case, seen="x.grad is None")
    keep = dropout_target.keep_probability(case.p)
    kept = (y.detach() != 0).to(torch.float64)
    expected = (upstream.to(torch.float64) * kept / keep).to(case.torch_dtype).to(torch.float64)
    grad = x.grad.to(torch.float64)
    tolerance = 2 * torch.finfo(case.torch_dtype).eps * expected.abs() + torch.finfo(case.torch_dtype).tiny
    wrong = ~((grad - expected).abs() <= tolerance)
    if wrong.any():
        first = int(torch.nonzero(wrong.reshape(-1))[0])
        raise violation(
            STATEMENT, dropout_target, case=case,
            expected="dy_i/dx_i = 1/(1-p) where y_i was kept, 0 where it was dropped",
            seen=(f"{int(wrong.sum())} of {x.numel()} gradient elements differ; first at flat index {first}: "
                  f"forward kept={bool(kept.reshape(-1)[first])}, upstream={float(upstream.reshape(-1)[first]):.6g}, "
                  f"grad={float(grad.reshape(-1)[first]):.6g}, expected={float(expected.reshape(-1)[first]):.6g}"),
        )
