"""The watch slot: how a worker tells its supervisor that a call is in progress, and since when.

The slot is a 24-byte file mapped into both processes: the worker writes the monotonic time
at which a call of the implementation started (0 between calls), a call counter and the call's
time limit (the run's, or longer for the scale tier's large calls). The
supervisor reads it a few times a second; a call older than the time limit is a hang, and
the supervisor ends the worker from outside. That works whatever the call is doing: a Python
loop, a ``sleep`` in C, a deadlock in a kernel. ``time.monotonic`` is the system-wide
CLOCK_MONOTONIC on Linux and macOS, the same clock in both processes.

No torch here: the supervisor imports this module.
"""

from __future__ import annotations

import mmap
import os
import struct
import time

__all__ = ["SLOT_SIZE", "WatchSlot"]

_LAYOUT = struct.Struct("<dQd")  # started (0.0: no call), calls so far, this call's time limit
SLOT_SIZE = _LAYOUT.size


class WatchSlot:
    """One mapped slot; the worker calls :meth:`enter`/:meth:`leave`, the supervisor :meth:`read`."""

    def __init__(self, path: str, *, create: bool = False) -> None:
        self.path = path
        flags = os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0)
        fd = os.open(path, flags, 0o600)
        try:
            if create:
                os.write(fd, b"\0" * SLOT_SIZE)
            self._map = mmap.mmap(fd, SLOT_SIZE)
        finally:
            os.close(fd)
        self._calls = 0

    def enter(self, limit_s: float = 0.0) -> None:
        self._calls += 1
        _LAYOUT.pack_into(self._map, 0, time.monotonic(), self._calls, limit_s)

    def leave(self) -> None:
        _LAYOUT.pack_into(self._map, 0, 0.0, self._calls, 0.0)

    def read(self) -> tuple[float, int]:
        """(seconds the current call has run, or 0.0 between calls; calls so far)."""
        started, calls, _ = _LAYOUT.unpack_from(self._map, 0)
        return (time.monotonic() - started if started > 0 else 0.0), calls

    def limit(self) -> float:
        """The current call's time limit (0.0: the run's)."""
        return float(_LAYOUT.unpack_from(self._map, 0)[2])

    def close(self) -> None:
        self._map.close()
