"""Web fixtures: the example store (crime, partner extracts, governance returns) with one
account per role, built once per session; each test gets its own copy and app."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from saferboard import store
from saferboard.core import categories
from saferboard.core.pseudonym import load_key
from saferboard.sources.governance import ingest_actions, ingest_returns
from saferboard.sources.ingest import ingest
from saferboard.sources.partner import ingest_partner
from saferboard.web.app import create_app
from saferboard.web.auth import add_user
from saferboard.web.settings import Settings
from tests.conftest import EXAMPLES

PASSWORD = "correct horse battery staple"
SECRET = "x" * 16 + "-test-secret-not-for-production-" + "y" * 16
# username -> (role, agency, may export)
ACCOUNTS: dict[str, tuple[str, str | None, bool]] = {
    "board": ("board", None, False),
    "board_x": ("board", None, True),
    "police": ("partner", "Police", True),
    "probation": ("partner", "Probation", False),
    "council": ("partner", "Barnet Council", False),
    "analyst": ("analyst", None, True),
    "analyst_nx": ("analyst", None, False),
    "manager": ("manager", None, True),
    "admin": ("admin", None, True),
    "dpo": ("dpo", None, True),
}
ROLE_USER = {"board": "board", "partner": "police", "analyst": "analyst",
             "manager": "manager", "admin": "admin", "dpo": "dpo"}


def build_base_db(folder: Path) -> Path:
    """The example store (crime, partner extracts, governance returns and action plans) with
    one account per role (ACCOUNTS), in `folder`: the session's `base_db` (tests/conftest.py,
    one definition for every module, built once for all workers)."""
    db = folder / "saferboard.duckdb"
    secret = folder / "pseudonym.key"
    secret.write_text("k" * 64 + "\n", encoding="utf-8")
    key = load_key(secret)
    con = store.connect(db)
    try:
        ingest(con, [EXAMPLES / "mps", EXAMPLES / "policeuk"], categories.load())
        for kind in ("incidents", "marac", "cohort", "custody", "offences"):
            ingest_partner(con, kind, EXAMPLES / "partner" / f"{kind}.csv", key)
        ingest_returns(con, sorted((EXAMPLES / "projects").glob("*.xlsx")))
        ingest_actions(con, sorted((EXAMPLES / "actions").glob("*.xlsx")))
        now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        for name, (role, agency, export) in ACCOUNTS.items():
            add_user(con, name, PASSWORD, role, agency=agency, can_export=export, now=now,
                     actor="test-setup")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return db


class Clock:
    """An injectable clock: frozen until moved."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Web:
    app: FastAPI
    settings: Settings
    clock: Clock
    db: Path

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(self.app, base_url=base_url, raise_server_exceptions=False,
                          follow_redirects=False)

    def login(self, username: str, password: str = PASSWORD,
              client: TestClient | None = None) -> TestClient:
        c = client or self.client()
        page = c.get("/login")
        token = csrf_from(page.text)
        r = c.post("/login", data={"username": username, "password": password,
                                   "csrf_token": token, "next": "/"})
        assert r.status_code == 303, (username, r.status_code, r.text[:300])
        return c

    def csrf(self, c: TestClient, path: str = "/account") -> str:
        return csrf_from(c.get(path).text)


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


@pytest.fixture
def make_web(base_db: Path, tmp_path: Path) -> Iterator[Callable[..., Web]]:
    apps: list[FastAPI] = []

    def make(**overrides: Any) -> Web:
        db = tmp_path / f"web{len(apps)}.duckdb"
        shutil.copy(base_db, db)
        clock = Clock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
        settings = replace(Settings(db=db, secret=SECRET, clock=clock), **overrides)
        app = create_app(settings)
        apps.append(app)
        return Web(app, settings, clock, db)

    yield make
    for app in apps:
        app.state.saferboard.db.close()


@pytest.fixture
def web(make_web: Callable[..., Web]) -> Web:
    w: Web = make_web()
    return w
