"""The suite catches every channel-dropout mutant by the property meant to, and passes torch's
own channel dropouts and the project's references (tests/family_mutants.py)."""

from __future__ import annotations

import pytest

from tests import family_mutants
from tests.catalog import CHANNEL, failed, meant, run_suite, scale_once_per_kind

pytestmark = pytest.mark.subprocess

CORRECT = [name for name in family_mutants.CORRECT if "1d" in name or "2d" in name or "3d" in name]
REFUSING_3D = "tests.family_mutants:channel2d_refusing_3d"  # verified on the 3-D property alone


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    return run_suite([name for name, _ in CHANNEL] + CORRECT + [REFUSING_3D], tmp_path_factory.mktemp("channel"),
                     only={**meant(CHANNEL), REFUSING_3D: ["test_channel2d_3d_input"]},
                     skip=scale_once_per_kind(CORRECT))


def test_a_clear_refusal_of_the_ambiguous_3d_input_is_accepted(outcomes: dict[str, dict[str, str]]) -> None:
    assert outcomes[REFUSING_3D] == {"test_channel2d_3d_input": "pass"}


def test_every_channel_kind_has_eight_mutants() -> None:
    for kind in ("channel1d", "channel2d", "channel3d"):
        assert sum(1 for name, _ in CHANNEL if f":{kind}__" in name) >= 8, kind


@pytest.mark.parametrize("name, meant", CHANNEL, ids=[n.split(":")[1] for n, _ in CHANNEL])
def test_mutant_is_caught_by_its_property(outcomes: dict[str, dict[str, str]], name: str, meant: str) -> None:
    mine = outcomes[name]
    assert mine.get(meant) == "FAIL", f"{name} should fail {meant}, but failed only {failed(mine)}"


@pytest.mark.parametrize("name", CORRECT)
def test_correct_variant_passes(outcomes: dict[str, dict[str, str]], name: str) -> None:
    assert outcomes[name] and not failed(outcomes[name]), f"{name} failed {failed(outcomes[name])}"
