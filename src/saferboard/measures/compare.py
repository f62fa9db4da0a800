"""Peer comparison with uncertainty: each peer's rate with an exact 95% interval, and a
funnel-plot table, so "3rd lowest of 32" comes with whether it differs from the peer average.

Funnel limits follow Spiegelhalter (2005, Statistics in Medicine 24:1185): for an area of
denominator n, the limits are exact Poisson quantiles of n x the pooled peer rate, divided
by n. Intervals for a single rate are Garwood's exact Poisson interval (chi-square form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scipy.stats import chi2, poisson

from saferboard.core.areas import denominator
from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import rolling12, shift

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


def exact_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Garwood's exact interval for a Poisson mean given one observed count."""
    lower = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count) / 2)
    upper = float(chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2)
    return lower, upper


def poisson_p(count: int, expected: float) -> float:
    """Two-sided exact p-value of `count` against a Poisson mean `expected`."""
    if expected <= 0:
        return 1.0 if count == 0 else 0.0
    low = float(poisson.cdf(count, expected))
    high = float(poisson.sf(count - 1, expected))
    return min(1.0, 2 * min(low, high))


def _funnel(n: int, pooled: float, coverage: float) -> tuple[float, float]:
    mu = n * pooled
    tail = (1 - coverage) / 2
    return (round(float(poisson.ppf(tail, mu)) / n * 1000, 3),
            round(float(poisson.ppf(1 - tail, mu)) / n * 1000, 3))


def compare(table: MonthlyCounts, cats: Categories, category: str, month: date,
            group: str, members: tuple[str, ...], *, rate_base: str = "population"
            ) -> Comparison:
    """Compare the rolling-12 rate of every member of a peer group that has data."""
    cats.descendants(category)
    window = rolling12(month)
    if not table.months or window.first < table.months[0] or month > table.months[-1]:
        raise InputError(f"the {table.source} data does not cover {window.label()}",
                         param="month")
    matrix = table.category_matrix(category, cats)
    a, b = table.position(window.first), table.position(window.last)
    counted: list[tuple[str, int, int]] = []
    missing = []
    reasons = []
    for member in members:
        if not table.has_area(member):
            missing.append(member)
            reasons.append((member, f"no {table.source} data in the store"))
            continue
        name = table.areas[table.area_index(member)]
        if not table.covered.get(name, frozenset()) >= set(window.months):
            missing.append(member)
            reasons.append((member, f"{table.source} data lacks months of {window.label()}"))
            continue
        try:
            d = denominator(name, rate_base, shift(month, -5).year)
        except InputError:
            missing.append(member)
            reasons.append((member, f"no {rate_base} figure"))
            continue
        counted.append((name, int(matrix[table.area_index(name), a:b + 1].sum()), d.value))
    caveats = []
    for name, _, _ in counted:
        gaps = table.gaps(name, category, cats, window.first, window.last)
        if gaps:
            labels = ", ".join(f"'{g.label}' ({g.crimes:,})" for g in gaps[:3])
            caveats.append(f"{name}: {sum(g.crimes for g in gaps):,} crimes under labels not "
                           f"in the category mapping may belong to {category} but are not "
                           f"counted: {labels}")
    if not counted:
        raise InputError(f"no member of {group!r} has {table.source} data and a {rate_base} "
                         "figure", param="peers")
    pooled = sum(c for _, c, _ in counted) / sum(n for _, _, n in counted)
    rows = []
    for name, count, n in counted:
        lo, hi = exact_interval(count)
        expected = pooled * n
        p = poisson_p(count, expected)
        f95 = _funnel(n, pooled, 0.95)
        rate = count / n * 1000
        # The verdict is the exact test, never the limits rounded for display: a count on a
        # rounded limit (Barking and Dagenham, criminal damage, p = 0.051) is not "higher".
        verdict = ("similar" if p >= ALPHA else "higher" if count > expected else "lower")
        rows.append(PeerRate(name, count, n, round(rate, 3), round(lo / n * 1000, 3),
                             round(hi / n * 1000, 3), round(expected, 1), p, f95,
                             _funnel(n, pooled, 0.998), verdict, 0))
    rows.sort(key=lambda r: r.count / r.denominator)
    ranked = tuple(
        PeerRate(**{**r.__dict__, "rank": 1 + sum(1 for o in rows
                                                   if o.count / o.denominator
                                                   < r.count / r.denominator)})
        for r in rows
    )
    return Comparison(category, group, month, rate_base, round(pooled * 1000, 3), ranked,
                      tuple(missing), caveats=tuple(caveats), reasons=tuple(reasons))
