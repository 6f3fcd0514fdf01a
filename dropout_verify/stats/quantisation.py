"""Quantised keep probabilities: does the keep rate follow a grid, in any precision?

Kernels rarely compare a 24-bit uniform with p. They store the keep probability in few bits
(FlashAttention's 8-bit threshold floor(q * 255), 1/16-step tables), draw a uniform in the
input's dtype (``torch.rand_like(x) > p`` rounds the uniform to float16 or bfloat16 for such x,
and p too), or hold p itself in half precision. Each makes the keep rate a function of p that
steps on some grid G: a fixed grid k h (h = 1/256, 1/255, ...) or the numbers of a float format
(float16, bfloat16), whose cells near 1 are 2^-11 and 2^-8 wide.

**Hypotheses.** A hypothesis is a grid, a mechanism and a side. The side is the number the
kernel thresholds: p (drop when u < p) or q = 1 - p (keep when u < q); v below. Mechanisms,
with down, up and nearest the roundings of v onto G and next / previous its neighbours on G:

* the threshold rounded: nearest(v), down(v), up(v);
* the uniform rounded down (truncated) and compared with <: up(v) (the same as above); with <=:
  next(down(v));
* the uniform rounded to nearest (the rate sits on G's mid-cells): < gives the centre of the
  cell below up(v), <= the centre of the cell above down(v);
* both rounded (``rand_like(x) > p``): the uniform truncated, <=: next(nearest(v)); the uniform
  to nearest, <: the centre below nearest(v), <=: the centre above it;
* and each uniform-to-nearest mechanism with the wrap of ``torch.rand`` in a half dtype: a
  uniform that rounds to 1 is returned as 0, which adds half the top cell to the rate of the
  side compared.

Each predicts a deviation d_i = Q_H(q_i) - q_i at every probe, sign included. Its matched
statistic is W_H = sum_i w_i k_i with w_i = d_i / (q_i (1-q_i)) (the most powerful linear
statistic against H), k_i kept of n_i at probe i. Hypotheses that predict the same deviations
at the probes are one; those that predict nothing beyond the null's width are not tested.

**Probes.** A cell of width h sees a rounding as a deviation of h/4 or more at its quarter
points (j + 1/4) h and (j + 3/4) h, whichever mechanism. The information a probe gives is
d^2 / (q (1-q)): next to p = 0 or p = 1, where q (1-q) is small, the same deviation costs far
fewer decisions than at p = 0.5 (at q = h/4 it is a relative deviation of 100%; the first cell
gives two thirds of what the first four give). So the probes are the quarter points of the
first ``CELLS_PER_EDGE`` cell(s) next to q = 0 and next to q = 1, for every grid the level
plans (``probe_groups``); a float format's cells there are its widest (2^-11 for float16), for
the number compared near 1 (p near 1 for a drop threshold, q near 1 for a keep threshold).
Probes are multiples of 2^-20, exact in float32, so a correct kernel that compares a float32
uniform with a float32 p has exactly the rate q there.

**Null.** C2 accepts p held as a float32, and a correct kernel may compare with <= instead of
<: its rate is within ``EPSILON`` = 2^-24 of q. The null is that composite one, |q'_i - q_i| <=
EPSILON at every probe, and every tail is taken at its least favourable point: the matched
statistic's under rates q_i + EPSILON sign(w_i) (W_H rises with each k_i of positive weight),
the per-probe tests' at q_i -+ EPSILON.

**Decision.** Two parts at alpha / 2 each (Bonferroni): the matched statistics, whose upper
tails come from Chernoff's bound on the exact law (``chernoff.WeightedBinomialSums``), times
the number of hypotheses; and the two-sided omnibus, the worst probe's exact two-sided binomial
p-value times the number of probes, which finds a deviation of either sign that no hypothesis
predicts. The closest hypothesis (the likeliest at its predicted rates) is named with its scale
and its own p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

from ..decision import LOG2, Decision, format_p
from .chernoff import WeightedBinomialSums

__all__ = [
    "CELLS_PER_EDGE",
    "EPSILON",
    "FIXED_STEPS",
    "MECHANISMS",
    "Grid",
    "Hypothesis",
    "Mechanism",
    "ProbeGroup",
    "float_grid",
    "grids",
    "hypotheses",
    "matched",
    "null_rates",
    "probe_groups",
    "probe_log_pvalues",
    "probe_points",
    "quantisation_test",
]

EPSILON = 2.0**-24  # the null's half-width (6e-8): a float32 p, or <= for <, moves a correct rate by this much
CELLS_PER_EDGE = 1  # cells probed next to each edge, per grid (the first gives most of the information)
PROBE_RESOLUTION = 2.0**-20  # probes are multiples of this: exact in float32 and on a 24-bit uniform's grid
FIXED_STEPS = tuple(2.0**-k for k in range(3, 13))  # 1/8 ... 1/4096, tested at every level
FINE_STEP = 2.0**-16  # 1/65536, tested (and planned, for float32) at thorough and with --time


@dataclass(frozen=True)
class Grid:
    """The values a quantised rate can take: k * step (a fixed grid), or the numbers of a
    float format with ``mantissa`` explicit bits whose smallest normal exponent is
    ``min_exponent`` (float16: 10 and -14; bfloat16: 7 and -126)."""

    name: str
    step: float = 0.0
    mantissa: int = 0
    min_exponent: int = 0

    @property
    def floating(self) -> bool:
        return self.step == 0.0

    def label(self) -> str:
        return self.name if self.floating else f"the {self.name} grid"

    def spacing(self, t: np.ndarray) -> np.ndarray:
        """The cell width at t: a float's unit in the last place, for t in [2^e, 2^(e+1))."""
        t = np.asarray(t, dtype=np.float64)
        if not self.floating:
            return np.full(t.shape, self.step)
        _, exponent = np.frexp(t)  # t = m 2^exponent with m in [0.5, 1)
        exponent = np.where(t > 0, np.maximum(exponent - 1, self.min_exponent), self.min_exponent)
        return np.asarray(np.ldexp(1.0, exponent - self.mantissa))

    def _cells(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """t in cells of the local width; a value within 1e-9 cell of a grid point is on it
        (k / 255 computed in floating point is k cells give or take 1e-11 or so, for k up to 65536)."""
        t = np.asarray(t, dtype=np.float64)
        width = self.spacing(t)
        cells = t / width
        whole = np.rint(cells)
        return np.where(np.abs(cells - whole) <= 1e-9, whole, cells), width

    def down(self, t: np.ndarray) -> np.ndarray:
        cells, width = self._cells(t)
        return np.asarray(np.floor(cells) * width)

    def up(self, t: np.ndarray) -> np.ndarray:
        cells, width = self._cells(t)
        return np.asarray(np.ceil(cells) * width)

    def nearest(self, t: np.ndarray) -> np.ndarray:
        cells, width = self._cells(t)
        return np.asarray(np.rint(cells) * width)  # ties to even, as float conversions round

    def next(self, g: np.ndarray) -> np.ndarray:
        """The grid point after grid point g."""
        return np.asarray(g + self.spacing(g))

    def previous(self, g: np.ndarray) -> np.ndarray:
        """The grid point before grid point g (0 stays 0)."""
        g = np.asarray(g, dtype=np.float64)
        return np.where(g > 0, g - self.spacing(np.nextafter(g, 0.0)), 0.0)

    @property
    def top(self) -> float:
        """The width of the cell just below 1."""
        return float(1.0 - self.previous(np.array(1.0)))


def float_grid(dtype: str) -> Grid:
    """The numbers of a half-precision float format as a grid."""
    formats = {"float16": (10, -14), "bfloat16": (7, -126)}
    mantissa, min_exponent = formats[dtype]
    return Grid(dtype, mantissa=mantissa, min_exponent=min_exponent)


def _centre(grid: Grid, low: np.ndarray) -> np.ndarray:
    """The centre of the cell that starts at grid point ``low``."""
    return np.asarray((low + grid.next(low)) / 2)


@dataclass(frozen=True)
class Mechanism:
    """How a kernel's rate comes off a grid: ``rate(grid, v)`` is the rate of the number compared
    (the drop rate for p, the keep rate for q) when the kernel compares with v."""

    key: str
    text: str  # "{v}" and "{g}" are filled in: "1-p rounded to nearest float16"
    rate: Callable[[Grid, np.ndarray], np.ndarray]
    wraps: bool = False  # a uniform that rounds to 1 comes back as 0: + top / 2


def _wrapped(mechanism: Mechanism) -> Mechanism:
    return Mechanism(mechanism.key + "+wrap", mechanism.text + ", a uniform rounding to 1 read as 0 (torch.rand)",
                     mechanism.rate, wraps=True)


_NEAREST_UNIFORM = (
    Mechanism("u-nearest<", "a uniform rounded to nearest {g} (mid-cells), < {v}",
              lambda g, v: _centre(g, g.previous(g.up(v)))),
    Mechanism("u-nearest<=", "a uniform rounded to nearest {g} (mid-cells), <= {v}",
              lambda g, v: _centre(g, g.down(v))),
    Mechanism("both-nearest<", "a uniform and {v} rounded to nearest {g}, <",
              lambda g, v: _centre(g, g.previous(g.nearest(v)))),
    Mechanism("both-nearest<=", "a uniform and {v} rounded to nearest {g}, <=",
              lambda g, v: _centre(g, g.nearest(v))),
)
MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("t-nearest", "{v} rounded to nearest {g}", lambda g, v: g.nearest(v)),
    Mechanism("t-down", "{v} rounded down to {g}", lambda g, v: g.down(v)),
    Mechanism("t-up", "{v} rounded up to {g} (or a uniform rounded down to it, < {v})", lambda g, v: g.up(v)),
    Mechanism("u-down<=", "a uniform rounded down to {g}, <= {v}", lambda g, v: g.next(g.down(v))),
    Mechanism("both-down<=", "a uniform rounded down and {v} rounded to nearest {g}, <=",
              lambda g, v: g.next(g.nearest(v))),
    *_NEAREST_UNIFORM,
    *(_wrapped(m) for m in _NEAREST_UNIFORM),
)
SIDES = ("p", "1-p")  # the number the kernel compares: the drop probability, or the keep probability


@dataclass(frozen=True)
class Hypothesis:
    grid: Grid
    mechanism: Mechanism
    side: str  # "p" or "1-p"

    def keep_rates(self, keep: np.ndarray) -> np.ndarray:
        """The keep rate this kernel has where a correct one keeps at ``keep``."""
        keep = np.asarray(keep, dtype=np.float64)
        compared = 1.0 - keep if self.side == "p" else keep
        rate = self.mechanism.rate(self.grid, compared) + (self.grid.top / 2 if self.mechanism.wraps else 0.0)
        rate = np.clip(rate, 0.0, 1.0)
        return np.asarray(1.0 - rate if self.side == "p" else rate)

    def deviations(self, keep: np.ndarray) -> np.ndarray:
        return np.asarray(self.keep_rates(keep) - np.asarray(keep, dtype=np.float64))

    def describe(self) -> str:
        return self.mechanism.text.format(v=self.side, g=self.grid.label())


def grids(fine: bool = False) -> list[Grid]:
    """Every grid tested: 1/8 ... 1/4096, 1/255, float16, bfloat16 (and 1/65536 when ``fine``)."""
    fixed = [Grid(f"1/{round(1 / step)}", step) for step in (*FIXED_STEPS, *((FINE_STEP,) if fine else ()))]
    return [*fixed, Grid("1/255", 1 / 255), float_grid("float16"), float_grid("bfloat16")]


def hypotheses(fine: bool = False, only: Sequence[str] | None = None) -> list[Hypothesis]:
    """Every (grid, mechanism, side); ``only``: the grids named."""
    return [Hypothesis(grid, mechanism, side) for grid in grids(fine) if only is None or grid.name in only
            for mechanism in MECHANISMS for side in SIDES]


def matched(keep: np.ndarray, candidates: Sequence[Hypothesis]) -> tuple[list[Hypothesis], np.ndarray]:
    """The hypotheses tested at these probes and their deviations (rows): one per distinct
    prediction (the first named), none whose every deviation is within the null's width."""
    keep = np.asarray(keep, dtype=np.float64)
    kept: list[Hypothesis] = []
    rows: list[np.ndarray] = []
    seen: set[bytes] = set()
    for hypothesis in candidates:
        d = hypothesis.deviations(keep)
        if np.max(np.abs(d)) <= 2 * EPSILON:
            continue
        key = np.round(d / EPSILON).astype(np.int64).tobytes()
        if key not in seen:
            seen.add(key)
            kept.append(hypothesis)
            rows.append(d)
    return kept, np.array(rows).reshape(len(rows), keep.size)


# ----------------------------------------------------------------------------- the probes


@dataclass(frozen=True)
class ProbeGroup:
    """Probes planned for some grids: the quarter points of the first cells of width ``cell``
    next to p = 1 (q near 0) and next to p = 0 (q near 1). ``grids`` are the grids whose
    hypotheses the group's trials are planned for (their cells there are ``cell`` wide).
    ``one_edge``: next to p = 0 only, for a fixed grid whose probes are costly: a fixed grid is
    the same near 0 and near 1 (1 - k h = (N - k) h), so a threshold on p near p = 1 rounds as
    one on 1-p does near p = 0, and one edge sees every mechanism on either side."""

    grids: tuple[str, ...]
    cell: float
    one_edge: bool = False

    def keep_probabilities(self) -> np.ndarray:
        quarters = np.array([(j + f) * self.cell for j in range(CELLS_PER_EDGE) for f in (0.25, 0.75)])
        near_zero = np.round(quarters / PROBE_RESOLUTION) * PROBE_RESOLUTION
        edges = [1.0 - near_zero] if self.one_edge else [near_zero, 1.0 - near_zero]
        return np.sort(np.concatenate(edges))

    def edge_probes(self) -> np.ndarray:
        """The probes a quarter cell from an edge (min(q, 1-q) = h/4)."""
        keep = self.keep_probabilities()
        distance = np.minimum(keep, 1 - keep)
        return np.asarray(keep[distance == distance.min()])

    def describe(self) -> str:
        return " and ".join(self.grids)


def probe_groups(planned: Sequence[str]) -> list[ProbeGroup]:
    """Probe groups for the grids named (``levels.Effects.quantisation_grids``: "1/256", "1/255",
    "float16", ...). Grids whose cells next to the edges are equally wide share probes; the
    costly 1/65536 grid (2^-18 from an edge: about 3 x 10^7 decisions a probe) is probed next to
    p = 0 only (``ProbeGroup.one_edge``)."""
    groups: dict[float, list[str]] = {}
    for name in planned:
        cell = float_grid(name).top if name in ("float16", "bfloat16") else 1 / int(name.removeprefix("1/"))
        groups.setdefault(cell, []).append(name)
    return [ProbeGroup(tuple(names), cell, one_edge=cell <= FINE_STEP) for cell, names in groups.items()]


def probe_points(groups: Sequence[ProbeGroup]) -> np.ndarray:
    """Every group's probes (keep probabilities), sorted, each once."""
    return np.unique(np.concatenate([group.keep_probabilities() for group in groups]))


# ----------------------------------------------------------------------------- the decision


def null_rates(keep: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The least favourable null for a matched statistic: each rate EPSILON towards its weight."""
    return np.asarray(np.clip(keep + EPSILON * np.sign(weights), 1e-300, 1 - 1e-16))


def probe_log_pvalues(keep: np.ndarray, kept: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Each probe's exact two-sided binomial p-value (doubling rule) under the composite null:
    the lower tail at q - EPSILON, the upper at q + EPSILON (its largest over the null)."""
    lower = _scipy.binom.logcdf(kept, trials, np.maximum(keep - EPSILON, 0.0))
    upper = _scipy.binom.logsf(kept - 1, trials, np.minimum(keep + EPSILON, 1.0))
    return np.asarray(np.minimum(0.0, LOG2 + np.minimum(lower, upper)))


def quantisation_test(keep: np.ndarray, kept: np.ndarray, trials: np.ndarray, alpha: float,
                      candidates: Sequence[Hypothesis] | None = None) -> Decision:
    """Test that the keep rates at the probes are q_i (within EPSILON), against every hypothesis
    of ``candidates`` (default: ``hypotheses()``) and, two-sided, at every probe.

    Estimate: the closest hypothesis's scale, sum w (k - n q) / sum n w d (1 when the rate
    follows it exactly, 0 under H0).
    """
    keep, kept, trials = (np.asarray(a, dtype=np.float64) for a in (keep, kept, trials))
    tested, d = matched(keep, hypotheses() if candidates is None else candidates)
    probes = keep.size
    per_probe = probe_log_pvalues(keep, kept, trials)
    worst = int(np.argmin(per_probe))
    log_p_omnibus = min(0.0, math.log(probes) + float(per_probe[worst]))
    deviation = kept / trials - keep
    if tested:
        w = d / (keep * (1 - keep))
        law = WeightedBinomialSums(w, trials, null_rates(keep, w))
        log_p = law.log_upper_tails(w @ kept)
        scale = (w @ (kept - trials * keep)) / ((w * d) @ trials)
        log_p_matched = min(0.0, math.log(len(tested)) + float(np.min(log_p)))
        # The hypothesis named is the likeliest (binomial likelihood of the counts at its
        # rates), not the smallest p-value: with a strong effect every p-value is astronomically
        # small, and the smallest belongs to whichever law has the lightest tail. Hypotheses
        # that predict nearly the same rates at these probes tie up to noise: of those within a
        # likelihood ratio of e^2 of the likeliest, the simplest mechanism (MECHANISMS' order)
        # is named, then the grid listed first.
        likelihood = _scipy.binom.logpmf(kept, trials, np.clip(keep + d, 0.0, 1.0)).sum(axis=1)
        ties = np.flatnonzero(likelihood >= np.max(likelihood) - 2.0)
        best = int(min(ties, key=lambda i: (MECHANISMS.index(tested[i].mechanism), i)))
        closest = (f"closest hypothesis: {tested[best].describe()} (scale {scale[best]:.3g}: 1 is exactly its "
                   f"deviations, 0 none; its p {format_p(float(log_p[best]))}); smallest p of the {len(tested)} "
                   f"hypotheses {format_p(float(np.min(log_p)))} before x{len(tested)}")
        estimate, predicted = float(scale[best]), d[best]
    else:  # every probe sits on every grid: no hypothesis predicts a deviation
        log_p_matched, closest, estimate, predicted = 0.0, "no hypothesis predicts a deviation here", 0.0, 0 * keep
    log_p_total = min(0.0, LOG2 + min(log_p_matched, log_p_omnibus))
    return Decision(
        name="keep rate at quantisation probes",
        statistic=estimate,  # the fitted multiple of the closest hypothesis's predicted deviations
        log_pvalue=log_p_total,
        samples=int(trials.sum()),
        estimate=estimate,
        expected=0.0,
        ci=(-math.inf, math.inf),
        alpha=alpha,
        # "Closest", not "the grid it follows": a plain bias is also closest to some hypothesis,
        # at a scale far from 1; the mean deviation and the worst probe tell the two apart.
        detail=(f"{probes} probes; {closest}; worst probe (two-sided, either sign): q = {keep[worst]:.8g}, kept "
                f"{int(kept[worst]):,} of {int(trials[worst]):,} = {kept[worst] / trials[worst]:.6g} "
                f"(p {format_p(float(per_probe[worst]))} before x{probes}); mean rate - q "
                f"{np.mean(deviation):+.3g}, largest |rate - q| {np.max(np.abs(deviation)):.3g}"),
        evidence={"keep probability": keep.tolist(), "keep rate - q": deviation.tolist(),
                  "closest hypothesis predicts": np.asarray(predicted).tolist()},
    )
