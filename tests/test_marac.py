"""MARAC demand and profile: repeat cases by hand and against a brute-force twin, financial
quarters, the profile's bands, disclosure, and the CLI on the synthetic extract against
counts taken straight from the CSV (seed 001: 226 referrals April-December 2016, 23 repeats)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard.measures.marac import (
    PROFILE,
    Referrals,
    fy_quarter,
    marac,
    publish,
    quarter_label,
    repeat_flags,
)
from tests.conftest import EXAMPLES, run_cli

EPOCH = date(1970, 1, 1)
PARTNER = EXAMPLES / "partner"


def referrals(rows: list[tuple[int, date]], **columns: list[object]) -> Referrals:
    n = len(rows)
    cols: dict[str, tuple[object, ...]] = {
        c: tuple(columns.get(c, [None] * n)) for c in
        ["referral_source", *(c for _, _, c in PROFILE)]}
    return Referrals(np.array([v for v, _ in rows], dtype=np.int64),
                     np.array([(d - EPOCH).days for _, d in rows], dtype=np.int64), cols)


def test_repeat_flags_by_hand() -> None:
    victim = np.array([1, 1, 1, 2, 2, 3, 3])
    day = np.array([0, 100, 500, 10, 10, 0, 365])
    assert repeat_flags(victim, day).tolist() == [False, True, False, False, True, False, True]
    assert repeat_flags(victim, day, lookback_days=364).tolist()[-1] is False


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 900)), max_size=40))
def test_repeat_flags_match_a_brute_force_twin(rows: list[tuple[int, int]]) -> None:
    victim = np.array([v for v, _ in rows], dtype=np.int64)
    day = np.array([d for _, d in rows], dtype=np.int64)
    got = repeat_flags(victim, day).tolist()
    want = [any(vj == v and (dj < d or (dj == d and j < i)) and d - dj <= 365
                for j, (vj, dj) in enumerate(rows))
            for i, (v, d) in enumerate(rows)]
    assert got == want
    assert sum(got) <= len(rows) - len(set(victim.tolist()))  # first referrals never repeat


def test_financial_quarters() -> None:
    assert fy_quarter(date(2016, 4, 1)) == (2016, 1)
    assert fy_quarter(date(2016, 12, 31)) == (2016, 3)
    assert fy_quarter(date(2017, 3, 31)) == (2016, 4)
    assert quarter_label(2016, 3) == "2016/17 Q3"
    assert quarter_label(1999, 1) == "1999/00 Q1"


def test_cases_repeats_sources_and_profile_by_construction() -> None:
    """2016/17: Q1 has 10 cases of 10 victims; Q2 has 12 cases, 3 of them victims from Q1
    (repeats); Q3 has 8 new cases. Sources and ages are given per case."""
    rows = [(v, date(2016, 4, 10) + timedelta(days=v)) for v in range(10)]
    rows += [(v, date(2016, 8, 1) + timedelta(days=v)) for v in range(3)]
    rows += [(100 + v, date(2016, 8, 15) + timedelta(days=v)) for v in range(9)]
    rows += [(200 + v, date(2016, 11, 1) + timedelta(days=v)) for v in range(8)]
    n = len(rows)
    sources: list[object] = ["Police"] * 12 + ["Health"] * 10 + [None] * 8
    ages: list[object] = [18] * 5 + [19] * 10 + [50] * 10 + [None] * 5
    sex: list[object] = ["female"] * (n - 1) + ["male"]
    m = marac(referrals(rows, referral_source=sources, victim_age=ages, victim_sex=sex),
              date(2016, 4, 1), date(2016, 12, 1), quarters=3)
    assert [(q.label, q.cases, q.repeat_cases) for q in m.quarters] == [
        ("2016/17 Q1", 10, 0), ("2016/17 Q2", 12, 3), ("2016/17 Q3", 8, 0)]
    assert (m.cases, m.repeat_cases, m.pct_repeat, m.victims) == (30, 3, 10.0, 27)
    assert m.sources == (("Police", 12), ("Health", 10), ("not recorded", 8))
    profile = {(who, what): dict(counts) for who, what, counts in m.profile}
    assert profile[("victim", "age")] == {"under 19": 5, "19-30": 10, "31-50": 10,
                                          "not recorded": 5}
    assert profile[("victim", "sex")] == {"female": 29, "male": 1}
    assert profile[("perpetrator", "sex")] == {"not recorded": 30}
    assert any("begin" in note for note in m.notes)  # no earlier year to look back on

    summary, quarters, _, prof = publish(m)
    values = {r["key"]: r["value"] for r in summary.rows}
    assert values["cases"] == 30 and values["repeat_cases"] is None  # 3 cases: hidden
    assert [r["cases"] for r in quarters.rows][:3] == [10, 12, 8]
    assert quarters.rows[1]["repeat_cases"] is None
    assert quarters.rows[3]["quarter"] == "all quarters shown"
    assert quarters.rows[3]["repeat_cases"] is None  # 3 in all: hidden too
    male = [r for r in prof.rows if r["characteristic"] == "sex" and r["value"] == "male"]
    assert male[0]["cases"] is None
    assert "Disclosure control" in summary.notes[0]


def test_from_after_to_is_refused() -> None:
    ref = referrals([(1, date(2016, 5, 1))])
    with pytest.raises(ValueError, match="parameter 'start': the start is after the end"):
        marac(ref, date(2016, 6, 1), date(2016, 5, 1))


# ------------------------------------------------------------------ the CLI on the example


def example() -> list[dict[str, str]]:
    with open(PARTNER / "marac.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("marac")
    secret = tmp / "s.secret"
    secret.write_text("fedcba9876543210fedcba9876543210")
    db = tmp / "m.duckdb"
    run = run_cli("ingest-partner", "marac", PARTNER / "marac.csv", "--db", db,
                  "--secret-file", secret)
    assert run.code == 0, run.stderr
    return db


def test_cli_matches_counts_from_the_csv(example_db: Path) -> None:
    run = run_cli("marac", "--from", "2016-04", "--to", "2016-12", "--db", example_db,
                  "--format", "json")
    assert run.code == 0, run.stderr
    out = json.loads(run.stdout)
    rows = [(r["victim_id"], date.fromisoformat(r["date"]), r) for r in example()]
    period = [(v, d, r) for v, d, r in rows if date(2016, 4, 1) <= d <= date(2016, 12, 31)]
    repeats = sum(1 for v, d, _ in period
                  if any(v2 == v and 0 <= (d - d2).days <= 365 and d2 < d
                         for v2, d2, _ in rows))
    assert out["summary"]["cases"] == len(period) == 226
    assert out["summary"]["repeat_cases"] == repeats == 23
    assert out["summary"]["pct_repeat"] == round(100 * 23 / 226, 1)
    sources = Counter(r["referral_source"] for _, _, r in period)
    got = {s["referral source"]: s["cases"] for s in out["sources"]}
    assert got == dict(sources)
    assert round(100 * got["DV specialist services"] / 226) == 40
    assert round(100 * got["Police"] / 226) == 26
    prof = {(p["who"], p["characteristic"], p["value"]): p for p in out["profile"]}
    assert prof[("victim", "sex", "female")]["cases"] == sum(
        1 for _, _, r in period if r["victim_sex"] == "F")
    assert round(prof[("victim", "sex", "female")]["pct"]) == 98
    assert round(prof[("perpetrator", "sex", "female")]["pct"], 1) == 3.5
    assert prof[("perpetrator", "substance misuse", "yes")]["pct"] == 35.0
    quarters = {q["quarter"]: q for q in out["quarters"]}
    assert quarters["2016/17 Q1"]["cases"] + quarters["2016/17 Q2"]["cases"] + quarters[
        "2016/17 Q3"]["cases"] == 226


def test_cli_table_and_csv(example_db: Path) -> None:
    table = run_cli("marac", "--db", example_db)
    assert table.code == 0, table.stderr
    assert "Cases per quarter" in table.stdout and "Disclosure control" in table.stdout
    csv_run = run_cli("marac", "--db", example_db, "--format", "csv", "--quarters", "4")
    assert csv_run.code == 0, csv_run.stderr
    lines = csv_run.stdout.strip().splitlines()
    assert lines[0] == "quarter,cases,repeat_cases,pct_repeat"
    assert len(lines) == 6  # header, 4 quarters, the total


def test_cli_a_period_without_referrals_is_refused(example_db: Path) -> None:
    run = run_cli("marac", "--from", "2030-01", "--to", "2030-12", "--db", example_db)
    assert run.code == 1 and len(run.stderr.strip().splitlines()) == 1
    assert "no referrals between 01/01/2030 and 31/12/2030" in run.stderr
    assert "13/04/2013" in run.stderr  # says what the data covers
