"""The worker's side of the channel to its supervisor: one JSON object per line on a pipe.

A :class:`Channel` belongs to a run (``run.Run.channel``): the plugin and the harness emit on
it, so the supervisor learns which property and example is running, and receives each
property's outcome as data, before anything can crash the worker. Outside a worker of
``dropout-check`` the channel has no pipe and emitting does nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["Channel"]


class Channel:
    """Events to the supervisor, on the pipe ``fd`` (None: not a worker, nothing is sent)."""

    def __init__(self, fd: int | None = None) -> None:
        self.fd = fd

    @property
    def connected(self) -> bool:
        return self.fd is not None

    def emit(self, event: str, **data: Any) -> None:
        """Send one event; it is written whole before this returns (the worker may die next)."""
        if self.fd is None:
            return
        payload = (json.dumps({"event": event, **data}, default=str) + "\n").encode()
        view = memoryview(payload)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
