"""An anytime-valid test of a keep rate: a beta-binomial mixture e-process, with a composite null.

Null. A correct kernel keeps each unit with probability q = 1 - p, or with the q of a p held as
a float32 (C2 accepts it: ``values.FLOAT32_P_NOTE``), so

    H0: the keep rate q' lies in [q - t, q + t],   t = FLOAT32_KEEP_TOLERANCE = 2^-24 = 5.96e-8.

t covers the float32 routes kernels take: p rounded to float32 (at most 2^-25 off for p < 1),
then 1 - p rounded to float32 again (at most 2^-25 more); and a float32 threshold against
24-bit uniforms (``torch.rand(shape) < p`` compares in float32: the drop rate is
ceil(p32 2^24) / 2^24, within 0.9994 x 2^-24 of p over two million p tried; keeping when
u < float32(1 - float32(p)), within 0.75 x 2^-24 of q).

A test of q exactly would fail such a kernel (2.4e-8 off at p = 0.1 and 0.9) after about 1e16
decisions: the evidence against q grows like n (q' - q)^2 / (2 q (1-q)).

The e-process. For keep decisions arriving a batch at a time, k kept of n so far, and any one
rate q' of the null, the mixture of likelihood ratios over alternatives theta ~ pi =
Beta(a, b), a = c q, b = c (1-q) (fixed in advance, whatever q' is),

    M_n(q') = int theta^k (1-theta)^(n-k) dpi(theta) / (q'^k (1-q')^(n-k))
            = B(a + k, b + n - k) / (B(a, b) q'^k (1-q')^(n-k)),

is a nonnegative martingale with mean 1 under rate q'. The test uses its smallest value over
the null,

    E_n = min over q' in H0 of M_n(q').

For the true rate q* (any point of H0), E_n <= M_n(q*) at every n, so by Ville's inequality

    P_q*[E_n >= 1/alpha at some n] <= P_q*[M_n(q*) >= 1/alpha at some n] <= alpha:

the test may look after every batch and stop whenever it likes (at a deadline) and keeps its
level at every rate of the null at once. (The largest M_n over the null's endpoints would not:
under q* = q, M_n(q - t) carries the factor L(q) / L(q - t), which grows like
exp(n t^2 / (2 q (1-q))), so it passes 1/alpha with probability tending to 1.) The minimum has
a closed form: the numerator does not depend on q', and the binomial likelihood q'^k (1-q')^(n-k)
is log-concave with its maximum at k/n, so the minimiser is q_h = k/n clipped to H0:

    log E_n = G + n KL(k/n || q_h),   G = log [B(a + k, b + n - k) / B(a, b)] - log L(k/n) <= 0,

KL the Bernoulli relative entropy (0 while k/n lies in H0). Both terms are computed without
cancellation (``_mixture_gap``: Stirling's series with its remainder; ``_relative_entropy``:
log1p): within 1e-7 of 50-digit arithmetic from n = 1 to 1e18 (tests/test_anytime.py), where
the plain difference of two log-betas is off by 5.9 at n = 1e15 and by 320 at 1e17.

Confidence sequence. The same martingales give, at every n,
CS_n = {q' : M_n(q') < 1/alpha} = {q' : G + n KL(k/n || q') < log(1/alpha)}, an interval around
k/n with P[the true rate leaves CS_n at some n] <= alpha (Ville again): valid at the deadline,
a stopping time, as a (1 - alpha) confidence interval. E_n >= 1/alpha exactly when CS_n misses
the whole null interval.

Power grows with n without a planned sample size; the smallest bias that one look at the n
reached rejects with probability ``power`` (``minimum_detectable_bias``, from exact binomial
tails at the rejection thresholds) is what a time-budgeted run reports. The concentration c
tunes where the mixture is sharpest (c = q (1-q) / 1e-8: biases near 1e-4).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize as _optimize
from scipy import special as _special
from scipy import stats as _scipy

from ..decision import Decision

__all__ = ["FLOAT32_KEEP_TOLERANCE", "BetaBinomialEProcess", "confidence_sequence"]

FLOAT32_KEEP_TOLERANCE = 2.0**-24  # |q' - q| of a keep probability computed in float32 from p


def _stirling_remainder(x: np.ndarray) -> np.ndarray:
    """r(x) = log Gamma(x) - [(x - 1/2) log x - x + log(2 pi) / 2]: the series for x >= 10
    (error below 1e-12 there), the difference itself below (no cancellation at small x)."""
    small = np.minimum(x, 10.0)
    direct = _special.gammaln(small) - ((small - 0.5) * np.log(small) - small + 0.5 * math.log(2 * math.pi))
    inverse = 1.0 / np.maximum(x, 10.0)
    square = inverse * inverse
    series = inverse * (1 / 12 - square * (1 / 360 - square * (1 / 1260 - square / 1680)))
    return np.asarray(np.where(x < 10.0, direct, series))


def _relative_entropy(kept: np.ndarray, rest: np.ndarray, rate: float | np.ndarray) -> np.ndarray:
    """n KL(k/n || rate) = k log(k/(n rate)) + (n-k) log((n-k)/(n (1-rate))) for k kept and
    n - k = ``rest`` dropped, through log1p of the relative gaps, so that a rate within 1e-8 of
    k/n at n = 1e17 keeps its digits."""
    samples = kept + rest
    p_hat = kept / samples
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(kept > 0, kept * np.log1p((p_hat - rate) / rate), 0.0)
        second = np.where(rest > 0, rest * np.log1p((rate - p_hat) / (1 - rate)), 0.0)
    return np.asarray(first + second)


def _mixture_gap(kept: np.ndarray, rest: np.ndarray, a: float, b: float) -> np.ndarray:
    """G = log[B(a + k, b + n - k) / B(a, b)] - [k log(k/n) + (n-k) log(1 - k/n)] <= 0, for k
    kept and n - k = ``rest`` dropped.

    With x = a + k, y = b + n - k, s = x + y = a + b + n and Stirling's form of log Gamma,
    log B(x, y) = x log(x/s) + y log(y/s) + log(2 pi s / (x y)) / 2 + r(x) + r(y) - r(s);
    x log(x/s) - k log(k/n) = k log1p(d / (s k/n)) + a log(x/s) with d = a - (a+b) k/n (and the
    same for y with -d), so no two terms of size n are subtracted.
    """
    samples = kept + rest
    c = a + b
    x, y, s = a + kept, b + rest, c + samples
    p_hat = kept / samples
    d = a - c * p_hat
    log_beta = (a * np.log(x / s) + b * np.log(y / s) + 0.5 * np.log(2 * math.pi * s / (x * y))
                + _stirling_remainder(x) + _stirling_remainder(y) - _stirling_remainder(s))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_beta = log_beta + np.where(kept > 0, kept * np.log1p(d / (s * p_hat)), 0.0)
        log_beta = log_beta + np.where(rest > 0, rest * np.log1p(-d / (s * (1 - p_hat))), 0.0)
    return np.asarray(log_beta - float(_special.betaln(a, b)))


def _counts(kept: float | np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(k, n - k) as float arrays, n - k taken before the conversion: exact past 2^53."""
    if isinstance(kept, np.ndarray):
        return kept.astype(np.float64), (samples - kept).astype(np.float64)
    return np.float64(kept), np.float64(samples - kept)


def confidence_sequence(kept: int, samples: int, alpha: float, *, rate: float,
                        concentration: float | None = None) -> tuple[float, float]:
    """{q' : M_n(q') < 1/alpha} for k = ``kept`` of n = ``samples``, the mixture Beta(c q, c (1-q))
    (c = ``concentration``, by default q (1-q) / 1e-8): the rates no look has ruled out at level
    alpha. The true rate leaves it at some n with probability at most alpha (Ville), so it is a
    (1 - alpha) confidence interval at any stopping time (a deadline, a sequential test's stop).
    An interval around k/n: n KL(k/n || q') < log(1/alpha) - G."""
    k, n = kept, samples
    if n == 0:
        return 0.0, 1.0
    c = concentration or rate * (1 - rate) / 1e-8
    counts = _counts(k, n)
    room = -math.log(alpha) - float(_mixture_gap(*counts, c * rate, c * (1 - rate)))
    p_hat = k / n

    def excess(candidate: float) -> float:
        return float(_relative_entropy(*counts, candidate)) - room

    low = 0.0 if k == 0 or excess(1e-300) < 0 else float(
        _optimize.brentq(excess, 1e-300, p_hat, xtol=1e-300, rtol=1e-15, maxiter=500))
    high = 1.0 if k == n or excess(1 - 1e-16) < 0 else float(
        _optimize.brentq(excess, p_hat, 1 - 1e-16, xtol=1e-300, rtol=1e-15, maxiter=500))
    return low, high


class BetaBinomialEProcess:
    """The e-process E_n of the module docstring, updated a batch at a time."""

    def __init__(self, rate: float, concentration: float | None = None,
                 tolerance: float = FLOAT32_KEEP_TOLERANCE) -> None:
        self.rate = rate
        self.tolerance = tolerance
        self.concentration = concentration or rate * (1 - rate) / 1e-8
        self.kept = 0
        self.samples = 0
        self.max_log_e = 0.0

    @property
    def null(self) -> tuple[float, float]:
        """The null interval of keep rates, [q - t, q + t] within (0, 1)."""
        return max(self.rate - self.tolerance, 1e-300), min(self.rate + self.tolerance, 1 - 1e-16)

    def log_e_at(self, null_rate: float, kept: float | None = None, samples: int | None = None) -> float:
        """log M_n(q'): the mixture martingale of the simple null ``null_rate``."""
        k = self.kept if kept is None else kept
        n = self.samples if samples is None else samples
        return float(self._log_e(k, n, null_rate)) if n else 0.0

    def log_e(self, kept: float | None = None, samples: int | None = None) -> float:
        """log E_n: the smallest log M_n(q') over the null, at q' = k/n clipped to it."""
        k = self.kept if kept is None else kept
        n = self.samples if samples is None else samples
        return float(self._log_e(k, n)) if n else 0.0

    def log_e_of_counts(self, kept: np.ndarray, samples: int, null_rate: float | None = None) -> np.ndarray:
        """log E_n (or log M_n(``null_rate``)) for many kept counts at one n, at once (the exact
        calibration's dynamic programme)."""
        return self._log_e(np.asarray(kept), samples, null_rate)

    def _log_e(self, kept: float | np.ndarray, samples: int, null_rate: float | None = None) -> np.ndarray:
        k, rest = _counts(kept, samples)
        gap = _mixture_gap(k, rest, self.concentration * self.rate, self.concentration * (1 - self.rate))
        low, high = self.null
        nearest = np.clip(k / (k + rest), low, high) if null_rate is None else null_rate
        return np.asarray(gap + _relative_entropy(k, rest, nearest))

    def update(self, kept: int, samples: int) -> float:
        self.kept += kept
        self.samples += samples
        value = self.log_e()
        self.max_log_e = max(self.max_log_e, value)
        return value

    def confidence_sequence(self, alpha: float) -> tuple[float, float]:
        """CS_n = {q' : M_n(q') < 1/alpha} at the n reached: an anytime-valid (1 - alpha)
        confidence interval for the keep rate (module docstring)."""
        return confidence_sequence(self.kept, self.samples, alpha, rate=self.rate, concentration=self.concentration)

    def _threshold(self, samples: int, side: int, target: float) -> int | None:
        """The kept count nearest the null where one look at ``samples`` rejects (log E >= target)
        on ``side`` (+1 above the null, -1 below); None if no count does."""
        low_rate, high_rate = self.null
        inside = math.floor(samples * high_rate) if side > 0 else math.ceil(samples * low_rate)
        edge = samples if side > 0 else 0
        if self.log_e(edge, samples) < target:
            return None
        near, far = inside, edge  # log E < target at near (inside the null), >= target at far
        while abs(far - near) > 1:
            middle = (near + far) // 2
            near, far = (middle, far) if self.log_e(middle, samples) < target else (near, middle)
        return far

    def minimum_detectable_bias(self, alpha: float, power: float) -> float:
        """The smallest |bias| b of the keep rate (q + b and q - b) that one look at the n reached
        rejects with probability ``power``: exact binomial tails beyond the rejection thresholds
        of E_n (looking earlier too only adds power). inf when no bias is that detectable."""
        n, q = self.samples, self.rate
        if n == 0:
            return math.inf
        target = -math.log(alpha)
        worst = 0.0
        for side in (+1, -1):
            threshold = self._threshold(n, side, target)
            room = (1 - q) if side > 0 else q
            if threshold is None:
                return math.inf

            def short(bias: float, side: int = side, threshold: int = threshold) -> float:
                rate = q + side * bias
                if side > 0:
                    return float(_scipy.binom.sf(threshold - 1, n, rate)) - power
                return float(_scipy.binom.cdf(threshold, n, rate)) - power

            if short(room * (1 - 1e-12)) < 0:
                return math.inf
            worst = max(worst, float(_optimize.brentq(short, 0.0, room * (1 - 1e-12), xtol=1e-15, rtol=1e-10)))
        return worst

    def result(self, alpha: float, power: float, name: str) -> Decision:
        log_p = min(0.0, -self.max_log_e)  # Ville: P_0[sup E >= 1/u] <= u
        estimate = self.kept / max(self.samples, 1)
        mde = self.minimum_detectable_bias(alpha, power)
        return Decision(
            name=name, statistic=float(self.kept), log_pvalue=log_p, samples=self.samples, estimate=estimate,
            expected=self.rate, ci=self.confidence_sequence(alpha), alpha=alpha,
            detail=(f"anytime-valid (beta-binomial mixture e-process, smallest over the null |q' - q| <= "
                    f"{self.tolerance:.3g}; largest log E {self.max_log_e:.3g}); detects a bias of {mde:.3g} with "
                    f"power {power} at the {self.samples:,} decisions reached"),
            interval="anytime-valid confidence sequence at 1 - alpha, at the decisions reached",
        )
