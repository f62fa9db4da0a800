"""The national reference data (saferboard.core.national) against published totals, against the raw
ONS files read another way (csv module, openpyxl), and against today's London files."""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter, defaultdict
from importlib import resources

import pytest

from saferboard.core import areas, national
from saferboard.core.errors import InputError
from tests.conftest import SHARED, needs_shared

GEO = SHARED / "ons_geography_ew"
CHELTENHAM, BRIGHTON, BARNET, BCP = "E07000078", "E06000043", "E09000003", "E06000058"


def raw(path: str) -> list[dict[str, str]]:
    with open(SHARED / path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


# --- shipped files only (no ../shared needed) -------------------------------------------

def test_national_counts_match_the_published_totals() -> None:
    # ONS: 35,672 LSOAs (33,755 England + 1,917 Wales), 318 LADs, 314 CSPs, 43 PFAs;
    # Census 2021 TS021 LSOA residents sum to 59,597,576 (PROVENANCE of ons_population_ew).
    lsoas = national.lsoa_lookup()
    assert len(lsoas) == 35672
    assert Counter(c[0] for c in lsoas) == {"E": 33755, "W": 1917}
    assert sum(x.residents_2021 for x in lsoas.values()) == 59_597_576
    las = national.local_authorities()
    assert len(las) == 318 and sum(c.startswith("W06") for c in las) == 22
    assert len(national.csps()) == 314
    assert len({la.force_code for la in las.values()}) == 43
    assert all(x.ward_code in national.wards() for x in lsoas.values())


def test_mid_2024_populations_add_up_to_england_and_wales() -> None:
    # ONS mid-2024: England and Wales 61,806,682; Barnet 405,050; Cheltenham 121,739.
    total = sum(national.la_population(c, 2024)[0] for c in national.local_authorities())
    assert total == 61_806_682
    assert national.la_population(BARNET, 2024) == (405_050, 2024)
    assert national.la_population(CHELTENHAM, 2024) == (121_739, 2024)


def test_population_year_rule_is_latest_published_not_after_the_year() -> None:
    assert national.population_years() == (*range(2001, 2023), 2024)
    # mid-2023 is not published in the shared data: mid-2022 is used, and said.
    assert national.la_population(BARNET, 2023) == (389_101, 2022)
    detail = national.la_population_detail(BARNET, 2023)
    assert (detail.requested_year, detail.year) == (2023, 2022)
    assert "mid-2022 release" in detail.release
    assert national.la_population(BARNET, 2030) == (405_050, 2024)
    assert national.la_population(BARNET, 2020) == (399_007, 2020)  # pre-census series
    with pytest.raises(InputError, match="before mid-2001"):
        national.la_population(BARNET, 2000)
    with pytest.raises(InputError, match="E99000001"):
        national.la_population("E99000001", 2024)


def test_las_merged_in_2023_are_summed_from_their_former_districts() -> None:
    # Cumberland (E06000063) = Allerdale + Carlisle + Copeland before April 2023; mid-2020
    # release, MYE4 of ukpopestimatesmid2020on2021geography.xls: 97,831 + 108,524 + 68,041
    # (read off the workbook by hand: the test suite has no .xls reader).
    assert national.la_population("E06000063", 2020) == (97_831 + 108_524 + 68_041, 2020)


def test_resolve_area_by_name_code_and_csp() -> None:
    for text in ("Cheltenham", "  cheltenham ", "E07000078", "e07000078"):
        area = national.resolve_area(text)
        assert (area.kind, area.code, area.force_name) == ("la", CHELTENHAM, "Gloucestershire")
    assert len(national.resolve_area("Cheltenham").lsoa_codes) == 77
    assert national.resolve_area("Brighton & Hove").code == BRIGHTON
    # An LA name wins over the CSP of the same name (Dorset CSP also covers Christchurch);
    # the CSP is reached by its code.
    assert national.resolve_area("Dorset").kind == "la"
    assert national.resolve_area("E22000367").la_codes == ("E06000058", "E06000059")


def test_did_you_mean_on_a_typo_is_one_line_among_national_names() -> None:
    with pytest.raises(InputError) as e:
        national.resolve_area("Cheltenhm")
    msg = str(e.value)
    assert "\n" not in msg
    assert "'Cheltenhm'" in msg and "did you mean 'Cheltenham'" in msg
    with pytest.raises(InputError, match="did you mean 'Brighton and Hove'"):
        national.resolve_area("Brighton and Hoove")
    with pytest.raises(InputError, match="give a local authority name"):
        national.resolve_area("Xyzzy")


def test_an_la_split_across_csps_puts_each_lsoa_in_one_csp() -> None:
    bcp = national.local_authority(BCP)
    assert bcp.csp_codes == ("E22000063", "E22000067", "E22000367")
    names = {c: national.csps()[c].name for c in bcp.csp_codes}
    assert names == {"E22000063": "Bournemouth", "E22000067": "Poole", "E22000367": "Dorset"}
    in_csps = [x for c in bcp.csp_codes for x in national.lsoas_in(c) if x.la_code == BCP]
    assert sorted(x.code for x in in_csps) == [x.code for x in national.lsoas_in(BCP)]
    # Dorset CSP = all of Dorset Council + the former Christchurch part of BCP.
    dorset = national.lsoas_in("E22000367")
    assert {x.la_code for x in dorset} == {BCP, "E06000059"}
    assert len(dorset) == len(national.lsoas_in("E06000059")) + sum(
        x.la_code == BCP for x in dorset)
    nn = national.resolve_area("North Northamptonshire")
    assert len(national.local_authority(nn.code).csp_codes) == 4
    counts = national.csps()["E22000233"]  # Corby: the LSOA count stored per LA
    assert counts.lsoas == (len(national.lsoas_in("E22000233")),)


def test_lsoa_2011_split_merge_and_redrawn_shares() -> None:
    # Split: Cheltenham 007F (E01022158) -> Cheltenham 007G and 007H, shared by residents.
    shares = dict(national.lsoa21_shares("E01022158"))
    assert set(shares) == {"E01034777", "E01034778"}
    assert sum(shares.values()) == pytest.approx(1.0)
    res = {c: national.lsoa_lookup()[c].residents_2021 for c in shares}
    assert shares["E01034777"] == pytest.approx(res["E01034777"] / sum(res.values()))
    # Merge: Hartlepool 005A and 005D -> Hartlepool 015C, each wholly.
    assert national.lsoa21_shares("E01011973") == (("E01035188", 1.0),)
    assert national.lsoa21_shares("E01011976") == (("E01035188", 1.0),)
    # Redrawn across an LA boundary: Gateshead 024C goes partly to Northumberland.
    assert {national.lsoa_lookup()[c].la_code
            for c, _ in national.lsoa21_shares("E01008187")} == {"E08000037", "E06000057"}
    assert national.la_of_lsoa("E01011973") == "E06000001"
    assert national.la_of_lsoa("E01034777") == CHELTENHAM  # a 2021 code
    assert national.la_of_lsoa("E01999999") is None
    assert national.lsoa21_shares("nonsense") == ()


def test_peer_groups() -> None:
    nn = national.nearest_neighbours(BARNET)
    assert [n.rank for n in nn] == list(range(1, 16))
    assert [n.name for n in nn[:3]] == ["Watford", "Croydon", "Brent"]
    assert national.nearest_neighbours("W06000015") == ()  # Cardiff: England-only model
    glos = {national.local_authority(c).name for c in national.same_force(CHELTENHAM)}
    assert glos == {"Cheltenham", "Cotswold", "Forest of Dean", "Gloucester", "Stroud",
                    "Tewkesbury"}
    assert len(national.region(BARNET)) == 33
    assert len(national.region("W06000015")) == 22


def test_boundaries_are_british_national_grid_and_nest() -> None:
    chelt = national.la_boundary(CHELTENHAM)
    assert chelt.is_valid
    # Cheltenham is 46.6 km2 (ONS standard area measurement); generalised boundaries differ.
    assert 44e6 < chelt.area < 49e6
    minx, miny, maxx, maxy = chelt.bounds
    assert 385_000 < minx < maxx < 405_000 and 215_000 < miny < maxy < 232_000
    parts = [national.lsoa_boundary(x.code) for x in national.lsoas_in(CHELTENHAM)]
    assert sum(p.area for p in parts) == pytest.approx(chelt.area, rel=0.01)
    assert all(chelt.buffer(30).contains(p) for p in parts)
    with pytest.raises(InputError, match="E01999999"):
        national.lsoa_boundary("E01999999")


def test_lsoa11_codes_are_the_keys_of_the_lookup() -> None:
    # The codes alone (read from one column) are the 2011 codes of the full lookup, in order.
    assert national.lsoa11_codes() == tuple(national.lsoa11_links())
    assert len(national.lsoa11_codes()) == 34753  # ONS: 34,753 LSOAs in 2011


def test_lsoa_boundaries_found_by_code_are_the_whole_files() -> None:
    # lsoa_boundary parses one feature where it starts (_feature_index); read whole with
    # json, every one of the 35,672 features must come out the same, none missed.
    name = "national_lsoa21_bng.geojson.gz"
    whole = json.loads(gzip.decompress(
        (resources.files("saferboard") / "data" / name).read_bytes()))["features"]
    assert len(national._feature_index(name)[1]) == len(whole) == 35672
    for f in whole:
        assert national._feature_geometry(name, f["properties"]["code"]) == f["geometry"]
    assert national._feature_geometry(name, "E01999999") is None


def test_lsoa_boundaries_of_a_file_written_another_way(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    # A file the index cannot read (spaces after the separators) is read whole instead.
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "E01000001"},
         "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
    monkeypatch.setattr(national, "_text", lambda name: json.dumps(doc, indent=1))
    national._feature_index.cache_clear()
    national._boundaries.cache_clear()
    try:
        assert national._feature_index("x.geojson")[1] == {}
        assert national._feature_geometry("x.geojson", "E01000001") == {
            "type": "Point", "coordinates": [1, 2]}
        assert national._feature_geometry("x.geojson", "E01000002") is None
    finally:
        national._feature_index.cache_clear()
        national._boundaries.cache_clear()


# --- the 33 London boroughs: identical to today's London files where the sources agree ---

LONDON = [c for c in national.local_authorities() if c.startswith("E09")]


def _london_lsoas(vintage: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    with open(areas._data("london_lsoas.csv"), newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["vintage"] == vintage:
                out[r["lad_code"]].add(r["lsoa_code"])
    return out


def test_london_lsoas_are_the_london_file_lsoas() -> None:
    assert len(LONDON) == 33
    lsoas21 = _london_lsoas("2021")
    for code in LONDON:
        assert {x.code for x in national.lsoas_in(code)} == lsoas21[code], code
    # Every London 2011 LSOA is attributed to its own borough through the 2011 -> 2021 lookup.
    for code, lsoas11 in _london_lsoas("2011").items():
        assert {national.la_of_lsoa(c) for c in lsoas11} == {code}


def test_london_denominators_agree_with_the_london_file() -> None:
    """Same workbooks, same values, with three explained differences:

    * mid-2006: the London file lacks it (the shared London extract missed the workbook's
      " Mid-2006" column, whose header has a leading space), so the London loader uses
      mid-2005 for 2006; the national file has mid-2006.
    * 2024 and later: the national file has mid-2024 (mid-2024 release); the London file stops
      at mid-2022.
    * households: Census 2021 agrees; Census 2011 households are London-only.
    """
    for code in LONDON:
        name = national.local_authority(code).name
        for year in (*range(2001, 2006), *range(2007, 2024)):
            london = areas.denominator(name, "population", year)
            assert national.la_population(code, year) == (london.value, london.year), (
                name, year)
        assert areas.denominator(name, "population", 2006).year == 2005
        assert national.la_population(code, 2006)[1] == 2006
        assert areas.denominator(name, "population", 2024).year == 2022
        assert national.la_population(code, 2024)[1] == 2024
        assert (national.local_authority(code).households_2021
                == areas.denominator(name, "households", 2021).value)


def test_london_boundaries_are_the_london_file() -> None:
    import json

    from shapely.geometry import shape

    with open(areas._data("london_boroughs_bng.geojson"), encoding="utf-8") as f:
        features = json.load(f)["features"]
    london = {ft["properties"]["code"]: shape(ft["geometry"]) for ft in features}
    assert set(london) == set(LONDON)
    for code, geom in london.items():
        assert national.la_boundary(code).equals_exact(geom, 0), code
    # The national (BSC-derived) outline of a borough is close to the finer London one.
    from saferboard.core.national import _boundaries  # the national outline the others get

    barnet = shape(_boundaries("national_la_bng.geojson.gz")[BARNET])
    assert barnet.symmetric_difference(london[BARNET]).area / london[BARNET].area < 0.05


# --- against the raw shared files, read another way ------------------------------------

@needs_shared
def test_lsoas_per_la_match_the_raw_ons_lookup() -> None:
    lookup = raw("ons_geography_ew/lookup_lsoa21_ward24_ltla24.csv")
    per_la = Counter(r["ltla24_code"] for r in lookup)
    assert per_la[BRIGHTON] == len(national.lsoas_in(BRIGHTON)) == 165
    assert per_la[CHELTENHAM] == len(national.lsoas_in(CHELTENHAM)) == 77
    assert per_la == Counter(x.la_code for x in national.lsoa_lookup().values())
    wards_raw = {r["lsoa21_code"]: r["ward24_code"] for r in lookup}
    assert wards_raw == {c: x.ward_code for c, x in national.lsoa_lookup().items()}


@needs_shared
def test_residents_match_the_raw_census_file() -> None:
    rows = raw("ons_population_ew/census2021_lsoa21_usual_residents.csv")
    for la in (BRIGHTON, CHELTENHAM):
        want = sum(int(r["usual_residents_census2021"]) for r in rows if r["lad24_code"] == la)
        assert sum(x.residents_2021 for x in national.lsoas_in(la)) == want


@needs_shared
def test_populations_and_households_read_from_the_raw_workbooks() -> None:
    import openpyxl

    wb = openpyxl.load_workbook(SHARED / "ons_population/mye22final.xlsx", read_only=True,
                                data_only=True)
    mye22 = {str(r[0]).strip(): r[3] for r in wb["MYE4"].iter_rows(min_row=9, values_only=True)}
    for la in (BRIGHTON, CHELTENHAM, BARNET):
        assert national.la_population(la, 2022) == (mye22[la], 2022)
    wb = openpyxl.load_workbook(SHARED / "ons_population/census2021firstresultsenglandwales1.xlsx",
                                read_only=True, data_only=True)
    h01 = {r[0]: r[2] for r in wb["H01"].iter_rows(min_row=8, values_only=True)}
    for la in (BRIGHTON, CHELTENHAM):
        assert national.local_authority(la).households_2021 == h01[la]
    mye24 = {r["code"]: int(r["population_mid2024"])
             for r in raw("ons_population_ew/mye2024_lad_all_ages.csv")}
    assert national.la_population(BRIGHTON, 2024) == (mye24[BRIGHTON], 2024) == (283_870, 2024)


@needs_shared
def test_lsoa_2011_lookup_matches_the_raw_file() -> None:
    rows = raw("ons_geography_ew/lookup_lsoa11_lsoa21_ltla22.csv")
    children: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        children[r["lsoa11_code"]].add(r["lsoa21_code"])
    assert len(children) == len(national.lsoa11_links()) == 34753
    for code, kids in children.items():
        assert {c for c, _ in national.lsoa21_shares(code)} == kids, code
    changes = Counter(r["change_code"] for r in rows)
    assert changes == Counter(link.change for links in national.lsoa11_links().values()
                              for link in links)


@needs_shared
def test_christchurch_lsoas_are_in_dorset_csp() -> None:
    # Independently: the 2021 successors of every 2011 LSOA named "Christchurch ..." are the
    # BCP LSOAs of Dorset CSP.
    lookup = raw("ons_geography_ew/lookup_lsoa11_lsoa21_ltla22.csv")
    christchurch = {r["lsoa21_code"] for r in lookup
                    if r["lsoa11_name"].startswith("Christchurch ")}
    dorset_bcp = {x.code for x in national.lsoas_in("E22000367") if x.la_code == BCP}
    assert christchurch == dorset_bcp and len(christchurch) > 20


@needs_shared
def test_csp_and_force_lookup_match_the_raw_file() -> None:
    rows = raw("ons_geography_ew/lookup_ltla24_csp24_pfa24.csv")
    for r in rows:
        la = national.local_authority(r["ltla24_code"])
        assert r["csp24_code"] in la.csp_codes
        assert (la.force_code, la.force_name) == (r["pfa24_code"], r["pfa24_name"])


@needs_shared
def test_nearest_neighbours_match_the_raw_top15() -> None:
    rows = [r for r in raw("peer_groups/ons_nearest_neighbours_ltla_top15_long.csv")
            if r["area_code"] == CHELTENHAM]
    got = national.nearest_neighbours(CHELTENHAM)
    assert [(n.rank, n.code) for n in got] == [(int(r["rank"]), r["neighbour_code"]) for r in rows]
    assert got[0].distance == pytest.approx(float(rows[0]["statistical_distance"]), abs=1e-4)
