"""One rule for the corner where a correct kernel cannot be finite, in every exact check.

Where the kept elements' scale itself exceeds the dtype's largest value (float16 with
1 - p < 1/65504), a kernel that scales in the input's dtype gives NaN or inf
(``aten.native_dropout`` on the CPU does): every check that compares values reports that
corner and judges nothing (``values.unjudged``). Each exact property is run here on an
example in the corner against an implementation that gives NaN there, and must not fail;
the same implementation giving NaN outside the corner must fail, so the rule hides nothing else.
"""

from __future__ import annotations

import importlib

import pytest

from dropout_verify.config import RunConfig
from dropout_verify.harness import PropertyViolation
from dropout_verify.run import Run
from dropout_verify.strategies import Case
from dropout_verify.targets import resolve_target

CORNER_P = 1 - 1e-5  # 1 / (1 - p) = 1e5 > 65504
SPEC = "tests.badimpls:nan_where_scale_overflows"


@pytest.fixture
def run() -> Run:
    """A run of its own, as the plugin builds one: nothing global to install or undo."""
    return Run(settings=RunConfig(specs=(SPEC,), level="quick", explicit_specs=True))


def _body(module: str, name: str):  # noqa: ANN202 - the property's body(run, target, case)
    return getattr(importlib.import_module(f"properties.{module}"), name).body


EXACT_CHECKS = [("test_support", "test_support"), ("test_contract", "test_inplace"),
                ("test_gradient", "test_gradient_matches_forward_mask")]


@pytest.mark.parametrize("module, name", EXACT_CHECKS)
def test_exact_checks_report_the_corner_and_judge_nothing(run: Run, module: str, name: str) -> None:
    target = resolve_target(SPEC, guard=run.guard)
    run.begin_test(name, name, SPEC, ())
    case = Case((64, 33), "float16", "contiguous", CORNER_P, seed=3, magnitude=1e-3)
    _body(module, name)(run, target, case)  # must not raise
    assert any("overflows float16" in note for note in run.test.notes)


def test_near_edge_check_reports_the_corner(run: Run) -> None:
    target = resolve_target(SPEC, guard=run.guard)
    run.begin_test("test_near_edges_finite", "test_near_edges_finite", SPEC, ())
    near = importlib.import_module("properties.test_edges").test_near_edges_finite
    near(dropout_target=target, dropout_run=run, p=1 - 1e-6, dtype="float16")
    assert any("overflows float16" in note for note in run.test.notes)


@pytest.mark.parametrize("module, name", EXACT_CHECKS[:1])
def test_outside_the_corner_nan_still_fails(run: Run, module: str, name: str) -> None:
    target = resolve_target("tests.badimpls:nan_where_dropped", guard=run.guard)  # NaN where it must not be
    run.begin_test(name, name, target.spec, ())
    with pytest.raises(PropertyViolation):
        _body(module, name)(run, target, Case((64, 33), "float16", "contiguous", 1.0 - 1e-3, seed=3))
    target = resolve_target("tests.mutants:nan_at_p_one", guard=run.guard)
    with pytest.raises(PropertyViolation):
        importlib.import_module("properties.test_edges").test_p_one.body(
            run, target, Case((64, 33), "float16", "contiguous", 1.0, seed=3))


def test_every_value_comparing_property_applies_the_rule() -> None:
    """Static: each property module that compares values also consults the rule (skip_unjudged)."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "properties"
    for path in folder.glob("test_*.py"):
        text = path.read_text()
        if "check_support(" in text or "kept_gradient(" in text:
            assert "skip_unjudged(" in text, f"{path.name} compares values without the unjudged-corner rule"
