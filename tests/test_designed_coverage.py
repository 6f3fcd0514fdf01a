"""Designed coverage: which dtype x layout cells each statistical check meets at each level.

levels.CHECKS says how many of each property's designed examples a level runs; the lists come
from strategies.cells_from. Every check meets every cell at thorough; at standard every check
but dispersion does, and dispersion meets every dtype and every layout (README, STATISTICS.md
"Designed coverage" say so and why).
"""

from __future__ import annotations

import importlib

import pytest

from dropout_verify.kinds import KINDS
from dropout_verify.levels import CHECKS
from dropout_verify.strategies import CELLS, DTYPES, LAYOUTS

HOMOGENEITY = importlib.import_module("properties.test_homogeneity")
INDEPENDENCE = importlib.import_module("properties.test_independence")
KEEP_RATE = importlib.import_module("properties.test_keep_rate")
DESIGNS = {
    "keep_rate": KEEP_RATE._examples,
    "homogeneity": HOMOGENEITY._examples,
    "independence": INDEPENDENCE._pair_examples,
    "dispersion": INDEPENDENCE._dispersion_examples,
    "periodicity": INDEPENDENCE._period_examples,
}
EVERY_CELL = {"standard": ["keep_rate", "homogeneity", "independence", "periodicity"],
              "thorough": ["keep_rate", "homogeneity", "independence", "periodicity", "dispersion"]}


def _cells(check: str, level: str) -> set[tuple[str, str]]:
    examples = DESIGNS[check]
    return {(case.dtype, case.layout) for case in examples(KINDS["element"])[: CHECKS[check].designed[level]]}


@pytest.mark.parametrize("level", sorted(EVERY_CELL))
def test_every_check_meets_every_cell(level: str) -> None:
    for check in EVERY_CELL[level]:
        assert _cells(check, level) == set(CELLS), (check, level)


def test_dispersion_at_standard_meets_every_dtype_and_every_layout() -> None:
    cells = _cells("dispersion", "standard")
    assert {dtype for dtype, _ in cells} == set(DTYPES) and {layout for _, layout in cells} == set(LAYOUTS)


@pytest.mark.parametrize("check", sorted(DESIGNS))
def test_every_kind_has_the_designs_its_levels_count(check: str) -> None:
    examples = DESIGNS[check]
    for kind in KINDS.values():
        designed = examples(kind)
        if kind.one_decision_per_call:
            continue  # one design per check: the harness runs what the list holds
        assert len(designed) >= max(CHECKS[check].designed.values()), (check, kind.name)
        assert len({case.seed for case in designed}) == len(designed), (check, kind.name)


def test_no_two_designs_share_a_seed() -> None:
    """Two designs with one seed, shape and p would make the same masks: a repeat (C6) the
    implementation did not make."""
    for kind in KINDS.values():
        seeds = [case.seed for examples in DESIGNS.values() for case in examples(kind)]
        assert len(seeds) == len(set(seeds)), kind.name
