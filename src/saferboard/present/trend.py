"""A category's monthly trend, formatted once: `TrendOut` is `/api/categories/{category}/
trend`, and its points are the rows of the trend CSV download."""

from __future__ import annotations

from typing import Any

from saferboard.measures.trend import Trend
from saferboard.present.dashboard import Out


class TrendPointOut(Out):
    month: str
    count: int | None  # None where the source has no data for the month
    year_earlier: int | None
    expected: float | None  # control chart centre from the 24 months before
    lower: float | None
    upper: float | None
    flag: str  # high | low | normal | insufficient data | no data | incomplete data


class TrendOut(Out):
    area: str
    category: str
    source: str
    method: str
    points: list[TrendPointOut]

    @classmethod
    def of(cls, t: Trend) -> TrendOut:
        return cls(area=t.area, category=t.category, source=t.source, method=t.method,
                   points=[TrendPointOut(month=f"{p.month:%Y-%m}", count=p.count,
                                         year_earlier=p.year_earlier, expected=p.expected,
                                         lower=p.lower, upper=p.upper, flag=p.flag)
                           for p in t.points])

    def rows(self) -> list[dict[str, Any]]:
        return [p.model_dump(mode="json") for p in self.points]
