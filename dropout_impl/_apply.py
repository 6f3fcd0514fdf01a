"""The part both reference dropouts share: the short cuts, and turning a drop mask into y.

Given a boolean ``drop`` mask, dropout returns

    y_i = 0                 where drop_i
    y_i = x_i / (1 - p)     elsewhere,

so that E[y_i] = (1 - p) * x_i / (1 - p) = x_i.

Why ``masked_fill`` of ``x * scale`` rather than ``x * mask * scale``:

* autograd saves only the boolean mask (1 byte per element) for the backward pass, where a
  float mask would cost 4 bytes (float32) per element: peak memory stays at PyTorch's own;
* the backward pass is ``grad.masked_fill(drop, 0) * scale``, the forward mask by
  construction, so forward and backward can never disagree;
* a dropped element is exactly 0 even where ``x * scale`` overflows to inf (``inf * 0``
  would be NaN), so the result is finite wherever ``x / (1 - p)`` fits the dtype.

At p = 1 every element is dropped and ``scale`` is set to 0 rather than ``1 / 0``: the
output is zeros that stay on the autograd graph and the gradient is zeros, not NaN.
"""

from __future__ import annotations

import torch

__all__ = ["apply_drop_mask", "compute_dtype", "passthrough"]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype to draw uniforms in and scale in: float64 for float64, float32 otherwise.

    Low-precision dtypes must not be used for either. A bfloat16 uniform has 8 bits of
    resolution and is exactly 0 about 0.2% of the time, which biases the keep rate; a
    float16 scale overflows for p > 1 - 1/65504 and rounds 1/(1-p) to 11 bits.
    """
    return torch.float64 if dtype == torch.float64 else torch.float32


def passthrough(x: torch.Tensor, inplace: bool) -> torch.Tensor:
    """What dropout returns when it drops nothing (p = 0, eval mode, or no elements).

    The input itself when ``inplace``; otherwise a copy, so the result never aliases the
    input (writing into it later cannot change the caller's tensor). The copy stays on the
    autograd graph with gradient 1.
    """
    return x if inplace else x.clone()


def apply_drop_mask(x: torch.Tensor, drop: torch.Tensor, p: float, inplace: bool) -> torch.Tensor:
    """Return ``x`` with the elements where ``drop`` is True zeroed and the rest scaled.

    ``drop`` is a bool tensor with the shape of ``x``. With ``inplace`` the result is ``x``.
    """
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    work_dtype = compute_dtype(x.dtype)
    if work_dtype == x.dtype:
        if inplace:
            return x.mul_(scale).masked_fill_(drop, 0.0)
        return x.mul(scale).masked_fill_(drop, 0.0)
    # float16/bfloat16 (and other narrow floats): scale in float32 and round once at the end.
    y = x.to(work_dtype).mul_(scale).masked_fill_(drop, 0.0).to(x.dtype)
    return x.copy_(y) if inplace else y
