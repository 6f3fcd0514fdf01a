"""C6 independence: unit decisions are independent across units and across calls.

Four properties (every phase and lag: test_lags.py; dropout sites: test_sites.py; a call of 2^24
units: test_scale.py):

* pairs: consecutive calls, neighbours in memory (elementwise dropout), and units at
  distances 1, 2, 4, 8, ... along every axis of the unit tensor (batch, channels, rows,
  columns) are independent, tested given each position's margins (``stats.pairs``), so a
  biased or position-dependent keep rate is not called a correlation;
* dispersion: the count of kept units in one call has the binomial variance m q (1-q),
  neither more (rows or batches dropped together) nor less ("exactly k kept");
* periodicity: no lag, within a call or across the next calls, repeats the mask;
* repeats: no stretch of any mask of the whole run repeats a stretch of another, or of itself
  at another offset (windows of every mask, ``masks``).

Bugs they catch: a mask broadcast over the batch, rows dropped whole, decisions shared by
neighbouring channels, groups of 4 elements sharing one random draw, masks that repeat
after some period or across steps (RNG offset not advanced), a fixed seed inside the
function, "exactly round(q m)" kept per call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from dropout_verify.decision import Decision
from dropout_verify.harness import (
    Statement,
    check_result,
    claims,
    sample_units,
    statistical,
    violation,
)
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.masks import HASHED_UNITS, memory_order, memory_sequence
from dropout_verify.power import dispersion_calls, pair_calls
from dropout_verify.run import Run
from dropout_verify.stats import PairCounts, combine_pairings, dispersion_test, independence_test, periodicity_test
from dropout_verify.strategies import DESIGNED_P, Case, cases, cells_from, designed_case, probabilities
from dropout_verify.targets import Target

PAIRS = Statement("C6", "independence", "neighbouring units, rows and consecutive calls independent")
DISPERSION = Statement("C6", "independence", "per-call kept-unit count has binomial variance")
PERIODIC = Statement("C6", "independence", "no repeated or periodic mask")


def unit_order(keeps: torch.Tensor, x: torch.Tensor, kind: Kind) -> torch.Tensor:
    """Unit decisions of a batch (calls, *unit shape) flattened per call, in memory order.

    Kernels draw their random numbers in memory order, so that is where neighbours share
    draws (a channels_last or transposed tensor differs from the logical order). Units of
    channel and path kinds are (n, c) slices and samples: in the unit tensor's logical order.
    """
    return memory_sequence(keeps, x, kind.unit_dims(x.dim()) == x.dim())


# ----------------------------------------------------------------------------- pairs

PAIR_REQUEST = ShapeRequest(min_units=4096, max_units=1 << 16, max_numel=1 << 17, min_rows=2, max_unit_elements=4)


@dataclass(frozen=True)
class Pairing:
    """Disjoint pairs of units that must be independent: flat unit indices (logical order),
    or consecutive calls (``first`` None)."""

    name: str
    first: torch.Tensor | None
    second: torch.Tensor | None
    per_call: float  # replicates one call adds to each stratum
    strata: int  # pairs per call (each position pair is a stratum); for consecutive calls, the units


MAX_DISTANCE = 1024  # farther structure is the periodicity scan's (every lag) and homogeneity's


def pairings(kind: Kind, x: torch.Tensor) -> list[Pairing]:
    """Consecutive calls; neighbours in memory (elementwise kinds); and along every axis of the
    unit tensor, units at distances 1, 2, 4, 8, ..., 1024 (disjoint pairs: i and i + L for i in
    the even blocks of length L). A mask tiled every 64 rows, or rows two apart sharing draws in a
    tiled kernel, is a correlation at that axis and distance."""
    unit_shape = kind.unit_shape(tuple(x.shape))
    units = max(kind.unit_count(tuple(x.shape)), 1)
    found = [Pairing("consecutive calls", None, None, 0.5, units)]
    if units < 2:
        return found
    index = torch.arange(units).reshape(unit_shape)
    if kind.unit_dims(x.dim()) == x.dim():
        order = memory_positions(x)
        half = units // 2
        found.append(Pairing("neighbours in memory", order[0 : 2 * half : 2], order[1 : 2 * half : 2], 1.0, half))
    for axis, (size, name) in enumerate(zip(unit_shape, kind.axis_names(unit_shape))):
        distance = 1
        while distance < min(size, MAX_DISTANCE + 1):
            starts = torch.tensor([i for i in range(size - distance) if (i // distance) % 2 == 0])
            first = index.index_select(axis, starts).reshape(-1)
            second = index.index_select(axis, starts + distance).reshape(-1)
            found.append(Pairing(f"{name} at distance {distance}", first, second, 1.0, int(first.numel())))
            distance *= 2
    return found


def memory_positions(x: torch.Tensor) -> torch.Tensor:
    """Flat logical indices of x's elements in the order they lie in memory."""
    if x.dim() == 0:
        return torch.zeros(1, dtype=torch.long)
    index = torch.arange(x.numel()).reshape(x.shape)
    return index.permute(memory_order(x)).reshape(-1)


# The fifteen other cells of each check below (strategies.cells_from) get small designs, so that
# every cell meets every check for tens of ms each. Pairs: about 4,600 units in 48 rows of 97
# (every distance's pairing then has thousands of pairs a call, and the plan's minimum of 64 to
# 90 calls suffices; a row of 65 has one pair at distance 64, and needs 13,000 calls).
CELL_PAIR_ROWS, CELL_PAIR_WIDTH = 48, 97
CELL_PAIR_P = (0.05, 0.95)  # one plan each (a pair plan costs 0.1 to 0.5 s), keep and drop rare in turn


def _pair_examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.1, seed=7, rows=2,
                              unit_elements=3)]
    cells = cells_from(1)
    large = [designed_case(kind, units=130 * 505, dtype=dtype, layout=layout, p=p, seed=70 + i, rows=130)
             for i, ((dtype, layout), p) in enumerate(zip(cells[:5], DESIGNED_P))]
    small = [designed_case(kind, units=CELL_PAIR_ROWS * CELL_PAIR_WIDTH, dtype=dtype, layout=layout,
                           p=CELL_PAIR_P[i % 2], seed=570 + i, rows=CELL_PAIR_ROWS)
             for i, (dtype, layout) in enumerate(cells[5:])]
    return large + small


@statistical("independence", PAIRS, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=PAIR_REQUEST),
             examples=_pair_examples)
def test_pairs_uncorrelated(run: Run, target: Target, case: Case) -> None:
    """Paired decisions are independent given their positions' margins: consecutive calls,
    neighbours in memory, and units at distances 1, 2, 4, ... along every axis. One decision
    (Bonferroni over the pairings); the calls are planned so that each pairing finds a
    correlation of the level's size with power 0.999 at its share of alpha."""
    kind = target.kind
    x = case.make_input(run.device)
    found = [pairing for pairing in pairings(kind, x) if pairing.strata > 0]
    alpha = run.alpha_decision / len(found)
    calls = pair_calls({p.name: (p.strata, p.per_call) for p in found}, run.effects.correlation, alpha, POWER,
                       target.keep_probability(case.p))
    counts = [PairCounts(pairing.strata) for pairing in found]
    carry: list[np.ndarray] = []

    indices = [(p.first.numpy(), p.second.numpy()) if p.first is not None and p.second is not None else None
               for p in found]

    def count(_: int, keeps: torch.Tensor) -> None:
        flat = keeps.reshape(keeps.shape[0], -1).cpu().numpy()
        for index, pair_counts in zip(indices, counts):
            if index is not None:
                pair_counts.add(np.take(flat, index[0], axis=1), np.take(flat, index[1], axis=1))
        sequence = np.concatenate([*carry, flat]) if carry else flat
        usable = sequence.shape[0] // 2 * 2
        counts[0].add(sequence[0:usable:2], sequence[1:usable:2])
        carry[:] = [sequence[usable:]] if usable < sequence.shape[0] else []

    sample_units(run, target, case, calls, count, x=x)
    results = [independence_test(c, alpha, f"independence of {p.name}") for p, c in zip(found, counts)]
    check_result(run, PAIRS, target, combine_pairings(results, run.alpha_decision, "independence of paired decisions"),
                 case, expected=f"no correlation between paired units or calls (detects |rho| >= "
                                f"{run.effects.correlation:g} in each of {len(found)} pairings with power {POWER})")


# ----------------------------------------------------------------------------- dispersion

DISPERSION_REQUEST = ShapeRequest(min_units=16, max_units=4096, max_numel=1 << 15, max_unit_elements=4)


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return "one decision per call: the per-call count is that decision, its variance fixed by the keep rate (C3)"
    return None


CELL_DISPERSION_UNITS = (45, 64, 77, 96, 50)  # each dispersion example costs ~10,000 calls: small m, cheap calls


def _dispersion_examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return []
    cells = cells_from(2)
    large = [designed_case(kind, units=units, dtype=dtype, layout=layout, p=p, seed=80 + i,
                           rows=16 if units > 64 else 2)
             for i, ((dtype, layout), p, units) in enumerate(zip(cells[:5], DESIGNED_P, (1024, 31, 4096, 257, 100)))]
    small = [designed_case(kind, units=units, dtype=dtype, layout=layout, p=DESIGNED_P[(i + 3) % 5], seed=600 + i,
                           rows=4)
             for i, ((dtype, layout), units) in enumerate(zip(cells[5:], CELL_DISPERSION_UNITS * 3))]
    return large + small


@statistical("dispersion", DISPERSION,
             cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=DISPERSION_REQUEST),
             examples=_dispersion_examples, applies=_several_units)
def test_kept_count_dispersion(run: Run, target: Target, case: Case) -> None:
    """Var[kept units in a call] = m q (1-q): two-sided test on T calls (saddlepoint tails)."""
    q = target.keep_probability(case.p)
    calls = dispersion_calls(run.effects.variance_ratio, run.alpha_decision, POWER, case.units, q)
    counts: list[torch.Tensor] = []
    sample_units(run, target, case, calls, lambda _, keeps: counts.append(keeps.reshape(keeps.shape[0], -1).sum(1)))
    result = dispersion_test(torch.cat(counts).cpu().numpy(), case.units, q, run.alpha_decision)
    check_result(run, DISPERSION, target, result, case,
                 expected=f"kept counts spread about m q as Binomial(m, q), ratio 1 (detects a variance "
                          f"x{run.effects.variance_ratio:g} or /{run.effects.variance_ratio:g} with power {POWER})",
                 seen=f"kept counts spread {result.estimate:.4g} x the binomial variance about m q (the test "
                      f"accepts [{result.ci[0]:.4g}, {result.ci[1]:.4g}]; the sample variance and the mean below "
                      "tell overdispersion from a keep rate off q)")


# ----------------------------------------------------------------------------- periodicity

PERIOD_CALLS = 4  # masks of this many consecutive calls are scanned as one sequence
PERIOD_LENGTH = 1 << 13  # decisions scanned when each call makes one
PERIOD_REQUEST = ShapeRequest(min_units=1 << 12, max_units=1 << 16, max_numel=1 << 17, max_unit_elements=2)
CELL_PERIOD_UNITS = (1028, 2049, 1500, 4100, 1333)  # four calls each: a few thousand decisions


def _period_examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.3, seed=9, rows=2,
                              unit_elements=2)]
    cells = cells_from(3)
    large = [designed_case(kind, units=units, dtype=dtype, layout=layout, p=p, seed=90 + i, rows=4, unit_elements=2)
             for i, ((dtype, layout), p, units) in enumerate(zip(cells[:5], DESIGNED_P,
                                                                 (4 * 8 * 16 * 33, 4099, 1 << 15, 65537, 12345)))]
    small = [designed_case(kind, units=units, dtype=dtype, layout=layout, p=DESIGNED_P[(i + 4) % 5], seed=620 + i,
                           rows=4, unit_elements=2)
             for i, ((dtype, layout), units) in enumerate(zip(cells[5:], CELL_PERIOD_UNITS * 3))]
    return large + small


@statistical("periodicity", PERIODIC,
             cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=PERIOD_REQUEST),
             examples=_period_examples)
def test_no_periodic_mask(run: Run, target: Target, case: Case) -> None:
    """No lag L of the sequence (unit decisions of consecutive calls, in memory order)
    repeats it: a conservative bound at every lag, Bonferroni over all lags; a mask with
    period L, or a call that repeats (or shifts) the previous call's mask, is rejected."""
    q = target.keep_probability(case.p)
    x = case.make_input(run.device)
    chunks: list[torch.Tensor] = []
    calls = PERIOD_CALLS if not target.kind.one_decision_per_call else PERIOD_LENGTH
    sample_units(run, target, case, calls, lambda _, keeps: chunks.append(unit_order(keeps, x, target.kind).cpu()), x=x)
    sequence = torch.cat(chunks).reshape(-1)
    result = periodicity_test(sequence, q, run.alpha_decision, max_lag=sequence.numel() - 1)
    check_result(run, PERIODIC, target, result, case, expected="no lag with correlation (a repeated mask has 1)")


REPEATS = Statement("C6", "independence", "no stretch of any mask repeats, in any call, shape or offset of the run")


@claims(REPEATS)
def test_no_repeated_mask(dropout_target: Target, dropout_run: Run) -> None:
    """Every mask of every statistical call of this run, and 256 calls of its own: no window of
    w units (w = 128 at p = 0.5, 1408 at p = 0.05 or 0.95) anywhere repeats a window anywhere
    else, in another call, another shape or at another offset of the same mask
    (``masks.MaskRegistry``: two windows coincide by chance with probability <= 2^-100). A
    reused stretch of a stream is found at any shift; an exact repeat of a whole mask always.
    Runs after the other properties of the implementation."""
    run = dropout_run
    target = dropout_target
    if target.kind.one_decision_per_call:
        pytest.skip("n/a: one decision per call: a repeating stream is a periodicity (test_no_periodic_mask)")
    case = designed_case(target.kind, units=HASHED_UNITS, dtype="float32", layout="contiguous", p=0.5, seed=95,
                         rows=4)
    sample_units(run, target, case, 256, lambda first, keeps: None)
    registry = run.masks_for(target.spec)
    repeats = registry.repeats
    log_chance = registry.log_chance
    run.record(Decision("repeated windows of the run's masks", float(len(repeats)),
                        min(0.0, log_chance) if repeats else 0.0, registry.units, float(len(repeats)), 0.0,
                        (0.0, 0.0), run.alpha_decision,
                        f"{registry.masks:,} masks ({registry.units:,} units) cut in windows at "
                        f"{len(registry.rates)} keep rates; a chance repeat has probability <= "
                        f"{math.exp(log_chance):.3g}", interval="no interval: a count of repeats"))
    if repeats:
        raise violation(run, REPEATS, target, case=case,
                        expected=f"no window of any mask seen twice (a chance repeat among these "
                                 f"{registry.masks:,} masks has probability <= {math.exp(log_chance):.3g})",
                        seen=f"{len(repeats)} repeats; " + "; ".join(repeats[:3]))
