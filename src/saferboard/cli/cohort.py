"""People commands: the offender cohort (IOM) before/after joining, and the cost of crime."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saferboard import store
from saferboard.cli.common import (
    CategoriesOption,
    ConfigOption,
    DbOption,
    Format,
    FormatOption,
    app,
    emit,
    err,
    error_text,
    out,
    parse_day,
    parse_month,
)
from saferboard.core import categories

if TYPE_CHECKING:
    from saferboard.measures.cohort import PublishedCohort
    from saferboard.measures.costs import CostReport


COHORT_COST_CAVEAT = (
    "the cohort's cost avoided prices its whole before/after change as if the programme "
    "caused it; regression to the mean makes it an upper bound (see 'saferboard cohort')."
)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


@app.command("cohort")
def cohort_cmd(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date of the analysis, YYYY-MM-DD: after-joining windows end here "
        "(default: today)")] = None,
    min_days: Annotated[int, typer.Option(
        "--min-days", help="Leave out members with fewer community days than this before or "
        "after joining")] = 90,
    basis: Annotated[str, typer.Option(
        "--basis", help="Date events by 'offence' date or by 'conviction' date")] = "offence",
    top: Annotated[int, typer.Option(
        "--top", help="Offender concentration: share of the last 365 days' offences "
        "committed by the top N offenders")] = 200,
    comparison_cohort: Annotated[str | None, typer.Option(
        "--comparison-cohort", help="A cohort value whose members are a comparison group "
        "chosen the same way: prints both groups' change and the difference in differences")
    ] = None,
    cohort: Annotated[list[str] | None, typer.Option(
        "--cohort", help="Only members with this cohort value (repeatable; default: all)")
    ] = None,
    resamples: Annotated[int, typer.Option(
        "--resamples", help="Bootstrap resamples for the comparison's interval")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed")] = 1,
    suppress_below: Annotated[int, typer.Option(
        "--suppress-below", help="Hide cohort groups with fewer members than this")] = 5,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Offender cohort (IOM): offences per offender per year in the 12 months before joining
    against after joining (custody excluded), by cohort and for Home Office recordable
    offences, the seed-style table projected to 12 months, and offender concentration."""
    from saferboard.measures.cohort import cohort_measures, load_cohort, suppress_small_cohorts

    day = parse_day(as_of, "--as-of") or date.today()
    if basis not in ("offence", "conviction"):
        raise typer.BadParameter(f"expected offence or conviction, got {basis!r}",
                                 param_hint="--basis")
    con = store.connect(db, read_only=True)
    try:
        data = load_cohort(con)
    finally:
        con.close()
    result = cohort_measures(data, as_of=day, min_days=min_days,
                             date_basis="offence" if basis == "offence" else "conviction",
                             top_n=top, comparison_cohort=comparison_cohort,
                             resamples=resamples, seed=seed, cohorts=cohort or None)
    shown = suppress_small_cohorts(result, suppress_below)
    print_cohort(shown, fmt)


def print_cohort(r: PublishedCohort, fmt: Format) -> None:
    from saferboard.measures.disclosure import MARK
    from saferboard.present.cohort import (
        CohortGroupOut,
        OffenceTypeOut,
        ProjectionOut,
        cohort_document,
        groups,
        suppressed_note,
    )

    if fmt is Format.json:
        sys.stdout.write(json.dumps(cohort_document(r), indent=2) + "\n")
        return
    rows = [g.cells() for g in groups(r)]
    if fmt is Format.csv:
        emit(rows, fmt)
        return
    emit(rows, fmt, title=f"Offending per offender per year, 12 months before joining vs "
                          f"after (to {r.as_of}, by {r.date_basis} date)")
    if r.projection:
        emit([ProjectionOut.of(p).cells() for p in r.projection], fmt,
             title="Before (12 months) vs after, predicted for 12 months")
    if r.by_type:
        emit([OffenceTypeOut.of(t).cells() for t in r.by_type], fmt, title="By offence type")
    if r.comparison is not None:
        c = r.comparison
        emit([CohortGroupOut.of("Cohort (the other cohort values)", c.treated).cells(),
              CohortGroupOut.of(f"Comparison group ({c.comparison_cohort})",
                                c.comparison).cells()], fmt,
             title="Cohort against the comparison group")
        ci = ("" if c.did_interval is None
              else f" (95% interval {c.did_interval[0]:+.2f} to {c.did_interval[1]:+.2f})")
        did = "not computable" if c.did_rate is None else f"{c.did_rate:+.2f}"
        out.print(f"Difference in differences: {did} offences per offender per year{ci}.",
                  highlight=False, markup=False)
        if c.ratio_of_rate_ratios is not None:
            rci = ("" if c.ratio_interval is None else
                   f" (95% interval {c.ratio_interval[0]:.2f} to {c.ratio_interval[1]:.2f})")
            out.print(f"Ratio of rate ratios: {c.ratio_of_rate_ratios:.2f}{rci}. "
                      + c.method, highlight=False, markup=False)
    k = r.concentration
    if k.share_pct is not None:
        top = (f"the top {k.top_n:,} of {k.offenders:,} offenders" if k.top_n < k.offenders
               else f"all {k.offenders:,} offenders (fewer than the top {k.top_n:,} asked for)")
        out.print(f"Offender concentration ({k.first_day} to {k.last_day}): {top} "
                  f"committed {k.top_offences:,} of "
                  f"{k.offences:,} offences ({k.share_pct:.1f}%); {k.offenders_for_half:,} "
                  "offenders committed half.", highlight=False, markup=False)
    ex = r.excluded
    joined = f"{MARK} (suppressed)" if r.members_total is None else f"{r.members_total:,}"
    out.print(f"Members: {joined} joined by {r.as_of}; left out: "
              f"{ex['short_before'] + ex['short_after'] + ex['short_both']:,} with fewer than "
              f"{r.min_days} community days before or after joining, "
              f"{ex['later_membership']:,} later memberships of the same offenders. "
              f"Offences dated in custody, not counted: {r.offences_in_custody:,}.",
              highlight=False, markup=False)
    note = suppressed_note(r)
    if note:
        out.print(note, highlight=False, markup=False)
    for caveat in r.caveats:
        out.print(f"Caveat: {caveat}", highlight=False, markup=False)


@app.command("costs")
def costs_cmd(
    area: Annotated[str | None, typer.Option(
        help="Local authority (default: the configuration's area)")] = None,
    month: Annotated[str | None, typer.Option(
        help="Last month of the rolling 12 months, YYYY-MM (default: the latest with data)")
    ] = None,
    price_year: Annotated[str | None, typer.Option(
        "--price-year", help="Express costs in this financial year's prices, YYYY/YY "
        "(GDP deflator; default: the unit costs' own 2015/16 prices)")] = None,
    unit_costs: Annotated[Path | None, typer.Option(
        "--unit-costs", help="TOML laid over the shipped unit costs (crime_costs.toml)")] = None,
    deflator: Annotated[Path | None, typer.Option(
        "--deflator", help="GDP deflator CSV (financial_year,index) instead of the shipped "
        "one")] = None,
    cohort_as_of: Annotated[str | None, typer.Option(
        "--cohort-as-of", help="Date of the cohort analysis for the cohort's cost avoided "
        "(default: the last day of --month)")] = None,
    suppress_below: Annotated[int, typer.Option(
        "--suppress-below", help="Cohort offence types with fewer offences than this are "
        "shown only in one combined row")] = 5,
    cohort_values: Annotated[list[str] | None, typer.Option(
        "--cohort", help="Cost avoided by members with this cohort value only (repeatable; "
        "default: all members, e.g. leave out a comparison group)")] = None,
    include_unverified: Annotated[bool, typer.Option(
        "--include-unverified", help="Also price categories whose unit cost is not yet "
        "verified against the report (default: they are left out of every total and "
        "listed)")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    fmt: FormatOption = Format.table,
    mapping: CategoriesOption = None,
) -> None:
    """Cost of recorded crime over the rolling 12 months by category (Home Office unit costs,
    Heeks et al. 2018), cost avoided by the change in volume against the 12 months before, and
    cost avoided by the offender cohort's reduction (when cohort data is in the store)."""
    from saferboard.core.config import load_config
    from saferboard.core.crime_costs import load_unit_costs
    from saferboard.core.errors import InputError
    from saferboard.measures.cohort import cohort_measures, load_cohort
    from saferboard.measures.costs import cost_report
    from saferboard.measures.dashboard import canonical_area, latest_month, load_sources

    cfg = load_config(config)
    cats = categories.load(mapping)
    costs = load_unit_costs(unit_costs, deflator=deflator)
    con = store.connect(db, read_only=True)
    try:
        sources = load_sources(con, cats)
        chosen = canonical_area(sources, area or cfg.area)
        ref = parse_month(month, "--month") or latest_month(sources, chosen)
        as_of = parse_day(cohort_as_of, "--cohort-as-of") or _month_end(ref)
        cohort = None
        cohort_note = None
        try:
            data = load_cohort(con)
        except InputError as e:  # no partner data: the crime costs still stand
            cohort_note = error_text(e)
        else:
            try:
                cohort = cohort_measures(data, as_of=as_of, resamples=0,
                                         cohorts=cohort_values or None)
            except InputError as e:
                if e.param != "as_of":  # a bad --cohort is an error, not a note
                    raise
                cohort_note = error_text(e)
    finally:
        con.close()
    if suppress_below < 1:
        raise typer.BadParameter(f"expected at least 1, got {suppress_below}",
                                 param_hint="--suppress-below")
    report = cost_report(sources, cats, costs, chosen, ref, price_year=price_year,
                         cohort=cohort, suppress_below=suppress_below,
                         include_unverified=include_unverified)
    print_costs(report, fmt, cohort_note)


def _month_end(month: date) -> date:
    nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def _money(x: float | None) -> int | None:
    return None if x is None else round(x)


def costs_json(r: CostReport) -> dict[str, Any]:
    from saferboard.present.costs import cost_rows

    return {
        "area": r.area, "month": f"{r.month:%Y-%m}", "source": r.source,
        "window": r.window, "previous_window": r.previous_window,
        "price_year": r.price_year, "price_factor": round(r.price_factor, 6),
        "total_cost": _money(r.total_cost), "previous_total_cost": _money(r.previous_cost),
        "cost_avoided_by_volume": _money(r.avoided_by_volume),
        "categories": cost_rows(r),
        "unmapped": [asdict(u) for u in r.unmapped],
        "include_unverified": r.include_unverified,
        "left_out_unverified": [{**asdict(u), "unit_cost": _money(u.unit_cost)}
                                for u in r.left_out],
        "cohort": None if r.cohort is None else {
            "as_of": r.cohort.as_of.isoformat(), "members": r.cohort.members,
            "cost_avoided_per_year": _money(r.cohort.cost_avoided_per_year),
            "by_offence_type": [{**asdict(t), "unit_cost": _money(t.unit_cost),
                                 "avoided_per_year": _r(t.avoided_per_year, 2),
                                 "cost_avoided_per_year": _money(t.cost_avoided_per_year)}
                                for t in r.cohort.rows],
            "unpriced_types": list(r.cohort.unpriced),
            "unverified_types": list(r.cohort.unverified),
            "unverified_small_types": r.cohort.unverified_small,
            "caveat": COHORT_COST_CAVEAT,
        },
        "unverified_unit_costs": list(r.unverified),
        "citation": r.citation, "notes": list(r.notes),
    }


def print_costs(r: CostReport, fmt: Format, cohort_note: str | None) -> None:
    from saferboard.present.costs import cost_rows, total_row

    if r.cohort is None and cohort_note:
        err.print(f"note: no cohort cost avoided: {cohort_note}", markup=False,
                  highlight=False, soft_wrap=True)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({**costs_json(r), "cohort_note": cohort_note}, indent=2)
                         + "\n")
        return
    rows = [*cost_rows(r), total_row(r)]  # the JSON's categories, and their total
    if fmt is Format.csv:
        emit(rows, fmt)
        if r.left_out:  # CSV has no room for it: say on stderr what the totals leave out
            err.print("note: left out (unit cost not yet verified; --include-unverified to "
                      "price them): " + ", ".join(u.category for u in r.left_out),
                      markup=False, highlight=False, soft_wrap=True)
        return
    against = "" if r.previous_cost is None else f" against {r.previous_window}"
    emit(rows, fmt, title=f"{r.area}: cost of recorded crime, {r.window}{against} "
                          f"({r.source}), GBP at {r.price_year} prices")
    if r.unmapped:
        out.print("Not priced (no Home Office unit cost): " + "; ".join(
            f"{u.category} ({u.count:,}): {u.reason}" for u in r.unmapped),
            highlight=False, markup=False)
    if r.cohort is not None:
        emit([{"offence_type": t.offence_type, "home_office_category": t.heeks,
               "unit_cost": _money(t.unit_cost), "avoided_per_year": _r(t.avoided_per_year, 1),
               "cost_avoided_per_year": _money(t.cost_avoided_per_year)}
              for t in r.cohort.rows], fmt,
             title=f"Cost avoided by the offender cohort's reduction ({r.cohort.members} "
                   f"members, to {r.cohort.as_of}): "
                   f"GBP {_money(r.cohort.cost_avoided_per_year) or 0:,} a year")
        if r.cohort.unpriced:
            out.print("Cohort offence types without a unit cost: "
                      + ", ".join(r.cohort.unpriced), highlight=False, markup=False)
        if r.cohort.unverified or r.cohort.unverified_small:
            small = (f"{r.cohort.unverified_small} small offence type(s)"
                     if r.cohort.unverified_small else "")
            out.print("Left out of the cohort's cost avoided (unit cost not yet verified; "
                      "--include-unverified to price them): "
                      + ", ".join([*r.cohort.unverified, *([small] if small else [])]),
                      highlight=False, markup=False)
        out.print(f"Caveat: {COHORT_COST_CAVEAT}", highlight=False, markup=False)
    if r.left_out:
        out.print("Left out (unit cost not yet verified against the report; "
                  "--include-unverified to price them): " + "; ".join(
                      f"{u.category} ({u.count:,} crime{'' if u.count == 1 else 's'}; "
                      f"{u.heeks}, unverified "
                      f"£{u.unit_cost:,.0f})" for u in r.left_out),
                  highlight=False, markup=False)
    if r.unverified:
        out.print("Warning: priced with unit costs not yet verified against the report "
                  "(check them before publishing): " + ", ".join(r.unverified),
                  highlight=False, markup=False)
    for note in r.notes:
        out.print(f"Note: {note}", highlight=False, markup=False)
    out.print(f"Source: {r.citation}", highlight=False, markup=False)
