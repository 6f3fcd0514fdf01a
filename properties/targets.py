"""Implementations under test: resolving ``MODULE:ATTR`` specs and calling them safely.

A spec names a callable ``f(x, p, ...)``: ``torch.nn.functional:dropout``,
``dropout_impl:dropout_mask``, ``torch:ops.aten.native_dropout`` (a dotted attribute path),
or a file, ``path/to/kernels.py:my_dropout``. Keywords ``training`` (or ``train``),
``inplace`` and ``generator`` are passed when the callable's signature has them.

Calls go through :meth:`Target.call`, which turns everything an implementation can do wrong
at the call level (raise, return a non-tensor, hang) into an :class:`ImplementationFailure`
with a clear message: the suite reports it as a failed property and never crashes.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import pkgutil
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

__all__ = [
    "DEFAULT_SPECS",
    "CALL_TIME_LIMIT_S",
    "ImplementationFailure",
    "SpecError",
    "Target",
    "resolve_target",
]

DEFAULT_SPECS = (
    "dropout_impl:dropout_mask",
    "dropout_impl:dropout_bernoulli",
    "torch.nn.functional:dropout",
)
OPTIONAL_KEYWORDS = ("training", "inplace", "generator")
# One call of a dropout on the tensors used here takes milliseconds; a call that takes a
# minute is hung (or pathologically slow), and is failed rather than waited for.
CALL_TIME_LIMIT_S = float(os.environ.get("DROPOUT_CALL_TIMEOUT", "60"))


class SpecError(ValueError):
    """A ``MODULE:ATTR`` spec that does not name a callable; a usage error, not a failure."""


class ImplementationFailure(AssertionError):
    """The implementation raised, returned a non-tensor, or hung: the property fails."""


class _CallTimeout(BaseException):
    """Raised by the alarm handler; BaseException so that an implementation's own
    ``except Exception`` cannot swallow it."""


def _import_module_or_file(module_name: str) -> Any:
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name)
        if not path.is_file():
            raise SpecError(f"no such file {module_name!r}")
        name = f"_dropout_target_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not (module_name == missing or module_name.startswith(missing + ".")):
            # The module exists, but something it imports does not.
            raise SpecError(f"importing {module_name!r} failed: {error}") from error
        raise SpecError(f"no module named {missing!r}{_module_hint(missing)}") from error
    except Exception as error:  # the module exists but importing it raised
        raise SpecError(f"importing {module_name!r} raised {type(error).__name__}: {error}") from error


def _module_hint(missing: str) -> str:
    """A did-you-mean for a missing module: siblings in its parent package, or top-level names."""
    parent_name, _, _ = missing.rpartition(".")
    if parent_name:
        parent = importlib.import_module(parent_name)
        names = [f"{parent_name}.{m.name}" for m in pkgutil.iter_modules(getattr(parent, "__path__", []))]
    else:
        names = [m.name for m in pkgutil.iter_modules()] + [n for n in sys.modules if "." not in n]
    close = difflib.get_close_matches(missing, names, n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _resolve_attribute(owner: Any, path: str, owner_name: str) -> Any:
    current, walked = owner, owner_name
    for part in path.split("."):
        if not hasattr(current, part):
            names = [n for n in dir(current) if not n.startswith("__")]
            close = difflib.get_close_matches(part, names, n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise SpecError(f"{walked!r} has no attribute {part!r}{hint}")
        current = getattr(current, part)
        walked = f"{walked}.{part}"
    return current


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    """Names of fn's parameters, from its signature or, for torch operators, its schema."""
    schema_owner = getattr(fn, "default", fn)  # an OpOverloadPacket's .default overload
    schema = getattr(schema_owner, "_schema", None)
    if schema is not None:
        return {argument.name for argument in schema.arguments}
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}


@dataclass
class Target:
    """One implementation under test, called in the drop-probability convention.

    ``convention="keep"`` means the callable takes the keep probability: it is passed 1 - p.
    """

    spec: str
    fn: Callable[..., Any]
    convention: str = "drop"
    parameters: set[str] = field(default_factory=set)
    hung: str | None = None  # set once a call hangs: later calls fail at once

    def __repr__(self) -> str:  # shown in Hypothesis's falsifying example
        return f"Target({self.spec!r}, convention={self.convention!r})"

    @property
    def training_keyword(self) -> str | None:
        for name in ("training", "train"):
            if name in self.parameters:
                return name
        return None

    def supports(self, keyword: str) -> bool:
        """Whether the callable takes ``keyword`` (``training`` also matches ``train``)."""
        if keyword == "training":
            return self.training_keyword is not None
        return keyword in self.parameters

    def argument_for(self, p: float) -> float:
        """The probability argument passed for drop probability p."""
        return 1.0 - p if self.convention == "keep" else p

    def keep_probability(self, p: float) -> float:
        """The keep probability a correct implementation uses when called for drop probability p.

        In the keep convention that is exactly the number passed, so no rounding of 1 - p
        is blamed on the implementation.
        """
        return self.argument_for(p) if self.convention == "keep" else 1.0 - p

    def raw_call(self, x: Any, p: Any, **keywords: Any) -> Any:
        """Call with keywords renamed for this callable, without any checks (for bad-input tests)."""
        if "training" in keywords and self.training_keyword != "training":
            keywords[self.training_keyword] = keywords.pop("training")
        return self.fn(x, p, **keywords)

    def call(
        self,
        x: torch.Tensor,
        p: float,
        *,
        training: bool | None = True,
        inplace: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Call the implementation as dropout(x, p) and return its output tensor.

        ``training``/``inplace``/``generator`` are passed only when not None and supported.
        A tuple result (``aten.native_dropout`` returns ``(output, mask)``) yields its first
        element. Raises ImplementationFailure for anything that is not a tensor result.
        """
        keywords: dict[str, Any] = {}
        if training is not None and self.training_keyword:
            keywords["training"] = training
        if inplace is not None and "inplace" in self.parameters:
            keywords["inplace"] = inplace
        if generator is not None and "generator" in self.parameters:
            keywords["generator"] = generator
        argument = self.argument_for(p)
        shown = ", ".join([f"x<{tuple(x.shape)} {x.dtype}>", f"{argument!r}"] + [f"{k}={v!r}" for k, v in keywords.items()])
        if self.hung:
            raise ImplementationFailure(f"{self.spec} hung earlier ({self.hung}); not called again")
        try:
            with _time_limit(CALL_TIME_LIMIT_S):
                result = self.raw_call(x, argument, **keywords)
        except _CallTimeout:
            self.hung = f"a call {self.spec}({shown}) ran past {CALL_TIME_LIMIT_S:.0f} s"
            raise ImplementationFailure(f"{self.hung}: treated as hung") from None
        except Exception as error:
            frames = traceback.format_exception(type(error), error, error.__traceback__)
            raise ImplementationFailure(
                f"{self.spec}({shown}) raised {type(error).__name__}: {error}\n"
                + "".join(frames[-3:]).rstrip()
            ) from error
        if isinstance(result, (tuple, list)) and result and isinstance(result[0], torch.Tensor):
            result = result[0]
        if not isinstance(result, torch.Tensor):
            raise ImplementationFailure(
                f"{self.spec}({shown}) returned {type(result).__name__}, not a torch.Tensor"
            )
        return result


class _time_limit:
    """Raise _CallTimeout in the main thread after ``seconds`` (no-op off the main thread,
    where signals cannot be delivered, and on platforms without SIGALRM)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.active:
            self.previous = signal.signal(signal.SIGALRM, self._expire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)

    @staticmethod
    def _expire(signum: int, frame: object) -> None:
        raise _CallTimeout()


def _import_prefix(module_name: str, attribute: str) -> tuple[Any, str, str]:
    """Import the longest importable prefix of ``module_name``; the rest joins the attribute.

    Returns (module, the prefix imported, the attribute path from it)."""
    parts = module_name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        rest = ".".join(parts[cut:] + [attribute])
        try:
            _resolve_attribute(module, ".".join(parts[cut:]), ".".join(parts[:cut]))
        except SpecError:
            break
        return module, ".".join(parts[:cut]), rest
    return _import_module_or_file(module_name), module_name, attribute  # raises the original error


def resolve_target(spec: str, convention: str = "drop") -> Target:
    """Turn ``MODULE:ATTR`` into a Target, or raise SpecError with a did-you-mean hint."""
    module_name, colon, attribute = spec.rpartition(":") if spec.count(":") else ("", "", "")
    if not colon or not module_name or not attribute:
        raise SpecError(f"expected MODULE:ATTR (e.g. torch.nn.functional:dropout), but got {spec!r}")
    try:
        module = _import_module_or_file(module_name)
    except SpecError:
        # "torch.ops.aten:native_dropout": torch.ops.aten is an attribute, not a module.
        module, module_name, attribute = _import_prefix(module_name, attribute)
    fn = _resolve_attribute(module, attribute, module_name)
    if not callable(fn):
        raise SpecError(f"{spec!r} names a {type(fn).__name__}, which is not callable")
    return Target(spec=spec, fn=fn, convention=convention, parameters=_parameter_names(fn))
