"""Hypothesis strategies for what real callers pass to dropout, and the Case they build.

A :class:`Case` is one fully described example: the dropout kind, shape, dtype, layout, drop
probability, value range and torch seed. It is plain data (so Hypothesis shows and shrinks
it, and a failure message prints it), and :meth:`Case.make_input` builds the tensor
deterministically from it on the run's device.

Shapes come from the kind (``kinds``): elementwise inputs run from 0-d and empty up to
>= 100,000 elements with sizes 1, primes and odd tails that are not multiples of 4, 8 or
32; channel and path inputs have many units of few elements each, batches past 64 and 128.
Layouts are contiguous, transposed, sliced (strided), channels_last and expanded (stride 0).
Values have both signs and magnitudes over several decades, and are never 0, so that a
kept element is always told from a dropped one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

from .kinds import KINDS, Kind, ShapeRequest

__all__ = [
    "CELLS",
    "DESIGNED_P",
    "DTYPES",
    "EDGE_PROBABILITIES",
    "LAYOUTS",
    "Case",
    "cases",
    "cells_from",
    "covering_cells",
    "designed_case",
    "layout_fits",
    "probabilities",
]

DTYPES = ("float32", "float64", "float16", "bfloat16")
LAYOUTS = ("contiguous", "transposed", "sliced", "channels_last", "expanded")
EDGE_PROBABILITIES = (0.0, 1.0, 1e-6, 1 - 1e-6)
ANY_SHAPE = ShapeRequest()


@dataclass(frozen=True)
class Case:
    """One example: everything needed to rebuild the input and replay the call."""

    shape: tuple[int, ...]
    dtype: str
    layout: str
    p: float
    seed: int
    magnitude: float = 1.0  # values are +-magnitude * 10**U(-1, 1)
    kind: str = "element"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def torch_dtype(self) -> torch.dtype:
        dtype = getattr(torch, self.dtype)
        assert isinstance(dtype, torch.dtype)
        return dtype

    @property
    def the_kind(self) -> Kind:
        return KINDS[self.kind]

    @property
    def units(self) -> int:
        return self.the_kind.unit_count(self.shape)

    @property
    def unit_shape(self) -> tuple[int, ...]:
        return self.the_kind.unit_shape(self.shape)

    def make_input(self, device: str) -> torch.Tensor:
        """Build the input tensor (deterministic in the case; global RNG not touched)."""
        generator = torch.Generator().manual_seed(self.seed ^ 0x5EED)
        base_shape = _storage_shape(self.shape, self.layout)
        signs = torch.randint(0, 2, base_shape, generator=generator, dtype=torch.float64) * 2 - 1
        decades = torch.rand(base_shape, generator=generator, dtype=torch.float64) * 2 - 1
        values = self.the_kind.values.prepare(signs * self.magnitude * 10.0**decades)
        return _apply_layout(values.to(self.torch_dtype).to(device), self.shape, self.layout)

    def describe(self) -> str:
        kind = "" if self.kind == "element" else f"kind={self.kind} "
        return (
            f"{kind}shape={self.shape} dtype={self.dtype} layout={self.layout} p={self.p!r} "
            f"seed={self.seed} magnitude={self.magnitude:g}"
        )

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "shape": list(self.shape), "dtype": self.dtype, "layout": self.layout,
                "p": self.p, "seed": self.seed, "magnitude": self.magnitude}


def _storage_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """The shape of the tensor that the layout is cut from."""
    if layout == "transposed":
        return shape[:-2] + (shape[-1], shape[-2])
    if layout == "sliced":
        return shape[:-1] + (2 * shape[-1] + 1,)
    if layout == "expanded":
        return (1,) + shape[1:]
    return shape


def _apply_layout(values: torch.Tensor, shape: tuple[int, ...], layout: str) -> torch.Tensor:
    if layout == "transposed":
        return values.transpose(-1, -2)
    if layout == "sliced":
        return values[..., 1::2]
    if layout == "channels_last":
        return values.contiguous(memory_format=torch.channels_last)
    if layout == "expanded":
        return values.expand(shape)
    return values


def layout_fits(shape: tuple[int, ...], layout: str) -> bool:
    """Whether ``layout`` can be built for ``shape`` (and differs from contiguous)."""
    if layout == "transposed":
        return len(shape) >= 2
    if layout == "sliced":
        return len(shape) >= 1
    if layout == "channels_last":
        return len(shape) == 4
    if layout == "expanded":
        return len(shape) >= 1 and shape[0] > 1
    return True


def probabilities(low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    """Drop probabilities in [low, high], rich in the regions where bugs hide."""
    special = [p for p in (0.5, 0.1, 0.9, 0.05, 0.95, 0.3, 0.7, 0.01, 0.99, 1e-3, 1 - 1e-3) if low <= p <= high]
    return st.one_of(st.sampled_from(special), st.floats(low, high, allow_nan=False))


@st.composite
def cases(
    draw: st.DrawFn,
    kind: Kind,
    *,
    p: st.SearchStrategy[float] | None = None,
    request: ShapeRequest = ANY_SHAPE,
    dtypes: tuple[str, ...] = DTYPES,
    layouts: tuple[str, ...] = LAYOUTS,
    magnitudes: tuple[float, ...] = (1.0, 1e-3, 1e3),
) -> Case:
    """A full example of ``kind``; the layout is redrawn from those that fit the shape."""
    shape = draw(kind.shapes(request))
    fitting = [layout for layout in layouts if layout_fits(shape, layout)] or ["contiguous"]
    return Case(
        shape=shape,
        dtype=draw(st.sampled_from(dtypes)),
        layout=draw(st.sampled_from(fitting)),
        p=draw(p if p is not None else probabilities()),
        seed=draw(st.integers(0, 2**63 - 1)),
        magnitude=draw(st.sampled_from(magnitudes)),
        kind=kind.name,
    )


def designed_case(kind: Kind, *, units: int, dtype: str, layout: str, p: float, seed: int, rows: int = 1,
                  unit_elements: int = 1, magnitude: float = 1.0) -> Case:
    """A designed (explicit) example of ``kind`` with about ``units`` units.

    channels_last asks the kind for a 4-D shape; a kind whose inputs are never 4-D (1-d and
    3-d channel dropout) gets the sliced layout instead, the other non-contiguous layout
    every rank has.
    """
    shape = kind.shape_for(units, rows=rows, unit_elements=unit_elements, ndim=4 if layout == "channels_last" else None)
    if not layout_fits(shape, layout):
        layout = "sliced" if layout_fits(shape, "sliced") else "contiguous"
    return Case(shape, dtype, layout, p, seed, magnitude, kind.name)


# Designed coverage. Every statistical check (keep rate, homogeneity, pairs, dispersion,
# periodicity) has a designed example in every (dtype, layout) cell. The four checks after the
# keep rate list theirs from ``cells_from(shift)``, shift their index: the first five (each
# layout once, dtypes shifted, so that the four checks' first fives together cover all twenty
# cells) are the larger designs; the other fifteen are small, cheap ones. How many of each list
# a level runs is levels.CHECKS' designed count.
DESIGNED_P = (0.5, 0.05, 0.95, 0.3, 0.1)


def covering_cells(shift: int) -> list[tuple[str, str]]:
    """Five cells: layout i with dtype (i + shift) mod 4; shifts 0..3 cover every cell."""
    return [(DTYPES[(index + shift) % len(DTYPES)], layout) for index, layout in enumerate(LAYOUTS)]


def cells_from(shift: int) -> list[tuple[str, str]]:
    """All twenty cells: ``covering_cells(shift)`` first, then the next shifts' fives in turn
    (every five of them cover every layout and every dtype)."""
    return [cell for step in range(len(DTYPES)) for cell in covering_cells(shift + step)]


# All twenty cells, in an order whose first five cover every layout and every dtype.
CELLS = tuple(cells_from(0))
