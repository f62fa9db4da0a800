"""data.police.uk street-level crime, outcomes and stop-and-search CSVs.

Speed matters (all of England and Wales since 2010 is ~100M rows), so DuckDB parses each file
straight into its table inside the caller's transaction, and the rules are checked afterwards
with one aggregate query over the new rows. Only when a rule fails is the file read a second
time, with row numbers, to name the first offending line; the caller's rollback then leaves
the store as it was.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from saferboard import store
from saferboard.core import areas
from saferboard.core.categories import normalise_label
from saferboard.core.errors import InputError

FILENAME = re.compile(
    r"^(?P<year>\d{4})-(?P<month>\d{2})-(?P<force>[a-z0-9][a-z0-9-]*?)-"
    r"(?P<kind>street|outcomes|stop-and-search)\.csv(?:\.gz)?$"
)

# The UK's extent with a small margin (Scilly to Shetland, Northern Ireland to Lowestoft).
UK_LON = (-8.7, 1.8)
UK_LAT = (49.8, 60.9)

LOCATION_COLUMNS = {
    "Crime ID": "VARCHAR", "Month": "VARCHAR", "Reported by": "VARCHAR",
    "Falls within": "VARCHAR", "Longitude": "DOUBLE", "Latitude": "DOUBLE",
    "Location": "VARCHAR", "LSOA code": "VARCHAR", "LSOA name": "VARCHAR",
}
AREA_SQL = """nullif(regexp_extract("LSOA name", '^(.*) [0-9]{3}[A-Z]$', 1), '')"""
# The area of a row at ingest: its LSOA code's local authority in the ONS lookup (the
# `lsoa_area` table joined in by _load_registered), else the name rule above (a code the
# lookup lacks; `quality` counts such rows).
AREA_BY_CODE_SQL = f"coalesce(lk.area, {AREA_SQL})"
MONTH_SQL = """try_cast("Month" || '-01' AS DATE)"""


@dataclass(frozen=True)
class Check:
    """A rule on the loaded rows: `predicate` is true for a bad row."""

    predicate: str
    column: str
    message: str  # formatted with the raw columns of the offending row


COORD_CHECKS = (
    Check("(longitude IS NULL) <> (latitude IS NULL)", "Longitude",
          "only one of Longitude ({Longitude}) and Latitude ({Latitude}) is given"),
    Check(f"longitude NOT BETWEEN {UK_LON[0]} AND {UK_LON[1]} "
          f"OR latitude NOT BETWEEN {UK_LAT[0]} AND {UK_LAT[1]}", "Longitude",
          "coordinates ({Longitude}, {Latitude}) are outside the UK"),
)
# C0 controls and DEL except tab, line feed and carriage return (saferboard.core.text.CONTROL),
# in RE2's syntax: no text of a release has them, and the pack and spreadsheets cannot hold
# them. One regular expression over the joined text columns costs about a tenth of the read.
CONTROL_RE = r"[\x{00}-\x{08}\x{0b}\x{0c}\x{0e}-\x{1f}\x{7f}]"


def control_check(columns: dict[str, str]) -> Check:
    """Refuse a row whose text columns (target name -> header) hold a control character."""
    joined = ", ".join(columns)
    return Check(f"regexp_matches(concat_ws('|', {joined}), '{CONTROL_RE}')", "text",
                 f"a text field ({', '.join(columns.values())}) contains a control "
                 "character; remove it and import again")


MONTH_CHECKS = (
    Check("month IS NULL", "Month", "invalid month {Month!r}; expected YYYY-MM"),
    Check("month <> $file_month", "Month",
          "month {Month} does not match the month in the file name ({file_month})"),
)


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    columns: dict[str, str]  # header, in order, with the DuckDB type to read it as
    select: str  # the table's columns after batch_id, as expressions over the CSV's columns
    checks: tuple[Check, ...]
    label_column: str | None  # the column categories are mapped from

    @property
    def header(self) -> list[str]:
        return list(self.columns)


KINDS: dict[str, Kind] = {
    "street": Kind(
        "street", "street",
        {**LOCATION_COLUMNS, "Crime type": "VARCHAR", "Last outcome category": "VARCHAR",
         "Context": "VARCHAR"},
        f""""Crime ID", {MONTH_SQL}, "Reported by", "Falls within", "Longitude", "Latitude",
        "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
        {AREA_SQL}""",
        (*MONTH_CHECKS, Check("crime_type IS NULL", "Crime type", "empty Crime type"),
         *COORD_CHECKS, control_check({
             "crime_id": "Crime ID", "falls_within": "Falls within", "location": "Location",
             "lsoa_name": "LSOA name", "crime_type": "Crime type",
             "last_outcome": "Last outcome category", "context": "Context"})),
        "crime_type",
    ),
    "outcomes": Kind(
        "outcomes", "outcomes",
        {**LOCATION_COLUMNS, "Outcome type": "VARCHAR"},
        f""""Crime ID", {MONTH_SQL}, "Reported by", "Falls within", "Longitude", "Latitude",
        "Location", "LSOA code", "LSOA name", "Outcome type", {AREA_SQL}""",
        (*MONTH_CHECKS, *COORD_CHECKS, control_check({
            "crime_id": "Crime ID", "falls_within": "Falls within", "location": "Location",
            "lsoa_name": "LSOA name", "outcome_type": "Outcome type"})),
        None,
    ),
    "stop-and-search": Kind(
        "stop-and-search", "stop_search",
        {"Type": "VARCHAR", "Date": "VARCHAR", "Part of a policing operation": "VARCHAR",
         "Policing operation": "VARCHAR", "Latitude": "DOUBLE", "Longitude": "DOUBLE",
         "Gender": "VARCHAR", "Age range": "VARCHAR", "Self-defined ethnicity": "VARCHAR",
         "Officer-defined ethnicity": "VARCHAR", "Legislation": "VARCHAR",
         "Object of search": "VARCHAR", "Outcome": "VARCHAR",
         "Outcome linked to object of search": "VARCHAR",
         "Removal of more than just outer clothing": "VARCHAR"},
        """"Type", try_cast("Date" AS TIMESTAMPTZ) AT TIME ZONE 'UTC',
        "Part of a policing operation", "Policing operation", "Latitude", "Longitude", "Gender",
        "Age range", "Self-defined ethnicity", "Officer-defined ethnicity", "Legislation",
        "Object of search", "Outcome", "Outcome linked to object of search",
        "Removal of more than just outer clothing" """,
        (Check("date IS NULL", "Date", "invalid date {Date!r}; expected ISO 8601"),
         *COORD_CHECKS, control_check({
             "type": "Type", "policing_operation": "Policing operation",
             "legislation": "Legislation", "object_of_search": "Object of search",
             "outcome": "Outcome"})),
        None,
    ),
}

TARGET_COLUMNS = {
    "street": ["crime_id", "month", "reported_by", "falls_within", "longitude", "latitude",
               "location", "lsoa_code", "lsoa_name", "crime_type", "last_outcome", "context",
               "area"],
    "outcomes": ["crime_id", "month", "reported_by", "falls_within", "longitude", "latitude",
                 "location", "lsoa_code", "lsoa_name", "outcome_type", "area"],
    "stop-and-search": ["type", "date", "part_of_policing_operation", "policing_operation",
                        "latitude", "longitude", "gender", "age_range", "self_defined_ethnicity",
                        "officer_defined_ethnicity", "legislation", "object_of_search", "outcome",
                        "outcome_linked_to_object", "removal_of_outer_clothing"],
}


@dataclass(frozen=True)
class Identity:
    kind: str
    force: str
    month: date


def identify(name: str, header: list[str], display: str) -> Identity | None:
    """The batch key of a police.uk file, or None if the header is not police.uk's.

    The key comes from the file name (YYYY-MM-force-kind.csv), as police.uk names them; a
    police.uk header under another name is an error rather than a guess.
    """
    kind = next((k for k in KINDS.values() if header == k.header), None)
    if kind is None:
        first = header[:2]
        looks_policeuk = first in (["Crime ID", "Month"], ["Type", "Date"])
        if not looks_policeuk:
            return None
        expected = next(k for k in KINDS.values() if k.header[:2] == first)
        diff = _first_difference(header, expected.header)
        raise InputError(
            f"wrong header for a police.uk {expected.name} file: {diff}", path=display, line=1
        )
    m = FILENAME.match(name)
    if m is None:
        raise InputError(
            f"cannot tell the force and month from the file name {name!r}; police.uk files "
            "are named YYYY-MM-force-kind.csv (e.g. 2023-01-metropolitan-street.csv)",
            path=display,
        )
    if m["kind"] != kind.name:
        raise InputError(
            f"the file name says {m['kind']!r} but the header is a {kind.name} header",
            path=display, line=1,
        )
    month_no = int(m["month"])
    if not 1 <= month_no <= 12:
        raise InputError(f"invalid month {m['year']}-{m['month']} in the file name", path=display)
    return Identity(kind.name, m["force"], date(int(m["year"]), month_no, 1))


def _first_difference(got: list[str], want: list[str]) -> str:
    for i, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"column {i + 1} is {g!r}, expected {w!r}"
    if len(got) < len(want):
        return f"missing column(s) {want[len(got):]}"
    return f"unexpected extra column(s) {got[len(want):]}"


def _read_csv_sql(kind: Kind) -> str:
    return (
        "read_csv($path, header = true, auto_detect = false, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true, null_padding = false, columns = $columns)"
    )


@dataclass(frozen=True)
class Loaded:
    rows: int
    rows_without_area: int
    rows_without_coords: int
    unmapped: dict[str, int]


@dataclass(frozen=True)
class Item:
    """One file of a bulk load."""

    path: Path
    display: str
    ident: Identity
    batch_id: int


def load_many(
    con: duckdb.DuckDBPyConnection, items: Sequence[Item], mapped_labels: set[str]
) -> dict[int, Loaded]:
    """Insert many files of one kind in one statement, then check them all in one query.

    Call inside a transaction. Per-file statements cost ~10 ms each whatever the file's size,
    which dominated imports of many small monthly files; one read_csv over the list of files
    (DuckDB reads them in parallel) with a file -> batch map joined in keeps each row's batch.
    On any failure the offending file is found and named by re-reading files one at a time.
    """
    if not items:
        return {}
    kinds = {i.ident.kind for i in items}
    if len(kinds) != 1:
        raise ValueError(f"load_many takes files of one kind, got {sorted(kinds)}")
    kind = KINDS[kinds.pop()]
    lookup = lsoa_area_table()
    fm = pa.table({
        "path": [str(i.path) for i in items],
        "batch_id": pa.array([i.batch_id for i in items], pa.int64()),
        "file_month": pa.array([i.ident.month for i in items], pa.date32()),
    })
    with store.registered(con, "file_map", fm), store.registered(con, "lsoa_area", lookup):
        return _load_registered(con, items, kind, mapped_labels)


@cache
def lsoa_area_table() -> pa.Table:
    """core.areas.lsoa_areas as an Arrow table (code, area), built once per process: a hash
    join on ~70,000 codes costs little against parsing the CSV."""
    pairs = areas.lsoa_areas()
    return pa.table({"code": pa.array(list(pairs), pa.string()),
                     "area": pa.array(list(pairs.values()), pa.string())})


def _load_registered(con: duckdb.DuckDBPyConnection, items: Sequence[Item], kind: Kind,
                     mapped_labels: set[str]) -> dict[int, Loaded]:
    reader = _read_csv_sql(kind).replace("$path", "$paths").replace(
        "columns = $columns)", "columns = $columns, filename = true)")
    select, by_code = kind.select, ""
    if AREA_SQL in select:
        select = select.replace(AREA_SQL, AREA_BY_CODE_SQL)
        by_code = ' LEFT JOIN lsoa_area lk ON lk.code = r."LSOA code"'
    try:
        con.execute(
            f"INSERT INTO {kind.table} SELECT fm.batch_id, {select} "
            # LEFT JOIN: a row whose file name failed to match would get a NULL batch_id and
            # fail the NOT NULL constraint, loudly, rather than vanish from an inner join.
            f"FROM {reader} r LEFT JOIN file_map fm ON fm.path = r.filename{by_code}",
            {"paths": [str(i.path) for i in items], "columns": kind.columns},
        )
    except duckdb.Error as e:
        raise _find_bad_file(con, items, kind, e) from None
    checks = [c.predicate.replace("$file_month", "fm.file_month") for c in kind.checks]
    area = "count(*) FILTER (WHERE area IS NULL)" if kind.name != "stop-and-search" else "0"
    rows = con.execute(
        f"SELECT t.batch_id, count(*), {area}, count(*) FILTER (WHERE longitude IS NULL), "
        + ", ".join(f"count(*) FILTER (WHERE {c})" for c in checks)
        + f" FROM {kind.table} t JOIN file_map fm ON fm.batch_id = t.batch_id GROUP BY ALL"
    ).fetchall()
    by_batch = {int(r[0]): r for r in rows}
    for item in items:  # the first bad file in command order is the one reported
        row = by_batch.get(item.batch_id)
        if row is None:
            continue
        for check, bad in zip(kind.checks, row[4:], strict=True):
            if bad:
                raise _locate(con, item.path, item.display, kind, check, item.ident)
    unmapped: dict[int, dict[str, int]] = {}
    if kind.label_column:
        # Group first, normalise the few distinct labels in Python: cheaper than per row.
        for batch, raw, n in con.execute(
            f"SELECT t.batch_id, t.{kind.label_column}, count(*) FROM {kind.table} t "
            "JOIN file_map fm ON fm.batch_id = t.batch_id GROUP BY ALL ORDER BY 1, 2"
        ).fetchall():
            if normalise_label(raw) not in mapped_labels:
                unmapped.setdefault(int(batch), {})[raw] = int(n)
    out = {}
    for item in items:
        row = by_batch.get(item.batch_id)
        counts = (0, 0, 0) if row is None else (int(row[1]), int(row[2]), int(row[3]))
        out[item.batch_id] = Loaded(*counts, unmapped.get(item.batch_id, {}))
    return out


def _find_bad_file(con: duckdb.DuckDBPyConnection, items: Sequence[Item], kind: Kind,
                   error: duckdb.Error) -> InputError:
    """The failed statement aborted the transaction, so re-read each file on a second
    connection (reading files only) until one fails, and name its line and column."""
    cur = con.cursor()
    try:
        for item in items:
            params = {"path": str(item.path), "columns": kind.columns}
            try:
                cur.execute(f"CREATE OR REPLACE TEMP TABLE one_file AS SELECT {kind.select} "
                            f"FROM {_read_csv_sql(kind)}", params)
            except duckdb.Error as e:
                return duckdb_input_error(e, item.display)
            for check in kind.checks:
                bad = cur.execute(
                    f"SELECT count(*) FROM one_file AS t({_target_aliases(kind)}) "
                    f"WHERE {check.predicate}",
                    {"file_month": item.ident.month} if "$file_month" in check.predicate
                    else {},
                ).fetchall()[0][0]
                if bad:
                    return _locate(cur, item.path, item.display, kind, check, item.ident)
        return duckdb_input_error(error, items[0].display)
    finally:
        cur.close()


def _target_aliases(kind: Kind) -> str:
    return ", ".join(f'"{c}"' for c in TARGET_COLUMNS[kind.name])


def _locate(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    display: str,
    kind: Kind,
    check: Check,
    ident: Identity,
) -> InputError:
    """Re-read the file with row numbers to name the first row breaking `check`."""
    targets = TARGET_COLUMNS[kind.name]
    raw = ", ".join(f'"{c}"' for c in kind.columns)
    names = ["_row", *[f"raw {c}" for c in kind.columns], *targets]
    aliases = ", ".join('"' + a + '"' for a in names)
    sql = (
        f"SELECT * FROM (SELECT row_number() OVER () AS _row, {raw}, "
        f"{kind.select.replace(chr(10), ' ')} FROM {_read_csv_sql(kind)}) AS t"
        f"({aliases}) "
        f"WHERE {check.predicate} ORDER BY _row LIMIT 1"
    )
    params: dict[str, object] = {"path": str(path), "columns": kind.columns}
    if "$file_month" in check.predicate:
        params["file_month"] = ident.month
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    row = cur.fetchall()[0]
    assert row is not None, "a failed check must find its row on re-reading"
    values = dict(zip(names, row, strict=True))
    fields = {c: values[f"raw {c}"] for c in kind.columns}
    message = check.message.format(**fields, file_month=ident.month.strftime("%Y-%m"))
    return InputError(message, path=display, line=physical_line(path, int(values["_row"])),
                      column=check.column)


def physical_line(path: Path, record: int) -> int:
    """The line on which data record number `record` (1-based) starts, quoted newlines and
    all: what an analyst sees when they open the file in an editor."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        start = reader.line_num + 1
        for i, _ in enumerate(reader, start=1):
            if i == record:
                return start
            start = reader.line_num + 1
    return start


_LINE = re.compile(r"CSV Error on Line: (\d+)")
_CONVERT = re.compile(
    r'Error when converting column "([^"]+)"\. Could not convert string "([^"]*)"'
)
_COLUMNS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")


def duckdb_input_error(e: duckdb.Error, display: str) -> InputError:
    """Turn DuckDB's multi-line CSV error into one line naming file, line and column."""
    text = str(e)
    line_m = _LINE.search(text)
    line = int(line_m[1]) if line_m else None
    if m := _CONVERT.search(text):
        return InputError(f"not a number: {m[2]!r}", path=display, line=line, column=m[1])
    if m := _COLUMNS.search(text):
        return InputError(
            f"expected {m[1]} columns, found {m[2]} (a truncated or malformed row)",
            path=display, line=line,
        )
    if "Invalid unicode" in text or "not utf-8" in text.lower():
        return InputError("not UTF-8 text", path=display, line=line)
    if "unterminated quotes" in text.lower() or ("quote" in text.lower() and line_m):
        return InputError("unterminated quoted field (a truncated file?)", path=display,
                          line=line)
    if "gzip" in text.lower() or "compress" in text.lower():
        return InputError(f"damaged gzip file: {text.splitlines()[0]}", path=display)
    return InputError(text.splitlines()[0], path=display, line=line)
