"""Exact expectations for dropout outputs: each element is its kind's kept or dropped value.

Shared by the support (C2), contract (C1), gradient (C9) and edge (C7) properties. One rule
decides the corner where a correct kernel cannot be finite: where the scale itself (1/(1-p),
or alpha dropout's a) exceeds the dtype's largest value, float16 with 1 - p < 1/65504 for
instance, an exact check reports what it sees and judges nothing (:func:`scale_overflows`).
Every exact property that compares values calls it (tests/test_unjudged_corner.py proves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .kinds import Kind

__all__ = ["SupportReport", "check_support", "expected_values", "scale_overflows"]


def scale_overflows(kind: Kind, dtype: torch.dtype, keep: float) -> bool:
    """Whether the kept elements' scale is beyond ``dtype``'s largest value: unjudged."""
    if keep <= 0.0:
        return False
    return kind.values.kept_gradient(keep) > torch.finfo(dtype).max


def expected_values(kind: Kind, x: torch.Tensor, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, dropped) values computed in float64, rounded once to x's dtype, as float64."""
    x64 = x.detach().to(torch.float64)
    kept = kind.values.kept_value(x64, keep).to(x.dtype).to(torch.float64)
    dropped = kind.values.dropped_value(x64, keep).to(x.dtype).to(torch.float64)
    return kept, dropped


@dataclass(frozen=True)
class SupportReport:
    """Where y leaves {dropped value, kept value}: the count and the first such element."""

    bad: int
    total: int
    index: tuple[int, ...] = ()
    x: float = 0.0
    y: float = 0.0
    kept: float = 0.0
    dropped: float = 0.0

    def describe(self) -> str:
        return (
            f"{self.bad:,} of {self.total:,} elements are neither the dropped value nor the kept value; first at "
            f"index {self.index}: x={self.x:.9g}, y={self.y:.9g}, kept value={self.kept:.9g}, "
            f"dropped value={self.dropped:.9g}"
        )


def check_support(kind: Kind, x: torch.Tensor, y: torch.Tensor, keep: float) -> SupportReport:
    """Compare y with the support of a correct dropout of ``kind``, element by element."""
    yd = y.detach().to(torch.float64)
    x64 = x.detach().to(torch.float64)
    kept, dropped = expected_values(kind, x, keep)
    tolerance = kind.values.tolerance(x64, keep, x.dtype)
    close_kept = (yd - kept).abs() <= tolerance
    # A dropped element of inverted dropout is exactly 0; alpha dropout's is a rounded constant.
    close_dropped = (yd - dropped).abs() <= kind.values.dropped_tolerance(x64, keep, x.dtype)
    # Where the kept value, give or take the tolerance, reaches past the dtype's largest value,
    # a correct kernel may round to that value or overflow to inf: both are accepted.
    exact = kind.values.kept_value(x64, keep)
    info = torch.finfo(x.dtype)
    overflows = exact.abs() * (1 + 2 * info.eps) >= info.max
    at_limit = torch.isinf(yd) | (yd.abs() == info.max)
    close_kept |= overflows & at_limit & (torch.sign(yd) == torch.sign(exact))
    ok = close_kept | close_dropped
    bad = int((~ok).sum())
    if bad == 0:
        return SupportReport(0, x.numel())
    flat = int(torch.nonzero((~ok).reshape(-1))[0])
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), x.shape)) if x.dim() else ()
    dropped_flat = dropped.expand_as(kept).reshape(-1)
    return SupportReport(
        bad, x.numel(), index, float(x.detach().reshape(-1)[flat]), float(yd.reshape(-1)[flat]),
        float(kept.reshape(-1)[flat]), float(dropped_flat[flat]),
    )
