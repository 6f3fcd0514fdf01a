"""timm's dropouts (``timm.layers``), declared for the suite.

=============  =====================================================================  =======
adapter        timm's code                                                            kind
=============  =====================================================================  =======
drop_path      ``drop_path(x, drop_prob, training)``                                  path
DropPath       ``DropPath(drop_prob)``, switched with ``.train()``/``.eval()``       path
drop_block_2d  ``drop_block_2d(x, drop_prob, block_size=1, couple_channels=False)``   element *
=============  =====================================================================  =======

``*`` DropBlock is no member of the dropout family: blocks overlap, and it rescales by the realised
fraction kept, not ``1/(1-p)``. At ``block_size=1`` with a mask per channel (x viewed as
``(1, 1, 1, numel)``, the 4-D shape it requires) it is one Bernoulli decision per element, so the
suite can say what differs: the kept value (``dropout_verify/docs/THIRD_PARTY.md``). timm has no
functional training flag for it (``DropBlock2d`` switches it off in eval): the adapter returns x
when ``training`` is False, as ``DropBlock2d.forward`` does.

timm imports torchvision; a torchvision whose C++ operators do not load here is imported as
``dropout_verify.adapters.torchvision.ops`` describes.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import torch

from ..protocol import declare
from . import torchvision as _torchvision
from ._lazy import declared_class, usable

__all__ = ["DropPath", "drop_block_2d", "drop_path", "layers"]

# The module class, built on first use by __getattr__ below (declared here for readers and type checkers).
DropPath: type


def layers() -> ModuleType:
    """``timm.layers`` (after torchvision.ops, which timm imports)."""
    _torchvision.ops()
    return importlib.import_module("timm.layers")


_usable = usable("timm", "pip install timm (it needs torchvision)", layers)


def drop_path(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``timm.layers.drop_path(x, drop_prob=p, training=training)``: one decision per sample ``x[n]``."""
    return layers().drop_path(x, p, training)  # type: ignore[no-any-return]


def drop_block_2d(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``timm.layers.drop_block_2d`` at ``block_size=1``, a mask per channel, x viewed as ``(1, 1, 1, numel)``."""
    if not training:
        return x  # as DropBlock2d.forward: the function itself has no training flag
    if not isinstance(x, torch.Tensor):
        return layers().drop_block_2d(x, p, block_size=1, couple_channels=False)
    y = layers().drop_block_2d(x.reshape(1, 1, 1, -1), p, block_size=1, couple_channels=False)
    return y.reshape(x.shape) if isinstance(y, torch.Tensor) else y


declare(drop_path, kind="path", usable=_usable)
declare(drop_block_2d, kind="element", usable=_usable)


def _drop_path_class() -> type:
    base: Any = layers().DropPath
    return type("DropPath", (base,), {"__module__": __name__, "__qualname__": "DropPath",
                                      "__doc__": "timm.layers.DropPath(drop_prob)"})


def __getattr__(name: str) -> Any:
    """The module class, built on first use (importing timm only then)."""
    if name != "DropPath":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = declared_class(name, _drop_path_class, _usable, kind="path")
    if isinstance(value, type):  # built once; a placeholder is not kept (the library may come later)
        globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
