"""Repeat victimisation: synthetic incidents whose answers are known by construction, a
brute-force twin (plain Python, one incident at a time) for every figure, Hypothesis
invariants, disclosure of small counts, and the CLI on the synthetic example extract against
the twin computed straight from the CSV."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saferboard.core.errors import InputError
from saferboard.measures.repeats import (
    Incidents,
    incidents_from,
    last_sunday,
    publish,
    publish_callers,
    repeat_callers,
    repeat_victimisation,
)
from tests.conftest import EXAMPLES, run_cli

PARTNER = EXAMPLES / "partner"


def make(pairs: list[tuple[str, date]], by: str = "person") -> Incidents:
    return incidents_from([k for k, _ in pairs], np.array([d for _, d in pairs],
                                                          dtype="datetime64[D]"), by=by)


# ------------------------------------------------------------------ the brute-force twin


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    i = d.year * 12 + d.month - 1 + n
    return date(i // 12, i % 12 + 1, 1)


def twin(pairs: list[tuple[str, date]], month: date, series: int = 12,
         lookback: int = 365) -> dict[str, object]:
    """Every figure by the definitions in docs/people.md, one incident at a time."""
    first = add_months(month, -11)
    last = add_months(month, 1) - timedelta(days=1)
    pairs = [p for p in pairs if p[1] <= last]
    # Order within a key: by date, ties in input order (as the measure: a stable sort).
    order = sorted(range(len(pairs)), key=lambda i: (pairs[i][0], pairs[i][1], i))
    previous = {}
    for pos, i in enumerate(order):
        k, d = pairs[i]
        n = 0
        for j in order[:pos]:
            # The look-back is `lookback` days counting the incident's own day.
            if pairs[j][0] == k and (d - pairs[j][1]).days in range(lookback):
                n += 1
        previous[i] = n
    window = [i for i in range(len(pairs)) if first <= pairs[i][1] <= last]
    per_key: dict[str, int] = defaultdict(int)
    for i in window:
        per_key[pairs[i][0]] += 1
    repeats = [n for n in per_key.values() if n > 1]
    months = [add_months(month, -k) for k in range(max(12, series) - 1, -1, -1)]
    monthly = {}
    for m in months:
        latest: dict[str, int] = {}
        for i in order:
            if month_start(pairs[i][1]) == m:
                latest[pairs[i][0]] = i  # the last in (key, date, input) order wins
        rep = [previous[i] for i in latest.values() if previous[i] >= 1]
        inc = [i for i in range(len(pairs)) if month_start(pairs[i][1]) == m]
        monthly[m] = (len(inc), len(latest), len(rep), sum(rep),
                      sum(1 for i in inc if previous[i] >= 1))
    wm = [m for m in months if m >= first]
    return {
        "incidents": len(window), "victims": len(per_key), "repeat_victims": len(repeats),
        "repeat_previous": sum(repeats) - len(repeats),
        "repeat_incidents": sum(1 for i in window if previous[i] >= 1),
        "monthly": monthly,
        "window_victims": sum(monthly[m][1] for m in wm),
        "window_repeat": sum(monthly[m][2] for m in wm),
        "window_previous": sum(monthly[m][3] for m in wm),
    }


def check_against_twin(pairs: list[tuple[str, date]], month: date, series: int = 12) -> None:
    t = twin(pairs, month, series)
    if t["incidents"] == 0:  # nothing in the window: refused, saying what the data covers
        with pytest.raises(InputError, match="no incidents in the 12 months"):
            repeat_victimisation(make(pairs), month, series_months=series)
        return
    r = repeat_victimisation(make(pairs), month, series_months=series)
    assert (r.incidents, r.victims, r.repeat_victims, r.repeat_incidents) == (
        t["incidents"], t["victims"], t["repeat_victims"], t["repeat_incidents"])
    if r.repeat_victims:
        assert r.avg_previous == round(t["repeat_previous"] / r.repeat_victims, 2)  # type: ignore[operator]
    else:
        assert r.avg_previous is None
    monthly = t["monthly"]
    assert isinstance(monthly, dict)
    assert len(r.series) == series
    for row in r.series:
        inc, vic, rep, prev, rinc = monthly[row.month]
        assert (row.incidents, row.victims, row.repeat_victims, row.repeat_incidents) == (
            inc, vic, rep, rinc), row.month
        assert row.avg_previous == (round(prev / rep, 2) if rep else None)
    wv, wr = t["window_victims"], t["window_repeat"]
    assert isinstance(wv, int) and isinstance(wr, int)
    assert r.monthly_repeat_victims == round(wr / 12, 1)
    assert r.monthly_pct_repeat == (round(100 * wr / wv, 1) if wv else None)


# ------------------------------------------------------------------ known by construction


def test_a_hundred_victims_of_whom_26_are_repeats() -> None:
    """100 victims with one incident in March 2016; 26 of them have three more (May, June,
    July): 26 repeat victims, 26%, 3 previous incidents each at their latest."""
    pairs = [(f"v{v}", date(2016, 3, 10)) for v in range(100)]
    pairs += [(f"v{v}", date(2016, m, 1)) for v in range(26) for m in (5, 6, 7)]
    r = repeat_victimisation(make(pairs), date(2017, 1, 1))
    assert (r.victims, r.repeat_victims, r.pct_repeat, r.avg_previous) == (100, 26, 26.0, 3.0)
    assert (r.incidents, r.repeat_incidents) == (178, 78)
    assert r.first == date(2016, 2, 1) and r.last == date(2017, 1, 31)
    by_month = {row.month: row for row in r.series}
    assert by_month[date(2016, 3, 1)].repeat_victims == 0
    assert [by_month[date(2016, m, 1)].avg_previous for m in (5, 6, 7)] == [1.0, 2.0, 3.0]
    assert by_month[date(2016, 7, 1)].pct_repeat == 100.0
    check_against_twin(pairs, date(2017, 1, 1))


def test_previous_incidents_look_back_365_days_not_the_window() -> None:
    # Days 0, 100 and 400 after 1 Jan 2015: at day 400 only day 100 is within 365 days.
    d0 = date(2015, 1, 1)
    pairs = [("a", d0), ("a", d0 + timedelta(days=100)), ("a", d0 + timedelta(days=400))]
    r = repeat_victimisation(make(pairs), month_start(d0 + timedelta(days=400)))
    feb = {row.month: row for row in r.series}[date(2016, 2, 1)]
    assert feb.repeat_victims == 1 and feb.avg_previous == 1.0
    assert r.repeat_incidents == 2  # day 100 (after day 0) and day 400 (after day 100)
    check_against_twin(pairs, date(2016, 2, 1))


def test_the_look_back_is_365_days_counting_the_incidents_own_day() -> None:
    """An incident 364 days earlier is previous; one exactly 365 days earlier is not (the
    365 days up to and including the date are that date and the 364 before it). The old
    code looked back 366 days and counted both."""
    d = date(2016, 6, 15)
    near = [("a", d - timedelta(days=364)), ("a", d)]
    far = [("b", d - timedelta(days=365)), ("b", d)]
    r = repeat_victimisation(make(near + far), date(2016, 6, 1), series_months=1)
    (row,) = r.series
    assert (row.victims, row.repeat_victims, row.repeat_incidents) == (2, 1, 1)
    assert r.repeat_incidents == 1  # only a's June incident
    # A shorter look-back keeps the same convention: 1 day = same-day incidents only.
    same_day = [("c", d), ("c", d), ("c", d - timedelta(days=1))]
    r1 = repeat_victimisation(make(same_day), date(2016, 6, 1), lookback_days=1)
    assert r1.repeat_incidents == 1
    check_against_twin(near + far, date(2016, 6, 1))


def test_two_incidents_in_one_month_make_a_repeat_victim_that_month() -> None:
    pairs = [("a", date(2016, 5, 3)), ("a", date(2016, 5, 20)), ("b", date(2016, 5, 7))]
    r = repeat_victimisation(make(pairs), date(2016, 5, 1), series_months=1)
    (row,) = r.series
    assert (row.victims, row.repeat_victims, row.pct_repeat, row.avg_previous) == (
        2, 1, 50.0, 1.0)


def test_repeat_burglary_by_address() -> None:
    """1,000 burglaries in 2012/13 at 947 addresses: 53 addresses burgled twice, 30 days
    apart: 5.3% repeat burglaries; and incidents without an address are left out."""
    pairs = [(f"addr{i}", date(2012, 4, 1) + timedelta(days=i % 300)) for i in range(947)]
    pairs += [(f"addr{i}", date(2012, 4, 1) + timedelta(days=i % 300 + 30)) for i in range(53)]
    inc = make([*pairs, ("", date(2012, 6, 1))], by="location")
    assert inc.without_key == 1
    r = repeat_victimisation(inc, date(2013, 3, 1))
    assert (r.incidents, r.repeat_incidents, r.pct_repeat_incidents) == (1000, 53, 5.3)
    assert (r.victims, r.repeat_victims) == (947, 53)
    assert any("no location id" in n for n in r.notes)


def test_data_that_starts_late_is_flagged() -> None:
    r = repeat_victimisation(make([("a", date(2016, 6, 1))]), date(2016, 12, 1))
    assert any("understated" in n for n in r.notes)
    full = [("a", date(2014, 1, 1)), ("a", date(2016, 6, 1))]
    assert not any("understated" in n for n in
                   repeat_victimisation(make(full), date(2016, 12, 1)).notes)


# ------------------------------------------------------------------ 4-week periods


def test_last_sunday_matches_the_seed_periods() -> None:
    assert last_sunday(date(2013, 3, 1)) == date(2013, 3, 31)
    assert last_sunday(date(2013, 2, 1)) == date(2013, 2, 24)
    assert last_sunday(date(2016, 7, 1)) == date(2016, 7, 31)


def test_repeat_callers_per_four_week_period() -> None:
    """Period 1 (04/03-31/03/2013): 20 callers, 2 of them calling twice (10%); period 2:
    10 callers, 1 calling three times (10%); a call on 01/04 is after the end and left out."""
    end = date(2013, 3, 31)
    pairs = [(f"p1-{i}", date(2013, 3, 4) + timedelta(days=i)) for i in range(20)]
    pairs += [("p1-0", date(2013, 3, 30)), ("p1-1", date(2013, 3, 5))]
    pairs += [(f"p2-{i}", date(2013, 2, 4) + timedelta(days=i)) for i in range(10)]
    pairs += [("p2-0", date(2013, 2, 10)), ("p2-0", date(2013, 3, 3)),
              ("late", date(2013, 4, 1))]
    r = repeat_callers(make(pairs), end, periods=3)
    p1, p2, p3 = r.rows
    assert (p1.first, p1.last, p2.first, p2.last) == (
        date(2013, 3, 4), date(2013, 3, 31), date(2013, 2, 4), date(2013, 3, 3))
    assert (p1.calls, p1.callers, p1.repeat_callers, p1.pct_repeat) == (22, 20, 2, 10.0)
    assert (p2.calls, p2.callers, p2.repeat_callers, p2.pct_repeat) == (12, 10, 1, 10.0)
    assert (p3.callers, p3.pct_repeat) == (0, None)
    pub = publish_callers(r)
    assert [row["repeat_callers"] for row in pub.rows] == [None, None, 0]
    assert "suppressed" in pub.notes[0]


# ------------------------------------------------------------------ properties

incident_lists = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]),
              st.dates(date(2015, 1, 1), date(2017, 3, 31))), max_size=60)


@settings(max_examples=60, deadline=None)
@given(incident_lists, st.dates(date(2015, 6, 1), date(2017, 2, 28)), st.integers(1, 14))
def test_matches_the_brute_force_twin(pairs: list[tuple[str, date]], month: date,
                                      series: int) -> None:
    check_against_twin(pairs, month_start(month), series)


@settings(max_examples=100, deadline=None)
@given(incident_lists, st.dates(date(2015, 6, 1), date(2017, 2, 28)))
def test_invariants(pairs: list[tuple[str, date]], month: date) -> None:
    try:
        r = repeat_victimisation(make(pairs), month_start(month))
    except InputError:
        assert not any(add_months(month_start(month), -11) <= d
                       < add_months(month_start(month), 1) for _, d in pairs)
        return
    assert 0 <= r.repeat_victims <= r.victims <= r.incidents
    assert 0 <= r.repeat_incidents <= r.incidents
    assert r.incidents - r.victims <= r.repeat_incidents  # every later incident of a key
    for row in r.series:
        assert 0 <= row.repeat_victims <= row.victims <= row.incidents
        assert row.repeat_incidents <= row.incidents
    if r.repeat_victims:
        assert r.avg_previous is not None and r.avg_previous >= 1


# ------------------------------------------------------------------ disclosure


def test_small_counts_are_suppressed_in_the_published_tables() -> None:
    pairs = [(f"v{v}", date(2016, 3, 10)) for v in range(40)]
    pairs += [("v0", date(2016, 4, 1)), ("v1", date(2016, 4, 2)), ("v2", date(2016, 4, 3))]
    r = repeat_victimisation(make(pairs), date(2016, 4, 1), series_months=2)
    summary, series = publish(r)
    values = {row["key"]: row["value"] for row in summary.rows}
    assert values["victims"] == 40
    assert values["repeat_victims"] is None and values["pct_repeat"] is None
    assert values["avg_previous"] is None
    april = series.rows[1]
    assert april["victims"] is None and april["repeat_victims"] is None  # 3 people: hidden
    assert series.rows[0]["victims"] == 40 and series.rows[0]["repeat_victims"] == 0
    assert summary.notes[0].startswith("Disclosure control")
    assert "below 5" in summary.notes[0]
    wide_open = {row["key"]: row["value"] for row in publish(r, threshold=1)[0].rows}
    assert wide_open["repeat_victims"] == 3


# ------------------------------------------------------------------ the CLI on the example


def example(kind: str) -> list[dict[str, str]]:
    with open(PARTNER / f"{kind}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("repeats")
    secret = tmp / "s.secret"
    secret.write_text("fedcba9876543210fedcba9876543210")
    db = tmp / "e.duckdb"
    for kind in ("incidents", "marac"):
        run = run_cli("ingest-partner", kind, PARTNER / f"{kind}.csv", "--db", db,
                      "--secret-file", secret)
        assert run.code == 0, run.stderr
    return db


def test_cli_domestic_abuse_matches_the_twin_on_the_csv(example_db: Path) -> None:
    run = run_cli("repeats", "--type", "Domestic Abuse", "--month", "2017-01", "--db",
                  example_db, "--format", "json")
    assert run.code == 0, run.stderr
    out = json.loads(run.stdout)
    pairs = [(r["person_id"], date.fromisoformat(r["date"])) for r in example("incidents")
             if r["incident_type"] == "Domestic abuse" and r["person_id"]]
    r = repeat_victimisation(make(pairs), date(2017, 1, 1))
    s = out["summary"]
    assert (s["victims"], s["repeat_victims"], s["incidents"]) == (
        r.victims, r.repeat_victims, r.incidents)
    # Independent plain-Python count of the window figures from the CSV itself.
    per: dict[str, int] = defaultdict(int)
    for k, d in pairs:
        if date(2016, 2, 1) <= d <= date(2017, 1, 31):
            per[k] += 1
    assert s["victims"] == len(per)
    assert s["repeat_victims"] == sum(1 for n in per.values() if n > 1)
    assert s["incidents"] == sum(per.values())
    # The seed-style monthly figures the synthetic extract was built to show (seed 001).
    assert 95 <= s["monthly_repeat_victims"] <= 115
    assert 24 <= s["monthly_pct_repeat"] <= 28
    assert 2.5 <= s["monthly_avg_previous"] <= 2.9
    assert [m["month"] for m in out["series"]][-1] == "2017-01"


def previous_by_hand(pairs: list[tuple[str, date]]) -> list[int]:
    """Each incident's previous incidents, counted independently of the measure and of the
    twin: per person, walk the dated list in file order and count the earlier entries whose
    date is at most 364 days before (365 days including the incident's own day)."""
    by_person: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for i, (k, d) in enumerate(pairs):
        by_person[k].append((d, i))
    out = [0] * len(pairs)
    for items in by_person.values():
        items.sort()  # by date, then file order
        for pos, (d, i) in enumerate(items):
            out[i] = sum(1 for e, _ in items[:pos] if (d - e).days <= 364)
    return out


def test_the_example_monthly_series_uses_a_365_day_look_back() -> None:
    """Seed 001's monthly series on the example extract, against a brute-force count from
    the CSV. With the old 366-day look-back four of the 12 months had a different average
    of previous incidents: 04/2016 2.79, 05/2016 2.53, 06/2016 2.87, 09/2016 2.76 (now 2.78,
    2.52, 2.86, 2.75), and the pooled figure was 2.74 (now 2.73)."""
    pairs = [(r["person_id"], date.fromisoformat(r["date"])) for r in example("incidents")
             if r["incident_type"] == "Domestic abuse" and r["person_id"]]
    prev = previous_by_hand(pairs)
    r = repeat_victimisation(make(pairs), date(2017, 1, 1))
    got = {row.month: row.avg_previous for row in r.series}
    expected = {}
    tot_prev = tot_rep = 0
    for row in r.series:
        m = row.month
        latest: dict[str, tuple[date, int]] = {}
        for i, (k, d) in enumerate(pairs):
            if month_start(d) == m and (k not in latest or (d, i) >= latest[k]):
                latest[k] = (d, i)
        reps = [prev[i] for _, i in latest.values() if prev[i] >= 1]
        expected[m] = round(sum(reps) / len(reps), 2)
        tot_prev, tot_rep = tot_prev + sum(reps), tot_rep + len(reps)
    assert got == expected
    assert r.monthly_avg_previous == round(tot_prev / tot_rep, 2) == 2.73
    assert [got[date(2016, m, 1)] for m in (4, 5, 6, 9)] == [2.78, 2.52, 2.86, 2.75]


def test_cli_asb_four_weekly_reproduces_the_seed_table(example_db: Path) -> None:
    run = run_cli("repeats", "--type", "asb call", "--month", "2013-03", "--four-weekly",
                  "--periods", "5", "--db", example_db, "--format", "json")
    assert run.code == 0, run.stderr
    rows = json.loads(run.stdout)["periods"]
    assert [(r["from"], r["to"]) for r in rows] == [
        ("04/03/2013", "31/03/2013"), ("04/02/2013", "03/03/2013"),
        ("07/01/2013", "03/02/2013"), ("10/12/2012", "06/01/2013"),
        ("12/11/2012", "09/12/2012")]
    # Independent count from the CSV: callers with 2+ calls in each period.
    calls = [(r["person_id"], date.fromisoformat(r["date"])) for r in example("incidents")
             if r["incident_type"] == "ASB call"]
    for row in rows:
        lo = date(int(row["from"][6:]), int(row["from"][3:5]), int(row["from"][:2]))
        hi = date(int(row["to"][6:]), int(row["to"][3:5]), int(row["to"][:2]))
        per: dict[str, int] = defaultdict(int)
        for k, d in calls:
            if lo <= d <= hi:
                per[k] += 1
        assert row["callers"] == len(per)
        assert row["repeat_callers"] == sum(1 for n in per.values() if n >= 2)
    assert [round(r["pct_repeat_callers"]) for r in rows] == [9, 10, 10, 10, 9]


def test_cli_repeat_burglary_by_address(example_db: Path) -> None:
    got = {}
    for month in ("2011-03", "2013-03"):
        run = run_cli("repeats", "--type", "residential burglary", "--by", "location",
                      "--month", month, "--db", example_db, "--format", "json")
        assert run.code == 0, run.stderr
        got[month] = json.loads(run.stdout)["summary"]
    assert got["2011-03"]["pct_repeat_incidents"] == 6.3
    assert got["2013-03"]["pct_repeat_incidents"] == 5.3
    assert got["2011-03"]["repeat_incidents"] - got["2013-03"]["repeat_incidents"] == 27


def test_cli_csv_and_table(example_db: Path) -> None:
    run = run_cli("repeats", "--type", "domestic abuse", "--months", "3", "--db", example_db,
                  "--format", "csv")
    assert run.code == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0].startswith("month,incidents,victims,repeat_victims")
    assert len(lines) == 4
    assert run.stderr.startswith("note: Disclosure control")
    table = run_cli("repeats", "--type", "domestic abuse", "--db", example_db)
    assert table.code == 0 and "repeat victims" in table.stdout
    assert "Disclosure control" in table.stdout


def test_cli_unknown_type_lists_the_types(example_db: Path) -> None:
    run = run_cli("repeats", "--type", "shoplifting", "--db", example_db)
    assert run.code == 1
    assert "'domestic abuse'" in run.stderr and "column '--type'" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_people_section_for_the_pack(example_db: Path, tmp_path: Path) -> None:
    import duckdb

    from saferboard.report.people import people_section

    con = duckdb.connect(str(example_db), read_only=True)
    try:
        s = people_section(con, date(2017, 1, 1))
        late = people_section(con, date(2018, 6, 1), threshold=1000)
    finally:
        con.close()
    da = s["domestic_abuse"]
    assert da["series"][-1]["month"] == "Jan 2017" and len(da["series"]) == 12
    summary = {r["measure"]: r["value"] for r in da["summary"]}
    run = run_cli("repeats", "--type", "domestic abuse", "--month", "2017-01", "--db",
                  example_db, "--format", "json")
    assert summary["repeat victims (more than one incident)"] == json.loads(
        run.stdout)["summary"]["repeat_victims"]
    assert [r["pct_repeat_callers"] for r in s["asb_callers"]["rows"]][:2] == [9.0, 10.0]
    assert s["burglary"]["rows"][1]["pct_repeat"] == 5.3
    assert s["marac"]["quarters"][-2]["quarter"] == "2016/17 Q3"
    assert s["notes"] == []
    # A pack month after the data: the latest data is used and a note says so; a threshold
    # above every count hides every count.
    assert any("end Jan 2017" in n for n in late["notes"])
    assert {r["value"] for r in late["marac"]["summary"]} == {"*"}
    assert late["domestic_abuse"]["series"][-1]["victims"] == "*"
    # A store without partner data: every section missing, with a reason.
    empty = tmp_path / "empty.duckdb"
    from saferboard import store

    store.connect(empty).close()
    con = duckdb.connect(str(empty), read_only=True)
    try:
        none = people_section(con, date(2017, 1, 1))
    finally:
        con.close()
    assert none["domestic_abuse"] is None and none["marac"] is None
    assert len(none["notes"]) == 4
