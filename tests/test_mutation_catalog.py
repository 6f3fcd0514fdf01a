"""The suite catches every mutant of the catalog, by the property meant to, and passes the
correct variants.

One pytest subprocess runs the whole property suite at the quick level against every
mutant and correct variant (``--dropout-impl`` repeated), and a second one runs the
keep-convention variant with ``--dropout-convention keep``; the JUnit XML they write says
which property failed for which implementation. Each catalog entry is then one test here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

import pytest

from tests import mutants

ROOT = Path(__file__).resolve().parents[1]
LEVEL = os.environ.get("DROPOUT_CATALOG_LEVEL", "quick")
SEED = os.environ.get("DROPOUT_CATALOG_SEED", "0")


def _spec(name: str) -> str:
    return f"tests.mutants:{name}"


def run_suite(specs: list[str], out: Path, *extra: str) -> dict[str, dict[str, str]]:
    """Run the property suite on ``specs``; return {spec: {test function: outcome}}."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "properties"), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", f"--junitxml={out}", "--dropout-level", LEVEL, "--dropout-seed", SEED, *extra]
    for spec in specs:
        command += ["--dropout-impl", spec]
    # One torch thread: under pytest -n 2 the other worker has the other core.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode not in (0, 1):
        raise RuntimeError(f"the suite did not run (exit {finished.returncode}):\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
    outcomes: dict[str, dict[str, str]] = defaultdict(dict)
    for case in ElementTree.parse(out).getroot().iter("testcase"):
        name = case.get("name", "")
        function, _, params = name.partition("[")
        spec = params.rstrip("]").split("-")[0]
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        previous = outcomes[spec].get(function)
        outcome = "failed" if failed else ("skipped" if skipped else "passed")
        if previous != "failed":
            outcomes[spec][function] = outcome
    return outcomes


# The README's test command distributes by file (pytest -n 2 --dist loadfile), so one
# worker runs this whole module and the catalog is run once.
@pytest.fixture(scope="module")
def catalog_outcomes(tmp_path_factory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("catalog")
    specs = [_spec(name) for name in mutants.MUTANTS + mutants.CORRECT]
    outcomes = run_suite(specs, folder / "drop.xml")
    keep_specs = [_spec(name) for name in mutants.CORRECT_KEEP_CONVENTION]
    outcomes.update(run_suite(keep_specs, folder / "keep.xml", "--dropout-convention", "keep"))
    return outcomes


def test_catalog_is_large_enough():
    assert len(mutants.MUTANTS) >= 30
    assert len(mutants.CORRECT) + len(mutants.CORRECT_KEEP_CONVENTION) >= 6
    for name in mutants.MUTANTS:
        assert getattr(mutants, name).__doc__, f"mutant {name} must say what its bug is"


@pytest.mark.parametrize("name", mutants.MUTANTS)
def test_mutant_is_caught_by_its_property(catalog_outcomes, name):
    outcomes = catalog_outcomes[_spec(name)]
    failed = sorted(test for test, outcome in outcomes.items() if outcome == "failed")
    assert failed, f"{name} passed every property: the suite missed it"
    assert outcomes.get(mutants.CATCHES[name]) == "failed", (
        f"{name} should fail {mutants.CATCHES[name]}, but failed only {failed}"
    )


@pytest.mark.parametrize("name", mutants.CORRECT + mutants.CORRECT_KEEP_CONVENTION)
def test_correct_variant_passes(catalog_outcomes, name):
    outcomes = catalog_outcomes[_spec(name)]
    assert outcomes, f"no results for {name}"
    failed = sorted(test for test, outcome in outcomes.items() if outcome == "failed")
    assert not failed, f"correct variant {name} failed {failed}"


def mutation_score(outcomes: dict[str, dict[str, str]]) -> tuple[int, int]:
    """(caught, catalog size): a mutant is caught when its intended property fails."""
    caught = sum(outcomes.get(_spec(n), {}).get(mutants.CATCHES[n]) == "failed" for n in mutants.MUTANTS)
    return caught, len(mutants.MUTANTS)
