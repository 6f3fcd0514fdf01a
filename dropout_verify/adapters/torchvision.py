"""torchvision's dropouts (``torchvision.ops``), declared for the suite.

========================  ==========================================================  ==========
adapter                   torchvision's code                                          kind
========================  ==========================================================  ==========
stochastic_depth_row      ``stochastic_depth(x, p, "row", training)``                 path
stochastic_depth_batch    ``stochastic_depth(x, p, "batch", training)``               path_batch
StochasticDepthRow        ``StochasticDepth(p, "row")``, ``.train()``/``.eval()``     path
StochasticDepthBatch      ``StochasticDepth(p, "batch")``                             path_batch
drop_block2d              ``drop_block2d(x, p, block_size=1, training=training)``     element *
========================  ==========================================================  ==========

``*`` DropBlock is no member of the dropout family: blocks overlap, and it rescales by the realised
fraction kept, not ``1/(1-p)``. At ``block_size=1`` (x viewed as ``(1, 1, 1, numel)``, the 4-D shape
it requires) it is one Bernoulli decision per element, so the suite can say what differs: the
kept value (``dropout_verify/docs/THIRD_PARTY.md``).

A torchvision wheel built for another torch (the PyPI wheel is a CUDA build; beside CPU torch its
C++ operators do not load) fails ``import torchvision`` while it registers those operators
(``RuntimeError: operator torchvision::nms does not exist``). Its dropouts are pure Python, so
:func:`ops` then imports ``torchvision.ops`` without running ``torchvision/__init__.py``: the
package is put in ``sys.modules`` as an empty package over its own folder, and its submodules
import as usual. The C++ operators (``nms``, ``roi_align``, ...) stay unusable; nothing here
calls them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType
from typing import Any

import torch

from ..protocol import declare
from ._lazy import declared_class, usable

__all__ = ["StochasticDepthBatch", "StochasticDepthRow", "drop_block2d", "ops", "stochastic_depth_batch",
           "stochastic_depth_row"]

# Module classes, built on first use by __getattr__ below (declared here for readers and type checkers).
StochasticDepthRow: type
StochasticDepthBatch: type

INSTALL = "pip install torchvision (a build for this torch; with a CPU torch, `pip install --no-deps torchvision` " \
          "works too: the C++ operators are not needed)"


def ops() -> ModuleType:
    """``torchvision.ops``, also from a torchvision whose C++ operators do not load here."""
    try:
        return importlib.import_module("torchvision.ops")
    except RuntimeError:  # its _meta_registrations need the C++ operators that did not load
        pass
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("no module named 'torchvision'")
    package = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
    sys.modules["torchvision"] = package
    try:
        return importlib.import_module("torchvision.ops")
    except Exception as error:
        del sys.modules["torchvision"]
        raise ImportError(f"torchvision.ops cannot be imported without the package's C++ operators: "
                          f"{type(error).__name__}: {error}") from error


_usable = usable("torchvision", INSTALL, ops)


def stochastic_depth_row(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``torchvision.ops.stochastic_depth(x, p, mode="row")``: one decision per sample ``x[n]``."""
    return ops().stochastic_depth(x, p, "row", training)  # type: ignore[no-any-return]


def stochastic_depth_batch(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``torchvision.ops.stochastic_depth(x, p, mode="batch")``: one decision for the whole call."""
    return ops().stochastic_depth(x, p, "batch", training)  # type: ignore[no-any-return]


def drop_block2d(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``torchvision.ops.drop_block2d`` at ``block_size=1``, on x viewed as ``(1, 1, 1, numel)``."""
    if not isinstance(x, torch.Tensor):
        return ops().drop_block2d(x, p, 1, training=training)
    y = ops().drop_block2d(x.reshape(1, 1, 1, -1), p, 1, training=training)
    return y.reshape(x.shape) if isinstance(y, torch.Tensor) else y


declare(stochastic_depth_row, kind="path", usable=_usable)
declare(stochastic_depth_batch, kind="path_batch", usable=_usable)
declare(drop_block2d, kind="element", usable=_usable)


def _stochastic_depth(mode: str) -> type:
    base: Any = ops().StochasticDepth

    def __init__(self: Any, p: float) -> None:
        base.__init__(self, p, mode)

    name = f"StochasticDepth{mode.title()}"
    return type(name, (base,), {"__init__": __init__, "__module__": __name__, "__qualname__": name,
                                "__doc__": f'torchvision.ops.StochasticDepth(p, mode="{mode}")'})


def __getattr__(name: str) -> Any:
    """The module classes, built on first use (importing torchvision only then)."""
    kinds = {"StochasticDepthRow": ("row", "path"), "StochasticDepthBatch": ("batch", "path_batch")}
    if name not in kinds:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    mode, kind = kinds[name]
    value = declared_class(name, lambda: _stochastic_depth(mode), _usable, kind=kind)
    if isinstance(value, type):  # built once; a placeholder is not kept (the library may come later)
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
