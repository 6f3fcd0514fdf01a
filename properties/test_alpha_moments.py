"""C4 expectation, for alpha dropout: x ~ N(0, 1) comes out with mean 0 and variance 1.

For inverted dropout (element, channel, drop-path), E[y] = x follows from C2 (each kept
value is x/(1-p), each dropped one 0) and C3 (units kept at rate 1-p): E[y_i] = (1-p) x_i/(1-p).
Those two properties decide it. Alpha dropout is built to keep a standard normal input
standard: E[y] = 0 and E[y^2] = 1 exactly, whatever p (dropout_verify/docs/CONTRACT.md section 2). This
property draws x ~ N(0, 1) afresh for every call and tests both moments with Chernoff bounds
on the exact law (``stats.moments``), planned to detect a mean off by the level's
``moment_bias`` or a variance off by that fraction with power 0.999.
Bugs it catches: a = 1/sqrt(1-p) (the inverted scale) with alpha's shift, the affine shift
left out, the SELU alpha (1.6733) in place of lambda * alpha, a variance off by a factor.
"""

from __future__ import annotations

import torch

from dropout_verify.harness import Statement, calls_for, check_result, checked_output, seeded, statistical
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.levels import POWER
from dropout_verify.power import moments_samples
from dropout_verify.run import Run
from dropout_verify.stats import alpha_moments_test
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C4", "expectation", "alpha: x ~ N(0, 1) gives mean 0, variance 1")
REQUEST = ShapeRequest(min_units=1 << 14, max_units=1 << 17, max_numel=1 << 17, max_unit_elements=2)


def _alpha_only(target: Target) -> str | None:
    if target.kind.values.zeros_at_p_one:
        return "E[y] = x follows from C2 (kept values x/(1-p), dropped 0) and C3 (keep rate 1-p)"
    return None


@statistical("alpha_moments", STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.5), request=REQUEST,
                                                                    dtypes=("float32", "float64")),
             examples=lambda kind: [designed_case(kind, units=1 << 15, dtype="float32", layout="contiguous", p=0.2,
                                                  seed=4, rows=64)],
             applies=_alpha_only)
def test_alpha_output_moments(run: Run, target: Target, case: Case) -> None:
    """One output per unit (its first element) over calls on fresh N(0, 1) inputs: the sample
    mean and second moment against 0 and 1 (float32 and float64 inputs, p in [0.05, 0.5])."""
    kind: Kind = target.kind
    q = target.keep_probability(case.p)
    needed = moments_samples(q, run.effects.moment_bias, run.alpha_decision, POWER)
    calls = calls_for(needed, case.units)
    generator = torch.Generator().manual_seed(case.seed ^ 0xA1FA)
    outputs = []
    with seeded(run, case.seed), torch.no_grad():
        for _ in range(calls):
            x = torch.randn(case.shape, generator=generator, dtype=torch.float64).to(case.torch_dtype).to(run.device)
            y = checked_output(target, x, case.p)
            outputs.append(kind.layout.unit_decisions(y).reshape(-1).to(torch.float64).cpu())
    result = alpha_moments_test(torch.cat(outputs)[:needed].numpy(), q, run.alpha_decision)
    check_result(run, STATEMENT, target, result, case,
                 expected=f"mean 0 and variance 1 (detects either off by {run.effects.moment_bias:g} "
                          f"with power {POWER})")
