"""Fixtures shared by the subprocess tests: runs that several modules compare against."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.helpers import dropout_check, read_report

# Triton kernels in these tests run on CPU tensors under Triton's interpreter, which is chosen
# when Triton decorates its own library kernels, as it is first imported: so before any test
# module imports it (tests/triton_mutants.py, examples/triton_dropout.py).
os.environ.setdefault("TRITON_INTERPRET", "1")

if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # Under `make test` (pytest -n 2) the test workers share the cores, and each is often beside a
    # subprocess of the other's (a dropout-check run, its spare worker): torch's default of a
    # thread per core in every process has the threads spin-wait for each other. Each test
    # worker takes its share, as dropout-check's workers do (the periodicity calibration at
    # q = 0.5: 11 s alone on 2 threads, 13 s on 1, 28 to 56 s on 2 under `make test`).
    import torch

    from dropout_verify.supervisor import usable_cores, worker_threads

    _threads = worker_threads(int(os.environ["PYTEST_XDIST_WORKER_COUNT"]), usable_cores(), os.environ)
    if _threads is not None:
        torch.set_num_threads(_threads)

REFERENCE = "torch.nn.functional:dropout"


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that every pytest-xdist worker sees (the workers' base
    temporary folders share a parent that is new for each run)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def reference_alone(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """report.json of torch.nn.functional:dropout verified alone at the quick level: what its
    verdicts and p-values must be when misbehaving implementations share its run. Made once
    per test run, whichever worker asks first."""
    shared = _shared_folder(tmp_path_factory)
    folder = shared / "reference-alone"
    with FileLock(str(shared / "reference-alone.lock")):
        if not (folder / "report.json").exists():
            finished = dropout_check(REFERENCE, "--level", "quick", "--report", str(folder))
            assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return read_report(folder)
