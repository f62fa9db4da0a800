"""The one reader of a small table file (CSV or XLSX): partner extracts, case-register files,
quarterly returns and action plans all come through here.

`read_sheet` gives the header as written and the rows as typed cells (text from a CSV; text,
numbers, booleans and dates from a workbook), each with the line (CSV) or sheet row (XLSX) it
came from, so a caller's validation error can name the file, line and column. `read_table`
builds on it for the files whose columns are fixed names (cases, returns, actions): headers
normalised, cells as text, control characters refused.

No message here quotes a cell or the parser's own words about the file: case files and
partner extracts hold personal data, and an error names where to look, not what is there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from saferboard.core.dates import DATE_FORMS, data_day
from saferboard.core.errors import InputError
from saferboard.core.text import CONTROL, check_text

# What a cell can hold: CSV cells are text; a workbook's may be numbers, booleans or dates.
Cell = str | int | float | bool | date | None


@dataclass(frozen=True)
class Sheet:
    path: str  # as errors name it
    header: tuple[str, ...]  # the header cells as text, as written; trailing empty ones dropped
    header_line: int
    rows: Iterator[tuple[int, list[Cell]]]  # non-blank rows after the header, with their line


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line (CSV) or sheet row (XLSX)
    cells: dict[str, str]  # column -> stripped text ('' when empty)


@dataclass(frozen=True)
class Table:
    path: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def normalise_header(name: object) -> str:
    """A header as matched: case-insensitive, with '_', '-' and runs of spaces read as one
    space, so `offender_id`, `Offender ID` and `offender-id` are the same column."""
    text = "" if name is None else str(name)
    return " ".join(text.replace("_", " ").replace("-", " ").lower().split())


def cell_text(value: object) -> str:
    """A cell as text: workbook numbers that are whole (1001.0) read as '1001', booleans as
    yes/no, a date (or a date-time at midnight) as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def read_sheet(path: Path, *, data: bytes | None = None, display: str | None = None,
               sheet: str | None = None) -> Sheet:
    """CSV (UTF-8, optional BOM) or XLSX (the named sheet, else the first; known by its
    suffix or its zip signature). `data` is the file's bytes when the caller has read them
    already (to hash them), `display` the name errors give it. Blank rows are skipped; the
    first row that is not blank is the header. A row with a non-empty cell beyond the
    header's last column is refused; a shorter row is given as it is."""
    display = display or str(path)
    if data is None:
        data = read_bytes(path, display)
    if path.suffix.lower() == ".xls":
        raise InputError("old .xls workbooks are not read; save it as .xlsx or CSV",
                         path=display)
    xlsx = path.suffix.lower() in (".xlsx", ".xlsm") or data[:2] == b"PK"
    records = _xlsx_records(data, display, sheet) if xlsx else _csv_records(data, display)
    for line, cells in records:
        if not _blank(cells):
            header = [cell_text(c) for c in cells]
            while header and not header[-1]:
                header.pop()
            return Sheet(display, tuple(header), line, _rows(records, len(header), display))
    raise InputError("empty file (no header row)", path=display)


def read_bytes(path: Path, display: str | None = None) -> bytes:
    """The file's bytes, or an InputError saying why they cannot be read."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        raise InputError("is a folder; give one file", path=display or path) from None
    except FileNotFoundError:
        raise InputError("cannot read file: no such file", path=display or path) from None
    except OSError as e:
        raise InputError(f"cannot read file: {e.strerror or type(e).__name__}",
                         path=display or path) from None


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    """A table of fixed column names: headers normalised as `normalise_header` with spaces
    written '_' (`Case Ref` is `case_ref`), every cell as stripped text (short rows padded
    with ''), a control character anywhere refused. An empty or repeated header is refused."""
    s = read_sheet(path, sheet=sheet)
    columns = tuple(normalise_header(h).replace(" ", "_") for h in s.header)
    seen: set[str] = set()
    for h in columns:
        if not h:
            raise InputError("a header cell is empty", path=s.path, line=s.header_line)
        if h in seen:
            raise InputError("column appears twice in the header", path=s.path,
                             line=s.header_line, column=h)
        seen.add(h)
    rows: list[Row] = []
    for n, cells in s.rows:
        # CSV cells are all text: strip them directly (cell_text's type tests cost a third
        # of a large case import's reading)
        texts = [c.strip() if type(c) is str else cell_text(c) for c in cells] \
            + [""] * (len(columns) - len(cells))
        # one search per row; only a row that holds a control character is gone through
        # cell by cell, so the error still names its column
        if CONTROL.search("".join(texts)) is not None:
            for column, text in zip(columns, texts, strict=True):
                check_text(text, path=s.path, line=n, column=column)
        rows.append(Row(n, dict(zip(columns, texts, strict=True))))
    return Table(s.path, columns, tuple(rows))


# A large file repeats its dates (a million incidents fall on a few thousand days): parsed
# once each. Errors are not cached, so every bad cell still raises with its own line.
_text_day = lru_cache(maxsize=1 << 16)(data_day)


class Cells:
    """One row of a `read_table` table, so that every error names its file, line and column:
    the readers of case files, returns and action plans build their typed cells on it."""

    def __init__(self, path: str, row: Row) -> None:
        self.path, self.row, self.cells = path, row, row.cells

    def fail(self, column: str, why: str) -> InputError:
        return InputError(why, path=self.path, line=self.row.line, column=column)

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def day(self, column: str, *, required: bool = False) -> date | None:
        """A day by the one rule (core.dates.data_day); the error never quotes the cell."""
        value = self.get(column)
        if not value:
            if required:
                raise self.fail(column, f"empty; a date is required ({DATE_FORMS})")
            return None
        try:
            return _text_day(value)
        except ValueError as e:
            raise self.fail(column, str(e)) from None


Records = Iterator[tuple[int, list[Cell]]]


def _blank(cells: list[Cell]) -> bool:
    try:  # a CSV row (all text): one join, not a test per cell
        return not "".join(cells).strip()  # type: ignore[arg-type]
    except TypeError:  # a workbook row with numbers or dates
        pass
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _rows(records: Records, width: int, display: str) -> Records:
    for line, cells in records:
        if _blank(cells):
            continue
        if len(cells) > width and any(cell_text(c) for c in cells[width:]):
            raise InputError(f"{len(cells)} fields; the header has {width}", path=display,
                             line=line)
        yield line, cells[:width]


def _csv_records(data: bytes, display: str) -> Records:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text (save the CSV as UTF-8, or send the .xlsx)",
                         path=display) from None
    # strict: an unclosed quote is an error, not the rest of the file read into one cell
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1  # where the next record begins (its quote, if unclosed)
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:  # its message may quote the file; the line says where to look
            raise InputError("malformed CSV (an unclosed quote?)", path=display,
                             line=start) from None
        yield reader.line_num, record  # type: ignore[misc]


def _xlsx_records(data: bytes, display: str, sheet: str | None) -> Records:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken workbook
        raise InputError(f"not a readable XLSX workbook ({type(e).__name__})",
                         path=display) from None
    try:
        ws = wb[sheet] if sheet is not None and sheet in wb.sheetnames else wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    return iter([(i, r) for i, r in enumerate(rows, start=1)])
