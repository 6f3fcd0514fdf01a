"""Plans computed ahead: the planners' answers for the examples the levels design.

Planning is exact, and it costs time: a standard run of ``F.dropout`` spends about 4 s of its
30 s in ``power`` (the pair test's plans alone 2.8 s), and every worker process plans afresh.
The answers depend only on the planners' arguments, so ``plan_table.json`` holds them for the
runs ``tools/make_plan_table.py`` makes (every kind of the family at ``quick`` and ``standard``,
the default seed): a planner wrapped in :func:`tabled` looks its arguments up there first and
computes only what the table lacks. A table answer is the planner's own answer, computed by the
same code: no decision changes.

The key is the planner's name and the ``repr`` of its arguments (floats round-trip exactly
through ``repr``; a value whose ``repr`` differs only misses the table). The table is used
only while the source of the planners (``power.py``, ``decision.py``, ``stats/``,
``kinds/base.py``) is the source it was computed from: :func:`source_fingerprint` hashes it,
and a table with another fingerprint is ignored (every plan is computed).
``tests/unit/test_plan_table.py`` fails then, and recomputes a sample of the entries.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["TABLE", "key", "recording", "source_fingerprint", "table", "tabled"]

PACKAGE = Path(__file__).resolve().parent
TABLE = PACKAGE / "plan_table.json"
# The modules whose code decides what a planner answers.
PLANNER_SOURCES = ("power.py", "decision.py", "stats/*.py", "kinds/base.py")

Planner = TypeVar("Planner", bound=Callable[..., Any])

# While recording (``recording``): every answer computed, by key; the table is not consulted.
_recorded: dict[str, Any] | None = None


def source_fingerprint() -> str:
    """SHA-256 of the planners' source files (line endings normalised), in a fixed order."""
    digest = hashlib.sha256()
    for pattern in PLANNER_SOURCES:
        for path in sorted(PACKAGE.glob(pattern)):
            digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


@functools.cache
def table() -> dict[str, Any]:
    """The shipped answers by key, or {} when the file is missing or from other planner code."""
    try:
        content = json.loads(TABLE.read_text())
    except (OSError, ValueError):
        return {}
    if content.get("fingerprint") != source_fingerprint():
        return {}
    return dict(content["plans"])


def key(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The table key of one planner call: its name and the repr of its arguments."""
    return name + repr(args) + (repr(sorted(kwargs.items())) if kwargs else "")


def tabled(planner: Planner) -> Planner:
    """``planner``, answering from the table where it holds the call's key.

    JSON has no tuples: an answer stored as a list is given back as a tuple (the planners that
    answer several numbers answer a tuple)."""

    @functools.wraps(planner)
    def answer(*args: Any, **kwargs: Any) -> Any:
        call = key(planner.__name__, args, kwargs)
        if _recorded is None:
            known = table().get(call)
            if known is not None:
                return tuple(known) if isinstance(known, list) else known
        computed = planner(*args, **kwargs)
        if _recorded is not None:
            _recorded[call] = computed
        return computed

    return answer  # type: ignore[return-value]


@contextmanager
def recording() -> Iterator[dict[str, Any]]:
    """Inside: every planner computes (the table is not read), and the answers are collected in
    the dict yielded, by key (``tools/make_plan_table.py``)."""
    global _recorded
    _recorded = {}
    try:
        yield _recorded
    finally:
        _recorded = None
