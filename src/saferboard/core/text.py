"""User text in and out: control characters refused at input, and cells made safe for
spreadsheets at output (CSV and XLSX, from the CLI, the web and the pack).

Formula injection (OWASP "CSV Injection"): a spreadsheet runs a cell that starts with `=`,
`+`, `-` or `@` (and, in some programs, tab or carriage return) as a formula, so a partner's
"=HYPERLINK(...)" in an action update would run on the machine of whoever opens the export.
OWASP's advice is to prefix such text cells with a single quote; numbers are not touched, so
they stay numbers. Written here once, because no well-kept library does this for both the csv
module and openpyxl.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from saferboard.core.errors import InputError

# C0 controls and DEL, except tab, line feed and carriage return, which real multi-line text
# (an action update, a quoted CSV cell) contains. XML 1.0, and so XLSX and the pack's HTML
# and PDF, cannot hold them; nobody types them on purpose.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_text(value: str, *, path: str | None = None, line: int | None = None,
               column: str | None = None) -> str:
    """`value` unchanged, or an InputError naming where a control character was found."""
    m = CONTROL.search(value)
    if m is not None:
        raise InputError(f"contains a control character ({m.group()!r} at position "
                         f"{m.start() + 1}); remove it and try again",
                         path=path, line=line, column=column)
    return value


def printable(value: str) -> str:
    """Stored text as it may be written out: each control character becomes U+FFFD, so an
    export never fails on text stored before input was checked."""
    return CONTROL.sub("\ufffd", value)


def safe_cell(value: object) -> object:
    """A cell for a CSV or XLSX export: text that a spreadsheet would run as a formula gets
    a leading single quote; numbers, dates, booleans and None pass through unchanged."""
    if not isinstance(value, str):
        return value
    value = printable(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def finalize(value: object) -> object:
    """Jinja2's `finalize` for every template (pack and web): stored text is written
    printable, so a control character never breaks an HTML page or the PDF. Markup (the
    CSS, chart SVG and bundled JavaScript the code itself marks safe) is left as it is."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def csv_text(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as CSV, the one writer of the CLI's `--format csv` and the web's CSV downloads:
    the header is `columns`, else every key in order of first use (kept with no rows); None
    is an empty cell; every cell is formula-safe."""
    rows = list(rows)
    header = list(columns) if columns is not None else list(
        dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([_csv_cell(h) for h in header])
    writer.writerows([["" if r.get(c) is None else _csv_cell(r[c]) for c in header]
                      for r in rows])
    return buf.getvalue()


def _csv_cell(value: object) -> object:
    # Python 3.11's csv module quotes a field for "\n" (the line terminator) but not for a
    # lone "\r", which a reader then takes as the end of the row: line breaks become "\n".
    value = safe_cell(value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def script_json(value: Any, *, sort_keys: bool = False) -> str:
    """`value` as JSON to put inside an HTML <script> element: "</" is written "<\\/" (the
    same string to a JSON parser) so that no "</script>" in the data ends the element early."""
    return json.dumps(value, sort_keys=sort_keys).replace("</", "<\\/")

