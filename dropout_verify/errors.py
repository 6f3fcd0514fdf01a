"""Exceptions an implementation or adapter may raise to speak to the suite (no torch here)."""

from __future__ import annotations

__all__ = ["NotSupported"]


class NotSupported(Exception):
    """The kernel has no implementation for this input (shape, dtype or device).

    Raised by an adapter (``dropout_verify.attention``) when a backend answers "no available
    kernel": the example is reported as "not supported for this input", not counted as a
    contract failure; a property none of whose examples is supported is "not supported".
    """
