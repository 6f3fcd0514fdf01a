"""C6 independence: unit decisions are independent across units and across calls.

Three properties:

* pairs: neighbouring units (in memory, for elementwise dropout), rows (the unit tensor's
  first axis, the batch) and consecutive calls are independent, tested given each
  position's margins (``stats.pairs``), so a biased or position-dependent keep rate is not
  called a correlation;
* dispersion: the count of kept units in one call has the binomial variance m q (1-q),
  neither more (rows or batches dropped together) nor less ("exactly k kept");
* periodicity: no lag, within a call or across the next calls, repeats the mask.

Bugs they catch: a mask broadcast over the batch, rows dropped whole, decisions shared by
neighbouring channels, groups of 4 elements sharing one random draw, masks that repeat
after some period or across steps (RNG offset not advanced), a fixed seed inside the
function, "exactly round(q m)" kept per call.
"""

from __future__ import annotations

import torch

from dropout_verify.config import current
from dropout_verify.harness import Statement, check_result, sample_units, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.power import dispersion_calls, pair_calls
from dropout_verify.stats import PairCounts, dispersion_test, independence_test, periodicity_test
from dropout_verify.strategies import Case, cases, designed_case, probabilities
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
    calls = keeps.shape[0]
    if keeps.dim() == 1:
        return keeps.reshape(calls, 1)
    if kind.unit_dims(x.dim()) == x.dim():
        order = sorted(range(x.dim()), key=lambda d: (x.stride(d) != 0, x.stride(d)), reverse=True)
        keeps = keeps.permute(0, *(d + 1 for d in order))
    return keeps.reshape(calls, -1)


# ----------------------------------------------------------------------------- pairs

PAIR_REQUEST = ShapeRequest(min_units=4096, max_units=1 << 16, max_numel=1 << 17, min_rows=2, max_unit_elements=4)


def _pair_examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.1, seed=7, rows=2,
                              unit_elements=3)]
    return [designed_case(kind, units=64 * 1025, dtype="float32", layout="expanded", p=0.5, seed=7, rows=64)]


def _pairings(unit_shape: tuple[int, ...], flat_units: int) -> dict[str, tuple[int, float]]:
    pairings: dict[str, tuple[int, float]] = {"consecutive calls": (max(flat_units, 1), 0.5)}
    if flat_units >= 2:
        pairings["neighbouring units"] = (flat_units // 2, 1.0)
    if len(unit_shape) >= 2 and unit_shape[0] >= 2:
        pairings["rows"] = ((unit_shape[0] // 2) * (flat_units // unit_shape[0]), 1.0)
    return pairings


@statistical("independence", PAIRS, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=PAIR_REQUEST),
             examples=_pair_examples)
def test_pairs_uncorrelated(target: Target, case: Case) -> None:
    """Paired decisions are independent given their positions' margins: neighbouring units,
    rows, consecutive calls. Calls are planned so that each pairing finds a correlation of
    the level's size with power 0.999 (``power.pair_calls``)."""
    run = current()
    kind = target.kind
    x = case.make_input(run.device)
    unit_shape = kind.unit_shape(tuple(x.shape))
    flat_units = max(kind.unit_count(tuple(x.shape)), 1)
    pairings = _pairings(unit_shape, flat_units)
    calls = pair_calls(pairings, run.effects.correlation, run.alpha_decision, POWER)
    counts = {name: PairCounts(strata) for name, (strata, _) in pairings.items()}
    carry: list[torch.Tensor] = []

    def count(_: int, keeps: torch.Tensor) -> None:
        if "rows" in counts:
            half = unit_shape[0] // 2
            rows = keeps.reshape(keeps.shape[0], unit_shape[0], -1)
            counts["rows"].add(rows[:, 0 : 2 * half : 2].reshape(keeps.shape[0], -1).numpy(),
                               rows[:, 1 : 2 * half : 2].reshape(keeps.shape[0], -1).numpy())
        flat = unit_order(keeps, x, kind)
        if "neighbouring units" in counts:
            pairs = flat.shape[1] // 2
            counts["neighbouring units"].add(flat[:, 0 : 2 * pairs : 2].numpy(), flat[:, 1 : 2 * pairs : 2].numpy())
        sequence = torch.cat([*carry, flat]) if carry else flat
        usable = sequence.shape[0] // 2 * 2
        counts["consecutive calls"].add(sequence[0:usable:2].numpy(), sequence[1:usable:2].numpy())
        carry[:] = [sequence[usable:]] if usable < sequence.shape[0] else []

    sample_units(target, case, calls, lambda first, keeps: count(first, keeps.cpu()), x=x)
    for name, pair_counts in counts.items():
        check_result(PAIRS, target, independence_test(pair_counts, run.alpha_decision, f"independence of {name}"),
                     case, expected=f"no correlation between {name} (detects |rho| >= {run.effects.correlation:g} "
                                    f"with power {POWER})")


# ----------------------------------------------------------------------------- dispersion

DISPERSION_REQUEST = ShapeRequest(min_units=16, max_units=4096, max_numel=1 << 15, max_unit_elements=4)


def _several_units(target: Target) -> str | None:
    if target.kind.one_decision_per_call:
        return "one decision per call: the per-call count is that decision, its variance fixed by the keep rate (C3)"
    return None


@statistical("dispersion", DISPERSION,
             cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=DISPERSION_REQUEST),
             examples=lambda kind: [designed_case(kind, units=16 * 64, dtype="float32", layout="contiguous", p=0.5,
                                                  seed=8, rows=16, unit_elements=2)],
             applies=_several_units)
def test_kept_count_dispersion(target: Target, case: Case) -> None:
    """Var[kept units in a call] = m q (1-q): two-sided test on T calls (saddlepoint tails)."""
    run = current()
    q = target.keep_probability(case.p)
    calls = dispersion_calls(run.effects.variance_ratio, run.alpha_decision, POWER, case.units, q)
    counts: list[torch.Tensor] = []
    sample_units(target, case, calls, lambda _, keeps: counts.append(keeps.reshape(keeps.shape[0], -1).sum(1)))
    result = dispersion_test(torch.cat(counts).cpu().numpy(), case.units, q, run.alpha_decision)
    check_result(DISPERSION, target, result, case,
                 expected=f"variance ratio 1 (detects x{run.effects.variance_ratio:g} or "
                          f"/{run.effects.variance_ratio:g} with power {POWER})")


# ----------------------------------------------------------------------------- periodicity

PERIOD_CALLS = 4  # masks of this many consecutive calls are scanned as one sequence
PERIOD_LENGTH = 1 << 13  # decisions scanned when each call makes one
PERIOD_REQUEST = ShapeRequest(min_units=1 << 12, max_units=1 << 16, max_numel=1 << 17, max_unit_elements=2)


def _period_examples(kind: Kind) -> list[Case]:
    if kind.one_decision_per_call:
        return [designed_case(kind, units=1, dtype="float32", layout="contiguous", p=0.3, seed=9, rows=2,
                              unit_elements=2)]
    return [designed_case(kind, units=4 * 8 * 16 * 33, dtype="float32", layout="channels_last", p=0.3, seed=9,
                          rows=4, unit_elements=2)]


@statistical("periodicity", PERIODIC,
             cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95), request=PERIOD_REQUEST),
             examples=_period_examples)
def test_no_periodic_mask(target: Target, case: Case) -> None:
    """No lag L of the sequence (unit decisions of consecutive calls, in memory order)
    repeats it: a conservative bound at every lag, Bonferroni over all lags; a mask with
    period L, or a call that repeats (or shifts) the previous call's mask, is rejected."""
    run = current()
    q = target.keep_probability(case.p)
    x = case.make_input(run.device)
    chunks: list[torch.Tensor] = []
    calls = PERIOD_CALLS if not target.kind.one_decision_per_call else PERIOD_LENGTH
    sample_units(target, case, calls, lambda _, keeps: chunks.append(unit_order(keeps, x, target.kind).cpu()), x=x)
    sequence = torch.cat(chunks).reshape(-1)
    result = periodicity_test(sequence, q, run.alpha_decision, max_lag=sequence.numel() - 1)
    check_result(PERIODIC, target, result, case, expected="no lag with correlation (a repeated mask has 1)")
