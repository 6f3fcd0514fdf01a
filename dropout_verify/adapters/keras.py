"""keras 3's dropouts on its torch backend, declared for the suite.

====================  ===================================================  ==============
adapter               keras' code                                          kind
====================  ===================================================  ==============
dropout               ``layers.Dropout(p)(x, training=...)``                element
spatial_dropout1d     ``layers.SpatialDropout1D(p)``, channels last          channel1d
spatial_dropout2d     ``layers.SpatialDropout2D(p)``, channels last          channel2d
spatial_dropout3d     ``layers.SpatialDropout3D(p)``, channels last          channel3d
alpha_dropout         ``layers.AlphaDropout(p)``                            alpha
random_dropout        ``random.dropout(x, p)``                              element
random_dropout_seeded ``random.dropout(x, p, seed=s)``, a fresh s per call   element
attention             ``layers.Attention(dropout=p)``, on its weights         attention
====================  ===================================================  ==============

How each call is mapped, and nothing more:

* keras runs on the backend ``KERAS_BACKEND`` names; when it is unset the adapters set it to
  ``torch`` before importing keras, and a keras already running on another backend is a usage
  error. Keras writes its config file (``~/.keras/keras.json``) when first imported.
* A layer is built once per drop probability and input dtype, with ``dtype=`` the input's dtype:
  keras layers cast floating inputs to their dtype policy (float32 by default), so a float64 or
  bfloat16 user sets it as this does. The training flag is ``call``'s ``training=`` argument.
* Spatial dropout is channels last in keras (``SpatialDropout1D`` takes ``(N, L, C)`` only; 2D and
  3D default to ``data_format="channels_last"``): the suite's ``(N, C, *spatial)`` input is
  permuted to ``(N, *spatial, C)``, the layer drops whole channels there, and the output is
  permuted back. An unbatched ``(C, *spatial)`` input of 1-d and 3-d channel dropout (keras takes
  only batched inputs) is passed as a batch of one. Other ranks, the ambiguous 3-D input of 2-d
  channel dropout among them, reach the layer unchanged, and keras refuses them itself.
* ``attention`` is keras' dot-product ``Attention`` layer, whose ``dropout`` drops attention
  weights, read through :func:`dropout_verify.attention.attention_target` (all-zero queries and
  keys, identity values); keras' layer has no heads, so they are folded into the batch. It is
  declared for float32, float16 and bfloat16: keras' ops compute float64 as float32 by design.
* ``random_dropout`` calls ``keras.random.dropout`` as a layer without a seed does (keras then
  uses torch's own dropout); ``random_dropout_seeded`` passes an integer seed, which takes keras'
  own masking code, and the suite is the caller that passes a fresh seed to every call.

``GaussianDropout`` (multiplicative Gaussian noise) and ``GaussianNoise`` (additive) are no
Bernoulli dropout: they are not verified (``dropout_verify/docs/THIRD_PARTY.md``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch

from ..attention import attention_target
from ..protocol import declare
from ._lazy import usable

__all__ = ["alpha_dropout", "attention", "dropout", "keras", "random_dropout", "random_dropout_seeded",
           "spatial_dropout1d", "spatial_dropout2d", "spatial_dropout3d"]


def keras() -> ModuleType:
    """keras, on its torch backend."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    module = importlib.import_module("keras")
    backend = module.backend.backend()
    if backend != "torch":
        raise ImportError(f"keras runs on its {backend!r} backend here (KERAS_BACKEND="
                          f"{os.environ.get('KERAS_BACKEND')!r}); these adapters verify keras on torch: "
                          f"set KERAS_BACKEND=torch")
    return module


_usable = usable("keras 3 on its torch backend", "pip install keras (and KERAS_BACKEND=torch)", keras)
_LAYERS: dict[tuple[str, str, str], Any] = {}


def _layer(name: str, p: Any, x: Any, keyword: str = "rate") -> Any:
    """The keras layer ``name`` built with ``keyword=p`` in x's dtype, once per (p, dtype)."""
    dtype = str(x.dtype).removeprefix("torch.") if isinstance(x, torch.Tensor) and x.is_floating_point() else None
    key = (name, f"{type(p).__name__}:{p!r}", str(dtype))
    layer = _LAYERS.get(key)
    if layer is None:
        if len(_LAYERS) > 64:
            _LAYERS.clear()
        layer = getattr(keras().layers, name)(**{keyword: p}, dtype=dtype)
        _LAYERS[key] = layer
    return layer


def _channels_last(x: Any, spatial: int, call: Callable[[Any], Any]) -> Any:
    """``call`` on x permuted from ``(N, C, *spatial)`` to ``(N, *spatial, C)``, its output permuted back."""
    if not isinstance(x, torch.Tensor):
        return call(x)
    if x.ndim == spatial + 1 and spatial != 2:  # unbatched (C, *spatial): a batch of one
        y = _channels_last(x.unsqueeze(0), spatial, call)
        return y.squeeze(0) if isinstance(y, torch.Tensor) else y
    if x.ndim != spatial + 2:
        return call(x)  # keras refuses other ranks itself
    y = call(x.permute(0, *range(2, x.ndim), 1))
    return y.permute(0, x.ndim - 1, *range(1, x.ndim - 1)) if isinstance(y, torch.Tensor) else y


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``keras.layers.Dropout(p)(x, training=training)``."""
    return _layer("Dropout", p, x)(x, training=training)  # type: ignore[no-any-return]


def spatial_dropout1d(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``keras.layers.SpatialDropout1D(p)`` on x as ``(N, L, C)``."""
    return _channels_last(x, 1, lambda t: _layer("SpatialDropout1D", p, t)(t, training=training))  # type: ignore[no-any-return]


def spatial_dropout2d(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``keras.layers.SpatialDropout2D(p)`` on x as ``(N, H, W, C)``."""
    return _channels_last(x, 2, lambda t: _layer("SpatialDropout2D", p, t)(t, training=training))  # type: ignore[no-any-return]


def spatial_dropout3d(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``keras.layers.SpatialDropout3D(p)`` on x as ``(N, D, H, W, C)``."""
    return _channels_last(x, 3, lambda t: _layer("SpatialDropout3D", p, t)(t, training=training))  # type: ignore[no-any-return]


def alpha_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``keras.layers.AlphaDropout(p)(x, training=training)``."""
    return _layer("AlphaDropout", p, x)(x, training=training)  # type: ignore[no-any-return]


def random_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """``keras.random.dropout(x, p)``: no seed, as a layer built without one calls it."""
    return keras().random.dropout(x, p)  # type: ignore[no-any-return]


def random_dropout_seeded(x: torch.Tensor, p: float, seed: int = 0) -> torch.Tensor:
    """``keras.random.dropout(x, p, seed=seed)``: keras' own masking, a fresh seed from the suite per call."""
    return keras().random.dropout(x, p, seed=seed)  # type: ignore[no-any-return]


def _attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    """``layers.Attention(dropout=p)([q, v, k], training=True)``, heads folded into the batch
    (keras' layer has none): ``(B, H, L, D)`` in, ``(B, H, L, D_v)`` out."""
    batch, heads = q.shape[:2]
    folded = [t.reshape(batch * heads, *t.shape[2:]) for t in (q, v, k)]
    out = _layer("Attention", p, q, keyword="dropout")(folded, training=True)
    return out.reshape(batch, heads, *out.shape[1:])  # type: ignore[no-any-return]


# keras ops compute float64 as float32, by design ("Force to be 32-bit dtype when encountering 64-bit dtype.
# This is to be aligned with JAX's default behavior.", keras/src/backend/common/dtypes.py): the
# attention layer's matmuls return float32 for float64 inputs, so float64 is not declared.
attention = declare(attention_target(_attend, name="keras_attention", dtypes=("float32", "float16", "bfloat16")),
                    usable=_usable)

for _adapter, _kind in ((dropout, "element"), (spatial_dropout1d, "channel1d"), (spatial_dropout2d, "channel2d"),
                        (spatial_dropout3d, "channel3d"), (alpha_dropout, "alpha"), (random_dropout, "element")):
    declare(_adapter, kind=_kind, usable=_usable)
declare(random_dropout_seeded, kind="element", randomness="seed", offset_keyword=None, usable=_usable)
