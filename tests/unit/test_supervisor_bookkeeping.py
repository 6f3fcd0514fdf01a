"""dropout_verify.supervisor's process-free helpers: fault dumps, threads per worker, cores, signals."""

from __future__ import annotations

import faulthandler
import os
import threading
from pathlib import Path

import pytest

from dropout_verify import supervisor
from dropout_verify.supervisor import _signal_name, last_frames, usable_cores, worker_threads

SUITE = str(Path(supervisor.__file__).parent)
STDLIB_THREADING = threading.__file__


def crash_dump(*frames: str) -> str:
    """A fault dump as faulthandler writes it on a crash (innermost frame first)."""
    lines = [f'  File "{path}", line {line} in {name}' for path, line, name in (f.split("|") for f in frames)]
    return "\n".join(["Fatal Python error: Segmentation fault", "", "Current thread 0x00007f0b2c9e1740 "
                      "(most recent call first):", *lines, "", "Extension modules: numpy.core._multiarray_umath, "
                      "torch._C (total: 2)"]) + "\n"


def test_the_implementation_s_innermost_frame() -> None:
    dump = crash_dump(f"{STDLIB_THREADING}|300|wait", "/home/me/kernels.py|12|scale", "/home/me/kernels.py|30|fine",
                      f"{SUITE}/targets.py|100|call",
                      "/venv/lib/site-packages/_pytest/python.py|159|pytest_pyfunc_call")
    own, frames = last_frames(dump)
    assert own == 'File "/home/me/kernels.py", line 12 in scale'
    assert frames[0] == f'File "{STDLIB_THREADING}", line 300 in wait'
    assert len(frames) == 5


def test_only_the_suite_and_the_standard_library_fall_back_to_the_standard_library() -> None:
    own, _ = last_frames(crash_dump(f"{SUITE}/guard.py|10|call", f"{STDLIB_THREADING}|300|wait"))
    assert own == f'File "{STDLIB_THREADING}", line 300 in wait'


def test_only_the_suite_s_frames_give_no_frame_of_the_implementation() -> None:
    own, frames = last_frames(crash_dump(f"{SUITE}/guard.py|10|call", "/x/hypothesis/core.py|5|run",
                                         "/x/pluggy/_hooks.py|3|call", "/usr/lib/python3.11/runpy.py|88|_run_code"))
    assert own == ""
    assert len(frames) == 4


def test_at_most_six_frames() -> None:
    _, frames = last_frames(crash_dump(*[f"/k/f{i}.py|{i}|f{i}" for i in range(10)]))
    assert frames == [f'File "/k/f{i}.py", line {i} in f{i}' for i in range(6)]


def test_empty_or_unreadable_dump() -> None:
    assert last_frames("") == ("", [])
    assert last_frames("some text a worker printed\nand no stack\n") == ("", [])


def test_only_the_first_stack_of_a_dump_of_every_thread() -> None:
    """A hang's dump (SIGUSR1, all threads): the thread that was dumped first, not the others."""
    dump = "\n".join([
        "Thread 0x00007f0b1a7fc640 (most recent call first):",
        '  File "/home/me/kernels.py", line 7 in spin',
        "",
        "Current thread 0x00007f0b2c9e1740 (most recent call first):",
        '  File "/home/me/other.py", line 1 in idle',
    ])
    own, frames = last_frames(dump)
    assert own == 'File "/home/me/kernels.py", line 7 in spin' and frames == [own]


def dump_here(path: Path) -> str:
    with open(path, "w+") as handle:
        faulthandler.dump_traceback(handle, all_threads=True)
        handle.seek(0)
        return handle.read()


def test_a_real_faulthandler_dump(tmp_path: Path) -> None:
    dump = dump_here(tmp_path / "dump")
    if not dump.startswith("Current thread"):  # e.g. under pytest-xdist, execnet's threads come first
        pytest.skip("another thread is dumped first")
    own, frames = last_frames(dump)
    assert own.startswith(f'File "{__file__}", line ') and own.endswith(" in dump_here")
    assert frames[0] == own


@pytest.mark.parametrize(("workers", "cores", "environ", "threads"), [
    (1, 8, {}, None),  # one worker: torch's own default
    (0, 8, {}, None),
    (2, 2, {}, 1),
    (2, 8, {}, 4),
    (3, 8, {}, 2),
    (4, 2, {}, 1),  # never less than one
    (2, 8, {"OMP_NUM_THREADS": "3"}, None),  # the user's choice wins
    (2, 8, {"MKL_NUM_THREADS": "3"}, None),
])
def test_worker_threads(workers: int, cores: int, environ: dict[str, str], threads: int | None) -> None:
    assert worker_threads(workers, cores, environ) == threads


def test_usable_cores_follow_the_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert usable_cores() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(), raising=False)
    assert usable_cores() == 1


def test_usable_cores_without_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cores() == 1


@pytest.mark.parametrize(("returncode", "name"), [
    (-9, "SIGKILL"), (-11, "SIGSEGV"), (-6, "SIGABRT"), (-15, "SIGTERM"), (-200, "signal 200"),
    (0, "exit status 0"), (1, "exit status 1"), (3, "exit status 3"),
])
def test_signal_name(returncode: int, name: str) -> None:
    assert _signal_name(returncode) == name
