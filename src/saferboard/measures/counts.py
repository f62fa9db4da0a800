"""Crime counts from the store, filtered and grouped: the base of every later measure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from saferboard.core.categories import SQL_NORMALISE, Categories
from saferboard.core.errors import InputError

BY_KEYS = ("month", "area", "category", "crime_type", "force", "lsoa", "ward")
SOURCES = ("policeuk", "mps")
MPS_LABEL_SQL = "s.major || ' / ' || s.minor"  # as categories.mps_label


@dataclass(frozen=True)
class Counts:
    """Rows of (*by keys, count), sorted by the keys. Months are 'YYYY-MM' strings."""

    source: str
    by: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]

    @property
    def total(self) -> int:
        return sum(int(r[-1]) for r in self.rows)  # type: ignore[call-overload]


def _source_sql(source: str, mps_level: str) -> tuple[str, dict[str, str]]:
    if source == "policeuk":
        frm = (
            "street s JOIN batches b USING (batch_id) "
            "LEFT JOIN label_map lm ON lm.source = 'policeuk' "
            f"AND lm.label = {SQL_NORMALISE.format(col='s.crime_type')}"
        )
        cols = {"month": "s.month", "area": "s.area", "category": "lm.category",
                "crime_type": "s.crime_type", "force": "b.force", "n": "1",
                "lsoa": "s.lsoa_code", "ward": "NULL"}
        return frm, cols
    frm = (
        "mps_current s LEFT JOIN label_map lm ON lm.source = 'mps' "
        f"AND lm.label = {SQL_NORMALISE.format(col=MPS_LABEL_SQL)}"
    )
    cols = {"month": "s.month", "area": "s.area", "category": "lm.category",
            "crime_type": "s.minor", "force": "'metropolitan'", "n": "s.count",
            "lsoa": "NULL", "ward": "s.ward_code"}
    return frm + f" WHERE s.level = '{mps_level}'", cols


def counts(
    con: duckdb.DuckDBPyConnection,
    categories: Categories,
    *,
    source: str = "policeuk",
    areas: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
    category_names: Sequence[str] = (),
    by: Sequence[str] = (),
    mps_level: str = "borough",
) -> Counts:
    """Count crimes from `source`, optionally within areas, months and categories.

    A category includes its descendants; `by=category` groups by the category each raw label
    maps to (unmapped labels group as None). Rows without an area are included unless
    `areas` is given.
    """
    if source not in SOURCES:
        raise InputError(f"source must be one of {', '.join(SOURCES)}, got {source!r}",
                         param="source")
    bad = [k for k in by if k not in BY_KEYS]
    if bad:
        raise InputError(f"cannot group by {bad[0]!r}; choose from {', '.join(BY_KEYS)}",
                         param="by")
    if mps_level not in ("borough", "ward"):
        raise InputError(f"MPS level must be borough or ward, got {mps_level!r}",
                         param="mps_level")
    if start and end and start > end:
        raise InputError(f"the start {start:%Y-%m} is after the end {end:%Y-%m}", param="start")
    by = tuple(dict.fromkeys(by))
    categories.register(con)
    frm, cols = _source_sql(source, mps_level)
    where: list[str] = []
    params: dict[str, object] = {}
    if areas:
        where.append(f"lower({cols['area']}) IN (SELECT lower(unnest($areas)))")
        params["areas"] = list(areas)
    if start:
        where.append(f"{cols['month']} >= $start")
        params["start"] = start
    if end:
        where.append(f"{cols['month']} <= $end")
        params["end"] = end
    if category_names:
        where.append(f"{cols['category']} IN (SELECT unnest($cats))")
        params["cats"] = categories.within(category_names)
    keys = [f"strftime({cols[k]}, '%Y-%m')" if k == "month" else cols[k] for k in by]
    select = ", ".join([*(f"{k} AS {name}" for k, name in zip(keys, by, strict=True)),
                        f"sum({cols['n']})::BIGINT AS count"])
    joiner = " AND " if " WHERE " in frm else " WHERE "
    sql = f"SELECT {select} FROM {frm}"
    if where:
        sql += joiner + " AND ".join(where)
    if by:
        sql += " GROUP BY ALL ORDER BY " + ", ".join(f"{i + 1} NULLS LAST" for i in range(len(by)))
    rows = con.execute(sql, params).fetchall()
    if not by and rows and rows[0][0] is None:
        rows = [(0,)]
    return Counts(source, by, tuple(tuple(r) for r in rows))
