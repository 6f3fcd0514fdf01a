"""Triton dropout kernels with one bug each, run on the CPU under Triton's interpreter.

Each mutant is a small ``@triton.jit`` kernel launched as the correct one is
(``examples/triton_dropout.py``: element i keeps when ``tl.rand(seed, offset + i) >= p``, the
suite supplying the seed and advancing the offset), with the bug a Triton kernel's author can
make: an RNG offset ignored or not advanced, blocks whose random counters overlap, a threshold
in low precision, a rate edge left to arithmetic. ``CATCHES`` names the property meant to
catch each (``tests/test_catalog_triton.py`` shows it does, under ``TRITON_INTERPRET=1``).

Run the suite against one yourself::

    TRITON_INTERPRET=1 dropout-check tests.triton_mutants:offset_ignored --level quick -k repeated

Not in the catalog, because no level can see it: ``r > p`` instead of ``r >= p`` on
``tl.rand`` itself. It drops at p = 0 only when the uniform is exactly 0, which ``tl.rand``
gives with probability 2^-31 (31 random bits): one wrong element in about 2e9, where
``test_p_zero_is_identity`` sees at most 200 inputs of at most 8,192 elements (thorough), so a
chance below 0.1% of one drop. The same rule on a coarse uniform (``drops_at_p_zero``, 8 bits)
is caught.
"""

from __future__ import annotations

from typing import Any

import torch
import triton
import triton.language as tl

from examples.triton_dropout import (
    Launch,
    SeededDropout,
    dropout_kernel,
    kept_value,
    launch_elementwise,
    seeded_triton_dropout,
)

# Which property (test function of properties/) each mutant is meant to fail (each at the quick level).
CATCHES: dict[str, str] = {}
MUTANTS: list[str] = []
CORRECT = ["examples/triton_dropout.py:triton_dropout", "tests.triton_mutants:grid_stride_correct"]

BLOCK = 512  # the overlapping-blocks mutant's block (a GPU-sized one): elements 256 apart share draws
STRIDE_BLOCK = 2048  # the grid-stride kernels' block, and their programs: a tile repeats every 8192 elements
PROGRAMS = 4


def _mutant(name: str, kernel: Any, meant: str, *, edges: bool = True,
            function: type[SeededDropout] = SeededDropout, **launch: Any) -> Any:
    fn = seeded_triton_dropout(launch_elementwise(kernel, **launch), edges=edges, function=function)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = getattr(getattr(kernel, "fn", kernel), "__doc__", None)  # the kernel's: what its bug is
    CATCHES[name] = meant
    MUTANTS.append(name)
    return fn


# --------------------------------------------------------------------------- random counters


@triton.jit
def _offset_ignored(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """The offset is never added: every call with one seed draws counters 0, 1, ... and repeats
    one mask (a seed fixed across the calls of a step, a CUDA graph replayed without its offset)."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = tl.rand(seed, index) >= p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _seed_baked_in(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """A constant seed (1234) instead of the seed argument: the offset still advances within a
    stream, but every caller's seed gives the same masks (a seed baked into a compiled graph)."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = tl.rand(1234, offset + index) >= p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _overlapping_blocks(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """Random counters start at pid * BLOCK // 2, data at pid * BLOCK: the second half of each
    block draws what the first half of the next one draws, so elements BLOCK/2 apart share a
    decision (a counter computed in units of two elements)."""
    pid = tl.program_id(0).to(tl.int64)
    index = pid * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = tl.rand(seed, offset + pid * BLOCK // 2 + tl.arange(0, BLOCK)) >= p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _grid_stride_not_advanced(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """A grid-stride loop whose data index advances each iteration but whose RNG counters do not:
    every tile a program visits reuses its first tile's draws, so the mask repeats every
    PROGRAMS * BLOCK elements."""
    pid = tl.program_id(0).to(tl.int64)
    stride = tl.num_programs(0).to(tl.int64) * BLOCK
    counters = offset + pid * BLOCK + tl.arange(0, BLOCK)
    p = tl.cast(p, tl.float32)
    for start in range(pid * BLOCK, n, stride):
        index = start + tl.arange(0, BLOCK)
        inside = index < n
        x = tl.load(x_ptr + index, mask=inside)
        keep = tl.rand(seed, counters) >= p
        tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty),
                 mask=inside)


@triton.jit
def _grid_stride_correct(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """Correct: the same grid-stride loop with counters that follow the data index (offset + i)."""
    pid = tl.program_id(0).to(tl.int64)
    stride = tl.num_programs(0).to(tl.int64) * BLOCK
    p = tl.cast(p, tl.float32)
    for start in range(pid * BLOCK, n, stride):
        index = start + tl.arange(0, BLOCK)
        inside = index < n
        x = tl.load(x_ptr + index, mask=inside)
        keep = tl.rand(seed, offset + index) >= p
        tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty),
                 mask=inside)


# --------------------------------------------------------------------------- threshold precision


@triton.jit
def _uniform_bfloat16(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """The uniform rounded to bfloat16 before the threshold (a half-precision kernel's compute
    dtype): keep probabilities fall on bfloat16's grid, 1/256 apart for p in [0.5, 1). (A GPU
    rounds to nearest; Triton's interpreter truncates float32 to bfloat16: a grid either way.)"""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = tl.rand(seed, offset + index).to(tl.bfloat16) >= p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _threshold_uint8(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """An 8-bit keep rule, random byte against floor(255 p), as fused attention kernels store
    p: the keep probability is 1 - floor(255 p) / 255, on the 1/255 grid."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    byte = (tl.rand(seed, offset + index) * 255.0).to(tl.int32)
    keep = byte >= (p * 255.0).to(tl.int32)
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


# --------------------------------------------------------------------------- edges (no fast path)


@triton.jit
def _nan_at_p_one(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """Multiplies by the mask instead of selecting, x * keep / (1 - p): at p = 1 every element
    is 0 / 0, NaN (and its backward too)."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = (tl.rand(seed, offset + index) >= p).to(tl.float32)
    tl.store(y_ptr + index, kept_value(x * keep, p, WIDE).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _keeps_at_p_one(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """r >= p, with no p = 1 fast path, on a uniform rounded to 8 bits to nearest,
    round(256 u) / 256, which reaches 1.0: at p = 1 one element in 512 is kept, as x / 0 = inf."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    keep = tl.floor(tl.rand(seed, offset + index) * 256.0 + 0.5) / 256.0 >= p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


@triton.jit
def _drops_at_p_zero(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """r > p (not r >= p) on an 8-bit uniform, floor(256 u) / 256, with no p = 0 fast path: at
    p = 0 the uniform is exactly 0 one time in 256, and that element is dropped."""
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)
    coarse = (tl.rand(seed, offset + index) * 256.0).to(tl.int32).to(tl.float32) / 256.0
    keep = coarse > p
    tl.store(y_ptr + index, tl.where(keep, kept_value(x, p, WIDE), 0.0).to(y_ptr.dtype.element_ty), mask=inside)


# --------------------------------------------------------------------------- backward


class _BackwardAtNextOffset(SeededDropout):
    """Forward at (seed, offset), backward at offset + numel: the next call's counters, as when
    the caller's generator advanced between the forward pass and a recomputing backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float, seed: int, offset: int, launch: Launch) -> torch.Tensor:
        ctx.saved = (p, seed, offset + x.numel(), launch)
        return launch(x, p, seed, offset)


offset_ignored = _mutant("offset_ignored", _offset_ignored, "test_no_repeated_mask")
seed_baked_in = _mutant("seed_baked_in", _seed_baked_in, "test_different_seeds_different_masks")
overlapping_blocks = _mutant("overlapping_blocks", _overlapping_blocks, "test_no_periodic_mask", block=BLOCK)
grid_stride_not_advanced = _mutant("grid_stride_not_advanced", _grid_stride_not_advanced, "test_no_periodic_mask",
                                   block=STRIDE_BLOCK, programs=PROGRAMS)
uniform_bfloat16 = _mutant("uniform_bfloat16", _uniform_bfloat16, "test_keep_probability_not_quantised")
threshold_uint8 = _mutant("threshold_uint8", _threshold_uint8, "test_keep_probability_not_quantised")
nan_at_p_one = _mutant("nan_at_p_one", _nan_at_p_one, "test_p_one", edges=False)
keeps_at_p_one = _mutant("keeps_at_p_one", _keeps_at_p_one, "test_p_one", edges=False)
drops_at_p_zero = _mutant("drops_at_p_zero", _drops_at_p_zero, "test_p_zero_is_identity", edges=False)
backward_at_next_offset = _mutant("backward_at_next_offset", dropout_kernel, "test_gradient_matches_forward_mask",
                                  function=_BackwardAtNextOffset)
backward_at_next_offset.__doc__ = _BackwardAtNextOffset.__doc__
# Correct: the grid-stride loop with counters that follow the data index.
grid_stride_correct = seeded_triton_dropout(launch_elementwise(_grid_stride_correct, block=STRIDE_BLOCK,
                                                              programs=PROGRAMS))
