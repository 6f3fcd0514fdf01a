"""The caller of a kernel that takes its randomness as an explicit seed and offset.

A Triton or CUDA dropout kernel is called as ``kernel(x, p, seed=s, offset=o)``; its caller owns
the random state. The suite plays that caller the way PyTorch's Philox generator does: one
seed, and an offset that advances past the random numbers each call consumed, so that no two
calls of a run share a random number. A kernel that ignores its offset, or advances past fewer
numbers than it uses, then repeats masks across calls, which the suite's independence and
repeat checks see.

The seed comes from torch's global RNG, which every example seeds (``harness.seeded``): a
seeded example replays exactly, and two seeds give two streams. A stream continues while
nothing else has drawn from the global RNG since its last call (the suite drawing a new input,
or re-seeding, starts a new stream, with a new seed and offset 0). The random state is read on
the CPU generator, whatever the device.
"""

from __future__ import annotations

import torch

__all__ = ["SEED_BOUND", "SeedStream"]

SEED_BOUND = 2**31 - 1  # seeds fit a signed 32-bit kernel argument


class SeedStream:
    """(seed, offset) for each call of one seed-taking target."""

    def __init__(self, *, with_offset: bool, step: int = 1) -> None:
        self.with_offset = with_offset
        self.step = step
        self.seed = 0
        self.offset = 0
        self._after_draw: torch.Tensor | None = None  # the global RNG state right after our last draw

    def _continues(self) -> bool:
        return self.with_offset and self._after_draw is not None and torch.equal(torch.get_rng_state(),
                                                                                self._after_draw)

    def next(self, elements: int) -> tuple[int, int]:
        """The seed and offset of a call that consumes ``elements`` random numbers (at most)."""
        if not self._continues():
            self.seed = int(torch.randint(0, SEED_BOUND, (1,)))
            self.offset = 0
            self._after_draw = torch.get_rng_state()
        seed, offset = self.seed, self.offset
        self.offset += -(-max(elements, 1) // self.step) * self.step
        return seed, offset
