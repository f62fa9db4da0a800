"""Independent counts straight from the raw files with the csv module, to pin the store's
numbers against (a second way of computing the same figures)."""

from __future__ import annotations

import csv
import gzip
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import NamedTuple


def rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        yield from csv.DictReader(f)


class StreetKey(NamedTuple):
    """The fields of a police.uk street row that the tests count by."""

    month: str
    lsoa_code: str
    lsoa_name: str
    crime_type: str
    located: bool  # has a longitude
    reported_by: str
    has_id: bool  # has a Crime ID
    last_outcome: str


@cache
def street_tally(path: Path) -> Counter[StreetKey]:
    """A street file's rows, counted by StreetKey (csv module): read once per process
    however many tests and modules count its rows (read it only)."""
    return Counter(StreetKey(r["Month"], r["LSOA code"], r["LSOA name"], r["Crime type"],
                             bool(r["Longitude"]), r["Reported by"], bool(r["Crime ID"]),
                             r["Last outcome category"]) for r in rows(path))


def la_of(lsoa_name: str) -> str | None:
    m = re.fullmatch(r"(.*) \d{3}[A-Z]", lsoa_name)
    return m[1] if m else None


ONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ons_geography_ew"


@cache
def ons_la_of_code_2021() -> dict[str, str]:
    """2021 LSOA code -> LAD 2024 name (raw ONS lookup_lsoa21_ward24_ltla24.csv)."""
    with open(ONS / "lookup_lsoa21_ward24_ltla24.csv", newline="", encoding="utf-8-sig") as f:
        return {r["lsoa21_code"]: r["ltla24_name"] for r in csv.DictReader(f)}


@cache
def ons_lsoa11_codes() -> frozenset[str]:
    """Every 2011 LSOA code of the raw ONS LSOA 2011 -> 2021 lookup."""
    with open(ONS / "lookup_lsoa11_lsoa21_ltla22.csv", newline="", encoding="utf-8-sig") as f:
        return frozenset(r["lsoa11_code"] for r in csv.DictReader(f))


@cache
def ons_la_of_code() -> dict[str, str]:
    """LSOA code -> LAD 2024 name straight from the raw ONS lookups (not the shipped files):
    2021 codes from lookup_lsoa21_ward24_ltla24.csv; a 2011 code through
    lookup_lsoa11_lsoa21_ltla22.csv when all its 2021 successors lie in one LA."""
    out: dict[str, str] = {}
    with open(ONS / "lookup_lsoa21_ward24_ltla24.csv", newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            out[r["lsoa21_code"]] = r["ltla24_name"]
    successors: dict[str, set[str]] = {}
    with open(ONS / "lookup_lsoa11_lsoa21_ltla22.csv", newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            successors.setdefault(r["lsoa11_code"], set()).add(out[r["lsoa21_code"]])
    for code, las in successors.items():
        if code not in out and len(las) == 1:
            out[code] = las.pop()
    return out


def la_of_row(code: str, name: str) -> str | None:
    """A row's LA: by LSOA code through the raw ONS lookup, else from the LSOA name."""
    return ons_la_of_code().get(code) or la_of(name)


# A street row's key for each kind of count.
STREET_KEYS: dict[str, Callable[[StreetKey], object]] = {
    "month": lambda k: k.month,
    "area": lambda k: la_of(k.lsoa_name),  # by LSOA name
    "la": lambda k: la_of_row(k.lsoa_code, k.lsoa_name),  # by LSOA code, ONS lookup
    "crime_type": lambda k: k.crime_type,
    "no_lsoa_name": lambda k: not k.lsoa_name,
    "all": lambda k: "all",
}


def street_counts(paths: Iterable[Path], key: str) -> Counter[object]:
    """Counter of street rows by one of STREET_KEYS."""
    return street_tallies(paths, key)[key]


def street_tallies(paths: Iterable[Path], *keys: str) -> dict[str, Counter[object]]:
    """street_counts for several keys (from each file's street_tally)."""
    out: dict[str, Counter[object]] = {k: Counter() for k in keys}
    of = [(out[k], STREET_KEYS[k]) for k in keys]
    for p in paths:
        for row, n in street_tally(p).items():
            for counter, key_of in of:
                counter[key_of(row)] += n
    return out


def mps_wide(path: Path) -> list[dict[str, str]]:
    return list(rows(path))


def mps_month_columns(record: dict[str, str]) -> list[str]:
    return list(_month_columns(tuple(record)))


@cache
def _month_columns(header: tuple[str, ...]) -> tuple[str, ...]:
    """The YYYYMM columns of a header: one regex pass per header, not per row."""
    return tuple(k for k in header if re.fullmatch(r"\d{6}", k.strip()))
