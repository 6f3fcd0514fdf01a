"""The pytest plugin and the dropout-check command, run as a user runs them.

Each test starts a fresh pytest (or dropout-check) process: the plugin holds one run's
configuration, so runs must not share an interpreter.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import torch
from properties.harness import seeded

ROOT = Path(__file__).resolve().parents[1]


def run(*arguments: str, timeout_env: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if timeout_env:
        env["DROPOUT_CALL_TIMEOUT"] = timeout_env
    return subprocess.run(list(arguments), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def pytest_properties(*options: str, **kwargs) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "pytest", "properties", "-p", "no:cacheprovider", *options, **kwargs)


def test_bad_spec_is_a_usage_error_with_a_suggestion():
    finished = pytest_properties("--dropout-impl", "torch.nn.functional:droput")
    assert finished.returncode == 4
    assert "has no attribute 'droput'; did you mean 'dropout'" in finished.stderr + finished.stdout


def test_header_states_budget_effects_and_reproduce_command():
    finished = pytest_properties("--dropout-impl", "tests.badimpls:fine", "--dropout-level", "quick",
                                 "--dropout-seed", "7", "-k", "test_support")
    assert finished.returncode == 0, finished.stdout[-2000:]
    out = finished.stdout
    assert "false-alarm budget 1e-06 per implementation" in out
    assert "keep-rate bias 0.01" in out
    assert ("reproduce: pytest properties --dropout-impl tests.badimpls:fine --dropout-seed 7 "
            "--dropout-level quick --dropout-alpha 1e-06") in out


def test_failure_prints_evidence_and_a_command_that_reproduces_it():
    spec = "tests.mutants:keep_and_drop_confused"
    finished = pytest_properties("--dropout-impl", spec, "--dropout-level", "quick", "-k", "test_keep_rate")
    assert finished.returncode == 1
    out = finished.stdout
    assert f"FAILED properties/test_keep_rate.py::test_keep_rate[{spec}]" in out
    for fragment in ("does not hold for", "expected: keep rate", "p-value", "threshold alpha", "example:  shape=",
                     "reproduce: pytest 'properties/test_keep_rate.py::test_keep_rate[tests.mutants:keep_and_drop_confused]'"):
        assert fragment in out, fragment
    command = next(line for line in out.splitlines() if "reproduce: pytest 'properties/test_keep_rate.py" in line)
    replay = run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *shlex.split(command.split("reproduce: pytest ")[1]))
    assert replay.returncode == 1 and "1 failed" in replay.stdout


def test_misbehaving_implementations_fail_cleanly():
    finished = pytest_properties("--dropout-impl", "tests.badimpls:raises", "--dropout-impl", "tests.badimpls:returns_list",
                                 "--dropout-impl", "tests.badimpls:hangs", "--dropout-level", "quick",
                                 "-k", "test_support or test_keep_rate", timeout_env="2")
    assert finished.returncode == 1
    out = finished.stdout
    assert "raised RuntimeError: kernel launch failed" in out
    assert "returned list, not a torch.Tensor" in out
    assert "ran past 2 s: treated as hung" in out
    assert "INTERNALERROR" not in out and "Traceback" not in finished.stderr


def test_dropout_check_prints_a_verdict_table():
    finished = run(str(Path(sys.executable).parent / "dropout-check"), "tests.mutants:scale_by_p", "tests.badimpls:fine",
                   "--level", "quick", "-k", "test_support or test_contract")
    assert finished.returncode == 1, finished.stdout[-2000:]
    out = finished.stdout
    assert "[1] tests.mutants:scale_by_p" in out and "[2] tests.badimpls:fine" in out
    row = next(line for line in out.splitlines() if line.startswith("C2 support"))
    assert row.split()[-2:] == ["FAIL", "pass"]
    assert "Evidence" in out and "dropout-check tests.mutants:scale_by_p --seed 0 --level quick" in out


def test_keep_convention_passes_keep_probability():
    finished = pytest_properties("--dropout-impl", "tests.mutants:correct_keep_probability", "--dropout-convention", "keep",
                                 "--dropout-level", "quick", "-k", "test_keep_rate or test_support or test_edge")
    assert finished.returncode == 0, finished.stdout[-3000:]


def test_seeded_block_leaves_the_callers_rng_as_it_was():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with seeded(5):
        torch.rand(10)
    assert torch.equal(state, torch.get_rng_state())
