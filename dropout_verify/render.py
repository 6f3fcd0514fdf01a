"""Text renderings of a :class:`~dropout_verify.results.RunReport`: the verdict table and the evidence.

Used by ``dropout-check`` and by the pytest plugin's summary; the Markdown report is built
from the same rows. No torch here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .results import ImplementationResult, PropertyOutcome, RunReport

__all__ = ["LEGEND", "FollowOns", "grouped_rows", "rows", "text_report", "verdict_line", "where_to_start"]

LEGEND = ("pass: the property holds; FAIL: it does not (a crash or hang included); FAIL (C2): what failed is "
          "contract point C2, found while this property ran (rows where every failure is such a follow-on are "
          "grouped under C2); n/a: not a property of this "
          "implementation (its kind, or a keyword it lacks); not supported: the kernel ran no input of it here; "
          "info: reported, not judged; not run: the run never reached it (a hang, a lost worker, an interrupt)")
_CONTRACT = re.compile(r"^C(\d+)$")


def _order(outcome: PropertyOutcome) -> tuple[int, str, str]:
    match = _CONTRACT.match(outcome.contract)
    return (int(match.group(1)) if match else 99, outcome.title, outcome.property)


def rows(report: RunReport) -> list[tuple[PropertyOutcome, list[str]]]:
    """One row per property (in contract order): a representative outcome and each
    implementation's verdict ("-" where an implementation has no such property)."""
    first: dict[str, PropertyOutcome] = {}
    for result in report.implementations:
        for outcome in result.outcomes:
            first.setdefault(outcome.property, outcome)
    table = []
    for name, outcome in sorted(first.items(), key=lambda item: _order(item[1])):
        cells = []
        for result in report.implementations:
            verdicts = [o.cell for o in result.outcomes if o.property == name]
            cells.append(verdicts[0] if verdicts else "-")
        table.append((outcome, cells))
    return table


def label(outcome: PropertyOutcome) -> str:
    return f"{outcome.label[:24]:<24} {outcome.property}"


@dataclass(frozen=True)
class FollowOns:
    """Properties that FAIL only because another contract point (``root``) failed while they
    ran: one line of the table, placed after the root's own rows, instead of one row each."""

    root: str  # "C2"
    properties: list[str]
    cells: list[str]  # per implementation: "FAIL (C2) x3", or "-"

    @property
    def label(self) -> str:
        return f"  follow-ons of {self.root} ({len(self.properties)} properties):"

    @property
    def names(self) -> str:
        return ", ".join(p.removeprefix("test_") for p in self.properties)


def _follow_on_only(cells: list[str]) -> str | None:
    """The root contract point when every failing cell of a row is a follow-on of one point."""
    roots = {cell[len("FAIL ("):-1] for cell in cells if cell.startswith("FAIL (")}
    if len(roots) != 1 or any(cell == "FAIL" or cell == "not run" for cell in cells):
        return None
    return roots.pop()


def grouped_rows(report: RunReport) -> list[tuple[PropertyOutcome, list[str]] | FollowOns]:
    """:func:`rows`, with the properties that fail only as follow-ons of one contract point
    (every statistical call is checked against C2 first) grouped into one line under the
    root's own rows: the table leads with the cause, not with ten rows of its echo."""
    table = rows(report)
    groups: dict[str, list[tuple[PropertyOutcome, list[str]]]] = {}
    kept: list[tuple[PropertyOutcome, list[str]]] = []
    for outcome, cells in table:
        root = _follow_on_only(cells)
        if root is None:
            kept.append((outcome, cells))
        else:
            groups.setdefault(root, []).append((outcome, cells))
    result: list[tuple[PropertyOutcome, list[str]] | FollowOns] = []
    pending = dict(groups)
    for root, members in groups.items():
        if len(members) < 2:  # one follow-on row is clearer as it is
            kept.append(members[0])
            del pending[root]
    kept.sort(key=lambda row: _order(row[0]))
    lines = [_group(root, members, len(report.implementations)) for root, members in pending.items()]
    placed = set()
    for index, (outcome, cells) in enumerate(kept):
        result.append((outcome, cells))
        after = kept[index + 1][0].contract if index + 1 < len(kept) else None
        for line in lines:
            if line.root == outcome.contract and after != line.root and line.root not in placed:
                result.append(line)
                placed.add(line.root)
    # A root with no row of its own (C2 broken only inside statistical calls) leads the table.
    return [line for line in lines if line.root not in placed] + result


def _group(root: str, members: list[tuple[PropertyOutcome, list[str]]], count: int) -> FollowOns:
    cells = []
    for column in range(count):
        failing = sum(cells_[column].startswith("FAIL") for _, cells_ in members)
        cells.append(f"FAIL ({root}) x{failing}" if failing else "-")
    return FollowOns(root=root, properties=[outcome.property for outcome, _ in members], cells=cells)


def _targets(report: RunReport) -> list[str]:
    lines = []
    for index, result in enumerate(report.implementations, 1):
        source = {"option": "from --kind", "declared": "declared", "torch": "torch's own",
                  "default": "default"}.get(result.kind_source, result.kind_source)
        kind = f" (kind {result.kind}, {source})" if result.kind else ""
        lines.append(f"  [{index}] {result.spec}{kind}")
    return lines


def verdict_line(report: RunReport) -> str:
    failing = [r for r in report.implementations if r.verdict not in ("pass", "not verified")]
    if report.interrupted:
        return "interrupted: the verdicts above are those reached before the interruption"
    # A property no input of which the kernel runs is not a failure, and not a pass either
    # (exit status 3): say which, and how to leave it out knowingly.
    index = {r.spec: i for i, r in enumerate(report.implementations, 1)}
    unverified = "; ".join(f"[{index[r.spec]}] {len(r.unsupported)} properties" for r in report.implementations
                           if r.unsupported)
    unverified = (f"; not supported by the kernel here, so not verified: {unverified} (listed under 'Not judged'; "
                  "-k deselects them)") if unverified else ""
    if not failing:
        named = "" if report.settings.get("named", True) else (
            " (no implementation was named, so only the built-in references were verified: give MODULE:ATTR "
            "or set DROPOUT_IMPL to verify yours)")
        if unverified:
            return f"not verified: nothing fails{unverified}"
        return f"all properties hold{named}"
    return f"some properties FAIL ({len(failing)} of {len(report.implementations)} implementations){unverified}"


def text_report(report: RunReport, *, header: bool = True, verbose: bool = False) -> str:
    """The verdict table, findings, notes and the evidence of every failure."""
    out: list[str] = []
    if header and report.settings:
        out += [f"dropout: level {report.settings['level']}, seed {report.settings['seed']}; false-alarm budget "
                f"{report.settings['alpha']:g} per implementation over {report.settings['decisions']} decisions "
                f"(alpha {report.settings['alpha_per_decision']:.3g} each); device {report.settings['device']}", ""]
    out += _targets(report)
    table = grouped_rows(report)
    width = max([len(label(row[0])) for row in table if not isinstance(row, FollowOns)] + [40]) + 2
    count = len(report.implementations)
    head = f"{'property':<{width}}" + "".join(f"[{i}]".ljust(14) for i in range(1, count + 1))
    out += ["", f"({LEGEND})", head, "-" * len(head)]
    for row in table:
        if isinstance(row, FollowOns):
            out.append(f"{row.label:<{width}}" + "".join(cell.ljust(14) for cell in row.cells))
            out.append(f"    {row.names}")
        else:
            out.append(f"{label(row[0]):<{width}}" + "".join(cell.ljust(14) for cell in row[1]))
    out += _sections(report, verbose)
    return "\n".join(out)


# Failures that can follow from another: every statistical call is checked against C2 first; the
# binomial laws of the keep-rate, homogeneity and edge checks assume independent decisions; and
# the dispersion check's statistic, taken about the expected count, also rises with a rate off q.
_STATISTICAL = {"C3": "keep rate", "C5": "homogeneity", "C7": "edges"}
_DISPERSION = "test_kept_count_dispersion"
_QUANTISED = "test_keep_probability_not_quantised"


def where_to_start(result: ImplementationResult) -> str:
    """Which failure to read first when several may share one cause ("" when none do)."""
    failed = [o for o in result.outcomes if o.verdict == "FAIL"]
    points = {o.violated or o.contract for o in failed}
    # Correlation shown by a test that a wrong rate cannot trigger (pairs are conditioned on
    # their margins; periods and repeats are not about the rate).
    correlated = any(o.contract == "C6" and not o.violated and o.property != _DISPERSION for o in failed)
    dispersion = any(o.property == _DISPERSION and not o.violated for o in failed)
    hints = []
    if _turned_gradients_off(result) and any(o.contract == "C9" or o.property == "test_p_one" for o in failed):
        hints.append("C1 (global state): calls turned grad mode off (see the findings), which alone fails the "
                     "gradient checks (C7 at p = 1, C9)")
    if "C2" in points and len(failed) > 1:
        hints.append("C2 (values): every call of a statistical property is checked against it first")
    dependent = sorted(p for p in points if p in _STATISTICAL)
    rate = any(o.property == "test_keep_rate" and not o.violated for o in failed)
    followers = [text for text, present in (
        ("raises C6's dispersion statistic (taken about the expected count), with independent decisions", dispersion),
        ("fails C5's position and sign/size checks (each compares a rate with 1-p)", "C5" in points),
        ("fails the quantisation probes (their rates are compared with 1-p)",
         any(o.property == _QUANTISED and not o.violated for o in failed)),
        ("fails C7's keep rate near the edges", any(o.property == "test_edge_keep_rate" and not o.violated
                                                     for o in failed)),
    ) if present]
    if correlated and (dependent or dispersion):
        hints.append(f"C6 (independence): the binomial laws of {', '.join(dependent) or 'the dispersion check'} "
                     "assume independent decisions, so correlated ones can fail them with a right mean rate")
    elif ("C3" in points and dispersion) or (rate and followers):
        hints.append("C3 (keep rate): a rate off 1-p also " + "; it also ".join(followers))
    return ("start with " + "; then ".join(hints)) if hints else ""


def _turned_gradients_off(result: ImplementationResult) -> bool:
    return any("grad mode: True -> False" in change.change
               for outcome in result.outcomes for change in outcome.state_changes)


def _sections(report: RunReport, verbose: bool) -> list[str]:
    out: list[str] = []
    index = {r.spec: i for i, r in enumerate(report.implementations, 1)}
    findings = [(r, f) for r in report.implementations for f in r.findings]
    if findings:
        out += ["", "Findings (workers lost to a hang or a crash; calls that changed torch's global state, undone at "
                    "once and judged under C1):"]
        out += [f"  [{index[r.spec]}] {f}" for r, f in findings]
    notes = sorted({(index[o.implementation], n) for r in report.implementations for o in r.outcomes
                    for n in o.notes})
    if notes:
        out += ["", "Reported, not judged:"]
        out += [f"  [{i}] {n}" for i, n in notes]
    unexercised = [(r, o) for r in report.implementations for o in r.outcomes
                   if o.verdict in ("n/a", "not supported", "not run") and (verbose or o.verdict != "n/a")]
    if unexercised:
        out += ["", "Not judged:"]
        for result in report.implementations:
            for verdict in ("not run", "not supported", "n/a"):
                mine = [o for r, o in unexercised if r is result and o.verdict == verdict]
                if len(mine) > 3:  # a backend with no kernel here, a lost worker: one line, not twenty
                    names = ", ".join(o.property.removeprefix("test_") for o in mine)
                    out.append(f"  [{index[result.spec]}] {verdict} ({len(mine)} properties: {names}); "
                               f"the first: {mine[0].reason}")
                else:
                    out += [f"  [{index[result.spec]}] {o.property}: {verdict}: {o.reason}" for o in mine]
    starts = [(index[r.spec], where_to_start(r)) for r in report.implementations if where_to_start(r)]
    if starts:
        out += ["", "Where to start (failures that can follow from another):"]
        out += [f"  [{i}] {hint}" for i, hint in starts]
    failures = [o for r in report.implementations for o in r.outcomes if o.verdict == "FAIL"]
    if failures:
        out += ["", "Evidence (the first failure of each property and implementation):"]
        for outcome in failures:
            out += ["", f"--- {outcome.property} [{outcome.implementation}]", outcome.message or outcome.reason]
    return out


def implementation_summary(result: ImplementationResult) -> str:
    failed = sum(o.verdict == "FAIL" for o in result.outcomes)
    return (f"{result.spec}: {len(result.outcomes)} properties, {failed} FAIL, {result.seconds:.1f} s"
            + (" (interrupted)" if result.interrupted else ""))
