"""dropout_verify.adapters: each adapter's declaration, the usage error when its library is missing,
and, where the library is installed, that the adapter maps the call and the layout right (one
call each: what the suite then verifies is the library's own dropping).

The libraries are optional and CI does not install them: there, the tests of the mapping are
skipped (each says which library is missing), and the declarations and missing-library errors
are still checked. ``make third-party`` installs them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch

from dropout_verify.adapters import keras as keras_adapters
from dropout_verify.adapters import timm as timm_adapters
from dropout_verify.adapters import torchvision as torchvision_adapters
from dropout_verify.protocol import declaration_of
from dropout_verify.specs import SpecError
from dropout_verify.targets import resolve_target

FUNCTIONS = {
    "timm:drop_path": "path", "timm:drop_block_2d": "element",
    "torchvision:stochastic_depth_row": "path", "torchvision:stochastic_depth_batch": "path_batch",
    "torchvision:drop_block2d": "element",
    "keras:dropout": "element", "keras:spatial_dropout1d": "channel1d", "keras:spatial_dropout2d": "channel2d",
    "keras:spatial_dropout3d": "channel3d", "keras:alpha_dropout": "alpha", "keras:random_dropout": "element",
    "keras:random_dropout_seeded": "element", "keras:attention": "attention",
}
CLASSES = {"timm:DropPath": "path", "torchvision:StochasticDepthRow": "path",
           "torchvision:StochasticDepthBatch": "path_batch"}
MODULES = {"timm": timm_adapters, "torchvision": torchvision_adapters, "keras": keras_adapters}
# sys.modules entries that make each library's import fail, as when it is not installed.
LIBRARY_MODULES = {"timm": ("timm", "timm.layers"), "torchvision": ("torchvision", "torchvision.ops"),
                   "keras": ("keras",)}


def test_every_adapter_function_declares_its_kind_without_importing_its_library() -> None:
    for name, kind in FUNCTIONS.items():
        library, attribute = name.split(":")
        declared = declaration_of(getattr(MODULES[library], attribute))
        assert declared.kind == kind, name
        assert callable(declared.usable), name
    assert declaration_of(keras_adapters.random_dropout_seeded).randomness == "seed"


def _hide(monkeypatch: pytest.MonkeyPatch, library: str) -> None:
    """Make ``library`` unimportable in this test (None in sys.modules: ImportError on import)."""
    for module in LIBRARY_MODULES[library]:
        monkeypatch.setitem(sys.modules, module, None)  # type: ignore[arg-type]
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # what the keras adapter sets when it is unset: undone after
    if library == "torchvision":  # timm imports torchvision
        _hide(monkeypatch, "timm")


@pytest.mark.parametrize("name", sorted(FUNCTIONS) + sorted(CLASSES))
def test_an_adapter_of_a_missing_library_is_a_usage_error_naming_it(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    library, attribute = name.split(":")
    _hide(monkeypatch, library)
    if name in CLASSES:  # a class built earlier in this process is kept by its module: forget it
        monkeypatch.delitem(MODULES[library].__dict__, attribute, raising=False)
    with pytest.raises(SpecError, match=rf"verifies {library}.*cannot be imported here.*pip install {library}"):
        resolve_target(f"dropout_verify.adapters.{name}")


def _installed(library: str) -> ModuleType:
    """The adapter module of ``library``; the test is skipped, saying why, when the library is missing."""
    missing = declaration_of(getattr(MODULES[library], next(n.split(":")[1] for n in FUNCTIONS
                                                            if n.startswith(library + ":")))).usable
    assert missing is not None
    reason = missing()
    if reason is not None:
        pytest.skip(f"{library} is not installed here (make third-party installs it): {reason}")
    return MODULES[library]


def _decisions(y: torch.Tensor, units: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Kept (True) or dropped per unit, after checking each unit's elements agree."""
    kept = units(y != 0)
    assert bool((kept.all(-1) | ~kept.any(-1)).all()), "a unit's elements disagree"
    return kept.all(-1)


def _both_outcomes(decisions: torch.Tensor) -> None:
    assert bool(decisions.any()) and not bool(decisions.all()), "p = 0.5 over many units: some kept, some dropped"


def test_timm_and_torchvision_adapters_drop_whole_samples_or_whole_calls() -> None:
    _installed("torchvision")
    timm = _installed("timm")
    x = torch.ones(256, 3, 5)
    for row in (timm.drop_path, torchvision_adapters.stochastic_depth_row,
                lambda x, p, training=True: resolve_target("dropout_verify.adapters.timm:DropPath").call(
                    x, p, training=training)):
        y = row(x, 0.5)
        _both_outcomes(_decisions(y, lambda kept: kept.reshape(256, -1)))
        assert set(y.unique().tolist()) <= {0.0, 2.0}
        assert torch.equal(row(x, 0.5, training=False), x)
    calls = torch.stack([torchvision_adapters.stochastic_depth_batch(x, 0.5).flatten() for _ in range(64)])
    _both_outcomes(_decisions(calls, lambda kept: kept))
    module = resolve_target("dropout_verify.adapters.torchvision:StochasticDepthBatch")
    assert module.is_module and module.kind.name == "path_batch"


def test_drop_block_adapters_are_per_element_and_rescale_by_the_realised_fraction() -> None:
    _installed("torchvision")
    timm = _installed("timm")
    x = torch.ones(40, 50)
    for drop_block in (timm.drop_block_2d, torchvision_adapters.drop_block2d):
        y = drop_block(x, 0.5)
        kept = y != 0
        assert y.shape == x.shape and 0 < int(kept.sum()) < x.numel()
        # DropBlock's scale is numel / kept count (up to its epsilon), not 1 / (1 - p)
        assert torch.allclose(y[kept], torch.full_like(y[kept], x.numel() / int(kept.sum())), rtol=1e-5)
        assert torch.equal(drop_block(x, 0.5, training=False), x)


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_keras_spatial_dropout_drops_whole_channels_of_the_suites_channels_first_layout(spatial: int) -> None:
    keras = _installed("keras")
    adapter = getattr(keras, f"spatial_dropout{spatial}d")
    x = torch.arange(1.0, 1.0 + 16 * 32 * 3**spatial).reshape(16, 32, *(3,) * spatial)  # (N, C, *spatial)
    y = adapter(x, 0.5)
    assert y.shape == x.shape
    decisions = _decisions(y, lambda kept: kept.reshape(16, 32, -1))
    _both_outcomes(decisions)
    assert torch.equal(y[decisions], 2 * x[decisions])
    if spatial != 2:  # unbatched (C, *spatial): a batch of one
        _both_outcomes(_decisions(adapter(x[0], 0.5), lambda kept: kept.reshape(32, -1)))
    else:  # the ambiguous 3-D input reaches keras, which refuses it
        with pytest.raises(ValueError, match="expected ndim=4"):
            adapter(x[0], 0.5)
    assert torch.equal(adapter(x, 0.5, training=False), x)


def test_keras_layers_keep_the_input_dtype_and_alpha_values() -> None:
    keras = _installed("keras")
    for dtype in (torch.float64, torch.bfloat16):
        assert keras.dropout(torch.ones(8, dtype=dtype), 0.5).dtype == dtype
    y = keras.alpha_dropout(torch.zeros(4096), 0.5)
    a = (0.5 * (1 + 0.5 * 1.7580993408473766**2)) ** -0.5
    assert torch.allclose(y.unique(), torch.tensor([-a * 1.7580993408473766 * 0.5, a * 1.7580993408473766 * 0.5]))


def test_keras_attention_drops_attention_weights() -> None:
    keras = _installed("keras")
    x = torch.ones(4, 3, 16, 8)  # (B, H, L, S)
    y = keras.attention(x, 0.5)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert torch.equal(keras.attention(x, 0.5, training=False), x)


def test_keras_random_dropout_seeded_follows_its_seed() -> None:
    keras = _installed("keras")
    x = torch.ones(1000)
    a, b = keras.random_dropout_seeded(x, 0.5, seed=3), keras.random_dropout_seeded(x, 0.5, seed=4)
    assert torch.equal(a, keras.random_dropout_seeded(x, 0.5, seed=3)) and not torch.equal(a, b)
    assert resolve_target("dropout_verify.adapters.keras:random_dropout_seeded").seeds is not None


def test_torchvision_ops_import_even_when_its_cpp_operators_do_not_load() -> None:
    _installed("torchvision")
    ops: Any = torchvision_adapters.ops()
    assert callable(ops.stochastic_depth) and importlib.import_module("torchvision.ops") is ops
