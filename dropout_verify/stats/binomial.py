"""Exact binomial tests and intervals, and the truncated sequential test of a rate.

Two-sided binomial p-values use the doubling rule, p = min(1, 2 min(P[X <= k], P[X >= k])),
which is exact-or-conservative: under H0, P[p-value <= u] <= u for every u.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import stats as _scipy

from ..decision import LOG2, Decision
from .anytime import confidence_sequence

__all__ = ["SequentialBinomialTest", "binomial_test", "clopper_pearson", "rejection_bounds", "two_sided_binomial_log_p"]


def two_sided_binomial_log_p(k: float, n: int, rate: float) -> float:
    """log of min(1, 2 min(P[X <= floor(k)], P[X >= ceil(k)])) for X ~ Binomial(n, rate).

    A non-integer k (a sum of measured ratios) is rounded outward on each side, which can
    only make the p-value larger: conservative.
    """
    lower = _scipy.binom.logcdf(math.floor(k), n, rate)
    upper = _scipy.binom.logsf(math.ceil(k) - 1, n, rate)
    return min(0.0, LOG2 + min(float(lower), float(upper)))


def rejection_bounds(law: Any, tail: float) -> tuple[float, float]:
    """(low, high) for a frozen discrete scipy law (binomial, hypergeometric): the largest k with
    P[X <= k] <= ``tail`` (-1 where there is none) and the smallest k with P[X >= k] <= ``tail``.

    An exact test rejecting at k <= low or k >= high has at most ``tail`` on each side: with
    tail = alpha / 2, the doubling rule's test at alpha (``tail`` < 1/2). Starts from scipy's
    quantiles and steps past their rounding with the exact tails; ``isf`` can answer the top of
    the support in a deep upper tail (binomial(1000, 0.5) at 1e-30: 1000, not 680), so the upper
    bound is then bisected down between the median and that answer on ``sf``, accurate there.
    """
    low = float(law.ppf(tail))
    while low >= 0 and law.cdf(low) > tail:
        low -= 1
    high = float(law.isf(tail))
    while law.sf(high - 1) > tail:
        high += 1
    inside = float(law.median()) if law.sf(high - 2) <= tail else high - 1  # P[X >= median] >= 1/2 > tail
    while high - inside > 1:
        middle = (inside + high) // 2
        inside, high = (inside, middle) if law.sf(middle - 1) <= tail else (middle, high)
    return low, high


def clopper_pearson(k: float, n: int, alpha: float) -> tuple[float, float]:
    """Exact (1 - alpha) interval for a binomial rate given k successes in n trials."""
    k_low, k_high = math.floor(k), math.ceil(k)
    low = 0.0 if k_low <= 0 else float(_scipy.beta.ppf(alpha / 2, k_low, n - k_low + 1))
    high = 1.0 if k_high >= n else float(_scipy.beta.isf(alpha / 2, k_high + 1, n - k_high))
    return low, high


def binomial_test(kept: int, n: int, rate: float, alpha: float, name: str = "keep rate") -> Decision:
    """Exact two-sided test that ``kept`` ~ Binomial(n, rate).

    Estimate: kept / n, with its Clopper-Pearson interval.
    """
    return Decision(
        name=name,
        statistic=float(kept),
        log_pvalue=two_sided_binomial_log_p(kept, n, rate),
        samples=n,
        estimate=kept / n,
        expected=rate,
        ci=clopper_pearson(kept, n, alpha),
        alpha=alpha,
    )



class SequentialBinomialTest:
    """A truncated two-sided sequential probability ratio test (SPRT) for a binomial rate.

    Counts arrive in batches (one batch per call of the implementation). For each side
    s in {q - delta, q + delta} the likelihood ratio

        LR_s(n) = (q_s / q)^k ((1 - q_s) / (1 - q))^(n - k)

    is a nonnegative martingale with mean 1 under H0, so by Ville's inequality
    P_0[sup_n LR_s(n) >= 4 / alpha] <= alpha / 4: checking after every batch, and stopping
    whenever we like, keeps the sequential part's false-alarm probability at alpha / 2 for
    both sides together. The test stops

    * rejecting H0 when a side's LR reaches 4 / alpha;
    * accepting H0 when every side's LR has fallen to B = (1 - power) / 2 or below: under a
      rate off by delta, 1 / LR of that side is a martingale with mean 1, so by Ville's
      inequality the test accepts early with probability at most B;
    * at ``max_samples``, where the exact binomial test on all the data decides at alpha / 2.
      The caller plans ``max_samples`` as the fixed-sample size of that test at alpha / 2 for
      power 1 - (1 - power) / 2 (``power.exact_rate_samples``), so it misses at most the other B.

    So the whole decision keeps its level alpha and misses a defect of size delta with
    probability at most 1 - power (proved, not approximated); it never uses more samples than
    that fixed-size test, and a correct implementation usually stops after a third of them.
    """

    def __init__(self, rate: float, delta: float, alpha: float, power: float, max_samples: int) -> None:
        self.rate, self.alpha, self.max_samples = rate, alpha, max_samples
        alternatives = [min(max(rate + shift, 1e-12), 1 - 1e-12) for shift in (-delta, delta)]
        self.sides = [
            (math.log(alt / rate), math.log((1 - alt) / (1 - rate))) for alt in alternatives if alt != rate
        ]
        self.log_reject = math.log(4 / alpha)
        self.log_accept = math.log((1 - power) / 2)
        self.kept = 0
        self.samples = 0
        self.max_log_lr = [-math.inf] * len(self.sides)
        self.stopped_by = ""
        self.history: list[tuple[int, float]] = []  # (samples, running estimate) for the evidence plot

    def _log_lr(self) -> list[float]:
        return [self.kept * a + (self.samples - self.kept) * b for a, b in self.sides]

    def update(self, kept: int, samples: int) -> bool:
        """Add a batch; return True when the test has stopped."""
        self.kept += kept
        self.samples += samples
        if len(self.history) < 4096:
            self.history.append((self.samples, self.kept / max(self.samples, 1)))
        log_lr = self._log_lr()
        self.max_log_lr = [max(m, v) for m, v in zip(self.max_log_lr, log_lr)]
        if max(log_lr) >= self.log_reject:
            self.stopped_by = "rejection boundary"
        elif max(log_lr) <= self.log_accept:
            self.stopped_by = "acceptance boundary"
        elif self.samples >= self.max_samples:
            self.stopped_by = "truncation (exact test on all samples)"
        return bool(self.stopped_by)

    def result(self, name: str = "keep rate (sequential)") -> Decision:
        """The decision: p = min(1, 2 min(p_sequential, p_exact)); reject when p < alpha."""
        log_p_sequential = min(0.0, LOG2 - max(self.max_log_lr))  # Bonferroni over the sides
        log_p_exact = 0.0
        if self.stopped_by.startswith("truncation"):
            log_p_exact = two_sided_binomial_log_p(self.kept, self.samples, self.rate)
        log_p = min(0.0, LOG2 + min(log_p_sequential, log_p_exact))
        return Decision(
            name=name,
            statistic=float(self.kept),
            log_pvalue=log_p,
            samples=self.samples,
            estimate=self.kept / max(self.samples, 1),
            expected=self.rate,
            # A Clopper-Pearson interval holds for a fixed n, not at a sequential stop: the
            # mixture's confidence sequence holds at any stopping time.
            ci=confidence_sequence(self.kept, self.samples, self.alpha, rate=self.rate),
            alpha=self.alpha,
            interval="anytime-valid confidence sequence at 1 - alpha, valid where the sequential test stopped",
            detail=(f"stopped at the {self.stopped_by or 'end'} after {self.samples:,} of at most "
                    f"{self.max_samples:,} samples ({self.samples / self.max_samples:.2f} of the fixed-size test)"),
            evidence={"decisions": [float(n) for n, _ in self.history],
                      "keep rate (running)": [e for _, e in self.history],
                      "expected": [self.rate] * len(self.history)},
        )
