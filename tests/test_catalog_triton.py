"""The suite catches every Triton mutant by the property meant to, under Triton's interpreter on the CPU.

One pytest subprocess (``TRITON_INTERPRET=1``) runs each mutant of tests/triton_mutants.py on the
property meant to catch it, at the quick level, and the correct kernels on a subset of the
properties: the interpreter spends about 20 ms of Python per kernel launch, and four
properties make thousands of small calls (dispersion, about 110 s at quick; quantisation probes,
about 30 s; positions, about 25 s; pairs, about 15 s). They are left to the full runs the README
states the time of (``TRITON_INTERPRET=1 dropout-check examples/triton_dropout.py:triton_dropout``).
"""

from __future__ import annotations

import pytest

from tests import triton_mutants  # Triton comes with the dev extra (pyproject.toml), as CI installs it
from tests.catalog import failed, meant, run_suite

pytestmark = pytest.mark.subprocess


MUTANTS = [(f"tests.triton_mutants:{name}", triton_mutants.CATCHES[name]) for name in triton_mutants.MUTANTS]
# The correct kernel runs the cheapest property of each contract point under the interpreter.
CORRECT_SUBSET = [
    "test_contract", "test_global_torch_state_unchanged", "test_support", "test_keep_rate",
    "test_keep_rate_independent_of_x", "test_no_periodic_mask", "test_p_zero_is_identity", "test_p_one",
    "test_near_edges_finite", "test_eval_mode_is_identity", "test_gradient_matches_forward_mask",
    "test_same_seed_same_result", "test_different_seeds_different_masks", "test_caller_rng_not_reseeded",
    "test_invalid_probability_is_rejected", "test_probability_of_wrong_type_is_rejected",
    "test_non_float_tensor_is_rejected",
]
# The grid-stride kernel differs from its mutant in the loop's RNG counters only: the property
# that mutant fails.
GRID_STRIDE_SUBSET = ["test_no_periodic_mask"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    only = meant(MUTANTS)
    only[triton_mutants.CORRECT[0]] = CORRECT_SUBSET
    only[triton_mutants.CORRECT[1]] = GRID_STRIDE_SUBSET
    return run_suite([name for name, _ in MUTANTS] + triton_mutants.CORRECT,
                     tmp_path_factory.mktemp("catalog") / "triton", only=only, environment={"TRITON_INTERPRET": "1"})


def test_catalog_covers_the_kernel_bugs() -> None:
    assert set(triton_mutants.CATCHES.values()) >= {"test_no_repeated_mask", "test_no_periodic_mask",
                                                    "test_keep_probability_not_quantised", "test_p_one",
                                                    "test_p_zero_is_identity"}
    for name in triton_mutants.MUTANTS:
        assert getattr(triton_mutants, name).__doc__, f"mutant {name} must say what its bug is"


@pytest.mark.parametrize("name, meant", MUTANTS, ids=[n.split(":")[1] for n, _ in MUTANTS])
def test_mutant_is_caught_by_its_property(outcomes: dict[str, dict[str, str]], name: str, meant: str) -> None:
    mine = outcomes[name]
    assert mine.get(meant) == "FAIL", f"{name} should fail {meant}, but failed only {failed(mine)}"


@pytest.mark.parametrize("name, subset", [(triton_mutants.CORRECT[0], CORRECT_SUBSET),
                                          (triton_mutants.CORRECT[1], GRID_STRIDE_SUBSET)])
def test_correct_kernel_passes(outcomes: dict[str, dict[str, str]], name: str, subset: list[str]) -> None:
    mine = outcomes[name]
    assert set(mine) == set(subset), f"{name} ran {sorted(mine)}, not the subset"
    assert not failed(mine), f"correct kernel {name} failed {failed(mine)}"
    assert all(verdict == "pass" for verdict in mine.values()), mine
