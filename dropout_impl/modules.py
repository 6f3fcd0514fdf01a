"""``nn.Module`` forms of the reference dropouts, for code that builds layers.

``DropPath(drop_prob)`` follows timm's constructor keyword; ``ChannelDropout(p, spatial)``
wraps ``dropout1d/2d/3d``. They are verified as module targets (``dropout-check
dropout_impl.modules:DropPath``): the suite builds one with each p and switches
``.train()``/``.eval()``.
"""

from __future__ import annotations

import torch
from torch import nn

from .family import drop_path

__all__ = ["DropPath"]


class DropPath(nn.Module):
    """Stochastic depth per sample (``family.drop_path``) as a layer, active in training mode."""

    dropout_kind = "path"

    def __init__(self, drop_prob: float = 0.1, inplace: bool = False) -> None:
        super().__init__()
        # Validated now, so that a bad probability fails where the layer is built.
        drop_path(torch.ones(1), drop_prob, training=False)
        self.drop_prob = drop_prob
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}, inplace={self.inplace}"
