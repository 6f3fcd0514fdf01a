"""C4 expectation: E[y_i] = x_i, measured as the mean of y_i (1-p) / x_i over many draws.

Bugs it catches: a scale a little off (rounded to low precision, ``1/(1-p+eps)``), a keep
rate and scale that do not match, values scaled by something other than 1/(1-p) in a way
that the per-element tolerance of C2 cannot see.

Measured in float32 and float64, where one rounding (<= 1.2e-7) is far below the smallest
relative bias any level detects (5e-4); in float16 and bfloat16 one rounding step is
itself 1e-3 to 8e-3, and values there are judged by C2. p is drawn from [0.05, 0.75]: the
samples needed grow as p/(1-p), and keep rates at higher p are C3's to judge.
"""

from __future__ import annotations

import torch
from hypothesis import example, given

from .config import current
from .harness import calls_for, check_result, checked_output, seeded, statistical_settings
from .levels import POWER
from .power import rate_samples
from .stats import mean_ratio_test
from .strategies import Case, cases, probabilities
from .values import expected_kept_values

STATEMENT = "C4 expectation (E[y] = x)"


@statistical_settings("expectation")
@given(case=cases(p=probabilities(0.05, 0.75), min_numel=1 << 14, max_numel=1 << 17, dtypes=("float32", "float64")))
@example(case=Case((128, 1023), "float32", "transposed", 0.3, seed=4, magnitude=1e3))
def test_mean_is_preserved(dropout_target, case):
    """S = sum over calls and elements of y_i / (x_i/(1-p)) ~ Binomial(n, 1-p) under H0.

    n is planned for a relative mean bias of the level's size at power 0.999: a bias b of
    E[y]/x shifts E[S]/n by b (1-p).
    """
    run = current()
    q = dropout_target.keep_probability(case.p)
    needed = rate_samples(q, run.effects.mean_bias * q, run.alpha_decision, POWER)
    calls = calls_for(needed, case.numel)
    x = case.make_input(run.device)
    reference = expected_kept_values(x, q)
    total = torch.zeros((), dtype=torch.float64, device=x.device)
    with seeded(case.seed), torch.no_grad():
        for _ in range(calls):
            total += (checked_output(dropout_target, x, case.p).to(torch.float64) / reference).sum()
    result = mean_ratio_test(float(total), calls * case.numel, q, run.alpha_decision)
    check_result(STATEMENT, dropout_target, result, case,
                 expected=f"E[y]/x - 1 = 0 (detects |bias| >= {run.effects.mean_bias:g} with power {POWER})")
