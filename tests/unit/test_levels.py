"""dropout_verify.levels: the false-alarm budget's invariants, checked on the static table.

K (the decisions a level can make) is the sum over the planned checks of decisions per example
times examples (generated and designed); each decision gets alpha / K, so K decisions together
spend exactly the budget.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from dropout_verify.config import RunConfig
from dropout_verify.levels import CHECKS, LEVELS, Check, decision_count
from dropout_verify.options import LEVEL_NAMES
from tests.helpers import ROOT


def test_levels_are_the_options_levels() -> None:
    assert tuple(LEVELS) == LEVEL_NAMES


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_check_plans_every_level(name: str) -> None:
    check = CHECKS[name]
    assert set(check.generated) == set(check.designed) == set(LEVELS)
    assert check.decisions_per_example >= 1
    assert all(count >= 0 for count in [*check.generated.values(), *check.designed.values()])
    assert any(check.decisions(level) > 0 for level in LEVELS), f"{name} never decides anything"


def test_check_decisions_are_per_example_times_examples() -> None:
    check = Check(3, {"quick": 2, "standard": 5, "thorough": 0}, {"quick": 1, "standard": 0, "thorough": 4})
    assert [check.decisions(level) for level in ("quick", "standard", "thorough")] == [9, 15, 12]


@pytest.mark.parametrize("level", LEVEL_NAMES)
def test_decision_count_is_the_sum_of_the_planned_checks(level: str) -> None:
    planned = 0
    for check in CHECKS.values():
        planned += check.decisions_per_example * (check.generated[level] + check.designed[level])
    assert decision_count(level) == planned > 0


@pytest.mark.parametrize("level", LEVEL_NAMES)
def test_each_decision_gets_its_share_of_the_budget(level: str) -> None:
    run = RunConfig(level=level, alpha=1e-6)
    assert run.decisions == decision_count(level)
    assert run.alpha_decision == 1e-6 / decision_count(level)
    # Bonferroni: the whole level's decisions together spend the budget, no more.
    assert sum(run.alpha_decision for _ in range(run.decisions)) == pytest.approx(1e-6, rel=1e-9)


def test_a_gpu_adds_the_call_above_2_31_at_standard_and_counts_it() -> None:
    """The issue's kernel scale: one call past int32 indices at thorough on any device, and at
    standard on a GPU. Its two decisions (blocks, lags) are in K there, so the budget still holds."""
    from dropout_verify.kinds import KINDS
    from dropout_verify.scale import HUGE_ELEMENTS, scale_cases

    assert decision_count("standard", "cuda") == decision_count("standard", "cuda:1") == decision_count("standard") + 2
    for level in ("quick", "thorough"):
        assert decision_count(level, "cuda") == decision_count(level)
    assert RunConfig(level="standard", device="cuda").decisions == decision_count("standard", "cuda")
    for name in ("scale_blocks", "scale_lags"):
        designed = scale_cases(KINDS["element"])[: CHECKS[name].designed_count("standard", "cuda")]
        assert designed[-1].numel == HUGE_ELEMENTS
        assert scale_cases(KINDS["element"])[: CHECKS[name].designed_count("standard", "cpu")][-1].numel < 2**31
    header = " ".join(RunConfig(level="standard", device="cuda").effect_lines())
    assert "one of 2^31 + 2^20 elements" in header
    assert "at standard on a GPU" in " ".join(RunConfig(level="standard").effect_lines())


def test_deeper_levels_plan_no_fewer_decisions_and_detect_smaller_effects() -> None:
    for shallow, deep in itertools.pairwise(LEVEL_NAMES):
        for name, check in CHECKS.items():
            assert check.decisions(deep) >= check.decisions(shallow), (name, shallow, deep)
        small, smaller = LEVELS[shallow], LEVELS[deep]
        assert smaller.keep_rate_bias < small.keep_rate_bias
        assert smaller.correlation < small.correlation
        assert 1 < smaller.variance_ratio < small.variance_ratio
        assert smaller.contract_examples > small.contract_examples


def test_every_statistical_property_plans_a_check_of_the_table() -> None:
    """Each @statistical("name", ...) in the property modules draws on a counted check: a check
    the table does not count would spend budget K does not include."""
    used = set()
    for module in sorted(Path(ROOT, "properties").glob("test_*.py")):
        used |= set(re.findall(r"@statistical\(\s*\"(\w+)\"", module.read_text()))
    assert used, "no statistical property found"
    assert used <= set(CHECKS)
