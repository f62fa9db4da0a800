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
