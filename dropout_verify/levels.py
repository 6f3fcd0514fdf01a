"""Levels (quick, standard, thorough), the statistical checks and the false-alarm budget.

A run gets one family-wise false-alarm budget per implementation (``--dropout-alpha``,
default 1e-6). It is split by Bonferroni over every statistical decision the run can make
at its level, counted here from one static table, so that running one test alone (the
reproduce command) uses the very thresholds of the whole run:

    alpha_decision = alpha_budget / K,   K = sum over checks of decisions x examples.

With that split, a correct implementation fails any statistical check of the run with
probability at most alpha_budget. Each check then plans its sample size (``power``) to
detect the level's minimum effect with probability ``POWER`` at alpha_decision.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CHECKS", "LEVELS", "POWER", "QUANTISED_DTYPES", "Check", "Effects", "decision_count", "on_gpu"]

POWER = 0.999
QUANTISED_DTYPES = ("float32", "float16", "bfloat16")  # the quantisation probes decide once for each


@dataclass(frozen=True)
class Effects:
    """The smallest effects a level detects with probability ``POWER``."""

    keep_rate_bias: float  # absolute |keep rate - (1-p)|, at any p in [0.05, 0.95]
    keep_rate_relative: float  # ... or this fraction of q = 1-p, and of p, where that is smaller
    position_bias: float  # one position (of up to 8192: the plan counts the positions) off by this much
    correlation: float  # between neighbours, rows or consecutive calls
    variance_ratio: float  # per-call kept-count variance off from binomial by this factor
    moment_bias: float  # alpha kinds: |mean| of y for x ~ N(0, 1), and |Var[y] - 1|
    quantisation_step: float  # a keep probability rounded to this grid (or to 1/255), any rounding mode
    value_bias: float  # a keep rate that differs by this much between signs or sizes of x
    contract_examples: int  # Hypothesis examples for each exact (non-statistical) property
    edge_samples: int  # decisions for each near-edge keep rate (p = 1e-6, 1e-3 and mirrors)

    def keep_rate_delta(self, keep: float) -> float:
        """The keep-rate bias planned at keep probability q: min(b, r q, r (1-q)) for the absolute
        bias b and the relative r. A bias of r q is what moves E[y] by r x (C4 follows from C2 and C3
        to that precision); r (1-q) is the same for the drop rate."""
        return min(self.keep_rate_bias, self.keep_rate_relative * min(keep, 1.0 - keep))

    def quantisation_grids(self, dtype: str, fine: bool) -> tuple[str, ...]:
        """The grids the quantisation probes of ``dtype`` inputs are planned for: the level's grid,
        the 8-bit 1/255 grid, a half dtype's own float format, and 1/65536 for float32 when
        ``fine`` (thorough, --time: about 7 x 10^7 more keep decisions)."""
        grids = [f"1/{round(1 / self.quantisation_step)}", "1/255"]
        if dtype != "float32":
            grids.append(dtype)
        elif fine:
            grids.append("1/65536")
        return tuple(grids)


LEVELS: dict[str, Effects] = {
    "quick": Effects(keep_rate_bias=0.01, keep_rate_relative=0.05, position_bias=0.3, correlation=0.1,
                     variance_ratio=1.5, moment_bias=0.03, quantisation_step=1 / 64, value_bias=0.03,
                     contract_examples=20, edge_samples=1 << 22),
    "standard": Effects(keep_rate_bias=0.002, keep_rate_relative=0.01, position_bias=0.1, correlation=0.03,
                        variance_ratio=1.15, moment_bias=0.01, quantisation_step=1 / 256, value_bias=0.01,
                        contract_examples=60, edge_samples=1 << 25),
    "thorough": Effects(keep_rate_bias=0.0002, keep_rate_relative=0.004, position_bias=0.03, correlation=0.01,
                        variance_ratio=1.05, moment_bias=0.002, quantisation_step=1 / 1024, value_bias=0.003,
                        contract_examples=200, edge_samples=1 << 26),
}


@dataclass(frozen=True)
class Check:
    """A statistical property: how many decisions each example makes, how many examples.

    ``designed`` examples (explicit ones) are taken in order from the property's list:
    their first five cover every layout and every dtype, all twenty every (dtype, layout) cell.
    """

    decisions_per_example: int
    generated: dict[str, int]  # Hypothesis examples generated, per level
    designed: dict[str, int]  # designed (explicit) examples run, per level
    # Designed examples on a GPU, per level, where they differ: a GPU has the memory and the speed
    # for the scale tier's call above 2^31 elements at standard, a CPU only at thorough.
    designed_on_gpu: dict[str, int] | None = None

    def designed_count(self, level: str, device: str = "cpu") -> int:
        """Designed examples run at ``level`` on ``device`` ("cpu", "cuda", "cuda:1", ...)."""
        if self.designed_on_gpu is not None and on_gpu(device):
            return self.designed_on_gpu.get(level, self.designed[level])
        return self.designed[level]

    def decisions(self, level: str, device: str = "cpu") -> int:
        return self.decisions_per_example * (self.generated[level] + self.designed_count(level, device))


def on_gpu(device: str) -> bool:
    """Whether a ``--device`` string names a GPU (CUDA or ROCm, which torch also calls "cuda")."""
    return device.split(":")[0] == "cuda"


def _per_level(quick: int, standard: int, thorough: int) -> dict[str, int]:
    return {"quick": quick, "standard": standard, "thorough": thorough}


def _every_level(count: int) -> dict[str, int]:
    return _per_level(count, count, count)


CHECKS: dict[str, Check] = {
    # Designed examples cover every dtype x layout cell with every statistical check at thorough,
    # and with every check but dispersion at standard (strategies.cells_from): each dispersion
    # example costs ~10,000 calls whatever its size, so standard runs five (every layout and dtype
    # once). The quick level runs the first of each list (every layout and dtype at least once).
    "keep_rate": Check(1, _per_level(3, 8, 8), _per_level(5, 20, 20)),
    "edge_keep_rate": Check(1, _every_level(0), _every_level(4)),
    # One decision per probed dtype: float32, float16, bfloat16 (properties/test_keep_rate.py).
    "quantisation": Check(1, _every_level(0), _every_level(3)),
    "value_dependence": Check(1, _per_level(1, 2, 3), _per_level(1, 2, 2)),
    "alpha_moments": Check(1, _per_level(2, 3, 4), _every_level(1)),
    "homogeneity": Check(1, _per_level(2, 4, 6), _per_level(2, 20, 20)),
    "dispersion": Check(1, _per_level(2, 3, 4), _per_level(2, 5, 20)),
    "independence": Check(1, _per_level(2, 4, 5), _per_level(2, 20, 20)),
    "periodicity": Check(1, _per_level(1, 3, 4), _per_level(2, 20, 20)),
    "repeated_masks": Check(1, _every_level(0), _every_level(1)),
    # Every phase and lag (properties/test_lags.py): five designed cells at standard and thorough.
    "lags": Check(1, _per_level(1, 2, 3), _per_level(2, 5, 5)),
    # The scale tier (properties/test_scale.py): a call of 2^24 units at every level, and one above
    # 2^31 elements at thorough, and at standard on a GPU; no generated examples.
    "scale_blocks": Check(1, _every_level(0), _per_level(1, 1, 2), designed_on_gpu={"standard": 2}),
    "scale_lags": Check(1, _every_level(0), _per_level(1, 1, 2), designed_on_gpu={"standard": 2}),
    # Dropout sites of other shapes called in turn (properties/test_sites.py).
    "sites": Check(1, _per_level(0, 1, 2), _per_level(1, 2, 2)),
    "distinct_seeds": Check(1, _every_level(0), _every_level(1)),
    "timed_keep_rate": Check(1, _every_level(0), _every_level(3)),
}


def decision_count(level: str, device: str = "cpu") -> int:
    """K: the number of statistical decisions a run at ``level`` on ``device`` can make per
    implementation (a GPU's standard run adds the scale tier's call above 2^31 elements)."""
    return sum(check.decisions(level, device) for check in CHECKS.values())
