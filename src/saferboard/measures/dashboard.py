"""The performance dashboard (seed 001, "Summary dashboard A"): per category, the recent
quarter and rolling 12 months against a year earlier, rate, peer ranks, monthly exceptions,
significance, and a RAG with its positive and negative factors in words."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np

from saferboard.areas import denominator
from saferboard.categories import Categories
from saferboard.config import Config, RagRules
from saferboard.errors import InputError
from saferboard.measures import exceptions as exc
from saferboard.measures.series import MonthlyCounts, load_monthly
from saferboard.measures.significance import METHOD, pct_change, poisson_change
from saferboard.measures.windows import Window, quarter, rolling12, shift

SOURCE_ORDER = ("mps", "policeuk")  # MPS first: it splits residential and business burglary
NEEDED_MONTHS = 24  # rolling 12 months and the 12 before them


@dataclass(frozen=True)
class Rank:
    group: str
    rank: int | None  # 1 = lowest rate; None when the area has no rate or is not a member
    of: int  # members with a rate
    without_data: tuple[str, ...]  # members left out: no data or no denominator


@dataclass(frozen=True)
class Factor:
    text: str
    sign: int  # +1 positive, -1 negative


@dataclass(frozen=True)
class Indicator:
    category: str
    source: str | None  # None: no source has data for this category and area
    area: str
    month: date
    quarter_volume: int | None = None
    quarter_previous: int | None = None
    quarter_change_pct: float | None = None
    quarter_p_value: float | None = None
    rolling12_volume: int | None = None
    rolling12_previous: int | None = None
    rolling12_change_pct: float | None = None
    p_value: float | None = None  # of the rolling 12 months change
    significant: bool | None = None
    rate_per_1000: float | None = None
    rate_base: str = "population"
    denominator_year: int | None = None
    ranks: dict[str, Rank] = field(default_factory=dict)
    exceptions: tuple[exc.Exception_, ...] = ()
    rag: str | None = None
    factors: tuple[Factor, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Dashboard:
    area: str
    month: date
    quarter: Window
    rolling12: Window
    rows: tuple[Indicator, ...]
    glossary: dict[str, str]


def load_sources(con: duckdb.DuckDBPyConnection, cats: Categories) -> dict[str, MonthlyCounts]:
    """Every source's monthly counts, read once; pass to `dashboard` for any area and month."""
    return {s: load_monthly(con, cats, s) for s in SOURCE_ORDER}


def canonical_area(sources: dict[str, MonthlyCounts], area: str) -> str:
    known = sorted({a for t in sources.values() for a in t.areas})
    for a in known:
        if a.lower() == area.strip().lower():
            return a
    close = difflib.get_close_matches(area, known, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else (
        f"; areas in the store: {', '.join(known[:40])}" if known else "; the store is empty")
    raise InputError(f"area {area!r} is not in the store{hint}", column="--area")


def source_for(sources: dict[str, MonthlyCounts], cats: Categories, area: str,
               category: str) -> MonthlyCounts:
    """The preferred source with any data for `category` in `area` (MPS first)."""
    for name in SOURCE_ORDER:
        table = sources[name]
        if table.has_category(area, category, cats):
            return table
    raise InputError(f"no data for {category} in {area}", column="--category")


def latest_month(sources: dict[str, MonthlyCounts], area: str) -> date:
    months = [max(t.covered[a]) for t in sources.values() for a in t.areas
              if a.lower() == area.lower() and t.covered.get(a)]
    if not months:
        raise InputError(f"no data for {area!r}", column="--area")
    return max(months)


def dashboard(
    sources: dict[str, MonthlyCounts],
    cats: Categories,
    config: Config,
    area: str,
    month: date,
    categories: Sequence[str] | None = None,
) -> Dashboard:
    """The dashboard for `area` with reference month `month` (the last month included)."""
    area = canonical_area(sources, area)
    names = list(categories or config.dashboard.categories)
    for name in names:
        cats.descendants(name)  # an unknown category is an error naming the allowed ones
    rows = [_indicator(sources, cats, config, area, month, name) for name in names]
    if all(r.source is None for r in rows):
        raise InputError(f"{area}: no indicator can be computed for {month:%Y-%m}: "
                         + (rows[0].note or "no data"), column="--month")
    return Dashboard(area, month, quarter(month), rolling12(month), tuple(rows),
                     glossary(config))


def _coverage_problem(table: MonthlyCounts, area: str, month: date) -> str | None:
    covered = table.covered.get(area, frozenset())
    needed = rolling12(month).year_earlier().months + rolling12(month).months
    missing = [m for m in needed if m not in covered]
    if not missing:
        return None
    if not covered:
        return f"{table.source} has no months for {area}"
    first, last = min(covered), max(covered)
    if month > last:
        return (f"{table.source} data for {area} ends {last:%Y-%m}; the reference month "
                f"{month:%Y-%m} is after it")
    if needed[0] < first:
        return (f"{table.source} data for {area} starts {first:%Y-%m}; reference month "
                f"{month:%Y-%m} needs {NEEDED_MONTHS} months from {needed[0]:%Y-%m} "
                f"(choose {shift(first, NEEDED_MONTHS - 1):%Y-%m} or later)")
    shown = ", ".join(f"{m:%Y-%m}" for m in missing[:6])
    return f"{table.source} data for {area} is missing month(s) {shown}; import them first"


def _indicator(sources: dict[str, MonthlyCounts], cats: Categories, config: Config,
               area: str, month: date, category: str) -> Indicator:
    reasons = []
    base = ("households" if category in config.dashboard.household_categories
            else "population")
    for source in SOURCE_ORDER:
        table = sources[source]
        if not table.has_area(area):
            continue
        if not table.has_category(area, category, cats):
            reasons.append(f"{source} has no {category} for {area}")
            continue
        series = table.category_series(area, category, cats)
        problem = _coverage_problem(table, area, month)
        if problem:
            reasons.append(problem)
            continue
        return _compute(table, cats, config, area, month, category, series, base)
    note = "; ".join(reasons) or f"no data for {category} in {area}"
    return Indicator(category, None, area, month, rate_base=base, note=note)


def _window_sum(table: MonthlyCounts, series: np.ndarray, w: Window) -> int:
    a, b = table.position(w.first), table.position(w.last)
    return int(series[a:b + 1].sum())


def _rate(table: MonthlyCounts, volume: int, area: str, base: str, month: date
          ) -> tuple[float | None, int | None]:
    try:
        d = denominator(area, base, shift(month, -5).year)  # mid-year nearest the window
    except InputError:
        return None, None
    return round(volume / d.value * 1000, 2), d.year


def _compute(table: MonthlyCounts, cats: Categories, config: Config, area: str, month: date,
             category: str, series: np.ndarray, base: str) -> Indicator:
    q, r = quarter(month), rolling12(month)
    qv, qp = _window_sum(table, series, q), _window_sum(table, series, q.year_earlier())
    rv, rp = _window_sum(table, series, r), _window_sum(table, series, r.year_earlier())
    alpha = config.dashboard.alpha
    q_test, r_test = poisson_change(qv, qp, alpha=alpha), poisson_change(rv, rp, alpha=alpha)
    rate, year = _rate(table, rv, area, base, month)
    ranks = _ranks(table, cats, config, area, month, category, base)
    end = table.position(month)
    covered = table.covered.get(area, frozenset())
    history = [(m, int(series[i])) for i, m in enumerate(table.months[:end + 1]) if m in covered]
    # Only the flagged months and their baselines matter; the rest of the history since 2010
    # would be scanned for nothing (a quarter of the all-borough dashboard's time).
    history = history[-(3 + exc.BASELINE_MONTHS):]
    flags = tuple(exc.last_months(history, 3, method=config.dashboard.exception_method))
    ind = Indicator(
        category, table.source, area, month, qv, qp, pct_change(qv, qp), q_test.p_value,
        rv, rp, pct_change(rv, rp), r_test.p_value, r_test.significant, rate, base, year,
        ranks, flags,
    )
    factors = _factors(ind, q_test.significant, config.rag)
    return Indicator(**{**ind.__dict__, "rag": rag(factors, config.rag), "factors": factors})


def _ranks(table: MonthlyCounts, cats: Categories, config: Config, area: str, month: date,
           category: str, base: str) -> dict[str, Rank]:
    matrix = table.category_matrix(category, cats)
    r = rolling12(month)
    a, b = table.position(r.first), table.position(r.last)
    totals = matrix[:, a:b + 1].sum(axis=1)
    out = {}
    for group, members in config.peer_groups.items():
        rates: dict[str, float] = {}
        missing = []
        for member in members:
            if not table.has_area(member) or not table.covered.get(
                    table.areas[table.area_index(member)], frozenset()) >= set(r.months):
                missing.append(member)
                continue
            value, _ = _rate(table, int(totals[table.area_index(member)]), member, base, month)
            if value is None:
                missing.append(member)
            else:
                rates[member.lower()] = value
        mine = rates.get(area.lower())
        rank = None if mine is None else 1 + sum(1 for v in rates.values() if v < mine)
        out[group] = Rank(group, rank, len(rates), tuple(missing))
    return out


def _change_factor(change: float | None, current: int, previous: int, significant: bool,
                   rules: RagRules, down: str, up: str) -> Factor | None:
    if rules.significant_changes_only and not significant:
        return None
    suffix = ", significant" if significant else ""
    if change is None:
        return Factor(f"{up} (from 0 to {current}{suffix})", -1) if current > 0 else None
    if change < -rules.change_threshold_pct:
        return Factor(f"{down} ({change:+.1f}%{suffix})", +1)
    if change > rules.change_threshold_pct:
        return Factor(f"{up} ({change:+.1f}%{suffix})", -1)
    return None


def _factors(ind: Indicator, quarter_significant: bool, rules: RagRules) -> tuple[Factor, ...]:
    assert ind.quarter_volume is not None and ind.rolling12_volume is not None
    out = [
        _change_factor(ind.quarter_change_pct, ind.quarter_volume, ind.quarter_previous or 0,
                       quarter_significant, rules,
                       "Last quarter reduction vs. one year ago",
                       "Last quarter increase vs. one year ago"),
        _change_factor(ind.rolling12_change_pct, ind.rolling12_volume,
                       ind.rolling12_previous or 0, bool(ind.significant), rules,
                       "Decrease in rolling 12 months", "Increase in rolling 12 months"),
    ]
    for e in ind.exceptions:
        if e.flag in ("high", "low"):
            word = "high" if e.flag == "high" else "low"
            out.append(Factor(f"Unusually {word} month: {e.month:%b %Y} ({e.count} against "
                              f"an expected {e.expected:.0f})", -1 if word == "high" else +1))
    rank = ind.ranks.get(rules.rank_group)
    if rank and rank.rank is not None and rank.of >= 3:
        band = math.ceil(rank.of * rules.rank_fraction)
        if rank.rank <= band:
            out.append(Factor(f"Rate among the lowest in {rank.group} "
                              f"({rank.rank}/{rank.of})", +1))
        elif rank.rank > rank.of - band:
            out.append(Factor(f"Rate among the highest in {rank.group} "
                              f"({rank.rank}/{rank.of})", -1))
    return tuple(f for f in out if f is not None)


def rag(factors: Sequence[Factor], rules: RagRules) -> str:
    """Green: every factor positive; Red: all or nearly all (red_share) negative; else Amber."""
    pos = sum(1 for f in factors if f.sign > 0)
    neg = sum(1 for f in factors if f.sign < 0)
    if neg == 0 and pos > 0:
        return "Green"
    if neg > 0 and neg / (pos + neg) >= rules.red_share:
        return "Red"
    return "Amber"


def glossary(config: Config) -> dict[str, str]:
    """Definitions of the methods actually used, in the board's words (seed 001 glossary)."""
    r, d = config.rag, config.dashboard
    sig_rule = (" Only statistically significant changes count." if r.significant_changes_only
                else "")
    return {
        "RAG": (f"Green - all factors positive; Amber - mixed, or no factor clearly positive "
                f"or negative; Red - all or nearly all (at least {r.red_share:.0%}) "
                f"negative. Factors: change in the latest quarter and in the rolling 12 "
                f"months vs a year earlier (changes within "
                f"+/-{r.change_threshold_pct:g}% are neutral), unusually high or low months, "
                f"and the rank in {r.rank_group or 'no group'} (best "
                f"{r.rank_fraction:.0%} positive, worst {r.rank_fraction:.0%} negative)."
                + sig_rule),
        "Latest quarter": "The three months ending at the reference month, compared with the "
                          "same three months one year earlier.",
        "Rolling 12 months": "The twelve months ending at the reference month, compared with "
                             "the twelve months before them.",
        "Rate": "Crimes in the rolling 12 months per 1,000 residents (per 1,000 households for "
                + ", ".join(d.household_categories)
                + "); ONS mid-year estimates and Census households, latest year available.",
        "Peer comparison": "Rank by rate among the areas of a peer group that have data; 1 is "
                           "the lowest rate (best).",
        "Monthly exceptions": ("A month is unusually high or low when it falls outside "
                               + exc.DESCRIPTIONS[d.exception_method] + "."),
        "Significance": METHOD.format(alpha=d.alpha),
    }
