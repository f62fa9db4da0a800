"""The pack's tables as an Excel workbook, because partners live in Excel: one sheet per table
of the pack (dashboard, peer comparisons, targets, places, victims and offenders, cost of crime,
and the rest), numbers as numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook

from saferboard.present import dashboard_csv
from saferboard.report.governance import governance_sheets
from saferboard.report.workbook import add_sheet


def _people_sheets(wb: Workbook, context: dict[str, Any]) -> None:
    """Victims and offenders and cost of crime tables, as published (suppressed)."""
    people = context.get("people") or {}
    rows: list[dict[str, Any]] = []
    for name in ("domestic_abuse",):
        if people.get(name):
            rows += [{"table": "summary", **r} for r in people[name]["summary"]]
            rows += [{"table": "by month", **r} for r in people[name]["series"]]
    for name in ("asb_callers", "burglary"):
        if people.get(name):
            rows += [{"table": people[name]["title"], **r} for r in people[name]["rows"]]
    if rows:
        add_sheet(wb, "Repeat victimisation", rows)
    if people.get("marac"):
        m = people["marac"]
        add_sheet(wb, "MARAC", [{"table": t, **r} for t in ("summary", "quarters", "sources",
                                                          "profile") for r in m[t]])
    if context.get("cohort"):
        c = context["cohort"]
        add_sheet(wb, "Offender cohort", [*({"table": "rates", **r} for r in c.rows),
                                       *({"table": "predicted for 12 months", **r}
                                         for r in c.projection)])
    if context.get("costs"):
        add_sheet(wb, "Cost of crime", list(context["costs"].rows))


def write_xlsx(context: dict[str, Any], path: Path) -> None:
    board = context["board"]
    wb = Workbook()
    wb.remove(wb.active)
    add_sheet(wb, "Dashboard", dashboard_csv(board))
    peers = []
    for p in context["pages"]:
        if p["peer"] is None:
            continue
        c = p["peer"]
        peers += [{"category": c.category, "group": c.group, "month": f"{c.month:%Y-%m}",
                   "rank": r.rank, "area": r.area, "count": r.count,
                   "denominator": r.denominator, "rate_base": c.rate_base,
                   "rate_per_1000": r.rate, "ci95_lower": r.lower, "ci95_upper": r.upper,
                   "pooled_rate": c.pooled_rate, "expected": r.expected,
                   "p_value": r.p_value, "vs_peer_average": r.verdict} for r in c.rows]
    add_sheet(wb, "Peer comparison", peers)
    add_sheet(wb, "Targets", [
        {"target": t["status"].target.name, "area": t["status"].area,
         "category": t["status"].target.category,
         "start": f"{t['status'].target.start:%Y-%m}", "end": f"{t['status'].target.end:%Y-%m}",
         "baseline": t["status"].target.baseline, "target_value": t["status"].target_value,
         "on_trajectory_now": t["status"].expected_now, "actual_rolling12": t["status"].actual,
         "projected_end": t["status"].projected_end, "status": t["status"].status}
        for t in context["targets"]])
    add_sheet(wb, "Places (LSOA rates)", [
        {"category": g.category, "from": f"{g.start:%Y-%m}", "to": f"{g.end:%Y-%m}",
         "rank": a.rank, "lsoa": a.code, "name": a.name, "count": a.count,
         "population": a.population, "rate_per_1000": a.rate, "ci95_lower": a.lower,
         "ci95_upper": a.upper, "p_adjusted": a.p_adjusted, "versus_area": a.versus_area}
        for g in (pl["page"] for pl in context["places"]) for a in g.top])
    _people_sheets(wb, context)
    for title, rows in governance_sheets(context.get("governance") or {}):
        add_sheet(wb, title, rows)
    add_sheet(wb, "Glossary", [{"term": k, "definition": v}
                            for k, v in context["glossary"].items()])
    wb.save(path)
