"""Dropouts that take an explicit seed and offset per call, as Triton and CUDA kernels do.

Written in plain torch with a counter-based generator (the ``lowbias32`` integer hash, applied
twice), so the target protocol's ``randomness="seed"`` is tested without Triton: element i of
a call draws u_i = hash(seed, offset + i) / 2^32 and is kept when u_i >= p. The correct kernel
passes the suite; each mutant breaks how the caller's seed and offset are used.
"""

from __future__ import annotations

import torch

from dropout_verify.protocol import declare

MASK32 = 0xFFFFFFFF


def _times(x: torch.Tensor, constant: int) -> torch.Tensor:
    """x * constant mod 2^32 for 32-bit x in int64, without overflow (16-bit halves of the constant)."""
    low, high = constant & 0xFFFF, constant >> 16
    return (x * low + (((x * high) & 0xFFFF) << 16)) & MASK32


def _hash(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 (Chris Wellons' integer hash): a bijection of 32-bit integers."""
    x = x ^ (x >> 16)
    x = _times(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _times(x, 0x846CA68B)
    return x ^ (x >> 16)


def uniform(seed: int, counters: torch.Tensor) -> torch.Tensor:
    """u in [0, 1) for each 64-bit counter, float64, on a 2^-32 grid."""
    key = _hash(torch.tensor(seed & MASK32, dtype=torch.int64))
    mixed = _hash(_hash((counters & MASK32) ^ key) ^ (counters >> 32))
    return mixed.to(torch.float64) * 2.0**-32


def _drop(x: torch.Tensor, p: float, u: torch.Tensor) -> torch.Tensor:
    if p == 1.0:
        return x * 0.0  # zeros on x's autograd graph
    keep = (u >= p).reshape(x.shape).to(x.device)
    return torch.where(keep, x / (1.0 - p), torch.zeros((), dtype=x.dtype, device=x.device))


def _counters(x: torch.Tensor, offset: int) -> torch.Tensor:
    return offset + torch.arange(x.numel(), dtype=torch.int64)


def seeded_dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, *, seed: int = 0,
                   offset: int = 0) -> torch.Tensor:
    """Correct: element i of the call uses counter offset + i."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"Expected p in [0, 1], but got p={p!r}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"Expected a floating-point x, but got dtype={x.dtype}")
    if not training or p == 0.0:
        return x
    return _drop(x, p, uniform(seed, _counters(x, offset)))


def offset_ignored(x: torch.Tensor, p: float = 0.5, training: bool = True, *, seed: int = 0,
                   offset: int = 0) -> torch.Tensor:
    """Mutant: the offset is never added, so every call with one seed repeats one mask."""
    return seeded_dropout(x, p, training, seed=seed, offset=0)


def offset_halved(x: torch.Tensor, p: float = 0.5, training: bool = True, *, seed: int = 0,
                  offset: int = 0) -> torch.Tensor:
    """Mutant: the offset is read in units of two elements, so consecutive calls overlap by half."""
    return seeded_dropout(x, p, training, seed=seed, offset=offset // 2)


for _kernel in (seeded_dropout, offset_ignored, offset_halved):
    declare(_kernel, randomness="seed")
