"""DropBlock in timm and torchvision: not dropout by design, and wrong in float16.

    python benchmarks/third_party/evidence_dropblock.py

By design (the DropBlock paper, arXiv 1810.12890, Algorithm 1: "A = A x count(M)/count_ones(M)";
timm's comment "Normalize to maintain expected values"): both rescale the kept elements by
numel / (kept count + eps), the fraction kept in this call, not 1/(1-p); and blocks of
``block_size > 1`` overlap, so decisions are not independent. DropBlock is no member of the
family the suite verifies (its C2 finding at ``block_size=1``: kept values are not x/(1-p)).

Defects, in float16 (what autocast gives a layer after a convolution):

* torchvision ``drop_block2d`` sums its keep mask in the input's dtype: a float16 input of more
  than 65504 kept elements makes the sum inf and the scale numel/inf = 0, so the whole output
  is zeros; in bfloat16 the sum is rounded to 8 bits, and the scale with it.
* both return NaN where every element is dropped (at p = 1, or a small map): the scale
  numel/eps overflows float16 to inf, and 0 x inf is NaN (the suite's C7 ``test_p_one``).
"""

from __future__ import annotations

import importlib

import torch
from _common import torchvision_ops, verdict

tv = torchvision_ops()
timm = importlib.import_module("timm.layers")
findings = []
x = torch.ones(2, 3, 10, 10)
torch.manual_seed(0)
y = tv.drop_block2d(x, 0.3, 1)
kept = int((y != 0).sum())
print(f"by design: torchvision drop_block2d(p=0.3, block_size=1) keeps {kept} of {x.numel()}; kept value "
      f"{y[y != 0][0].item():.6f} = numel/kept {x.numel() / kept:.6f}, not 1/(1-p) = {1 / 0.7:.6f}")
big = torch.ones(8, 64, 14, 14, dtype=torch.float16)  # a ResNet stage's map: 100352 elements
torch.manual_seed(0)
out = tv.drop_block2d(big, 0.1, 3)
print(f"torchvision drop_block2d(float16 (8, 64, 14, 14), p=0.1, block_size=3): fraction nonzero "
      f"{(out != 0).float().mean().item():.3f}")
if bool((out == 0).all()):
    findings.append("torchvision drop_block2d zeroes a whole float16 input of more than 65504 elements")
torch.manual_seed(0)
out = timm.drop_block_2d(big, 0.1, 3)
print(f"timm drop_block_2d, same input: fraction nonzero {(out != 0).float().mean().item():.3f} (timm sums in float32)")
torch.manual_seed(0)
out = tv.drop_block2d(big.bfloat16(), 0.1, 3)
exact = big.numel() / int((out != 0).sum())
print(f"torchvision drop_block2d in bfloat16: scale {out[out != 0][0].item():.5f}, numel/kept {exact:.5f}")
small = torch.ones(1, 1, 4, 4, dtype=torch.float16)
for name, call in (("torchvision drop_block2d", lambda: tv.drop_block2d(small, 1.0, 1)),
                   ("timm drop_block_2d", lambda: timm.drop_block_2d(small, 1.0, 1))):
    out = call()
    print(f"{name}(float16, p=1): {int(out.isnan().sum())} NaN of {out.numel()}")
    if bool(out.isnan().any()):
        findings.append(f"{name} returns NaN in float16 when every element is dropped")
verdict(findings)
