"""A worker process of ``dropout-check``: runs the property suite for one implementation.

    python -m dropout_verify.worker JOB.json
    python -m dropout_verify.worker --wait-for-job     (a spare: JOB.json's path comes on stdin)

The supervisor (``supervisor``) writes the job: the mode (``collect``: resolve the specs and
list the properties; ``run``: verify one implementation), the run's options, the properties
already done by an earlier worker, and where the channel (a pipe), the watch slot and the
fault dump are. The worker runs pytest in-process with the suite's own configuration only
(``isolated.ini``, no conftest files, no plugin autoloading), and hands the plugin the pipe
and the watch slot as options: the run reports every event on the channel (``events``) and
marks every call of the implementation in the watch slot (``guard``). The worker dumps its
Python stack to the fault file on a crash, or when the supervisor asks with SIGUSR1 before
ending a hung call.
"""

from __future__ import annotations

import faulthandler
import importlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

__all__ = ["WAIT_FOR_JOB", "main", "pytest_arguments"]

# The argument of a spare worker: it imports the libraries every run imports (never the code
# under test: its job names that), then reads its job's path from stdin. The supervisor starts
# spares while the collect worker, or an earlier implementation, runs, so that the imports,
# about 3.5 s of CPU, are not on the run's path. An empty stdin (the run needed no more
# workers) ends it.
WAIT_FOR_JOB = "--wait-for-job"
LIBRARIES = ("numpy", "scipy.stats", "torch", "hypothesis", "pytest")

ISOLATED_INI = Path(__file__).resolve().parent / "isolated.ini"


def pytest_arguments(job: dict[str, Any], suite: Path) -> list[str]:
    """The pytest command line of a worker (what runs is the suite and nothing of the host project)."""
    words = [str(suite), "-c", str(ISOLATED_INI), "--rootdir", str(suite.parent), "--noconftest",
             "-p", "dropout_verify.plugin", "-p", "no:cacheprovider", "-p", "no:warnings", "-p", "no:stepwise",
             "-p", "no:faulthandler",  # pytest's would take over the fault dump the supervisor reads
             "-q", "--tb=no", "-rN", "--no-header", "--dropout-via-cli",
             "--dropout-channel-fd", str(job["channel_fd"])]
    if job.get("watch"):
        words += ["--dropout-watch", str(job["watch"])]
    for spec in job["specs"]:
        words += ["--dropout-impl", spec]
    for name, value in job["options"].items():
        words += [f"--dropout-{name}"] if name == "compile" else [f"--dropout-{name}", str(value)]
    if job.get("select"):
        words += ["-k", job["select"]]
    if job["mode"] == "collect":
        words.append("--collect-only")
    return words


class Deselect:
    """Leave out the properties an earlier worker of this implementation already judged."""

    def __init__(self, done: list[str]) -> None:
        self.done = set(done)

    def pytest_collection_modifyitems(self, config: Any, items: list[Any]) -> None:
        if self.done:
            kept = [item for item in items if item.nodeid not in self.done]
            config.hook.pytest_deselected(items=[item for item in items if item.nodeid in self.done])
            items[:] = kept


def wait_for_job() -> str | None:
    """A spare's start: import the libraries, then wait for the job's path (None: no job)."""
    faulthandler.enable(all_threads=True)  # into the log until the job names the dump file
    for library in LIBRARIES:
        try:
            importlib.import_module(library)
        except Exception:  # noqa: BLE001 - the job imports it again, and reports the error where it belongs
            pass
    line = sys.stdin.readline().strip()  # the supervisor then closes it: later reads see its end
    return line or None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job_path = wait_for_job() if argv[0] == WAIT_FOR_JOB else argv[0]
    if job_path is None:
        return 0
    job = json.loads(Path(job_path).read_text())
    from .events import Channel

    channel = Channel(int(job["channel_fd"]))
    dump = open(job["dump"], "w")  # noqa: SIM115 - stays open for faulthandler until the process ends
    faulthandler.enable(file=dump, all_threads=True)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    channel.emit("hello", pid=os.getpid())
    import pytest

    from .config import properties_dir

    code = int(pytest.main(pytest_arguments(job, properties_dir()), plugins=[Deselect(job.get("done", []))]))
    channel.emit("finished", exit=code)
    return code


if __name__ == "__main__":
    sys.exit(main())
