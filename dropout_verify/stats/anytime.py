"""An anytime-valid test of a keep rate: a beta-binomial mixture e-process.

For keep decisions arriving one batch at a time, with k kept of n so far, the mixture of
likelihood ratios over alternatives q' ~ Beta(c q, c (1-q)),

    E_n = B(c q + k, c (1-q) + n - k) / (B(c q, c (1-q)) q^k (1-q)^(n-k)),

is a nonnegative martingale with mean 1 under H0 (rate q). By Ville's inequality,
P_0[E_n >= 1/alpha at any n] <= alpha: the test may look after every batch and stop whenever
it likes (at a deadline) and keeps its level. It is two-sided, and its power grows with n
without a planned sample size: the smallest bias it detects with probability ``power`` at
the n reached (``minimum_detectable_bias``) is what a time-budgeted run reports. The
concentration c tunes where the mixture is sharpest (c = q (1-q) / 1e-8: biases near 1e-4).
"""

from __future__ import annotations

import math

from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats as _scipy

from ..decision import Decision

__all__ = ["BetaBinomialEProcess"]


class BetaBinomialEProcess:
    def __init__(self, rate: float, concentration: float | None = None) -> None:
        self.rate = rate
        self.concentration = concentration or rate * (1 - rate) / 1e-8
        self.kept = 0
        self.samples = 0
        self.max_log_e = 0.0

    def log_e(self, kept: float | None = None, samples: int | None = None) -> float:
        k = self.kept if kept is None else kept
        n = self.samples if samples is None else samples
        a, b = self.concentration * self.rate, self.concentration * (1 - self.rate)
        return float(_special.betaln(a + k, b + n - k) - _special.betaln(a, b)
                     - k * math.log(self.rate) - (n - k) * math.log1p(-self.rate))

    def update(self, kept: int, samples: int) -> float:
        self.kept += kept
        self.samples += samples
        value = self.log_e()
        self.max_log_e = max(self.max_log_e, value)
        return value

    def minimum_detectable_bias(self, alpha: float, power: float) -> float:
        """The smallest |bias| that would, at the n reached, have made E_n >= 1/alpha with
        probability ``power`` (the kept count at the ``power`` quantile of the shifted rate)."""
        n, q = self.samples, self.rate
        if n == 0:
            return math.inf
        z = float(_scipy.norm.isf(1 - power))
        target = -math.log(alpha)

        def short(bias: float, side: int) -> float:
            shifted = min(max(q + side * bias, 1e-12), 1 - 1e-12)
            k = n * shifted - side * z * math.sqrt(n * shifted * (1 - shifted))
            return self.log_e(min(max(k, 0.0), float(n)), n) - target

        worst = 0.0
        for side in (+1, -1):
            high = min(q, 1 - q) * 0.999 if side < 0 else (1 - q) * 0.999
            high = min(high, 0.5)
            if short(high, side) < 0:
                return math.inf
            worst = max(worst, float(_optimize.brentq(lambda b, side=side: short(b, side), 1e-12, high, xtol=1e-12)))
        return worst

    def result(self, alpha: float, power: float, name: str) -> Decision:
        log_p = min(0.0, -self.max_log_e)  # Ville: P_0[sup E >= 1/u] <= u
        estimate = self.kept / max(self.samples, 1)
        mde = self.minimum_detectable_bias(alpha, power)
        return Decision(
            name=name, statistic=float(self.kept), log_pvalue=log_p, samples=self.samples, estimate=estimate,
            expected=self.rate, ci=(estimate - mde, estimate + mde), alpha=alpha,
            detail=(f"anytime-valid (beta-binomial mixture e-process, largest log E {self.max_log_e:.3g}); "
                    f"detects a bias of {mde:.3g} with power {power} at the {self.samples:,} decisions reached"),
        )
