"""Alpha dropout keeps mean 0 and variance 1: a test with Chernoff bounds on the exact law.

For x ~ N(0, 1) and keep probability q = 1 - p, alpha dropout's output y is, independently
for each unit, the kept value a x + a A p ~ N(a A p, a^2) with probability q, or the dropped
value d = -a A q with probability p (``kinds.base.AlphaValues``). Then E[y] = 0 and
E[y^2] = 1 exactly. For n independent outputs, S1 = sum y and S2 = sum y^2 are tested on
both sides. The cumulant generating functions are known in closed form,

    K1(s) = log(q exp(s a A p + s^2 a^2 / 2) + p exp(s d)),
    K2(s) = log(q (1 - 2 s a^2)^(-1/2) exp(s a^2 c^2 / (1 - 2 s a^2)) + p exp(s d^2)),  c = A p,

(the second from the noncentral chi-square law of (x + c)^2), so Chernoff's bound
P[S/n >= m] <= exp(-n I(m)), I(m) = sup_s (s m - K(s)), gives each tail a p-value that is
never below the true tail probability, for every n: a proved bound, not an approximation.
The decision's p-value is 4 min(tail bounds) (Bonferroni over two statistics, two sides).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special

from ..decision import Decision
from ..kinds.base import ALPHA_PRIME, alpha_scale

__all__ = ["AlphaLaw", "alpha_moments_test"]

LOG4 = math.log(4.0)


@dataclass(frozen=True)
class AlphaLaw:
    """The law of one alpha-dropout output for a standard normal input at keep probability q."""

    keep: float

    @property
    def a(self) -> float:
        return alpha_scale(self.keep)

    @property
    def kept_mean(self) -> float:
        return self.a * ALPHA_PRIME * (1.0 - self.keep)

    @property
    def dropped(self) -> float:
        return -self.a * ALPHA_PRIME * self.keep

    # ----------------------------------------------------------- first moment (S1 = sum y)
    def k1(self, s: float) -> tuple[float, float]:
        """(K1(s), K1'(s))."""
        q, a = self.keep, self.a
        terms = np.array([math.log(q) + s * self.kept_mean + 0.5 * s * s * a * a,
                          math.log1p(-q) + s * self.dropped if q < 1 else -math.inf])
        weights = np.array([self.kept_mean + s * a * a, self.dropped])
        value = float(_special.logsumexp(terms))
        return value, float(np.sum(np.exp(terms - value) * weights))

    # ----------------------------------------------------------- second moment (S2 = sum y^2)
    def k2(self, s: float) -> tuple[float, float]:
        """(K2(s), K2'(s)), for s < 1 / (2 a^2)."""
        q, a2 = self.keep, self.a * self.a
        c2 = (ALPHA_PRIME * (1.0 - self.keep)) ** 2
        shrink = 1.0 - 2.0 * s * a2
        kept_log = -0.5 * math.log(shrink) + s * a2 * c2 / shrink
        kept_slope = a2 / shrink + a2 * c2 / (shrink * shrink)
        d2 = self.dropped**2
        terms = np.array([math.log(q) + kept_log, math.log1p(-q) + s * d2 if q < 1 else -math.inf])
        value = float(_special.logsumexp(terms))
        return value, float(np.sum(np.exp(terms - value) * np.array([kept_slope, d2])))

    @property
    def fourth_moment(self) -> float:
        """E[y^4] (for the variance of S2 / n when planning)."""
        a, c = self.a, ALPHA_PRIME * (1.0 - self.keep)
        return self.keep * a**4 * (c**4 + 6 * c * c + 3) + (1 - self.keep) * self.dropped**4


def _rate(k: Callable[[float], tuple[float, float]], m: float, mean: float, upper_s: float) -> float:
    """I(m) = sup_s (s m - K(s)) for the cumulant function k(s) -> (K, K'); 0 at the mean.

    Any s gives a valid (if looser) bound, so should the root not be bracketed the best s
    tried is used: the bound stays proved, only less tight.
    """
    if m == mean:
        return 0.0

    def gap(s: float) -> float:
        return k(s)[1] - m

    if m > mean:
        low, high = 0.0, (1.0 if math.isinf(upper_s) else upper_s / 2)
        for _ in range(200):
            if gap(high) >= 0:
                break
            nearer = 2 * high if math.isinf(upper_s) else upper_s - (upper_s - high) / 2
            if not math.isinf(upper_s) and upper_s - nearer < 1e-12 * upper_s:
                break  # K is about to blow up at upper_s: stop short of it
            low, high = high, nearer
        else:
            return max(0.0, low * m - k(low)[0])
        if gap(high) < 0:
            return max(0.0, high * m - k(high)[0])
    else:
        low, high = -1.0, 0.0
        for _ in range(200):
            if gap(low) <= 0:
                break
            low, high = 2 * low, low
        else:
            return max(0.0, high * m - k(high)[0])
    s = float(_optimize.brentq(gap, low, high, xtol=1e-15, rtol=1e-13, maxiter=500))
    return max(0.0, s * m - k(s)[0])


def _inverse_rate(k: Callable[[float], tuple[float, float]], mean: float, upper_s: float, level: float,
                  side: int, scale: float) -> float:
    """The m on ``side`` (+1 above the mean, -1 below) where I(m) = level."""
    step = scale
    far = mean + side * step
    for _ in range(200):
        if far <= 0 and not math.isinf(upper_s):  # y^2 cannot go below 0
            far = mean * 1e-12
            break
        if _rate(k, far, mean, upper_s) >= level:
            break
        step *= 2
        far = mean + side * step
    return float(_optimize.brentq(lambda m: _rate(k, m, mean, upper_s) - level, *sorted((mean, far)),
                                  xtol=1e-13, maxiter=200))


def alpha_moments_test(values: np.ndarray, keep: float, alpha: float) -> Decision:
    """Test E[y] = 0 and E[y^2] = 1 for n independent alpha-dropout outputs of N(0, 1) inputs.

    Estimate: the sample mean (its interval from the Chernoff bound at the decision's alpha);
    the detail gives the sample second moment and its interval.
    """
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    n = y.size
    law = AlphaLaw(keep)
    mean1, mean2 = float(y.mean()), float((y * y).mean())
    if not (math.isfinite(mean1) and math.isfinite(mean2)):
        # Outputs of inf or NaN (or sums overflowing float64) are impossible under H0.
        return Decision(
            name="output moments for x ~ N(0, 1)", statistic=mean1, log_pvalue=-math.inf, samples=n,
            estimate=mean1, expected=0.0, ci=(math.nan, math.nan), alpha=alpha,
            detail=f"mean {mean1:.5g}, second moment {mean2:.5g}: not finite, impossible under H0")
    upper_s2 = 1.0 / (2.0 * law.a**2)
    log_p1 = -n * _rate(law.k1, mean1, 0.0, math.inf)
    log_p2 = -n * _rate(law.k2, mean2, 1.0, upper_s2)
    log_p = min(0.0, LOG4 + min(log_p1, log_p2))
    level = (LOG4 - math.log(alpha)) / n
    ci1 = (_inverse_rate(law.k1, 0.0, math.inf, level, -1, 1 / math.sqrt(n)),
           _inverse_rate(law.k1, 0.0, math.inf, level, +1, 1 / math.sqrt(n)))
    ci2 = (_inverse_rate(law.k2, 1.0, upper_s2, level, -1, 1 / math.sqrt(n)),
           _inverse_rate(law.k2, 1.0, upper_s2, level, +1, 1 / math.sqrt(n)))
    return Decision(
        name="output moments for x ~ N(0, 1)",
        statistic=mean1,
        log_pvalue=log_p,
        samples=n,
        estimate=mean1,
        expected=0.0,
        ci=(mean1 - ci1[1], mean1 - ci1[0]),
        alpha=alpha,
        interval="the estimate shifted by the range of means the test accepts",
        detail=(f"mean {mean1:.5g} (H0: 0; accepted range [{ci1[0]:.4g}, {ci1[1]:.4g}]); second moment "
                f"{mean2:.5g} (H0: 1; accepted range [{ci2[0]:.4g}, {ci2[1]:.4g}]); Chernoff bounds on the exact law"),
    )
