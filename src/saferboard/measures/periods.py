"""The web dashboard's period selector: a category's volume in one window (the month, the
recent quarter, the rolling 12 months or the financial year to date, each ending at the
reference month) against the same window one year earlier, with the dashboard's
significance test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.significance import pct_change, poisson_change
from saferboard.measures.windows import Window, ending

PERIODS: dict[str, str] = {
    "month": "Month",
    "quarter": "Recent quarter (3 months)",
    "rolling12": "Rolling 12 months",
    "fy": "Financial year to date (from April)",
}


def window(kind: str, ref: date) -> Window:
    """The window of `kind` ending at (and including) the reference month."""
    if kind == "month":
        return ending(ref, 1)
    if kind == "quarter":
        return ending(ref, 3)
    if kind == "rolling12":
        return ending(ref, 12)
    if kind == "fy":
        return ending(ref, (ref.month - 4) % 12 + 1)
    raise InputError(f"period should be one of {', '.join(PERIODS)}, got {kind!r}",
                     column="period")


@dataclass(frozen=True)
class PeriodChange:
    category: str
    source: str
    period: str
    window: Window
    volume: int
    previous: int  # the same window one year earlier
    change_pct: float | None
    p_value: float
    significant: bool


def period_change(table: MonthlyCounts, cats: Categories, area: str, category: str,
                  kind: str, ref: date, *, alpha: float = 0.05) -> PeriodChange:
    """`category` in `area` over the window `kind` ending at `ref`, against a year earlier."""
    w = window(kind, ref)
    before = w.year_earlier()
    if not table.has_area(area):
        raise InputError(f"area {area!r} is not in the {table.source} data", column="area")
    name = table.areas[table.area_index(area)]
    covered = table.covered.get(name, frozenset())
    if not covered >= set(w.months) | set(before.months):
        raise InputError(f"{table.source} data for {name} does not cover {before.label()} "
                         f"and {w.label()}", column="month")
    series = table.category_series(name, category, cats)
    volume = int(series[table.position(w.first):table.position(w.last) + 1].sum())
    previous = int(series[table.position(before.first):table.position(before.last) + 1].sum())
    test = poisson_change(volume, previous, alpha=alpha)
    return PeriodChange(category, table.source, kind, w, volume, previous,
                        pct_change(volume, previous), test.p_value, test.significant)
