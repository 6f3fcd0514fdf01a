"""Quantised keep probabilities: does the keep rate follow a grid (k/256, k/255, ...)?

Kernels that store the keep probability in few bits (FlashAttention's 8-bit threshold
floor(q * 255), 1/16-step tables, k/2^b rounding) keep units at Q(q), the grid point near q,
not at q. Between grid points the bias is at most half a cell, invisible to a keep-rate test
at random p. Probes are placed where it is largest: a quarter of a cell either side of the
half-cell points of each target grid. At each probe i, n_i decisions give k_i kept.

Each hypothesis H = (grid step h, rounding mode: nearest, down or up) predicts the deviation
d_i = Q_H(q_i) - q_i at every probe, sign included ("a statistic that knows the sign the
rounding would take"). Its matched statistic is W_H = sum_i w_i (k_i - n_i q_i) with
w_i = d_i / (q_i (1-q_i)), the most powerful linear statistic against H; under H0 its upper
tail comes from Chernoff's bound on the exact law (``chernoff.WeightedBinomialSum``). The
decision's p-value is (number of hypotheses) x min_H p_H, and the closest hypothesis is
named with its scale ("the 1/255 grid, rounded down, scale 1.11").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..decision import Decision, format_p
from .chernoff import WeightedBinomialSum

__all__ = ["GRIDS", "MODES", "Hypothesis", "hypotheses", "probe_points", "quantisation_test"]

GRIDS: tuple[tuple[str, float], ...] = (*((f"1/{2**k}", 2.0**-k) for k in range(3, 13)), ("1/255", 1 / 255))
MODES = ("nearest", "down", "up")


@dataclass(frozen=True)
class Hypothesis:
    grid: str
    step: float
    mode: str

    def deviations(self, keep: np.ndarray) -> np.ndarray:
        cells = keep / self.step
        rounded = {"nearest": np.floor(cells + 0.5), "down": np.floor(cells), "up": np.ceil(cells)}[self.mode]
        return np.asarray(np.clip(rounded * self.step, 0.0, 1.0) - keep)

    def describe(self) -> str:
        return f"the {self.grid} grid, rounded {'to nearest' if self.mode == 'nearest' else self.mode}"


def hypotheses() -> list[Hypothesis]:
    return [Hypothesis(name, step, mode) for name, step in GRIDS for mode in MODES]


def probe_points(target_step: float, cells: int = 16, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """Keep probabilities a quarter cell either side of half-cell points of the target grid and
    of the 1/255 grid, spread over [low, high]."""
    points: list[float] = []
    for step, count in ((target_step, cells), (1 / 255, cells // 2)):
        first, last = math.ceil(low / step), math.floor(high / step) - 1
        for j in np.unique(np.linspace(first, last, count).round().astype(int)):
            centre = (j + 0.5) * step
            points += [centre - step / 4, centre + step / 4]
    return np.array(sorted(points))


def quantisation_test(keep: np.ndarray, kept: np.ndarray, trials: np.ndarray, alpha: float) -> Decision:
    """Test that the keep rates at the probes are q_i, against every grid hypothesis.

    Estimate: the best hypothesis's scale, sum w (k - n q) / sum n w d (1 when the rate follows
    the grid exactly, 0 under H0).
    """
    keep, kept, trials = (np.asarray(a, dtype=np.float64) for a in (keep, kept, trials))
    variance = keep * (1 - keep)
    residual = kept - trials * keep
    results = []
    for hypothesis in hypotheses():
        d = hypothesis.deviations(keep)
        if not np.any(d):
            continue
        w = d / variance
        law = WeightedBinomialSum(w, trials, keep)
        statistic = float(np.sum(w * residual))
        information = float(np.sum(trials * w * d))
        results.append((law.log_upper_tail(law.mean + statistic), hypothesis, statistic / information))
    count = len(results)
    if count == 0:  # every probe sits on every grid: no hypothesis predicts a deviation
        return Decision(name="keep rate at quantisation probes", statistic=0.0, log_pvalue=0.0,
                          samples=int(trials.sum()), estimate=0.0, expected=0.0, ci=(-math.inf, math.inf),
                          alpha=alpha, detail=f"{keep.size} probes, none off any grid: nothing to test")
    log_p_best, best, scale = min(results, key=lambda r: r[0])
    log_p = min(0.0, math.log(count) + log_p_best)
    deviation = kept / trials - keep
    return Decision(
        name="keep rate at quantisation probes",
        statistic=scale,  # the fitted multiple of the best grid's predicted deviations
        log_pvalue=log_p,
        samples=int(trials.sum()),
        estimate=scale,
        expected=0.0,
        ci=(-math.inf, math.inf),
        alpha=alpha,
        # "Closest", not "the grid it follows": a plain bias is also closest to some grid, at a
        # scale far from 1; the mean deviation beside it tells the two apart for the reader.
        detail=(f"{keep.size} probes; closest grid hypothesis: {best.describe()} (scale {scale:.3g}: 1 is "
                f"exactly that grid's deviations, 0 none; p {format_p(log_p_best)} before x{count}); "
                f"mean rate - q {np.mean(deviation):+.3g}, largest |rate - q| {np.max(np.abs(deviation)):.3g}"),
        evidence={"keep probability": keep.tolist(), "keep rate - q": deviation.tolist(),
                  "best grid predicts": best.deviations(keep).tolist()},
    )
