"""Shape strategies the kinds build on: sizes where kernels go wrong, units and their elements."""

from __future__ import annotations

import math

from hypothesis import strategies as st

__all__ = ["AWKWARD_SIZES", "BATCH_SIZES", "element_shapes", "split_units"]

# Sizes where kernels go wrong: 1, primes, one past powers of two, odd tails past 1024.
AWKWARD_SIZES = (1, 2, 3, 5, 7, 13, 31, 33, 127, 257, 1023, 1025, 4099, 65537)
# Leading (batch) sizes: small ones, and past 64 and 128 where a kernel may tile a mask of 64 rows.
BATCH_SIZES = (1, 2, 3, 4, 5, 7, 8, 16, 65, 129)


@st.composite
def element_shapes(draw: st.DrawFn, min_numel: int = 0, max_numel: int = 1 << 17, min_dims: int = 0,
                   max_dims: int = 4) -> tuple[int, ...]:
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
    last = 0 if target == 0 else target // rest
    shape = tuple(leading) + (last,)
    if not (min_numel <= math.prod(shape) <= max_numel) or (target > 0 and last == 0):
        shape = (target,) if ndim >= 1 else ()  # a target below the leading product: one dimension
    if len(shape) < min_dims:
        shape = (1,) * (min_dims - len(shape)) + shape
    return shape


@st.composite
def split_units(draw: st.DrawFn, min_units: int, max_units: int, min_rows: int = 1) -> tuple[int, int]:
    """(rows, columns) with rows * columns units in [min_units, max_units] and rows >= min_rows."""
    units = draw(st.one_of(
        st.sampled_from([s for s in AWKWARD_SIZES if min_units <= s <= max_units] or [max(min_units, 1)]),
        st.integers(max(min_units, 1), max(min_units, max_units)),
    ))
    rows = draw(st.sampled_from([b for b in BATCH_SIZES if min_rows <= b <= max(units, min_rows)] or [min_rows]))
    columns = max(1, units // rows)
    while rows * columns < min_units:
        columns += 1
    if rows * columns > max_units and rows > min_rows:
        rows = max(min_rows, max_units // columns)
    return rows, columns
