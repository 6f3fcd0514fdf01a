"""dropout-check in CI: it talks while it works, stops cleanly when CI stops it, judges a hang
once, and gives the same decisions for the same command wherever and however it runs.

A CI runner reads stdout through a pipe (no terminal), kills jobs that stay silent, cancels a
job with SIGTERM (a closed terminal sends SIGHUP), and runs the same command on machines with
other core counts. Each test below is one of those conditions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.helpers import dropout_check, environment, read_report, verdicts

pytestmark = pytest.mark.subprocess

REFERENCE = "torch.nn.functional:dropout"


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of the running processes whose command line or environment contains ``text``
    (Linux /proc; a spare worker's command line names no file, its environment names the run's
    temporary folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            variables = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if text in command or text in variables:
            found.append(f"{entry.name}: {command}")
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc to find leftover workers")
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_a_stop_signal_ends_the_run_as_ctrl_c_does(tmp_path: Path, stop: str) -> None:
    """Sent to the whole process group, as CI and `timeout` do: the verdicts so far, exit 2,
    no worker left running, no temporary folder left behind, within 5 s."""
    env = environment(TMPDIR=str(tmp_path))  # the supervisor's temporary folder lands here
    process = subprocess.Popen([sys.executable, "-m", "dropout_verify", "tests.badimpls:hangs", REFERENCE,
                                "--level", "quick"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    header = process.stdout.readline()  # the header comes first, before any property has run
    assert header.startswith("dropout: implementations tests.badimpls:hangs"), header
    for line in process.stdout:  # one property done: the run worker is running
        if line.startswith("dropout: [1/2]"):
            break
    os.killpg(process.pid, getattr(signal, stop))
    started = time.monotonic()
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert process.returncode == 2, (out[-2000:], err[-2000:])
    assert f"the run was interrupted ({stop})" in out and "dropout-check: interrupted" in out
    assert "Traceback" not in err
    assert not _processes_mentioning(str(tmp_path)), "a worker outlived the run"
    assert not list(tmp_path.glob("dropout-check-*")), "the temporary folder was left behind"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc to find leftover workers")
def test_no_spare_worker_outlives_a_run(tmp_path: Path) -> None:
    """The next implementation's worker starts ahead, a spare that imports the libraries while
    the collection or the previous implementation runs: after a run of three, two at a time
    (two spares beside the collection, a third started when the first is taken), and after a
    bad spec (spares started, no implementation run), none is left waiting."""
    runs = {"three": [REFERENCE, "dropout_impl:dropout_mask", "dropout_impl:dropout_bernoulli", "-n", "2"],
            "bad spec": [REFERENCE, "no_such_module_anywhere:dropout"]}
    for name, arguments in runs.items():
        where = tmp_path / name.replace(" ", "_")
        where.mkdir()
        finished = dropout_check(*arguments, "--level", "quick", "-k", "test_support", cwd=where,
                                 TMPDIR=str(where))
        assert finished.returncode == (4 if name == "bad spec" else 0), finished.stdout[-2000:] + finished.stderr
        assert not _processes_mentioning(str(where)), f"{name}: a worker outlived the run"
        assert not list(where.glob("dropout-check-*")), f"{name}: the temporary folder was left behind"


def test_a_hang_is_one_verdict(tmp_path: Path) -> None:
    """One call limit (2 s here) and a worker's start-up, not one limit per property; the rest
    are not run and say where it hung; JUnit counts one failure; the reproduce line names the limit."""
    started = time.monotonic()
    finished = dropout_check("tests.badimpls:hangs", "--level", "quick", "--call-timeout", "2",
                             "--report", str(tmp_path), cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert finished.returncode == 1, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert elapsed < 40, elapsed  # two workers' start-up (collect, run) and one limit
    mine = verdicts(read_report(tmp_path), "tests.badimpls:hangs")
    failed = [name for name, verdict in mine.items() if verdict == "FAIL"]
    assert len(failed) == 1
    report = read_report(tmp_path)["implementations"][0]["properties"]
    not_run = [p for p in report if p["verdict"] == "not run"]
    assert not_run and all(p["reason"] == f"hung in {failed[0]}" for p in not_run)
    assert f"-k {failed[0]}" in finished.stdout and "--call-timeout 2 -k" in finished.stdout
    suite = ElementTree.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and int(suite.get("skipped", "0")) >= len(not_run)


def test_an_implementation_raising_keyboard_interrupt_fails_like_any_raise(tmp_path: Path) -> None:
    """In a worker no terminal's Ctrl-C arrives, so a KeyboardInterrupt is the implementation's:
    each property FAILs saying so, the run goes on, and no pytest banner reaches the user."""
    finished = dropout_check("tests.badimpls:raises_keyboard_interrupt", "--level", "quick", "-k",
                             "test_support or test_invalid_probability", "--report", str(tmp_path), cwd=tmp_path)
    assert finished.returncode == 1, finished.stdout[-2000:] + finished.stderr[-2000:]
    mine = verdicts(read_report(tmp_path), "tests.badimpls:raises_keyboard_interrupt")
    assert mine["test_support"] == "FAIL" and mine["test_invalid_probability_is_rejected"] == "FAIL", mine
    assert "raised KeyboardInterrupt" in finished.stdout
    assert "KeyboardInterrupt" not in finished.stderr and "full-trace" not in finished.stdout


def test_a_log_sees_the_header_at_once_and_a_line_per_property(tmp_path: Path) -> None:
    finished = dropout_check(REFERENCE, "--level", "quick", "-k", "test_support or test_p_one", cwd=tmp_path)
    assert finished.returncode == 0, finished.stdout[-2000:]
    lines = finished.stdout.splitlines()
    assert lines[0].startswith("dropout: implementations torch.nn.functional:dropout")
    progress = [line for line in lines if line.startswith("dropout: [1/1]")]
    assert len(progress) == 4 and sum("  pass  (" in line for line in progress) == 2, progress
    assert "dropout: [1/1] torch.nn.functional:dropout 1/4  C7 edges  test_p_one  pass  (" in progress[0]
    assert lines.index(progress[0]) > next(i for i, line in enumerate(lines) if line.startswith("dropout: reproduce"))


def test_same_command_same_decisions_in_any_folder_and_thread_count(tmp_path: Path) -> None:
    """The sequential keep-rate tests stop where the data say, not where the clock put a batch
    boundary; the periodicity scan's sums do not depend on the thread count; nothing is
    written into the user's folder (no .hypothesis)."""
    selection = "test_keep_rate and not deadline and not quantised or test_no_periodic_mask"
    decisions = []
    for folder, threads in (("one", "1"), ("two", "2")):
        where = tmp_path / folder
        where.mkdir()
        finished = dropout_check(REFERENCE, "--level", "quick", "-k", selection, "--report", "out", cwd=where,
                                 OMP_NUM_THREADS=threads)
        assert finished.returncode == 0, finished.stdout[-2000:]
        assert sorted(p.name for p in where.iterdir()) == ["out"]
        properties = read_report(where / "out")["implementations"][0]["properties"]
        decisions.append({p["property"]: [(d["name"], d["samples"], d["statistic"], d["log_pvalue"])
                                          for d in p["decisions"]] for p in properties})
    assert decisions[0] == decisions[1]
    assert len(decisions[0]["test_keep_rate"]) >= 8 and decisions[0]["test_no_periodic_mask"]
