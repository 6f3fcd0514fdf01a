"""The pytest plugin, run as a user runs it (pytester, each run in a fresh process).

Dormant in a project that merely has it installed; awake with a --dropout-* option, a
DROPOUT_* variable or the suite itself on the command line; usage errors exit 4; failures
print their evidence and a reproduce command that replays them from where the user stands.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest
import torch

from dropout_verify.config import RunConfig
from dropout_verify.harness import seeded
from dropout_verify.run import Run
from tests.helpers import ROOT

pytestmark = pytest.mark.subprocess

pytest_plugins = ["pytester"]


@pytest.fixture
def user(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: the checkout importable (tests.badimpls), no DROPOUT_* variables."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    # As a user with the environment activated: reproduce lines then say plainly "pytest".
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    for name in list(__import__("os").environ):
        if name.startswith("DROPOUT_") or name == "PYTEST_ADDOPTS":
            monkeypatch.delenv(name)
    return pytester


def run(user: pytest.Pytester, *arguments: str) -> pytest.RunResult:
    return user.runpytest_subprocess("-p", "dropout_verify.plugin", "-p", "no:cacheprovider", *arguments,
                                     timeout=600)


def test_dormant_in_a_project_that_has_it_installed(user: pytest.Pytester) -> None:
    user.makeconftest("from hypothesis import settings\nsettings.register_profile('mine', max_examples=7)\n"
                      "settings.load_profile('mine')\n")
    user.makepyfile(test_a="from hypothesis import settings\n\ndef test_a():\n"
                           "    assert settings.default.max_examples == 7\n")
    result = run(user)
    result.assert_outcomes(passed=1)
    assert "dropout:" not in result.stdout.str()


def test_help_lists_the_options(user: pytest.Pytester) -> None:
    result = run(user, "--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*--dropout-impl=MODULE:ATTR*", "*--dropout-level*DROPOUT_LEVEL*"])


def test_option_wakes_it_with_a_header(user: pytest.Pytester) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl", "tests.badimpls:fine",
                 "--dropout-level", "quick", "--dropout-seed", "7", "-k", "test_support")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([
        "dropout: implementations tests.badimpls:fine (element) (convention drop, device cpu)",
        "dropout: level quick, seed 7; false-alarm budget 1e-06 per implementation*",
        "*keep-rate bias 0.01 over units*",
        "dropout: reproduce: pytest --pyargs dropout_verify.properties -k test_support "
        "--dropout-impl tests.badimpls:fine --dropout-seed 7 --dropout-level quick --dropout-alpha 1e-06",
        "*dropout verdicts*",
        "C2 support*test_support*pass*",
    ])


@pytest.mark.parametrize("arguments, message", [
    (["--dropout-level", "fast"], "*dropout: expected --dropout-level to be one of quick, standard, thorough*"),
    (["--dropout-impl", "torch.nn.functional:droput"], "*has no attribute 'droput'; did you mean 'dropout'*"),
    (["--dropout-device", "meta"], "*expected --dropout-device to be cpu, cuda or cuda:N*"),
])
def test_usage_errors_exit_4(user: pytest.Pytester, arguments: list[str], message: str) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", *arguments)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])


def test_a_projects_dropout_variables_leave_it_dormant(user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPOUT_RATE", "0.1")  # a model's hyper-parameter, common in ML projects
    user.makepyfile(test_a="def test_a():\n    pass\n")
    result = run(user)
    result.assert_outcomes(passed=1)
    assert result.ret == 0 and "dropout:" not in result.stdout.str()


def test_misspelt_variable_is_named_in_the_header(user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DROPOUT_IMPLS", "tests.badimpls:fine")
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-level", "quick", "-k", "test_p_one")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["dropout: ignored: DROPOUT_IMPLS (no option of the suite; did you mean "
                                 "'DROPOUT_IMPL'*"])


def test_xdist_is_refused_with_a_pointer_to_dropout_check(user: pytest.Pytester) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-level", "quick", "-n", "2")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*does not run under pytest-xdist (-n 2)*dropout-check SPEC... -n N*"])


def test_a_run_stopped_by_x_lists_what_it_did_not_reach(user: pytest.Pytester) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl", "tests.mutants:no_rescale",
                 "--dropout-level", "quick", "-x", "-k", "test_support or test_p_one or test_eval_mode")
    assert result.ret == 1
    out = result.stdout.str()
    assert "FAIL" in out and "not run" in out and "-x, --maxfail or an interrupt" in out


def test_failure_prints_evidence_and_a_command_that_replays_it(user: pytest.Pytester) -> None:
    spec = "tests.mutants:keep_and_drop_confused"
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl", spec, "--dropout-level", "quick",
                 "-k", "test_keep_rate and not quantised and not deadline")
    assert result.ret == 1
    out = result.stdout.str()
    for fragment in ("does not hold for", "expected: keep rate", "p-value", "threshold alpha", "example:  shape=",
                     "reproduce: pytest"):
        assert fragment in out, fragment
    assert "harness.py:" not in out and "Falsifying example" not in out  # the evidence, not the traceback
    command = next(line for line in out.splitlines() if line.strip().startswith("reproduce: pytest"))
    replay = user.runpytest_subprocess("-p", "dropout_verify.plugin", "-p", "no:cacheprovider",
                                       *shlex.split(command.split("reproduce: pytest ")[1]), timeout=600)
    assert replay.ret == 1
    replay.stdout.fnmatch_lines(["*1 failed*"])
    traced = user.runpytest_subprocess("-p", "dropout_verify.plugin", "-p", "no:cacheprovider", "--tb=long",
                                       *shlex.split(command.split("reproduce: pytest ")[1]), timeout=600)
    assert "harness.py:" in traced.stdout.str()  # asked for: the whole traceback


def test_misbehaving_implementations_fail_cleanly_in_process(user: pytest.Pytester) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl", "tests.badimpls:raises",
                 "--dropout-impl", "tests.badimpls:returns_list", "--dropout-impl", "tests.badimpls:hangs",
                 "--dropout-level", "quick", "--dropout-call-timeout", "2", "-k", "test_support or test_contract")
    assert result.ret == 1
    out = result.stdout.str()
    assert "raised RuntimeError: kernel launch failed" in out
    assert "returned list, not a torch.Tensor" in out
    assert "ran past 2 s: treated as hung" in out
    assert "INTERNALERROR" not in out


def test_keep_convention_passes_keep_probability(user: pytest.Pytester) -> None:
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl",
                 "tests.mutants:correct_keep_probability", "--dropout-convention", "keep", "--dropout-level", "quick",
                 "-k", "test_keep_rate or test_support or test_edge")
    assert result.ret == 0, result.stdout.str()[-3000:]


def test_seeded_block_leaves_the_callers_rng_as_it_was() -> None:
    torch.manual_seed(123)
    state = torch.get_rng_state()
    with seeded(Run(settings=RunConfig()), 5):
        torch.rand(10)
    assert torch.equal(state, torch.get_rng_state())


def test_reproduce_names_this_environments_pytest_when_it_is_not_on_path(user: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Not activated, a bare "pytest" in a reproduce line finds another pytest (or none), which
    rejects --dropout-impl: the line names this environment's pytest by its path instead."""
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                                                if Path(p).resolve() != Path(sys.executable).parent.resolve()))
    result = run(user, "--pyargs", "dropout_verify.properties", "--dropout-impl", "tests.badimpls:fine",
                 "--dropout-level", "quick", "-k", "test_support")
    ours = Path(sys.executable).parent / "pytest"
    result.stdout.fnmatch_lines([f"dropout: reproduce: {ours} --pyargs dropout_verify.properties -k test_support "
                                 "--dropout-impl tests.badimpls:fine *"])
