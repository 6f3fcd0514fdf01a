"""Results as data: one :class:`PropertyOutcome` per (implementation, property), one report per run.

Tests produce these objects (the plugin builds them from each test's recorded decisions and
its :class:`~dropout_verify.harness.PropertyViolation`), workers send them to the supervisor
as JSON, and every rendering (the terminal table, report.json, report.md, JUnit XML, plots)
is made from them. Nothing is parsed back from test ids or exception text.

The JSON form is documented in dropout_verify/docs/REPORT.md; ``SCHEMA_VERSION`` changes with any
incompatible change to it. No torch here.
"""

from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from .decision import Decision

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "VERDICTS",
    "Decision",
    "ImplementationResult",
    "ImplementationVerdict",
    "PropertyOutcome",
    "RunReport",
    "StateChange",
    "Verdict",
    "implementation_findings",
    "merge_outcomes",
    "state_findings",
]

SCHEMA = "dropout-verify/report"
SCHEMA_VERSION = 2  # 2: a passing decision keeps only small evidence (docs/REPORT.md)
# pass: holds; FAIL: does not (a crash or hang included); n/a: not exercised for this
# implementation (no such keyword, or not a property of its kind); not supported: the kernel
# has no implementation for the inputs (attention backends); info: reported, not judged;
# not run: the worker was lost or the run interrupted before it ran.
Verdict = Literal["pass", "FAIL", "n/a", "not supported", "info", "not run"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
# An implementation's verdict: FAIL (a property failed or was not run), interrupted, "not
# verified" (nothing failed, but some property ran for no input), or pass.
ImplementationVerdict = Literal["pass", "FAIL", "interrupted", "not verified"]


@dataclass
class StateChange:
    """Calls of an implementation that changed torch's global state in one way (undone after
    each call, judged under C1): the change, how many calls made it, and the first of them."""

    change: str  # "grad mode True -> False"
    calls: int
    first_call: str  # "f(x: float32 (64,), p=0.5)"

    def describe(self) -> str:
        calls = "1 call" if self.calls == 1 else f"{self.calls} calls"
        return f"{calls} changed torch's global state: {self.change} (the first: {self.first_call})"


def state_findings(changes: list[StateChange]) -> list[StateChange]:
    """The same changes merged (counts added, the first call kept), in the order first seen:
    a grad-mode change in every call is one finding, not one line per call."""
    merged: dict[str, StateChange] = {}
    for change in changes:
        known = merged.get(change.change)
        if known is None:
            merged[change.change] = StateChange(change.change, change.calls, change.first_call)
        else:
            known.calls += change.calls
    return list(merged.values())


@dataclass
class PropertyOutcome:
    """The verdict of one property for one implementation, with its evidence."""

    implementation: str
    property: str  # the test function, e.g. "test_keep_rate"
    contract: str  # "C3"
    title: str  # "keep rate"
    claim: str  # "kept units ~ Binomial(n, 1-p)"
    verdict: Verdict
    reason: str = ""  # why n/a, not supported or not run; the headline of a failure
    expected: str = ""
    seen: str = ""
    message: str = ""  # the full evidence text a person reads
    decisions: list[Decision] = field(default_factory=list)
    example: dict[str, Any] | None = None
    reproduce: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # reported, not judged
    variant: str = ""  # the parametrised case (e.g. "nan" for p = NaN), "" when there is one
    variants: list[dict[str, str]] = field(default_factory=list)  # each case's verdict, once merged
    # The contract point found not to hold when it is not the property's own: every call a
    # statistical property makes is checked against C2 first, so a wrong value fails C6's
    # pair test as "C2". Empty otherwise.
    violated: str = ""
    state_changes: list[StateChange] = field(default_factory=list)  # torch's global state, changed by calls

    @classmethod
    def not_run(cls, implementation: str, property: str, contract: str, title: str, claim: str, variant: str,
                reason: str) -> PropertyOutcome:
        """A property the run never reached (a hang, a lost worker, an interrupt, pytest's -x)."""
        return cls(implementation=implementation, property=property, contract=contract, title=title, claim=claim,
                   verdict="not run", reason=reason, message=f"not run: {reason}", variant=variant)

    @builtins.property  # "property" is a field of this class
    def label(self) -> str:
        return f"{self.contract} {self.title}".strip()

    @builtins.property
    def cell(self) -> str:
        """The verdict as a table shows it: "FAIL (C2)" when another contract point failed."""
        return f"{self.verdict} ({self.violated})" if self.verdict == "FAIL" and self.violated else self.verdict

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["decisions"] = [d.to_json() for d in self.decisions]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyOutcome:
        fields = dict(data)
        fields["decisions"] = [Decision.from_json(d) for d in data.get("decisions", [])]
        fields["state_changes"] = [StateChange(**c) for c in data.get("state_changes", [])]
        return cls(**fields)


# Which verdict a property gets when its parametrised cases differ: the most severe.
_SEVERITY = {"FAIL": 5, "not run": 4, "pass": 3, "info": 2, "not supported": 1, "n/a": 0}


def merge_outcomes(outcomes: list[PropertyOutcome]) -> list[PropertyOutcome]:
    """One outcome per (implementation, property): parametrised cases (p = NaN, float16 at
    p = 1e-7, ...) merged, the most severe verdict winning, every case kept in ``variants``."""
    groups: dict[tuple[str, str], list[PropertyOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.implementation, outcome.property), []).append(outcome)
    merged = []
    for group in groups.values():
        if len(group) == 1 and not group[0].variant:
            merged.append(group[0])
            continue
        worst = max(group, key=lambda o: _SEVERITY.get(o.verdict, 0))
        failing = [o for o in group if o.verdict == worst.verdict]
        combined = PropertyOutcome(**{**worst.__dict__, "decisions": [d for o in group for d in o.decisions],
                                      "notes": list(dict.fromkeys(n for o in group for n in o.notes)),
                                      "state_changes": state_findings([c for o in group for c in o.state_changes]),
                                      "seconds": round(sum(o.seconds for o in group), 3), "variant": ""})
        combined.variants = [{"variant": o.variant, "verdict": o.verdict, "reason": o.reason} for o in group]
        if worst.verdict == "FAIL" and len(failing) > 1:
            others = ", ".join(o.variant for o in failing[1:])
            combined.message = f"{worst.message}\n  (also fails for the cases: {others})"
        merged.append(combined)
    return merged


def implementation_findings(outcomes: list[PropertyOutcome], lost: list[str] | None = None) -> list[str]:
    """An implementation's findings: workers lost, then each distinct change of torch's global
    state its calls made (with their count), over every property."""
    changes = state_findings([c for o in outcomes for c in o.state_changes])
    return list(dict.fromkeys(lost or [])) + [c.describe() for c in changes]


@dataclass
class ImplementationResult:
    """Everything about one implementation: its kind, its properties, findings, time."""

    spec: str
    kind: str = ""
    kind_source: str = ""  # "option", "declared", "torch" or "default"
    outcomes: list[PropertyOutcome] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # lost workers, then global state changes
    seconds: float = 0.0
    interrupted: bool = False

    @classmethod
    def of(cls, spec: str, kind: str, kind_source: str, outcomes: list[PropertyOutcome], *,
           lost: list[str] | None = None, seconds: float | None = None, interrupted: bool = False
           ) -> ImplementationResult:
        """One implementation's result from its properties' outcomes, as both routes build it
        (the pytest plugin from its own outcomes, dropout-check's supervisor from its workers'):
        parametrised cases merged, findings gathered (workers ``lost``, then state changes),
        ``seconds`` the properties' own time unless the caller measured the whole."""
        merged = merge_outcomes(outcomes)
        return cls(spec=spec, kind=kind, kind_source=kind_source, outcomes=merged,
                   findings=implementation_findings(merged, lost=lost),
                   seconds=sum(o.seconds for o in merged) if seconds is None else seconds, interrupted=interrupted)

    @property
    def verdict(self) -> ImplementationVerdict:
        """FAIL, interrupted, "not verified" (nothing failed, but the kernel ran no input of some
        property: a gate must not call that a pass), or pass."""
        if any(o.verdict in ("FAIL", "not run") for o in self.outcomes) or not self.outcomes:
            return "FAIL" if not self.interrupted else "interrupted"
        if self.interrupted:
            return "interrupted"
        return "not verified" if self.unsupported else "pass"

    @property
    def unsupported(self) -> list[str]:
        """Properties the kernel ran for no input at all: not failed, but not verified either."""
        return [o.property for o in self.outcomes if o.verdict == "not supported"]

    def follow_ons(self) -> dict[str, list[str]]:
        """{contract point: the properties that FAIL only because it failed while they ran}:
        e.g. {"C2": ["test_keep_rate", ...]} when wrong values were met in statistical calls."""
        grouped: dict[str, list[str]] = {}
        for outcome in self.outcomes:
            if outcome.verdict == "FAIL" and outcome.violated:
                grouped.setdefault(outcome.violated, []).append(outcome.property)
        return grouped

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "kind": self.kind, "kind_source": self.kind_source, "verdict": self.verdict,
            "seconds": round(self.seconds, 3), "interrupted": self.interrupted, "findings": self.findings,
            "follow_ons": self.follow_ons(),
            "properties": [o.to_json() for o in self.outcomes],
        }


@dataclass
class RunReport:
    """One run: its settings (for the header and reproduction) and every implementation's result."""

    settings: dict[str, Any]
    implementations: list[ImplementationResult]
    interrupted: bool = False
    seconds: float = 0.0
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all pass; 1 a failure; 2 interrupted; 3 nothing failed but something was not verified."""
        if self.interrupted:
            return 2
        verdicts = {r.verdict for r in self.implementations}
        if verdicts <= {"pass"}:
            return 0
        return 3 if verdicts <= {"pass", "not verified"} else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "run": {**self.settings, "seconds": round(self.seconds, 3), "interrupted": self.interrupted,
                    "exit_code": self.exit_code},
            "environment": self.environment,
            "implementations": [r.to_json() for r in self.implementations],
        }
