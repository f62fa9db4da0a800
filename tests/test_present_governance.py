"""Funded projects and the action plan are formatted once (saferboard.present.governance):
the CLI's CSV, the web's CSV download and the pack's XLSX sheets have the same columns and,
for the same quarter and reader, the same rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

from saferboard import store
from saferboard.present.governance import ActionRowOut, ProjectRowOut
from tests.conftest import cli_ok
from tests.web.conftest import Web, make_web  # noqa: F401  (fixture)


def test_cli_and_web_csv_print_the_same_project_and_action_rows(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    web = make_web()
    c = web.login("analyst")  # every agency, as the CLI
    for table, model in (("projects", ProjectRowOut), ("actions", ActionRowOut)):
        cli = cli_ok(table, "--db", base_db, "--format", "csv")
        download = c.get(f"/downloads/csv/{table}")
        assert download.status_code == 200
        assert next(csv.reader(io.StringIO(cli))) == list(model.model_fields)
        assert download.text == cli, table
    projects = list(csv.DictReader(io.StringIO(cli_ok("projects", "--db", base_db,
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


def test_pack_xlsx_sheets_have_the_same_columns(base_db: Path) -> None:
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


def test_api_projects_and_actions_are_the_cli_json_rows(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    """`/api/projects|actions` print the CLI's JSON rows, key for key and value for value,
    for the same quarter and scope (the old API returned the measure's nested dataclasses
    under other names: name, rag, kpis[], priorities[].actions[])."""
    import json

    web = make_web()
    analyst = web.login("analyst")
    partners = {"Police": web.login("police"), "Barnet Council": web.login("council")}
    for table, quarter, model in (("projects", "2016-Q4", ProjectRowOut),
                                  ("actions", "2012-Q4", ActionRowOut)):
        for query, extra in (({}, ()), ({"quarter": quarter}, ("--quarter", quarter))):
            every = json.loads(cli_ok(table, "--db", base_db, "--format", "json", *extra))
            api = analyst.get(f"/api/{table}", params=query).json()
            assert every and api == every, (table, query)
            assert list(api[0]) == list(model.model_fields)
            # A partner officer sees their agency's rows: the CLI's --agency.
            seen = {}
            for agency, client in partners.items():
                mine = json.loads(cli_ok(table, "--db", base_db, "--format", "json",
                                         "--agency", agency, *extra))
                assert client.get(f"/api/{table}", params=query).json() == mine
                assert {r["agency"] for r in mine} <= {agency}
                seen[agency] = len(mine)
            # Every project is the council's; the plan has actions of several agencies.
            if table == "projects":
                assert seen == {"Police": 0, "Barnet Council": len(every)}
            else:
                assert all(0 < n < len(every) for n in seen.values()), seen
