"""The dashboard on real data, pinned to figures computed a second way inside the test.

Every number the dashboard shows for Barnet, 12 months to 2025-12, is recomputed here from
the raw MPS wide CSVs with the csv module (newest release wins per month), our own label
lists, the shipped denominator table read with csv, an exact integer binomial sum for the
p-values and a from-the-docstring XmR chart; then compared. Edge cases (start of data, a gap,
a zero, a category or area without data) must each give a clear message.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core.config import load_config
from saferboard.core.errors import InputError
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.sources.ingest import ingest
from tests.conftest import ROOT, SHARED, needs_shared, run_cli
from tests.csvcount import la_of, mps_month_columns, mps_wide, rows

BOROUGH = SHARED / "mps_borough_crime"
HISTORICAL = BOROUGH / "release_2025-02" / "MPS Borough Level Crime (Historical).csv"
RECENT_0225 = BOROUGH / "release_2025-02" / "MPS Borough Level Crime (most recent 24 months).csv"
RECENT_1225 = BOROUGH / "release_2025-12" / "MPS Borough Level Crime (most recent 24 months).csv"
COL = SHARED / "policeuk_city_of_london"
DENOMINATORS = ROOT / "src" / "saferboard" / "data" / "london_denominators.csv"

REF = date(2025, 12, 1)
DEFAULT = load_config().dashboard.exception_method
METHODS = ("sd", "xmr", "seasonal-sd")  # the exception methods recomputed here
KEYS = ("category", "source", "month", "quarter_volume", "quarter_previous",
        "quarter_change_pct", "rolling12_volume", "rolling12_previous", "rolling12_change_pct",
        "rate_per_1000", "rate_base", "ranks", "exceptions", "p_value", "significant", "rag",
        "factors")

# Our own label lists (MajorText, MinorText) per category, written from the raw files'
# labels, not from categories.toml.
RES_BURGLARY = {"BURGLARY - RESIDENTIAL", "BURGLARY IN A DWELLING", "RES BURGLARY OF A HOME",
                "RES BURGLARY OF UNCONNECTED BUILDING"}
CATEGORY_TEST = {
    "Burglary": lambda major, minor: major == "BURGLARY",
    "Residential burglary": lambda major, minor: minor in RES_BURGLARY,
    "Non-residential burglary": lambda major, minor: minor in {
        "BURGLARY BUSINESS AND COMMUNITY", "BURGLARY NON-DWELLING"},
    "Robbery": lambda major, minor: minor in {"ROBBERY OF PERSONAL PROPERTY",
                                              "ROBBERY OF BUSINESS PROPERTY"},
    "Violence with injury": lambda major, minor: minor == "VIOLENCE WITH INJURY",
    "Theft of motor vehicle": lambda major, minor: minor in {
        "THEFT OR UNAUTH TAKING OF A MOTOR VEH", "AGGRAVATED VEHICLE TAKING"},
    "Theft from motor vehicle": lambda major, minor: minor == "THEFT FROM A VEHICLE",
    "Criminal damage and arson": lambda major, minor: major == "ARSON AND CRIMINAL DAMAGE",
    "Total notifiable offences": lambda major, minor: major not in {"FRAUD AND FORGERY",
                                                                    "NFIB FRAUD"},
}
CHECKED = tuple(CATEGORY_TEST)


# ---------------------------------------------------------------------------------------
# The second way: plain Python over the raw files.

def ym(col: str) -> date:
    return date(int(col[:4]), int(col[4:6]), 1)


def months_back(ref: date, n: int) -> list[date]:
    """The n months ending at ref, oldest first (independent of saferboard.windows)."""
    out = []
    y, m = ref.year, ref.month
    for _ in range(n):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


# month -> borough -> {(major, minor): count}
Raw = dict[date, dict[str, dict[tuple[str, str], int]]]


@cache
def raw_mps(paths_oldest_first: tuple[Path, ...]) -> Raw:
    """A later file replaces a month wholesale. Read once per process (read it only)."""
    by_month: Raw = {}
    for p in paths_oldest_first:
        per: Raw = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        columns: list[tuple[str, date]] | None = None
        for r in mps_wide(p):
            if columns is None:  # one header per file
                columns = [(c, ym(c)) for c in mps_month_columns(r)]
            key = (r["MajorText"], r["MinorText"])
            for col, month in columns:
                per[month][r["BoroughName"]][key] += int(r[col] or 0)
        by_month.update({m: {b: dict(c) for b, c in v.items()} for m, v in per.items()})
    return by_month


def monthly(raw: Raw, borough: str, category: str) -> dict[date, int]:
    test = CATEGORY_TEST[category]
    return {m: sum(n for (major, minor), n in boroughs.get(borough, {}).items()
                   if test(major, minor))
            for m, boroughs in raw.items()}


def denominators() -> dict[tuple[str, str], dict[int, int]]:
    out: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    with open(DENOMINATORS, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out[(r["name"], r["measure"])][int(r["year"])] = int(r["value"])
    return out


def latest_value(series: dict[int, int], year: int) -> int:
    return series[max(y for y in series if y <= year)]


def exact_p(current: int, previous: int) -> float:
    """Two-sided exact conditional test, by exact integer arithmetic.

    Given n = current + previous, X ~ Binomial(n, 1/2) under equal rates. That pmf is
    symmetric and unimodal, so {j : pmf(j) <= pmf(k)} = {j : |j - n/2| >= |k - n/2|} and
    p = 2 * P(X <= min(k, n-k)), capped at 1: sum binomial coefficients as Python ints.
    """
    n = current + previous
    m = min(current, previous)
    if n == 0 or 2 * m == n:
        return 1.0
    coef, tail = 1, 0
    for j in range(m + 1):
        tail += coef
        coef = coef * (n - j) // (j + 1)
    return min(1.0, 2 * tail / 2**n)


def pct(current: int, previous: int) -> float | None:
    return None if previous == 0 else round(100 * (current - previous) / previous, 1)


def sample_sd(vals: list[float]) -> float:
    mean = sum(vals) / len(vals)
    return math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))


def exception_flags(series: dict[date, int], ref: date, method: str
                    ) -> list[tuple[date, str, float]]:
    """The methods in measures/exceptions.py's docstring, written out again. Baseline: the
    24 months before the tested month (those present). Limits, lower floored at 0:
    sd: mean +/- 3 sample standard deviations; xmr: mean +/- 2.66 x mean moving range;
    seasonal-sd: divide each month by its calendar-month index (calendar mean / overall mean,
    shrunk halfway to 1; 1 for a calendar month not in the baseline), centre on the mean of
    the last 12 adjusted months, +/- 3 sd of all adjusted months, scale back by the tested
    month's index. Returns (month, flag, centre), newest first."""
    out = []
    for month in reversed(months_back(ref, 3)):
        base_months = [m for m in months_back(month, 25)[:-1] if m in series]
        vals = [float(series[m]) for m in base_months]
        mean = sum(vals) / len(vals)
        if method == "sd":
            centre, half = mean, 3 * sample_sd(vals)
            lo, hi = centre - half, centre + half
        elif method == "xmr":
            mr = sum(abs(vals[i] - vals[i - 1]) for i in range(1, len(vals))) / (len(vals) - 1)
            centre, lo, hi = mean, mean - 2.66 * mr, mean + 2.66 * mr
        else:
            assert method == "seasonal-sd"
            cal: dict[int, list[float]] = defaultdict(list)
            for m, v in zip(base_months, vals, strict=True):
                cal[m.month].append(v)
            idx = {c: 0.5 + 0.5 * (sum(v) / len(v)) / mean for c, v in cal.items()}
            adj = [v / idx[m.month] for m, v in zip(base_months, vals, strict=True)]
            level, half = sum(adj[-12:]) / 12, 3 * sample_sd(adj)
            f = idx.get(month.month, 1.0)
            centre, lo, hi = level * f, (level - half) * f, (level + half) * f
        count = series[month]
        lo = max(0.0, lo)
        out.append((month, "high" if count > hi else "low" if count < lo else "normal", centre))
    return out


def expected_signs(q_pct: float | None, r_pct: float | None, flags: list[str], rank: int,
                   of: int, q_p: float, r_p: float) -> list[int]:
    """Factor signs under the shipped rules (threshold 0, only significant changes count:
    p < 0.05 exactly, best/worst third of London boroughs)."""
    signs = []
    for change, p in ((q_pct, q_p), (r_pct, r_p)):
        if change is not None and change != 0 and p < 0.05:
            signs.append(+1 if change < 0 else -1)
    signs += [-1 if f == "high" else +1 for f in flags if f in ("high", "low")]
    band = math.ceil(of * 0.3334)
    if rank <= band:
        signs.append(+1)
    elif rank > of - band:
        signs.append(-1)
    return sorted(signs)


def expected_rag(signs: list[int]) -> str:
    neg = signs.count(-1)
    if neg == 0 and signs:
        return "Green"
    if neg and neg / len(signs) >= 0.75:
        return "Red"
    return "Amber"


# ---------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="module")
def real(tmp_path_factory, cats):
    """The store (2025-02 and 2025-12 releases) and its sources, read once."""
    db = tmp_path_factory.mktemp("dash") / "real.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [HISTORICAL, RECENT_0225, RECENT_1225], cats)
        sources = load_sources(con, cats)
    finally:
        con.close()
    raw = raw_mps((HISTORICAL, RECENT_0225, RECENT_1225))
    return db, sources, raw


@pytest.fixture(scope="module")
def boards(real, cats):
    _, sources, _ = real
    cfg = load_config()
    out = {}
    for method in METHODS:
        c = dataclasses.replace(cfg, dashboard=dataclasses.replace(
            cfg.dashboard, exception_method=method))
        out[method] = {r.category: r for r in dashboard(sources, cats, c, "Barnet", REF).rows}
    return out


def one_line_error(r, *needles: str) -> str:
    assert r.code != 0, r.stdout
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "--debug" not in lines[0], lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def write_mps(path: Path, months: list[str], body: list[tuple[str, str, str, list[int]]]
              ) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["MajorText", "MinorText", "BoroughName", *months])
        for major, minor, area, values in body:
            w.writerow([major, minor, area, *values])
    return path


# ---------------------------------------------------------------------------------------
# Barnet, 12 months to 2025-12, against the second computation

@needs_shared
def test_independent_raw_reading_is_sane(real):
    _, _, raw = real
    # The overlap rule applied by hand: 2024-03 comes from release 2025-12, which splits
    # residential burglary (PROVENANCE.md: Barnet 130 + 36 = 166).
    assert monthly(raw, "Barnet", "Residential burglary")[date(2024, 3, 1)] == 166
    assert min(raw) == date(2010, 4, 1) and max(raw) == REF
    assert len(raw) == (2025 - 2010) * 12 + 9  # contiguous 2010-04..2025-12
    d = denominators()
    assert latest_value(d[("Barnet", "population")], 2025) == 389_101  # ONS mid-2022
    assert latest_value(d[("Barnet", "households")], 2025) == 148_900  # Census 2021


@needs_shared
@pytest.mark.parametrize("category", CHECKED)
def test_volumes_changes_and_significance(real, boards, category):
    _, _, raw = real
    row = boards[DEFAULT][category]
    s = monthly(raw, "Barnet", category)
    q = sum(s[m] for m in months_back(REF, 3))
    q0 = sum(s[m] for m in months_back(date(2024, 12, 1), 3))
    r = sum(s[m] for m in months_back(REF, 12))
    r0 = sum(s[m] for m in months_back(date(2024, 12, 1), 12))
    assert row.source == "mps" and row.month == REF and row.note is None
    assert (row.quarter_volume, row.quarter_previous) == (q, q0)
    assert (row.rolling12_volume, row.rolling12_previous) == (r, r0)
    assert row.quarter_change_pct == pct(q, q0)
    assert row.rolling12_change_pct == pct(r, r0)
    # Exact arithmetic vs scipy's binomtest: agree to well within float noise.
    assert row.p_value == pytest.approx(exact_p(r, r0), rel=1e-6, abs=1e-300)
    assert row.quarter_p_value == pytest.approx(exact_p(q, q0), rel=1e-6, abs=1e-300)
    assert row.significant == (exact_p(r, r0) < 0.05)


@needs_shared
def test_barnet_headline_figures(boards):
    """Literal values for the board pack's example (pinned once from the csv computation)."""
    rb = boards[DEFAULT]["Residential burglary"]
    assert (rb.rolling12_volume, rb.rolling12_previous, rb.rolling12_change_pct) == (
        1636, 1839, -11.0)
    assert (rb.quarter_volume, rb.quarter_previous, rb.quarter_change_pct) == (444, 552, -19.6)
    assert rb.rate_per_1000 == 10.99 and rb.rate_base == "households"
    tno = boards[DEFAULT]["Total notifiable offences"]
    assert (tno.rolling12_volume, tno.rolling12_previous) == (28537, 28360)
    assert tno.rate_per_1000 == 73.34 and not tno.significant


@needs_shared
@pytest.mark.parametrize("category", CHECKED)
def test_rate_and_ranks(real, boards, category):
    _, _, raw = real
    row = boards[DEFAULT][category]
    base = "households" if category == "Residential burglary" else "population"
    d = denominators()
    window = months_back(REF, 12)
    rates = {}
    for b in load_config().peer_groups["London boroughs"]:
        s = monthly(raw, b, category)
        rates[b] = sum(s[m] for m in window) / latest_value(d[(b, base)], 2025) * 1000
    assert len(rates) == 32
    assert row.rate_base == base
    assert row.rate_per_1000 == pytest.approx(rates["Barnet"], abs=0.005)
    rank = 1 + sum(1 for v in rates.values() if v < rates["Barnet"])
    lb = row.ranks["London boroughs"]
    assert (lb.rank, lb.of, lb.without_data) == (rank, 32, ())
    # Most similar group: only its 10 London members have data in an MPS store.
    msg = load_config().peer_groups["Most similar group"]
    in_london = [a for a in msg if a in rates]
    assert len(in_london) == 10
    ms = row.ranks["Most similar group"]
    assert ms.of == 10
    assert ms.rank == 1 + sum(1 for a in in_london if rates[a] < rates["Barnet"])
    assert set(ms.without_data) == set(msg) - set(in_london)


@needs_shared
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("category", CHECKED)
def test_exception_flags(real, boards, category, method):
    _, _, raw = real
    row = boards[method][category]
    mine = exception_flags(monthly(raw, "Barnet", category), REF, method)
    assert [(e.month, e.flag) for e in row.exceptions] == [(m, f) for m, f, _ in mine]
    for e, (_, _, centre) in zip(row.exceptions, mine, strict=True):
        assert e.expected == pytest.approx(centre, abs=0.051)


@needs_shared
def test_some_months_are_flagged_on_real_data(boards):
    """Guard against a vacuous flag test: the real data do produce exceptions (Theft of motor
    vehicle, Oct 2025: 207 against about 140). No month is low here; the property tests
    cover 'low'."""
    flags = {e.flag for b in boards.values() for r in b.values() for e in r.exceptions}
    assert {"high", "normal"} <= flags


@needs_shared
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("category", CHECKED)
def test_rag_follows_factors(boards, category, method):
    row = boards[method][category]
    lb = row.ranks["London boroughs"]
    assert lb.rank is not None
    signs = expected_signs(row.quarter_change_pct, row.rolling12_change_pct,
                           [e.flag for e in row.exceptions], lb.rank, lb.of,
                           row.quarter_p_value, row.p_value)
    assert sorted(f.sign for f in row.factors) == signs
    assert row.rag == expected_rag(signs)
    texts = [f.text for f in row.factors]
    for change in (row.quarter_change_pct, row.rolling12_change_pct):
        if change:  # a non-zero change is a factor or "no clear change"; both state it
            assert any(f"{change:+.1f}%" in t for t in texts + list(row.no_clear_change)), \
                (change, texts, row.no_clear_change)
    for e in row.exceptions:
        if e.flag in ("high", "low"):
            assert any(f"{e.month:%b %Y}" in t and e.flag in t for t in texts)


@needs_shared
def test_all_default_categories_present_asb_has_no_mps_data(boards):
    rows = boards[DEFAULT]
    assert list(rows) == list(load_config().dashboard.categories)
    asb = rows["Anti-social behaviour"]
    assert asb.source is None and asb.rolling12_volume is None and asb.rag is None
    assert asb.note and "Anti-social behaviour" in asb.note


# ---------------------------------------------------------------------------------------
# The CLI's JSON

@needs_shared
def test_cli_json(real):
    db, _, raw = real
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                "--format", "json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [o["category"] for o in data] == list(load_config().dashboard.categories)
    for o in data:
        assert set(KEYS) <= set(o), set(KEYS) - set(o)
        assert o["month"] == "2025-12"
        for k in ("quarter_change_pct", "rolling12_change_pct"):
            assert o[k] is None or isinstance(o[k], int | float)
        if o["source"] is None:
            continue
        assert o["source"] == "mps"
        assert isinstance(o["quarter_change_pct"], float)
        assert [e["month"] for e in o["exceptions"]] == ["2025-12", "2025-11", "2025-10"]
        assert all(e["flag"] in ("high", "low", "normal") for e in o["exceptions"])
        lb = o["ranks"]["London boroughs"]
        assert isinstance(lb["rank"], int) and lb["of"] == 32
        assert 0 <= o["p_value"] <= 1 and isinstance(o["significant"], bool)
        assert o["rag"] in ("Green", "Amber", "Red")
        assert all(isinstance(t, str) for t in o["factors"])
    robbery = next(o for o in data if o["category"] == "Robbery")
    s = monthly(raw, "Barnet", "Robbery")
    assert robbery["rolling12_volume"] == sum(s[m] for m in months_back(REF, 12))
    asb = next(o for o in data if o["category"] == "Anti-social behaviour")
    assert asb["source"] is None and asb["note"]
    assert "Anti-social behaviour" in r.stderr  # the note is also said on stderr


@needs_shared
def test_cli_table_and_csv_run(real):
    db, _, _ = real
    for fmt in ("table", "csv"):
        r = run_cli("dashboard", "--db", db, "--area", "barnet", "--month", "2025-12",
                    "--format", fmt, "--category", "Robbery")
        assert r.code == 0, r.stderr
        assert "Robbery" in r.stdout
    row, = csv.DictReader(r.stdout.splitlines())
    assert row["category"] == "Robbery" and row["source"] == "mps"
    # The rank of Barnet among the 32 boroughs is in a column (or columns) of its own.
    rank_cells = [v for k, v in row.items() if "London boroughs" in k]
    assert rank_cells and ("32" in rank_cells or any(v.endswith("/32") for v in rank_cells))


# ---------------------------------------------------------------------------------------
# police.uk when MPS has nothing: City of London

@pytest.fixture(scope="module")
def col_store(tmp_path_factory, cats):
    files = sorted(COL.glob("*-street.csv.gz"))
    db = tmp_path_factory.mktemp("col") / "col.duckdb"
    con = store.connect(db)
    try:
        ingest(con, files, cats)
        sources = load_sources(con, cats)
    finally:
        con.close()
    return db, sources, files


@needs_shared
def test_policeuk_fallback_city_of_london(col_store, cats):
    db, sources, files = col_store
    ref = date(2020, 11, 1)
    row, = dashboard(sources, cats, load_config(), "City of London", ref,
                     ["Anti-social behaviour"]).rows
    by_month: dict[date, int] = defaultdict(int)
    for p in files:
        for r in rows(p):
            if r["Crime type"] == "Anti-social behaviour" and \
                    la_of(r["LSOA name"]) == "City of London":
                assert r["LSOA name"].startswith("City of London ")
                by_month[ym(r["Month"].replace("-", ""))] += 1
    vol = sum(by_month[m] for m in months_back(ref, 12))  # 2019-12..2020-11
    prev = sum(by_month[m] for m in months_back(date(2019, 11, 1), 12))
    q = sum(by_month[m] for m in months_back(ref, 3))
    assert row.source == "policeuk"
    assert (row.rolling12_volume, row.rolling12_previous, row.quarter_volume) == (vol, prev, q)
    assert row.rolling12_change_pct == pct(vol, prev)
    # Window Dec 2019-Nov 2020: mid-2020 estimate (pre-Census-2021 series), 10,938 residents.
    pop = denominators()[("City of London", "population")][2020]
    assert pop == 10_938
    assert row.rate_per_1000 == pytest.approx(vol / pop * 1000, abs=0.005)
    assert row.denominator_year == 2020
    assert row.p_value == pytest.approx(exact_p(vol, prev), rel=1e-6, abs=1e-300)
    # City of London is in no configured peer group.
    assert all(rk.rank is None for rk in row.ranks.values())
    r = run_cli("dashboard", "--db", db, "--area", "City of London", "--month", "2020-11",
                "--category", "Anti-social behaviour", "--format", "json")
    assert r.code == 0, r.stderr
    o, = json.loads(r.stdout)
    assert o["source"] == "policeuk" and o["rolling12_volume"] == vol


@needs_shared
def test_stray_rows_do_not_make_a_borough_dashboard(col_store, cats):
    """City of London Police crimes geocoded in Westminster LSOAs are not Westminster's
    figures (the Met polices Westminster): no dashboard, and no rank built on strays."""
    _, sources, _ = col_store
    with pytest.raises(InputError, match="Westminster"):
        dashboard(sources, cats, load_config(), "Westminster", date(2020, 11, 1),
                  ["Total notifiable offences"])
    board = dashboard(sources, cats, load_config(), "City of London", date(2020, 11, 1),
                      ["Total notifiable offences"])
    # Only City of London itself has police.uk figures, so no London rank is meaningful.
    assert board.rows[0].ranks["London boroughs"].rank is None
    assert board.rows[0].ranks["London boroughs"].of == 0


# ---------------------------------------------------------------------------------------
# Edge cases: each a clear message

@pytest.fixture(scope="module")
def historical_only(tmp_path_factory, cats):
    db = tmp_path_factory.mktemp("hist") / "hist.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [HISTORICAL], cats)  # 2010-04..2023-02
        sources = load_sources(con, cats)
    finally:
        con.close()
    return db, sources


@needs_shared
def test_reference_month_at_start_of_data(historical_only, cats):
    db, sources = historical_only
    with pytest.raises(InputError) as e:
        dashboard(sources, cats, load_config(), "Barnet", date(2010, 6, 1))
    # Names the first month and the first usable reference month (24 months of data).
    assert "2010-04" in str(e.value) and "2012-03" in str(e.value)
    assert "from 2011-03 the rolling 12 months" in str(e.value)
    with pytest.raises(InputError, match="2012-03"):
        dashboard(sources, cats, load_config(), "Barnet", date(2011, 2, 1), ["Robbery"])
    # Partial history: at 2012-02 only the rolling change lacks a month (2010-03).
    early, = dashboard(sources, cats, load_config(), "Barnet", date(2012, 2, 1),
                       ["Robbery"]).rows
    assert early.rolling12_volume and early.quarter_volume and early.rolling12_previous is None
    assert "2010-03" in early.caveats[0]
    row, = dashboard(sources, cats, load_config(), "Barnet", date(2012, 3, 1),
                     ["Robbery"]).rows
    assert row.source == "mps" and row.rolling12_volume and row.rolling12_volume > 0
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2010-06")
    one_line_error(r, "2010-04", "2012-03")


@needs_shared
def test_reference_month_after_the_data(historical_only, cats):
    db, _ = historical_only
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2024-01")
    one_line_error(r, "2023-02")


@pytest.fixture(scope="module")
def gappy(tmp_path_factory, cats):
    """Historical (to 2023-02) + release 2025-12 (from 2024-01): 2023-03..2023-12 missing."""
    db = tmp_path_factory.mktemp("gap") / "gap.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [HISTORICAL, RECENT_1225], cats)
        sources = load_sources(con, cats)
    finally:
        con.close()
    return db, sources


@needs_shared
def test_missing_month_is_named(gappy, cats):
    """A gap inside the windows leaves the indicator null with the reason (issue 14, item 3),
    not a refusal of the whole dashboard; --allow-partial computes it from the months
    present, marked incomplete, RAG withheld."""
    db, sources = gappy
    ref = date(2025, 6, 1)
    row = dashboard(sources, cats, load_config(), "Barnet", ref, ["Robbery"]).rows[0]
    # Partial history (issue 15, item 4): the quarter (2025-04..06 vs 2024-04..06) and the
    # rolling 12 months (2024-07..2025-06) are all present and computed exactly; only the
    # rolling change (its previous 12 months lack 2023-07..12) is null, with the reason.
    series = monthly(raw_mps((HISTORICAL, RECENT_1225)), "Barnet", "Robbery")

    def total(months: list[tuple[int, int]]) -> int:
        return sum(series.get(date(y, m, 1), 0) for y, m in months)

    assert row.source == "mps"
    assert row.quarter_volume == total([(2025, 4), (2025, 5), (2025, 6)])
    assert row.quarter_previous == total([(2024, 4), (2024, 5), (2024, 6)])
    assert row.rolling12_volume == total([(2024, k) for k in range(7, 13)]
                                         + [(2025, k) for k in range(1, 7)])
    assert row.rate_per_1000 is not None
    assert row.rolling12_previous is None and row.rolling12_change_pct is None
    assert row.p_value is None and row.significant is None
    assert not row.complete
    assert "missing" in row.caveats[0] and "2023-07" in row.caveats[0]
    assert "RAG from the factors available (last quarter, monthly exceptions, rank)" in (
        row.caveats[-1])
    assert not any("Rolling 12 months" in f.text or "rolling 12" in f.text
                   for f in row.factors)
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-06",
                "--category", "Robbery", "--format", "json")
    assert r.code == 0, r.stderr
    assert "2023-07" in r.stderr
    (j,) = json.loads(r.stdout)
    assert j["complete"] is False and j["rag"] == row.rag and "2023-07" in j["caveats"][0]
    part = dashboard(sources, cats, load_config(), "Barnet", ref, ["Robbery"],
                     allow_partial=True).rows[0]
    # Present months only: the previous 12 months (2023-07..2024-06) lack 2023-07..2023-12.
    previous = sum(series.get(date(y, m, 1), 0) for y, m in
                   [(2023, k) for k in range(7, 13)] + [(2024, k) for k in range(1, 7)])
    assert part.rolling12_previous == previous
    assert part.source == "mps" and not part.complete and part.rag is None
    # The measure names its parameter, not a flag (issue 13): the JSON (the model, as the
    # API) keeps the library's words, the CLI's own warning shows its flag.
    assert "2023-07" in part.caveats[0] and "('allow_partial')" in part.caveats[0]
    assert "--" not in " ".join(part.caveats)
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-06",
                "--category", "Robbery", "--allow-partial", "--format", "json")
    assert r.code == 0, r.stderr
    (j,) = json.loads(r.stdout)
    assert j["caveats"] == list(part.caveats)
    assert "months present (--allow-partial). RAG withheld." in r.stderr
    assert "'allow_partial'" not in r.stderr


@needs_shared
@pytest.mark.parametrize("method", METHODS)
def test_gap_before_the_windows_leaves_the_baseline_to_its_24_months(gappy, cats, method):
    """At 2025-12 the windows (2024-01..2025-12) are complete, but the exception baselines of
    Oct-Dec 2025 reach back into the gap. The documented baseline is the 24 months before the
    tested month: months from before the gap (2022-12..2023-02) must not stand in for it."""
    _, sources = gappy
    raw = raw_mps((HISTORICAL, RECENT_1225))
    cfg = load_config()
    cfg = dataclasses.replace(cfg, dashboard=dataclasses.replace(
        cfg.dashboard, exception_method=method))
    for row in dashboard(sources, cats, cfg, "Barnet", REF, list(CHECKED)).rows:
        mine = exception_flags(monthly(raw, "Barnet", row.category), REF, method)
        assert [(e.month, e.flag) for e in row.exceptions] == [(m, f) for m, f, _ in mine]
        for e, (_, _, centre) in zip(row.exceptions, mine, strict=True):
            assert e.expected == pytest.approx(centre, abs=0.051), row.category


def test_zero_previous_year(tmp_path, cats):
    """Hand-made table: business robbery 0 in 2023, some in 2024 -> change is null (not a
    silent 0 or a crash), the p-value is defined (2 x 0.5^n), the factor says 'from 0'."""
    months = [f"{y}{m:02d}" for y in (2023, 2024) for m in range(1, 13)]
    business = [0] * 12 + [1, 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 3]
    path = write_mps(tmp_path / "tiny.csv", months, [
        ("ROBBERY", "ROBBERY OF BUSINESS PROPERTY", "Barnet", business),
        ("ROBBERY", "ROBBERY OF PERSONAL PROPERTY", "Barnet", [5] * 24),
        ("ROBBERY", "ROBBERY OF BUSINESS PROPERTY", "Harrow", [1] * 24),
    ])
    db = tmp_path / "tiny.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [path], cats)
        sources = load_sources(con, cats)
    finally:
        con.close()
    row, personal = dashboard(sources, cats, load_config(), "Barnet", date(2024, 12, 1),
                              ["Business robbery", "Personal robbery"]).rows
    assert (row.quarter_volume, row.quarter_previous) == (4, 0)
    assert (row.rolling12_volume, row.rolling12_previous) == (8, 0)
    assert row.quarter_change_pct is None and row.rolling12_change_pct is None
    assert row.p_value == pytest.approx(2 * 0.5**8) and row.significant is True
    assert row.quarter_p_value == pytest.approx(2 * 0.5**4)
    assert any("from 0 to 8" in f.text and f.sign < 0 for f in row.factors)
    assert row.ranks["London boroughs"].rank == 1 and row.ranks["London boroughs"].of == 2
    # Equal windows: 0.0 %, p = 1, and no change factor.
    assert personal.rolling12_change_pct == 0.0 and personal.p_value == 1.0
    assert personal.factors == () and personal.rag == "Amber"
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2024-12",
                "--category", "Business robbery", "--format", "json")
    assert r.code == 0, r.stderr
    o, = json.loads(r.stdout)
    assert o["quarter_change_pct"] is None and o["rolling12_change_pct"] is None
    assert o["p_value"] == pytest.approx(0.007812)
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2024-12",
                "--category", "Business robbery", "--format", "csv")
    assert r.code == 0, r.stderr
    cells, = csv.DictReader(r.stdout.splitlines())
    changes = [v for k, v in cells.items() if k.startswith("rolling12_change")]
    assert changes and all(v in ("", "n/a") for v in changes)  # not a silent 0


@needs_shared
def test_category_with_no_data(real, cats):
    db, sources, _ = real
    rows_ = dashboard(sources, cats, load_config(), "Barnet", REF,
                      ["Robbery", "Anti-social behaviour"]).rows
    assert rows_[0].source == "mps"
    assert rows_[1].source is None and "Anti-social behaviour" in (rows_[1].note or "")
    with pytest.raises(InputError, match="Anti-social behaviour"):
        dashboard(sources, cats, load_config(), "Barnet", REF, ["Anti-social behaviour"])
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                "--category", "Anti-social behaviour")
    one_line_error(r, "Anti-social behaviour")


@needs_shared
def test_unknown_category_names_the_allowed_ones(real):
    db, _, _ = real
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                "--category", "Burgalry")
    one_line_error(r, "Burgalry")


@needs_shared
def test_area_not_in_store(real, cats):
    db, sources, _ = real
    with pytest.raises(InputError, match="did you mean 'Barnet'"):
        dashboard(sources, cats, load_config(), "Barnt", REF)
    r = run_cli("dashboard", "--db", db, "--area", "Barnt", "--month", "2025-12")
    one_line_error(r, "Barnt", "Barnet")


def test_caveats_name_parameters_and_the_cli_words_them_as_flags() -> None:
    """Below the CLI a caveat names the library's parameter ('categories'); the CLI's words
    (`worded` with its `flag`) show the flag, and nothing else in the text changes."""
    from saferboard.cli.common import flag
    from saferboard.measures.dashboard import _describe_gaps, worded
    from saferboard.measures.series import LabelGap

    text = _describe_gaps("Burglary", [LabelGap("BURGLARY / SHED", None, 7,
                                                 (date(2025, 1, 1),))])
    assert text.endswith("RAG withheld; add the labels to a mapping file given as "
                         "'categories'.") and "--" not in text
    cli = worded(text, flag)
    assert cli == text.replace("'categories'", "--categories")
    assert worded("months present ('allow_partial')", flag) == "months present (--allow-partial)"
    assert worded("label 'BURGLARY' stays", flag) == "label 'BURGLARY' stays"
