"""London Datastore MPS recorded-crime tables (borough and ward level), in every layout seen.

Wide tables: a few label columns (major group, minor group, area; ward files add ward name and
code), then one column per month, YYYYMM. Files are small (< 1 MB), so they are parsed with the
csv module, which gives exact line numbers for free.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from saferboard import store
from saferboard.core.areas import ward_lookup
from saferboard.core.categories import mps_label, normalise_label
from saferboard.core.errors import InputError
from saferboard.core.text import check_text

MONTH_HEADER = re.compile(r"^(\d{4})(\d{2})$")

# Header names seen in the London Datastore releases, by role (compared case-insensitively).
ROLE_NAMES = {
    "major": {"major category", "majortext", "major text", "major group"},
    "minor": {"minor category", "minortext", "minor text", "minor group"},
    "area": {"borough", "boroughname", "lookup_boroughname", "borough name", "area"},
    "ward_name": {"wardname", "ward name", "ward"},
    "ward_code": {"wardcode", "ward code"},
}


@dataclass(frozen=True)
class Layout:
    level: str  # 'borough' | 'ward'
    roles: dict[str, int]  # role -> column index
    months: list[date]  # one per column after the label columns
    first_month_column: int

    @property
    def first(self) -> date:
        return min(self.months)

    @property
    def last(self) -> date:
        return max(self.months)


def detect(header: list[str], display: str) -> Layout | None:
    """The layout of an MPS table, or None if this is not one.

    Known header names are matched by role. A header of the same shape with other names
    (major group, minor group, area, then months) is read by position.
    """
    header = [h.strip() for h in header]
    first_month = next((i for i, h in enumerate(header) if MONTH_HEADER.match(h)), None)
    if first_month is None or first_month < 3:
        return None
    labels = [h.lower() for h in header[:first_month]]
    roles: dict[str, int] = {}
    for i, name in enumerate(labels):
        for role, names in ROLE_NAMES.items():
            if name in names and role not in roles:
                roles[role] = i
    if not {"major", "minor", "area"} <= roles.keys():
        if first_month != 3:
            raise InputError(
                f"unknown MPS layout: label columns {header[:first_month]}; expected major "
                "group, minor group and area (borough) columns before the YYYYMM columns",
                path=display, line=1,
            )
        roles = {"major": 0, "minor": 1, "area": 2}
    months: list[date] = []
    for j, h in enumerate(header[first_month:], start=first_month):
        m = MONTH_HEADER.match(h)
        if m is None or not 1 <= int(m[2]) <= 12:
            raise InputError(
                f"invalid month column header {h!r} (column {j + 1}); expected YYYYMM",
                path=display, line=1,
            )
        months.append(date(int(m[1]), int(m[2]), 1))
    if len(set(months)) != len(months):
        dup = next(m for m, n in Counter(months).items() if n > 1)
        raise InputError(f"month {dup:%Y%m} appears twice in the header", path=display, line=1)
    level = "ward" if "ward_code" in roles else "borough"
    return Layout(level, roles, months, first_month)


@dataclass(frozen=True)
class Parsed:
    table: pa.Table
    rows: int  # data rows in the file
    unmapped: dict[str, int]  # 'MAJOR / MINOR' -> rows
    wards_not_in_lookup: int
    # 'MAJOR / MINOR' -> months with a non-zero count (an unmapped label's reach in time)
    unmapped_months: dict[str, tuple[date, ...]] = field(default_factory=dict)


def parse(path: Path, display: str, layout: Layout, mapped_labels: set[str]) -> Parsed:
    """Read every cell; empty cells are zero, anything else non-numeric is an error."""
    opener = gzip.open if str(path).endswith(".gz") else open
    cols: dict[str, list[object]] = {k: [] for k in
                                      ("area", "ward_code", "ward_name", "major", "minor",
                                       "month", "count")}
    width = layout.first_month_column + len(layout.months)
    wards = ward_lookup() if layout.level == "ward" else {}
    unmapped: Counter[str] = Counter()
    unmapped_months: dict[str, set[date]] = {}
    missing_wards = 0
    rows = 0
    r = layout.roles
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            for record in reader:
                line = reader.line_num
                if not record:
                    continue
                if len(record) != width:
                    raise InputError(
                        f"expected {width} columns, found {len(record)} "
                        "(a truncated or malformed row)", path=display, line=line)
                rows += 1
                for j in (r["major"], r["minor"], r["area"]):
                    check_text(record[j], path=display, line=line, column=header[j])
                major, minor = record[r["major"]].strip(), record[r["minor"]].strip()
                if not major or not minor:
                    raise InputError("empty major or minor category", path=display, line=line)
                area = record[r["area"]].strip()
                code = name = None
                if layout.level == "ward":
                    code = record[r["ward_code"]].strip()
                    name = record[r["ward_name"]].strip() if "ward_name" in r else None
                    lad = wards.get(code)
                    if lad is None:
                        missing_wards += 1
                    else:
                        area = lad
                if not area:
                    raise InputError("empty area (borough) name", path=display, line=line)
                label = mps_label(major, minor)
                touched = None
                if normalise_label(label) not in mapped_labels:
                    unmapped[label] += 1
                    touched = unmapped_months.setdefault(label, set())
                for j, month in enumerate(layout.months):
                    cell = record[layout.first_month_column + j].strip()
                    if cell == "":
                        value = 0
                    else:
                        try:
                            value = int(cell)
                        except ValueError:
                            value = _integral_float(cell, display, line, j, layout)
                        if value < 0:
                            raise InputError(f"negative count {cell!r}", path=display,
                                             line=line, column=f"{month:%Y%m}")
                    cols["area"].append(area)
                    cols["ward_code"].append(code)
                    cols["ward_name"].append(name)
                    cols["major"].append(major)
                    cols["minor"].append(minor)
                    cols["month"].append(month)
                    cols["count"].append(value)
                    if touched is not None and value:
                        touched.add(month)
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", path=display) from None
    except csv.Error as e:
        raise InputError(f"malformed CSV: {e}", path=display) from None
    except (OSError, EOFError) as e:
        raise InputError(f"cannot read file: {e}", path=display) from None
    table = pa.table({
        "area": pa.array(cols["area"], pa.string()),
        "ward_code": pa.array(cols["ward_code"], pa.string()),
        "ward_name": pa.array(cols["ward_name"], pa.string()),
        "major": pa.array(cols["major"], pa.string()),
        "minor": pa.array(cols["minor"], pa.string()),
        "month": pa.array(cols["month"], pa.date32()),
        "count": pa.array(cols["count"], pa.int64()),
    })
    return Parsed(table, rows, dict(unmapped), missing_wards,
                  {k: tuple(sorted(v)) for k, v in unmapped_months.items()})


def _integral_float(cell: str, display: str, line: int, j: int, layout: Layout) -> int:
    try:
        value = float(cell)
    except ValueError:
        value = float("nan")
    if value != value or value != int(value):
        raise InputError(f"not a whole number: {cell!r}", path=display, line=line,
                         column=f"{layout.months[j]:%Y%m}")
    return int(value)


def insert(con: duckdb.DuckDBPyConnection, batch_id: int, level: str, parsed: Parsed) -> None:
    """Insert parsed rows under `batch_id`. Call inside a transaction."""
    with store.registered(con, "mps_rows", parsed.table):
        con.execute(
            "INSERT INTO mps_counts SELECT ?, ?, area, ward_code, ward_name, major, minor, "
            "month, count FROM mps_rows",
            [batch_id, level],
        )
