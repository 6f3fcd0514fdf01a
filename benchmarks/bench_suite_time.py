"""Wall time of whole suite runs per implementation, interpreter start included, and the cost of isolation.

    python benchmarks/bench_suite_time.py [--impl MODULE:ATTR ...] [--runs 3] [--levels quick standard]
                                          [--isolation] [--readme-test]

For each implementation and level, runs ``dropout-check SPEC --level LEVEL`` (each implementation
in its own worker process, after a collect worker: what a user runs) ``runs`` times as a fresh
process and reports the median wall time. With ``--isolation``, also times ``pytest properties
--dropout-impl SPEC`` (one process, no workers) at the standard level: the difference is what
isolation costs. With ``--readme-test``, also times the README's test command once.
Targets (issues 3, 7, 8): quick <= 10 s, standard <= 30 s per implementation, thorough <= 5 min.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {"quick": 10, "standard": 30, "thorough": 300}
DEFAULT = ("torch.nn.functional:dropout", "dropout_impl:dropout_mask", "torch.nn.functional:dropout1d",
           "torch.nn.functional:dropout2d", "dropout_impl:dropout3d", "torch.nn.functional:alpha_dropout",
           "torch.nn.functional:feature_alpha_dropout", "dropout_impl:drop_path", "dropout_impl:drop_path_batch",
           "torch.nn:Dropout2d", "dropout_verify.attention:sdpa_math")


def wall_time(command: list[str]) -> tuple[float, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, finished.returncode


def median_of(command: list[str], runs: int) -> str:
    samples = [wall_time(command) for _ in range(runs)]
    codes = {code for _, code in samples}
    return f"{statistics.median(t for t, _ in samples):.1f} s" + ("" if codes <= {0, 1} else f" (exit {sorted(codes)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", nargs="+", default=list(DEFAULT))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--levels", nargs="+", default=["quick", "standard"])
    parser.add_argument("--isolation", action="store_true")
    parser.add_argument("--readme-test", action="store_true")
    parser.add_argument("--extra", nargs="*", default=[], help="more dropout-check options, e.g. --compile")
    args = parser.parse_args()
    print(f"median of {args.runs} runs, each a fresh `dropout-check SPEC --level LEVEL {' '.join(args.extra)}`\n")
    columns = [f"{level} (target {TARGET_S[level]} s)" for level in args.levels]
    if args.isolation:
        columns.append("standard in one pytest process (no isolation)")
    print("| implementation | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for spec in args.impl:
        cells = [median_of([sys.executable, "-m", "dropout_verify", spec, "--level", level, *args.extra], args.runs)
                 for level in args.levels]
        if args.isolation:
            cells.append(median_of([sys.executable, "-m", "pytest", "properties", "-q", "-p", "no:cacheprovider",
                                    "--dropout-impl", spec, "--dropout-level", "standard"], args.runs))
        print(f"| {spec} | " + " | ".join(cells) + " |", flush=True)
    if args.readme_test:
        seconds, code = wall_time([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile", "-q",
                                   "-p", "no:cacheprovider"])
        print(f"\nREADME test command (pytest -n 2 --dist loadfile): {seconds:.0f} s, exit {code}")


if __name__ == "__main__":
    main()
