"""Dropout by sampling each element's fate from a Bernoulli distribution.

Grown from the notebook's second function, which built
``torch.distributions.Bernoulli(drop_prob).sample(x.shape)``; the README lists its bugs.
``torch.distributions`` takes no ``generator``, adds a trailing dimension to the sample and
returns a float mask, so this version samples with ``Tensor.bernoulli_`` directly into a bool
tensor: one byte per element, the same distribution.

Each element is dropped with D_i ~ Bernoulli(p), independently. Sampling the drop indicator
D_i with probability p is the same as sampling the keep indicator K_i = 1 - D_i with
probability 1 - p (the notebook's intent); drawing D_i directly saves a negation pass.
"""

from __future__ import annotations

import torch

from ._apply import apply_drop_mask, passthrough
from ._validation import check_dropout_args

__all__ = ["dropout_bernoulli"]


def dropout_bernoulli(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Dropout whose drop mask is sampled as independent ``Bernoulli(p)`` draws.

    Args:
        x: a floating-point tensor of any shape, layout and device.
        p: the probability of dropping an element (PyTorch's convention; keep-probability
            code calls ``dropout_bernoulli(x, 1 - keep_prob)``).
        training: when False, return ``x``'s values unchanged and draw nothing.
        inplace: write the result into ``x`` and return ``x``.
        generator: draw from this generator instead of the global one; the global RNG is
            then left untouched.

    Returns:
        ``y`` with ``y_i = 0`` where ``D_i = 1`` and ``y_i = x_i / (1 - p)`` where
        ``D_i = 0``, so ``E[y] = x`` and ``Var[y_i] = x_i**2 * p / (1 - p)``. Shape, dtype,
        device and (for dense inputs) strides are those of ``x``. Gradients flow as
        ``dy_i/dx_i = (1 - D_i) / (1 - p)``.

    Raises:
        TypeError, ValueError: for bad arguments, before anything is drawn (see
            ``check_dropout_args``).
    """
    p = check_dropout_args(x, p, training, inplace, generator)
    if not training or p == 0.0 or x.numel() == 0:
        return passthrough(x, inplace)
    # One bool per element; for an expanded input empty_like allocates a full tensor, so
    # elements that share memory in x still get independent draws.
    drop = torch.empty_like(x, dtype=torch.bool).bernoulli_(p, generator=generator)
    return apply_drop_mask(x, drop, p, inplace)
