"""Any Community Safety Partnership (issue 15, evidence) on two more forces' real police.uk
files (../shared/data/policeuk_forces: West Mercia and North Wales, 2024-01..04 and
2025-01..12): Worcester (England) and Wrexham (Wales) in different forces, and South
Worcester, a CSP of three whole LAs (Malvern Hills, Worcester, Wychavon), whose figures are
the sum of theirs.

Pinned to an independent count: the csv module over the raw files, each row's LA from the
raw ONS LSOA 2021 -> LAD 2024 lookup, the LA's force from the raw LAD -> CSP -> PFA lookup
(only rows of the LA's own force count for it), populations from the raw ONS mid-2024 file
and LSOA residents from the raw Census 2021 file.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.core.errors import InputError
from saferboard.measures.area_rates import area_rates
from saferboard.measures.combined import with_partnership
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.measures.hotspots import street_points
from saferboard.measures.quality import quality
from saferboard.measures.series import MonthlyCounts
from saferboard.sources.ingest import ingest
from tests.conftest import SHARED, needs_shared, run_cli
from tests.csvcount import ONS, ons_la_of_code_2021, street_tally
from tests.test_national_forces import mid2024, months, pfa_of_la

pytestmark = needs_shared

FORCES = SHARED / "policeuk_forces"
PFA = {"west-mercia": "West Mercia", "north-wales": "North Wales"}
SOUTH_WORCESTER = ("Malvern Hills", "Worcester", "Wychavon")
ASB = "Anti-social behaviour"


def files(force: str) -> list[Path]:
    return sorted(FORCES.glob(f"*-{force}-street.csv.gz"))


@cache
def raw() -> Counter[tuple[str, str, str, str, str, bool]]:
    """(force, LA, month, crime type, LSOA code, located) -> rows, for every row whose
    LSOA code the raw ONS lookup knows."""
    out: Counter[tuple[str, str, str, str, str, bool]] = Counter()
    las = ons_la_of_code_2021()
    for force in PFA:
        for path in files(force):
            for k, n in street_tally(path).items():
                la = las.get(k.lsoa_code)
                if la is not None:
                    out[(force, la, k.month, k.crime_type, k.lsoa_code, k.located)] += n
    return out


def own(la: str, in_months: list[str], types: set[str] | None = None,
        exclude: set[str] = frozenset()) -> int:  # type: ignore[assignment]
    """Crimes of `la` by its own force's files in the months, of the types."""
    return sum(n for (force, a, m, t, _, _), n in raw().items()
               if a == la and PFA[force] == pfa_of_la()[la] and m in in_months
               and (types is None or t in types) and t not in exclude)


def store_of(db: Path, paths: list[Path]
             ) -> tuple[Path, categories.Categories, dict[str, MonthlyCounts]]:
    """A new store at `db` with `paths` imported, and its monthly counts."""
    cats = categories.load()
    con = store.connect(db)
    try:
        ingest(con, paths, cats)
        return db, cats, load_sources(con, cats)
    finally:
        con.close()


@pytest.fixture(scope="module")
def forces(tmp_path_factory: pytest.TempPathFactory):
    return store_of(tmp_path_factory.mktemp("csp") / "csp.duckdb",
                    [p for f in PFA for p in files(f)])


def test_two_areas_in_two_forces_quarter_and_rolling_figures(forces):
    """Quarter (2025-03 vs 2024-03) and rolling 12 months (2025) with the rate against the
    mid-2024 population, for an English and a Welsh LA of two forces."""
    _, cats, sources = forces
    for la in ("Worcester", "Wrexham"):
        q = dashboard(sources, cats, load_config(), la, date(2025, 3, 1),
                      ["Total notifiable offences", ASB]).rows
        assert q[0].quarter_volume == own(la, months("2025-01", "2025-03"), exclude={ASB})
        assert q[0].quarter_previous == own(la, months("2024-01", "2024-03"), exclude={ASB})
        assert q[1].quarter_volume == own(la, months("2025-01", "2025-03"), {ASB})
        (r,) = dashboard(sources, cats, load_config(), la, date(2025, 12, 1),
                         ["Shoplifting"]).rows
        volume = own(la, months("2025-01", "2025-12"), {"Shoplifting"})
        assert (r.rolling12_volume, r.denominator_year) == (volume, 2024)
        assert r.rate_per_1000 == round(volume / mid2024()[la] * 1000, 2)
    # Pinned: Wrexham's shoplifting in 2025 (North Wales Police files).
    (w,) = dashboard(sources, cats, load_config(), "W06000006", date(2025, 12, 1),
                     ["Shoplifting"]).rows
    assert w.area == "Wrexham" and w.rolling12_volume == own(
        "Wrexham", months("2025-01", "2025-12"), {"Shoplifting"}) > 0


def test_csp_of_several_las_is_their_sum(forces):
    """South Worcester = Malvern Hills + Worcester + Wychavon: every window's count, and the
    rate against the sum of their mid-2024 populations; `counts` sums them too."""
    db, cats, sources = forces
    combined, name = with_partnership(sources, "South Worcester")
    assert name == "South Worcester"
    (q,) = dashboard(combined, cats, load_config(), name, date(2025, 3, 1), ["Burglary"]).rows
    assert q.quarter_volume == sum(own(la, months("2025-01", "2025-03"), {"Burglary"})
                                   for la in SOUTH_WORCESTER)
    assert q.quarter_previous == sum(own(la, months("2024-01", "2024-03"), {"Burglary"})
                                     for la in SOUTH_WORCESTER)
    (r,) = dashboard(combined, cats, load_config(), name, date(2025, 12, 1),
                     ["Burglary"]).rows
    volume = sum(own(la, months("2025-01", "2025-12"), {"Burglary"}) for la in SOUTH_WORCESTER)
    population = sum(mid2024()[la] for la in SOUTH_WORCESTER)
    assert r.rolling12_volume == volume
    assert r.rate_per_1000 == round(volume / population * 1000, 2)
    cli = run_cli("dashboard", "--db", db, "--area", "South Worcester", "--month", "2025-12",
                  "--category", "Burglary", "--format", "json")
    assert cli.code == 0, cli.stderr
    assert json.loads(cli.stdout)[0]["rolling12_volume"] == volume
    # counts: the CSP's name counts its LAs' rows (not an empty filter on its name).
    c = run_cli("counts", "--db", db, "--area", "South Worcester", "--category", "Burglary",
                "--from", "2025-01", "--to", "2025-12", "--by", "area", "--format", "json")
    assert c.code == 0, c.stderr
    assert {x["area"]: x["count"] for x in json.loads(c.stdout)} == {
        la: own(la, months("2025-01", "2025-12"), {"Burglary"}) for la in SOUTH_WORCESTER}


def test_a_csp_covering_part_of_an_la_is_refused_never_empty(forces):
    """Bournemouth and Poole are CSPs of part of Bournemouth, Christchurch and Poole: every
    command refuses with the LA to use, never a zero from a filter matching no row."""
    db, _, sources = forces
    for command in (("counts",), ("outcomes", "--from", "2025-01", "--to", "2025-12"),
                    ("dashboard", "--month", "2025-12")):
        r = run_cli(*command, "--db", db, "--area", "Poole")
        assert r.code == 1, (command, r.stdout)
        assert "covers only part of Bournemouth, Christchurch and Poole" in r.stderr, command
    assert with_partnership(sources, "Poole")[1] == "Poole"  # left to the refusal above


def test_a_csp_sum_missing_an_authority_is_refused(forces):
    """A CSP whose LAs are only partly in a source would be short: refused, naming them."""
    _, _, sources = forces
    only_two = dict(sources)
    table = sources["policeuk"]
    keep = [i for i, a in enumerate(table.areas) if a != "Wychavon"]
    only_two["policeuk"] = replace(
        table, areas=tuple(table.areas[i] for i in keep), counts=table.counts[keep],
        present=table.present[keep],
        covered={a: m for a, m in table.covered.items() if a != "Wychavon"},
        gap_counts=table.gap_counts[keep] if table.gap_counts.size else table.gap_counts)
    with pytest.raises(InputError, match="no rows for Wychavon, so its sum would be short"):
        with_partnership(only_two, "South Worcester")


def test_peer_ranks_with_a_list_across_two_forces(forces):
    """`compare --peers LIST` for Wrexham: names and codes, rates against mid-2024
    populations; Cardiff (South Wales Police, not loaded) is listed, not dropped."""
    db, _, _ = forces
    r = run_cli("compare", "--db", db, "--area", "Wrexham", "--category", "Shoplifting",
                "--month", "2025-12", "--peers", "Flintshire,W06000016,Conwy,Worcester,Cardiff",
                "--format", "json")
    assert r.code == 0, r.stderr
    got = json.loads(r.stdout)
    names = ["Wrexham", "Flintshire", "Conwy", "Worcester"]
    rates = {n: own(n, months("2025-01", "2025-12"), {"Shoplifting"}) / mid2024()[n] * 1000
             for n in names}
    ranked = [g for g in got if g["rank"] is not None]
    assert [g["area"] for g in ranked] == sorted(names, key=rates.__getitem__)
    assert [g["rate_per_1000"] for g in ranked] == [round(rates[g["area"]], 3)
                                                    for g in ranked]
    assert [g["rank"] for g in ranked] == [1, 2, 3, 4]
    unranked = {g["area"]: g["vs_peer_average"] for g in got if g["rank"] is None}
    # W06000016 is Rhondda Cynon Taf (South Wales Police), not loaded either.
    assert set(unranked) == {"Rhondda Cynon Taf", "Cardiff"}
    assert all("South Wales force's files" in why for why in unranked.values())


def test_hotspot_map_of_a_welsh_area(forces, tmp_path):
    db, cats, _ = forces
    con = store.connect(db, read_only=True)
    try:
        pts = street_points(con, cats, "Wrexham", start=date(2025, 1, 1),
                            end=date(2025, 12, 1), category_names=["Burglary"])
    finally:
        con.close()
    expected = sum(n for (force, la, m, t, _, located), n in raw().items()
                   if force == "north-wales" and la == "Wrexham" and m.startswith("2025")
                   and t == "Burglary" and located)
    assert pts.force == "north-wales" and pts.rows == len(pts.x) == expected > 0
    out = tmp_path / "wrexham.html"
    r = run_cli("hotspots", "--db", db, "--area", "Wrexham", "--category", "Burglary",
                "--from", "2025-01", "--to", "2025-12", "--format", "html", "--out", out)
    assert r.code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "Wrexham" in page and "Acton" in page  # a ward of Wrexham, drawn as an outline


def test_lsoa_rate_table_of_a_welsh_area(forces):
    db, cats, _ = forces
    con = store.connect(db, read_only=True)
    try:
        r = area_rates(con, cats, "Wrexham", level="lsoa", start=date(2025, 1, 1),
                       end=date(2025, 12, 1), category_names=["Violence and sexual offences"])
    finally:
        con.close()
    with open(SHARED / "ons_population_ew" / "census2021_lsoa21_usual_residents.csv",
              newline="", encoding="utf-8") as f:
        residents = {x["lsoa21_code"]: int(x["usual_residents_census2021"])
                     for x in csv.DictReader(f) if x["lad24_name"] == "Wrexham"}
    by_lsoa: Counter[str] = Counter()
    for (force, la, m, t, code, _), n in raw().items():
        if (force == "north-wales" and la == "Wrexham" and m.startswith("2025")
                and t == "Violence and sexual offences"):
            by_lsoa[code] += n
    assert {a.code for a in r.rows} == set(residents)
    assert {a.code: a.count for a in r.rows if a.count} == dict(by_lsoa)
    scale = mid2024()["Wrexham"] / sum(residents.values())
    for a in r.rows:
        assert a.population == pytest.approx(residents[a.code] * scale)
        assert a.rate == pytest.approx(a.count / (residents[a.code] * scale) * 1000)


def test_out_of_area_rows_of_both_forces(forces):
    """Rows a force file geocodes in another force's LAs count for the force only and are
    listed by `quality`."""
    db, _, sources = forces
    con = store.connect(db, read_only=True)
    try:
        q = {x.force: x for x in quality(con, categories.load())}
    finally:
        con.close()
    for force, pfa in PFA.items():
        outside: Counter[str] = Counter()
        for (f, la, _, _, _, _), n in raw().items():
            if f == force and pfa_of_la()[la] != pfa:
                outside[la] += n
        assert q[force].outside_force == dict(outside) and outside
        # An LA of a force not loaded has no figures at all from these strays; one of a
        # loaded force (West Mercia rows in Wrexham) has only its own force's (`own`, above).
        for la in outside:
            assert sources["policeuk"].has_area(la) == (pfa_of_la()[la] in PFA.values())


def test_partial_window(forces):
    """2025-04: the quarter (Feb-Apr) against Feb-Apr 2024 is computed; the rolling 12
    months and its change are null with the missing months named; 2024-08 (no data around
    it at all) is still an error."""
    _, cats, sources = forces
    (row,) = dashboard(sources, cats, load_config(), "Wrexham", date(2025, 4, 1),
                       ["Robbery"]).rows
    assert row.quarter_volume == own("Wrexham", months("2025-02", "2025-04"), {"Robbery"})
    assert row.quarter_previous == own("Wrexham", months("2024-02", "2024-04"), {"Robbery"})
    assert row.rolling12_volume is None and row.rate_per_1000 is None
    assert not row.complete and any("2024-05" in c for c in row.caveats)
    with pytest.raises(InputError, match="no indicator can be computed"):
        dashboard(sources, cats, load_config(), "Wrexham", date(2024, 8, 1), ["Robbery"])


def test_ons_lookup_is_what_the_test_uses():
    """The three LAs of South Worcester, per the raw ONS lookup this file counts with."""
    with open(ONS / "lookup_ltla24_csp24_pfa24.csv", newline="", encoding="utf-8-sig") as f:
        las = sorted(r["ltla24_name"] for r in csv.DictReader(f)
                     if r["csp24_name"] == "South Worcester")
    assert tuple(las) == SOUTH_WORCESTER
