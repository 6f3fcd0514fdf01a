"""Non-finite inputs: reported, not judged.

What a dropout returns for a *dropped* inf or NaN is implementation-defined (``inf * 0`` is
NaN in a multiply-by-mask kernel, 0 in a select kernel). This property records what the
implementation does and prints it in the run summary; it fails nothing (verdict "info").
"""

from __future__ import annotations

import torch

from dropout_verify.harness import Statement, claims, seeded
from dropout_verify.run import Run
from dropout_verify.targets import ImplementationFailure, Target

STATEMENT = Statement("--", "non-finite inputs", "reported, not judged", judged=False)
SPECIALS = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


# Calls made: a kind whose row is one unit (drop-path: a sample) or whose call is one (the whole
# batch) decides once per row and call, so one call shows a special value kept or dropped, not
# both. At p = 0.5, 20 calls see both outcomes of a row but with probability 2^-19.
CALLS = 20


def _classify(values: torch.Tensor) -> set[str]:
    kinds = set()
    for v in values.reshape(-1).tolist():
        if v != v:
            kinds.add("nan")
        elif v in (0.0, float("inf"), float("-inf")):
            kinds.add({0.0: "0", float("inf"): "inf", float("-inf"): "-inf"}[v])
        else:
            kinds.add("finite")
    return kinds


@claims(STATEMENT)
def test_non_finite_inputs_reported(dropout_target: Target, dropout_run: Run) -> None:
    """Record, per special value, what kept and dropped copies of it become (over CALLS calls)."""
    run = dropout_run
    target = dropout_target
    shape = target.kind.shape_for(3 * 64, rows=3, unit_elements=2)
    x = torch.ones(shape, device=run.device)
    for row, value in enumerate(SPECIALS.values()):
        x[row] = value
    seen: list[set[str]] = [set() for _ in SPECIALS]
    for call in range(CALLS):
        try:
            with seeded(run, 5 + call), torch.no_grad():
                y = target.call(x, 0.5)
        except ImplementationFailure as failure:
            run.note(f"{target.spec}: non-finite input -> {str(failure).splitlines()[0]}")
            return
        for row in range(len(SPECIALS)):
            seen[row] |= _classify(y[row])
    parts = [f"{name} -> {'/'.join(sorted(kinds)) or 'none'}" for name, kinds in zip(SPECIALS, seen)]
    run.note(f"{target.spec}: " + ", ".join(parts) + f" (over kept and dropped copies, {CALLS} calls at p = 0.5)")
