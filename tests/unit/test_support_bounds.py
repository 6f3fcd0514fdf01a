"""dropout_verify.values.SupportCheck.any_bad: its test in x's own dtype (bounds of values the
float64 rule accepts) gives exactly the float64 rule's answer, and takes the fast way for a
correct dropout's output."""

from __future__ import annotations

import zlib

import pytest
import torch

from dropout_verify.kinds import KINDS
from dropout_verify.values import SupportCheck

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
KEEPS = [0.5, 0.9, 0.1, 1e-3, 1 - 1e-6]
VALUE_LAWS = ["element", "alpha", "feature_alpha"]  # channel, path and attention keep element's values


def _inputs(dtype: torch.dtype, generator: torch.Generator, size: int = 4096) -> torch.Tensor:
    """Values over the whole range of the dtype: subnormal to near its largest, both signs, zeros."""
    info = torch.finfo(dtype)
    exponents = torch.rand(size, generator=generator, dtype=torch.float64)
    low, high = torch.log2(torch.tensor(info.smallest_normal * info.eps)), torch.log2(torch.tensor(info.max / 4))
    magnitude = torch.exp2(low + exponents * (high - low))
    signs = torch.where(torch.rand(size, generator=generator) < 0.5, -1.0, 1.0).to(torch.float64)
    x = (signs * magnitude).to(dtype)
    x[:8] = torch.tensor([0.0, -0.0, 1.0, -1.0, info.max / 4, info.tiny, info.tiny * info.eps, 3.0])
    return x


@pytest.mark.parametrize("keep", KEEPS)
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("law", VALUE_LAWS)
def test_any_bad_is_the_float64_rule(law: str, dtype: torch.dtype, keep: float) -> None:
    """Outputs within a few tolerances of the kept or dropped value, one unit in the last place
    either side of them, and non-finite: any_bad(y) == bad(y).any() for every one."""
    generator = torch.Generator().manual_seed(zlib.crc32(f"{law} {dtype} {keep}".encode()))
    x = _inputs(dtype, generator)
    check = SupportCheck(KINDS[law], x, keep)
    centre = torch.where(torch.rand(x.shape, generator=generator) < keep, check.kept[0], check.dropped.expand(x.shape))
    for trial in range(60):
        steps = (torch.rand(x.shape, generator=generator, dtype=torch.float64) * 6 - 3) * (trial % 3 != 0)
        y = (centre + steps * check.tolerance[0]).to(dtype)
        if trial % 5 == 1:  # one unit in the last place away, either way
            y = torch.nextafter(y, torch.where(steps > 0, torch.inf, -torch.inf).to(dtype))
        if trial % 7 == 2:
            y[trial] = (torch.nan, torch.inf, -torch.inf)[trial % 3]
        outputs = torch.stack([y, centre.to(dtype)])
        assert check.any_bad(outputs) == bool(check.bad(outputs).any()), f"trial {trial}"
    # The bounds themselves (each value the fast test accepts at its edge) and one step past them.
    for low, high in (check.kept_bounds, check.dropped_bounds):
        for edge, outward in ((low, -torch.inf), (high, torch.inf)):
            edge = edge.expand(x.shape)
            usable = ~torch.isnan(edge)
            for y in (edge, torch.nextafter(edge, torch.full_like(edge, outward))):
                y = torch.where(usable, y, centre.to(dtype))
                assert check.any_bad(y) == bool(check.bad(y).any())


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.1])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_a_correct_output_is_accepted_without_the_float64_pass(dtype: torch.dtype, keep: float,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.randn(3, 4096, generator=torch.Generator().manual_seed(0)).to(dtype)
    check = SupportCheck(KINDS["element"], x, keep)
    monkeypatch.setattr(SupportCheck, "bad", lambda *_: pytest.fail("took the float64 pass"))
    outputs = torch.stack([torch.nn.functional.dropout(x, 1 - keep) for _ in range(8)])
    assert not check.any_bad(outputs)
