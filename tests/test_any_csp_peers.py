"""Barnet's seed most similar group across sources (issue 15, item 5): its London members
from the MPS borough counts, Brighton and Hove, Eastbourne (Sussex) and Southend-on-Sea
(Essex) from the real police.uk files of ../shared/data/policeuk_forces, compared only on
categories both sources publish, and saying so. Pinned to an independent count: the csv
module over the raw MPS and police.uk files, each police.uk row's LA from the raw ONS lookup
and only rows of the LA's own force; populations from the shipped London file and the raw
ONS mid-2024 estimates, read with csv.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core.config import load_config
from saferboard.measures.compare import compare
from saferboard.measures.dashboard import dashboard, dashboards
from tests.conftest import EXAMPLES, ROOT, SHARED, needs_shared, run_cli
from tests.csvcount import mps_month_columns, mps_wide, ons_la_of_code_2021, street_tally
from tests.test_any_csp import store_of
from tests.test_national_forces import pfa_of_la

pytestmark = needs_shared

FORCES = SHARED / "policeuk_forces"
MPS = EXAMPLES / "mps" / "release_2025-12"
PFA = {"sussex": "Sussex", "dorset": "Dorset", "essex": "Essex"}
MONTH = date(2025, 12, 1)
MSG = load_config().peer_groups["Most similar group"]
LONDON_MSG = [m for m in MSG if m not in {"Bournemouth", "Brighton and Hove",
                                          "Southend-on-Sea", "Cheltenham", "Eastbourne"}]


def force_files(force: str) -> list[Path]:
    return sorted(FORCES.glob(f"2025-*-{force}-street.csv.gz"))


@cache
def policeuk_2025() -> Counter[tuple[str, str]]:
    """(LA, crime type) -> 2025 crimes of the LA's own force."""
    out: Counter[tuple[str, str]] = Counter()
    las = ons_la_of_code_2021()
    for force, pfa in PFA.items():
        for path in force_files(force):
            for k, n in street_tally(path).items():
                la = las.get(k.lsoa_code)
                if la is not None and pfa_of_la()[la] == pfa:
                    out[(la, k.crime_type)] += n
    return out


@cache
def mps_2025() -> Counter[tuple[str, str]]:
    """(borough, MPS major group) -> crimes of 2025 in the 2025-12 borough release."""
    out: Counter[tuple[str, str]] = Counter()
    for r in mps_wide(MPS / "MPS Borough Level Crime (most recent 24 months).csv.gz"):
        out[(r["BoroughName"], r["MajorText"])] += sum(
            int(r[m]) for m in mps_month_columns(r) if m.startswith("2025"))
    return out


@cache
def population() -> dict[str, tuple[int, int]]:
    """Area -> (population, year): London from the shipped London file (latest year not
    after 2025), elsewhere the raw ONS mid-2024 estimates."""
    out: dict[str, tuple[int, int]] = {}
    with open(SHARED / "ons_population_ew" / "mye2024_lad_all_ages.csv", newline="",
              encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[r["name"]] = (int(r["population_mid2024"]), 2024)
    with open(ROOT / "src" / "saferboard" / "data" / "london_denominators.csv", newline="",
              encoding="utf-8") as f:
        london = [r for r in csv.DictReader(f) if r["measure"] == "population"
                  and int(r["year"]) <= 2025]
    for r in sorted(london, key=lambda r: int(r["year"])):
        out[r["name"]] = (int(r["value"]), int(r["year"]))
    return out


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory):
    """Barnet's MPS borough counts and three forces' police.uk files of 2025."""
    return store_of(tmp_path_factory.mktemp("msg") / "msg.duckdb",
                    [MPS, *(p for f in PFA for p in force_files(f))])


def expected_burglary() -> dict[str, float]:
    counts = {b: mps_2025()[(b, "BURGLARY")] for b in LONDON_MSG}
    counts.update({la: policeuk_2025()[(la, "Burglary")]
                   for la in ("Brighton and Hove", "Eastbourne", "Southend-on-Sea")})
    return {a: n / population()[a][0] * 1000 for a, n in counts.items()}


def test_seed_msg_ranks_its_members_outside_london_on_a_shared_category(mixed):
    db, _, _ = mixed
    r = run_cli("compare", "--db", db, "--area", "Barnet", "--category", "Burglary",
                "--month", "2025-12", "--peers", "Most similar group", "--format", "json")
    assert r.code == 0, r.stderr
    got = json.loads(r.stdout)
    rates = expected_burglary()
    ranked = [g for g in got if g["rank"] is not None]
    assert [g["area"] for g in ranked] == sorted(rates, key=rates.__getitem__)
    assert [g["rank"] for g in ranked] == list(range(1, 14))
    for g in ranked:
        assert g["rate_per_1000"] == round(rates[g["area"]], 3)
        assert (g["denominator"], g["denominator_year"]) == population()[g["area"]]
        assert g["source"] == ("mps" if g["area"] in LONDON_MSG else "policeuk")
    # Pinned: the three police.uk members are the three lowest (Eastbourne 321 burglaries
    # per 104,259 residents), Barnet 12th of 13 (2,089 per 389,101).
    assert [(g["area"], g["count"]) for g in ranked[:3]] == [
        ("Eastbourne", 321), ("Southend-on-Sea", 591), ("Brighton and Hove", 907)]
    assert [(g["rank"], g["count"]) for g in ranked if g["area"] == "Barnet"] == [(12, 2089)]
    # Listed, never dropped: Cheltenham (Gloucestershire's files are not loaded) and
    # Bournemouth (a CSP covering part of Bournemouth, Christchurch and Poole).
    unranked = {g["area"]: g["vs_peer_average"] for g in got if g["rank"] is None}
    assert set(unranked) == {"Cheltenham", "Bournemouth"}
    assert "Gloucestershire" in unranked["Cheltenham"]
    assert "covers only part of Bournemouth, Christchurch and Poole" in (
        unranked["Bournemouth"])
    assert "note: Cross-source comparison" in r.stderr
    assert "Burglary is a category both sources publish" in r.stderr


def test_category_only_one_source_publishes_is_not_compared_across_sources(mixed):
    """Residential burglary (MPS only): the police.uk members are listed as not comparable,
    and the group is the London members alone, with no cross-source note."""
    _, cats, sources = mixed
    result = compare(sources["mps"], cats, "Residential burglary", MONTH, "msg", MSG,
                     rate_base="households", others=[sources["policeuk"]])
    assert {r.area for r in result.rows} == set(LONDON_MSG)
    reasons = dict(result.reasons)
    for la in ("Brighton and Hove", "Eastbourne", "Southend-on-Sea"):
        assert reasons[la] == ("policeuk does not publish Residential burglary (a mps "
                               "category): not comparable")
    assert result.cross_source == "" and {r.source for r in result.rows} == {"mps"}


def test_other_areas_see_the_same_figures_from_their_side(mixed):
    """From Brighton and Hove (police.uk), Barnet's MPS figures enter the list the same
    way; each rate is the same whichever side asks."""
    _, cats, sources = mixed
    mine = compare(sources["policeuk"], cats, "Burglary", MONTH, "msg", MSG,
                   others=[sources["mps"]])
    theirs = compare(sources["mps"], cats, "Burglary", MONTH, "msg", MSG,
                     others=[sources["policeuk"]])
    assert [(r.area, r.rate, r.rank) for r in mine.rows] == [
        (r.area, r.rate, r.rank) for r in theirs.rows]
    assert mine.pooled_rate == theirs.pooled_rate


def test_london_groups_are_unchanged_by_the_other_source(mixed):
    """A group every member of which the MPS data holds is exactly as without police.uk."""
    _, cats, sources = mixed
    group = load_config().peer_groups["London boroughs"]
    for category in ("Burglary", "Robbery", "Total notifiable offences"):
        alone = compare(sources["mps"], cats, category, MONTH, "lb", group)
        both = compare(sources["mps"], cats, category, MONTH, "lb", group,
                       others=[sources["policeuk"]])
        assert both == alone and both.cross_source == "" and len(both.rows) == 32


def test_dashboard_ranks_barnet_in_its_seed_msg_across_sources(mixed):
    """The dashboard's Most similar group rank: 13 members with a rate on Burglary (the
    three police.uk ones included, said in the rank's note), 10 on Residential burglary
    (MPS only: the police.uk members listed as not comparable); the London boroughs rank is
    the MPS one; the batch path (`dashboards`) agrees."""
    _, cats, sources = mixed
    cfg = load_config()
    board = dashboard(sources, cats, cfg, "Barnet", MONTH,
                      ["Burglary", "Residential burglary", "Robbery"])
    burglary, residential, robbery = board.rows
    msg = burglary.ranks["Most similar group"]
    rates = expected_burglary()
    assert (msg.rank, msg.of) == (sorted(rates, key=rates.__getitem__).index("Barnet") + 1, 13)
    assert (msg.rank, msg.of) == (12, 13)
    assert set(msg.without_data) == {"Bournemouth", "Cheltenham"}
    for la in ("Brighton and Hove", "Eastbourne", "Southend-on-Sea"):
        assert la in msg.note
    assert "Burglary is published by both sources" in msg.note
    assert "Gloucestershire" in dict(msg.reasons)["Cheltenham"]
    res = residential.ranks["Most similar group"]
    assert res.of == 10 and res.note == ""
    assert "not comparable" in dict(res.reasons)["Brighton and Hove"]
    # London boroughs: all MPS, as before (the rank `compare` gives on MPS alone).
    for row in (burglary, robbery):
        alone = compare(sources["mps"], cats, row.category, MONTH, "lb",
                        cfg.peer_groups["London boroughs"])
        lb = row.ranks["London boroughs"]
        assert (lb.rank, lb.of, lb.note) == (
            next(r.rank for r in alone.rows if r.area == "Barnet"), 32, "")
    (batch,) = dashboards(sources, cats, [cfg], MONTH,
                          ["Burglary", "Residential burglary", "Robbery"])
    assert [r.ranks for r in batch.rows] == [r.ranks for r in board.rows]


def test_web_peers_of_the_seed_msg_across_sources(mixed, tmp_path):
    """/api/categories/Burglary/peers: the same comparison as `compare` (police.uk members
    with their source, the cross-source note, Cheltenham listed)."""
    import shutil
    from datetime import UTC, datetime

    from saferboard.web.app import create_app
    from saferboard.web.auth import add_user
    from saferboard.web.settings import Settings
    from tests.web.conftest import PASSWORD, SECRET, Clock, Web

    db = tmp_path / "web.duckdb"
    shutil.copy(mixed[0], db)
    con = store.connect(db)
    try:
        add_user(con, "analyst", PASSWORD, "analyst", agency=None, can_export=True,
                 now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), actor="test-setup")
    finally:
        con.close()
    clock = Clock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    settings = Settings(db=db, secret=SECRET, clock=clock)
    app = create_app(settings)
    try:
        c = Web(app, settings, clock, db).login("analyst")
        got = c.get("/api/categories/Burglary/peers",
                    params={"area": "Barnet", "month": "2025-12",
                            "group": "Most similar group"})
        assert got.status_code == 200, got.text
        body = got.json()
    finally:
        app.state.saferboard.db.close()
    rates = expected_burglary()
    ranked = [r for r in body["rows"] if r["rank"] is not None]
    assert [r["area"] for r in ranked] == sorted(rates, key=rates.__getitem__)
    assert {r["area"]: r["source"] for r in ranked}["Brighton and Hove"] == "policeuk"
    assert "Cross-source comparison" in body["cross_source"]
    assert {r["area"] for r in body["rows"] if r["rank"] is None} == {"Bournemouth",
                                                                        "Cheltenham"}


def test_cli_dashboard_says_which_peers_come_from_police_uk(mixed):
    db, _, _ = mixed
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                "--category", "Robbery", "--category", "Residential burglary")
    assert r.code == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert ("Robbery: Most similar group: Brighton and Hove, Southend-on-Sea, Eastbourne "
            "from policeuk (denominators of 2024), the rest from mps: Robbery is published "
            "by both sources") in text
    assert "Residential burglary: Most similar group" not in text
