"""Dashboard speed: every London borough x every category x 36 reference months, saferboard
against a straightforward pandas implementation of the same indicators, in the same run.

Goal (issue): saferboard at least 10x faster than the pandas baseline, and under 1 s of
compute for one borough's dashboard.

The store is built once (not timed) from the MPS borough releases 2025-02 and 2025-12 under
../shared/data/mps_borough_crime with saferboard's own ingest. Then:

* areas: the 33 London local authorities with shipped denominators
  (saferboard.core.areas.denominator_areas()). City of London has no MPS data (it has its own
  police force), so saferboard refuses it: those (area, month) errors are counted, and the
  baseline must refuse the same ones;
* reference months: the 36 months 2023-01 .. 2025-12;
* categories: every category of the shipped tree that the MPS data has rows for.

Methods, each in its own child process (imports are not timed):

* saferboard: `load_sources(con, cats)` (reading the store) timed on its own, then
  `dashboard(sources, cats, config, area, month, categories)` for every area and month (all
  categories per call);
* pandas: one SQL query into a long DataFrame (area, leaf category, month, count) with DuckDB's
  `.df()`, then, per area, month and category, boolean masks and groupbys for the windows, the
  rate, the ranks among each peer group, the monthly exceptions ('sd' method), the exact
  Poisson (binomial) test with scipy.stats.binomtest and the RAG from the factor signs;
* saferboard-one / pandas-one: one borough's dashboard (Barnet, 2025-12, all categories) in a
  fresh process: the first call on freshly loaded data (cold) and the median of warm calls.

Runs are interleaved (pandas, saferboard, then saferboard, pandas, ...) and the medians are
reported. Every figure both implementations compute is compared (p-values to 1e-9 relative,
everything else exactly); the script fails if any differs. Peak memory is the child's VmHWM.
Last, one instrumented child times saferboard's main steps (its functions wrapped in that
child only) and another profiles saferboard's full run with cProfile.

This is a benchmark, not a timed test: the figures are recorded by hand in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import math
import pickle
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from machine import machine, peak_rss_kib

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MPS_RELEASES = ("release_2025-02", "release_2025-12")
FIRST_MONTH, LAST_MONTH = date(2023, 1, 1), date(2025, 12, 1)
ONE_AREA, ONE_MONTH = "Barnet", date(2025, 12, 1)
WARM_CALLS = 20  # warm calls of the one-borough dashboard (median reported)
P_VALUE_RTOL = 1e-9

# The MPS monthly counts at leaf-category level: the query saferboard's load_monthly runs.
LONG_SQL = """
    SELECT s.area, lm.category, s.month, sum(s.count)::BIGINT AS count
    FROM mps_current s LEFT JOIN label_map lm ON lm.source = 'mps'
      AND lm.label = lower(regexp_replace(trim(s.major || ' / ' || s.minor), '\\s+', ' ', 'g'))
    WHERE s.level = 'borough' GROUP BY ALL"""


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Plan:
    """What every child computes (decided once by the parent, passed as JSON)."""

    db: str
    areas: list[str]
    months: list[str]  # 'YYYY-MM-01'
    categories: list[str]
    pandas_month_step: int  # 1: every month; k: every k-th month (a documented subset)

    @property
    def month_dates(self) -> list[date]:
        return [date.fromisoformat(m) for m in self.months]

    def pandas_months(self) -> list[date]:
        return self.month_dates[:: self.pandas_month_step]


def month_range(first: date, last: date) -> list[date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = date(m.year + m.month // 12, m.month % 12 + 1, 1)
    return out


def mps_files(root: Path) -> list[Path]:
    folder = root / "mps_borough_crime"
    files = [p for rel in MPS_RELEASES for p in sorted((folder / rel).glob("*.csv"))]
    if not files or any(not (folder / rel).is_dir() for rel in MPS_RELEASES):
        raise SystemExit(f"{folder}: the MPS borough releases {', '.join(MPS_RELEASES)} are "
                         "not there; this benchmark needs ../shared/data next to the repository")
    return files


def build_store(db: Path) -> tuple[list[str], int]:
    """Ingest the MPS releases into `db` (not timed); the categories the MPS data supports."""
    from saferboard import store
    from saferboard.core import categories
    from saferboard.measures.dashboard import load_sources
    from saferboard.sources.ingest import ingest

    cats = categories.load()
    con = store.connect(db)
    report = ingest(con, mps_files(SHARED_DATA), cats)
    mps = load_sources(con, cats)["mps"]
    con.close()
    supported = [c for c in cats.names() if any(mps.has_category(a, c, cats) for a in mps.areas)]
    return supported, report.rows_loaded


# --------------------------------------------------------------------------- figures
# One comparable record per (area, month, category): the same fields from both sides.

Key = tuple[str, str, str]  # area, 'YYYY-MM', category


def saferboard_figures(dash: Any) -> dict[Key, dict[str, Any]]:
    out = {}
    for ind in dash.rows:
        key = (dash.area, f"{dash.month:%Y-%m}", ind.category)
        if ind.source is None:
            out[key] = {"computed": False}
            continue
        out[key] = {
            "computed": True,
            "quarter_volume": ind.quarter_volume, "quarter_previous": ind.quarter_previous,
            "quarter_change_pct": ind.quarter_change_pct, "quarter_p_value": ind.quarter_p_value,
            "rolling12_volume": ind.rolling12_volume,
            "rolling12_previous": ind.rolling12_previous,
            "rolling12_change_pct": ind.rolling12_change_pct, "p_value": ind.p_value,
            "significant": ind.significant, "rate_per_1000": ind.rate_per_1000,
            "denominator_year": ind.denominator_year,
            "ranks": {g: (r.rank, r.of, r.without_data) for g, r in ind.ranks.items()},
            "exceptions": tuple((f"{e.month:%Y-%m}", e.count, e.flag, e.expected, e.lower,
                                 e.upper) for e in ind.exceptions),
            "factor_signs": tuple(sorted(f.sign for f in ind.factors)),
            "rag": ind.rag,
        }
    return out


def subnormal_pair(a: Any, b: Any) -> bool:
    """Both p-values below the smallest normal double (2.2e-308): subnormal floats carry
    fewer significant bits, so 1e-9 relative is not attainable there (scipy's binomtest is
    off by 3e-6 relative at 3.4e-318, saferboard's bdtr matches the exact value)."""
    return (isinstance(a, float) and isinstance(b, float)
            and 0 <= a < sys.float_info.min and 0 <= b < sys.float_info.min)


def same(field: str, a: Any, b: Any) -> bool:
    if field in ("quarter_p_value", "p_value"):
        if a is None or b is None:
            return a is b
        return subnormal_pair(a, b) or math.isclose(a, b, rel_tol=P_VALUE_RTOL, abs_tol=0.0)
    return bool(a == b)


def cross_check(sb: dict[Key, dict[str, Any]], pd_: dict[Key, dict[str, Any]],
                sb_errors: set[tuple[str, str]], pd_errors: set[tuple[str, str]]
                ) -> tuple[int, int, int, int, list[str]]:
    """(indicators compared, figures compared, mismatches, subnormal p-value pairs that
    agree only by the subnormal allowance, examples) on the overlap."""
    keys = sorted(set(sb) & set(pd_))
    figures = mismatches = subnormal = 0
    examples: list[str] = []
    for key in keys:
        a, b = sb[key], pd_[key]
        for name in sorted(set(a) | set(b)):
            if name == "ranks":
                items = [(f"rank[{g}]", a.get("ranks", {}).get(g), b.get("ranks", {}).get(g))
                         for g in sorted(set(a.get("ranks", {})) | set(b.get("ranks", {})))]
            elif name == "exceptions":
                ea, eb = a.get(name, ()), b.get(name, ())
                items = [(f"exception[{i}]", ea[i] if i < len(ea) else None,
                          eb[i] if i < len(eb) else None) for i in range(max(len(ea), len(eb)))]
            else:
                items = [(name, a.get(name), b.get(name))]
            for label, va, vb in items:
                figures += 1
                if (name in ("quarter_p_value", "p_value") and subnormal_pair(va, vb)
                        and not math.isclose(va, vb, rel_tol=P_VALUE_RTOL)):
                    subnormal += 1  # agrees only thanks to the subnormal allowance
                if not same(name, va, vb):
                    mismatches += 1
                    if len(examples) < 20:
                        examples.append(f"{key} {label}: saferboard {va!r} pandas {vb!r}")
    # The keys themselves: an indicator one side has and the other lacks is a mismatch too.
    sb_months = {k[1] for k in sb} | {m for _, m in sb_errors}
    pd_months = {k[1] for k in pd_} | {m for _, m in pd_errors}
    overlap_months = sb_months & pd_months
    for key in sorted(set(sb) ^ set(pd_)):
        if key[1] in overlap_months:
            mismatches += 1
            if len(examples) < 20:
                side = "saferboard" if key in sb else "pandas"
                examples.append(f"{key}: only {side} has this indicator")
    for err in sorted(sb_errors ^ pd_errors):
        if err[1] in overlap_months:
            mismatches += 1
            if len(examples) < 20:
                side = "saferboard" if err in sb_errors else "pandas"
                examples.append(f"{err}: only {side} refused this area and month")
    return len(keys), figures, mismatches, subnormal, examples


# --------------------------------------------------------------------------- pandas baseline
# Written as an analyst would: a long table, boolean masks, groupby, scipy for the test.


def pandas_load(con: duckdb.DuckDBPyConnection, cats: Any) -> Any:
    """The long DataFrame (area, category, month, count) from one query."""
    cats.register(con)  # the label -> category mapping as a temp table for the join
    df = con.execute(LONG_SQL).df()
    df["month"] = df["month"].astype("datetime64[ns]")
    return df


def pandas_dashboard(df: Any, cats: Any, config: Any, area: str, month: date,
                     categories: Sequence[str]) -> dict[Key, dict[str, Any]]:
    import pandas as pd
    from scipy.stats import binomtest

    from saferboard.core.areas import denominator
    from saferboard.core.errors import InputError

    if area not in set(df["area"]):
        raise LookupError(f"{area} is not in the data")
    ref = pd.Timestamp(month)
    q_first = ref - pd.DateOffset(months=2)
    r_first = ref - pd.DateOffset(months=11)
    year = pd.DateOffset(months=12)
    available = pd.DatetimeIndex(sorted(df["month"].unique()))
    needed = pd.date_range(r_first - year, ref, freq="MS")
    denominator_year = (ref - pd.DateOffset(months=5)).year
    all_areas = sorted(df["area"].unique())
    rules, settings = config.rag, config.dashboard
    out: dict[Key, dict[str, Any]] = {}
    for category in categories:
        key = (area, f"{month:%Y-%m}", category)
        cat_df = df[df["category"].isin(cats.descendants(category))]
        mine = cat_df[cat_df["area"] == area]
        if mine.empty or not needed.isin(available).all():
            out[key] = {"computed": False}
            continue
        monthly = mine.groupby("month")["count"].sum()

        def total(first: Any, last: Any, s: Any = monthly) -> int:
            return int(s[(s.index >= first) & (s.index <= last)].sum())

        qv, qp = total(q_first, ref), total(q_first - year, ref - year)
        rv, rp = total(r_first, ref), total(r_first - year, ref - year)
        q_change = None if qp == 0 else round((qv - qp) / qp * 100, 1)
        r_change = None if rp == 0 else round((rv - rp) / rp * 100, 1)
        q_p = binomtest(qv, qv + qp, 0.5).pvalue if qv + qp > 0 else 1.0
        r_p = binomtest(rv, rv + rp, 0.5).pvalue if rv + rp > 0 else 1.0

        base = "households" if category in settings.household_categories else "population"
        try:
            d = denominator(area, base, denominator_year)
            rate, rate_year = round(rv / d.value * 1000, 2), d.year
        except InputError:
            rate, rate_year = None, None

        # Ranks: rolling-12 totals of every area by groupby, rates of the group's members.
        window = cat_df[(cat_df["month"] >= r_first) & (cat_df["month"] <= ref)]
        totals = window.groupby("area")["count"].sum().reindex(all_areas, fill_value=0)
        ranks = {}
        for group, members in config.peer_groups.items():
            denoms = {}
            for member in members:
                with contextlib.suppress(InputError):  # outside London: no denominator
                    denoms[member] = denominator(member, base, denominator_year).value
            with_data = [m for m in members if m in totals.index and m in denoms]
            rates = (totals[with_data] / pd.Series(denoms)[with_data] * 1000).round(2)
            without = tuple(m for m in members if m not in with_data)
            rank = (1 + int((rates < rates[area]).sum())) if area in rates.index else None
            ranks[group] = (rank, len(rates), without)

        # Exceptions: each of the last three months against mean +/- 3 sd of the 24 before.
        history = monthly.reindex(available[available <= ref], fill_value=0)
        exceptions = []
        for m in history.index[-3:][::-1]:
            before = history[(history.index < m) & (history.index >= m - pd.DateOffset(months=24))]
            count = int(history[m])
            if len(before) < 12:
                exceptions.append((f"{m:%Y-%m}", count, "insufficient data", None, None, None))
                continue
            centre, sd = before.mean(), before.std()
            lower, upper = max(0.0, centre - 3 * sd), centre + 3 * sd
            flag = "high" if count > upper else "low" if count < lower else "normal"
            exceptions.append((f"{m:%Y-%m}", count, flag, round(centre, 1), round(lower, 1),
                               round(upper, 1)))

        # RAG: a sign per factor (change up = -1, down = +1; unusual months; rank band).
        signs = []
        for change, current, p in ((q_change, qv, q_p), (r_change, rv, r_p)):
            if rules.significant_changes_only and not p < settings.alpha:
                continue
            if change is None:
                if current > 0:
                    signs.append(-1)
            elif change < -rules.change_threshold_pct:
                signs.append(+1)
            elif change > rules.change_threshold_pct:
                signs.append(-1)
        signs += [-1 if e[2] == "high" else +1 for e in exceptions if e[2] in ("high", "low")]
        rank, of, _ = ranks.get(rules.rank_group, (None, 0, ()))
        if rank is not None and of >= 3:
            band = math.ceil(of * rules.rank_fraction)
            if rank <= band:
                signs.append(+1)
            elif rank > of - band:
                signs.append(-1)
        pos, neg = signs.count(+1), signs.count(-1)
        if neg == 0 and pos > 0:
            rag = "Green"
        elif neg > 0 and neg / (pos + neg) >= rules.red_share:
            rag = "Red"
        else:
            rag = "Amber"

        out[key] = {
            "computed": True,
            "quarter_volume": qv, "quarter_previous": qp, "quarter_change_pct": q_change,
            "quarter_p_value": float(q_p), "rolling12_volume": rv, "rolling12_previous": rp,
            "rolling12_change_pct": r_change, "p_value": float(r_p),
            "significant": bool(r_p < settings.alpha), "rate_per_1000": rate,
            "denominator_year": rate_year, "ranks": ranks, "exceptions": tuple(exceptions),
            "factor_signs": tuple(sorted(signs)), "rag": rag,
        }
    return out


# --------------------------------------------------------------------------- children




def child_full(method: str, plan: Plan, out: Path | None) -> dict[str, Any]:
    """Every area x month: load timed apart from compute. Figures are extracted afterwards."""
    from saferboard import store
    from saferboard.core import categories
    from saferboard.core.config import load_config
    from saferboard.core.errors import InputError
    from saferboard.measures.dashboard import dashboard, load_sources

    cats, config = categories.load(), load_config()
    con = store.connect(plan.db, read_only=True)
    errors: set[tuple[str, str]] = set()
    results: list[Any] = []
    long_rows = 0
    profile = cProfile.Profile() if method == "saferboard-profile" else None
    phases: dict[str, float] = {}
    if method == "saferboard-phases":
        instrument(phases)
    if method.startswith("saferboard"):
        months = plan.month_dates
        start = time.perf_counter()
        sources = load_sources(con, cats)
        load_s = time.perf_counter() - start
        if profile:
            profile.enable()
        start = time.perf_counter()
        for area in plan.areas:
            for month in months:
                try:
                    results.append(dashboard(sources, cats, config, area, month,
                                             plan.categories))
                except InputError:
                    errors.add((area, f"{month:%Y-%m}"))
        compute_s = time.perf_counter() - start
        if profile:
            profile.disable()
    else:
        months = plan.pandas_months()
        start = time.perf_counter()
        df = pandas_load(con, cats)
        load_s = time.perf_counter() - start
        long_rows = len(df)
        start = time.perf_counter()
        for area in plan.areas:
            for month in months:
                try:
                    results.append(pandas_dashboard(df, cats, config, area, month,
                                                    plan.categories))
                except LookupError:
                    errors.add((area, f"{month:%Y-%m}"))
        compute_s = time.perf_counter() - start
    peak = peak_rss_kib()
    con.close()
    figures: dict[Key, dict[str, Any]] = {}
    for r in results:
        figures.update(saferboard_figures(r) if method.startswith("saferboard") else r)
    if out is not None:
        out.write_bytes(pickle.dumps({"figures": figures, "errors": errors}))
    result: dict[str, Any] = {
        "load_s": load_s, "compute_s": compute_s, "peak_rss_kib": peak,
        "dashboards": len(results), "errors": len(errors), "months": len(months),
        "long_rows": long_rows,
        "indicators": sum(1 for f in figures.values() if f["computed"]),
        "not_computed": sum(1 for f in figures.values() if not f["computed"]),
    }
    if profile:
        result["profile"] = profile_text(profile)
    if phases:
        result["phases"] = phases
    return result


# saferboard functions timed by the instrumented run: (label, module, attribute). A call
# made inside another timed call counts for the outer one (no double counting).
PHASES = (
    ("peer ranks (_ranks: rates of every group member, incl. their _rate)",
     "saferboard.measures.dashboard", "_ranks"),
    ("monthly exceptions (exceptions.last_months, 3 months)",
     "saferboard.measures.exceptions", "last_months"),
    ("change tests (poisson_change, 2 per indicator)",
     "saferboard.measures.dashboard", "poisson_change"),
    ("own rate (_rate: denominator lookup)", "saferboard.measures.dashboard", "_rate"),
    ("coverage check (_coverage_problem)", "saferboard.measures.dashboard",
     "_coverage_problem"),
    ("category lookup (has_category)", "saferboard.measures.series:MonthlyCounts",
     "has_category"),
    ("category series (category_series, builds the [area, month] matrix once)",
     "saferboard.measures.series:MonthlyCounts", "category_series"),
    ("factors and RAG (_factors, rag)", "saferboard.measures.dashboard", "_factors"),
    ("factors and RAG (_factors, rag)", "saferboard.measures.dashboard", "rag"),
)


def instrument(totals: dict[str, float]) -> None:
    """Wrap the PHASES functions (in this child only) to add their time to `totals`."""
    import importlib

    depth = [0]

    def wrap(label: str, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - start
                depth[0] -= 1
        return timed

    for label, where, name in PHASES:
        module_name, _, cls = where.partition(":")
        owner = importlib.import_module(module_name)
        if cls:
            owner = getattr(owner, cls)
        setattr(owner, name, wrap(label, getattr(owner, name)))


def profile_text(profile: cProfile.Profile) -> str:
    buf = io.StringIO()
    stats = pstats.Stats(profile, stream=buf)
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats("saferboard", 18)
    return buf.getvalue()


def child_one(method: str, plan: Plan) -> dict[str, Any]:
    """One borough's dashboard in a fresh process: load, the first (cold) call, warm calls."""
    from saferboard import store
    from saferboard.core import categories
    from saferboard.core.config import load_config
    from saferboard.measures.dashboard import dashboard, load_sources

    cats, config = categories.load(), load_config()
    start = time.perf_counter()
    con = store.connect(plan.db, read_only=True)
    connect_s = time.perf_counter() - start
    warm: list[float] = []
    if method == "saferboard-one":
        start = time.perf_counter()
        sources = load_sources(con, cats)
        load_s = time.perf_counter() - start

        def call() -> Any:
            return dashboard(sources, cats, config, ONE_AREA, ONE_MONTH, plan.categories)
    else:
        start = time.perf_counter()
        df = pandas_load(con, cats)
        load_s = time.perf_counter() - start

        def call() -> Any:
            return pandas_dashboard(df, cats, config, ONE_AREA, ONE_MONTH, plan.categories)
    start = time.perf_counter()
    call()
    cold_s = time.perf_counter() - start
    for _ in range(WARM_CALLS if method == "saferboard-one" else 3):
        start = time.perf_counter()
        call()
        warm.append(time.perf_counter() - start)
    con.close()
    return {"connect_s": connect_s, "load_s": load_s, "cold_s": cold_s,
            "warm_s": statistics.median(warm), "warm_calls": len(warm),
            "peak_rss_kib": peak_rss_kib()}


def child_main(method: str, plan_file: Path, out: Path | None) -> None:
    import scipy.stats  # noqa: F401  (imports are not part of the timing)

    import saferboard.measures.dashboard  # noqa: F401

    if method.startswith("pandas"):
        import pandas  # noqa: F401
    plan = Plan(**json.loads(plan_file.read_text()))
    one = method.endswith("-one")
    result = child_one(method, plan) if one else child_full(method, plan, out)
    print(json.dumps({"method": method, **result}))


# --------------------------------------------------------------------------- orchestration


def run_child(method: str, plan_file: Path, out: Path | None, timeout: float
              ) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", method,
           "--child-plan", str(plan_file)]
    if out is not None:
        cmd += ["--child-out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr}")
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def schedule(repeat: int, pandas_repeat: int) -> list[str]:
    """pandas, saferboard, saferboard, pandas, pandas, ... each up to its own count."""
    order, left = [], {"pandas": pandas_repeat, "saferboard": repeat}
    rep = 0
    while any(left.values()):
        for method in (("pandas", "saferboard") if rep % 2 == 0 else ("saferboard", "pandas")):
            if left[method]:
                order.append(method)
                left[method] -= 1
        rep += 1
    return order




def median_of(runs: Sequence[dict[str, Any]], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def report(plan: Plan, runs: dict[str, list[dict[str, Any]]], ones: dict[str, list[dict[str, Any]]],
           repeat: int, pandas_repeat: int) -> None:
    sb, pdr = runs["saferboard"], runs["pandas"]
    n_sb = sb[0]["indicators"]
    n_pd = pdr[0]["indicators"]
    print(f"\n## Full dashboard: {len(plan.areas)} areas x {len(plan.months)} months x "
          f"{len(plan.categories)} categories")
    step = plan.pandas_month_step
    subset = "" if step == 1 else (f" (SUBSET: every {step}th reference month, "
                                    f"{len(plan.pandas_months())} months)")
    print(f"saferboard: {sb[0]['dashboards']} dashboards, {n_sb:,} indicators computed, "
          f"{sb[0]['errors']} (area, month) errors, {sb[0]['not_computed']} indicators without "
          f"data")
    print(f"pandas:     {pdr[0]['dashboards']} dashboards, {n_pd:,} indicators computed, "
          f"{pdr[0]['errors']} (area, month) errors{subset}; long DataFrame "
          f"{pdr[0]['long_rows']:,} rows (area, leaf category, month, count)")
    print("\n| method | runs | load s (median) | compute s (median) | compute s (all runs) "
          "| indicators/s (compute) | peak RSS MiB (max) |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for name, rs, n in (("pandas", pdr, n_pd), ("saferboard", sb, n_sb)):
        all_runs = ", ".join(f"{r['compute_s']:.2f}" for r in rs)
        print(f"| {name} | {len(rs)} | {median_of(rs, 'load_s'):.3f} "
              f"| {median_of(rs, 'compute_s'):.2f} | {all_runs} "
              f"| {n / median_of(rs, 'compute_s'):,.0f} "
              f"| {max(r['peak_rss_kib'] for r in rs) / 1024:,.0f} |")
    sb_per = median_of(sb, "compute_s") / n_sb
    pd_per = median_of(pdr, "compute_s") / n_pd
    pd_full = pd_per * n_sb
    if step != 1:
        print(f"pandas scaled to the full {n_sb:,} indicators (per-indicator time x count): "
              f"{pd_full:.1f} s")
    print(f"speed-up (pandas / saferboard, compute, per indicator): {pd_per / sb_per:.1f}x "
          f"({'meets' if pd_per / sb_per >= 10 else 'BELOW'} the 10x goal)")
    sb_total = median_of(sb, "compute_s") + median_of(sb, "load_s")
    pd_total = pd_full + median_of(pdr, "load_s")
    print(f"speed-up including the load (pandas / saferboard): {pd_total / sb_total:.1f}x")
    print(f"\n## One borough: {ONE_AREA}, {ONE_MONTH:%Y-%m}, {len(plan.categories)} categories, "
          "fresh process each run")
    print("| method | runs | connect s | load s | first call s (cold) | warm call s "
          "(median of calls) | load + cold s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("pandas-one", "saferboard-one"):
        rs = ones[name]
        print(f"| {name} | {len(rs)} | {median_of(rs, 'connect_s'):.3f} "
              f"| {median_of(rs, 'load_s'):.3f} | {median_of(rs, 'cold_s'):.4f} "
              f"| {median_of(rs, 'warm_s'):.4f} ({rs[0]['warm_calls']}) "
              f"| {statistics.median(r['load_s'] + r['cold_s'] for r in rs):.3f} "
              f"| {max(r['peak_rss_kib'] for r in rs) / 1024:,.0f} |")
    one = ones["saferboard-one"]
    cold = median_of(one, "cold_s")
    cold_load = statistics.median(r["load_s"] + r["cold_s"] for r in one)
    print(f"saferboard one-borough dashboard: cold {cold:.3f} s, load + cold {cold_load:.3f} s, "
          f"warm {median_of(one, 'warm_s'):.4f} s "
          f"({'meets' if cold_load < 1 else 'ABOVE'} the 1 s goal)")
    print(f"(pandas runs: {pandas_repeat}; saferboard runs: {repeat}; medians reported)")


def print_phases(r: dict[str, Any]) -> None:
    total = r["compute_s"]
    print(f"\n## Where saferboard's compute time goes (one instrumented run, {total:.2f} s, "
          f"{r['indicators']:,} indicators)")
    print("| phase | s | % | µs per indicator |")
    print("|---|---:|---:|---:|")
    rows = sorted(r["phases"].items(), key=lambda kv: -kv[1])
    rest = total - sum(r["phases"].values())
    for label, seconds in [*rows, ("other (window sums, history list, Indicator objects, "
                                   "dashboard loop)", rest)]:
        print(f"| {label} | {seconds:.2f} | {100 * seconds / total:.1f} "
              f"| {1e6 * seconds / r['indicators']:.0f} |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--repeat", type=int, default=3,
                   help="saferboard runs (full and one-borough); medians reported (default 3)")
    p.add_argument("--pandas-repeat", type=int, default=1,
                   help="pandas full runs (default 1: a full run takes minutes)")
    p.add_argument("--pandas-month-step", type=int, default=1,
                   help="run pandas on every k-th reference month only (default 1: all 36)")
    p.add_argument("--timeout", type=float, default=3600,
                   help="seconds before one measurement is abandoned (default 3600)")
    p.add_argument("--no-profile", action="store_true", help="skip the cProfile run")
    p.add_argument("--workdir", type=Path, default=None,
                   help="where the store goes (default: a temporary folder, removed)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-plan", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise SystemExit("pandas is needed for the baseline: pip install -e '.[bench]'") from None
    if args.child:
        child_main(args.child, args.child_plan, args.child_out)
        return
    if not SHARED_DATA.is_dir():
        raise SystemExit(f"{SHARED_DATA}: not found; this benchmark needs the shared data "
                         "next to the repository (../shared/data)")
    from saferboard.core.areas import denominator_areas

    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="saferboard-dash-")) if temporary \
        else args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        print(machine("numpy", "scipy", "pandas"))
        db = workdir / "store.duckdb"
        for path in (db, db.with_name(db.name + ".wal")):
            path.unlink(missing_ok=True)
        start = time.perf_counter()
        supported, rows = build_store(db)
        print(f"store: {rows:,} MPS rows from {', '.join(MPS_RELEASES)} ingested in "
              f"{time.perf_counter() - start:.2f} s (not measured)")
        plan = Plan(str(db), denominator_areas(),
                    [m.isoformat() for m in month_range(FIRST_MONTH, LAST_MONTH)], supported,
                    args.pandas_month_step)
        print(f"areas: {len(plan.areas)}; reference months {plan.months[0][:7]}.."
              f"{plan.months[-1][:7]} ({len(plan.months)}); categories ({len(supported)}): "
              + ", ".join(supported))
        plan_file = workdir / "plan.json"
        plan_file.write_text(json.dumps(plan.__dict__))
        runs: dict[str, list[dict[str, Any]]] = {"pandas": [], "saferboard": []}
        outs: dict[str, Path] = {}
        for i, method in enumerate(schedule(args.repeat, args.pandas_repeat)):
            out = None
            if not runs[method]:
                out = outs[method] = workdir / f"{method}.figures.pickle"
            r = run_child(method, plan_file, out, args.timeout)
            runs[method].append(r)
            print(f"  run {i + 1} {method:<10} load {r['load_s']:7.3f} s  compute "
                  f"{r['compute_s']:8.2f} s  {r['indicators']:,} indicators  "
                  f"{r['indicators'] / r['compute_s']:10,.0f} /s  "
                  f"peak {r['peak_rss_kib'] / 1024:6.1f} MiB", flush=True)
        ones: dict[str, list[dict[str, Any]]] = {"pandas-one": [], "saferboard-one": []}
        for rep in range(args.repeat):
            for method in (("pandas-one", "saferboard-one") if rep % 2 == 0
                           else ("saferboard-one", "pandas-one")):
                r = run_child(method, plan_file, None, args.timeout)
                ones[method].append(r)
                print(f"  {method:<15} load {r['load_s']:.3f} s  cold {r['cold_s']:.4f} s  "
                      f"warm {r['warm_s']:.4f} s", flush=True)
        report(plan, runs, ones, args.repeat, args.pandas_repeat)

        sb = pickle.loads(outs["saferboard"].read_bytes())
        pdx = pickle.loads(outs["pandas"].read_bytes())
        n, figures, bad, subnormal, examples = cross_check(
            sb["figures"], pdx["figures"], sb["errors"], pdx["errors"])
        refused = sorted({a for a, _ in sb["errors"]})
        print(f"\n## Cross-check: {n:,} indicators (area, month, category) compared, "
              f"{figures:,} figures, {bad} mismatches; (area, month) refused by both: "
              f"{len(sb['errors'] & pdx['errors'])} ({', '.join(refused)})")
        print(f"  compared exactly, except p-values: {P_VALUE_RTOL:g} relative; "
              f"{subnormal} p-value pair(s) both below 2.2e-308 (subnormal doubles) differ "
              "by more than that and count as agreeing")
        for line in examples:
            print("  " + line)
        if not args.no_profile:
            r = run_child("saferboard-phases", plan_file, None, args.timeout)
            print_phases(r)
            r = run_child("saferboard-profile", plan_file, None, args.timeout)
            print(f"\n## cProfile of saferboard's full run ({r['compute_s']:.2f} s under the "
                  f"profiler)\n{r['profile']}")
        if bad:
            raise SystemExit(f"cross-check FAILED: {bad} mismatches")
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
