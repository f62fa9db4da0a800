"""What pages and the API show, computed by saferboard.measures and cached by the state of
the imported data. No SQL and no statistics here: this module chooses which measure to call
with which arguments and shapes the results for templates and JSON."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import shapely

from saferboard.core import categories as categories_mod
from saferboard.core.audience import Audience
from saferboard.core.config import Config, load_config
from saferboard.core.errors import InputError, SaferboardError
from saferboard.core.text import script_json
from saferboard.measures import compare as compare_mod
from saferboard.measures import targets as targets_mod
from saferboard.measures.area_rates import latest_month as street_latest_month
from saferboard.measures.dashboard import (
    Dashboard,
    canonical_area,
    dashboard,
    latest_month,
    load_sources,
    source_for,
)
from saferboard.measures.hotspots import boundary, hotspots, to_wgs84
from saferboard.measures.periods import PERIODS, PeriodChange, period_change
from saferboard.measures.quality import SourceQuality, quality
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.trend import Trend, trend
from saferboard.measures.windows import rolling12
from saferboard.web import inputs, packworker
from saferboard.web.db import Database, MeasureCache, fingerprint, governance_state
from saferboard.web.settings import Settings

T = TypeVar("T")
MAX_WARMED = 64  # the most recently used views are the ones worth warming
WARM_BUDGET_S = 10.0  # then the site opens again and the rest is computed on demand


@dataclass
class Measures:
    """The configuration, the category mapping and the cache, for one app."""

    config: Config
    cats: categories_mod.Categories
    cache: MeasureCache
    db: Database
    config_path: Path | None = None  # for the pack worker, which loads its own
    categories_path: Path | None = None
    _fingerprint: tuple[int, tuple[Any, ...]] | None = None
    _governance: tuple[tuple[int, int], tuple[Any, ...]] | None = None
    # What was computed on the data open now, most recent last (the views to warm after an
    # import), and the month each area's views resolved to when none was asked for.
    _seen: OrderedDict[tuple[Any, ...], None] = field(default_factory=OrderedDict)
    _seen_lock: threading.Lock = field(default_factory=threading.Lock)
    _latest: dict[str, date] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, db: Database) -> Measures:
        made = cls(load_config(settings.config_path),
                   categories_mod.load(settings.categories_path),
                   MeasureCache(settings.cache_measures, scope=db.block), db,
                   settings.config_path, settings.categories_path)
        if settings.cache_measures:  # without the cache nothing would be kept anyway
            db.warm = made.warm
        return made

    # ------------------------------------------------------------------ helpers

    def _key(self, con: duckdb.DuckDBPyConnection, *parts: Any) -> tuple[Any, ...]:
        # The data cannot change while one connection stays open (imports need the file
        # to themselves), so the fingerprint is read once per connection.
        if self._fingerprint is None or self._fingerprint[0] != self.db.opened:
            self._fingerprint = (self.db.opened, fingerprint(con))
        if parts[0] in REPLAY:
            with self._seen_lock:
                self._seen[parts] = None
                self._seen.move_to_end(parts)
                while len(self._seen) > MAX_WARMED:
                    self._seen.popitem(last=False)
        return (self._fingerprint[1], *parts)

    def warm(self, con: duckdb.DuckDBPyConnection, stop: Callable[[], bool]) -> None:
        """After another process had the store (an import, an account change): compute
        again, on the data now in it, what was computed before, most recently used first,
        until done, `stop()` or WARM_BUDGET_S; the rest is computed when asked for. A view
        of an area's latest month (no month asked for) is warmed for the new latest month.
        The database lets no request in meanwhile (503 with Retry-After)."""
        with self._seen_lock:
            seen = list(reversed(self._seen))
            self._seen.clear()
        old_latest, self._latest = self._latest, {}
        new_latest: dict[str, date | None] = {}
        deadline = time.monotonic() + WARM_BUDGET_S
        for kind, *args in seen:
            if stop() or time.monotonic() > deadline:
                return
            # The area is the first argument (a chart spec's second, after its kind).
            area = str(args[1] if kind == "spec" else args[0]) if args else ""
            for i, value in enumerate(args):
                if isinstance(value, date) and old_latest.get(area) == value:
                    if area not in new_latest:
                        new_latest[area] = self._latest_or_none(con, area)
                    now_latest = new_latest[area]
                    if now_latest is not None:
                        args[i] = self._latest[area] = now_latest
            try:
                REPLAY[kind](self, con, *args)
            except SaferboardError:  # says why when the page asks for it
                continue

    def _latest_or_none(self, con: duckdb.DuckDBPyConnection, area: str) -> date | None:
        try:
            return latest_month(self.sources(con), area)
        except SaferboardError:
            return None

    def governance_key(self, con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
        """What identifies the state of the governance tables, which the web itself changes
        (returns, updates, confirmed RAG, locks) while the connection stays open: read once
        per store generation (a new connection, or a finished write block), so a page view
        after no change costs no query. The generation is taken before the query: a write
        committed during it makes the next view read the state again."""
        generation = self.db.generation
        known = self._governance
        if known is None or known[0] != generation:
            known = self._governance = (generation, governance_state(con))
        return known[1]

    def governance(self, con: duckdb.DuckDBPyConnection, make: Callable[[], T], *parts: Any
                   ) -> T:
        """A governance page's report (`make`), cached on the governance tables' state and
        the day (with no updates yet the action plan shows the current quarter)."""
        return self.cache.get(self._key(con, "governance", self.governance_key(con),
                                        date.today(), *parts), make)

    def target_figures(self, con: duckdb.DuckDBPyConnection, area: str, month: date
                       ) -> tuple[list[dict[str, Any]], list[str]]:
        """The targets page's charts (status, Vega-Lite spec as JSON, alt text) and notes,
        cached: Altair takes tens of milliseconds to build each spec."""
        from saferboard.report import charts

        def make() -> tuple[list[dict[str, Any]], list[str]]:
            rows, notes = self.targets(con, area, month)
            figures = []
            for status in rows:
                spec = charts.target_chart(status)
                figures.append({"status": status, "spec": script_json(spec),
                                "alt": spec["description"]})
            return figures, notes
        return self.cache.get(self._key(con, "target-figures", area, month), make)

    def spec_json(self, con: duckdb.DuckDBPyConnection, kind: str, *args: Any
                  ) -> tuple[str, str]:
        """A chart's Vega-Lite spec as JSON for a <script type="application/json"> block,
        and its description (the alt text), cached: Altair takes a while to build them."""
        from saferboard.report import charts

        def make() -> tuple[str, str]:
            if kind == "trend":
                spec = charts.trend_chart(self.trend(con, *args))
            elif kind == "peers":
                spec = charts.peer_chart(self.peers(con, *args), args[0])
            else:
                raise ValueError(f"unknown chart {kind!r}")
            return script_json(spec), str(spec["description"])  # goes inside <script>
        return self.cache.get(self._key(con, "spec", kind, *args), make)

    def hotspot_json(self, con: duckdb.DuckDBPyConnection, area: str, category: str,
                     month: date) -> bytes:
        """The hotspot map as JSON bytes (cached), for the page's map to fetch."""
        return self.cache.get(self._key(con, "hotspot-json", area, category, month),
                              lambda: json.dumps(self.hotspot_map(con, area, category, month)
                                                 ).encode("utf-8"))

    def sources(self, con: duckdb.DuckDBPyConnection) -> dict[str, MonthlyCounts]:
        return self.cache.get(self._key(con, "sources"), lambda: load_sources(con, self.cats))

    def areas(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """The partnership's area and its peers that have data (the area selector)."""
        def make() -> list[str]:
            srcs = self.sources(con)
            wanted = [self.config.area,
                      *[a for g in self.config.peer_groups.values() for a in g]]
            out: list[str] = []
            for a in wanted:
                if any(t.has_area(a) for t in srcs.values()) and a not in out:
                    out.append(a)
            return [out[0], *sorted(out[1:])] if out else []
        return self.cache.get(self._key(con, "areas"), make)

    def resolve(self, con: duckdb.DuckDBPyConnection, area: str | None, month: str | None
                ) -> tuple[str, date]:
        srcs = self.sources(con)
        chosen = canonical_area(srcs, area or self.config.area)
        # A given month is from 2000 to next year, in ASCII digits (else InputError).
        if month:
            return chosen, inputs.month(month)
        ref = self._latest[chosen] = latest_month(srcs, chosen)
        return chosen, ref

    # ------------------------------------------------------------------ dashboards

    def dashboard(self, con: duckdb.DuckDBPyConnection, area: str, month: date) -> Dashboard:
        return self.cache.get(self._key(con, "dashboard", area, month), lambda: dashboard(
            self.sources(con), self.cats, self.config, area, month))

    def periods(self, con: duckdb.DuckDBPyConnection, board: Dashboard, kind: str
                ) -> dict[str, PeriodChange | str]:
        """Per category: the selected period against a year earlier, or why not."""
        if kind not in PERIODS:
            raise InputError(f"period should be one of {', '.join(PERIODS)}, got {kind!r}",
                             column="period")

        def make() -> dict[str, PeriodChange | str]:
            out: dict[str, PeriodChange | str] = {}
            srcs = self.sources(con)
            for row in board.rows:
                if row.source is None:
                    out[row.category] = row.note or "no data"
                    continue
                try:
                    out[row.category] = period_change(
                        srcs[row.source], self.cats, board.area, row.category, kind,
                        board.month, alpha=self.config.dashboard.alpha)
                except InputError as e:
                    out[row.category] = e.detail
            return out
        # The board is the cached dashboard of (area, month), so those identify it.
        return self.cache.get(self._key(con, "periods", board.area, board.month, kind), make)

    def category_names(self) -> tuple[str, ...]:
        return self.config.dashboard.categories

    def check_category(self, category: str) -> str:
        for c in self.config.dashboard.categories:
            if c.lower() == category.strip().lower():
                return c
        raise InputError(f"category {category!r} is not on the dashboard; choose one of "
                         f"{', '.join(self.config.dashboard.categories)}", column="category")

    def trend(self, con: duckdb.DuckDBPyConnection, area: str, category: str, month: date
              ) -> Trend:
        def make() -> Trend:
            table = source_for(self.sources(con), self.cats, area, category)
            return trend(table, self.cats, area, category, month,
                         method=self.config.dashboard.exception_method)
        return self.cache.get(self._key(con, "trend", area, category, month), make)

    def peers(self, con: duckdb.DuckDBPyConnection, area: str, category: str, month: date,
              group: str | None = None) -> compare_mod.Comparison:
        group = group or self.config.region
        if group not in self.config.peer_groups:
            raise InputError(f"peer group should be one of {', '.join(self.config.peer_groups)}"
                             f", got {group!r}", column="group")
        base = ("households" if category in self.config.dashboard.household_categories
                else "population")

        def make() -> compare_mod.Comparison:
            sources = self.sources(con)
            table = source_for(sources, self.cats, area, category)
            # A member `table` lacks comes from the other source on a shared category.
            return compare_mod.compare(table, self.cats, category, month, group,
                                       self.config.peer_groups[group], rate_base=base,
                                       others=list(sources.values()))
        return self.cache.get(self._key(con, "peers", area, category, month, group), make)

    def hotspot_map(self, con: duckdb.DuckDBPyConnection, area: str, category: str,
                    month: date) -> dict[str, Any]:
        """Gi* hotspots of police.uk street crimes in the 12 months to `month` (or to the last
        police.uk month before it, as in the pack), as GeoJSON (WGS84) cells and boundary
        for Leaflet; the category is matched to police.uk's."""
        from saferboard.report.maps import cells_geojson_wgs84, hotspot_layer

        def make() -> dict[str, Any]:
            last = street_latest_month(con, area, "lsoa")
            if last is None:
                raise InputError(f"no police.uk street crimes for {area} in the store")
            w = rolling12(min(last, month))
            h = hotspots(con, self.cats, area, start=w.first, end=w.last,
                         category_names=[category])
            layer = hotspot_layer(h.result)
            _, geom = boundary(area)
            return {"cells": cells_geojson_wgs84(layer), "boundary": boundary_wgs84(geom),
                    "colours": layer.colours, "legend_title": layer.legend_title,
                    "method": h.result.method, "classes": h.result.counts_by_class(),
                    "first": f"{w.first:%Y-%m}", "last": f"{w.last:%Y-%m}",
                    "crimes": h.rows - h.rows_without_coords}
        return self.cache.get(self._key(con, "hotspots", area, category, month), make)

    def targets(self, con: duckdb.DuckDBPyConnection, area: str, month: date
                ) -> tuple[list[targets_mod.TargetStatus], list[str]]:
        def make() -> tuple[list[targets_mod.TargetStatus], list[str]]:
            srcs = self.sources(con)
            out, notes = [], []
            for t in self.config.targets:
                if (t.area or self.config.area).lower() != area.lower():
                    continue
                try:
                    table = source_for(srcs, self.cats, area, t.category)
                    out.append(targets_mod.target_status(table, self.cats, t, area, month))
                except InputError as e:
                    notes.append(f"{t.name}: not assessed - {e.detail}")
            return out, notes
        return self.cache.get(self._key(con, "targets", area, month), make)

    def quality(self, con: duckdb.DuckDBPyConnection) -> tuple[SourceQuality, ...]:
        return self.cache.get(self._key(con, "quality"), lambda: quality(con, self.cats))

    def pack(self, area: str, month: date, audience: Audience, kind: str) -> bytes:
        """The board pack as `kind` (html, pdf or xlsx) for `audience`: slow, so cached, and
        built in a worker process from a snapshot of the store (web/packworker.py), so the
        build neither holds the store nor competes with pages for the interpreter. The PDF
        is rendered only when asked for; HTML and XLSX are built together."""
        pdf = kind == "pdf"
        # The pack also shows the governance tables, which the web itself changes (returns,
        # updates, confirmed RAG, locks) while the connection stays open: key on their state.
        with self.db.reader() as con:
            key = self._key(con, "pack", area, month, self.governance_key(con), audience, pdf)

        def make() -> dict[str, bytes]:
            with tempfile.TemporaryDirectory(prefix="saferboard-pack-") as tmp:
                snap = Path(tmp) / "snapshot.duckdb"
                with self.db.reader() as cursor:
                    packworker.snapshot(cursor, snap)
                return packworker.build(snap, Path(tmp), area=area, month=month,
                                        audience=audience, pdf=pdf,
                                        config_path=self.config_path,
                                        categories_path=self.categories_path)
        return self.cache.get(key, make)[kind]


# The views warmed after an import (Measures.warm), by the kind in their cache key, and how
# to compute each again from its key's other parts: the measures pages read. Governance
# reports and packs are not (they are built on demand, packs in a worker).
REPLAY: dict[str, Callable[..., Any]] = {
    "sources": Measures.sources, "areas": Measures.areas, "quality": Measures.quality,
    "dashboard": Measures.dashboard, "trend": Measures.trend, "peers": Measures.peers,
    "spec": Measures.spec_json, "hotspots": Measures.hotspot_map,
    "hotspot-json": Measures.hotspot_json, "targets": Measures.targets,
    "target-figures": Measures.target_figures,
    # (area, month, period): the periods of that dashboard
    "periods": lambda m, con, area, month, period: m.periods(
        con, m.dashboard(con, area, month), period)}


def boundary_wgs84(geom: Any) -> dict[str, Any]:
    """An EPSG:27700 boundary as a GeoJSON geometry in WGS84 (for Leaflet)."""
    def project(coords: Any) -> Any:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1])
        return np.round(np.stack([lon, lat], axis=1), 6)

    return dict(shapely.geometry.mapping(shapely.transform(geom, project)))
