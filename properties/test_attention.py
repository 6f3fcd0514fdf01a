"""C9 gradient, for attention kernels: the backward pass uses the forward pass's dropout mask.

An attention kernel that recomputes its dropout mask in the backward pass (FlashAttention does,
from the RNG state it saved) must recompute the very mask of the forward pass. With queries
q = 0, keys k random and values V = I, every score is 0 and every weight 1/S, and the forward
output is the dropped weight matrix D(P) itself (``dropout_verify.attention``), so the forward
mask is known: M = S * out. The loss sum(out * G) then has

    dL/dq = c (1/S) (M G - rowmean(M G)) k,     (M G elementwise; c the softmax scale)

through the dropout's backward and the softmax's: a backward that draws another mask, or
forgets 1/(1-p), gives a gradient that no scale c fits. The scale c is fitted (kernels differ
in it), and must be positive.
Applies to attention targets built by ``attention_target``; the generic C9 property checks the
adapter's gradient with respect to x.
Bugs it catches: a fresh mask in backward, a backward seeded from the wrong RNG offset, the
1/(1-p) scale missing in backward only.
"""

from __future__ import annotations

import torch

from dropout_verify.attention import HEAD_DIM, call_attend
from dropout_verify.errors import NotSupported
from dropout_verify.harness import Statement, exact, seeded, violation
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C9", "gradient", "attention backward uses the forward's mask")


def _attention_only(target: Target) -> str | None:
    if target.declaration.attend is None:
        return "not an attention kernel (dropout_verify.attention.attention_target)"
    if not target.declaration.gradient:
        return "declared without a backward (gradient=False)"
    return None


@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95)),
       examples=lambda kind: [designed_case(kind, units=2 * 2 * 65 * 32, dtype="float32", layout="contiguous", p=0.3,
                                            seed=0, rows=2)],
       applies=_attention_only)
def test_attention_backward_matches_forward(run: Run, target: Target, case: Case) -> None:
    """dL/dq == c (1/S)(M G - rowmean(M G)) k with M the forward's mask and scale (read from the output)."""
    attend = target.declaration.attend
    assert attend is not None  # _attention_only
    batch, heads, queries, keys = case.shape
    device = run.device
    dtype = case.torch_dtype
    if case.dtype not in target.dtypes:  # cannot happen through the harness (it runs declared dtypes)
        raise NotSupported(f"{target.spec} takes {', '.join(target.dtypes)}, not {case.dtype}")
    generator = torch.Generator().manual_seed(case.seed ^ 0xA77)
    q = torch.zeros(batch, heads, queries, HEAD_DIM, dtype=dtype, device=device, requires_grad=True)
    k = torch.randn(batch, heads, keys, HEAD_DIM, generator=generator, dtype=torch.float64).to(dtype).to(device)
    v = torch.eye(keys, dtype=dtype, device=device).expand(batch, heads, keys, keys).contiguous()
    upstream = torch.randn(batch, heads, queries, keys, generator=generator, dtype=torch.float64).to(dtype).to(device)
    layout = target.declaration.layout or "bhld"

    def to_kernel(t: torch.Tensor) -> torch.Tensor:
        return t.transpose(1, 2) if layout == "blhd" else t

    # Forward and backward are the kernel's own code: under the guard (time limit, state undone),
    # so a raise or hang in either is a finding about the kernel, not an error of the suite.
    describe = lambda: f"{target.spec}: attend(q, k, v, {case.p!r}) and its backward"  # noqa: E731

    def forward_and_backward() -> torch.Tensor:
        with seeded(run, case.seed):
            out = to_kernel(call_attend(attend, to_kernel(q), to_kernel(k), to_kernel(v), case.p, target.spec))
        (out * upstream).sum().backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        return out

    out = target.guarded(forward_and_backward, describe)
    if q.grad is None:
        raise violation(run, STATEMENT, target, expected="a gradient for the queries", seen="q.grad is None", case=case)
    mask = out.detach().to(torch.float64) * keys  # the forward's mask times 1/(1-p)
    masked = mask * upstream.to(torch.float64)
    shape = (masked - masked.mean(-1, keepdim=True)) / keys @ k.to(torch.float64)
    grad = q.grad.to(torch.float64)
    scale = float((grad * shape).sum() / (shape * shape).sum().clamp_min(1e-300))
    # Rounding: each entry is a sum over S keys of (M G - rowmean) k / S, computed by the kernel in
    # its own order: within 2 (S + 8) units of the dtype's precision of the sum of magnitudes. A
    # wrong mask moves an entry by about |M G| |k| / S, far outside.
    eps = torch.finfo(dtype).eps
    magnitude = (masked.abs() + masked.mean(-1, keepdim=True).abs()) / keys @ k.to(torch.float64).abs()
    tolerance = 2 * (keys + 8) * eps * (abs(scale) * magnitude + grad.abs()) + torch.finfo(dtype).tiny
    wrong = (grad - scale * shape).abs() > tolerance
    degenerate = not bool(shape.abs().max() > 0)  # every weight dropped: the gradient must vanish
    if (scale <= 0 and not degenerate) or bool(wrong.any()):
        first = int(torch.nonzero(wrong.reshape(-1))[0]) if bool(wrong.any()) else 0
        raise violation(run, STATEMENT, target, case=case,
                        expected="the query gradient of the forward's mask and scale, for some softmax scale c > 0",
                        seen=f"best scale c = {scale:.4g}; {int(wrong.sum())} of {grad.numel()} gradient entries "
                             f"off it; first at flat index {first}: {float(grad.reshape(-1)[first]):.6g} vs "
                             f"{scale * float(shape.reshape(-1)[first]):.6g}")
