"""Cost of crime: the shipped unit costs against the shared transcription, the seeds'
arithmetic, the store path pinned to a csv-module reading of the example MPS release, the GDP
deflator uplift, the cohort's cost avoided, and bad input."""

from __future__ import annotations

import csv
import gzip
import json
import tomllib
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard import store
from saferboard.core import categories
from saferboard.core.crime_costs import UnitCosts, deflator_by_year, load_unit_costs
from saferboard.core.errors import InputError
from saferboard.core.quarters import financial_year
from saferboard.measures.cohort import CohortData, Membership, Offence, cohort_measures
from saferboard.measures.costs import (
    cohort_costs,
    cost_avoided,
    cost_report,
    crime_cost,
)
from saferboard.measures.dashboard import load_sources
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import months_between, shift
from saferboard.sources.ingest import ingest
from tests.conftest import EXAMPLES, SHARED, needs_shared, run_cli

DATA = Path(__file__).resolve().parents[1] / "src" / "saferboard" / "data"
RELEASE = (EXAMPLES / "mps" / "release_2025-12"
           / "MPS Borough Level Crime (most recent 24 months).csv.gz")
HEEKS_CSV = SHARED / "cost_of_crime_heeks2018" / "heeks2018_unit_costs_partial.csv"


@pytest.fixture(scope="module")
def costs() -> UnitCosts:
    return load_unit_costs()


def test_every_category_has_a_decision(costs: UnitCosts) -> None:
    cats = categories.load()
    load_unit_costs(categories=cats)  # raises if any category is undecided
    for name in cats.names():
        assert (name in costs.categories) + (name in costs.unmapped) + (
            name in costs.aggregates) == 1, name
    assert costs.price_year == "2015/16"
    assert "Heeks" in costs.citation and "Research Report 99" in costs.citation
    assert all(u.covers and u.source for u in costs.units.values())


@needs_shared
@pytest.mark.shared
def test_verified_costs_equal_the_shared_transcription(costs: UnitCosts) -> None:
    """Every unit cost marked verified equals the shared transcription of the report;
    unverified ones are not pinned here (PROVENANCE.md: 'do not put them in tests')."""
    with HEEKS_CSV.open(encoding="utf-8") as f:
        shared = {r["offence"]: float(r["gbp_per_offence_2015_16_prices"])
                  for r in csv.DictReader(f) if r["cost_component"] == "total_unit_cost"}
    names = {"Criminal damage - arson": "Criminal damage - arson",
             "Other criminal damage": "Other criminal damage"}
    verified = {k: u for k, u in costs.units.items() if u.verified}
    assert len(verified) >= 8
    for heeks, unit in verified.items():
        assert unit.cost == shared[names.get(heeks, heeks)], heeks
    # Homicide is transcribed only as "£3.2m": the shipped figure must round to it.
    assert round(costs.units["Homicide"].cost, -5) == shared["Homicide"]


def test_seed001_burglary_arithmetic() -> None:
    """Seed 001: 'Each burglary costs the State an average of £1500. ... 55 burglaries ...
    costing the borough £82,500. In the same week in 2016 there were 83 burglaries ... costing
    the state £125,000' (83 x 1,500 = 124,500, rounded in the seed)."""
    assert crime_cost(55, 1500) == 82_500
    assert crime_cost(83, 1500) == 124_500
    assert cost_avoided(83, 55, 1500) == 42_000
    assert cost_avoided(55, 83, 1500) == -42_000


def burglary_cohort(members: int = 100) -> CohortData:
    """Burglary 2.4 -> 1.2 per offender-year: 120 fewer burglaries a year for 100 members,
    seed 002's '240 fewer households ... between October 2013 and September 2015'."""
    join = date(2013, 10, 1)
    day = timedelta(days=1)
    ms = [Membership(f"p{i}", "IOM", join) for i in range(members)]
    offs = []
    for i in range(members):
        nb = 3 if i < 40 else 2  # 120 + 120 = 240 before over 100 offender-years
        offs += [Offence(f"p{i}", join - (k * 100 + 1) * day, "Burglary dwelling", True)
                 for k in range(nb)]
        na = 3 if i < 40 else 2  # 240 after over 200 offender-years = 1.2 a year
        offs += [Offence(f"p{i}", join + (k * 200) * day, "Burglary dwelling", True)
                 for k in range(na)]
    return CohortData.from_records(ms, offs)


def test_seed002_burglary_cost_avoided(costs: UnitCosts, tmp_path: Path) -> None:
    """Seed 002: 240 fewer burglaries in two years = 120 a year; '£470,000 annually'. The
    seed does not state its unit cost; its figures imply 470,000 / 120 = £3,917 per burglary
    (the older Home Office figure it used). With that unit cost the arithmetic gives the
    seed's figure; with Heeks et al. the same reduction is priced at 120 x their cost."""
    r = cohort_measures(burglary_cohort(), as_of=date(2015, 9, 30))
    assert r.overall.rate_before == pytest.approx(2.4)
    assert r.overall.rate_after == pytest.approx(240 / (730 / 365 * 100))
    (burglary,) = r.by_type
    assert burglary.avoided_per_year == pytest.approx(120.0)
    override = tmp_path / "old.toml"
    override.write_text('[unit_costs."Domestic burglary"]\ncost = 3917\nverified = false\n'
                        'source = "implied by seed 002"\ncovers = "-"\n')
    old = cohort_costs(r, load_unit_costs(override), include_unverified=True)
    assert round(old.cost_avoided_per_year, -4) == 470_000
    # Heeks et al.'s domestic burglary cost is not verified: used only when asked for.
    heeks = cohort_costs(r, costs, include_unverified=True)
    assert heeks.cost_avoided_per_year == pytest.approx(
        120 * costs.units["Domestic burglary"].cost)
    assert heeks.rows[0].heeks == "Domestic burglary" and not heeks.unpriced
    assert heeks.unverified == ()
    default = cohort_costs(r, costs)
    assert not costs.units["Domestic burglary"].verified
    assert default.cost_avoided_per_year == 0.0
    assert default.unverified == ("Burglary dwelling",) and default.unverified_small == 0
    (row,) = default.rows
    assert row.cost_avoided_per_year is None and row.avoided_per_year == pytest.approx(120)


def test_cohort_costs_small_and_unpriced_types(costs: UnitCosts) -> None:
    join, day = date(2020, 1, 1), timedelta(days=1)
    ms = [Membership(f"p{i}", "IOM", join) for i in range(10)]
    offs = []
    for i in range(10):
        offs += [Offence(f"p{i}", join - (k + 1) * 30 * day, "Theft of motor vehicle", True)
                 for k in range(2)]
        offs += [Offence(f"p{i}", join - 5 * day, "Drug possession", True)]
    offs += [Offence("p0", join - 7 * day, "Rape", True)]  # one: a small cell
    r = cohort_measures(CohortData.from_records(ms, offs), as_of=join + 364 * day)
    c = cohort_costs(r, costs)
    by = {t.offence_type: t for t in c.rows}
    assert by["Theft of motor vehicle"].cost_avoided_per_year == pytest.approx(
        20 * costs.units["Theft of vehicle"].cost)
    assert by["Drug possession"].cost_avoided_per_year is None
    assert c.unpriced == ("Drug possession",)
    assert "Rape" not in by  # folded into the small-counts row, still in the total
    other = by["Other offence types (small counts)"]
    assert other.cost_avoided_per_year == pytest.approx(costs.units["Rape"].cost)
    assert c.cost_avoided_per_year == pytest.approx(
        20 * costs.units["Theft of vehicle"].cost + costs.units["Rape"].cost)


# --------------------------------------------------------------------------- store path


def independent_costs(area: str, ref: date, verified_only: bool = False
                      ) -> tuple[dict[str, tuple[int, int]], float, float]:
    """Per category (count in the 12 months to `ref`, in the 12 before) and the priced totals
    (with `verified_only`, of the categories whose unit cost says verified = true), read with
    the csv module from the example release and the two TOML files directly."""
    mapping = tomllib.loads((DATA / "categories.toml").read_text())["mps"]
    norm = {" ".join(k.split()).upper(): v for k, v in mapping.items()}
    units = tomllib.loads((DATA / "crime_costs.toml").read_text())
    cost_of = {c: units["unit_costs"][v["heeks"]]["cost"]
               for c, v in units["categories"].items()
               if units["unit_costs"][v["heeks"]]["verified"] or not verified_only}
    cur_m = {f"{m:%Y%m}" for m in months_between(shift(ref, -11), ref)}
    prev_m = {f"{int(m[:4]) - 1}{m[4:]}" for m in cur_m}
    out: dict[str, tuple[int, int]] = {}
    with gzip.open(RELEASE, "rt", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if row["BoroughName"] != area:
                continue
            cat = norm[" ".join(f"{row['MajorText']} / {row['MinorText']}".split()).upper()]
            cur = sum(int(row[m] or 0) for m in cur_m)
            old = sum(int(row.get(m) or 0) for m in prev_m)  # months before the release: 0
            a, b = out.get(cat, (0, 0))
            out[cat] = (a + cur, b + old)
    total = sum(out[c][0] * cost_of[c] for c in out if c in cost_of)
    before = sum(out[c][1] * cost_of[c] for c in out if c in cost_of)
    return out, total, before


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("costs") / "ex.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [RELEASE], categories.load())
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def sources(example_db: Path) -> dict[str, MonthlyCounts]:
    con = store.connect(example_db, read_only=True)
    try:
        return load_sources(con, categories.load())
    finally:
        con.close()


@pytest.mark.parametrize("include_unverified", [False, True])
@pytest.mark.parametrize(("area", "ref"), [("Barnet", date(2025, 12, 1)),
                                            ("Camden", date(2025, 12, 1))])
def test_cost_report_matches_csv_reading(sources: dict[str, MonthlyCounts], costs: UnitCosts,
                                         area: str, ref: date, include_unverified: bool
                                         ) -> None:
    rep = cost_report(sources, categories.load(), costs, area, ref,
                      include_unverified=include_unverified)
    counts, total, before = independent_costs(area, ref, verified_only=not include_unverified)
    assert rep.source == "mps" and rep.price_factor == 1.0
    assert rep.include_unverified is include_unverified
    for row in rep.rows:
        assert (row.count, row.previous_count) == counts[row.category]
        assert row.cost == row.count * costs.units[row.heeks].cost
        assert row.verified or include_unverified
    for u in rep.unmapped:
        assert (u.count, u.previous_count) == counts[u.category] and u.reason
    for lo in rep.left_out:  # every category priced, not priced or left out: nothing lost
        assert (lo.count, lo.previous_count) == counts[lo.category]
        assert not costs.units[lo.heeks].verified
    assert ({r.category for r in rep.rows} | {u.category for u in rep.unmapped}
            | {u.category for u in rep.left_out}) == set(counts)
    assert rep.total_cost == pytest.approx(total)
    assert rep.previous_cost == pytest.approx(before)
    assert rep.avoided_by_volume == pytest.approx(before - total)
    assert set(rep.unverified) == {r.heeks for r in rep.rows if not costs.units[r.heeks].verified}
    assert bool(rep.unverified) is include_unverified
    assert bool(rep.left_out) is not include_unverified


def test_barnet_pinned(sources: dict[str, MonthlyCounts], costs: UnitCosts) -> None:
    """Barnet, 2025: residential burglary 1,636 (2024: 1,839) - summed by hand from the
    release's 'RES BURGLARY OF A HOME', 'RES BURGLARY OF UNCONNECTED BUILDING' and
    'BURGLARY - RESIDENTIAL' rows."""
    home = [162, 143, 134, 92, 84, 63, 66, 112, 93, 97, 108, 140]
    unconnected = [31, 18, 36, 27, 27, 20, 23, 31, 29, 41, 28, 30]
    residential = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert sum(home) + sum(unconnected) + sum(residential) == 1636
    rep = cost_report(sources, categories.load(), costs, "Barnet", date(2025, 12, 1),
                      include_unverified=True)
    row = next(r for r in rep.rows if r.category == "Residential burglary")
    assert (row.count, row.previous_count) == (1636, 1839)
    assert row.cost_avoided == (1839 - 1636) * costs.units["Domestic burglary"].cost
    # By default its unverified unit cost is not used: left out, with its crimes, and in
    # no total. The totals are those of the verified categories (csv module reading).
    default = cost_report(sources, categories.load(), costs, "Barnet", date(2025, 12, 1))
    assert [(u.category, u.count, u.previous_count) for u in default.left_out
            if u.category == "Residential burglary"] == [("Residential burglary", 1636, 1839)]
    assert "Residential burglary" not in {r.category for r in default.rows}
    assert [u.category for u in default.left_out] == [
        "Violence without injury", "Residential burglary", "Theft from the person", "Homicide"]
    assert [u.count for u in default.left_out] == [3710, 1636, 1047, 1]
    assert round(default.total_cost) == 52_709_200 and round(rep.total_cost) == 89_073_580
    assert default.total_cost == pytest.approx(
        independent_costs("Barnet", date(2025, 12, 1), verified_only=True)[1])


def deflator_factor(year: str) -> float:
    """From 2015-16 prices to `year`'s, read with the csv module from the shipped series."""
    with (DATA / "gdp_deflator.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(line for line in f if not line.startswith("#")))[1:]
    index = {y: float(v) for y, v in rows}
    return index[year] / index["2015-16"]


def test_price_year_uplift(sources: dict[str, MonthlyCounts], costs: UnitCosts) -> None:
    factor = deflator_factor("2023-24")
    base = cost_report(sources, categories.load(), costs, "Barnet", date(2025, 12, 1))
    up = cost_report(sources, categories.load(), costs, "Barnet", date(2025, 12, 1),
                     price_year="2023/24")
    assert up.price_year == "2023/24" and up.price_factor == pytest.approx(factor)
    assert up.total_cost == pytest.approx(base.total_cost * factor)
    assert base.avoided_by_volume is not None
    assert up.avoided_by_volume == pytest.approx(base.avoided_by_volume * factor)
    rebased = [n for n in up.notes if n.startswith("Rebased from 2015/16 to 2023/24")]
    assert len(rebased) == 1 and "gdp_deflator.csv" in rebased[0]
    assert not any(n.startswith("Rebased") for n in base.notes)
    same = cost_report(sources, categories.load(), costs, "Barnet", date(2025, 12, 1),
                       price_year="2015-16")
    assert same.price_factor == 1.0
    with pytest.raises(InputError, match="has no 1999/00"):
        costs.factor("1999/00")


def test_financial_year_parsing() -> None:
    assert financial_year("2015/16") == "2015/16"
    assert financial_year("2015-16") == "2015/16"
    assert financial_year("2015-2016") == "2015/16"
    assert financial_year("1999/00") == "1999/00"
    for bad in ("2015", "2015/17", "15/16", "next year"):
        with pytest.raises(InputError):
            financial_year(bad)


def test_bad_deflator_and_unit_cost_files(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("# a comment\nyear,index\n2015-16,92\n2016-17,abc\n")
    with pytest.raises(InputError, match=r"d.csv: line 4: column 'index': index must be a number"):
        deflator_by_year(p)
    p.write_text("when,what\n2015-16,92\n")
    with pytest.raises(InputError, match="header must be 'year,index'"):
        deflator_by_year(p)
    p.write_text("year,index\n2015/17,92\n")  # 2015/16 and 2015-16 are both read
    with pytest.raises(InputError, match="line 2: expected 'YYYY/YY,index'"):
        deflator_by_year(p)
    p.write_text("year,index\n2015-16,0\n")
    with pytest.raises(InputError, match="positive"):
        deflator_by_year(p)
    p.write_text("year,index\n")
    with pytest.raises(InputError, match="no deflator rows"):
        deflator_by_year(p)
    with pytest.raises(InputError, match="cannot read"):
        deflator_by_year(tmp_path / "missing.csv")
    p.write_text("year,index\n2015-16,80\n2023-24,100\n")
    assert deflator_by_year(p) == {"2015/16": 80.0, "2023/24": 100.0}
    assert load_unit_costs(deflator=p).factor("2023/24") == 1.25
    t = tmp_path / "u.toml"
    t.write_text('[categories]\n"Drugs" = { heeks = "Drug dealing" }\n')
    with pytest.raises(InputError, match="'Drug dealing', which has no unit cost"):
        load_unit_costs(t)
    t.write_text('[unit_costs."Robbery"]\ncost = -3\n')
    with pytest.raises(InputError, match="non-negative"):
        load_unit_costs(t)
    t.write_text("not [toml")
    with pytest.raises(InputError, match="not valid TOML"):
        load_unit_costs(t)
    # An override that maps a category prices it, and it leaves [unmapped].
    t.write_text('[unit_costs."Drug offence"]\ncost = 100\n[categories]\n'
                 '"Drugs" = { heeks = "Drug offence" }\n')
    c = load_unit_costs(t)
    assert c.unit_for_category("Drugs") is not None and "Drugs" not in c.unmapped


def test_no_deflator_series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from saferboard.core import crime_costs as mod

    monkeypatch.setattr(mod, "_shipped_deflator", lambda: None)
    c = load_unit_costs()
    assert c.factor(None) == 1.0 and c.factor("2015/16") == 1.0
    with pytest.raises(InputError, match="give a 'deflator' file") as e:
        c.factor("2023/24")
    # The CLI names its flag: the error names parameters, each layer says them its own way.
    assert "give a --deflator file" in e.value.message(lambda p: "--" + p)


def test_report_without_the_year_before(sources: dict[str, MonthlyCounts],
                                        costs: UnitCosts) -> None:
    """The example release starts 2024-01: the 12 months to 2024-12 are costed alone."""
    rep = cost_report(sources, categories.load(), costs, "Barnet", date(2024, 12, 1),
                      include_unverified=True)
    counts, total, _ = independent_costs("Barnet", date(2024, 12, 1))
    assert rep.total_cost == pytest.approx(total)
    assert {r.category: r.count for r in rep.rows} == {
        c: counts[c][0] for c in counts if c in costs.categories}
    assert rep.previous_cost is None and rep.avoided_by_volume is None
    assert all(r.previous_count is None and r.cost_avoided is None for r in rep.rows)
    assert any("no comparison" in n for n in rep.notes)
    with pytest.raises(InputError, match="lacks 24 of the 24 months"):
        cost_report(sources, categories.load(), costs, "Barnet", date(2023, 6, 1))


POLICEUK = sorted((EXAMPLES / "policeuk").glob("20*-city-of-london-street.csv.gz"))


def test_policeuk_area_matches_csv_reading(tmp_path: Path, costs: UnitCosts) -> None:
    """City of London from the police.uk example files (12 months, 2019-12..2020-11): the
    coarse police.uk types are priced as the file says (Burglary as domestic burglary,
    Robbery as robbery of an individual, criminal damage and arson as other criminal damage),
    pinned to a csv-module count of the same files."""
    assert len(POLICEUK) == 12
    db = tmp_path / "p.duckdb"
    con = store.connect(db)
    try:
        cats = categories.load()
        ingest(con, POLICEUK, cats)
        srcs = load_sources(con, cats)
    finally:
        con.close()
    by_type: dict[str, int] = {}
    for path in POLICEUK:
        with gzip.open(path, "rt", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                if (row["LSOA name"] or "").startswith("City of London "):
                    by_type[row["Crime type"]] = by_type.get(row["Crime type"], 0) + 1
    rep = cost_report(srcs, cats, costs, "City of London", date(2020, 11, 1),
                      include_unverified=True)
    assert rep.source == "policeuk" and rep.avoided_by_volume is None
    # Burglary (domestic burglary) and theft from the person have unverified unit costs: by
    # default they are left out and the total is the verified categories' only.
    default = cost_report(srcs, cats, costs, "City of London", date(2020, 11, 1))
    assert {u.category: u.count for u in default.left_out} == {
        "Burglary": by_type["Burglary"], "Theft from the person": by_type["Theft from the person"]}
    assert default.total_cost == pytest.approx(
        by_type["Robbery"] * costs.units["Robbery"].cost
        + by_type["Criminal damage and arson"] * costs.units["Other criminal damage"].cost)
    got = {r.category: r.count for r in rep.rows}
    priced = {"Burglary": "Domestic burglary", "Robbery": "Robbery",
              "Theft from the person": "Theft from the person",
              "Criminal damage and arson": "Other criminal damage"}
    assert got == {t: n for t, n in by_type.items() if t in priced}
    assert rep.total_cost == pytest.approx(
        sum(by_type[t] * costs.units[h].cost for t, h in priced.items()))
    assert any("Burglary: police.uk 'Burglary' includes" in n for n in rep.notes)
    unmapped = {u.category: u.count for u in rep.unmapped}
    assert unmapped["Violence and sexual offences"] == by_type["Violence and sexual offences"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1,
                max_size=6),
       st.floats(0.5, 3.0))
def test_report_invariants(pairs: list[tuple[int, int]], factor: float) -> None:
    """On an in-memory MonthlyCounts: totals are sums of rows, the price factor scales every
    money figure, and volume avoided is antisymmetric in the two years."""
    cats = categories.load()
    leaves = ("Residential burglary", "Theft from motor vehicle", "Drugs", "Homicide",
              "Violence with injury", "Shoplifting")[:len(pairs)]
    months = tuple(months_between(date(2024, 1, 1), date(2025, 12, 1)))
    arr = np.zeros((1, len(leaves), 24), dtype=np.int64)
    for i, (old, cur) in enumerate(pairs):
        arr[0, i, 0] = old
        arr[0, i, 12] = cur
    table = MonthlyCounts("mps", ("Barnet",), leaves, months, arr,
                          {"Barnet": frozenset(months)}, np.ones((1, len(leaves)), bool))
    c = load_unit_costs()
    c2 = UnitCosts(c.citation, c.price_year, c.units, c.categories, c.unmapped, c.aggregates,
                   c.offence_types, {"2015/16": 100.0, "2030/31": 100.0 * factor}, c.notes)
    a = cost_report({"mps": table}, cats, c2, "Barnet", date(2025, 12, 1),
                    include_unverified=True)
    b = cost_report({"mps": table}, cats, c2, "Barnet", date(2025, 12, 1),
                    price_year="2030/31", include_unverified=True)
    v = cost_report({"mps": table}, cats, c2, "Barnet", date(2025, 12, 1))
    # Verified only: the unverified categories move to left_out, whole, and nothing else.
    assert [r.category for r in v.rows] == [r.category for r in a.rows if r.verified]
    assert sum(u.count for u in v.left_out) == sum(r.count for r in a.rows if not r.verified)
    assert v.total_cost == pytest.approx(sum(r.cost for r in a.rows if r.verified))
    assert a.total_cost == pytest.approx(sum(r.cost for r in a.rows))
    assert b.total_cost == pytest.approx(a.total_cost * factor)
    assert b.avoided_by_volume == pytest.approx(a.avoided_by_volume * factor)
    assert a.avoided_by_volume == pytest.approx(a.previous_cost - a.total_cost)
    priced = [(o, n) for (o, n), leaf in zip(pairs, leaves, strict=True)
              if leaf in c.categories]
    assert sum(r.count for r in a.rows) == sum(n for _, n in priced)
    assert sum(u.count for u in a.unmapped) == sum(n for (_, n), leaf in zip(
        pairs, leaves, strict=True) if leaf not in c.categories)


# --------------------------------------------------------------------------- CLI


def test_cli_costs_json_and_price_year(example_db: Path) -> None:
    r = run_cli("costs", "--db", example_db, "--area", "barnet", "--month", "2025-12",
                "--format", "json")
    assert r.code == 0, r.stderr
    body = json.loads(r.stdout)
    _, total, before = independent_costs("Barnet", date(2025, 12, 1), verified_only=True)
    assert body["total_cost"] == round(total) == 52_709_200
    assert body["cost_avoided_by_volume"] == round(before - total)
    assert body["cohort"] is None and "partner_cohort" in r.stderr
    assert body["price_year"] == "2015/16"
    assert body["include_unverified"] is False and body["unverified_unit_costs"] == []
    assert {u["category"]: u["count"] for u in body["left_out_unverified"]} == {
        "Violence without injury": 3710, "Residential burglary": 1636,
        "Theft from the person": 1047, "Homicide": 1}
    every = run_cli("costs", "--db", example_db, "--area", "barnet", "--month", "2025-12",
                    "--include-unverified", "--format", "json")
    assert every.code == 0, every.stderr
    all_body = json.loads(every.stdout)
    _, total_all, _ = independent_costs("Barnet", date(2025, 12, 1))
    assert all_body["total_cost"] == round(total_all) == 89_073_580
    assert all_body["left_out_unverified"] == []
    assert all_body["unverified_unit_costs"] == [
        "Domestic burglary", "Homicide", "Theft from the person", "Violence without injury"]
    up = run_cli("costs", "--db", example_db, "--area", "Barnet", "--month", "2025-12",
                 "--price-year", "2023/24", "--format", "json")
    assert up.code == 0, up.stderr
    assert json.loads(up.stdout)["total_cost"] == round(total * deflator_factor("2023-24"))
    table = run_cli("costs", "--db", example_db, "--area", "Barnet", "--month", "2025-12")
    assert table.code == 0 and "Violence with injury" in table.stdout
    assert "Not priced" in table.stdout and "Heeks" in table.stdout
    said = " ".join(table.stdout.split())
    assert "Left out (unit cost not yet verified against the report" in said
    assert "Residential burglary (1,636 crimes; Domestic burglary, unverified £5,930)" in said
    assert "--include-unverified" in said
    table_all = run_cli("costs", "--db", example_db, "--area", "Barnet", "--month", "2025-12",
                        "--include-unverified")
    assert "Warning: priced with unit costs not yet verified" in " ".join(
        table_all.stdout.split())
    csv_out = run_cli("costs", "--db", example_db, "--area", "Barnet", "--month", "2025-12",
                      "--format", "csv")
    assert csv_out.code == 0 and "Residential burglary" not in csv_out.stdout
    assert "left out (unit cost not yet verified" in csv_out.stderr
    assert "Residential burglary" in csv_out.stderr


@pytest.mark.parametrize(("args", "needle"), [
    (("--price-year", "2023"), "financial year"),
    (("--price-year", "1990/91"), "has no 1990/91"),
    (("--month", "2023-06"), "lacks 24 of the 24 months"),
    (("--area", "Nowhere"), "is called 'Nowhere'; did you mean"),
    (("--month", "2025-13"), "YYYY-MM"),
    (("--price-year", "2023/24", "--deflator", "/nonexistent/deflator.csv"), "cannot read"),
    (("--unit-costs", "/nonexistent/costs.toml"), "unit costs not found"),
])
def test_cli_costs_bad_input(example_db: Path, args: tuple[str, ...], needle: str) -> None:
    base = {"--area": "Barnet", "--month": "2025-12"}
    full: list[str] = []
    for k, v in base.items():
        if k not in args:
            full += [k, v]
    r = run_cli("costs", "--db", example_db, *full, *args)
    assert r.code != 0
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_pack_costs_follow_include_unverified(example_db: Path) -> None:
    # `pack --include-unverified` reaches the pack's cost of crime section: the default
    # leaves the unverified categories out and says so; the flag prices them and says which.
    # The section costs every category whatever pages the configuration asks for, so the
    # pack has three category pages and one hotspot page here (the charts are its cost).
    from saferboard.report.pack import build_context
    from tests.test_pack_words import small_config

    cats, config = categories.load(), small_config()
    con = store.connect(example_db, read_only=True)
    try:
        default = build_context(con, cats, config, "Barnet", date(2025, 12, 1))
        wider = build_context(con, cats, config, "Barnet", date(2025, 12, 1),
                              include_unverified=True)
    finally:
        con.close()
    assert default["costs"].total != wider["costs"].total
    assert len(wider["costs"].rows) > len(default["costs"].rows)
    assert any("Homicide" in n for n in [*default["costs"].notes, default["costs"].total])
