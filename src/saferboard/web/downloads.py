"""Downloads (a separate right: Perm.export on top of the right to see the data): the board
pack (HTML, PDF, XLSX), a CSV of every table and the GeoJSON of every map. Exports of
record-level data are audited."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from saferboard.core.errors import InputError
from saferboard.core.text import csv_text
from saferboard.present.compare import peer_rows
from saferboard.present.dashboard import dashboard_csv, period_csv
from saferboard.present.governance import action_rows, project_rows
from saferboard.present.quality import QualityOut
from saferboard.present.trend import TrendOut
from saferboard.web import audit, governance, people, records
from saferboard.web.deps import Need, Principal, state
from saferboard.web.permissions import Perm, audience, check
from saferboard.web.rendering import render

router = APIRouter(include_in_schema=False)
Exporter = Annotated[Principal, Depends(Need(Perm.export))]
AreaQ = Annotated[str | None, Query(max_length=64)]
MonthQ = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
CategoryQ = Annotated[str | None, Query(max_length=64)]

# What each CSV shows, and the permission needed to see it.
TABLES: dict[str, tuple[str, Perm]] = {
    "dashboard": ("Overview dashboard (every figure, RAG and factors)", Perm.dashboards),
    "period": ("Selected period against a year earlier", Perm.dashboards),
    "trend": ("A category's 36-month trend with control limits", Perm.dashboards),
    "peers": ("A category's peer comparison with 95% intervals", Perm.dashboards),
    "targets": ("Targets: trajectory and actual", Perm.dashboards),
    "hotspots": ("A category's hotspot grid cells", Perm.dashboards),
    "quality": ("Data-quality report", Perm.data),
    "people": ("People tables (suppressed aggregates)", Perm.people),
    "projects": ("Funded projects and KPIs", Perm.governance),
    "actions": ("Action plan", Perm.governance),
    "records": ("Pseudonymised partner incidents (record level)", Perm.records),
}
PACK_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _attachment(body: str | bytes, name: str, media_type: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/downloads")
def downloads_page(request: Request, p: Exporter, area: AreaQ = None, month: MonthQ = None
                   ) -> Response:
    st = state(request)
    with st.db.connect() as con:
        chosen, ref = st.measures.resolve(con, area, month)
    tables = {k: v[0] for k, v in TABLES.items() if check_ok(p, v[1])}
    return render(request, "downloads.html.j2", p, tables=tables, area=chosen,
                  month=f"{ref:%Y-%m}", categories=st.measures.category_names(),
                  packs=check_ok(p, Perm.dashboards))


def check_ok(p: Principal, perm: Perm) -> bool:
    from saferboard.web.permissions import allowed

    return allowed(p.user, perm)


@router.get("/downloads/pack.{kind}")
def pack(request: Request, kind: str, p: Exporter, area: AreaQ = None, month: MonthQ = None
         ) -> Response:
    check(p.user, Perm.dashboards)
    if kind not in PACK_TYPES:
        raise InputError(f"pack format should be one of {', '.join(PACK_TYPES)}, got {kind!r}",
                         column="kind")
    st = state(request)
    with st.db.connect() as con:
        chosen, ref = st.measures.resolve(con, area, month)
    assert p.user is not None  # Exporter: signed in
    # Built in a worker process from a snapshot (slow the first time; nobody waits for it).
    body = st.measures.pack(chosen, ref, audience(p.user), kind)
    return _attachment(body, f"pack-{chosen}-{ref:%Y-%m}.{kind}", PACK_TYPES[kind])


@router.get("/downloads/csv/{table}")
def table_csv(request: Request, table: str, p: Exporter, area: AreaQ = None,
              month: MonthQ = None, category: CategoryQ = None,
              period: Annotated[str, Query(max_length=12)] = "quarter") -> Response:
    if table not in TABLES:
        raise InputError(f"table should be one of {', '.join(TABLES)}, got {table!r}",
                         column="table")
    check(p.user, TABLES[table][1])
    st = state(request)
    ms = st.measures
    with st.db.connect() as con:
        if table == "records":
            rows = records.incident_rows(con, category or "domestic abuse")
            audit.record(con, at=st.settings.clock(), actor=p.actor, role=p.role,
                         action="records.export", obj=f"partner_incidents:{category or ''}",
                         client=p.client, after={"rows": len(rows)})
        elif table in ("quality", "people", "projects", "actions"):
            rows = _other_rows(con, st, p, table)
        else:
            chosen, ref = ms.resolve(con, area, month)
            rows = _measure_rows(con, st, table, chosen, ref, category, period)
    return _attachment(csv_text(rows), f"{table}.csv", "text/csv; charset=utf-8")


def _measure_rows(con: Any, st: Any, table: str, area: str, ref: Any, category: str | None,
                  period: str) -> list[dict[str, Any]]:
    ms = st.measures
    if table == "dashboard":
        return dashboard_csv(ms.dashboard(con, area, ref))
    if table == "period":
        board = ms.dashboard(con, area, ref)
        return period_csv(period, ms.periods(con, board, period))
    if table == "targets":
        statuses, _ = ms.targets(con, area, ref)
        return [{"target": s.target.name, "category": s.target.category,
                 "month": f"{pt.month:%Y-%m}", "trajectory": pt.expected, "actual": pt.actual}
                for s in statuses for pt in s.points]
    name = ms.check_category(category or "")
    if table == "trend":
        return TrendOut.of(ms.trend(con, area, name, ref)).rows()  # the API's points
    if table == "peers":
        return peer_rows(ms.peers(con, area, name, ref), area)  # as `compare --format csv`
    m = ms.hotspot_map(con, area, name, ref)
    return [f["properties"] for f in m["cells"]["features"]]


def _other_rows(con: Any, st: Any, p: Principal, table: str) -> list[dict[str, Any]]:
    if table == "quality":  # as `saferboard quality --format csv`
        return [QualityOut.of(q).cells() for q in st.measures.quality(con)]
    if table == "people":
        out = []
        for s in people.sections(con, st.measures.config.suppress_below):
            for t in s.tables:
                out += [{"section": s.title, "table": t.title,
                         **dict(zip(t.columns, row, strict=True))} for row in t.rows]
        return out
    assert p.user is not None
    # The rows `saferboard projects|actions --format csv` prints (present.governance).
    if table == "projects":
        report = governance.projects(con, p.user, None)
        return [] if report is None else project_rows(report)
    return action_rows(governance.actions(con, p.user, None))


@router.get("/downloads/geojson/hotspots")
def hotspots_geojson(request: Request, p: Exporter, area: AreaQ = None, month: MonthQ = None,
                     category: CategoryQ = None) -> Response:
    check(p.user, Perm.dashboards)
    st = state(request)
    with st.db.connect() as con:
        chosen, ref = st.measures.resolve(con, area, month)
        name = st.measures.check_category(category or "")
        m = st.measures.hotspot_map(con, chosen, name, ref)
    return _attachment(json.dumps(m["cells"]), f"hotspots-{name}.geojson",
                       "application/geo+json")
