"""Areas and denominators: local authority from LSOA names and ward codes, population and
households per London local authority (shipped, derived from ONS and Census files)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from saferboard.errors import InputError


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
