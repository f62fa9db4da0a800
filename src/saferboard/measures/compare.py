"""Peer comparison with uncertainty: each peer's rate with an exact 95% interval, and a
funnel-plot table, so "3rd lowest of 32" comes with whether it differs from the peer average.

Funnel limits follow Spiegelhalter (2005, Statistics in Medicine 24:1185): for an area of
denominator n, the limits are exact Poisson quantiles of n x the pooled peer rate, divided
by n. Intervals for a single rate are Garwood's exact Poisson interval (chi-square form).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from saferboard.core.areas import denominator
from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.distributions import chi2_ppf, poisson_cdf, poisson_ppf, poisson_sf
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import rolling12, shift

SOURCE_NAMES = {"mps": "MPS borough counts", "policeuk": "police.uk street-level crimes"}

ALPHA = 0.05  # two-sided, as the 95% funnel limits

METHOD = (
    "Rate per 1,000 over the rolling 12 months with Garwood's exact 95% Poisson interval. "
    "Funnel limits (Spiegelhalter 2005): exact Poisson 95% and 99.8% limits around the pooled "
    "peer rate for each area's denominator. An area 'differs' from the peer average when its "
    "count lies outside the 95% limits (two-sided exact Poisson p < 0.05)."
)


@dataclass(frozen=True)
class PeerRate:
    area: str
    count: int
    denominator: int
    rate: float  # per 1,000
    lower: float  # 95% interval of the rate
    upper: float
    expected: float  # count expected at the pooled peer rate
    p_value: float  # exact Poisson test of count against expected
    funnel95: tuple[float, float]  # rate limits for this denominator
    funnel998: tuple[float, float]
    verdict: str  # 'higher' | 'lower' | 'similar' than the peer average
    rank: int  # 1 = lowest rate
    source: str = ""  # the source this member's count comes from ('mps' | 'policeuk')
    denominator_year: int | None = None  # the mid-year (or census year) of `denominator`


@dataclass(frozen=True)
class Comparison:
    category: str
    group: str
    month: date
    rate_base: str
    pooled_rate: float  # per 1,000: sum of counts / sum of denominators
    rows: tuple[PeerRate, ...]  # sorted by rate, lowest first
    without_data: tuple[str, ...]
    method: str = METHOD
    # Areas whose count lacks rows with labels the mapping could not place in the category
    # (their rates are lower bounds, so their verdicts are too).
    caveats: tuple[str, ...] = ()
    # (member, why it has no rate): listed, never silently dropped from the comparison.
    reasons: tuple[tuple[str, str], ...] = ()
    # Non-empty when members come from more than one source: which, and on what basis.
    cross_source: str = ""


def exact_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Garwood's exact interval for a Poisson mean given one observed count."""
    lower = 0.0 if count == 0 else chi2_ppf(alpha / 2, 2 * count) / 2
    upper = chi2_ppf(1 - alpha / 2, 2 * count + 2) / 2
    return lower, upper


def poisson_p(count: int, expected: float) -> float:
    """Two-sided exact p-value of `count` against a Poisson mean `expected`."""
    if expected <= 0:
        return 1.0 if count == 0 else 0.0
    low = poisson_cdf(count, expected)
    high = poisson_sf(count - 1, expected)
    return min(1.0, 2 * min(low, high))


def _funnel(n: int, pooled: float, coverage: float) -> tuple[float, float]:
    mu = n * pooled
    tail = (1 - coverage) / 2
    return (round(poisson_ppf(tail, mu) / n * 1000, 3),
            round(poisson_ppf(1 - tail, mu) / n * 1000, 3))


@dataclass(frozen=True)
class PeerCount:
    """One member's rolling-12 count and denominator, and the source it comes from."""

    area: str  # the name the source keeps
    source: str
    count: int
    denominator: int
    denominator_year: int


@dataclass(frozen=True)
class PeerCounts:
    counted: tuple[PeerCount, ...]
    reasons: tuple[tuple[str, str], ...]  # (member as given, why it has no count)
    cross_source: str  # "" when every counted member comes from the area's own source


def peer_counts(table: MonthlyCounts, cats: Categories, category: str, month: date,
                members: Sequence[str], *, rate_base: str = "population",
                others: Sequence[MonthlyCounts] = ()) -> PeerCounts:
    """The rolling-12 count and denominator of every member that has them, from `table`
    (the area's own source) or, for a member `table` does not hold at all, from the first
    of `others` that holds it and publishes `category` too.

    So Barnet's most similar group (MPS) ranks Brighton and Hove (police.uk) on the
    categories both sources publish - Burglary, Robbery, Criminal damage and arson, Theft,
    Vehicle offences, Drugs, Public order, Possession of weapons, Total notifiable offences -
    and lists it without a rate, with the reason, on a category only one of them has
    (Residential burglary, Violence with injury: MPS; Anti-social behaviour: police.uk).
    A member `table` holds is always counted from `table`, so a single-source group (every
    London group on MPS) is exactly as before.
    """
    window = rolling12(month)
    year = shift(month, -5).year  # the mid-year nearest the window (as the dashboard rate)
    counted: list[PeerCount] = []
    reasons: list[tuple[str, str]] = []
    filled = [t for t in others if t.areas and t is not table]
    for member in members:
        source = next((t for t in (table, *filled) if t.has_area(member)), None)
        if source is None:
            held = " or ".join(t.source for t in (table, *filled) if t.areas) or table.source
            reasons.append((member, f"no {held} data in the store{_force_hint(member)}"))
            continue
        if source is not table and not source.has_category(member, category, cats):
            reasons.append((member, f"{source.source} does not publish {category} (a "
                                    f"{table.source} category): not comparable"))
            continue
        name = source.areas[source.area_index(member)]
        if not source.covered.get(name, frozenset()) >= set(window.months):
            reasons.append((member, f"{source.source} data lacks months of {window.label()}"))
            continue
        try:
            d = denominator(name, rate_base, year)
        except InputError as e:
            reasons.append((member, f"no {rate_base} figure ({e.detail})"))
            continue
        matrix = source.category_matrix(category, cats)
        a, b = source.position(window.first), source.position(window.last)
        counted.append(PeerCount(name, source.source,
                                 int(matrix[source.area_index(name), a:b + 1].sum()),
                                 d.value, d.year))
    return PeerCounts(tuple(counted), tuple(reasons), _cross_source(table, category, counted))


def _force_hint(member: str) -> str:
    """Where a member's police.uk figures would come from, when the national lookup knows
    it (Cheltenham: Gloucestershire's files), or why it has none of its own (Bournemouth:
    a CSP covering part of an LA)."""
    from saferboard.core import national
    from saferboard.core.areas import local_authorities_of

    try:
        national.resolve_area(member)
    except InputError:
        return ""
    try:
        codes = local_authorities_of(member)
    except InputError as e:
        return f" ({e.detail})"
    forces = sorted({national.local_authority(c).force_name for c in codes})
    return f" (its police.uk figures are in the {' and '.join(forces)} force's files)"


def _cross_source(table: MonthlyCounts, category: str, counted: Sequence[PeerCount]) -> str:
    """The sentence that says a group mixes sources, naming each side and the basis."""
    by_source: dict[str, list[PeerCount]] = {}
    for c in counted:
        by_source.setdefault(c.source, []).append(c)
    if set(by_source) <= {table.source}:
        return ""
    parts = []
    for source, rows in by_source.items():
        years = sorted({r.denominator_year for r in rows})
        parts.append(f"{', '.join(r.area for r in rows)} from {SOURCE_NAMES.get(source, source)}"
                     f" (denominators of {', '.join(map(str, years))})")
    return (f"Cross-source comparison: {'; '.join(parts)}. {category} is a category both "
            "sources publish, so only it is compared; categories one source lacks are not "
            "ranked across sources. police.uk counts omit crimes recorded without a "
            "location, so a police.uk rate may be slightly lower than the force's recorded "
            "figure.")


def compare(table: MonthlyCounts, cats: Categories, category: str, month: date,
            group: str, members: tuple[str, ...], *, rate_base: str = "population",
            others: Sequence[MonthlyCounts] = ()) -> Comparison:
    """Compare the rolling-12 rate of every member of a peer group that has data (members
    `table` lacks from `others`, on categories both publish: `peer_counts`)."""
    cats.descendants(category)
    window = rolling12(month)
    if not table.months or window.first < table.months[0] or month > table.months[-1]:
        raise InputError(f"the {table.source} data does not cover {window.label()}",
                         param="month")
    found = peer_counts(table, cats, category, month, members, rate_base=rate_base,
                        others=others)
    counted = found.counted
    missing = [member for member, _ in found.reasons]
    tables = {t.source: t for t in (table, *others)}
    caveats = []
    for c in counted:
        gaps = tables[c.source].gaps(c.area, category, cats, window.first, window.last)
        if gaps:
            labels = ", ".join(f"'{g.label}' ({g.crimes:,})" for g in gaps[:3])
            caveats.append(f"{c.area}: {sum(g.crimes for g in gaps):,} crimes under labels "
                           f"not in the category mapping may belong to {category} but are "
                           f"not counted: {labels}")
    if not counted:
        raise InputError(f"no member of {group!r} has {table.source} data and a {rate_base} "
                         "figure", param="peers")
    pooled = sum(c.count for c in counted) / sum(c.denominator for c in counted)
    rows = []
    for c in counted:
        count, n = c.count, c.denominator
        lo, hi = exact_interval(count)
        expected = pooled * n
        p = poisson_p(count, expected)
        f95 = _funnel(n, pooled, 0.95)
        rate = count / n * 1000
        # The verdict is the exact test, never the limits rounded for display: a count on a
        # rounded limit (Barking and Dagenham, criminal damage, p = 0.051) is not "higher".
        verdict = ("similar" if p >= ALPHA else "higher" if count > expected else "lower")
        rows.append(PeerRate(c.area, count, n, round(rate, 3), round(lo / n * 1000, 3),
                             round(hi / n * 1000, 3), round(expected, 1), p, f95,
                             _funnel(n, pooled, 0.998), verdict, 0, c.source,
                             c.denominator_year))
    rows.sort(key=lambda r: r.count / r.denominator)
    ranked = tuple(
        PeerRate(**{**r.__dict__, "rank": 1 + sum(1 for o in rows
                                                   if o.count / o.denominator
                                                   < r.count / r.denominator)})
        for r in rows
    )
    return Comparison(category, group, month, rate_base, round(pooled * 1000, 3), ranked,
                      tuple(missing), caveats=tuple(caveats), reasons=found.reasons,
                      cross_source=found.cross_source)
