"""The statistical engine: exact (or provably conservative) tests for dropout masks.

Every test compares what an implementation did with what a correct dropout does, under the
null hypothesis H0 "the implementation is correct": each element is kept independently with
probability q = 1 - p. Every function returns a :class:`TestResult` with the statistic, the
p-value (kept as its natural log, so that 1e-300 and 1e-30 stay different numbers), the
samples used, an effect estimate with a confidence interval at the decision's own level
(1 - alpha), and the threshold alpha the decision used.

Two-sided binomial p-values use the doubling rule, p = min(1, 2 min(P[X <= k], P[X >= k])),
which is exact-or-conservative: under H0, P[p-value <= u] <= u for every u.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import optimize as _scipy_optimize
from scipy import stats as _scipy
from scipy import special as _scipy_special

__all__ = [
    "SequentialBinomialTest",
    "TestResult",
    "binomial_test",
    "dispersion_test",
    "homogeneity_test",
    "mean_ratio_test",
    "pair_test",
    "periodicity_test",
]

LOG2 = math.log(2.0)


@dataclass(frozen=True)
class TestResult:
    """One statistical decision: what was measured, how surprising it is under H0, the verdict.

    Attributes:
        name: what was tested, e.g. "keep rate".
        statistic: the test statistic (a count, a chi-square value, a sum).
        log_pvalue: natural log of the p-value under H0 (0 means p = 1).
        samples: the number of Bernoulli decisions (or pairs, or calls) the test used.
        estimate: the effect estimate (a rate, a correlation, a variance ratio).
        expected: what ``estimate`` is under H0.
        ci: a (1 - alpha) confidence interval for the effect.
        alpha: the decision's threshold: H0 is rejected when the p-value is below it.
        detail: one line about where the effect is (a position, a lag).
    """

    name: str
    statistic: float
    log_pvalue: float
    samples: int
    estimate: float
    expected: float
    ci: tuple[float, float]
    alpha: float
    detail: str = ""

    @property
    def pvalue(self) -> float:
        return math.exp(self.log_pvalue)

    @property
    def rejected(self) -> bool:
        return self.log_pvalue < math.log(self.alpha)

    def describe(self) -> str:
        """A short, fixed-format account of the decision for failure messages and reports."""
        verdict = "REJECTED" if self.rejected else "consistent with H0"
        lines = [
            f"{self.name}: {verdict}",
            f"  expected {self.expected:.6g}, estimated {self.estimate:.6g} "
            f"(CI at {1 - self.alpha:.10g}: [{self.ci[0]:.6g}, {self.ci[1]:.6g}])",
            f"  statistic {self.statistic:.6g} over {self.samples:,} samples; "
            f"p-value {_format_p(self.log_pvalue)} vs threshold alpha {self.alpha:.3g}",
        ]
        if self.detail:
            lines.append(f"  {self.detail}")
        return "\n".join(lines)


def _format_p(log_p: float) -> str:
    if log_p == -math.inf:
        return "0 (below 1e-308, log p = -inf)"
    if log_p > math.log(1e-300):
        return f"{math.exp(log_p):.3g}"
    return f"10^{log_p / math.log(10):.1f}"


def _two_sided_binomial_log_p(k: float, n: int, rate: float) -> float:
    """log of min(1, 2 min(P[X <= floor(k)], P[X >= ceil(k)])) for X ~ Binomial(n, rate).

    A non-integer k (a sum of measured ratios) is rounded outward on each side, which can
    only make the p-value larger: conservative.
    """
    lower = _scipy.binom.logcdf(math.floor(k), n, rate)
    upper = _scipy.binom.logsf(math.ceil(k) - 1, n, rate)
    return min(0.0, LOG2 + min(float(lower), float(upper)))


def _clopper_pearson(k: float, n: int, alpha: float) -> tuple[float, float]:
    """Exact (1 - alpha) interval for a binomial rate given k successes in n trials."""
    k_low, k_high = math.floor(k), math.ceil(k)
    low = 0.0 if k_low <= 0 else float(_scipy.beta.ppf(alpha / 2, k_low, n - k_low + 1))
    high = 1.0 if k_high >= n else float(_scipy.beta.isf(alpha / 2, k_high + 1, n - k_high))
    return low, high


def binomial_test(kept: int, n: int, rate: float, alpha: float, name: str = "keep rate") -> TestResult:
    """Exact two-sided test that ``kept`` ~ Binomial(n, rate).

    Estimate: kept / n, with its Clopper-Pearson interval.
    """
    return TestResult(
        name=name,
        statistic=float(kept),
        log_pvalue=_two_sided_binomial_log_p(kept, n, rate),
        samples=n,
        estimate=kept / n,
        expected=rate,
        ci=_clopper_pearson(kept, n, alpha),
        alpha=alpha,
    )


def mean_ratio_test(ratio_sum: float, n: int, rate: float, alpha: float) -> TestResult:
    """Test E[y_i / x_i] = 1 from S = sum over n (call, element) decisions of y_i (1-p) / x_i.

    Under H0 every y_i (1-p)/x_i is exactly 0 or 1, so S ~ Binomial(n, 1-p) and the test is
    the exact binomial one (a non-integer S, from values off the support, is rounded
    outward). Estimate: the relative bias of the mean, S / (n (1-p)) - 1.
    """
    low, high = _clopper_pearson(min(max(ratio_sum, 0.0), n), n, alpha)
    return TestResult(
        name="mean E[y]/x",
        statistic=ratio_sum,
        log_pvalue=_two_sided_binomial_log_p(min(max(ratio_sum, 0.0), n), n, rate),
        samples=n,
        estimate=ratio_sum / (n * rate) - 1.0,
        expected=0.0,
        ci=(low / rate - 1.0, high / rate - 1.0),
        alpha=alpha,
    )


def homogeneity_test(kept_per_position: np.ndarray, trials: int, rate: float, alpha: float) -> TestResult:
    """Test that every one of m positions is kept at the same rate q over ``trials`` calls.

    Two statistics, each at alpha/2 (Bonferroni), so the decision keeps its level:

    * omnibus chi-square, for drift spread over many positions:
      X^2 = sum_j (k_j - T q)^2 / (T q (1-q)), approximately chi-square(m) under H0
      (the planner keeps T q and T (1-q) well above 5);
    * the worst single position, for one bad element (first kept, tail never dropped):
      min_j of the exact two-sided binomial p-values, times m (Bonferroni over positions).

    Estimate: the largest |k_j / T - q| and where it is.
    """
    counts = np.asarray(kept_per_position, dtype=np.float64).reshape(-1)
    m = counts.size
    chi_square = float(np.sum((counts - trials * rate) ** 2) / (trials * rate * (1 - rate)))
    log_p_omnibus = float(_scipy.chi2.logsf(chi_square, m))
    # Two-sided exact p-value per position; only the most extreme positions can be the minimum.
    log_lower = _scipy.binom.logcdf(counts, trials, rate)
    log_upper = _scipy.binom.logsf(counts - 1, trials, rate)
    per_position = np.minimum(0.0, LOG2 + np.minimum(log_lower, log_upper))
    worst = int(np.argmin(per_position))
    log_p_worst = min(0.0, math.log(m) + float(per_position[worst]))
    log_p = min(0.0, LOG2 + min(log_p_omnibus, log_p_worst))
    worst_rate = counts[worst] / trials
    ci = _clopper_pearson(counts[worst], trials, alpha / m)
    return TestResult(
        name="homogeneity across positions",
        statistic=chi_square,
        log_pvalue=log_p,
        samples=m * trials,
        estimate=float(worst_rate - rate),
        expected=0.0,
        ci=(ci[0] - rate, ci[1] - rate),
        alpha=alpha,
        detail=(
            f"worst position: flat index {worst} of {m}, kept {int(counts[worst])}/{trials} "
            f"= {worst_rate:.4g} (p {_format_p(log_p_worst)} after x{m}); omnibus chi-square "
            f"{chi_square:.1f} on {m} df (p {_format_p(log_p_omnibus)})"
        ),
    )


def _saddlepoint_log_tails(values: np.ndarray, log_pmf: np.ndarray, calls: int, total: float) -> tuple[float, float]:
    """log P[S <= total] and log P[S >= total] for S, a sum of ``calls`` iid draws of a
    discrete law (``values`` with log-probabilities ``log_pmf``).

    Lugannani-Rice saddlepoint approximation: with K the cumulant generating function of
    one draw and s the root of K'(s) = total / calls,
        w = sign(s) sqrt(2 calls (s total/calls - K(s))),  u = s sqrt(calls K''(s)),
        P[S >= total] ~ 1 - Phi(w) + phi(w) (1/u - 1/w)   (and the mirror for the lower tail).
    Its relative error is O(1/calls) uniformly in the tail, where the normal and scaled
    chi-square approximations are off by orders of magnitude for skewed, heavy-tailed draws.
    Near the mean (|w| < 0.05), where the formula is 0/0, the normal approximation is used.
    """
    keep = np.isfinite(log_pmf)
    values, log_pmf = values[keep], log_pmf[keep]
    mean_value = total / calls
    low, high = float(values.min()), float(values.max())
    if mean_value <= low or mean_value >= high:  # at or beyond the support: all mass at one end
        edge_log = float(_scipy_special.logsumexp(log_pmf[values == (low if mean_value <= low else high)]))
        at_edge = calls * edge_log if (mean_value == low or mean_value == high) else -math.inf
        return (at_edge, 0.0) if mean_value <= low else (0.0, at_edge)

    def cumulants(s: float) -> tuple[float, float, float]:
        exponent = log_pmf + s * values
        k0 = float(_scipy_special.logsumexp(exponent))
        weights = np.exp(exponent - k0)
        k1 = float(weights @ values)
        k2 = float(weights @ (values - k1) ** 2)
        return k0, k1, k2

    mean, variance = cumulants(0.0)[1:]
    z = (total - calls * mean) / math.sqrt(calls * variance)
    if abs(z) < 0.05:
        return float(_scipy.norm.logcdf(z)), float(_scipy.norm.logsf(z))
    # Bracket the saddlepoint: K'(s) increases from min(values) to max(values).
    step = 1.0 / max(high - low, 1e-12)
    direction = 1.0 if mean_value > mean else -1.0
    bound = direction * step
    while (cumulants(bound)[1] - mean_value) * direction < 0:
        bound *= 2
    s = float(_scipy_optimize.brentq(lambda t: cumulants(t)[1] - mean_value, 0.0, bound, xtol=1e-14, rtol=1e-12))
    k0, _, k2 = cumulants(s)
    w = math.copysign(math.sqrt(max(2 * calls * (s * mean_value - k0), 0.0)), s)
    u = s * math.sqrt(calls * k2)
    if abs(w) < 1e-8 or abs(u) < 1e-8:
        return float(_scipy.norm.logcdf(z)), float(_scipy.norm.logsf(z))
    correction = 1 / u - 1 / w
    log_phi = -0.5 * w * w - 0.5 * math.log(2 * math.pi)
    if s > 0:  # upper tail: 1 - Phi(w) + phi(w) (1/u - 1/w), computed in log space
        log_upper = _log_add(float(_scipy.norm.logsf(w)), log_phi, correction)
        return math.log1p(-min(math.exp(log_upper), 1.0)) if log_upper < 0 else -math.inf, min(log_upper, 0.0)
    log_lower = _log_add(float(_scipy.norm.logcdf(w)), log_phi, -correction)
    return min(log_lower, 0.0), math.log1p(-min(math.exp(log_lower), 1.0)) if log_lower < 0 else -math.inf


def _log_add(log_a: float, log_b: float, factor: float) -> float:
    """log(exp(log_a) + factor exp(log_b)) for a possibly negative factor (kept positive)."""
    value = 1.0 + factor * math.exp(log_b - log_a)
    return log_a + math.log(max(value, 1e-300))


# The saddlepoint tail is within 15% of the exact one in the worst cases measured (few
# elements per call, q near an edge: a lattice law); the p-value is inflated by 1.25 so that
# it stays conservative there too (tests/test_calibration.py checks it against exact tails).
SADDLEPOINT_MARGIN = math.log(1.25)


def dispersion_test(kept_per_call: np.ndarray, size: int, rate: float, alpha: float) -> TestResult:
    """Test that the kept count of each call has the binomial variance m q (1-q).

    D = sum_t (K_t - m q)^2 / (m q (1-q)) over T calls has mean T under H0. Its law, that of
    a sum of T iid draws of (K - m q)^2 / (m q (1-q)) with K ~ Binomial(m, q), is skewed and
    heavy-tailed when m q (1-q) is small, so the p-value comes from the Lugannani-Rice
    saddlepoint approximation of that very law (``_saddlepoint_log_tails``), times a 1.25
    safety margin, checked to be conservative against exact convolutions in
    tests/test_calibration.py. Two-sided: over-dispersion (rows or
    batches dropped together, shared masks) and under-dispersion ("exactly k kept"
    permutations) are both rejected.

    Estimate: the variance ratio D / T (1 under H0), with a chi-square-based interval.
    """
    counts = np.asarray(kept_per_call, dtype=np.float64)
    calls = counts.size
    variance = size * rate * (1 - rate)
    d = float(np.sum((counts - size * rate) ** 2) / variance)
    support = np.arange(size + 1, dtype=np.float64)
    values = (support - size * rate) ** 2 / variance
    log_pmf = _scipy.binom.logpmf(support, size, rate)
    # Continuity correction: D takes discrete values; half the smallest gap between the
    # values one call can add is moved into each tail, as for a lattice law.
    distinct = np.unique(values[np.isfinite(log_pmf)])
    half_gap = float(np.min(np.diff(distinct))) / 2 if distinct.size > 1 else 0.0
    log_lower = _saddlepoint_log_tails(values, log_pmf, calls, d + half_gap)[0]
    log_upper = _saddlepoint_log_tails(values, log_pmf, calls, d - half_gap)[1]
    log_p = min(0.0, LOG2 + SADDLEPOINT_MARGIN + min(log_lower, log_upper))
    ratio = d / calls
    low = ratio * calls / float(_scipy.chi2.isf(alpha / 2, calls))
    high = ratio * calls / float(_scipy.chi2.ppf(alpha / 2, calls))
    return TestResult(
        name="dispersion of per-call kept counts",
        statistic=d,
        log_pvalue=log_p,
        samples=calls,
        estimate=ratio,
        expected=1.0,
        ci=(low, high),
        alpha=alpha,
        detail=f"{calls} calls of {size} elements; per-call kept count variance / binomial variance",
    )


def pair_test(both_kept: int, pairs: int, rate: float, alpha: float, name: str) -> TestResult:
    """Test independence of paired keep decisions: N11 ~ Binomial(pairs, q^2) under H0.

    For disjoint pairs (a, b) of decisions that should be independent, each pair is kept
    twice with probability q^2. With correlation rho between a and b that probability is
    q^2 + rho q (1-q), so the exact binomial test on N11 detects rho of either sign.
    Estimate: rho = (N11 / pairs - q^2) / (q (1-q)).
    """
    base = binomial_test(both_kept, pairs, rate * rate, alpha, name=name)
    spread = rate * (1 - rate)
    to_rho = lambda joint: (joint - rate * rate) / spread  # noqa: E731 - a one-line map
    return TestResult(
        name=name,
        statistic=float(both_kept),
        log_pvalue=base.log_pvalue,
        samples=pairs,
        estimate=to_rho(base.estimate),
        expected=0.0,
        ci=(to_rho(base.ci[0]), to_rho(base.ci[1])),
        alpha=alpha,
        detail=f"{both_kept:,} of {pairs:,} pairs kept together; q^2 = {rate * rate:.6g}",
    )


def periodicity_test(sequence: torch.Tensor, rate: float, alpha: float, max_lag: int) -> TestResult:
    """Scan every lag 1..max_lag of a keep sequence for repetition (a periodic or copied mask).

    With a_i the keep indicators and S_L = sum_i (a_i - q)(a_{i+L} - q) over the n - L
    pairs at lag L, the partial sums of S_L are a martingale under H0 whose increments
    range over an interval of length at most r = max(q, 1-q). The Azuma-Hoeffding
    inequality bounds P(|S_L| >= s) <= 2 exp(-2 s^2 / ((n - L) r^2)) for every n, however
    small: a conservative p-value, never an approximation. Bonferroni over the max_lag lags
    keeps the decision's level. A mask that repeats with period L gives S_L = (n-L) q (1-q).

    Estimate: the lag-L correlation S_L / ((n-L) q (1-q)) at the most extreme lag.
    """
    a = sequence.reshape(-1).to(torch.float64) - rate
    n = a.numel()
    size = 1 << (2 * n - 1).bit_length()
    spectrum = torch.fft.rfft(a, n=size)
    autocovariance = torch.fft.irfft(spectrum * spectrum.conj(), n=size)[1 : max_lag + 1]
    terms = torch.arange(n - 1, n - 1 - max_lag, -1, dtype=torch.float64)
    spread = max(rate, 1 - rate) ** 2
    log_p_lag = torch.clamp(LOG2 - 2 * autocovariance**2 / (terms * spread), max=0.0)
    worst = int(torch.argmin(log_p_lag))
    log_p = min(0.0, math.log(max_lag) + float(log_p_lag[worst]))
    correlation = float(autocovariance[worst] / (terms[worst] * rate * (1 - rate)))
    # Azuma's bound inverted at alpha / max_lag gives the half-width of a simultaneous interval.
    half_width = math.sqrt(spread * math.log(2 * max_lag / alpha) / (2 * float(terms[worst])))
    half_width /= rate * (1 - rate)
    return TestResult(
        name="periodicity (all lags)",
        statistic=float(autocovariance[worst]),
        log_pvalue=log_p,
        samples=n,
        estimate=correlation,
        expected=0.0,
        ci=(correlation - half_width, correlation + half_width),
        alpha=alpha,
        detail=f"most extreme lag {worst + 1} of 1..{max_lag} over a sequence of {n:,} decisions",
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
    * accepting H0 when every side's LR has fallen to (1 - power) / 2 or below (Wald's
      boundary: a rate off by delta crosses it with probability about (1 - power) / 2, which
      leaves the other half of the miss probability to the truncated exact test);
    * at ``max_samples`` (the fixed-sample size of the exact test at alpha / 2), where the
      exact binomial test on all the data decides at alpha / 2.

    So the whole decision keeps its level alpha and at least the fixed-size test's power; it
    never uses more samples than the fixed-size exact test at alpha / 2 (about 5% more than
    at alpha), and a correct implementation usually stops after a third of them.
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

    def _log_lr(self) -> list[float]:
        return [self.kept * a + (self.samples - self.kept) * b for a, b in self.sides]

    def update(self, kept: int, samples: int) -> bool:
        """Add a batch; return True when the test has stopped."""
        self.kept += kept
        self.samples += samples
        log_lr = self._log_lr()
        self.max_log_lr = [max(m, v) for m, v in zip(self.max_log_lr, log_lr)]
        if max(log_lr) >= self.log_reject:
            self.stopped_by = "rejection boundary"
        elif max(log_lr) <= self.log_accept:
            self.stopped_by = "acceptance boundary"
        elif self.samples >= self.max_samples:
            self.stopped_by = "truncation (exact test on all samples)"
        return bool(self.stopped_by)

    def result(self, name: str = "keep rate (sequential)") -> TestResult:
        """The decision: p = min(1, 2 min(p_sequential, p_exact)); reject when p < alpha."""
        log_p_sequential = min(0.0, LOG2 - max(self.max_log_lr))  # Bonferroni over the sides
        log_p_exact = 0.0
        if self.stopped_by.startswith("truncation"):
            log_p_exact = _two_sided_binomial_log_p(self.kept, self.samples, self.rate)
        log_p = min(0.0, LOG2 + min(log_p_sequential, log_p_exact))
        return TestResult(
            name=name,
            statistic=float(self.kept),
            log_pvalue=log_p,
            samples=self.samples,
            estimate=self.kept / max(self.samples, 1),
            expected=self.rate,
            ci=_clopper_pearson(self.kept, max(self.samples, 1), self.alpha),
            alpha=self.alpha,
            detail=(f"stopped at the {self.stopped_by or 'end'} after {self.samples:,} of at most "
                    f"{self.max_samples:,} samples ({self.samples / self.max_samples:.2f} of the fixed-size test)"),
        )
