"""The rest of the dropout family: channel, alpha and drop-path dropout (dropout_verify/docs/CONTRACT.md section 2).

Every function draws one Bernoulli drop decision per *unit* and applies it to every element
of the unit, with the signature of the elementwise references::

    f(x, p=0.5, training=True, inplace=False, generator=None)

=====================  ================================  ==========================  =========
function               unit (one decision)               kept element                dropped
=====================  ================================  ==========================  =========
dropout1d/2d/3d        each (n, c) slice of              x / (1-p)                   0
                       (N, C, *spatial) or (C, *spatial)
alpha_dropout          each element                      a x + a A p                 -a A (1-p)
feature_alpha_dropout  each (n, c) slice of (N, C, ...)  a x + a A p                 -a A (1-p)
drop_path              each sample x[n] of (N, ...)      x / (1-p)                   0
drop_path_batch        the whole input                   x / (1-p)                   0
=====================  ================================  ==========================  =========

with A = 1.7580993408473766 (lambda * alpha of SELU) and a = 1 / sqrt((1-p)(1 + A^2 p)), so
that alpha dropout keeps a standard normal input at mean 0 and variance 1.

Inputs: ``dropout1d`` takes 2-D (C, L) or 3-D (N, C, L); ``dropout2d`` 4-D (N, C, H, W), and
3-D read as (C, H, W) (nn.Dropout2d's purpose and PyTorch's announced behaviour; legacy
``F.dropout2d`` reads (N, C, L)); ``dropout3d`` 4-D (C, D, H, W) or 5-D (N, C, D, H, W);
``feature_alpha_dropout`` at least 2-D; ``drop_path`` at least 1-D. Any other rank is a
``ValueError`` that names the shape. At p = 1 alpha dropout's a is infinite: the output is
zeros (as PyTorch's), finite, with zero gradients.
"""

from __future__ import annotations

import math

import torch

from ._apply import apply_drop_mask, compute_dtype, passthrough
from ._validation import check_dropout_args

__all__ = [
    "ALPHA",
    "alpha_dropout",
    "drop_path",
    "drop_path_batch",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]

ALPHA = 1.7580993408473766  # lambda * alpha of SELU (Klambauer et al. 2017); PyTorch's Dropout.cpp


def _check_rank(x: torch.Tensor, ranks: tuple[int, ...] | None, minimum: int, name: str, layout: str) -> None:
    if (ranks is not None and x.dim() not in ranks) or x.dim() < minimum:
        expected = " or ".join(f"{r}-D" for r in ranks) if ranks else f"at least {minimum}-D"
        raise ValueError(f"Expected a {expected} input {layout} for {name}, but got shape={tuple(x.shape)} "
                         f"({x.dim()}-D)")


def _drop_mask(x: torch.Tensor, unit_dims: int, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """One Bernoulli(p) drop decision per unit: shape x.shape[:unit_dims] + (1,) * rest (broadcasts)."""
    shape = tuple(x.shape[:unit_dims]) + (1,) * (x.dim() - unit_dims)
    return torch.empty(shape, dtype=torch.bool, device=x.device).bernoulli_(p, generator=generator)


def _inverted(x: torch.Tensor, p: object, training: bool, inplace: bool, generator: torch.Generator | None,
              unit_dims: int) -> torch.Tensor:
    p_value = check_dropout_args(x, p, training, inplace, generator)
    if not training or p_value == 0.0 or x.numel() == 0:
        return passthrough(x, inplace)
    return apply_drop_mask(x, _drop_mask(x, unit_dims, p_value, generator), p_value, inplace)


def _channel(x: torch.Tensor, p: object, training: bool, inplace: bool, generator: torch.Generator | None,
             spatial: int) -> torch.Tensor:
    _check_rank(x, (spatial + 1, spatial + 2), 0, f"dropout{spatial}d",
                f"((C, {spatial} spatial dims) or (N, C, {spatial} spatial dims))")
    return _inverted(x, p, training, inplace, generator, unit_dims=2 if x.dim() == spatial + 2 else 1)


def dropout1d(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Channel dropout of a (N, C, L) or (C, L) input: each channel x[n, c] kept whole
    (scaled by 1/(1-p)) or zeroed, with probability 1-p and p."""
    return _channel(x, p, training, inplace, generator, 1)


def dropout2d(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Channel dropout of a (N, C, H, W) or (C, H, W) input: each channel x[n, c] kept whole
    (scaled by 1/(1-p)) or zeroed. A 3-D input is (C, H, W), one decision per x[c]."""
    return _channel(x, p, training, inplace, generator, 2)


def dropout3d(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Channel dropout of a (N, C, D, H, W) or (C, D, H, W) input: each x[n, c] kept whole or zeroed."""
    return _channel(x, p, training, inplace, generator, 3)


def _alpha(x: torch.Tensor, p: object, training: bool, inplace: bool, generator: torch.Generator | None,
           unit_dims: int) -> torch.Tensor:
    p_value = check_dropout_args(x, p, training, inplace, generator)
    if not training or p_value == 0.0 or x.numel() == 0:
        return passthrough(x, inplace)
    if p_value == 1.0:  # a = 1/sqrt(0): zeros that stay on the autograd graph (gradient 0)
        return x.mul_(0.0) if inplace else x.mul(0.0)
    keep = 1.0 - p_value
    a = 1.0 / math.sqrt(keep * (1.0 + ALPHA * ALPHA * p_value))
    drop = _drop_mask(x, unit_dims, p_value, generator)
    work = compute_dtype(x.dtype)
    # Kept: a x + a A p; dropped: -a A (1-p). Computed in float32 (float64 for float64) and
    # rounded once; masked_fill gives dropped elements gradient 0 and kept ones gradient a.
    y = x.to(work).mul(a).add_(a * ALPHA * p_value).masked_fill_(drop, -a * ALPHA * keep)
    return x.copy_(y) if inplace else y.to(x.dtype)


def alpha_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Alpha dropout: each element kept as a x + a A p or set to -a A (1-p)."""
    return _alpha(x, p, training, inplace, generator, unit_dims=x.dim() if isinstance(x, torch.Tensor) else 0)


def feature_alpha_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Alpha dropout with one decision per channel x[n, c] of an input of at least 2 dimensions."""
    if isinstance(x, torch.Tensor):
        _check_rank(x, None, 2, "feature_alpha_dropout", "(N, C, ...)")
    return _alpha(x, p, training, inplace, generator, unit_dims=2)


def drop_path(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop-path (stochastic depth per sample): each x[n] kept whole, scaled by 1/(1-p), or zeroed."""
    if isinstance(x, torch.Tensor):
        _check_rank(x, None, 1, "drop_path", "(N, ...)")
    return _inverted(x, p, training, inplace, generator, unit_dims=1)


def drop_path_batch(x: torch.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Drop-path of the whole input (stochastic depth, batch mode): one decision per call."""
    return _inverted(x, p, training, inplace, generator, unit_dims=0)


# The kind each function is (dropout_verify reads this attribute: no --kind needed).
for _function, _kind in ((dropout1d, "channel1d"), (dropout2d, "channel2d"), (dropout3d, "channel3d"),
                         (alpha_dropout, "alpha"), (feature_alpha_dropout, "feature_alpha"),
                         (drop_path, "path"), (drop_path_batch, "path_batch")):
    _function.dropout_kind = _kind  # type: ignore[attr-defined]
del _function, _kind
