"""The cost of crime, formatted once: `CostRowOut` is a category of `saferboard costs`
(table, CSV and the JSON's `categories`) and of the pack's cost page, under the same names
(money in whole pounds at the report's price year)."""

from __future__ import annotations

from typing import Any

from saferboard.measures.costs import CostReport, CostRow
from saferboard.present.dashboard import Out

# The columns of the pack's cost table (a page's width): a subset, under the same names.
PACK_COLUMNS = ("category", "crimes", "unit_cost", "cost", "cost_avoided")


def money(x: float | None) -> int | None:
    return None if x is None else round(x)


class CostRowOut(Out):
    category: str
    home_office_category: str  # Heeks et al. (2018)
    verified: bool  # the unit cost has been checked against the report
    unit_cost: int
    crimes: int  # rolling 12 months
    cost: int
    crimes_before: int | None  # the 12 months before (None: not in the source)
    cost_before: int | None
    cost_avoided: int | None  # (before - now) x unit cost; negative: an extra cost
    note: str | None

    @classmethod
    def of(cls, c: CostRow) -> CostRowOut:
        return cls(category=c.category, home_office_category=c.heeks, verified=c.verified,
                   unit_cost=round(c.unit_cost), crimes=c.count, cost=round(c.cost),
                   crimes_before=c.previous_count, cost_before=money(c.previous_cost),
                   cost_avoided=money(c.cost_avoided), note=c.note)


def cost_rows(r: CostReport) -> list[dict[str, Any]]:
    return [CostRowOut.of(c).model_dump(mode="json") for c in r.rows]


def total_row(r: CostReport) -> dict[str, Any]:
    """The total of the priced categories, in the columns of `cost_rows`."""
    return {"category": "Total (priced categories)", "home_office_category": "",
            "verified": None, "unit_cost": None, "crimes": sum(c.count for c in r.rows),
            "cost": money(r.total_cost),
            "crimes_before": (None if r.previous_cost is None
                              else sum(c.previous_count or 0 for c in r.rows)),
            "cost_before": money(r.previous_cost),
            "cost_avoided": money(r.avoided_by_volume), "note": None}
