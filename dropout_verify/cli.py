"""``dropout-check``: verify dropout implementations and print a verdict table.

    dropout-check [MODULE:ATTR ...] [--OPTION VALUE ...] [-k EXPRESSION] [-n JOBS] [-v] [--version]

The options are ``options.OPTIONS`` (one table for this command, the pytest plugin and the
environment); ``dropout-check --help`` lists them.

Each implementation is verified in a worker process of its own (``supervisor``), so a crash,
a hang or a change of torch's global state in one cannot touch another's verdict. This module
imports neither torch nor pytest: ``--help`` and usage errors answer at once.

Made for CI logs as much as for terminals: the header comes first, then one line per finished
property when stdout is not a terminal (one updating line when it is); SIGTERM and SIGHUP end
the run as Ctrl-C does (the verdicts so far, workers killed, temporary files removed, exit 2);
report paths are checked before anything runs.

Exit status: 0 every property holds, 1 a property failed (a crash or hang included), 2 the
run was interrupted (Ctrl-C, SIGTERM, SIGHUP; the verdicts reached so far are printed), 3 not
verified (nothing failed, but a property ran for no input), 4 a usage error.
"""

from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .config import RunConfig, from_values
from .destinations import check_destinations, report_folder
from .options import OPTIONS, UsageError
from .results import ImplementationResult, RunReport
from .supervisor import check_select, usable_cores, worker_threads

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NOT_VERIFIED, EXIT_USAGE = 0, 1, 2, 3, 4

EPILOG = """\
implementations (specs):
  MODULE:ATTR             a function f(x, p, ...) or an nn.Module class, e.g. torch.nn.functional:dropout,
                          torch.nn:Dropout2d; the current directory is importable (mykernels:my_dropout)
  MODULE:ATTR.PATH        an attribute path, e.g. torch:ops.aten.native_dropout
  path/to/file.py:ATTR    a file; its folder is importable, so it may import its siblings
  (none)                  the built-in references: dropout_impl's two and torch.nn.functional:dropout
  Keywords training (or train), inplace and generator are exercised when the signature has them.
  A module class is built with p (or drop_prob, drop_rate, rate) and inplace, and switched with
  .train()/.eval().

environment variables (an option on the command line wins):
{environment}
  Other DROPOUT_* variables (a project's DROPOUT_RATE) are ignored; the header names them.

time limits:
  Every call of an implementation has --call-timeout seconds (default 60), enforced from outside
  its worker process: a call past it is ended, its property FAILs as hung, and the properties
  not reached are "not run (hung in PROPERTY)". After a crash the remaining properties run in a
  new worker (after {lost} lost workers the rest are reported "not run").

output:
  The header first; then one line per finished property when stdout is not a terminal (a CI
  log), or one updating line on a terminal; then the verdict table and the verdict.

exit status:
  0 every property holds   1 a property failed (a crash or hang included)
  2 interrupted (Ctrl-C, SIGTERM or SIGHUP: the verdicts so far are printed, workers ended)
  3 not verified: nothing failed, but some property ran for no input at all (e.g. an
    attention backend this machine lacks: "not supported"); -k can deselect such properties
  4 usage error (bad option, spec, report folder or $GITHUB_STEP_SUMMARY)

Reports: --report DIR writes report.json, report.md, junit.xml and evidence plots (with matplotlib),
and appends report.md to $GITHUB_STEP_SUMMARY when set. The contract and the report.json schema are
installed with the package: {docs}
"""


# The contract and the report schema travel inside the package, so an installed user can read
# what a "C4" in a failure means without this repository.
DOCS = Path(__file__).resolve().parent / "docs"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{self._did_you_mean(message)}\n")

    def _did_you_mean(self, message: str) -> str:
        """For a mistyped option (``--levle``), the option it is closest to."""
        if not message.startswith("unrecognized arguments: "):
            return ""
        known = [flag for flag in self._option_string_actions if flag.startswith("--")]
        hints = []
        for word in message.removeprefix("unrecognized arguments: ").split():
            flag = word.split("=", 1)[0]
            close = difflib.get_close_matches(flag, known, n=1) if flag.startswith("-") else []
            if close:
                hints.append(f"{flag}: did you mean {close[0]!r}?")
        return ("; " + "; ".join(hints)) if hints else ""


def build_parser() -> argparse.ArgumentParser:
    from .supervisor import MAX_LOST_WORKERS

    environment = "\n".join(
        f"  {o.env:<22}" + ("the specs, MODULE:ATTR ... (several, separated by spaces or commas)" if o.name == "impl"
                            else f"--{o.name}" + (" (1 or 0)" if o.flag else ""))
        for o in OPTIONS)
    parser = _Parser(
        prog="dropout-check",
        description="Verify dropout implementations against the contract of correct dropout "
                    "(C1-C11: dropout-check --contract prints it), each in a worker process of its own.",
        epilog=EPILOG.format(environment=environment, lost=MAX_LOST_WORKERS, docs=DOCS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("specs", nargs="*", metavar="MODULE:ATTR", help="implementations to verify (see below)")
    for option in OPTIONS:
        if option.repeatable:
            continue  # the positional specs
        if option.flag:
            parser.add_argument(option.cli_flag, dest=option.dest, action="store_const", const="1", help=option.help)
            continue
        default = f" (default {option.default})" if option.default is not None else ""
        # choices are checked by the option's own parser (with a did-you-mean), not argparse.
        metavar = "{" + ",".join(option.choices) + "}" if option.choices else (option.metavar or None)
        parser.add_argument(option.cli_flag, dest=option.dest, metavar=metavar, help=f"{option.help}{default}")
    parser.add_argument("-k", dest="select", metavar="EXPRESSION", help="run only properties matching (pytest -k)")
    parser.add_argument("-n", "--jobs", dest="jobs", default="1", metavar="N",
                        help="implementations verified at once, or 'auto' (one per core; default 1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also list the properties not exercised")
    parser.add_argument("--contract", action="store_true",
                        help="print the contract (what correct dropout is, C1-C11 and each kind) and exit")
    parser.add_argument("--version", action="version", version=f"dropout-check (dropout-verify) {__version__}")
    return parser


class Progress:
    """What a person or a CI log sees while the run goes on.

    On a terminal, one updating line on stderr. Anywhere else (a CI log, a file), one line per
    finished property on stdout: a CI watchdog that ends silent jobs sees the run move, and
    the log tells which property was running when a job was cut short.
    """

    def __init__(self, total: int, *, live: bool, say: Callable[[str], None], stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.live = live
        self.say = say
        self.total = total
        self.lock = threading.Lock()
        self.state: dict[str, tuple[int, int, str]] = {}  # spec -> (done, planned, running property)
        self.index: dict[str, int] = {}
        self.stopped: set[str] = set()  # implementations whose remaining properties were said not run
        self.started = time.monotonic()

    def plan(self, spec: str, index: int, planned: int) -> None:
        self.index[spec] = index
        self.state[spec] = (0, planned, "")

    def event(self, kind: str, data: dict[str, Any]) -> None:
        outcome = data.get("outcome") or {}
        spec = data.get("spec") or outcome.get("implementation")
        with self.lock:
            if spec not in self.state:
                return
            done, planned, running = self.state[spec]
            if kind == "test_start":
                running = data.get("property", "")
            elif kind == "outcome":
                done, running = done + 1, ""
            else:
                return
            self.state[spec] = (done, planned, running)
            if self.live:
                self._show(spec)
            elif kind == "outcome" and outcome.get("verdict") != "not run":
                self.say(self.finished_line(spec, outcome))
            elif kind == "outcome" and spec not in self.stopped:
                # After a hang, a lost worker or an interrupt every remaining property is "not
                # run" for one reason: one line says so (the table lists them).
                self.stopped.add(spec)
                reason = str(outcome.get("reason", "")).splitlines()[0] if outcome.get("reason") else ""
                self.say(f"dropout: [{self.index[spec]}/{self.total}] {spec}: the {planned - done + 1} remaining "
                         f"property cases are not run ({reason})")

    def finished_line(self, spec: str, outcome: dict[str, Any]) -> str:
        done, planned, _ = self.state[spec]
        name = outcome.get("property", "") + (f"[{outcome['variant']}]" if outcome.get("variant") else "")
        verdict = outcome.get("verdict", "")
        if verdict == "FAIL" and outcome.get("violated"):
            verdict += f" ({outcome['violated']})"
        if verdict in ("not run", "n/a", "not supported") and outcome.get("reason"):
            verdict += f": {outcome['reason'].splitlines()[0][:100]}"
        label = f"{outcome.get('contract', '')} {outcome.get('title', '')}".strip()
        return (f"dropout: [{self.index[spec]}/{self.total}] {spec} {done}/{planned}  {label}  {name}  {verdict}"
                f"  ({float(outcome.get('seconds', 0.0)):.1f} s)")

    def _show(self, spec: str) -> None:
        done, planned, running = self.state[spec]
        line = (f"[{self.index[spec]}/{self.total}] {spec}: {done}/{planned} properties"
                f"{', running ' + running if running else ''} ({time.monotonic() - self.started:.0f} s)")
        self.stream.write("\r\x1b[K" + line[:150])
        self.stream.flush()

    def clear(self) -> None:
        if self.live:
            with self.lock:
                self.stream.write("\r\x1b[K")
                self.stream.flush()


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread: the run ends as on Ctrl-C."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _stop_on_signals() -> Callable[[], None]:
    """Turn SIGTERM and SIGHUP (CI cancelling a job, a closed terminal) into :class:`Stopped`,
    once; return a function that puts the previous handlers back.

    The workers run in sessions of their own (so that a terminal's Ctrl-C does not reach them
    before the supervisor has asked for their stacks), so a signal to the supervisor's process
    group never reaches them either: the supervisor must end them itself, as on Ctrl-C.
    """
    names = [name for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {name: signal.getsignal(getattr(signal, name)) for name in names}
    fired: list[str] = []

    def handler(signum: int, frame: object) -> None:
        if fired:
            return  # the run is ending already: a second signal must not cut its clean-up short
        fired.append(signal.Signals(signum).name)
        raise Stopped(fired[0])

    for name in names:
        signal.signal(getattr(signal, name), handler)

    def restore() -> None:
        for name, handler_before in previous.items():
            signal.signal(getattr(signal, name), handler_before)

    return restore


def _worker_options(run: RunConfig) -> dict[str, str]:
    """Every resolved option, passed explicitly to the workers (the environment cannot differ)."""
    options = {"convention": run.convention, "seed": str(run.seed), "level": run.level, "alpha": repr(run.alpha),
               "device": run.device, "call-timeout": repr(run.call_timeout)}
    if run.kind is not None:
        options["kind"] = run.kind
    if run.dtypes is not None:
        options["dtype"] = ",".join(run.dtypes)
    if run.time is not None:
        options["time"] = repr(run.time)
    if run.compile:
        options["compile"] = "1"
    return options


def _jobs(text: str) -> int:
    if text == "auto":
        return usable_cores()
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"expected -n/--jobs to be a number or 'auto', but got {text!r}") from None
    if value < 1:
        raise UsageError(f"expected -n/--jobs to be 1 or more, but got {value}")
    return value


def _configure(args: argparse.Namespace) -> tuple[RunConfig, int]:
    values: dict[str, object | None] = {o.name: getattr(args, o.dest, None) for o in OPTIONS if not o.repeatable}
    values["impl"] = list(args.specs) or None
    return from_values(values, os.environ, via_cli=True), _jobs(args.jobs)


def _say(text: str = "", end: str = "\n") -> None:
    """Print to stdout; a reader that went away (``dropout-check ... | head``) changes nothing.

    Without this, the BrokenPipeError would end the run with status 1 ("a property failed")
    after a green run, and before the reports were written. Later output goes to os.devnull."""
    try:
        print(text, end=end, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _print_header(run: RunConfig, kinds: dict[str, str], select: str | None) -> None:
    for line in run.header_lines(kinds, select=select):
        _say(line)
    _say()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.contract:
        _say((DOCS / "CONTRACT.md").read_text(encoding="utf-8"), end="")
        return 0
    try:
        run, jobs = _configure(args)
        check_select(args.select)
        check_destinations(run.report, run.invocation_dir, os.environ)
    except UsageError as error:
        print(f"dropout-check: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    restore_signals = _stop_on_signals()
    try:
        return _verify(run, jobs, args)
    finally:
        restore_signals()


def _verify(run: RunConfig, jobs: int, args: argparse.Namespace) -> int:
    """Collect, print the header, verify every implementation, print the table and write reports."""
    from .render import text_report, verdict_line
    from .supervisor import Supervisor

    started = time.monotonic()
    live = sys.stdout.isatty() and sys.stderr.isatty()
    progress = Progress(len(run.specs), live=live, say=_say)
    threads = worker_threads(min(jobs, len(run.specs)), usable_cores(), os.environ)
    supervisor = Supervisor(run, _worker_options(run), select_expression=args.select, on_event=progress.event,
                            threads=threads, jobs=jobs)
    results: dict[str, ImplementationResult] = {}
    environment: dict[str, str] = {}
    kinds: dict[str, str] = {}
    interrupted = False
    header_shown = False
    try:
        try:
            plan = supervisor.collect(list(run.specs))
        except UsageError as error:
            print(f"dropout-check: error: {error}", file=sys.stderr)
            return EXIT_USAGE
        environment = supervisor.environment
        kinds = {spec: target["kind"] for spec, target in plan.targets.items() if target.get("kind")}
        _print_header(run, {spec: target.get("summary") or target["kind"] for spec, target in plan.targets.items()
                            if target.get("kind")}, select=args.select)
        header_shown = True
        for index, spec in enumerate(run.specs, 1):
            progress.plan(spec, index, len(plan.tests.get(spec, [])))
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {spec: pool.submit(supervisor.verify, spec, plan.tests.get(spec, []), plan.targets.get(spec, {}))
                       for spec in run.specs}
            try:
                for spec, future in futures.items():
                    while True:
                        try:
                            results[spec] = future.result(timeout=0.2)
                            break
                        except TimeoutError:
                            continue
            except KeyboardInterrupt as stop:
                interrupted = True
                supervisor.interrupt(_stop_reason(stop))
                for spec, future in futures.items():
                    results[spec] = future.result()
    except KeyboardInterrupt as stop:
        interrupted = True
        supervisor.interrupt(_stop_reason(stop))
    finally:
        progress.clear()
        supervisor.close()
    ordered = [results.get(spec) or ImplementationResult(spec=spec, kind=kinds.get(spec, ""), interrupted=True)
               for spec in run.specs]
    report = RunReport(settings=run.settings(), implementations=ordered, interrupted=interrupted,
                       seconds=time.monotonic() - started, environment=environment)
    if not header_shown:
        _print_header(run, kinds, select=args.select)
    elif not live:
        _say()
    _say(text_report(report, header=False, verbose=args.verbose))
    if run.report:
        from .reports import write_reports

        folder = report_folder(run.invocation_dir, run.report)
        written = write_reports(report, folder)
        skipped = any(path.name == "plots-skipped.txt" for path in written)
        _say(f"\ndropout-check: wrote {len(written)} report files to {folder}"
             + (" (no evidence plots: they need matplotlib, pip install 'dropout-verify[plots]')" if skipped else ""))
    _say(f"\ndropout-check: {verdict_line(report)} ({report.seconds:.1f} s). "
         f"Reproduce the whole run: {run.command(selector=args.select)}")
    return report.exit_code


def _stop_reason(stop: KeyboardInterrupt) -> str:
    return stop.name if isinstance(stop, Stopped) else "Ctrl-C"


if __name__ == "__main__":
    sys.exit(main())
