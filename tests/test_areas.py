"""Areas and denominators (shipped tables), pinned to the ONS and Census figures."""

from __future__ import annotations

import csv

import pytest

from saferboard.core.areas import (
    denominator,
    denominator_areas,
    local_authority_from_lsoa_name,
    lsoa_vintages,
    ward_lookup,
)
from saferboard.core.errors import InputError
from tests.conftest import SHARED, needs_shared


def test_local_authority_from_lsoa_name():
    assert local_authority_from_lsoa_name("Barnet 001A") == "Barnet"
    assert local_authority_from_lsoa_name("Kingston upon Thames 019E") == "Kingston upon Thames"
    assert local_authority_from_lsoa_name("") is None
    assert local_authority_from_lsoa_name(None) is None
    assert local_authority_from_lsoa_name("Barnet") is None


def test_denominators_barnet():
    assert len(denominator_areas()) == 33
    pop = denominator("Barnet", "population", 2021)
    assert (pop.year, pop.value) == (2021, 388_639)
    assert denominator("barnet", "households", 2021).value == 148_900
    # No estimate after mid-2022: the latest earlier year is used, and says so.
    later = denominator("Barnet", "population", 2025)
    assert (later.year, later.value) == (2022, 389_101)
    # Bournemouth is a CSP covering part of Bournemouth, Christchurch and Poole: never the
    # whole LA's figures under its name.
    with pytest.raises(InputError, match="covers only part of Bournemouth, Christchurch"):
        denominator("Bournemouth", "population", 2021)


def test_national_denominators_any_la():
    # ONS mid-2024 (mye24tablesew.xlsx MYE2) and Census 2021 H01, outside London; the year
    # used is stated: 2025 -> mid-2024, 2023 (not published) -> mid-2022.
    pop = denominator("Brighton and Hove", "population", 2025)
    assert (pop.area, pop.year, pop.value) == ("Brighton and Hove", 2024, 283_870)
    assert "mid-2024" in pop.source
    assert denominator("E06000043", "population", 2023).year == 2022
    hh = denominator("brighton & hove", "households", 2025)
    assert (hh.year, hh.value) == (2021, 121_400)
    # A CSP made of whole LAs is their sum.
    dg = denominator("Dartford and Gravesham", "population", 2024)
    assert dg.value == (denominator("Dartford", "population", 2024).value
                        + denominator("Gravesham", "population", 2024).value)
    with pytest.raises(InputError, match="did you mean 'Brighton and Hove'"):
        denominator("Brighton and Hoove", "population", 2024)


def test_ward_and_lsoa_lookups():
    wards = ward_lookup()
    assert wards["E05013628"] == "Barnet"  # Barnet Vale
    assert sum(1 for v in wards.values() if v == "Barnet") == 24
    v = lsoa_vintages()
    assert v["E01000001"] == frozenset({2011, 2021})


@needs_shared
def test_shipped_households_2011_equal_lsoa_sum():
    total = 0
    with open(SHARED / "london_boundaries/london_lsoa11_lookup_census2011.csv") as f:
        for r in csv.DictReader(f):
            if r["LAD11NM"] == "Barnet":
                total += int(r["HHOLDS"])
    assert denominator("Barnet", "households", 2011).value == total


def test_2011_codes_are_attributed_to_2021_lsoas():
    """A split 2011 LSOA's crimes go to its successors in proportion to their Census 2021
    residents (E01000010 -> 015E 1,265 and 015F 2,252 residents: 10 crimes -> 3.6 and 6.4,
    rounded by largest remainder to 4 and 6); an unchanged code keeps its crimes; a code
    the lookup lacks stays as given."""
    from saferboard.core.areas import lsoa21_counts

    got, moved = lsoa21_counts({"E01000010": 10, "E01000001": 5, "X01": 2})
    assert got == {"E01034473": 4, "E01034474": 6, "E01000001": 5, "X01": 2}
    assert moved == {"E01000010": 10}
    assert sum(got.values()) == 17


@needs_shared
def test_split_shares_match_the_raw_ons_files():
    from saferboard.core.areas import lsoa21_counts

    with open(SHARED / "ons_geography_ew/lookup_lsoa11_lsoa21_ltla22.csv",
              encoding="utf-8-sig") as f:
        succ = [r["lsoa21_code"] for r in csv.DictReader(f) if r["lsoa11_code"] == "E01000010"]
    with open(SHARED / "ons_population_ew/census2021_lsoa21_usual_residents.csv",
              encoding="utf-8") as f:
        res = {r["lsoa21_code"]: int(r["usual_residents_census2021"])
               for r in csv.DictReader(f) if r["lsoa21_code"] in succ}
    assert res == {"E01034473": 1265, "E01034474": 2252}
    got, _ = lsoa21_counts({"E01000010": 3517})  # = 1265 + 2252: shares are exact
    assert got == res


@needs_shared
def test_ward_outlines_follow_the_raw_lookup():
    """Ward outlines for maps: one per ward of the raw ONS LSOA 2021 -> ward 2024 lookup,
    together covering the LA's boundary (both are unions of the same generalised LSOAs)."""
    from saferboard.core.areas import ward_outlines
    from saferboard.core.national import la_boundary

    with open(SHARED / "ons_geography_ew/lookup_lsoa21_ward24_ltla24.csv",
              encoding="utf-8-sig") as f:
        raw = {r["ward24_name"] for r in csv.DictReader(f)
               if r["ltla24_name"] == "Brighton and Hove"}
    wards = ward_outlines("Brighton and Hove")
    assert [w.name for w in wards] == sorted(raw) and len(raw) == 23
    total = sum(w.geometry.area for w in wards)
    assert total == pytest.approx(la_boundary("E06000043").area, rel=0.01)
