"""C2 support: every y_i is exactly 0 or x_i / (1-p), to the dtype's rounding.

Bugs it catches: returning the scaled mask without x (the notebook's both functions), no
rescale, ``1/p`` instead of ``1/(1-p)``, a scale rounded to low precision, normalising by
the realised keep fraction, a lost sign, values scrambled by a non-contiguous layout.
"""

from __future__ import annotations

import torch
from hypothesis import example, given

from .config import current
from .harness import checked_output, contract_settings, seeded, violation
from .strategies import Case, cases, probabilities
from .values import check_support

STATEMENT = "C2 support (y_i in {0, x_i/(1-p)})"


@contract_settings()
@given(case=cases(p=probabilities(0.0, 0.999)))
@example(case=Case((3, 4), "float32", "contiguous", 0.3, seed=0))
@example(case=Case((2, 3, 5, 7), "bfloat16", "channels_last", 0.5, seed=1))
@example(case=Case((6, 1025), "float64", "transposed", 0.1, seed=2))
def test_support(dropout_target, case):
    """For every element: y_i == 0 or |y_i - x_i/(1-p)| <= 2 eps |x_i/(1-p)| (eps of the dtype)."""
    x = case.make_input(current().device)
    with seeded(case.seed), torch.no_grad():
        y = checked_output(dropout_target, x, case.p)
    report = check_support(x, y, dropout_target.keep_probability(case.p))
    if report.bad:
        raise violation(
            STATEMENT, dropout_target,
            expected="every element 0 or x/(1-p) within 2 units of the dtype's precision",
            seen=report.describe(), case=case,
        )
