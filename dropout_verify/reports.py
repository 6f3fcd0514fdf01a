"""Report files: report.json, report.md, junit.xml and evidence plots, all from one RunReport.

``write_reports(report, folder)`` writes them (plots need matplotlib, the ``plots`` extra)
and appends report.md to ``$GITHUB_STEP_SUMMARY`` when that is set. The JSON schema is
documented in dropout_verify/docs/REPORT.md. No torch here.
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .render import LEGEND, FollowOns, grouped_rows, verdict_line, where_to_start
from .results import PropertyOutcome, RunReport

__all__ = ["junit_xml", "markdown", "plot_evidence", "write_reports"]


def markdown(report: RunReport) -> str:
    """The verdict table and the evidence, ready for a CI page."""
    s = report.settings
    lines = [
        "# dropout-verify report",
        "",
        f"Level **{s.get('level')}**, seed {s.get('seed')}, false-alarm budget {s.get('alpha', 0):g} per "
        f"implementation ({s.get('decisions')} decisions, alpha {s.get('alpha_per_decision', 0):.3g} each), "
        f"device {s.get('device')}. Verdict: **{verdict_line(report)}**.",
        "",
        f"Reproduce: `{s.get('command', '')}`",
        "",
    ]
    for index, result in enumerate(report.implementations, 1):
        unverified = f" ({len(result.unsupported)} properties not supported by the kernel here)" \
            if result.unsupported else ""
        lines.append(f"- [{index}] `{result.spec}` (kind {result.kind}): **{result.verdict}**{unverified}, "
                     f"{result.seconds:.1f} s")
    header = "| contract | property | " + " | ".join(f"[{i}]" for i in range(1, len(report.implementations) + 1)) + " |"
    lines += ["", header, "|---" * (len(report.implementations) + 2) + "|"]
    for row in grouped_rows(report):
        if isinstance(row, FollowOns):
            shown = [f"**{c}**" if c.startswith("FAIL") else c for c in row.cells]
            lines.append(f"| follow-ons of {row.root} | {', '.join(row.properties)} | " + " | ".join(shown) + " |")
            continue
        outcome, cells = row
        shown = [f"**{c}**" if c.startswith("FAIL") else c for c in cells]
        lines.append(f"| {outcome.label} | {outcome.property} | " + " | ".join(shown) + " |")
    lines += ["", f"_{LEGEND}_"]
    findings = [(r.spec, f) for r in report.implementations for f in r.findings]
    if findings:
        lines += ["", "## Findings", ""] + [f"- `{spec}`: {f}" for spec, f in findings]
    starts = [(r.spec, where_to_start(r)) for r in report.implementations if where_to_start(r)]
    if starts:
        lines += ["", "## Where to start", ""] + [f"- `{spec}`: {hint}" for spec, hint in starts]
    failures = [o for r in report.implementations for o in r.outcomes if o.verdict == "FAIL"]
    if failures:
        lines += ["", "## Evidence"]
        for outcome in failures:
            lines += ["", f"### {outcome.property} — `{outcome.implementation}`", "", "```",
                      outcome.message or outcome.reason, "```"]
    return "\n".join(lines) + "\n"


# A property not run (after a hang, a lost worker, an interrupt) is counted as skipped, with
# its reason: the failure that caused it is counted once, where it happened.
_SKIPPED = ("n/a", "not supported", "not run")


def junit_xml(report: RunReport) -> str:
    """One testsuite per implementation, one testcase per property; failures carry the contract message."""
    suites = ElementTree.Element("testsuites", name="dropout-verify")
    for result in report.implementations:
        suite = ElementTree.SubElement(
            suites, "testsuite", name=result.spec, tests=str(len(result.outcomes)),
            failures=str(sum(o.verdict == "FAIL" for o in result.outcomes)),
            skipped=str(sum(o.verdict in _SKIPPED for o in result.outcomes)),
            time=f"{result.seconds:.3f}",
        )
        for outcome in result.outcomes:
            case = ElementTree.SubElement(suite, "testcase", classname=result.spec, name=outcome.property,
                                          time=f"{outcome.seconds:.3f}")
            properties = ElementTree.SubElement(case, "properties")
            ElementTree.SubElement(properties, "property", name="contract", value=outcome.label)
            for decision in outcome.decisions:
                ElementTree.SubElement(properties, "property", name=f"pvalue: {decision.name}",
                                       value=f"{decision.pvalue:.6g} (alpha {decision.alpha:.3g})")
            if outcome.verdict == "FAIL":
                failure = ElementTree.SubElement(case, "failure", message=outcome.reason or outcome.verdict)
                failure.text = outcome.message or outcome.reason
            elif outcome.verdict in _SKIPPED:
                ElementTree.SubElement(case, "skipped", message=f"{outcome.verdict}: {outcome.reason}")
            if outcome.notes:
                ElementTree.SubElement(case, "system-out").text = "\n".join(outcome.notes)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80]


def plot_evidence(outcome: PropertyOutcome, folder: Path) -> list[Path]:
    """One PNG per failed decision that carries evidence arrays (first array: the x axis)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    written = []
    for number, decision in enumerate(outcome.decisions):
        if not decision.rejected or not decision.evidence:
            continue
        names = list(decision.evidence)
        x_name, series = names[0], names[1:]
        figure, axes = pyplot.subplots(figsize=(8, 4.5))
        for name in series:
            style = "-" if name in ("expected", "low", "high", "bound", "lower bound", "upper bound") else "o-"
            axes.plot(decision.evidence[x_name], decision.evidence[name], style, label=name, markersize=3)
        axes.set_xlabel(x_name)
        axes.set_title(f"{outcome.label}: {decision.name}\n{outcome.implementation}", fontsize=10)
        axes.legend()
        axes.grid(alpha=0.3)
        path = folder / f"{_slug(outcome.implementation)}__{outcome.property}__{number}.png"
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        pyplot.close(figure)
        written.append(path)
    return written


def write_reports(report: RunReport, folder: Path) -> list[Path]:
    """Write every report into ``folder`` (created if needed); return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("report.json", json.dumps(report.to_json(), indent=2) + "\n"),
                       ("report.md", markdown(report)), ("junit.xml", junit_xml(report))):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    failures = [o for r in report.implementations for o in r.outcomes if o.verdict == "FAIL"
                and any(d.rejected and d.evidence for d in o.decisions)]
    if failures:
        try:
            import matplotlib  # noqa: F401 - only to know whether plots can be drawn
        except ImportError:
            note = folder / "plots-skipped.txt"
            note.write_text("Evidence plots need matplotlib: pip install 'dropout-verify[plots]'\n")
            written.append(note)
        else:
            plots = folder / "plots"
            plots.mkdir(exist_ok=True)
            for outcome in failures:
                written += plot_evidence(outcome, plots)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        # Checked before the run (destinations); if it went away since, the verdict still stands.
        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown(report))
        except OSError as error:
            print(f"dropout: could not append the report to $GITHUB_STEP_SUMMARY ({summary}): "
                  f"{error.strerror or error}", file=sys.stderr)
    return written
