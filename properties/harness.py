"""What every property test shares: seeding, calling the target many times, failing well.

* :func:`seeded` runs a block with torch's RNG seeded from the example's seed, inside
  ``torch.random.fork_rng``: a failing example replays exactly, and the caller's RNG state
  is the same after the suite as before.
* :func:`sample_keeps` calls the implementation repeatedly on one input and hands each
  call's keep indicators (``y != 0``; inputs are never 0) to a consumer.
* :func:`violation` builds the failure a user reads: the contract point, what was expected,
  what was seen, the statistics, the example and one command that reproduces it.
"""

from __future__ import annotations

import contextlib
import math
from typing import Callable, Iterator

import hypothesis
import torch

from .config import current
from .levels import CHECKS
from .stats import TestResult
from .strategies import Case
from .targets import ImplementationFailure, Target

__all__ = [
    "PropertyViolation",
    "calls_for",
    "check_result",
    "checked_output",
    "contract_settings",
    "reproduce_command",
    "sample_keeps",
    "seeded",
    "set_current_test",
    "statistical_settings",
    "violation",
]

_CURRENT_TEST: dict[str, str] = {"selector": "", "name": "", "spec": ""}


class PropertyViolation(AssertionError):
    """A contract point of DESIGN.md section 1 does not hold for the implementation."""


def set_current_test(selector: str, name: str, spec: str) -> None:
    """Called by the plugin before each test, so that failures can name their reproducer."""
    _CURRENT_TEST.update(selector=selector, name=name, spec=spec)


def reproduce_command() -> str:
    config = current()
    test = _CURRENT_TEST
    selector = test["name"] if config.via_cli else test["selector"]
    return config.command(selector or None, test["spec"] or None)


def violation(
    contract: str,
    target: Target,
    *,
    expected: str,
    seen: str,
    case: Case | None = None,
    result: TestResult | None = None,
    extra: str = "",
) -> PropertyViolation:
    """A failure message with everything needed to understand and replay the failure."""
    lines = [
        f"{contract} does not hold for {target.spec}",
        f"  expected: {expected}",
        f"  seen:     {seen}",
    ]
    if result is not None:
        lines += ["  " + line for line in result.describe().splitlines()]
    if extra:
        lines += ["  " + line for line in extra.splitlines()]
    if case is not None:
        lines.append(f"  example:  {case.describe()} device={current().device}")
    lines.append(f"  reproduce: {reproduce_command()}")
    return PropertyViolation("\n".join(lines))


def check_result(contract: str, target: Target, result: TestResult, case: Case, expected: str, extra: str = "") -> None:
    """Raise a PropertyViolation when the statistical decision rejects H0."""
    if result.rejected:
        raise violation(
            contract,
            target,
            expected=expected,
            seen=f"{result.estimate:.6g} (CI [{result.ci[0]:.6g}, {result.ci[1]:.6g}])",
            case=case,
            result=result,
            extra=extra,
        )


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch (CPU and the run's device) inside fork_rng; restore the caller's RNG after."""
    device = torch.device(current().device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if device.type != "cpu" else "cuda"):
        torch.manual_seed(seed % (2**63))
        yield


def calls_for(samples: int, numel: int) -> int:
    """Calls needed to reach ``samples`` element decisions with ``numel`` elements a call."""
    return max(1, math.ceil(samples / max(numel, 1)))


def checked_output(target: Target, x: torch.Tensor, p: float, **keywords: object) -> torch.Tensor:
    """Call the target and check the result is usable: a tensor of x's shape on x's device."""
    y = target.call(x, p, **keywords)
    if y.shape != x.shape:
        raise ImplementationFailure(
            f"{target.spec} returned shape {tuple(y.shape)} for an input of shape {tuple(x.shape)}"
        )
    if y.device != x.device:
        raise ImplementationFailure(f"{target.spec} returned a tensor on {y.device} for an input on {x.device}")
    return y


def sample_keeps(
    target: Target,
    case: Case,
    calls: int,
    consume: Callable[[int, torch.Tensor], bool | None],
    x: torch.Tensor | None = None,
) -> int:
    """Call the target up to ``calls`` times on the case's input; pass (call index, kept) to consume.

    ``kept`` is the bool tensor ``y != 0`` with the input's shape. The RNG is seeded once
    from the case, then advances from call to call as it would in training. A consumer
    that returns True stops the sampling (a sequential test that has decided). Returns the
    number of calls made.
    """
    if x is None:
        x = case.make_input(current().device)
    with seeded(case.seed), torch.no_grad():
        for call in range(calls):
            if consume(call, checked_output(target, x, case.p) != 0):
                return call + 1
    return calls


def statistical_settings(check: str) -> hypothesis.settings:
    """Hypothesis settings of a statistical property: the level's example count for it.

    Read at import (collection) time, after the plugin installed the run's config.
    """
    return hypothesis.settings(max_examples=CHECKS[check].generated[current().level])


def contract_settings() -> hypothesis.settings:
    """Hypothesis settings of an exact (non-statistical) property."""
    return hypothesis.settings(max_examples=current().effects.contract_examples)
