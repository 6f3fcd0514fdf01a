"""Shared fixtures of the in-process unit tests: a clean environment and a hand-built report."""

from __future__ import annotations

import os

import pytest

from dropout_verify.results import RunReport
from tests.unit.builders import sample_report


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DROPOUT_* variable of the caller's shell, and no CI summary file, reaches a unit test."""
    for name in list(os.environ):
        if name.startswith("DROPOUT_") or name == "GITHUB_STEP_SUMMARY":
            monkeypatch.delenv(name)


@pytest.fixture
def report() -> RunReport:
    return sample_report()
