"""Server-rendered pages. Thin: each handler checks its permission (Need), asks
`service.Measures` (or a governance/auth function) for the figures and renders a template."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated
from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from saferboard.core.errors import InputError
from saferboard.measures.actions import ActionsReport
from saferboard.measures.compare import METHOD as COMPARE_METHOD
from saferboard.measures.periods import PERIODS
from saferboard.measures.projects import ProjectsReport
from saferboard.measures.targets import METHOD as TARGETS_METHOD
from saferboard.present import FLAG_MARK, RAG_LETTER
from saferboard.present.governance import (
    ActionRowOut,
    ProjectRowOut,
    action_models,
    project_models,
)
from saferboard.web import audit, auth, governance, people, records
from saferboard.web.deps import (
    DEVICE_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Need,
    Principal,
    client_address,
    state,
)
from saferboard.web.permissions import Perm, Role, User, allowed, check
from saferboard.web.rendering import render, vega_bundle

router = APIRouter(include_in_schema=False)
Public = Annotated[Principal, Depends(Need(Perm.public))]
SignedIn = Annotated[Principal, Depends(Need(Perm.authenticated))]
Viewer = Annotated[Principal, Depends(Need(Perm.dashboards))]
AreaQ = Annotated[str | None, Query(max_length=64)]
MonthQ = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
PeriodQ = Annotated[str, Query(max_length=12)]

HOME_ORDER = ((Perm.dashboards, "/overview"), (Perm.governance, "/actions"),
              (Perm.users, "/admin/users"), (Perm.audit, "/audit"))


@router.get("/")
def home(request: Request, p: Public) -> Response:
    for perm, url in HOME_ORDER:
        if allowed(p.user, perm):
            return RedirectResponse(url, status_code=303)
    if p.user is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html.j2", p)


@router.get("/vendor/{name}")
def vendor(request: Request, name: str, p: Public) -> Response:
    files = state(request).vendor
    if name == "vega.js":
        return Response(vega_bundle(), media_type="text/javascript")
    if name not in files:
        raise InputError(f"no vendored file {name!r}", column="name")
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(files[name], media_type=kind)


# ---------------------------------------------------------------------------------- login

def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login")
def login_form(request: Request, p: Public,
               next_: Annotated[str | None, Query(alias="next", max_length=200)] = None
               ) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html.j2", p, login_csrf=token, next=_safe_next(next_),
                      error=None)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=state(request).settings.secure_cookies, path="/login")
    return response


@router.post("/login")
def login(request: Request, p: Public, username: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=1024)],
          next_: Annotated[str, Form(alias="next", max_length=200)] = "/") -> Response:
    st = state(request)
    client = client_address(request)
    result = auth.login(st.db, st.settings, username, password, client,
                        request.cookies.get(DEVICE_COOKIE), audit_failure=False)
    if result.throttled:  # folded per address, so a flood of them cannot grow the log
        name = username.strip().lower()[:64]
        audit.refusal(st.db, request.app.state.refusals, at=st.settings.clock(),
                      actor=name or "(empty)", role=None, action="login", obj=f"user:{name}",
                      outcome="failed", client=client, reason=result.reason, fold=True)
    if result.token is None or result.session is None:
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html.j2", p, status=401, login_csrf=token,
                          next=_safe_next(next_), error=auth.LOGIN_FAILED)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=st.settings.secure_cookies, path="/login")
        return response
    redirect = RedirectResponse(_safe_next(next_), status_code=303)
    # A new session id at every login; the cookie lives no longer than the absolute timeout.
    redirect.set_cookie(SESSION_COOKIE, result.token, httponly=True, samesite="strict",
                        secure=st.settings.secure_cookies, path="/",
                        max_age=st.settings.absolute_timeout_s)
    # This browser has now signed in to the account: others' failures cannot lock it out.
    redirect.set_cookie(DEVICE_COOKIE, auth.device_token(st.settings,
                                                       result.session.user.username),
                        httponly=True, samesite="strict", secure=st.settings.secure_cookies,
                        path="/login", max_age=365 * 24 * 3600)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout")
def logout(request: Request, p: SignedIn) -> Response:
    st = state(request)
    assert p.session is not None
    with st.db.connect() as con:
        auth.logout(con, p.session)
        audit.record(con, at=st.settings.clock(), actor=p.actor, role=p.role, action="logout",
                     obj=f"user:{p.actor}", client=p.client)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ------------------------------------------------------------------------------ dashboards

@router.get("/overview")
def overview(request: Request, p: Viewer, area: AreaQ = None, month: MonthQ = None,
             period: PeriodQ = "quarter") -> Response:
    st = state(request)
    ms = st.measures
    with st.db.reader() as con:
        chosen, ref = ms.resolve(con, area, month)
        board = ms.dashboard(con, chosen, ref)
        selected = ms.periods(con, board, period)
        areas = ms.areas(con)
        dq = ms.quality(con)
    groups = sorted({g for r in board.rows for g in r.ranks})
    as_at = max((q.last_month for q in dq), default=None)
    return render(request, "overview.html.j2", p, board=board, groups=groups,
                  selected=selected, period=period, periods=PERIODS, areas=areas,
                  RAG_LETTER=RAG_LETTER, FLAG_MARK=FLAG_MARK, as_at=as_at,
                  month=f"{ref:%Y-%m}", quote=quote)


@router.get("/category/{category}")
def category(request: Request, category: str, p: Viewer, area: AreaQ = None,
             month: MonthQ = None, group: Annotated[str | None, Query(max_length=64)] = None
             ) -> Response:
    st = state(request)
    ms = st.measures
    name = ms.check_category(category)
    notes: list[str] = []
    with st.db.reader() as con:
        chosen, ref = ms.resolve(con, area, month)
        board = ms.dashboard(con, chosen, ref)
        row = next(r for r in board.rows if r.category == name)
        trend = peers = hotspot = None
        try:
            trend = ms.spec_json(con, "trend", chosen, name, ref)
        except InputError as e:
            notes.append(f"No trend: {e.detail}")
        try:
            peers = ms.spec_json(con, "peers", chosen, name, ref, group)
        except InputError as e:
            notes.append(f"No peer comparison: {e.detail}")
        try:
            hotspot = ms.hotspot_map(con, chosen, name, ref)
        except InputError as e:
            notes.append(f"No hotspot map: {e.detail}")
        areas = ms.areas(con)
    # The map's cells come from the API (cached JSON), so the page itself stays small.
    map_url = (f"/api/categories/{quote(name)}/hotspots?area={quote(chosen)}"
               f"&month={ref:%Y-%m}")
    return render(request, "category.html.j2", p, board=board, row=row,
                  trend_spec=trend[0] if trend else None, trend_alt=trend[1] if trend else "",
                  peer_spec=peers[0] if peers else None, peer_alt=peers[1] if peers else "",
                  hotspot=hotspot, map_url=map_url, notes=notes, areas=areas,
                  peer_groups=list(ms.config.peer_groups),
                  peer_group=group or ms.config.region, month=f"{ref:%Y-%m}",
                  compare_method=COMPARE_METHOD, RAG_LETTER=RAG_LETTER, quote=quote)


@router.get("/targets")
def targets(request: Request, p: Viewer, area: AreaQ = None, month: MonthQ = None
            ) -> Response:
    st = state(request)
    ms = st.measures
    with st.db.reader() as con:
        chosen, ref = ms.resolve(con, area, month)
        figures, notes = ms.target_figures(con, chosen, ref)
        areas = ms.areas(con)
    return render(request, "targets.html.j2", p, area=chosen, month=f"{ref:%Y-%m}",
                  figures=figures, notes=notes, areas=areas, method=TARGETS_METHOD)


@router.get("/data")
def data_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.data))]
              ) -> Response:
    st = state(request)
    with st.db.reader() as con:
        dq = st.measures.quality(con)
    return render(request, "data.html.j2", p, quality=dq)


# ---------------------------------------------------------------------------------- people

@router.get("/people")
def people_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.people))]
                ) -> Response:
    st = state(request)
    with st.db.reader() as con:
        sections = people.sections(con, st.measures.config.suppress_below)
    return render(request, "people.html.j2", p, sections=sections)


# ------------------------------------------------------------------------------ governance

GovernanceReport = Callable[[duckdb.DuckDBPyConnection, User, str | None],
                            ActionsReport | ProjectsReport | None]


def _governance_page(request: Request, p: Principal, kind: str, make: GovernanceReport,
                     quarter: str | None) -> Response:
    """The action plan or the projects page: the quarter's report in the user's scope
    (cached), which they may update or manage until the quarter is locked."""
    st = state(request)
    user = p.user
    assert user is not None
    with st.db.reader() as con:
        report = st.measures.governance(con, lambda: make(con, user, quarter), kind,
                                        governance.scope(user), quarter)
    open_ = report is not None and report.lock is None
    return render(request, f"{kind}.html.j2", p, report=report, rows=_rows_by_id(report),
                  can_update=allowed(user, Perm.submit_update) and open_,
                  can_manage=allowed(user, Perm.manage_governance) and open_)


def _rows_by_id(report: ActionsReport | ProjectsReport | None
                ) -> dict[str, list[ProjectRowOut]] | dict[str, ActionRowOut]:
    """The rows `saferboard projects|actions` prints, by project (its KPI rows) or action:
    the page's read-only figures, RAG words and dates come from them, so they read as the
    CLI, API and pack do. The forms keep the report's stored values (a rounded figure
    saved back would change the stored actual)."""
    if isinstance(report, ProjectsReport):
        runs: dict[str, list[ProjectRowOut]] = {}
        for r in project_models(report):
            runs.setdefault(r.project_id, []).append(r)
        return runs
    return {} if report is None else {r.action_id: r for r in action_models(report)}


@router.get("/actions")
def actions_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.governance))],
                 quarter: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    return _governance_page(request, p, "actions", governance.actions, quarter)


@router.post("/actions/{action_id}/update")
def action_update(request: Request, action_id: str,
                  p: Annotated[Principal, Depends(Need(Perm.submit_update))],
                  quarter: Annotated[str, Form(max_length=12)],
                  plan: Annotated[str, Form(max_length=4000)] = "",
                  update: Annotated[str, Form(max_length=4000)] = "",
                  rag: Annotated[str, Form(max_length=1)] = "") -> Response:
    st = state(request)
    with st.db.connect() as con:
        governance.update_action(con, st.settings.clock(), p, action_id, quarter, plan,
                                 update, rag)
    return RedirectResponse(f"/actions?quarter={quote(quarter)}&saved={quote(action_id)}",
                            status_code=303)


@router.get("/projects")
def projects_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.governance))],
                  quarter: Annotated[str | None, Query(max_length=12)] = None) -> Response:
    return _governance_page(request, p, "projects", governance.projects, quarter)


@router.post("/projects/{project_id}/return")
async def project_return(request: Request, project_id: str,
                         p: Annotated[Principal, Depends(Need(Perm.submit_update))]
                         ) -> Response:
    st = state(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    quarter = form.get("quarter", "")

    def submit() -> None:
        with st.db.connect() as con:
            governance.submit_return(con, st.settings.clock(), p, project_id, quarter, form)

    await run_in_threadpool(submit)
    return RedirectResponse(f"/projects?quarter={quote(quarter)}&saved={quote(project_id)}",
                            status_code=303)


Manager = Annotated[Principal, Depends(Need(Perm.manage_governance))]
QuarterF = Annotated[str, Form(max_length=12)]


def _confirm(request: Request, p: Principal, kind: str, item_id: str, quarter: str,
             rag: str) -> Response:
    st = state(request)
    with st.db.connect() as con:
        governance.confirm(con, st.settings.clock(), p, kind, item_id, quarter, rag)
    return RedirectResponse(f"/{kind}s?quarter={quote(quarter)}&confirmed={quote(item_id)}"
                            f"#{kind}-{quote(item_id)}", status_code=303)


@router.post("/actions/{action_id}/confirm")
def action_confirm(request: Request, action_id: str, p: Manager, quarter: QuarterF,
                   rag: Annotated[str, Form(max_length=5)]) -> Response:
    """The partnership manager confirms the RAG of an action's update for a quarter."""
    return _confirm(request, p, "action", action_id, quarter, rag)


@router.post("/projects/{project_id}/confirm")
def project_confirm(request: Request, project_id: str, p: Manager, quarter: QuarterF,
                    rag: Annotated[str, Form(max_length=5)]) -> Response:
    """The partnership manager confirms the RAG of a project's return for a quarter."""
    return _confirm(request, p, "project", project_id, quarter, rag)


@router.post("/quarters/{quarter}/lock")
def quarter_lock(request: Request, quarter: str, p: Manager,
                 back: Annotated[str, Form(max_length=10)] = "actions") -> Response:
    """The partnership manager locks a quarter: nothing for it may change afterwards."""
    st = state(request)
    with st.db.connect() as con:
        governance.lock(con, st.settings.clock(), p, quarter)
    page = "/projects" if back == "projects" else "/actions"
    return RedirectResponse(f"{page}?quarter={quote(quarter)}&locked=1", status_code=303)


# ----------------------------------------------------------------------- admin and audit

@router.get("/admin/users")
def users_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.users))]
               ) -> Response:
    st = state(request)
    with st.db.connect() as con:
        users = auth.list_users(con)
    return render(request, "users.html.j2", p, users=users, roles=list(Role))


@router.post("/admin/users")
def users_add(request: Request, p: Annotated[Principal, Depends(Need(Perm.users))],
              username: Annotated[str, Form(max_length=64)],
              password: Annotated[str, Form(max_length=1024)],
              role: Annotated[str, Form(max_length=16)],
              agency: Annotated[str, Form(max_length=100)] = "",
              can_export: Annotated[bool, Form()] = False) -> Response:
    st = state(request)
    # Checked and hashed before taking the connection: argon2 must not hold up page reads.
    hashed = auth.hash_password(password, auth.check_username(username))
    with st.db.connect() as con:
        auth.add_user(con, username, hashed, role, agency=agency, can_export=can_export,
                      now=st.settings.clock(), actor=p.actor, actor_role=p.role,
                      client=p.client)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/disable")
def users_disable(request: Request, username: str,
                  p: Annotated[Principal, Depends(Need(Perm.users))]) -> Response:
    st = state(request)
    with st.db.connect() as con:
        auth.disable_user(con, username, now=st.settings.clock(), actor=p.actor,
                          actor_role=p.role, client=p.client)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/audit")
def audit_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.audit))],
               actor: Annotated[str | None, Query(max_length=64)] = None,
               action: Annotated[str | None, Query(max_length=64)] = None,
               page: Annotated[int, Query(ge=1, le=100000)] = 1) -> Response:
    st = state(request)
    with st.db.connect() as con:
        rows = audit.entries(con, limit=100, offset=100 * (page - 1), actor=actor,
                             action=action)
        broken = request.app.state.audit_chain.verify(con, st.db.opened)
    return render(request, "audit.html.j2", p, rows=[asdict(r) for r in rows], broken=broken,
                  page=page, actor=actor or "", action=action or "")


@router.get("/account")
def account(request: Request, p: SignedIn) -> Response:
    check(p.user, Perm.authenticated)
    return render(request, "home.html.j2", p)





@router.get("/records")
def records_page(request: Request, p: Annotated[Principal, Depends(Need(Perm.records))],
                 incident_type: Annotated[str, Query(alias="type", max_length=64)] =
                 "domestic abuse") -> Response:
    st = state(request)
    with st.db.connect() as con:
        rows = records.incident_rows(con, incident_type, limit=500)
        audit.record(con, at=st.settings.clock(), actor=p.actor, role=p.role,
                     action="records.view", obj=f"partner_incidents:{incident_type}",
                     client=p.client, after={"rows": len(rows)})
    return render(request, "records.html.j2", p, rows=rows, incident_type=incident_type)
