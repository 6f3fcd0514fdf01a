"""The suite catches every mutant of both catalogs, by the property meant to, and passes the
correct variants.

One pytest subprocess runs the whole property suite at the quick level against every
elementwise mutant and correct variant (``--dropout-impl`` repeated), one against the
keep-convention variant, and one against the rest of the family (``tests/family_mutants.py``:
each mutant declares its kind). Each writes report.json (``--dropout-report``), which says,
as data, which property failed for which implementation; each catalog entry is then one test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import family_mutants, mutants

ROOT = Path(__file__).resolve().parents[1]
LEVEL = os.environ.get("CATALOG_LEVEL", "quick")
SEED = os.environ.get("CATALOG_SEED", "0")


def _spec(name: str, module: str = "tests.mutants") -> str:
    return f"{module}:{name}"


def run_suite(specs: list[str], folder: Path, *extra: str, level: str = LEVEL,
              seed: str = SEED) -> dict[str, dict[str, str]]:
    """Run the property suite on ``specs``; return {spec: {property: verdict}} from report.json."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "properties"), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "--dropout-report", str(folder), "--dropout-level", level, "--dropout-seed", seed,
               *extra]
    for spec in specs:
        command += ["--dropout-impl", spec]
    # One torch thread: under pytest -n 2 the other worker has the other core.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode not in (0, 1):
        raise RuntimeError(f"the suite did not run (exit {finished.returncode}):\n{finished.stdout[-3000:]}\n"
                           f"{finished.stderr[-3000:]}")
    report = json.loads((folder / "report.json").read_text())
    return {impl["spec"]: {p["property"]: p["verdict"] for p in impl["properties"]}
            for impl in report["implementations"]}


# The README's test command distributes by file (pytest -n 2 --dist loadfile), so one
# worker runs this whole module and each catalog is run once.
@pytest.fixture(scope="module")
def catalog_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("catalog")
    specs = [_spec(name) for name in mutants.MUTANTS + mutants.CORRECT]
    outcomes = run_suite(specs, folder / "drop")
    keep_specs = [_spec(name) for name in mutants.CORRECT_KEEP_CONVENTION]
    outcomes.update(run_suite(keep_specs, folder / "keep", "--dropout-convention", "keep"))
    family = ([_spec(name, "tests.family_mutants") for name in family_mutants.MUTANTS] + family_mutants.CORRECT
              + list(family_mutants.TORCH_FINDINGS))
    outcomes.update(run_suite(family, folder / "family"))
    return outcomes


def test_catalogs_are_large_enough() -> None:
    assert len(mutants.MUTANTS) >= 30
    assert len(mutants.CORRECT) + len(mutants.CORRECT_KEEP_CONVENTION) >= 6
    per_kind: dict[str, int] = {}
    for name in family_mutants.MUTANTS:
        kind = getattr(family_mutants, name).dropout_kind
        per_kind[kind] = per_kind.get(kind, 0) + 1
    assert set(per_kind) == {"channel1d", "channel2d", "channel3d", "alpha", "feature_alpha", "path", "path_batch"}
    assert min(per_kind.values()) >= 8, per_kind
    for module, names in ((mutants, mutants.MUTANTS), (family_mutants, family_mutants.MUTANTS)):
        for name in names:
            assert getattr(module, name).__doc__, f"mutant {name} must say what its bug is"


CAUGHT = [(_spec(n), mutants.CATCHES[n]) for n in mutants.MUTANTS] + [
    (_spec(n, "tests.family_mutants"), family_mutants.CATCHES[n]) for n in family_mutants.MUTANTS]


@pytest.mark.parametrize("spec, meant", CAUGHT, ids=[spec.split(":")[1] for spec, _ in CAUGHT])
def test_mutant_is_caught_by_its_property(catalog_outcomes: dict[str, dict[str, str]], spec: str, meant: str) -> None:
    outcomes = catalog_outcomes[spec]
    failed = sorted(test for test, verdict in outcomes.items() if verdict == "FAIL")
    assert failed, f"{spec} passed every property: the suite missed it"
    assert outcomes.get(meant) == "FAIL", f"{spec} should fail {meant}, but failed only {failed}"


CORRECT = [_spec(n) for n in mutants.CORRECT + mutants.CORRECT_KEEP_CONVENTION] + family_mutants.CORRECT


@pytest.mark.parametrize("spec", CORRECT)
def test_correct_variant_passes(catalog_outcomes: dict[str, dict[str, str]], spec: str) -> None:
    outcomes = catalog_outcomes[spec]
    assert outcomes, f"no results for {spec}"
    failed = sorted(test for test, verdict in outcomes.items() if verdict in ("FAIL", "not run"))
    assert not failed, f"correct variant {spec} failed {failed}"


@pytest.mark.parametrize("spec", sorted(family_mutants.TORCH_FINDINGS))
def test_torch_findings_are_exactly_these(catalog_outcomes: dict[str, dict[str, str]], spec: str) -> None:
    failed = sorted(test for test, verdict in catalog_outcomes[spec].items() if verdict in ("FAIL", "not run"))
    assert failed == family_mutants.TORCH_FINDINGS[spec]


def mutation_score(outcomes: dict[str, dict[str, str]]) -> tuple[int, int]:
    """(caught, catalog size): a mutant is caught when its intended property fails."""
    caught = sum(outcomes.get(spec, {}).get(meant) == "FAIL" for spec, meant in CAUGHT)
    return caught, len(CAUGHT)
