"""``dropout-check``'s supervisor: one worker process per implementation, watched from outside.

An implementation may loop forever, block in C, abort, segfault, exit, or change torch's
global state; none of that may cost another implementation its verdict, or the run its end.
So the supervisor (this module; it never imports torch or user code)

1. checks the ``-k`` expression (``check_select``: pytest's compiler alone), then starts one
   *collect* worker that resolves every spec and lists the properties (a bad spec or ``-k``
   is a usage error, exit 4, before anything runs);
2. verifies each implementation in a *run* worker of its own (``worker``), reading its events
   (which property and example is running, each outcome as data) from a pipe and its call
   clock from the watch slot (``watch``). Run workers start ahead as *spares*: beside the
   collect worker, and beside each implementation's run while others wait, a process imports
   the libraries (never the code under test) and waits for its job, so that its start-up is
   off the run's path;
3. when a call outlives the time limit, asks the worker for its Python stack (SIGUSR1),
   ends it (SIGKILL), fails the running property as hung and reports the properties not yet
   run as "not run (hung in PROPERTY)": a hang costs one call limit, not one per property;
4. when the worker dies (a signal, an exit), fails the running property with the signal or
   status and the implementation's last frame from the fault dump, then starts a new worker
   for the properties not yet run, until ``MAX_LOST_WORKERS`` workers of one implementation
   were lost, after which the rest are reported "not run";
5. on an interrupt (Ctrl-C, SIGTERM, SIGHUP: ``interrupt``), ends the workers' process groups
   and returns the verdicts reached so far, marked interrupted; ``close`` removes the
   temporary folder.

Every outcome the supervisor decides itself (a hang, a crash, "not run") is also passed to
``on_event`` as an ``outcome`` event, as the workers' own outcomes are.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import worker as worker_module
from .config import RunConfig, property_names
from .options import UsageError
from .results import ImplementationResult, PropertyOutcome
from .watch import WatchSlot

__all__ = ["MAX_LOST_WORKERS", "Plan", "PlannedTest", "Supervisor", "check_select", "usable_cores", "worker_threads"]

MAX_LOST_WORKERS = 3
STARTUP_LIMIT_S = 300.0  # a worker that has not said hello by then is stuck in start-up
DUMP_WAIT_S = 2.0  # how long a hung worker gets to write its stack before it is killed
# Frames of these packages are the suite's or the test runner's, not the implementation's.
_OWN_FRAMES = re.compile(r"[/\\](dropout_verify|_pytest|pluggy|hypothesis)[/\\]|[/\\]runpy\.py$")
_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"])


@dataclass
class PlannedTest:
    id: str
    spec: str
    property: str
    contract: str
    title: str
    claim: str
    variant: str = ""


@dataclass
class Plan:
    """What the collect worker found: each spec's kind and its properties, in run order."""

    targets: dict[str, dict[str, str]]
    tests: dict[str, list[PlannedTest]]


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a container's share), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def worker_threads(workers: int, cores: int, environ: Mapping[str, str]) -> int | None:
    """torch's intra-op threads for each of ``workers`` run at once; None keeps torch's default.

    torch gives *every* process one OpenMP thread per core. Two workers on two cores then run
    four threads that spin-wait for each other: ``dropout-check -n 2`` on two cores took 48 s of
    wall time and 91 s of CPU for what one worker did in 17 s. So concurrent workers share the
    cores, ``max(1, cores // workers)`` threads each. A user's ``OMP_NUM_THREADS`` or
    ``MKL_NUM_THREADS`` (torch reads both) wins. The thread count changes no random draw and no
    verdict; only the periodicity check's floating-point sums differ, in the last bits (the
    JSON reports of ``-n 1`` and ``-n 2`` over four implementations: p-values equal, estimates
    within 1e-15 relative).
    """
    if workers <= 1 or "OMP_NUM_THREADS" in environ or "MKL_NUM_THREADS" in environ:
        return None
    return max(1, cores // workers)


def _bad_select(expression: str, reason: str) -> str:
    return f"expected -k to be a pytest expression, but {expression!r} is not one: {reason}"


def no_property_selected(expression: str) -> str:
    """The error for a -k that matches nothing, with what it can match: each module of the suite
    and its properties (contract points, C8, are no keywords: the verdict table names the
    property behind each)."""
    listed = "\n".join(f"  {module}: {', '.join(names)}" for module, names in property_names().items())
    return (f"-k {expression!r} selects no property. -k matches the names of the properties and of their "
            f"modules (-k modes, -k keep_rate), not contract points; they are:\n{listed}")


def check_select(expression: str | None) -> None:
    """A UsageError unless pytest can compile ``expression`` (``-k``): before any worker starts.

    Only pytest's expression compiler is imported here (about 50-80 ms with what it pulls in),
    never torch or a spec, and only when there is a ``-k``. What compiles but fails later (a
    call parameter, ``-k 'name(x=1)'``) is read from the collect worker's answer (``collect``).
    """
    text = (expression or "").lstrip()  # pytest drops leading blanks; an empty -k selects everything
    if not text:
        return
    try:
        from _pytest.mark import expression as pytest_expression
        compile_expression = pytest_expression.Expression.compile
    except (ImportError, AttributeError):  # a pytest that moved it: collect reads the worker's answer
        return
    # pytest < 8.4 raises its own ParseError ("at column N: ..."), later ones a SyntaxError.
    parse_error: type[Exception] = getattr(pytest_expression, "ParseError", SyntaxError)
    try:
        compile_expression(text)
    except (SyntaxError, parse_error) as error:
        reason = f"at column {error.offset}: {error.msg}" if isinstance(error, SyntaxError) else str(error)
        raise UsageError(_bad_select(str(expression), reason)) from None


def _select_error(expression: str, log: str) -> str | None:
    """What pytest said of the -k expression in a worker's log (it exits with status 4), or None."""
    for line in log.splitlines():
        if not line.startswith("ERROR:"):
            continue
        message = line.removeprefix("ERROR:").strip()
        if message.startswith("Wrong expression passed to '-k'"):
            reason = message.removeprefix("Wrong expression passed to '-k':").strip()
            return _bad_select(expression, reason.removeprefix(f"{expression.lstrip()}:").strip() or message)
        if "Keyword expressions" in message:  # "... do not support call parameters."
            return _bad_select(expression, message)
    return None


def _signal_name(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def last_frames(dump: str) -> tuple[str, list[str]]:
    """(the implementation's innermost frame, the stack's innermost frames) from a fault dump."""
    block: list[str] = []
    in_current = False
    for line in dump.splitlines():
        if line.startswith("Current thread") or (line.startswith("Thread ") and not block):
            in_current, block = True, []
            continue
        if in_current:
            if line.strip().startswith("File "):
                block.append(line.strip())
            elif block:
                break
    def path(frame: str) -> str:
        return frame.split('"')[1] if '"' in frame else frame

    theirs = [frame for frame in block if not _OWN_FRAMES.search(path(frame))]
    outside_stdlib = [frame for frame in theirs if not os.path.realpath(path(frame)).startswith(_STDLIB)]
    own = (outside_stdlib or theirs or [""])[0]
    return own, block[:6]


class _Channel:
    """Reads newline-separated JSON events from the worker's pipe without blocking."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""
        self.closed = False

    def read(self, timeout: float) -> list[dict[str, Any]]:
        if self.closed:
            return []
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.closed = True
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a dying worker
        return events

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    channel: _Channel
    slot: WatchSlot
    dump_path: Path
    log_path: Path
    started: float  # when it was given its job
    stem: Path  # its files: STEM.json (the job), .log, .dump, .watch
    channel_fd: int  # the channel's writing end, as numbered in the worker
    hello: bool = False
    finished: int | None = None
    running: str | None = None  # the node id of the property in progress
    example: str = ""
    killed_for: str = ""  # why the supervisor ended it
    usage_errors: list[str] = field(default_factory=list)


class Supervisor:
    """Runs the collect worker and one run worker per implementation (see the module docstring)."""

    def __init__(self, run: RunConfig, options: dict[str, str], *, select_expression: str | None = None,
                 on_event: Callable[[str, dict[str, Any]], None] | None = None, verbose: bool = False,
                 threads: int | None = None, jobs: int = 1) -> None:
        self.run = run
        self.threads = threads  # intra-op threads of every worker (see worker_threads); None: torch's default
        self.options = options
        self.select = select_expression
        self.on_event = on_event or (lambda kind, data: None)
        self.verbose = verbose
        self.folder = Path(tempfile.mkdtemp(prefix="dropout-check-"))
        self.counter = 0
        self.workers: list[_Worker] = []
        self.environment: dict[str, str] = {}  # torch version, GPU: what the workers run on
        self.stopping = threading.Event()
        self.stopped_by = "Ctrl-C"  # what interrupted the run, in words
        self._lock = threading.Lock()
        # Spare run workers: started ahead, importing the suite's libraries while the collect
        # worker (or an earlier implementation) runs, each waiting for its job (``worker``).
        self.jobs = jobs
        self._spares: list[_Worker] = []
        self._unstarted = 0  # implementations whose verify() has not begun

    def interrupt(self, reason: str | None = None) -> None:
        """End every worker; each verify() returns what it has, marked interrupted by ``reason``
        (Ctrl-C, SIGTERM, SIGHUP)."""
        if reason is not None and not self.stopping.is_set():
            self.stopped_by = reason
        self.stopping.set()
        with self._lock:
            workers = list(self.workers)
        for worker in workers:
            if worker.process.poll() is None:
                self._kill(worker)

    # ------------------------------------------------------------------ workers
    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the suite's own plugin, whatever is installed
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONFAULTHANDLER"] = ""
        # Hypothesis caches what it reads of local modules under ./.hypothesis: keep the
        # user's directory as it was (the suite keeps no example database either).
        env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(self.folder / "hypothesis"))
        if self.threads is not None:
            env["OMP_NUM_THREADS"] = str(self.threads)  # torch reads it once, when it starts
        return env

    def _start(self, mode: str, specs: list[str], done: list[str]) -> _Worker:
        """A worker on its job: a spare if one is waiting (run workers), else a new process."""
        worker = self._take_spare() if mode == "run" else None
        job = {"mode": mode, "specs": specs, "options": self.options, "done": done, "select": self.select}
        if worker is None:
            worker = self._launch(job)
        else:
            self._give_job(worker, job)
        return worker

    def _launch(self, job: dict[str, Any] | None) -> _Worker:
        """Start a worker process on ``job``, or (None) a spare that waits for its job on stdin."""
        with self._lock:
            self.counter += 1
            stem = self.folder / f"worker{self.counter}"
        read_fd, write_fd = os.pipe()
        slot = WatchSlot(f"{stem}.watch", create=True)
        log_path = Path(f"{stem}.log")
        worker_job = str(self._write_job(stem, write_fd, job)) if job is not None else worker_module.WAIT_FOR_JOB
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "dropout_verify.worker", worker_job],
                cwd=self.run.invocation_dir, env=self._environment(),
                stdin=subprocess.DEVNULL if job is not None else subprocess.PIPE,
                stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,), start_new_session=True,
            )
        os.close(write_fd)  # the worker has its own copy, under the same number (pass_fds)
        worker = _Worker(process, _Channel(read_fd), slot, Path(f"{stem}.dump"), log_path, time.monotonic(),
                         stem, write_fd)
        with self._lock:
            self.workers.append(worker)
        return worker

    @staticmethod
    def _write_job(stem: Path, channel_fd: int, job: dict[str, Any]) -> Path:
        job_path = Path(f"{stem}.json")
        job_path.write_text(json.dumps({**job, "channel_fd": channel_fd, "watch": f"{stem}.watch",
                                        "dump": f"{stem}.dump"}))
        return job_path

    def _give_job(self, worker: _Worker, job: dict[str, Any]) -> None:
        """Hand a spare its job; a spare that died waiting reads none, and is reported as a lost
        worker that never said hello (its log says why)."""
        assert worker.process.stdin is not None
        job_path = self._write_job(worker.stem, worker.channel_fd, job)
        worker.started = time.monotonic()
        try:
            worker.process.stdin.write(f"{job_path}\n".encode())
            worker.process.stdin.close()
        except OSError:  # BrokenPipeError: it is gone
            pass

    def warm(self, count: int) -> None:
        """Start ``count`` spare run workers (see ``worker.WAIT_FOR_JOB``)."""
        for _ in range(count):
            if self.stopping.is_set():
                return
            spare = self._launch(None)
            with self._lock:
                self._spares.append(spare)

    def _take_spare(self) -> _Worker | None:
        """The oldest spare, and a new one started in its place while implementations wait for
        theirs: one spare ahead, so that the next implementation's interpreter is ready too."""
        with self._lock:
            spare = self._spares.pop(0) if self._spares else None
            more = self._unstarted > len(self._spares)
        if more:
            self.warm(1)
        return spare

    def _end(self, worker: _Worker, reason: str, dump_first: bool) -> None:
        """End a worker from outside: ask for its stack first (SIGUSR1), then SIGKILL its group."""
        worker.killed_for = reason
        if dump_first and worker.process.poll() is None and hasattr(signal, "SIGUSR1"):
            size = worker.dump_path.stat().st_size if worker.dump_path.exists() else 0
            try:
                worker.process.send_signal(signal.SIGUSR1)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + DUMP_WAIT_S
            while time.monotonic() < deadline:
                if worker.dump_path.exists() and worker.dump_path.stat().st_size > size:
                    time.sleep(0.1)  # let it finish writing
                    break
                time.sleep(0.02)
        self._kill(worker)

    @staticmethod
    def _kill(worker: _Worker) -> None:
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        worker.process.wait()

    def _pump(self, worker: _Worker, handle: Callable[[dict[str, Any]], None], timeout: float = 0.1) -> None:
        for event in worker.channel.read(timeout):
            kind = event.get("event")
            if kind == "hello":
                worker.hello = True
            elif kind == "test_start":
                worker.running, worker.example = event["id"], ""
            elif kind == "example":
                worker.example = event.get("example", "")
            elif kind == "outcome":
                worker.running = None
            elif kind == "finished":
                worker.finished = int(event.get("exit", 0))
            elif kind == "usage_error":
                worker.usage_errors.append(event.get("message", ""))
            handle(event)
            self.on_event(str(kind), event)

    def _drain(self, worker: _Worker, handle: Callable[[dict[str, Any]], None]) -> None:
        """Read what an ended worker wrote (bounded: a forked child may hold the pipe open)."""
        deadline = time.monotonic() + 1.0
        while not worker.channel.closed and time.monotonic() < deadline:
            self._pump(worker, handle, timeout=0.05)

    def _watch(self, worker: _Worker, handle: Callable[[dict[str, Any]], None]) -> None:
        """Follow a worker until it ends (by itself, or ended for a hang or a silent start)."""
        limit = self.run.call_timeout
        while True:
            self._pump(worker, handle)
            if self.stopping.is_set():
                self._kill(worker)
                break
            if worker.process.poll() is not None:
                self._drain(worker, handle)
                break
            in_call, _ = worker.slot.read()
            allowed = max(limit, worker.slot.limit())  # the scale tier's large calls may take longer
            if in_call > allowed:
                self._end(worker, f"a call ran past the time limit of {allowed:g} s", dump_first=True)
                break
            if not worker.hello and time.monotonic() - worker.started > STARTUP_LIMIT_S:
                self._end(worker, f"the worker did not start within {STARTUP_LIMIT_S:g} s", dump_first=True)
                break
        worker.channel.close()
        worker.slot.close()

    def _dump_text(self, worker: _Worker) -> str:
        try:
            return worker.dump_path.read_text(errors="replace")
        except OSError:
            return ""

    def _log_tail(self, worker: _Worker, lines: int = 15) -> str:
        try:
            text = worker.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # ------------------------------------------------------------------ collect
    def collect(self, specs: list[str]) -> Plan:
        """Resolve every spec and list its properties, in one isolated worker; UsageError on a bad
        spec, on a -k expression pytest rejects and on one that selects no property."""
        targets: dict[str, dict[str, str]] = {}
        tests: dict[str, list[PlannedTest]] = {spec: [] for spec in specs}

        def handle(event: dict[str, Any]) -> None:
            if event.get("event") == "targets":
                for target in event["targets"]:
                    targets[target["spec"]] = target
                self.environment = dict(event.get("environment", {}))
            elif event.get("event") == "collected":
                for test in event["tests"]:
                    tests.setdefault(test["spec"], []).append(PlannedTest(**test))

        check_select(self.select)  # a bad -k is the user's, not the specs': said before any worker starts
        self._unstarted = len(specs)
        worker = self._start("collect", specs, [])
        self.warm(min(self.jobs, len(specs)))  # their start-up (imports) runs beside the collection
        limit = self.run.call_timeout + 60.0
        while worker.process.poll() is None:
            self._pump(worker, handle)
            if time.monotonic() - worker.started > limit:
                self._end(worker, "", dump_first=True)
                own, _ = last_frames(self._dump_text(worker))
                raise UsageError(f"resolving the specs (importing {', '.join(specs)}) did not finish within "
                                 f"{limit:g} s" + (f"; it was at {own}" if own else ""))
        self._drain(worker, handle)
        worker.channel.close()
        worker.slot.close()
        if worker.usage_errors:
            raise UsageError("\n".join(worker.usage_errors))
        code = worker.process.returncode
        if self.select and code == 5 and not any(tests.values()):  # pytest: no tests collected
            raise UsageError(no_property_selected(self.select))
        if self.select and code == 4:  # pytest's usage error: a -k it took apart later than check_select
            select_error = _select_error(self.select, self._log_tail(worker, lines=40))
            if select_error is not None:
                raise UsageError(select_error)
        if code != 0 or worker.finished is None:
            own, _ = last_frames(self._dump_text(worker))
            raise UsageError(f"resolving the specs {', '.join(specs)} failed ({_signal_name(code)})"
                             + (f" at {own}" if own else "") + f"\n{self._log_tail(worker)}")
        return Plan(targets=targets, tests=tests)

    # ------------------------------------------------------------------ run one implementation
    def verify(self, spec: str, planned: list[PlannedTest], target: dict[str, str]) -> ImplementationResult:
        """Verify one implementation in as many workers as it takes; a verdict for every property."""
        lost_causes: list[str] = []  # what happened to each lost worker, in words
        interrupted = False
        by_id = {test.id: test for test in planned}
        outcomes: dict[str, PropertyOutcome] = {}
        started = time.monotonic()
        lost = 0
        with self._lock:
            self._unstarted -= 1

        def handle(event: dict[str, Any]) -> None:
            if event.get("event") == "outcome":
                outcomes[event["id"]] = PropertyOutcome.from_json(event["outcome"])

        def decide(test: PlannedTest, outcome: PropertyOutcome) -> None:
            """An outcome the supervisor decides (not a worker): kept, and told like the others."""
            outcomes[test.id] = outcome
            self.on_event("outcome", {"id": test.id, "spec": spec, "outcome": outcome.to_json()})

        def not_run(reason: str) -> None:
            for test in planned:
                if test.id not in outcomes:
                    decide(test, self._not_run(test, reason))

        try:
            while len(outcomes) < len(planned):
                if self.stopping.is_set():
                    raise KeyboardInterrupt
                worker = self._start("run", [spec], sorted(outcomes))
                self._watch(worker, handle)
                if self.stopping.is_set():
                    raise KeyboardInterrupt
                if len(outcomes) >= len(planned):
                    break
                if worker.finished is not None and not worker.killed_for:
                    # The worker ran to its end without these properties: nothing to retry.
                    not_run(f"the worker finished (pytest exit status {worker.finished}) without running it\n"
                            f"{self._log_tail(worker)}")
                    break
                lost += 1
                cause, failed = self._loss(worker, spec, by_id, outcomes)
                if failed is not None and worker.running is not None:
                    decide(by_id[worker.running], failed)
                lost_causes.append(cause)
                if worker.killed_for:
                    # A hang: whatever hangs once would hang again in the next property, one
                    # call limit each. One verdict; the rest are not run, and say why.
                    where = failed.property if failed is not None else "start-up" if not worker.hello else \
                        "a worker between properties"
                    not_run(f"hung in {where}")
                    break
                if lost >= MAX_LOST_WORKERS:
                    not_run(f"worker lost {lost} times (last: {cause})")
                    break
        except KeyboardInterrupt:
            interrupted = True
            self.interrupt()
            not_run(f"the run was interrupted ({self.stopped_by})")
        return ImplementationResult.of(spec, target.get("kind", ""), target.get("kind_source", ""),
                                       [outcomes[test.id] for test in planned if test.id in outcomes],
                                       lost=lost_causes, seconds=time.monotonic() - started, interrupted=interrupted)

    def _not_run(self, test: PlannedTest, reason: str) -> PropertyOutcome:
        return PropertyOutcome.not_run(test.spec, test.property, test.contract, test.title, test.claim, test.variant,
                                       reason)

    def _loss(self, worker: _Worker, spec: str, by_id: dict[str, PlannedTest],
              outcomes: dict[str, PropertyOutcome]) -> tuple[str, PropertyOutcome | None]:
        """What happened to a lost worker, in words, and the failure of the property it was
        running (None when it was between properties)."""
        code = worker.process.returncode
        if worker.killed_for:
            what = f"hung: {worker.killed_for}"
        elif code is not None and code < 0:
            what = f"crashed with {_signal_name(code)}"
        else:
            what = f"ended the process ({_signal_name(code or 0)}) without finishing"
        own, frames = last_frames(self._dump_text(worker))
        running = worker.running
        if running is None or running not in by_id:
            pending = [t for t in by_id.values() if t.id not in outcomes]
            if not worker.hello or not pending:
                return (f"{spec}: the worker {what.removeprefix('the implementation ')} before any property started"
                        f"\n{self._log_tail(worker)}"), None
            return f"{spec}: the worker {what} between properties", None
        test = by_id[running]
        # A hang's reproduce line names the limit it was judged by, whatever the default is then.
        reproduce = self.run.command(spec=spec, selector=test.property, call_timeout=bool(worker.killed_for))
        lines = [f"{test.contract} {test.title} ({test.claim}) does not hold for {spec}",
                 "  expected: every call to return" + (f" within {self.run.call_timeout:g} s" if worker.killed_for
                                                         else " (no crash, no exit of the process)"),
                 f"  seen:     the implementation {what} while this property ran"]
        if own:
            lines.append(f"  last frame of the implementation: {own}")
        if frames:
            lines.append("  stack (innermost first):")
            lines += [f"    {frame}" for frame in frames]
        if worker.example:
            lines.append(f"  example:  {worker.example} device={self.run.device}")
        lines.append(f"  reproduce: {reproduce}")
        failed = PropertyOutcome(
            implementation=spec, property=test.property, contract=test.contract, title=test.title, claim=test.claim,
            verdict="FAIL", reason=f"the implementation {what}", expected="every call returns",
            seen=f"the implementation {what}", message="\n".join(lines), reproduce=reproduce, variant=test.variant,
        )
        return f"{spec}: {test.property}: the implementation {what}" + (f" at {own}" if own else ""), failed

    def close(self) -> None:
        """End every worker's process group that is still running and remove the temporary folder."""
        with self._lock:
            workers = list(self.workers)
        for worker in workers:
            if worker.process.poll() is None:
                self._kill(worker)
        shutil.rmtree(self.folder, ignore_errors=True)
