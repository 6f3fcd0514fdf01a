"""Exact expectations for dropout outputs: the support {0, x/(1-p)} to the dtype's rounding.

Shared by the support (C2), contract (C1), gradient (C9) and edge (C7) properties.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["SupportReport", "check_support", "expected_kept_values", "tolerance"]


def expected_kept_values(x: torch.Tensor, keep: float) -> torch.Tensor:
    """x_i / (1-p) computed in float64 and rounded once to x's dtype, returned as float64."""
    return (x.detach().to(torch.float64) / keep).to(x.dtype).to(torch.float64)


def tolerance(expected: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Two units of the dtype's precision relative to the value, plus its smallest subnormal.

    A correct kernel rounds at most twice (``x * (1/(1-p))`` rounds 1/(1-p), then the
    product): within two units. A wrong scale (``1/p``, no rescale, a realised-keep-fraction
    normaliser, a scale rounded to 8 bits) is far outside.
    """
    info = torch.finfo(dtype)
    return 2 * info.eps * expected.abs() + info.smallest_normal * info.eps


@dataclass(frozen=True)
class SupportReport:
    """Where y leaves {0, x/(1-p)}: the count and the worst element."""

    bad: int
    total: int
    index: tuple[int, ...] = ()
    x: float = 0.0
    y: float = 0.0
    expected: float = 0.0

    def describe(self) -> str:
        return (
            f"{self.bad:,} of {self.total:,} elements are neither 0 nor x/(1-p); first at index "
            f"{self.index}: x={self.x:.9g}, y={self.y:.9g}, x/(1-p)={self.expected:.9g}"
        )


def check_support(x: torch.Tensor, y: torch.Tensor, keep: float) -> SupportReport:
    """Compare y with the support of a correct dropout, element by element (x finite, nonzero)."""
    yd = y.detach().to(torch.float64)
    expected = expected_kept_values(x, keep)
    close = (yd - expected).abs() <= tolerance(expected, x.dtype)
    # Where x/(1-p), give or take the tolerance, reaches past the dtype's largest value, a
    # correct kernel may round to that value or overflow to inf: both are accepted.
    exact = x.detach().to(torch.float64) / keep
    info = torch.finfo(x.dtype)
    overflows = exact.abs() * (1 + 2 * info.eps) >= info.max
    close |= overflows & torch.isinf(yd) & (torch.sign(yd) == torch.sign(exact))
    ok = (yd == 0) | close
    bad = int((~ok).sum())
    if bad == 0:
        return SupportReport(0, x.numel())
    flat = int(torch.nonzero((~ok).reshape(-1))[0])
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), x.shape)) if x.dim() else ()
    return SupportReport(
        bad, x.numel(), index,
        float(x.detach().reshape(-1)[flat]), float(yd.reshape(-1)[flat]), float(expected.reshape(-1)[flat]),
    )
