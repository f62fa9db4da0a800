"""Rates by LSOA and ward: pinned to counts straight from the raw files (csv module) and to
the shipped population files read independently; intervals, ranks and verdicts by hand."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from scipy.stats import chi2, poisson

from saferboard import store as st
from saferboard.core import categories
from saferboard.core.areas import SmallArea, lsoas_of
from saferboard.core.errors import InputError
from saferboard.measures.area_rates import area_rates, rank_rates
from saferboard.sources.populations import read_populations
from tests.conftest import EXAMPLES, SHARED, needs_shared, run_cli
from tests.csvcount import rows, street_tally

DATA = Path(__file__).resolve().parents[1] / "src" / "saferboard" / "data"
STREET = sorted((EXAMPLES / "policeuk").glob("202[345]-*-metropolitan-street.csv.gz"))
WARDS = EXAMPLES / "mps" / "release_2025-12" / "MPS Ward Level Crime (most recent 24 months).csv.gz"


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("rates") / "r.duckdb"
    r = run_cli("ingest", "--db", db, *STREET, WARDS)
    assert r.code == 0, r.stderr
    return db


def barnet_burglary_by_lsoa(start: str, end: str) -> Counter[str]:
    """Met rows in Barnet LSOAs with a burglary crime type, months start..end (csv module)."""
    out: Counter[str] = Counter()
    for path in STREET:
        for k, n in street_tally(path).items():
            if (start <= k.month <= end and k.lsoa_name.startswith("Barnet ")
                    and k.crime_type == "Burglary"
                    and k.reported_by == "Metropolitan Police Service"):
                out[k.lsoa_code] += n
    return out


def shipped_barnet_populations() -> dict[str, int]:
    with open(DATA / "london_lsoas.csv", newline="") as f:
        barnet = {r["lsoa_code"] for r in csv.DictReader(f)
                  if r["vintage"] == "2021" and r["lad_name"] == "Barnet"}
    with open(DATA / "london_lsoa_population.csv", newline="") as f:
        return {r["lsoa_code"]: int(r["population"]) for r in csv.DictReader(f)
                if r["vintage"] == "2021" and r["lsoa_code"] in barnet}


def barnet_population(year: int) -> int:
    with open(DATA / "london_denominators.csv", newline="") as f:
        return max((int(r["year"]), int(r["value"])) for r in csv.DictReader(f)
                   if r["name"] == "Barnet" and r["measure"] == "population"
                   and int(r["year"]) <= year)[1]


def test_lsoa_rates_match_the_raw_files(example_db: Path) -> None:
    expected = barnet_burglary_by_lsoa("2024-03", "2025-02")
    pops = shipped_barnet_populations()
    assert len(pops) == 220
    scale = barnet_population(2025) / sum(pops.values())
    con = st.connect(example_db, read_only=True)
    try:
        r = area_rates(con, categories.load(), "barnet", level="lsoa", start=date(2024, 3, 1),
                       end=date(2025, 2, 1), category_names=["Burglary"])
    finally:
        con.close()
    assert r.area == "Barnet" and len(r.rows) == 220
    got = {a.code: a.count for a in r.rows}
    # Every crime is in a row or listed as unallocated (2011 codes): none vanish.
    assert r.area_count == sum(expected.values()) == sum(got.values()) + sum(
        n for _, n in r.unallocated)
    assert {c: n for c, n in got.items() if n} == {
        c: n for c, n in expected.items() if c in pops}
    assert r.area_population == barnet_population(2025)
    assert sum(a.population or 0 for a in r.rows) == pytest.approx(barnet_population(2025))
    top = r.rows[0]
    assert top.rank == 1
    assert top.rate == pytest.approx(expected[top.code] / (pops[top.code] * scale) * 1000)
    assert top.rate == max(1000 * expected[c] / (pops[c] * scale) for c in pops)
    lo = chi2.ppf(0.025, 2 * top.count) / 2 / (pops[top.code] * scale) * 1000
    assert top.lower == pytest.approx(lo)
    # Ranks follow the rates.
    rates = [a.rate for a in r.rows]
    assert rates == sorted(rates, reverse=True)


def test_rank_rates_by_hand() -> None:
    places = [SmallArea("A", "a", 1000, ""), SmallArea("B", "b", 1000, ""),
              SmallArea("C", "c", 2000, ""), SmallArea("D", "d", None, ""),
              SmallArea("E", "e", 500, "")]
    counts = {"A": 40, "B": 10, "C": 20, "D": 7, "E": 5}
    area_rate = 75 / 4500  # per person, as the authority's count over its population
    out = rank_rates(counts, places, 1.0, area_rate)
    # B, C and E tie at 10 per 1,000 and share rank 2 (larger counts first); D has no
    # population: listed last, unranked, its crimes still shown.
    assert [(a.code, a.rank) for a in out] == [
        ("A", 1), ("C", 2), ("B", 2), ("E", 2), ("D", None)]
    a = out[0]
    assert a.rate == 40.0 and a.upper == pytest.approx(chi2.ppf(0.975, 82) / 2)
    # A: 40 against an expectation of 16.67 is far above it, also after BH over 4 tests.
    p_a = 2 * poisson.sf(39, 1000 * area_rate)
    assert a.p_adjusted == pytest.approx(min(1.0, p_a * 4))
    assert a.versus_area == "higher"
    assert out[-1].versus_area == "no population" and out[-1].count == 7
    # Scaling every population by 2 halves every rate.
    half = rank_rates(counts, places, 2.0, area_rate / 2)
    assert half[0].rate == 20.0


def test_ward_rates_need_populations_and_use_them(example_db: Path, tmp_path: Path) -> None:
    r = run_cli("area-rates", "--db", example_db, "--area", "Barnet", "--level", "ward")
    assert r.code == 1 and "--population" in r.stderr and len(r.stderr.splitlines()) == 1
    # Ward counts straight from the MPS file: Barnet wards, 12 months to 2025-11.
    expected: Counter[str] = Counter()
    for rec in rows(WARDS):
        if rec["LookUp_BoroughName"] == "Barnet":
            for m in ("202412", "202501", "202502", "202503", "202504", "202505", "202506",
                      "202507", "202508", "202509", "202510", "202511"):
                expected[rec["WardCode"]] += int(rec[m])
    pop = tmp_path / "wards.csv"
    pop.write_text("Code,Name,Population\n" + "".join(
        f"{c},w,{10_000 + i}\n" for i, c in enumerate(sorted(expected))))
    r = run_cli("area-rates", "--db", example_db, "--area", "Barnet", "--level", "ward",
                "--from", "2024-12", "--to", "2025-11", "--population", pop, "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    got = {w["code"]: w["count"] for w in doc["rows"]}
    assert got == dict(expected) and doc["unallocated"] == []
    assert doc["area_count"] == sum(expected.values())
    first = doc["rows"][0]
    assert first["rate_per_1000"] == round(expected[first["code"]] / first["population"] * 1000, 2)


def test_population_file_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.csv"
    bad.write_text("code,population\nE01000001,1200\nE01000002,many\n")
    with pytest.raises(InputError, match=r"p\.csv: line 3: column 'population'"):
        read_populations(bad)
    bad.write_text("lsoa,people\n")
    with pytest.raises(InputError, match="missing column 'code'"):
        read_populations(bad)
    bad.write_text("code,population\nX,5\nX,6\n")
    with pytest.raises(InputError, match=r"line 3.*appears twice"):
        read_populations(bad)
    bad.write_text("code,population\nX,5\nY,inf\n")  # float() reads it; no population is
    with pytest.raises(InputError, match=r"line 3: column 'population': .*positive"):
        read_populations(bad)


def test_cli_table_and_errors(example_db: Path) -> None:
    r = run_cli("area-rates", "--db", example_db, "--area", "Barnet", "--category",
                "Burglary", "--to", "2025-02", "--format", "csv")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("rank,code,name,count,population,rate_per_1000")
    assert len(lines) == 221
    r = run_cli("area-rates", "--db", example_db, "--area", "Gotham")
    assert r.code == 1 and "Gotham" in r.stderr and len(r.stderr.splitlines()) == 1


@needs_shared
def test_shipped_lsoa_populations_keep_every_borough_total() -> None:
    """The 2021-LSOA populations re-derived by code add up to each borough's 2011-LSOA total
    (mid-2020 estimates, read from the shared ONS file)."""
    by_la: Counter[str] = Counter()
    with open(SHARED / "london_lsoa_population" / "london-mid2020-pop.csv", newline="") as f:
        for r in csv.DictReader(f):
            by_la[r["LAD11NM"]] += int(r["Persons_All-Ages"])
    for la in ("Barnet", "Tower Hamlets", "Westminster", "City of London"):
        total = sum(a.population or 0 for a in lsoas_of(la))
        assert abs(total - by_la[la]) <= len(lsoas_of(la)) / 2  # rounding of shared rows


def test_partial_population_file_rates_the_authority_on_covered_areas(
        example_db: Path, tmp_path: Path) -> None:
    """Areas missing from a --population file are listed without a rate and do not count in
    the authority's rate (which would otherwise divide all crimes by part of the people)."""
    full = run_cli("area-rates", "--db", example_db, "--area", "Barnet", "--category",
                   "Burglary", "--to", "2025-02", "--format", "json")
    rows = json.loads(full.stdout)["rows"]
    half = sorted(rows, key=lambda r: r["code"])[::2]
    pop = tmp_path / "half.csv"
    pop.write_text("code,population\n" + "".join(f"{r['code']},1500\n" for r in half))
    r = run_cli("area-rates", "--db", example_db, "--area", "Barnet", "--category",
                "Burglary", "--to", "2025-02", "--population", pop, "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    covered = sum(x["count"] for x in half)
    assert doc["area_rate_per_1000"] == round(covered / (1500 * len(half)) * 1000, 3)
    unrated = [x for x in doc["rows"] if x["versus_area"] == "no population"]
    assert len(unrated) == len(rows) - len(half) and all(x["rank"] is None for x in unrated)
