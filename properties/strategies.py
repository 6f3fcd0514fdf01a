"""Hypothesis strategies for what real callers pass to dropout, and the Case they build.

A :class:`Case` is one fully described example: shape, dtype, layout, drop probability,
value range and torch seed. It is plain data (so Hypothesis shows and shrinks it, and a
failure message prints it), and :meth:`Case.make_input` builds the tensor deterministically
from it on the run's device.

Shapes run from 0-d and empty up to >= 100,000 elements, with sizes 1, primes and odd tails
that are not multiples of 4, 8 or 32 (the tails vectorised kernels get wrong). Layouts are
contiguous, transposed, sliced (strided), channels_last and expanded (stride 0). Values
have both signs and magnitudes over several decades, and are never 0, so that a kept
element is always told from a dropped one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

__all__ = [
    "DTYPES",
    "EDGE_PROBABILITIES",
    "LAYOUTS",
    "Case",
    "cases",
    "probabilities",
    "shapes",
]

DTYPES = ("float32", "float64", "float16", "bfloat16")
LAYOUTS = ("contiguous", "transposed", "sliced", "channels_last", "expanded")
EDGE_PROBABILITIES = (0.0, 1.0, 1e-6, 1 - 1e-6)
# Sizes where kernels go wrong: 1, primes, one past powers of two, odd tails past 1024.
AWKWARD_SIZES = (1, 2, 3, 5, 7, 13, 31, 33, 127, 257, 1023, 1025, 4099, 65537)


@dataclass(frozen=True)
class Case:
    """One example: everything needed to rebuild the input and replay the call."""

    shape: tuple[int, ...]
    dtype: str
    layout: str
    p: float
    seed: int
    magnitude: float = 1.0  # values are +-magnitude * 10**U(-1, 1)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    def make_input(self, device: str) -> torch.Tensor:
        """Build the input tensor (deterministic in the case; global RNG not touched)."""
        generator = torch.Generator().manual_seed(self.seed ^ 0x5EED)
        base_shape = _storage_shape(self.shape, self.layout)
        signs = torch.randint(0, 2, base_shape, generator=generator, dtype=torch.float64) * 2 - 1
        decades = torch.rand(base_shape, generator=generator, dtype=torch.float64) * 2 - 1
        values = (signs * self.magnitude * 10.0**decades).to(self.torch_dtype).to(device)
        return _apply_layout(values, self.shape, self.layout)

    def describe(self) -> str:
        return (
            f"shape={self.shape} dtype={self.dtype} layout={self.layout} p={self.p!r} "
            f"seed={self.seed} magnitude={self.magnitude:g}"
        )


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


@st.composite
def shapes(draw: st.DrawFn, min_numel: int = 0, max_numel: int = 1 << 17, min_dims: int = 0, max_dims: int = 4) -> tuple[int, ...]:
    """Shapes with min_numel <= numel <= max_numel: leading dims small, the last one sized to fit."""
    ndim = draw(st.integers(min_dims, max_dims))
    if ndim == 0:
        if min_numel > 1:
            ndim = 1
        else:
            return ()
    target = draw(
        st.one_of(
            st.sampled_from([s for s in AWKWARD_SIZES if min_numel <= s <= max_numel] or [max(min_numel, 1)]),
            st.integers(max(min_numel, 0), max_numel),
        )
    )
    leading = [draw(st.sampled_from((1, 2, 3, 4, 5, 7, 8))) for _ in range(ndim - 1)]
    rest = math.prod(leading)
    last = target // rest
    if target == 0:
        last = 0
    shape = tuple(leading) + (last,)
    if not (min_numel <= math.prod(shape) <= max_numel) or (target > 0 and last == 0):
        shape = (target,)  # a target below the leading product: fall back to one dimension
    return shape


def probabilities(low: float = 0.0, high: float = 1.0) -> st.SearchStrategy[float]:
    """Drop probabilities in [low, high], rich in the regions where bugs hide."""
    special = [p for p in (0.5, 0.1, 0.9, 0.05, 0.95, 0.3, 0.7, 0.01, 0.99, 1e-3, 1 - 1e-3) if low <= p <= high]
    return st.one_of(st.sampled_from(special), st.floats(low, high, allow_nan=False))


@st.composite
def cases(
    draw: st.DrawFn,
    *,
    p: st.SearchStrategy[float] | None = None,
    min_numel: int = 0,
    max_numel: int = 1 << 17,
    min_dims: int = 0,
    dtypes: tuple[str, ...] = DTYPES,
    layouts: tuple[str, ...] = LAYOUTS,
) -> Case:
    """A full example; the layout is redrawn from those that fit the shape."""
    shape = draw(shapes(min_numel=min_numel, max_numel=max_numel, min_dims=min_dims))
    fitting = [layout for layout in layouts if layout_fits(shape, layout)] or ["contiguous"]
    return Case(
        shape=shape,
        dtype=draw(st.sampled_from(dtypes)),
        layout=draw(st.sampled_from(fitting)),
        p=draw(p if p is not None else probabilities()),
        seed=draw(st.integers(0, 2**63 - 1)),
        magnitude=draw(st.sampled_from((1.0, 1e-3, 1e3))),
    )
