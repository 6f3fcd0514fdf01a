"""C8 modes: ``training=False`` returns x unchanged.

Bug it catches: dropout left on in eval mode (a ``training`` flag ignored or inverted).
Exercised when the implementation's signature has ``training`` (or ``train``), and for
module classes (``.eval()``).
"""

from __future__ import annotations

import pytest
import torch

from dropout_verify.harness import Statement, checked_output, exact, seeded, violation
from dropout_verify.plugin import KEYWORD_MARKER
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import Target

STATEMENT = Statement("C8", "modes", "training=False returns x unchanged")
# n/a for targets whose signature takes no training keyword.
TRAINING_KEYWORD: pytest.MarkDecorator = getattr(pytest.mark, KEYWORD_MARKER)("training")


@TRAINING_KEYWORD
@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities()),
       examples=lambda kind: [designed_case(kind, units=1025, dtype="float32", layout="contiguous", p=0.5, seed=0)])
def test_eval_mode_is_identity(run: Run, target: Target, case: Case) -> None:
    """training=False: y == x element for element, and x is not modified."""
    x = case.make_input(run.device)
    before = x.clone()
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, case.p, training=False)
    if not torch.equal(y, before) or not torch.equal(x, before):
        changed = int((y != before).sum())
        raise violation(run, STATEMENT, target, expected="y == x", case=case,
                        seen=f"{changed} of {x.numel()} elements changed in eval mode")
