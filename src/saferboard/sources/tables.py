"""Read a small CSV or XLSX table (a quarterly return, an action plan) as text cells with the
line each row came from, so validation errors can name the file, line and column."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from saferboard.core.errors import InputError
from saferboard.core.text import check_text


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line (CSV) or sheet row (XLSX); the header is line 1
    cells: dict[str, str]  # column -> stripped text ('' when empty)


@dataclass(frozen=True)
class Table:
    path: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    """CSV (UTF-8, optional BOM) or XLSX (the named sheet, else the first). Column names are
    lower-cased and stripped; blank rows are skipped; duplicate column names are refused."""
    if not path.exists():
        raise InputError("no such file", path=path)
    suffix = path.suffix.lower()
    raw: list[tuple[int, list[str]]] = []
    if suffix == ".csv":
        try:
            with path.open(encoding="utf-8-sig", newline="") as f:
                reader = csv.reader(f)
                for record in reader:
                    raw.append((reader.line_num, [c.strip() for c in record]))
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text; save the CSV as UTF-8", path=path) from None
        except csv.Error as e:
            raise InputError(f"not a readable CSV: {e}", path=path) from None
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises several kinds for a damaged workbook
            raise InputError(f"not a readable XLSX workbook: {e}", path=path) from None
        try:
            ws = wb[sheet] if sheet is not None and sheet in wb.sheetnames \
                else wb.worksheets[0]
            for i, values in enumerate(ws.iter_rows(values_only=True), start=1):
                raw.append((i, [_text(v) for v in values]))
        finally:
            wb.close()
    else:
        raise InputError("not a .csv or .xlsx file", path=path)
    raw = [(n, cells) for n, cells in raw if any(cells)]
    if not raw:
        raise InputError("empty file: expected a header row", path=path)
    header_line, header = raw[0]
    while header and not header[-1]:
        header.pop()
    columns = tuple(h.strip().lower() for h in header)
    seen: set[str] = set()
    for h in columns:
        if not h:
            raise InputError("a header cell is empty", path=path, line=header_line)
        if h in seen:
            raise InputError("column appears twice in the header", path=path,
                             line=header_line, column=h)
        seen.add(h)
    rows: list[Row] = []
    for n, cells in raw[1:]:
        extra = [c for c in cells[len(columns):] if c]
        if extra:
            raise InputError(f"more cells than header columns ({len(columns)})", path=path,
                             line=n)
        padded = cells + [""] * (len(columns) - len(cells))
        for column, cell in zip(columns, padded, strict=False):
            check_text(cell, path=str(path), line=n, column=column)
        rows.append(Row(n, dict(zip(columns, padded[:len(columns)], strict=True))))
    return Table(str(path), columns, tuple(rows))
