"""Deterministic unit tests of the family references (channel, alpha, drop-path), point by point.

The statistical checks live in properties/ and run against these functions too (the
mutation catalog's correct variants); here every assertion is exact and every draw seeded.
"""

from __future__ import annotations

import math

import pytest
import torch

from dropout_impl import (
    DropPath,
    alpha_dropout,
    drop_path,
    drop_path_batch,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
)
from dropout_impl.family import ALPHA

FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
# function, a batched input shape, the number of leading dims that index units
UNITS = [
    (dropout1d, (4, 6, 5), 2), (dropout1d, (6, 5), 1),
    (dropout2d, (4, 6, 3, 5), 2), (dropout2d, (6, 3, 5), 1),
    (dropout3d, (2, 6, 2, 3, 4), 2), (dropout3d, (6, 2, 3, 4), 1),
    (feature_alpha_dropout, (4, 6, 3, 5), 2), (alpha_dropout, (4, 6, 3), 3),
    (drop_path, (8, 3, 5), 1), (drop_path_batch, (8, 3, 5), 0),
]
ALL = [dropout1d, dropout2d, dropout3d, alpha_dropout, feature_alpha_dropout, drop_path, drop_path_batch]


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def values(function, x: torch.Tensor, p: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept value, dropped value) of each element, in float64."""
    x64 = x.double()
    if function in (alpha_dropout, feature_alpha_dropout):
        a = 1 / math.sqrt((1 - p) * (1 + ALPHA * ALPHA * p))
        return a * x64 + a * ALPHA * p, torch.full_like(x64, -a * ALPHA * (1 - p))
    return x64 / (1 - p), torch.zeros_like(x64)


def shape_for(function) -> tuple[int, ...]:
    return next(shape for f, shape, _ in UNITS if f is function)


@pytest.mark.parametrize("function, shape, unit_dims", UNITS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_one_decision_per_unit_with_the_kinds_values(function, shape, unit_dims):
    x = torch.rand(shape, generator=generator(), dtype=torch.float64) + 0.5  # far from -A and from 0
    p = 0.4
    y = function(x, p, generator=generator(1)).double()
    kept, dropped = values(function, x, p)
    is_kept = (y - kept).abs() <= 1e-12 * kept.abs()
    is_dropped = (y - dropped).abs() <= 1e-12
    assert torch.all(is_kept | is_dropped)
    per_unit = is_kept.reshape(*shape[:unit_dims], -1)
    assert torch.all(per_unit.all(-1) | (~per_unit).all(-1)), "every element of a unit shares its decision"
    if unit_dims and math.prod(shape[:unit_dims]) > 4:
        assert 0 < per_unit[..., 0].sum() < per_unit[..., 0].numel()


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_dtype_shape_device_kept_and_input_untouched(function, dtype):
    x = (torch.rand(shape_for(function), generator=generator(), dtype=torch.float64) + 0.5).to(dtype)
    before = x.clone()
    y = function(x, 0.3, generator=generator(2))
    assert (y.shape, y.dtype, y.device) == (x.shape, x.dtype, x.device)
    assert torch.equal(x, before)


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_p_zero_eval_and_inplace(function):
    x = torch.rand(shape_for(function), generator=generator()) + 0.5
    assert torch.equal(function(x, 0.0), x)
    assert torch.equal(function(x, 0.7, training=False), x)
    expected = function(x.clone(), 0.5, generator=generator(3))
    target = x.clone()
    result = function(target, 0.5, inplace=True, generator=generator(3))
    assert result is target and torch.equal(result, expected)


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_p_one_is_finite_zeros_with_zero_gradient(function):
    x = (torch.rand(shape_for(function), generator=generator()) + 0.5).requires_grad_(True)
    y = function(x, 1.0)
    assert torch.equal(y.detach(), torch.zeros_like(y)) and y.requires_grad
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_gradient_is_the_forward_mask_times_the_kept_scale(function):
    x = (torch.rand(shape_for(function), generator=generator(), dtype=torch.float64) + 0.5).requires_grad_(True)
    p = 0.3
    y = function(x, p, generator=generator(4))
    y.backward(torch.ones_like(y))
    kept, _ = values(function, x.detach(), p)
    was_kept = (y.detach() - kept).abs() <= 1e-12 * kept.abs()
    scale = (1 / math.sqrt((1 - p) * (1 + ALPHA * ALPHA * p))) if function in (alpha_dropout, feature_alpha_dropout) \
        else 1 / (1 - p)
    assert torch.allclose(x.grad, was_kept.double() * scale, rtol=1e-12, atol=0)


def test_alpha_dropout_keeps_a_standard_normal_standard():
    x = torch.randn(4_000_000, generator=generator(), dtype=torch.float64)
    y = alpha_dropout(x, 0.2, generator=generator(5))
    # Mean 0 and variance 1 exactly in law; 4M samples put both within 0.005 with room to spare.
    assert abs(float(y.mean())) < 0.005 and abs(float(y.var()) - 1) < 0.005


def test_dropout2d_reads_a_3d_input_as_channels_height_width():
    x = torch.rand(6, 3, 5, generator=generator()) + 0.5
    kept = dropout2d(x, 0.5, generator=generator(6)) != 0
    assert torch.all(kept.reshape(6, -1).all(-1) | (~kept).reshape(6, -1).all(-1))


@pytest.mark.parametrize("function, bad_shape", [
    (dropout1d, (2, 3, 4, 5)), (dropout2d, (4, 5)), (dropout3d, (2, 3, 4)), (feature_alpha_dropout, (5,)),
    (drop_path, ()),
])
def test_ranks_a_kind_cannot_take_are_errors_naming_the_shape(function, bad_shape):
    with pytest.raises(ValueError, match=r"shape=\(" if bad_shape else r"shape=\(\)"):
        function(torch.ones(bad_shape), 0.5)


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan])
def test_bad_p_is_a_value_error_naming_it(function, p):
    with pytest.raises(ValueError, match="nan" if math.isnan(p) else str(p)):
        function(torch.ones(shape_for(function)), p)


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_integer_input_is_a_type_error(function):
    with pytest.raises(TypeError, match="floating-point"):
        function(torch.ones(shape_for(function), dtype=torch.int64), 0.5)


@pytest.mark.parametrize("function", ALL, ids=lambda f: f.__name__)
def test_generator_alone_decides(function):
    x = torch.rand(shape_for(function), generator=generator()) + 0.5
    torch.manual_seed(0)
    state = torch.get_rng_state()
    first = function(x, 0.5, generator=generator(9))
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(1)
    assert torch.equal(function(x, 0.5, generator=generator(9)), first)


def test_drop_path_module_is_built_with_drop_prob_and_switches_modes():
    layer = DropPath(drop_prob=0.5)
    x = torch.rand(64, 3, generator=generator()) + 0.5
    torch.manual_seed(0)
    y = layer(x)
    kept = (y != 0).all(-1)
    assert torch.all(kept | (y == 0).all(-1)) and 0 < kept.sum() < 64
    assert torch.equal(layer.eval()(x), x)
    with pytest.raises(ValueError, match=r"1\.5"):
        DropPath(drop_prob=1.5)
    assert DropPath.dropout_kind == "path"


def test_every_function_declares_its_kind():
    declared = {f.__name__: f.dropout_kind for f in ALL}
    assert declared == {"dropout1d": "channel1d", "dropout2d": "channel2d", "dropout3d": "channel3d",
                        "alpha_dropout": "alpha", "feature_alpha_dropout": "feature_alpha", "drop_path": "path",
                        "drop_path_batch": "path_batch"}
