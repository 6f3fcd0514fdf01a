"""Exact expectations for dropout outputs: each element is its kind's kept or dropped value.

Shared by the support (C2), contract (C1), gradient (C9) and edge (C7) properties. One rule
decides the corner where a correct kernel cannot be finite: where the scale itself (1/(1-p),
or alpha dropout's a) exceeds the dtype's largest value, float16 with 1 - p < 1/65504 for
instance, and alpha dropout at p = 1, an exact check reports what it sees and judges nothing
(:func:`unjudged`).
Every exact property that compares values calls it (tests/test_unjudged_corner.py proves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .kinds import Kind

__all__ = ["FLOAT32_P_NOTE", "SupportCheck", "SupportReport", "check_support", "expected_values", "float32_keep",
           "unjudged"]


def unjudged(kind: Kind, dtype: torch.dtype, keep: float) -> str | None:
    """Why an exact check must not judge values at this keep probability, or None.

    Two corners: the kept elements' scale beyond ``dtype``'s largest value (a kernel scaling in
    the input's dtype cannot be finite there), and alpha dropout at p = 1 (its scale is
    infinite; what it returns is implementation-defined).
    """
    if keep <= 0.0:
        return None if kind.values.zeros_at_p_one else f"{kind.name} dropout at p = 1 is implementation-defined"
    if kind.values.kept_gradient(keep) > torch.finfo(dtype).max:
        return f"the scale of kept values overflows {str(dtype).removeprefix('torch.')}"
    return None


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
    float32_p: bool = False  # some kept values match only p rounded to float32 (accepted)
    identity: bool = False  # y equals x everywhere: nothing was dropped or scaled

    def describe(self) -> str:
        text = (
            f"{self.bad:,} of {self.total:,} elements are neither the dropped value nor the kept value; first at "
            f"index {self.index}: x={self.x:.9g}, y={self.y:.9g}, kept value={self.kept:.9g}, "
            f"dropped value={self.dropped:.9g}"
        )
        if self.identity:
            text += ("; the output equals x everywhere: nothing was dropped or rescaled, as in eval mode (did the "
                     "implementation get its training flag? a module whose forward takes `training` as an argument "
                     "ignores .train()), or as in a dropout that rescales by the fraction it kept (1 when it "
                     "dropped nothing) instead of 1/(1-p)")
        return text


def float32_keep(p_keep: float) -> float:
    """The keep probability a kernel uses when it takes p as a float32 (FlashAttention's
    ``float p_dropout``): 1 - float32(1 - keep), within half a float32 ulp of p."""
    return 1.0 - float(torch.tensor(1.0 - p_keep, dtype=torch.float32))


class SupportCheck:
    """Kept and dropped values of one input, computed once, checked against many outputs.

    Accepts values computed from p rounded to float32 too (|p' - p| <= half a float32 ulp of
    p: dropout_verify/docs/CONTRACT.md, C2), and says when only that reading fits.
    """

    def __init__(self, kind: Kind, x: torch.Tensor, keep: float) -> None:
        self.kind, self.x, self.keep = kind, x, keep
        x64 = x.detach().to(torch.float64)
        info = torch.finfo(x.dtype)
        rounded = float32_keep(keep)
        keeps = [keep] + ([rounded] if rounded != keep and 0 < rounded < 1 else [])
        self.kept = [kind.values.kept_value(x64, k).to(x.dtype).to(torch.float64) for k in keeps]
        self.tolerance = [kind.values.tolerance(x64, k, x.dtype) for k in keeps]
        exact = kind.values.kept_value(x64, keep)
        # Where the kept value, give or take the tolerance, reaches past the dtype's largest value,
        # a correct kernel may round to that value or overflow to inf: both are accepted.
        self.overflows = exact.abs() * (1 + 2 * info.eps) >= info.max
        self.sign = torch.sign(exact)
        self.dropped = kind.values.dropped_value(x64, keep).to(x.dtype).to(torch.float64)
        self.dropped_tolerance = kind.values.dropped_tolerance(x64, keep, x.dtype)
        self.max = info.max
        self.any_overflow = bool(self.overflows.any())
        self.exact_drop = bool((self.dropped_tolerance == 0).all())
        self.float32_p_only = False

    def bad(self, y: torch.Tensor) -> torch.Tensor:
        """Elementwise: y is neither the dropped nor the kept value (y may stack outputs)."""
        yd = y.detach().to(torch.float64)
        ok = (yd - self.kept[0]).abs_() <= self.tolerance[0]
        if self.exact_drop:
            ok |= yd == self.dropped
        else:
            ok |= (yd - self.dropped).abs_() <= self.dropped_tolerance
        if self.any_overflow:
            ok |= self.overflows & (torch.isinf(yd) | (yd.abs() == self.max)) & (torch.sign(yd) == self.sign)
        if len(self.kept) > 1 and not bool(ok.all()):
            rounded_p = ((yd - self.kept[1]).abs_() <= self.tolerance[1]) & ~ok
            if bool(rounded_p.any()):
                self.float32_p_only = True
                ok |= rounded_p
        return ~ok

    def report(self, y: torch.Tensor) -> SupportReport:
        """Where the single output y leaves the support: the count and the first such element."""
        bad = self.bad(y)
        count = int(bad.sum())
        if count == 0:
            return SupportReport(0, self.x.numel())
        flat = int(torch.nonzero(bad.reshape(-1))[0])
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), self.x.shape)) if self.x.dim() else ()
        dropped = self.dropped.expand_as(self.kept[0]).reshape(-1)
        identity = y.shape == self.x.shape and bool(torch.equal(y.detach(), self.x.detach()))
        return SupportReport(count, self.x.numel(), index, float(self.x.detach().reshape(-1)[flat]),
                             float(y.detach().to(torch.float64).reshape(-1)[flat]),
                             float(self.kept[0].reshape(-1)[flat]), float(dropped[flat]), identity=identity)


FLOAT32_P_NOTE = ("values computed from p rounded to float32 (|p' - p| <= half a float32 ulp of p), as kernels "
                  "that take p as a float compute them: within contract C2, not a finding (dropout-check --contract)")


def check_support(kind: Kind, x: torch.Tensor, y: torch.Tensor, keep: float) -> SupportReport:
    """Compare y with the support of a correct dropout of ``kind``, element by element."""
    check = SupportCheck(kind, x, keep)
    report = check.report(y)
    return SupportReport(report.bad, report.total, report.index, report.x, report.y, report.kept, report.dropped,
                         check.float32_p_only, report.identity)
