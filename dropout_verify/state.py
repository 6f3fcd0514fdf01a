"""torch's process-wide state: read it before and after each call, undo what a call changed.

A dropout that calls ``torch.set_grad_enabled(False)`` or ``torch.set_default_dtype(...)``
changes every later computation in the process: the suite's own checks, and any other
implementation verified in the same process. The harness snapshots this state around every
call of an implementation; a difference is a finding about that implementation, and is
undone before anything else runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["StateChange", "restore", "snapshot", "state_fields"]


@dataclass(frozen=True)
class _Field:
    name: str
    get: Callable[[], Any]
    set: Callable[[Any], None] | None  # None: cannot be undone from outside (reported as such)


def _cudnn_get() -> tuple[bool, bool, bool, bool]:
    b = torch.backends.cudnn
    return (bool(b.enabled), bool(b.benchmark), bool(b.deterministic), bool(b.allow_tf32))


def _cudnn_set(value: tuple[bool, bool, bool, bool]) -> None:
    for name, flag in zip(("enabled", "benchmark", "deterministic", "allow_tf32"), value):
        setattr(torch.backends.cudnn, name, flag)


def _grad_set(value: bool) -> None:
    torch.set_grad_enabled(value)


def _matmul_tf32_set(value: bool) -> None:
    torch.backends.cuda.matmul.allow_tf32 = value


def _mkldnn_set(value: bool) -> None:
    setattr(torch.backends.mkldnn, "enabled", value)  # noqa: B010 - typed as a context property


def _candidates() -> list[_Field]:
    return [
        _Field("grad mode", torch.is_grad_enabled, _grad_set),
        _Field("inference mode", torch.is_inference_mode_enabled, None),
        _Field("default dtype", torch.get_default_dtype, torch.set_default_dtype),
        _Field("default device", lambda: str(torch.get_default_device()), torch.set_default_device),
        _Field("deterministic algorithms (enabled, warn only)",
               lambda: (torch.are_deterministic_algorithms_enabled(),
                        torch.is_deterministic_algorithms_warn_only_enabled()),
               lambda v: torch.use_deterministic_algorithms(v[0], warn_only=v[1])),
        _Field("intra-op threads", torch.get_num_threads, torch.set_num_threads),
        _Field("inter-op threads", torch.get_num_interop_threads, None),
        _Field("anomaly mode (enabled, check nan)",
               lambda: (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()),
               lambda v: torch.set_anomaly_enabled(v[0], v[1])),
        _Field("autocast (cpu)", lambda: torch.is_autocast_enabled("cpu"),
               lambda v: torch.set_autocast_enabled("cpu", v)),
        _Field("autocast (cuda)", lambda: torch.is_autocast_enabled("cuda"),
               lambda v: torch.set_autocast_enabled("cuda", v)),
        _Field("float32 matmul precision", torch.get_float32_matmul_precision, torch.set_float32_matmul_precision),
        _Field("cuda matmul allow_tf32", lambda: bool(torch.backends.cuda.matmul.allow_tf32), _matmul_tf32_set),
        _Field("cudnn (enabled, benchmark, deterministic, allow_tf32)", _cudnn_get, _cudnn_set),
        _Field("mkldnn enabled", lambda: bool(torch.backends.mkldnn.enabled), _mkldnn_set),
        _Field("warn always", torch.is_warn_always_enabled, torch.set_warn_always),
    ]


_FIELDS: list[_Field] | None = None


def state_fields() -> list[_Field]:
    """The fields this torch can read (older releases lack some getters)."""
    global _FIELDS
    if _FIELDS is None:
        fields = []
        for candidate in _candidates():
            try:
                candidate.get()
            except Exception:  # noqa: BLE001 - a getter this torch lacks: not watched
                continue
            fields.append(candidate)
        _FIELDS = fields
    return _FIELDS


def snapshot() -> tuple[Any, ...]:
    """The current value of every watched field (cheap: about a microsecond)."""
    return tuple(f.get() for f in state_fields())


@dataclass(frozen=True)
class StateChange:
    """One field a call changed: from what, to what, and whether the suite could undo it."""

    field: str
    before: str
    after: str
    undone: bool

    def describe(self) -> str:
        undo = "" if self.undone else " (could not be undone)"
        return f"{self.field}: {self.before} -> {self.after}{undo}"


def restore(before: tuple[Any, ...], after: tuple[Any, ...]) -> list[StateChange]:
    """Set every field that differs back to its ``before`` value; return what changed."""
    changes = []
    for field_, old, new in zip(state_fields(), before, after):
        if old == new:
            continue
        undone = False
        if field_.set is not None:
            try:
                field_.set(old)
                undone = field_.get() == old
            except Exception:  # noqa: BLE001 - reported as not undone
                undone = False
        changes.append(StateChange(field_.name, repr(old), repr(new), undone))
    return changes
