"""The suite catches, by the property meant to, the mutants whose class the quick level cannot
see: a relative keep-rate bias near p = 0.95 and 0.05 (standard), a 1/65536 grid (--time and
thorough). Each runs at the lowest level where its class is visible, on that property only
(tests/catalog_select.py); the float16 and bfloat16 classes run at quick in
tests/test_catalog_elementwise.py."""

from __future__ import annotations

import pytest

from tests import mutants
from tests.catalog import HIGHER_LEVEL, failed, meant, run_suite

pytestmark = pytest.mark.subprocess

RUNS = sorted({(level, options) for _, _, level, options in HIGHER_LEVEL})


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("precision")
    found: dict[str, dict[str, str]] = {}
    for index, (level, options) in enumerate(RUNS):
        pairs = [(name, property_) for name, property_, at, extra in HIGHER_LEVEL if (at, extra) == (level, options)]
        found.update(run_suite([name for name, _ in pairs], folder / f"run{index}", *options, level=level,
                               only=meant(pairs)))
    return found


def test_every_higher_level_mutant_says_its_bug() -> None:
    assert len(HIGHER_LEVEL) >= 3
    for name in mutants.NEEDS:
        assert getattr(mutants, name).__doc__, f"mutant {name} must say what its bug is"


@pytest.mark.parametrize("name, meant, level, options", HIGHER_LEVEL,
                         ids=[n.split(":")[1] for n, *_ in HIGHER_LEVEL])
def test_mutant_is_caught_by_its_property(outcomes: dict[str, dict[str, str]], name: str, meant: str, level: str,
                                          options: tuple[str, ...]) -> None:
    mine = outcomes[name]
    assert mine.get(meant) == "FAIL", f"{name} at {level} {' '.join(options)} should fail {meant}, but failed " \
                                      f"only {failed(mine)}"
