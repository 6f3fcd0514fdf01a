"""False alarms of the whole suite against correct implementations of every kind, over many seeds.

    python benchmarks/bench_false_alarms.py [--seeds 200] [--first-seed 0] [--level standard] [--jobs 2]
                                            [--out FILE]

Runs ``pytest properties --dropout-seed S --dropout-report DIR`` for S = first .. first+seeds-1 with one
correct implementation per member of the family (three elementwise ones: both references and
torch.nn.functional.dropout), ``jobs`` runs at a time, and counts, per implementation, the runs
in which it failed any property (report.json). The budget says each implementation's run fails
with probability at most alpha (1e-6), so over N runs the expected count is at most N * alpha.
Prints a Markdown table and every failure, and appends finished seeds to ``--out`` (a JSON-lines
file) so an interrupted benchmark resumes where it stopped. Two benchmarks on disjoint seed ranges
(``--first-seed``) can run side by side into two logs; ``--out`` may then name both (read all, the
first is written).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = (
    "dropout_impl:dropout_mask", "dropout_impl:dropout_bernoulli", "torch.nn.functional:dropout",  # element
    "torch.nn.functional:dropout1d", "torch.nn.functional:dropout2d", "dropout_impl:dropout3d",  # channel
    "torch.nn.functional:alpha_dropout", "dropout_impl:feature_alpha_dropout",  # alpha
    "dropout_impl:drop_path", "dropout_impl:drop_path_batch",  # drop-path
    "tests.family_mutants:attention__correct",  # attention
)


def run_seed(seed: int, level: str, alpha: float, specs: tuple[str, ...]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pytest", str(ROOT / "properties"), "-q", "-p", "no:cacheprovider",
                   "--dropout-report", folder, "--dropout-seed", str(seed), "--dropout-level", level,
                   "--dropout-alpha", str(alpha)]
        for spec in specs:
            command += ["--dropout-impl", spec]
        env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # one thread: runs go side by side
        started = time.perf_counter()
        finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if finished.returncode not in (0, 1):
            raise RuntimeError(f"seed {seed}: exit {finished.returncode}\n{finished.stdout[-2000:]}")
        report = json.loads((Path(folder) / "report.json").read_text())
    failures = {impl["spec"]: [p["property"] for p in impl["properties"] if p["verdict"] in ("FAIL", "not run")]
                for impl in report["implementations"]}
    return {"seed": seed, "seconds": elapsed, "failures": {k: v for k, v in failures.items() if v}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--level", default="standard")
    parser.add_argument("--alpha", type=float, default=1e-6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, nargs="*", default=[],
                        help="JSON-lines logs of finished seeds (resumable): all are read, the first is written")
    parser.add_argument("--specs", nargs="*", default=list(SPECS))
    args = parser.parse_args()
    done: dict[int, dict[str, object]] = {}
    for log in args.out:
        if log.exists():
            for line in log.read_text().splitlines():
                row = json.loads(line)
                done[row["seed"]] = row
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    pending = [seed for seed in seeds if seed not in done]
    with ThreadPoolExecutor(args.jobs) as pool:
        for row in pool.map(lambda s: run_seed(s, args.level, args.alpha, tuple(args.specs)), pending):
            done[int(row["seed"])] = row  # type: ignore[arg-type]
            if args.out:
                with args.out[0].open("a") as log:
                    log.write(json.dumps(row) + "\n")
    runs_failed: Counter[str] = Counter()
    lines = []
    for seed in sorted(done):
        for spec, properties in done[seed]["failures"].items():  # type: ignore[union-attr]
            runs_failed[spec] += 1
            lines.append(f"seed {seed}: {spec}: {', '.join(properties)}")
    seconds = sorted(float(row["seconds"]) for row in done.values())  # type: ignore[arg-type]
    print(f"level {args.level}, alpha budget {args.alpha:g} per implementation per run, {len(done)} seeds "
          f"({', '.join(_ranges(sorted(done)))}); "
          f"median run of all {len(args.specs)} implementations {seconds[len(seconds) // 2]:.0f} s\n")
    print("| implementation | runs | runs with a failure | expected at most (runs x alpha) |")
    print("|---|---|---|---|")
    for spec in args.specs:
        print(f"| {spec} | {len(done)} | {runs_failed[spec]} | {len(done) * args.alpha:.1e} |")
    total = len(done) * len(args.specs)
    print(f"| all | {total} | {sum(runs_failed.values())} | {total * args.alpha:.1e} |")
    if lines:
        print("\nFailures:")
        print("\n".join(lines))


def _ranges(seeds: list[int]) -> list[str]:
    """[0, 1, 2, 5, 6] -> ["0-2", "5-6"]."""
    spans: list[list[int]] = []
    for seed in seeds:
        if spans and seed == spans[-1][1] + 1:
            spans[-1][1] = seed
        else:
            spans.append([seed, seed])
    return [f"{a}-{b}" if a != b else str(a) for a, b in spans]


if __name__ == "__main__":
    main()
