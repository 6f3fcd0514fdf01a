"""C1 contract: shape, dtype and device kept; input untouched (or, with inplace, returned).

Works for 0-d, empty, non-contiguous, channels_last and expanded (stride 0) inputs.
Bugs it catches: ``x.float()`` that downcasts float64 or upcasts float16, ``.view(-1)`` on a
strided input, an extra trailing dimension from ``Bernoulli(p).sample(x.shape)``, a CPU
mask on a CUDA input, an input silently modified, inplace that does not write into x.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given

from .config import current
from .harness import checked_output, contract_settings, seeded, violation
from .strategies import Case, cases, probabilities
from .targets import ImplementationFailure
from .values import check_support

STATEMENT = "C1 contract (shape, dtype, device; input untouched)"
INPLACE = "C1 contract (inplace=True returns x, holding the result)"


@contract_settings()
@given(case=cases(p=probabilities()))
@example(case=Case((), "float32", "contiguous", 0.5, seed=0))
@example(case=Case((0, 3), "float64", "contiguous", 0.5, seed=0))
@example(case=Case((4, 1), "float16", "expanded", 0.5, seed=0))
@example(case=Case((2, 3, 4, 5), "bfloat16", "channels_last", 0.3, seed=0))
def test_contract(dropout_target, case):
    """y.shape == x.shape, y.dtype == x.dtype, y.device == x.device, and x is unchanged."""
    x = case.make_input(current().device)
    before = x.clone()
    with seeded(case.seed), torch.no_grad():
        try:
            y = checked_output(dropout_target, x, case.p)
        except ImplementationFailure as failure:
            raise violation(STATEMENT, dropout_target, expected="a result of x's shape and device",
                            seen=str(failure), case=case) from None
    if y.dtype != x.dtype:
        raise violation(STATEMENT, dropout_target, expected=f"dtype {x.dtype}", seen=f"dtype {y.dtype}", case=case)
    if not torch.equal(x, before):
        changed = int((x != before).sum())
        raise violation(STATEMENT, dropout_target, expected="the input unchanged (inplace not asked for)",
                        seen=f"{changed} of {x.numel()} input elements changed", case=case)


@pytest.mark.dropout_keywords("inplace")
@contract_settings()
@given(case=cases(p=probabilities(), layouts=("contiguous", "transposed", "sliced", "channels_last")))
@example(case=Case((1025,), "float32", "contiguous", 0.5, seed=0))
def test_inplace(dropout_target, case):
    """With inplace=True: the result is x itself, and holds values in {0, x/(1-p)}."""
    x = case.make_input(current().device)
    original = x.clone()
    with seeded(case.seed), torch.no_grad():
        y = checked_output(dropout_target, x, case.p, inplace=True)
    if y.data_ptr() != x.data_ptr() or y.stride() != x.stride():
        raise violation(INPLACE, dropout_target, expected="the input tensor itself",
                        seen=f"a different tensor (data_ptr {y.data_ptr()} vs {x.data_ptr()})", case=case)
    report = check_support(original, x, dropout_target.keep_probability(case.p))
    if report.bad:
        raise violation(INPLACE, dropout_target, expected="x overwritten with 0 or x/(1-p)",
                        seen=report.describe(), case=case)
