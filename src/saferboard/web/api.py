"""The JSON API under /api/: the same measures as the pages, by the same permission check.
Errors have one shape: {"error": {"status": int, "message": str}}."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from saferboard.present.compare import ComparisonOut
from saferboard.present.dashboard import DashboardOut
from saferboard.present.governance import (
    ActionRowOut,
    ProjectRowOut,
    action_models,
    project_models,
)
from saferboard.present.quality import QualityOut
from saferboard.present.targets import TargetOut
from saferboard.present.trend import TrendOut
from saferboard.present.values import Suppressed
from saferboard.web import audit, auth, governance, people, records
from saferboard.web.deps import Need, Principal, state
from saferboard.web.permissions import Perm


class ErrorDetail(BaseModel):
    status: int
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d} for s, d in (
        (401, "Not signed in"), (403, "Not allowed for this role, or bad CSRF token"),
        (404, "No such item (or another agency's)"), (422, "Invalid parameter"),
        (503, "Database busy (an import is running)"))}

router = APIRouter(prefix="/api", tags=["measures"], responses=ERRORS)
AreaQ = Annotated[str | None, Query(max_length=64, description="Local authority "
                                    "(default: the partnership's area)")]
MonthQ = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                                     description="Reference month YYYY-MM (default: latest)")]
CategoryP = Annotated[str, Path(max_length=64, description="A dashboard category")]


class Me(BaseModel):
    username: str
    role: str
    agency: str | None
    can_export: bool
    permissions: list[str]


@router.get("/me", response_model=Me)
def me(p: Annotated[Principal, Depends(Need(Perm.authenticated))]) -> Me:
    from saferboard.web.permissions import allowed

    assert p.user is not None
    return Me(username=p.user.username, role=str(p.user.role), agency=p.user.agency,
              can_export=p.user.can_export,
              permissions=[q.value for q in Perm if allowed(p.user, q)])


@router.get("/areas", response_model=list[str])
def areas(request: Request, p: Annotated[Principal, Depends(Need(Perm.dashboards))]
          ) -> list[str]:
    st = state(request)
    with st.db.reader() as con:
        return st.measures.areas(con)


@router.get("/dashboard", response_model=DashboardOut)
def dashboard(request: Request, p: Annotated[Principal, Depends(Need(Perm.dashboards))],
              area: AreaQ = None, month: MonthQ = None,
              period: Annotated[str, Query(pattern="^(month|quarter|rolling12|fy)$")]
              = "quarter") -> DashboardOut:
    """The performance dashboard (as `saferboard dashboard --format json`) and the chosen
    period against a year earlier."""
    st = state(request)
    with st.db.reader() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        board = st.measures.dashboard(con, chosen, ref)
        selected = st.measures.periods(con, board, period)
    return DashboardOut.of(board, period, selected)


@router.get("/categories", response_model=list[str])
def categories(request: Request, p: Annotated[Principal, Depends(Need(Perm.dashboards))]
               ) -> list[str]:
    return list(state(request).measures.category_names())


@router.get("/categories/{category}/trend", response_model=TrendOut)
def trend(request: Request, category: CategoryP,
          p: Annotated[Principal, Depends(Need(Perm.dashboards))], area: AreaQ = None,
          month: MonthQ = None) -> TrendOut:
    """36 months with last year's line, control limits and exception flags (the points are
    the rows of the trend CSV download)."""
    st = state(request)
    with st.db.reader() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        t = st.measures.trend(con, chosen, st.measures.check_category(category), ref)
    return TrendOut.of(t)


@router.get("/categories/{category}/peers", response_model=ComparisonOut)
def peers(request: Request, category: CategoryP,
          p: Annotated[Principal, Depends(Need(Perm.dashboards))], area: AreaQ = None,
          month: MonthQ = None, group: Annotated[str | None, Query(max_length=64)] = None
          ) -> ComparisonOut:
    """Peer comparison: rates with exact 95% intervals and funnel limits (the rows of
    `saferboard compare --format json`; a member without a rate says why)."""
    st = state(request)
    with st.db.reader() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        c = st.measures.peers(con, chosen, st.measures.check_category(category), ref, group)
    return ComparisonOut.of(c, chosen)


@router.get("/categories/{category}/hotspots",
            responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}})
def hotspots(request: Request, category: CategoryP,
             p: Annotated[Principal, Depends(Need(Perm.dashboards))], area: AreaQ = None,
             month: MonthQ = None) -> Response:
    """Gi* hotspot cells (GeoJSON, WGS84) of police.uk street crimes, 12 months to month."""
    st = state(request)
    with st.db.reader() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        body = st.measures.hotspot_json(con, chosen, st.measures.check_category(category),
                                        ref)
    return Response(body, media_type="application/json")


class TargetsOut(BaseModel):
    area: str
    month: str
    notes: list[str]  # targets not assessed, and why
    targets: list[TargetOut]  # the rows of `saferboard targets --format json`


@router.get("/targets", response_model=TargetsOut)
def targets(request: Request, p: Annotated[Principal, Depends(Need(Perm.dashboards))],
            area: AreaQ = None, month: MonthQ = None) -> TargetsOut:
    st = state(request)
    with st.db.reader() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        rows, notes = st.measures.targets(con, chosen, ref)
    return TargetsOut(area=chosen, month=f"{ref:%Y-%m}", notes=notes,
                      targets=[TargetOut.of(s) for s in rows])


@router.get("/quality", response_model=list[QualityOut])
def quality(request: Request, p: Annotated[Principal, Depends(Need(Perm.data))]
            ) -> list[QualityOut]:
    """The objects of `saferboard quality --format json`."""
    st = state(request)
    with st.db.reader() as con:
        dq = st.measures.quality(con)
    return [QualityOut.of(q) for q in dq]


@router.get("/people")
def people_api(request: Request, p: Annotated[Principal, Depends(Need(Perm.people))]
               ) -> list[dict[str, Any]]:
    """Repeat victimisation, MARAC and cohort aggregates: null = suppressed, or (where the
    row has a `suppressed` column that is false) not computable."""
    st = state(request)
    with st.db.reader() as con:
        sections = people.sections(con, st.measures.config.suppress_below)
    return [{"key": s.key, "title": s.title, "notes": list(s.notes), "tables": [
        {"title": t.title, "columns": list(t.columns),
         "rows": [[None if isinstance(v, Suppressed) else v for v in r] for r in t.rows]}
        for t in s.tables]} for s in sections]


@router.get("/actions", response_model=list[ActionRowOut])
def actions(request: Request, p: Annotated[Principal, Depends(Need(Perm.governance))],
            quarter: Annotated[str | None, Query(max_length=12)] = None
            ) -> list[ActionRowOut]:
    """The action plan: the rows of `saferboard actions --format json` (partner officers:
    their agency's actions only, as `--agency`). Flags are as of the quarter's end."""
    st = state(request)
    assert p.user is not None
    with st.db.reader() as con:
        report = governance.actions(con, p.user, quarter)
    return action_models(report)


@router.get("/projects", response_model=list[ProjectRowOut])
def projects(request: Request, p: Annotated[Principal, Depends(Need(Perm.governance))],
             quarter: Annotated[str | None, Query(max_length=12)] = None
             ) -> list[ProjectRowOut]:
    """Funded projects: the rows of `saferboard projects --format json`, one per project and
    KPI (partner officers: their agency's only, as `--agency`); no returns yet: []."""
    st = state(request)
    assert p.user is not None
    with st.db.reader() as con:
        report = governance.projects(con, p.user, quarter)
    return [] if report is None else project_models(report)


@router.get("/records/incidents")
def incidents(request: Request,
              p: Annotated[Principal, Depends(Need(Perm.records, Perm.export))],
              incident_type: Annotated[str, Query(alias="type", max_length=64)] =
              "domestic abuse",
              limit: Annotated[int, Query(ge=1, le=records.MAX_ROWS)] = 100
              ) -> list[dict[str, Any]]:
    """Pseudonymised partner incidents (record level, in bulk: needs the export right, as
    the CSV download does; every call is audited)."""
    st = state(request)
    with st.db.connect() as con:
        rows = records.incident_rows(con, incident_type, limit=limit)
        audit.record(con, at=st.settings.clock(), actor=p.actor, role=p.role,
                     action="records.view", obj=f"partner_incidents:{incident_type}",
                     client=p.client, after={"rows": len(rows)})
    return rows


@router.get("/audit")
def audit_log(request: Request, p: Annotated[Principal, Depends(Need(Perm.audit))],
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict[str, Any]:
    """The audit log, newest first, and whether its hash chain is intact."""
    st = state(request)
    with st.db.connect() as con:
        rows = audit.entries(con, limit=limit, offset=offset)
        broken = request.app.state.audit_chain.verify(con, st.db.opened)
    return {"chain_intact": broken is None, "first_broken": broken,
            "entries": [{**asdict(e), "at": e.at.isoformat() + "Z"} for e in rows]}


@router.get("/users")
def users(request: Request, p: Annotated[Principal, Depends(Need(Perm.users))]
          ) -> list[dict[str, Any]]:
    st = state(request)
    with st.db.connect() as con:
        return [{**asdict(u), "role": str(u.role)} for u in auth.list_users(con)]
