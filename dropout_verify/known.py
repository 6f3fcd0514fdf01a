"""Which dropout kind an implementation is, when it says so or when torch's own is named.

An implementation declares its kind with an attribute, ``fn.dropout_kind = "channel2d"``
(the project's reference implementations do). PyTorch's own functions, operators and
classes are known here. Anything else is elementwise unless ``--dropout-kind`` says otherwise.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KIND_ATTRIBUTE", "accepted_ranks", "known_kind"]

KIND_ATTRIBUTE = "dropout_kind"

# Input ranks torch's own channel functions take without error or warning (None: any).
_RANKS: dict[str, tuple[int, ...] | None] = {
    "channel1d": (2, 3),
    "channel2d": (3, 4),
    "channel3d": (4, 5),
    "feature_alpha": (2, 3, 4, 5),
}


def _torch_table() -> list[tuple[Any, str]]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    aten = torch.ops.aten
    return [
        (F.dropout, "element"), (nn.Dropout, "element"), (torch.dropout, "element"),
        (aten.native_dropout, "element"), (aten.native_dropout.default, "element"),
        (aten.dropout, "element"), (aten.dropout.default, "element"),
        (F.dropout1d, "channel1d"), (nn.Dropout1d, "channel1d"),
        (F.dropout2d, "channel2d"), (nn.Dropout2d, "channel2d"),
        (F.dropout3d, "channel3d"), (nn.Dropout3d, "channel3d"),
        (F.alpha_dropout, "alpha"), (nn.AlphaDropout, "alpha"), (torch.alpha_dropout, "alpha"),
        (aten.alpha_dropout, "alpha"), (aten.alpha_dropout.default, "alpha"),
        (F.feature_alpha_dropout, "feature_alpha"), (nn.FeatureAlphaDropout, "feature_alpha"),
        (torch.feature_alpha_dropout, "feature_alpha"),
        (aten.feature_alpha_dropout, "feature_alpha"), (aten.feature_alpha_dropout.default, "feature_alpha"),
    ]


def known_kind(obj: Any) -> str | None:
    """The kind ``obj`` declares or is known to be, or None."""
    from .protocol import declaration_of

    declared = declaration_of(obj).kind
    if isinstance(declared, str):
        return declared
    for known, kind in _torch_table():
        if obj is known:
            return kind
    return None


def accepted_ranks(kind: str) -> tuple[int, ...] | None:
    """Input ranks an implementation of ``kind`` takes (None: any rank)."""
    return _RANKS.get(kind)
