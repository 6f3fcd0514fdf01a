"""C6 independence at every phase and lag: a unit and the unit L further on are independent.

Along every axis of the unit tensor, and in logical and in memory order (the order a kernel
draws its random numbers in), every pair (i, i + L) is tested, whatever the phase of i, at
every lag 1..64 and every power of two that leaves a quarter of the axis paired
(``stats.lags``: a centred-product martingale with Freedman's bound, the keep rate taken from
the data so that a biased rate is not called a correlation).

It complements the pair test (``test_pairs_uncorrelated``), which pairs units in disjoint
blocks (i, i + L for i mod 2L < L: one phase), conditions on each position's margins over many
calls (so a position-dependent rate is not called a correlation), reaches distances to 1024
and pairs consecutive calls. Bugs found here only: a tile offset off by one row (rows 16k - 1
and 16k share their draws: lag 1 at the odd phase only), a correlation at distance 3, 5, 6, 7,
... (no power of two), a grid-stride loop that reuses draws at a lag that is not a power of two.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from dropout_verify.harness import Statement, check_result, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.masks import memory_order
from dropout_verify.power import lag_scan_pairs
from dropout_verify.run import Run
from dropout_verify.stats.lags import LagCounter, Series, lag_scan_test, scanned_lags
from dropout_verify.strategies import DESIGNED_P, Case, cases, covering_cells, designed_case, probabilities
from dropout_verify.targets import Target

LAGS = Statement("C6", "independence", "a unit and the unit L further on are independent, at every phase and lag")
REQUEST = ShapeRequest(min_units=4096, max_units=1 << 16, max_numel=1 << 17, min_rows=2, max_unit_elements=4)
# Rows of 96 and 192: every lag 1..64 (and 128) leaves a third of the rows paired.
ROWS = (96, 192, 96, 96, 192)

Pairing = tuple[str, Callable[[np.ndarray], np.ndarray], list[int]]


def lag_pairings(kind: Kind, x: torch.Tensor) -> list[Pairing]:
    """Every axis of the unit tensor, the flat logical order (when the tensor has two axes or more
    of several units) and the memory order (elementwise kinds, when it differs from the logical)."""
    unit_shape = kind.unit_shape(tuple(x.shape))
    units = math.prod(unit_shape)
    found: list[Pairing] = []
    for axis, (size, name) in enumerate(zip(unit_shape, kind.axis_names(unit_shape))):
        if size < 2:
            continue
        found.append((name, _axis_view(math.prod(unit_shape[:axis]), size, math.prod(unit_shape[axis + 1:])),
                      scanned_lags(size)))
    if sum(size > 1 for size in unit_shape) > 1:
        found.append(("flat index (logical order)", lambda keeps: keeps.reshape(keeps.shape[0], units, 1),
                      scanned_lags(units)))
    if kind.unit_dims(x.dim()) == x.dim() and units > 1:
        order = memory_order(x)
        if order != list(range(x.dim())):
            permutation = (0, *(d + 1 for d in order))
            found.append(("memory order", lambda keeps: np.ascontiguousarray(keeps.transpose(permutation))
                          .reshape(keeps.shape[0], units, 1), scanned_lags(units)))
    return found


def _axis_view(before: int, size: int, after: int) -> Callable[[np.ndarray], np.ndarray]:
    """A batch (calls, *unit shape) as (calls x the axes before, the axis, the axes after)."""
    return lambda keeps: keeps.reshape(keeps.shape[0] * before, size, after)


def _examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return []
    return [designed_case(kind, units=rows * 683, dtype=dtype, layout=layout, p=p, seed=170 + i, rows=rows)
            for i, ((dtype, layout), p, rows) in enumerate(zip(covering_cells(1), DESIGNED_P, ROWS))]


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return ("one decision per call: no unit within a call has a neighbour (consecutive calls: "
                "test_pairs_uncorrelated and test_no_periodic_mask)")
    return None


@statistical("lags", LAGS, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples, applies=_several_units)
def test_lags_uncorrelated(run: Run, target: Target, case: Case) -> None:
    """Every pair (i, i + L) along every axis, and in logical and memory order, at lags 1..64
    and powers of two: no correlation (one decision over all tallies and both tails). The
    calls are planned so that a correlation of the level's size at any one lag is found with
    power 0.999."""
    kind = target.kind
    x = case.make_input(run.device)
    q = target.keep_probability(case.p)
    pairings = lag_pairings(kind, x)
    unit_shape = kind.unit_shape(tuple(x.shape))
    units = math.prod(unit_shape)
    tests = 2 * sum(len(lags) for _, _, lags in pairings)
    needed = lag_scan_pairs(run.effects.correlation, run.alpha_decision, POWER, (q, q), tests)
    probe = np.zeros((1, *unit_shape), dtype=bool)
    fewest = min((view(probe).shape[0] * view(probe).shape[2] * (view(probe).shape[1] - lag)
                  for _, view, lags in pairings for lag in lags), default=units)
    calls = max(2, math.ceil(needed / max(fewest, 1)))
    counter = LagCounter(pairings)
    sample_units(run, target, case, calls, lambda _, keeps: counter.add(keeps.cpu().numpy()), x=x)
    result = lag_scan_test(counter.tallies(), [Series(counter.kept, counter.decisions, q)], run.alpha_decision,
                           "independence at every phase and lag")
    check_result(run, LAGS, target, result, case,
                 expected=f"no correlation between a unit and the unit L further on (detects |rho| >= "
                          f"{run.effects.correlation:g} at any one of {tests // 2} (pairing, lag) tallies with power "
                          f"{POWER}; lags 1..64 and powers of two, every phase)",
                 seen=result.detail.split("; ")[0])
