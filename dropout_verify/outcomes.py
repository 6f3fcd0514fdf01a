"""Building each property's :class:`~dropout_verify.results.PropertyOutcome` from what pytest saw.

The verdict comes from pytest's reports of the test's phases; the evidence comes from the
:class:`~dropout_verify.harness.PropertyViolation` the test raised (found inside Hypothesis's
exception groups and flaky-failure wrappers), the decisions the harness recorded, and the
state changes the guard saw. Anything else a test raises is reported by its type and message,
without the suite's internal frames.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from . import __version__
from .config import RunConfig
from .guard import StateFinding
from .harness import STATEMENT_MARKER, PropertyViolation, Statement, reproduce_command
from .results import (
    ImplementationResult,
    PropertyOutcome,
    RunReport,
    StateChange,
    state_findings,
)
from .run import Run

__all__ = ["build_report", "first_violation", "not_reached", "outcome_from", "statement_of", "variant_of"]


def statement_of(item: pytest.Item) -> Statement | None:
    marker = item.get_closest_marker(STATEMENT_MARKER)
    if marker is None or not marker.args or not isinstance(marker.args[0], Statement):
        return None
    return marker.args[0]


def variant_of(item: pytest.Item, spec: str) -> str:
    """The parametrised case apart from the implementation: "-0.1" in test_x[spec--0.1]."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.id == spec:
        return ""
    if callspec.id.startswith(spec + "-"):
        return str(callspec.id[len(spec) + 1:])
    if callspec.id.endswith("-" + spec):
        return str(callspec.id[: -len(spec) - 1])
    return str(callspec.id)


def _violations(error: BaseException | None) -> Iterable[BaseException]:
    """The exceptions inside ``error``: exception groups (Hypothesis's) and causes, flattened."""
    seen: set[int] = set()
    stack = [error] if error is not None else []
    while stack:
        current = stack.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(getattr(current, "exceptions", ()) or ())
        stack.append(current.__cause__)  # type: ignore[arg-type]
        stack.append(current.__context__)  # type: ignore[arg-type]


def first_violation(error: BaseException | None) -> PropertyViolation | None:
    """The PropertyViolation inside ``error`` (Hypothesis may wrap it in groups), if any."""
    for candidate in _violations(error):
        if isinstance(candidate, PropertyViolation):
            return candidate
    return None


def _is_flaky(error: BaseException | None) -> bool:
    return any(type(e).__name__ in ("Flaky", "FlakyFailure", "FlakyReplay") for e in _violations(error))


def _innermost(error: BaseException | None) -> BaseException | None:
    """The exception to show: inside Hypothesis's groups and flaky wrappers, the one raised."""
    for candidate in _violations(error):
        if not getattr(candidate, "exceptions", None):
            return candidate
    return error


def _raised_at(error: BaseException | None) -> str:
    """" at FILE:LINE in FUNCTION" for the innermost frame of ``error``'s traceback, or ""."""
    traceback = error.__traceback__ if error is not None else None
    if traceback is None:
        return ""
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    code = traceback.tb_frame.f_code
    return f" at {code.co_filename.rsplit('site-packages/', 1)[-1]}:{traceback.tb_lineno} in {code.co_name}"


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def outcome_from(run: Run, item: pytest.Item, spec: str, phases: dict[str, pytest.TestReport],
                 error: BaseException | None, findings: Sequence[StateFinding], seconds: float) -> PropertyOutcome:
    """The verdict and evidence of one (property, implementation) test, from what pytest saw and
    what the run recorded while it ran (``run.test``)."""
    context = run.test
    statement = statement_of(item)
    name = getattr(item, "originalname", item.name)
    outcome = PropertyOutcome(
        implementation=spec, property=name,
        contract=statement.contract if statement else "", title=statement.title if statement else name,
        claim=statement.claim if statement else "", verdict="pass",
        decisions=[d.for_report() for d in context.decisions], seconds=round(seconds, 3),
        notes=list(context.notes),
        state_changes=state_findings([StateChange(f.change(), 1, f.call) for f in findings]),
        example=context.case.as_dict() if context.case is not None else None,
        variant=variant_of(item, spec),
    )
    reports = [phases[w] for w in ("setup", "call", "teardown") if w in phases]
    failed = [r for r in reports if r.failed]
    skipped = [r for r in reports if r.skipped]
    if failed:
        outcome.verdict = "FAIL"
        violation = first_violation(error)
        if violation is not None:
            outcome.reason = violation.headline()
            if violation.statement.contract != outcome.contract:
                outcome.violated = violation.statement.contract
            outcome.expected, outcome.seen = violation.expected, violation.seen
            outcome.message = violation.text()
            outcome.reproduce = violation.reproduce
            if violation.case is not None:
                outcome.example = violation.case.as_dict()
            if _is_flaky(error):
                outcome.message += ("\n  note: the failure did not happen again when the example was replayed "
                                    "with the same seed: the implementation does not reproduce its results (C10)")
        else:
            # Not a violation: the implementation's calls returned (a raise, hang or crash in
            # them is a violation), so the suite itself raised: say where, not "your dropout".
            shown = _innermost(error)
            text = f"{type(shown).__name__}: {shown}" if shown is not None else str(failed[0].longrepr)
            where = _raised_at(shown)
            outcome.reason = (f"{outcome.contract} {outcome.title}: no verdict, the suite raised "
                              f"{text.splitlines()[0]}{where}")
            outcome.message = (f"{outcome.reason}\n  {text}\n  The implementation's calls returned; this is a bug "
                               "in dropout_verify or an output it cannot judge: please report it with this "
                               f"command.\n  reproduce: {reproduce_command(run)}")
            outcome.reproduce = reproduce_command(run)
    elif skipped:
        reason = _skip_reason(skipped[0])
        outcome.verdict = "not supported" if reason.startswith("not supported") else "n/a"
        outcome.reason = reason.removeprefix("n/a: ")
        outcome.example = None
    elif statement is not None and not statement.judged:
        outcome.verdict = "info"
    return outcome


def not_reached(item: pytest.Item, spec: str, reason: str) -> PropertyOutcome:
    """The outcome of a property the run never reached."""
    statement = statement_of(item)
    name = getattr(item, "originalname", item.name)
    return PropertyOutcome.not_run(spec, name, statement.contract if statement else "",
                                   statement.title if statement else name, statement.claim if statement else "",
                                   variant_of(item, spec), reason)


def build_report(run: RunConfig, targets: Sequence[Any], outcomes: Sequence[PropertyOutcome], *, seconds: float,
                 interrupted: bool) -> RunReport:
    """Group outcomes by implementation (in the order the targets were named)."""
    results = [ImplementationResult.of(target.spec, target.kind.name, target.kind_source,
                                       [o for o in outcomes if o.implementation == target.spec],
                                       interrupted=interrupted) for target in targets]
    return RunReport(settings=run.settings(), implementations=results, interrupted=interrupted, seconds=seconds,
                     environment=environment())


def environment() -> dict[str, str]:
    info = {"dropout_verify": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = str(torch.get_num_threads())  # intra-op threads; -n shares the cores
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
            info["cuda"] = str(torch.version.cuda)
    except Exception:  # noqa: BLE001 - the report is still useful without it
        pass
    return info
