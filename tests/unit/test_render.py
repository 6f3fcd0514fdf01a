"""dropout_verify.render: the verdict line, the verdict table and its sections, where to start."""

from __future__ import annotations

from dropout_verify.render import LEGEND, FollowOns, grouped_rows, rows, text_report, verdict_line, where_to_start
from dropout_verify.results import ImplementationResult, RunReport, StateChange
from tests.unit.builders import SETTINGS, implementation, outcome, sample_report


def run_of(*results: ImplementationResult, named: bool = True, interrupted: bool = False) -> RunReport:
    return RunReport(settings={**SETTINGS, "named": named}, implementations=list(results), interrupted=interrupted)


# verdict_line

def test_all_hold() -> None:
    assert verdict_line(run_of(implementation("a:f", "pass", "n/a"))) == "all properties hold"


def test_all_hold_for_the_built_in_references_says_so() -> None:
    line = verdict_line(run_of(implementation("a:f", "pass"), named=False))
    assert line.startswith("all properties hold (no implementation was named, so only the built-in references")
    assert "DROPOUT_IMPL" in line


def test_not_verified_counts_the_unsupported_properties() -> None:
    line = verdict_line(run_of(implementation("a:f", "pass"), implementation("b:g", "not supported", "not supported")))
    assert line.startswith("not verified: nothing fails; not supported by the kernel here, so not verified: "
                           "[2] 2 properties")


def test_failures_are_counted_over_implementations() -> None:
    report = run_of(implementation("a:f", "FAIL"), implementation("b:g", "pass"), implementation("c:h", "not run"))
    assert verdict_line(report) == "some properties FAIL (2 of 3 implementations)"


def test_interrupted() -> None:
    line = verdict_line(run_of(implementation("a:f", "pass"), interrupted=True))
    assert line.startswith("interrupted: ")


# rows

def test_rows_in_contract_order_with_a_dash_where_a_property_is_missing(report: RunReport) -> None:
    table = [(o.property, cells) for o, cells in rows(report)]
    assert table == [("test_keep_rate", ["pass", "FAIL"]), ("test_gradient", ["pass", "not supported"]),
                     ("test_pairs", ["-", "FAIL (C2)"]), ("test_attention_only", ["n/a", "-"])]


def test_contract_numbers_sort_as_numbers() -> None:
    result = ImplementationResult(spec="a:f", outcomes=[
        outcome("a:f", "test_ten", contract="C10"), outcome("a:f", "test_two", contract="C2"),
        outcome("a:f", "test_other", contract="extra")])
    assert [o.property for o, _ in rows(run_of(result))] == ["test_two", "test_ten", "test_other"]


def test_follow_ons_of_one_point_are_grouped_under_its_rows() -> None:
    spec = "a:f"
    result = ImplementationResult(spec=spec, outcomes=[
        outcome(spec, "test_values", "FAIL", contract="C2", title="support"),
        outcome(spec, "test_keep_rate", "FAIL", violated="C2"),
        outcome(spec, "test_pairs", "FAIL", contract="C6", title="independence", violated="C2"),
        outcome(spec, "test_periods", "FAIL", contract="C6", title="independence", violated="C2"),
        outcome(spec, "test_gradient", "pass", contract="C9", title="gradient")])
    table = grouped_rows(run_of(result))
    assert [row.root if isinstance(row, FollowOns) else row[0].property for row in table] == [
        "test_values", "C2", "test_gradient"]
    group = table[1]
    assert isinstance(group, FollowOns) and group.cells == ["FAIL (C2) x3"]
    assert group.properties == ["test_keep_rate", "test_pairs", "test_periods"]
    text = text_report(run_of(result))
    assert "follow-ons of C2 (3 properties):" in text and "    keep_rate, pairs, periods\n" in text
    assert result.to_json()["follow_ons"] == {"C2": ["test_keep_rate", "test_pairs", "test_periods"]}


def test_a_row_with_a_failure_of_its_own_is_never_grouped() -> None:
    good, bad = (ImplementationResult(spec=s, outcomes=[
        outcome(s, "test_values", "FAIL", contract="C2", title="support"),
        outcome(s, "test_keep_rate", "FAIL", violated="C2" if s == "a:f" else ""),
        outcome(s, "test_pairs", "FAIL", contract="C6", title="independence", violated="C2")]) for s in ("a:f", "b:g"))
    table = grouped_rows(run_of(good, bad))
    assert [row.root if isinstance(row, FollowOns) else row[0].property for row in table] == [
        "test_values", "test_keep_rate", "test_pairs"]  # one follow-on row alone stays a row


# text_report

def test_text_report(report: RunReport) -> None:
    text = text_report(report)
    lines = text.splitlines()
    assert lines[0] == ("dropout: level quick, seed 7; false-alarm budget 1e-06 per implementation over 40 "
                        "decisions (alpha 2.5e-08 each); device cpu")
    assert "  [1] pkg.good:dropout (kind element, declared)" in lines
    assert "  [2] pkg.bad:dropout (kind element, from --kind)" in lines
    assert f"({LEGEND})" in lines
    table = {}
    for line in lines:
        if line.startswith("C"):  # "C3 keep rate    test_keep_rate    pass    FAIL"
            words = line.split()
            at = next(i for i, word in enumerate(words) if word.startswith("test_"))
            table[words[at]] = words[at + 1:]
    assert table == {"test_keep_rate": ["pass", "FAIL"], "test_gradient": ["pass", "not", "supported"],
                     "test_pairs": ["-", "FAIL", "(C2)"], "test_attention_only": ["n/a", "-"]}
    for section, entry in [
        ("Findings (workers lost", "  [2] a call changed torch.get_default_dtype() (undone)"),
        ("Reported, not judged:", "  [2] runs slowly on float64"),
        ("Not judged:", "  [2] test_gradient: not supported: no backward kernel"),
        ("Where to start", "  [2] start with C2 (values): every call of a statistical property is checked against "
                           "it first"),
        ("Evidence (the first failure", "--- test_keep_rate [pkg.bad:dropout]"),
    ]:
        heading = next(i for i, line in enumerate(lines) if line.startswith(section))
        assert entry in lines[heading:], section
    assert "keep rate off: 0.4 against 0.5" in lines and "value 3.0 where 2.0 was expected" in lines


def test_n_a_is_listed_only_when_verbose(report: RunReport) -> None:
    entry = "  [1] test_attention_only: n/a: not a property of kind element"
    assert entry not in text_report(report).splitlines()
    assert entry in text_report(report, verbose=True).splitlines()


def test_without_header() -> None:
    first = text_report(sample_report(), header=False).splitlines()[0]
    assert first == "  [1] pkg.good:dropout (kind element, declared)"


def test_a_passing_run_has_no_sections() -> None:
    text = text_report(run_of(implementation("a:f", "pass", "pass")))
    for section in ("Findings", "Reported, not judged", "Not judged", "Where to start", "Evidence"):
        assert section not in text


def test_many_unexercised_properties_are_one_line() -> None:
    text = text_report(run_of(implementation("a:f", "pass", "not run", "not run", "not run", "not run")))
    [line] = [line for line in text.splitlines() if "not run" in line and line.startswith("  [1]")]
    assert line.startswith("  [1] not run (4 properties: p1, p2, p3, p4); the first: ")


# where_to_start

def test_no_hint_for_a_single_failure() -> None:
    assert where_to_start(ImplementationResult(spec="a:f", outcomes=[outcome("a:f", verdict="FAIL", contract="C2")])) \
        == ""


def test_correlation_explains_keep_rate_failures() -> None:
    result = ImplementationResult(spec="a:f", outcomes=[
        outcome("a:f", "test_keep_rate", "FAIL", contract="C3"),
        outcome("a:f", "test_pairs", "FAIL", contract="C6")])
    hint = where_to_start(result)
    assert hint.startswith("start with C6 (independence): the binomial laws of ")
    assert "C3" in hint or "keep rate" in hint


def test_a_wrong_rate_explains_the_dispersion_failure() -> None:
    result = ImplementationResult(spec="a:f", outcomes=[
        outcome("a:f", "test_keep_rate", "FAIL", contract="C3"),
        outcome("a:f", "test_kept_count_dispersion", "FAIL", contract="C6")])
    assert where_to_start(result).startswith("start with C3 (keep rate): a rate off 1-p also raises C6's dispersion")


def test_a_wrong_rate_explains_the_position_sign_and_grid_failures() -> None:
    """A plain rate bias fails the position, sign/size and quantisation checks too: one cause."""
    result = ImplementationResult(spec="a:f", outcomes=[
        outcome("a:f", "test_keep_rate", "FAIL", contract="C3"),
        outcome("a:f", "test_positions_share_one_keep_rate", "FAIL", contract="C5"),
        outcome("a:f", "test_keep_probability_not_quantised", "FAIL", contract="C3")])
    hint = where_to_start(result)
    assert hint.startswith("start with C3 (keep rate): a rate off 1-p also fails C5's position")
    assert "quantisation probes" in hint and "dispersion" not in hint


def test_grad_mode_turned_off_explains_the_gradient_failures() -> None:
    changed = StateChange("grad mode: True -> False", 20, "a:f(x, 0.5)")
    result = ImplementationResult(spec="a:f", outcomes=[
        outcome("a:f", "test_contract", "pass", contract="C1", state_changes=[changed]),
        outcome("a:f", "test_p_one", "FAIL", contract="C7"),
        outcome("a:f", "test_gradient_matches_forward_mask", "FAIL", contract="C9")])
    assert where_to_start(result).startswith("start with C1 (global state): calls turned grad mode off")
    result.outcomes[0].state_changes = [StateChange("default dtype: float32 -> float64", 1, "a:f(x, 0.5)")]
    assert "grad mode" not in where_to_start(result)
