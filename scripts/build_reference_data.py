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


def lsoa_population() -> None:
    """london_lsoa_population.csv: lsoa_code,vintage,population,method (ONS mid-2020).

    The ONS small-area estimates bundled are on 2011 LSOAs; police.uk moved to 2021 LSOAs during
    2023. A 2021 LSOA whose code also existed in 2011 is the same area (ONS kept the code only
    for unchanged LSOAs) and takes its 2011 estimate. A 2021 LSOA with a new code (a split,
    merge or redrawing) gets the populations of the retired 2011 LSOAs it overlaps: each retired
    LSOA's population is shared among the new LSOAs it overlaps in proportion to the fraction of
    each new LSOA's area lying inside it (overlaps under 1% of a new LSOA are boundary noise
    between the two generalised files). A pure split therefore shares equally - ONS splits
    LSOAs on population, so its parts are of similar size, which sharing by area would ignore
    (a dense new estate would get a sliver) - and a merge adds its parents up. The changed set
    keeps its total exactly. Census 2021 LSOA counts would be better; they are not in the
    shared data.
    """
    import shapefile  # pyshp: only this build script reads shapefiles
    from shapely.geometry import shape
    from shapely.geometry.base import BaseGeometry
    from shapely.strtree import STRtree

    pop11: dict[str, int] = {}
    with open(SHARED / "london_lsoa_population/london-mid2020-pop.csv", newline="") as f:
        for r in csv.DictReader(f):
            pop11[r["LSOA11CD"]] = int(r["Persons_All-Ages"])

    def polygons(path: Path, key: str) -> dict[str, BaseGeometry]:
        with shapefile.Reader(str(path)) as sf:
            fields = [f[0] for f in sf.fields[1:]]
            i = fields.index(key)
            return {rec[i]: shape(shp.__geo_interface__)
                    for rec, shp in zip(sf.records(), sf.shapes(), strict=True)}

    g11 = polygons(SHARED / "london_boundaries/lsoa2011_gen_MHW/LSOA_2011_London_gen_MHW.shp",
                   "LSOA11CD")
    g21 = polygons(SHARED / "london_boundaries/lsoa2021_gen20/london-2021-lsoa-gen20.shp",
                   "LSOA21CD")
    retired = sorted(set(g11) - set(g21))
    new = sorted(set(g21) - set(g11))
    tree = STRtree([g21[c] for c in new])
    shares: dict[str, float] = defaultdict(float)
    for old in retired:
        near = [new[int(k)] for k in tree.query(g11[old])]
        overlaps = {c: g11[old].intersection(g21[c]).area / g21[c].area for c in near}
        overlaps = {c: a for c, a in overlaps.items() if a >= 0.01}
        total = sum(overlaps.values())
        assert total > 0, f"retired LSOA {old} overlaps no new 2021 LSOA"
        for c, a in overlaps.items():
            shares[c] += pop11[old] * a / total
    assert set(shares) == set(new), set(new) - set(shares)
    assert abs(sum(shares.values()) - sum(pop11[c] for c in retired)) < 1e-6
    rows = [(c, 2011, pop11[c], "ONS mid-2020 estimate") for c in sorted(pop11)]
    rows += [(c, 2021, pop11[c], "ONS mid-2020 estimate (unchanged LSOA)")
             for c in sorted(g21) if c in pop11]
    rows += [(c, 2021, round(shares[c]), "ONS mid-2020 estimates of the 2011 LSOAs it "
              "replaced, shared among their successors (see scripts/build_reference_data.py)")
             for c in new]
    rows.sort()
    with open(OUT / "london_lsoa_population.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["lsoa_code", "vintage", "population", "method"])
        w.writerows(rows)


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
    lsoa_population()
