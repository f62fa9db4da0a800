"""Reading point events (x, y, date) from a CSV or XLSX file (through sources.tables, the one
table reader) for the near-repeat analysis.

Coordinates are wanted in metres. With `crs` a geographic EPSG code (e.g. 4326, longitude and
latitude) they are projected to British National Grid (EPSG:27700) with pyproj; a projected
code in metres is used as it is. Rows with both coordinates empty (police.uk publishes some)
are skipped and counted; anything else unusable is a one-line InputError naming the file, the
line and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import numpy.typing as npt

from saferboard.core.dates import DATE_FORMS, parse_day
from saferboard.core.errors import InputError
from saferboard.sources.tables import cell_text, read_sheet

if TYPE_CHECKING:  # pyproj is imported only when a --crs asks for it
    from pyproj import Transformer

PROJECTED_CRS = 27700  # British National Grid, metres


@dataclass(frozen=True)
class Events:
    path: str
    x: npt.NDArray[np.float64]  # metres
    y: npt.NDArray[np.float64]
    days: npt.NDArray[np.int64]  # proleptic Gregorian ordinal (date.toordinal())
    lines: npt.NDArray[np.int64]  # line of each event in the file (header = line 1)
    skipped_no_coordinates: int
    crs: int | None


def parse_date(value: str, fmt: str | None) -> date:
    if fmt is None:
        return parse_day(value)
    return datetime.strptime(value.strip(), fmt).date()


def _transformer(crs: int, display: str) -> Transformer | None:
    """None when coordinates are already metres; else a lon/lat -> EPSG:27700 transformer."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        c = CRS.from_epsg(crs)
    except CRSError:
        raise InputError(f"unknown CRS EPSG:{crs}", path=display) from None
    if c.is_geographic:
        return Transformer.from_crs(c, CRS.from_epsg(PROJECTED_CRS), always_xy=True)
    units = {a.unit_name for a in c.axis_info}
    if units - {"metre"}:
        raise InputError(f"EPSG:{crs} is in {', '.join(sorted(units))}, not metres", path=display)
    return None


def read_events(path: Path, x_col: str, y_col: str, date_col: str, *,
                date_format: str | None = None, crs: int | None = None) -> Events:
    """Read events from a CSV (or XLSX) with a header row; see the module docstring."""
    sheet = read_sheet(path)
    display = sheet.path
    xs: list[float] = []
    ys: list[float] = []
    days: list[int] = []
    lines: list[int] = []
    skipped = 0
    names = list(sheet.header)
    index = {}
    for col in (x_col, y_col, date_col):
        if col not in names:
            raise InputError(f"missing column (header has: {', '.join(names)})",
                             path=display, line=sheet.header_line, column=col)
        index[col] = names.index(col)
    ix, iy, idt = index[x_col], index[y_col], index[date_col]
    width = max(ix, iy, idt)
    for line, row in sheet.rows:
        if len(row) <= width:
            raise InputError(f"only {len(row)} field(s)", path=display, line=line)
        cx, cy = cell_text(row[ix]), cell_text(row[iy])
        if not cx and not cy:
            skipped += 1
            continue
        for col, cell in ((x_col, cx), (y_col, cy)):
            try:
                v = float(cell)
            except ValueError:
                raise InputError(f"not a number: {cell!r}", path=display, line=line,
                                 column=col) from None
            if not np.isfinite(v):
                raise InputError(f"not a finite number: {cell!r}", path=display,
                                 line=line, column=col)
            (xs if col == x_col else ys).append(v)
        value = row[idt]
        try:
            if isinstance(value, date):  # a workbook's own date: no format to apply
                day = value.date() if isinstance(value, datetime) else value
            else:
                day = parse_date(cell_text(value), date_format)
        except ValueError:
            expected = date_format or DATE_FORMS
            raise InputError(f"not a date ({expected}): {cell_text(value)!r}", path=display,
                             line=line, column=date_col) from None
        days.append(day.toordinal())
        lines.append(line)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if crs is not None:
        t = _transformer(crs, display)
        if t is not None and len(x):
            x, y = t.transform(x, y)
            x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
            if not (np.isfinite(x).all() and np.isfinite(y).all()):
                bad = int(np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))[0])
                raise InputError(f"coordinates cannot be projected from EPSG:{crs}",
                                 path=display, line=lines[bad], column=x_col)
    return Events(display, x, y, np.asarray(days, dtype=np.int64),
                  np.asarray(lines, dtype=np.int64), skipped, crs)


def incident_events(con: duckdb.DuckDBPyConnection, incident_type: str,
                    start: date | None = None, end: date | None = None) -> Events:
    """The store's partner incidents of one type (`saferboard ingest-partner incidents`),
    dated `start..end` inclusive, as events in British National Grid metres. `lines` number
    the events 1..n in (date, pseudonymous incident reference) order, so a labels file can
    be matched back to the store without any identifier; incidents without coordinates are
    counted as skipped."""
    where = ["incident_type = lower(trim($type))"]
    params: dict[str, object] = {"type": incident_type}
    if start is not None:
        where.append("incident_date >= $start")
        params["start"] = start
    if end is not None:
        where.append("incident_date <= $end")
        params["end"] = end
    rows = con.execute(
        "SELECT x, y, incident_date FROM partner_incidents WHERE " + " AND ".join(where)
        + " ORDER BY incident_date, incident_ref", params).fetchall()
    located = [(x, y, d) for x, y, d in rows if x is not None and y is not None]
    if not located:
        known = [t for (t,) in con.execute(
            "SELECT DISTINCT incident_type FROM partner_incidents ORDER BY 1").fetchall()]
        raise InputError(f"no partner incidents of type {incident_type!r} with coordinates "
                         f"in the store ({len(rows):,} without); types in the store: "
                         f"{', '.join(known) or 'none'}", param="incidents")
    return Events(
        f"store: partner incidents ({incident_type})",
        np.array([r[0] for r in located], np.float64),
        np.array([r[1] for r in located], np.float64),
        np.array([r[2].toordinal() for r in located], np.int64),
        np.arange(1, len(located) + 1, dtype=np.int64),
        len(rows) - len(located), PROJECTED_CRS)
