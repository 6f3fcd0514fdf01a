"""False alarms of the whole suite against correct implementations, over many seeds.

    python benchmarks/bench_false_alarms.py [--seeds 200] [--level standard] [--jobs 2]

Runs ``pytest properties --dropout-seed S`` for S = 0 .. seeds-1 (the default targets: both
``dropout_impl`` functions and ``torch.nn.functional.dropout``), ``jobs`` runs at a time,
and counts the runs in which a correct implementation failed any property. The budget says
each implementation's run fails with probability at most alpha (1e-6), so over N runs the
expected count is at most N * alpha. Prints a Markdown table and the failing runs, if any.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_seed(seed: int, level: str, alpha: float, folder: Path) -> tuple[int, Counter, list[str], float]:
    report = folder / f"seed{seed}.xml"
    command = [sys.executable, "-m", "pytest", str(ROOT / "properties"), "-q", "-p", "no:cacheprovider",
               f"--junitxml={report}", "--dropout-seed", str(seed), "--dropout-level", level,
               "--dropout-alpha", str(alpha)]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # one thread per run: runs go side by side
    start = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if finished.returncode not in (0, 1):
        raise RuntimeError(f"seed {seed}: exit {finished.returncode}\n{finished.stdout[-2000:]}")
    failed_specs: Counter = Counter()
    names: list[str] = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name = case.get("name", "")
            failed_specs[name.partition("[")[2].split("-")[0].rstrip("]")] += 1
            names.append(name)
    return seed, failed_specs, names, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--level", default="standard")
    parser.add_argument("--alpha", type=float, default=1e-6)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    specs = ("dropout_impl:dropout_mask", "dropout_impl:dropout_bernoulli", "torch.nn.functional:dropout")
    runs_failed: Counter = Counter()
    failures: list[str] = []
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(args.jobs) as pool:
        jobs = [pool.submit(run_seed, seed, args.level, args.alpha, Path(tmp)) for seed in range(args.seeds)]
        for job in jobs:
            seed, failed_specs, names, elapsed = job.result()
            times.append(elapsed)
            for spec in failed_specs:
                runs_failed[spec] += 1
            failures += [f"seed {seed}: {name}" for name in names]
    print(f"level {args.level}, alpha budget {args.alpha:g} per implementation per run, seeds 0..{args.seeds - 1}; "
          f"median run {sorted(times)[len(times) // 2]:.1f} s\n")
    print("| implementation | runs | runs with a failure | expected at most (runs x alpha) |")
    print("|---|---|---|---|")
    for spec in specs:
        print(f"| {spec} | {args.seeds} | {runs_failed[spec]} | {args.seeds * args.alpha:.1e} |")
    total = args.seeds * len(specs)
    print(f"| all | {total} | {sum(runs_failed.values())} | {total * args.alpha:.1e} |")
    if failures:
        print("\nFailures:")
        print("\n".join(failures))


if __name__ == "__main__":
    main()
