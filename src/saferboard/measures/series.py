"""Monthly counts per area and category as an array: one query, then fast arithmetic.

Every dashboard figure is a window sum over these series, so the store is read once per
source and the rest (windows, ranks, exceptions for 33 boroughs x 36 months) is numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import duckdb
import numpy as np

from saferboard.categories import SQL_NORMALISE, Categories
from saferboard.errors import InputError
from saferboard.measures.counts import MPS_LABEL_SQL
from saferboard.measures.windows import month_index, months_between


@dataclass(frozen=True, eq=False)
class MonthlyCounts:
    """counts[area, leaf category, month] for one source, months contiguous first..last."""

    source: str
    areas: tuple[str, ...]
    leaves: tuple[str | None, ...]  # the category each label maps to (None: unmapped)
    months: tuple[date, ...]
    counts: np.ndarray  # int64 [len(areas), len(leaves), len(months)]
    covered: dict[str, frozenset[date]]  # area -> months the source has data for

    @cached_property
    def _index(self) -> dict[str, int]:
        return {a.lower(): i for i, a in enumerate(self.areas)}

    def area_index(self, area: str) -> int:
        try:
            return self._index[area.lower()]
        except KeyError:
            raise InputError(f"area {area!r} is not in the {self.source} data") from None

    def has_area(self, area: str) -> bool:
        return area.lower() in self._index

    def category_series(self, area: str, category: str, cats: Categories) -> np.ndarray:
        wanted = cats.descendants(category)
        idx = [i for i, leaf in enumerate(self.leaves) if leaf in wanted]
        a = self.area_index(area)
        if not idx:
            return np.zeros(len(self.months), dtype=np.int64)
        out: np.ndarray = self.counts[a, idx, :].sum(axis=0)
        return out

    def category_matrix(self, category: str, cats: Categories) -> np.ndarray:
        """[area, month] totals of `category` for every area at once."""
        wanted = cats.descendants(category)
        idx = [i for i, leaf in enumerate(self.leaves) if leaf in wanted]
        if not idx:
            return np.zeros((len(self.areas), len(self.months)), dtype=np.int64)
        out: np.ndarray = self.counts[:, idx, :].sum(axis=1)
        return out

    def position(self, month: date) -> int:
        if not self.months:
            raise InputError(f"no {self.source} data in the store")
        return month_index(month) - month_index(self.months[0])


def load_monthly(con: duckdb.DuckDBPyConnection, cats: Categories, source: str
                 ) -> MonthlyCounts:
    """Read every monthly count of `source` from the store (MPS: borough level, newest
    release per month)."""
    cats.register(con)
    if source == "mps":
        rows = con.execute(f"""
            SELECT s.area, lm.category, s.month, sum(s.count)::BIGINT
            FROM mps_current s LEFT JOIN label_map lm ON lm.source = 'mps'
              AND lm.label = {SQL_NORMALISE.format(col=MPS_LABEL_SQL)}
            WHERE s.level = 'borough' GROUP BY ALL""").fetchall()
        cover = con.execute("""
            SELECT DISTINCT bm.month FROM batch_months bm JOIN batches b USING (batch_id)
            WHERE b.source = 'mps' AND b.kind = 'borough'""").fetchall()
        months_all = frozenset(m for (m,) in cover)
        covered_by_area = None
    elif source == "policeuk":
        # Group by raw type first; normalising a handful of labels beats a regex per row.
        raw = con.execute("""
            SELECT area, crime_type, month, count(*) FROM street
            WHERE area IS NOT NULL GROUP BY ALL""").fetchall()
        rows = [(a, cats.category_of("policeuk", t), m, n) for a, t, m, n in raw]
        # An area's months are those its main force (most rows there) published.
        main = con.execute("""
            SELECT s.area, arg_max(b.force, n) FROM (
                SELECT area, batch_id, count(*) AS n FROM street WHERE area IS NOT NULL
                GROUP BY ALL) s JOIN batches b USING (batch_id) GROUP BY s.area""").fetchall()
        force_months: dict[str, set[date]] = {}
        for force, month in con.execute("""
                SELECT b.force, bm.month FROM batch_months bm JOIN batches b USING (batch_id)
                WHERE b.source = 'policeuk' AND b.kind = 'street'""").fetchall():
            force_months.setdefault(force, set()).add(month)
        covered_by_area = {a: frozenset(force_months.get(f, set())) for a, f in main}
        months_all = frozenset()
    else:
        raise InputError(f"source must be mps or policeuk, got {source!r}")
    if not rows:
        return MonthlyCounts(source, (), (), (), np.zeros((0, 0, 0), np.int64), {})
    areas = tuple(sorted({r[0] for r in rows}))
    leaves = tuple(sorted({r[1] for r in rows}, key=lambda c: (c is None, c or "")))
    first = min(r[2] for r in rows)
    last = max(r[2] for r in rows)
    if months_all:
        first, last = min(first, min(months_all)), max(last, max(months_all))
    months = tuple(months_between(first, last))
    arr = np.zeros((len(areas), len(leaves), len(months)), dtype=np.int64)
    ai = {a: i for i, a in enumerate(areas)}
    li = {c: i for i, c in enumerate(leaves)}
    base = month_index(first)
    for area, leaf, month, n in rows:
        arr[ai[area], li[leaf], month_index(month) - base] += int(n)
    covered = ({a: months_all for a in areas} if covered_by_area is None
               else {a: covered_by_area.get(a, frozenset()) for a in areas})
    return MonthlyCounts(source, areas, leaves, months, arr, covered)
