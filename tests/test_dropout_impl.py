"""Deterministic unit tests of the two reference dropouts, point by point of the contract.

The statistical checks (keep rate, homogeneity, independence) live in ``properties/`` and
run against these functions too; here every assertion is exact, and every random draw is
seeded so that each test gives the same answer on every run.
"""

from __future__ import annotations

import math

import pytest
import torch

from dropout_impl import dropout_bernoulli, dropout_mask

IMPLEMENTATIONS = [dropout_mask, dropout_bernoulli]
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

pytestmark = pytest.mark.parametrize("dropout", IMPLEMENTATIONS, ids=lambda f: f.__name__)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_support(x: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """Every y_i is 0 or x_i/(1-p) up to one rounding of x's dtype; return the kept mask."""
    kept = y != 0
    expected = (x.double() / (1 - p)).to(x.dtype).double()
    tolerance = 2 * torch.finfo(x.dtype).eps * expected.abs()
    assert torch.all((y.double() - expected).abs()[kept] <= tolerance[kept])
    return kept


class TestContract:
    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_shape_dtype_device_and_support(self, dropout, dtype):
        x = torch.randn(7, 13, generator=seeded(), dtype=torch.float64).to(dtype) + 3
        y = dropout(x, 0.3, generator=seeded(1))
        assert (y.shape, y.dtype, y.device) == (x.shape, x.dtype, x.device)
        kept = assert_support(x, y, 0.3)
        assert 0 < kept.sum() < kept.numel()

    def test_input_not_modified(self, dropout):
        x = torch.randn(100, generator=seeded())
        before = x.clone()
        y = dropout(x, 0.5, generator=seeded(1))
        assert torch.equal(x, before)
        assert y.data_ptr() != x.data_ptr()

    def test_inplace_returns_the_input(self, dropout):
        x = torch.randn(100, generator=seeded()) + 5
        before = x.clone()
        y = dropout(x, 0.5, inplace=True, generator=seeded(1))
        assert y is x
        assert_support(before, x, 0.5)
        expected = dropout(before, 0.5, generator=seeded(1))
        assert torch.equal(x, expected)

    def test_zero_dim_and_empty(self, dropout):
        assert dropout(torch.tensor(2.0), 0.5).shape == ()
        empty = torch.empty(0, 4)
        assert dropout(empty, 0.5).shape == (0, 4)

    @pytest.mark.parametrize("layout", ["transposed", "sliced", "channels_last"])
    def test_layouts_match_contiguous_semantics(self, dropout, layout):
        base = torch.randn(2, 3, 8, 6, generator=seeded()) + 10
        x = {
            "transposed": base.transpose(-1, -2),
            "sliced": base[..., ::2],
            "channels_last": base.contiguous(memory_format=torch.channels_last),
        }[layout]
        y = dropout(x, 0.4, generator=seeded(1))
        assert y.shape == x.shape
        assert_support(x, y, 0.4)
        if layout == "channels_last":
            assert y.is_contiguous(memory_format=torch.channels_last)

    def test_expanded_input_gets_independent_decisions(self, dropout):
        x = torch.ones(1, 4096).expand(8, 4096)
        y = dropout(x, 0.5, generator=seeded())
        rows = y != 0
        # Eight identical rows of 4096 fair coins have probability 2**(-7 * 4096).
        assert not all(torch.equal(rows[0], row) for row in rows[1:])

    def test_inplace_on_expanded_input_is_refused(self, dropout):
        x = torch.ones(1, 4).expand(3, 4)
        with pytest.raises(ValueError, match="expanded"):
            dropout(x, 0.5, inplace=True)


class TestEdges:
    def test_p_zero_returns_input_values(self, dropout):
        x = torch.randn(1000, generator=seeded())
        assert torch.equal(dropout(x, 0.0), x)

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    def test_p_one_returns_zeros_on_the_graph(self, dropout, dtype):
        x = torch.randn(50, generator=seeded(), dtype=torch.float64).to(dtype).requires_grad_()
        y = dropout(x, 1.0)
        assert y.dtype == dtype and torch.equal(y, torch.zeros_like(y))
        y.sum().backward()
        assert torch.equal(x.grad, torch.zeros_like(x))

    def test_p_one_with_non_finite_input_is_finite(self, dropout):
        y = dropout(torch.tensor([float("inf"), float("nan"), 1.0]), 1.0)
        assert torch.equal(y, torch.zeros(3))

    @pytest.mark.parametrize("dtype", FLOAT_DTYPES)
    @pytest.mark.parametrize("p", [1e-7, 1 - 1e-7, 1e-12, 1 - 1e-12])
    def test_p_near_edges_stays_finite(self, dropout, dtype, p):
        # Values small enough that x/(1-p) fits every dtype even for 1-p = 1e-12 in float32.
        magnitude = 1e-9 if dtype != torch.float16 else 1e-8
        x = torch.full((20000,), magnitude, dtype=torch.float64).to(dtype)
        if p > 0.5 and dtype == torch.float16:
            x = torch.full((20000,), 6e-8, dtype=dtype)  # the smallest float16 subnormal
        y = dropout(x, p, generator=seeded())
        assert torch.isfinite(y).all()
        if 1 - p >= 1e-7 or dtype != torch.float16:
            assert_support(x, y, p)

    def test_training_false_returns_input_values(self, dropout):
        x = torch.randn(100, generator=seeded())
        y = dropout(x, 0.9, training=False)
        assert torch.equal(y, x) and y.data_ptr() != x.data_ptr()
        assert dropout(x, 0.9, training=False, inplace=True) is x

    def test_eval_mode_draws_nothing(self, dropout):
        state = torch.get_rng_state()
        dropout(torch.ones(10), 0.5, training=False)
        assert torch.equal(state, torch.get_rng_state())


class TestGradient:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_gradient_is_forward_mask_over_keep_probability(self, dropout, dtype):
        x = (torch.randn(500, generator=seeded(), dtype=dtype) + 4).requires_grad_()
        upstream = torch.randn(500, generator=seeded(2), dtype=dtype)
        y = dropout(x, 0.3, generator=seeded(1))
        y.backward(upstream)
        kept = (y != 0).to(dtype)
        torch.testing.assert_close(x.grad, upstream * kept / 0.7)

    def test_gradcheck(self, dropout):
        x = torch.randn(20, dtype=torch.float64, requires_grad=True)
        # gradcheck calls the function many times: a fixed generator seed fixes the mask.
        assert torch.autograd.gradcheck(lambda t: dropout(t, 0.4, generator=seeded(3)), (x,))


class TestReproducibility:
    def test_same_global_seed_same_result(self, dropout):
        x = torch.randn(1000, generator=seeded())
        with torch.random.fork_rng():
            torch.manual_seed(5)
            first = dropout(x, 0.5)
            torch.manual_seed(5)
            second = dropout(x, 0.5)
            torch.manual_seed(6)
            third = dropout(x, 0.5)
        assert torch.equal(first, second)
        assert not torch.equal(first, third)

    def test_generator_alone_decides_and_global_rng_is_untouched(self, dropout):
        x = torch.randn(1000, generator=seeded())
        with torch.random.fork_rng():
            torch.manual_seed(1)
            state = torch.get_rng_state()
            first = dropout(x, 0.5, generator=seeded(9))
            assert torch.equal(state, torch.get_rng_state())
            torch.manual_seed(2)
            second = dropout(x, 0.5, generator=seeded(9))
        assert torch.equal(first, second)

    def test_caller_rng_is_advanced_not_reseeded(self, dropout):
        x = torch.ones(64)
        after = []
        with torch.random.fork_rng():
            for seed in (1, 2):
                torch.manual_seed(seed)
                dropout(x, 0.5)
                after.append(torch.rand(4))
        assert not torch.equal(after[0], after[1])


class TestBadInput:
    @pytest.mark.parametrize("p", [-0.1, 1.5, -1e-12, 1 + 1e-12, math.nan, math.inf, -math.inf])
    def test_out_of_range_p_is_a_value_error_naming_it(self, dropout, p):
        with pytest.raises(ValueError, match=f"p={p!r}"):
            dropout(torch.ones(3), p)

    @pytest.mark.parametrize("p", ["0.5", None, 1 + 0j, True, [0.5], torch.tensor([0.1, 0.2])])
    def test_p_that_is_not_a_real_number_is_a_type_error(self, dropout, p):
        with pytest.raises(TypeError, match="Expected p"):
            dropout(torch.ones(3), p)

    def test_one_element_tensor_p_is_accepted(self, dropout):
        assert dropout(torch.ones(3), torch.tensor(0.0)).eq(1).all()

    @pytest.mark.parametrize("dtype", [torch.int64, torch.int8, torch.uint8, torch.bool, torch.complex64])
    def test_non_float_tensors_are_type_errors(self, dropout, dtype):
        with pytest.raises(TypeError, match=str(dtype)):
            dropout(torch.ones(3, dtype=dtype), 0.5)

    @pytest.mark.parametrize("x", [[1.0, 2.0], 3.0, None])
    def test_non_tensor_x_is_a_type_error(self, dropout, x):
        with pytest.raises(TypeError, match="Expected x"):
            dropout(x, 0.5)

    def test_bad_flags_and_generator_are_type_errors(self, dropout):
        with pytest.raises(TypeError, match="training"):
            dropout(torch.ones(3), 0.5, training="yes")
        with pytest.raises(TypeError, match="inplace"):
            dropout(torch.ones(3), 0.5, inplace=1)
        with pytest.raises(TypeError, match="generator"):
            dropout(torch.ones(3), 0.5, generator=0)

    def test_errors_come_before_any_work(self, dropout):
        x = torch.ones(3)
        state = torch.get_rng_state()
        with pytest.raises(ValueError):
            dropout(x, 2.0, inplace=True)
        assert torch.equal(x, torch.ones(3))
        assert torch.equal(state, torch.get_rng_state())

    @pytest.mark.subprocess  # runs python -O
    def test_errors_are_raised_under_python_O(self, dropout, tmp_path):
        """Validation must not be an assert, which ``python -O`` strips."""
        import subprocess
        import sys

        code = (
            f"import torch, dropout_impl\n"
            f"try:\n    dropout_impl.{dropout.__name__}(torch.ones(2), 1.5)\n"
            f"except ValueError:\n    raise SystemExit(0)\nraise SystemExit(1)\n"
        )
        assert subprocess.run([sys.executable, "-O", "-c", code]).returncode == 0
