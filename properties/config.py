"""The settings of one run (level, budget, seed, device, targets) and where tests find them.

The pytest plugin builds a :class:`RunConfig` from the command line (or the environment)
in ``pytest_configure`` and installs it with :func:`install`; property modules read it
with :func:`current`. Names of options and environment variables live here, once.
"""

from __future__ import annotations

import math
import os
import shlex
from dataclasses import dataclass

from .levels import LEVELS, POWER, Effects, decision_count
from .targets import DEFAULT_SPECS

__all__ = ["ENV", "RunConfig", "check_alpha", "current", "install", "specs_from_environment"]

# Option name (without the --dropout- prefix) -> environment variable that sets its default.
ENV = {
    "impl": "DROPOUT_IMPL",
    "convention": "DROPOUT_CONVENTION",
    "seed": "DROPOUT_SEED",
    "level": "DROPOUT_LEVEL",
    "alpha": "DROPOUT_ALPHA",
    "device": "DROPOUT_DEVICE",
}


@dataclass(frozen=True)
class RunConfig:
    specs: tuple[str, ...] = DEFAULT_SPECS
    convention: str = "drop"
    seed: int = 0
    level: str = "standard"
    alpha: float = 1e-6
    device: str = "cpu"
    via_cli: bool = False  # started by dropout-check: reproduce commands use it too
    explicit_specs: bool = False  # chosen by the user (so reproduce commands name them)

    @property
    def effects(self) -> Effects:
        return LEVELS[self.level]

    @property
    def decisions(self) -> int:
        return decision_count(self.level)

    @property
    def alpha_decision(self) -> float:
        """Bonferroni share of the budget for one statistical decision."""
        return self.alpha / self.decisions

    def options(self, spec: str | None = None) -> list[str]:
        """The command-line options that reproduce this run (for one spec, if given)."""
        prefix = "--" if self.via_cli else "--dropout-"
        specs = [spec] if spec else (list(self.specs) if self.explicit_specs else [])
        parts: list[str] = []
        if self.via_cli:
            parts += specs
        else:
            for s in specs:
                parts += ["--dropout-impl", s]
        if self.convention != "drop":
            parts += [f"{prefix}convention", self.convention]
        parts += [f"{prefix}seed", str(self.seed), f"{prefix}level", self.level, f"{prefix}alpha", f"{self.alpha:g}"]
        if self.device != "cpu":
            parts += [f"{prefix}device", self.device]
        return parts

    def command(self, selector: str | None = None, spec: str | None = None) -> str:
        """One shell command that reruns this run, or just the test ``selector`` for ``spec``."""
        if self.via_cli:
            words = ["dropout-check", *self.options(spec)]
            if selector:
                words += ["-k", selector]
        else:
            words = ["pytest", selector or "properties", *self.options(spec)]
        return shlex.join(words)

    def header_lines(self) -> list[str]:
        e = self.effects
        return [
            f"dropout: implementations {', '.join(self.specs)} (convention {self.convention}, device {self.device})",
            f"dropout: level {self.level}, seed {self.seed}; false-alarm budget {self.alpha:g} per implementation, "
            f"split (Bonferroni) over {self.decisions} statistical decisions: alpha {self.alpha_decision:.3g} each",
            f"dropout: detects with power >= {POWER}: keep-rate bias {e.keep_rate_bias:g} (p in [0.05, 0.95]); "
            f"one position of <= 1000 off by {e.position_bias:g}; correlation {e.correlation:g} "
            f"(neighbours, rows, calls); per-call count variance x{e.variance_ratio:g} or /{e.variance_ratio:g}; "
            f"relative mean bias {e.mean_bias:g}",
            f"dropout: reproduce: {self.command()}",
        ]


_CURRENT: RunConfig | None = None


def install(config: RunConfig) -> None:
    global _CURRENT
    _CURRENT = config


def current() -> RunConfig:
    """The installed run, or one built from the environment (property modules imported
    outside a pytest run with the plugin, e.g. by a documentation tool)."""
    if _CURRENT is not None:
        return _CURRENT
    return from_environment()


def specs_from_environment() -> list[str]:
    """Specs named in DROPOUT_IMPL (separated by spaces or commas)."""
    return os.environ.get(ENV["impl"], "").replace(",", " ").split()


def from_environment() -> RunConfig:
    specs = specs_from_environment()
    return RunConfig(
        specs=tuple(specs) or DEFAULT_SPECS,
        convention=os.environ.get(ENV["convention"], "drop"),
        seed=int(os.environ.get(ENV["seed"], "0")),
        level=os.environ.get(ENV["level"], "standard"),
        alpha=float(os.environ.get(ENV["alpha"], "1e-6")),
        device=os.environ.get(ENV["device"], "cpu"),
        explicit_specs=bool(specs),
    )


def check_alpha(alpha: float) -> float:
    if not (0 < alpha < 1) or math.isnan(alpha):
        raise ValueError(f"Expected --dropout-alpha in (0, 1), but got {alpha!r}")
    return alpha
