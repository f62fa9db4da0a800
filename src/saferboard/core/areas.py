"""Areas and denominators: local authority from LSOA names and ward codes, population and
households per London local authority (shipped, derived from ONS and Census files)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from saferboard.core.errors import InputError


def _data(name: str) -> Path:
    return Path(str(resources.files("saferboard") / "data" / name))


def local_authority_from_lsoa_name(lsoa_name: str | None) -> str | None:
    """'Barnet 001A' -> 'Barnet'; None when there is no LSOA (the row counts for the force
    only). The store applies the same rule in SQL (sources.policeuk.AREA_SQL)."""
    if not lsoa_name:
        return None
    head, _, code = lsoa_name.rpartition(" ")
    if len(code) == 4 and code[:3].isdigit() and code[3].isupper() and head:
        return head
    return None


@cache
def ward_lookup() -> dict[str, str]:
    """ONS ward code (December 2023) -> local authority name, England and Wales."""
    with open(_data("wards_lad23.csv"), newline="", encoding="utf-8") as f:
        return {r["ward_code"]: r["lad_name"] for r in csv.DictReader(f)}


@cache
def lsoa_vintages() -> dict[str, frozenset[int]]:
    """London LSOA code -> the census vintages (2011, 2021) it exists in."""
    out: dict[str, set[int]] = {}
    with open(_data("london_lsoas.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["lsoa_code"], set()).add(int(r["vintage"]))
    return {k: frozenset(v) for k, v in out.items()}


@cache
def policing_force() -> dict[str, str]:
    """Local authority (lower case) -> the police.uk force slug that polices it, where known.

    police.uk geocodes some crimes over force boundaries (City of London Police crimes in
    Westminster LSOAs, Met crimes in Hertfordshire ones): an area's police.uk figures are its
    own force's rows, never a neighbour's strays. Shipped for London; elsewhere the force with
    the most rows in the area is taken.
    """
    with open(_data("london_forces.csv"), newline="", encoding="utf-8") as f:
        return {r["lad_name"].lower(): r["force"] for r in csv.DictReader(f)}


@dataclass(frozen=True)
class Denominator:
    area: str
    measure: str  # 'population' | 'households'
    year: int  # the year the value is for (may be earlier than asked: latest available)
    value: int
    source: str


@cache
def _denominators() -> dict[tuple[str, str], dict[int, tuple[int, str]]]:
    out: dict[tuple[str, str], dict[int, tuple[int, str]]] = {}
    with open(_data("london_denominators.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            key = (r["name"].lower(), r["measure"])
            out.setdefault(key, {})[int(r["year"])] = (int(r["value"]), r["source"])
    return out


def denominator_areas() -> list[str]:
    """The local authorities with shipped denominators (the 33 London authorities)."""
    return sorted(_canonical_names().values())


@cache
def _canonical_names() -> dict[str, str]:
    with open(_data("london_denominators.csv"), newline="", encoding="utf-8") as f:
        return {r["name"].lower(): r["name"] for r in csv.DictReader(f)}


def denominator(area: str, measure: str, year: int) -> Denominator:
    """Population or households of `area` for `year`: the value for that year, else the
    latest earlier year, else the earliest (the year used is returned with it)."""
    if measure not in ("population", "households"):
        raise InputError(f"measure must be 'population' or 'households', got {measure!r}")
    series = _denominators().get((area.lower(), measure))
    if not series:
        raise InputError(
            f"no {measure} figures for {area!r}; shipped areas: {', '.join(denominator_areas())}"
        )
    earlier = [y for y in series if y <= year]
    used = max(earlier) if earlier else min(series)
    value, source = series[used]
    return Denominator(_canonical_names()[area.lower()], measure, used, value, source)


@dataclass(frozen=True)
class SmallArea:
    """An LSOA or ward of a local authority, with its resident population where known."""

    code: str
    name: str
    population: float | None
    source: str


@cache
def lsoas_of(area: str) -> tuple[SmallArea, ...]:
    """The 2021 LSOAs of a London local authority with ONS mid-2020 populations (see
    data/PROVENANCE.md for how 2021 LSOAs with new codes get theirs)."""
    pops: dict[str, tuple[int, str]] = {}
    with open(_data("london_lsoa_population.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["vintage"] == "2021":
                pops[r["lsoa_code"]] = (int(r["population"]), r["method"])
    with open(_data("london_lsoas.csv"), newline="", encoding="utf-8") as f:
        return tuple(
            SmallArea(r["lsoa_code"], r["lsoa_name"], *pops[r["lsoa_code"]])
            for r in csv.DictReader(f)
            if r["vintage"] == "2021" and r["lad_name"].lower() == area.lower()
        )


@cache
def wards_of(area: str) -> tuple[SmallArea, ...]:
    """The December 2023 wards of a local authority (no population is shipped for wards)."""
    with open(_data("wards_lad23.csv"), newline="", encoding="utf-8") as f:
        return tuple(SmallArea(r["ward_code"], r["ward_name"], None, "")
                     for r in csv.DictReader(f) if r["lad_name"].lower() == area.lower())


def read_populations(path: Path) -> dict[str, float]:
    """A user's population file: CSV with a `code` and a `population` column (any case,
    other columns ignored), one row per LSOA or ward."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InputError(f"cannot read population file: {e.strerror}", path=path) from e
    except UnicodeDecodeError as e:
        raise InputError("population file is not UTF-8 text", path=path) from e
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in ("code", "population") if c not in header]
    if missing:
        raise InputError(f"missing column {missing[0]!r} (need code,population)",
                         path=path, line=1)
    ci, pi = header.index("code"), header.index("population")
    out: dict[str, float] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        code = row[ci].strip() if ci < len(row) else ""
        raw = row[pi].strip().replace(",", "") if pi < len(row) else ""
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not code:
            raise InputError("empty code", path=path, line=line, column="code")
        if value <= 0 or value != value:
            raise InputError(f"population must be a positive number, got {raw!r}",
                             path=path, line=line, column="population")
        if code in out:
            raise InputError(f"code {code} appears twice", path=path, line=line,
                             column="code")
        out[code] = value
    return out
