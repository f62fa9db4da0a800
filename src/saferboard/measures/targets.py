"""Strategy targets (seed 004: "reduce residential burglary by 17.8% over three years,
baseline 2,689"): the straight-line trajectory, the actual to date, a projection to the end
of the period and whether it is on track."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from saferboard.core.areas import same_area
from saferboard.core.categories import Categories
from saferboard.core.config import Target
from saferboard.core.dates import month_index
from saferboard.core.errors import InputError
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import months_between, rolling12, shift

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
    status: str  # Green | Amber | Red | not started | not rated (incomplete)
    points: tuple[TrajectoryPoint, ...]
    method: str = METHOD
    # False when the actual now lacks rows whose labels could not be placed in the
    # category: it is then a lower bound and the status is withheld ('not rated').
    complete: bool = True
    caveats: tuple[str, ...] = ()  # incomplete actuals and months missing from the chart


def _expected(t: Target, month: date) -> float:
    total = month_index(t.end) - month_index(t.start) + 1
    done = min(max(month_index(month) - month_index(t.start) + 1, 0), total)
    target_value = t.baseline * (1 + t.change_pct / 100)
    return t.baseline + (target_value - t.baseline) * done / total


def target_status(table: MonthlyCounts, cats: Categories, t: Target, area: str, month: date
                  ) -> TargetStatus:
    """Where `area` stands against target `t` at `month` (the latest month to use)."""
    if not table.has_area(area):
        raise InputError(f"area {area!r} is not in the {table.source} data", param="area")
    name = table.areas[table.area_index(area)]
    if t.area is not None and not same_area(t.area, name):
        # A target is its own area's (issue 15: a copied configuration showed Camden
        # "Green, projected 521" from Barnet's target).
        raise InputError(f"target {t.name!r} is for {t.area}, not {name}", param="area")
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
    caveats = _caveats(table, cats, t, name, last, points)
    complete = not table.gaps(name, t.category, cats, rolling12(last).first, last)
    if month < t.start:
        return TargetStatus(t, name, table.source, month, target_value, t.baseline, now, None,
                            "not started", points, complete=complete, caveats=caveats)
    if now is None:
        raise InputError(f"{name}: no {table.source} data for the 12 months to {last:%Y-%m} "
                         f"({t.name})", param="month")
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
    if not complete:  # a status from a lower-bound count would be a guess shown as a verdict
        status = "not rated"
    return TargetStatus(t, name, table.source, month, round(target_value, 1),
                        round(_expected(t, last), 1), now, round(projected, 1), status, points,
                        complete=complete, caveats=caveats)


def _month_list(months: Sequence[date]) -> str:
    shown = ", ".join(f"{m:%Y-%m}" for m in months[:6])
    return shown + (f" and {len(months) - 6} more" if len(months) > 6 else "")


def _caveats(table: MonthlyCounts, cats: Categories, t: Target, area: str, last: date,
             points: tuple[TrajectoryPoint, ...]) -> tuple[str, ...]:
    """What the actuals lack: rows whose labels could not be placed in the category
    (the rolling 12 months to `last`, and any earlier point of the chart), and chart points
    left empty because their 12 months miss data."""
    out = []
    gaps = table.gaps(area, t.category, cats, rolling12(last).first, last)
    if gaps:
        crimes = sum(g.crimes for g in gaps)
        labels = "; ".join(f"'{g.label}' ({g.crimes:,})" for g in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        out.append(f"Incomplete: {crimes:,} crimes in the 12 months to {last:%Y-%m} carry "
                   f"label(s) not in the category mapping, so they may belong to "
                   f"{t.category} but are not counted in it: {labels}{more}. The actual is a "
                   "lower bound and the status is withheld; add the labels to the category "
                   "mapping.")
    bad = table.incomplete_months(area, t.category, cats)
    lower = [p.month for p in points if p.actual is not None and p.month < rolling12(last).last
             and bad & set(rolling12(p.month).months)]
    if lower:
        out.append(f"The chart's actuals for {len(lower)} earlier month(s) "
                   f"({_month_list(lower)}) lack rows with unplaced labels: lower bounds.")
    empty = [p.month for p in points if p.month <= last and p.actual is None]
    if empty:
        out.append(f"No actual for {len(empty)} month(s) of the chart ({_month_list(empty)}): "
                   f"their 12 months are not all in the {table.source} data.")
    return tuple(out)


def default_month(table: MonthlyCounts, area: str) -> date:
    covered = table.covered.get(table.areas[table.area_index(area)], frozenset())
    if not covered:
        raise InputError(f"no {table.source} data for {area!r}")
    return shift(max(covered), 0)
