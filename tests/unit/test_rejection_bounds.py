"""dropout_verify.stats.binomial.rejection_bounds: the exact thresholds the planners share (the keep
rate's exact test, the scale blocks' hypergeometric): each the last count inside its tail."""

from __future__ import annotations

import pytest
from scipy import stats

from dropout_verify.stats.binomial import rejection_bounds

LAWS = [stats.binom(1000, 0.5), stats.binom(200_000, 0.95), stats.binom(37, 0.05),
        stats.hypergeom(1 << 24, round((1 << 24) * 0.9), 1 << 12), stats.hypergeom(1000, 100, 999)]


@pytest.mark.parametrize("law", LAWS, ids=lambda law: f"{law.dist.name}{law.args}")
@pytest.mark.parametrize("tail", [0.25, 1e-3, 3.6e-9, 1e-30])
def test_each_bound_is_the_last_count_within_its_tail(law: object, tail: float) -> None:
    low, high = rejection_bounds(law, tail)
    assert low == -1 or law.cdf(low) <= tail  # type: ignore[attr-defined]
    assert law.cdf(low + 1) > tail  # type: ignore[attr-defined]
    assert law.sf(high - 1) <= tail  # type: ignore[attr-defined]  # P[X >= high]
    assert law.sf(high - 2) > tail  # type: ignore[attr-defined]
