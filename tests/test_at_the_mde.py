"""Mutants at the standard level's minimum effects, each run on the property meant to catch it.

* Dispersion at the designed m = 31, p = 0.05 (drop-path's second designed example: m q = 29.45,
  not an integer, where the plan once assumed calls of zero deviation and had power 0.970): a
  count under-dispersed by the MDE's variance ratio (1.15), caught at three seeds, and one
  over-dispersed by it.
* ``--time``: a kernel that holds its keep probability as a float32 passes; a keep rate off by
  more than the minimum bias the run reports is caught.

In process (no worker start-up): each body runs as the plugin runs it, on a Run of its own.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

import pytest

from dropout_verify.config import RunConfig
from dropout_verify.harness import PropertyViolation
from dropout_verify.run import Run
from dropout_verify.targets import resolve_target

pytestmark = pytest.mark.slow

INDEPENDENCE = importlib.import_module("properties.test_independence")
KEEP_RATE = importlib.import_module("properties.test_keep_rate")


def _run(spec: str, test: str, **settings: object) -> Run:
    run = Run(settings=RunConfig(specs=(spec,), level="standard", explicit_specs=True, **settings))  # type: ignore[arg-type]
    run.begin_test(test, test, spec, ())
    return run


# Three seeds for the under-dispersed count (the defect the plan once got wrong at this m, q);
# one for the over-dispersed (about a second each: 11,500 calls of a Python mutant).
@pytest.mark.parametrize("side, seeds", [("underdispersed", (1, 2, 3)), ("overdispersed", (1,))])
def test_dispersion_at_its_mde_is_caught_at_the_designed_m_31(side: str, seeds: tuple[int, ...]) -> None:
    spec = f"tests.mutants:drop_path_count_{side}"
    run = _run(spec, "test_kept_count_dispersion")
    target = resolve_target(spec, guard=run.guard)
    case = INDEPENDENCE._dispersion_examples(target.kind)[1]
    assert (case.units, case.p) == (31, 0.05)
    for seed in seeds:
        with pytest.raises(PropertyViolation, match="per-call kept-unit count has binomial variance"):
            INDEPENDENCE.test_kept_count_dispersion.body(run, target, replace(case, seed=seed))


def test_time_accepts_a_keep_probability_held_as_float32() -> None:
    spec = "tests.mutants:keep_probability_held_as_float32"
    run = _run(spec, "test_keep_rate_until_deadline", time=1.0)
    KEEP_RATE.test_keep_rate_until_deadline(dropout_target=resolve_target(spec, guard=run.guard), dropout_run=run)
    assert run.test.decisions and not any(decision.rejected for decision in run.test.decisions)


def test_time_catches_a_keep_rate_off_by_more_than_its_reported_bias() -> None:
    spec = "tests.mutants:keep_rate_off_by_0_03"
    run = _run(spec, "test_keep_rate_until_deadline", time=1.0)
    with pytest.raises(PropertyViolation):
        KEEP_RATE.test_keep_rate_until_deadline(dropout_target=resolve_target(spec, guard=run.guard),
                                                dropout_run=run)
    first = run.test.decisions[0]  # p = 0.1, the first reached
    assert first.rejected and "detects a bias of" in first.detail
    reported = float(first.detail.split("detects a bias of ")[1].split()[0])
    assert reported < 0.03, first.detail
