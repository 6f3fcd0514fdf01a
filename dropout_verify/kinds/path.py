"""Drop-path (stochastic depth): one decision per sample, or one for the whole call.

``path`` (timm's ``drop_path``, ``torchvision.ops.stochastic_depth(mode="row")``) keeps or
drops each sample ``x[n]`` of an ``(N, ...)`` input whole; ``path_batch``
(``stochastic_depth(mode="batch")``) keeps or drops the whole input. Both scale kept values
by 1/(1-p).
"""

from __future__ import annotations

from hypothesis import strategies as st

from .base import InvertedValues, Kind, ShapeRequest, UnitLayout
from .shapes import element_shapes, split_units

__all__ = ["PathBatchKind", "PathKind"]


class LeadingDims(UnitLayout):
    def __init__(self, dims: int) -> None:
        self.dims = dims

    def unit_dims(self, ndim: int) -> int:
        return min(self.dims, ndim)


class PathKind(Kind):
    name = "path"
    title = "drop-path (per sample)"
    unit = "sample x[n]"
    values = InvertedValues()
    layout = LeadingDims(1)

    def axis_names(self, unit_shape: tuple[int, ...]) -> list[str]:
        return ["samples (n)"][: len(unit_shape)]

    def accepts_rank(self, ndim: int) -> bool:
        return ndim >= 1

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        return _sample_shapes(request)

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        if ndim == 4:
            return (max(units, 1), 2, 2, max(1, unit_elements // 4))
        return (max(units, 1), max(unit_elements, 1))


@st.composite
def _sample_shapes(draw: st.DrawFn, request: ShapeRequest) -> tuple[int, ...]:
    rows, columns = draw(split_units(request.min_units, request.max_units))
    samples = rows * columns
    budget = max(1, min(request.max_unit_elements, request.max_numel // max(samples, 1)))
    trailing_dims = draw(st.integers(0, 3))
    sizes = []
    for _ in range(trailing_dims):
        size = draw(st.sampled_from([s for s in (1, 2, 3, 4, 5, 7, 8, 16) if s <= budget] or [1]))
        sizes.append(size)
        budget = max(1, budget // size)
    return (samples, *sizes)


class PathBatchKind(Kind):
    name = "path_batch"
    title = "drop-path (whole call)"
    unit = "call (the whole input)"
    values = InvertedValues()
    layout = LeadingDims(0)

    def accepts_rank(self, ndim: int) -> bool:
        return True

    def shapes(self, request: ShapeRequest) -> st.SearchStrategy[tuple[int, ...]]:
        # One unit per call, whatever the shape: only the element count is limited.
        return element_shapes(min_numel=1, max_numel=min(request.max_numel, 4096), min_dims=request.min_dims)

    def shape_for(self, units: int, *, rows: int = 1, unit_elements: int = 1,
                  ndim: int | None = None) -> tuple[int, ...]:
        if ndim == 4:
            return (max(rows, 1), 2, 2, max(1, unit_elements // 4))
        return (max(rows, 1), max(unit_elements, 1))

    def canonical_shape(self) -> tuple[int, ...]:
        return (4, 3)

    @property
    def one_decision_per_call(self) -> bool:
        return True


