"""A pytest plugin for the catalog runs: each mutant runs only the property meant to catch it.

``run_suite(..., only={spec: [property, ...]})`` loads it (``-p tests.catalog_select``) and
names a JSON file of that mapping in ``CATALOG_ONLY``. An implementation named there keeps
only those properties; every other one (the correct variants) keeps every property, but those
named in ``CATALOG_SKIP`` (``run_suite(..., skip=...)``): the scale tier's 2^24-unit call runs
for one correct variant of each kind (``catalog.scale_once_per_kind``). The CI
catalogs assert that each mutant fails its meant property; which other properties each one
fails is the mutation-score benchmark's table (benchmarks/bench_mutation_score.py runs all).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _read(variable: str) -> dict[str, list[str]]:
    path = os.environ.get(variable)
    return json.loads(Path(path).read_text()) if path else {}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    only = _read("CATALOG_ONLY")
    skip = _read("CATALOG_SKIP")  # {spec: [property, ...]}: properties an implementation leaves out
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("dropout_target") if callspec is not None else None
        wanted = only.get(target.spec) if target is not None else None
        unwanted = skip.get(target.spec, []) if target is not None else []
        name = getattr(item, "originalname", item.name)
        (kept if (wanted is None or name in wanted) and name not in unwanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
