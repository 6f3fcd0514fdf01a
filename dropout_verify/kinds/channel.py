"""Channel ("spatial") dropout: one decision per (n, c) slice of an (N, C, *spatial) input.

``channel1d/2d/3d`` (``F.dropout1d/2d/3d``, ``nn.Dropout2d``, Keras ``SpatialDropout2D``)
take 1, 2 or 3 spatial dimensions, batched ``(N, C, *spatial)`` or unbatched
``(C, *spatial)``. A 3-D input to 2-d channel dropout is ambiguous, ``(C, H, W)`` or
``(N, C, L)`` (pytorch issue 77081): the suite draws only 4-D inputs for ``channel2d`` and
judges 3-D inputs in one property of its own. ``feature_alpha`` (``F.feature_alpha_dropout``)
has the same units, at least 2-D, with alpha dropout's values.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .base import AlphaValues, InvertedValues, Kind, ShapeRequest, UnitLayout
from .shapes import split_units

__all__ = ["ChannelKind", "ChannelSlices", "FeatureAlphaKind"]


class ChannelSlices(UnitLayout):
    """Units are (n, c): the first two dimensions when batched, the first when unbatched."""

    def __init__(self, batched_rank: int | None) -> None:
        self.batched_rank = batched_rank  # None: every input of rank >= 2 is (N, C, ...)

    def unit_dims(self, ndim: int) -> int:
        if self.batched_rank is None:
            return min(ndim, 2)
        return 2 if ndim == self.batched_rank else 1


class ChannelKind(Kind):
    values = InvertedValues()

    def __init__(self, spatial: int) -> None:
        self.spatial = spatial
        self.name = f"channel{spatial}d"
        self.title = f"channel dropout ({spatial}-d)"
        self.unit = "(n, c) slice"
        self.layout = ChannelSlices(batched_rank=spatial + 2)

    def axis_names(self, unit_shape: tuple[int, ...]) -> list[str]:
        return ["batch (n)", "channels (c)"][-len(unit_shape):] if unit_shape else []

    def accepts_rank(self, ndim: int) -> bool:
        # channel2d's unbatched (C, H, W) is 3-D, which legacy code reads as (N, C, L): not drawn.
        return ndim == self.spatial + 2 or (ndim == self.spatial + 1 and self.spatial != 2)

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        return _channel_shapes(self.spatial, request, unbatched=self.spatial != 2)

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        spatial = _spatial_sizes(self.spatial, unit_elements)
        rows = max(rows, 1)
        return (rows, max(1, math.ceil(units / rows)), *spatial)


class FeatureAlphaKind(Kind):
    name = "feature_alpha"
    title = "feature alpha dropout"
    unit = "(n, c) slice"
    values = AlphaValues()
    layout = ChannelSlices(batched_rank=None)

    def axis_names(self, unit_shape: tuple[int, ...]) -> list[str]:
        return ["batch (n)", "channels (c)"][: len(unit_shape)]

    def accepts_rank(self, ndim: int) -> bool:
        return 2 <= ndim <= 5

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        return st.integers(0, 3).flatmap(lambda spatial: _channel_shapes(spatial, request, unbatched=False))

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        rows = max(rows, 1)
        return (rows, max(1, math.ceil(units / rows)), *_spatial_sizes(2, unit_elements))


def _spatial_sizes(dims: int, elements: int) -> tuple[int, ...]:
    """``dims`` sizes whose product is about ``elements`` (the first takes the rest)."""
    if dims == 0:
        return ()
    sizes = [1] * dims
    sizes[-1] = max(1, elements)
    if dims >= 2 and elements >= 4:
        sizes[-2], sizes[-1] = 2, max(1, elements // 2)
    return tuple(sizes)


@st.composite
def _channel_shapes(draw: st.DrawFn, spatial: int, request: ShapeRequest, unbatched: bool) -> tuple[int, ...]:
    """(N, C, *spatial) (or (C, *spatial)) with N*C units and small spatial extents."""
    rows, columns = draw(split_units(request.min_units, request.max_units, max(request.min_rows, 1)))
    budget = max(1, min(request.max_unit_elements, request.max_numel // max(rows * columns, 1)))
    sizes = []
    for _ in range(spatial):
        size = draw(st.sampled_from([s for s in (1, 2, 3, 4, 5, 7, 8, 16, 33) if s <= budget] or [1]))
        sizes.append(size)
        budget = max(1, budget // size)
    if unbatched and request.min_rows <= 1 and draw(st.booleans()):
        return (rows * columns, *sizes)
    return (rows, columns, *sizes)
