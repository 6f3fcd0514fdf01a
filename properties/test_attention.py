"""C9 gradient, for attention kernels: the backward pass uses the forward pass's dropout mask.

An attention kernel that recomputes its dropout mask in the backward pass (FlashAttention does,
from the RNG state it saved) must recompute the very mask of the forward pass. With queries
and keys zero and values V = I, the forward output is the dropped weight matrix P itself
(``dropout_verify.attention``), and the gradient of sum(out * G) with respect to V is P^T G:
the backward's mask and scale, compared with the forward's, to the dtype's rounding.
Applies to attention targets built by ``attention_target`` (the kernel's own backward; the
generic C9 property checks the adapter's gradient with respect to x).
Bugs it catches: a fresh mask in backward, a backward seeded from the wrong RNG offset, the
1/(1-p) scale missing in backward only.
"""

from __future__ import annotations

import torch

from dropout_verify.attention import HEAD_DIM, call_attend
from dropout_verify.config import current
from dropout_verify.harness import Statement, exact, seeded, violation
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C9", "gradient", "attention backward uses the forward's mask")


def _attention_only(target: Target) -> str | None:
    if getattr(target.fn, "attend", None) is None:
        return "not an attention kernel (dropout_verify.attention.attention_target)"
    return None


@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95)),
       examples=lambda kind: [designed_case(kind, units=2 * 2 * 65 * 32, dtype="float32", layout="contiguous", p=0.3,
                                            seed=0, rows=2)],
       applies=_attention_only)
def test_attention_backward_matches_forward(target: Target, case: Case) -> None:
    """dL/dV == P^T G, P the forward's dropped weights (read from the output, V = I)."""
    attend = target.fn.attend
    batch, heads, queries, keys = case.shape
    device = current().device
    dtype = case.torch_dtype
    accepted = getattr(target.fn, "attention_dtypes", None)
    if accepted is not None and case.dtype not in accepted:
        from dropout_verify.errors import NotSupported

        raise NotSupported(f"{target.spec} takes {', '.join(accepted)}, not {case.dtype}")
    q = torch.zeros(batch, heads, queries, HEAD_DIM, dtype=dtype, device=device)
    k = torch.zeros(batch, heads, keys, HEAD_DIM, dtype=dtype, device=device)
    v = torch.eye(keys, dtype=dtype, device=device).expand(batch, heads, keys, keys).contiguous().requires_grad_(True)
    layout = getattr(target.fn, "attention_layout", "bhld")
    to_kernel = (lambda t: t.transpose(1, 2)) if layout == "blhd" else (lambda t: t)
    upstream = torch.randn(batch, heads, queries, keys, generator=torch.Generator().manual_seed(case.seed ^ 0xA77),
                           dtype=torch.float64).to(dtype).to(device)
    with seeded(case.seed):
        out = to_kernel(call_attend(attend, to_kernel(q), to_kernel(k), to_kernel(v), case.p, target.spec))
    (out * upstream).sum().backward()
    if v.grad is None:
        raise violation(STATEMENT, target, expected="a gradient for the values", seen="V.grad is None", case=case)
    weights = out.detach().to(torch.float64)
    expected = weights.transpose(-1, -2) @ upstream.to(torch.float64)
    grad = v.grad.to(torch.float64)
    eps = torch.finfo(dtype).eps
    tolerance = 4 * eps * (weights.abs().transpose(-1, -2) @ upstream.to(torch.float64).abs()) + torch.finfo(dtype).tiny
    wrong = (grad - expected).abs() > tolerance
    if bool(wrong.any()):
        first = int(torch.nonzero(wrong.reshape(-1))[0])
        raise violation(STATEMENT, target, case=case,
                        expected="dL/dV = P^T G with P the forward's dropped, rescaled weights",
                        seen=f"{int(wrong.sum())} of {grad.numel()} gradient entries differ; first at flat index "
                             f"{first}: {float(grad.reshape(-1)[first]):.6g} vs "
                             f"{float(expected.reshape(-1)[first]):.6g}")
