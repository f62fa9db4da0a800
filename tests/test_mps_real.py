"""MPS borough and ward tables on the real shared releases: layouts, labels, overlap rule."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import cache

import pytest

from saferboard import store
from saferboard.measures.counts import counts
from saferboard.sources.ingest import ingest
from tests.conftest import SHARED, needs_shared
from tests.csvcount import mps_month_columns, mps_wide

pytestmark = needs_shared

BOROUGH = SHARED / "mps_borough_crime"
R2019 = sorted((BOROUGH / "release_2019-01").glob("*.csv"))
R2025_02 = sorted((BOROUGH / "release_2025-02").glob("*.csv"))
R2025_12 = sorted((BOROUGH / "release_2025-12").glob("*.csv"))
WARD = sorted((SHARED / "mps_ward_crime" / "release_2025-12").glob("*.csv.gz"))


@cache
def wide_totals(paths, area_col_names=("Borough", "BoroughName", "LookUp_BoroughName"),
                minor_filter=None):
    """(area, YYYY-MM) -> total from the raw wide files, newest file last wins per month.
    Paths and filter as tuples and frozensets: computed once per process (read it only)."""
    by_month: dict[str, dict[tuple[str, str], int]] = {}
    for p in paths:
        per: Counter[tuple[str, str]] = Counter()
        for r in mps_wide(p):
            area = next(r[c] for c in area_col_names if c in r)
            minor = r.get("MinorText") or r.get("Minor Category")
            if minor_filter and minor not in minor_filter:
                continue
            for m in mps_month_columns(r):
                per[(area, f"{m[:4]}-{m[4:]}")] += int(r[m] or 0)
        months = {k[1] for k in per}
        for month in months:
            by_month[month] = {k: v for k, v in per.items() if k[1] == month}
    return {k: v for d in by_month.values() for k, v in d.items()}


def test_every_label_in_every_release_maps(con, cats):
    report = ingest(con, R2019 + R2025_02 + R2025_12 + WARD, cats)
    assert [f.unmapped for f in report.files] == [{}] * 6
    assert {f.kind for f in report.files} == {"borough", "ward"}


@pytest.mark.parametrize("order", ["old_first", "new_first"])
def test_newer_release_wins_overlap_whatever_the_order(db, cats, order):
    files = R2025_02 + R2025_12 if order == "old_first" else R2025_12 + R2025_02
    con = store.connect(db)
    try:
        report = ingest(con, files, cats)
        got = dict(((a, m), n) for a, m, n in counts(con, cats, source="mps",
                                                      by=["area", "month"]).rows)
    finally:
        con.close()
    expected = wide_totals(tuple(R2025_02 + R2025_12))  # chronological: 2025-12 overwrites overlap
    assert got == expected
    recent_12 = next(f for f in report.files if "release_2025-12" in f.path)
    recent_02 = next(f for f in report.files if "release_2025-02" in f.path
                     and "24 months" in f.path)
    # 2024-01..2025-02 overlap: 14 months revised by (or superseded in favour of) 2025-12.
    if order == "old_first":
        assert recent_12.revised_months == 14 and recent_02.superseded_months == 0
    else:
        assert recent_02.superseded_months == 14 and recent_12.revised_months == 0


def test_residential_burglary_split_labels_sum(con, cats):
    ingest(con, R2025_12, cats)
    rows = dict(counts(con, cats, source="mps", areas=["Barnet"], start=date(2024, 3, 1),
                       end=date(2024, 3, 1), category_names=["Residential burglary"],
                       by=["crime_type"]).rows)
    # PROVENANCE.md: Barnet 2024-03 RES BURGLARY OF A HOME 130 + OF UNCONNECTED BUILDING 36.
    assert rows["RES BURGLARY OF A HOME"] == 130
    assert rows["RES BURGLARY OF UNCONNECTED BUILDING"] == 36
    assert sum(rows.values()) == 166


def test_2019_release_old_classification(con, cats):
    ingest(con, R2019, cats)
    expected = wide_totals(tuple(R2019), minor_filter=frozenset({"Burglary in a Dwelling",
                                                                 "Burglary - Residential"}))
    got = dict(((a, m), n) for a, m, n in counts(
        con, cats, source="mps", category_names=["Residential burglary"],
        by=["area", "month"]).rows)
    assert got == {k: v for k, v in expected.items()}


def test_ward_rows_get_local_authority_from_ons_lookup(con, cats):
    report = ingest(con, WARD, cats)
    assert report.files[0].rows == 18_707
    got = dict(counts(con, cats, source="mps", mps_level="ward", by=["area"]).rows)
    raw: Counter[str] = Counter()
    for r in mps_wide(WARD[0]):
        for m in mps_month_columns(r):
            raw[r["LookUp_BoroughName"]] += int(r[m] or 0)
    # Aviation Security (SO18) wards (Heathrow) belong to Hillingdon in the ONS lookup.
    assert got["Barnet"] == raw["Barnet"]
    assert got["Hillingdon"] == raw["Hillingdon"] + raw["Aviation Security (SO18)"]
    assert sum(got.values()) == sum(raw.values())
