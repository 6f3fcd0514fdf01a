"""The settings of one run (targets, kind, level, budget, seed, device) and where tests find them.

The pytest plugin builds a :class:`RunConfig` from its options (``options.OPTIONS``) in
``pytest_configure`` and keeps it in the run (``run.Run.settings``), where properties and the
harness read it. ``dropout-check`` builds the same object to print its header and the
commands that reproduce a run. Nothing here imports torch.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .levels import CHECKS, LEVELS, POWER, QUANTISED_DTYPES, Effects, decision_count
from .options import UsageError, ignored_environment, option, parse_value

__all__ = ["DEFAULT_SPECS", "RunConfig", "from_values", "properties_dir", "property_names", "specs_from",
           "suite_location"]

DEFAULT_CALL_TIMEOUT = float(option("call-timeout").default or 60)

# Verified when no implementation is named: the project's references and PyTorch's own.
DEFAULT_SPECS = (
    "dropout_impl:dropout_mask",
    "dropout_impl:dropout_bernoulli",
    "torch.nn.functional:dropout",
)


@dataclass(frozen=True)
class RunConfig:
    specs: tuple[str, ...] = DEFAULT_SPECS
    kind: str | None = None  # --dropout-kind; None: each implementation's own kind
    convention: str = "drop"
    dtypes: tuple[str, ...] | None = None  # --dtype: verify these input dtypes only
    seed: int = 0
    level: str = "standard"
    alpha: float = 1e-6
    device: str = "cpu"
    call_timeout: float = 60.0
    report: str | None = None
    time: float | None = None  # --time: seconds of anytime-valid keep-rate tests per implementation
    compile: bool = False  # --compile: verify torch.compile(implementation)
    explicit_specs: bool = False  # named by the user (else the built-in defaults)
    via_cli: bool = False  # dropout-check runs it: reproduce lines call dropout-check
    invocation_dir: str = field(default_factory=os.getcwd)
    # DROPOUT_* variables that are no option of the suite (DROPOUT_RATE of the host project, a
    # misspelt DROPOUT_IMPLS): ignored, and named in the header with a did-you-mean.
    ignored_environment: tuple[str, ...] = ()

    @property
    def effects(self) -> Effects:
        return LEVELS[self.level]

    @property
    def decisions(self) -> int:
        return decision_count(self.level, self.device)

    @property
    def alpha_decision(self) -> float:
        """Bonferroni share of the budget for one statistical decision."""
        return self.alpha / self.decisions

    def with_specs(self, specs: Sequence[str]) -> RunConfig:
        return replace(self, specs=tuple(specs), explicit_specs=True)

    def options(self, spec: str | None = None, *, cli: bool | None = None, call_timeout: bool = False) -> list[str]:
        """The command-line words that reproduce this run (for one spec, if given); the call
        time limit is named when it is not the default, or when ``call_timeout`` asks for it."""
        cli = self.via_cli if cli is None else cli
        prefix = "--" if cli else "--dropout-"
        specs = [spec] if spec else (list(self.specs) if self.explicit_specs else [])
        words: list[str] = []
        for s in specs:
            words += [s] if cli else ["--dropout-impl", s]
        if self.kind is not None:
            words += [f"{prefix}kind", self.kind]
        if self.convention != "drop":
            words += [f"{prefix}convention", self.convention]
        if self.dtypes is not None:
            words += [f"{prefix}dtype", ",".join(self.dtypes)]
        words += [f"{prefix}seed", str(self.seed), f"{prefix}level", self.level, f"{prefix}alpha", f"{self.alpha:g}"]
        if self.device != "cpu":
            words += [f"{prefix}device", self.device]
        if call_timeout or self.call_timeout != DEFAULT_CALL_TIMEOUT:
            words += [f"{prefix}call-timeout", f"{self.call_timeout:g}"]
        if self.time is not None:
            words += [f"{prefix}time", f"{self.time:g}"]
        if self.compile:
            words += [f"{prefix}compile"]
        return words

    def command(self, *, spec: str | None = None, selector: str | None = None,
                location: Sequence[str] | None = None, call_timeout: bool = False) -> str:
        """One shell command, run from the invocation directory, that reruns this run.

        ``selector`` is the ``-k`` expression (for dropout-check, a property name). For pytest,
        ``location`` is the test path or node id as seen from the invocation directory (by
        default the whole suite, as named from there: ``properties`` in a checkout,
        ``--pyargs dropout_verify.properties`` elsewhere). ``call_timeout`` names the call time
        limit even at its default (a hang's reproduce line).
        """
        options = self.options(spec, call_timeout=call_timeout)
        selection = ["-k", selector] if selector else []
        if self.via_cli:
            words = [program(self.invocation_dir), *options, *selection]
        else:
            words = [program(self.invocation_dir, "pytest"), *(location or suite_location(self.invocation_dir)),
                     *selection, *options]
        return shlex.join(words)

    def settings(self) -> dict[str, object]:
        """The run's settings as report data (``results.RunReport.settings``)."""
        return {
            "specs": list(self.specs), "named": self.explicit_specs, "kind": self.kind, "convention": self.convention,
            "dtypes": list(self.dtypes) if self.dtypes is not None else None,
            "seed": self.seed, "level": self.level, "alpha": self.alpha, "decisions": self.decisions,
            "alpha_per_decision": self.alpha_decision, "device": self.device, "call_timeout": self.call_timeout,
            "time": self.time, "compile": self.compile, "invocation_dir": self.invocation_dir,
            "ignored_environment": list(self.ignored_environment),
            "command": self.command(),
            "effects": dict(vars(self.effects)),
        }

    def effect_lines(self) -> list[str]:
        e = self.effects
        fine = self.level == "thorough" or self.time is not None
        quantised = "; ".join(f"{dtype} inputs: {' and '.join(e.quantisation_grids(dtype, fine))}"
                              for dtype in QUANTISED_DTYPES)
        huge = CHECKS["scale_blocks"].designed_count(self.level, self.device) > 1
        calls = ("one call of 2^24 units and one of 2^31 + 2^20 elements (past int32 indices)" if huge else
                 "one call of 2^24 units (2^31 + 2^20 elements more at thorough, and at standard on a GPU)")
        return [
            f"detects with power >= {POWER}: keep-rate bias {e.keep_rate_bias:g} over units, or "
            f"{e.keep_rate_relative * 100:g}% of q = 1-p and of p where that is smaller (p in [0.05, 0.95]); "
            f"one unit position (of up to 8192) off by {e.position_bias:g}; correlation {e.correlation:g} "
            f"(neighbouring units, rows, calls); per-call kept-unit count variance x{e.variance_ratio:g} or "
            f"/{e.variance_ratio:g}; a keep rate that depends on x's sign or size by {e.value_bias:g}; alpha kinds: "
            f"output mean or variance off by {e.moment_bias:g}",
            f"detects with power >= {POWER}, quantised keep rates ({quantised}): each grid by any rounding of the "
            "threshold or the uniform (down, to nearest or its mid-cells, < or <=, torch.rand's wrap, comparing "
            "with p or 1-p), and a keep rate a quarter cell off, either way, next to p = 0 and 1",
            f"scale tier: {calls}: every block from 2^12 units to half the call, lags at every power of two; "
            "every mask of the run cut in windows (reuse found at any offset, call or shape); dropout sites of "
            "other shapes called in turn",
        ]

    def header_lines(self, kinds: Mapping[str, str] | None = None, *, select: str | None = None) -> list[str]:
        """The run header: targets (with their kinds), level, budget, effects, reproduce command.

        ``select``: the -k expression, if any. The split stays the whole level's, so that a
        property run alone (every reproduce line uses -k) decides at the threshold of the full run."""
        kinds = kinds or {}
        named = ", ".join(f"{s} ({kinds[s]})" if s in kinds else s for s in self.specs)
        if self.compile:
            named += " [each wrapped in torch.compile(dynamic=True)]"
        source = "" if self.explicit_specs else " [no implementation named: the built-in references]"
        return [
            f"dropout: implementations {named}{source} (convention {self.convention}, device {self.device})",
            f"dropout: level {self.level}, seed {self.seed}; false-alarm budget {self.alpha:g} per implementation, "
            f"split (Bonferroni) over {self.decisions} statistical decisions: alpha {self.alpha_decision:.3g} each"
            + ("; -k runs some of them, at these same thresholds" if select else ""),
            *(f"dropout: {line}" for line in self.effect_lines()),
            *([f"dropout: input dtypes {', '.join(self.dtypes)} only (--dtype): examples drawn in another dtype "
               "run in one of these"] if self.dtypes is not None else []),
            *(f"dropout: ignored: {line}" for line in self.ignored_environment),
            f"dropout: reproduce: {self.command(selector=select)}",
        ]


def specs_from(given: Sequence[str] | None, environ: Mapping[str, str]) -> tuple[tuple[str, ...], bool]:
    """The specs to verify (command line, else DROPOUT_IMPL, else the defaults), duplicates
    dropped in order, and whether the user named them."""
    named = list(given or []) or environ.get("DROPOUT_IMPL", "").replace(",", " ").split()
    if not named:
        return DEFAULT_SPECS, False
    unique = list(dict.fromkeys(s.strip() for s in named if s.strip()))
    if not unique:
        raise UsageError("an empty implementation spec was given; expected MODULE:ATTR")
    return tuple(unique), True


def from_values(values: Mapping[str, object | None], environ: Mapping[str, str], *,
                via_cli: bool, invocation_dir: str | None = None) -> RunConfig:
    """Build a RunConfig from option values (None where the command line did not give one)."""
    raw_specs = values.get("impl")
    specs, explicit = specs_from(raw_specs if isinstance(raw_specs, (list, tuple)) else None, environ)
    parsed = {name: parse_value(name, values.get(name), environ, cli=via_cli)
              for name in ("kind", "convention", "dtype", "seed", "level", "alpha", "device", "call-timeout", "report",
                           "time", "compile")}
    return RunConfig(
        specs=specs,
        kind=parsed["kind"],  # type: ignore[arg-type]
        convention=parsed["convention"],  # type: ignore[arg-type]
        dtypes=tuple(str(parsed["dtype"]).split(",")) if parsed["dtype"] is not None else None,
        seed=parsed["seed"],  # type: ignore[arg-type]
        level=parsed["level"],  # type: ignore[arg-type]
        alpha=parsed["alpha"],  # type: ignore[arg-type]
        device=parsed["device"],  # type: ignore[arg-type]
        call_timeout=parsed["call-timeout"],  # type: ignore[arg-type]
        report=parsed["report"],  # type: ignore[arg-type]
        time=parsed["time"],  # type: ignore[arg-type]
        compile=bool(parsed["compile"]),
        explicit_specs=explicit,
        via_cli=via_cli,
        invocation_dir=invocation_dir or os.getcwd(),
        ignored_environment=tuple(ignored_environment(environ)),
    )


def properties_dir() -> Path:
    """The folder of the property modules: installed as dropout_verify.properties, or the
    checkout's properties/ beside dropout_verify/."""
    try:
        found = importlib.util.find_spec("dropout_verify.properties")
    except (ImportError, ValueError):
        found = None
    if found is not None and found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations))).resolve()
    return (Path(__file__).resolve().parent.parent / "properties").resolve()


def property_names() -> dict[str, list[str]]:
    """The property suite's test functions by module ({"test_edges": ["test_p_one", ...]}), read
    from the sources without importing them: what ``-k`` matches."""
    found: dict[str, list[str]] = {}
    for path in sorted(properties_dir().glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found[path.stem] = [node.name for node in tree.body
                            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
    return found


def suite_location(invocation_dir: str) -> list[str]:
    """How pytest names the property suite from ``invocation_dir``: its relative path from
    inside a checkout, else the package (``--pyargs``, as a user outside the checkout names it:
    a path into the checkout would make it pytest's rootdir, with its conftest and settings)."""
    suite = properties_dir()
    relative = os.path.relpath(suite, invocation_dir)
    if not relative.startswith(".."):
        return [relative]
    if importlib.util.find_spec("dropout_verify.properties") is not None:
        return ["--pyargs", "dropout_verify.properties"]
    return [suite.as_posix()]


def program(invocation_dir: str, name: str = "dropout-check") -> str:
    """How to call this environment's ``name`` (dropout-check, pytest) from ``invocation_dir``:
    plainly when the shell's PATH finds this very script, else by its path (a virtual
    environment that is not activated: a bare "pytest" would find another one, without the
    suite's options)."""
    script = Path(sys.executable).parent / name
    found = shutil.which(name)
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return name
    relative = os.path.relpath(script, invocation_dir)
    if relative.startswith(".."):
        return str(script)
    return relative if os.sep in relative else os.path.join(".", relative)
