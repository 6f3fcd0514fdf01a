"""Keep rates of coarse blocks of one large call: homogeneity across blocks and GPU waves (C5).

One call of N units (in the order a kernel draws them) with K kept is cut in dyadic blocks:
[j 2^s, (j + 1) 2^s) for every scale s from 2^12 units up to the largest with two whole blocks,
the last, partial block of a scale included when it holds 2^12 units or more (2^24 units give
8,190 blocks: 4,096 of 2^12 (a thread block's share), ..., 256 of 2^16, ..., 16 of 2^20 (about one
wave of a data-centre GPU), ..., 2 of 2^23). A kernel whose second wave, second grid-stride pass,
or indices past 2^31 draw differently keeps one of these blocks at another rate.

Given K, under H0 (every unit kept independently at one rate) the K kept units are spread over
the call uniformly, so a block of b units holds k ~ Hypergeometric(N, K, b), whatever the rate:
a biased keep rate is not called an inhomogeneity. Each block's two-sided p-value is exact
(doubling rule: min(1, 2 min(P[<= k], P[>= k]))), and the decision takes the smallest, times the
number of tests (Bonferroni). One more test, the whole call's count K ~ Binomial(N, 1 - p)
(exact), catches a keep rate that is off only at this size; the block tests cannot see it.

A block of b units off by d is found with power about P[Z > z_(alpha / 2T) - d sqrt(b / (q (1-q)
(1 - b/N)))]: ``block_effect`` gives the smallest d with power 0.999.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

from ..decision import LOG2, Decision, format_p
from .binomial import rejection_bounds, two_sided_binomial_log_p

__all__ = ["SMALLEST_BLOCK", "Blocks", "block_counts", "block_effect", "blocks_test", "popcount"]

SMALLEST_BLOCK = 12  # blocks of 2^12 units and up
EVIDENCE_POINTS = 2048

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount(packed: np.ndarray) -> np.ndarray:
    """Set bits of each byte (numpy's bitwise_count where present)."""
    counter = getattr(np, "bitwise_count", None)
    return np.asarray(counter(packed) if counter is not None else _POPCOUNT[packed])


@dataclass(frozen=True)
class Blocks:
    """Every block of one call: its first unit, its size and its kept count."""

    starts: np.ndarray
    sizes: np.ndarray
    kept: np.ndarray


def block_counts(packed: np.ndarray, units: int) -> Blocks:
    """The blocks of a call of ``units`` units packed in bits (np.packbits, big bit order)."""
    base = 1 << SMALLEST_BLOCK
    full = units // base
    per_byte = popcount(packed).astype(np.int64)
    counts = per_byte[: full * base // 8].reshape(full, base // 8).sum(axis=1)
    total = int(per_byte.sum())
    starts, sizes, kept = [], [], []
    scale = SMALLEST_BLOCK
    while units >> scale >= 2:
        size = 1 << scale
        whole = units // size
        level = counts[: whole * (size // base)].reshape(whole, size // base).sum(axis=1)
        starts.append(np.arange(whole, dtype=np.int64) * size)
        sizes.append(np.full(whole, size, dtype=np.int64))
        kept.append(level)
        rest = units - whole * size
        if rest >= base:
            starts.append(np.array([whole * size]))
            sizes.append(np.array([rest]))
            kept.append(np.array([total - int(level.sum())]))
        scale += 1
    return Blocks(np.concatenate(starts), np.concatenate(sizes), np.concatenate(kept))


def _hypergeometric_log_tail(k: np.ndarray, total: int, kept: int, sizes: np.ndarray, *, upper: bool) -> np.ndarray:
    """log P[X <= k] (or P[X >= k]) for X ~ Hypergeometric(total, kept, size), exact.

    scipy's cdf and sf (Boost, vectorised) are fast; its logcdf and logsf sum the law term by
    term in Python-level loops (seconds for thousands of blocks), so they are used only where
    the tail underflows a double (a block far beyond any threshold)."""
    tail = _scipy.hypergeom.sf(k - 1, total, kept, sizes) if upper else _scipy.hypergeom.cdf(k, total, kept, sizes)
    with np.errstate(divide="ignore"):
        logs = np.log(np.asarray(tail, dtype=np.float64))
    tiny = np.flatnonzero(np.asarray(tail) < 1e-290)
    if tiny.size:
        exact = (_scipy.hypergeom.logsf(k[tiny] - 1, total, kept, sizes[tiny]) if upper
                 else _scipy.hypergeom.logcdf(k[tiny], total, kept, sizes[tiny]))
        logs[tiny] = exact
    return np.minimum(logs, 0.0)


def blocks_test(blocks: Blocks, units: int, kept: int, rate: float, alpha: float,
                name: str = "keep rate of every block") -> Decision:
    """Every block at the call's rate (hypergeometric given K), and the call at ``rate`` (binomial)."""
    tests = blocks.sizes.size + 1
    lower = _hypergeometric_log_tail(blocks.kept, units, kept, blocks.sizes, upper=False)
    upper = _hypergeometric_log_tail(blocks.kept, units, kept, blocks.sizes, upper=True)
    per_block = np.minimum(0.0, LOG2 + np.minimum(lower, upper))
    whole = two_sided_binomial_log_p(kept, units, rate)
    worst = int(np.argmin(per_block)) if per_block.size else -1
    worst_log = float(per_block[worst]) if per_block.size else 0.0
    log_p = min(0.0, math.log(tests) + min(worst_log, whole))
    call_rate = kept / units
    if per_block.size and worst_log <= whole:
        size, start = int(blocks.sizes[worst]), int(blocks.starts[worst])
        block_rate = float(blocks.kept[worst]) / size
        estimate, expected = block_rate, call_rate
        sd = math.sqrt(max(call_rate * (1 - call_rate), 1e-300) / size * max(1 - size / units, 1e-12))
        where = (f"worst block: units {start:,} to {start + size:,} ({size:,} units), kept {int(blocks.kept[worst]):,}"
                 f" = {block_rate:.5g} against the call's {call_rate:.5g} ({(block_rate - call_rate) / sd:+.1f} sd; "
                 f"p {format_p(worst_log)} before x{tests:,})")
    else:
        estimate, expected = call_rate, rate
        sd = math.sqrt(rate * (1 - rate) / units)
        where = (f"the whole call: {kept:,} of {units:,} kept = {call_rate:.6g} against {rate:.6g} "
                 f"({(call_rate - rate) / sd:+.1f} sd; p {format_p(whole)} before x{tests:,})")
    finest = blocks.sizes == blocks.sizes.min() if blocks.sizes.size else np.zeros(0, dtype=bool)
    rates = blocks.kept[finest] / blocks.sizes[finest]
    shown = np.unique(np.linspace(0, max(rates.size - 1, 0), min(rates.size, EVIDENCE_POINTS)).astype(int))
    width = (_scipy.norm.isf(alpha / (2 * tests)) * sd)
    return Decision(
        name=name,
        statistic=float(kept),
        log_pvalue=log_p,
        samples=units,
        estimate=estimate,
        expected=expected,
        ci=(estimate - width, estimate + width),
        interval="the rates the test accepts for that block (or the call), about +-z sd",
        alpha=alpha,
        detail=f"{where}; {blocks.sizes.size:,} dyadic blocks of 2^{SMALLEST_BLOCK} units and up, exact tails",
        evidence={"block": (blocks.starts[finest][shown] / max(units, 1)).astype(float).tolist(),
                  "keep rate": rates[shown].astype(float).tolist(), "expected": [call_rate] * shown.size},
    )


MODEL_MARGIN = 1.05  # block_effect's model is measured slightly optimistic (its docstring)


def block_effect(units: int, block: int, rate: float, alpha: float, power: float, tests: int) -> float:
    """The smallest shift d of one block's keep rate (either way) that ``blocks_test`` finds with
    probability ``power``, from the test's own rule.

    The block's thresholds t (exact hypergeometric tails at the nominal count K0 = N q, doubling
    rule, alpha / T) move with the call's count K by b/N a unit: the block of b units, kept at
    q + d, is rejected low when k <= t + (b/N)(k + R - K0), R ~ Binomial(N - b, q) the rest of the
    call; so when k <= (t - b^2 q / N + (b/N) e) / (1 - b/N), e = R - (N - b) q. k's law is exact
    (Binomial(b, q + d), its skew included), e's normal (averaged over 24 Gauss-Hermite nodes).
    d is found by bisection on each side; the larger, plus 5%, is returned: the model alone gave a
    2^20-unit block at p = 0.1 power 0.9983 [0.9973, 0.9990] in the power benchmark (10,000
    replicates), short of 0.999, so the margin is measured there too.
    """
    total = round(units * rate)
    level = alpha / (2 * tests)
    low_threshold, high_threshold = rejection_bounds(_scipy.hypergeom(units, total, block), level)
    nodes, weights = np.polynomial.hermite_e.hermegauss(24)
    weights = weights / weights.sum()
    share = block / units
    e = nodes * math.sqrt((units - block) * rate * (1 - rate))
    drift = block * block * rate / units

    def detected(shift: float) -> float:
        moved = min(max(rate + shift, 0.0), 1.0)
        below = np.floor((low_threshold - drift + share * e) / (1 - share))
        above = np.ceil((high_threshold - drift + share * e) / (1 - share))
        probability = _scipy.binom.cdf(below, block, moved) + _scipy.binom.sf(above - 1, block, moved)
        return float(weights @ probability)

    found = 0.0
    for side, edge in ((-1.0, rate), (1.0, 1 - rate)):
        low, high = 0.0, edge
        if detected(side * high) < power:
            return math.inf
        for _ in range(50):
            middle = (low + high) / 2
            low, high = (low, middle) if detected(side * middle) >= power else (middle, high)
        found = max(found, high)
    return MODEL_MARGIN * found
