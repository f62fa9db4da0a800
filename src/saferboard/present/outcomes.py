"""Outcomes of police.uk crimes, formatted once: `saferboard outcomes` prints `OutcomeRowOut`
(or, by month, `OutcomeMonthOut`) as its table and CSV, and the same rows, with the same
names and values, inside its JSON document (`OutcomesOut`). Percentages are rounded to one
decimal in one place (`pct`), so no output shows another figure."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from saferboard.core.errors import InputError
from saferboard.measures.outcomes import MonthRate, OutcomeRates
from saferboard.present.dashboard import Out


def pct(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class OutcomeRowOut(Out):
    """One line of the outcome table: a group of the mapping, an unmapped label
    ("Unmapped: LABEL"), the sanction detections ("Sanction detections (A + B)") or
    "All crimes"."""

    outcome: str
    crimes: int
    percent: float | None  # of all crimes in scope (unmapped included); None: no crimes


class OutcomeMonthOut(Out):
    """One month of crimes (the month recorded): its sanction detection rate, then one
    column per outcome group (crimes), named as the mapping names the group."""

    # The group columns are the mapping's, so they cannot be declared; each is checked
    # against the fixed names when the row is built (`of`).
    model_config = ConfigDict(frozen=True, extra="allow")

    month: str  # YYYY-MM
    crimes: int
    sanction_detections: int
    sd_rate_pct: float | None

    @classmethod
    def of(cls, m: MonthRate) -> OutcomeMonthOut:
        clash = sorted(set(m.groups) & set(cls.model_fields))
        if clash:  # a group named "crimes" would silently replace the month's total
            raise InputError(f"outcome group {clash[0]!r} has the name of a column of the "
                             "monthly table; rename the group", param="outcome_map")
        return cls(month=f"{m.month:%Y-%m}", crimes=m.crimes,
                   sanction_detections=m.sanction_detections,
                   sd_rate_pct=pct(m.sanction_detection_rate), **m.groups)


def outcome_rows(r: OutcomeRates) -> list[OutcomeRowOut]:
    rows = [OutcomeRowOut(outcome=g.group, crimes=g.crimes, percent=pct(g.percent))
            for g in r.groups]
    rows += [OutcomeRowOut(outcome=f"Unmapped: {label}", crimes=n,
                           percent=pct(100 * n / r.crimes if r.crimes else None))
             for label, n in r.unmapped.items()]
    rows.append(OutcomeRowOut(
        outcome="Sanction detections (" + " + ".join(r.sanction_detection_groups) + ")",
        crimes=r.sanction_detections, percent=pct(r.sanction_detection_rate)))
    rows.append(OutcomeRowOut(outcome="All crimes", crimes=r.crimes,
                              percent=100.0 if r.crimes else None))
    return rows


class OutcomesOut(Out):
    """Everything `saferboard outcomes --format json` prints: the scope, where each crime's
    outcome came from, the lag warning, the table's rows and (with --by-month) the monthly
    rows."""

    area: str | None  # None: every row, even with no area
    start: str  # first month of crimes, YYYY-MM
    end: str
    categories: list[str]
    crimes: int  # distinct Crime IDs recorded in start..end in scope
    rows_without_crime_id: int  # anti-social behaviour: no outcomes, not counted
    duplicate_crime_rows: int  # repeated Crime ID rows, counted once
    from_outcomes_files: int
    from_street_files: int
    sanction_detection_groups: list[str]
    sanction_detections: int
    sanction_detection_rate: float | None  # percent of crimes, as the table's row
    unmapped: dict[str, int]  # raw outcome label -> crimes (in `crimes` too)
    latest_data: str | None  # YYYY-MM: the earliest of latest_by_force
    latest_by_force: dict[str, str]
    lag_months: int
    lag_warning: str | None
    rows: list[OutcomeRowOut]  # the table and CSV rows
    months: list[OutcomeMonthOut]  # the --by-month rows (empty without it)

    @classmethod
    def of(cls, r: OutcomeRates) -> OutcomesOut:
        return cls(
            area=r.area, start=f"{r.start:%Y-%m}", end=f"{r.end:%Y-%m}",
            categories=list(r.categories), crimes=r.crimes,
            rows_without_crime_id=r.rows_without_crime_id,
            duplicate_crime_rows=r.duplicate_crime_rows,
            from_outcomes_files=r.from_outcomes_files, from_street_files=r.from_street_files,
            sanction_detection_groups=list(r.sanction_detection_groups),
            sanction_detections=r.sanction_detections,
            sanction_detection_rate=pct(r.sanction_detection_rate),
            unmapped=dict(r.unmapped),
            latest_data=None if r.latest_data is None else f"{r.latest_data:%Y-%m}",
            latest_by_force={f: f"{d:%Y-%m}" for f, d in r.latest_by_force.items()},
            lag_months=r.lag_months, lag_warning=r.lag_warning,
            rows=outcome_rows(r), months=[OutcomeMonthOut.of(m) for m in r.months])


def outcome_table(r: OutcomeRates, by_month: bool) -> list[dict[str, Any]]:
    """The rows the table and CSV print: by month, or by outcome."""
    models = ([OutcomeMonthOut.of(m) for m in r.months] if by_month else outcome_rows(r))
    return [m.model_dump(mode="json") for m in models]
