"""The pack's "Places" pages: per hotspot category, a Gi* hotspot map and the LSOAs with the
highest rates, over the 12 months of police.uk street data to the pack's month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from saferboard.core.areas import ward_outlines
from saferboard.core.categories import Categories
from saferboard.core.config import Config
from saferboard.core.errors import InputError
from saferboard.measures.area_rates import AreaRate, area_rates, latest_month
from saferboard.measures.hotspots import boundary, hotspots
from saferboard.report.maps import hotspot_layer, map_spec

TOP_LSOAS = 6


@dataclass(frozen=True)
class PlacePage:
    category: str
    start: date
    end: date
    crimes: int
    cells: int
    cell_size: float
    classes: dict[str, int]
    method: str
    map_spec: dict[str, Any]
    top: tuple[AreaRate, ...]
    area_rate: float
    population_note: str


def _months_back(end: date, months: int) -> date:
    index = end.year * 12 + end.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def place_pages(con: duckdb.DuckDBPyConnection, cats: Categories, config: Config, area: str,
                month: date) -> tuple[list[PlacePage], list[str]]:
    """One page per configured hotspot category with data, and notes for those without."""
    notes: list[str] = []
    last = latest_month(con, area, "lsoa")
    if last is None:
        return [], [f"Places: no police.uk street crimes for {area} in the store, so no "
                    "hotspot pages."]
    end = min(last, month)
    start = _months_back(end, 12)
    if end < month:
        notes.append(f"Places: police.uk street data for {area} ends {end:%b %Y}; the hotspot "
                     f"pages cover {start:%b %Y} to {end:%b %Y}, not the pack's month.")
    name, geom = boundary(area)
    wards = ward_outlines(name)  # drawn and named on each map (no background tiles)
    pages = []
    for category in config.dashboard.hotspot_categories:
        try:
            h = hotspots(con, cats, area, start=start, end=end, category_names=[category])
            rates = area_rates(con, cats, area, level="lsoa", start=start, end=end,
                               category_names=[category])
        except InputError as e:
            notes.append(f"Places, {category}: no page - {e}.")
            continue
        r = h.result
        title = f"{category} hotspots, {name}, {start:%b %Y} to {end:%b %Y}"
        pages.append(PlacePage(
            category, start, end, h.rows - h.rows_without_coords, len(r.cells), r.cell_size,
            r.counts_by_class(), r.method, map_spec(hotspot_layer(r), geom, title, width=520,
                                                    wards=wards),
            tuple(a for a in rates.rows[:TOP_LSOAS] if a.count > 0), rates.area_rate,
            rates.population_note))
    return pages, notes
