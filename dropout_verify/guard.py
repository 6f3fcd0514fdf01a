"""Every call of an implementation goes through :func:`guarded_call`: a time limit and a state check.

* Time: in a worker started by ``dropout-check`` the call is marked in the watch slot
  (``watch``), and the supervisor ends the worker from outside if the call outlives its
  limit, even when it is blocked in C. Run under plain pytest, a SIGALRM timer interrupts a
  call that runs Python code past the limit (it cannot interrupt one blocked in C: use
  ``dropout-check`` for that).
* State: torch's process-wide state (``state``) is read before and after the call; what the
  call changed is undone at once and recorded as a finding about the implementation.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import state
from .watch import WatchSlot

__all__ = [
    "CallTimeout",
    "StateFinding",
    "assign_findings",
    "findings_for",
    "guarded_call",
    "install_slot",
    "pending",
    "reset",
    "take_findings",
]

T = TypeVar("T")


class CallTimeout(BaseException):
    """Raised by the alarm handler; a BaseException so that an implementation's own
    ``except Exception`` cannot swallow it."""


@dataclass
class StateFinding:
    """A call that changed torch's global state."""

    call: str
    changes: list[state.StateChange] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.call} changed torch's global state: {self.change()}"

    def change(self) -> str:
        return "; ".join(c.describe() for c in self.changes)


_SLOT: WatchSlot | None = None
_FINDINGS: list[StateFinding] = []  # since the last take
_BY_SPEC: dict[str, list[StateFinding]] = {}  # every finding of the run, per implementation


def install_slot(slot: WatchSlot | None) -> None:
    global _SLOT
    _SLOT = slot


def reset() -> None:
    _FINDINGS.clear()
    _BY_SPEC.clear()


def pending() -> list[StateFinding]:
    """The findings recorded since the last take, left in place."""
    return list(_FINDINGS)


def take_findings() -> list[StateFinding]:
    """The findings recorded since the last take (the plugin takes them after each test)."""
    taken = list(_FINDINGS)
    _FINDINGS.clear()
    return taken


def assign_findings(spec: str, taken: list[StateFinding]) -> None:
    _BY_SPEC.setdefault(spec, []).extend(taken)


def findings_for(spec: str) -> list[StateFinding]:
    """Every state change the implementation ``spec`` made in this process so far."""
    return list(_BY_SPEC.get(spec, []))


class _Alarm:
    """Raise CallTimeout in the main thread after ``seconds`` (no-op off the main thread and
    on platforms without SIGALRM)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        self.previous: Any = None

    def __enter__(self) -> None:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _expire(signum: int, frame: object) -> None:
        raise CallTimeout()


def guarded_call(call: Callable[[], T], describe: Callable[[], str], limit_s: float) -> T:
    """Run ``call()`` under the time limit and the state check; ``describe()`` names the call."""
    before = state.snapshot()
    slot = _SLOT
    try:
        if slot is not None:
            slot.enter()
            try:
                return call()
            finally:
                slot.leave()
        with _Alarm(limit_s):
            return call()
    finally:
        after = state.snapshot()
        if after != before:
            _FINDINGS.append(StateFinding(describe(), state.restore(before, after)))
