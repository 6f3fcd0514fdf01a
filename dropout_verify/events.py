"""The worker's side of the channel to its supervisor: one JSON object per line on a pipe.

The plugin and the harness call :func:`emit` (a no-op outside a worker), so the supervisor
learns which property and example is running, and receives each property's outcome as
data, before anything can crash the worker.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["connect", "connected", "emit"]

_FD: int | None = None


def connect(fd: int) -> None:
    global _FD
    _FD = fd


def connected() -> bool:
    return _FD is not None


def emit(event: str, **data: Any) -> None:
    """Send one event; it is written whole before this returns (the worker may die next)."""
    if _FD is None:
        return
    payload = (json.dumps({"event": event, **data}, default=str) + "\n").encode()
    view = memoryview(payload)
    while view:
        written = os.write(_FD, view)
        view = view[written:]
