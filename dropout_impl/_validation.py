"""Argument checks shared by the reference dropouts.

Every check runs before any random number is drawn or any memory is written, and every
error names the argument, the value it got and the rule it broke (in the style of
Hypothesis: ``Expected ... but got p=1.5``). Validation uses ``raise``, never ``assert``:
assertions vanish under ``python -O`` and would turn a bad call into a silent wrong answer.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = ["check_dropout_args"]

# Dropout scales values by 1/(1-p), so it is only defined for real floating tensors.
# Integer and bool tensors cannot hold x/(1-p); complex ones are rejected because "keep
# or drop an element" has no single meaning for them in PyTorch's own dropout either.
_REJECTED_KINDS = "integer, bool or complex"


def _probability_as_float(p: object) -> float:
    """Return ``p`` as a Python float, or raise ``TypeError`` when it is not a real number."""
    if isinstance(p, torch.Tensor):
        if p.numel() != 1:
            raise TypeError(
                f"Expected p to be a real number or a one-element tensor, but got a tensor "
                f"with shape {tuple(p.shape)} ({p.numel()} elements)"
            )
        if p.is_complex() or p.dtype == torch.bool:
            raise TypeError(f"Expected p to be a real number, but got a {p.dtype} tensor p={p}")
        return float(p.item())
    # bool is a numbers.Real in Python, but dropout(x, True) is almost surely a mistake
    # (a training flag passed in the wrong position), so it is refused by name.
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(
            f"Expected p to be a real number (the drop probability), but got "
            f"p={p!r} of type {type(p).__name__}"
        )
    return float(p)


def check_dropout_args(
    x: object,
    p: object,
    training: object,
    inplace: object,
    generator: object,
) -> float:
    """Validate the arguments of a dropout call and return ``p`` as a float.

    Raises:
        TypeError: ``x`` is not a tensor, or not a floating tensor; ``p`` is not a real
            number; ``training``/``inplace`` are not bools; ``generator`` is not a
            ``torch.Generator``.
        ValueError: ``p`` is NaN, infinite, negative or above 1; the generator lives on
            another device than ``x``; ``inplace=True`` on an input whose elements share
            memory (an expanded tensor), which cannot hold independent results.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Expected x to be a torch.Tensor, but got x of type {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"Expected x to be a floating-point tensor (dropout scales values by 1/(1-p)), "
            f"but got dtype={x.dtype}; {_REJECTED_KINDS} tensors are not supported"
        )
    p_float = _probability_as_float(p)
    # `not 0 <= p <= 1` is also true for NaN, which a `p < 0 or p > 1` test would let through.
    if not 0.0 <= p_float <= 1.0:
        raise ValueError(
            f"Expected p to be a drop probability in [0, 1], but got p={p_float!r}"
            + (" (NaN)" if math.isnan(p_float) else "")
        )
    for name, flag in (("training", training), ("inplace", inplace)):
        if not isinstance(flag, bool):
            raise TypeError(f"Expected {name} to be a bool, but got {name}={flag!r}")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"Expected generator to be a torch.Generator or None, but got "
                f"generator of type {type(generator).__name__}"
            )
        if generator.device.type != x.device.type:
            raise ValueError(
                f"Expected generator on the device of x ({x.device}), but got a generator "
                f"on {generator.device}"
            )
    if inplace and x.numel() > 1 and any(
        stride == 0 and size > 1 for size, stride in zip(x.shape, x.stride())
    ):
        raise ValueError(
            f"Expected a tensor with one memory location per element for inplace=True, but got "
            f"an expanded tensor (shape={tuple(x.shape)}, stride={x.stride()}); its elements "
            f"share memory and cannot be dropped independently. Pass x.clone() or inplace=False"
        )
    return p_float
