"""Funded projects and the action plan are formatted once (saferboard.present.governance):
the CLI's CSV, the web's CSV download and the pack's XLSX sheets have the same columns and,
for the same quarter and reader, the same rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from saferboard import store
from saferboard.cli.common import app
from saferboard.present.governance import ActionRowOut, ProjectRowOut
from tests.web.conftest import Web, base_db, make_web  # noqa: F401  (fixtures)


def cli_csv(*args: str | Path) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_cli_and_web_csv_print_the_same_project_and_action_rows(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    web = make_web()
    c = web.login("analyst")  # every agency, as the CLI
    for table, model in (("projects", ProjectRowOut), ("actions", ActionRowOut)):
        cli = cli_csv(table, "--db", base_db, "--format", "csv")
        download = c.get(f"/downloads/csv/{table}")
        assert download.status_code == 200
        assert next(csv.reader(io.StringIO(cli))) == list(model.model_fields)
        assert download.text == cli, table
    projects = list(csv.DictReader(io.StringIO(cli_csv("projects", "--db", base_db,
                                                        "--format", "csv"))))
    # A project without KPIs in the quarter keeps its row (the old download dropped it).
    con = store.connect(base_db, read_only=True)
    try:
        from saferboard.core.quarters import parse_quarter
        from saferboard.measures.projects import latest_return_quarter, projects_report

        quarter = latest_return_quarter(con)
        assert quarter is not None
        report = projects_report(con, parse_quarter(quarter))
    finally:
        con.close()
    assert len(projects) == sum(max(1, len(p.kpis)) for p in report.projects)
    assert {r["project_id"] for r in projects} == {p.project_id for p in report.projects}


def test_pack_xlsx_sheets_have_the_same_columns(base_db: Path) -> None:  # noqa: F811
    from saferboard.report.governance import governance_context, governance_sheets

    con = store.connect(base_db, read_only=True)
    try:
        context, _ = governance_context(con, date(2017, 3, 1))
    finally:
        con.close()
    sheets = dict(governance_sheets(context))
    assert sheets["Funded projects"] and sheets["Action plan"]
    assert list(sheets["Funded projects"][0]) == list(ProjectRowOut.model_fields)
    assert list(sheets["Action plan"][0]) == list(ActionRowOut.model_fields)
