"""The pack's "Victims and offenders" page for the offender cohort (IOM), and the cost of
crime lines: template-ready rows built from the measures, with disclosure control applied.

`cohort_section` and `cost_section` return plain rows (strings and numbers, suppressed cells
as the disclosure mark; the cohort's from saferboard.present.cohort, the same rows the CLI
and the web print) so the template only lays them out; each returns ``None`` and a note
when the store has no data for it, so the pack can say why the page is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from saferboard.core.categories import Categories
from saferboard.core.crime_costs import UnitCosts
from saferboard.core.errors import InputError
from saferboard.measures.cohort import (
    DEFAULT_SUPPRESS_BELOW,
    CohortResult,
    PublishedCohort,
    cohort_measures,
    load_cohort,
    suppress_small_cohorts,
)
from saferboard.measures.costs import cost_report
from saferboard.measures.series import MonthlyCounts
from saferboard.present.cohort import ProjectionOut, groups, suppressed_note
from saferboard.present.costs import PACK_COLUMNS, cost_rows

Cell = str | int | float | None


@dataclass(frozen=True)
class CohortSection:
    as_of: date
    headline: str  # "2.91 -> 1.65 offences per offender per year (43% lower)"
    rows: tuple[dict[str, Cell], ...]  # present.cohort.GROUP_COLUMNS
    projection: tuple[dict[str, Cell], ...]  # seed 003's table (present.cohort.ProjectionOut)
    concentration: str | None
    caveats: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class CostSection:
    title: str
    rows: tuple[dict[str, Cell], ...]  # present.costs.PACK_COLUMNS
    total: str
    cohort: str | None
    notes: tuple[str, ...]


def section_from(result: PublishedCohort) -> CohortSection:
    """Rows of an already suppressed result (`suppress_small_cohorts`)."""
    small = result.overall is None
    o = result.overall
    if o is None or o.rate_before is None or o.rate_after is None:
        headline = "Too few members to publish the cohort's rates."
    else:
        word = "lower" if (o.reduction_pct or 0) >= 0 else "higher"
        change = ("" if o.reduction_pct is None
                  else f" ({abs(o.reduction_pct):.0f}% {word})")
        headline = (f"{o.rate_before:.2f} -> {o.rate_after:.2f} offences per offender per "
                    f"year{change}, {o.members} members")
    rows = [g.cells() for g in groups(result)]
    projection = tuple(ProjectionOut.of(p).cells() for p in result.projection)
    k = result.concentration
    conc = None if k.share_pct is None or small else (
        f"The top {min(k.top_n, k.offenders):,} of {k.offenders:,} offenders committed "
        f"{k.share_pct:.0f}% of the "
        f"{k.offences:,} offences in the partner extract in the 12 months to {k.last_day:%b %Y}.")
    notes = []
    hidden = suppressed_note(result)
    if hidden:
        notes.append(hidden + ".")
    ex = result.excluded
    short = ex["short_before"] + ex["short_after"] + ex["short_both"]
    if short:
        notes.append(f"{short} member(s) with fewer than {result.min_days} community days "
                     "before or after joining are left out.")
    return CohortSection(result.as_of, headline, tuple(rows), projection, conc,
                         result.caveats, tuple(notes))


def cohort_result(con: duckdb.DuckDBPyConnection, as_of: date
                  ) -> tuple[CohortResult | None, list[str]]:
    """The cohort measures at `as_of` (unsuppressed: for costing), or None and a note when
    the store has no partner cohort data."""
    try:
        return cohort_measures(load_cohort(con), as_of=as_of, resamples=0), []
    except InputError as e:
        return None, [f"Offender cohort: {e}"]


def cohort_section(con: duckdb.DuckDBPyConnection, as_of: date, *,
                   suppress_below: int = DEFAULT_SUPPRESS_BELOW
                   ) -> tuple[CohortSection | None, list[str]]:
    """The cohort page at `as_of` (e.g. the last day of the pack's month), or None and a
    note when the store has no partner cohort data."""
    result, notes = cohort_result(con, as_of)
    if result is None:
        return None, notes
    return section_from(suppress_small_cohorts(result, suppress_below)), []


def cost_section(sources: dict[str, MonthlyCounts], cats: Categories, costs: UnitCosts,
                 area: str, month: date, *, cohort: CohortResult | None = None,
                 price_year: str | None = None, include_unverified: bool = False
                 ) -> tuple[CostSection | None, list[str]]:
    """The cost of crime lines for the pack, or None and a note when they cannot be
    computed (e.g. fewer than 24 months of data). Only verified unit costs are used unless
    `include_unverified`; the notes name the categories left out."""
    try:
        r = cost_report(sources, cats, costs, area, month, price_year=price_year,
                        cohort=cohort, include_unverified=include_unverified)
    except InputError as e:
        return None, [f"Cost of crime: {e}"]
    rows: tuple[dict[str, Cell], ...] = tuple(  # the CLI's rows, the page's columns
        {k: row[k] for k in PACK_COLUMNS} for row in cost_rows(r))
    total = f"£{r.total_cost / 1e6:.1f}M at {r.price_year} prices for the 12 months {r.window}"
    saved = r.avoided_by_volume
    if saved is None:
        total += "; no comparison with the 12 months before (not in the data)."
    else:
        total += (f"; £{abs(saved) / 1e6:.1f}M {'avoided' if saved >= 0 else 'added'} by the "
                  f"change in volume against {r.previous_window}.")
    if r.left_out:
        total += (f" Verified unit costs only: {len(r.left_out)} categor"
                  f"{'y is' if len(r.left_out) == 1 else 'ies are'} not included (see notes).")
    cohort_line = None
    if r.cohort is not None:
        saved = r.cohort.cost_avoided_per_year
        cohort_line = (f"The offender cohort's change in offending "
                       f"{'avoids' if saved >= 0 else 'adds'} £{abs(saved):,.0f} of crime "
                       f"costs a year ({r.cohort.members} members, to "
                       f"{r.cohort.as_of:%d %b %Y}).")
    notes = [f"Not priced: {', '.join(u.category for u in r.unmapped)}."] if r.unmapped else []
    if r.left_out:
        notes.append("Not included because their unit costs are not yet verified against "
                     "the report: " + ", ".join(
                         f"{u.category} ({u.count:,} crime{'' if u.count == 1 else 's'})"
                         for u in r.left_out) + ".")
    if r.cohort is not None and (r.cohort.unverified or r.cohort.unverified_small):
        n = len(r.cohort.unverified) + r.cohort.unverified_small
        notes.append(f"The offender cohort's cost avoided leaves out {n} offence type(s) "
                     "whose unit costs are not yet verified.")
    if r.unverified:
        notes.append("Unit costs still to verify against the report: "
                     + ", ".join(r.unverified) + ".")
    notes.append(f"Unit costs: {r.citation}")
    return CostSection(f"Cost of recorded crime, {r.area}", rows, total, cohort_line,
                       tuple(notes)), []
