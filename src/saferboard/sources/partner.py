"""Partner case extracts (incidents, MARAC referrals, offender cohort, custody, offences).

One file (CSV, or the first sheet of an XLSX workbook) is one batch of one kind. Headers are
matched case-insensitively, with '_', '-' and runs of spaces read as one space, so
`offender_id`, `Offender ID` and `offender-id` are the same column; unknown columns are
ignored (and reported by name, never by content). Dates are ISO YYYY-MM-DD (a time after it is
ignored) or DD/MM/YYYY, or real dates in a workbook.

Every person, location and reference id is replaced by its keyed pseudonym (core/pseudonym.py)
while the row is read; raw identifiers are never written to the store, to temporary files or
into a message. For the same reason no error message quotes a cell's content: it names the
file, the line and the column, and what was expected.

Re-import rule: a batch is keyed by (kind, source name); the source name is `source`,
default the kind. An identical file (same sha256) under the same key is skipped; the same
content under another key is refused (it would count every row twice); a different file
under an existing key is refused unless `replace=True`, which swaps the old batch for the new
one. And a record already held by another extract of the kind is refused, naming its line,
so nothing is loaded twice through two extracts: the same incident or referral id (ids are
also unique within a file), the same offender and join date (cohort), offender and custody
start (custody), or offender, offence date and offence type (offences).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from saferboard import store
from saferboard.core.dates import data_day, utc_now
from saferboard.core.errors import InputError
from saferboard.core.pseudonym import Key, pseudonym
from saferboard.core.text import check_text
from saferboard.sources.tables import cell_text, normalise_header, read_bytes, read_sheet

# British National Grid extent (metres) and the UK in longitude/latitude.
BNG_X = (0.0, 700_000.0)
BNG_Y = (0.0, 1_300_000.0)
UK_LON = (-8.7, 1.8)
UK_LAT = (49.8, 60.9)

SEX = {"f": "female", "female": "female", "woman": "female", "w": "female",
       "m": "male", "male": "male", "man": "male",
       "other": "other", "non-binary": "other", "non binary": "other", "nonbinary": "other"}
YES = {"yes", "y", "true", "1", "t"}
NO = {"no", "n", "false", "0", "f"}
UNKNOWN = {"", "unknown", "not known", "not recorded", "not stated", "n/k", "nk", "prefer not "
           "to say", "-"}


class _Bad(ValueError):
    """A cell is unusable; the message says what was expected (never what was found)."""


@dataclass(frozen=True)
class Field:
    column: str  # target column in the store table
    aliases: tuple[str, ...]  # accepted headers, normalised; the first is the template's
    parse: str  # person | location | ref | date | text | lower | int | float | bool | sex | yesno
    required: bool = False  # the column must be present
    nonempty: bool = False  # and every row must give a value

    @property
    def template(self) -> str:
        return self.aliases[0].replace(" ", "_")


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    fields: tuple[Field, ...]
    unique: str | None = None  # the reference column that must be unique within the kind
    description: str = ""
    overlap: tuple[str, ...] = ()  # a row matching another extract's on these is refused


def _field(column: str, aliases: str, parse: str, *, required: bool = False,
           nonempty: bool | None = None) -> Field:
    return Field(column, tuple(a.strip() for a in aliases.split("|")), parse, required,
                 required if nonempty is None else nonempty)


KINDS: dict[str, Kind] = {
    "incidents": Kind("incidents", "partner_incidents", (
        _field("incident_ref", "incident id|incident ref|incident reference|reference|ref|id",
               "ref", required=True),
        _field("incident_date", "date|incident date", "date", required=True),
        _field("person", "person id|victim id|caller id|person", "person"),
        _field("location", "location id|address id|address|location", "location"),
        _field("x", "x|easting", "float"),
        _field("y", "y|northing", "float"),
        _field("lat", "latitude|lat", "float"),
        _field("lon", "longitude|lon|lng|long", "float"),
        _field("incident_type", "incident type|type", "lower", required=True),
        _field("flags", "flags|flag", "lower"),
    ), unique="incident_ref", overlap=("incident_ref",),
        description="dated incidents with the person (victim or caller) and the address"),
    "marac": Kind("marac", "partner_marac", (
        _field("referral_ref", "referral id|referral ref|referral reference|case id|id", "ref",
               required=True),
        _field("referral_date", "date|referral date", "date", required=True),
        _field("victim", "victim id|victim", "person", required=True),
        _field("perpetrator", "perpetrator id|perpetrator", "person"),
        _field("referral_source", "referral source|source|referring agency", "text"),
        _field("victim_sex", "victim sex|victim gender", "sex"),
        _field("victim_age", "victim age", "int"),
        _field("victim_disability", "victim disability", "lower"),
        _field("perpetrator_sex", "perpetrator sex|perpetrator gender", "sex"),
        _field("perpetrator_age", "perpetrator age", "int"),
        _field("perpetrator_mental_health", "perpetrator mental health", "yesno"),
        _field("perpetrator_substance_misuse", "perpetrator substance misuse", "yesno"),
    ), unique="referral_ref", overlap=("referral_ref",),
        description="MARAC referrals with the victim and perpetrator"),
    "cohort": Kind("cohort", "partner_cohort", (
        _field("offender", "offender id|offender", "person", required=True),
        _field("cohort", "cohort", "text", required=True),
        _field("join_date", "join date|joined", "date", required=True),
        _field("leave_date", "leave date|left", "date"),
    ), overlap=("offender", "join_date"), description="offender management cohort membership"),
    "custody": Kind("custody", "partner_custody", (
        _field("offender", "offender id|offender", "person", required=True),
        _field("start_date", "start date", "date", required=True),
        _field("end_date", "end date", "date"),
    ), overlap=("offender", "start_date"), description="custody periods of cohort members"),
    "offences": Kind("offences", "partner_offences", (
        _field("offender", "offender id|offender", "person", required=True),
        _field("offence_date", "offence date|date", "date", required=True),
        _field("offence_type", "offence type|type", "text", required=True),
        _field("ho_recordable", "ho recordable|home office recordable|recordable", "bool",
               required=True),
        _field("conviction_date", "conviction date", "date"),
    ), overlap=("offender", "offence_date", "offence_type"), description="offences by offender"),
}

# Pairs of date columns that must be in order: (earlier, later, what the later one is).
ORDERED_DATES = {
    "cohort": ("join_date", "leave_date"),
    "custody": ("start_date", "end_date"),
    "offences": ("offence_date", "conviction_date"),
}


@dataclass(frozen=True)
class PartnerReport:
    kind: str
    source: str
    path: str
    status: str  # loaded | replaced | skipped (identical)
    rows: int
    ignored_columns: tuple[str, ...] = ()
    rows_without_person: int = 0
    rows_without_location: int = 0
    rows_without_coords: int = 0
    replaced_rows: int = 0


# ---------------------------------------------------------------------------- reading


def parse_date(value: object) -> date:
    try:
        return data_day(value if isinstance(value, date) else cell_text(value))
    except ValueError as e:
        raise _Bad(str(e)) from None


def _number(value: object, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
    else:
        try:
            v = float(cell_text(value).replace(",", ""))
        except ValueError:
            raise _Bad(f"not {what}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise _Bad(f"not a finite {what}")
    return v


def _convert(f: Field, value: object, key: Key) -> object:
    """One cell to its stored value (None when empty)."""
    if isinstance(value, str):
        value = value.strip()
    empty = value is None or value == ""
    if f.parse in ("person", "location", "ref"):
        return None if empty else pseudonym(key, f.parse, cell_text(value))
    if empty:
        if f.parse == "bool":
            raise _Bad("empty; expected yes or no")
        return None
    if f.parse == "date":
        return parse_date(value)
    if f.parse == "text":
        return " ".join(cell_text(value).split())
    if f.parse == "lower":
        return " ".join(cell_text(value).lower().split()) or None
    if f.parse == "float":
        return _number(value, "a number")
    if f.parse == "int":
        v = _number(value, "a whole number")
        if not v.is_integer() or not 0 <= v <= 120:
            raise _Bad("not an age in whole years (0-120)")
        return int(v)
    word = " ".join(cell_text(value).lower().split())
    if f.parse == "sex":
        if word in UNKNOWN:
            return None
        if word not in SEX:
            raise _Bad("expected female, male, other or unknown (F/M accepted)")
        return SEX[word]
    if f.parse in ("yesno", "bool"):
        if word in YES:
            return True if f.parse == "bool" else "yes"
        if word in NO:
            return False if f.parse == "bool" else "no"
        if f.parse == "yesno" and word in UNKNOWN:
            return None
        raise _Bad("expected yes or no" + (" (or unknown)" if f.parse == "yesno" else ""))
    raise AssertionError(f.parse)


# ---------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Parsed:
    columns: dict[str, list[object]]
    rows: int
    lines: list[int]
    ignored_columns: tuple[str, ...]
    headers: dict[str, str]  # field column -> the header as written in the file


def _match_header(kind: Kind, header: tuple[str, ...], display: str, line: int
                  ) -> tuple[dict[str, int], dict[str, str], tuple[str, ...]]:
    """Field column -> position in the row, field column -> header as written, ignored."""
    lookup = {a: f for f in kind.fields for a in f.aliases}
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    for i, h in enumerate(header):
        name = normalise_header(h)
        if not name:
            continue
        f = lookup.get(name)
        if f is None:
            ignored.append(h)
            continue
        if f.column in index:
            raise InputError(f"two columns give the {f.template} field "
                             f"({written[f.column]!r} and {h!r})",
                             path=display, line=line, column=h)
        index[f.column] = i
        written[f.column] = h
    for f in kind.fields:
        if f.required and f.column not in index:
            accepted = ", ".join(a.replace(" ", "_") for a in f.aliases)
            raise InputError(f"missing column (accepted names: {accepted}; see "
                             "docs/partner-templates.md)", path=display, line=line,
                             column=f.template)
    return index, written, tuple(ignored)


def parse(kind_name: str, path: Path, key: Key, *, data: bytes | None = None,
          display: str | None = None) -> Parsed:
    """Read and validate one extract; identifiers come out pseudonymised."""
    kind = _kind(kind_name)
    sheet = read_sheet(path, data=data, display=display)
    display = sheet.path
    index, written, ignored = _match_header(kind, sheet.header, display, sheet.header_line)
    fields = [f for f in kind.fields if f.column in index]
    columns: dict[str, list[object]] = {f.column: [] for f in kind.fields}
    lines: list[int] = []
    seen: dict[object, int] = {}
    width = len(sheet.header)
    for line, row in sheet.rows:
        if len(row) < width and any(index[f.column] >= len(row) for f in fields):
            raise InputError(f"only {len(row)} field(s); the header has {width}",
                             path=display, line=line)
        values: dict[str, object] = {}
        for f in fields:
            cell = row[index[f.column]]
            if isinstance(cell, str):
                check_text(cell, path=display, line=line, column=written[f.column])
            try:
                v = _convert(f, cell, key)
            except _Bad as e:
                raise InputError(str(e), path=display, line=line,
                                 column=written[f.column]) from None
            if v is None and f.nonempty:
                raise InputError("empty; a value is required", path=display, line=line,
                                 column=written[f.column])
            values[f.column] = v
        _check_row(kind, values, written, display, line)
        if kind.unique is not None:
            ref = values[kind.unique]
            if ref in seen:
                raise InputError(f"the same id as line {seen[ref]}: ids must be unique",
                                 path=display, line=line, column=written[kind.unique])
            seen[ref] = line
        for f in kind.fields:
            columns[f.column].append(values.get(f.column))
        lines.append(line)
    if kind.name == "incidents":
        _coordinates(columns, lines, written, display)
    return Parsed(columns, len(lines), lines, ignored, written)


def _check_row(kind: Kind, values: dict[str, object], written: dict[str, str], display: str,
               line: int) -> None:
    pair = ORDERED_DATES.get(kind.name)
    if pair:
        first, last = values.get(pair[0]), values.get(pair[1])
        if isinstance(first, date) and isinstance(last, date) and last < first:
            raise InputError(f"earlier than {written[pair[0]]}", path=display, line=line,
                             column=written[pair[1]])
    if kind.name == "incidents":
        for a, b in (("x", "y"), ("lat", "lon")):
            if (values.get(a) is None) != (values.get(b) is None):
                col = a if values.get(a) is None else b
                other = b if col == a else a
                raise InputError(f"empty while {written[other]} is given: give both or neither",
                                 path=display, line=line, column=written.get(col, col))
        x, y = values.get("x"), values.get("y")
        if isinstance(x, float) and isinstance(y, float):
            if not BNG_X[0] <= x <= BNG_X[1]:
                raise InputError("outside British National Grid eastings (0-700000 m)",
                                 path=display, line=line, column=written["x"])
            if not BNG_Y[0] <= y <= BNG_Y[1]:
                raise InputError("outside British National Grid northings (0-1300000 m)",
                                 path=display, line=line, column=written["y"])
        lat, lon = values.get("lat"), values.get("lon")
        if isinstance(lat, float) and isinstance(lon, float):
            if not UK_LAT[0] <= lat <= UK_LAT[1]:
                raise InputError("latitude outside the UK", path=display, line=line,
                                 column=written["lat"])
            if not UK_LON[0] <= lon <= UK_LON[1]:
                raise InputError("longitude outside the UK", path=display, line=line,
                                 column=written["lon"])


def _coordinates(columns: dict[str, list[object]], lines: list[int], written: dict[str, str],
                 display: str) -> None:
    """Fill x/y from latitude/longitude where only those are given (EPSG:4326 -> 27700)."""
    need = [i for i, (x, lat) in enumerate(zip(columns["x"], columns["lat"], strict=True))
            if x is None and lat is not None]
    if need:
        from pyproj import Transformer

        t = Transformer.from_crs(4326, 27700, always_xy=True)
        xs, ys = t.transform([columns["lon"][i] for i in need],
                             [columns["lat"][i] for i in need])
        for i, x, y in zip(need, xs, ys, strict=True):
            if not (x == x and y == y):  # NaN: cannot be projected
                raise InputError("coordinates cannot be projected to British National Grid",
                                 path=display, line=lines[i], column=written.get("lat"))
            columns["x"][i] = float(x)
            columns["y"][i] = float(y)
    del columns["lat"], columns["lon"]


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise InputError(f"unknown kind {name!r}; expected one of {', '.join(KINDS)}",
                         column="KIND")
    return KINDS[name]


# ---------------------------------------------------------------------------- loading


TABLE_COLUMNS = {
    "incidents": ["incident_ref", "incident_date", "person", "location", "x", "y",
                  "incident_type", "flags"],
    "marac": ["referral_ref", "referral_date", "victim", "perpetrator", "referral_source",
              "victim_sex", "victim_age", "victim_disability", "perpetrator_sex",
              "perpetrator_age", "perpetrator_mental_health", "perpetrator_substance_misuse"],
    "cohort": ["offender", "cohort", "join_date", "leave_date"],
    "custody": ["offender", "start_date", "end_date"],
    "offences": ["offender", "offence_date", "offence_type", "ho_recordable",
                 "conviction_date"],
}
TYPES: dict[str, pa.DataType] = {"date": pa.date32(), "float": pa.float64(),
                                 "int": pa.int32(), "bool": pa.bool_()}


def _arrow(kind: Kind, parsed: Parsed) -> pa.Table:
    parse_of = {f.column: f.parse for f in kind.fields}
    parse_of.update({"x": "float", "y": "float"})
    arrays = {c: pa.array(parsed.columns[c], TYPES.get(parse_of[c], pa.string()))
              for c in TABLE_COLUMNS[kind.name]}
    arrays["_line"] = pa.array(parsed.lines, pa.int64())
    return pa.table(arrays)


def ingest_partner(con: duckdb.DuckDBPyConnection, kind_name: str, path: str | Path,
                   key: Key, *, source: str | None = None, replace: bool = False,
                   progress: Callable[[str], None] | None = None) -> PartnerReport:
    """Import one partner extract as a batch, atomically (see the module docstring)."""
    kind = _kind(kind_name)
    path = Path(path)
    display = str(path)
    name = " ".join((source or kind.name).split())
    if not name:
        raise InputError("the source name is empty", param="source")
    data = read_bytes(path, display)
    sha = hashlib.sha256(data).hexdigest()
    existing = store.one(con, "SELECT batch_id, sha256, row_count, path FROM partner_batches "
                         "WHERE kind = ? AND source = ?", [kind.name, name])
    if existing and existing[1] == sha:
        return PartnerReport(kind.name, name, display, "skipped (identical)",
                             int(str(existing[2])))
    elsewhere = store.one(con, "SELECT kind, source, path FROM partner_batches "
                          "WHERE sha256 = ?", [sha])
    if elsewhere:
        raise InputError(f"identical content is already loaded as the {elsewhere[0]} extract "
                         f"{elsewhere[1]!r} (from {elsewhere[2]}); loading it again would "
                         "count every row twice", path=display)
    if existing and not replace:
        raise InputError(f"a {kind.name} extract named {name!r} is already loaded (from "
                         f"{existing[3]}, {int(str(existing[2])):,} rows); add {{replace}} to "
                         "replace it with this file, or give another {source} to load it as a "
                         "separate extract", path=display, mentions=("replace", "source"))
    if progress:
        progress("reading")
    parsed = parse(kind.name, path, key, data=data, display=display)
    table = _arrow(kind, parsed)
    cols = ", ".join(TABLE_COLUMNS[kind.name])
    with store.transaction(con), store.registered(con, "partner_incoming", table):
        if existing:
            con.execute(f"DELETE FROM {kind.table} WHERE batch_id = ?", [existing[0]])
            con.execute("DELETE FROM partner_batches WHERE batch_id = ?", [existing[0]])
        if kind.overlap:
            _refuse_overlap(con, kind, parsed, display)
        row = store.one(con, "SELECT nextval('partner_batch_ids')")
        assert row is not None
        batch = int(str(row[0]))
        con.execute(f"INSERT INTO {kind.table} (batch_id, {cols}) "
                    f"SELECT ?, {cols} FROM partner_incoming", [batch])
        con.execute("INSERT INTO partner_batches (batch_id, kind, path, sha256, row_count, "
                    "imported_at, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [batch, kind.name, display, sha, parsed.rows, utc_now(seconds=False), name])
    c = parsed.columns
    return PartnerReport(
        kind.name, name, display, "replaced" if existing else "loaded", parsed.rows,
        parsed.ignored_columns,
        rows_without_person=sum(1 for v in c.get("person", []) if v is None)
        if kind.name == "incidents" else 0,
        rows_without_location=sum(1 for v in c.get("location", []) if v is None)
        if kind.name == "incidents" else 0,
        rows_without_coords=sum(1 for v in c.get("x", []) if v is None)
        if kind.name == "incidents" else 0,
        replaced_rows=int(str(existing[2])) if existing else 0,
    )


def _refuse_overlap(con: duckdb.DuckDBPyConnection, kind: Kind, parsed: Parsed,
                    display: str) -> None:
    """Refuse a row that another loaded extract of the kind already holds (the same incident
    or referral id; the same offender and join date, custody start, or offence date and type),
    naming its line: loading it again through a second extract would count it twice."""
    cols = ", ".join(kind.overlap)
    clash = con.execute(
        f"SELECT i._line, b.source, b.path FROM partner_incoming i "
        f"JOIN {kind.table} t USING ({cols}) JOIN partner_batches b USING (batch_id) "
        "ORDER BY i._line LIMIT 1").fetchall()
    if clash:
        line, src, where = clash[0]
        what = " and ".join(parsed.headers.get(c, c) for c in kind.overlap)
        raise InputError(f"the same {what} is already loaded in the {kind.name} extract "
                         f"{src!r} (from {where}); a record must not be loaded twice: load "
                         "overlapping extracts as one, or replace the old one with {replace} "
                         "and the same {source}", path=display, line=int(line),
                         column=parsed.headers[kind.overlap[0]], mentions=("replace", "source"))
