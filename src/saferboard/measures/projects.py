"""Funded projects against their KPI targets and budget, for a financial-year quarter
(seeds 000 and 001: MOPAC London Crime Prevention Fund projects reviewed each quarter)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from saferboard.core.quarters import Quarter
from saferboard.store.locks import QuarterLock, RagConfirmation, confirmations, quarter_lock

AMBER_TOLERANCE = 0.10  # within 10% of the expected value: amber
OVERSPEND_TOLERANCE = 0.10  # spend more than 10% above the pro-rata budget: amber
RAG_ORDER = {"R": 0, "A": 1, "G": 2}

METHOD = (
    "KPI RAG: the expected value by the quarter is the annual target pro rata (target x "
    "quarter / 4) for a cumulative (year-to-date) KPI and the target itself for a level KPI "
    "(a rate or percentage). Where higher is better: Green if the actual is at or above the "
    "expected value, Amber if within 10% below it, Red otherwise; where lower is better, the "
    "mirror image (Amber within 10% above). Without a target or an actual, the RAG the project "
    "reported is shown, marked self-assessed; with neither, 'no data'. Project RAG: the worst "
    "KPI RAG; raised to at least Amber if spend to date is more than 10% above the pro-rata "
    "budget; 'no return' when no return came in for the quarter. Where the partnership "
    "manager has confirmed a project's RAG for the quarter, that RAG is shown, marked "
    "confirmed, beside the calculated one."
)


@dataclass(frozen=True)
class KpiStatus:
    kpi: str
    unit: str
    direction: str
    measure: str
    baseline: float | None
    target: float | None
    expected: float | None  # what the target implies by this quarter
    actual: float | None
    rag: str | None  # 'R' | 'A' | 'G'; None = no data
    basis: str  # 'measured' | 'self-assessed' | 'no data'
    comment: str


@dataclass(frozen=True)
class ProjectStatus:
    project_id: str
    name: str
    funder: str
    agency: str
    lead: str
    budget: float | None  # for the financial year
    spend_quarter: float | None
    spend_to_date: float | None  # financial year to date, from the returns in
    budget_to_date: float | None  # budget x quarter / 4
    has_return: bool
    kpis: tuple[KpiStatus, ...]
    rag: str | None  # calculated by the rules above
    reasons: tuple[str, ...]
    confirmed: RagConfirmation | None = None  # the partnership manager's RAG for the quarter

    @property
    def final_rag(self) -> str | None:
        """The confirmed RAG when there is one, else the calculated one."""
        return self.confirmed.rag if self.confirmed else self.rag


@dataclass(frozen=True)
class ProjectsReport:
    quarter: str
    financial_year: str
    projects: tuple[ProjectStatus, ...]
    method: str = METHOD
    lock: QuarterLock | None = None  # set when the quarter is locked


def expected_value(target: float, measure: str, quarter: int) -> float:
    return target * quarter / 4 if measure == "cumulative" else target


def kpi_rag(actual: float, expected: float, direction: str) -> str:
    """Green / Amber / Red of an actual against what the target implies (see METHOD)."""
    if direction == "up":
        if actual >= expected:
            return "G"
        return "A" if actual >= expected * (1 - AMBER_TOLERANCE) else "R"
    if actual <= expected:
        return "G"
    return "A" if actual <= expected * (1 + AMBER_TOLERANCE) else "R"


def kpi_status(kpi: str, unit: str, direction: str, measure: str, baseline: float | None,
               target: float | None, actual: float | None, reported: str | None,
               comment: str, quarter: int) -> KpiStatus:
    expected = expected_value(target, measure, quarter) if target is not None else None
    if expected is not None and actual is not None:
        rag: str | None = kpi_rag(actual, expected, direction)
        basis = "measured"
    elif reported is not None:
        rag, basis = reported, "self-assessed"
    else:
        rag, basis = None, "no data"
    return KpiStatus(kpi, unit, direction, measure, baseline, target, expected, actual, rag,
                     basis, comment)


def project_rag(kpis: tuple[KpiStatus, ...], spend_to_date: float | None,
                budget_to_date: float | None) -> tuple[str | None, tuple[str, ...]]:
    rated = [k for k in kpis if k.rag is not None]
    reasons: list[str] = []
    rag = min((k.rag for k in rated if k.rag), key=RAG_ORDER.__getitem__, default=None)
    for k in rated:
        if k.rag in ("R", "A"):
            reasons.append(f"{k.kpi}: {k.rag} ({k.basis})")
    if spend_to_date is not None and budget_to_date \
            and spend_to_date > budget_to_date * (1 + OVERSPEND_TOLERANCE):
        reasons.append(f"spend to date {spend_to_date:,.0f} is more than 10% above the "
                       f"pro-rata budget {budget_to_date:,.0f}")
        rag = "A" if rag in (None, "G") else rag
    if rag is None:
        reasons.append("no KPI has a target and actual or a reported RAG")
    return rag, tuple(reasons)


def projects_report(con: duckdb.DuckDBPyConnection, quarter: Quarter,
                    agency: str | None = None) -> ProjectsReport:
    """Every project with a budget for the quarter's financial year, a return in that year or
    a start-end period covering the quarter; optionally only one agency's projects."""
    fy = quarter.financial_year
    fy_quarters = [str(Quarter(quarter.year, q)) for q in range(1, quarter.q + 1)]
    rows = con.execute(
        """
        SELECT p.project_id, p.name, coalesce(p.funder, ''), p.agency, coalesce(p.lead, ''),
               b.budget
        FROM gov_projects p
        LEFT JOIN gov_project_budgets b ON b.project_id = p.project_id AND b.financial_year = ?
        WHERE (? IS NULL OR lower(p.agency) = lower(?))
          AND (b.budget IS NOT NULL
               OR p.project_id IN (SELECT project_id FROM gov_returns
                                   WHERE quarter IN (SELECT unnest(?)))
               OR (p.start_date IS NOT NULL AND p.start_date <= ?
                   AND (p.end_date IS NULL OR p.end_date >= ?)))
        ORDER BY p.name
        """, [fy, agency, agency, fy_quarters, quarter.end, quarter.start]).fetchall()
    spends = con.execute(
        "SELECT project_id, quarter, spend FROM gov_returns WHERE quarter IN "
        "(SELECT unnest(?))", [fy_quarters]).fetchall()
    kpi_rows = con.execute(
        "SELECT project_id, kpi, coalesce(unit, ''), direction, measure, baseline, target, "
        "actual, reported_rag, coalesce(comment, '') FROM gov_kpi_values WHERE quarter = ? "
        "ORDER BY project_id, kpi", [str(quarter)]).fetchall()
    spend_q: dict[str, float | None] = {}
    spend_fy: dict[str, float] = {}
    returned: set[str] = set()
    for pid, q, s in spends:
        if q == str(quarter):
            returned.add(pid)
            spend_q[pid] = s
        if s is not None:
            spend_fy[pid] = spend_fy.get(pid, 0.0) + s
    by_project: dict[str, list[KpiStatus]] = {}
    for pid, kpi, unit, direction, measure, baseline, target, actual, reported, note in kpi_rows:
        by_project.setdefault(pid, []).append(kpi_status(
            kpi, unit, direction, measure, baseline, target, actual, reported, note, quarter.q))
    confirmed = confirmations(con, "project", quarter)
    out: list[ProjectStatus] = []
    for pid, name, funder, agency_, lead, budget in rows:
        kpis = tuple(by_project.get(pid, ()))
        budget_to_date = budget * quarter.q / 4 if budget is not None else None
        spent = spend_fy.get(pid)
        if pid in returned:
            rag, reasons = project_rag(kpis, spent, budget_to_date)
        else:
            rag, reasons = None, (f"no return for {quarter}",)
        out.append(ProjectStatus(pid, name, funder, agency_, lead, budget, spend_q.get(pid),
                                 spent, budget_to_date, pid in returned, kpis, rag, reasons,
                                 confirmed.get((pid, str(quarter)))))
    return ProjectsReport(str(quarter), fy, tuple(out), lock=quarter_lock(con, quarter))


def latest_return_quarter(con: duckdb.DuckDBPyConnection) -> str | None:
    rows = con.execute("SELECT DISTINCT quarter FROM gov_returns").fetchall()
    return max((str(r[0]) for r in rows), default=None)
