"""Non-finite inputs: reported, not judged.

What a dropout returns for a *dropped* inf or NaN is implementation-defined (``inf * 0`` is
NaN in a multiply-by-mask kernel, 0 in a select kernel). This property records what the
implementation does and prints it in the run summary; it fails nothing (verdict "info").
"""

from __future__ import annotations

import torch

from dropout_verify.config import current
from dropout_verify.harness import Statement, claims, note, seeded
from dropout_verify.targets import ImplementationFailure, Target

STATEMENT = Statement("--", "non-finite inputs", "reported, not judged", judged=False)
SPECIALS = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


def _classify(values: torch.Tensor) -> str:
    kinds = set()
    for v in values.reshape(-1).tolist():
        if v != v:
            kinds.add("nan")
        elif v in (0.0, float("inf"), float("-inf")):
            kinds.add({0.0: "0", float("inf"): "inf", float("-inf"): "-inf"}[v])
        else:
            kinds.add("finite")
    return "/".join(sorted(kinds)) or "none"


@claims(STATEMENT)
def test_non_finite_inputs_reported(dropout_target: Target) -> None:
    """Record, per special value, what kept and dropped copies of it become."""
    target = dropout_target
    shape = target.kind.shape_for(3 * 64, rows=3, unit_elements=2)
    x = torch.ones(shape, device=current().device)
    for row, value in enumerate(SPECIALS.values()):
        x[row] = value
    try:
        with seeded(5), torch.no_grad():
            y = target.call(x, 0.5)
    except ImplementationFailure as failure:
        note(f"{target.spec}: non-finite input -> {str(failure).splitlines()[0]}")
        return
    parts = [f"{name} -> {_classify(y[row])}" for row, name in enumerate(SPECIALS)]
    note(f"{target.spec}: " + ", ".join(parts) + " (over kept and dropped copies)")
