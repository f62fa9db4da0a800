"""The case register in a real browser (Debian's chromium, headless, through Playwright): a
partner officer signs in, opens a case, records an incident and a risk assessment, and the
case is on the meeting agenda, on the page and in `saferboard cases agenda`."""

from __future__ import annotations

import json
import shutil
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser

import saferboard
from saferboard.web.settings import Settings
from tests.conftest import cli_ok
from tests.web.case_fixtures import seed_register
from tests.web.conftest import SECRET, Clock
from tests.web.test_browser import Watch, _login, live_server
from tests.web.test_browser import browser as browser  # the module's chromium fixture


@pytest.fixture(scope="module")
def server(base_db: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Path, Path]]:
    folder = tmp_path_factory.mktemp("casebrowser")
    db = folder / "browser.duckdb"
    shutil.copy(base_db, db)
    key, cases_db = seed_register(folder)
    with live_server(lambda port: Settings(db=db, secret=SECRET, port=port, case_key_file=key,
                                           cases_db=cases_db,
                                           clock=Clock(datetime.now(UTC)))) as base:
        yield base, key, cases_db


def test_partner_opens_a_case_records_an_incident_and_an_assessment(
        browser: Browser, server: tuple[str, Path, Path]) -> None:
    base, key, cases_db = server
    page = browser.new_page()
    watch = Watch(page, base)
    _login(page, base, "police")
    page.click("header nav a:text-is('Cases')")
    page.wait_for_url("**/cases")
    form = page.locator("#open-case")
    form.locator("#case_ref").fill("PW-1")
    form.locator("#person_name").fill("Rosalind Fairweather")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/cases/PW-1")
    assert "Rosalind Fairweather" in page.locator("#people").inner_text()
    incident = page.locator("#add-incident")
    incident.locator("select[name=reported_to]").select_option("police")
    incident.locator("textarea[name=description]").fill("Stones thrown at the window")
    incident.locator("button[type=submit]").click()
    page.wait_for_url("**/cases/PW-1")
    assert "Stones thrown at the window" in page.locator("#incidents").inner_text()
    page.locator("#assess summary").click()
    for q in ("repeat", "targeted", "unsafe_home"):
        page.check(f"#q-{q}")
    page.locator("#add-assessment button[type=submit]").click()
    page.wait_for_url("**/cases/PW-1")
    assert page.locator("#risk-level").inner_text() == "high"
    cells = page.locator("#assessments tbody tr").last.locator("td").all_inner_texts()
    # The score is the weights of the three questions, read from the shipped TOML here.
    shipped = tomllib.loads((Path(saferboard.__file__).parent / "data" /
                             "asb_risk_matrix.toml").read_text(encoding="utf-8"))
    weights = {q["id"]: q["weight"] for q in shipped["questions"]}
    score = weights["repeat"] + weights["targeted"] + weights["unsafe_home"]
    assert cells[1:4] == ["police", str(score), "high"]
    assert cells[4] == "repeat, targeted, unsafe_home"
    page.click("a:text-is('Meeting agenda')")
    page.wait_for_url("**/cases/agenda")
    assert "PW-1" in page.locator("#new-high").inner_text()
    watch.clean()  # no console error, nothing asked for outside the server
    page.close()
    # The same register through the command line: the new high-risk case is on the agenda.
    today = datetime.now(UTC).date().isoformat()
    agenda = json.loads(cli_ok("cases", "agenda", "--as-of", today, "--format", "json",
                               "--key-file", key, "--cases-db", cases_db))
    assert {"case_ref": "PW-1", "opened": today} in agenda["new_high_risk"]
