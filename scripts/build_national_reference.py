"""Derive the national (England and Wales) reference data shipped in src/saferboard/data.

Run from the project root:

    python scripts/build_national_reference.py [SHARED_DATA_DIR] [--no-boundaries]

Reads ../shared/data/ons_geography_ew, ons_population_ew, ons_population and peer_groups
(sources and licences: each folder's PROVENANCE.md) and writes the `national_*` files listed
in src/saferboard/data/PROVENANCE.md. The outputs are committed; saferboard never reads
../shared at run time. Build-time dependencies beyond saferboard's own: xlrd (the two ONS
.xls workbooks), openpyxl, shapely and pyproj (both already saferboard dependencies).

Every output is deterministic (sorted rows, fixed gzip mtime), so re-running on the same
inputs gives byte-identical files and a clean `git status`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "saferboard" / "data"

# Boundary generalisation (metres, British National Grid). The source LSOA polygons are ONS
# "super generalised" (BSC, ~200 m); a further 25 m coverage simplification keeps maps and
# hotspot clipping visually unchanged while roughly halving the vertex count. Coordinates
# are snapped to a 1 m grid: ample for maps, and integers compress far better than floats.
LSOA_TOLERANCE_M = 25.0
LA_TOLERANCE_M = 25.0
GRID_M = 1.0

# Population releases, keyed by the short tag stored in national_la_population.csv.gz; the
# loader (saferboard.core.national) holds the same descriptions.
MYE2020 = "mye2020"  # mid-2001..mid-2020, pre-Census-2021 series
MYE2021 = "mye2021"  # mid-2021, Census-2021-based
MYE2022 = "mye2022"  # mid-2022 (published March 2024)
MYE2024 = "mye2024"  # mid-2024 (2023 LA boundaries)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _write_csv(name: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    data = buf.getvalue().encode("utf-8")
    path = OUT / name
    if name.endswith(".gz"):
        # mtime=0 and no file name in the header: the same input gives the same bytes.
        with open(path, "wb") as raw, gzip.GzipFile(
            filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9
        ) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")


class Geography:
    """The LAD24 frame every output is keyed on, and the map from older LA codes onto it."""

    def __init__(self, shared: Path) -> None:
        geo = shared / "ons_geography_ew"
        self.lsoa = _read_csv(geo / "lookup_lsoa21_ward24_ltla24.csv")
        self.csp = _read_csv(geo / "lookup_ltla24_csp24_pfa24.csv")
        self.region = {r["ltla24_code"]: r for r in _read_csv(geo / "lookup_ltla24_region24.csv")}
        self.lsoa11 = _read_csv(geo / "lookup_lsoa11_lsoa21_ltla22.csv")
        self.la_names = {r["ltla24_code"]: r["ltla24_name"] for r in self.csp}
        assert len(self.la_names) == 318, len(self.la_names)
        assert {r["ltla24_code"] for r in self.lsoa} == set(self.la_names)
        # Older LA codes (2001-2023 workbooks) -> LAD24. drkane's "active" code is the latest
        # one, which is already past LAD24 for Barnsley and Sheffield (recoded 2025), so a code
        # that is itself in LAD24 maps to itself.
        self.to_lad24: dict[str, str] = {c: c for c in self.la_names}
        for r in _read_csv(geo / "la_all_codes_drkane.csv"):
            if r["LADCD"][0] in "EW" and r["LADCD"] not in self.la_names:
                self.to_lad24[r["LADCD"]] = r["LADCD_ACTIVE"]

    def lad24(self, code: str) -> str:
        target = self.to_lad24.get(code)
        assert target in self.la_names, f"LA code {code} has no LAD24 successor ({target})"
        return target


def lsoa_csp(g: Geography) -> dict[str, str]:
    """LSOA 2021 -> CSP 2024.

    Most LAs sit in exactly one CSP. Seven unitaries formed since 2019 (Bournemouth,
    Christchurch and Poole; Buckinghamshire; North and West Northamptonshire; Cumberland;
    Westmorland and Furness; East Suffolk) still have one CSP per former district, and ONS
    publishes no LSOA -> CSP lookup. The rule: a 2021 LSOA belongs to the CSP of the former
    district its 2011 predecessors were named after ("Corby 005A" -> Corby CSP); 2011 LSOA
    names carry the 2011 district names and 2021 LSOAs nest in the former districts. A former
    district is matched to the CSP of the same name, or whose name contains it ("Daventry"
    -> "Daventry and South Northamptonshire", but not "Northampton"), else to the one CSP of
    the LA no district matched by name (Christchurch -> Dorset CSP, which also covers Dorset
    Council).
    """
    csps: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in g.csp:
        csps[r["ltla24_code"]].append((r["csp24_code"], r["csp24_name"]))
    parents: dict[str, list[str]] = defaultdict(list)
    for r in g.lsoa11:
        head, _, _ = r["lsoa11_name"].rpartition(" ")
        parents[r["lsoa21_code"]].append(head)
    out: dict[str, str] = {}
    mixed = 0
    for r in g.lsoa:
        la = r["ltla24_code"]
        options = csps[la]
        if len(options) == 1:
            out[r["lsoa21_code"]] = options[0][0]
            continue
        districts = Counter(parents[r["lsoa21_code"]])
        # A 2021 LSOA whose predecessors carry two district names (a merge across the old
        # boundary) goes with the most common, then the alphabetically first: reported.
        if len(districts) > 1:
            mixed += 1
        district = sorted(districts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        named = [c for c, n in options if _matches(district, n)]
        if not named:
            matched = {c for c, n in options
                       if any(_matches(d, n) for d in _districts_of(g, la))}
            named = [c for c, _ in options if c not in matched]
        assert len(named) == 1, (r["lsoa21_code"], district, options, named)
        out[r["lsoa21_code"]] = named[0]
    print(f"LSOA -> CSP: {sum(len(v) > 1 for v in csps.values())} LAs split across CSPs; "
          f"{mixed} LSOAs with predecessors in two former districts")
    return out


def _matches(district: str, csp_name: str) -> bool:
    """'Daventry' matches 'Daventry and South Northamptonshire'; 'Northampton' does not."""
    return district == csp_name or district in csp_name.split(" and ")


def _districts_of(g: Geography, la: str) -> set[str]:
    codes = {r["lsoa21_code"] for r in g.lsoa if r["ltla24_code"] == la}
    return {r["lsoa11_name"].rpartition(" ")[0] for r in g.lsoa11 if r["lsoa21_code"] in codes}


def areas(g: Geography, shared: Path) -> None:
    """national_lsoa21.csv.gz, national_wards24.csv.gz, national_las.csv, national_csps.csv,
    national_lsoa11_lsoa21.csv.gz."""
    residents: dict[str, int] = {}
    for r in _read_csv(shared / "ons_population_ew/census2021_lsoa21_usual_residents.csv"):
        residents[r["lsoa21_code"]] = int(r["usual_residents_census2021"])
    assert len(residents) == 35672
    csp_of = lsoa_csp(g)
    _write_csv("national_lsoa21.csv.gz",
               ["lsoa21_code", "lsoa21_name", "ward24_code", "lad24_code", "csp24_code",
                "residents_2021"],
               sorted((r["lsoa21_code"], r["lsoa21_name"], r["ward24_code"], r["ltla24_code"],
                       csp_of[r["lsoa21_code"]], residents[r["lsoa21_code"]])
                      for r in g.lsoa))
    wards = {(r["ward24_code"], r["ward24_name"], r["ltla24_code"]) for r in g.lsoa}
    assert len({w[0] for w in wards}) == len(wards), "a ward in two LAs"
    _write_csv("national_wards24.csv.gz", ["ward24_code", "ward24_name", "lad24_code"],
               sorted(wards))

    households = census_households(g, shared)
    pfa = {r["ltla24_code"]: (r["pfa24_code"], r["pfa24_name"]) for r in g.csp}
    rows = []
    for code, name in g.la_names.items():
        reg = g.region.get(code)
        region = (reg["region24_code"], reg["region24_name"]) if reg else ("W92000004", "Wales")
        rows.append((code, name, *region, *pfa[code], households[code]))
    _write_csv("national_las.csv",
               ["lad24_code", "lad24_name", "region_code", "region_name", "pfa24_code",
                "pfa24_name", "households_2021"], sorted(rows))
    lsoas_in = Counter((csp_of[r["lsoa21_code"]], r["ltla24_code"]) for r in g.lsoa)
    csp_rows = sorted((r["csp24_code"], r["csp24_name"], r["ltla24_code"],
                       lsoas_in[(r["csp24_code"], r["ltla24_code"])]) for r in g.csp)
    assert all(n > 0 for *_, n in csp_rows), [r for r in csp_rows if r[3] == 0]
    _write_csv("national_csps.csv", ["csp24_code", "csp24_name", "lad24_code", "lsoas"],
               csp_rows)
    _write_csv("national_lsoa11_lsoa21.csv.gz", ["lsoa11_code", "lsoa21_code", "change"],
               sorted((r["lsoa11_code"], r["lsoa21_code"], r["change_code"])
                      for r in g.lsoa11))


def census_households(g: Geography, shared: Path) -> dict[str, int]:
    """Census 2021 households (table H01, rounded to 100 by ONS) per LAD24: the 2021 LAs
    merged in 2023 (Cumbria, North Yorkshire, Somerset) are summed whole."""
    import openpyxl

    wb = openpyxl.load_workbook(shared / "ons_population/census2021firstresultsenglandwales1.xlsx",
                                read_only=True, data_only=True)
    out: dict[str, int] = defaultdict(int)
    for row in wb["H01"].iter_rows(min_row=8, values_only=True):
        code, value = row[0], row[2]
        if isinstance(code, str) and code[:3] in _LA_PREFIXES and isinstance(value, int | float):
            out[g.lad24(code)] += int(value)
    assert set(out) == set(g.la_names)
    return out


# Lower-tier LA codes: unitary, non-metropolitan district, metropolitan district, London
# borough, Welsh principal area. Counties (E10), regions and countries are skipped.
_LA_PREFIXES = ("E06", "E07", "E08", "E09", "W06")


def population(g: Geography, shared: Path) -> None:
    """national_la_population.csv.gz: lad24_code,year,population,release for 2001-2022 and
    2024 (mid-2023 is not in the shared data; see saferboard.core.national.la_population)."""
    import openpyxl
    import xlrd  # only the build reads the two .xls workbooks

    values: dict[tuple[str, int], dict[str, int]] = defaultdict(dict)

    def add(code: object, year: int, value: object, release: str) -> None:
        if not (isinstance(code, str) and code[:3] in _LA_PREFIXES):
            return
        code = code.strip()  # the 2020 release writes "E06000061 " for North Northamptonshire
        assert isinstance(value, int | float), (code, year, value)
        key = (g.lad24(code), year)
        values[key][code] = values[key].get(code, 0) + int(value)
        releases[key] = release

    releases: dict[tuple[str, int], str] = {}
    for name, release, years in (
        ("ukpopestimatesmid2020on2021geography.xls", MYE2020, range(2001, 2021)),
        ("ukpopestimatesmid2021on2021geographyfinal.xls", MYE2021, (2021,)),
    ):
        sheet = xlrd.open_workbook(str(shared / "ons_population" / name)).sheet_by_name("MYE4")
        # The header has " Mid-2006" with a leading space in the 2020 release; strip it.
        header = [str(h).strip() for h in sheet.row_values(7)]
        assert header[:3] == ["Code", "Name", "Geography"], header
        for i in range(8, sheet.nrows):
            row = sheet.row_values(i)
            for year in years:
                add(row[0], year, row[header.index(f"Mid-{year}")], release)
    wb = openpyxl.load_workbook(shared / "ons_population/mye22final.xlsx", read_only=True,
                                data_only=True)
    rows = wb["MYE4"].iter_rows(min_row=8, values_only=True)
    header22 = [str(h).strip() for h in next(rows)]
    assert header22[:4] == ["Code", "Name", "Geography", "Mid-2022"], header22
    for row in rows:
        add(row[0], 2022, row[3], MYE2022)
    for r in _read_csv(shared / "ons_population_ew/mye2024_lad_all_ages.csv"):
        add(r["code"], 2024, int(r["population_mid2024"]), MYE2024)

    out = []
    for (code, year), parts in sorted(values.items()):
        out.append((code, year, sum(parts.values()), releases[(code, year)]))
    years = sorted({y for _, y in values})
    assert years == [*range(2001, 2023), 2024], years
    for year in years:
        assert {c for c, y in values if y == year} == set(g.la_names), year
    merged = sum(len(p) > 1 for p in values.values())
    print(f"population: {len(out)} LA-years, {merged} of them summed from former LAs")
    _write_csv("national_la_population.csv.gz", ["lad24_code", "year", "population", "release"],
               out)


def neighbours(g: Geography, shared: Path) -> None:
    """national_nearest_neighbours.csv: ONS statistical nearest neighbours, top 15, of every
    English lower-tier LA (codes already LAD24; checked)."""
    rows = _read_csv(shared / "peer_groups/ons_nearest_neighbours_ltla_top15_long.csv")
    out = []
    for r in rows:
        assert r["area_code"] in g.la_names and r["neighbour_code"] in g.la_names, r
        out.append((r["area_code"], int(r["rank"]), r["neighbour_code"],
                    f"{float(r['statistical_distance']):.4f}"))
    assert len(out) == 296 * 15
    _write_csv("national_nearest_neighbours.csv",
               ["lad24_code", "rank", "neighbour_code", "statistical_distance"], sorted(out))


def boundaries(g: Geography, shared: Path) -> None:
    """national_lsoa21_bng.geojson.gz and national_la_bng.geojson.gz (EPSG:27700).

    Source: ONS LSOA 2021 BSC (super generalised, clipped) in WGS84. Reprojected to British
    National Grid, coverage-simplified (shared edges simplified once, so neighbouring LSOAs
    keep meeting without gaps or overlaps), snapped to a 1 m grid. LA boundaries are the
    union of their LSOAs before simplification: LSOAs nest exactly in LAD24, and the BSC
    LSOAs are finer than the only LA file shared (BUC, ultra generalised ~500 m).
    """
    import numpy as np
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    with gzip.open(shared / "ons_geography_ew/boundaries_lsoa21_bsc.geojson.gz", "rt",
                   encoding="utf-8") as f:
        src = json.load(f)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = to_bng.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    codes = [ft["properties"]["lsoa21_code"] for ft in src["features"]]
    geoms = np.array([shapely.make_valid(shapely.transform(shape(ft["geometry"]), project))
                      for ft in src["features"]])
    la_of = {r["lsoa21_code"]: r["ltla24_code"] for r in g.lsoa}
    assert sorted(codes) == sorted(la_of)

    by_la: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(codes):
        by_la[la_of[c]].append(i)
    lsoa_out: dict[str, object] = {}
    la_out: dict[str, object] = {}
    for la, idx in sorted(by_la.items()):
        # Simplify each LA's LSOAs as one coverage: their shared edges stay shared.
        simple = shapely.coverage_simplify(geoms[idx], LSOA_TOLERANCE_M)
        simple = shapely.set_precision(simple, GRID_M)
        for i, geom in zip(idx, simple, strict=True):
            assert not geom.is_empty and geom.is_valid, codes[i]
            lsoa_out[codes[i]] = geom
        whole = shapely.union_all(geoms[idx])
        la_geom = shapely.set_precision(
            whole.simplify(LA_TOLERANCE_M, preserve_topology=True), GRID_M)
        assert la_geom.is_valid and not la_geom.is_empty, la
        la_out[la] = la_geom
    _write_geojson("national_lsoa21_bng.geojson.gz", lsoa_out, {})
    _write_geojson("national_la_bng.geojson.gz", la_out, g.la_names)


def _write_geojson(name: str, geoms: dict[str, object], names: dict[str, str]) -> None:
    from shapely.geometry import mapping

    def ints(coords: object) -> object:
        if isinstance(coords, tuple | list) and coords and isinstance(coords[0], float | int):
            return [round(float(c)) for c in coords]
        assert isinstance(coords, tuple | list)
        return [ints(c) for c in coords]

    features = []
    for code, geom in sorted(geoms.items()):
        geo = mapping(geom)
        props = {"code": code, **({"name": names[code]} if names else {})}
        coords = ints(geo["coordinates"])
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": geo["type"], "coordinates": coords}})
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
           "features": features}
    data = (json.dumps(doc, separators=(",", ":")) + "\n").encode("utf-8")
    path = OUT / name
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=9) as gz:
        gz.write(data)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes, "
          f"{len(features)} features, {len(data):,} bytes uncompressed)")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    shared = Path(args[0]) if args else ROOT.parent / "shared" / "data"
    if not shared.exists():
        sys.exit(f"{shared} not found")
    g = Geography(shared)
    areas(g, shared)
    population(g, shared)
    neighbours(g, shared)
    if "--no-boundaries" not in sys.argv:
        boundaries(g, shared)


if __name__ == "__main__":
    main()
