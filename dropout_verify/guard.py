"""Every call of an implementation goes through :meth:`CallGuard.call`: a time limit and a state check.

* Time: in a worker started by ``dropout-check`` the call is marked in the watch slot
  (``watch``), and the supervisor ends the worker from outside if the call outlives its
  limit, even when it is blocked in C. Run under plain pytest, a SIGALRM timer interrupts a
  call that runs Python code past the limit (it cannot interrupt one blocked in C: use
  ``dropout-check`` for that).
* State: torch's process-wide state (``state``) is read before and after the call; what the
  call changed is undone at once and recorded as a finding about the implementation.

A :class:`CallGuard` belongs to a run (``run.Run.guard``) and is shared by its targets: it
holds the watch slot, the findings since the plugin last took them, and every finding of the
run by implementation.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import state
from .watch import WatchSlot

__all__ = ["CallGuard", "CallTimeout", "StateFinding"]

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


class CallGuard:
    """The time limit and the state check around every call of the run's implementations."""

    def __init__(self, slot: WatchSlot | None = None) -> None:
        self.slot = slot  # dropout-check's watch slot; None: an in-process alarm
        self._pending: list[StateFinding] = []  # since the last take
        self._by_spec: dict[str, list[StateFinding]] = {}  # every finding of the run, per implementation

    def call(self, call: Callable[[], T], describe: Callable[[], str], limit_s: float) -> T:
        """Run ``call()`` under the time limit and the state check; ``describe()`` names the call."""
        before = state.snapshot()
        try:
            if self.slot is not None:
                self.slot.enter(limit_s)
                try:
                    return call()
                finally:
                    self.slot.leave()
            with _Alarm(limit_s):
                return call()
        finally:
            after = state.snapshot()
            if after != before:
                self._pending.append(StateFinding(describe(), state.restore(before, after)))

    def pending(self) -> list[StateFinding]:
        """The findings recorded since the last take, left in place."""
        return list(self._pending)

    def take_findings(self) -> list[StateFinding]:
        """The findings recorded since the last take (the plugin takes them after each test)."""
        taken, self._pending = self._pending, []
        return taken

    def assign_findings(self, spec: str, taken: list[StateFinding]) -> None:
        self._by_spec.setdefault(spec, []).extend(taken)

    def findings_for(self, spec: str) -> list[StateFinding]:
        """Every state change the implementation ``spec`` made in this run so far."""
        return list(self._by_spec.get(spec, []))


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
