"""Wall time of whole suite runs, interpreter start included.

    python benchmarks/bench_suite_time.py [--impl MODULE:ATTR ...] [--runs 3] [--readme-test]

For each implementation and level, runs ``pytest properties --dropout-impl SPEC
--dropout-level LEVEL`` ``runs`` times as a fresh process and reports the median wall time.
With ``--readme-test``, also times the README's test command (``make test``'s pytest line)
once. Targets (issue 3): quick <= 10 s, standard <= 30 s, thorough <= 5 min against one
implementation; the README's test command <= 5 min.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("quick", "standard", "thorough")
TARGET_S = {"quick": 10, "standard": 30, "thorough": 300}


def wall_time(command: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, finished.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", nargs="+", default=["torch.nn.functional:dropout", "dropout_impl:dropout_mask",
                                                      "dropout_impl:dropout_bernoulli"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", nargs="+", default=list(LEVELS))
    parser.add_argument("--readme-test", action="store_true")
    args = parser.parse_args()
    print(f"median of {args.runs} runs, each a fresh `python -m pytest properties ...` process\n")
    print("| implementation | " + " | ".join(f"{level} (target {TARGET_S[level]} s)" for level in args.levels) + " |")
    print("|---|" + "---|" * len(args.levels))
    for spec in args.impl:
        cells = []
        for level in args.levels:
            command = [sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
                       "--dropout-impl", spec, "--dropout-level", level]
            samples = [wall_time(command) for _ in range(args.runs)]
            codes = {code for _, code in samples}
            median = statistics.median(t for t, _ in samples)
            cells.append(f"{median:.1f} s" + ("" if codes == {0} else f" (exit {sorted(codes)})"))
        print(f"| {spec} | " + " | ".join(cells) + " |")
    if args.readme_test:
        seconds, code = wall_time([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-q",
                                   "-p", "no:cacheprovider"])
        print(f"\nREADME test command (pytest -n 2 --dist loadfile): {seconds:.0f} s, exit {code}")


if __name__ == "__main__":
    main()
