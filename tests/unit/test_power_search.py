"""dropout_verify.power.least_sufficient: the search the planners share returns a sufficient
size within its resolution of the least (never below its floor, half the start)."""

from __future__ import annotations

import pytest

from dropout_verify.power import least_sufficient


@pytest.mark.parametrize("least", [1, 63, 64, 65, 1000, 4097, 123_457, 2**31 + 5])
@pytest.mark.parametrize("start, resolution", [(64, 200), (1024, 100), (1024, 1000)])
def test_returns_a_sufficient_size_within_its_resolution(least: int, start: int, resolution: int) -> None:
    asked: list[int] = []

    def sufficient(n: int) -> bool:
        asked.append(n)
        return n >= least

    found = least_sufficient(sufficient, start=start, resolution=resolution)
    assert found >= least
    assert found - max(least, start // 2) <= max(1, found // resolution)
    assert len(asked) <= 64 + resolution.bit_length()  # doublings plus bisections: never a linear scan
