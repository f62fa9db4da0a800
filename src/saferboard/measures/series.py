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
    # Labels are placed in Python (Categories.place: exact, else the major group), once per
    # distinct label, and joined in SQL: one placement rule for every caller. The
    # placements go in as lists (unnest), not an Arrow table: building one makes pyarrow
    # import pandas (about 0.5 s), which nothing else here needs.
    if source == "mps":
        distinct = con.execute("SELECT DISTINCT major, minor FROM mps_counts "
                               "WHERE level = 'borough'").fetchall()
        placed = [(major, minor, cats.place("mps", mps_label(major, minor)))
                  for major, minor in distinct]
        rows_sql = """
            WITH placed AS (
                SELECT unnest($major::VARCHAR[]) AS major, unnest($minor::VARCHAR[]) AS minor,
                       unnest($category::VARCHAR[]) AS category, unnest($gap::VARCHAR[]) AS gap)
            SELECT s.area, p.category, s.month, sum(s.count)::BIGINT AS n, p.gap
            FROM mps_current s JOIN placed p ON p.major = s.major AND p.minor = s.minor
            WHERE s.level = 'borough' GROUP BY ALL"""
        params: dict[str, object] = {
            "major": [p[0] for p in placed], "minor": [p[1] for p in placed],
            "category": [p[2].category for p in placed],
            "gap": [None if p[2].exact else mps_label(p[0], p[1]) for p in placed]}
        cover = con.execute("""
            SELECT DISTINCT bm.month FROM batch_months bm JOIN batches b USING (batch_id)
            WHERE b.source = 'mps' AND b.kind = 'borough'""").fetchall()
        months_all = frozenset(m for (m,) in cover)
        covered_by_area = None
    elif source == "policeuk":
        # An area's figures are its policing force's rows (see areas.policing_force); where
        # that is not known, the force with the most rows there (on a tie, the first by
        # name).
        known = policing_force()
        totals = con.execute("""
            SELECT s.area, b.force, count(*) AS n FROM street s JOIN batches b USING (batch_id)
            WHERE s.area IS NOT NULL GROUP BY ALL ORDER BY n DESC, b.force""").fetchall()
        main: dict[str, str] = {}
        for area, force, _ in totals:
            main.setdefault(area, known.get(area.lower(), force))
        types = [t for (t,) in con.execute(
            "SELECT DISTINCT crime_type FROM street WHERE area IS NOT NULL").fetchall()]
        placements = [cats.place("policeuk", t) for t in types]
        rows_sql = """
            WITH placed AS (
                SELECT unnest($type::VARCHAR[]) AS crime_type,
                       unnest($category::VARCHAR[]) AS category, unnest($gap::VARCHAR[]) AS gap),
            main AS (SELECT unnest($area::VARCHAR[]) AS area, unnest($force::VARCHAR[]) AS force)
            SELECT s.area, p.category, s.month, count(*)::BIGINT AS n, p.gap
            FROM street s JOIN batches b USING (batch_id)
            JOIN main m ON m.area = s.area AND m.force = b.force
            JOIN placed p ON p.crime_type = s.crime_type
            GROUP BY ALL"""
        params = {"type": types, "category": [p.category for p in placements],
                  "gap": [None if p.exact else t for t, p in zip(types, placements, strict=True)],
                  "area": list(main), "force": list(main.values())}
        force_months: dict[str, set[date]] = {}
        for force, month in con.execute("""
                SELECT b.force, bm.month FROM batch_months bm JOIN batches b USING (batch_id)
                WHERE b.source = 'policeuk' AND b.kind = 'street'""").fetchall():
            force_months.setdefault(force, set()).add(month)
        covered_by_area = {a: frozenset(force_months.get(f, set())) for a, f in main.items()}
        months_all = frozenset()
    else:
        raise InputError(f"source must be mps or policeuk, got {source!r}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE monthly_rows AS {rows_sql}", params)
    try:
        return _counts(con, source, months_all, covered_by_area)
    finally:
        con.execute("DROP TABLE IF EXISTS monthly_rows")


_MONTH_INDEX = "(year(month) * 12 + month(month) - 1)::BIGINT"  # as dates.month_index


def _counts(con: duckdb.DuckDBPyConnection, source: str, months_all: frozenset[date],
            covered_by_area: dict[str, frozenset[date]] | None) -> MonthlyCounts:
    """MonthlyCounts from the temp table monthly_rows(area, category, month, n, gap). The
    rows stay in DuckDB: only their indices come back, as arrays (fetching 130,000 MPS
    rows as Python tuples of dates was most of the time)."""
    dims = con.execute("SELECT DISTINCT area, category FROM monthly_rows").fetchall()
    if not dims:
        return MonthlyCounts(source, (), (), (), np.zeros((0, 0, 0), np.int64), {},
                             np.zeros((0, 0), bool))
    areas = tuple(sorted({a for a, _ in dims}))
    leaves = tuple(sorted({c for _, c in dims}, key=lambda c: (c is None, c or "")))
    named = [c for c in leaves if c is not None]  # None (no category) is last, if present
    cols = con.execute(f"""
        SELECT (list_position($areas, area) - 1)::BIGINT AS a,
               (CASE WHEN category IS NULL THEN $none
                     ELSE list_position($named, category) - 1 END)::BIGINT AS l,
               {_MONTH_INDEX} AS m, n
        FROM monthly_rows""", {"areas": list(areas), "named": named, "none": len(named)}
                       ).fetchnumpy()
    a_idx, l_idx, m_abs, n = (np.asarray(cols[k], np.int64) for k in ("a", "l", "m", "n"))
    if a_idx.min() < 0 or l_idx.min() < 0:  # cannot happen: both lists come from the rows
        raise InputError(f"{source}: an area or category of the counts was not indexed")
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
    # Labels not in the mapping: few rows, kept apart per label (MonthlyCounts.gaps).
    gap_rows = con.execute(f"SELECT area, category, {_MONTH_INDEX}, n, gap FROM monthly_rows "
                           "WHERE gap IS NOT NULL").fetchall()
    where = {g: placed for _, placed, _, _, g in gap_rows}
    gap_labels = tuple(sorted(where))
    ai = {a: i for i, a in enumerate(areas)}
    gi = {g: i for i, g in enumerate(gap_labels)}
    gap_arr = np.zeros((len(areas), len(gap_labels), len(months)), dtype=np.int64)
    for area, _, m, count, g in gap_rows:
        gap_arr[ai[area], gi[g], m - first_i] += int(count)
    return MonthlyCounts(source, areas, leaves, months, arr, covered, present, gap_labels,
                         tuple(where[g] for g in gap_labels), gap_arr)
