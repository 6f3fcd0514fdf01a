"""The pytest plugin: options, run header, one test per (property, implementation), summary.

Options (each also read from an environment variable, see ``config.ENV``)::

    --dropout-impl MODULE:ATTR   (repeatable; default: both dropout_impl functions and
                                  torch.nn.functional:dropout)
    --dropout-convention drop|keep
    --dropout-seed N             (default 0: every run is reproducible)
    --dropout-level quick|standard|thorough
    --dropout-alpha A            (false-alarm budget per implementation, default 1e-6)
    --dropout-device cpu|cuda

Loaded by the repository's ``conftest.py`` and by ``dropout-check`` (``-p properties.plugin``).
"""

from __future__ import annotations

import hashlib
import os

import hypothesis
import pytest
from hypothesis import HealthCheck, settings

from . import config as run_config
from .harness import set_current_test
from .levels import LEVELS
from .targets import SpecError, Target, resolve_target

__all__ = ["OPTION_PREFIX", "TARGET_ARGUMENT"]

OPTION_PREFIX = "--dropout-"
TARGET_ARGUMENT = "dropout_target"
NON_FINITE_KEY = "dropout_non_finite"
# @pytest.mark.dropout_keywords("generator"): skip for targets whose signature lacks it.
KEYWORD_MARKER = "dropout_keywords"

# Hypothesis profiles. The statistical budget needs a known number of examples, so every
# profile runs the examples the level asks for; they differ in how a failure is kept.
_COMMON = dict(
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("ci", database=None, **_COMMON)
settings.register_profile("dev", **_COMMON)  # failing examples saved in .hypothesis/ and replayed first
settings.register_profile("thorough", database=None, report_multiple_bugs=True, **_COMMON)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dropout", "dropout verification (DESIGN.md section 3)")
    env = run_config.ENV
    group.addoption(
        f"{OPTION_PREFIX}impl", action="append", default=None, metavar="MODULE:ATTR",
        help=f"implementation to verify, a callable f(x, p, ...); repeatable [{env['impl']}]",
    )
    group.addoption(
        f"{OPTION_PREFIX}convention", choices=("drop", "keep"), default=os.environ.get(env["convention"], "drop"),
        help=f"p is the drop probability (PyTorch) or the keep probability (TF1) [{env['convention']}]",
    )
    group.addoption(
        f"{OPTION_PREFIX}seed", type=int, default=os.environ.get(env["seed"], "0"),
        help=f"seed of every example and torch draw; same seed, same verdict [{env['seed']}]",
    )
    group.addoption(
        f"{OPTION_PREFIX}level", choices=tuple(LEVELS), default=os.environ.get(env["level"], "standard"),
        help=f"smallest effects detected (see README) and run time [{env['level']}]",
    )
    group.addoption(
        f"{OPTION_PREFIX}alpha", type=float, default=os.environ.get(env["alpha"], "1e-6"),
        help=f"family-wise false-alarm budget per implementation [{env['alpha']}]",
    )
    group.addoption(
        f"{OPTION_PREFIX}device", default=os.environ.get(env["device"], "cpu"),
        help=f"device for tensors and RNG: cpu, cuda, cuda:N [{env['device']}]",
    )
    group.addoption(f"{OPTION_PREFIX}via-cli", action="store_true", help="(set by dropout-check)")


def _specs_from(config: pytest.Config) -> tuple[tuple[str, ...], bool]:
    """The specs to verify, and whether they were chosen (option or environment)."""
    given = config.getoption(f"{OPTION_PREFIX}impl") or run_config.specs_from_environment()
    return (tuple(given), True) if given else (run_config.DEFAULT_SPECS, False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{KEYWORD_MARKER}(*names): needs these keywords in the target's signature")
    specs, explicit = _specs_from(config)
    device = config.getoption(f"{OPTION_PREFIX}device")
    try:
        alpha = run_config.check_alpha(config.getoption(f"{OPTION_PREFIX}alpha"))
        for name, allowed in (("level", tuple(LEVELS)), ("convention", ("drop", "keep"))):
            if config.getoption(f"{OPTION_PREFIX}{name}") not in allowed:
                raise ValueError(f"Expected --dropout-{name} in {allowed}, but got "
                                 f"{config.getoption(f'{OPTION_PREFIX}{name}')!r}")
        _check_device(device)
        targets = [resolve_target(spec, config.getoption(f"{OPTION_PREFIX}convention")) for spec in specs]
    except (SpecError, ValueError) as error:
        raise pytest.UsageError(f"dropout: {error}") from None
    run = run_config.RunConfig(
        specs=specs,
        convention=config.getoption(f"{OPTION_PREFIX}convention"),
        seed=config.getoption(f"{OPTION_PREFIX}seed"),
        level=config.getoption(f"{OPTION_PREFIX}level"),
        alpha=alpha,
        device=device,
        via_cli=config.getoption(f"{OPTION_PREFIX}via-cli"),
        explicit_specs=explicit,
    )
    run_config.install(run)
    config.stash[_TARGETS] = targets
    config.stash[_NON_FINITE] = []
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("ci")


def _check_device(device: str) -> None:
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"Expected --dropout-device cpu, cuda or cuda:N, but got {device!r} ({error})") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--dropout-device {device!r} asked for, but torch.cuda.is_available() is False")


_TARGETS = pytest.StashKey[list]()
_NON_FINITE = pytest.StashKey[list]()
_RAN_PROPERTIES = pytest.StashKey[bool]()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return run_config.current().header_lines()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if TARGET_ARGUMENT in metafunc.fixturenames:
        targets: list[Target] = metafunc.config.stash[_TARGETS]
        metafunc.parametrize(TARGET_ARGUMENT, targets, ids=[t.spec for t in targets])


def _example_seed(run_seed: int, test_name: str) -> int:
    """Hypothesis seed of one property: fixed by the run seed and the test's name, so one
    test run alone replays exactly the examples it saw in the whole run."""
    digest = hashlib.sha256(f"{run_seed}:{test_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seed = run_config.current().seed
    config.stash[_RAN_PROPERTIES] = any(TARGET_ARGUMENT in getattr(i, "fixturenames", ()) for i in items)
    for item in items:
        function = getattr(item, "obj", None)
        if getattr(function, "is_hypothesis_test", False):
            hypothesis.seed(_example_seed(seed, item.originalname))(function)


def pytest_runtest_setup(item: pytest.Item) -> None:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get(TARGET_ARGUMENT) if callspec else None
    set_current_test(item.nodeid, getattr(item, "originalname", item.name), target.spec if target else "")
    marker = item.get_closest_marker(KEYWORD_MARKER)
    if target is not None and marker is not None:
        for keyword in marker.args:
            if not target.supports(keyword):
                pytest.skip(f"not exercised: {target.spec} takes no {keyword} argument")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Every failure of a property, whatever raised it, ends with its reproduce command."""
    report = yield
    if report.failed and getattr(item, "callspec", None) and TARGET_ARGUMENT in item.callspec.params:
        from .harness import reproduce_command

        report.sections.append(("dropout: reproduce", reproduce_command()))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    notes = [value for key, value in report.user_properties if key == NON_FINITE_KEY]
    if notes:
        _config_notes().extend(notes)


_SESSION_CONFIG: list[pytest.Config] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION_CONFIG[:] = [session.config]


def _config_notes() -> list:
    return _SESSION_CONFIG[0].stash[_NON_FINITE] if _SESSION_CONFIG else []


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if run_config.current().via_cli or not config.stash.get(_RAN_PROPERTIES, False):
        return  # dropout-check prints its own report; a run of tests/ alone has nothing to say
    notes = config.stash.get(_NON_FINITE, [])
    if notes:
        terminalreporter.section("dropout: non-finite inputs (reported, not judged)")
        for note in sorted(set(notes)):
            terminalreporter.write_line(note)
    for line in run_config.current().header_lines()[-1:]:
        terminalreporter.write_line(line)
