"""The gate always answers: hangs, crashes and exits of one implementation cost no other its verdict.

One dropout-check run verifies torch.nn.functional:dropout together with implementations that
loop forever in Python, block in C with signals masked, abort, segfault, end the process with
status 0 or 3, raise SystemExit, and return a numpy array. It must end (each call has a hard
limit, enforced from outside the worker), give every implementation a verdict for every
property (FAIL, or "not run" after three lost workers, never silently absent), and give
F.dropout exactly the verdicts and p-values of a run of F.dropout alone. Workers run at once
share the cores (torch's default of a thread per core in every worker made -n 2 slower than -n 1).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from dropout_verify.supervisor import usable_cores, worker_threads
from tests.helpers import dropout_check, environment, evidence, read_report, verdicts

pytestmark = pytest.mark.subprocess

REFERENCE = "torch.nn.functional:dropout"
MISBEHAVING = {
    "tests.badimpls:loops_forever": "hung: a call ran past the time limit of 2 s",
    "tests.badimpls:sleeps_in_c": "hung: a call ran past the time limit of 2 s",
    "tests.badimpls:aborts": "crashed with SIGABRT",
    "tests.badimpls:segfaults": "crashed with SIGSEGV",
    "tests.badimpls:exits_0": "ended the process (exit status 0)",
    "tests.badimpls:exits_3": "ended the process (exit status 3)",
    "tests.badimpls:sys_exit_3": "called sys.exit(3)",
    "tests.badimpls:returns_numpy": "returned ndarray, not a torch.Tensor",
}


@pytest.fixture
def alone(reference_alone: dict) -> dict:
    return reference_alone


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, float]:
    folder = tmp_path_factory.mktemp("together")
    started = time.monotonic()
    finished = dropout_check(REFERENCE, *MISBEHAVING, "--level", "quick", "--call-timeout", "2", "-n", "2",
                             "--report", str(folder), timeout=900)
    elapsed = time.monotonic() - started
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "Traceback" not in finished.stderr, finished.stderr[-3000:]
    return read_report(folder), finished.stdout, elapsed


def test_reference_verdicts_are_those_of_a_run_alone(alone: dict, together: tuple[dict, str, float]) -> None:
    report, _, _ = together
    assert verdicts(report, REFERENCE) == verdicts(alone, REFERENCE)
    assert evidence(report, REFERENCE) == evidence(alone, REFERENCE)  # the very p-values
    assert all(v in ("pass", "n/a", "info") for v in verdicts(report, REFERENCE).values())


@pytest.mark.parametrize("spec", sorted(MISBEHAVING))
def test_misbehaving_implementation_gets_a_verdict_for_every_property(
        alone: dict, together: tuple[dict, str, float], spec: str) -> None:
    report, _, _ = together
    mine = verdicts(report, spec)
    assert set(mine) == set(verdicts(alone, REFERENCE)), "every property has a verdict (none silently absent)"
    assert "FAIL" in mine.values()
    messages = [p["message"] + p["reason"] for i in report["implementations"] if i["spec"] == spec
                for p in i["properties"]]
    assert any(MISBEHAVING[spec] in m for m in messages), (spec, messages[:3])


def test_crash_names_signal_property_example_and_last_frame(together: tuple[dict, str, float]) -> None:
    report, _, _ = together
    implementation = next(i for i in report["implementations"] if i["spec"] == "tests.badimpls:segfaults")
    failed = [p for p in implementation["properties"] if p["verdict"] == "FAIL"]
    message = failed[0]["message"]
    assert "crashed with SIGSEGV while this property ran" in message
    assert "last frame of the implementation" in message and "badimpls.py" in message and "segfaults" in message
    assert "reproduce: dropout-check tests.badimpls:segfaults" in message
    not_run = [p for p in implementation["properties"] if p["verdict"] == "not run"]
    assert not_run and all("worker lost 3 times" in p["reason"] for p in not_run)


def test_hang_in_c_is_ended_from_outside(together: tuple[dict, str, float]) -> None:
    report, _, elapsed = together
    implementation = next(i for i in report["implementations"] if i["spec"] == "tests.badimpls:sleeps_in_c")
    failed = [p for p in implementation["properties"] if p["verdict"] == "FAIL"]
    assert "sleeps_in_c" in failed[0]["message"]  # the frame it hung in
    # 8 implementations, 3 lost workers at most each: the run ends within its limits.
    assert elapsed < 300


def test_table_shows_every_implementation(together: tuple[dict, str, float]) -> None:
    _, out, _ = together
    for index, spec in enumerate([REFERENCE, *MISBEHAVING], 1):
        assert f"[{index}] {spec}" in out
    assert "some properties FAIL (8 of 9 implementations)" in out


def test_crash_during_an_example_names_it_and_replays(tmp_path: Path) -> None:
    finished = dropout_check("tests.badimpls:aborts", "--level", "quick", "-k", "test_support")
    assert finished.returncode == 1
    out = finished.stdout
    assert "crashed with SIGABRT while this property ran" in out
    assert "example:  shape=(3, 4) dtype=float32 layout=contiguous p=0.3" in out
    command = next(line for line in out.splitlines() if line.strip().startswith("reproduce: dropout-check"))
    words = command.split("reproduce: dropout-check ")[1].split()
    again = dropout_check(*words)
    assert again.returncode == 1 and "crashed with SIGABRT while this property ran" in again.stdout


@pytest.mark.parametrize(("workers", "cores", "environ", "expected"), [
    (2, 2, {}, 1), (2, 16, {}, 8), (3, 16, {}, 5), (4, 2, {}, 1),
    (1, 2, {}, None),  # one worker at a time: torch's own default
    (2, 2, {"OMP_NUM_THREADS": "2"}, None), (2, 2, {"MKL_NUM_THREADS": "2"}, None),  # the user's setting wins
])
def test_concurrent_workers_share_the_cores(workers: int, cores: int, environ: dict[str, str],
                                            expected: int | None) -> None:
    assert worker_threads(workers, cores, environ) == expected


@pytest.mark.parametrize("user_variable", [None, "OMP_NUM_THREADS", "MKL_NUM_THREADS"])
def test_workers_run_with_their_share_of_threads(tmp_path: Path, user_variable: str | None) -> None:
    """-n 2: each worker's torch has cores // 2 threads, unless the user set a thread count.

    torch caps a requested count at the cores, so the user asks for 2 (not our 1 on 2 cores)."""
    env = environment()
    env.pop("OMP_NUM_THREADS")
    env.pop("MKL_NUM_THREADS", None)
    if user_variable is not None:
        env[user_variable] = "2"
    finished = subprocess.run(
        [sys.executable, "-m", "dropout_verify", REFERENCE, "dropout_impl:dropout_mask", "-n", "2", "--level", "quick",
         "-k", "test_invalid_probability_is_rejected", "--report", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    cores = usable_cores()
    expected = min(2, cores) if user_variable else max(1, cores // 2)
    assert read_report(tmp_path)["environment"]["torch_threads"] == str(expected)
