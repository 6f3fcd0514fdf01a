"""Mutation score: how many of the catalogs' known-bad dropouts the suite catches.

    python benchmarks/bench_mutation_score.py [--level quick|standard|thorough] [--seed N]

Runs the property suite once against every mutant and correct variant of ``tests/mutants.py``
and ``tests/family_mutants.py`` (as the catalog tests do, at any level) and prints, per mutant,
the property meant to catch it and every property that failed. A mutant counts as caught
when its intended property fails; a correct variant must fail nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import family_mutants, mutants  # noqa: E402
from tests.catalog import CAUGHT, failed, mutation_score, run_suite, spec  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="standard")
    parser.add_argument("--seed", default="0")
    args = parser.parse_args()
    correct = [spec(n) for n in mutants.CORRECT] + family_mutants.CORRECT + family_mutants.THIRD_PARTY
    with tempfile.TemporaryDirectory() as folder:
        outcomes = run_suite([name for name, _ in CAUGHT] + correct + list(family_mutants.TORCH_FINDINGS),
                             Path(folder) / "all", level=args.level, seed=args.seed)
        outcomes.update(run_suite([spec(n) for n in mutants.CORRECT_KEEP_CONVENTION], Path(folder) / "keep",
                                  "--dropout-convention", "keep", level=args.level, seed=args.seed))
    print(f"level {args.level}, seed {args.seed}\n")
    print("| mutant | meant to fail | caught | properties failed |")
    print("|---|---|---|---|")
    for name, meant in CAUGHT:
        result = outcomes.get(name, {})
        caught = "yes" if result.get(meant) == "FAIL" else "NO"
        shown = ", ".join(test.removeprefix("test_") for test in failed(result))
        print(f"| {name.split(':')[1]} | {meant.removeprefix('test_')} | {caught} | {shown} |")
    caught, total = mutation_score(outcomes)
    print(f"\nmutation score: {caught}/{total} caught by the property meant to catch them")
    for name in correct + [spec(n) for n in mutants.CORRECT_KEEP_CONVENTION]:
        found = failed(outcomes.get(name, {}))
        print(f"correct variant {name}: {'passes' if not found else 'FAILS ' + ', '.join(found)}")
    for name, expected in family_mutants.TORCH_FINDINGS.items():
        print(f"finding {name}: fails {', '.join(failed(outcomes.get(name, {})))} (expected {', '.join(expected)})")


if __name__ == "__main__":
    main()
