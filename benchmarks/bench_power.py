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
  keep rate       rate q - delta at p = 0.5 and p = 0.9, batches of 32,768 decisions, through the
                  sequential test exactly as the suite runs it (the SPRT's rule, vectorised over replicates)
  homogeneity     one of 1000 positions kept at q + delta (p = 0.5)
  pairs           pairs correlated by rho: 256 strata (p = 0.5, 0.9), and one stratum of consecutive
                  calls (a whole-call drop-path, p = 0.1)
  dispersion      per-call counts Beta-Binomial with variance ratio r and 1/r (64 units, p = 0.5)
  quantisation    keep rate on the level's grid (1/256 at standard) and on 1/255, each rounding mode
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
from dropout_verify.levels import LEVELS, POWER, decision_count  # noqa: E402
from dropout_verify.stats.dispersion import dispersion_law  # noqa: E402
from dropout_verify.stats.moments import AlphaLaw, _rate  # noqa: E402
from dropout_verify.stats.quantisation import Hypothesis  # noqa: E402

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
    alpha, delta, q = alpha_for(level), LEVELS[level].keep_rate_bias, 1 - p
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


def dispersion(level: str, multiple: float, replicates: int, rng: np.random.Generator, side: int) -> np.ndarray:
    alpha, q, size = alpha_for(level), 0.5, 64
    ratio = LEVELS[level].variance_ratio
    calls = planner.dispersion_calls(ratio, alpha, POWER, size, q)
    r = 1 + multiple * (ratio - 1)
    r = r if side > 0 else 1 / r
    law = dispersion_law(calls, size, q)
    upper, lower = law.threshold(math.log(alpha / 2), upper=True), law.threshold(math.log(alpha / 2), upper=False)
    hits = np.zeros(replicates, dtype=bool)
    spread = size * q * (1 - q)
    for index in range(replicates):
        if r > 1:  # Beta-Binomial: variance m q (1-q) (1 + (m-1) icc)
            icc = (r - 1) / (size - 1)
            total = (1 - icc) / icc
            counts = rng.binomial(size, rng.beta(q * total, (1 - q) * total, calls))
        else:  # under-dispersed: a mixture of the binomial and its mean, variance scaled by r
            exact = rng.random(calls) < 1 - r
            counts = np.where(exact, round(size * q), rng.binomial(size, q, calls))
        d = float(np.sum((counts - size * q) ** 2) / spread)
        hits[index] = d > upper or d < lower
    return hits


def quantisation(level: str, replicates: int, rng: np.random.Generator, hypothesis: Hypothesis) -> np.ndarray:
    alpha, step = alpha_for(level), LEVELS[level].quantisation_step
    probes = stats.probe_points(step)
    trials = planner.quantisation_trials(probes, step, alpha, POWER)
    rates = probes + hypothesis.deviations(probes)
    hits = np.zeros(replicates, dtype=bool)
    for index in range(replicates):
        kept = rng.binomial(trials, rates)
        hits[index] = stats.quantisation_test(probes, kept, np.full(probes.size, trials), alpha).rejected
    return hits


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
    step = round(1 / LEVELS[level].quantisation_step)
    found: list[tuple[str, object, bool]] = [
        ("keep rate, p = 0.5 (sequential)", lambda m, r, g: keep_rate(level, m, r, g, 0.5), True),
        ("keep rate, p = 0.9 (sequential)", lambda m, r, g: keep_rate(level, m, r, g, 0.9), True),
        ("keep rate by sign and size of x (8 groups)", lambda m, r, g: value_groups(level, m, r, g), True),
        ("homogeneity, one of 1000 positions", lambda m, r, g: homogeneity(level, m, r, g), False),
        ("pairs, 256 strata, p = 0.5", lambda m, r, g: pairs(level, m, r, g, 0.5, 256), False),
        ("pairs, 256 strata, p = 0.9", lambda m, r, g: pairs(level, m, r, g, 0.9, 256), False),
        ("pairs, consecutive calls of one unit, p = 0.1", lambda m, r, g: pairs(level, m, r, g, 0.1, 1), False),
        ("dispersion, variance x r", lambda m, r, g: dispersion(level, m, r, g, +1), False),
        ("dispersion, variance / r", lambda m, r, g: dispersion(level, m, r, g, -1), False),
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
    for grid, hstep in ((f"1/{step}", 1 / step), ("1/255", 1 / 255)):
        for mode in ("nearest", "down", "up"):
            hypothesis = Hypothesis(grid, hstep, mode)
            found.append((f"quantised keep rate: {hypothesis.describe()}",
                          lambda m, r, g, h=hypothesis: quantisation(level, r, g, h), False))
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
        for name, simulate, cheap in checks(level):
            if (args.only and args.only not in name) or (args.skip and args.skip in name):
                continue
            started = time.perf_counter()
            cells = []
            curve = []
            for multiple in MULTIPLES:
                if (name.startswith("quantised") or name.startswith("windows")) and multiple != 1.0:
                    cells.append("")
                    continue
                count = args.curve_replicates
                if multiple == 1.0:
                    count = args.replicates if cheap else args.costly_replicates
                hits = simulate(multiple, count, rng)  # type: ignore[operator]
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
