"""Specs as users write them, and every mistake a user can make, as dropout-check answers them.

Exit status 4 for every usage error (argparse's own included), with a message that names the
bad value and, where something close exists, a did-you-mean; never a traceback, never a green
run that verified something else than what was asked.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, dropout_check, environment

pytestmark = pytest.mark.subprocess

KERNELS = '''
import torch
from helper import SCALE  # a sibling module: the file's folder must be importable

def fine(x, p=0.5, training=True):
    return torch.nn.functional.dropout(x, p, training) * SCALE

def no_rescale(x, p=0.5, training=True):
    return x * (torch.rand_like(x) >= p) if training else x.clone()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's folder: kernels in a module, a hyphenated file, a sibling helper, a broken file."""
    (tmp_path / "helper.py").write_text("SCALE = 1\n")
    (tmp_path / "mykernels.py").write_text(KERNELS)
    (tmp_path / "my-kernels.py").write_text(KERNELS)
    (tmp_path / "broken.py").write_text("raise ValueError('configuration file missing')\n")
    (tmp_path / "layers.py").write_text(
        "import torch\n\nclass NeedsMode(torch.nn.Module):\n    def __init__(self, p, mode):\n"
        "        super().__init__()\n\nlayer = torch.nn.Dropout(0.5)\n")
    return tmp_path


def usage_error(finished: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert finished.returncode == 4, (finished.returncode, finished.stdout[-2000:], finished.stderr[-2000:])
    assert "Traceback" not in finished.stderr + finished.stdout, finished.stderr[-2000:]
    for fragment in fragments:
        assert fragment in finished.stderr, (fragment, finished.stderr)


@pytest.mark.parametrize("arguments, fragments", [
    (["--bogus"], ["unrecognized arguments: --bogus"]),
    (["--levle", "quick"], ["unrecognized arguments: --levle", "--levle: did you mean '--level'?"]),
    (["--level", "fast"], ["expected --level to be one of quick, standard, thorough, but got 'fast'"]),
    (["--level", "standart"], ["did you mean 'standard'"]),
    (["--kind", "channel2"], ["did you mean 'channel2d'"]),
    (["--alpha", "2"], ["expected --alpha (the false-alarm budget) to be in (0, 1), but got '2'"]),
    (["--seed", "x"], ["expected --seed to be an integer, but got 'x'"]),
    (["--device", "meta"], ["expected --device to be cpu, cuda or cuda:N", "but got 'meta'"]),
    (["--call-timeout", "0"], ["expected --call-timeout to be a positive number of seconds"]),
    (["-n", "zero"], ["expected -n/--jobs to be a number or 'auto'"]),
])
def test_bad_options_are_usage_errors(arguments: list[str], fragments: list[str]) -> None:
    usage_error(dropout_check("torch.nn.functional:dropout", *arguments), *fragments)


def test_other_dropout_variables_are_ignored_and_named_in_the_header() -> None:
    """A project's DROPOUT_RATE is none of the suite's business; a misspelt DROPOUT_IMPLS is
    named, with a did-you-mean, in the header of a run that says it verified the references."""
    finished = dropout_check("--level", "quick", "-k", "test_p_one", DROPOUT_IMPLS="mykernels:fine",
                             DROPOUT_RATE="0.1")
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    header = finished.stdout.split("\n\n")[0]
    assert "dropout: ignored: DROPOUT_IMPLS (no option of the suite; did you mean 'DROPOUT_IMPL'" in header
    assert "dropout: ignored: DROPOUT_RATE (no option of the suite" in header
    assert "no implementation was named, so only the built-in references were verified" in finished.stdout
    usage_error(dropout_check(DROPOUT_LEVEL="fast"), "expected the environment variable DROPOUT_LEVEL to be one of")


@pytest.mark.parametrize("report, summary, fragment", [
    ("/proc/nope", None, "expected --report to name a folder the run can write, but '/proc/nope' cannot be written"),
    ("a-file", None, "expected --report to name a folder, but 'a-file' is a file"),
    ("reports", "missing/summary.md", "expected $GITHUB_STEP_SUMMARY to name a file in an existing folder"),
    ("reports", ".", "expected $GITHUB_STEP_SUMMARY to name a file, but '.' is a folder"),
])
def test_unwritable_report_destinations_are_usage_errors_before_any_work(
        tmp_path: Path, report: str, summary: str | None, fragment: str) -> None:
    (tmp_path / "a-file").write_text("")
    extra = {"GITHUB_STEP_SUMMARY": summary} if summary is not None else {}
    started = time.monotonic()
    finished = dropout_check("torch.nn.functional:dropout", "--report", report, cwd=tmp_path, **extra)
    usage_error(finished, fragment)
    assert time.monotonic() - started < 10  # no worker was started
    assert finished.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing created, no probe left


def test_no_spec_says_it_verified_only_the_built_in_references() -> None:
    finished = dropout_check("--level", "quick", "-k", "test_support")
    assert finished.returncode == 0, finished.stdout[-2000:]
    assert "no implementation was named, so only the built-in references were verified" in finished.stdout


@pytest.mark.parametrize("spec, fragments", [
    ("./mykernel.py:fine", ["no such file './mykernel.py'", "did you mean './mykernels.py'"]),
    ("./typo.py:fine", ["no such file './typo.py'", "the Python files there: ./broken.py"]),
    ("./broken.py:fine", ["importing './broken.py' raised ValueError: configuration file missing"]),
    ("broken:fine", ["importing 'broken' raised ValueError: configuration file missing"]),
    ("mykernel:fine", ["no module named 'mykernel'", "did you mean 'mykernels'"]),
    ("mykernels:fien", ["has no attribute 'fien'; did you mean 'fine'"]),
    ("mykernels", ["expected MODULE:ATTR or path/to/file.py:ATTR"]),
    ("layers:layer", ["names an instance of Dropout, whose p is fixed; name its class"]),
    ("layers:NeedsMode", ["needs other constructor arguments (mode); wrap it in a function"]),
    ("torch.nn.functional:dropout1d --kind channel3d", ["--kind channel3d does not fit torch.nn.functional:dropout1d"]),
])
def test_bad_specs_are_usage_errors_with_a_hint(project: Path, spec: str, fragments: list[str]) -> None:
    usage_error(dropout_check(*spec.split(), "--level", "quick", cwd=project), *fragments)


def test_selection_matching_nothing_is_a_usage_error() -> None:
    usage_error(dropout_check("torch.nn.functional:dropout", "-k", "nomatch"), "-k 'nomatch' selects no property",
                "not contract points", "test_modes: test_eval_mode_is_identity")


def test_specs_as_users_write_them(project: Path) -> None:
    """The current directory is importable, a file may import its siblings, hyphens and
    duplicates work in every output, and reproduce lines run from where the user stands."""
    finished = dropout_check("mykernels:fine", "./my-kernels.py:fine", "mykernels:fine", "./my-kernels.py:no_rescale",
                             "--level", "quick", "-k", "test_support or test_contract", cwd=project)
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-2000:]
    out = finished.stdout
    assert "[1] mykernels:fine" in out and "[2] ./my-kernels.py:fine" in out and "[3] ./my-kernels.py:no_rescale" in out
    assert "[4]" not in out  # the duplicate is verified once
    row = next(line for line in out.splitlines() if line.startswith("C2 support") and "test_support" in line)
    assert row.split()[-3:] == ["pass", "pass", "FAIL"]
    command = next(line for line in out.splitlines() if line.strip().startswith("reproduce: dropout-check"))
    words = command.split("reproduce: dropout-check ")[1].split()
    replay = subprocess.run([sys.executable, "-m", "dropout_verify", *words], cwd=project, env=environment(),
                            capture_output=True, text=True, timeout=600)
    assert replay.returncode == 1 and "does not hold for ./my-kernels.py:no_rescale" in replay.stdout


def test_module_classes_are_targets() -> None:
    finished = dropout_check("torch.nn:Dropout2d", "dropout_impl.modules:DropPath", "--level", "quick",
                             "-k", "test_support or test_eval_mode or test_unit_shares")
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "[1] torch.nn:Dropout2d (kind channel2d, torch's own)" in finished.stdout
    assert "[2] dropout_impl.modules:DropPath (kind path, declared)" in finished.stdout


def test_version_and_help() -> None:
    version = dropout_check("--version")
    assert version.returncode == 0 and "dropout-check (dropout-verify) " in version.stdout
    shown = dropout_check("--help")
    assert shown.returncode == 0
    for fragment in ("DROPOUT_IMPL", "DROPOUT_LEVEL", "exit status:", "4 usage error", "path/to/file.py:ATTR",
                     "time limits:", "--call-timeout", "2 interrupted"):
        assert fragment in shown.stdout, fragment


def test_help_imports_neither_torch_nor_pytest() -> None:
    """--help and usage errors answer at once: the command's module loads no heavy package."""
    code = ("import sys, contextlib, io\nfrom dropout_verify import cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        cli.main(['--help'])\n"
            "    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('torch', 'pytest', 'scipy', 'hypothesis', 'numpy') if m in sys.modules))")
    finished = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(), capture_output=True, text=True)
    assert finished.stdout.strip() == "[]", finished.stdout + finished.stderr


def test_header_says_a_selection_keeps_the_whole_runs_thresholds() -> None:
    """-k runs some decisions at the thresholds of the whole level, so a reproduce line (-k) gives
    the verdict of the full run; the header says so instead of implying K decisions ran, and its
    reproduce line keeps the -k."""
    from dropout_verify.config import from_values

    run = from_values({"level": "quick"}, {}, via_cli=True)
    whole, some = run.header_lines(), run.header_lines(select="test_support")
    assert "at these same thresholds" not in whole[1]
    assert some[1] == whole[1] + "; -k runs some of them, at these same thresholds"
    assert some[-1] == whole[-1] + " -k test_support"


def test_a_declared_kind_is_the_users_to_override(tmp_path: Path) -> None:
    """--kind over torch's own F.dropout2d is checked against the ranks it takes (above); over a
    kind the user declared it is not: their function may take more ranks than its kind needs."""
    (tmp_path / "my2d.py").write_text(
        "import torch\n\n\ndef my_dropout2d(x, p=0.5, training=True):\n"
        "    if x.dim() >= 3:\n        return torch.nn.functional.dropout2d(x, p, training)\n"
        "    return torch.nn.functional.dropout(x, p, training)\n\n\nmy_dropout2d.dropout_kind = 'channel2d'\n")
    finished = dropout_check("my2d:my_dropout2d", "--kind", "element", "--level", "quick", "-k", "test_support",
                             cwd=tmp_path)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "my2d:my_dropout2d (element)" in finished.stdout
