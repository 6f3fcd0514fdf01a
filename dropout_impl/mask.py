"""Dropout by thresholding uniform draws: drop element i when U_i < p.

Grown from the notebook's first function (``mask = torch.rand(x.shape) > drop_prob``), with
its bugs fixed; the README lists them.

With U_i ~ Uniform[0, 1) independent, P(U_i < p) = p, so each element is dropped with
probability p and kept with probability 1 - p. The comparison is ``U < p`` (drop) rather
than the notebook's ``U > p`` (keep) because ``torch.rand`` can return exactly 0: with
``U > p`` an element is dropped at p = 0 whenever U == 0 (one in 2**24 in float32, one in
about 500 in bfloat16). With ``U < p``, p = 0 drops nothing and p = 1 drops everything.

Resolution: uniforms are float32 (24 bits) for every dtype but float64, which gets float64
uniforms (53 bits). The keep rate is then off from 1 - p by at most 2**-24 (float32), far
below what any statistical test here can see, and float16/bfloat16 inputs do not inherit
their own coarse rand (see ``compute_dtype``).
"""

from __future__ import annotations

import torch

from ._apply import apply_drop_mask, compute_dtype, passthrough
from ._validation import check_dropout_args

__all__ = ["dropout_mask"]


def dropout_mask(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Dropout that drops element i when a uniform draw ``U_i`` falls below ``p``.

    Args:
        x: a floating-point tensor of any shape, layout and device.
        p: the probability of dropping an element (PyTorch's convention; keep-probability
            code such as TensorFlow 1's ``keep_prob`` calls ``dropout_mask(x, 1 - keep_prob)``).
        training: when False, return ``x``'s values unchanged and draw nothing.
        inplace: write the result into ``x`` and return ``x``.
        generator: draw from this generator instead of the global one; the global RNG is
            then left untouched.

    Returns:
        ``y`` with ``y_i = 0`` with probability ``p`` and ``y_i = x_i / (1 - p)`` otherwise,
        independently for every element, so ``E[y] = x`` and
        ``Var[y_i] = x_i**2 * p / (1 - p)``. Shape, dtype, device and (for dense inputs)
        strides are those of ``x``. Gradients flow as ``dy_i/dx_i = keep_i / (1 - p)``.

    Raises:
        TypeError, ValueError: for bad arguments, before anything is drawn (see
            ``check_dropout_args``).
    """
    p = check_dropout_args(x, p, training, inplace, generator)
    if not training or p == 0.0 or x.numel() == 0:
        return passthrough(x, inplace)
    # empty_like keeps the strides of dense inputs (channels_last, transposed), so the
    # uniforms line up with x in memory; for an expanded (stride 0) input it allocates one
    # draw per element, so elements that share memory still get independent decisions.
    uniforms = torch.empty_like(x, dtype=compute_dtype(x.dtype)).uniform_(generator=generator)
    drop = uniforms < p
    del uniforms  # free the 4- or 8-byte draws before the output is allocated
    return apply_drop_mask(x, drop, p, inplace)
