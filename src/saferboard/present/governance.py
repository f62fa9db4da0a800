"""Funded projects and the action plan, formatted once: one row model each, printed under
the same column names by `saferboard projects|actions` (table, CSV, JSON), the web's CSV
downloads, and the board pack's XLSX sheets."""

from __future__ import annotations

from typing import Any

from saferboard.measures import actions as actions_mod
from saferboard.measures import projects as projects_mod
from saferboard.present.dashboard import Out

RAG_WORD = {"R": "Red", "A": "Amber", "G": "Green", None: "-"}


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class ProjectRowOut(Out):
    """One project and one of its KPIs in a quarter (a project without KPIs in the quarter
    has one row, with its reasons as the comment)."""

    quarter: str
    project_id: str
    project: str
    agency: str
    funder: str
    lead: str
    budget: float | None  # for the financial year
    budget_to_date: float | None  # budget x quarter / 4
    spend_quarter: float | None
    spend_to_date: float | None
    project_rag: str  # Red, Amber, Green, "-" (no KPI rated) or "no return"
    confirmed_rag: str  # the partnership manager's, or empty
    confirmed_by: str
    quarter_locked: bool
    kpi: str
    target: float | None
    expected: float | None  # what the target implies by this quarter
    actual: float | None
    unit: str
    kpi_rag: str
    basis: str  # measured, self-assessed, no data
    comment: str


class ActionRowOut(Out):
    quarter: str
    priority: str
    action_id: str
    action: str
    agency: str
    lead: str
    due: str  # YYYY-MM-DD or empty
    plan: str
    update: str
    rag: str  # this quarter's, as reported
    latest_rag: str  # the most recent up to this quarter
    confirmed_rag: str  # the partnership manager's, or empty
    confirmed_by: str
    flags: str  # overdue, missing update, no RAG
    quarter_locked: bool


def project_models(report: projects_mod.ProjectsReport) -> list[ProjectRowOut]:
    rows = []
    for p in report.projects:
        base: dict[str, Any] = {
            "quarter": report.quarter, "project_id": p.project_id, "project": p.name,
            "agency": p.agency, "funder": p.funder, "lead": p.lead, "budget": _num(p.budget),
            "budget_to_date": _num(p.budget_to_date), "spend_quarter": _num(p.spend_quarter),
            "spend_to_date": _num(p.spend_to_date),
            "project_rag": RAG_WORD[p.rag] if p.has_return else "no return",
            "confirmed_rag": RAG_WORD[p.confirmed.rag] if p.confirmed else "",
            "confirmed_by": p.confirmed.confirmed_by if p.confirmed else "",
            "quarter_locked": report.lock is not None}
        for k in p.kpis or (None,):
            rows.append(ProjectRowOut(
                **base, kpi=k.kpi if k else "", target=_num(k.target) if k else None,
                expected=_num(k.expected) if k else None,
                actual=_num(k.actual) if k else None, unit=k.unit if k else "",
                kpi_rag=RAG_WORD[k.rag] if k else "-", basis=k.basis if k else "",
                comment=k.comment if k else "; ".join(p.reasons)))
    return rows


def action_models(report: actions_mod.ActionsReport) -> list[ActionRowOut]:
    return [ActionRowOut(
        quarter=report.quarter, priority=g.priority, action_id=a.action_id, action=a.action,
        agency=a.agency, lead=a.lead, due=a.due.isoformat() if a.due else "", plan=a.plan,
        update=a.update, rag=RAG_WORD[a.rag], latest_rag=RAG_WORD[a.latest_rag],
        confirmed_rag=RAG_WORD[a.confirmed.rag] if a.confirmed else "",
        confirmed_by=a.confirmed.confirmed_by if a.confirmed else "",
        flags=", ".join(a.flags), quarter_locked=report.lock is not None)
        for g in report.priorities for a in g.actions]


def project_rows(report: projects_mod.ProjectsReport) -> list[dict[str, Any]]:
    """The rows of `project_models` as plain dicts (CSV, XLSX, JSON)."""
    return [r.model_dump(mode="json") for r in project_models(report)]


def action_rows(report: actions_mod.ActionsReport) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in action_models(report)]
