"""Money and governance commands: cba, appraise, ingest-returns, projects, ingest-actions,
actions."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saferboard import store
from saferboard.cli.common import (
    DbOption,
    Format,
    FormatOption,
    app,
    emit,
    err,
    out,
    parse_day,
)
from saferboard.core.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from saferboard.measures.cba import CbaResult
    from saferboard.sources.cba_model import CbaModel
    from saferboard.store.locks import QuarterLock


class TableFormat(StrEnum):
    table = "table"
    json = "json"
    xlsx = "xlsx"


def _quarter(value: str | None, option: str) -> Any:
    from saferboard.core.quarters import parse_quarter

    if value is None:
        return None
    try:
        return parse_quarter(value)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint=option) from None


def _plain_number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _print_saved(saved: tuple[tuple[str, str], ...]) -> None:
    for name, state in saved:
        err.print(f"saved {name!r} for the board pack ({state})", markup=False)


def run_cba(paths: Sequence[Path]) -> list[tuple[CbaModel, CbaResult]]:
    """Each model file read (with the shipped unit costs and deflator) and appraised."""
    from saferboard.core.reference import read_deflator
    from saferboard.measures.cba import appraise_cba
    from saferboard.sources.cba_model import load_model, load_unit_costs

    units = load_unit_costs()
    deflator = read_deflator()
    return [(m, appraise_cba(m)) for m in (load_model(p, units, deflator) for p in paths)]

@app.command("cba")
def cba_cmd(
    models: Annotated[list[Path], typer.Argument(help="Cost-benefit model files (TOML)")],
    fmt: Annotated[TableFormat, typer.Option("--format", help="Output format")] =
    TableFormat.table,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write here (required for xlsx; json and table go to stdout)")] = None,
    save: Annotated[bool, typer.Option(
        "--save", help="Also save the models in the store for the board pack")] = False,
    db: DbOption = None,
) -> None:
    """Cost-benefit by partner (HM Treasury Green Book / New Economy method): gross saving,
    operating cost, annual impact, set-up costs and year-1 impact per partner; present values
    at 3.5% (3.0% after year 30), fiscal NPV, BCR, ROI, payback year; one-way sensitivity and
    switching values. Several models: also their partner lines added up ("All")."""
    from saferboard.measures.cba import combine, sensitivity
    from saferboard.report import governance as gov

    results = run_cba(models)
    if save:
        from saferboard.sources.governance import save_models

        con = store.connect(db)
        try:
            _print_saved(save_models(con, "cba", models))
        finally:
            con.close()
    if fmt is TableFormat.xlsx:
        if out_file is None:
            raise InputError("--format xlsx needs --out FILE.xlsx", column="--out")
        gov.write_cba_xlsx(results, out_file)
        out.print(f"Wrote {out_file}")
        return
    if fmt is TableFormat.json:
        text = json.dumps(gov.cba_document(results), indent=2) + "\n"
        if out_file:
            out_file.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    for m, r in results:
        emit(gov.cba_table_rows((*r.partners, r.total)), Format.table,
             title=f"{r.name} ({r.price_year} prices)")
        s = gov.cba_summary(r)
        bcr = "-" if s["bcr"] is None else f"{s['bcr']:.2f}"
        roi = "-" if s["roi"] is None else f"{s['roi'] * 100:.0f}%"
        out.print(f"Over {r.horizon} years: PV benefits {gov.money(r.pv_benefits)} (fiscal "
                  f"{gov.money(r.pv_fiscal_benefits)}, cashable "
                  f"{gov.money(r.pv_cashable_benefits)}), PV costs {gov.money(r.pv_costs)}, "
                  f"fiscal NPV {gov.money(r.fiscal_npv)}, BCR {bcr}, ROI {roi}, payback "
                  + ("year " + str(r.payback_year) if r.payback_year is not None
                     else "not within the horizon"), markup=False, highlight=False)
        rows = [{"assumption": x["assumption"], "value": _plain_number(x["value"]),
                 "NPV low": gov.money(x["npv_low"]), "NPV high": gov.money(x["npv_high"]),
                 "switching value": "-" if x["switching_value"] is None
                 else _plain_number(x["switching_value"]), "note": x["note"]}
                for x in gov.sensitivity_rows(sensitivity(m))[:8]]
        emit(rows, Format.table, title="Sensitivity of the fiscal NPV (largest swing first)")
    if len(results) > 1:
        emit(gov.cba_table_rows(combine([r for _, r in results])), Format.table,
             title="All interventions")


@app.command("appraise")
def appraise_cmd(
    file: Annotated[Path, typer.Argument(help="Options appraisal file (TOML)")],
    fmt: FormatOption = Format.table,
    save: Annotated[bool, typer.Option(
        "--save", help="Also save the appraisal in the store for the board pack")] = False,
    db: DbOption = None,
) -> None:
    """Rank the choices of an appraisal (H/M/L or numeric scores against weighted criteria)
    and show how the ranking changes when each weight moves by -50% and +50%."""
    from saferboard.measures.appraisal import appraise
    from saferboard.report import governance as gov
    from saferboard.sources.appraisal_model import load_appraisal

    result = appraise(load_appraisal(file))
    if save:
        from saferboard.sources.governance import save_models

        con = store.connect(db)
        try:
            _print_saved(save_models(con, "appraisal", [file]))
        finally:
            con.close()
    if fmt is Format.json:
        doc = {"name": result.name, "method": result.method, "robust": result.robust,
               "ranked": [{"rank": o.rank, "name": o.name, "score": o.score,
                           "scores": dict(zip([c.name for c in result.criteria], o.labels,
                                              strict=True))} for o in result.ranked],
               "weight_changes": gov.appraisal_change_rows(result)}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    rows = [{"rank": r["rank"], "option": r["option"], "score": f"{r['score']:.2f}"}
            for r in gov.appraisal_rows(result)]
    if fmt is Format.csv:
        emit(gov.appraisal_rows(result), fmt)
        return
    emit(rows, Format.table, title=result.name)
    emit(gov.appraisal_change_rows(result), Format.table,
         title="Ranking with each criterion's weight x0.5 and x1.5")
    out.print("The ranking does not change under any of these weights." if result.robust
              else "The ranking changes where 'changes' is not 'none'.")


def _print_imports(reports: tuple[Any, ...], what: str, kind: str) -> None:
    for r in reports:
        out.print(f"{r.path}: {r.rows} rows, {r.details} {what}; {kind}: {len(r.new)} new, "
                  f"{len(r.replaced)} replaced, {len(r.unchanged)} unchanged", markup=False,
                  highlight=False)
        for key in r.replaced:
            out.print(f"  replaced the earlier return/update for {key}", markup=False,
                      highlight=False)


@app.command("ingest-returns")
def ingest_returns_cmd(
    files: Annotated[list[Path], typer.Argument(help="Quarterly return files (CSV or XLSX)")],
    db: DbOption = None,
) -> None:
    """Import funded-project quarterly returns (template: examples/projects/templates). All
    files are checked first and written in one transaction; a return for a project and
    quarter replaces the earlier one and the summary says so."""
    from saferboard.sources.governance import ingest_returns

    con = store.connect(db)
    try:
        _print_imports(ingest_returns(con, files), "projects", "quarterly returns")
    finally:
        con.close()


@app.command("ingest-actions")
def ingest_actions_cmd(
    files: Annotated[list[Path], typer.Argument(help="Action plan files (CSV or XLSX)")],
    db: DbOption = None,
) -> None:
    """Import action plan rows (template: examples/actions/templates). All files are checked
    first and written in one transaction; an update for an action and quarter replaces the
    earlier one and the summary says so."""
    from saferboard.sources.governance import ingest_actions

    con = store.connect(db)
    try:
        _print_imports(ingest_actions(con, files), "actions", "quarterly updates")
    finally:
        con.close()


def _locked(lock: QuarterLock | None) -> str:
    return "" if lock is None else (f" - LOCKED by {lock.locked_by} on "
                                    f"{lock.locked_at:%Y-%m-%d}")


@app.command("projects")
def projects_cmd(
    quarter: Annotated[str | None, typer.Option(
        "--quarter", help="Financial-year quarter, e.g. 2016-Q4 (= 2016/17 Q4, Jan-Mar 2017); "
        "default: the latest with a return")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's")] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Funded projects for a quarter: budget, spend to date, each KPI against its target with
    a RAG, and the project RAG (rules: docs/governance.md)."""
    from saferboard.measures.projects import latest_return_quarter, projects_report
    from saferboard.present.governance import project_rows

    q = _quarter(quarter, "--quarter")
    con = store.connect(db, read_only=True)
    try:
        if q is None:
            latest = latest_return_quarter(con)
            if latest is None:
                raise InputError("no quarterly returns in the store; import some with "
                                 "'saferboard ingest-returns FILE'")
            q = _quarter(latest, "--quarter")
        report = projects_report(con, q, agency)
    finally:
        con.close()
    rows = project_rows(report)
    if fmt is Format.table:
        keep = ("project", "project_rag", "confirmed_rag", "kpi", "target", "expected",
                "actual", "kpi_rag", "basis", "spend_to_date", "budget")
        rows = [{k: r[k] for k in keep} for r in rows]
    emit(rows, fmt, title=f"Funded projects, {report.quarter} ({report.financial_year})"
         f"{_locked(report.lock)}; RAG rules: docs/governance.md")


@app.command("actions")
def actions_cmd(
    quarter: Annotated[str | None, typer.Option(
        "--quarter", help="Financial-year quarter, e.g. 2012-Q4; default: the quarter of "
        "--as-of, else the latest with updates")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Date for the overdue flag, YYYY-MM-DD (default: quarter end)")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's")] = None,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The action plan by priority: what we said we would do, lead, due date, the quarter's
    plan, update and RAG, with overdue and missing-update flags."""
    from saferboard.measures.actions import actions_report
    from saferboard.present.governance import action_rows

    con = store.connect(db, read_only=True)
    try:
        report = actions_report(con, _quarter(quarter, "--quarter"), parse_day(as_of, "--as-of"),
                                agency)
    finally:
        con.close()
    rows = action_rows(report)
    if fmt is Format.table:
        rows = [{k: (v[:60] + "..." if isinstance(v, str) and len(v) > 63 else v)
                 for k, v in r.items() if k not in ("quarter", "quarter_locked")}
                for r in rows]
    emit(rows, fmt, title=f"Action plan, {report.quarter}{_locked(report.lock)}, as of "
         f"{report.as_of}")
    if fmt is Format.table:
        counts = dict(report.counts)
        out.print(", ".join(f"{k}: {v}" for k, v in counts.items()), markup=False)
