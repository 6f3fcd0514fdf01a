"""C2 support: every element is its kind's kept or dropped value, and every element of one
unit shares the unit's decision.

For inverted dropout (element, channel, drop-path) a kept element is x/(1-p) and a dropped
one 0; for alpha dropout a x + a A p and -a A (1-p); to the dtype's rounding
(dropout_verify/docs/CONTRACT.md section 2). A 3-D input to 2-d channel dropout may be read as (C, H, W) or
as (N, C, L), or refused with a clear error: either reading must hold exactly, and the answer
given is reported.
Bugs it catches: returning the scaled mask without x (the notebook's both functions), no
rescale, ``1/p`` instead of ``1/(1-p)``, a scale rounded to low precision, normalising by
the realised keep fraction, a lost sign, values scrambled by a non-contiguous layout, wrong
alpha constants, values of another kind, a channel or sample dropped only in part.
"""

from __future__ import annotations

import torch

from dropout_verify.errors import NotSupported
from dropout_verify.harness import Statement, checked_output, exact, seeded, skip_unjudged, violation
from dropout_verify.kinds import Kind, ShapeRequest
from dropout_verify.run import Run
from dropout_verify.strategies import Case, cases, designed_case, probabilities
from dropout_verify.targets import ImplementationFailure, Target
from dropout_verify.values import FLOAT32_P_NOTE, check_support

STATEMENT = Statement("C2", "support", "each element is the kept or the dropped value")
SHARED = Statement("C2", "support", "every element of a unit shares its decision")
READING = Statement("C2", "support", "3-D input to channel2d: (C, H, W) or (N, C, L), exactly")


def _examples(kind: Kind) -> list[Case]:
    return [
        designed_case(kind, units=12, dtype="float32", layout="contiguous", p=0.3, seed=0, rows=3, unit_elements=3),
        designed_case(kind, units=30, dtype="bfloat16", layout="channels_last", p=0.5, seed=1, rows=2,
                      unit_elements=35),
        designed_case(kind, units=1025, dtype="float64", layout="transposed", p=0.1, seed=2, rows=6,
                      unit_elements=2),
    ]


@exact(STATEMENT, cases=lambda kind: cases(kind, p=probabilities(0.0, 0.999)), examples=_examples)
def test_support(run: Run, target: Target, case: Case) -> None:
    """Every y_i within the dtype's rounding of the kind's kept or dropped value of x_i."""
    x = case.make_input(run.device)
    keep = target.keep_probability(case.p)
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, case.p)
    if skip_unjudged(run, target, x.dtype, case.p):
        return
    report = check_support(target.kind, x, y, keep)
    if report.float32_p:
        run.note(f"{target.spec}: {FLOAT32_P_NOTE}")
    if report.bad:
        raise violation(run, STATEMENT, target, case=case,
                        expected=f"every element the kept or the dropped value ({target.kind.values.describe()}), "
                                 f"to the dtype's rounding",
                        seen=report.describe())


def _multi_element(target: Target) -> str | None:
    return None if target.kind.multi_element_units else "each unit is one element"


@exact(SHARED, cases=lambda kind: cases(kind, p=probabilities(0.05, 0.95),
                                        request=ShapeRequest(max_units=4096, max_numel=1 << 16)),
       examples=lambda kind: [designed_case(kind, units=64, dtype="float32", layout="contiguous", p=0.5, seed=3,
                                            rows=8, unit_elements=9)],
       applies=_multi_element)
def test_unit_shares_decision(run: Run, target: Target, case: Case) -> None:
    """Within each unit (a channel, a sample, the whole call) every element is kept or every
    element is dropped."""
    x = case.make_input(run.device)
    keep = target.keep_probability(case.p)
    with seeded(run, case.seed), torch.no_grad():
        y = checked_output(target, x, case.p)
    kept = target.kind.element_keeps(y, keep)
    mixed, index = target.kind.layout.disagreeing_units(kept)
    if mixed:
        raise violation(run, SHARED, target, case=case, expected=f"one decision per {target.kind.unit}",
                        seen=f"{mixed} of {target.kind.unit_count(case.shape)} units have kept and dropped "
                             f"elements; the first is unit {index}")


REFUSALS = (ValueError, RuntimeError, TypeError, NotImplementedError)


def _refusal(target: Target, x: torch.Tensor, p: float) -> str | None:
    """How the target refuses x with a clear error (an ordinary exception with a message), or
    None when it returns (the result is then judged). Any other raise is a failure."""
    keywords = {"training": True} if target.supports("training") else {}
    try:
        target.unchecked_call(x, target.argument_for(p), **keywords)
    except REFUSALS as error:
        if str(error).strip():  # one note for every example: the type, not each shape's message
            return type(error).__name__
        raise ImplementationFailure(f"{target.spec} raised {type(error).__name__} without a message for a 3-D input",
                                    "a result, or a clear error that says why the 3-D input is refused") from None
    except (KeyboardInterrupt, SystemExit, ImplementationFailure, NotSupported):
        raise
    except BaseException as error:  # noqa: BLE001 - an AssertionError, an exit: what it raised is the finding
        raise ImplementationFailure(f"{target.spec} raised {type(error).__name__}: {error} for a 3-D input",
                                    "a result, or a clear error (ValueError, RuntimeError, TypeError)") from None
    return None


def _channel2d(target: Target) -> str | None:
    return None if target.kind.name == "channel2d" else "only 2-d channel dropout has an ambiguous 3-D input"


@exact(READING, cases=lambda kind: cases(kind, p=probabilities(0.1, 0.9),
                                         request=ShapeRequest(min_units=8, max_units=512, max_numel=1 << 14)),
       examples=lambda kind: [Case((4, 8, 6), "float32", "contiguous", 0.5, seed=4, kind=kind.name)],
       applies=_channel2d)
def test_channel2d_3d_input(run: Run, target: Target, case: Case) -> None:
    """A 3-D input (A, B, L) to 2-d channel dropout: either every x[a] shares one decision
    ((C, H, W), nn.Dropout2d's purpose) or every x[a, b] does ((N, C, L), PyTorch's legacy
    F.dropout2d); values as C2 says. A clear refusal of the ambiguous shape (keras'
    SpatialDropout2D takes 4-D inputs only) is the third accepted answer. Which one the
    implementation gives is reported."""
    shape = case.shape if len(case.shape) == 3 else (case.shape[0], case.shape[1], max(2, case.shape[-1]))
    case = Case(shape, case.dtype, "contiguous", case.p, case.seed, case.magnitude, case.kind)
    x = case.make_input(run.device)
    keep = target.keep_probability(case.p)
    with seeded(run, case.seed), torch.no_grad():
        refusal = _refusal(target, x, case.p)
        if refusal is not None:  # the third accepted answer: the shape is ambiguous, and it says so
            run.note(f"{target.spec}: 3-D inputs are refused as ambiguous, with a clear {refusal}: accepted")
            return
        y = checked_output(target, x, case.p)
    if not skip_unjudged(run, target, x.dtype, case.p):
        report = check_support(target.kind, x, y, keep)
        if report.bad:
            raise violation(run, READING, target, case=case, expected="every element 0 or x/(1-p)",
                            seen=report.describe())
    kept = target.kind.element_keeps(y, keep)
    per_channel = bool((kept == kept[:, :1, :1]).all())  # (C, H, W): x[a] whole
    per_row = bool((kept == kept[:, :, :1]).all())  # (N, C, L): x[a, b] whole
    if not per_row:
        raise violation(run, READING, target, case=case, expected="one decision per x[a] or one per x[a, b]",
                        seen="elements of one x[a, b] slice differ in their keep decision")
    # Whole x[a] slices agreeing can happen by chance under the (N, C, L) reading: with B rows
    # each, all A slices agree with probability (q^B + p^B)^A. Say (C, H, W) only when that is
    # below 1e-6; an example that cannot tell the readings apart says nothing.
    chance = (keep ** shape[1] + (1 - keep) ** shape[1]) ** shape[0]
    if not per_channel:
        run.note(f"{target.spec}: a 3-D input is read as (N, C, L) (one decision per x[n, c], legacy F.dropout2d)")
    elif shape[1] > 1 and chance < 1e-6:
        run.note(f"{target.spec}: a 3-D input is read as (C, H, W) (one decision per x[c])")
