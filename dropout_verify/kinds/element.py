"""Elementwise dropout (``F.dropout``, ``nn.Dropout``) and alpha dropout (``F.alpha_dropout``).

Every element is its own unit: the unit tensor is x itself.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .base import AlphaValues, InvertedValues, Kind, ShapeRequest, UnitLayout, Values
from .shapes import element_shapes

__all__ = ["AlphaKind", "ElementKind", "EveryElement"]


class EveryElement(UnitLayout):
    def unit_dims(self, ndim: int) -> int:
        return ndim


class ElementKind(Kind):
    name = "element"
    title = "elementwise dropout"
    unit = "element"
    values: Values = InvertedValues()
    layout = EveryElement()

    def accepts_rank(self, ndim: int) -> bool:
        return True

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        high = min(request.max_units, request.max_numel)
        if request.min_rows > 1:
            return _rows_shapes(request.min_rows, request.min_units, high)
        return element_shapes(min_numel=request.min_units, max_numel=high, min_dims=request.min_dims)

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        rows = max(rows, 1)
        if ndim == 4:
            return (rows, 4, 2, max(1, math.ceil(units / (8 * rows))))
        if rows == 1 and ndim in (None, 1):
            return (units,)
        return (rows, max(1, math.ceil(units / rows)))

    @property
    def multi_element_units(self) -> bool:
        return False


@st.composite
def _rows_shapes(draw: st.DrawFn, min_rows: int, min_units: int, max_units: int) -> tuple[int, ...]:
    """Matrices and batches with at least ``min_rows`` rows."""
    rows = draw(st.sampled_from([r for r in (2, 3, 4, 8, 16, 31, 64, 65, 129) if r >= min_rows]))
    trailing = draw(st.sampled_from(((), (3,), (7,), (2, 5))))
    per_row_low = max(1, math.ceil(min_units / rows) // max(1, math.prod(trailing)))
    per_row_high = max(per_row_low, max_units // rows // max(1, math.prod(trailing)))
    last = draw(st.integers(per_row_low, per_row_high))
    return (rows, *trailing, last)


class AlphaKind(ElementKind):
    name = "alpha"
    title = "alpha dropout"
    values = AlphaValues()
