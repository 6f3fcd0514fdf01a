"""Reports machines and people can read, progress, and Ctrl-C.

--report writes report.json (documented schema, versioned), report.md (also appended to
$GITHUB_STEP_SUMMARY), junit.xml with the contract message, and a plot per failed statistical
decision; results are data, and every failure's evidence is readable (no exception groups,
no internal frames, no Hypothesis boilerplate). Ctrl-C prints the verdicts reached so far,
marked interrupted, and exits 2.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from dropout_verify.cli import Progress
from tests.helpers import ROOT, dropout_check, environment, pytest_run, read_report

pytestmark = pytest.mark.subprocess

SPECS = ("tests.mutants:first_element_always_kept", "torch.nn.functional:dropout")
SELECT = "test_positions_share_one_keep_rate or test_support or test_invalid_probability"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    summary = folder / "summary.md"
    summary.write_text("# earlier steps\n")
    finished = dropout_check(*SPECS, "--level", "quick", "-k", SELECT, "--report", str(folder / "out"),
                             GITHUB_STEP_SUMMARY=str(summary))
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    return folder / "out", finished.stdout, summary


def test_report_json_follows_its_schema(reports: tuple[Path, str, Path]) -> None:
    folder, _, _ = reports
    report = read_report(folder)
    assert report["schema"] == "dropout-verify/report" and report["schema_version"] == 2
    assert report["run"]["exit_code"] == 1 and report["run"]["level"] == "quick"
    for key in ("specs", "seed", "alpha", "decisions", "alpha_per_decision", "effects", "command", "seconds"):
        assert key in report["run"], key
    assert "torch" in report["environment"]
    first, second = report["implementations"]
    assert first["spec"] == SPECS[0] and first["verdict"] == "FAIL" and second["verdict"] == "pass"
    failed = next(p for p in first["properties"] if p["property"] == "test_positions_share_one_keep_rate")
    assert failed["verdict"] == "FAIL" and failed["contract"] == "C5"
    assert failed["reproduce"].startswith("dropout-check tests.mutants:first_element_always_kept")
    assert failed["example"]["dtype"] in ("float32", "float64", "float16", "bfloat16")
    decision = next(d for d in failed["decisions"] if d["rejected"])
    for key in ("statistic", "pvalue", "log_pvalue", "alpha", "samples", "estimate", "expected", "ci", "evidence"):
        assert key in decision, key
    assert decision["log_pvalue"] < __import__("math").log(decision["alpha"])
    passing = next(p for p in second["properties"] if p["property"] == "test_positions_share_one_keep_rate")
    assert passing["decisions"] and not any(d["rejected"] for d in passing["decisions"])  # evidence of passes too
    assert decision["evidence"] and len(decision["evidence"]["position"]) > 256  # a failure keeps all it has
    every = [d for i in report["implementations"] for p in i["properties"] for d in p["decisions"]]
    assert all(d["rejected"] or sum(len(v) for v in d["evidence"].values()) <= 256 for d in every)
    variants = next(p for p in first["properties"] if p["property"] == "test_invalid_probability_is_rejected")
    assert {v["variant"] for v in variants["variants"]} == {"-0.1", "1.5", "nan", "inf", "-inf"}


def test_markdown_junit_and_plots(reports: tuple[Path, str, Path]) -> None:
    folder, _, summary = reports
    markdown = (folder / "report.md").read_text()
    assert "| property | [1] | [2] |" in markdown and "**FAIL**" in markdown
    assert "C5 homogeneity" in markdown and "```" in markdown
    assert summary.read_text().startswith("# earlier steps\n# dropout-verify report")
    suites = ElementTree.parse(folder / "junit.xml").getroot()
    failure = next(case.find("failure") for case in suites.iter("testcase")
                   if case.get("name") == "test_positions_share_one_keep_rate" and case.find("failure") is not None)
    assert failure.get("message", "").startswith("C5 homogeneity (every unit position kept at rate 1-p) does not hold")
    plots = list((folder / "plots").glob("*.png"))
    assert plots and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in plots)


def test_evidence_is_readable(reports: tuple[Path, str, Path]) -> None:
    _, out, _ = reports
    evidence = out.split("Evidence")[1]
    for noise in ("ExceptionGroup", "Traceback", "Falsifying example", "hypothesis", "dropout_verify/harness.py",
                  "You can reproduce"):
        assert noise not in evidence, noise
    assert "expected:" in evidence and "seen:" in evidence and "p-value" in evidence and "reproduce:" in evidence


def test_pytest_option_writes_the_same_reports(tmp_path: Path) -> None:
    finished = pytest_run("properties", "--dropout-impl", SPECS[0], "--dropout-level", "quick", "-k",
                          "test_positions_share_one_keep_rate", "--dropout-report", str(tmp_path))
    assert finished.returncode == 1
    report = read_report(tmp_path)
    assert report["implementations"][0]["verdict"] == "FAIL"
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.md").exists()


def test_interrupt_prints_the_verdicts_so_far_and_exits_2() -> None:
    process = subprocess.Popen([sys.executable, "-m", "dropout_verify", "torch.nn.functional:dropout",
                                "dropout_impl:dropout_mask", "--level", "standard"], cwd=ROOT, env=environment(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               # As at a terminal: a shell's background job inherits SIGINT ignored.
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(12)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, (out[-2000:], err[-2000:])
    assert "interrupted" in out and "not run" in out and "(Ctrl-C)" in out
    assert "Traceback" not in err


def test_progress_line_on_a_terminal_and_a_line_per_property_in_a_log() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, said = Terminal(), []
    for live in (True, False):
        progress = Progress(2, live=live, say=said.append, stream=terminal)
        progress.plan("a:b", 1, 10)
        progress.event("test_start", {"spec": "a:b", "property": "test_keep_rate"})
        progress.event("outcome", {"outcome": {"implementation": "a:b", "property": "test_keep_rate",
                                               "contract": "C3", "title": "keep rate", "verdict": "pass",
                                               "seconds": 1.25}})
        for _ in range(3):  # a hang: the rest is not run, said once
            progress.event("outcome", {"outcome": {"implementation": "a:b", "property": "test_x",
                                                   "verdict": "not run", "reason": "hung in test_y"}})
        progress.clear()
    assert "[1/2] a:b: 0/10 properties, running test_keep_rate" in terminal.getvalue()
    assert "\r" in terminal.getvalue()
    assert said == ["dropout: [1/2] a:b 1/10  C3 keep rate  test_keep_rate  pass  (1.2 s)",
                    "dropout: [1/2] a:b: the 9 remaining property cases are not run (hung in test_y)"]




def test_properties_the_kernel_cannot_run_are_not_called_verified() -> None:
    """A kernel with no implementation for any input of a property (an attention backend on a
    machine without it) gets no failure, and no pass either: "not verified", exit status 3."""
    from dropout_verify.render import verdict_line
    from dropout_verify.reports import markdown
    from dropout_verify.results import ImplementationResult, PropertyOutcome, RunReport

    def outcome(name: str, verdict: str) -> PropertyOutcome:
        return PropertyOutcome("kernel:flash", name, "C3", "keep rate", "claim", verdict)

    outcomes = [outcome("test_contract", "pass"), outcome("test_keep_rate", "not supported"),
                outcome("test_support", "not supported")]
    kernel = ImplementationResult("kernel:flash", "attention", outcomes=outcomes)
    report = RunReport(settings={"level": "quick", "seed": 0}, implementations=[kernel])
    assert (kernel.verdict, report.exit_code) == ("not verified", 3)
    assert kernel.unsupported == ["test_keep_rate", "test_support"]
    assert verdict_line(report).startswith("not verified: nothing fails; not supported by the kernel here, so not "
                                           "verified: [1] 2 properties")
    assert "**not verified** (2 properties not supported by the kernel here)" in markdown(report)
    failing = ImplementationResult("other:f", outcomes=[outcome("test_keep_rate", "FAIL")])
    assert RunReport(settings={}, implementations=[kernel, failing]).exit_code == 1  # a failure outranks it
    kernel.outcomes = kernel.outcomes[:1]
    assert (kernel.verdict, report.exit_code, verdict_line(report)) == ("pass", 0, "all properties hold")


def test_a_reader_that_goes_away_changes_no_verdict(tmp_path: Path) -> None:
    """``dropout-check ... | head -2``: the pipe closes before the report is printed. A green run
    still exits 0 (not 1, "a property failed"), with no traceback, and still writes its reports."""
    process = subprocess.Popen([sys.executable, "-m", "dropout_verify", "torch.nn.functional:dropout", "--level",
                                "quick", "-k", "test_support", "--report", str(tmp_path)], cwd=ROOT,
                               env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the run prints anything: every write meets a closed pipe
    errors = process.stderr.read().decode()
    assert process.wait(timeout=600) == 0, errors[-3000:]
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors[-3000:]
    assert read_report(tmp_path)["run"]["exit_code"] == 0


def test_missing_plots_are_said_on_the_console(tmp_path: Path) -> None:
    """Without matplotlib a failure's plots are skipped: the console says so, not just a file."""
    fake = tmp_path / "no_matplotlib" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('matplotlib is not installed here')\n")
    finished = dropout_check("tests.mutants:first_element_always_kept", "--level", "quick",
                             "-k", "test_positions_share_one_keep_rate", "--report", str(tmp_path / "out"),
                             PYTHONPATH=f"{fake.parent}{os.pathsep}{ROOT}")
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert (tmp_path / "out" / "plots-skipped.txt").is_file()
    assert "(no evidence plots: they need matplotlib, pip install 'dropout-verify[plots]')" in finished.stdout


def test_a_wrong_value_found_by_another_property_is_named_as_c2(tmp_path: Path) -> None:
    """Every call of a statistical property is checked against C2 first: a missing rescale then
    fails the C6 pair test too. Its row says "FAIL (C2)", not a bare FAIL that reads as a
    correlation bug."""
    finished = dropout_check("tests.mutants:no_rescale", "--level", "quick", "-k", "test_pairs or test_support",
                             "--report", str(tmp_path))
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    (implementation,) = read_report(tmp_path)["implementations"]
    found = {p["property"]: (p["verdict"], p["violated"]) for p in implementation["properties"]}
    assert found["test_support"] == ("FAIL", "") and found["test_pairs_uncorrelated"] == ("FAIL", "C2")
    row = next(line for line in finished.stdout.splitlines()
               if "test_pairs_uncorrelated" in line and not line.startswith("dropout: ["))  # the table's row
    assert row.startswith("C6 independence") and row.split()[-2:] == ["FAIL", "(C2)"], row
    assert "**FAIL (C2)**" in (tmp_path / "report.md").read_text()


def test_a_rate_off_everywhere_points_the_value_check_at_c3(tmp_path: Path) -> None:
    """The value-dependence check (C5) also rejects a keep rate off q in every group; its detail
    says so, pointing at C3, instead of implying the rate depends on x."""
    (tmp_path / "biased.py").write_text(
        "import torch\n\n\ndef drops_five_percent_more(x, p, training=True):\n"
        "    if not training or p == 0:\n        return x\n"
        "    keep = torch.rand(x.shape, device=x.device) >= min(1.0, p * 1.05)\n"
        "    return torch.where(keep, x / (1 - p), torch.zeros_like(x))\n")
    finished = dropout_check("biased.py:drops_five_percent_more", "--level", "quick", "-k",
                             "test_keep_rate_independent_of_x", cwd=tmp_path)
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "the keep rate is off everywhere, see C3 keep rate" in finished.stdout, finished.stdout[-3000:]
    assert "the most extreme group's CI at 1 - alpha/8" in finished.stdout


def test_statistical_calls_check_that_units_share_their_decision(tmp_path: Path) -> None:
    """The statistics read a unit's decision from its first element. An elementwise dropout run as
    channel dropout must not pass them on first elements alone: every call they make is checked
    for one decision per unit (C2), as the contract says."""
    finished = dropout_check("torch.nn.functional:dropout", "--kind", "channel2d", "--level", "quick",
                             "-k", "test_pairs_uncorrelated", "--report", str(tmp_path))
    assert finished.returncode == 1, finished.stdout[-3000:] + finished.stderr[-3000:]
    (outcome,) = read_report(tmp_path)["implementations"][0]["properties"]
    assert (outcome["verdict"], outcome["violated"]) == ("FAIL", "C2")
    assert "every element of a unit shares its decision" in outcome["reason"]
    assert "has kept and dropped elements" in outcome["seen"]


def test_a_raise_under_the_default_kind_says_how_to_declare_one(tmp_path: Path) -> None:
    """A channel dropout verified without its kind is fed 0-D and 1-D inputs and raises: the
    failure says the kind defaulted to elementwise and how to declare it; with --kind it does not."""
    (tmp_path / "mydrop.py").write_text(
        "import torch\n\n\ndef plain_dropout2d(x, p=0.5, training=True):\n"
        "    if x.dim() < 2:\n        raise ValueError(f'need at least 2-D input, got shape {tuple(x.shape)}')\n"
        "    return torch.nn.functional.dropout2d(x, p, training)\n")
    hint = "the kind was not declared, so this was verified as elementwise dropout"
    undeclared = dropout_check("mydrop:plain_dropout2d", "--level", "quick", "-k", "test_contract", cwd=tmp_path)
    assert undeclared.returncode == 1 and hint in undeclared.stdout, undeclared.stdout[-3000:]
    declared = dropout_check("mydrop:plain_dropout2d", "--kind", "channel2d", "--level", "quick", "-k",
                             "test_contract", cwd=tmp_path)
    assert declared.returncode == 0 and hint not in declared.stdout, declared.stdout[-3000:]


def test_where_to_start_names_the_failures_others_can_follow_from() -> None:
    from dropout_verify.render import where_to_start
    from dropout_verify.results import ImplementationResult, PropertyOutcome

    def failed(name: str, contract: str, violated: str = "") -> PropertyOutcome:
        return PropertyOutcome("k:f", name, contract, "t", "c", "FAIL", violated=violated)

    correlated = ImplementationResult("k:f", outcomes=[failed("test_keep_rate", "C3"),
                                                       failed("test_pairs_uncorrelated", "C6")])
    assert where_to_start(correlated).startswith("start with C6 (independence): the binomial laws of C3 assume")
    wrong_values = ImplementationResult("k:f", outcomes=[failed("test_support", "C2"),
                                                         failed("test_pairs_uncorrelated", "C6", violated="C2")])
    assert where_to_start(wrong_values) == ("start with C2 (values): every call of a statistical property is "
                                            "checked against it first")
    assert where_to_start(ImplementationResult("k:f", outcomes=[failed("test_keep_rate", "C3")])) == ""
    biased = ImplementationResult("k:f", outcomes=[failed("test_keep_rate", "C3"),
                                                   failed("test_kept_count_dispersion", "C6")])
    assert where_to_start(biased).startswith("start with C3 (keep rate): a rate off 1-p also raises C6's dispersion")
