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
