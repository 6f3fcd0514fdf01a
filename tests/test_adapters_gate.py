"""An adapter whose library is missing, named on the command line: a usage error (exit 4) that says
what is missing and how to install it, before any property runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import dropout_check

pytestmark = pytest.mark.subprocess


def test_an_adapter_class_of_a_missing_library_is_a_usage_error(tmp_path: Path) -> None:
    # A timm that cannot be imported, first on the path whether or not the real one is installed.
    (tmp_path / "timm").mkdir()
    (tmp_path / "timm" / "__init__.py").write_text("raise ImportError('timm is not installed (simulated)')\n")
    finished = dropout_check("dropout_verify.adapters.timm:DropPath", "--level", "quick", cwd=tmp_path)
    assert finished.returncode == 4, finished.stdout[-2000:] + finished.stderr[-2000:]
    output = finished.stdout + finished.stderr
    assert "verifies timm, which cannot be imported here" in output and "pip install timm" in output, output
    assert "Traceback" not in output
