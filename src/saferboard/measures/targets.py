"""Strategy targets (seed 004: "reduce residential burglary by 17.8% over three years,
baseline 2,689"): the straight-line trajectory, the actual to date, a projection to the end
of the period and whether it is on track."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from saferboard.core.categories import Categories
from saferboard.core.config import Target
from saferboard.core.errors import InputError
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import month_index, months_between, rolling12, shift

METHOD = (
    "The target is the rolling 12-month volume at the end of the period: baseline x (1 + "
    "change). The trajectory falls (or rises) in a straight line from the baseline at the "
    "start to the target at the end. The projection continues the average monthly change of "
    "the actual rolling 12 months since the start. Green: projection meets the target; "
    "Amber: misses it by less than the tolerance; Red: misses it by more."
)


@dataclass(frozen=True)
class TrajectoryPoint:
    month: date
    expected: float
    actual: int | None


@dataclass(frozen=True)
class TargetStatus:
    target: Target
    area: str
    source: str
    month: date
    target_value: float
    expected_now: float  # on the trajectory at `month`
    actual: int | None  # rolling 12 months ending at `month`
    projected_end: float | None
    status: str  # Green | Amber | Red | not started
    points: tuple[TrajectoryPoint, ...]
    method: str = METHOD


def _expected(t: Target, month: date) -> float:
    total = month_index(t.end) - month_index(t.start) + 1
    done = min(max(month_index(month) - month_index(t.start) + 1, 0), total)
    target_value = t.baseline * (1 + t.change_pct / 100)
    return t.baseline + (target_value - t.baseline) * done / total


def target_status(table: MonthlyCounts, cats: Categories, t: Target, area: str, month: date
                  ) -> TargetStatus:
    """Where `area` stands against target `t` at `month` (the latest month to use)."""
    if not table.has_area(area):
        raise InputError(f"area {area!r} is not in the {table.source} data", column="--area")
    name = table.areas[table.area_index(area)]
    series = table.category_series(name, t.category, cats)
    covered = table.covered.get(name, frozenset())
    target_value = t.baseline * (1 + t.change_pct / 100)

    def actual(m: date) -> int | None:
        window = rolling12(m)
        if not set(window.months) <= covered or window.first < table.months[0]:
            return None
        a, b = table.position(window.first), table.position(window.last)
        return int(series[a:b + 1].sum())

    last = min(month, t.end)
    points = tuple(TrajectoryPoint(m, round(_expected(t, m), 1), actual(m) if m <= month
                                   else None)
                   for m in months_between(t.start, t.end))
    now = actual(last)
    if month < t.start:
        return TargetStatus(t, name, table.source, month, target_value, t.baseline, now, None,
                            "not started", points)
    if now is None:
        raise InputError(f"{name}: no {table.source} data for the 12 months to {last:%Y-%m} "
                         f"({t.name})", column="--month")
    total = month_index(t.end) - month_index(t.start) + 1
    done = month_index(last) - month_index(t.start) + 1
    projected = now + (now - t.baseline) / done * (total - done)
    reducing = t.change_pct <= 0
    gap = (projected - target_value) if reducing else (target_value - projected)
    if gap <= 0:
        status = "Green"
    elif gap <= abs(target_value) * t.tolerance_pct / 100:
        status = "Amber"
    else:
        status = "Red"
    return TargetStatus(t, name, table.source, month, round(target_value, 1),
                        round(_expected(t, last), 1), now, round(projected, 1), status, points)


def default_month(table: MonthlyCounts, area: str) -> date:
    covered = table.covered.get(table.areas[table.area_index(area)], frozenset())
    if not covered:
        raise InputError(f"no {table.source} data for {area!r}")
    return shift(max(covered), 0)
