"""One sheet of rows in an openpyxl workbook, for the pack's XLSX and `cba --format xlsx`:
bold header, frozen panes, fitted widths, and every cell formula-safe (no user text ever
becomes a formula; numbers stay numbers)."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from saferboard.core.text import safe_cell


def add_sheet(wb: Workbook, title: str, rows: list[dict[str, Any]]) -> None:
    ws = wb.create_sheet(title)
    if not rows:
        ws.append(["(no rows)"])
        return
    # Rows of several tables share a sheet: the header is every key, in order of first use.
    header = list(dict.fromkeys(k for r in rows for k in r))
    ws.append([safe_cell(h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([safe_cell(r.get(h)) for h in header])
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            if isinstance(cell.value, str):
                # openpyxl stores any text starting with "=" as a formula; text is text.
                cell.data_type = "s"
    ws.freeze_panes = "B2"
    for i, h in enumerate(header, start=1):
        width = max([len(str(h)), *(len(str(r[h])) for r in rows if r.get(h) is not None)])
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))
