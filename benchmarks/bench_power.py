"""Power of every statistical check at its planned sample size, by simulation.

    python benchmarks/bench_power.py [--levels standard] [--replicates 100000] [--curve-replicates 5000]
                                     [--png benchmarks/power.png]

For each check the suite's own planner (``dropout_verify.power``) gives the sample size at the
level's alpha per decision (1e-6 / K), data are simulated from a dropout whose defect has the
level's minimum detectable effect (MDE), and the check's own decision rule (``dropout_verify.stats``)
decides. The detection rate at 1 x MDE is estimated from ``--replicates`` replicates (100,000: a
95% interval of about +-0.0002 around 0.999, enough to tell 0.999 from 0.998) with its
Clopper-Pearson interval; the curve at 0.5, 0.75 and 1.25 x MDE from ``--curve-replicates``.

Simulated defects (what the suite plans each check against):
  keep rate       rate q - delta at p = 0.5, 0.9, 0.95 and 0.05 (delta: 0.002, or 1% of q and of 1-q where
                  smaller), batches of 32,768 decisions, through the sequential test exactly as the suite
                  runs it (the SPRT's rule, vectorised over replicates)
  homogeneity     one of 1000 positions kept at q + delta (p = 0.5)
  pairs           pairs correlated by rho: 256 strata (p = 0.5, 0.9), and one stratum of consecutive
                  calls (a whole-call drop-path, p = 0.1)
  dispersion      per-call counts Beta-Binomial with variance ratio r, and the count nearest m q in a
                  share of the calls with ratio 1/r (power.dispersion_alternatives): 64 units at p = 0.5,
                  the designed m = 31 at p = 0.05, and the worst of every designed (m, q) of every kind
  --time          the anytime e-process after 1e9 decisions, rate q +- the bias it reports there
  quantisation    for inputs of each dtype (float32, float16, bfloat16; float32 with --time): the keep rates of
                  each planned group's weakest hypothesis (grid, mechanism, side; weakest by the planner's
                  Chernoff bound on its miss) at the suite's probes and trials, and one probe alone a
                  quarter cell off (the weakest sign and edge), every other probe at q
  alpha moments   outputs of N(0, 1) inputs with mean shifted by delta, or variance scaled by 1 +- delta
  value groups    one of 8 groups of units kept at q + delta
  lag scan        a flat sequence of 2^16 units a call, each unit copying the one L before it with
                  probability rho (p = 0.5, 0.95): every lag 1..64 and power of two scanned; L the
                  largest lag scanned (the plan's tally) or 3
  dropout sites   two sites' aligned units sharing their uniform with a probability giving rho
  scale blocks    the 2^24-unit call with one block of 2^20 (or 2^12) units off by the stated effect
  windows         a stretch of w + 8 x 256 units of one mask copied into another at a random offset
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dropout_verify import power as planner  # noqa: E402
from dropout_verify import stats  # noqa: E402
from dropout_verify.kinds.base import ALPHA_PRIME, alpha_scale  # noqa: E402
from dropout_verify.levels import LEVELS, POWER, QUANTISED_DTYPES, decision_count  # noqa: E402
from dropout_verify.stats import quantisation as quantised  # noqa: E402
from dropout_verify.stats.chernoff import WeightedBinomialSums  # noqa: E402
from dropout_verify.stats.dispersion import dispersion_law  # noqa: E402
from dropout_verify.stats.moments import AlphaLaw, _rate  # noqa: E402

MULTIPLES = (0.5, 0.75, 1.0, 1.25)
BUDGET = 1e-6


def alpha_for(level: str) -> float:
    return BUDGET / decision_count(level)


def interval(hits: int, total: int) -> tuple[float, float]:
    low = 0.0 if hits == 0 else float(scipy_stats.beta.ppf(0.025, hits, total - hits + 1))
    high = 1.0 if hits == total else float(scipy_stats.beta.isf(0.025, hits + 1, total - hits))
    return low, high


# ----------------------------------------------------------------------------- the checks


def keep_rate(level: str, multiple: float, replicates: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """The truncated SPRT (stats.SequentialBinomialTest's rule), vectorised over replicates."""
    alpha, q = alpha_for(level), 1 - p
    delta = LEVELS[level].keep_rate_delta(q)
    n_max = planner.exact_rate_samples(q, delta, alpha / 2, 1 - (1 - POWER) / 2)
    template = stats.SequentialBinomialTest(q, delta, alpha, POWER, n_max)
    true = q - multiple * delta
    batch = 1 << 15
    kept = np.zeros(replicates)
    samples = 0
    best = np.full((replicates, len(template.sides)), -np.inf)
    state = np.zeros(replicates, dtype=int)  # 0 going, 1 rejected, -1 accepted
    while samples < n_max and np.any(state == 0):
        size = min(batch, n_max - samples)
        going = state == 0
        kept[going] += rng.binomial(size, true, going.sum())
        samples += size
        log_lr = np.stack([kept * a + (samples - kept) * b for a, b in template.sides], axis=1)
        best = np.maximum(best, log_lr)
        reject = going & (log_lr.max(1) >= template.log_reject)
        accept = going & ~reject & (log_lr.max(1) <= template.log_accept)
        state[reject], state[accept] = 1, -1
    still = state == 0
    if still.any():
        lower = scipy_stats.binom.logcdf(kept[still], samples, q)
        upper = scipy_stats.binom.logsf(kept[still] - 1, samples, q)
        exact = np.minimum(0.0, math.log(2) + np.minimum(lower, upper))
        sequential = np.minimum(0.0, math.log(2) - best[still].max(1))
        state[still] = np.where(math.log(2) + np.minimum(sequential, exact) < math.log(alpha), 1, -1)
    return state == 1


def homogeneity(level: str, multiple: float, replicates: int, rng: np.random.Generator) -> np.ndarray:
    alpha, delta, q, positions = alpha_for(level), LEVELS[level].position_bias, 0.5, 1000
    calls = planner.homogeneity_calls(q, delta, positions, alpha, POWER)
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        counts = rng.binomial(calls, q, positions)
        counts[0] = rng.binomial(calls, min(q + multiple * delta, 1.0))
        hits[index] = stats.homogeneity_test(counts, calls, q, alpha).rejected
    return hits


def pairs(level: str, multiple: float, replicates: int, rng: np.random.Generator, p: float,
          strata: int) -> np.ndarray:
    """One pairing of ``strata`` strata, the calls the planner gives it at alpha / 20 (a pairing's
    share among about 20 of one example). Few strata, so that the planned calls are what binds
    (with tens of thousands the minimum of 64 calls already over-powers the test)."""
    alpha = alpha_for(level) / 20
    rho, q = multiple * LEVELS[level].correlation, 1 - p
    per_call = 0.5 if strata == 1 else 1.0  # one stratum: consecutive calls of a whole-call drop-path
    calls = planner.pair_calls({"pairing": (strata, per_call)}, LEVELS[level].correlation, alpha, POWER, q)
    rows_total = int(calls * per_call)
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        counts = stats.PairCounts(strata)
        done = 0
        while done < rows_total:
            rows = min(4096, rows_total - done)
            first = rng.random((rows, strata)) < q
            copy = rng.random((rows, strata)) < rho  # correlation rho: the second copies the first
            second = np.where(copy, first, rng.random((rows, strata)) < q)
            counts.add(first, second)
            done += rows
        hits[index] = stats.independence_test(counts, alpha, "pairs").rejected
    return hits


def dispersion(level: str, multiple: float, replicates: int, rng: np.random.Generator, side: str, size: int = 64,
               q: float = 0.5) -> np.ndarray:
    """The planner's own defects (``power.dispersion_alternatives``) at a variance ratio of
    1 + multiple (r - 1): a Beta-Binomial count ("over"), or the count nearest m q in a share of
    the calls ("under"), the rest binomial. The calls are iid, so the counts of a replicate are a
    multinomial draw over 0..m: exact, and cheap enough for a million replicates."""
    alpha = alpha_for(level)
    ratio = LEVELS[level].variance_ratio
    calls = planner.dispersion_calls(ratio, alpha, POWER, size, q)
    laws = planner.dispersion_alternatives(1 + multiple * (ratio - 1), size, q)
    if side not in laws:  # the integers allow no count that under-dispersed at this m q
        return np.zeros(0, dtype=bool)
    law = dispersion_law(calls, size, q)
    upper, lower = law.threshold(math.log(alpha / 2), upper=True), law.threshold(math.log(alpha / 2), upper=False)
    values = (np.arange(size + 1) - size * q) ** 2 / (size * q * (1 - q))
    pmf = laws[side] / laws[side].sum()
    hits = []
    for start in range(0, replicates, 20_000):
        d = rng.multinomial(calls, pmf, size=min(20_000, replicates - start)) @ values
        hits.append((d > upper) | (d < lower))
    return np.concatenate(hits)


def designed_dispersion() -> list[tuple[int, float]]:
    """Every (m, q) of the dispersion check's designed examples, over every kind."""
    import importlib

    from dropout_verify.kinds import KINDS

    independence = importlib.import_module("properties.test_independence")
    return sorted({(case.units, round(1 - case.p, 12)) for kind in KINDS.values()
                   for case in independence._dispersion_examples(kind)})


def dispersion_designed(level: str, multiple: float, replicates: int, rng: np.random.Generator,
                        side: str) -> np.ndarray:
    """The designed (m, q) with the lowest detection rate in a pilot of replicates / 10 each, then
    measured afresh with ``replicates`` (the pilot's minimum would be biased low)."""
    pilots = {design: dispersion(level, multiple, max(replicates // 10, 1000), rng, side, *design)
              for design in designed_dispersion()}
    worst = min((design for design, hits in pilots.items() if hits.size), key=lambda d: float(np.mean(pilots[d])))
    print(f"<!-- worst designed (m, q) at {multiple} x MDE, {side}: {worst} -->", file=sys.stderr)
    return dispersion(level, multiple, replicates, rng, side, *worst)


def anytime(level: str, multiple: float, replicates: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """The --time e-process (stats.anytime, composite null) after 1e9 decisions (a minute of a
    GPU), one look, at a keep rate off by ``multiple`` times the bias it reports there."""
    alpha, q, n = alpha_for(level), 1 - p, 10**9
    process = stats.BetaBinomialEProcess(q)
    process.update(round(n * q), n)
    bias = multiple * process.minimum_detectable_bias(alpha, POWER)
    hits = []
    for sign in (+1, -1):
        kept = rng.binomial(n, q + sign * bias, replicates // 2)
        hits.append(process.log_e_of_counts(kept, n) >= -math.log(alpha))
    return np.concatenate(hits)


class QuantisationRule:
    """The decision of ``stats.quantisation_test`` for many replicates at once: it rejects when a
    matched statistic passes its Chernoff threshold at alpha / (2 H) (thresholds depend on the
    design only, so they are computed once) or a probe's two-sided p-value is below alpha / (2 P).
    ``check`` compares it with the suite's own function on a few replicates."""

    def __init__(self, level: str, dtype: str, fine: bool) -> None:
        self.alpha = alpha_for(level)
        self.groups = tuple(quantised.probe_groups(LEVELS[level].quantisation_grids(dtype, fine)))
        self.keep = quantised.probe_points(self.groups)
        self.trials = np.array(planner.quantisation_trials(self.groups, self.alpha, POWER, fine), dtype=float)
        self.candidates = quantised.hypotheses(fine)
        tested, d = quantised.matched(self.keep, self.candidates)
        self.w = d / (self.keep * (1 - self.keep))
        law = WeightedBinomialSums(self.w, self.trials, quantised.null_rates(self.keep, self.w))
        self.thresholds = law.upper_thresholds(math.log(self.alpha / (2 * len(tested))))
        self.per_probe = math.log(self.alpha / (2 * self.keep.size))
        self.checked = False

    def rejects(self, kept: np.ndarray) -> np.ndarray:
        matched = np.any(kept @ self.w.T >= self.thresholds, axis=1)
        log_p = quantised.probe_log_pvalues(self.keep, kept, self.trials)
        return np.asarray(matched | np.any(log_p < self.per_probe, axis=1))

    def check(self, kept: np.ndarray) -> None:
        for row in kept[:20]:
            suite = stats.quantisation_test(self.keep, row, self.trials, self.alpha, self.candidates).rejected
            assert suite == bool(self.rejects(row[None, :])[0]), "the vectorised rule differs from the suite's"

    def power(self, rates: np.ndarray, replicates: int, rng: np.random.Generator) -> np.ndarray:
        hits = np.zeros(replicates, dtype=bool)
        for start in range(0, replicates, 2000):
            kept = rng.binomial(self.trials.astype(np.int64), rates, (min(2000, replicates - start), self.keep.size))
            kept = kept.astype(float)
            if not self.checked:
                self.check(kept)
                self.checked = True
            hits[start:start + kept.shape[0]] = self.rejects(kept)
        return hits


def quantisation_rows(level: str) -> list[tuple[str, object, bool]]:
    """Rows of the power table for the quantisation decisions: per dtype and planned group, the
    weakest planned hypothesis (by Chernoff's bound on its miss, the planner's own measure, over
    every probe of the decision), and the omnibus against one probe a quarter cell off at an
    edge, either sign (the weakest by the exact miss of that probe's test alone)."""
    rows: list[tuple[str, object, bool]] = []
    for dtype, fine in [(d, False) for d in QUANTISED_DTYPES] + [("float32", True)]:
        rule = QuantisationRule(level, dtype, fine)
        label = f"{dtype} inputs" + (", with --time" if fine else "")
        for group in rule.groups:
            planned, d = quantised.matched(rule.keep, quantised.hypotheses(fine, only=group.grids))
            w = d / (rule.keep * (1 - rule.keep))
            tested = len(quantised.matched(rule.keep, rule.candidates)[0])
            null = WeightedBinomialSums(w, rule.trials, quantised.null_rates(rule.keep, w))
            thresholds = null.upper_thresholds(math.log(rule.alpha / (2 * tested)))
            rates = np.clip(rule.keep + d, 0.0, 1.0)
            misses = WeightedBinomialSums(w, rule.trials, rates).log_lower_tails(thresholds)
            weakest = int(np.argmax(misses))
            rows.append((f"quantisation, {label}: {group.describe()}, weakest of {len(planned)} hypotheses "
                         f"({planned[weakest].describe()}; miss bound {math.exp(misses[weakest]):.2g})",
                         lambda m, r, g, rule=rule, rate=rates[weakest]: rule.power(rate, r, g), False))
            shifted = []
            for q in group.edge_probes():
                index = int(np.flatnonzero(rule.keep == q)[0])
                n = int(rule.trials[index])
                for sign in (-1, 1):
                    rate = rule.keep.copy()
                    rate[index] = min(max(q + sign * group.cell / 4, 0.0), 1.0)
                    k = np.arange(n + 1) if n < 10**6 else np.arange(int(n * min(q, rate[index]) * 0.5),
                                                                        int(n * max(q, rate[index]) * 1.5 + 200))
                    k = k[k <= n]
                    log_p = quantised.probe_log_pvalues(np.full(k.size, q), k.astype(float), np.full(k.size, float(n)))
                    miss = float(scipy_stats.binom.pmf(k[log_p >= rule.per_probe], n, rate[index]).sum())
                    shifted.append((miss, q, sign, rate))
            miss, q, sign, rate = max(shifted, key=lambda item: item[0])
            rows.append((f"quantisation, {label}: {group.describe()}, one probe alone at q = {q:.6g} off by "
                         f"{'+' if sign > 0 else '-'}h/4 (weakest of {len(shifted)}; exact miss of its test "
                         f"{miss:.2g})", lambda m, r, g, rule=rule, rate=rate: rule.power(rate, r, g), False))
    return rows


def moments(level: str, multiple: float, replicates: int, rng: np.random.Generator, which: str) -> np.ndarray:
    """S1 = sum y, S2 = sum y^2 simulated exactly from sufficient statistics (Cochran)."""
    alpha, delta, keep = alpha_for(level), multiple * LEVELS[level].moment_bias, 0.8
    n = planner.moments_samples(keep, LEVELS[level].moment_bias, alpha, POWER)
    law = AlphaLaw(keep)
    a, c, d = alpha_scale(keep), ALPHA_PRIME * (1 - keep), law.dropped
    kept = rng.binomial(n, keep, replicates)
    t1 = np.sqrt(kept) * rng.standard_normal(replicates)
    t2 = np.where(kept > 0, t1**2 / np.maximum(kept, 1) + rng.chisquare(np.maximum(kept - 1, 1), replicates), 0.0)
    s1 = a * t1 + kept * a * c + (n - kept) * d
    s2 = a * a * (t2 + 2 * c * t1 + kept * c * c) + (n - kept) * d * d
    if which == "mean":
        s2, s1 = s2 + 2 * delta * s1 + n * delta * delta, s1 + n * delta
    else:
        scale = 1 + delta if which == "variance up" else 1 - delta
        s1, s2 = s1 * math.sqrt(scale), s2 * scale
    level_log = math.log(4) - math.log(alpha)
    hits = np.zeros(replicates, dtype=bool)
    upper_s2 = 1 / (2 * a * a)
    for index in range(replicates):
        m1, m2 = s1[index] / n, s2[index] / n
        log_p = min(-n * _rate(law.k1, m1, 0.0, math.inf), -n * _rate(law.k2, m2, 1.0, upper_s2))
        hits[index] = log_p < -level_log
    return hits


def value_groups(level: str, multiple: float, replicates: int, rng: np.random.Generator) -> np.ndarray:
    alpha, delta, q, groups = alpha_for(level) / 8, LEVELS[level].value_bias, 0.5, 8
    n = planner.exact_rate_samples(q, delta, alpha, POWER)
    kept = rng.binomial(n, q, (replicates, groups))
    kept[:, 0] = rng.binomial(n, q + multiple * delta, replicates)
    lower = scipy_stats.binom.logcdf(kept, n, q)
    upper = scipy_stats.binom.logsf(kept - 1, n, q)
    log_p = np.minimum(0.0, math.log(2) + np.minimum(lower, upper))
    return (log_p < math.log(alpha)).any(1)


def copy_chain(rng: np.random.Generator, size: int, rate: float, rho: float, lag: int) -> np.ndarray:
    """Keep decisions correlated by rho at ``lag``: each copies the decision ``lag`` before it with
    probability rho, else draws afresh (chained; the mutants' and the planner's alternative)."""
    fresh = rng.random(size) < rate
    copy = rng.random(size) < rho
    pad = (-size) % lag
    index = np.arange(size + pad).reshape(-1, lag)
    is_fresh = np.ones(size + pad, dtype=bool)
    is_fresh[:size] = ~copy
    is_fresh[:lag] = True
    source = np.maximum.accumulate(np.where(is_fresh.reshape(-1, lag), index, 0), axis=0).reshape(-1)
    return np.concatenate([fresh, np.zeros(pad, dtype=bool)])[source][:size]


def lag_scan(level: str, multiple: float, replicates: int, rng: np.random.Generator, p: float,
             lag: int | None = None) -> np.ndarray:
    """The every-phase lag scan of one flat sequence of 2^16 units (every lag 1..64 and the powers
    of two: the property's scan of one pairing), with the calls the planner gives for its worst
    tally, and a correlation of the level's size at ``lag`` (default: the largest lag scanned,
    the tally with the fewest pairs, which the plan is made for; the shorter lags have more)."""
    from dropout_verify.stats.lags import LagCounter, Series, lag_scan_test, scanned_lags

    alpha, rho, q, units = alpha_for(level), multiple * LEVELS[level].correlation, 1 - p, 1 << 16
    lags = scanned_lags(units)
    needed = planner.lag_scan_pairs(LEVELS[level].correlation, alpha, POWER, (q, q), 2 * len(lags))
    fewest = min(units - lag for lag in lags)
    calls = max(2, math.ceil(needed / fewest))
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        counter = LagCounter([("flat", lambda keeps: keeps.reshape(keeps.shape[0], -1, 1), lags)])
        counter.add(np.stack([copy_chain(rng, units, q, rho, lag or max(lags)) for _ in range(calls)]))
        hits[index] = lag_scan_test(counter.tallies(), [Series(counter.kept, counter.decisions, q)], alpha,
                                    "lags").rejected
    return hits


def sites(level: str, multiple: float, replicates: int, rng: np.random.Generator, rates: tuple[float, float]
          ) -> np.ndarray:
    """Two dropout sites' aligned units correlated by rho (the second site's uniform is the first's
    with some probability), one of the property's four pairings at its planned pairs."""
    from dropout_verify.stats.lags import LagTally, Series, lag_scan_test

    alpha, rho = alpha_for(level), multiple * LEVELS[level].correlation
    q1, q2 = rates
    n = planner.lag_scan_pairs(LEVELS[level].correlation, alpha, POWER, rates, 8, 3)
    low, high = min(q1, q2), max(q1, q2)
    shared = rho / math.sqrt(low * (1 - high) / (high * (1 - low)))  # corr(1{u<q1}, 1{u<q2}) x P[shared]
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        u = rng.random(n)
        v = np.where(rng.random(n) < shared, u, rng.random(n))
        a, b = u < q1, v < q2
        tally = LagTally("sites", n, int(a.sum()), int(b.sum()), int((a & b).sum()), (0, 1))
        hits[index] = lag_scan_test([tally], [Series(int(a.sum()), n, q1), Series(int(b.sum()), n, q2)], alpha,
                                    "sites").rejected
    return hits


def scale_blocks(level: str, multiple: float, replicates: int, rng: np.random.Generator, block: int,
                 p: float) -> np.ndarray:
    """The scale tier's 2^24-unit call at p, one block of ``block`` units (the second, from unit
    ``block``) kept at q - d, d the effect the property states (``stats.blocks.block_effect``); the
    call simulated by its 2^12-unit block counts (sufficient for every block's count)."""
    from dropout_verify.stats.blocks import SMALLEST_BLOCK, Blocks, block_effect, blocks_test

    alpha, q, units = alpha_for(level), 1 - p, 1 << 24
    base = 1 << SMALLEST_BLOCK
    counts_of = units // base
    tests = sum(units >> s for s in range(SMALLEST_BLOCK, 24)) + 1
    effect = block_effect(units, block, q, alpha, POWER, tests)
    rates = np.full(counts_of, q)
    rates[block // base : 2 * block // base] = q - multiple * effect
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        finest = rng.binomial(base, rates)
        starts, sizes, kept = [], [], []
        for scale in range(SMALLEST_BLOCK, 24):
            size = 1 << scale
            level_counts = finest.reshape(-1, size // base).sum(axis=1)
            starts.append(np.arange(level_counts.size) * size)
            sizes.append(np.full(level_counts.size, size))
            kept.append(level_counts)
        blocks = Blocks(np.concatenate(starts), np.concatenate(sizes), np.concatenate(kept))
        hits[index] = blocks_test(blocks, units, int(finest.sum()), q, alpha).rejected
    return hits


def windows(replicates: int, rng: np.random.Generator, p: float) -> np.ndarray:
    """A stretch of w + 8 x 256 units of one 2^16-unit mask reused at a random offset of another
    (a shifted partial reuse): found by the run's windows (``masks.MaskRegistry``)."""
    from dropout_verify.masks import ANCHOR_SPACING, MaskRegistry, Origin, window_for

    q = 1 - p
    window = window_for(q)
    assert window is not None
    length = window.units + 8 * ANCHOR_SPACING
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        first = rng.random(1 << 16) < q
        second = rng.random(1 << 16) < q
        source, target = rng.integers(0, (1 << 16) - length, 2)
        second[target : target + length] = first[source : source + length]
        registry = MaskRegistry()
        registry.add(q, Origin(1, "a", "a"), 0, first[None])
        registry.add(q, Origin(2, "b", "b"), 0, second[None])
        hits[index] = bool(registry.repeats)
    return hits


# ----------------------------------------------------------------------------- the run


def checks(level: str) -> list[tuple[str, object, bool]]:
    """(name, simulate(multiple, replicates, rng), cheap: 100,000 replicates at 1 x MDE)."""
    found: list[tuple[str, object, bool]] = [
        ("keep rate, p = 0.5 (sequential)", lambda m, r, g: keep_rate(level, m, r, g, 0.5), True),
        ("keep rate, p = 0.9 (sequential; 1% of q)", lambda m, r, g: keep_rate(level, m, r, g, 0.9), True),
        ("keep rate, p = 0.95 (sequential; 1% of q)", lambda m, r, g: keep_rate(level, m, r, g, 0.95), True),
        ("keep rate, p = 0.05 (sequential; 1% of 1-q)", lambda m, r, g: keep_rate(level, m, r, g, 0.05), True),
        ("keep rate by sign and size of x (8 groups)", lambda m, r, g: value_groups(level, m, r, g), True),
        ("homogeneity, one of 1000 positions", lambda m, r, g: homogeneity(level, m, r, g), False),
        ("pairs, 256 strata, p = 0.5", lambda m, r, g: pairs(level, m, r, g, 0.5, 256), False),
        ("pairs, 256 strata, p = 0.9", lambda m, r, g: pairs(level, m, r, g, 0.9, 256), False),
        ("pairs, consecutive calls of one unit, p = 0.1", lambda m, r, g: pairs(level, m, r, g, 0.1, 1), False),
        ("dispersion, variance x r (64 units, p = 0.5)", lambda m, r, g: dispersion(level, m, r, g, "over"), True),
        ("dispersion, variance / r (64 units, p = 0.5)", lambda m, r, g: dispersion(level, m, r, g, "under"), True),
        ("dispersion, variance x r, designed m = 31, p = 0.05",
         lambda m, r, g: dispersion(level, m, r, g, "over", 31, 0.95), True),
        ("dispersion, variance / r, designed m = 31, p = 0.05",
         lambda m, r, g: dispersion(level, m, r, g, "under", 31, 0.95), True),
        ("dispersion, variance x r, the worst designed (m, q) of every kind",
         lambda m, r, g: dispersion_designed(level, m, r, g, "over"), True),
        ("dispersion, variance / r, the worst designed (m, q) of every kind",
         lambda m, r, g: dispersion_designed(level, m, r, g, "under"), True),
        ("--time keep rate, p = 0.1, 1e9 decisions", lambda m, r, g: anytime(level, m, r, g, 0.1), True),
        ("--time keep rate, p = 0.5, 1e9 decisions", lambda m, r, g: anytime(level, m, r, g, 0.5), True),
        ("alpha moments, mean shifted", lambda m, r, g: moments(level, m, r, g, "mean"), False),
        ("alpha moments, variance x (1 + d)", lambda m, r, g: moments(level, m, r, g, "variance up"), False),
        ("alpha moments, variance x (1 - d)", lambda m, r, g: moments(level, m, r, g, "variance down"), False),
    ]
    found += [
        ("lag scan, every phase: rho at the largest lag, p = 0.5", lambda m, r, g: lag_scan(level, m, r, g, 0.5),
         False),
        ("lag scan, every phase: rho at the largest lag, p = 0.95", lambda m, r, g: lag_scan(level, m, r, g, 0.95),
         False),
        ("lag scan, every phase: rho at lag 3, p = 0.5", lambda m, r, g: lag_scan(level, m, r, g, 0.5, 3), False),
        ("dropout sites: rho at aligned units, p = 0.9 and 0.5", lambda m, r, g: sites(level, m, r, g, (0.1, 0.5)),
         True),
        ("dropout sites: rho at aligned units, p = 0.5 and 0.5", lambda m, r, g: sites(level, m, r, g, (0.5, 0.5)),
         True),
        ("scale blocks: a 2^20 block (a wave) off, p = 0.1", lambda m, r, g: scale_blocks(level, m, r, g, 1 << 20, 0.1),
         False),
        ("scale blocks: a 2^12 block off, p = 0.1", lambda m, r, g: scale_blocks(level, m, r, g, 1 << 12, 0.1), False),
        ("windows: a reused stretch of w + 8 x 256 units, p = 0.5", lambda m, r, g: windows(r, g, 0.5), False),
        ("windows: a reused stretch of w + 8 x 256 units, p = 0.05", lambda m, r, g: windows(r, g, 0.05), False),
    ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", default=["standard"])
    parser.add_argument("--replicates", type=int, default=100_000, help="at 1 x MDE, cheap checks")
    parser.add_argument("--costly-replicates", type=int, default=20_000, help="at 1 x MDE, costly checks")
    parser.add_argument("--curve-replicates", type=int, default=2_000)
    parser.add_argument("--png", default=None)
    parser.add_argument("--only", default=None, help="run the checks whose name contains this")
    parser.add_argument("--skip", default=None, help="skip the checks whose name contains this")
    args = parser.parse_args()
    rng = np.random.default_rng(20261127)
    curves: dict[str, list[tuple[float, float]]] = {}
    for level in args.levels:
        print(f"\n### {level}: alpha per decision {alpha_for(level):.3g}\n")
        print("| check | 0.5 x MDE | 0.75 x MDE | 1 x MDE (95% interval, replicates) | 1.25 x MDE |")
        print("|---|---|---|---|---|")
        rows = checks(level)
        if not (args.only and "quantisation" not in args.only) and not (args.skip and "quantisation" in args.skip):
            rows += quantisation_rows(level)
        for name, simulate, cheap in rows:
            if (args.only and args.only not in name) or (args.skip and args.skip in name):
                continue
            started = time.perf_counter()
            cells = []
            curve = []
            for multiple in MULTIPLES:
                if (name.startswith("quantisation") or name.startswith("windows")) and multiple != 1.0:
                    cells.append("")
                    continue
                count = args.curve_replicates
                if multiple == 1.0:
                    count = args.replicates if cheap else args.costly_replicates
                hits = simulate(multiple, count, rng)  # type: ignore[operator]
                if hits.size == 0:  # no such defect at this size (a count cannot be that under-dispersed)
                    cells.append("none")
                    continue
                count = hits.size
                rate = float(np.mean(hits))
                curve.append((multiple, rate))
                if multiple == 1.0:
                    low, high = interval(int(np.sum(hits)), count)
                    cells.append(f"**{rate:.4f}** [{low:.4f}, {high:.4f}], {count:,}")
                else:
                    cells.append(f"{rate:.3f}")
            curves[f"{level}: {name}"] = curve
            print(f"| {name} | " + " | ".join(cells) + f" |  <!-- {time.perf_counter() - started:.0f} s -->",
                  flush=True)
    if args.png:
        plot(curves, args.png)


def plot(curves: dict[str, list[tuple[float, float]]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 5.5))
    for name, curve in curves.items():
        if len(curve) > 1:
            axes.plot([m for m, _ in curve], [r for _, r in curve], "o-", label=name, markersize=3)
    axes.axhline(POWER, color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("defect size / the level's minimum detectable effect")
    axes.set_ylabel("detection rate")
    axes.legend(fontsize=6)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
