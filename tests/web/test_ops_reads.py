"""Reads that do not queue (issue 16, item 2 and the mixed-load goal): pages read on cursors
of their own, not under the lock that writes (logins, form posts) take; governance pages are
cached on the state of the governance tables and recomputed after any change; the board
pack's snapshot holds none of the web's own rows (password hashes, sessions, audit log)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

from saferboard import store
from saferboard.measures import actions as actions_mod
from saferboard.web import governance, packworker
from tests.web.conftest import Web


def _counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, int]:
    tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                         "AND NOT internal", [database]).fetchall()
    out = {}
    for (name,) in tables:
        row = con.execute(f'SELECT count(*) FROM "{database}".main."{name}"').fetchone()
        assert row is not None
        out[str(name)] = int(row[0])
    return out


def test_the_pack_snapshot_holds_no_web_rows_and_every_other_row(web: Web,
                                                                tmp_path: Path) -> None:
    web.login("analyst")  # a session, a login attempt and audit rows now exist
    snap = tmp_path / "snap.duckdb"
    with web.app.state.saferboard.db.reader() as cursor:
        packworker.snapshot(cursor, snap)
    web.app.state.saferboard.db.close()
    with store.connect(web.db) as con:
        row = store.one(con, "SELECT current_database()")
        assert row is not None
        source = _counts(con, str(row[0]))
    con = duckdb.connect(str(snap), read_only=True)
    try:
        copied = _counts(con, "snap")
        hashes = con.execute("SELECT count(*) FROM web_users").fetchone()
    finally:
        con.close()
    web_tables = {t for t in source if t.startswith("web_")}
    assert {"web_users", "web_sessions", "web_login_attempts", "web_audit"} <= web_tables
    assert all(source[t] > 0 for t in ("web_users", "web_sessions", "web_audit"))
    assert set(copied) == set(source)  # every table is there (the pack's SQL finds them) ...
    assert {t: copied[t] for t in web_tables} == dict.fromkeys(web_tables, 0)  # ... empty
    assert hashes == (0,)
    others = {t: n for t, n in source.items() if t not in web_tables}
    assert sum(others.values()) > 0
    assert {t: copied[t] for t in others} == others  # and the rest row for row


def test_pages_read_while_another_request_holds_the_write_lock(web: Web) -> None:
    db = web.app.state.saferboard.db
    c = web.login("analyst")
    for path in ("/overview", "/targets", "/actions", "/projects", "/api/dashboard"):
        assert c.get(path).status_code == 200  # warm: the session is cached too
    held, release = threading.Event(), threading.Event()

    def writer() -> None:
        with db.connect():  # a slow write: a form post, a login's attempt row
            held.set()
            release.wait(60)

    t = threading.Thread(target=writer)
    t.start()
    answers: list[int] = []
    try:
        assert held.wait(30)
        reader = threading.Thread(target=lambda: answers.extend(
            c.get(p).status_code for p in ("/overview", "/targets", "/actions", "/projects",
                                           "/api/dashboard")))
        reader.start()
        reader.join(60)
        done_while_held = not reader.is_alive() and not release.is_set()
    finally:
        release.set()
        t.join(60)
    assert done_while_held  # the reads did not wait for the writer
    assert answers == [200] * 5


def test_governance_pages_are_cached_until_a_change(web: Web,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = actions_mod.actions_report

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(governance, "actions_report", counted)
    manager = web.login("manager")
    first = manager.get("/actions?quarter=2012-Q4")
    assert first.status_code == 200
    n = len(calls)
    assert n >= 1
    assert manager.get("/actions?quarter=2012-Q4").text == first.text
    assert len(calls) == n  # the second view computed nothing
    assert "confirmed by manager" not in first.text
    r = manager.post("/actions/AP1.01/confirm", data={
        "quarter": "2012-Q4", "rag": "R", "csrf_token": web.csrf(manager, "/actions")})
    assert r.status_code == 303, r.text
    after = manager.get("/actions?quarter=2012-Q4")
    assert len(calls) > n  # recomputed after the change ...
    assert "confirmed by manager" in after.text  # ... and shows it
