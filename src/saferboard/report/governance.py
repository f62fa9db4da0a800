"""Money and governance in the board pack and in tables: "Value for money" (cost-benefit by
partner, options appraisal), "Funded projects" and "Action plan". Row builders shared by the
CLI (table, JSON, XLSX), the pack and the pack's XLSX export; the projects' and actions'
rows come from saferboard.present.governance (the same rows as the CLI, the API and the web
CSV), and the pack's HTML tables lay out those rows, not the measures' reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from itertools import groupby
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from saferboard.core.audience import EVERYONE, Audience
from saferboard.core.quarters import quarter_of
from saferboard.core.reference import read_deflator
from saferboard.measures import actions as actions_mod
from saferboard.measures import appraisal as appraisal_mod
from saferboard.measures import cba as cba_mod
from saferboard.measures import governance as gov_mod
from saferboard.measures import projects as projects_mod
from saferboard.present.governance import action_models, project_models
from saferboard.sources.cba_model import load_unit_costs

R = TypeVar("R")


def money(value: float) -> str:
    """Pounds as the business case shows them: £49,440; costs in brackets: (£98,400)."""
    pounds = round(value)
    return f"(£{-pounds:,})" if pounds < 0 else f"£{pounds:,}"


# ---------------------------------------------------------------------------------------------
# Cost-benefit


def cba_partner_rows(lines: Sequence[cba_mod.PartnerLine]) -> list[dict[str, Any]]:
    return [{"partner": p.partner, "gross_saving": round(p.gross_saving, 2),
             "net_saving": round(p.net_saving, 2), "operating_cost": round(p.operating_cost, 2),
             "annual_impact": round(p.annual_impact, 2), "setup_cost": round(p.setup_cost, 2),
             "year1_impact": round(p.year1_impact, 2),
             "cashable_saving": round(p.cashable_saving, 2)} for p in lines]


def cba_table_rows(lines: Sequence[cba_mod.PartnerLine]) -> list[dict[str, str]]:
    """The seed's table layout, money formatted."""
    return [{"partner": p.partner, "gross saving": money(p.gross_saving),
             "operating cost": money(p.operating_cost), "annual impact": money(p.annual_impact),
             "set-up costs": money(p.setup_cost), "year 1 impact": money(p.year1_impact)}
            for p in lines]


def cba_summary(r: cba_mod.CbaResult) -> dict[str, Any]:
    return {"intervention": r.name, "price_year": r.price_year, "horizon_years": r.horizon,
            "pv_benefits": round(r.pv_benefits, 2),
            "pv_fiscal_benefits": round(r.pv_fiscal_benefits, 2),
            "pv_cashable_benefits": round(r.pv_cashable_benefits, 2),
            "pv_noncashable_benefits": round(r.pv_noncashable_benefits, 2),
            "pv_costs": round(r.pv_costs, 2), "fiscal_npv": round(r.fiscal_npv, 2),
            "public_value_npv": round(r.public_value_npv, 2),
            "bcr": None if r.bcr is None else round(r.bcr, 3),
            "roi": None if r.roi is None else round(r.roi, 3),
            "payback_year": r.payback_year,
            "additionality_factor": round(r.additionality_factor, 4)}


def cba_flow_rows(r: cba_mod.CbaResult) -> list[dict[str, Any]]:
    return [{"intervention": r.name, "year": f.year, "partner": f.partner,
             "benefit": round(f.benefit, 2), "operating_cost": round(f.operating_cost, 2),
             "setup_cost": round(f.setup_cost, 2), "net": round(f.net, 2),
             "discount_factor": round(f.discount_factor, 6),
             "present_value": round(f.present_value, 2)} for f in r.flows]


def sensitivity_rows(s: cba_mod.Sensitivity) -> list[dict[str, Any]]:
    return [{"intervention": s.name, "assumption": row.label, "key": row.key,
             "value": row.value, "low": round(row.low, 6), "high": round(row.high, 6),
             "npv_low": round(row.npv_low, 2), "npv_high": round(row.npv_high, 2),
             "switching_value": None if row.switching_value is None
             else round(row.switching_value, 6), "note": row.note} for row in s.rows]


def cba_document(models: Sequence[tuple[cba_mod.CbaModel, cba_mod.CbaResult]]
                 ) -> dict[str, Any]:
    """Everything `saferboard cba --format json` prints."""
    doc: dict[str, Any] = {"method": cba_mod.METHOD, "interventions": []}
    for m, r in models:
        doc["interventions"].append({
            "file": m.path, "source": m.source, "summary": cba_summary(r),
            "partners": cba_partner_rows((*r.partners, r.total)),
            "flows": cba_flow_rows(r),
            "sensitivity": sensitivity_rows(cba_mod.sensitivity(m))})
    if len(models) > 1:
        doc["combined"] = cba_partner_rows(cba_mod.combine([r for _, r in models]))
    return doc


def write_cba_xlsx(models: Sequence[tuple[cba_mod.CbaModel, cba_mod.CbaResult]],
                   path: Path) -> None:
    from openpyxl import Workbook

    from saferboard.report.workbook import add_sheet

    wb = Workbook()
    wb.remove(wb.active)
    if len(models) > 1:
        add_sheet(wb, "All", cba_partner_rows(cba_mod.combine([r for _, r in models])))
    add_sheet(wb, "Summary", [cba_summary(r) for _, r in models])
    for i, (m, r) in enumerate(models, start=1):
        add_sheet(wb, f"{i} {m.name}"[:31], cba_partner_rows((*r.partners, r.total)))
    add_sheet(wb, "Flows", [row for _, r in models for row in cba_flow_rows(r)])
    add_sheet(wb, "Sensitivity", [row for m, _ in models
                               for row in sensitivity_rows(cba_mod.sensitivity(m))])
    wb.save(path)


# ---------------------------------------------------------------------------------------------
# Options appraisal


def appraisal_rows(r: appraisal_mod.AppraisalResult) -> list[dict[str, Any]]:
    rows = []
    for o in r.ranked:
        row: dict[str, Any] = {"rank": o.rank, "option": o.name, "score": round(o.score, 3)}
        row.update({c.name: label for c, label in zip(r.criteria, o.labels, strict=True)})
        rows.append(row)
    return rows


def appraisal_change_rows(r: appraisal_mod.AppraisalResult) -> list[dict[str, Any]]:
    return [{"criterion": c.criterion, "weight_x": c.factor,
             "changes": "; ".join(f"{n} {b}->{a}" for n, b, a in c.moved) or "none",
             "first": c.ranking[0], "top_changes": c.top_changes} for c in r.changes]


# ---------------------------------------------------------------------------------------------
# Funded projects and action plan


def _runs(rows: list[R], key: Callable[[R], str]) -> list[list[R]]:
    """The rows in runs of the same key, in their order (a project's KPIs, a priority's
    actions)."""
    return [list(run) for _, run in groupby(rows, key=key)]


def _locked(report: projects_mod.ProjectsReport | actions_mod.ActionsReport) -> str | None:
    """Who locked the quarter and when (None: open)."""
    lock = report.lock
    return None if lock is None else f"{lock.locked_by} on {lock.locked_at:%Y-%m-%d}"


def governance_context(con: duckdb.DuckDBPyConnection, month: date,
                       audience: Audience = EVERYONE) -> tuple[dict[str, Any], list[str]]:
    """The pack's three sections (each None when its data is absent or the audience may not
    see it) and notes on what was skipped. Projects and actions are shown for the latest
    quarter with data up to the pack's month, only the audience's agency's when it has one;
    value for money (every partner's costs and savings) only to audiences that see every
    agency. The results come from measures.governance; this only lays them out."""
    if not audience.governance:
        return {"vfm": None, "projects": None, "actions": None}, []
    notes: list[str] = []
    everyone = audience.agency is None  # one agency's copy gets no partner's money
    results = gov_mod.governance_results(
        con, quarter_of(month), agency=audience.agency,
        unit_costs=load_unit_costs() if everyone else None,
        deflator=read_deflator() if everyone else None)
    # Value for money
    vfm: dict[str, Any] | None = None
    found = results.value_for_money
    if found is not None:
        for kind, name, reason in found.skipped:
            notes.append(f"Value for money: {kind} '{name}' not shown - {reason}.")
        interventions = []
        for c in found.cba:
            r = c.result
            interventions.append({"name": r.name, "source": c.model.source,
                                  "rows": cba_table_rows((*r.partners, r.total)),
                                  "summary": cba_summary(r), "raw": r,
                                  "money": {k: money(v) for k, v in (
                                      ("pv_benefits", r.pv_benefits), ("pv_costs", r.pv_costs),
                                      ("fiscal_npv", r.fiscal_npv))},
                                  "sensitivity": [
                                      {**x, "npv_low_money": money(x["npv_low"]),
                                       "npv_high_money": money(x["npv_high"])}
                                      for x in sensitivity_rows(c.sensitivity)[:5]]})
        appraisals = [{"name": a.name, "criteria": [c.name for c in a.criteria],
                       "rows": appraisal_rows(a),
                       "changes": [c for c in appraisal_change_rows(a) if c["changes"] != "none"],
                       "robust": a.robust, "raw": a} for a in found.appraisals]
        vfm = {"interventions": interventions,
               "combined": cba_table_rows(found.combined) if found.combined else [],
               "combined_raw": found.combined,
               "appraisals": appraisals, "method": cba_mod.METHOD,
               "appraisal_method": appraisal_mod.METHOD}
    elif everyone:
        notes.append("Value for money: no cost-benefit model or options appraisal saved "
                     "(saferboard cba MODEL --save; saferboard appraise FILE --save).")
    # Funded projects and the action plan: laid out from the row models the CLI, the API,
    # the CSV downloads and the XLSX print, so each value is formatted once.
    projects: dict[str, Any] | None = None
    if results.projects is not None:
        preport = results.projects
        pmodels = project_models(preport)
        projects = {"quarter": preport.quarter, "financial_year": preport.financial_year,
                    "locked": _locked(preport), "count": len(preport.projects),
                    "projects": _runs(pmodels, lambda r: r.project_id),
                    "rows": [r.model_dump(mode="json") for r in pmodels],
                    "method": projects_mod.METHOD}
    else:
        notes.append("Funded projects: no quarterly return up to this quarter "
                     "(saferboard ingest-returns FILE).")
    # Action plan
    actions: dict[str, Any] | None = None
    if results.actions is not None:
        areport = results.actions
        amodels = action_models(areport)
        actions = {"quarter": areport.quarter, "as_of": areport.as_of.isoformat(),
                   "locked": _locked(areport),
                   "priorities": _runs(amodels, lambda r: r.priority),
                   "rows": [r.model_dump(mode="json") for r in amodels],
                   "counts": dict(areport.counts), "method": actions_mod.METHOD}
    else:
        notes.append("Action plan: no action plan update up to this quarter "
                     "(saferboard ingest-actions FILE).")
    return {"vfm": vfm, "projects": projects, "actions": actions}, notes


def governance_sheets(governance: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(sheet title, rows) for the pack's XLSX export; only sections with data."""
    sheets: list[tuple[str, list[dict[str, Any]]]] = []
    vfm = governance.get("vfm")
    if vfm:
        rows = []
        for i in vfm["interventions"]:
            r = i["raw"]
            rows += [{"intervention": r.name, **row}
                     for row in cba_partner_rows((*r.partners, r.total))]
        if vfm["combined_raw"]:
            rows += [{"intervention": "All", **row}
                     for row in cba_partner_rows(vfm["combined_raw"])]
        sheets.append(("VfM cost-benefit", rows))
        sheets.append(("VfM summary", [i["summary"] for i in vfm["interventions"]]))
        if vfm["appraisals"]:
            sheets.append(("VfM appraisal", [{"appraisal": a["name"], **row}
                                             for a in vfm["appraisals"] for row in a["rows"]]))
    if governance.get("projects"):
        sheets.append(("Funded projects", governance["projects"]["rows"]))
    if governance.get("actions"):
        sheets.append(("Action plan", governance["actions"]["rows"]))
    return sheets
