"""The suite catches every alpha, drop-path and attention mutant by the property meant to; passes
the correct variants; and finds in torch 2.13 exactly the bugs the README names."""

from __future__ import annotations

import pytest

from tests import family_mutants
from tests.catalog import OTHER_FAMILY, failed, meant, run_suite, scale_once_per_kind

pytestmark = pytest.mark.subprocess

CORRECT = [name for name in family_mutants.CORRECT if not ("1d" in name or "2d" in name or "3d" in name)]
CORRECT += family_mutants.THIRD_PARTY


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    others = CORRECT + list(family_mutants.TORCH_FINDINGS)
    return run_suite([name for name, _ in OTHER_FAMILY] + others, tmp_path_factory.mktemp("alpha_path"),
                     only=meant(OTHER_FAMILY), skip=scale_once_per_kind(others))


def test_every_kind_has_eight_mutants() -> None:
    for kind in ("alpha", "feature_alpha", "path", "path_batch"):
        assert sum(1 for name, _ in OTHER_FAMILY if f":{kind}__" in name) >= 8, kind
    for name in family_mutants.MUTANTS:
        assert getattr(family_mutants, name).__doc__, f"mutant {name} must say what its bug is"


@pytest.mark.parametrize("name, meant", OTHER_FAMILY, ids=[n.split(":")[1] for n, _ in OTHER_FAMILY])
def test_mutant_is_caught_by_its_property(outcomes: dict[str, dict[str, str]], name: str, meant: str) -> None:
    mine = outcomes[name]
    assert mine.get(meant) == "FAIL", f"{name} should fail {meant}, but failed only {failed(mine)}"


@pytest.mark.parametrize("name", CORRECT)
def test_correct_variant_passes(outcomes: dict[str, dict[str, str]], name: str) -> None:
    assert outcomes[name] and not failed(outcomes[name]), f"{name} failed {failed(outcomes[name])}"


@pytest.mark.parametrize("name", sorted(family_mutants.TORCH_FINDINGS))
def test_torch_findings_are_exactly_these(outcomes: dict[str, dict[str, str]], name: str) -> None:
    assert failed(outcomes[name]) == family_mutants.TORCH_FINDINGS[name]
