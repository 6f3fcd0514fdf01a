"""C8 modes: ``training=False`` returns x unchanged.

Bug it catches: dropout left on in eval mode (a ``training`` flag ignored or inverted).
Exercised when the implementation's signature has ``training`` (or ``train``).
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given

from .config import current
from .harness import checked_output, contract_settings, seeded, violation
from .strategies import Case, cases, probabilities

STATEMENT = "C8 modes (training=False returns x unchanged)"


@pytest.mark.dropout_keywords("training")
@contract_settings()
@given(case=cases(p=probabilities()))
@example(case=Case((1025,), "float32", "contiguous", 0.5, seed=0))
def test_eval_mode_is_identity(dropout_target, case):
    """training=False: y == x element for element, and x is not modified."""
    x = case.make_input(current().device)
    before = x.clone()
    with seeded(case.seed), torch.no_grad():
        y = checked_output(dropout_target, x, case.p, training=False)
    if not torch.equal(y, before) or not torch.equal(x, before):
        changed = int((y != before).sum())
        raise violation(STATEMENT, dropout_target, expected="y == x", case=case,
                        seen=f"{changed} of {x.numel()} elements changed in eval mode")
