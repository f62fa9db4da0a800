"""Data-quality report: what is in the store, what is missing, and what looks odd."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb

from saferboard.core.areas import lsoa_vintages, policing_force
from saferboard.core.categories import Categories, mps_label


@dataclass(frozen=True)
class UnmappedLabel:
    """A raw label that is not in the category mapping, and where its rows went."""

    label: str
    rows: int  # police.uk: crimes; MPS: data cells (label x area x month)
    crimes: int
    placed_under: str | None  # the category its rows count under (MPS major group), or None
    first_month: date | None  # first and last month with a non-zero count
    last_month: date | None
    months: int  # months with a non-zero count

    @property
    def summary(self) -> str:
        """Rows, crimes, months and where they were counted, as `quality` and the pack's
        appendix both say it."""
        span = ("no month with a non-zero count" if self.first_month is None else
                f"{self.months} month(s) {self.first_month:%Y-%m}..{self.last_month:%Y-%m}")
        where = (f"counted under {self.placed_under}" if self.placed_under
                 else "counted under no category")
        return f"{self.rows:,} rows, {self.crimes:,} crimes, {span}; {where}"


@dataclass(frozen=True)
class SourceQuality:
    source: str  # 'policeuk' | 'mps'
    force: str
    kind: str  # street | outcomes | stop-and-search | borough | ward
    first_month: date
    last_month: date
    months_present: int
    months_missing: tuple[str, ...]  # YYYY-MM between first and last with no data
    batches: int
    rows: int
    rows_without_coords: int
    rows_without_lsoa: int
    lsoa_vintage: dict[str, int]  # rows by LSOA code vintage: 2011, 2021, both, unknown
    revised_months: int  # months covered by more than one release (newest wins)
    unmapped: dict[str, int]  # raw label -> rows (MPS: data rows x months)
    unmapped_labels: tuple[UnmappedLabel, ...] = ()  # the same labels in detail
    # Rows of this force's files whose LSOA lies in an LA policed by another force (border
    # geocoding, or far strays): area -> rows. They count for the force, not for that area.
    outside_force: dict[str, int] = field(default_factory=dict)
    rows_area_from_name: int = 0  # LSOA code not in the ONS lookup: LA taken from the name


def _month_range(first: date, last: date) -> list[date]:
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def quality(con: duckdb.DuckDBPyConnection, categories: Categories) -> tuple[SourceQuality, ...]:
    categories.register(con)
    _register_vintages(con)
    groups = con.execute(
        "SELECT source, force, kind, count(*), sum(row_count), sum(rows_without_coords), "
        "sum(rows_without_lsoa) FROM batches GROUP BY ALL ORDER BY source, force, kind"
    ).fetchall()
    out = []
    for source, force, kind, n_batches, rows, no_coords, no_lsoa in groups:
        months = [r[0] for r in con.execute(
            "SELECT DISTINCT bm.month FROM batch_months bm JOIN batches b USING (batch_id) "
            "WHERE b.source = ? AND b.force = ? AND b.kind = ? ORDER BY 1",
            [source, force, kind]).fetchall()]
        present = set(months)
        missing = tuple(f"{m:%Y-%m}" for m in _month_range(months[0], months[-1])
                        if m not in present)
        revised_row = con.execute(
            "SELECT count(*) FROM (SELECT bm.month FROM batch_months bm JOIN batches b "
            "USING (batch_id) WHERE b.source = ? AND b.force = ? AND b.kind = ? "
            "GROUP BY bm.month HAVING count(*) > 1)", [source, force, kind]).fetchall()[0]
        vintage: dict[str, int] = {}
        unmapped: dict[str, int] = {}
        table = {"street": "street", "outcomes": "outcomes"}.get(kind)
        if source == "policeuk" and table:
            vintage = dict(con.execute(
                f"""SELECT coalesce(v.vintage, 'unknown') AS vintage, count(*)
                FROM {table} t JOIN batches b USING (batch_id)
                LEFT JOIN lsoa_vintage v ON v.lsoa_code = t.lsoa_code
                WHERE b.force = ? AND t.lsoa_code IS NOT NULL GROUP BY ALL ORDER BY 1""",
                [force]).fetchall())
        outside: dict[str, int] = {}
        by_name = 0
        if source == "policeuk" and table:
            known = policing_force()
            for area, n in con.execute(
                    f"""SELECT t.area, count(*) FROM {table} t JOIN batches b USING (batch_id)
                    WHERE b.force = ? AND t.area IS NOT NULL GROUP BY ALL ORDER BY 2 DESC, 1""",
                    [force]).fetchall():
                own = known.get(str(area).lower())
                if own is not None and own != force:
                    outside[str(area)] = int(n)
            by_name = int(vintage.get("unknown", 0))
        detail: list[UnmappedLabel] = []
        if source == "policeuk" and kind == "street":
            # Group by raw label in SQL, place each label in Python (Categories.place).
            labelled = con.execute(
                """SELECT s.crime_type, count(*), count(*), min(s.month), max(s.month),
                count(DISTINCT s.month) FROM street s JOIN batches b USING (batch_id)
                WHERE b.force = ? GROUP BY ALL ORDER BY 1""", [force]).fetchall()
            detail = _unmapped(categories, "policeuk", labelled)
        if source == "mps":
            labelled = [(mps_label(major, minor), *rest) for major, minor, *rest in con.execute(
                """SELECT s.major, s.minor, count(*), sum(s.count)::BIGINT,
                min(s.month) FILTER (WHERE s.count > 0), max(s.month) FILTER (WHERE s.count > 0),
                count(DISTINCT s.month) FILTER (WHERE s.count > 0)
                FROM mps_counts s JOIN batches b USING (batch_id)
                WHERE b.kind = ? GROUP BY ALL ORDER BY 1, 2""", [kind]).fetchall()]
            detail = _unmapped(categories, "mps", labelled)
        unmapped = {u.label: u.rows for u in detail}
        out.append(SourceQuality(
            source, force, kind, months[0], months[-1], len(months), missing, int(n_batches),
            int(rows), int(no_coords), int(no_lsoa), {str(k): int(v) for k, v in vintage.items()},
            int(revised_row[0]) if revised_row else 0,
            {str(k): int(v) for k, v in unmapped.items()}, tuple(detail), outside, by_name,
        ))
    return tuple(out)


def _unmapped(categories: Categories, source: str, labelled: list[tuple[object, ...]]
              ) -> list[UnmappedLabel]:
    """The labels of (label, rows, crimes, first, last, months) rows not in the mapping."""
    out = []
    for label, rows, crimes, first, last, months in labelled:
        placed = categories.place(source, str(label))
        if placed.exact:
            continue
        out.append(UnmappedLabel(
            str(label), int(str(rows)), int(str(crimes or 0)), placed.category,
            first if isinstance(first, date) else None,
            last if isinstance(last, date) else None, int(str(months or 0))))
    return out


def _register_vintages(con: duckdb.DuckDBPyConnection) -> None:
    items = lsoa_vintages().items()
    # Lists (unnest), not an Arrow table: building one makes pyarrow import pandas.
    con.execute("CREATE OR REPLACE TEMP TABLE lsoa_vintage AS SELECT "
                "unnest($code::VARCHAR[]) AS lsoa_code, unnest($vintage::VARCHAR[]) AS vintage",
                {"code": [code for code, _ in items],
                 "vintage": ["both" if len(v) > 1 else str(next(iter(v))) for _, v in items]})
