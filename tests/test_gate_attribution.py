"""Who raised it: a kernel's own code raising is a finding about the kernel; an error inside the
suite is reported as the suite's, with where it happened, never as the implementation's failure."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis.errors import FlakyFailure

from dropout_verify.outcomes import _innermost, _raised_at
from tests.helpers import dropout_check, read_report, verdicts

pytestmark = pytest.mark.subprocess

KERNEL = textwrap.dedent('''
    import torch
    from dropout_verify.attention import attention_target


    class _BrokenBackward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, weights, p):
            return torch.dropout(weights, p, True)

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("CUDA error: an illegal memory access was encountered")


    def _attend(q, k, v, p):
        weights = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1)
        return _BrokenBackward.apply(weights, p) @ v


    broken_backward = attention_target(_attend, name="broken_backward")
''')


def test_a_raising_attention_backward_is_a_finding_about_the_kernel(tmp_path: Path) -> None:
    (tmp_path / "kernel.py").write_text(KERNEL)
    finished = dropout_check("kernel.py:broken_backward", "--level", "quick", "-k", "test_attention_backward",
                             "--report", str(tmp_path / "out"), cwd=tmp_path)
    assert finished.returncode == 1, finished.stdout + finished.stderr
    (implementation,) = read_report(tmp_path / "out")["implementations"]
    (outcome,) = [p for p in implementation["properties"] if p["property"] == "test_attention_backward_matches_forward"]
    assert outcome["verdict"] == "FAIL"
    assert "raised RuntimeError: CUDA error: an illegal memory access" in outcome["message"], outcome["message"]
    assert "the suite raised" not in outcome["message"]
    # What a correct kernel does instead: return, not "a tensor result of x's shape".
    assert "expected: the call to return (no exception)" in outcome["message"], outcome["message"]


def _suite_code_that_fails() -> None:
    {}["a key the suite forgot"]  # noqa: B018 - stands for a bug inside dropout_verify


def test_an_error_of_the_suite_names_where_it_was_raised() -> None:
    """Inside Hypothesis's flaky wrapper, the error shown is the one raised, with its frame."""
    try:
        _suite_code_that_fails()
    except KeyError as error:
        raised = error
    wrapped = FlakyFailure("produces unreliable results", [raised])
    shown = _innermost(wrapped)
    assert shown is raised
    where = _raised_at(shown)
    assert where.endswith(" in _suite_code_that_fails") and "test_gate_attribution.py:" in where, where


def test_identical_nans_are_identical_runs(tmp_path: Path) -> None:
    """Two runs with one seed that both give NaN in the same places are the same run: C10 holds,
    and the NaN itself is C2's finding (torch.equal alone called them different)."""
    finished = dropout_check("tests.badimpls:nan_where_dropped", "--level", "quick", "-k",
                             "test_same_seed_same_result or test_generator_alone_decides or test_support",
                             "--report", str(tmp_path))
    assert finished.returncode == 1, finished.stdout[-2000:]
    mine = verdicts(read_report(tmp_path), "tests.badimpls:nan_where_dropped")
    assert mine["test_same_seed_same_result"] == "pass" and mine["test_support"] == "FAIL", mine


def test_an_output_equal_to_x_in_training_mode_says_so() -> None:
    finished = dropout_check("tests.badimpls:never_drops", "--level", "quick", "-k", "test_support")
    assert finished.returncode == 1, finished.stdout[-2000:]
    assert "the output equals x everywhere: nothing was dropped or rescaled, as in eval mode (did the " \
        "implementation get its training flag?" in finished.stdout.replace("\n", " ")
