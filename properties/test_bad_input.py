"""C11 bad input: an invalid p, a p of the wrong type, or a non-float tensor raises an error.

An out-of-range p raises ValueError or RuntimeError whose message names the value (as
passed, or as the complementary keep probability 1 - p, which kernels such as
``aten.native_dropout`` report); a wrong type, or an integer or bool tensor, raises any
ordinary exception. Never an AssertionError (``python -O`` removes asserts), never a silent
result. A complex tensor raises too, unless the result is a correct complex dropout (y = 0
or x/(1-p), as ``aten.native_dropout`` gives): that is reported, not failed. For a module
class, the constructor and the call together are the implementation: either may raise.
Bugs it catches: ``assert 0 <= p <= 1``, no validation at all, ``p < 0 or p > 1`` that
lets NaN through (torchvision's ``stochastic_depth`` among others).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from dropout_verify.errors import NotSupported
from dropout_verify.harness import Statement, claims, seeded, violation
from dropout_verify.run import Run
from dropout_verify.targets import ImplementationFailure, Target

STATEMENT = Statement("C11", "bad input", "clear error, never silent, never AssertionError")
ACCEPTED_ERRORS = (TypeError, ValueError, RuntimeError, NotImplementedError)


def _training(target: Target) -> dict[str, Any]:
    """training=True for targets that take the flag (``train`` is required by aten ops)."""
    return {"training": True} if target.supports("training") else {}


def _input(run: Run, target: Target, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.ones(target.kind.canonical_shape(), dtype=dtype, device=run.device)


def _call_and_catch(target: Target, x: torch.Tensor, p: Any) -> BaseException | None:
    try:
        target.unchecked_call(x, p, **_training(target))
    except NotSupported as error:  # the kernel has no implementation at all here: nothing to judge
        pytest.skip(f"not supported: {error}")
    except (KeyboardInterrupt, SystemExit, ImplementationFailure):  # Ctrl-C, or the guard's own verdict
        raise
    except BaseException as error:  # noqa: BLE001 - whatever it raises is the finding
        return error
    return None


def _is_complex_dropout(run: Run, target: Target, x: torch.Tensor) -> bool:
    """Whether one call on complex x gives y in {0, x/(1-p)} element for element."""
    if not target.kind.values.zeros_at_p_one:
        return False  # alpha dropout has no complex meaning
    with seeded(run, 0):
        y = target.unchecked_call(x, target.argument_for(0.5), **_training(target))
    y = y[0] if isinstance(y, (tuple, list)) else y
    if not isinstance(y, torch.Tensor) or y.shape != x.shape or not y.dtype.is_complex:
        return False
    expected = x.to(torch.complex128) / target.keep_probability(0.5)
    kept = y != 0
    return bool(torch.allclose(y.to(torch.complex128)[kept], expected[kept], rtol=1e-5, atol=0))


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor {value.dtype} {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"


@claims(STATEMENT)
@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf, -math.inf], ids=repr)
def test_invalid_probability_is_rejected(dropout_target: Target, dropout_run: Run, p: float) -> None:
    """p outside [0, 1] (or NaN): ValueError or RuntimeError naming the value."""
    run = dropout_run
    target = dropout_target
    argument = target.argument_for(p) if math.isfinite(p) else p
    error = _call_and_catch(target, _input(run, target), argument)
    names = {text for value in (argument, 1 - argument) for text in (repr(value), str(value), f"{value:g}")}
    names |= {"nan", "NaN"} if math.isnan(argument) else set()
    if error is None or isinstance(error, AssertionError) or not isinstance(error, (ValueError, RuntimeError)):
        raise violation(run, STATEMENT, target, expected=f"ValueError or RuntimeError for p={argument!r}",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")
    if not any(name in str(error) for name in names):
        raise violation(run, STATEMENT, target, expected=f"an error message naming the value {argument!r}",
                        seen=f"{type(error).__name__}: {error}")


@claims(STATEMENT)
@pytest.mark.parametrize("p", ["0.5", 0.5 + 0.5j, None, torch.tensor([0.1, 0.2])], ids=_describe)
def test_probability_of_wrong_type_is_rejected(dropout_target: Target, dropout_run: Run, p: Any) -> None:
    """p that is not a real number (string, complex, None, a tensor of several elements): an error."""
    run = dropout_run
    error = _call_and_catch(dropout_target, _input(run, dropout_target), p)
    if error is None or isinstance(error, AssertionError) or not isinstance(error, ACCEPTED_ERRORS):
        raise violation(run, STATEMENT, dropout_target, expected=f"TypeError (or ValueError) for p={_describe(p)}",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")


@claims(STATEMENT)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64], ids=str)
def test_non_float_tensor_is_rejected(dropout_target: Target, dropout_run: Run, dtype: torch.dtype) -> None:
    """Integer, bool and complex tensors cannot hold the kept values: an error, not a silent cast."""
    run = dropout_run
    target = dropout_target
    x = _input(run, target, dtype)
    if dtype.is_complex:
        x = x * (1 + 2j)
    with seeded(run, 0):
        error = _call_and_catch(target, x, target.argument_for(0.5))
    if error is None and dtype.is_complex and _is_complex_dropout(run, target, x):
        run.note(f"{target.spec}: accepts {dtype} input (a correct complex dropout)")
        return
    if error is None or isinstance(error, AssertionError) or not isinstance(error, ACCEPTED_ERRORS):
        raise violation(run, STATEMENT, target, expected=f"an error for a {dtype} tensor",
                        seen="no error, a result" if error is None else f"{type(error).__name__}: {error}")
