"""C6 independence between dropout sites: inputs of other shapes called in turn draw independent masks.

A model calls dropout at several sites, each with its own shape and often its own p, one after
the other, step after step. A kernel whose RNG offset is advanced per step rather than per call
(or a per-site generator seeded alike, or an offset that the second site's launch does not
advance past the first's) gives two sites the same random numbers: their masks agree at the same
flat index (exactly when their p agree, strongly correlated when not). Consecutive calls of one
shape (``test_pairs_uncorrelated``) never see it, and a window repeat (``test_no_repeated_mask``)
only when the p agree.

Here three sites (the example's input and two of other shapes; two drop probabilities) are
called in turn, A B C A B C ..., and the decisions at the same flat index (draw order) of every
two sites of a step, and of the last site of a step with the first of the next, are tested for
correlation (``stats.lags``: a centred-product martingale, each site's rate from its own data).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from dropout_verify.harness import Statement, check_outputs, check_result, seeded, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.masks import Origin, memory_sequence
from dropout_verify.power import lag_scan_pairs
from dropout_verify.run import Run
from dropout_verify.stats.lags import LagTally, Series, lag_scan_test
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target
from dropout_verify.values import SupportCheck, unjudged

SITES = Statement("C6", "independence", "dropout sites of other shapes, called in turn, draw independent masks")
REQUEST = ShapeRequest(min_units=4096, max_units=1 << 16, max_numel=1 << 17, max_unit_elements=4)
NAMES = ("A", "B", "C")


def site_cases(case: Case) -> list[Case]:
    """The example's input (site A) and two sites of other shapes, contiguous: B at another p,
    C at A's p (so a shared offset is also an exact repeat)."""
    kind = case.the_kind
    other_p = round(0.05 + (case.p + 0.37) % 0.9, 6)
    second = designed_case(kind, units=case.units * 5 // 7 + 3, dtype=case.dtype, layout="contiguous", p=other_p,
                           seed=case.seed, rows=3)
    third = designed_case(kind, units=case.units // 3 + 11, dtype=case.dtype, layout="contiguous", p=case.p,
                          seed=case.seed, rows=5)
    return [case, second, third]


def _examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return []
    return [designed_case(kind, units=64 * 1000, dtype="float32", layout="contiguous", p=0.1, seed=190, rows=64),
            designed_case(kind, units=16 * 2049, dtype="bfloat16", layout="channels_last", p=0.5, seed=191, rows=16)]


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return ("one decision per call: two sites' single decisions would need 10^5 steps to pair "
                "(consecutive calls: test_pairs_uncorrelated)")
    return None


@statistical("sites", SITES, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=REQUEST),
             examples=_examples, applies=_several_units)
def test_dropout_sites_independent(run: Run, target: Target, case: Case) -> None:
    """Three sites called in turn: the units at the same flat index of two sites of a step (and of
    the last site of a step and the first of the next) are uncorrelated. One decision over the
    four pairings and both tails; the steps are planned so that a correlation of the level's size
    between any two sites is found with power 0.999."""
    kind = target.kind
    sites = site_cases(case)
    inputs = [site.make_input(run.device) for site in sites]
    keeps = [target.keep_probability(site.p) for site in sites]
    supports = [SupportCheck(kind, x, q) if unjudged(kind, x.dtype, q) is None else None
                for x, q in zip(inputs, keeps)]
    units = [max(kind.unit_count(tuple(x.shape)), 1) for x in inputs]
    order = [(a, b) for a in range(len(sites)) for b in range(a + 1, len(sites))]  # within a step
    pairings = [(a, b, f"sites {NAMES[a]} and {NAMES[b]} of one step") for a, b in order]
    pairings.append((len(sites) - 1, 0, f"site {NAMES[-1]} and site {NAMES[0]} of the next step"))
    tests = 2 * len(pairings)
    steps = max(math.ceil(lag_scan_pairs(run.effects.correlation, run.alpha_decision, POWER, (keeps[a], keeps[b]),
                                         tests, len(sites)) / min(units[a], units[b]))
                for a, b, _ in pairings)
    counts = np.zeros((len(pairings), 4), dtype=np.int64)
    kept = np.zeros(len(sites), dtype=np.int64)
    registry = run.masks_for(target.spec)
    origin = Origin(case.seed, run.test.name, case.describe())
    previous: list[np.ndarray | None] = [None] * len(sites)
    masks: list[list[tuple[int, np.ndarray]]] = [[] for _ in sites]  # (call, mask) for the run's windows
    with seeded(run, case.seed), torch.no_grad():
        for step in range(steps + 1):  # one more step: the wrap pairing's last pair
            current: list[np.ndarray | None] = [None] * len(sites)
            for index, (site, x) in enumerate(zip(sites, inputs)):
                if step == steps and index > 0:
                    break
                y = target.call(x, site.p)
                support = supports[index]
                call = step * len(sites) + index
                if support is not None:
                    check_outputs(run, target, support, y.unsqueeze(0), call, site)
                decisions = kind.unit_keeps(y.unsqueeze(0), keeps[index], ndim=x.dim())
                flat = memory_sequence(decisions, x, kind.unit_dims(x.dim()) == x.dim()).cpu().numpy()
                masks[index].append((call, flat[0]))
                current[index] = flat[0]
                if step < steps:
                    kept[index] += int(np.count_nonzero(flat))
            for row, (a, b, _) in enumerate(pairings):
                first = current[a] if a < b else previous[a]
                second = current[b]
                if first is None or second is None:
                    continue
                m = min(first.size, second.size)
                counts[row] += (m, int(np.count_nonzero(first[:m])), int(np.count_nonzero(second[:m])),
                                int(np.count_nonzero(first[:m] & second[:m])))
            previous = current
    for index, made in enumerate(masks):
        registry.add(keeps[index], origin, 0, np.stack([mask for _, mask in made]),
                     np.array([call for call, _ in made]))
    tallies = [LagTally(name, int(counts[row, 0]), int(counts[row, 1]), int(counts[row, 2]), int(counts[row, 3]),
                        (a, b)) for row, (a, b, name) in enumerate(pairings)]
    series = [Series(int(kept[i]), steps * units[i], keeps[i]) for i in range(len(sites))]
    result = lag_scan_test(tallies, series, run.alpha_decision, "independence of dropout sites")
    shapes = ", ".join(f"{NAMES[i]} {tuple(s.shape)} p={s.p:g}" for i, s in enumerate(sites))
    check_result(run, SITES, target, result, case,
                 expected=f"no correlation between units at the same flat index of two sites ({shapes}; detects "
                          f"|rho| >= {run.effects.correlation:g} between any two with power {POWER})",
                 seen=result.detail.split("; ")[0])
