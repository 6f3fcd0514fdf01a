"""Periodicity: no lag of a keep sequence repeats it (a periodic, copied or shifted mask).

With a_i the keep indicators of a sequence of n decisions and q the keep rate, the lag-L
statistic S_L = sum_{j > L} (a_j - q)(a_{j-L} - q) is a martingale under H0 (each term has
mean 0 given the past), with increments X_j = (a_j - q) c_j, c_j = a_{j-L} - q known one step
ahead. So

* |X_j| <= b = max(q, 1-q)^2, and
* its predictable variation is V_L = q (1-q) sum_{i <= n-L} (a_i - q)^2, computed from the data.

Freedman's inequality bounds P[S_L >= s and V_L <= v] <= exp(-s^2 / (2 (v + b s / 3))). V_L is
random, so the bound is applied on a geometric grid v_k = v_min 2^k covering every value V_L
can take (a union over K grid points: a factor K); the observed V_L is rounded up to its grid
point. This keeps the bound proved, and variance-aware: at q = 0.95 it needs about 25 times
fewer decisions than the Azuma-Hoeffding bound, whose variance proxy is max(q, 1-q)^2 / 4 per
term whatever the data. Two sides, every lag 1..max_lag: Bonferroni over 2 max_lag.

Estimate: the lag-L correlation S_L / ((n-L) q (1-q)) at the most extreme lag.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..decision import LOG2, Decision

__all__ = ["freedman_log_tail", "periodicity_test"]

EVIDENCE_POINTS = 2048


def freedman_log_tail(s: torch.Tensor, v: torch.Tensor, b: float, v_min: float, v_max: float) -> torch.Tensor:
    """log of the peeled Freedman bound on P[S >= s] for martingales with increments <= b and
    predictable variation v in [v_min, v_max] (elementwise over lags)."""
    grid = max(1, math.ceil(math.log2(max(v_max / v_min, 1.0))) + 1)
    level = torch.clamp(torch.ceil(torch.log2(torch.clamp(v / v_min, min=1.0))), max=grid - 1)
    v_grid = v_min * torch.pow(2.0, level)
    s_pos = torch.clamp(s, min=0.0)
    exponent = -(s_pos**2) / (2 * (v_grid + b * s_pos / 3))
    return torch.clamp(math.log(grid) + exponent, max=0.0)


def periodicity_test(sequence: torch.Tensor, rate: float, alpha: float, max_lag: int) -> Decision:
    """Scan every lag 1..max_lag of a keep sequence for repetition (see the module docstring)."""
    a = sequence.reshape(-1).to(torch.float64) - rate
    n = a.numel()
    max_lag = min(max_lag, n - 1)
    if max_lag < 1 or not 0.0 < rate < 1.0:
        # No lag to scan, or a deterministic sequence (q = 0 or 1): nothing can repeat by chance.
        return Decision(name="periodicity (all lags)", statistic=0.0, log_pvalue=0.0, samples=n, estimate=0.0,
                          expected=0.0, ci=(-1.0, 1.0), alpha=alpha,
                          detail=f"not testable: {n} decisions at keep probability {rate:g}")
    size = 1 << (2 * n - 1).bit_length()
    # numpy's FFT and cumsum run on one thread in a fixed order: torch's split the work over
    # its intra-op threads, whose number would then change the last bits of every statistic,
    # and the same command run with another thread count would report other p-values.
    values = a.cpu().numpy()
    spectrum = np.fft.rfft(values, n=size)
    autocovariance = torch.from_numpy(np.fft.irfft(spectrum * spectrum.conj(), n=size)[1 : max_lag + 1].copy())
    lags = torch.arange(1, max_lag + 1)
    squares = torch.from_numpy(np.cumsum(values * values))  # sum_{i <= k} (a_i - q)^2
    spread = rate * (1 - rate)
    variation = spread * squares[n - 1 - lags]  # V_L = q (1-q) sum_{i <= n-L} (a_i - q)^2
    b = max(rate, 1 - rate) ** 2
    terms = (n - lags).to(torch.float64)
    v_min, v_max = spread * min(rate, 1 - rate) ** 2, spread * max(rate, 1 - rate) ** 2  # per term
    upper = freedman_log_tail(autocovariance, variation, b, v_min, v_max * n)
    lower = freedman_log_tail(-autocovariance, variation, b, v_min, v_max * n)
    log_p_lag = torch.minimum(upper, lower) + LOG2
    worst = int(torch.argmin(log_p_lag))
    log_p = min(0.0, math.log(max_lag) + float(log_p_lag[worst]))
    correlation = autocovariance / (terms * spread)
    # Half-width of the correlations the decision accepts at the worst lag (Freedman at alpha).
    log_level = math.log(alpha / (2 * max_lag))
    v = float(variation[worst])
    width = b * -log_level / 3 + math.sqrt((b * log_level / 3) ** 2 - 2 * v * log_level)
    half_width = width / (float(terms[worst]) * spread)
    shown = torch.unique(torch.cat([torch.linspace(0, max_lag - 1, min(max_lag, EVIDENCE_POINTS)).long(),
                                    torch.tensor([worst])]))
    bound = [(b * -log_level / 3 + math.sqrt((b * log_level / 3) ** 2 - 2 * float(variation[i]) * log_level))
             / (float(terms[i]) * spread) for i in shown.tolist()]
    return Decision(
        name="periodicity (all lags)",
        statistic=float(autocovariance[worst]),
        log_pvalue=log_p,
        samples=n,
        estimate=float(correlation[worst]),
        expected=0.0,
        ci=(float(correlation[worst]) - half_width, float(correlation[worst]) + half_width),
        alpha=alpha,
        interval="the estimate +- the largest correlation the test accepts at that lag (Freedman's bound)",
        detail=f"most extreme lag {worst + 1} of 1..{max_lag} over a sequence of {n:,} decisions "
               f"(Freedman's bound with the observed variation)",
        evidence={"lag": (shown + 1).double().tolist(), "correlation": correlation[shown].tolist(),
                  "upper bound": bound, "lower bound": [-x for x in bound]},
    )
