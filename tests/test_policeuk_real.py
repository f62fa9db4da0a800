"""police.uk ingestion on the real shared slices, pinned to csv-module counts."""

from __future__ import annotations

from collections import Counter

from saferboard.core.areas import denominator_areas
from saferboard.measures.counts import counts
from saferboard.sources.ingest import ingest
from tests.conftest import SHARED, needs_shared, table_dump
from tests.csvcount import (
    ons_la_of_code_2021,
    ons_lsoa11_codes,
    rows,
    street_counts,
    street_tallies,
)

pytestmark = needs_shared

MET = SHARED / "policeuk_met_burglary"
COL = SHARED / "policeuk_city_of_london"


def test_met_burglary_counts_by_month_and_area(con, cats):
    files = sorted(MET.glob("*-street.csv.gz"))
    report = ingest(con, files, cats)
    assert len(report.files) == 36
    assert report.rows_loaded == 161_381  # PROVENANCE.md total
    raw = street_tallies(files, "month", "la", "area", "no_lsoa_name")
    by_month = raw["month"]
    got = dict(counts(con, cats, by=["month"]).rows)
    assert got == dict(by_month)
    # Areas come from the LSOA code through the ONS lookup; London's are the same by name,
    # so every London borough's count is unchanged by the switch from names to codes.
    by_area = raw["la"]
    got_area = dict(counts(con, cats, by=["area"]).rows)
    assert got_area == dict(by_area)
    by_name = raw["area"]
    london = set(denominator_areas())
    assert {a: n for a, n in got_area.items() if a in london} == {
        a: n for a, n in by_name.items() if a in london}
    # Outside London, former districts' names give way to today's authority.
    assert by_name["South Bucks"] == 2 and "South Bucks" not in got_area
    assert got_area["Buckinghamshire"] == by_name["Buckinghamshire"] + 2
    # PROVENANCE.md per-month Barnet column, e.g. 2022-03: 218, 2025-02: 192.
    barnet = dict(counts(con, cats, areas=["Barnet"], by=["month"]).rows)
    assert barnet["2022-03"] == 218 and barnet["2023-06"] == 142 and barnet["2025-02"] == 192
    # Rows with no LSOA count for the force only; the import summary says how many.
    no_lsoa = raw["no_lsoa_name"][True]
    assert sum(f.rows_without_area for f in report.files) == no_lsoa == by_area[None]


def test_duplicates_are_kept_and_reimport_is_idempotent(con, cats, db):
    files = sorted(COL.glob("*-street.csv.gz"))
    ingest(con, files, cats)
    raw = street_tallies(files, "all", "crime_type")
    total = raw["all"]["all"]
    assert total == 22_111
    assert counts(con, cats).total == total
    asb = raw["crime_type"]["Anti-social behaviour"]
    assert counts(con, cats, category_names=["Anti-social behaviour"]).total == asb == 3_013
    con.close()
    before = table_dump(db)
    from saferboard import store

    con2 = store.connect(db)
    try:
        again = ingest(con2, files, cats)
    finally:
        con2.close()
    assert {f.status for f in again.files} == {"skipped (identical)"}
    assert table_dump(db) == before


def test_every_crime_type_maps_and_parents_sum(con, cats):
    files = sorted(COL.glob("*-street.csv.gz"))
    report = ingest(con, files, cats)
    assert all(not f.unmapped for f in report.files)
    types = street_counts(files, "crime_type")
    tno = counts(con, cats, category_names=["Total notifiable offences"]).total
    assert tno == sum(types.values()) - types["Anti-social behaviour"]
    by_cat = dict(counts(con, cats, by=["category"]).rows)
    assert by_cat["Vehicle offences"] == types["Vehicle crime"]
    theft = counts(con, cats, category_names=["Theft"]).total
    assert theft == sum(types[t] for t in
                        ("Other theft", "Shoplifting", "Bicycle theft", "Theft from the person"))


def test_outcomes_and_stop_and_search_load_every_row(con, cats):
    files = sorted(MET.glob("2022-0[3-5]-metropolitan-outcomes.csv.gz")) + sorted(
        MET.glob("2022-0[3-5]-metropolitan-stop-and-search.csv.gz"))
    ingest(con, files, cats)
    for kind, table in (("outcomes", "outcomes"), ("stop-and-search", "stop_search")):
        expected = sum(1 for p in files if kind in p.name for _ in rows(p))
        got = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        assert got == expected
    no_coords = sum(1 for p in files if "stop" in p.name for r in rows(p) if not r["Latitude"])
    got_nc = con.execute("SELECT count(*) FROM stop_search WHERE latitude IS NULL").fetchall()
    assert got_nc[0][0] == no_coords


def test_quality_reports_mixed_lsoa_vintages(con, cats):
    from saferboard.measures.quality import quality

    files = sorted(MET.glob("2023-0[1-7]-metropolitan-street.csv.gz"))
    ingest(con, files, cats)
    (q,) = quality(con, cats)
    assert q.months_present == 7 and q.months_missing == ()
    # PROVENANCE.md, 2023-01..07: lsoa11only 356+257+213+168+80+0+0,
    # lsoa21only 74+81+145+214+307+398+447.
    # Vintages now come from the national ONS lookups: London's 2011-only rows as in
    # PROVENANCE.md, plus one Met row each in a 2011-only and a 2021-only LSOA outside London
    # (independent count with the raw ONS lookups below).
    assert q.lsoa_vintage["2011"] == 356 + 257 + 213 + 168 + 80 + 1
    assert q.lsoa_vintage["2021"] == 74 + 81 + 145 + 214 + 307 + 398 + 447 + 1
    lsoa21 = set(ons_la_of_code_2021())
    lsoa11 = ons_lsoa11_codes()
    raw = Counter("both" if c in lsoa21 and c in lsoa11 else "2021" if c in lsoa21 else
                  "2011" if c in lsoa11 else "unknown"
                  for p in files for c in (r["LSOA code"] for r in rows(p)) if c)
    assert q.lsoa_vintage == dict(raw)
    assert q.rows_without_coords == 159 + 106 + 271 + 136 + 14 + 87 + 19
