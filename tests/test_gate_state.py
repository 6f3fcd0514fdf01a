"""One implementation's global side effects, and the host project, change no verdict.

Implementations that turn autograd off, set the default dtype to float64, change the number
of threads or flood stdout run with torch.nn.functional:dropout in one dropout-check run: each
side effect is a C1 finding about its own implementation (undone after every call), and
F.dropout's verdicts and p-values are exactly those of a run alone. A host project whose
pytest.ini says ``addopts = -x`` and whose conftest.py disables autograd for every test does
not reach dropout-check's run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import dropout_check, evidence, read_report, verdicts

pytestmark = pytest.mark.subprocess

REFERENCE = "torch.nn.functional:dropout"
STATE = {
    "tests.badimpls:disables_grad": "grad mode: True -> False",
    "tests.badimpls:sets_default_dtype": "default dtype: torch.float32 -> torch.float64",
    "tests.badimpls:sets_threads": "intra-op threads",
}


@pytest.fixture
def alone(reference_alone: dict) -> dict:
    return reference_alone


@pytest.fixture(scope="module")
def together(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    folder = tmp_path_factory.mktemp("together")
    finished = dropout_check(*STATE, "tests.badimpls:prints_megabytes", REFERENCE, "--level", "quick",
                             "--report", str(folder))
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    return read_report(folder), finished.stdout


def test_reference_verdicts_are_those_of_a_run_alone(alone: dict, together: tuple[dict, str]) -> None:
    report, _ = together
    assert verdicts(report, REFERENCE) == verdicts(alone, REFERENCE)
    assert evidence(report, REFERENCE) == evidence(alone, REFERENCE)


@pytest.mark.parametrize("spec", sorted(STATE))
def test_state_change_is_a_finding_about_its_implementation(together: tuple[dict, str], spec: str) -> None:
    report, out = together
    assert verdicts(report, spec)["test_global_torch_state_unchanged"] == "FAIL"
    implementation = next(i for i in report["implementations"] if i["spec"] == spec)
    assert any(STATE[spec] in finding for finding in implementation["findings"])
    assert STATE[spec] in out


def test_default_dtype_change_does_not_pass_everything_else_silently(together: tuple[dict, str]) -> None:
    report, _ = together
    mine = verdicts(report, "tests.badimpls:sets_default_dtype")
    assert mine["test_global_torch_state_unchanged"] == "FAIL"


def test_printing_megabytes_does_not_block_the_run(alone: dict, together: tuple[dict, str]) -> None:
    report, out = together
    assert verdicts(report, "tests.badimpls:prints_megabytes") == verdicts(alone, REFERENCE)
    assert "x" * 1000 not in out


def test_host_project_configuration_does_not_apply(tmp_path: Path, alone: dict) -> None:
    project = tmp_path / "project"
    (project / ".venv").mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\naddopts = -x -p no:dropout_verify.plugin\n")
    (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\naddopts = '-x'\n")
    (project / "conftest.py").write_text(
        "import pytest, torch\n\n@pytest.fixture(autouse=True)\ndef no_grad():\n"
        "    with torch.no_grad():\n        yield\n\ndef pytest_collection_modifyitems(items):\n    del items[3:]\n")
    folder = tmp_path / "report"
    finished = dropout_check(REFERENCE, "--level", "quick", "--report", str(folder), cwd=project,
                             PYTEST_ADDOPTS="-x --maxfail=1")
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-2000:]
    assert verdicts(read_report(folder), REFERENCE) == verdicts(alone, REFERENCE)
