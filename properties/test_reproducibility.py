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
from hypothesis import example, given

from .config import current
from .harness import checked_output, contract_settings, seeded, violation
from .strategies import Case, cases, probabilities

SAME_SEED = "C10 reproducibility (same seed, same result)"
DISTINCT = "C10 reproducibility (different seeds, different masks)"
CALLER_RNG = "C10 reproducibility (the caller's RNG is advanced, not reseeded)"
GENERATOR = "C10 reproducibility (a generator alone decides; the global RNG is untouched)"
DISTINCT_SIZE = 4096  # elements: two correct masks at p=0.5 coincide with probability 2**-4096


def _rng_states(device: str) -> list[torch.Tensor]:
    states = [torch.get_rng_state()]
    if torch.device(device).type == "cuda":
        states.append(torch.cuda.get_rng_state(torch.device(device)))
    return states


@contract_settings()
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=1))
@example(case=Case((8, 1025), "float32", "contiguous", 0.5, seed=0))
def test_same_seed_same_result(dropout_target, case):
    """torch.manual_seed(s); f(x) == torch.manual_seed(s); f(x), bit for bit."""
    x = case.make_input(current().device)
    outputs = []
    for _ in range(2):
        with seeded(case.seed), torch.no_grad():
            outputs.append(checked_output(dropout_target, x, case.p))
    if not torch.equal(outputs[0], outputs[1]):
        differing = int((outputs[0] != outputs[1]).sum())
        raise violation(SAME_SEED, dropout_target, expected="identical outputs", case=case,
                        seen=f"{differing} of {x.numel()} elements differ between two runs with one seed")


def test_different_seeds_different_masks(dropout_target):
    """Seeds 1 and 2 give different masks on 4096 elements at p = 0.5.

    A correct dropout gives two equal masks with probability 0.5**4096, far below the
    decision's alpha (this is one of the budget's decisions all the same).
    """
    run = current()
    assert DISTINCT_SIZE * math.log(0.5) < math.log(run.alpha_decision)
    case = Case((DISTINCT_SIZE,), "float32", "contiguous", 0.5, seed=1)
    x = case.make_input(run.device)
    masks = []
    for seed in (1, 2):
        with seeded(seed), torch.no_grad():
            masks.append(checked_output(dropout_target, x, 0.5) != 0)
    if torch.equal(masks[0], masks[1]):
        raise violation(DISTINCT, dropout_target, expected="different masks (equal with probability 2**-4096)",
                        seen="the same mask for seeds 1 and 2: the function seeds its own RNG", case=case)


def test_caller_rng_not_reseeded(dropout_target):
    """After f(x), the caller's next draws still depend on the caller's seed."""
    run = current()
    case = Case((256,), "float32", "contiguous", 0.5, seed=3)
    x = case.make_input(run.device)
    follow_ups = []
    for seed in (3, 4):
        with seeded(seed), torch.no_grad():
            checked_output(dropout_target, x, 0.5)
            follow_ups.append(torch.rand(64, device=run.device))
    if torch.equal(follow_ups[0], follow_ups[1]):
        raise violation(CALLER_RNG, dropout_target, expected="the caller's RNG stream to continue",
                        seen="after the call, seeds 3 and 4 give the same draws: the function reseeded the RNG",
                        case=case)


@pytest.mark.dropout_keywords("generator")
@contract_settings()
@given(case=cases(p=probabilities(0.05, 0.95), min_numel=64))
@example(case=Case((8, 1025), "float32", "contiguous", 0.5, seed=0))
def test_generator_alone_decides(dropout_target, case):
    """With generator=g: the result depends on g's seed only, and the global RNG is not used."""
    device = current().device
    x = case.make_input(device)
    outputs = []
    for global_seed in (case.seed, case.seed + 1):
        with seeded(global_seed), torch.no_grad():
            before = _rng_states(device)
            generator = torch.Generator(device=device).manual_seed(case.seed % (2**63))
            outputs.append(checked_output(dropout_target, x, case.p, generator=generator))
            after = _rng_states(device)
        if not all(torch.equal(a, b) for a, b in zip(before, after)):
            raise violation(GENERATOR, dropout_target, expected="the global RNG state unchanged",
                            seen="the global RNG advanced although a generator was passed", case=case)
    if not torch.equal(outputs[0], outputs[1]):
        raise violation(GENERATOR, dropout_target, expected="one result for one generator seed", case=case,
                        seen=f"{int((outputs[0] != outputs[1]).sum())} elements differ when only the global seed changed")
