"""Running dropout-check and pytest as a user does, in fresh processes, and reading what they wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    """The test process's environment with the checkout importable and no DROPOUT_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPOUT_") and k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["OMP_NUM_THREADS"] = "1"  # two test workers share two cores
    # As a user with the environment activated: reproduce lines then say plainly "dropout-check".
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def dropout_check(*arguments: str, cwd: Path = ROOT, timeout: float = 600,
                  **extra_env: str) -> subprocess.CompletedProcess[str]:
    """``dropout-check ARGUMENTS`` (as ``python -m dropout_verify``) from ``cwd``."""
    return subprocess.run([sys.executable, "-m", "dropout_verify", *arguments], cwd=cwd, env=environment(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def pytest_run(*arguments: str, cwd: Path = ROOT, timeout: float = 600,
               **extra_env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *arguments], cwd=cwd,
                          env=environment(**extra_env), capture_output=True, text=True, timeout=timeout)


def read_report(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "report.json").read_text())


def verdicts(report: dict[str, Any], spec: str) -> dict[str, str]:
    """{property: verdict} of one implementation in a report.json."""
    for implementation in report["implementations"]:
        if implementation["spec"] == spec:
            return {p["property"]: p["verdict"] for p in implementation["properties"]}
    raise KeyError(f"{spec} not in the report: {[i['spec'] for i in report['implementations']]}")


def evidence(report: dict[str, Any], spec: str) -> dict[str, list[tuple[str, float]]]:
    """{property: [(decision name, log p-value)]}: what must not change when others share the run."""
    for implementation in report["implementations"]:
        if implementation["spec"] == spec:
            return {p["property"]: [(d["name"], float(d["log_pvalue"])) for d in p["decisions"]]
                    for p in implementation["properties"]}
    raise KeyError(spec)
