"""Kernels that take a seed and offset per call (the protocol's ``randomness="seed"``), in
plain torch (tests/seeded_kernels.py): the suite, as their caller, advances the offset per
call, so the correct kernel passes and a kernel that misuses its offset is caught.

The correct kernel runs the properties the seed and offset decide (reproducibility and
independence across calls and within one); every other property is the one every target
shares, verified for it at quick in ``dropout-check tests.seeded_kernels:seeded_dropout``.
"""

from __future__ import annotations

import pytest

from tests.catalog import failed, run_suite

pytestmark = pytest.mark.subprocess

SEEDED = ["test_same_seed_same_result", "test_different_seeds_different_masks", "test_caller_rng_not_reseeded",
          "test_pairs_uncorrelated", "test_kept_count_dispersion", "test_no_periodic_mask", "test_no_repeated_mask"]
MUTANTS = [("tests.seeded_kernels:offset_ignored", "test_no_repeated_mask"),
           ("tests.seeded_kernels:offset_halved", "test_pairs_uncorrelated")]
CORRECT = "tests.seeded_kernels:seeded_dropout"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    only = {name: [meant] for name, meant in MUTANTS} | {CORRECT: SEEDED}
    return run_suite([CORRECT] + [name for name, _ in MUTANTS], tmp_path_factory.mktemp("seeded"), only=only)


def test_the_correct_seed_kernel_passes(outcomes: dict[str, dict[str, str]]) -> None:
    assert sorted(outcomes[CORRECT]) == sorted(SEEDED)
    assert not failed(outcomes[CORRECT]), f"failed {failed(outcomes[CORRECT])}"


@pytest.mark.parametrize("name, meant", MUTANTS, ids=[n.split(":")[1] for n, _ in MUTANTS])
def test_a_misused_offset_is_caught(outcomes: dict[str, dict[str, str]], name: str, meant: str) -> None:
    assert outcomes[name].get(meant) == "FAIL", f"{name} should fail {meant}, but failed only {failed(outcomes[name])}"
