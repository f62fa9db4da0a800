"""Funded projects and the action plan on the web: each agency's officers see and update
their own (another agency's item is 404), with every change in the audit log (before and
after). The partnership manager confirms RAGs and locks quarters; a change for a locked
quarter is refused (409) and the refusal audited. Reading and writing go through
saferboard.measures.projects/actions and saferboard.sources.governance/locks."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

import duckdb

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, parse_quarter
from saferboard.measures.actions import ActionsReport, actions_report
from saferboard.measures.projects import ProjectsReport, latest_return_quarter, projects_report
from saferboard.sources.governance import (
    ActionUpdate,
    KpiValue,
    ProjectReturn,
    action_agency,
    project_agency,
    record_action_update,
    record_return,
)
from saferboard.store.locks import QuarterLocked, confirm_rag, lock_quarter, quarter_lock
from saferboard.web import audit, inputs
from saferboard.web.deps import Principal
from saferboard.web.permissions import NotFound, Perm, User, allowed, check


def quarter(text: str | None) -> Quarter | None:
    if not text:
        return None
    return inputs.quarter(text)  # in range and ASCII, or InputError (400)


def _required_quarter(text: str, example: str) -> Quarter:
    q = quarter(text)
    if q is None:
        raise InputError(f"give the quarter, e.g. {example}", column="quarter")
    return q


def _item(con: duckdb.DuckDBPyConnection, p: Principal, kind: str, item_id: str, perm: Perm,
          quarter_text: str) -> tuple[str, Quarter]:
    """The agency of the action or project `item_id` (NotFound: none), once `p` may `perm`
    it, and the quarter the change is for."""
    agency = action_agency(con, item_id) if kind == "action" else project_agency(con, item_id)
    if agency is None:
        raise NotFound(f"no such {kind}")
    check(p.user, perm, agency=agency)
    return agency, _required_quarter(quarter_text, EXAMPLE_QUARTER[kind])


EXAMPLE_QUARTER = {"action": "2012-Q4", "project": "2016-Q4"}  # of the example data


def scope(user: User) -> str | None:
    """The agency a user's governance pages are limited to (None: every agency)."""
    if allowed(user, Perm.all_agencies):
        return None
    if user.agency is None:
        raise NotFound("no agency")
    return user.agency


def actions(con: duckdb.DuckDBPyConnection, user: User, quarter_text: str | None
            ) -> ActionsReport:
    return actions_report(con, quarter(quarter_text), agency=scope(user))


def projects(con: duckdb.DuckDBPyConnection, user: User, quarter_text: str | None
             ) -> ProjectsReport | None:
    q = quarter(quarter_text)
    if q is None:
        latest = latest_return_quarter(con)
        if latest is None:
            return None
        q = parse_quarter(latest)
    return projects_report(con, q, agency=scope(user))


def _action_state(con: duckdb.DuckDBPyConnection, action_id: str, q: Quarter, agency: str
                  ) -> dict[str, Any] | None:
    report = actions_report(con, q, agency=agency)
    for p in report.priorities:
        for a in p.actions:
            if a.action_id == action_id:
                return {"quarter": str(q), "plan": a.plan, "update": a.update, "rag": a.rag}
    return None


def update_action(con: duckdb.DuckDBPyConnection, now: datetime, p: Principal, action_id: str,
                  quarter_text: str, plan: str, update: str, rag: str) -> str:
    agency, q = _item(con, p, "action", action_id, Perm.submit_update, quarter_text)
    before = _action_state(con, action_id, q, agency)
    try:
        with store.transaction(con):  # the change and its audit row commit together
            outcome = record_action_update(
                con, ActionUpdate(action_id, q, plan.strip(), update.strip(),
                                  rag.strip() or None), submitted_by=p.actor)
            audit.record(con, at=now, actor=p.actor, role=p.role, action="action.update",
                         obj=f"action:{action_id}:{q}", client=p.client, before=before,
                         after=_action_state(con, action_id, q, agency))
    except QuarterLocked as e:
        _refused(con, now, p, "action.update", f"action:{action_id}:{q}", e)
        raise
    return outcome


def _project_kpis(con: duckdb.DuckDBPyConnection, project_id: str, q: Quarter, agency: str
                  ) -> tuple[dict[str, Any], list[Any]]:
    """The project's state in quarter q, and its KPIs (from q, else the latest of the eight
    quarters before it with any)."""
    state: dict[str, Any] = {}
    kpis: list[Any] = []
    quarters = [q]
    for _ in range(8):
        quarters.append(quarters[-1].previous())
    for qq in quarters:
        for proj in projects_report(con, qq, agency=agency).projects:
            if proj.project_id == project_id:
                if qq == q:
                    state = {"quarter": str(q), "spend": proj.spend_quarter,
                             "has_return": proj.has_return,
                             "kpis": [asdict(k) for k in proj.kpis]}
                if not kpis:
                    kpis = list(proj.kpis)
        if kpis:
            break
    return state, kpis


def submit_return(con: duckdb.DuckDBPyConnection, now: datetime, p: Principal,
                  project_id: str, quarter_text: str, form: dict[str, str]) -> str:
    """A quarterly return from the web form: spend, and per KPI (in the project's order)
    `actual_<i>`, `rag_<i>` and `comment_<i>`."""
    agency, q = _item(con, p, "project", project_id, Perm.submit_update, quarter_text)
    before, known = _project_kpis(con, project_id, q, agency)
    if not known:
        raise InputError(f"project {project_id!r} has no KPIs to report on; import a return "
                         "file first", column="project_id")
    kpis = []
    for i, k in enumerate(known):
        kpis.append(KpiValue(k.kpi, k.direction, k.measure, k.unit, k.baseline, k.target,
                             _number(form.get(f"actual_{i}", ""), f"actual_{i}"),
                             (form.get(f"rag_{i}", "").strip().upper() or None),
                             form.get(f"comment_{i}", "").strip()[:2000]))
    spend = _number(form.get("spend", ""), "spend")
    try:
        with store.transaction(con):  # the change and its audit row commit together
            outcome = record_return(con, ProjectReturn(project_id, q, spend, tuple(kpis)),
                                    submitted_by=p.actor)
            after, _ = _project_kpis(con, project_id, q, agency)
            audit.record(con, at=now, actor=p.actor, role=p.role, action="project.return",
                         obj=f"project:{project_id}:{q}", client=p.client,
                         before=before or None, after=after)
    except QuarterLocked as e:
        _refused(con, now, p, "project.return", f"project:{project_id}:{q}", e)
        raise
    return outcome


def _number(text: str, name: str) -> float | None:
    return inputs.number(text, name)


def _refused(con: duckdb.DuckDBPyConnection, now: datetime, p: Principal, action: str,
             obj: str, error: QuarterLocked) -> None:
    """Audit a change refused because its quarter is locked (the error then answers 409)."""
    audit.record(con, at=now, actor=p.actor, role=p.role, action=action, obj=obj,
                 outcome=f"refused {error.http_status}", client=p.client,
                 after={"reason": error.detail})


def _confirmation(report_item: Any) -> dict[str, Any] | None:
    c = report_item.confirmed if report_item is not None else None
    return None if c is None else {"rag": c.rag, "reported_rag": c.reported_rag,
                                   "confirmed_by": c.confirmed_by,
                                   "confirmed_at": c.confirmed_at.isoformat()}


def _find(con: duckdb.DuckDBPyConnection, kind: str, item_id: str, q: Quarter) -> Any:
    """The action's or project's status in quarter q (None: not listed that quarter)."""
    if kind == "action":
        for pa in actions_report(con, q).priorities:
            for a in pa.actions:
                if a.action_id == item_id:
                    return a
        return None
    for proj in projects_report(con, q).projects:
        if proj.project_id == item_id:
            return proj
    return None


def confirm(con: duckdb.DuckDBPyConnection, now: datetime, p: Principal, kind: str,
            item_id: str, quarter_text: str, rag: str) -> str:
    """The partnership manager confirms the RAG of an action's update or a project's return
    for a quarter; recorded beside the reported (action) or calculated (project) RAG."""
    _, q = _item(con, p, kind, item_id, Perm.manage_governance, quarter_text)
    obj = f"{kind}:{item_id}:{q}"
    item = _find(con, kind, item_id, q)
    reported = None if item is None else item.rag
    before = _confirmation(item)
    try:
        with store.transaction(con):  # the change and its audit row commit together
            outcome = confirm_rag(con, kind, item_id, q, rag, reported_rag=reported,
                                  confirmed_by=p.actor, at=audit.naive_utc(now))
            audit.record(con, at=now, actor=p.actor, role=p.role,
                         action=f"{kind}.confirm_rag", obj=obj, client=p.client,
                         before=before, after=_confirmation(_find(con, kind, item_id, q)))
    except QuarterLocked as e:
        _refused(con, now, p, f"{kind}.confirm_rag", obj, e)
        raise
    return outcome


def lock(con: duckdb.DuckDBPyConnection, now: datetime, p: Principal, quarter_text: str
         ) -> bool:
    """The partnership manager locks a quarter (idempotent); True if this call locked it."""
    check(p.user, Perm.manage_governance)
    q = _required_quarter(quarter_text, EXAMPLE_QUARTER["project"])

    def state(value: Any) -> dict[str, Any] | None:
        return None if value is None else {"quarter": value.quarter,
                                           "locked_by": value.locked_by,
                                           "locked_at": value.locked_at.isoformat()}

    with store.transaction(con):  # the lock and its audit row commit together
        before = state(quarter_lock(con, q))
        made, new = lock_quarter(con, q, locked_by=p.actor, at=audit.naive_utc(now))
        audit.record(con, at=now, actor=p.actor, role=p.role, action="quarter.lock",
                     obj=f"quarter:{q}", client=p.client, before=before, after=state(made))
    return new
