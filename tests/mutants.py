"""A catalog of known-bad dropouts (mutants) and of correct variants, for the suite's own tests.

Each mutant is a correct dropout with one bug put in, the kind of bug dropout_verify/docs/CONTRACT.md and
the record of real bugs (README) list, so that it should fail the property named in ``CATCHES`` (and may fail others
too). Each docstring names the bug and where such a bug was seen. The correct variants use
other ways to draw and apply the mask and must pass everything.

Run the suite against one of them yourself::

    pytest properties --dropout-impl tests.mutants:scale_by_p --dropout-level quick
"""

from __future__ import annotations

import functools
import time

import torch

# --------------------------------------------------------------------------- shared parts


def _validate(x: object, p: object) -> float:
    """The validation a correct dropout does (so each mutant differs in one bug only)."""
    if not isinstance(x, torch.Tensor) or not x.dtype.is_floating_point:
        raise TypeError(f"expected a floating tensor, got {getattr(x, 'dtype', type(x))}")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"expected a real p, got {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1], got p={p!r}")
    return float(p)


def _drop_mask(x: torch.Tensor, p: float) -> torch.Tensor:
    return torch.rand(x.shape, device=x.device) < p


def _apply(x: torch.Tensor, drop: torch.Tensor, p: float) -> torch.Tensor:
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return (x.to(torch.float64 if x.dtype == torch.float64 else torch.float32) * scale).masked_fill(drop, 0).to(x.dtype)


def _reference(x, p=0.5, training=True, drop_fn=_drop_mask):
    p = _validate(x, p)
    if not training or p == 0.0:
        return x.clone()
    return _apply(x, drop_fn(x, p), p)


# Which property (test function of properties/) each mutant is meant to fail.
CATCHES: dict[str, str] = {}


def catches(test_name: str):
    def register(fn):
        CATCHES[fn.__name__] = test_name
        return fn

    return register


# --------------------------------------------------------------------------- values and scale


@catches("test_support")
def no_rescale(x, p=0.5, training=True):
    """Drops but never rescales the kept values (E[y] = (1-p) x). Seen in hand-written
    tutorial dropouts and in ports from inverted-dropout-free code."""
    p = _validate(x, p)
    return x * (~_drop_mask(x, p)) if training else x.clone()


@catches("test_support")
def scale_by_p(x, p=0.5, training=True):
    """Scales kept values by 1/p instead of 1/(1-p) (dropout_verify/docs/CONTRACT.md section 5)."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    return (x / p).masked_fill(_drop_mask(x, p), 0)


@catches("test_support")
def scaled_mask_without_x(x, p=0.5, training=True):
    """Returns mask / (1-p) and forgets x: the notebook's first function's main bug."""
    p = _validate(x, p)
    if not training or p in (0.0, 1.0):
        return x.clone() if p == 0 or not training else torch.zeros_like(x)
    return ((~_drop_mask(x, p)).to(x.dtype) / (1 - p)) + 0 * x


@catches("test_support")
def notebook_dropout(x, drop_prob):
    """The notebook's first function, verbatim: scaled mask without x, float32 cast, assert."""
    x = x.float()
    assert 0 <= drop_prob <= 1
    if drop_prob == 1:
        return torch.zeros_like(x)
    mask = (torch.rand(x.shape) > drop_prob).float()
    return mask / (1 - drop_prob)


@catches("test_keep_rate")
def notebook_dropout2(x, drop_prob):
    """The notebook's second function, verbatim: reads p as the keep probability, returns
    the mask without x, integer zeros at p = 0, validates with assert."""
    assert 0 <= drop_prob <= 1
    if drop_prob == 0:
        return torch.zeros_like(x)
    m = torch.distributions.Bernoulli(torch.tensor([float(drop_prob)]))
    mask = m.sample(x.shape).view(x.shape)
    return mask / drop_prob


@catches("test_support")
def sign_lost(x, p=0.5, training=True):
    """Returns |x| / (1-p) for kept elements (an abs() left in a fused activation path)."""
    y = _reference(x, p, training)
    return y.abs()


@catches("test_support")
def self_normalised(x, p=0.5, training=True):
    """Rescales by the realised keep fraction (n / kept) instead of 1/(1-p): unbiased-looking
    on average, but not the dropout contract (seen in 'exact expectation' variants)."""
    p = _validate(x, p)
    if not training or p == 0.0:
        return x.clone()
    keep = ~_drop_mask(x, p)
    kept = max(int(keep.sum()), 1)
    return x * keep * (x.numel() / kept)


@catches("test_keep_rate")
def keep_rate_and_scale_mismatch(x, p=0.5, training=True):
    """Keeps with probability (1-p)(1+0.03) but scales by 1/(1-p): E[y] = 1.03 x. Seen when a
    kernel's threshold and its scale are computed from differently rounded p."""
    p = _validate(x, p)
    if not training or p == 0.0:
        return x.clone()
    q = min(1.0, (1 - p) * 1.03)
    return _apply(x, torch.rand(x.shape, device=x.device) >= q, p)


# --------------------------------------------------------------------------- keep rate


@catches("test_keep_rate")
def biased_threshold(x, p=0.5, training=True):
    """Threshold off by 0.012 (an off-by-a-little comparison constant)."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device) < min(p + 0.012, 1.0))


@catches("test_keep_rate")
def keep_probability_quantised_to_sixteenths(x, p=0.5, training=True):
    """p rounded to a multiple of 1/16 before thresholding (dropout_verify/docs/CONTRACT.md section 5: 1/16- or
    8-bit-quantised keep probabilities in fused attention kernels)."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device) < round(p * 16) / 16)


@catches("test_keep_rate")
def keep_and_drop_confused(x, p=0.5, training=True):
    """Keeps with probability p and drops with 1-p, scaling by 1/(1-p): the TensorFlow 1 /
    PyTorch convention mix-up (invisible at p = 0.5)."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device) >= p if 0 < p < 1 else torch.full(t.shape, p == 1.0, device=t.device))


@catches("test_keep_rate")
def p_clamped(x, p=0.5, training=True):
    """p clamped to [0.1, 0.9] "for numerical safety"."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device) < min(max(p, 0.1), 0.9))


@catches("test_p_zero_is_identity")
def bfloat16_rand_keep_above(x, p=0.5, training=True):
    """Keeps when a bfloat16 uniform is > p: bf16 rand is exactly 0 about 0.2% of the time,
    so elements are dropped even at p = 0, and thresholds are 8-bit (dropout_verify/docs/CONTRACT.md section 5)."""
    p = _validate(x, p)
    if not training:
        return x.clone()
    keep = torch.rand(x.shape, device=x.device, dtype=torch.bfloat16) > p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return (x.float() * scale).masked_fill(~keep, 0).to(x.dtype)


# --------------------------------------------------------------------------- edges


@catches("test_p_one")
def nan_at_p_one(x, p=0.5, training=True):
    """Computes x * mask / (1-p) with no special case: 0/0 = NaN at p = 1."""
    p = _validate(x, p)
    if not training:
        return x.clone()
    keep = (~_drop_mask(x, p)).to(x.dtype)
    return x * keep / (1 - p) if p < 1 else x * keep / torch.tensor(0.0, dtype=x.dtype)


@catches("test_p_one")
def zeros_like_at_p_one(x, p=0.5, training=True):
    """Returns torch.zeros_like(x) at p = 1, which cuts the autograd graph (the notebook)."""
    p = _validate(x, p)
    if p == 1.0 and training:
        return torch.zeros_like(x)
    return _reference(x, p, training)


@catches("test_p_zero_is_identity")
def zeros_at_p_zero(x, p=0.5, training=True):
    """Returns zeros at p = 0 (the notebook's second function's edge case)."""
    p = _validate(x, p)
    if p == 0.0 and training:
        return torch.zeros_like(x)
    return _reference(x, p, training)


@catches("test_near_edges_finite")
def scale_in_float16(x, p=0.5, training=True):
    """Computes the scale 1/(1-p) in float16, which overflows to inf for 1-p < 1.5e-5, then
    multiplies: dropped elements become inf * 0 = NaN near p = 1."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    scale = torch.tensor(1.0, dtype=torch.float16) / torch.tensor(1 - p, dtype=torch.float16)
    keep = (~_drop_mask(x, p)).to(torch.float32)
    return (x.float() * scale.float() * keep).to(x.dtype)


# --------------------------------------------------------------------------- validation


@catches("test_invalid_probability_is_rejected")
def assert_validation(x, p=0.5, training=True):
    """Validates p with assert: AssertionError, and no check at all under python -O (the
    notebook's both functions)."""
    assert 0 <= p <= 1, "bad p"
    return _reference(x, float(p), training)


@catches("test_invalid_probability_is_rejected")
def no_validation(x, p=0.5, training=True):
    """No validation: p = 1.5 silently returns -2 x for kept elements."""
    if not training or p == 0:
        return x.clone()
    drop = torch.rand(x.shape, device=x.device) < p
    return (x / (1 - p)).masked_fill(drop, 0)


@catches("test_invalid_probability_is_rejected")
def nan_slips_through(x, p=0.5, training=True):
    """Checks `p < 0 or p > 1`, which is False for NaN: p = NaN gives a silent result."""
    if p < 0 or p > 1:
        raise ValueError(f"p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x.clone()
    return (x / (1 - p)).masked_fill(torch.rand(x.shape, device=x.device) < p, 0)


@catches("test_invalid_probability_is_rejected")
def error_without_the_value(x, p=0.5, training=True):
    """Raises ValueError('invalid dropout probability') without naming the value."""
    if not (0 <= p <= 1):
        raise ValueError("invalid dropout probability")
    return _reference(x, p, training)


@catches("test_non_float_tensor_is_rejected")
def integers_cast_silently(x, p=0.5, training=True):
    """Casts integer and bool tensors to float and returns a float result, silently."""
    if not x.dtype.is_floating_point:
        x = x.float()
    return _reference(x, p, training)


# --------------------------------------------------------------------------- eval mode


@catches("test_eval_mode_is_identity")
def training_flag_ignored(x, p=0.5, training=True):
    """Drops in eval mode too: the training flag is accepted and ignored."""
    return _reference(x, p, True)


@catches("test_eval_mode_is_identity")
def training_flag_inverted(x, p=0.5, training=True):
    """Drops only when training is False (a flag read the wrong way round)."""
    return _reference(x, p, not training)


# --------------------------------------------------------------------------- homogeneity


def _flat_memory_index(x: torch.Tensor) -> torch.Tensor:
    """Each element's position in memory order (what a kernel's thread index sees)."""
    if x.dim() == 0:
        return torch.zeros((), dtype=torch.long, device=x.device)
    strides = [s if s else 0 for s in x.stride()]
    index = torch.zeros(x.shape, dtype=torch.long, device=x.device)
    for dim, stride in enumerate(strides):
        shape = [1] * x.dim()
        shape[dim] = x.shape[dim]
        index = index + torch.arange(x.shape[dim], device=x.device).reshape(shape) * stride
    return index


@catches("test_positions_share_one_keep_rate")
def first_element_always_kept(x, p=0.5, training=True):
    """The first element is never dropped (a loop that starts at 1)."""

    def drop(t, p):
        mask = torch.rand(t.shape, device=t.device) < p
        mask.reshape(-1)[:1] = False
        return mask

    return _reference(x, p, training, drop)


@catches("test_positions_share_one_keep_rate")
def vector_tail_never_dropped(x, p=0.5, training=True):
    """Elements past the last multiple of 8 are never dropped (a vectorised main loop with
    a scalar tail that forgets the mask)."""

    def drop(t, p):
        mask = (torch.rand(t.shape, device=t.device) < p).reshape(-1).clone()
        tail = mask.numel() % 8
        if tail:
            mask[-tail:] = False
        return mask.reshape(t.shape)

    return _reference(x, p, training, drop)


@catches("test_keep_rate")
def wrong_past_1024(x, p=0.5, training=True):
    """Elements past index 1023 use a threshold of p/2 (a second grid-stride pass that
    reads a stale threshold): wrong results past 1024 elements (dropout_verify/docs/CONTRACT.md section 5)."""

    def drop(t, p):
        u = torch.rand(t.numel(), device=t.device)
        threshold = torch.full_like(u, p)
        threshold[1024:] = p / 2
        return (u < threshold).reshape(t.shape)

    return _reference(x, p, training, drop)


@catches("test_positions_share_one_keep_rate")
def drift_with_position(x, p=0.5, training=True):
    """The keep rate drifts linearly by +-0.2 from the first to the last element."""

    def drop(t, p):
        n = t.numel()
        ramp = torch.linspace(-0.2, 0.2, n, device=t.device) if n > 1 else torch.zeros(n, device=t.device)
        return (torch.rand(n, device=t.device) < (p + ramp).clamp(0, 1)).reshape(t.shape)

    return _reference(x, p, training, drop)


@catches("test_positions_share_one_keep_rate")
def rate_depends_on_sign(x, p=0.5, training=True):
    """Negative values are dropped at p + 0.25, positive ones at p - 0.25 (a threshold
    computed from x's bits): the average keep rate is right, the positions are not."""

    def drop(t, p):
        shift = torch.where(x < 0, 0.25, -0.25).to(torch.float32)
        return torch.rand(t.shape, device=t.device) < (p + shift).clamp(0, 1)

    return _reference(x, p, training, drop)


# --------------------------------------------------------------------------- independence


@catches("test_pairs_uncorrelated")
def mask_shared_across_batch(x, p=0.5, training=True):
    """One mask for x.shape[1:], broadcast over the batch dimension."""

    def drop(t, p):
        if t.dim() < 2:
            return torch.rand(t.shape, device=t.device) < p
        return (torch.rand((1, *t.shape[1:]), device=t.device) < p).expand(t.shape)

    return _reference(x, p, training, drop)


@catches("test_kept_count_dispersion")
def rows_dropped_whole(x, p=0.5, training=True):
    """Drops whole rows (one draw per index of the last dimension's row) like Dropout2d
    applied where element-wise dropout was meant."""

    def drop(t, p):
        if t.dim() == 0:
            return torch.rand((), device=t.device) < p
        return (torch.rand((*t.shape[:-1], 1), device=t.device) < p).expand(t.shape)

    return _reference(x, p, training, drop)


@catches("test_pairs_uncorrelated")
def groups_of_four_share_a_draw(x, p=0.5, training=True):
    """Four consecutive elements (in memory) share one random draw, as in compiled kernels
    that unpack one Philox output for four elements incorrectly (dropout_verify/docs/CONTRACT.md section 5)."""

    def drop(t, p):
        index = _flat_memory_index(t) // 4
        draws = torch.rand(int(index.max()) + 1 if t.numel() else 1, device=t.device)
        return draws[index] < p

    return _reference(x, p, training, drop)


@catches("test_no_periodic_mask")
def mask_repeats_every_1024(x, p=0.5, training=True):
    """Only 1024 random draws, tiled over the tensor: a mask with period 1024."""

    def drop(t, p):
        draws = torch.rand(1024, device=t.device) < p
        return draws[_flat_memory_index(t) % 1024]

    return _reference(x, p, training, drop)


@catches("test_kept_count_dispersion")
def exactly_k_kept(x, p=0.5, training=True):
    """Keeps exactly round((1-p) n) elements, chosen by a random permutation: right rate,
    no binomial variance."""

    def drop(t, p):
        n = t.numel()
        order = torch.randperm(n, device=t.device)
        mask = torch.zeros(n, dtype=torch.bool, device=t.device)
        mask[order[: round(p * n)]] = True
        return mask.reshape(t.shape)

    return _reference(x, p, training, drop)


@catches("test_different_seeds_different_masks")
def seeds_itself(x, p=0.5, training=True):
    """Calls torch.manual_seed(0) inside: the same mask every call, and the caller's RNG is
    reset (dropout_verify/docs/CONTRACT.md, C10)."""
    torch.manual_seed(0)
    return _reference(x, p, training)


_PRIVATE = torch.Generator().manual_seed(time.time_ns() % (2**63))


@catches("test_same_seed_same_result")
def private_clock_seeded_generator(x, p=0.5, training=True):
    """Draws from a private generator seeded from the clock: torch.manual_seed does not
    reproduce the mask."""

    def drop(t, p):
        return (torch.rand(t.shape, generator=_PRIVATE) < p).to(t.device)

    return _reference(x, p, training, drop)


_CACHE: dict = {}


@catches("test_no_periodic_mask")
def mask_cached_across_calls(x, p=0.5, training=True):
    """Caches the mask per (shape, p) and reuses it on the next calls (a seed baked into a
    CUDA graph, or an RNG offset that is never advanced)."""

    def drop(t, p):
        key = (tuple(t.shape), p, t.device)
        if key not in _CACHE:
            _CACHE[key] = torch.rand(t.shape, device=t.device) < p
        return _CACHE[key]

    return _reference(x, p, training, drop)


_LAST: dict = {}


@catches("test_no_periodic_mask")
def mask_shifted_each_call(x, p=0.5, training=True):
    """Each call's mask is the previous one shifted by one element (an RNG offset advanced
    by 1 instead of by the number of draws)."""

    def drop(t, p):
        key = (tuple(t.shape), p, t.device)
        if key in _LAST:
            flat = torch.roll(_LAST[key].reshape(-1), 1)
        else:
            flat = torch.rand(t.numel(), device=t.device) < p
        _LAST[key] = flat
        return flat.reshape(t.shape)

    return _reference(x, p, training, drop)


# --------------------------------------------------------------------------- tensor contract


@catches("test_contract")
def downcast_to_float32(x, p=0.5, training=True):
    """Calls x.float() first: float64 results come back as float32 (the notebook)."""
    return _reference(x.float(), p, training)


@catches("test_contract")
def view_on_strided_input(x, p=0.5, training=True):
    """Flattens with x.view(-1), which raises on transposed or sliced inputs."""
    flat = x.view(-1)
    return _reference(flat, p, training).view(x.shape)


@catches("test_support")
def storage_order_scramble(x, p=0.5, training=True):
    """Reads x's storage in memory order as if it were contiguous: values of transposed and
    channels_last inputs land at the wrong positions."""
    p = _validate(x, p)
    if x.dim() == 0 or x.is_contiguous() or x.numel() == 0:
        return _reference(x, p, training)
    storage = torch.empty(x.numel(), dtype=x.dtype, device=x.device)
    dense = x if x.is_contiguous(memory_format=torch.channels_last) or x.stride()[-1] != 1 else x.contiguous()
    storage.copy_(dense.permute(*sorted(range(x.dim()), key=lambda d: -dense.stride(d))).reshape(-1))
    return _reference(storage.reshape(x.shape), p, training)


@catches("test_contract")
def extra_trailing_dimension(x, p=0.5, training=True):
    """Bernoulli(q).sample(x.shape) adds a trailing dimension of size 1 (the notebook's
    second function, without its .view)."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    keep = torch.distributions.Bernoulli(torch.tensor([1 - p], device=x.device)).sample(x.shape)
    return x.unsqueeze(-1) * keep / (1 - p) if p < 1 else x.unsqueeze(-1) * keep * 0


@catches("test_contract")
def modifies_the_input(x, p=0.5, training=True, inplace=False):
    """Writes the result into x even when inplace=False."""
    y = _reference(x, p, training)
    if x.numel() and all(s != 0 for s in x.stride()):
        x.copy_(y)
    return y


@catches("test_inplace")
def inplace_ignored(x, p=0.5, training=True, inplace=False):
    """Accepts inplace=True but returns a new tensor and leaves x as it was."""
    return _reference(x, p, training)


# --------------------------------------------------------------------------- gradients


@catches("test_gradient_matches_forward_mask")
def detached_output(x, p=0.5, training=True):
    """Computes the result under no_grad: the output has no gradient."""
    with torch.no_grad():
        return _reference(x, p, training)


@catches("test_gradient_matches_forward_mask")
def straight_through_gradient(x, p=0.5, training=True):
    """Forward drops, backward passes the gradient through unchanged (x + (y - x).detach())."""
    y = _reference(x, p, training)
    return x + (y - x).detach()


class _FreshMaskInBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        return _apply(x, _drop_mask(x, p), p)

    @staticmethod
    def backward(ctx, grad):
        p = ctx.p
        return _apply(grad, _drop_mask(grad, p), p), None


@catches("test_gradient_matches_forward_mask")
def fresh_mask_in_backward(x, p=0.5, training=True):
    """Backward draws a new mask instead of reusing the forward one (activation
    checkpointing that recomputes dropout without restoring the RNG state)."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    return _FreshMaskInBackward.apply(x, p)


class _UnscaledBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        drop = _drop_mask(x, p)
        ctx.save_for_backward(drop)
        return _apply(x, drop, p)

    @staticmethod
    def backward(ctx, grad):
        (drop,) = ctx.saved_tensors
        return grad.masked_fill(drop, 0), None


@catches("test_gradient_matches_forward_mask")
def backward_not_rescaled(x, p=0.5, training=True):
    """Backward applies the mask but forgets the 1/(1-p) factor."""
    p = _validate(x, p)
    if not training or p == 0 or p == 1:
        return _reference(x, p, training)
    return _UnscaledBackward.apply(x, p)


# --------------------------------------------------------------------------- blind spots closed
# Each of these passed the suite before the statistics issue's checks existed.


@catches("test_keep_probability_not_quantised")
def keep_probability_rounded_to_64ths(x, p=0.5, training=True):
    """The keep probability rounded to the nearest multiple of 1/64 (a 6-bit table): off by up
    to 1/128 between grid points, invisible to a keep-rate test at random p."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device) >= round((1 - p) * 64) / 64)


@catches("test_keep_probability_not_quantised")
def keep_threshold_floor_255(x, p=0.5, training=True):
    """An 8-bit keep threshold floor((1-p) * 255), as FlashAttention stores it: keep rates on
    the 1/255 grid, rounded down."""
    def drop(t, p):
        threshold = int((1 - p) * 255) / 255
        return torch.rand(t.shape, device=t.device) >= threshold
    return _reference(x, p, training, drop)


@catches("test_pairs_uncorrelated")
def mask_tiled_every_64_rows(x, p=0.5, training=True):
    """A kernel that draws a mask for 64 rows and tiles it over a larger batch: rows 64 apart
    are equal (no input had more than 64 rows before)."""
    def drop(t, p):
        if t.dim() < 2 or t.shape[0] <= 64:
            return torch.rand(t.shape, device=t.device) < p
        tile = torch.rand((64, *t.shape[1:]), device=t.device) < p
        reps = -(-t.shape[0] // 64)
        return tile.repeat(reps, *([1] * (t.dim() - 1)))[: t.shape[0]]
    return _reference(x, p, training, drop)


@catches("test_pairs_uncorrelated")
def rows_two_apart_share_draws(x, p=0.5, training=True):
    """Row r + 2 reuses row r's random numbers half the time (a tiled kernel whose tiles of two
    rows overlap): rows at distance 2 correlated, neighbouring rows not."""
    def drop(t, p):
        u = torch.rand(t.shape, device=t.device)
        if t.dim() >= 2 and t.shape[0] > 2:
            reuse = torch.rand(t.shape[0] - 2, *([1] * (t.dim() - 1)), device=t.device) < 0.5
            u[2:] = torch.where(reuse, u[:-2], u[2:])
        return u < p
    return _reference(x, p, training, drop)


_STREAM: dict = {}


@catches("test_no_repeated_mask")
def stream_repeats_every_7_calls(x, p=0.5, training=True):
    """The RNG offset wraps: call t draws the mask of call t - 7 (per shape and p). Consecutive
    calls are independent and no lag within four calls repeats; only a hash of every mask sees it."""
    def drop(t, p):
        key = (tuple(t.shape), p, str(t.device))
        history = _STREAM.setdefault(key, [])
        mask = history[-7] if len(history) >= 7 else torch.rand(t.shape, device=t.device) < p
        history.append(mask)
        del history[:-7]
        return mask
    return _reference(x, p, training, drop)


_EVERY3: dict = {}


@catches("test_no_periodic_mask")
def repeats_every_3_calls(x, p=0.5, training=True):
    """Call t repeats call t - 3 exactly (at q = 0.95 Azuma's bound missed it; Freedman's does not)."""
    def drop(t, p):
        key = (tuple(t.shape), p, str(t.device))
        history = _EVERY3.setdefault(key, [])
        mask = history[-3] if len(history) >= 3 else torch.rand(t.shape, device=t.device) < p
        history.append(mask)
        del history[:-3]
        return mask
    return _reference(x, p, training, drop)


@catches("test_keep_rate_independent_of_x")
def rate_depends_on_magnitude(x, p=0.5, training=True):
    """Elements larger than 1 in magnitude are dropped at p + 0.08, smaller ones at p - 0.08:
    right on average over these inputs, wrong for every value."""
    def drop(t, p):
        shift = torch.where(x.abs() > 1, 0.08, -0.08).to(torch.float32)
        return torch.rand(t.shape, device=t.device) < (p + shift).clamp(0, 1)
    return _reference(x, p, training, drop)


@catches("test_positions_share_one_keep_rate")
def wrong_past_4096(x, p=0.5, training=True):
    """Elements past index 4095 are never dropped (a kernel whose second grid pass skips the
    mask): invisible to a homogeneity test that looks at 1000 positions."""
    def drop(t, p):
        mask = (torch.rand(t.numel(), device=t.device) < p)
        mask[4096:] = False
        return mask.reshape(t.shape)
    return _reference(x, p, training, drop)


@catches("test_support")
def p_rounded_to_bfloat16(x, p=0.5, training=True):
    """Scales by 1/(1-p') with p' = p rounded to bfloat16 (8 bits): a coarser p than float32
    rounding, which the suite accepts; 1-p' differs from 1-p by up to 0.4%."""
    p = _validate(x, p)
    p16 = float(torch.tensor(p, dtype=torch.bfloat16))
    if not training or p == 0 or p16 >= 1:
        return _reference(x, p, training)
    return (x.double() / (1 - p16)).to(x.dtype).masked_fill(_drop_mask(x, p), 0)


# --------------------------------------------------------------------------- every precision, relative bias
# Each of these passed the suite before its quantisation probes ran in float16 and bfloat16 and
# its keep-rate test was planned for a relative bias. ``NEEDS`` names the level (and options) at
# which a class first becomes visible, for those the quick level cannot see.

NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {}


def needs(level: str, *options: str):
    def register(fn):
        NEEDS[fn.__name__] = (level, options)
        return fn

    return register


_FORMATS = {torch.float16: (10, -14), torch.bfloat16: (7, -126)}  # mantissa bits, smallest normal exponent


def _truncated(u: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """u (float64 in [0, 1)) rounded down (towards zero) to a number of ``dtype``, exactly."""
    mantissa, min_exponent = _FORMATS[dtype]
    _, exponent = torch.frexp(u)
    spacing = torch.ldexp(torch.ones_like(u), (exponent - 1).clamp(min=min_exponent) - mantissa)
    return torch.floor(u / spacing) * spacing


def _uniform_in(dtype: torch.dtype, mode: str):
    """A drop mask from float32 uniforms held in ``dtype`` when x has it: rounded to nearest (a
    store into an x-typed buffer) or truncated (the top bits kept); compared with p exactly."""
    def drop(t, p):
        u = torch.rand(t.shape, device=t.device)
        if t.dtype == dtype:
            u = u.to(dtype).double() if mode == "nearest" else _truncated(u.double(), dtype)
        return u < p
    return drop


@catches("test_keep_probability_not_quantised")
def float16_uniform_rounded_to_nearest(x, p=0.5, training=True):
    """For float16 x, float32 uniforms stored in a float16 buffer (rounded to nearest, 1.0
    possible) before the comparison with p: drop rates on float16's mid-cells, off by up to
    2^-12 near p = 1."""
    return _reference(x, p, training, _uniform_in(torch.float16, "nearest"))


@catches("test_keep_probability_not_quantised")
def float16_uniform_rounded_down(x, p=0.5, training=True):
    """For float16 x, uniforms truncated to float16 (the top bits kept) before the comparison:
    drop rates rounded up to float16, off by up to 2^-11 near p = 1."""
    return _reference(x, p, training, _uniform_in(torch.float16, "down"))


@catches("test_keep_probability_not_quantised")
def bfloat16_uniform_rounded_to_nearest(x, p=0.5, training=True):
    """For bfloat16 x, uniforms rounded to bfloat16 before the comparison (``rand_like(x)``
    without its wrap of 1 to 0): drop rates on bfloat16's mid-cells, off by up to 2^-9."""
    return _reference(x, p, training, _uniform_in(torch.bfloat16, "nearest"))


@catches("test_keep_probability_not_quantised")
def bfloat16_uniform_rounded_down(x, p=0.5, training=True):
    """For bfloat16 x, uniforms truncated to bfloat16 (the top 16 bits of a float32) before the
    comparison: drop rates rounded up to bfloat16, off by up to 2^-8 near p = 1."""
    return _reference(x, p, training, _uniform_in(torch.bfloat16, "down"))


@catches("test_keep_probability_not_quantised")
def threshold_rounded_to_float16(x, p=0.5, training=True):
    """For float16 x, p held in float16 (a half-precision kernel argument) and compared with
    float32 uniforms: drop rates on float16, off by up to 2^-12 (the scale uses the exact p)."""
    def drop(t, p):
        threshold = float(torch.tensor(p, dtype=torch.float16)) if t.dtype == torch.float16 else p
        return torch.rand(t.shape, device=t.device, dtype=torch.float64) < threshold
    return _reference(x, p, training, drop)


@needs("quick", "--dropout-time", "1")
@catches("test_keep_probability_not_quantised")
def keep_threshold_16_bit(x, p=0.5, training=True):
    """A 16-bit keep threshold: keep when a 16-bit random integer is below round((1-p) 65536),
    keep rates on the 1/65536 grid (off by up to 2^-17). Its probes, 2^-18 from p = 1, take
    about 7 x 10^7 decisions: planned at thorough and with --time only."""
    def drop(t, p):
        return torch.randint(0, 1 << 16, t.shape, device=t.device) >= round((1 - p) * 65536)
    return _reference(x, p, training, drop)


@needs("standard")
@catches("test_keep_rate")
def sparse_keeps_1_5_percent_too_few(x, p=0.5, training=True):
    """For p >= 0.9 (sparse keeps) a second code path keeps at 0.985 (1-p): 1.5% of q too few,
    7.5e-4 at p = 0.95, under the absolute keep-rate bias of 0.002 that standard detects."""
    def drop(t, p):
        keep = 1 - p if p < 0.9 else 0.985 * (1 - p)
        return torch.rand(t.shape, device=t.device, dtype=torch.float64) >= keep
    return _reference(x, p, training, drop)


@needs("standard")
@catches("test_keep_rate")
def dense_drops_1_5_percent_too_few(x, p=0.5, training=True):
    """For p <= 0.1 (dense keeps) a second code path drops at 0.985 p: 1.5% of p too few,
    7.5e-4 at p = 0.05."""
    def drop(t, p):
        rate = p if p > 0.1 else 0.985 * p
        return torch.rand(t.shape, device=t.device, dtype=torch.float64) < rate
    return _reference(x, p, training, drop)



# --------------------------------------------------------------------------- scale, every phase, reuse anywhere
# (issue 17: the scale tier, the every-phase lag scan, window repeats and dropout sites)

WAVE = 1 << 20  # one wave of a data-centre GPU, in elements (about)


def _flat_drop(t, p, uniforms):
    """Drop where the flat (logical order) uniforms are below p."""
    return (uniforms < p).reshape(t.shape)


@catches("test_scale_lags_uncorrelated")
def grid_stride_offset_not_advanced(x, p=0.5, training=True):
    """A grid-stride loop whose RNG offset is not advanced per pass: element i draws the random
    number of element i mod 2^20 (one wave), so a call past one wave repeats its first wave.
    Invisible below 2^20 elements: every other statistical call is smaller."""
    def drop(t, p):
        n = t.numel()
        u = torch.rand(min(n, WAVE), device=t.device)
        return _flat_drop(t, p, u.repeat(-(-n // WAVE))[:n])
    return _reference(x, p, training, drop)


@catches("test_scale_blocks_share_one_keep_rate")
def second_wave_rate_off(x, p=0.5, training=True):
    """Elements of the second wave (flat indices 2^20 to 2^21) are dropped at p + 0.01 (a threshold
    recomputed wrongly for the grid's second pass): no other call is large enough to show it."""
    def drop(t, p):
        n = t.numel()
        threshold = torch.full((n,), p, device=t.device)
        threshold[WAVE : 2 * WAVE] = min(p + 0.01, 1.0)
        return _flat_drop(t, p, torch.rand(n, device=t.device) - threshold + p)
    return _reference(x, p, training, drop)


@catches("test_lags_uncorrelated")
def tile_rows_off_by_one(x, p=0.5, training=True):
    """A kernel tiled 16 rows at a time whose tile offset is one row short: row 16k reuses the
    random numbers of row 16k - 1 (rows: the input's last dimension is a row). Rows one apart are
    correlated at one phase only (16k - 1, 16k), which the pair test's disjoint pairs (2i, 2i + 1)
    never pair."""
    def drop(t, p):
        u = torch.rand(t.shape, device=t.device)
        if t.dim() >= 2 and t.numel() > 0 and t.numel() // t.shape[-1] > 16:
            rows = u.reshape(-1, t.shape[-1])
            starts = torch.arange(16, rows.shape[0], 16, device=t.device)
            rows[starts] = rows[starts - 1]
            u = rows.reshape(t.shape)
        return u < p
    return _reference(x, p, training, drop)


def _copy_chain(fresh: torch.Tensor, copy: torch.Tensor, lag: int) -> torch.Tensor:
    """u[i] = u[i - lag] where copy[i], else fresh[i] (copies chained): per residue of i mod lag,
    each position takes the last fresh position at or before it."""
    n = fresh.numel()
    pad = (-n) % lag
    index = torch.arange(n + pad, device=fresh.device).reshape(-1, lag)
    is_fresh = torch.ones(n + pad, dtype=torch.bool, device=fresh.device)
    is_fresh[:n] = ~copy
    is_fresh[:lag] = True
    source = torch.where(is_fresh.reshape(-1, lag), index, torch.zeros_like(index)).cummax(dim=0).values
    return torch.cat([fresh, fresh.new_zeros(pad)])[source.reshape(-1)][:n]


@catches("test_lags_uncorrelated")
def distance_three_correlated(x, p=0.5, training=True):
    """Each element reuses the random number of the element three before it (memory order) with
    probability 0.08: a correlation of 0.08 at distance 3, not a power of two, so the pair test's
    distances 1, 2, 4, ... never see it."""
    def drop(t, p):
        n = t.numel()
        u = _copy_chain(torch.rand(n, device=t.device), torch.rand(n, device=t.device) < 0.08, 3)
        return _flat_drop(t, p, u)
    return _reference(x, p, training, drop)


_STREAMS: dict = {}


def _stream_state(tag: str) -> dict:
    """A counter-based kernel's state (its offset, its calls), started over when torch is reseeded
    (seen as a generator state other than the one the last call left: each call moves torch's
    generator on by one number, so that a reseed always shows)."""
    state = torch.get_rng_state()
    entry = _STREAMS.get(tag)
    if entry is None or not torch.equal(entry["left"], state):
        entry = _STREAMS[tag] = {"offset": 0, "calls": 0}
    torch.rand(1)
    entry["left"] = torch.get_rng_state()
    entry["key"] = torch.initial_seed()
    return entry


def _counter_uniforms(key: int, start: int, n: int, device, modulus: int | None = None) -> torch.Tensor:
    """A counter-based generator (as Philox): the uniform at stream position k is a hash of
    (key, k), so a kernel's offset says which numbers it draws (positions taken modulo
    ``modulus`` when given)."""
    import numpy as np

    k = np.arange(start, start + n, dtype=np.uint64)
    if modulus is not None:
        k = k % np.uint64(modulus)
    k = k + np.uint64(key % (1 << 62)) * np.uint64(0x9E3779B97F4A7C15)
    k = (k ^ (k >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    k = (k ^ (k >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    k = k ^ (k >> np.uint64(31))
    return torch.from_numpy((k >> np.uint64(11)).astype(np.float64) / 2.0**53).to(device)


@catches("test_no_repeated_mask")
def offset_advanced_by_half(x, p=0.5, training=True):
    """A counter-based kernel that advances its RNG offset by half the elements it drew (it counts
    pairs of numbers but draws one per element): each call's first half repeats, shifted, the
    previous call's second half. No whole mask repeats."""
    def drop(t, p):
        n = t.numel()
        state = _stream_state("half")
        start = state["offset"]
        state["offset"] += max(n // 2, 1)
        return _flat_drop(t, p, _counter_uniforms(state["key"], start, n, t.device))
    return _reference(x, p, training, drop)


@catches("test_no_repeated_mask")
def offset_rewound_every_8_calls(x, p=0.5, training=True):
    """Every 8th call starts its stream 3000 numbers before the end of the previous call's (an RNG
    offset restored from a checkpoint taken too early): that call's first 3000 units repeat,
    shifted, the last 3000 of the call before. Too few to move any rate or correlation; no whole
    mask repeats."""
    def drop(t, p):
        n = t.numel()
        state = _stream_state("rewind")
        start = state["offset"] - min(3000, state["offset"]) if state["calls"] % 8 == 7 else state["offset"]
        state["offset"], state["calls"] = start + n, state["calls"] + 1
        return _flat_drop(t, p, _counter_uniforms(state["key"], start, n, t.device))
    return _reference(x, p, training, drop)


_SITES: dict = {}


@catches("test_dropout_sites_independent")
def sites_share_offset(x, p=0.5, training=True):
    """The RNG offset is advanced only by the first dropout site (shape) after a seed: a call of
    another shape draws from where that site's last call started, so two dropout layers of a
    model share their random numbers at every flat index (identical masks where their p agree)."""
    def drop(t, p):
        state = torch.get_rng_state()
        if _SITES.get("left") is None or not torch.equal(_SITES["left"], state):
            _SITES["first"] = tuple(t.shape)  # reseeded (or first call): this shape is the first site
        if tuple(t.shape) == _SITES["first"]:
            _SITES["start"] = state
            u = torch.rand(t.shape, device=t.device)
        else:
            torch.set_rng_state(_SITES["start"])
            u = torch.rand(t.numel(), device=t.device).reshape(t.shape)
            torch.set_rng_state(state)  # the offset is not advanced by this site
        _SITES["left"] = torch.get_rng_state()
        return u < p
    return _reference(x, p, training, drop)


# Mutants that only the thorough level's call above 2^31 elements shows (about 17 GiB of memory,
# minutes on a CPU): not in the CI catalogs; checked by hand (dropout_verify/docs/VALIDATION.md).
THOROUGH_CATCHES: dict[str, str] = {}


def index_wraps_at_2_31(x, p=0.5, training=True):
    """Indices held in int32: element i past 2^31 draws the random number of element i - 2^31, so
    a call above 2^31 elements repeats its first 2^20 or so draws."""
    def drop(t, p):
        n = t.numel()
        if n <= 1 << 31:
            return torch.rand(t.shape, device=t.device) < p
        u = torch.rand(n, device=t.device)
        u[1 << 31:] = u[: n - (1 << 31)]
        return _flat_drop(t, p, u)
    return _reference(x, p, training, drop)


THOROUGH_CATCHES["index_wraps_at_2_31"] = "test_no_repeated_mask"


# --------------------------------------------------------------------------- correct variants

CORRECT: list[str] = []
CORRECT_KEEP_CONVENTION: list[str] = []


def correct(fn):
    CORRECT.append(fn.__name__)
    return fn


@correct
def correct_where(x, p=0.5, training=True, inplace=False, generator=None):
    """torch.where(U < p, 0, x / (1-p)) with float32 uniforms."""
    p = _validate(x, p)
    if not training or p == 0:
        return x if inplace else x.clone()
    u = torch.rand(x.shape, device=x.device, generator=generator)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    y = torch.where(u < p, torch.zeros((), dtype=x.dtype, device=x.device), (x.float() * scale).to(x.dtype) if x.dtype != torch.float64 else x * scale)
    return x.copy_(y) if inplace else y


@correct
def correct_float64_threshold(x, p=0.5, training=True):
    """Float64 uniforms for every dtype, multiply by a float mask."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    keep = (torch.rand(x.shape, device=x.device, dtype=torch.float64) >= p)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return (x.double() * keep * scale).to(x.dtype)


@correct
def correct_inplace_on_copy(x, p=0.5, training=True, inplace=False):
    """Clones x (unless inplace), then mul_/masked_fill_ in place on the copy."""
    p = _validate(x, p)
    if not training or p == 0:
        return x if inplace else x.clone()
    drop = torch.rand(x.shape, device=x.device) < p
    out = x if inplace else x.clone()
    if p == 1:
        return out.mul_(0.0)
    if out.dtype in (torch.float16, torch.bfloat16):
        return out.copy_(out.float().mul_(1 / (1 - p)).masked_fill_(drop, 0))
    return out.mul_(1 / (1 - p)).masked_fill_(drop, 0)


@correct
def correct_bernoulli_float_mask(x, p=0.5, training=True, generator=None):
    """torch.bernoulli of a full (1-p) float tensor, multiplied in."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    keep = torch.bernoulli(torch.full(x.shape, 1 - p, device=x.device), generator=generator)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return (x.float() * keep * scale).to(x.dtype) if x.dtype != torch.float64 else x * keep.double() * scale


@correct
def correct_integer_threshold(x, p=0.5, training=True):
    """Integer draws in [0, 2**31) compared with round(p * 2**31): 31-bit thresholds."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    bits = torch.randint(0, 2**31, x.shape, device=x.device)
    drop = bits < round(p * 2**31)
    return _apply(x, drop, p)


@correct
def correct_native_dropout(x, p=0.5, train=True):
    """aten.native_dropout, which returns (output, mask), behind a validating wrapper."""
    p = _validate(x, p)
    return torch.ops.aten.native_dropout(x, p, train)


@correct
def correct_native_dropout_inplace(x, p=0.5, training=True, inplace=False):
    """aten.native_dropout behind a validating wrapper that writes into x when ``inplace``, as
    F.dropout(inplace=True) does: the issue's in-place wrapper of native_dropout."""
    p = _validate(x, p)
    if not training:
        return x
    output, _ = torch.ops.aten.native_dropout(x, p, True)
    return x.copy_(output) if inplace else output


@correct
def correct_notebook_fixed(x, drop_prob=0.5, training=True):
    """The notebook's first function with its bugs fixed: x kept, dtype kept, no assert."""
    drop_prob = _validate(x, drop_prob)
    if not training or drop_prob == 0:
        return x.clone()
    keep = torch.rand(x.shape, device=x.device) >= drop_prob
    return _apply(x, ~keep, drop_prob)


def correct_keep_probability(x, keep_prob=0.5, training=True):
    """A TensorFlow-1-style dropout taking the keep probability; verified with
    --dropout-convention keep."""
    if isinstance(keep_prob, (int, float)) and not isinstance(keep_prob, bool) and 0 <= keep_prob <= 1:
        return _reference(x, 1 - keep_prob, training) if keep_prob > 0 else _apply(x, torch.ones(x.shape, dtype=torch.bool, device=x.device), 1.0)
    _validate(x, keep_prob)  # raises the right error for a bad keep probability
    raise AssertionError("unreachable")


CORRECT_KEEP_CONVENTION.append("correct_keep_probability")


@correct
def correct_float32_p(x, p=0.5, training=True):
    """p held as a float32, as in kernels with a float p_dropout (FlashAttention): the scale is
    1/(1 - float32(p)), within half a float32 ulp of p; the suite accepts it and says so."""
    p = _validate(x, p)
    p32 = float(torch.tensor(p, dtype=torch.float32))
    if not training or p == 0:
        return x.clone()
    scale = 0.0 if p32 >= 1 else 1.0 / (1.0 - p32)
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    return (x.to(work) * scale).masked_fill(_drop_mask(x, p), 0).to(x.dtype)


# --------------------------------------------------------------------------- at a level's minimum effect
# Not in CATCHES (the catalogs run at quick, which is not planned to see effects this small):
# tests/test_at_the_mde.py runs each on the property meant to catch it, at the standard level.


def keep_probability_held_as_float32(x, p=0.5, training=True):
    """A correct kernel that holds p as a float32 and computes its keep probability in float32,
    q' = float32(1 - float32(p)) (at p = 0.1, q' - q = -2.4e-8), keeping when a float64 uniform
    falls below q'; kept values scaled by 1 / (1 - float32(p)). C2 accepts it, and so must the
    --time test, however many decisions it reaches (stats.anytime: a composite null)."""
    p = _validate(x, p)
    p32 = float(torch.tensor(p, dtype=torch.float32))
    if not training or p == 0:
        return x.clone()
    keep32 = float(torch.tensor(1.0 - p32, dtype=torch.float32))
    drop = torch.rand(x.shape, device=x.device, dtype=torch.float64) >= keep32
    scale = 0.0 if p32 >= 1 else 1.0 / (1.0 - p32)
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    return (x.to(work) * scale).masked_fill(drop, 0).to(x.dtype)


def keep_rate_off_by_0_03(x, p=0.5, training=True):
    """Keeps at 1 - p - 0.03: above the bias a --time run detects after its first call of 2^18
    decisions (0.023 at p = 0.1), so that a one-second run on a busy machine must catch it."""
    return _reference(x, p, training, lambda t, p: torch.rand(t.shape, device=t.device, dtype=torch.float64) < p + 0.03)


@functools.lru_cache(maxsize=64)
def _count_cdf(units: int, p: float, side: str) -> torch.Tensor:
    """The cumulative per-call kept-count law the dispersion plan assumes at the standard MDE
    (power.dispersion_alternatives): variance about m q off by 1.15, either way."""
    from dropout_verify.levels import LEVELS
    from dropout_verify.power import dispersion_alternatives

    return torch.from_numpy(dispersion_alternatives(LEVELS["standard"].variance_ratio, units, 1 - p)[side]).cumsum(0)


def _path_with_count_law(x, p, training, side):
    """Drop-path (one decision per sample) whose per-call kept count follows ``_count_cdf``, the
    kept samples a uniformly random subset of that size."""
    p = _validate(x, p)
    if not training or p == 0:
        return x.clone()
    units = x.shape[0] if x.dim() else 1
    shape = (units,) + (1,) * (x.dim() - 1) if x.dim() else ()
    if p == 1 or units < 2:  # no count law to follow: a decision per sample
        drop = (torch.rand(units) < p).reshape(shape)
    else:
        kept = min(int(torch.searchsorted(_count_cdf(units, p, side), torch.rand((), dtype=torch.float64))), units)
        drop = (torch.randperm(units) >= kept).reshape(shape)
    return _apply(x, drop.expand(x.shape).to(x.device), p)


def drop_path_count_underdispersed(x, p=0.5, training=True):
    """Drop-path that in some calls keeps exactly the count of samples nearest m q: the per-call
    count's squared deviation from m q averages m q (1-q) / 1.15, the standard level's MDE, with
    the fewest exact calls the integers allow ("exactly k kept" in a fraction of calls)."""
    return _path_with_count_law(x, p, training, "under")


def drop_path_count_overdispersed(x, p=0.5, training=True):
    """Drop-path whose keep rate varies from call to call (a Beta-Binomial count): the per-call
    count's variance is m q (1-q) x 1.15, the standard level's MDE."""
    return _path_with_count_law(x, p, training, "over")


drop_path_count_underdispersed.dropout_kind = "path"  # type: ignore[attr-defined]
drop_path_count_overdispersed.dropout_kind = "path"  # type: ignore[attr-defined]

MUTANTS = sorted(CATCHES)
