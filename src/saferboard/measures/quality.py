"""Data-quality report: what is in the store, what is missing, and what looks odd."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from saferboard.areas import lsoa_vintages
from saferboard.categories import SQL_NORMALISE, Categories
from saferboard.measures.counts import MPS_LABEL_SQL


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
        if source == "policeuk" and kind == "street":
            unmapped = dict(con.execute(
                f"""SELECT s.crime_type, count(*) FROM street s JOIN batches b USING (batch_id)
                LEFT JOIN label_map lm ON lm.source = 'policeuk'
                  AND lm.label = {SQL_NORMALISE.format(col='s.crime_type')}
                WHERE b.force = ? AND lm.category IS NULL GROUP BY ALL ORDER BY 1""",
                [force]).fetchall())
        if source == "mps":
            unmapped = dict(con.execute(
                f"""SELECT {MPS_LABEL_SQL}, count(*) FROM mps_counts s
                JOIN batches b USING (batch_id)
                LEFT JOIN label_map lm ON lm.source = 'mps'
                  AND lm.label = {SQL_NORMALISE.format(col=MPS_LABEL_SQL)}
                WHERE b.kind = ? AND lm.category IS NULL GROUP BY ALL ORDER BY 1""",
                [kind]).fetchall())
        out.append(SourceQuality(
            source, force, kind, months[0], months[-1], len(months), missing, int(n_batches),
            int(rows), int(no_coords), int(no_lsoa), {str(k): int(v) for k, v in vintage.items()},
            int(revised_row[0]) if revised_row else 0,
            {str(k): int(v) for k, v in unmapped.items()},
        ))
    return tuple(out)


def _register_vintages(con: duckdb.DuckDBPyConnection) -> None:
    items = lsoa_vintages().items()
    table = pa.table({
        "lsoa_code": [code for code, _ in items],
        "vintage": ["both" if len(v) > 1 else str(next(iter(v))) for _, v in items],
    })
    con.register("lsoa_vintage_rows", table)
    con.execute("CREATE OR REPLACE TEMP TABLE lsoa_vintage AS SELECT * FROM lsoa_vintage_rows")
    con.unregister("lsoa_vintage_rows")
