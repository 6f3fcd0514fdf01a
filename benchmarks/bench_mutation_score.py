"""Mutation score: how many of the catalog's known-bad dropouts the suite catches.

    python benchmarks/bench_mutation_score.py [--level quick|standard|thorough] [--seed N]

Runs the property suite once against every mutant and correct variant of
``tests/mutants.py`` (as ``tests/test_mutation_catalog.py`` does) and prints, per mutant,
the property meant to catch it and every property that failed. A mutant counts as caught
when its intended property fails; a correct variant must fail nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import mutants  # noqa: E402
from tests import test_mutation_catalog as catalog  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="quick")
    parser.add_argument("--seed", default="0")
    args = parser.parse_args()
    os.environ["DROPOUT_CATALOG_LEVEL"], os.environ["DROPOUT_CATALOG_SEED"] = args.level, args.seed
    catalog.LEVEL, catalog.SEED = args.level, args.seed
    with tempfile.TemporaryDirectory() as folder:
        specs = [f"tests.mutants:{name}" for name in mutants.MUTANTS + mutants.CORRECT]
        outcomes = catalog.run_suite(specs, Path(folder) / "drop.xml")
        keep = [f"tests.mutants:{name}" for name in mutants.CORRECT_KEEP_CONVENTION]
        outcomes.update(catalog.run_suite(keep, Path(folder) / "keep.xml", "--dropout-convention", "keep"))
    print(f"level {args.level}, seed {args.seed}\n")
    print("| mutant | meant to fail | caught | properties failed |")
    print("|---|---|---|---|")
    for name in mutants.MUTANTS:
        result = outcomes.get(f"tests.mutants:{name}", {})
        failed = sorted(test.removeprefix("test_") for test, outcome in result.items() if outcome == "failed")
        intended = mutants.CATCHES[name]
        caught = "yes" if result.get(intended) == "failed" else "NO"
        print(f"| {name} | {intended.removeprefix('test_')} | {caught} | {', '.join(failed)} |")
    caught, total = catalog.mutation_score(outcomes)
    print(f"\nmutation score: {caught}/{total} caught by the property meant to catch them")
    for name in mutants.CORRECT + mutants.CORRECT_KEEP_CONVENTION:
        result = outcomes.get(f"tests.mutants:{name}", {})
        failed = sorted(test for test, outcome in result.items() if outcome == "failed")
        print(f"correct variant {name}: {'passes' if not failed else 'FAILS ' + ', '.join(failed)}")


if __name__ == "__main__":
    main()
