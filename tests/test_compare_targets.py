"""Peer comparison (exact intervals, funnel limits) and targets, pinned to published values
and to hand computation."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from saferboard.core import categories
from saferboard.core.config import Target
from saferboard.core.errors import InputError
from saferboard.measures.compare import compare, exact_interval, poisson_p
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.targets import target_status
from saferboard.measures.windows import months_between

CATS = categories.load()


@pytest.mark.parametrize(("k", "lower", "upper"), [
    # Garwood exact 95% limits for a Poisson count, as tabulated (e.g. Ulm 1990, Table 1).
    (0, 0.0, 3.689), (1, 0.0253, 5.572), (10, 4.795, 18.390), (100, 81.36, 121.63),
])
def test_exact_interval_matches_tables(k, lower, upper):
    lo, hi = exact_interval(k)
    assert lo == pytest.approx(lower, abs=5e-3 if k < 100 else 5e-2)
    assert hi == pytest.approx(upper, abs=5e-3 if k < 100 else 5e-2)


def brute_poisson_p(k: int, mu: float) -> float:
    """Doubled smaller tail by direct summation of the Poisson pmf."""
    pmf = [math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1)) for i in range(k + 400)]
    low = sum(pmf[: k + 1])
    high = 1 - sum(pmf[:k])
    return min(1.0, 2 * min(low, high))


@pytest.mark.parametrize(("k", "mu"), [(0, 2.0), (3, 2.0), (12, 20.5), (150, 120.0)])
def test_poisson_p_matches_brute_force(k, mu):
    assert poisson_p(k, mu) == pytest.approx(brute_poisson_p(k, mu), rel=1e-9, abs=1e-12)


def table_of(counts_by_area: dict[str, list[int]], first: date) -> MonthlyCounts:
    areas = tuple(counts_by_area)
    n = len(next(iter(counts_by_area.values())))
    months = tuple(months_between(first, date(first.year + (first.month - 1 + n - 1) // 12,
                                              (first.month - 1 + n - 1) % 12 + 1, 1)))
    arr = np.array([[counts_by_area[a]] for a in areas], dtype=np.int64)
    return MonthlyCounts("mps", areas, ("Robbery",), months, arr,
                         {a: frozenset(months) for a in areas},
                         np.ones((len(areas), 1), dtype=bool))


def test_compare_pooled_rate_funnel_and_verdicts():
    # Three London boroughs, 12 months; shipped population for the window's year (2022).
    table = table_of({"Barnet": [30] * 12, "Brent": [60] * 12, "Sutton": [10] * 12},
                     date(2025, 1, 1))
    result = compare(table, CATS, "Robbery", date(2025, 12, 1), "g",
                     ("Barnet", "Brent", "Sutton", "Bournemouth"))
    pops = {r.area: r.denominator for r in result.rows}
    assert pops["Barnet"] == 389_101
    pooled = (360 + 720 + 120) / sum(pops.values())
    assert result.pooled_rate == round(pooled * 1000, 3)
    assert result.without_data == ("Bournemouth",)
    by_area = {r.area: r for r in result.rows}
    assert [r.area for r in result.rows] == ["Sutton", "Barnet", "Brent"]
    assert [r.rank for r in result.rows] == [1, 2, 3]
    barnet = by_area["Barnet"]
    assert barnet.rate == round(360 / 389_101 * 1000, 3)
    assert barnet.expected == round(pooled * 389_101, 1)
    lo, hi = exact_interval(360)
    assert (barnet.lower, barnet.upper) == (round(lo / 389_101 * 1000, 3),
                                            round(hi / 389_101 * 1000, 3))
    assert barnet.p_value == pytest.approx(brute_poisson_p(360, pooled * 389_101), rel=1e-6)
    # Brent is far above the pooled rate, Sutton far below.
    assert by_area["Brent"].verdict == "higher" and by_area["Sutton"].verdict == "lower"
    f_lo, f_hi = by_area["Brent"].funnel95
    assert f_lo < result.pooled_rate < f_hi
    assert by_area["Brent"].funnel998[1] > f_hi  # wider at 99.8%


def test_compare_refuses_uncovered_window():
    table = table_of({"Barnet": [1] * 6}, date(2025, 7, 1))
    with pytest.raises(InputError, match="does not cover"):
        compare(table, CATS, "Robbery", date(2025, 12, 1), "g", ("Barnet",))


def test_target_trajectory_projection_and_status():
    # Baseline 1,200 a year, target -10% over 24 months (2025-01..2026-12) -> 1,080.
    monthly = [100] * 12 + [95] * 12  # 2024 at baseline, then 1,140 in the 12 months of 2025
    table = table_of({"Barnet": monthly}, date(2024, 1, 1))
    t = Target("t", "Robbery", 1200, -10.0, date(2025, 1, 1), date(2026, 12, 1))
    s = target_status(table, CATS, t, "Barnet", date(2025, 12, 1))
    assert s.target_value == 1080.0
    assert s.expected_now == 1200 - 120 * 12 / 24  # halfway along the straight line
    assert s.actual == 1140
    # Projection: the 60 fewer over 12 months continues for 12 more -> 1,080: on target.
    assert s.projected_end == 1080.0
    assert s.status == "Green"
    assert len(s.points) == 24 and s.points[-1].expected == 1080.0
    worse = Target("t", "Robbery", 1200, -20.0, date(2025, 1, 1), date(2026, 12, 1), None, 5.0)
    s2 = target_status(table, CATS, worse, "Barnet", date(2025, 12, 1))
    # Target 960; projection 1,080 misses by 120 = 12.5% of target: Red (tolerance 5%).
    assert s2.status == "Red"
    mild = Target("t", "Robbery", 1200, -12.0, date(2025, 1, 1), date(2026, 12, 1), None, 5.0)
    # Target 1,056; misses by 24 = 2.3%: Amber.
    assert target_status(table, CATS, mild, "Barnet", date(2025, 12, 1)).status == "Amber"
    early = target_status(table, CATS, t, "Barnet", date(2024, 12, 1))
    assert early.status == "not started"
