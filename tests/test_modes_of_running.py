"""The time-budgeted mode stops at its deadline; compiled targets; what is missing is a usage error.

* ``--time S``: the anytime-valid keep-rate tests stop within 2 s of the deadline and report
  the minimum detectable bias reached.
* ``--compile``: the suite verifies torch.compile(implementation); without a compiler
  toolchain it is a usage error naming what is missing.
* ``--device cuda`` without a GPU, and an SDPA backend the installed torch lacks: usage errors.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dropout_verify.attention import _backend_present
from tests.helpers import dropout_check, read_report

pytestmark = pytest.mark.subprocess


def test_time_budget_stops_within_two_seconds_of_its_deadline(tmp_path: Path) -> None:
    finished = dropout_check("torch.nn.functional:dropout", "--time", "5", "-k", "test_keep_rate_until_deadline",
                             "--report", str(tmp_path))
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-2000:]
    report = read_report(tmp_path)
    timed = report["implementations"][0]["properties"][0]
    assert timed["property"] == "test_keep_rate_until_deadline" and timed["verdict"] == "pass"
    assert 5.0 <= timed["seconds"] <= 7.0, timed["seconds"]
    assert len(timed["decisions"]) == 3 and all("detects a bias of" in d["detail"] for d in timed["decisions"])
    assert "--time 5 s reached keep-rate MDEs (power 0.999): p = 0.1:" in finished.stdout


def test_compiled_target_is_verified(tmp_path: Path) -> None:
    finished = dropout_check("torch.nn.functional:dropout", "--compile", "--level", "quick",
                             "-k", "test_support or test_eval_mode", "--report", str(tmp_path), timeout=900)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-2000:]
    assert "[each wrapped in torch.compile(dynamic=True)]" in finished.stdout
    assert read_report(tmp_path)["run"]["compile"] is True


def test_compile_without_a_toolchain_is_a_usage_error(tmp_path: Path) -> None:
    finished = dropout_check("torch.nn.functional:dropout", "--compile", "--level", "quick", "-k", "test_support",
                             CXX=str(tmp_path / "no-such-compiler"), TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "cache"))
    assert finished.returncode == 4, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "--compile asked for, but torch.compile cannot build code here" in finished.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_usage_error() -> None:
    finished = dropout_check("torch.nn.functional:dropout", "--device", "cuda", "--level", "quick")
    assert finished.returncode == 4
    assert "--device cuda asked for, but this torch" in finished.stderr and "sees no CUDA device" in finished.stderr


def test_a_missing_sdpa_backend_is_named() -> None:
    assert _backend_present("MATH") is None
    assert "has no SDPA backend SDPBackend.NO_SUCH_BACKEND" in str(_backend_present("NO_SUCH_BACKEND"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the flash backend has no CPU kernel; a GPU has one")
def test_a_backend_with_no_kernel_here_is_not_verified(tmp_path: Path) -> None:
    """Nothing fails, nothing is exercised: exit status 3 ("not verified"), not a green 0."""
    finished = dropout_check("dropout_verify.attention:sdpa_flash", "--level", "quick", "-k",
                             "test_keep_rate and not quantised and not deadline", "--report", str(tmp_path))
    assert finished.returncode == 3, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "dropout-check: not verified: nothing fails; not supported by the kernel here" in finished.stdout
    (implementation,) = read_report(tmp_path)["implementations"]
    assert implementation["verdict"] == "not verified" and read_report(tmp_path)["run"]["exit_code"] == 3
