"""One run of the property suite in one process, as one object: settings, the running test's
record, the masks seen, the guard around every call, and the channel to a supervisor.

The pytest plugin builds a :class:`Run` in ``pytest_configure`` and keeps it in
``config.stash``; properties receive it through the ``dropout_run`` fixture, and the harness
functions take it as their first argument. Nothing about a run lives in module globals, so
two runs in one process (pytester, a notebook) cannot see each other's decisions, masks or
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import RunConfig
from .events import Channel
from .guard import CallGuard
from .levels import Effects
from .masks import MaskRegistry
from .stats import Decision
from .strategies import Case

if TYPE_CHECKING:
    from .scale import ScaleSample

__all__ = ["Run", "TestContext"]


@dataclass
class TestContext:
    """What the running test has done so far: begun by the plugin, filled by the harness."""

    nodeid: str = ""
    name: str = ""
    spec: str = ""
    location: tuple[str, ...] = ()  # the test as the reproduce command names it (pytest runs)
    decisions: list[Decision] = field(default_factory=list)  # every decision, passing ones too
    notes: list[str] = field(default_factory=list)  # reported, not judged
    case: Case | None = None  # the example running now


@dataclass
class Run:
    """Everything one run of the suite holds (see the module docstring)."""

    settings: RunConfig
    guard: CallGuard = field(default_factory=CallGuard)
    channel: Channel = field(default_factory=Channel)
    test: TestContext = field(default_factory=TestContext)
    masks: dict[str, MaskRegistry] = field(default_factory=dict)
    scale: dict[tuple[str, Case], ScaleSample] = field(default_factory=dict)  # large calls, shared by properties

    # The settings a property reads most, by name.
    @property
    def device(self) -> str:
        return self.settings.device

    @property
    def level(self) -> str:
        return self.settings.level

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def effects(self) -> Effects:
        return self.settings.effects

    @property
    def alpha_decision(self) -> float:
        """The false-alarm budget of one statistical decision: alpha / K (``levels``)."""
        return self.settings.alpha_decision

    @property
    def time(self) -> float | None:
        return self.settings.time

    def begin_test(self, nodeid: str, name: str, spec: str, location: tuple[str, ...]) -> TestContext:
        """A new test starts: a fresh record (the plugin calls this in its setup)."""
        self.test = TestContext(nodeid, name, spec, location)
        return self.test

    def record(self, result: Decision) -> Decision:
        """Keep a decision for the report (passing decisions too: their p-values are evidence)."""
        self.test.decisions.append(result)
        return result

    def note(self, text: str) -> None:
        """Something reported, not judged (a non-finite input's fate, an ambiguity resolved)."""
        if text not in self.test.notes:
            self.test.notes.append(text)

    def masks_for(self, spec: str) -> MaskRegistry:
        """The masks implementation ``spec`` produced so far in this run (C6: no repeats)."""
        return self.masks.setdefault(spec, MaskRegistry())
