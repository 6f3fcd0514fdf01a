"""dropout_verify.stats.quantisation: its grids round as the float formats do, its hypotheses
predict what rounded kernels (torch's own rand in half precision included) actually keep, its
probes are exact in float32, and its planner and header plan what the property runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dropout_verify import power
from dropout_verify.config import RunConfig
from dropout_verify.levels import LEVELS, QUANTISED_DTYPES
from dropout_verify.stats import quantisation

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


def _named(grid: str, key: str, side: str) -> quantisation.Hypothesis:
    return next(h for h in quantisation.hypotheses(fine=True)
                if h.grid.name == grid and h.mechanism.key == key and h.side == side)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_float_grids_round_as_torch_does(dtype: str) -> None:
    """nearest is torch's conversion (to nearest, ties to even); down and up bracket t on the
    format's numbers; next and previous step one unit in the last place."""
    grid = quantisation.float_grid(dtype)
    t = np.concatenate([np.random.default_rng(1).random(20000), 2.0 ** -np.arange(1, 20), [1 - 2**-30]])
    converted = torch.tensor(t, dtype=torch.float64).to(DTYPES[dtype]).double().numpy()
    assert np.array_equal(grid.nearest(t), converted)
    down, up = grid.down(t), grid.up(t)
    assert np.all(down <= t) and np.all(t <= up)
    for values in (down, up, grid.next(down), grid.previous(up)):
        assert np.array_equal(torch.tensor(values).to(DTYPES[dtype]).double().numpy(), values)
    assert np.all((up == down) | (grid.next(down) == up))
    assert grid.top == {"float16": 2.0**-11, "bfloat16": 2.0**-8}[dtype]


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("p", [1 - 2.0**-13, 1 - 3 * 2.0**-13, 2.0**-13, 0.3 + 2.0**-14])
def test_torch_rand_like_is_a_named_hypothesis(dtype: str, p: float) -> None:
    """``torch.rand_like(x) > p`` for a half x, as torch 2.13 does it on the CPU (a float32
    uniform rounded to nearest, a 1 read as 0, compared with p rounded to x's dtype): its keep
    rate is the one predicted by "a uniform and p rounded to nearest, <=, with torch.rand's
    wrap", within 6 standard deviations of 2^20 draws."""
    torch.manual_seed(0)
    x = torch.empty(1 << 20, dtype=DTYPES[dtype])
    rate = float((torch.rand_like(x) > p).double().mean())
    predicted = float(_named(dtype, "both-nearest<=+wrap", "p").keep_rates(np.array([1 - p]))[0])
    assert abs(rate - predicted) <= 6 * math.sqrt(max(predicted * (1 - predicted), 1e-7) / x.numel())


def test_fixed_grids_round_each_mechanism_as_stated() -> None:
    """On the 1/256 grid, probes a quarter cell into the cell [1 - 1/256, 1) of p: every
    mechanism's drop rate by hand."""
    h = 1 / 256
    p = np.array([1 - 0.75 * h])  # a quarter cell above the grid point 1 - h
    expected = {"t-nearest": 1 - h, "t-down": 1 - h, "t-up": 1.0, "u-down<=": 1.0, "both-down<=": 1.0,
                "u-nearest<": 1 - h / 2, "u-nearest<=": 1 - h / 2, "both-nearest<": 1 - 1.5 * h,
                "both-nearest<=": 1 - h / 2, "u-nearest<+wrap": 1.0}
    for key, drop_rate in expected.items():
        keep_rate = _named("1/256", key, "p").keep_rates(1 - p)
        assert keep_rate[0] == pytest.approx(1 - drop_rate, abs=1e-15), key


def test_probes_are_exact_in_float32_and_a_quarter_cell_from_the_grid() -> None:
    groups = quantisation.probe_groups(("1/256", "1/255", "float16", "1/65536"))
    keep = quantisation.probe_points(groups)
    assert np.array_equal(keep.astype(np.float32).astype(np.float64), keep)
    assert np.array_equal(np.round(keep * 2**20) / 2**20, keep)
    for group in groups:
        probes = group.keep_probabilities()
        assert len(probes) == (2 if group.one_edge else 4) * quantisation.CELLS_PER_EDGE
        cells = np.minimum(probes, 1 - probes) / group.cell
        assert np.allclose(cells % 1, np.where(cells % 1 < 0.5, 0.25, 0.75), atol=2e-3), group
    assert [g.one_edge for g in groups] == [False, False, False, True]


def test_hypotheses_that_predict_the_same_deviations_are_tested_once() -> None:
    keep = quantisation.probe_points(quantisation.probe_groups(("1/256", "1/255")))
    tested, deviations = quantisation.matched(keep, quantisation.hypotheses())
    assert len(tested) == deviations.shape[0] == len({row.tobytes() for row in np.round(deviations / 2**-24)})
    assert np.all(np.abs(deviations).max(axis=1) > 2 * quantisation.EPSILON)
    assert len(tested) < len(quantisation.hypotheses())


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_planned_trials_cover_every_probe_and_grow_as_cells_shrink(level: str) -> None:
    alpha = RunConfig(level=level).alpha_decision
    for dtype in QUANTISED_DTYPES:
        groups = tuple(quantisation.probe_groups(LEVELS[level].quantisation_grids(dtype, fine=False)))
        trials = power.quantisation_trials(groups, alpha, 0.999, False)
        assert len(trials) == quantisation.probe_points(groups).size and min(trials) >= 1024
    wide, narrow = (tuple(quantisation.probe_groups((grid,))) for grid in ("1/255", "float16"))
    assert min(power.quantisation_trials(narrow, alpha, 0.999, False)) > \
        4 * max(power.quantisation_trials(wide, alpha, 0.999, False))


def test_the_header_states_the_quantisation_plan_per_dtype() -> None:
    standard = " ".join(RunConfig(level="standard").effect_lines())
    assert "float32 inputs: 1/256 and 1/255;" in standard and "1/65536" not in standard
    assert "float16 inputs: 1/256 and 1/255 and float16" in standard
    assert "bfloat16 inputs: 1/256 and 1/255 and bfloat16" in standard
    assert "or 1% of q = 1-p and of p where that is smaller" in standard
    assert "float32 inputs: 1/256 and 1/255 and 1/65536" in " ".join(RunConfig(time=5.0).effect_lines())
    assert "float32 inputs: 1/1024 and 1/255 and 1/65536" in " ".join(RunConfig(level="thorough").effect_lines())


def test_relative_keep_rate_bias_binds_near_the_edges_only() -> None:
    standard = LEVELS["standard"]
    assert standard.keep_rate_delta(0.5) == 0.002
    assert standard.keep_rate_delta(0.05) == pytest.approx(5e-4)
    assert standard.keep_rate_delta(0.95) == pytest.approx(5e-4)
    assert standard.keep_rate_delta(0.9) == pytest.approx(1e-3)
    for effects in LEVELS.values():
        assert effects.keep_rate_delta(0.2) <= effects.keep_rate_bias
