"""Every large mask an implementation produced in a run, by digest, to find exact repeats (C6).

The run keeps one :class:`MaskRegistry` per implementation (``run.Run.masks_for``); the
sampler adds every large mask of every statistical call, and ``test_no_repeated_mask`` reads
the repeats at the end of the run.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

__all__ = ["HASHED_UNITS", "MaskRegistry"]

HASHED_UNITS = 4096  # masks this large are hashed: two correct ones coincide with probability <= 0.905**4096


class MaskRegistry:
    """The digests of an implementation's large masks in one run, and the repeats found.

    Masks are compared within one (unit shape, keep probability). Two correct masks of u >= 4096
    units at q in [0.05, 0.95] coincide with probability (q^2 + (1-q)^2)^u <= 0.905^4096 = e^-409,
    so a repeat among even 10^12 pairs is a finding, not chance: an RNG offset that is not
    advanced, a seed baked into a graph, a stream that wraps. The same call of the same seed
    replayed (Hypothesis replays a failing example) is no repeat.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[object, ...], dict[bytes, tuple[int, str, int]]] = {}
        self.repeats: list[str] = []

    def add(self, key: tuple[object, ...], seed: int, test: str, first_call: int, keeps: torch.Tensor) -> None:
        rows = np.packbits(keeps.reshape(keeps.shape[0], -1).cpu().numpy(), axis=1)
        known = self.seen.setdefault(key, {})
        for offset, row in enumerate(rows):
            digest = hashlib.blake2b(row.tobytes(), digest_size=16).digest()
            origin = (seed, test, first_call + offset)
            earlier = known.get(digest)
            if earlier is None:
                known[digest] = origin
            elif (earlier[0], earlier[2]) != (seed, first_call + offset) and len(self.repeats) < 20:
                self.repeats.append(f"call {first_call + offset} of seed {seed} ({test}) repeats the mask of call "
                                    f"{earlier[2]} of seed {earlier[0]} ({earlier[1]}): {keeps[0].numel()} units "
                                    f"of shape {tuple(keeps.shape[1:])} at keep rate {key[1]:.6g}")
