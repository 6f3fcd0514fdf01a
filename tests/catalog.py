"""Running the property suite over a catalog of implementations, and reading what it decided.

Shared by the catalog test modules (one per group of kinds, so that ``pytest -n 2 --dist
loadfile`` runs them side by side), which run each mutant on the property meant to catch it
(``only=meant(...)``), and by benchmarks/bench_mutation_score.py, which runs every property.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dropout_verify.protocol import declaration_of
from tests import family_mutants, mutants

ROOT = Path(__file__).resolve().parents[1]
LEVEL = os.environ.get("CATALOG_LEVEL", "quick")
SEED = os.environ.get("CATALOG_SEED", "0")


def spec(name: str, module: str = "tests.mutants") -> str:
    return f"{module}:{name}"


def run_suite(specs: list[str], folder: Path, *extra: str, level: str = LEVEL, seed: str = SEED,
              only: dict[str, list[str]] | None = None,
              environment: dict[str, str] | None = None,
              skip: dict[str, list[str]] | None = None) -> dict[str, dict[str, str]]:
    """Run the property suite on ``specs``; return {spec: {property: verdict}} from report.json.

    ``only``: the implementations that run only some properties ({spec: [property, ...]}, as
    the mutants in CI run the property meant to catch them); the others run every property,
    but those ``skip`` names for them. ``environment``: variables the suite's process needs
    (``TRITON_INTERPRET=1``)."""
    command = [sys.executable, "-m", "pytest", str(ROOT / "properties"), "-q", "-p", "no:cacheprovider",
               "-p", "no:randomly", "--dropout-report", str(folder), "--dropout-level", level, "--dropout-seed", seed,
               *extra]
    for name in specs:
        command += ["--dropout-impl", name]
    # One torch thread: under pytest -n 2 the other worker has the other core.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **(environment or {}))
    if only or skip:
        folder.mkdir(parents=True, exist_ok=True)
        command += ["-p", "tests.catalog_select"]
        for variable, mapping in (("CATALOG_ONLY", only), ("CATALOG_SKIP", skip)):
            if mapping:
                selection = folder.parent / f"{folder.name}-{variable.lower()}.json"
                selection.write_text(json.dumps(mapping))
                env[variable] = str(selection)
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if finished.returncode not in (0, 1):
        raise RuntimeError(f"the suite did not run (exit {finished.returncode}):\n{finished.stdout[-3000:]}\n"
                           f"{finished.stderr[-3000:]}")
    report = json.loads((folder / "report.json").read_text())
    return {impl["spec"]: {p["property"]: p["verdict"] for p in impl["properties"]}
            for impl in report["implementations"]}


def meant(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """{mutant spec: [the property meant to catch it]}: what a CI catalog run needs of each."""
    return {name: [meant_property] for name, meant_property in pairs}


SCALE_PROPERTIES = ["test_scale_blocks_share_one_keep_rate", "test_scale_lags_uncorrelated"]


# Kinds whose scale tier other CI tests run on correct implementations: the references and
# F.dropout (tests/test_suite_on_references.py), F.dropout2d and F.alpha_dropout (tests/test_budget.py).
SCALE_ELSEWHERE = ("element", "channel2d", "alpha")


def scale_once_per_kind(specs: list[str]) -> dict[str, list[str]]:
    """{spec: the scale tier's properties} for every correct variant but the first of its kind,
    and for every variant of a kind in SCALE_ELSEWHERE: the 2^24-unit call costs about 2 s of CPU
    an implementation, so CI makes it once for each kind. The false-alarm benchmark runs it for
    every implementation."""
    from dropout_verify.targets import resolve_target

    seen: set[str] = set(SCALE_ELSEWHERE)
    skip: dict[str, list[str]] = {}
    for name in specs:
        kind = resolve_target(name).kind.name
        if kind in seen:
            skip[name] = SCALE_PROPERTIES
        seen.add(kind)
    return skip


def family_of(name: str) -> str:
    return str(declaration_of(getattr(family_mutants, name)).kind)


# Mutants the quick level catches (the CI catalogs run them there), and those whose class the
# quick level cannot see: each with the level and options where it first can (tests/mutants.NEEDS).
ELEMENTWISE = [(spec(n), mutants.CATCHES[n]) for n in mutants.MUTANTS if n not in mutants.NEEDS]
HIGHER_LEVEL = [(spec(n), mutants.CATCHES[n], *mutants.NEEDS[n]) for n in sorted(mutants.NEEDS)]
CHANNEL = [(spec(n, "tests.family_mutants"), family_mutants.CATCHES[n]) for n in family_mutants.MUTANTS
           if family_of(n).startswith("channel")]
OTHER_FAMILY = [(spec(n, "tests.family_mutants"), family_mutants.CATCHES[n]) for n in family_mutants.MUTANTS
                if not family_of(n).startswith("channel")]
CAUGHT = ELEMENTWISE + [(name, meant) for name, meant, *_ in HIGHER_LEVEL] + CHANNEL + OTHER_FAMILY


def failed(outcomes: dict[str, str]) -> list[str]:
    return sorted(test for test, verdict in outcomes.items() if verdict in ("FAIL", "not run"))


def mutation_score(outcomes: dict[str, dict[str, str]]) -> tuple[int, int]:
    """(caught, catalog size): a mutant is caught when its intended property fails."""
    caught = sum(outcomes.get(name, {}).get(meant) == "FAIL" for name, meant in CAUGHT)
    return caught, len(CAUGHT)
