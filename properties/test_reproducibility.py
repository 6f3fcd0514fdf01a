"""C10 reproducibility: the same seed (or generator) gives the same mask, different seeds
give different masks, and the caller's RNG is advanced, never reseeded.

Bugs it catches: a private clock-seeded generator (same seed, different masks), a
``torch.manual_seed(0)`` inside the function (different seeds, same masks; the caller's RNG
reset), a ``generator`` argument that is ignored or that still draws from the global RNG.
"""

from __future__ import annotations

import math

import pytest
import torch

from dropout_verify import stats
from dropout_verify.harness import (
    Statement,
    checked_output,
    claims,
    exact,
    sample_units,
    seeded,
    violation,
)
from dropout_verify.plugin import KEYWORD_MARKER
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

SAME_SEED = Statement("C10", "reproducibility", "same seed, same result")
DISTINCT = Statement("C10", "reproducibility", "different seeds, different masks")
CALLER_RNG = Statement("C10", "reproducibility", "the caller's RNG is advanced, not reseeded")
GENERATOR = Statement("C10", "reproducibility", "a generator alone decides; the global RNG is untouched")
# n/a for targets whose signature takes no generator keyword.
GENERATOR_KEYWORD: pytest.MarkDecorator = getattr(pytest.mark, KEYWORD_MARKER)("generator")
DISTINCT_DECISIONS = 4096  # unit decisions: two correct masks at p=0.5 coincide with probability 2**-4096


def _differing(a: torch.Tensor, b: torch.Tensor) -> int:
    """Elements that differ between two outputs, a NaN equal to a NaN in the same place: two
    runs that both give NaN there are identical runs (the NaN itself is C2's and C7's to judge)."""
    if torch.equal(a, b):
        return 0
    same = (a == b) | (torch.isnan(a) & torch.isnan(b)) if a.is_floating_point() else a == b
    return int((~same).sum())


def _rng_states(device: str) -> list[torch.Tensor]:
    states = [torch.get_rng_state()]
    if torch.device(device).type == "cuda":
        states.append(torch.cuda.get_rng_state(torch.device(device)))
    return states


@exact(SAME_SEED, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95)),
       examples=lambda kind: [designed_case(kind, units=8 * 1025, dtype="float32", layout="contiguous", p=0.5,
                                            seed=0, rows=8)])
def test_same_seed_same_result(run: Run, target: Target, case: Case) -> None:
    """torch.manual_seed(s); f(x) == torch.manual_seed(s); f(x), bit for bit."""
    x = case.make_input(run.device)
    outputs = []
    for _ in range(2):
        with seeded(run, case.seed), torch.no_grad():
            outputs.append(checked_output(target, x, case.p))
    differing = _differing(outputs[0], outputs[1])
    if differing:
        raise violation(run, SAME_SEED, target, expected="identical outputs", case=case,
                        seen=f"{differing} of {x.numel()} elements differ between two runs with one seed")


@claims(DISTINCT)
def test_different_seeds_different_masks(dropout_target: Target, dropout_run: Run) -> None:
    """Seeds 1 and 2 give different masks over 4096 unit decisions at p = 0.5 (as many calls
    as that takes: one, or 4096 for a whole-call drop-path).

    A correct dropout gives two equal masks with probability 0.5**4096, far below the
    decision's alpha (this is one of the budget's decisions all the same).
    """
    run = dropout_run
    target = dropout_target
    assert DISTINCT_DECISIONS * math.log(0.5) < math.log(run.alpha_decision)
    case = designed_case(target.kind, units=DISTINCT_DECISIONS, dtype="float32", layout="contiguous", p=0.5, seed=1)
    calls = math.ceil(DISTINCT_DECISIONS / max(case.units, 1))
    masks = []
    for seed in (1, 2):
        seen: list[torch.Tensor] = []

        def collect(_: int, keeps: torch.Tensor, seen: list[torch.Tensor] = seen) -> None:
            seen.append(keeps.reshape(-1))

        sample_units(run, target, Case(case.shape, case.dtype, case.layout, 0.5, seed, kind=case.kind), calls, collect)
        masks.append(torch.cat(seen))
    same = torch.equal(masks[0], masks[1])
    log_p = masks[0].numel() * math.log(0.5) if same else 0.0
    run.record(stats.Decision("masks of two seeds", float(same), log_p, masks[0].numel(), float(same), 0.0,
                                (-math.inf, math.inf), run.alpha_decision,
                                "1 if the two seeds gave the same mask (exact: no interval)"))
    if same:
        raise violation(run, DISTINCT, target, case=case,
                        expected=f"different masks (equal with probability 2**-{masks[0].numel()})",
                        seen="the same mask for seeds 1 and 2: the function seeds its own RNG")


@claims(CALLER_RNG)
def test_caller_rng_not_reseeded(dropout_target: Target, dropout_run: Run) -> None:
    """After f(x), the caller's next draws still depend on the caller's seed."""
    run = dropout_run
    target = dropout_target
    case = designed_case(target.kind, units=256, dtype="float32", layout="contiguous", p=0.5, seed=3)
    x = case.make_input(run.device)
    follow_ups = []
    for seed in (3, 4):
        with seeded(run, seed), torch.no_grad():
            checked_output(target, x, 0.5)
            follow_ups.append(torch.rand(64, device=run.device))
    if torch.equal(follow_ups[0], follow_ups[1]):
        raise violation(run, CALLER_RNG, target, expected="the caller's RNG stream to continue", case=case,
                        seen="after the call, seeds 3 and 4 give the same draws: the function reseeded the RNG")


@GENERATOR_KEYWORD
@exact(GENERATOR, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95)),
       examples=lambda kind: [designed_case(kind, units=8 * 1025, dtype="float32", layout="contiguous", p=0.5,
                                            seed=0, rows=8)])
def test_generator_alone_decides(run: Run, target: Target, case: Case) -> None:
    """With generator=g: the result depends on g's seed only, and the global RNG is not used."""
    device = run.device
    x = case.make_input(device)
    outputs = []
    for global_seed in (case.seed, case.seed + 1):
        with seeded(run, global_seed), torch.no_grad():
            before = _rng_states(device)
            generator = torch.Generator(device=device).manual_seed(case.seed % (2**63))
            outputs.append(checked_output(target, x, case.p, generator=generator))
            after = _rng_states(device)
        if not all(torch.equal(a, b) for a, b in zip(before, after)):
            raise violation(run, GENERATOR, target, expected="the global RNG state unchanged",
                            seen="the global RNG advanced although a generator was passed", case=case)
    differing = _differing(outputs[0], outputs[1])
    if differing:
        raise violation(run, GENERATOR, target, expected="one result for one generator seed", case=case,
                        seen=f"{differing} elements differ when only the global seed changed")
