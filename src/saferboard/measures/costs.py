"""Cost of crime: Home Office unit costs (Heeks et al. 2018, 2015/16 prices) applied to
recorded crime volumes and to the offender cohort's reduction.

Seed 002 prices Barnet's reported crime at "around £73.9M" a year and the IOM cohort's
burglary reduction at "around £470,000 annually"; seed 001 prices burglaries at "an average of
£1500" each. The arithmetic is the same throughout:

* cost of a category = recorded crimes in the window x its unit cost;
* cost avoided by a change in volume = (crimes in the previous 12 months - crimes in the
  rolling 12 months) x unit cost (negative: an extra cost);
* cost avoided by the cohort = per offence type, offences avoided a year (rate before -
  rate after, per offender-year, x members) x the type's unit cost.

Unit costs apply to the rows mapped to a category itself (the leaves of the count arrays), so
a parent is never costed twice. A unit cost not yet verified against the report
(``verified = false``) is not used unless asked for (``include_unverified``): its category
(or cohort offence type) is left out of every total and listed in ``left_out`` with its
crimes, so a board figure never rests silently on a recalled number. Categories without a
unit cost are listed with the reason (``crime_costs.toml``, ``[unmapped]``) and their crimes
left out of the totals. Costs can be rebased to another financial year's prices with a GDP
deflator series.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from saferboard.core.categories import Categories
from saferboard.core.crime_costs import UnitCosts
from saferboard.core.errors import InputError
from saferboard.core.quarters import financial_year
from saferboard.measures.cohort import OTHER_TYPES, CohortResult
from saferboard.measures.series import MonthlyCounts
from saferboard.measures.windows import rolling12

SOURCE_ORDER = ("mps", "policeuk")
# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CostRow:
    category: str
    heeks: str
    unit_cost: float  # at the report's price year
    verified: bool
    count: int  # rolling 12 months
    previous_count: int | None  # the 12 months before (None: not in the source)
    cost: float
    previous_cost: float | None
    cost_avoided: float | None  # (previous - current) x unit cost
    note: str | None


@dataclass(frozen=True)
class Unmapped:
    category: str
    count: int
    previous_count: int | None
    reason: str


@dataclass(frozen=True)
class LeftOut:
    """A category not costed because its unit cost is not yet verified."""

    category: str
    heeks: str
    unit_cost: float  # the unverified figure, at the report's price year (not used)
    count: int
    previous_count: int | None


@dataclass(frozen=True)
class TypeCost:
    offence_type: str
    heeks: str | None
    unit_cost: float | None
    avoided_per_year: float | None
    cost_avoided_per_year: float | None


@dataclass(frozen=True)
class CohortCost:
    as_of: date
    members: int
    rows: tuple[TypeCost, ...]
    cost_avoided_per_year: float
    unpriced: tuple[str, ...]
    # Offence types left out because their unit cost is not verified (named when not small;
    # small ones are only counted, as their names sit inside the combined small-counts row).
    unverified: tuple[str, ...] = ()
    unverified_small: int = 0


@dataclass(frozen=True)
class CostReport:
    area: str
    month: date
    source: str
    window: str
    previous_window: str
    price_year: str
    price_factor: float
    rows: tuple[CostRow, ...]
    unmapped: tuple[Unmapped, ...]
    total_cost: float
    previous_cost: float | None  # None: the source lacks the 12 months before
    avoided_by_volume: float | None
    cohort: CohortCost | None
    unverified: tuple[str, ...]  # unverified unit costs used (only with include_unverified)
    citation: str
    notes: tuple[str, ...]
    include_unverified: bool = False
    left_out: tuple[LeftOut, ...] = ()  # categories with an unverified unit cost, not costed
    # False when the windows hold rows whose labels the mapping could not place: they are
    # costed at their group's unit cost or not at all, so the totals may be wrong.
    complete: bool = True
    caveats: tuple[str, ...] = ()  # why the totals are incomplete, in words (also in notes)


def crime_cost(count: float, unit_cost: float) -> float:
    return count * unit_cost


def cost_avoided(previous: float, current: float, unit_cost: float) -> float:
    """Cost avoided by a fall in volume from `previous` to `current` (negative: a rise)."""
    return (previous - current) * unit_cost


def _choose_source(sources: dict[str, MonthlyCounts], area: str, month: date
                   ) -> tuple[MonthlyCounts, bool]:
    """The first source (MPS, then police.uk) with all 24 months to `month` for `area`;
    else the first with the rolling 12 months, without the comparison (False)."""
    current = set(rolling12(month).months)
    earlier = set(rolling12(month).year_earlier().months)
    reasons = []
    partial = None
    for name in SOURCE_ORDER:
        table = sources.get(name)
        if table is None or not table.has_area(area):
            reasons.append(f"{name} has no data for {area}")
            continue
        covered = table.covered.get(table.areas[table.area_index(area)], frozenset())
        missing = sorted((current | earlier) - covered)
        if not missing:
            return table, True
        if not current - covered and partial is None:
            partial = table
        reasons.append(f"{name} lacks {len(missing)} of the 24 months to {month:%Y-%m} "
                       f"(first missing {missing[0]:%Y-%m})")
    if partial is not None:
        return partial, False
    raise InputError(f"cannot cost crime in {area} for the 12 months to {month:%Y-%m}: "
                     + "; ".join(reasons), param="month")


def cost_report(sources: dict[str, MonthlyCounts], cats: Categories, costs: UnitCosts,
                area: str, month: date, *, price_year: str | None = None,
                cohort: CohortResult | None = None, suppress_below: int = 5,
                include_unverified: bool = False) -> CostReport:
    """Cost of recorded crime in `area` over the rolling 12 months to `month` and the 12
    before, by category (MPS first, as the dashboard), plus the cohort's cost avoided. When no
    source has the 12 months before, the costs stand alone (previous figures None). Unit costs
    not yet verified are used only with `include_unverified`; otherwise their categories are
    in `left_out` and in no total."""
    factor = costs.factor(price_year)
    table, compared = _choose_source(sources, area, month)
    r12 = rolling12(month)
    prev = r12.year_earlier()
    ai = table.area_index(area)
    a, b = table.position(r12.first), table.position(r12.last)
    pa, pb = table.position(prev.first), table.position(prev.last)
    rows, unmapped, left_out = [], [], []
    for li, leaf in enumerate(table.leaves):
        if not table.present[ai, li]:
            continue
        cur = int(table.counts[ai, li, a:b + 1].sum())
        old = int(table.counts[ai, li, pa:pb + 1].sum()) if compared else None
        name = leaf or "(unmapped label)"
        unit = costs.unit_for_category(leaf) if leaf else None
        if unit is None:
            reason = (costs.unmapped.get(name) or costs.aggregates.get(name)
                      or "no unit cost decision for this category")
            unmapped.append(Unmapped(name, cur, old, reason))
            continue
        u = unit.cost * factor
        if not unit.verified and not include_unverified:
            left_out.append(LeftOut(name, unit.heeks, u, cur, old))
            continue
        note = costs.categories[name].note
        rows.append(CostRow(name, unit.heeks, u, unit.verified, cur, old, crime_cost(cur, u),
                            None if old is None else crime_cost(old, u),
                            None if old is None else cost_avoided(old, cur, u), note))
    rows.sort(key=lambda r: -r.cost)
    unmapped.sort(key=lambda r: -r.count)
    left_out.sort(key=lambda r: -r.count)
    unverified = {r.heeks for r in rows if not r.verified}
    cohort_cost = None
    if cohort is not None:
        cohort_cost = cohort_costs(cohort, costs, factor, suppress_below,
                                   include_unverified=include_unverified)
        unverified |= {t.heeks for t in cohort_cost.rows  # used: priced (unit_cost set)
                       if t.heeks in costs.units and t.unit_cost is not None
                       and not costs.units[t.heeks].verified}
    notes = tuple(costs.notes) + tuple(f"{r.category}: {r.note}" for r in rows if r.note)
    if not compared:
        notes += (f"{table.source} data for {table.areas[ai]} does not cover all of "
                  f"{prev.label()}, so there is no comparison with the 12 months before.",)
    caveats = _gap_caveats(table, ai, r12.label(), (a, b),
                           (pa, pb) if compared else None, costs, include_unverified)
    notes += caveats
    target = costs.price_year if price_year is None else financial_year(price_year)
    if target != costs.price_year:
        notes += (f"Rebased from {costs.price_year} to {target} prices with the GDP deflator "
                  f"(x {factor:.4f}): {costs.deflator_source}",)
    return CostReport(
        table.areas[ai], month, table.source, r12.label(), prev.label(), target, factor,
        tuple(rows), tuple(unmapped), sum(r.cost for r in rows),
        sum(r.previous_cost or 0.0 for r in rows) if compared else None,
        sum(r.cost_avoided or 0.0 for r in rows) if compared else None, cohort_cost,
        tuple(sorted(unverified)), costs.citation, notes, include_unverified,
        tuple(left_out), complete=not caveats, caveats=caveats)


def _gap_caveats(table: MonthlyCounts, ai: int, window: str, current: tuple[int, int],
                 previous: tuple[int, int] | None, costs: UnitCosts,
                 include_unverified: bool) -> tuple[str, ...]:
    """The caveat for rows in the windows whose labels are not in the mapping: each is
    costed as the category it landed in (its MPS major group), or not at all."""
    if not table.gap_labels:
        return ()
    parts, now, before = [], 0, 0
    for i, label in enumerate(table.gap_labels):
        cur = int(table.gap_counts[ai, i, current[0]:current[1] + 1].sum())
        old = (int(table.gap_counts[ai, i, previous[0]:previous[1] + 1].sum())
               if previous else 0)
        if not cur and not old:
            continue
        now, before = now + cur, before + old
        placed = table.gap_placed[i]
        unit = costs.unit_for_category(placed) if placed else None
        used = unit is not None and (unit.verified or include_unverified)
        how = (f"costed as {placed}" if used else
               f"counted under {placed}, not costed" if placed else "not costed")
        parts.append(f"'{label}' ({cur:,} crimes; {how})")
    if not parts:
        return ()
    earlier = f" ({before:,} in the 12 months before)" if previous else ""
    return (f"Incomplete: {now:,} crimes in {window}{earlier} carry label(s) not in the "
            f"category mapping, so they are costed at their group's unit cost or not at all: "
            f"{'; '.join(parts[:5])}{' and more' if len(parts) > 5 else ''}. The totals may "
            "be wrong; add the labels to the category mapping.",)


def cohort_costs(cohort: CohortResult, costs: UnitCosts, factor: float = 1.0,
                 suppress_below: int = 5, *, include_unverified: bool = False) -> CohortCost:
    """Cost avoided a year by the cohort's reduction, by offence type. Types with a non-zero
    count below `suppress_below` before or after are shown only inside one combined row (the
    total is unchanged). A type whose unit cost is not verified is not priced unless
    `include_unverified` (its cost is None, and it is listed in `unverified`)."""
    rows: list[TypeCost] = []
    small_rows: list[TypeCost] = []
    unpriced = []
    unverified: list[str] = []
    unverified_small = 0
    for t in cohort.by_type:
        heeks = costs.heeks_for_type(t.offence_type)
        small = any(0 < n < suppress_below for n in (t.offences_before, t.offences_after))
        if (heeks is not None and not costs.units[heeks].verified
                and not include_unverified):
            if small:
                unverified_small += 1
            else:
                unverified.append(t.offence_type)
                rows.append(TypeCost(t.offence_type, heeks, None, t.avoided_per_year, None))
            continue
        unit = None if heeks is None else costs.units[heeks].cost * factor
        value = (None if unit is None or t.avoided_per_year is None
                 else t.avoided_per_year * unit)
        row = TypeCost(t.offence_type, heeks, unit, t.avoided_per_year, value)
        if heeks is None:
            unpriced.append(t.offence_type)
        (small_rows if small else rows).append(row)
    if small_rows:
        avoided = [r.cost_avoided_per_year for r in small_rows
                   if r.cost_avoided_per_year is not None]
        rows.append(TypeCost(OTHER_TYPES, None, None, None, sum(avoided) if avoided else None))
        unpriced = [u for u in unpriced if u not in {r.offence_type for r in small_rows}]
    total = sum(r.cost_avoided_per_year or 0.0 for r in rows)
    return CohortCost(cohort.as_of, cohort.overall.members, tuple(rows), total,
                      tuple(unpriced), tuple(unverified), unverified_small)
