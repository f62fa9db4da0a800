"""The bundled example data and the demo: run anywhere (no ../shared needed)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from saferboard.measures.counts import counts
from saferboard.measures.windows import shift
from saferboard.sources.ingest import ingest
from tests.conftest import EXAMPLES, run_cli
from tests.csvcount import mps_month_columns, mps_wide, rows, street_counts

STREET = sorted((EXAMPLES / "policeuk").glob("*-street.csv.gz"))
MET_STREET = [p for p in STREET if "metropolitan" in p.name]
MPS_FILES = sorted((EXAMPLES / "mps").rglob("MPS Borough*.csv.gz"))


def mps_category_total(area: str, minors: set[str], start: str, end: str) -> int:
    """Sum of the wide MPS cells, newest release winning each month (2025-12 from 2024-01)."""
    total = 0
    for p in MPS_FILES:
        newest = "release_2025-12" in str(p)
        for r in mps_wide(p):
            if r["BoroughName"] != area or r["MinorText"] not in minors:
                continue
            for m in mps_month_columns(r):
                month = f"{m[:4]}-{m[4:]}"
                if not start <= month <= end:
                    continue
                if newest or month < "2024-01":
                    total += int(r[m] or 0)
    return total


def test_example_street_counts_match_raw_files(con, cats):
    ingest(con, [EXAMPLES / "policeuk", EXAMPLES / "mps"], cats)
    by_area = street_counts(STREET, "area")
    got = dict(counts(con, cats, by=["area"]).rows)
    assert got == dict(by_area)
    by_type = street_counts(STREET, "crime_type")
    assert dict(counts(con, cats, by=["crime_type"]).rows) == dict(by_type)


def test_demo_dashboard_matches_raw_files(demo):
    board = demo.dashboard
    assert (board.area, board.month) == ("Barnet", date(2025, 12, 1))
    got = {r.category: r for r in board.rows}
    res = {"BURGLARY - RESIDENTIAL", "BURGLARY IN A DWELLING", "RES BURGLARY OF A HOME",
           "RES BURGLARY OF UNCONNECTED BUILDING"}
    assert got["Residential burglary"].quarter_volume == mps_category_total(
        "Barnet", res, "2025-10", "2025-12")
    assert got["Residential burglary"].rolling12_previous == mps_category_total(
        "Barnet", res, "2024-01", "2024-12")
    assert got["Robbery"].rolling12_volume == mps_category_total(
        "Barnet", {"ROBBERY OF PERSONAL PROPERTY", "ROBBERY OF BUSINESS PROPERTY"},
        "2025-01", "2025-12")
    burglary = got["Burglary"]
    assert burglary.quarter_volume == (got["Residential burglary"].quarter_volume
                                       + got["Non-residential burglary"].quarter_volume)
    # The examples hold no Barnet anti-social behaviour: no data with a note, not a zero.
    assert got["Anti-social behaviour"].source is None
    assert got["Anti-social behaviour"].quarter_volume is None


def test_demo_command_prints_table_and_builds_database(demo_run):
    made, result = demo_run  # `saferboard demo --out DIR`, run once per session
    assert result.code == 0, result.stderr
    assert made.db.exists()
    assert "Residential burglary" in result.stdout
    assert f"Database: {made.db}" in result.stdout.replace("\n", "")
    assert f"PDF:  {made.pack.pdf}" in result.stdout.replace("\n", "")
    q = run_cli("counts", "--db", made.db, "--source", "mps",
                "--area", "Barnet", "--from", "2025-10", "--to", "2025-12",
                "--category", "Robbery", "--format", "json")
    assert q.code == 0, q.stderr
    expected = mps_category_total(
        "Barnet", {"ROBBERY OF PERSONAL PROPERTY", "ROBBERY OF BUSINESS PROPERTY"},
        "2025-10", "2025-12")
    assert json.loads(q.stdout) == [{"count": expected}]


def test_counts_cli_csv_by_month_area(tmp_path, cats):
    db = tmp_path / "x.duckdb"
    assert run_cli("ingest", "--db", db, *MET_STREET[:3]).code == 0
    r = run_cli("counts", "--db", db, "--by", "month,area", "--area", "Barnet",
                "--area", "Harrow", "--format", "csv")
    assert r.code == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == "month,area,count"
    expected: Counter[tuple[str, str]] = Counter()
    for p in MET_STREET[:3]:
        for rec in rows(p):
            la = rec["LSOA name"].rsplit(" ", 1)[0] if rec["LSOA name"] else None
            if la in ("Barnet", "Harrow"):
                expected[(rec["Month"], la)] += 1
    assert lines[1:] == [f"{m},{a},{n}" for (m, a), n in sorted(expected.items())]


def test_shift_months():
    assert shift(date(2025, 12, 1), -11) == date(2025, 1, 1)
    assert shift(date(2025, 1, 1), -1) == date(2024, 12, 1)
    assert shift(date(2024, 12, 1), 1) == date(2025, 1, 1)
