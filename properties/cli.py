"""``dropout-check``: verify dropout implementations and print a verdict table.

    dropout-check [MODULE:ATTR ...] [--convention drop|keep] [--seed N]
                  [--level quick|standard|thorough] [--alpha A] [--device cpu|cuda]
                  [-k EXPRESSION] [-n WORKERS]

It runs the installed property suite (``properties/``) under pytest with the same options
as ``pytest properties --dropout-...``, then prints one row per property and one column
per implementation, the evidence of every failure, and the commands that reproduce them.
Exit status is pytest's: 0 all properties hold, 1 a property failed, 4 a usage error (a
bad spec, with a did-you-mean).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from .levels import LEVELS
from .plugin import NON_FINITE_KEY

__all__ = ["main"]

PROPERTIES_DIR = Path(__file__).resolve().parent
VERDICT = {"passed": "pass", "failed": "FAIL", "skipped": "n/a"}


class VerdictCollector:
    """A pytest plugin object that keeps each (property, implementation) outcome."""

    def __init__(self) -> None:
        self.outcomes: dict[tuple[str, str], str] = {}
        self.evidence: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.locations: dict[str, str] = {}
        self.notes: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup" and report.passed:
            return
        if report.when == "teardown" and not report.failed:
            return
        function, _, params = report.nodeid.split("::")[-1].partition("[")
        spec = params.rstrip("]").split("-")[0] if params else ""
        key = (function, spec)
        self.locations.setdefault(function, report.nodeid.split("::")[0])
        outcome = report.outcome
        if self.outcomes.get(key) == "failed":
            return
        if outcome == "skipped" and self.outcomes.get(key) == "passed":
            return
        self.outcomes[key] = outcome
        for key_name, note in report.user_properties:
            if key_name == NON_FINITE_KEY:
                self.notes.add(note)
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else str(report.longrepr)
            self.evidence[key].append(text)


def _evidence_text(message: str) -> str:
    """The property's own message, without Hypothesis's trailer (shown by pytest -v)."""
    for marker in ("\n(note:", "\nFalsifying", "\nFailing explicit", "\nYou can reproduce"):
        message = message.split(marker)[0]
    return message.replace("properties.harness.PropertyViolation: ", "").rstrip()


def _contract_number(label: str) -> int:
    """11 for 'C11 bad input ...'; 99 for a label without a contract number."""
    head = label.split()[0]
    return int(head[1:]) if head[:1] == "C" and head[1:].isdigit() else 99


def _property_label(function: str, location: str) -> str:
    """'C3 keep rate' from the test module's docstring ('C3 keep rate: ...')."""
    module_name = "properties." + Path(location).stem
    try:
        doc = importlib.import_module(module_name).__doc__ or ""
    except ImportError:
        doc = ""
    head = doc.strip().split(":")[0] if doc.strip() else Path(location).stem
    return f"{head[:20]:<20} {function}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dropout-check",
        description="Verify dropout implementations against the contract of correct dropout (C1-C11).",
    )
    parser.add_argument("specs", nargs="*", metavar="MODULE:ATTR",
                        help="callables f(x, p, ...) to verify (default: dropout_impl's two and torch.nn.functional:dropout)")
    parser.add_argument("--convention", choices=("drop", "keep"), help="p is the drop (default) or keep probability")
    parser.add_argument("--seed", type=int, help="seed of every example (default 0)")
    parser.add_argument("--level", choices=tuple(LEVELS), help="quick, standard (default) or thorough")
    parser.add_argument("--alpha", type=float, help="false-alarm budget per implementation (default 1e-6)")
    parser.add_argument("--device", help="cpu (default), cuda or cuda:N")
    parser.add_argument("-k", dest="select", metavar="EXPRESSION", help="run only properties matching (pytest -k)")
    parser.add_argument("-n", dest="workers", metavar="N", help="parallel workers (pytest-xdist), e.g. 2 or auto")
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output too")
    return parser


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    words = [str(PROPERTIES_DIR), "-p", "properties.plugin", "-p", "no:cacheprovider", "--dropout-via-cli"]
    words += ["-rfE", "--tb=short"] if args.verbose else ["-q", "-rN", "--tb=no", "-p", "no:warnings"]
    for spec in args.specs:
        words += ["--dropout-impl", spec]
    for name in ("convention", "seed", "level", "alpha", "device"):
        value = getattr(args, name)
        if value is not None:
            words += [f"--dropout-{name}", str(value)]
    if args.select:
        words += ["-k", args.select]
    if args.workers:
        words += ["-n", args.workers]
    return words


def print_report(collector: VerdictCollector, exit_code: int) -> None:
    from .config import current

    run = current()
    specs = list(run.specs)
    labels = {f: _property_label(f, collector.locations.get(f, "")) for f, _ in collector.outcomes}
    functions = sorted(labels, key=lambda f: (_contract_number(labels[f]), labels[f]))
    print()
    for line in run.header_lines():
        print(line)
    print()
    for index, spec in enumerate(specs, 1):
        print(f"  [{index}] {spec}")
    header = f"{'property':<66}" + "".join(f"[{i}]".center(7) for i in range(1, len(specs) + 1))
    print("\n(pass: the property holds; FAIL: it does not; n/a: not exercised, the signature lacks the keyword)")
    print(header)
    print("-" * len(header))
    for function in functions:
        cells = [VERDICT.get(collector.outcomes.get((function, spec), ""), "-") for spec in specs]
        print(f"{labels[function]:<66}" + "".join(c.center(7) for c in cells))
    if collector.notes:
        print("\nNon-finite inputs and overflowing scales (reported, not judged):")
        for note in sorted(collector.notes):
            print(f"  {note}")
    failures = [(key, texts) for key, texts in collector.evidence.items() if texts]
    if failures:
        print("\nEvidence (the first failure of each property and implementation):")
        for (function, spec), texts in failures:
            print(f"\n--- {function} [{spec}]")
            print(_evidence_text(texts[0]))
    print()
    verdict = {0: "all properties hold", 1: "some properties FAIL"}.get(exit_code, f"pytest exit status {exit_code}")
    print(f"dropout-check: {verdict}. Reproduce the whole run: {run.command()}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    collector = VerdictCollector()
    exit_code = int(pytest.main(pytest_arguments(args), plugins=[collector]))
    if exit_code in (0, 1):
        print_report(collector, exit_code)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
