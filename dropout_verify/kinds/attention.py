"""Attention dropout: elementwise dropout of the (B, H, L, S) attention-weight matrix.

The unit is one attention weight, (batch, head, query row, key column): the dropout inside
an attention kernel (``dropout_verify.attention`` reads its mask). Inputs are 4-D with S, the
key columns, a power of two from 8 to 64 (so that the adapter reads the kernel's scale
exactly, and a fused kernel can hold a row of keys), and as many query rows as the
statistics need. The unit tensor keeps all four axes, named, for the independence checks.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .base import InvertedValues, Kind, ShapeRequest
from .element import EveryElement

__all__ = ["KEY_COLUMNS", "AttentionKind"]

KEY_COLUMNS = (8, 16, 32, 64)


class AttentionKind(Kind):
    name = "attention"
    title = "attention-weight dropout"
    unit = "attention weight (b, h, query row, key column)"
    values = InvertedValues()
    layout = EveryElement()

    def accepts_rank(self, ndim: int) -> bool:
        return ndim == 4

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        return _attention_shapes(request)

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        keys = 32 if units >= 32 * 4 else 8
        batch = min(max(rows, 1), 4)
        heads = 2
        queries = max(1, math.ceil(units / (batch * heads * keys)))
        return (batch, heads, queries, keys)

    def axis_names(self, unit_shape: tuple[int, ...]) -> list[str]:
        return ["batch", "heads", "query rows", "key columns"][: len(unit_shape)]

    @property
    def multi_element_units(self) -> bool:
        return False


@st.composite
def _attention_shapes(draw: st.DrawFn, request: ShapeRequest) -> tuple[int, ...]:
    keys = draw(st.sampled_from(KEY_COLUMNS))
    batch = draw(st.sampled_from((1, 2, 3)))
    heads = draw(st.sampled_from((1, 2, 4)))
    per_query = batch * heads * keys
    low = max(1, math.ceil(request.min_units / per_query))
    high = max(low, min(request.max_units, request.max_numel) // per_query)
    queries = draw(st.one_of(st.sampled_from([q for q in (1, 7, 64, 65, 129) if low <= q <= high] or [low]),
                             st.integers(low, high)))
    return (batch, heads, queries, keys)
