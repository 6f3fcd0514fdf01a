"""Write dropout_verify/plan_table.json: the planners' answers for the runs the levels design.

    python tools/make_plan_table.py [--jobs 2]

Runs the property suite (pytest route, default seed) on one correct implementation of every
member of the family at ``quick`` and at ``standard``, one process each, with
``plan_table.recording()``: every planner computes (the table is not read), and every answer is
kept. The table is those answers, under the fingerprint of the planners' source
(``plan_table.source_fingerprint``). Rerun it after any change to that source:
tests/unit/test_plan_table.py fails until then (and meanwhile every plan is computed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout: benchmarks/, tests/ (the attention kernel's spec)

from benchmarks.bench_false_alarms import SPECS  # noqa: E402 - one correct implementation per member of the family

LEVELS = ("quick", "standard")


def record(level: str, spec: str, out: Path) -> None:
    """In this process: run the suite on ``spec`` at ``level`` and write the answers computed."""
    import pytest

    from dropout_verify import plan_table

    with plan_table.recording() as answers:
        code = pytest.main([str(ROOT / "properties"), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                            "--dropout-level", level, "--dropout-impl", spec])
    if code != 0:
        raise SystemExit(f"{spec} at {level}: pytest exit {code} (a correct implementation must pass)")
    out.write_text(json.dumps(answers))


def run_one(level: str, spec: str, folder: Path) -> dict[str, object]:
    out = folder / f"{level}-{spec.replace(':', '-')}.json"
    started = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # one thread: runs go side by side
    finished = subprocess.run([sys.executable, __file__, "--record", level, spec, str(out)], cwd=ROOT, env=env,
                              capture_output=True, text=True)
    if finished.returncode != 0:
        raise RuntimeError(f"{spec} at {level}:\n{finished.stdout[-3000:]}\n{finished.stderr[-3000:]}")
    answers: dict[str, object] = json.loads(out.read_text())
    print(f"{level:8} {spec}: {len(answers)} plans, {time.perf_counter() - started:.0f} s", flush=True)
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--record", nargs=3, metavar=("LEVEL", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.record:
        level, spec, out = args.record
        record(level, spec, Path(out))
        return

    import scipy

    from dropout_verify import plan_table

    plans: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(args.jobs) as pool:
        runs = [(level, spec) for level in LEVELS for spec in SPECS]
        for answers in pool.map(lambda run: run_one(*run, Path(folder)), runs):
            for call, answer in answers.items():
                if plans.setdefault(call, answer) != answer:  # the planners are pure: one key, one answer
                    raise RuntimeError(f"{call}: {plans[call]} and {answer}")
    content = {"fingerprint": plan_table.source_fingerprint(),
               "made_by": "python tools/make_plan_table.py",
               "runs": {"levels": list(LEVELS), "seed": 0, "specs": list(SPECS)},
               "scipy": scipy.__version__,
               "plans": dict(sorted(plans.items()))}
    plan_table.TABLE.write_text(json.dumps(content, indent=1) + "\n")
    print(f"{len(plans)} plans written to {plan_table.TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
