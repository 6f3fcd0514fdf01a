"""The scale tier's parts against brute force on small inputs: packed counts, blocks, chunked
windows, the C2 table, and a call the memory cannot hold (said, never silent)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dropout_verify import scale
from dropout_verify.config import RunConfig
from dropout_verify.kinds import KINDS
from dropout_verify.masks import MaskRegistry, Origin
from dropout_verify.run import Run
from dropout_verify.scale import ScaleSample, _SupportTable, scale_lag_counts
from dropout_verify.stats.blocks import SMALLEST_BLOCK, block_counts
from dropout_verify.strategies import Case
from dropout_verify.targets import resolve_target
from dropout_verify.values import SupportCheck


def _sample(bits: np.ndarray) -> ScaleSample:
    case = Case((bits.size,), "bfloat16", "contiguous", 0.5, 1)
    return ScaleSample(case, np.packbits(bits), bits.size, int(bits.sum()), 0.0)


@pytest.mark.parametrize("lag", [1, 2, 3, 7, 8, 9, 64, 1000, 4099, 60_000])
def test_packed_lag_counts_match_brute_force(monkeypatch: pytest.MonkeyPatch, lag: int) -> None:
    monkeypatch.setattr(scale, "CHUNK", 8192)  # many chunks, their seams included
    bits = np.random.default_rng(lag).random(100_003) < 0.3
    pairs, first, second, both = scale_lag_counts(_sample(bits), lag)
    assert (pairs, first, second, both) == (bits.size - lag, int(bits[:-lag].sum()), int(bits[lag:].sum()),
                                            int((bits[:-lag] & bits[lag:]).sum()))


def test_blocks_are_every_dyadic_block_partial_ones_included() -> None:
    units = 5 * (1 << SMALLEST_BLOCK) + 100  # the 2^13 scale ends with a partial block of 4196 units
    bits = np.random.default_rng(0).random(units) < 0.7
    blocks = block_counts(np.packbits(bits), units)
    for start, size, kept in zip(blocks.starts.tolist(), blocks.sizes.tolist(), blocks.kept.tolist()):
        assert kept == int(bits[start : start + size].sum())
        assert size >= 1 << SMALLEST_BLOCK and start + size <= units
    assert sorted(set(blocks.sizes.tolist())) == [4096, 4196, 8192]


def test_windows_added_in_stretches_find_what_whole_masks_find() -> None:
    """A long mask added a stretch at a time (the scale call's way) finds a repeat across the
    stretches' seams, as the whole mask added at once does."""
    rng = np.random.default_rng(5)
    bits = rng.random(200_000) < 0.5
    bits[150_000:153_000] = bits[40_000:43_000]  # a stretch reused further on
    whole = MaskRegistry()
    whole.add(0.5, Origin(1, "t", "e"), 0, bits[None])
    parts = MaskRegistry()
    for start in range(0, bits.size, 65_536):
        stop = min(bits.size, start + 65_536)
        parts.add_stretch(0.5, Origin(1, "t", "e"), 0, bits[start : min(bits.size, stop + 200)], start, stop,
                          bits.size)
    assert whole.repeats and parts.repeats
    assert sum(a.size for a in whole.rates[0.5].first) == sum(a.size for a in parts.rates[0.5].first)


@pytest.mark.parametrize("kind, dtype", [("element", torch.bfloat16), ("element", torch.float16),
                                         ("alpha", torch.bfloat16), ("channel2d", torch.float16)])
@pytest.mark.parametrize("keep", [0.9, 0.5, 1 / 3])
def test_support_table_agrees_with_the_rule(kind: str, dtype: torch.dtype, keep: float) -> None:
    """The table's C2 verdict equals SupportCheck's on kept, dropped, nearly kept and wrong values."""
    generator = torch.Generator().manual_seed(0)
    x = (torch.randn(20_000, generator=generator, dtype=torch.float64) * 10 ** torch.randint(-3, 3, (20_000,),
                                                                                          generator=generator))
    x = KINDS[kind].values.prepare(x).to(dtype)
    x = torch.where(x == 0, torch.ones((), dtype=dtype), x)
    rule = SupportCheck(KINDS[kind], x, keep)
    kept = rule.kept[0].to(dtype)
    dropped = rule.dropped.expand_as(kept).to(dtype)
    choice = torch.randint(0, 5, x.shape, generator=generator)
    nudged = torch.nextafter(kept.float(), torch.tensor(float("inf"))).to(dtype)
    y = torch.stack([kept, dropped, nudged, kept * 1.03, x])[choice, torch.arange(x.numel())]
    table = _SupportTable(KINDS[kind], dtype, keep)
    assert torch.equal(table.bad(x, y), rule.bad(y))


def test_a_call_the_memory_cannot_hold_is_said_not_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    run = Run(RunConfig())
    target = resolve_target("torch.nn.functional:dropout")
    case = scale.scale_cases(KINDS["element"])[-1]
    monkeypatch.setattr(scale, "available_memory", lambda device: 1 << 30)
    assert scale.scale_sample(run, target, case, scale.SUPPORT) is None
    assert any("was not made: it needs about" in note and "1.0 GiB are available" in note for note in run.test.notes)


def test_a_wrong_value_in_a_large_call_fails_c2() -> None:
    """The table's C2 check fails a call whose kept values are scaled by 1/p, naming an element."""
    from dropout_verify.harness import PropertyViolation

    run = Run(RunConfig())
    target = resolve_target("tests.mutants:scale_by_p")
    case = Case((3, 100_000), "bfloat16", "contiguous", 0.1, 7)
    with pytest.raises(PropertyViolation) as raised:
        scale.scale_sample(run, target, case, scale.SUPPORT)
    assert raised.value.statement.contract == "C2" and "element " in raised.value.seen
    correct = scale.scale_sample(run, resolve_target("torch.nn.functional:dropout"), case, scale.SUPPORT)
    assert correct is not None and correct.units == case.numel
