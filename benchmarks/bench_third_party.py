"""Verdicts of the suite on the dropouts of timm, torchvision and keras 3 (torch backend).

    python benchmarks/bench_third_party.py [--level standard] [--specs SPEC ...] [--report DIR]

Runs ``dropout-check`` over every adapter of ``dropout_verify.adapters`` at once (each
implementation in its own worker, one after another) with ``KERAS_BACKEND=torch`` and
``OMP_NUM_THREADS=1``, then prints one markdown row per implementation: its kind, verdict, the
properties that failed (by contract point) and its seconds: the verdicts of the table in
``dropout_verify/docs/THIRD_PARTY.md`` (this output, measured, is
``benchmarks/results/third_party_standard.md``); the classifications are the doc's, with the
evidence scripts in ``benchmarks/third_party/``. A library that is not installed makes its
adapters usage errors: install them first (``make third-party``). About 35 minutes on the 2-core
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = "dropout_verify.adapters"
SPECS = (
    "timm:drop_path", "timm:DropPath", "timm:drop_block_2d",
    "torchvision:stochastic_depth_row", "torchvision:stochastic_depth_batch", "torchvision:StochasticDepthRow",
    "torchvision:StochasticDepthBatch", "torchvision:drop_block2d",
    "keras:dropout", "keras:spatial_dropout1d", "keras:spatial_dropout2d", "keras:spatial_dropout3d",
    "keras:alpha_dropout", "keras:random_dropout", "keras:random_dropout_seeded", "keras:attention",
)


def versions() -> str:
    """The libraries' versions, as this Python imports them."""
    code = ("import importlib.metadata as m\n"
            "for n in ('torch', 'timm', 'torchvision', 'keras'):\n"
            "    try: print(f'{n} {m.version(n)}', end='; ')\n"
            "    except m.PackageNotFoundError: print(f'{n} missing', end='; ')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip("; ")


def failed(properties: list[dict[str, object]]) -> str:
    """The failed properties, ``C2 test_support (+3 more C2)`` style, grouped by contract point."""
    by_point: dict[str, list[str]] = {}
    for item in properties:
        if item["verdict"] == "FAIL":
            by_point.setdefault(str(item["contract"]), []).append(str(item["property"]))
    return "; ".join(f"{point}: {', '.join(names)}" for point, names in by_point.items()) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="standard")
    parser.add_argument("--specs", nargs="+", default=[f"{ADAPTERS}.{s}" for s in SPECS])
    parser.add_argument("--report", type=Path, help="keep the run's reports here (default: a temporary folder)")
    args = parser.parse_args()
    report = args.report or Path(tempfile.mkdtemp(prefix="third_party_"))
    env = dict(os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "dropout_verify", *args.specs, "--level", args.level, "--report", str(report)]
    started = time.perf_counter()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if finished.returncode not in (0, 1, 3):
        sys.exit(f"dropout-check exited {finished.returncode}:\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}")
    data = json.loads((report / "report.json").read_text())
    print(f"`{' '.join(['dropout-check', *args.specs[:1], '...', '--level', args.level])}`: "
          f"{len(args.specs)} implementations, exit {finished.returncode}, {seconds:.0f} s; "
          f"{versions()}; {platform.machine()}, {os.cpu_count()} cores; reports in {report}\n")
    print("| implementation | kind | verdict | failed (contract point: properties) | seconds |")
    print("|---|---|---|---|---|")
    for implementation in data["implementations"]:
        spec = str(implementation["spec"]).removeprefix(ADAPTERS + ".")
        print(f"| `{spec}` | {implementation['kind']} | {implementation['verdict']} | "
              f"{failed(implementation['properties'])} | {implementation['seconds']:.0f} |")


if __name__ == "__main__":
    main()
