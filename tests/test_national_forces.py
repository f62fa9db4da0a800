"""Any area of England and Wales (issue 15) on real police.uk files of forces outside London
(../shared/data/policeuk_forces: Sussex, Hampshire, Dorset; 2024-01..04 and 2025-01..12),
pinned to an independent count: the csv module over the raw files, with each row's LA from
the raw ONS lookups (not the shipped national files) and only the rows of the LA's own force.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.core.errors import InputError
from saferboard.measures.area_rates import area_rates
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.measures.hotspots import street_points
from saferboard.measures.quality import quality
from saferboard.sources.ingest import ingest
from tests.conftest import SHARED, needs_shared, run_cli
from tests.csvcount import ONS, ons_la_of_code_2021, street_tally

pytestmark = needs_shared

FORCES = SHARED / "policeuk_forces"
POP = SHARED / "ons_population_ew"
# ONS police force area of each police.uk force slug loaded here.
PFA = {"sussex": "Sussex", "hampshire": "Hampshire", "dorset": "Dorset"}


@cache
def pfa_of_la() -> dict[str, str]:
    with open(ONS / "lookup_ltla24_csp24_pfa24.csv", newline="", encoding="utf-8-sig") as f:
        return {r["ltla24_name"]: r["pfa24_name"] for r in csv.DictReader(f)}


@cache
def mid2024() -> dict[str, int]:
    with open(POP / "mye2024_lad_all_ages.csv", newline="", encoding="utf-8") as f:
        return {r["name"]: int(r["population_mid2024"]) for r in csv.DictReader(f)}


def files(force: str) -> list[Path]:
    return sorted(FORCES.glob(f"*-{force}-street.csv.gz"))


@dataclass(frozen=True)
class RawCounts:
    own: Counter[tuple[str, str, str]]  # (LA, month, crime type) -> the LA's own force's rows
    outside: Counter[tuple[str, str]]  # (force, LA) -> a force's rows in another force's LA
    lsoa: Counter[tuple[str, str]]  # (LA, LSOA) -> own-force rows of 2025
    located: Counter[tuple[str, str, str]]  # as `own`, the rows with a longitude only
    types: dict[str, set[str]]  # force -> every crime type in its files


@cache
def raw_counts() -> RawCounts:
    """The three forces' files read once with the csv module, into every count the tests
    compare with."""
    raw = RawCounts(Counter(), Counter(), Counter(), Counter(), {f: set() for f in PFA})
    las = ons_la_of_code_2021()
    for force, pfa in PFA.items():
        for path in files(force):
            for k, n in street_tally(path).items():
                raw.types[force].add(k.crime_type)
                la = las.get(k.lsoa_code)
                if la is None:
                    continue
                if pfa_of_la()[la] != pfa:
                    raw.outside[(force, la)] += n
                    continue
                raw.own[(la, k.month, k.crime_type)] += n
                if k.located:
                    raw.located[(la, k.month, k.crime_type)] += n
                if k.month.startswith("2025"):
                    raw.lsoa[(la, k.lsoa_code)] += n
    return raw


def total(la: str, months: list[str], types: set[str] | None = None) -> int:
    return sum(n for (a, m, t), n in raw_counts().own.items()
               if a == la and m in months and (types is None or t in types))


def months(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


NOT_ASB = {"Anti-social behaviour"}


@pytest.fixture(scope="module")
def forces(tmp_path_factory: pytest.TempPathFactory):
    """One store with the three forces' street files (about 2 s per force)."""
    db = tmp_path_factory.mktemp("national") / "forces.duckdb"
    cats = categories.load()
    con = store.connect(db)
    try:
        ingest(con, [p for f in PFA for p in files(f)], cats)
        sources = load_sources(con, cats)
    finally:
        con.close()
    return db, cats, sources


def test_quarter_figures_and_partial_history(forces):
    """2025-03: the quarter against a year earlier (2024-01..03) is computed exactly; the
    rolling 12 months cannot be (2024-05..12 are not in the files): null, with the reason."""
    _, cats, sources = forces
    for la in ("Brighton and Hove", "Southampton"):
        row, asb = dashboard(sources, cats, load_config(), la, date(2025, 3, 1),
                             ["Total notifiable offences", "Anti-social behaviour"]).rows
        all_types = {t for (_, _, t) in raw_counts().own}
        assert row.source == "policeuk"
        assert row.quarter_volume == total(la, months("2025-01", "2025-03"), all_types - NOT_ASB)
        assert row.quarter_previous == total(la, months("2024-01", "2024-03"),
                                             all_types - NOT_ASB)
        assert asb.quarter_volume == total(la, months("2025-01", "2025-03"), NOT_ASB)
        assert row.rolling12_volume is None and row.rate_per_1000 is None
        assert not row.complete and "2024-05" in " ".join(row.caveats)
        assert "RAG from the factors available (last quarter, monthly exceptions)" in (
            row.caveats[-1])
    # Pinned: Brighton and Hove's crimes (all but ASB), Jan-Mar 2025 and 2024.
    b = dashboard(sources, cats, load_config(), "E06000043", date(2025, 3, 1),
                  ["Total notifiable offences"]).rows[0]
    assert (b.area, b.quarter_volume, b.quarter_previous) == (
        "Brighton and Hove", total("Brighton and Hove", months("2025-01", "2025-03"),
                                   {t for (_, _, t) in raw_counts().own} - NOT_ASB),
        total("Brighton and Hove", months("2024-01", "2024-03"),
              {t for (_, _, t) in raw_counts().own} - NOT_ASB))


def test_rolling_12_rate_against_mid_2024_population(forces):
    """2025-12: the rolling 12 months (2025) and its rate per 1,000 against the ONS mid-2024
    estimate are computed; the quarter's year-earlier months and the previous 12 are not."""
    _, cats, sources = forces
    for la in ("Brighton and Hove", "Southampton", "Bournemouth, Christchurch and Poole"):
        row = dashboard(sources, cats, load_config(), la, date(2025, 12, 1),
                        ["Burglary"]).rows[0]
        volume = total(la, months("2025-01", "2025-12"), {"Burglary"})
        assert row.rolling12_volume == volume
        assert row.denominator_year == 2024
        assert row.rate_per_1000 == round(volume / mid2024()[la] * 1000, 2)
        assert row.quarter_volume is None and row.rolling12_previous is None
        assert any("2024-10" in c for c in row.caveats)


def test_nothing_computable_is_still_an_error(forces):
    _, cats, sources = forces
    with pytest.raises(InputError, match="no indicator can be computed for 2024-08"):
        dashboard(sources, cats, load_config(), "Southampton", date(2024, 8, 1),
                  ["Burglary"])


def test_peer_ranks_with_a_list(forces):
    """`compare --peers LIST`: rates of the listed areas (names or codes) against mid-2024
    populations, ranked; a peer without data is listed with the reason, never dropped."""
    db, _, _ = forces
    r = run_cli("compare", "--db", db, "--area", "Southampton", "--category", "Burglary",
                "--month", "2025-12", "--peers",
                "Portsmouth,E06000043,Eastbourne,E06000058,Cheltenham",
                "--format", "json")
    assert r.code == 0, r.stderr
    got = json.loads(r.stdout)
    ranked = [g for g in got if g["rank"] is not None]
    names = ["Southampton", "Portsmouth", "Brighton and Hove", "Eastbourne",
             "Bournemouth, Christchurch and Poole"]
    rates = {n: total(n, months("2025-01", "2025-12"), {"Burglary"}) / mid2024()[n] * 1000
             for n in names}
    expected = sorted(names, key=lambda n: rates[n])
    assert [g["area"] for g in ranked] == expected
    assert [g["rank"] for g in ranked] == [1, 2, 3, 4, 5]
    for g in ranked:
        assert g["rate_per_1000"] == round(rates[g["area"]], 3)
        assert g["denominator"] == mid2024()[g["area"]]
    (chelt,) = [g for g in got if g["rank"] is None]
    assert chelt["area"] == "Cheltenham"
    assert chelt["vs_peer_average"] == ("not ranked: no policeuk data in the store (its "
                                        "police.uk figures are in the Gloucestershire "
                                        "force's files)")
    bad = run_cli("compare", "--db", db, "--area", "Southampton", "--peers",
                  "Portsmuth,Eastbourne")
    assert bad.code == 1 and "did you mean 'Portsmouth'" in bad.stderr
    assert "--peers" in bad.stderr


def test_built_in_peer_groups(forces):
    db, _, _ = forces
    r = run_cli("compare", "--db", db, "--area", "Eastbourne", "--category", "Robbery",
                "--month", "2025-12", "--peers", "same force", "--format", "json")
    assert r.code == 0, r.stderr
    got = json.loads(r.stdout)
    with open(ONS / "lookup_ltla24_csp24_pfa24.csv", newline="", encoding="utf-8-sig") as f:
        sussex = {r["ltla24_name"] for r in csv.DictReader(f) if r["pfa24_name"] == "Sussex"}
    assert {g["area"] for g in got} == sussex and all(g["rank"] for g in got)


def test_hotspot_points_and_map(forces, tmp_path):
    """The hotspot map of a non-London LA: its own force's located crimes, clipped to the
    national boundary."""
    db, cats, _ = forces
    con = store.connect(db, read_only=True)
    try:
        pts = street_points(con, cats, "Brighton and Hove", start=date(2025, 1, 1),
                            end=date(2025, 12, 1), category_names=["Burglary"])
    finally:
        con.close()
    # Brighton and Hove is in Sussex: its own-force rows are the Sussex files' rows there.
    assert pfa_of_la()["Brighton and Hove"] == PFA["sussex"]
    expected = sum(n for (la, month, kind), n in raw_counts().located.items()
                   if la == "Brighton and Hove" and month.startswith("2025")
                   and kind == "Burglary")
    assert pts.force == "sussex" and pts.rows == len(pts.x) == expected
    out = tmp_path / "map.html"
    r = run_cli("hotspots", "--db", db, "--area", "Brighton and Hove", "--category",
                "Burglary", "--from", "2025-01", "--to", "2025-12", "--format", "html",
                "--out", out)
    assert r.code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    assert "Brighton and Hove" in page and "http://" not in page.replace(
        "http://www.w3.org", "")


def test_lsoa_rate_table(forces):
    """LSOA rates for a non-London LA: every 2021 LSOA of the raw ONS lookup, counts by
    code, Census 2021 residents scaled to the mid-2024 population."""
    db, cats, _ = forces
    con = store.connect(db, read_only=True)
    try:
        r = area_rates(con, cats, "Southampton", level="lsoa", start=date(2025, 1, 1),
                       end=date(2025, 12, 1))
    finally:
        con.close()
    with open(POP / "census2021_lsoa21_usual_residents.csv", newline="",
              encoding="utf-8") as f:
        residents = {row["lsoa21_code"]: int(row["usual_residents_census2021"])
                     for row in csv.DictReader(f) if row["lad24_name"] == "Southampton"}
    by_lsoa = raw_counts().lsoa
    assert len(r.rows) == len(residents) == len(
        [c for c, la in ons_la_of_code_2021().items() if la == "Southampton"])
    assert {a.code: a.count for a in r.rows if a.count} == {
        c: n for (la, c), n in by_lsoa.items() if la == "Southampton"}
    assert r.area_count == total("Southampton", months("2025-01", "2025-12"))
    assert r.area_population == mid2024()["Southampton"]
    scale = mid2024()["Southampton"] / sum(residents.values())
    top = r.rows[0]
    assert top.population == pytest.approx(residents[top.code] * scale)
    assert top.rate == pytest.approx(top.count / (residents[top.code] * scale) * 1000)
    assert "Census 2021 usual residents" in r.population_note and r.unallocated == ()


def test_area_split_across_csps(forces):
    """Bournemouth, Christchurch and Poole is one LA split across three CSPs: its figures
    are the whole LA's (by LSOA code), and a CSP covering part of it is refused with the LA
    to use, never given the LA's figures; a CSP of several whole LAs is their sum."""
    db, cats, sources = forces
    row = dashboard(sources, cats, load_config(), "E06000058", date(2025, 3, 1),
                    ["Robbery"]).rows[0]
    bcp = "Bournemouth, Christchurch and Poole"
    assert row.area == bcp
    assert row.quarter_volume == total(bcp, months("2025-01", "2025-03"), {"Robbery"})
    for csp in ("Bournemouth", "Poole"):
        r = run_cli("dashboard", "--db", db, "--area", csp, "--month", "2025-03")
        assert r.code == 1 and "covers only part of Bournemouth, Christchurch and Poole" in (
            r.stderr)
    # A CSP of several whole LAs is their sum (docs/methods.md, Areas).
    r = run_cli("dashboard", "--db", db, "--area", "North Hampshire", "--month", "2025-03",
                "--category", "Robbery", "--format", "json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)[0]["quarter_volume"] == sum(
        total(la, months("2025-01", "2025-03"), {"Robbery"})
        for la in ("Basingstoke and Deane", "Hart", "Rushmoor"))


def test_out_of_area_rows_are_reported_not_counted(forces):
    """A force file's rows geocoded in another force's LAs count for the force only, and
    `quality` lists them by LA."""
    _, cats, sources = forces
    db = forces[0]
    con = store.connect(db, read_only=True)
    try:
        q = {x.force: x for x in quality(con, cats)}
    finally:
        con.close()
    outside = raw_counts().outside
    for force in PFA:
        assert q[force].outside_force == {la: n for (f, la), n in outside.items()
                                          if f == force}
        assert q[force].lsoa_vintage.get("unknown", 0) == 0
    # E.g. Sussex rows in Slough (Thames Valley) are not Slough's figures.
    assert q["sussex"].outside_force["Slough"] > 0
    assert not sources["policeuk"].has_area("Slough")


def test_init_writes_a_working_configuration(forces, tmp_path):
    """`init --area`: name and codes, ONS nearest neighbours (labelled as ONS's), same force
    and region from the raw ONS lookups, the police.uk types its data has by their published
    names plus the all-crime total, no targets; the dashboard runs with it."""
    import tomllib

    db, cats, sources = forces
    out = tmp_path / "brighton.toml"
    r = run_cli("init", "--db", db, "--area", "brighton & hove", "--out", out)
    assert r.code == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    doc = tomllib.loads(text)
    assert doc["partnership"]["area"] == "Brighton and Hove" and "E06000043" in text
    assert "not the Home Office's most similar" in text and "targets" not in doc
    with open(SHARED / "peer_groups" / "ons_nearest_neighbours_ltla_top15_long.csv",
              newline="", encoding="utf-8-sig") as f:
        ons = [x["neighbour_name"] for x in sorted(
            (x for x in csv.DictReader(f) if x["area_code"] == "E06000043"),
            key=lambda x: int(x["rank"]))]
    groups = doc["peer_groups"]
    assert groups["ONS nearest neighbours"] == ["Brighton and Hove", *ons] and len(ons) == 15
    assert groups["ONS nearest neighbours"][0] == "Brighton and Hove"
    with open(ONS / "lookup_ltla24_csp24_pfa24.csv", newline="", encoding="utf-8-sig") as f:
        sussex = {x["ltla24_name"] for x in csv.DictReader(f) if x["pfa24_name"] == "Sussex"}
    assert set(groups["Same force"]) == sussex
    assert doc["partnership"]["region"] == "South East"
    assert len(groups["South East"]) == 64
    types = raw_counts().types["sussex"]
    published = {"Vehicle crime": "Vehicle offences"}
    assert doc["dashboard"]["categories"] == [
        *[published.get(t, t) for t in (
            "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson",
            "Drugs", "Other theft", "Possession of weapons", "Public order", "Robbery",
            "Shoplifting", "Theft from the person", "Vehicle crime",
            "Violence and sexual offences", "Other crime") if t in types],
        "Total notifiable offences"]
    board = dashboard(sources, cats, load_config(out), "Brighton and Hove", date(2025, 12, 1))
    assert len(board.rows) == len(doc["dashboard"]["categories"])
    tno = board.rows[-1]
    assert tno.rolling12_volume == total("Brighton and Hove", months("2025-01", "2025-12"),
                                         {t for t in types if t not in NOT_ASB})
    nn = tno.ranks["ONS nearest neighbours"]
    # Of the 16, those with police.uk data here (Sussex, Hampshire, Dorset) are ranked;
    # the rest are listed as without data, never dropped.
    ranked = {"Brighton and Hove", "Southampton", "Bournemouth, Christchurch and Poole",
              "Portsmouth", "Crawley"}
    assert nn.of == len(ranked) and set(nn.without_data) == set(
        groups["ONS nearest neighbours"]) - ranked
    assert run_cli("init", "--area", "Brighton and Hoove").stderr.count(
        "did you mean 'Brighton and Hove'") == 1


def test_configured_groups_and_targets_apply_to_their_own_area(forces, tmp_path):
    """Another area than the configured one is ranked only in the region group, and a target
    is never applied to another area's figures."""
    db, cats, sources = forces
    cfg_file = tmp_path / "b.toml"
    assert run_cli("init", "--db", db, "--area", "Brighton and Hove", "--out",
                   cfg_file).code == 0
    text = cfg_file.read_text(encoding="utf-8").replace(
        "# [[targets]]", "[[targets]]").replace("# name =", "name =").replace(
        "# category =", "category =").replace("# baseline = 0", "baseline = 900").replace(
        "# change_pct =", "change_pct =").replace("# start =", "start =").replace(
        "# end =", "end =")
    cfg_file.write_text(text, encoding="utf-8")
    cfg = load_config(cfg_file)
    row = dashboard(sources, cats, cfg, "Southampton", date(2025, 12, 1), ["Burglary"]).rows[0]
    assert set(row.ranks) == {"South East"}
    r = run_cli("targets", "--db", db, "--config", cfg_file, "--area", "Southampton")
    assert r.code != 0 and "no target" in r.stderr and "Brighton and Hove" in r.stderr
    r = run_cli("targets", "--db", db, "--config", cfg_file, "--format", "json")
    assert r.code == 0, r.stderr
    (t,) = json.loads(r.stdout)
    assert t["area"] == "Brighton and Hove"


def test_ward_rate_table_outside_london(forces):
    """Wards of a non-London LA: its LSOA counts and Census 2021 residents summed to the
    best-fit wards of the raw ONS lookup, scaled to the mid-2024 population."""
    db, cats, _ = forces
    con = store.connect(db, read_only=True)
    try:
        r = area_rates(con, cats, "Southampton", level="ward", start=date(2025, 1, 1),
                       end=date(2025, 12, 1))
    finally:
        con.close()
    with open(ONS / "lookup_lsoa21_ward24_ltla24.csv", newline="", encoding="utf-8-sig") as f:
        ward_of = {x["lsoa21_code"]: x["ward24_code"] for x in csv.DictReader(f)
                   if x["ltla24_name"] == "Southampton"}
    with open(POP / "census2021_lsoa21_usual_residents.csv", newline="",
              encoding="utf-8") as f:
        residents = Counter()
        for x in csv.DictReader(f):
            if x["lsoa21_code"] in ward_of:
                residents[ward_of[x["lsoa21_code"]]] += int(x["usual_residents_census2021"])
    expected = Counter()
    for (la, code), n in raw_counts().lsoa.items():
        if la == "Southampton":
            expected[ward_of[code]] += n
    assert len(r.rows) == len(set(ward_of.values()))
    assert {a.code: a.count for a in r.rows if a.count} == dict(expected)
    scale = mid2024()["Southampton"] / sum(residents.values())
    assert {a.code: a.population for a in r.rows} == pytest.approx(
        {w: n * scale for w, n in residents.items()})
    assert r.area_population == mid2024()["Southampton"] and r.unallocated == ()
