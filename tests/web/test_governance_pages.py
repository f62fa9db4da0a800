"""The projects and actions pages show the rows `saferboard projects|actions` prints
(present.governance): the same spend and RAG words, while the forms prefill the stored
values, so saving a form unchanged never rounds a stored figure."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from tests.conftest import cli_ok
from tests.web.conftest import Web


def _cli_rows(web: Web, command: str, quarter: str) -> list[dict[str, Any]]:
    web.app.state.saferboard.db.close()  # the CLI opens the store itself
    rows: list[dict[str, Any]] = json.loads(cli_ok(command, "--db", web.db, "--quarter",
                                                   quarter, "--format", "json"))
    return rows


def _section(page: str, element: str, ident: str) -> str:
    m = re.search(rf'<{element} class="[^"]*" id="{ident}">(.*?)</{element}>', page, re.S)
    assert m, ident
    return m.group(1)


def test_project_page_shows_the_cli_rows_and_prefills_the_stored_return(web: Web) -> None:
    council = web.login("council")
    r = council.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(council), "quarter": "2016-Q4", "spend": "1234.567",
        "actual_0": "3.333", "rag_0": "A", "comment_0": "on track"})
    assert r.status_code == 303, r.text
    page = _section(council.get("/projects?quarter=2016-Q4").text, "section", "project-EIOM")
    rows = [r for r in _cli_rows(web, "projects", "2016-Q4") if r["project_id"] == "EIOM"]
    row = rows[0]
    # The read-only figures are the row's, to the penny, with thousands separators only.
    spend = re.search(r'spend to date <span class="spend">([^<]*)</span>', page)
    assert spend and float(spend.group(1).replace(",", "")) == row["spend_to_date"]
    assert row["spend_to_date"] != round(row["spend_to_date"])  # the check sees the pence
    assert f'>{row["project_rag"]}</span>' in page.split("confirmed RAG")[0]
    assert row["project_rag"] in ("Red", "Amber", "Green")
    cells = re.findall(r"<tr><td>(.*?)</td><td class=\"n\">(.*?)</td><td class=\"n\">(.*?)"
                       r"</td><td class=\"n\">(.*?)</td><td>(.*?)</td>", page)
    assert [(html.unescape(c[0]), c[3], re.sub("<[^>]+>", "", c[4])) for c in cells] == [
        (k["kpi"], "-" if k["actual"] is None else f'{k["actual"]:,}'.removesuffix(".0"),
         k["kpi_rag"]) for k in rows]
    # The form holds what was stored, not the rows' rounded figures.
    assert 'name="spend" inputmode="decimal" value="1234.567"' in page
    assert 'name="actual_0" inputmode="decimal" value="3.333"' in page
    assert rows[0]["actual"] == 3.33
    # ... and the self-assessed RAG, which saving the form unchanged must not clear.
    assert rows[0]["basis"] == "self-assessed"
    assert 'name="rag_0"><option value="">none</option><option>R</option><option selected>A' in page


def test_action_page_shows_the_cli_row_and_prefills_the_stored_update(web: Web) -> None:
    police = web.login("police")
    r = police.post("/actions/AP1.01/update", data={
        "csrf_token": web.csrf(police), "quarter": "2012-Q4", "plan": "patrols",
        "update": "two done", "rag": "G"})
    assert r.status_code == 303, r.text
    page = _section(police.get("/actions?quarter=2012-Q4").text, "article", "action-AP1.01")
    row = next(r for r in _cli_rows(web, "actions", "2012-Q4") if r["action_id"] == "AP1.01")
    assert row["rag"] == "Green"
    assert f'RAG this quarter: <span class="rag rag-green">{row["rag"]}</span>' in page
    assert f"due {row['due'] or '-'};" in page
    # The form keeps the stored letter and texts.
    assert "<option selected>G</option>" in page
    assert '>patrols</textarea>' in page and '>two done</textarea>' in page
