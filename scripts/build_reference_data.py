"""Derive the reference tables shipped in src/saferboard/data from ../shared/data.

Run from the project root: python scripts/build_reference_data.py. The outputs are committed;
saferboard never reads ../shared at run time. Sources and licences:
src/saferboard/data/PROVENANCE.md.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "src" / "saferboard" / "data"


def denominators() -> None:
    """london_denominators.csv: code,name,measure,year,value,source (33 London LAs)."""
    rows: list[tuple[str, str, str, int, int, str]] = []
    with open(SHARED / "ons_population/london_borough_population_ons_long.csv", newline="") as f:
        for r in csv.DictReader(f):
            if not r["code"].startswith("E09"):
                continue
            # 2011 appears twice with the same value; keep the mid-2020 release's row.
            if r["series"] == "ONS MYE mid-2022 release (mid-2011 column)":
                continue
            rows.append((r["code"], r["name"], "population", int(r["year"]),
                         int(r["population"]), f"{r['series']} ({r['source']})"))
    names = {code: name for code, name, *_ in rows}
    with open(SHARED / "ons_population/london_borough_census2021_pop_households.csv",
              newline="") as f:
        for r in csv.DictReader(f):
            if r["code"].startswith("E09"):
                rows.append((r["code"], r["name"], "households", 2021, int(r["households_2021"]),
                             "Census 2021 first results, table H01 (rounded to 100)"))
    hh2011: dict[str, int] = defaultdict(int)
    with open(SHARED / "london_boundaries/london_lsoa11_lookup_census2011.csv", newline="") as f:
        for r in csv.DictReader(f):
            hh2011[r["LAD11CD"]] += int(r["HHOLDS"])
    for code, value in hh2011.items():
        rows.append((code, names[code], "households", 2011, value,
                     "Census 2011 households (HHOLDS), summed over LSOA 2011"))
    rows.sort(key=lambda r: (r[1], r[2], r[3]))
    assert len({r[0] for r in rows}) == 33, "expected the 33 London local authorities"
    with open(OUT / "london_denominators.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["code", "name", "measure", "year", "value", "source"])
        w.writerows(rows)


def lsoas() -> None:
    """london_lsoas.csv: lsoa_code,vintage,lsoa_name,lad_code,lad_name."""
    out = []
    with open(SHARED / "london_boundaries/london_lsoa11_lookup_census2011.csv", newline="") as f:
        out += [(r["LSOA11CD"], 2011, r["LSOA11NM"], r["LAD11CD"], r["LAD11NM"])
                for r in csv.DictReader(f)]
    with open(SHARED / "london_boundaries/london_lsoa21_lookup.csv", newline="") as f:
        out += [(r["LSOA21CD"], 2021, r["LSOA21NM"], r["LAD22CD"], r["LAD22NM"])
                for r in csv.DictReader(f)]
    out.sort()
    with open(OUT / "london_lsoas.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["lsoa_code", "vintage", "lsoa_name", "lad_code", "lad_name"])
        w.writerows(out)


def wards() -> None:
    """wards_lad23.csv: ward_code,ward_name,lad_code,lad_name for England and Wales."""
    src = SHARED / "lookups" / (
        "Ward_to_Local_Authority_District_(December_2023)_Lookup_in_the_United_Kingdom.csv"
    )
    with open(src, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader)]
        idx = {h: i for i, h in enumerate(header)}
        out = sorted(
            (r[idx["WD23CD"]], r[idx["WardName"]], r[idx["LAD23CD"]], r[idx["LAD23NM"]])
            for r in reader
            if r[idx["WD23CD"]][:1] in ("E", "W")
        )
    with open(OUT / "wards_lad23.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["ward_code", "ward_name", "lad_code", "lad_name"])
        w.writerows(out)


if __name__ == "__main__":
    if not SHARED.exists():
        sys.exit(f"{SHARED} not found")
    denominators()
    lsoas()
    wards()
