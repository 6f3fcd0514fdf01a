"""A limit of the suite, shown: torchvision DropBlock's float16 defect, in an otherwise correct dropout.

    dropout-check benchmarks/third_party/mutant_fp16_sum_overflow.py:fp16_sum_overflow   # exit 0: passes

torchvision's ``drop_block2d`` sums its keep mask in the input's dtype; past 65504 kept elements a
float16 sum is inf, and the whole output comes out zeros (``evidence_dropblock.py``). This
dropout is correct but for that one step. At the standard level every property passes (measured:
exit status 0, seed 0): no float16 input whose keep rate the suite tests is that large. A designed
float16 input of 2^17 elements (one call) would catch it.
"""

from __future__ import annotations

import torch


def fp16_sum_overflow(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """Inverted dropout, times 0 when the keep mask's sum in x's dtype overflows."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"Expected p to be a float, but got {type(p).__name__}")
    if not 0 <= p <= 1:
        raise ValueError(f"Expected 0 <= p <= 1, but got p={p}")
    if not x.is_floating_point():
        raise TypeError(f"Expected a floating-point tensor, but got dtype={x.dtype}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = (torch.rand(x.shape, dtype=torch.float64) >= p).to(x.dtype)
    finite = torch.isfinite(keep.sum()).to(x.dtype)  # the defect: a float16 sum past 65504 is inf
    return x * keep / (1 - p) * finite
