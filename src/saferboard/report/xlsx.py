"""The pack's tables as an Excel workbook, because partners live in Excel: one sheet each for
the dashboard, the peer comparisons, the targets and the glossary, numbers as numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from saferboard.present import dashboard_csv


def _sheet(wb: Workbook, title: str, rows: list[dict[str, Any]]) -> None:
    ws = wb.create_sheet(title)
    if not rows:
        ws.append(["(no rows)"])
        return
    header = list(rows[0])
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([r[h] for h in header])
    ws.freeze_panes = "B2"
    for i, h in enumerate(header, start=1):
        width = max(len(str(h)), *(len(str(r[h])) for r in rows if r[h] is not None))
        ws.column_dimensions[get_column_letter(i)].width = min(60, max(8, width + 2))


def write_xlsx(context: dict[str, Any], path: Path) -> None:
    board = context["board"]
    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Dashboard", dashboard_csv(board))
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
    _sheet(wb, "Peer comparison", peers)
    _sheet(wb, "Targets", [
        {"target": t["status"].target.name, "area": t["status"].area,
         "category": t["status"].target.category,
         "start": f"{t['status'].target.start:%Y-%m}", "end": f"{t['status'].target.end:%Y-%m}",
         "baseline": t["status"].target.baseline, "target_value": t["status"].target_value,
         "on_trajectory_now": t["status"].expected_now, "actual_rolling12": t["status"].actual,
         "projected_end": t["status"].projected_end, "status": t["status"].status}
        for t in context["targets"]])
    _sheet(wb, "Places (LSOA rates)", [
        {"category": g.category, "from": f"{g.start:%Y-%m}", "to": f"{g.end:%Y-%m}",
         "rank": a.rank, "lsoa": a.code, "name": a.name, "count": a.count,
         "population": a.population, "rate_per_1000": a.rate, "ci95_lower": a.lower,
         "ci95_upper": a.upper, "p_adjusted": a.p_adjusted, "versus_area": a.versus_area}
        for g in (pl["page"] for pl in context["places"]) for a in g.top])
    _sheet(wb, "Glossary", [{"term": k, "definition": v}
                            for k, v in context["glossary"].items()])
    wb.save(path)
