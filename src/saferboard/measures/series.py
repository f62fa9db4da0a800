"""Monthly counts per area and category as an array: one query, then fast arithmetic.

Every dashboard figure is a window sum over these series, so the store is read once per
source and the rest (windows, ranks, exceptions for 33 boroughs x 36 months) is numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import duckdb
import numpy as np

from saferboard.core.areas import policing_force
from saferboard.core.categories import Categories, mps_label
from saferboard.core.dates import from_index, month_index
from saferboard.core.errors import InputError
from saferboard.measures.windows import months_between


@dataclass(frozen=True)
class LabelGap:
    """Rows of a label that is not in the mapping, inside one area and window: they count
    under `placed_under` (None: under no category), so a category below it may lack them."""

    label: str
    placed_under: str | None
    crimes: int
    months: tuple[date, ...]  # months of the window with a non-zero count


def _no_gaps() -> np.ndarray:
    return np.zeros((0, 0, 0), dtype=np.int64)


@dataclass(frozen=True, eq=False)
class MonthlyCounts:
    """counts[area, leaf category, month] for one source, months contiguous first..last."""

    source: str
    areas: tuple[str, ...]
    leaves: tuple[str | None, ...]  # the category each label maps to (None: unmapped)
    months: tuple[date, ...]
    counts: np.ndarray  # int64 [len(areas), len(leaves), len(months)]
    covered: dict[str, frozenset[date]]  # area -> months the source has data for
    present: np.ndarray  # bool [area, leaf]: the source publishes this label for the area
    # Labels not in the mapping (placed by their MPS major group, or nowhere): their rows are
    # in `counts` under their placement too; kept apart to say which categories lack them.
    gap_labels: tuple[str, ...] = ()
    gap_placed: tuple[str | None, ...] = ()  # the category each gap label counts under
    gap_counts: np.ndarray = field(default_factory=_no_gaps)  # [area, gap label, month]

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

    @cached_property
    def _matrices(self) -> dict[tuple[int, str], np.ndarray]:
        return {}

    def category_series(self, area: str, category: str, cats: Categories) -> np.ndarray:
        out: np.ndarray = self.category_matrix(category, cats)[self.area_index(area)]
        return out

    def category_matrix(self, category: str, cats: Categories) -> np.ndarray:
        """[area, month] totals of `category` for every area at once (computed once per
        category and mapping, then reused by every area, month and rank)."""
        key = (id(cats), category)
        cached = self._matrices.get(key)
        if cached is not None:
            return cached
        wanted = cats.descendants(category)
        idx = [i for i, leaf in enumerate(self.leaves) if leaf in wanted]
        out: np.ndarray = (self.counts[:, idx, :].sum(axis=1) if idx else
                           np.zeros((len(self.areas), len(self.months)), dtype=np.int64))
        out.setflags(write=False)
        self._matrices[key] = out
        return out

    def has_category(self, area: str, category: str, cats: Categories) -> bool:
        """Whether the source publishes `category` for `area` at all: an MPS row of zeros
        is data (a real zero), a category the source never reports is not."""
        if not self.has_area(area):
            return False
        wanted = cats.descendants(category)
        idx = [i for i, leaf in enumerate(self.leaves) if leaf in wanted]
        return bool(idx) and bool(self.present[self.area_index(area), idx].any())

    def position(self, month: date) -> int:
        if not self.months:
            raise InputError(f"no {self.source} data in the store")
        return month_index(month) - month_index(self.months[0])

    def _gap_index(self, category: str, cats: Categories) -> list[int]:
        """Gap labels whose rows might belong to `category` but are not counted in it: placed
        nowhere, or strictly above it in the tree."""
        return [i for i, placed in enumerate(self.gap_placed)
                if placed is None or cats.is_strictly_below(category, placed)]

    def gaps(self, area: str, category: str, cats: Categories, first: date, last: date
             ) -> tuple[LabelGap, ...]:
        """Labels with rows in `first`..`last` for `area` that could not be placed in
        `category` (empty: the category's count is complete there)."""
        idx = self._gap_index(category, cats)
        if not idx or not self.months:
            return ()
        ai = self.area_index(area)
        a = max(0, self.position(first))
        b = min(len(self.months) - 1, self.position(last))
        out = []
        for i in idx:
            values = self.gap_counts[ai, i, a:b + 1]
            total = int(values.sum())
            if total:
                months = tuple(self.months[a + j] for j in np.flatnonzero(values))
                out.append(LabelGap(self.gap_labels[i], self.gap_placed[i], total, months))
        return tuple(sorted(out, key=lambda g: (-g.crimes, g.label)))

    def incomplete_months(self, area: str, category: str, cats: Categories
                          ) -> frozenset[date]:
        """Months where `area`'s count of `category` lacks rows it could not place."""
        idx = self._gap_index(category, cats)
        if not idx or not self.has_area(area):
            return frozenset()
        per_month = self.gap_counts[self.area_index(area), idx, :].sum(axis=0)
        return frozenset(self.months[j] for j in np.flatnonzero(per_month))


def load_monthly(con: duckdb.DuckDBPyConnection, cats: Categories, source: str
                 ) -> MonthlyCounts:
    """Read every monthly count of `source` from the store (MPS: borough level, newest
    release per month)."""
    cats.register(con)  # callers' later queries join label_map
    rows: list[tuple[str, str | None, date, int, str | None]]
    if source == "mps":
        # Place the few distinct labels in Python (Categories.place: exact, else the major
        # group), then join: one placement rule for every caller, none re-done per row.
        distinct = con.execute("SELECT DISTINCT major, minor FROM mps_counts "
                               "WHERE level = 'borough'").fetchall()
        placed = [(major, minor, cats.place("mps", mps_label(major, minor)))
                  for major, minor in distinct]
        # The placements go in as lists (unnest), not an Arrow table: building one makes
        # pyarrow import pandas (about 0.5 s), which nothing else here needs.
        rows = con.execute("""
            WITH mps_placed AS (
                SELECT unnest($major::VARCHAR[]) AS major, unnest($minor::VARCHAR[]) AS minor,
                       unnest($category::VARCHAR[]) AS category, unnest($gap::VARCHAR[]) AS gap)
            SELECT s.area, m.category, s.month, sum(s.count)::BIGINT, m.gap
            FROM mps_current s JOIN mps_placed m ON m.major = s.major AND m.minor = s.minor
            WHERE s.level = 'borough' GROUP BY ALL""", {
            "major": [p[0] for p in placed], "minor": [p[1] for p in placed],
            "category": [p[2].category for p in placed],
            "gap": [None if p[2].exact else mps_label(p[0], p[1]) for p in placed],
        }).fetchall()
        cover = con.execute("""
            SELECT DISTINCT bm.month FROM batch_months bm JOIN batches b USING (batch_id)
            WHERE b.source = 'mps' AND b.kind = 'borough'""").fetchall()
        months_all = frozenset(m for (m,) in cover)
        covered_by_area = None
    elif source == "policeuk":
        # Group by raw type first; normalising a handful of labels beats a regex per row.
        raw = con.execute("""
            SELECT s.area, s.crime_type, s.month, b.force, count(*) FROM street s
            JOIN batches b USING (batch_id) WHERE s.area IS NOT NULL GROUP BY ALL""").fetchall()
        # An area's figures are its policing force's rows (see areas.policing_force); where
        # that is not known, the force with the most rows there.
        known = policing_force()
        totals: dict[tuple[str, str], int] = {}
        for area, _, _, force, n in raw:
            totals[(area, force)] = totals.get((area, force), 0) + int(n)
        main: dict[str, str] = {}
        for (area, force), _ in sorted(totals.items(), key=lambda kv: -kv[1]):
            main.setdefault(area, known.get(area.lower(), force))
        rows = []
        for a, t, m, f, n in raw:
            if main[a] == f:
                p = cats.place("policeuk", t)
                rows.append((a, p.category, m, n, None if p.exact else t))
        force_months: dict[str, set[date]] = {}
        for force, month in con.execute("""
                SELECT b.force, bm.month FROM batch_months bm JOIN batches b USING (batch_id)
                WHERE b.source = 'policeuk' AND b.kind = 'street'""").fetchall():
            force_months.setdefault(force, set()).add(month)
        covered_by_area = {a: frozenset(force_months.get(f, set())) for a, f in main.items()}
        months_all = frozenset()
    else:
        raise InputError(f"source must be mps or policeuk, got {source!r}")
    if not rows:
        return MonthlyCounts(source, (), (), (), np.zeros((0, 0, 0), np.int64), {},
                             np.zeros((0, 0), bool))
    areas = tuple(sorted({r[0] for r in rows}))
    leaves = tuple(sorted({r[1] for r in rows}, key=lambda c: (c is None, c or "")))
    ai = {a: i for i, a in enumerate(areas)}
    li = {c: i for i, c in enumerate(leaves)}
    # One pass to index arrays, then a vectorised scatter (a Python += per row was most of
    # the time for 130k MPS rows).
    a_idx = np.fromiter((ai[r[0]] for r in rows), np.intp, len(rows))
    l_idx = np.fromiter((li[r[1]] for r in rows), np.intp, len(rows))
    m_abs = np.fromiter((month_index(r[2]) for r in rows), np.int64, len(rows))
    n = np.fromiter((r[3] for r in rows), np.int64, len(rows))
    first_i, last_i = int(m_abs.min()), int(m_abs.max())
    if months_all:
        first_i = min(first_i, min(month_index(m) for m in months_all))
        last_i = max(last_i, max(month_index(m) for m in months_all))
    months = tuple(months_between(from_index(first_i), from_index(last_i)))
    arr = np.zeros((len(areas), len(leaves), len(months)), dtype=np.int64)
    present = np.zeros((len(areas), len(leaves)), dtype=bool)
    np.add.at(arr, (a_idx, l_idx, m_abs - first_i), n)
    present[a_idx, l_idx] = True
    covered = ({a: months_all for a in areas} if covered_by_area is None
               else {a: covered_by_area.get(a, frozenset()) for a in areas})
    gap_rows = [(r[0], r[1], r[2], r[3], r[4]) for r in rows if r[4] is not None]
    where = {g: placed for _, placed, _, _, g in gap_rows}
    gap_labels = tuple(sorted(where))
    gi = {g: i for i, g in enumerate(gap_labels)}
    gap_arr = np.zeros((len(areas), len(gap_labels), len(months)), dtype=np.int64)
    for area, _, month, count, g in gap_rows:
        gap_arr[ai[area], gi[g], month_index(month) - first_i] += int(count)
    return MonthlyCounts(source, areas, leaves, months, arr, covered, present, gap_labels,
                         tuple(where[g] for g in gap_labels), gap_arr)
