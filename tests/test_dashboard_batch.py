"""The batch dashboard path (`dashboards`: every area's peer rate computed once per source,
category and month) gives exactly what one `dashboard` call per area gives, on real data:
police.uk files of two forces outside London (ONS nearest neighbours as the peer group, and
a same-force group) and the MPS example tables (Barnet's shipped configuration with its most
similar group and household-based residential burglary). One rank is also pinned to a count
made a second way: the csv module over the raw files, the raw ONS lookup, ONS mid-2024
populations.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.areas import peer_group
from saferboard.core.config import Config, load_config
from saferboard.measures.dashboard import dashboard, dashboards, load_sources, rate_table
from saferboard.measures.series import MonthlyCounts
from saferboard.sources.ingest import ingest
from tests.conftest import EXAMPLES, SHARED, needs_shared
from tests.csvcount import ons_la_of_code_2021, street_tally

FORCES = SHARED / "policeuk_forces"
OWN_FORCE = {"sussex": "Sussex", "hampshire": "Hampshire"}
POLICEUK_CATEGORIES = ("Burglary", "Shoplifting", "Violence and sexual offences",
                       "Anti-social behaviour", "Vehicle offences",
                       "Total notifiable offences")


def area_config(name: str, spec: str) -> Config:
    """`name`'s configuration with one built-in peer group, also the RAG's rank group."""
    base = load_config()
    group, members = peer_group(spec, name, {})
    return replace(base, area=name, region=group, peer_groups={group: members},
                   rag=replace(base.rag, rank_group=group), targets=())


@pytest.fixture(scope="module")
def policeuk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MonthlyCounts]:
    if not FORCES.exists():
        pytest.skip("../shared/data is absent")
    db = tmp_path_factory.mktemp("batch") / "forces.duckdb"
    cats = categories.load()
    con = store.connect(db)
    ingest(con, [p for f in OWN_FORCE for p in sorted(FORCES.glob(f"*-{f}-street.csv.gz"))],
           cats)
    sources = load_sources(con, cats)
    con.close()
    return sources


CONFIGS = (("Brighton and Hove", "nearest neighbours"), ("Southampton", "nearest neighbours"),
           ("Hastings", "nearest neighbours"), ("Winchester", "nearest neighbours"),
           ("Eastbourne", "same force"))


@needs_shared
@pytest.mark.parametrize("month", [date(2025, 12, 1), date(2025, 4, 1), date(2025, 3, 1)])
def test_batch_equals_per_area_policeuk(policeuk: dict[str, MonthlyCounts], month: date
                                        ) -> None:
    """2025-12: rolling 12 months and ranks (no rolling change: 2024-05..12 are missing);
    2025-04 and 2025-03: the quarter against 2024 only, no rolling window, so no ranks."""
    cats = categories.load()
    configs = [area_config(name, spec) for name, spec in CONFIGS]
    batch = dashboards(policeuk, cats, configs, month, POLICEUK_CATEGORIES)
    single = [dashboard(policeuk, cats, c, c.area, month, POLICEUK_CATEGORIES)
              for c in configs]
    assert [b.area for b in batch] == [name for name, _ in CONFIGS]
    assert batch == tuple(single)
    ranked = [k for d in batch for r in d.rows for k in r.ranks.values() if k.rank is not None]
    if month == date(2025, 12, 1):
        # Every area is ranked in every category, among more than two members with data.
        assert len(ranked) == len(CONFIGS) * len(POLICEUK_CATEGORIES)
        assert all(k.of >= 3 for k in ranked)
    else:
        assert ranked == []


def _own_force_counts_2025(crime_type: str) -> Counter[str]:
    """2025 crimes of `crime_type` per LA, from its own force's files only (csv module, raw
    ONS lookup of 2021 LSOA codes to LAD 2024 names and the PFA of each LA)."""
    with open(SHARED / "ons_geography_ew" / "lookup_ltla24_csp24_pfa24.csv", newline="",
              encoding="utf-8-sig") as f:
        pfa = {r["ltla24_name"]: r["pfa24_name"] for r in csv.DictReader(f)}
    la_of = ons_la_of_code_2021()
    out: Counter[str] = Counter()
    for force, pfa_name in OWN_FORCE.items():
        for path in sorted(FORCES.glob(f"2025-*-{force}-street.csv.gz")):
            for k, n in street_tally(path).items():
                la = la_of.get(k.lsoa_code)
                if k.crime_type == crime_type and la and pfa.get(la) == pfa_name:
                    out[la] += n
    return out


@needs_shared
def test_batch_rank_pinned_to_raw_files(policeuk: dict[str, MonthlyCounts]) -> None:
    """Brighton and Hove's rank for Burglary among its ONS nearest neighbours, 12 months to
    2025-12 (mid-2024 populations): the members with data are those of the two forces
    loaded; the others (Bournemouth, Christchurch and Poole; Cheltenham, ...) are listed."""
    cats = categories.load()
    config = area_config("Brighton and Hove", "nearest neighbours")
    (board,) = dashboards(policeuk, cats, [config], date(2025, 12, 1), ["Burglary"])
    (rank,) = board.rows[0].ranks.values()
    counts = _own_force_counts_2025("Burglary")
    with open(SHARED / "ons_population_ew" / "mye2024_lad_all_ages.csv", newline="",
              encoding="utf-8") as f:
        population = {r["name"]: int(r["population_mid2024"]) for r in csv.DictReader(f)}
    ((_group, members),) = config.peer_groups.items()
    with_data = [m for m in members if m in counts]
    rates = {m: counts[m] / population[m] * 1000 for m in with_data}
    mine = rates["Brighton and Hove"]
    assert rank.of == len(with_data) == 4  # with Southampton, Portsmouth, Crawley
    assert rank.rank == 1 + sum(1 for v in rates.values() if v < mine)
    assert set(rank.without_data) == set(members) - set(with_data)
    table = rate_table(policeuk["policeuk"], cats, "Burglary", date(2025, 12, 1), "population")
    for m in with_data:
        assert table.rates[m.lower()] == pytest.approx(rates[m], rel=1e-12)


@needs_shared
def test_rate_table_leaves_out_areas_without_the_window(
        policeuk: dict[str, MonthlyCounts]) -> None:
    """12 months to 2025-03 need 2024-05..12, which no file holds: no area has a rate."""
    cats = categories.load()
    table = rate_table(policeuk["policeuk"], cats, "Burglary", date(2025, 3, 1), "population")
    assert table.rates == {}


@pytest.fixture(scope="module")
def mps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MonthlyCounts]:
    db = tmp_path_factory.mktemp("batch") / "mps.duckdb"
    cats = categories.load()
    con = store.connect(db)
    ingest(con, [EXAMPLES / "mps"], cats)
    sources = load_sources(con, cats)
    con.close()
    return sources


@pytest.mark.parametrize("month", [date(2025, 12, 1), date(2024, 6, 1)])
def test_batch_equals_per_area_mps(mps: dict[str, MonthlyCounts], month: date) -> None:
    """Barnet with its shipped groups (most similar group, London boroughs; households for
    residential burglary) and two other boroughs with the same groups; the same results
    either way."""
    cats = categories.load()
    barnet = load_config()
    configs = [barnet, replace(barnet, area="Camden"), replace(barnet, area="Croydon")]
    batch = dashboards(mps, cats, configs, month)
    single = [dashboard(mps, cats, c, c.area, month) for c in configs]
    assert batch == tuple(single)
    groups = {g for r in batch[0].rows for g, k in r.ranks.items() if k.rank is not None}
    assert groups == set(barnet.peer_groups)
    assert all(r.ranks[barnet.region].rank is not None for d in batch for r in d.rows
               if r.ranks)
    households = [r for r in batch[0].rows if r.rate_base == "households"]
    assert households and all(r.ranks for r in households)

