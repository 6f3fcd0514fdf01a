"""C9 gradient: dy/dx is the kept elements' scale where kept, 0 where dropped, with the very
mask of the forward pass (1/(1-p) for inverted dropout, a for alpha dropout).

Bugs it catches: straight-through gradients (ones), detached outputs (no gradient), a mask
drawn afresh in backward (activation checkpointing without the RNG state), a wrong scale in
backward only.
"""

from __future__ import annotations

import torch

from dropout_verify.harness import Statement, checked_output, exact, seeded, skip_unjudged, violation
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target
from dropout_verify.values import FLOAT32_P_NOTE, float32_keep

STATEMENT = Statement("C9", "gradient", "dy/dx = forward mask x kept scale")


@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.0, 0.99)),
       examples=lambda kind: [
           designed_case(kind, units=8 * 1025, dtype="float32", layout="contiguous", p=0.5, seed=0, rows=8),
           designed_case(kind, units=30, dtype="float64", layout="channels_last", p=0.2, seed=1, rows=2,
                         unit_elements=35)],
       applies=lambda target: None if target.declaration.gradient else "declared without a backward (gradient=False)")
def test_gradient_matches_forward_mask(run: Run, target: Target, case: Case) -> None:
    """x.grad == g * kept * scale for an upstream gradient g, within 2 units of precision."""
    device = run.device
    x = case.make_input(device).detach().requires_grad_(True)
    upstream = torch.randn(case.shape, generator=torch.Generator().manual_seed(case.seed ^ 0xFACE),
                           dtype=torch.float64).to(case.torch_dtype).to(device)
    keep = target.keep_probability(case.p)
    with seeded(run, case.seed):
        y = checked_output(target, x, case.p)
    if not y.requires_grad:
        raise violation(run, STATEMENT, target, expected="an output on the autograd graph of x", case=case,
                        seen="an output that does not require grad (detached)")
    try:
        y.backward(upstream)  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    except Exception as error:  # noqa: BLE001 - any failure of backward is the finding
        raise violation(run, STATEMENT, target, expected="backward to succeed", case=case,
                        seen=f"backward raised {type(error).__name__}: {error}") from None
    if x.grad is None:
        raise violation(run, STATEMENT, target, expected="a gradient for x", case=case, seen="x.grad is None")
    if skip_unjudged(run, target, x.dtype, case.p, "gradient"):
        return
    kept = target.kind.element_keeps(y.detach(), keep).to(torch.float64)
    grad = x.grad.to(torch.float64)
    wrong = torch.ones((), dtype=torch.bool)
    rounded = float32_keep(keep)
    readings = (keep, rounded) if 0 < rounded < 1 else (keep,)
    for index, scale_keep in enumerate(dict.fromkeys(readings)):  # p as given, or held as a float32
        scale = target.kind.values.kept_gradient(scale_keep)
        expected = (upstream.to(torch.float64) * kept * scale).to(case.torch_dtype).to(torch.float64)
        tolerance = 2 * torch.finfo(case.torch_dtype).eps * expected.abs() + torch.finfo(case.torch_dtype).tiny
        mismatch = ~((grad - expected).abs() <= tolerance)
        if index == 0:
            wrong, first_expected = mismatch, expected
        elif not bool(mismatch.any()):
            wrong = mismatch
            run.note(f"{target.spec}: {FLOAT32_P_NOTE}")
    expected = first_expected
    scale = target.kind.values.kept_gradient(keep)
    if wrong.any():
        first = int(torch.nonzero(wrong.reshape(-1))[0])
        raise violation(run,
            STATEMENT, target, case=case,
            expected=f"dy_i/dx_i = {scale:.6g} where y_i was kept, 0 where it was dropped",
            seen=(f"{int(wrong.sum())} of {x.numel()} gradient elements differ; first at flat index {first}: "
                  f"forward kept={bool(kept.reshape(-1)[first])}, upstream={float(upstream.reshape(-1)[first]):.6g}, "
                  f"grad={float(grad.reshape(-1)[first]):.6g}, expected={float(expected.reshape(-1)[first]):.6g}"),
        )
