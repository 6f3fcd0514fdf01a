"""Power curves of every statistical check, and the keep-rate check's sample efficiency.

    python benchmarks/bench_power.py [--replicates 1000] [--levels quick standard thorough]
                                     [--png power.png]

For each check and level, data are simulated from a dropout whose defect has size
``multiple x`` the level's minimum detectable effect (MDE), the check's own test function
(``properties.stats``) is run with the sample size the suite plans (``properties.power``) at
the level's per-decision alpha, and the detection rate is reported next to the normal-
approximation power the planner assumed. At 1.0 x MDE both should be >= 0.999.

Simulated defects:
  keep rate     rate q - delta (p = 0.5 and p = 0.9), batches of 16,384 decisions (2**20 at
                thorough), through the sequential test exactly as the suite runs it
  mean          kept values scaled by 1 + b (float32 values: S = K (1 + b))
  homogeneity   one of 1000 positions kept at q + delta (p = 0.5)
  pairs         pairs kept together with probability q^2 + rho q (1-q) (p = 0.5)
  dispersion    per-call counts Beta-Binomial with variance ratio r, m = 64 (p = 0.5)

Sample efficiency of the keep-rate check: samples the sequential test used, divided by the
samples that the fixed-size exact binomial test needs for the same alpha, effect and power
(found by search over n with exact binomial tails). Truncation caps it at the fixed-size
n at alpha / 2, about 1.05.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from properties.levels import LEVELS, POWER, decision_count
from scipy import stats as scipy_stats

from properties import power as planner
from properties import stats

# Decisions per call in the simulated keep-rate runs: the smallest input the suite's
# keep-rate property draws (16,384 elements); 2**20 at thorough, where n is ~5e8, to keep
# the simulation fast (coarser looks can only use more samples, never fewer).
BATCH = {"quick": 1 << 14, "standard": 1 << 14, "thorough": 1 << 20}
MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
ALPHA_BUDGET = 1e-6


def alpha_for(level: str) -> float:
    return ALPHA_BUDGET / decision_count(level)


def normal_power(n: float, rate: float, shifted: float, alpha: float) -> float:
    """Power of the two-sided rate test at n samples (the planner's approximation)."""
    z = planner.z_upper(alpha / 2)
    spread0, spread1 = math.sqrt(rate * (1 - rate)), math.sqrt(shifted * (1 - shifted))
    return float(scipy_stats.norm.cdf((abs(shifted - rate) * math.sqrt(n) - z * spread0) / spread1))


def run_sequential(rng: np.random.Generator, rate: float, true_rate: float, delta: float, alpha: float,
                   batch: int, max_samples: int) -> tuple[bool, int]:
    test = stats.SequentialBinomialTest(rate, delta, alpha, POWER, max_samples)
    while True:
        size = min(batch, max_samples - test.samples)  # as the suite: a partial last batch
        if test.update(int(rng.binomial(size, true_rate)), size):
            break
    return test.result().rejected, test.samples


def keep_rate_curve(level: str, p: float, replicates: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    alpha, delta = alpha_for(level), LEVELS[level].keep_rate_bias
    q = 1 - p
    n_max = planner.exact_rate_samples(q, delta, alpha / 2, POWER)  # as test_keep_rate plans it
    batch = BATCH[level]
    rows = []
    for multiple in MULTIPLES:
        shifted = q - multiple * delta  # the harder direction for q >= 0.5
        hits = sum(run_sequential(rng, q, shifted, delta, alpha, batch, n_max)[0] for _ in range(replicates))
        rows.append((multiple, hits / replicates, normal_power(n_max, q, shifted, alpha)))
    return rows


def mean_curve(level: str, replicates: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    alpha, bias, q = alpha_for(level), LEVELS[level].mean_bias, 0.7
    n = planner.rate_samples(q, bias * q, alpha, POWER)
    rows = []
    for multiple in MULTIPLES:
        factor = 1 - multiple * bias
        kept = rng.binomial(n, q, replicates)
        hits = sum(stats.mean_ratio_test(float(k * factor), n, q, alpha).rejected for k in kept)
        rows.append((multiple, hits / replicates, normal_power(n, q, q * factor, alpha)))
    return rows


def homogeneity_curve(level: str, replicates: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    alpha, delta, q, positions = alpha_for(level), LEVELS[level].position_bias, 0.5, 1000
    trials = planner.homogeneity_calls(q, delta, positions, alpha, POWER)
    rows = []
    for multiple in MULTIPLES:
        shifted = q + multiple * delta
        hits = 0
        for _ in range(replicates):
            counts = rng.binomial(trials, q, positions)
            counts[positions // 2] = rng.binomial(trials, min(shifted, 1.0))
            hits += stats.homogeneity_test(counts, trials, q, alpha).rejected
        rows.append((multiple, hits / replicates, normal_power(trials, q, min(shifted, 1 - 1e-9), alpha / (2 * positions))))
    return rows


def pairs_curve(level: str, replicates: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    alpha, rho, q = alpha_for(level), LEVELS[level].correlation, 0.5
    pairs = planner.pair_samples(q, rho, alpha, POWER)
    rows = []
    for multiple in MULTIPLES:
        joint = q * q + multiple * rho * q * (1 - q)
        together = rng.binomial(pairs, joint, replicates)
        hits = sum(stats.pair_test(int(k), pairs, q, alpha, "pairs").rejected for k in together)
        rows.append((multiple, hits / replicates, normal_power(pairs, q * q, joint, alpha)))
    return rows


def dispersion_curve(level: str, replicates: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    alpha, ratio, q, size = alpha_for(level), LEVELS[level].variance_ratio, 0.5, 64
    calls = planner.dispersion_calls(ratio, alpha, POWER)
    rows = []
    z_a = planner.z_upper(alpha / 2)
    for multiple in MULTIPLES:
        r = 1 + multiple * (ratio - 1)
        icc = (r - 1) / (size - 1)  # Beta-Binomial variance m q (1-q) (1 + (m-1) icc)
        hits = 0
        for _ in range(replicates):
            if icc > 0:
                total = (1 - icc) / icc
                rates = rng.beta(q * total, (1 - q) * total, calls)
                counts = rng.binomial(size, rates)
            else:
                counts = rng.binomial(size, q, calls)
            hits += stats.dispersion_test(counts, size, q, alpha).rejected
        theory = float(scipy_stats.norm.sf((calls + z_a * math.sqrt(2 * calls) - r * calls) / (r * math.sqrt(2 * calls))))
        rows.append((multiple, hits / replicates, theory))
    return rows


def efficiency(level: str, rng: np.random.Generator, replicates: int) -> list[tuple[float, int, float, float, float]]:
    """(p, exact fixed n, mean used under H0 / n, mean used at 1 x MDE / n, max used / n)."""
    alpha, delta = alpha_for(level), LEVELS[level].keep_rate_bias
    batch = BATCH[level]
    rows = []
    for p in (0.05, 0.5, 0.9):
        q = 1 - p
        exact = planner.exact_rate_samples(q, delta, alpha, POWER)
        n_max = planner.exact_rate_samples(q, delta, alpha / 2, POWER)
        null = [run_sequential(rng, q, q, delta, alpha, batch, n_max)[1] for _ in range(replicates)]
        alt = [run_sequential(rng, q, q - delta, delta, alpha, batch, n_max)[1] for _ in range(replicates)]
        rows.append((p, exact, np.mean(null) / exact, np.mean(alt) / exact, max(null + alt) / exact))
    return rows


CURVES = {
    "keep rate, p = 0.5 (sequential)": lambda level, reps, rng: keep_rate_curve(level, 0.5, reps, rng),
    "keep rate, p = 0.9 (sequential)": lambda level, reps, rng: keep_rate_curve(level, 0.9, reps, rng),
    "mean E[y]/x, p = 0.3": mean_curve,
    "homogeneity, one of 1000 positions": homogeneity_curve,
    "pairs (neighbours, rows, calls)": pairs_curve,
    "dispersion, variance ratio": dispersion_curve,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--levels", nargs="+", default=list(LEVELS))
    parser.add_argument("--png", default=None, help="write a plot here when matplotlib is installed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    results: dict[str, dict[str, list]] = {}
    print(f"Detection rate (simulated, {args.replicates} replicates) and planned power (normal approximation) "
          f"against the effect in multiples of each level's MDE; alpha per decision = 1e-6 / K.\n")
    for name, curve in CURVES.items():
        results[name] = {level: curve(level, args.replicates, rng) for level in args.levels}
        print(f"**{name}**\n")
        print("| effect / MDE | " + " | ".join(f"{level}: simulated (planned)" for level in args.levels) + " |")
        print("|---|" + "---|" * len(args.levels))
        for index, multiple in enumerate(MULTIPLES):
            cells = [f"{rows[index][1]:.3f} ({rows[index][2]:.3f})" for rows in results[name].values()]
            print(f"| {multiple:g} | " + " | ".join(cells) + " |")
        print()
    print("**Sample efficiency of the keep-rate check** (samples used / samples of the fixed-size exact "
          "binomial test with the same alpha, effect and power 0.999)\n")
    print("| level | p | fixed-size exact n | correct implementation (mean) | biased by 1 x MDE (mean) | worst case |")
    print("|---|---|---|---|---|---|")
    for level in args.levels:
        for p, exact, null, alt, worst in efficiency(level, rng, max(100, args.replicates // 5)):
            print(f"| {level} | {p:g} | {exact:,} | {null:.2f} | {alt:.2f} | {worst:.2f} |")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    if args.png:
        plot(results, args.levels, args.png)


def plot(results: dict[str, dict[str, list]], levels: list[str], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no plot written to {path}")
        return
    figure, axes = plt.subplots(2, 3, figsize=(13, 7), sharey=True)
    for axis, (name, per_level) in zip(axes.flat, results.items()):
        for level, rows in per_level.items():
            xs = [r[0] for r in rows]
            line = axis.plot(xs, [r[1] for r in rows], "o-", label=f"{level} simulated")[0]
            axis.plot(xs, [r[2] for r in rows], "--", color=line.get_color(), label=f"{level} planned")
        axis.axvline(1.0, color="grey", lw=0.5)
        axis.axhline(POWER, color="grey", lw=0.5)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("effect / MDE")
    axes.flat[0].set_ylabel("detection probability")
    axes.flat[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"plot written to {path}")


if __name__ == "__main__":
    main()
