"""Reference data shipped in saferboard/data, and the one TOML reader.

Measures take reference data as arguments or get it here, never from a file of their own:
each shipped file is found by `shipped`, and the parsed ones that several commands use are
read once per process (cached). `read_toml` is the TOML reader every configuration and
model file goes through, so a bad file always gets the same file (and line) error.
"""

from __future__ import annotations

import csv
import json
import re
import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from saferboard.core.errors import InputError
from saferboard.core.quarters import fy_start, year_label


def shipped(name: str) -> Path:
    """The path of a file shipped in saferboard/data."""
    return Path(str(resources.files("saferboard") / "data" / name))


def read_toml(path: Path, *, text: str | None = None, what: str | None = None,
              invalid: str = "not valid TOML", at_line: bool = False) -> dict[str, Any]:
    """A TOML file (or its `text`, as saved in the store) as a dict.

    A missing file is "`what` not found" ("no such file" without `what`); another read
    failure "cannot read `what`: reason". With `at_line` a syntax error names its line in
    the error's location and undecodable bytes are "not UTF-8 text"; otherwise both are
    "`invalid`: the parser's message"."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{what} not found" if what else "no such file",
                             path=path) from None
        except OSError as e:
            raise InputError(f"cannot read {what or 'the file'}: {e.strerror}",
                             path=path) from None
        except UnicodeDecodeError as e:
            if at_line:
                raise InputError("not UTF-8 text", path=path) from None
            raise InputError(f"{invalid}: {e}", path=path) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        if not at_line:
            raise InputError(f"{invalid}: {e}", path=path) from None
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(e))
        raise InputError(f"{invalid}: {str(e).split(' (at line')[0]}", path=path,
                         line=int(m[1]) if m else None) from None


def key_error(path: str | Path, key: str, reason: str) -> InputError:
    """A bad value in a configuration or model file, in the one shape every such file's
    errors take: `path: key 'table.name': reason`."""
    return InputError(f"key {key!r}: {reason}", path=path)


def read_deflator(path: Path | None = None) -> tuple[tuple[str, float], ...]:
    """(financial year '2019/20', index) rows of a GDP deflator CSV: the shipped one
    (`data/gdp_deflator.csv`, read once) by default. The one reader of that format, for the
    cost-benefit models and the cost of crime alike. The file may spell a year '2019-20'
    (as the ONS does) or any way `core.quarters.fy_start` reads; the rows come out in the
    one spelling.

    Lines starting with '#' are comments (the source); then a header `year,index`."""
    if path is None:
        return _shipped_deflator()
    rows: list[tuple[str, float]] = []
    with path.open(encoding="utf-8", newline="") as f:
        lines = [(i, line) for i, line in enumerate(f, start=1) if not line.startswith("#")]
    reader = csv.reader(line for _, line in lines)
    header = next(reader, None)
    if header != ["year", "index"]:
        raise InputError(f"header must be 'year,index', got {header}", path=path,
                         line=lines[0][0] if lines else None)
    for (lineno, _), row in zip(lines[1:], reader, strict=True):
        try:
            if len(row) != 2:
                raise ValueError
            year = year_label(fy_start(row[0]))
        except ValueError:
            raise InputError(f"expected 'YYYY/YY,index', got {row}", path=path,
                             line=lineno) from None
        try:
            rows.append((year, float(row[1])))
        except ValueError:
            raise InputError(f"index must be a number, got {row[1]!r}", path=path,
                             line=lineno, column="index") from None
    return tuple(rows)


@cache
def _shipped_deflator() -> tuple[tuple[str, float], ...]:
    return read_deflator(shipped("gdp_deflator.csv"))


@cache
def london_boroughs() -> dict[str, tuple[str, BaseGeometry]]:
    """The 33 London boroughs' boundaries (EPSG:27700), by lower-case name: name, shape."""
    data = json.loads(shipped("london_boroughs_bng.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"].lower(): (f["properties"]["name"], shape(f["geometry"]))
            for f in data["features"]}
