"""C1 contract: shape, dtype and device kept; input untouched (or, with inplace, returned);
torch's global state untouched.

Works for every input the kind takes: 0-d (where the kind takes it), empty, non-contiguous,
channels_last and expanded (stride 0) inputs. An implementation that rejects a shape its kind
must take fails here, with the shape named.
Bugs it catches: ``x.float()`` that downcasts float64 or upcasts float16, ``.view(-1)`` on a
strided input, an extra trailing dimension from ``Bernoulli(p).sample(x.shape)``, a CPU mask
on a CUDA input, an input silently modified, inplace that does not write into x, a kernel
that turns autograd off or changes the default dtype for everything after it.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

from dropout_verify.errors import NotSupported
from dropout_verify.harness import Statement, checked_output, claims, exact, seeded, skip_unjudged, violation
from dropout_verify.kinds import Kind
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import ImplementationFailure, Target
from dropout_verify.values import check_support

STATEMENT = Statement("C1", "contract", "shape, dtype, device kept; input untouched")
INPLACE = Statement("C1", "contract", "inplace=True returns x, holding the result")
STATE = Statement("C1", "contract", "torch's global state untouched")


def _examples(kind: Kind) -> list[Case]:
    designs = [
        designed_case(kind, units=4, dtype="float16", layout="expanded", p=0.5, seed=0, rows=4, unit_elements=2),
        designed_case(kind, units=30, dtype="bfloat16", layout="channels_last", p=0.3, seed=0, rows=2,
                      unit_elements=35),
    ]
    empty = designed_case(kind, units=8, dtype="float64", layout="contiguous", p=0.5, seed=0, rows=2, unit_elements=2)
    designs.append(Case((0, *empty.shape[1:]), "float64", "contiguous", 0.5, 0, kind=kind.name))
    if kind.accepts_rank(0):
        designs.append(Case((), "float32", "contiguous", 0.5, 0, kind=kind.name))
    return designs


@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities()), examples=_examples)
def test_contract(run: Run, target: Target, case: Case) -> None:
    """y.shape == x.shape, y.dtype == x.dtype, y.device == x.device, and x is unchanged."""
    x = case.make_input(run.device)
    before = x.clone()
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, case.p)
    if y.dtype != x.dtype:
        raise violation(run, STATEMENT, target, expected=f"dtype {x.dtype}", seen=f"dtype {y.dtype}", case=case)
    if not torch.equal(x, before):
        changed = int((x != before).sum())
        raise violation(run, STATEMENT, target, expected="the input unchanged (inplace not asked for)",
                        seen=f"{changed} of {x.numel()} input elements changed", case=case)


def _inplace_cases(kind: Kind) -> st.SearchStrategy[Case]:
    return cases(kind, p=probabilities(), layouts=("contiguous", "transposed", "sliced", "channels_last"))


@exact(INPLACE, cases=_inplace_cases,
       examples=lambda kind: [designed_case(kind, units=1025, dtype="float32", layout="contiguous", p=0.5, seed=0,
                                            unit_elements=2)],
       applies=lambda target: None if target.supports("inplace") else f"{target.spec} takes no inplace argument")
def test_inplace(run: Run, target: Target, case: Case) -> None:
    """With inplace=True: the result is x itself, and holds the kind's kept or dropped values."""
    x = case.make_input(run.device)
    original = x.clone()
    keep = target.keep_probability(case.p)
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, case.p, inplace=True)
    if y.data_ptr() != x.data_ptr() or y.stride() != x.stride():
        raise violation(run, INPLACE, target, expected="the input tensor itself",
                        seen=f"a different tensor (data_ptr {y.data_ptr()} vs {x.data_ptr()})", case=case)
    if skip_unjudged(run, target, x.dtype, case.p):
        return
    report = check_support(target.kind, original, x, keep)
    if report.bad:
        raise violation(run, INPLACE, target, expected="x overwritten with the kept or dropped values",
                        seen=report.describe(), case=case)


@claims(STATE)
def test_global_torch_state_unchanged(dropout_target: Target, dropout_run: Run) -> None:
    """No call changes torch's global state (grad mode, default dtype, deterministic algorithms,
    threads, anomaly mode, autocast, default device, matmul precision, backend flags).

    Runs after every other property of the implementation: it fails on any change seen in
    this run's calls (each was undone at once, so no other verdict depends on it), and makes
    calls of its own in every mode.
    """
    run = dropout_run
    target = dropout_target
    kind = target.kind
    case = Case(kind.canonical_shape(), "float32", "contiguous", 0.5, seed=0, kind=kind.name)
    modes: list[dict[str, Any]] = [{"p": 0.5}, {"p": 0.5, "training": False}, {"p": 0.0}, {"p": 1.0}]
    if target.supports("inplace"):
        modes.append({"p": 0.5, "inplace": True})
    if target.supports("generator"):
        modes.append({"p": 0.5, "generator": torch.Generator(device=run.device).manual_seed(1)})
    for mode in modes:
        x = case.make_input(run.device).requires_grad_(mode.get("inplace") is None)
        p = float(mode.pop("p"))
        with seeded(run, 0):
            try:
                target.call(x, p, **mode)
            except (ImplementationFailure, NotSupported):
                pass  # errors are other properties' to judge; only the state matters here
    changes = run.guard.findings_for(target.spec) + run.guard.pending()
    if changes:
        shown = "; ".join(f.describe() for f in changes[:3])
        shown += f" (and {len(changes) - 3} more)" if len(changes) > 3 else ""
        raise violation(run, STATE, target, expected="torch's global state as it was before each call",
                        seen=f"{len(changes)} calls changed it (each undone at once): {shown}")
