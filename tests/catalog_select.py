"""A pytest plugin for the catalog runs: each mutant runs only the property meant to catch it.

``run_suite(..., only={spec: [property, ...]})`` loads it (``-p tests.catalog_select``) and
names a JSON file of that mapping in ``CATALOG_ONLY``. An implementation named there keeps
only those properties; every other one (the correct variants) keeps every property. The CI
catalogs assert that each mutant fails its meant property; which other properties each one
fails is the mutation-score benchmark's table (benchmarks/bench_mutation_score.py runs all).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    only: dict[str, list[str]] = json.loads(Path(os.environ["CATALOG_ONLY"]).read_text())
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("dropout_target") if callspec is not None else None
        wanted = only.get(target.spec) if target is not None else None
        (kept if wanted is None or getattr(item, "originalname", item.name) in wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
