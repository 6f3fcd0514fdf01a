"""C11 bad input: an invalid p, a p of the wrong type, or a non-float tensor raises an error.

An out-of-range p raises ValueError or RuntimeError whose message names the value (as
passed, or as the complementary keep probability 1 - p, which kernels such as
``aten.native_dropout`` report); a wrong type, or an integer or bool tensor, raises any
ordinary exception. Never an AssertionError (``python -O`` removes asserts), never a silent
result. A complex tensor raises too, unless the result is a correct complex dropout (y = 0
or x/(1-p), as ``aten.native_dropout`` gives): that is reported, not failed.
Bugs it catches: ``assert 0 <= p <= 1``, no validation at all, ``p < 0 or p > 1`` that
lets NaN through.
"""

from __future__ import annotations

import math

import pytest
import torch

from .config import current
from .harness import seeded, violation
from .plugin import NON_FINITE_KEY

STATEMENT = "C11 bad input (clear error, never silent, never AssertionError)"
ACCEPTED_ERRORS = (TypeError, ValueError, RuntimeError, NotImplementedError)


def _training(dropout_target) -> dict:
    """training=True for targets that take the flag (``train`` is required by aten ops)."""
    return {"training": True} if dropout_target.supports("training") else {}


def _call_and_catch(dropout_target, x, p):
    try:
        dropout_target.raw_call(x, p, **_training(dropout_target))
    except AssertionError as error:
        return error
    except Exception as error:  # noqa: BLE001 - what was raised is the finding
        return error
    return None


def _is_complex_dropout(dropout_target, x: torch.Tensor) -> bool:
    """Whether one call on complex x gives y in {0, x/(1-p)} element for element."""
    with seeded(0):
        y = dropout_target.raw_call(x, dropout_target.argument_for(0.5), **_training(dropout_target))
    y = y[0] if isinstance(y, (tuple, list)) else y
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or not y.dtype.is_complex:
        return False
    expected = x.to(torch.complex128) / dropout_target.keep_probability(0.5)
    kept = y != 0
    return bool(torch.allclose(y.to(torch.complex128)[kept], expected[kept], rtol=1e-5, atol=0))


def _describe(value) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, torch.Tensor) else f"tensor {value.dtype} {tuple(value.shape)}"


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf, -math.inf], ids=repr)
def test_invalid_probability_is_rejected(dropout_target, p):
    """p outside [0, 1] (or NaN): ValueError or RuntimeError naming the value."""
    argument = dropout_target.argument_for(p) if math.isfinite(p) else p
    error = _call_and_catch(dropout_target, torch.ones(8, device=current().device), argument)
    names = {text for value in (argument, 1 - argument) for text in (repr(value), str(value), f"{value:g}")}
    names |= {"nan", "NaN"} if math.isnan(argument) else set()
    if error is None or isinstance(error, AssertionError) or not isinstance(error, (ValueError, RuntimeError)):
        raise violation(STATEMENT, dropout_target, expected=f"ValueError or RuntimeError for p={argument!r}",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")
    if not any(name in str(error) for name in names):
        raise violation(STATEMENT, dropout_target, expected=f"an error message naming the value {argument!r}",
                        seen=f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("p", ["0.5", 0.5 + 0.5j, None, torch.tensor([0.1, 0.2])], ids=_describe)
def test_probability_of_wrong_type_is_rejected(dropout_target, p):
    """p that is not a real number (string, complex, None, a tensor of several elements): an error."""
    error = _call_and_catch(dropout_target, torch.ones(8, device=current().device), p)
    if error is None or isinstance(error, AssertionError) or not isinstance(error, ACCEPTED_ERRORS):
        raise violation(STATEMENT, dropout_target, expected=f"TypeError (or ValueError) for p={_describe(p)}",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64], ids=str)
def test_non_float_tensor_is_rejected(dropout_target, dtype, record_property):
    """Integer, bool and complex tensors cannot hold x/(1-p): an error, not a silent cast."""
    x = torch.ones(64, dtype=dtype, device=current().device)
    if dtype.is_complex:
        x = x * (1 + 2j)
    with seeded(0):
        error = _call_and_catch(dropout_target, x, dropout_target.argument_for(0.5))
    if error is None and dtype.is_complex and _is_complex_dropout(dropout_target, x):
        record_property(NON_FINITE_KEY, f"{dropout_target.spec}: accepts {dtype} input (a correct complex dropout)")
        return
    if error is None or isinstance(error, AssertionError) or not isinstance(error, ACCEPTED_ERRORS):
        raise violation(STATEMENT, dropout_target, expected=f"an error for a {dtype} tensor",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")
