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
    with pytest.raises(InputError, match="no population figures for 'Bournemouth'"):
        denominator("Bournemouth", "population", 2021)


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
