"""Non-finite inputs: reported, not judged.

What a dropout returns for a *dropped* inf or NaN is implementation-defined (``inf * 0`` is
NaN in a multiply-by-mask kernel, 0 in a select kernel). This test records what the
implementation does and prints it in the run summary; it fails nothing.
"""

from __future__ import annotations

import torch

from .config import current
from .harness import seeded
from .plugin import NON_FINITE_KEY
from .targets import ImplementationFailure

SPECIALS = {"inf": float("inf"), "-inf": float("-inf"), "nan": float("nan")}


def _classify(values: torch.Tensor) -> str:
    kinds = set()
    for v in values.tolist():
        kinds.add("nan" if v != v else ("0" if v == 0 else ("inf" if v == float("inf") else ("-inf" if v == float("-inf") else "finite"))))
    return "/".join(sorted(kinds)) or "none"


def test_non_finite_inputs_reported(dropout_target, record_property):
    """Record, per special value, what kept and dropped copies of it become."""
    device = current().device
    x = torch.ones(3, 512, device=device)
    for row, value in enumerate(SPECIALS.values()):
        x[row] = value
    try:
        with seeded(5), torch.no_grad():
            y = dropout_target.call(x, 0.5)
    except ImplementationFailure as failure:
        record_property(NON_FINITE_KEY, f"{dropout_target.spec}: non-finite input -> {str(failure).splitlines()[0]}")
        return
    parts = []
    for row, name in enumerate(SPECIALS):
        parts.append(f"{name} -> {_classify(y[row])}")
    record_property(NON_FINITE_KEY, f"{dropout_target.spec}: " + ", ".join(parts) + " (over kept and dropped copies)")
