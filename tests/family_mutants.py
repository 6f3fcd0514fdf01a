"""Known-bad implementations of the rest of the dropout family, and correct variants.

Each mutant is a correct member of the family with one bug put in, the kind of bug real
channel, alpha and drop-path code has had; ``CATCHES`` names the property meant to catch it
(it may fail others too). Every function carries ``dropout_kind``, so the suite verifies it as
that member without ``--kind``. Run one yourself::

    dropout-check tests.family_mutants:channel2d__unit_too_small --level quick

The catalog is generated: ``_KIND_BUGS`` lists, per kind, which bugs apply, and ``_BUGS``
builds each from the one correct reference ``_reference`` below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

A = 1.7580993408473766  # lambda * alpha of SELU
SELU_ALPHA = 1.6732632423543772  # alpha of SELU alone: the classic wrong constant

Dropout = Callable[..., torch.Tensor]

# Leading dimensions that index one decision, per kind (as dropout_verify.kinds says).
_UNIT_DIMS: dict[str, Callable[[torch.Tensor], int]] = {
    "channel1d": lambda x: 2 if x.dim() == 3 else 1,
    "channel2d": lambda x: 2 if x.dim() == 4 else 1,
    "channel3d": lambda x: 2 if x.dim() == 5 else 1,
    "alpha": lambda x: x.dim(),
    "feature_alpha": lambda x: min(x.dim(), 2),
    "path": lambda x: min(x.dim(), 1),
    "path_batch": lambda x: 0,
}
_ALPHA_KINDS = ("alpha", "feature_alpha")


def _validate(x: Any, p: Any) -> float:
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
        raise TypeError(f"expected a floating tensor, got {getattr(x, 'dtype', type(x))}")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"expected a real p, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got p={p!r}")
    return float(p)


def _mask_shape(x: torch.Tensor, unit_dims: int) -> tuple[int, ...]:
    return tuple(x.shape[:unit_dims]) + (1,) * (x.dim() - unit_dims)


def _drop(x: torch.Tensor, unit_dims: int, p: float) -> torch.Tensor:
    return torch.rand(_mask_shape(x, unit_dims), device=x.device) < p


def _values(kind: str, x: torch.Tensor, drop: torch.Tensor, p: float, *, scale: float | None = None,
            alpha: float = A, shift: bool = True) -> torch.Tensor:
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    if kind in _ALPHA_KINDS:
        if p == 1.0:
            return x * 0.0
        q = 1.0 - p
        a = 1.0 / math.sqrt(q * (1 + alpha * alpha * p)) if scale is None else scale
        kept = x.to(work) * a + (a * alpha * p if shift else 0.0)
        return kept.masked_fill(drop, -a * alpha * q if shift else 0.0).to(x.dtype)
    factor = (0.0 if p == 1.0 else 1.0 / (1.0 - p)) if scale is None else scale
    return (x.to(work) * factor).masked_fill(drop, 0.0).to(x.dtype)


def _reference(kind: str, x: Any, p: Any, training: bool, *, drop: Callable[..., torch.Tensor] | None = None,
               **value_options: Any) -> torch.Tensor:
    p = _validate(x, p)
    if not training or p == 0.0 or x.numel() == 0:
        return x.clone()
    unit_dims = _UNIT_DIMS[kind](x)
    mask = (drop or _drop)(x, unit_dims, p)
    return _values(kind, x, mask, p, **value_options)


# --------------------------------------------------------------------------- the bugs

def _unit_too_small(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=lambda t, d, q: _drop(t, min(t.dim(), d + 1), q))
    f.__doc__ = ("One decision per slice one dimension finer than the unit (a channel dropped row by row, a "
                 "sample element by element): the unit's elements do not share the decision.")
    return f


def _unit_too_large(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=lambda t, d, q: _drop(t, max(d - 1, 0), q))
    f.__doc__ = ("One decision per slice one dimension coarser than the unit (all channels of a sample together, "
                 "the whole batch at once): units are not independent.")
    return f


def _shared_across_batch(kind: str) -> Dropout:
    def drop(t: torch.Tensor, d: int, q: float) -> torch.Tensor:
        if d < 2:
            return _drop(t, d, q)
        shape = list(_mask_shape(t, d))
        shape[0] = 1
        return (torch.rand(shape, device=t.device) < q).expand(_mask_shape(t, d))

    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=drop)
    f.__doc__ = "One mask of channels for the whole batch (broadcast over n): rows of units are equal."
    return f


def _neighbours_share(kind: str) -> Dropout:
    def drop(t: torch.Tensor, d: int, q: float) -> torch.Tensor:
        shape = _mask_shape(t, d)
        if d == 0 or t.shape[d - 1] < 2:
            return _drop(t, d, q)
        half = list(shape)
        half[d - 1] = (t.shape[d - 1] + 1) // 2
        draws = torch.rand(half, device=t.device) < q
        return draws.repeat_interleave(2, dim=d - 1).narrow(d - 1, 0, t.shape[d - 1])

    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=drop)
    f.__doc__ = "Units 2k and 2k+1 (neighbouring channels or samples) share one random draw."
    return f


def _no_rescale(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, scale=1.0)
    f.__doc__ = "Kept units are not rescaled (scale 1 instead of 1/(1-p), or alpha's a)."
    return f


def _scale_by_p(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, scale=1.0 / max(_validate(x, p), 1e-12))
    f.__doc__ = "Kept units scaled by 1/p instead of 1/(1-p) (or instead of alpha's a)."
    return f


def _other_kind_values(kind: str) -> Dropout:
    other = "channel2d" if kind in _ALPHA_KINDS else "alpha"

    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        p = _validate(x, p)
        if not training or p == 0.0 or x.numel() == 0:
            return x.clone()
        return _values(other, x, _drop(x, _UNIT_DIMS[kind](x), p), p)
    f.__doc__ = f"Right units, the values of {other} dropout (inverted and alpha dropout confused)."
    return f


def _keep_rate_off(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=lambda t, d, q: _drop(t, d, min(q + 0.03, 1.0)))
    f.__doc__ = "Drops with probability p + 0.03 (a threshold off by a little)."
    return f


def _drops_in_eval(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, True)
    f.__doc__ = "Drops in eval mode too (the training flag is ignored)."
    return f


def _nan_at_p_one(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        p = _validate(x, p)
        if p == 1.0 and training and x.numel():
            return x / torch.zeros((), dtype=x.dtype) * 0.0  # 0/0 and inf * 0
        return _reference(kind, x, p, training)
    f.__doc__ = "No special case at p = 1: x * mask / (1-p) is 0/0 = NaN."
    return f


def _first_unit_always_kept(kind: str) -> Dropout:
    def drop(t: torch.Tensor, d: int, q: float) -> torch.Tensor:
        mask = _drop(t, d, q).clone()
        mask.reshape(-1)[:1] = False
        return mask

    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=drop)
    f.__doc__ = "The first unit (channel or sample) is never dropped (a loop that starts at 1)."
    return f


def _wrong_alpha_constant(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, alpha=SELU_ALPHA)
    f.__doc__ = "SELU's alpha (1.6733) in place of lambda * alpha (1.7581) in the affine correction."
    return f


def _shift_missing(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, shift=False)
    f.__doc__ = "The affine shift a A p left out: dropped units become 0, and the mean is no longer 0."
    return f


_CACHE: dict[Any, torch.Tensor] = {}


def _mask_cached(kind: str) -> Dropout:
    def drop(t: torch.Tensor, d: int, q: float) -> torch.Tensor:
        key = (kind, tuple(t.shape), q, str(t.device))
        if key not in _CACHE:
            _CACHE[key] = _drop(t, d, q)
        return _CACHE[key]

    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        return _reference(kind, x, p, training, drop=drop)
    f.__doc__ = "The mask is drawn once per (shape, p) and reused on every call (a seed baked into a graph)."
    return f


def _seeds_itself(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        torch.manual_seed(0)
        return _reference(kind, x, p, training)
    f.__doc__ = "Calls torch.manual_seed(0) inside: every call, every seed, the same decisions."
    return f


def _nan_slips_through(kind: str) -> Dropout:
    def f(x: Any, p: float = 0.5, training: bool = True) -> torch.Tensor:
        if p < 0.0 or p > 1.0:  # NaN passes this check (torchvision's stochastic_depth validates so)
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if not training or p == 0.0:
            return x.clone()
        mask = torch.rand(_mask_shape(x, _UNIT_DIMS[kind](x)), device=x.device) < p
        return _values(kind, x, mask, min(max(float(p), 0.0), 1.0) if p == p else 0.5)
    f.__doc__ = "Validates with p < 0 or p > 1, which NaN passes: p = NaN gives a silent result."
    return f


_BUGS: dict[str, tuple[Callable[[str], Dropout], str]] = {
    "unit_too_small": (_unit_too_small, "test_unit_shares_decision"),
    "unit_too_large": (_unit_too_large, "test_pairs_uncorrelated"),
    "shared_across_batch": (_shared_across_batch, "test_pairs_uncorrelated"),
    "neighbours_share": (_neighbours_share, "test_pairs_uncorrelated"),
    "no_rescale": (_no_rescale, "test_support"),
    "scale_by_p": (_scale_by_p, "test_support"),
    "other_kind_values": (_other_kind_values, "test_support"),
    "keep_rate_off": (_keep_rate_off, "test_keep_rate"),
    "drops_in_eval": (_drops_in_eval, "test_eval_mode_is_identity"),
    "nan_at_p_one": (_nan_at_p_one, "test_p_one"),
    "first_unit_always_kept": (_first_unit_always_kept, "test_positions_share_one_keep_rate"),
    "wrong_alpha_constant": (_wrong_alpha_constant, "test_support"),
    "shift_missing": (_shift_missing, "test_support"),
    "mask_cached": (_mask_cached, "test_no_periodic_mask"),
    "seeds_itself": (_seeds_itself, "test_different_seeds_different_masks"),
    "nan_slips_through": (_nan_slips_through, "test_invalid_probability_is_rejected"),
}

_COMMON = ("no_rescale", "scale_by_p", "other_kind_values", "keep_rate_off", "drops_in_eval", "mask_cached")
_KIND_BUGS: dict[str, tuple[str, ...]] = {
    "channel1d": (*_COMMON, "unit_too_small", "unit_too_large", "shared_across_batch", "first_unit_always_kept",
                  "nan_at_p_one"),
    "channel2d": (*_COMMON, "unit_too_small", "unit_too_large", "shared_across_batch", "neighbours_share",
                  "first_unit_always_kept", "nan_at_p_one", "nan_slips_through"),
    "channel3d": (*_COMMON, "unit_too_small", "unit_too_large", "shared_across_batch", "nan_at_p_one"),
    "alpha": ("scale_by_p", "other_kind_values", "keep_rate_off", "drops_in_eval", "mask_cached",
              "wrong_alpha_constant", "shift_missing", "first_unit_always_kept", "seeds_itself"),
    "feature_alpha": ("scale_by_p", "other_kind_values", "keep_rate_off", "drops_in_eval", "unit_too_small",
                      "unit_too_large", "shared_across_batch", "wrong_alpha_constant", "shift_missing"),
    "path": (*_COMMON, "unit_too_small", "unit_too_large", "neighbours_share", "first_unit_always_kept",
             "nan_at_p_one", "nan_slips_through"),
    "path_batch": ("no_rescale", "scale_by_p", "keep_rate_off", "drops_in_eval", "mask_cached", "unit_too_small",
                   "nan_at_p_one", "seeds_itself", "nan_slips_through"),
}

CATCHES: dict[str, str] = {}
MUTANTS: list[str] = []
for _kind, _bugs in _KIND_BUGS.items():
    for _bug in _bugs:
        _make, _property = _BUGS[_bug]
        _function = _make(_kind)
        _name = f"{_kind}__{_bug}"
        _function.__name__ = _function.__qualname__ = _name
        _function.__doc__ = f"{_kind}: {_function.__doc__}"
        _function.dropout_kind = _kind  # type: ignore[attr-defined]
        globals()[_name] = _function
        CATCHES[_name] = _property
        MUTANTS.append(_name)
del _kind, _bugs, _bug, _make, _property, _function, _name


# --------------------------------------------------------------------------- an ambiguous 3-D input


def channel2d__asserts_on_3d(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """channel2d: refuses a 3-D input with a bare assert (gone under python -O; not a clear error)."""
    assert x.dim() == 4
    return _reference("channel2d", x, p, training)


def channel2d_refusing_3d(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
    """channel2d that refuses the ambiguous 3-D input with a clear ValueError, as Keras'
    SpatialDropout2D does: an accepted answer (verified on test_channel2d_3d_input)."""
    if x.dim() == 3:
        raise ValueError(f"Expected a 4-D (N, C, H, W) input, but got shape {tuple(x.shape)}: a 3-D input is ambiguous")
    return _reference("channel2d", x, p, training)


channel2d__asserts_on_3d.dropout_kind = "channel2d"  # type: ignore[attr-defined]
channel2d_refusing_3d.dropout_kind = "channel2d"  # type: ignore[attr-defined]
CATCHES["channel2d__asserts_on_3d"] = "test_channel2d_3d_input"
MUTANTS.append("channel2d__asserts_on_3d")


# --------------------------------------------------------------------------- attention kernels


def _attention_probabilities(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)


def _shared_heads_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    weights = _attention_probabilities(q, k)
    if p > 0:
        if not 0 <= p <= 1:
            raise ValueError(f"dropout_p must be in [0, 1], got {p}")
        keep = torch.rand(weights.shape[0], 1, *weights.shape[2:], device=q.device) >= p  # one mask for all heads
        weights = weights * keep / (1 - p) if p < 1 else weights * 0
    return weights @ v


class _FreshMaskBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, p: float) -> torch.Tensor:  # type: ignore[override]
        ctx.p = p
        keep = torch.rand(weights.shape, device=weights.device) >= p
        return weights * keep / (1 - p)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        keep = torch.rand(grad.shape, device=grad.device) >= ctx.p  # recomputed without the forward's RNG state
        return grad * keep / (1 - ctx.p), None


def _fresh_backward_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    weights = _attention_probabilities(q, k)
    if p > 0:
        if not 0 <= p <= 1:
            raise ValueError(f"dropout_p must be in [0, 1], got {p}")
        weights = _FreshMaskBackward.apply(weights, p) if p < 1 else weights * 0
    return weights @ v


def _correct_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    """Attention with validated, elementwise dropout of the weights (torch.dropout)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"dropout_p must be a real number, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout_p must be in [0, 1], got {p}")
    return torch.dropout(_attention_probabilities(q, k), p, True) @ v


from dropout_verify.attention import attention_target  # noqa: E402 - after the kernels it wraps

attention__correct = attention_target(_correct_attend, name="correct_attention")

attention__mask_shared_across_heads = attention_target(_shared_heads_attend, name="mask_shared_across_heads")
attention__mask_shared_across_heads.__doc__ = "attention: one dropout mask for every head of a batch element."
attention__fresh_mask_in_backward = attention_target(_fresh_backward_attend, name="fresh_mask_in_backward")
attention__fresh_mask_in_backward.__doc__ = ("attention: the backward pass redraws the dropout mask (activation "
                                             "recomputation without the forward's RNG state).")
CATCHES["attention__mask_shared_across_heads"] = "test_pairs_uncorrelated"
CATCHES["attention__fresh_mask_in_backward"] = "test_attention_backward_matches_forward"
MUTANTS += ["attention__mask_shared_across_heads", "attention__fresh_mask_in_backward"]


# --------------------------------------------------------------------------- correct variants

CORRECT: list[str] = []  # specs (module:attr), verified with their own or declared kinds


def timm_drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False,
                   scale_by_keep: bool = True) -> torch.Tensor:
    """timm's drop_path (timm/layers/drop.py), transcribed: a per-sample mask scaled by 1/keep."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


timm_drop_path.dropout_kind = "path"  # type: ignore[attr-defined]


def torchvision_stochastic_depth_batch(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """torchvision.ops.stochastic_depth(x, p, mode="batch", training), transcribed."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    survival_rate = 1.0 - p
    noise = torch.empty([1] * x.ndim, dtype=x.dtype, device=x.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return x * noise


torchvision_stochastic_depth_batch.dropout_kind = "path_batch"  # type: ignore[attr-defined]

CORRECT = [
    "torch.nn.functional:dropout1d", "torch.nn.functional:dropout2d", "torch.nn.functional:dropout3d",
    "torch.nn.functional:alpha_dropout", "torch.nn.functional:feature_alpha_dropout",
    "torch.nn:Dropout2d", "torch.nn:Dropout3d",
    "dropout_impl:dropout1d", "dropout_impl:dropout2d", "dropout_impl:dropout3d", "dropout_impl:alpha_dropout",
    "dropout_impl:feature_alpha_dropout", "dropout_impl:drop_path", "dropout_impl:drop_path_batch",
    "dropout_impl:DropPath", "tests.family_mutants:attention__correct",
]
# Real findings in torch 2.13 (README), which must fail exactly these properties:
# nn.AlphaDropout and nn.FeatureAlphaDropout take inplace=True and ignore it (their forward calls
# F.alpha_dropout without it); scaled_dot_product_attention's math backend accepts dropout_p =
# -0.1, NaN and -inf silently (it applies dropout only when dropout_p > 0).
TORCH_FINDINGS = {"torch.nn:AlphaDropout": ["test_inplace"], "torch.nn:FeatureAlphaDropout": ["test_inplace"],
                  "dropout_verify.attention:sdpa_math": ["test_invalid_probability_is_rejected"]}
# Third-party code transcribed here; what the suite finds in it is in the README.
THIRD_PARTY = ["tests.family_mutants:timm_drop_path", "tests.family_mutants:torchvision_stochastic_depth_batch"]
