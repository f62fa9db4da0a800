"""The performance dashboard (seed 001, "Summary dashboard A"): per category, the recent
quarter and rolling 12 months against a year earlier, rate, peer ranks, monthly exceptions,
significance, and a RAG with its positive and negative factors in words."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np

from saferboard.core.areas import denominator, resolve_area_name
from saferboard.core.categories import Categories
from saferboard.core.config import Config, RagRules
from saferboard.core.errors import InputError
from saferboard.measures import exceptions as exc
from saferboard.measures.compare import PeerCount, peer_counts
from saferboard.measures.series import LabelGap, MonthlyCounts, load_monthly
from saferboard.measures.significance import METHOD, pct_change, poisson_change
from saferboard.measures.windows import Window, quarter, rolling12, shift

SOURCE_ORDER = ("mps", "policeuk")  # MPS first: it splits residential and business burglary
NEEDED_MONTHS = 24  # rolling 12 months and the 12 before them
# The parameters the notes and caveats name, in the library's words ('allow_partial', as an
# InputError's `mentions`); `worded` puts them in a caller's (the CLI: its flags).
NOTE_MENTIONS = ("allow_partial", "categories")


def worded(text: str, name: Callable[[str], str]) -> str:
    """A note or caveat with each parameter it names (written 'allow_partial') as `name`
    gives it, e.g. the CLI's flag `--allow-partial`."""
    for m in NOTE_MENTIONS:
        text = text.replace(repr(m), name(m))
    return text


@dataclass(frozen=True)
class Rank:
    group: str
    rank: int | None  # 1 = lowest rate; None when the area has no rate or is not a member
    of: int  # members with a rate
    without_data: tuple[str, ...]  # members left out: no data or no denominator
    # Non-empty when members come from another source than the area's (compare.peer_counts:
    # only on a category both publish), naming them; `reasons`: why, for those it lacks.
    note: str = ""
    reasons: tuple[tuple[str, str], ...] = ()


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
    exceptions: tuple[exc.MonthException, ...] = ()
    rag: str | None = None  # None: withheld (no data, or the figures are incomplete)
    factors: tuple[Factor, ...] = ()
    note: str | None = None
    # False when a window holds rows whose labels could not be placed in this category, or
    # (with allow_partial) months are missing: the figures are lower bounds, RAG withheld.
    complete: bool = True
    caveats: tuple[str, ...] = ()  # why the figures are incomplete or missing, in words
    no_clear_change: tuple[str, ...] = ()  # changes that are not significant: neutral


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
    """The store's name for `area`: a name in the store, or any LA / CSP name or code of
    England and Wales (core.areas.resolve_area_name, with its "did you mean")."""
    known = sorted({a for t in sources.values() for a in t.areas})
    if not known:
        raise InputError(f"area {area!r} is not in the store; the store is empty",
                         param="area")
    return resolve_area_name(area, known)


def source_for(sources: dict[str, MonthlyCounts], cats: Categories, area: str,
               category: str) -> MonthlyCounts:
    """The preferred source with any data for `category` in `area` (MPS first)."""
    for name in SOURCE_ORDER:
        table = sources[name]
        if table.has_category(area, category, cats):
            return table
    raise InputError(f"no data for {category} in {area}", param="category")


def latest_month(sources: dict[str, MonthlyCounts], area: str) -> date:
    months = [max(t.covered[a]) for t in sources.values() for a in t.areas
              if a.lower() == area.lower() and t.covered.get(a)]
    if not months:
        raise InputError(f"no data for {area!r}", param="area")
    return max(months)


@dataclass(frozen=True)
class RateTable:
    """Every area's unrounded rolling-12 rate per 1,000 for one source, category, reference
    month and base, computed once for all areas' peer ranks (`dashboards`). An area without
    all 12 months or without a denominator is absent: it has no rate to rank."""

    source: str
    category: str
    month: date
    base: str
    rates: dict[str, float]  # area (lower case) -> rate


RateKey = tuple[str, str, date, str]  # (source, category, month, base)


def rate_table(table: MonthlyCounts, cats: Categories, category: str, month: date,
               base: str) -> RateTable:
    """The rates of every area of `table` by the same rule as one area's ranks (`_ranks`)."""
    r = rolling12(month)
    rates: dict[str, float] = {}
    if table.months and table.months[0] <= r.first and r.last <= table.months[-1]:
        matrix = table.category_matrix(category, cats)
        a, b = table.position(r.first), table.position(r.last)
        totals = matrix[:, a:b + 1].sum(axis=1)
        needed = set(r.months)
        for i, area in enumerate(table.areas):
            if not table.covered.get(area, frozenset()) >= needed:
                continue
            value, _ = _rate(table, int(totals[i]), area, base, month, exact=True)
            if value is not None:
                rates[area.lower()] = value
    return RateTable(table.source, category, month, base, rates)


def dashboards(
    sources: dict[str, MonthlyCounts],
    cats: Categories,
    configs: Sequence[Config],
    month: date,
    categories: Sequence[str] | None = None,
    *,
    allow_partial: bool = False,
) -> tuple[Dashboard, ...]:
    """The dashboard of each configuration's area for `month`: the same result as calling
    `dashboard` once per configuration, but every peer rate is computed once per source,
    category and month (`rate_table`) for all areas, not once per area and peer group."""
    keys: set[RateKey] = set()
    for config in configs:
        for name in categories or config.dashboard.categories:
            base = _base(config, name)
            keys.update((s, name, month, base) for s in SOURCE_ORDER if sources[s].areas)
    tables = {k: rate_table(sources[k[0]], cats, k[1], k[2], k[3]) for k in sorted(keys)}
    return tuple(dashboard(sources, cats, c, c.area, month, categories,
                           allow_partial=allow_partial, rates=tables) for c in configs)


def _base(config: Config, category: str) -> str:
    return ("households" if category in config.dashboard.household_categories
            else "population")


def dashboard(
    sources: dict[str, MonthlyCounts],
    cats: Categories,
    config: Config,
    area: str,
    month: date,
    categories: Sequence[str] | None = None,
    *,
    allow_partial: bool = False,
    rates: dict[RateKey, RateTable] | None = None,
) -> Dashboard:
    """The dashboard for `area` with reference month `month` (the last month included).

    A window with a missing month makes the indicator null, with the reason, unless
    `allow_partial`: then it is computed from the months present, marked incomplete.
    `rates` (from `dashboards`) holds every area's rates, computed once; without it the
    rates of the area's peers are computed here.
    """
    area = canonical_area(sources, area)
    names = list(categories or config.dashboard.categories)
    for name in names:
        cats.descendants(name)  # an unknown category is an error naming the allowed ones
    rows = [_indicator(sources, cats, config, area, month, name, allow_partial, rates or {})
            for name in names]
    # Refuse only when the month itself is out of range; a gap inside the windows leaves the
    # affected indicators null with the reason instead of refusing the whole dashboard.
    if all(r.source is None and not r.caveats for r in rows):
        raise InputError(f"{area}: no indicator can be computed for {month:%Y-%m}: "
                         + (rows[0].note or "no data"), param="month")
    return Dashboard(area, month, quarter(month), rolling12(month), tuple(rows),
                     glossary(config))


def _coverage_problem(table: MonthlyCounts, area: str, month: date
                      ) -> tuple[str, list[date]] | None:
    """None when all 24 months are present; else the reason and the missing months (empty
    when the reference month lies outside the data, which no option can compute)."""
    covered = table.covered.get(area, frozenset())
    needed = rolling12(month).year_earlier().months + rolling12(month).months
    missing = [m for m in needed if m not in covered]
    if not missing:
        return None
    if not covered:
        return f"{table.source} has no months for {area}", []
    first, last = min(covered), max(covered)
    if month > last:
        return (f"{table.source} data for {area} ends {last:%Y-%m}; the reference month "
                f"{month:%Y-%m} is after it"), []
    if needed[0] < first:
        return (f"{table.source} data for {area} starts {first:%Y-%m}; reference month "
                f"{month:%Y-%m} needs {NEEDED_MONTHS} months from {needed[0]:%Y-%m} "
                f"(choose {shift(first, NEEDED_MONTHS - 1):%Y-%m} or later; from "
                f"{shift(first, 11):%Y-%m} the rolling 12 months and from "
                f"{shift(first, 14):%Y-%m} the quarter can be computed)"), []
    shown = ", ".join(f"{m:%Y-%m}" for m in missing[:6]) + (" ..." if len(missing) > 6 else "")
    return (f"{table.source} data for {area} is missing {len(missing)} of the "
            f"{NEEDED_MONTHS} months ({shown}); import them, or set 'allow_partial' to "
            "compute from the months present"), missing


def _indicator(sources: dict[str, MonthlyCounts], cats: Categories, config: Config,
               area: str, month: date, category: str, allow_partial: bool,
               rates: dict[RateKey, RateTable]) -> Indicator:
    reasons = []
    gap_reasons = []
    base = _base(config, category)
    partial: list[tuple[MonthlyCounts, frozenset[str], str]] = []
    # Peers the area's source lacks may come from another (Barnet's MSG outside London).
    others = tuple(sources[s] for s in SOURCE_ORDER)
    for source in SOURCE_ORDER:
        table = sources[source]
        if not table.has_area(area):
            continue
        if not table.has_category(area, category, cats):
            reasons.append(f"{source} has no {category} for {area}")
            continue
        series = table.category_series(area, category, cats)
        problem = _coverage_problem(table, area, month)
        if problem and problem[1] and allow_partial:
            return _compute(table, cats, config, area, month, category, series, base,
                            rates, problem[1], others=others)
        if problem:
            reasons.append(problem[0])
            if problem[1]:
                gap_reasons.append(problem[0])
            skip = _uncomputable(table, area, month)
            if len(skip) < len(WINDOW_PARTS):
                partial.append((table, skip, problem[0]))
            continue
        return _compute(table, cats, config, area, month, category, series, base, rates,
                        others=others)
    if partial:  # no source has all 24 months: compute what one of them can (MPS first)
        table, skip, why = partial[0]
        return _compute(table, cats, config, area, month, category,
                        table.category_series(area, category, cats), base, rates,
                        skip=skip, skip_reason=why, others=others)
    note = "; ".join(reasons) or f"no data for {category} in {area}"
    return Indicator(category, None, area, month, rate_base=base, note=note,
                     complete=not gap_reasons, caveats=tuple(gap_reasons))


# The parts of an indicator that need their own months: the quarter and its year-earlier
# quarter (change), the rolling 12 months (volume, rate, ranks), the 12 months before them.
WINDOW_PARTS = ("quarter", "rolling12", "rolling12_change")


def _uncomputable(table: MonthlyCounts, area: str, month: date) -> frozenset[str]:
    """The parts of `WINDOW_PARTS` whose months are not all in the data (partial history:
    e.g. police.uk files for 2024-01..04 and 2025-01..12 give the quarter to 2025-03 against
    a year earlier and the rolling 12 months to 2025-12, but no rolling change)."""
    covered = table.covered.get(area, frozenset())
    q, r = quarter(month), rolling12(month)
    if month not in covered:
        return frozenset(WINDOW_PARTS)
    out = set()
    if not covered >= {*q.months, *q.year_earlier().months}:
        out.add("quarter")
    if not covered >= set(r.months):
        out.update(("rolling12", "rolling12_change"))
    elif not covered >= set(r.year_earlier().months):
        out.add("rolling12_change")
    return frozenset(out)


def _window_sum(table: MonthlyCounts, series: np.ndarray, w: Window) -> int:
    # Months outside the table's range have no data (allow_partial); they add nothing.
    a = max(0, table.position(w.first))
    b = min(len(table.months) - 1, table.position(w.last))
    return int(series[a:b + 1].sum()) if a <= b else 0


def _rate(table: MonthlyCounts, volume: int, area: str, base: str, month: date,
          *, exact: bool = False) -> tuple[float | None, int | None]:
    """Rate per 1,000 (rounded to 0.01 for display; `exact` for comparisons and ranks)."""
    try:
        d = denominator(area, base, shift(month, -5).year)  # mid-year nearest the window
    except InputError:
        return None, None
    rate = volume / d.value * 1000
    return (rate if exact else round(rate, 2)), d.year


def _describe_gaps(category: str, gaps: Sequence[LabelGap]) -> str:
    """The caveat naming the labels and crimes that could not be placed in `category`."""
    total = sum(g.crimes for g in gaps)
    parts = []
    for g in gaps[:5]:
        where = (f"counted under {g.placed_under}" if g.placed_under
                 else "counted under no category")
        span = (f"{g.months[0]:%Y-%m}" if len(g.months) == 1
                else f"{g.months[0]:%Y-%m}..{g.months[-1]:%Y-%m}, {len(g.months)} months")
        parts.append(f"'{g.label}' ({g.crimes:,} crimes, {span}; {where})")
    more = f" and {len(gaps) - 5} more label(s)" if len(gaps) > 5 else ""
    return (f"Incomplete: {total:,} crimes in these windows carry {len(gaps)} label(s) not "
            f"in the category mapping, so they may belong to {category} but are not counted "
            f"in it: {'; '.join(parts)}{more}. RAG withheld; add the labels to a mapping "
            "file given as 'categories'.")


def _compute(table: MonthlyCounts, cats: Categories, config: Config, area: str, month: date,
             category: str, series: np.ndarray, base: str,
             rates: dict[RateKey, RateTable], missing: Sequence[date] = (), *,
             skip: frozenset[str] = frozenset(), skip_reason: str = "",
             others: Sequence[MonthlyCounts] = ()) -> Indicator:
    if skip:
        return _compute_partial(table, cats, config, area, month, category, series, base,
                                rates, skip, skip_reason, others)
    q, r = quarter(month), rolling12(month)
    qv, qp = _window_sum(table, series, q), _window_sum(table, series, q.year_earlier())
    rv, rp = _window_sum(table, series, r), _window_sum(table, series, r.year_earlier())
    alpha = config.dashboard.alpha
    q_test, r_test = poisson_change(qv, qp, alpha=alpha), poisson_change(rv, rp, alpha=alpha)
    rate, year = _rate(table, rv, area, base, month)
    ranks = _ranks(table, cats, config, area, month, category, base,
                   rates.get((table.source, category, month, base)), others)
    end = table.position(month)
    covered = table.covered.get(area, frozenset())
    # A month lacking rows it could not place is a lower bound: it is neither tested nor
    # used as a baseline (it would read as a false "unusually low" month, or lower limits).
    bad = table.incomplete_months(area, category, cats)
    history = [(m, int(series[i])) for i, m in enumerate(table.months[:end + 1])
               if m in covered and m not in bad]
    # Only the flagged months and their baselines matter; the rest of the history since 2010
    # would be scanned for nothing (a quarter of the all-borough dashboard's time).
    history = [(m, v) for m, v in history
               if m >= shift(month, -(2 + exc.BASELINE_MONTHS))]
    flags = tuple(_flag(table, series, m, bad, covered, history,
                        config.dashboard.exception_method) for m in reversed(q.months))
    gaps = table.gaps(area, category, cats, r.year_earlier().first, month)
    caveats = []
    if missing:
        shown = ", ".join(f"{m:%Y-%m}" for m in missing[:6])
        caveats.append(f"Incomplete: {len(missing)} of the {NEEDED_MONTHS} months are "
                       f"missing from the {table.source} data ({shown}"
                       f"{' ...' if len(missing) > 6 else ''}); figures are computed from the "
                       "months present ('allow_partial'). RAG withheld.")
    if gaps:
        caveats.append(_describe_gaps(category, gaps))
    ind = Indicator(
        category, table.source, area, month, qv, qp, pct_change(qv, qp), q_test.p_value,
        rv, rp, pct_change(rv, rp), r_test.p_value, r_test.significant, rate, base, year,
        ranks, flags, complete=not caveats, caveats=tuple(caveats),
    )
    factors, neutral = _factors(ind, q_test.significant, config.rag)
    if caveats:  # a RAG from an incomplete count would be a guess presented as a verdict
        return Indicator(**{**ind.__dict__, "rag": None, "factors": (),
                            "no_clear_change": neutral})
    return Indicator(**{**ind.__dict__, "rag": rag(factors, config.rag), "factors": factors,
                        "no_clear_change": neutral})


def _compute_partial(table: MonthlyCounts, cats: Categories, config: Config, area: str,
                     month: date, category: str, series: np.ndarray, base: str,
                     rates: dict[RateKey, RateTable], skip: frozenset[str], reason: str,
                     others: Sequence[MonthlyCounts] = ()) -> Indicator:
    """Partial history: every part whose months are all present is computed exactly as with
    full history; the others are None, each named in the caveats with the missing months;
    the RAG is taken from the factors that exist, and a caveat says which those are."""
    full = _compute(table, cats, config, area, month, category, series, base, rates,
                    others=others)
    covered = table.covered.get(area, frozenset())
    q, r = quarter(month), rolling12(month)
    values = dict(full.__dict__)
    caveats = []

    def gap(months: Sequence[date]) -> str:
        absent = [m for m in months if m not in covered]
        shown = ", ".join(f"{m:%Y-%m}" for m in absent[:4])
        return f"{len(absent)} month(s) missing: {shown}{' ...' if len(absent) > 4 else ''}"

    if "quarter" in skip:
        values.update(quarter_volume=None, quarter_previous=None, quarter_change_pct=None,
                      quarter_p_value=None)
        caveats.append(f"Latest quarter vs a year earlier not computed ({table.source}: "
                       f"{gap([*q.year_earlier().months, *q.months])}).")
    if "rolling12" in skip:
        values.update(rolling12_volume=None, rate_per_1000=None, denominator_year=None,
                      ranks={})
        caveats.append(f"Rolling 12 months, rate and ranks not computed ({table.source}: "
                       f"{gap(r.months)}).")
    if "rolling12_change" in skip:
        values.update(rolling12_previous=None, rolling12_change_pct=None, p_value=None,
                      significant=None)
        if "rolling12" not in skip:
            caveats.append(f"Rolling 12 months vs the 12 before not computed "
                           f"({table.source}: {gap(r.year_earlier().months)}).")
    ind = Indicator(**{**values, "rag": None, "factors": (), "no_clear_change": (),
                       "note": reason})
    if full.caveats:  # labels that could not be placed: figures are lower bounds, no RAG
        return Indicator(**{**ind.__dict__, "complete": False,
                            "caveats": (*caveats, *full.caveats)})
    quarter_sig = (ind.quarter_p_value is not None
                   and ind.quarter_p_value < config.dashboard.alpha)
    factors, neutral = _factors(ind, quarter_sig, config.rag)
    used = ["last quarter" if "quarter" not in skip else "",
            "rolling 12 months" if "rolling12_change" not in skip else "",
            "monthly exceptions", "rank" if "rolling12" not in skip else ""]
    caveats.append("Partial history: RAG from the factors available ("
                   + ", ".join(u for u in used if u) + ") only.")
    return Indicator(**{**ind.__dict__, "complete": False, "caveats": tuple(caveats),
                        "rag": rag(factors, config.rag) if factors else None,
                        "factors": factors, "no_clear_change": neutral})


def _flag(table: MonthlyCounts, series: np.ndarray, m: date, bad: frozenset[date],
          covered: frozenset[date], history: list[tuple[date, int]], method: str
          ) -> exc.MonthException:
    """The exception test of month `m`; none for a month that is missing or incomplete."""
    i = table.position(m)
    count = int(series[i]) if 0 <= i < len(table.months) else 0
    if m in bad or m not in covered:
        return exc.MonthException(m, count, "insufficient data", None, None, None, 0)
    return exc.flag_month(m, count, [(h, v) for h, v in history if h < m], method=method)


def _ranks(table: MonthlyCounts, cats: Categories, config: Config, area: str, month: date,
           category: str, base: str, computed: RateTable | None = None,
           others: Sequence[MonthlyCounts] = ()) -> dict[str, Rank]:
    """The area's rank in each of its peer groups; the members' rates from `computed` (every
    area's, from `dashboards`) when given, else computed here for the members alone. A
    member `table` does not hold at all comes from `others` on a category both sources
    publish (compare.peer_counts: the same rule as `compare`), and the rank says so."""
    matrix = table.category_matrix(category, cats)
    r = rolling12(month)
    a, b = table.position(r.first), table.position(r.last)
    totals = matrix[:, a:b + 1].sum(axis=1) if computed is None else None
    out = {}
    for group, members in config.peer_groups.items():
        # A partnership's own groups (its most similar group, its ONS neighbours) are about
        # its own area; for another area only the region group applies (issue 15: Croydon
        # was ranked in Barnet's most similar group).
        if area.lower() != config.area.lower() and group != config.region:
            continue
        rates: dict[str, float] = {}
        missing = []
        crossed: list[PeerCount] = []
        reasons: list[tuple[str, str]] = []
        for member in members:
            if others and not table.has_area(member):
                found = peer_counts(table, cats, category, month, [member], rate_base=base,
                                    others=others)
                crossed.extend(found.counted)
                reasons.extend(found.reasons)
                for c in found.counted:
                    rates[member.lower()] = c.count / c.denominator * 1000
                if not found.counted:
                    missing.append(member)
                continue
            if computed is not None:
                known = computed.rates.get(member.lower())
                if known is None:
                    missing.append(member)
                else:
                    rates[member.lower()] = known
                continue
            assert totals is not None
            if not table.has_area(member) or not table.covered.get(
                    table.areas[table.area_index(member)], frozenset()) >= set(r.months):
                missing.append(member)
                continue
            # Unrounded: a rank must not turn on the display rounding of two close rates.
            value, _ = _rate(table, int(totals[table.area_index(member)]), member, base, month,
                             exact=True)
            if value is None:
                missing.append(member)
            else:
                rates[member.lower()] = value
        mine = rates.get(area.lower())
        rank = None if mine is None else 1 + sum(1 for v in rates.values() if v < mine)
        note = (f"{group}: {', '.join(c.area for c in crossed)} from "
                f"{', '.join(sorted({c.source for c in crossed}))} (denominators of "
                f"{', '.join(sorted({str(c.denominator_year) for c in crossed}))}), the rest "
                f"from {table.source}: {category} is published by both sources, so it is "
                "ranked across them (police.uk omits crimes recorded without a location)"
                ) if crossed else ""
        out[group] = Rank(group, rank, len(rates), tuple(missing), note, tuple(reasons))
    return out


def _clear(current: int, previous: int, significant: bool, rules: RagRules) -> bool:
    """Whether a change is clear enough to be a factor: significant (exact p, never a rounded
    one), or, when `significant_changes_only` is off and a minimum effect is configured,
    beyond that effect. Both ways it must exceed `change_threshold_pct`."""
    if previous == 0:
        effect = math.inf if current > 0 else 0.0
    else:
        effect = abs(current - previous) / previous * 100
    if effect <= rules.change_threshold_pct:
        return False
    if significant:
        return True
    return not rules.significant_changes_only and rules.change_threshold_pct > 0


def _change_factor(change: float | None, current: int, previous: int, significant: bool,
                   p_value: float | None, rules: RagRules, down: str, up: str, what: str
                   ) -> Factor | str | None:
    """A factor (+1 down, -1 up) for a clear change; the words "no clear change" otherwise."""
    if current == previous == 0:
        return None
    shown = "from 0" if change is None else f"{change:+.1f}%"
    if not _clear(current, previous, significant, rules):
        p = "" if p_value is None else f", p = {p_value:.2f}"
        return f"{what}: no clear change ({shown}{p})"
    suffix = ", significant" if significant else ""
    if change is None:
        return Factor(f"{up} (from 0 to {current}{suffix})", -1)
    if current < previous:
        return Factor(f"{down} ({change:+.1f}%{suffix})", +1)
    return Factor(f"{up} ({change:+.1f}%{suffix})", -1)


def _factors(ind: Indicator, quarter_significant: bool, rules: RagRules
             ) -> tuple[tuple[Factor, ...], tuple[str, ...]]:
    """The positive and negative factors, and the changes that are not clear (neutral)."""
    # A part left None by partial history gives no factor (_compute_partial).
    changes = [
        None if ind.quarter_volume is None or ind.quarter_previous is None else
        _change_factor(ind.quarter_change_pct, ind.quarter_volume, ind.quarter_previous,
                       quarter_significant, ind.quarter_p_value, rules,
                       "Last quarter reduction vs. one year ago",
                       "Last quarter increase vs. one year ago", "Last quarter"),
        None if ind.rolling12_volume is None or ind.rolling12_previous is None else
        _change_factor(ind.rolling12_change_pct, ind.rolling12_volume,
                       ind.rolling12_previous, bool(ind.significant), ind.p_value, rules,
                       "Decrease in rolling 12 months", "Increase in rolling 12 months",
                       "Rolling 12 months"),
    ]
    neutral = tuple(c for c in changes if isinstance(c, str))
    out: list[Factor | None] = [c for c in changes if isinstance(c, Factor)]
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
    return tuple(f for f in out if f is not None), neutral


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
    if r.significant_changes_only or r.change_threshold_pct <= 0:
        change_rule = ("a change counts only when it is statistically significant"
                       + (f" and larger than {r.change_threshold_pct:g}%"
                          if r.change_threshold_pct > 0 else ""))
    else:
        change_rule = (f"a change counts when it is statistically significant or larger "
                       f"than the minimum effect of {r.change_threshold_pct:g}%")
    return {
        "RAG": (f"Green - all factors positive; Amber - mixed, or no factor clearly positive "
                f"or negative; Red - all or nearly all (at least {r.red_share:.0%}) "
                f"negative. Factors: change in the latest quarter and in the rolling 12 "
                f"months vs a year earlier ({change_rule}; any other change is \"no clear "
                f"change\" and neutral), unusually high or low months, "
                f"and the rank in {r.rank_group or 'no group'} (best "
                f"{r.rank_fraction:.0%} positive, worst {r.rank_fraction:.0%} negative). "
                "No RAG (shown as -) when the figures are incomplete: labels that could not "
                "be placed in the category, or missing months."),
        "Latest quarter": "The three months ending at the reference month, compared with the "
                          "same three months one year earlier.",
        "Rolling 12 months": "The twelve months ending at the reference month, compared with "
                             "the twelve months before them.",
        "Rate": "Crimes in the rolling 12 months per 1,000 residents"
                + (" (per 1,000 households for " + ", ".join(d.household_categories) + ")"
                   if d.household_categories else "")
                + "; ONS mid-year estimates and Census households, latest year available.",
        "Peer comparison": "Rank by rate among the areas of a peer group that have data; 1 is "
                           "the lowest rate (best).",
        "Monthly exceptions": ("A month is unusually high or low when it falls outside "
                               + exc.DESCRIPTIONS[d.exception_method] + "."),
        "Significance": METHOD.format(alpha=d.alpha),
    }
