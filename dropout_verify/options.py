"""The run options, in one table: it feeds the pytest plugin, ``dropout-check`` and the environment.

Each :class:`Option` is spelled three ways: ``--dropout-NAME`` under pytest, ``--NAME`` for
``dropout-check`` and ``DROPOUT_NAME`` in the environment (upper case, ``-`` as ``_``). A value
given on the command line wins over the environment, which wins over the table's default.

Parsing never imports torch, so ``dropout-check --help`` and usage errors answer at once;
checks that need torch (is a CUDA device there?) happen in the worker that resolves specs.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "CONVENTIONS",
    "ENV_PREFIX",
    "FLOAT_DTYPE_NAMES",
    "KIND_NAMES",
    "LEVEL_NAMES",
    "OPTIONS",
    "Option",
    "UsageError",
    "did_you_mean",
    "ignored_environment",
    "known_environment",
    "option",
    "parse_value",
]

ENV_PREFIX = "DROPOUT_"
LEVEL_NAMES = ("quick", "standard", "thorough")
CONVENTIONS = ("drop", "keep")
# The dropout family (dropout_verify/docs/CONTRACT.md section 2); the kinds themselves live in dropout_verify.kinds.
KIND_NAMES = ("element", "channel1d", "channel2d", "channel3d", "alpha", "feature_alpha", "path", "path_batch",
              "attention")
DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?)$")


class UsageError(ValueError):
    """Something the user asked for cannot be done as asked: exit status 4, no traceback."""


def did_you_mean(word: str, candidates: object, *, cutoff: float = 0.6) -> str:
    """'; did you mean 'x'?' for the closest candidates, or '' when none is close."""
    unique = list(dict.fromkeys(str(c) for c in candidates))  # type: ignore[attr-defined]
    close = difflib.get_close_matches(word, unique, n=3, cutoff=cutoff)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


# Parsers raise UsageError("to be ..., but got ..."); parse_value puts the option's name, as
# the user spelled it (--level, --dropout-level or DROPOUT_LEVEL), in front.


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            raise UsageError(f"to be one of {', '.join(choices)}, but got {text!r}{did_you_mean(text, choices)}")
        return text

    return parse


FLOAT_DTYPE_NAMES = ("float32", "float64", "float16", "bfloat16")  # protocol.FLOAT_DTYPES, without torch


def _dtypes(text: str) -> str:
    """A comma-separated list of float dtype names, normalised ("torch.float16, bfloat16" ->
    "float16,bfloat16"): dropout is defined on floating-point inputs only."""
    names = [name.strip().removeprefix("torch.") for name in text.split(",") if name.strip()]
    if not names:
        raise UsageError(f"to name one or more of {', '.join(FLOAT_DTYPE_NAMES)}, but got {text!r}")
    for name in names:
        if name not in FLOAT_DTYPE_NAMES:
            raise UsageError(f"to name float dtypes among {', '.join(FLOAT_DTYPE_NAMES)} (dropout takes "
                             f"floating-point inputs), but got {name!r}{did_you_mean(name, FLOAT_DTYPE_NAMES)}")
    return ",".join(dict.fromkeys(names))


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"to be an integer, but got {text!r}") from None
    if value < 0:
        raise UsageError(f"to be 0 or more, but got {value}")
    return value


def _alpha(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"to be a number in (0, 1), but got {text!r}") from None
    if not (0.0 < value < 1.0) or math.isnan(value):
        raise UsageError(f"(the false-alarm budget) to be in (0, 1), but got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"to be a number of seconds, but got {text!r}") from None
    if not (value > 0) or math.isinf(value):
        raise UsageError(f"to be a positive number of seconds, but got {text!r}")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise UsageError(f"to be 1 or 0, but got {text!r}")


def _device(text: str) -> str:
    if not DEVICE_PATTERN.match(text):
        raise UsageError(f"to be cpu, cuda or cuda:N (the devices the suite supports), but got {text!r}"
                         f"{did_you_mean(text, ('cpu', 'cuda', 'cuda:0'))}")
    return text


def _text(text: str) -> str:
    return text


@dataclass(frozen=True)
class Option:
    """One run option: its name, default, parser and help, spelled for pytest, the CLI and env."""

    name: str
    default: str | None
    parse: Callable[[str], object]
    help: str
    metavar: str = ""
    choices: tuple[str, ...] | None = None
    repeatable: bool = False  # --dropout-impl may be given several times
    flag: bool = False  # a switch without a value (--compile)

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper().replace("-", "_")

    @property
    def pytest_flag(self) -> str:
        return f"--dropout-{self.name}"

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def dest(self) -> str:
        return "dropout_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("impl", None, _text, "implementation to verify: MODULE:ATTR or path/to/file.py:ATTR, a callable "
           "f(x, p, ...) or an nn.Module class (repeatable; DROPOUT_IMPL takes several, separated by spaces "
           "or commas)", metavar="MODULE:ATTR", repeatable=True),
    Option("kind", None, _choice(KIND_NAMES), "the dropout family member the implementation is "
           "(default: known for torch's own, else element)", metavar="KIND", choices=KIND_NAMES),
    Option("convention", "drop", _choice(CONVENTIONS),
           "p is the drop probability (PyTorch) or the keep probability (TensorFlow 1)", choices=CONVENTIONS),
    Option("dtype", None, _dtypes, "verify inputs of these dtypes only (comma-separated: float32, float64, "
           "float16, bfloat16); examples drawn in another dtype run in one of these", metavar="DTYPES"),
    Option("seed", "0", _seed, "seed of every example and torch draw: same seed, same verdict", metavar="N"),
    Option("level", "standard", _choice(LEVEL_NAMES),
           "smallest effects detected and run time (dropout_verify/docs/STATISTICS.md)", choices=LEVEL_NAMES),
    Option("alpha", "1e-06", _alpha, "family-wise false-alarm budget per implementation", metavar="A"),
    Option("device", "cpu", _device, "device for tensors and RNG: cpu, cuda or cuda:N", metavar="DEVICE"),
    Option("call-timeout", "60", _positive_seconds,
           "seconds one call of the implementation may take before it is failed as hung", metavar="S"),
    Option("report", None, _text, "write report.json, report.md, junit.xml and evidence plots into this "
           "folder", metavar="DIR"),
    Option("time", None, _positive_seconds, "also spend this many seconds per implementation on anytime-valid "
           "keep-rate tests at p = 0.1, 0.5, 0.9, and report the smallest bias they detect", metavar="S"),
    Option("compile", "0", _flag, "verify torch.compile(implementation, dynamic=True): what the compiled code "
           "does, edges and bad input included", flag=True),
)

_BY_NAME = {o.name: o for o in OPTIONS}
# Variables the suite itself reads besides the options (none yet); any other DROPOUT_* is ignored.
EXTRA_ENVIRONMENT: tuple[str, ...] = ()


def option(name: str) -> Option:
    return _BY_NAME[name]


def parse_value(name: str, given: object | None, environ: Mapping[str, str], *, cli: bool = True) -> object:
    """The value of option ``name``: the command line's, else the environment's, else the default.

    ``given`` is what the command line held (None when absent); ``cli`` says how the command
    line spells it (``--level``, or pytest's ``--dropout-level``). Raises UsageError naming the
    option as the user wrote it, the bad value and the rule.
    """
    spec = _BY_NAME[name]
    if spec.repeatable:
        raise ValueError(f"{name} is repeatable: read it with specs_from()")
    if given is not None:
        text, source = str(given), spec.cli_flag if cli else spec.pytest_flag
    elif spec.env in environ:
        text, source = environ[spec.env], f"the environment variable {spec.env}"
    elif spec.default is not None:
        text, source = spec.default, f"the default of {spec.cli_flag}"
    else:
        return None
    try:
        return spec.parse(text)
    except UsageError as error:
        raise UsageError(f"expected {source} {error}") from None


def ignored_environment(environ: Mapping[str, str]) -> list[str]:
    """One line for each DROPOUT_* variable that is no option of the suite (e.g. DROPOUT_RATE).

    Such variables are common in ML projects (a model's dropout rate), so they are ignored,
    never an error: a project that merely has the suite installed must run as before. A run of
    the suite names them in its header, with a did-you-mean, so that a misspelt DROPOUT_IMPLS
    is seen (the run then verifies the built-in references, and says so).
    """
    known = {o.env for o in OPTIONS} | set(EXTRA_ENVIRONMENT)
    # Every name shares "DROPOUT_": only a near miss (DROPOUT_IMPLS) gets a suggestion, not DROPOUT_RATE.
    return [f"{name} (no option of the suite{did_you_mean(name, sorted(known), cutoff=0.85)})"
            for name in sorted(environ) if name.startswith(ENV_PREFIX) and name not in known]


def known_environment(environ: Mapping[str, str]) -> list[str]:
    """The suite's own DROPOUT_* variables that are set: any of them wakes the pytest plugin."""
    known = {o.env for o in OPTIONS} | set(EXTRA_ENVIRONMENT)
    return sorted(name for name in environ if name in known)
