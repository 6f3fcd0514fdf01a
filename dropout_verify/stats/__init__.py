"""The statistical engine: exact (or provably conservative) tests for dropout masks.

Every test compares what an implementation did with what a correct dropout does, under the
null hypothesis H0 "the implementation is correct": each unit is kept independently with
probability q = 1 - p. Every function returns a :class:`Decision` with the statistic, the
p-value (kept as its natural log, so that 1e-300 and 1e-30 stay different numbers), the
samples used, an effect estimate with a confidence interval at the decision's own level
(1 - alpha), and the threshold alpha the decision used. One module per test:

* ``binomial``: exact binomial test, Clopper-Pearson intervals, the truncated SPRT;
* ``anytime``: an anytime-valid e-process for a keep rate (time-budgeted runs);
* ``quantisation``: keep rates that follow a grid (k/256, k/255, ...);
* ``homogeneity``: every unit position at one rate;
* ``chernoff``: proved tail bounds for sums of independent discrete draws;
* ``dispersion``: per-call kept counts with binomial variance (Chernoff tails);
* ``pairs``: independence of paired decisions;
* ``periodicity``: no lag repeats the keep sequence;
* ``moments``: alpha dropout keeps mean 0 and variance 1 (Chernoff bounds).
"""

from ..decision import Decision, format_p
from .anytime import BetaBinomialEProcess
from .binomial import SequentialBinomialTest, binomial_test, clopper_pearson
from .dispersion import dispersion_test
from .homogeneity import homogeneity_test
from .moments import alpha_moments_test
from .pairs import PairCounts, combine_pairings, independence_test
from .periodicity import periodicity_test
from .quantisation import probe_points, quantisation_test

__all__ = [
    "BetaBinomialEProcess",
    "Decision",
    "PairCounts",
    "SequentialBinomialTest",
    "alpha_moments_test",
    "binomial_test",
    "clopper_pearson",
    "combine_pairings",
    "dispersion_test",
    "format_p",
    "homogeneity_test",
    "independence_test",
    "periodicity_test",
    "probe_points",
    "quantisation_test",
]
