"""What every property test shares: statements, examples, seeding, sampling, failing well.

* :class:`Statement` is a contract point a property checks (``C3 keep rate``); a test declares
  it with :func:`claims`, or builds itself with :func:`statistical` / :func:`exact`, which
  run Hypothesis over examples drawn for the target's kind (``kinds``) with the level's
  example counts, seeded from the run's seed and the property's name.
* :func:`seeded` runs a block with torch's RNG seeded from the example's seed, inside
  ``torch.random.fork_rng``: a failing example replays exactly, and the caller's RNG state
  is the same after the suite as before.
* :func:`sample_units` calls the implementation repeatedly on one input and hands each
  call's unit keep decisions to a consumer, in time-limited batches (``guard``).
* :func:`violation` builds the failure a user reads and the data a report holds: the
  contract point, what was expected, what was seen, the statistics, the example and one
  command that reproduces it; :func:`check_result` records a decision (passing or not) and
  fails on a rejection.

Every function that needs the run (its settings, the running test's record, the masks seen)
takes the :class:`~dropout_verify.run.Run` as its first argument; a property receives it as
``run`` (built with :func:`statistical` or :func:`exact`) or as the ``dropout_run`` fixture.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import hypothesis
import numpy
import pytest
import torch
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st

from .errors import NotSupported
from .kinds import Kind
from .levels import CHECKS
from .masks import Origin, memory_sequence
from .run import Run
from .stats import Decision
from .strategies import Case
from .targets import ImplementationFailure, Target
from .values import FLOAT32_P_NOTE, SupportCheck, unjudged

__all__ = [
    "STATEMENT_MARKER",
    "PropertyViolation",
    "Statement",
    "calls_for",
    "check_outputs",
    "check_result",
    "checked_output",
    "claims",
    "exact",
    "fixed_chunks",
    "reproduce_command",
    "sample_units",
    "seeded",
    "skip_unjudged",
    "statistical",
    "violation",
]

STATEMENT_MARKER = "dropout_statement"
T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    """A contract point a property checks (dropout_verify/docs/CONTRACT.md), e.g. C3 keep rate."""

    contract: str  # "C3"
    title: str  # "keep rate"
    claim: str  # "kept units ~ Binomial(n, 1-p)"
    judged: bool = True  # False: the property reports what it sees and fails nothing

    def __str__(self) -> str:
        return f"{self.contract} {self.title} ({self.claim})"


def claims(statement: Statement) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a plain test as checking ``statement``; an ImplementationFailure in it becomes a
    violation of that statement. The test takes the ``dropout_target`` and ``dropout_run``
    fixtures."""

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        wanted = {"dropout_target", "dropout_run"} - set(inspect.signature(test).parameters)
        if wanted:
            raise TypeError(f"{test.__name__} claims {statement} but takes no {' or '.join(sorted(wanted))}")

        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return test(*args, **kwargs)
            except NotSupported as error:
                pytest.skip(f"not supported: {error}")
            except ImplementationFailure as failure:
                raise violation(kwargs["dropout_run"], statement, kwargs["dropout_target"],
                                expected=failure.expected, seen=str(failure)) from None

        marked: Callable[..., Any] = getattr(pytest.mark, STATEMENT_MARKER)(statement)(wrapper)
        return marked

    return decorate


# ---------------------------------------------------------------------------- the running example


def begin_example(run: Run, case: Case) -> None:
    run.test.case = case
    run.channel.emit("example", id=run.test.nodeid, example=case.describe())


def skip_unjudged(run: Run, target: Target, dtype: torch.dtype, p: float, what: str = "values") -> bool:
    """The one rule of every exact check (``values.unjudged``): note the corner, judge nothing."""
    reason = unjudged(target.kind, dtype, target.keep_probability(p))
    if reason is None:
        return False
    run.note(f"{target.spec}: {str(dtype).removeprefix('torch.')} at p={p!r}: {reason}; {what} not judged")
    return True


def reproduce_command(run: Run) -> str:
    """The command that replays the running test alone, from where the user ran the suite."""
    config, test = run.settings, run.test
    if config.via_cli:
        return config.command(spec=test.spec or None, selector=test.name or None)
    return config.command(spec=test.spec or None, location=test.location or None)


# ---------------------------------------------------------------------------- failing well


class PropertyViolation(AssertionError):
    """A contract point does not hold for the implementation; carries the evidence as data."""

    def __init__(self, statement: Statement, spec: str, *, expected: str, seen: str, case: Case | None,
                 results: Sequence[Decision], extra: str, reproduce: str, device: str) -> None:
        self.statement = statement
        self.device = device
        self.spec = spec
        self.expected = expected
        self.seen = seen
        self.case = case
        self.results = list(results)
        self.extra = extra
        self.reproduce = reproduce
        super().__init__(self.text())

    def headline(self) -> str:
        return f"{self.statement} does not hold for {self.spec}"

    def text(self) -> str:
        lines = [self.headline(), f"  expected: {self.expected}", f"  seen:     {self.seen}"]
        for result in self.results:
            lines += ["  " + line for line in result.describe().splitlines()]
        if self.extra:
            lines += ["  " + line for line in self.extra.splitlines()]
        if self.case is not None:
            lines.append(f"  example:  {self.case.describe()} device={self.device}")
        lines.append(f"  reproduce: {self.reproduce}")
        return "\n".join(lines)


def violation(
    run: Run,
    statement: Statement,
    target: Target | None,
    *,
    expected: str,
    seen: str,
    case: Case | None = None,
    result: Decision | None = None,
    extra: str = "",
) -> PropertyViolation:
    """A failure with everything needed to understand and replay it."""
    spec = target.spec if target is not None else run.test.spec
    return PropertyViolation(statement, spec, expected=expected, seen=seen, case=case or run.test.case,
                             results=[result] if result is not None else [], extra=extra,
                             reproduce=reproduce_command(run), device=run.device)


def check_result(run: Run, statement: Statement, target: Target, result: Decision, case: Case, expected: str,
                 extra: str = "", seen: str | None = None) -> None:
    """Record the decision; raise a PropertyViolation when it rejects H0."""
    run.record(result)
    if result.rejected:
        raise violation(
            run, statement, target, expected=expected,
            seen=seen or f"{result.estimate:.6g}" + (f" ({result.interval or 'CI'}: [{result.ci[0]:.6g}, "
                                                     f"{result.ci[1]:.6g}])"
                                             if math.isfinite(result.ci[0]) or math.isfinite(result.ci[1]) else ""),
            case=case, result=result, extra=extra,
        )


# ---------------------------------------------------------------------------- seeding and calling


@contextlib.contextmanager
def seeded(run: Run, seed: int) -> Iterator[None]:
    """Seed torch (CPU and the run's device) inside fork_rng; restore the caller's RNG after.

    Python's ``random`` and NumPy's global generator are seeded from the example's seed too, and
    restored after: an implementation that seeds itself from them (keras layers draw their
    seed from ``random`` when built) then gets one seed per example, as it would get one per
    program run. Left alone, every example would start from the one state Hypothesis gives
    ``random``, and two examples would repeat each other's masks."""
    device = torch.device(run.device)
    devices = [device.index or 0] if device.type == "cuda" else []
    python_state, numpy_state = random.getstate(), numpy.random.get_state()
    try:
        with torch.random.fork_rng(devices=devices, device_type=device.type if device.type != "cpu" else "cuda"):
            torch.manual_seed(seed % (2**63))
            random.seed(seed)
            numpy.random.seed(seed % (2**32))
            yield
    finally:
        random.setstate(python_state)
        numpy.random.set_state(numpy_state)


def calls_for(samples: int, per_call: int) -> int:
    """Calls needed to reach ``samples`` decisions with ``per_call`` decisions a call."""
    return max(1, math.ceil(samples / max(per_call, 1)))


def checked_output(target: Target, x: torch.Tensor, p: float, **keywords: Any) -> torch.Tensor:
    """Call the target and check the result is usable: a tensor of x's shape on x's device."""
    y = target.call(x, p, **keywords)
    _check_usable(target, x, y)
    return y


def _check_usable(target: Target, x: torch.Tensor, y: torch.Tensor) -> None:
    if y.shape != x.shape:
        raise ImplementationFailure(
            f"{target.spec} returned shape {tuple(y.shape)} for an input of shape {tuple(x.shape)}")
    if y.device != x.device:
        raise ImplementationFailure(f"{target.spec} returned a tensor on {y.device} for an input on {x.device}")


SUPPORT = Statement("C2", "support", "each element is the kept or the dropped value")
SHARED = Statement("C2", "support", "every element of a unit shares its decision")


def sample_units(
    run: Run,
    target: Target,
    case: Case,
    calls: int,
    consume: Callable[[int, torch.Tensor], bool | None],
    x: torch.Tensor | None = None,
    checked: bool = True,
) -> int:
    """Call the target up to ``calls`` times on the case's input; hand the unit keep decisions
    to ``consume`` a batch of calls at a time.

    ``consume(first, keeps)`` gets the index of the batch's first call and a bool tensor of
    shape ``(calls in the batch, *unit shape)``: each call's keep decision of every unit
    (``kinds``). Batches hold 1, 2, 4, ... calls, fixed in advance (``fixed_chunks``), so a
    sequential consumer stops at the same call on any machine under any load. The RNG is
    seeded once from the case, then advances from call to call as it would in training. A
    consumer that returns True stops the sampling (a sequential test that has decided).
    Returns the number of calls consumed.

    Every output is also checked against C2 (each element the kept or the dropped value), and
    every mask is cut in windows to find reuse anywhere in the run (``Run.masks_for``), unless
    ``checked`` is False: the --time mode checks one round in TIMED_CHECK_EVERY, since its rounds
    exist to count decisions fast (every other statistical property checks every call).
    """
    if x is None:
        x = case.make_input(run.device)
    keep = target.keep_probability(case.p)
    kind = target.kind
    units = max(kind.unit_count(tuple(x.shape)), 1)
    support = SupportCheck(kind, x, keep) if checked and unjudged(kind, x.dtype, keep) is None else None
    registry = run.masks_for(target.spec)
    hashed = registry.window(keep, units) is not None
    origin = Origin(case.seed, run.test.name, case.describe())
    elementwise = kind.unit_dims(x.dim()) == x.dim()
    done = 0
    max_batch = max(1, min(4096, (1 << 20) // max(x.numel(), 1)))
    with seeded(run, case.seed), torch.no_grad():
        batches = target.call_batches(x, case.p, calls, lambda y: _check_usable(target, x, y), max_batch=max_batch)
        for batch in fixed_chunks(batches, max_batch):
            outputs = torch.stack(batch)
            if support is not None and checked:
                _check_values(run, target, support, outputs, done, case)
                _check_shared(run, target, outputs, keep, x.dim(), done, case)
            keeps = kind.unit_keeps(outputs, keep, ndim=x.dim())
            if hashed and checked:
                registry.add(keep, origin, done, memory_sequence(keeps, x, elementwise).cpu().numpy())
            stop = consume(done, keeps)
            done += len(batch)
            if stop:
                return done
    if support is not None and support.float32_p_only:
        run.note(f"{target.spec}: {FLOAT32_P_NOTE}")
    return done


def fixed_chunks(batches: Iterable[list[T]], largest: int) -> Iterator[list[T]]:
    """Regroup ``batches`` into chunks of 1, 2, 4, ... ``largest``, ``largest``, ... items.

    ``Target.call_batches`` sizes its batches by the clock (a batch grows while it takes under
    50 ms, so that it stays far inside the time limit of one call). A sequential test that
    looked at each batch would stop at a call that depends on the machine's load, and the same
    command would report other sample counts and p-values. The consumer looks at these chunks
    instead, whose boundaries are fixed in advance: what it sees, and where it stops, depend
    on the calls' results alone. Calls made past the stop are discarded unseen.
    """
    size = 1
    pending: list[T] = []
    for batch in batches:
        pending.extend(batch)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
            size = min(2 * size, largest)
    if pending:
        yield pending


def check_outputs(run: Run, target: Target, support: SupportCheck, outputs: torch.Tensor, first: int,
                  case: Case) -> None:
    """C2 on a batch of outputs (calls, *x's shape) of one input, calls first, first + 1, ...:
    what ``sample_units`` does for every call, for properties that call the target themselves."""
    _check_values(run, target, support, outputs, first, case)
    _check_shared(run, target, outputs, support.keep, support.x.dim(), first, case)


def _check_values(run: Run, target: Target, support: SupportCheck, outputs: torch.Tensor, first: int,
                  case: Case) -> None:
    bad = support.bad(outputs)
    if bool(bad.any()):
        call = int(torch.nonzero(bad.reshape(bad.shape[0], -1).any(1))[0])
        report = support.report(outputs[call])
        raise violation(run, SUPPORT, target, case=case,
                        expected=f"every element the kept or the dropped value ({target.kind.values.describe()})",
                        seen=f"in call {first + call} of this statistical property: {report.describe()}",
                        extra=f"(found while {run.test.name or 'a statistical property'} ran: every call a "
                              "statistical property makes is checked against C2 first)")


def _check_shared(run: Run, target: Target, outputs: torch.Tensor, keep: float, ndim: int, first: int,
                  case: Case) -> None:
    """Every element of a unit shares the unit's decision, in every call (C2). The statistics
    read a unit's decision from its first element, so without this an elementwise dropout
    declared (or mistaken) as channel dropout would pass them on first elements alone. Exact:
    C2's values were checked first, and inputs keep a kept value apart from the dropped one."""
    kind = target.kind
    if not kind.multi_element_units:
        return
    mixed, index = kind.layout.disagreeing_units(kind.element_keeps(outputs, keep), ndim)
    if mixed:
        raise violation(run, SHARED, target, case=case, expected=f"one decision per {kind.unit}",
                        seen=f"in call {first + index[0]} of this statistical property, unit {index[1:]} has kept "
                             f"and dropped elements ({mixed} such units in {outputs.shape[0]} calls of "
                             f"{kind.unit_count(tuple(outputs.shape[1:]))} units)",
                        extra=f"(found while {run.test.name or 'a statistical property'} ran: every call a "
                              "statistical property makes is checked against C2 first)")


# ---------------------------------------------------------------------------- property builders

CaseStrategy = Callable[[Kind], st.SearchStrategy[Case]]
CaseExamples = Callable[[Kind], Sequence[Case]]
Applies = Callable[[Target], str | None]


def _example_seed(run_seed: int, test_name: str) -> int:
    """Hypothesis seed of one property: fixed by the run seed and the property's name, so one
    property run alone replays exactly the examples it saw in the whole run."""
    digest = hashlib.sha256(f"{run_seed}:{test_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


Body = Callable[[Run, Target, Case], None]


def _property(statement: Statement, strategy: CaseStrategy, examples: CaseExamples,
              max_examples: Callable[[Run, Kind], int],
              applies: Applies | None, expensive: bool, designed_count: Callable[[Run], int] | None
              ) -> Callable[[Body], Callable[..., Any]]:
    def decorate(body: Body) -> Callable[..., Any]:
        def test(dropout_target: Target, dropout_run: Run) -> None:
            if applies is not None:
                reason = applies(dropout_target)
                if reason:
                    pytest.skip(f"n/a: {reason}")
            designed = list(examples(dropout_target.kind))
            if designed_count is not None:  # a statistical check: the level's share of its designs
                designed = designed[: designed_count(dropout_run)]
            _run_examples(dropout_run, dropout_target, body, statement, strategy(dropout_target.kind), designed,
                          max_examples(dropout_run, dropout_target.kind), expensive)

        test.__name__ = body.__name__
        test.__qualname__ = body.__qualname__
        test.__doc__ = body.__doc__
        test.__module__ = body.__module__
        test.body = body  # type: ignore[attr-defined]  # one example, for the suite's own tests
        marked: Callable[..., Any] = getattr(pytest.mark, STATEMENT_MARKER)(statement)(test)
        return marked

    return decorate


def _run_examples(run: Run, target: Target, body: Body, statement: Statement,
                  strategy: st.SearchStrategy[Case], designed: Sequence[Case], generated: int,
                  expensive: bool) -> None:
    ran: list[Case] = []
    unsupported: list[str] = []

    def run_one(case: Case) -> None:
        verified = target.verified_dtype(case.dtype)  # the dtypes it declares, or --dtype's
        if verified != case.dtype:
            case = dataclasses.replace(case, dtype=verified)
        begin_example(run, case)
        ran.append(case)
        try:
            body(run, target, case)
        except NotSupported as error:  # the kernel has no implementation for this input: no verdict
            unsupported.append(f"{case.describe()}: {error}")
        except ImplementationFailure as failure:
            raise violation(run, statement, target, expected=failure.expected,
                            seen=str(failure), case=case) from None

    phases = [Phase.explicit]
    if generated > 0:
        phases.append(Phase.generate)
        if not expensive:  # a statistical example costs thousands of calls: report it as found
            phases.append(Phase.shrink)
    test = hypothesis.given(case=strategy)(run_one)
    for case in reversed(designed):
        test = hypothesis.example(case=case)(test)
    test = hypothesis.seed(_example_seed(run.seed, body.__name__))(test)
    test = hypothesis.settings(
        max_examples=max(generated, 1), database=None, deadline=None, print_blob=False,
        report_multiple_bugs=False, suppress_health_check=list(HealthCheck), phases=phases,
        verbosity=Verbosity.quiet, derandomize=False,
    )(test)
    test()
    if unsupported:
        if len(unsupported) == len(ran):  # not one example had a kernel: no verdict at all
            pytest.skip(f"not supported for any example: {unsupported[0]}")
        run.note(f"{target.spec}: not supported for {len(unsupported)} of {len(ran)} examples of "
                 f"{run.test.name}, e.g. {unsupported[0]}")


def statistical(check: str, statement: Statement, *, cases: CaseStrategy, examples: CaseExamples,
                applies: Applies | None = None) -> Callable[[Body], Callable[..., Any]]:
    """A statistical property: the level's generated examples for ``check`` plus its share of
    the designed ones (``levels.CHECKS`` counts both, for the budget).

    A kind that decides once per call (whole-call drop-path) runs the designed examples
    only: each of its decisions costs a call, and one designed example at the level's
    sample size already takes seconds.
    """
    counted = CHECKS[check]

    def generated(run: Run, kind: Kind) -> int:
        return 0 if kind.one_decision_per_call else counted.generated[run.level]

    return _property(statement, cases, examples, generated, applies, expensive=True,
                     designed_count=lambda run: counted.designed_count(run.level, run.device))


def exact(statement: Statement, *, cases: CaseStrategy, examples: CaseExamples = lambda kind: (),
          applies: Applies | None = None) -> Callable[[Body], Callable[..., Any]]:
    """An exact (non-statistical) property: the level's contract example count plus designed ones."""
    return _property(statement, cases, examples, lambda run, kind: run.effects.contract_examples, applies,
                     expensive=False, designed_count=None)
