"""The property suite as the README's pytest route runs it, over the built-in references, at the
default (standard) level: every property holds for dropout_impl's two and F.dropout.

A subprocess, so that it runs beside the other test modules under ``pytest -n 2`` (the suite
itself refuses pytest-xdist: its whole-run checks must see every call of one process).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ROOT, pytest_run, read_report

pytestmark = pytest.mark.subprocess


def test_every_property_holds_for_the_references_at_the_standard_level(tmp_path: Path) -> None:
    finished = pytest_run(str(ROOT / "properties"), "-q", "-p", "no:randomly", "--dropout-report", str(tmp_path))
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    report = read_report(tmp_path)
    assert report["run"]["level"] == "standard" and not report["run"]["named"]
    assert [i["spec"] for i in report["implementations"]] == ["dropout_impl:dropout_mask",
                                                             "dropout_impl:dropout_bernoulli",
                                                             "torch.nn.functional:dropout"]
    assert all(i["verdict"] == "pass" for i in report["implementations"])
