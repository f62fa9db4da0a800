"""Reference data shipped in saferboard/data, and the one TOML reader.

Measures take reference data as arguments or get it here, never from a file of their own:
each shipped file is found by `shipped`, and the parsed ones that several commands use are
read once per process (cached). `read_toml` is the TOML reader every configuration and
model file goes through, so a bad file always gets the same file (and line) error.
"""

from __future__ import annotations

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


@cache
def london_boroughs() -> dict[str, tuple[str, BaseGeometry]]:
    """The 33 London boroughs' boundaries (EPSG:27700), by lower-case name: name, shape."""
    data = json.loads(shipped("london_boroughs_bng.geojson").read_text(encoding="utf-8"))
    return {f["properties"]["name"].lower(): (f["properties"]["name"], shape(f["geometry"]))
            for f in data["features"]}
