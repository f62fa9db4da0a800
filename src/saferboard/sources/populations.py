"""A user's population file for `area-rates --population`: one row per LSOA or ward with its
resident population, read by the one table reader (CSV or XLSX)."""

from __future__ import annotations

import math
from pathlib import Path

from saferboard.core.errors import InputError
from saferboard.sources.tables import read_table


def read_populations(path: Path) -> dict[str, float]:
    """Population by code: columns `code` and `population` (any case; other columns
    ignored). A population must be a positive finite number ('1,200' reads as 1200); a code
    may appear once."""
    table = read_table(path)
    for column in ("code", "population"):
        if column not in table.columns:
            raise InputError(f"missing column {column!r} (need code,population)",
                             path=table.path, line=1)
    out: dict[str, float] = {}
    for row in table.rows:
        code, raw = row.cells["code"], row.cells["population"].replace(",", "")
        if not code:
            raise InputError("empty code", path=table.path, line=row.line, column="code")
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):  # float() also reads 'inf' and 'nan'
            raise InputError(f"population must be a positive number, got {raw!r}",
                             path=table.path, line=row.line, column="population")
        if code in out:
            raise InputError(f"code {code} appears twice", path=table.path, line=row.line,
                             column="code")
        out[code] = value
    return out
