"""The pytest plugin: options, run header, one test per (property, implementation), outcomes.

Installed as the ``pytest11`` entry point ``dropout_verify.plugin`` (``-p no:dropout_verify.plugin``
turns it off). In a project that merely has the package installed it stays dormant: no
option defaults applied, no header, no Hypothesis settings touched. It wakes up when a
``--dropout-*`` option or one of the suite's own ``DROPOUT_*`` variables is given (a project's
``DROPOUT_RATE`` is not one), or when the property suite itself is collected (``pytest
properties`` in a checkout, ``pytest --pyargs dropout_verify.properties``). The options are
``options.OPTIONS`` with the ``--dropout-`` prefix (``pytest --help`` lists them). Under
pytest-xdist the suite refuses to run: its whole-run checks must see every call.

The run is one :class:`~dropout_verify.run.Run`, built in ``pytest_configure`` and kept in
``config.stash``; properties receive it through the ``dropout_run`` fixture. Each property's
verdict is built as data (``results.PropertyOutcome``) from the decisions the test recorded
and the violation it raised, printed as a verdict table at the end of the run, written as
reports with ``--dropout-report``, and sent to ``dropout-check``'s supervisor when the run is
one of its workers (the run's ``events.Channel``).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .config import RunConfig, from_values, properties_dir
from .destinations import check_destinations, report_folder
from .options import OPTIONS, UsageError, known_environment

if TYPE_CHECKING:  # run imports torch: the plugin imports it only once the suite is active
    from .run import Run

__all__ = ["KEYWORD_MARKER", "RUN", "TARGET_ARGUMENT", "dropout_run", "properties_dir"]

TARGET_ARGUMENT = "dropout_target"
# @pytest.mark.dropout_keywords("generator"): n/a for targets whose signature lacks it.
KEYWORD_MARKER = "dropout_keywords"
# Properties that look back over the whole run of a target: they run after everything else.
LAST_PROPERTIES = ("test_no_repeated_mask", "test_global_torch_state_unchanged")

_ACTIVE = pytest.StashKey[bool]()
RUN = pytest.StashKey["Run"]()  # the run of an active suite
_TARGETS = pytest.StashKey[list[Any]]()
_OUTCOMES = pytest.StashKey[list[Any]]()
_STARTED = pytest.StashKey[float]()
_EXCEPTION = pytest.StashKey[BaseException]()
_PHASES = pytest.StashKey[dict[str, Any]]()
_PLANNED = pytest.StashKey[list[pytest.Item]]()
_REACHED = pytest.StashKey[set[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dropout", "dropout verification (dropout-verify; each option also reads DROPOUT_NAME)")
    for option in OPTIONS:
        if option.flag:
            group.addoption(option.pytest_flag, dest=option.dest, default=None, action="store_const", const="1",
                            help=f"{option.help} [{option.env}=1]")
            continue
        default = f" (default {option.default})" if option.default is not None else ""
        group.addoption(
            option.pytest_flag, dest=option.dest, default=None, metavar=option.metavar or None,
            action="append" if option.repeatable else "store",
            help=f"{option.help}{default} [{option.env}]",
        )
    group.addoption("--dropout-via-cli", dest="dropout_via_cli", action="store_true", default=False,
                    help="(set by dropout-check's workers)")
    group.addoption("--dropout-channel-fd", dest="dropout_channel_fd", type=int, default=None,
                    help="(set by dropout-check's workers: the pipe to the supervisor)")
    group.addoption("--dropout-watch", dest="dropout_watch", default=None,
                    help="(set by dropout-check's workers: the watch slot of the call clock)")


def _given(config: pytest.Config) -> dict[str, Any]:
    return {option.name: config.getoption(option.dest) for option in OPTIONS}


def _names_the_suite(config: pytest.Config) -> bool:
    suite = properties_dir()
    for argument in config.args:
        text = str(argument)
        if "dropout_verify.properties" in text:
            return True
        path = Path(text.split("::")[0])
        if not path.is_absolute():
            path = Path(config.invocation_params.dir) / path
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if resolved == suite or suite in resolved.parents:
            return True
    return False


def _wants_dropout(config: pytest.Config) -> bool:
    if config.getoption("dropout_via_cli"):
        return True
    if any(value is not None for value in _given(config).values()):
        return True
    if known_environment(os.environ):  # the suite's own variables; a host's DROPOUT_RATE is not ours
        return True
    return _names_the_suite(config)


def _refuse_xdist(config: pytest.Config) -> None:
    """The property suite is one run per implementation: whole-run checks (a mask repeated
    anywhere in the run, torch's global state) must see every call, and the verdict table every
    property. pytest-xdist would split the run over processes, each seeing a part."""
    workers = getattr(config.option, "numprocesses", None)
    if hasattr(config, "workerinput") or (workers not in (None, 0, "0")):
        raise UsageError(f"the property suite does not run under pytest-xdist (-n {workers or ''}): each process "
                         f"would see a part of one implementation's run, and the whole-run checks and the verdict "
                         f"table only that part. Run it without -n, or use dropout-check SPEC... -n N, which "
                         f"verifies N implementations at once, each whole, in worker processes of their own")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_ACTIVE] = False
    # Markers are declared in any case: a property module imported by other tests stays quiet.
    config.addinivalue_line("markers", f"{KEYWORD_MARKER}(*names): needs these keywords in the target's signature")
    config.addinivalue_line("markers", "dropout_statement(statement): the contract point a property checks")
    if config.getoption("help", False) or not _wants_dropout(config):
        return  # dormant: nothing configured, nothing printed
    from .events import Channel
    from .guard import CallGuard
    from .run import Run
    from .targets import resolve_target
    from .watch import WatchSlot

    channel = Channel(config.getoption("dropout_channel_fd"))
    watch = config.getoption("dropout_watch")
    guard = CallGuard(WatchSlot(watch) if watch else None)
    try:
        _refuse_xdist(config)
        run = from_values(_given(config), os.environ, via_cli=config.getoption("dropout_via_cli"),
                                     invocation_dir=str(config.invocation_params.dir))
        if not run.via_cli:  # dropout-check checked them itself, before it started its workers
            check_destinations(run.report, run.invocation_dir, os.environ, flag="--dropout-report")
        _check_device(run.device)
        targets = [resolve_target(spec, convention=run.convention, kind=run.kind, call_timeout=run.call_timeout,
                                  compile=run.compile, guard=guard, dtypes=run.dtypes) for spec in run.specs]
    except UsageError as error:
        channel.emit("usage_error", message=str(error))
        raise pytest.UsageError(f"dropout: {error}") from None
    config.stash[RUN] = Run(settings=run, guard=guard, channel=channel)
    config.stash[_ACTIVE] = True
    _keep_hypothesis_storage_out(config)
    config.stash[_TARGETS] = targets
    config.stash[_OUTCOMES] = []
    config.stash[_STARTED] = time.perf_counter()
    if channel.connected:
        from .outcomes import environment

        channel.emit("targets", targets=[{"spec": t.spec, "kind": t.kind.name, "kind_source": t.kind_source,
                                          "summary": t.summary()}
                                        for t in targets], environment=environment())


_STORAGE = "HYPOTHESIS_STORAGE_DIRECTORY"
_STORAGE_FOLDER = pytest.StashKey[str]()


def _keep_hypothesis_storage_out(config: pytest.Config) -> None:
    """Hypothesis caches what it reads of local modules in ./.hypothesis (the suite keeps no
    example database): a run of the suite writes nothing into the user's folder but the
    reports asked for, so that cache goes to a temporary folder, removed at the end. A user's
    own HYPOTHESIS_STORAGE_DIRECTORY wins."""
    if _STORAGE in os.environ:
        return
    import tempfile

    folder = tempfile.mkdtemp(prefix="dropout-verify-hypothesis-")
    os.environ[_STORAGE] = folder
    config.stash[_STORAGE_FOLDER] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_STORAGE_FOLDER, None)
    if folder is not None:
        import shutil

        if os.environ.get(_STORAGE) == folder:
            del os.environ[_STORAGE]
        shutil.rmtree(folder, ignore_errors=True)


def _check_device(device: str) -> None:
    import torch

    parsed = torch.device(device)
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {device} asked for, but this torch ({torch.__version__}) sees no CUDA device "
                             f"(torch.cuda.is_available() is False)")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise UsageError(f"--device {device} asked for, but there are {torch.cuda.device_count()} CUDA devices")


def _active(config: pytest.Config) -> bool:
    return config.stash.get(_ACTIVE, False)


@pytest.fixture
def dropout_run(request: pytest.FixtureRequest) -> Run:
    """The run (``run.Run``): its settings, the running test's record, the masks seen, the guard."""
    if not _active(request.config):
        raise pytest.UsageError("dropout: the property suite needs the dropout plugin active "
                                "(give --dropout-impl, or run dropout-check)")
    return request.config.stash[RUN]


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not _active(config):
        return []
    kinds = {t.spec: t.summary() for t in config.stash[_TARGETS]}
    return config.stash[RUN].settings.header_lines(kinds, select=config.getoption("keyword", "") or None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if TARGET_ARGUMENT not in metafunc.fixturenames:
        return
    if not _active(metafunc.config):
        raise pytest.UsageError("dropout: the property suite needs the dropout plugin active "
                                "(give --dropout-impl, or run dropout-check)")
    targets = metafunc.config.stash[_TARGETS]
    metafunc.parametrize(TARGET_ARGUMENT, targets, ids=[t.spec for t in targets])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _active(config):
        return
    # Properties that look back over the whole run of a target (global state) go last.
    items.sort(key=lambda item: (getattr(item, "originalname", item.name) in LAST_PROPERTIES,
                                 LAST_PROPERTIES.index(getattr(item, "originalname", item.name))
                                 if getattr(item, "originalname", item.name) in LAST_PROPERTIES else 0))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep the properties that will run (after -k and deselection): a property the run never
    reaches (-x, --maxfail) is "not run" in the table, never silently absent. A worker of
    dropout-check also tells its supervisor."""
    if not _active(session.config):
        return
    session.config.stash[_PLANNED] = [item for item in session.items if _target_of(item) is not None]
    channel = session.config.stash[RUN].channel
    if not channel.connected:
        return
    from .outcomes import statement_of, variant_of

    tests = []
    for item in session.items:
        target = _target_of(item)
        if target is None:
            continue
        statement = statement_of(item)
        tests.append({"id": item.nodeid, "spec": target.spec, "property": getattr(item, "originalname", item.name),
                      "contract": statement.contract if statement else "",
                      "title": statement.title if statement else "",
                      "claim": statement.claim if statement else "", "variant": variant_of(item, target.spec)})
    channel.emit("collected", tests=tests)


def _target_of(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get(TARGET_ARGUMENT) if callspec else None


def _location(item: pytest.Item, run: RunConfig) -> tuple[str, ...]:
    """The test as a pytest command line names it from where the user ran the check."""
    path = Path(str(item.path)).resolve()
    name = item.nodeid.split("::", 1)[1]
    invocation = Path(run.invocation_dir).resolve()
    if invocation == path.parent or invocation in path.parents:
        return (f"{path.relative_to(invocation)}::{name}",)
    if path.parent == properties_dir() and importlib.util.find_spec("dropout_verify.properties") is not None:
        return ("--pyargs", f"dropout_verify.properties.{path.stem}::{name}")
    return (f"{path}::{name}",)


def pytest_runtest_setup(item: pytest.Item) -> None:
    target = _target_of(item)
    if target is None or not _active(item.config):
        return
    run = item.config.stash[RUN]
    name = getattr(item, "originalname", item.name)
    run.begin_test(item.nodeid, name, target.spec, _location(item, run.settings))
    run.guard.take_findings()
    run.channel.emit("test_start", id=item.nodeid, property=name, spec=target.spec)
    marker = item.get_closest_marker(KEYWORD_MARKER)
    if marker is not None:
        for keyword in marker.args:
            if not target.supports(keyword):
                pytest.skip(f"n/a: {target.spec} takes no {keyword} argument")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if _target_of(item) is not None and _active(item.config):
        item.stash.setdefault(_PHASES, {})[report.when] = report
        if call.excinfo is not None and report.failed and _EXCEPTION not in item.stash:
            item.stash[_EXCEPTION] = call.excinfo.value
        if call.excinfo is not None and report.failed and item.config.getoption("tbstyle", "auto") == "auto":
            from .outcomes import _is_flaky, first_violation

            # The violation is the whole story (expected, seen, p-value, example, reproduce); the
            # traceback through the suite and Hypothesis around it is ~50 lines a failure. Any
            # explicit --tb keeps it, and so does a failure that did not replay (Hypothesis says why).
            violation = first_violation(call.excinfo.value)
            if violation is not None and not _is_flaky(call.excinfo.value):
                report.longrepr = violation.text()
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    started = time.perf_counter()
    result = yield
    target = _target_of(item)
    if target is not None and _active(item.config):
        from .outcomes import outcome_from

        run = item.config.stash[RUN]
        findings = run.guard.take_findings()
        run.guard.assign_findings(target.spec, findings)
        outcome = outcome_from(run, item, target.spec, item.stash.get(_PHASES, {}),
                               item.stash.get(_EXCEPTION, None), findings, time.perf_counter() - started)
        item.config.stash[_OUTCOMES].append(outcome)
        item.config.stash.setdefault(_REACHED, set()).add(item.nodeid)
        run.channel.emit("outcome", id=item.nodeid, outcome=outcome.to_json())
    return result


def collected_report(config: pytest.Config, interrupted: bool = False) -> Any:
    """The run so far as a RunReport (the terminal table and the report files are made from it)."""
    from .outcomes import build_report, not_reached

    targets = config.stash[_TARGETS]
    reached = config.stash.get(_REACHED, set())
    outcomes: list[Any] = config.stash[_OUTCOMES] + [
        not_reached(item, _target_of(item).spec, "the pytest run stopped before it (-x, --maxfail or an interrupt)")
        for item in config.stash.get(_PLANNED, []) if item.nodeid not in reached]
    return build_report(config.stash[RUN].settings, targets, outcomes,
                        seconds=time.perf_counter() - config.stash[_STARTED], interrupted=interrupted)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _active(config) or config.getoption("dropout_via_cli") or not config.stash[_OUTCOMES]:
        return  # dropout-check prints its own report; a run of tests/ alone has nothing to say
    from .render import text_report
    from .reports import write_reports

    report = collected_report(config, interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    terminalreporter.section("dropout verdicts")
    for line in text_report(report, header=False).splitlines():
        terminalreporter.write_line(line)
    run = config.stash[RUN].settings
    if run.report:
        for path in write_reports(report, report_folder(run.invocation_dir, run.report)):
            terminalreporter.write_line(f"dropout: wrote {path}")
