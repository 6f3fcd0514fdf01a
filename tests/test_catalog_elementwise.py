"""The suite catches every elementwise mutant by the property meant to, and passes the correct variants.

One pytest subprocess runs the whole property suite at the quick level against every
mutant and correct variant of tests/mutants.py, and one against the keep-convention variant;
report.json says, as data, which property failed for which implementation.
"""

from __future__ import annotations

import pytest

from tests import mutants
from tests.catalog import ELEMENTWISE, SCALE_PROPERTIES, failed, meant, run_suite, scale_once_per_kind, spec

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("catalog")
    correct = [spec(n) for n in mutants.CORRECT]
    found = run_suite([name for name, _ in ELEMENTWISE] + correct, folder / "drop", only=meant(ELEMENTWISE),
                      skip=scale_once_per_kind(correct))
    keep = [spec(n) for n in mutants.CORRECT_KEEP_CONVENTION]
    found.update(run_suite(keep, folder / "keep", "--dropout-convention", "keep",
                           skip=dict.fromkeys(keep, SCALE_PROPERTIES)))
    return found


def test_catalog_is_large_enough() -> None:
    assert len(mutants.MUTANTS) >= 30
    assert len(mutants.CORRECT) + len(mutants.CORRECT_KEEP_CONVENTION) >= 6
    for name in mutants.MUTANTS:
        assert getattr(mutants, name).__doc__, f"mutant {name} must say what its bug is"


@pytest.mark.parametrize("name, meant", ELEMENTWISE, ids=[n.split(":")[1] for n, _ in ELEMENTWISE])
def test_mutant_is_caught_by_its_property(outcomes: dict[str, dict[str, str]], name: str, meant: str) -> None:
    mine = outcomes[name]
    assert failed(mine), f"{name} passed every property: the suite missed it"
    assert mine.get(meant) == "FAIL", f"{name} should fail {meant}, but failed only {failed(mine)}"


@pytest.mark.parametrize("name", [spec(n) for n in mutants.CORRECT + mutants.CORRECT_KEEP_CONVENTION])
def test_correct_variant_passes(outcomes: dict[str, dict[str, str]], name: str) -> None:
    assert outcomes[name], f"no results for {name}"
    assert not failed(outcomes[name]), f"correct variant {name} failed {failed(outcomes[name])}"
