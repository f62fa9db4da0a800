"""Input limits (issue 16, items 5 and 8): months and quarters far outside any data are a
400-class answer with a message, never 500; numbers only in ASCII digits; redirects never
carry the request's Host; files the CLI creates are owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.web import inputs
from tests.conftest import ROOT
from tests.web.conftest import Web

BAD_MONTHS = ["0001-01", "1999-12", "9999-12", "٢٠٢٥-١٢"]
BAD_QUARTERS = ["0000-Q1", "9999-Q4", "2040-Q1", "١٩٩٩-Q1"]


def _refused(status: int, text: str) -> None:
    assert status in (400, 422), (status, text[:200])


@pytest.mark.parametrize("month", BAD_MONTHS)
def test_months_out_of_range_are_refused_with_a_message(web: Web, month: str) -> None:
    c = web.login("analyst")
    for path in ("/overview", "/targets", "/category/Burglary", "/api/dashboard",
                 "/api/categories/Burglary/trend"):
        r = c.get(path, params={"month": month})
        _refused(r.status_code, r.text)
    r = c.get("/api/dashboard", params={"month": month})
    assert "month" in r.json()["error"]["message"]


@pytest.mark.parametrize("quarter", BAD_QUARTERS)
def test_quarters_out_of_range_are_refused_with_a_message(web: Web, quarter: str) -> None:
    c = web.login("manager")
    for path in ("/actions", "/projects", "/api/actions", "/api/projects"):
        r = c.get(path, params={"quarter": quarter})
        _refused(r.status_code, r.text)
    r = c.get("/api/actions", params={"quarter": quarter})
    assert "quarter" in r.json()["error"]["message"]


def test_a_manager_cannot_lock_a_far_future_quarter(web: Web) -> None:
    c = web.login("manager")
    for quarter in ("2040-Q1", "0000-Q1"):
        r = c.post(f"/quarters/{quarter}/lock", data={"csrf_token": web.csrf(c)})
        _refused(r.status_code, r.text)
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        row = store.one(con, "SELECT count(*) FROM gov_quarter_locks")
    assert row is not None and row[0] == 0


def test_numbers_only_in_ascii_digits(web: Web) -> None:
    c = web.login("manager")
    for spend in ("٣", "1e308", "nan", "inf", "\uff13"):  # Arabic-Indic 3, fullwidth 3
        r = c.post("/projects/EIOM/return", data={"csrf_token": web.csrf(c),
                                                  "quarter": "2016-Q4", "spend": spend})
        _refused(r.status_code, r.text)
        assert "spend" in r.text
    r = c.post("/projects/EIOM/return", data={"csrf_token": web.csrf(c),
                                              "quarter": "2016-Q4", "spend": "£1,250.50"})
    assert r.status_code == 303


def test_inputs_boundaries() -> None:
    today = date(2026, 12, 6)
    assert inputs.month("2000-01", today=today) == date(2000, 1, 1)
    assert inputs.month("2027-12", today=today) == date(2027, 12, 1)
    with pytest.raises(InputError, match="between 2000-01 and 2027-12"):
        inputs.month("2028-01", today=today)
    assert str(inputs.quarter("2027-Q4", today=today)) == "2027-Q4"
    with pytest.raises(InputError, match="between 2000-Q1 and 2027-Q4"):
        inputs.quarter("2028-Q1", today=today)
    assert inputs.number(" -12.5 ", "x") == -12.5
    assert inputs.number("", "x") is None


def test_redirects_never_carry_the_host_header(web: Web) -> None:
    c = web.login("analyst")
    for path in ("/overview/", "/static", "/"):
        r = c.get(path, headers={"Host": "evil.example"})
        assert 300 <= r.status_code < 400, (path, r.status_code)
        location = r.headers["location"]
        assert "evil.example" not in location and location.startswith("/"), location
        assert not location.startswith("//")


def test_files_the_cli_creates_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    password = tmp_path / "pw"
    password.write_text("a long unguessable phrase for tests\n", encoding="utf-8")
    env = {**os.environ, "SAFERBOARD_DB": str(db)}
    r = subprocess.run([sys.executable, "-c", "from saferboard.cli import main; main()",
                        "users", "add", "someone", "--role", "analyst",
                        "--password-file", str(password)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    made = [p for p in tmp_path.iterdir() if p.name.startswith("new.duckdb")]
    assert made
    for p in made:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p.name, oct(p.stat().st_mode))
