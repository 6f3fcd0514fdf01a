"""``-k``: a bad expression is the user's usage error, not the spec's.

An expression pytest cannot take is said to be one (exit 4), with the expression and pytest's
reason, before any worker starts (no torch, no spec imported); one that compiles but fails when
pytest applies it (a call parameter) is read from the collect worker's answer. A valid
expression that selects nothing keeps its own message.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import dropout_check, environment

pytestmark = pytest.mark.subprocess

SPEC = "torch.nn.functional:dropout"


def bad_select(finished: subprocess.CompletedProcess[str], expression: str, reason: str) -> None:
    out = finished.stdout + finished.stderr
    assert finished.returncode == 4, (finished.returncode, out[-2000:])
    assert "Traceback" not in out, out[-2000:]
    assert f"expected -k to be a pytest expression, but {expression!r} is not one: {reason}" in finished.stderr, \
        finished.stderr
    # Blamed on -k, not on the specs: no "resolving the specs ... failed", no pytest log.
    assert "resolving the specs" not in out and "failed" not in out, out[-2000:]
    assert "tests collected" not in out and "ERROR:" not in out, out[-2000:]


@pytest.mark.parametrize("expression, reason", [
    # pytest's own reason, from where it is wrong (its wording after the column may change)
    ("test_support and (", "at column 19: expected "),
    ("test_support or", "at column 16: expected "),
    ('"test_support', "at column 1: closing quote"),
    ("test_support)", "at column 13: expected end of input"),
])
def test_an_expression_pytest_cannot_compile_is_a_usage_error(expression: str, reason: str) -> None:
    bad_select(dropout_check(SPEC, "--level", "quick", "-k", expression), expression, reason)


def test_a_bad_expression_is_said_before_any_spec_is_resolved() -> None:
    """A spec that cannot be imported would be a usage error too: the -k one comes first, so
    no worker ran (the spec's error would name the missing module)."""
    finished = dropout_check("no_such_module_anywhere:dropout", "-k", "test_support and (")
    bad_select(finished, "test_support and (", "at column 19")
    assert "no_such_module_anywhere" not in finished.stderr


def test_the_check_imports_neither_torch_nor_the_suite() -> None:
    """The supervisor process answers a bad -k with pytest's expression compiler alone (it
    imports the worker module, whose imports are the standard library's, for the spares' flag)."""
    script = ("import sys\nfrom dropout_verify.cli import main\n"
              "code = main(['torch.nn.functional:dropout', '-k', 'test_support and ('])\n"
              "leaked = sorted(m for m in ('torch', 'dropout_verify.plugin', 'pytest', 'hypothesis', 'scipy') "
              "if m in sys.modules)\n"
              "print('exit', code, 'imported', leaked)\n")
    finished = subprocess.run([sys.executable, "-c", script], env=environment(), capture_output=True, text=True,
                              timeout=120)
    assert "exit 4 imported []" in finished.stdout, (finished.stdout, finished.stderr)
    assert "expected -k to be a pytest expression" in finished.stderr


def test_a_call_parameter_is_said_from_the_collect_worker() -> None:
    """pytest compiles ``name(x=1)`` and rejects it only when it matches the properties
    (exit status 4 of the collect worker): still the expression's error, not the spec's."""
    bad_select(dropout_check(SPEC, "--level", "quick", "-k", "test_support(x=1)"), "test_support(x=1)",
               "Keyword expressions do not support call parameters")


def test_a_valid_expression_selecting_nothing_says_so() -> None:
    finished = dropout_check(SPEC, "--level", "quick", "-k", "nosuchproperty")
    out = finished.stdout + finished.stderr
    assert finished.returncode == 4, (finished.returncode, out[-2000:])
    assert "-k 'nosuchproperty' selects no property" in finished.stderr, finished.stderr
    assert "Traceback" not in out and "resolving the specs" not in out and "pytest expression" not in out, out
