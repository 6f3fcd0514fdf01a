"""examples/triton_dropout.py in-process: what a missing Triton says, and what its kernel guarantees.

Each test loads the example afresh through its file spec (as dropout-check does), so the
``TRITON_INTERPRET`` set here decides whether its kernels are interpreted. The suite's verdicts
on the kernel and its mutants are tests/test_catalog_triton.py's.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import triton  # noqa: F401 - imported now, under the interpreter tests/conftest.py chose, before a test unsets it

from dropout_verify.specs import SpecError
from dropout_verify.targets import resolve_target

SPEC = f"{Path(__file__).resolve().parents[2] / 'examples' / 'triton_dropout.py'}:triton_dropout"


def _example(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The example module, loaded under Triton's interpreter."""
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    return sys.modules[resolve_target(SPEC).fn.__module__]


def test_without_triton_the_spec_is_a_usage_error_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "triton", None)  # import triton raises ImportError
    monkeypatch.setitem(sys.modules, "triton.language", None)
    with pytest.raises(SpecError, match=re.escape("needs Triton, which is not installed: pip install "
                                                  "'dropout-verify[triton]'")):
        resolve_target(SPEC)


def test_without_a_gpu_or_the_interpreter_the_spec_says_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SpecError, match="set TRITON_INTERPRET=1"):
        resolve_target(SPEC)


def test_the_target_is_declared_as_a_seed_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    target = resolve_target(SPEC)
    assert target.seeds is not None and target.declaration.gradient
    assert "seed= and offset= per call" in target.summary()


def test_the_mask_does_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The interpreter's large blocks and a GPU's small ones draw the same counters: same masks."""
    example = _example(monkeypatch)
    x = torch.randn(5000, dtype=torch.float32)
    large = example.launch_elementwise(example.dropout_kernel)(x, 0.3, 11, 4096)
    small = example.launch_elementwise(example.dropout_kernel, block=example.GPU_BLOCK)(x, 0.3, 11, 4096)
    assert torch.equal(large, small)
    shifted = example.launch_elementwise(example.dropout_kernel)(x, 0.3, 11, 4096 + 1000)
    assert torch.equal(shifted[:4000] != 0, large[1000:] != 0)  # element i draws counter offset + i


def test_backward_reuses_the_forward_mask_and_layouts_follow_logical_order(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _example(monkeypatch)
    base = torch.randn(30, 40, dtype=torch.float64)
    x = base.t().requires_grad_(True)  # non-contiguous: elements drawn in x's logical order
    p = 0.375  # a float32 number: the kernel's p is exactly p
    y = example.triton_dropout(x, p, seed=3, offset=0)
    y.backward(torch.ones_like(y))
    assert x.grad is not None
    kept = y != 0
    assert torch.equal(x.grad != 0, kept) and bool((x.grad[kept] == 1 / (1 - p)).all())
    assert torch.equal(y, example.triton_dropout(x.detach().contiguous(), p, seed=3, offset=0))
    assert torch.equal(y[kept], x.detach()[kept] / (1 - p))  # float64 inputs: x / (1 - p) in float64


def test_bad_input_raises_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _example(monkeypatch)
    x = torch.ones(4)
    with pytest.raises(ValueError, match=r"p=1\.5"):
        example.triton_dropout(x, 1.5, seed=0, offset=0)
    with pytest.raises(ValueError, match="p=nan"):
        example.triton_dropout(x, float("nan"), seed=0, offset=0)
    with pytest.raises(TypeError, match=r"dtype=torch\.int64"):
        example.triton_dropout(torch.ones(4, dtype=torch.int64), 0.5, seed=0, offset=0)
    monkeypatch.delenv("TRITON_INTERPRET")
    with pytest.raises(RuntimeError, match="TRITON_INTERPRET=1"):
        example.triton_dropout(x, 0.5, seed=0, offset=0)
