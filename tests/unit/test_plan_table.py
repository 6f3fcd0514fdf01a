"""dropout_verify.plan_table: the shipped table is current, its answers are the planners' own,
and a tabled planner answers from it, computes what it lacks, and records while recording."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dropout_verify import plan_table, power
from dropout_verify.stats.quantisation import ProbeGroup

REGENERATE = "the planners' source changed: rerun python tools/make_plan_table.py"


def shipped() -> dict[str, Any]:
    content: dict[str, Any] = json.loads(plan_table.TABLE.read_text())
    return content


def compute(call: str) -> Any:
    """The answer of the planner call a key names, computed (past the lru_cache and the table)."""
    name = call[: call.index("(")]
    planner = getattr(power, name).__wrapped__.__wrapped__
    return eval(call, {name: planner, "ProbeGroup": ProbeGroup})  # the key is the call, as repr wrote it


def test_the_shipped_table_is_from_this_source() -> None:
    assert shipped()["fingerprint"] == plan_table.source_fingerprint(), REGENERATE
    assert plan_table.table() == shipped()["plans"]


@pytest.mark.slow
def test_the_shipped_answers_are_what_the_planners_compute() -> None:
    """A table answer is used in place of the planner's. Every answer of the cheap planners,
    and every third (in key order) of the pair and alpha-moment planners, about 0.2 to 0.6 s
    each: about 10 s in all (all of them: 30 s). A planner whose code changed is caught by the
    fingerprint; this catches an answer that differs here, e.g. under another SciPy."""
    wrong = {}
    costly = ("_pair_calls(", "moments_samples(")
    ordered = sorted(shipped()["plans"].items())
    sample = [(call, answer) for index, (call, answer) in enumerate(ordered)
              if not call.startswith(costly) or index % 3 == 0]
    for call, answer in sample:
        computed = compute(call)
        if (tuple(answer) if isinstance(answer, list) else answer) != computed:
            wrong[call] = (answer, computed)
    assert not wrong, f"{REGENERATE}: {len(wrong)} answers differ, e.g. {next(iter(wrong.items()))}"


def test_a_tabled_planner_answers_from_the_table_computes_the_rest_and_records(
        monkeypatch: pytest.MonkeyPatch) -> None:
    computed: list[tuple[Any, ...]] = []

    def planner(rate: float, sizes: tuple[int, ...], fine: bool = False) -> tuple[int, ...]:
        computed.append((rate, sizes, fine))
        return (len(sizes), int(fine))

    listed = plan_table.key("planner", (0.1, (4, 5)), {})
    assert listed == "planner(0.1, (4, 5))"
    monkeypatch.setattr(plan_table, "table", lambda: {listed: [7, 7]})
    tabled = plan_table.tabled(planner)
    assert tabled(0.1, (4, 5)) == (7, 7) and not computed  # JSON's list given back as the planner's tuple
    assert tabled(0.1, (4, 5), fine=True) == (2, 1) and computed == [(0.1, (4, 5), True)]  # keyword: its own key
    assert tabled(0.1 + 2**-56, (4, 5)) == (2, 0)  # the next float: another key (repr round-trips)
    with plan_table.recording() as answers:
        assert tabled(0.1, (4, 5)) == (2, 0)  # recording computes, never reads the table
    assert answers == {listed: (2, 0)}
    assert tabled(0.1, (4, 5)) == (7, 7)  # recording ended: the table again


def test_a_table_of_other_planner_code_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    stale = tmp_path / "plan_table.json"
    stale.write_text(json.dumps({"fingerprint": "0" * 64, "plans": {"planner(1,)": 2}}))
    monkeypatch.setattr(plan_table, "TABLE", stale)
    plan_table.table.cache_clear()
    try:
        assert plan_table.table() == {}
    finally:
        plan_table.table.cache_clear()
