"""Case register figures: risk scores, review due dates, the ASB Case Review threshold and the
yearly Case Review figures. Pure functions over plain frozen data; the store reads the data.

Definitions (docs/cases.md):

* **Risk level.** The score is the sum of the weights of the questions answered yes; "high" at
  or above the matrix's high threshold, or when an escalating question is answered yes;
  "medium" at or above the medium threshold; else "standard".
* **Next review.** The latest review date plus the interval for the case's current level (its
  latest risk assessment), or the opening date plus that interval when there is no review yet.
  A case is due on its due date and overdue from the day after (overdue_days = as-of - due).
* **ASB Case Review threshold** (Anti-social Behaviour, Crime and Policing Act 2014 s.104, the
  "community trigger"): met when at least `min_incidents` (3, never more) incidents are recorded
  in the six calendar months up to and including the date the application is received, i.e.
  dated after the same day six calendar months earlier (day clamped to the month's end) and
  on or before the date received. For an application received on 15 July, an incident on
  16 January counts and one on 15 January does not, so the window is exactly six calendar
  months long; incidents after the date received never count.
* **Yearly figures** (what councils must publish): for applications *received* in the
  financial year (April-March), the number of applications, how many did not meet the
  threshold, how many were reviewed (a review date is recorded, whatever the threshold: some
  councils review below it) and how many reviews made recommendations.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from saferboard.core.quarters import fy_start, quarter_of, year_label
from saferboard.core.riskmatrix import LEVELS, STATUTORY_MAX_INCIDENTS, Question
from saferboard.measures.disclosure import Suppressed, suppress_list
from saferboard.measures.problem_assessment import (
    ProblemFacts,
    ProblemOnAgenda,
    by_stage,
    problems_by_stage,
    stage_on,
)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (earlier if negative), clamped to the
    month's last day (31 August - 6 months = 29 February in a leap year)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# --- risk -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RiskScore:
    score: int
    level: str
    escalated_by: tuple[str, ...]  # escalating questions answered yes


def score_answers(questions: Iterable[Question], answers: Mapping[str, bool], *,
                  medium: int, high: int) -> RiskScore:
    """The score and level of one assessment. Every question must be answered, and no other
    keys are accepted, so an assessment is never graded on a partial form."""
    qs = tuple(questions)
    ids = {q.id for q in qs}
    unknown = sorted(set(answers) - ids)
    if unknown:
        raise ValueError(f"unknown question ids {unknown}; the matrix asks {sorted(ids)}")
    missing = [q.id for q in qs if q.id not in answers]
    if missing:
        raise ValueError(f"unanswered questions {missing}")
    total = sum(q.weight for q in qs if answers[q.id])
    escalated = tuple(q.id for q in qs if q.escalate and answers[q.id])
    level = "high" if total >= high or escalated else "medium" if total >= medium else "standard"
    return RiskScore(total, level, escalated)


# --- reviews ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseFacts:
    case_ref: str
    opened: date
    closed: date | None
    risk_level: str | None  # of the latest assessment; None when never assessed
    latest_review: date | None


@dataclass(frozen=True)
class DueCase:
    case_ref: str
    risk_level: str
    due: date
    overdue_days: int  # 0 when due on the as-of date


def next_review(case: CaseFacts, review_days: Mapping[str, int]) -> date:
    """Latest review (else opening) + the interval of the case's level. A case never assessed
    gets the standard interval and is shown as 'standard' (the import requires a level, so
    this only happens for cases created without one)."""
    level = case.risk_level or "standard"
    if level not in LEVELS:
        raise ValueError(f"risk level should be one of {', '.join(LEVELS)}, got {level!r}")
    start = case.latest_review or case.opened
    return start + timedelta(days=review_days[level])


def due_reviews(cases: Iterable[CaseFacts], as_of: date,
                review_days: Mapping[str, int]) -> tuple[DueCase, ...]:
    """Every case open on `as_of` (opened on or before it, not closed on or before it) whose
    next review is due on or before `as_of`, most overdue first."""
    rows = []
    for c in cases:
        if c.opened > as_of or (c.closed is not None and c.closed <= as_of):
            continue
        due = next_review(c, review_days)
        if due <= as_of:
            rows.append(DueCase(c.case_ref, c.risk_level or "standard", due,
                                (as_of - due).days))
    return tuple(sorted(rows, key=lambda r: (r.due, r.case_ref)))


# --- ASB Case Review --------------------------------------------------------------------

@dataclass(frozen=True)
class Application:
    application_ref: str
    case_ref: str
    received: date
    review_date: date | None
    recommendations: bool | None
    incident_dates: tuple[date, ...]  # every incident of the case


@dataclass(frozen=True)
class CaseReviewYear:
    year: str  # financial year, "2024/25"
    applications: int
    threshold_not_met: int
    reviews_carried_out: int
    reviews_with_recommendations: int
    min_incidents: int
    months: int


def check_threshold(min_incidents: int) -> int:
    if not 1 <= min_incidents <= STATUTORY_MAX_INCIDENTS:
        raise ValueError(f"min_incidents should be 1 to {STATUTORY_MAX_INCIDENTS} (the "
                         f"statutory guidance allows no higher threshold), got {min_incidents}")
    return min_incidents


def threshold_window(received: date, months: int = 6) -> tuple[date, date]:
    """First and last day (both included) of the window ending on the date received."""
    return add_months(received, -months) + timedelta(days=1), received


def threshold_met(incident_dates: Iterable[date], received: date, *, min_incidents: int = 3,
                  months: int = 6) -> bool:
    check_threshold(min_incidents)
    first, last = threshold_window(received, months)
    return sum(1 for d in incident_dates if first <= d <= last) >= min_incidents


def financial_year(text: str) -> tuple[date, date]:
    """'2024/25' (or '2024-25', '2024/2025') -> (2024-04-01, 2025-03-31)."""
    start = fy_start(text)
    return date(start, 4, 1), date(start + 1, 3, 31)


def financial_year_of(day: date) -> str:
    return quarter_of(day).financial_year


def case_review_year(applications: Iterable[Application], year: str, *,
                     min_incidents: int = 3, months: int = 6) -> CaseReviewYear:
    """The four published figures for applications received in financial year `year`."""
    check_threshold(min_incidents)
    first, last = financial_year(year)
    apps = [a for a in applications if first <= a.received <= last]
    not_met = sum(1 for a in apps if not threshold_met(
        a.incident_dates, a.received, min_incidents=min_incidents, months=months))
    reviewed = [a for a in apps if a.review_date is not None]
    return CaseReviewYear(year_label(first.year), len(apps), not_met, len(reviewed),
                          sum(1 for a in reviewed if a.recommendations), min_incidents, months)


# --- retention and the meeting agenda -----------------------------------------------------

def retention_cutoff(as_of: date, years: int) -> date:
    """Cases closed before this date were closed more than `years` years before `as_of`."""
    if years < 1:
        raise ValueError(f"years should be at least 1, got {years}")
    return add_months(as_of, -12 * years)


@dataclass(frozen=True)
class OpenApplication:
    application_ref: str
    case_ref: str
    received: date
    threshold_met: bool
    days_open: int


@dataclass(frozen=True)
class Agenda:
    as_of: date
    due: tuple[DueCase, ...]  # reviews due or overdue
    new_high_risk: tuple[CaseFacts, ...]  # opened in the last `new_days` days, now high risk
    open_applications: tuple[OpenApplication, ...]  # received, not yet reviewed
    open_by_level: dict[str, int]  # open cases by current level
    new_days: int
    # SARA problems open on the day at each stage (every stage listed), longest there first
    problems_by_stage: dict[str, tuple[ProblemOnAgenda, ...]] = field(default_factory=dict)


def is_open(case: CaseFacts, as_of: date) -> bool:
    return case.opened <= as_of and (case.closed is None or case.closed > as_of)


def agenda(cases: Iterable[CaseFacts], applications: Iterable[Application], as_of: date,
           review_days: Mapping[str, int], *, new_days: int = 14, min_incidents: int = 3,
           months: int = 6, problems: Iterable[ProblemFacts] = ()) -> Agenda:
    """The problem-solving meeting's agenda on `as_of`: reviews due or overdue, cases opened in
    the `new_days` days up to `as_of` whose current level is high, Case Review applications
    received and not yet reviewed (with whether the threshold is met), and open cases by
    level, and the SARA problems at each stage on `as_of` (problem_assessment.stage_on)."""
    cs = tuple(cases)
    open_cases = [c for c in cs if is_open(c, as_of)]
    since = as_of - timedelta(days=new_days - 1)
    new_high = tuple(sorted((c for c in open_cases
                             if since <= c.opened <= as_of and c.risk_level == "high"),
                            key=lambda c: (c.opened, c.case_ref)))
    pending = tuple(
        OpenApplication(a.application_ref, a.case_ref, a.received,
                        threshold_met(a.incident_dates, a.received,
                                      min_incidents=min_incidents, months=months),
                        (as_of - a.received).days)
        for a in applications if a.received <= as_of and a.review_date is None)
    by_level = {lvl: sum(1 for c in open_cases if (c.risk_level or "standard") == lvl)
                for lvl in LEVELS}
    return Agenda(as_of, due_reviews(open_cases, as_of, review_days), new_high, pending,
                  by_level, new_days, problems_by_stage(problems, as_of))


# --- the board pack's "ASB cases" page (aggregates, disclosure-controlled) -----------------

@dataclass(frozen=True)
class BoardCases:
    """The pack's ASB cases page on `as_of`. Counts of cases and applications are about
    people: each table is suppressed (measures.disclosure) below `threshold`. Problems are
    places or issues, not people: their counts are shown as they are."""

    as_of: date
    year: str  # financial year of as_of; Case Review figures are for it to as_of
    threshold: int
    open_by_level: Suppressed  # one-way table over LEVELS, with its total
    overdue_by_level: Suppressed  # open cases whose review is overdue (past its due day)
    case_review: tuple[tuple[str, int | None], ...]  # the four figures, None = suppressed
    case_review_suppressed: int
    problems_by_stage: dict[str, int]


def board_cases(cases: Iterable[CaseFacts], applications: Iterable[Application],
                problems: Iterable[ProblemFacts], as_of: date,
                review_days: Mapping[str, int], *, threshold: int, min_incidents: int = 3,
                months: int = 6) -> BoardCases:
    """Open cases and overdue reviews by risk level on `as_of`, the year's Case Review
    figures for applications received from 1 April to `as_of`, and problems by stage."""
    open_cases = [c for c in cases if is_open(c, as_of)]
    overdue = [d for d in due_reviews(open_cases, as_of, review_days) if d.overdue_days > 0]

    def by_level(levels: Iterable[str]) -> Suppressed:
        seen = list(levels)
        return suppress_list([seen.count(lvl) for lvl in LEVELS], threshold=threshold)

    year = financial_year_of(as_of)
    cr = case_review_year([a for a in applications if a.received <= as_of], year,
                          min_incidents=min_incidents, months=months)
    figures = [("applications", cr.applications), ("threshold_not_met", cr.threshold_not_met),
               ("reviews_carried_out", cr.reviews_carried_out),
               ("reviews_with_recommendations", cr.reviews_with_recommendations)]
    # No published figure is a sum or difference of the others (met and reviews without
    # recommendations are not shown), so each is suppressed on its own.
    shown = [(k, suppress_list([v], threshold=threshold, total=False)) for k, v in figures]
    stages = [s[0] for p in problems if (s := stage_on(p, as_of)) is not None]
    return BoardCases(as_of, year, threshold,
                      by_level((c.risk_level or "standard") for c in open_cases),
                      by_level(d.risk_level for d in overdue),
                      tuple((k, s.cells[0][0]) for k, s in shown),
                      sum(s.primary + s.secondary for _, s in shown), by_stage(stages))
