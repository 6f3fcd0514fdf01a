"""What a member of the dropout family is: its unit of decision, its values and its inputs.

Every member makes one random keep decision per *unit*, keeps it with probability
q = 1 - p independently of every other unit and of earlier calls, and maps each element of
a kept or dropped unit to a fixed value (dropout_verify/docs/CONTRACT.md section 2). A :class:`Kind` says

* which elements share a decision: the unit tensor is ``x``'s first ``unit_dims(x.dim())``
  dimensions (all of them for elementwise dropout, ``(N, C)`` for channel dropout, ``(N,)``
  for drop-path, none for whole-call drop-path), and every trailing element belongs to the
  unit it indexes;
* the kept and dropped value of each element, their rounding tolerance and the gradient of
  a kept element (a dropped one always has gradient 0);
* which inputs it takes (ranks, and shapes for the suite to draw), and how to prepare
  values so that a kept value can never equal the dropped one.

Properties never look at ``y != 0`` or "positions" directly: they ask the kind for the keep
indicator of each unit, and so one suite verifies the whole family.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st

__all__ = ["AlphaValues", "InvertedValues", "Kind", "ShapeRequest", "UnitLayout"]


@dataclass(frozen=True)
class ShapeRequest:
    """What a property needs of its inputs, in units: the kind turns it into shapes."""

    min_units: int = 1
    max_units: int = 1 << 17
    max_numel: int = 1 << 17
    min_rows: int = 1  # units along the unit tensor's first axis (pairs of rows need 2)
    max_unit_elements: int = 64  # elements of one unit (channel and path kinds), beyond 1
    min_dims: int = 0


class UnitLayout(ABC):
    """How elements group into units: the unit tensor is x's first ``unit_dims`` dimensions."""

    @abstractmethod
    def unit_dims(self, ndim: int) -> int:
        """How many leading dimensions of an ``ndim``-dimensional input index the units."""

    def unit_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape[: self.unit_dims(len(shape))])

    def unit_count(self, shape: tuple[int, ...]) -> int:
        return math.prod(self.unit_shape(shape))

    def unit_decisions(self, kept: torch.Tensor, ndim: int | None = None) -> torch.Tensor:
        """The keep decision of each unit (the indicator of its first element), unit-shaped.

        ``ndim`` is the rank of one output when ``kept`` stacks several (a leading call axis).
        A view: statistical properties call this on every batch of calls.
        """
        ndim = kept.dim() if ndim is None else ndim
        trailing = ndim - self.unit_dims(ndim)
        if trailing == 0:
            return kept
        index: tuple[Any, ...] = (Ellipsis, *([0] * trailing))
        return kept[index]

    def disagreeing_units(self, kept: torch.Tensor, ndim: int | None = None) -> tuple[int, tuple[int, ...]]:
        """(units whose elements do not all share one decision, index of the first of them).

        ``ndim`` as in ``unit_decisions``: for a stack of outputs, the index starts with the call."""
        ndim = kept.dim() if ndim is None else ndim
        dims = kept.dim() - ndim + self.unit_dims(ndim)
        trailing = kept.dim() - dims
        if trailing == 0 or kept.numel() == 0:
            return 0, ()
        first = self.unit_decisions(kept, ndim).reshape(*kept.shape[:dims], *([1] * trailing))
        mixed = (kept != first).reshape(*kept.shape[:dims], -1).any(-1)
        count = int(mixed.sum())
        if count == 0:
            return 0, ()
        flat = int(torch.nonzero(mixed.reshape(-1))[0])
        index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), mixed.shape)) if mixed.dim() else ()
        return count, index


class Values(ABC):
    """The kept and dropped value of each element, and what differentiating them gives."""

    #: whether p = 1 must give zeros (False: implementation-defined, finite values reported)
    zeros_at_p_one: bool = True

    @abstractmethod
    def kept_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """The value of a kept element, in float64, from x in float64."""

    @abstractmethod
    def dropped_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        """The value of a dropped element, in float64 (broadcastable to x)."""

    @abstractmethod
    def tolerance(self, x: torch.Tensor, keep: float, dtype: torch.dtype) -> torch.Tensor:
        """Absolute rounding tolerance of an element's value (kept or dropped), float64."""

    def dropped_tolerance(self, x: torch.Tensor, keep: float, dtype: torch.dtype) -> torch.Tensor:
        """Absolute tolerance of a dropped element's value (0: it must be exact)."""
        return self.tolerance(x, keep, dtype)

    @abstractmethod
    def kept_gradient(self, keep: float) -> float:
        """dy/dx of a kept element (dropped elements have gradient 0)."""

    @abstractmethod
    def keep_indicator(self, y: torch.Tensor, keep: float) -> torch.Tensor:
        """Elementwise: is y a kept element? Inputs are prepared so the answer is never close."""

    def prepare(self, values: torch.Tensor) -> torch.Tensor:
        """Make float64 input values safe for this kind (a kept value must differ from the dropped)."""
        return values

    def describe(self) -> str:
        return ""


class InvertedValues(Values):
    """Inverted dropout: kept x/(1-p), dropped 0 (inputs are never 0)."""

    def kept_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        return x / keep

    def dropped_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        return torch.zeros((), dtype=torch.float64, device=x.device)

    def tolerance(self, x: torch.Tensor, keep: float, dtype: torch.dtype) -> torch.Tensor:
        """Two units of the dtype's precision relative to x/(1-p), plus its smallest subnormal.

        A correct kernel rounds at most twice (``x * (1/(1-p))`` rounds 1/(1-p), then the
        product). A wrong scale (``1/p``, none, the realised keep fraction, 8 bits) is far outside.
        """
        info = torch.finfo(dtype)
        return 2 * info.eps * (x / keep).abs() + info.smallest_normal * info.eps

    def dropped_tolerance(self, x: torch.Tensor, keep: float, dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros((), dtype=torch.float64, device=x.device)  # a dropped element is exactly 0

    def kept_gradient(self, keep: float) -> float:
        return 1.0 / keep

    def keep_indicator(self, y: torch.Tensor, keep: float) -> torch.Tensor:
        return y != 0

    def describe(self) -> str:
        return "kept x/(1-p), dropped 0"


# lambda * alpha of SELU (Klambauer et al. 2017); PyTorch's aten/src/ATen/native/Dropout.cpp.
ALPHA_PRIME = 1.7580993408473766


def alpha_scale(keep: float) -> float:
    """a = 1 / sqrt((1-p) (1 + A^2 p)): makes the output variance 1 for a unit-variance input."""
    p = 1.0 - keep
    return 1.0 / math.sqrt(keep * (1.0 + ALPHA_PRIME**2 * p))


class AlphaValues(Values):
    """Alpha dropout: kept a x + a A p, dropped -a A (1-p); mean 0, variance 1 kept for N(0, 1)."""

    zeros_at_p_one = False  # a is infinite at p = 1: implementation-defined (PyTorch gives zeros)

    def kept_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        a = alpha_scale(keep)
        return a * x + a * ALPHA_PRIME * (1.0 - keep)

    def dropped_value(self, x: torch.Tensor, keep: float) -> torch.Tensor:
        return torch.full((), -alpha_scale(keep) * ALPHA_PRIME * keep, dtype=torch.float64, device=x.device)

    def tolerance(self, x: torch.Tensor, keep: float, dtype: torch.dtype) -> torch.Tensor:
        """Four units of the dtype's precision of the terms a|x| and a A (PyTorch's kernel rounds
        a x, a A p and their sum in the input's dtype)."""
        info = torch.finfo(dtype)
        a = alpha_scale(keep)
        return 4 * info.eps * (a * x.abs() + a * ALPHA_PRIME) + info.smallest_normal * info.eps

    def kept_gradient(self, keep: float) -> float:
        return alpha_scale(keep)

    def keep_indicator(self, y: torch.Tensor, keep: float) -> torch.Tensor:
        # Prepared inputs keep |x + A| >= 0.25, so kept values lie >= a/4 from the dropped one.
        a = alpha_scale(keep)
        return (y.to(torch.float32) + a * ALPHA_PRIME * keep).abs() > 0.125 * a

    def prepare(self, values: torch.Tensor) -> torch.Tensor:
        """Move values within 0.25 of -A away (x = -A would make a kept value the dropped one)."""
        near = (values + ALPHA_PRIME).abs() < 0.25
        return torch.where(near, values + 0.5 * torch.sign(values + ALPHA_PRIME + 1e-12), values)

    def describe(self) -> str:
        return "kept a x + a A p, dropped -a A (1-p), a = 1/sqrt((1-p)(1 + A^2 p)), A = 1.7581"


class Kind(ABC):
    """One member of the dropout family (see the module docstring)."""

    name: str = ""
    title: str = ""
    unit: str = ""  # what one decision covers, in words
    values: Values
    layout: UnitLayout

    # ---------------------------------------------------------------- inputs
    @abstractmethod
    def accepts_rank(self, ndim: int) -> bool:
        """Whether the kind takes ``ndim``-dimensional inputs (and the suite draws them)."""

    @abstractmethod
    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        """Shapes this kind takes with ``request.min_units`` to ``request.max_units`` units."""

    @abstractmethod
    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        """A fixed shape with about ``units`` units (``rows`` along the first unit axis), of
        ``ndim`` dimensions where the kind allows it (4 for channels_last)."""

    def canonical_shape(self) -> tuple[int, ...]:
        """A small input every implementation of the kind takes (bad-input tests use it)."""
        return self.shape_for(8, rows=2, unit_elements=2)

    # ---------------------------------------------------------------- units (delegated)
    def unit_dims(self, ndim: int) -> int:
        return self.layout.unit_dims(ndim)

    def unit_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.layout.unit_shape(shape)

    def unit_count(self, shape: tuple[int, ...]) -> int:
        return self.layout.unit_count(shape)

    def axis_names(self, unit_shape: tuple[int, ...]) -> list[str]:
        """What each axis of the unit tensor is, for naming a correlation found along it."""
        return [f"dim {axis}" + (" (rows)" if axis == 0 and len(unit_shape) > 1 else "")
                for axis in range(len(unit_shape))]

    def unit_keeps(self, y: torch.Tensor, keep: float, ndim: int | None = None) -> torch.Tensor:
        """The keep decision of each unit of output ``y`` (a bool tensor of the unit shape);
        ``ndim`` as in ``UnitLayout.unit_decisions`` for a stack of outputs."""
        return self.values.keep_indicator(self.layout.unit_decisions(y, ndim), keep)

    def element_keeps(self, y: torch.Tensor, keep: float) -> torch.Tensor:
        return self.values.keep_indicator(y, keep)

    @property
    def multi_element_units(self) -> bool:
        """Whether a unit can hold several elements (else the shared-decision rule is trivial)."""
        return True

    @property
    def one_decision_per_call(self) -> bool:
        """Whether every call makes a single decision (statistics then cost a call per decision)."""
        return False

    def describe(self) -> str:
        return f"{self.name}: one decision per {self.unit}; {self.values.describe()}"
