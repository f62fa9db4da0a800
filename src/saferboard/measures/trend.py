"""A category's monthly trend for the pack's charts: the last 36 months, the same months a
year earlier, and each month's control limits and exception flag (as on the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures import exceptions as exc
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import ending, shift


@dataclass(frozen=True)
class TrendPoint:
    month: date
    count: int | None  # None where the source has no data for the month
    year_earlier: int | None  # the same month one year before
    expected: float | None  # control chart centre from the 24 months before
    lower: float | None
    upper: float | None
    flag: str  # high | low | normal | insufficient data | no data | incomplete data


@dataclass(frozen=True)
class Trend:
    area: str
    category: str
    source: str
    method: str
    points: tuple[TrendPoint, ...]


def trend(table: MonthlyCounts, cats: Categories, area: str, category: str, month: date,
          *, months: int = 36, method: str = "sd") -> Trend:
    """The `months` months ending at `month` for `area` and `category` from `table`."""
    if not table.has_area(area):
        raise InputError(f"area {area!r} is not in the {table.source} data", param="area")
    name = table.areas[table.area_index(area)]
    series = table.category_series(name, category, cats)
    covered = table.covered.get(name, frozenset())
    # Months lacking rows the mapping could not place are left out (count None, flagged),
    # not plotted as a cliff nor used as a baseline.
    incomplete = table.incomplete_months(name, category, cats)

    def value(m: date) -> int | None:
        if m not in covered or not table.months or not table.months[0] <= m <= table.months[-1]:
            return None
        if m in incomplete:
            return None
        return int(series[table.position(m)])

    points = []
    for m in ending(month, months).months:
        count = value(m)
        history = [(h, v) for h in ending(shift(m, -1), exc.BASELINE_MONTHS).months
                   if (v := value(h)) is not None]
        if count is None:
            points.append(TrendPoint(m, None, value(shift(m, -12)), None, None, None,
                                     "incomplete data" if m in incomplete else "no data"))
            continue
        e = exc.flag_month(m, count, history, method=method)
        points.append(TrendPoint(m, count, value(shift(m, -12)), e.expected, e.lower, e.upper,
                                 e.flag))
    return Trend(name, category, table.source, method, tuple(points))
