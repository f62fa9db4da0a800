"""One spelling of a financial year: a store written when budgets were keyed '2016-17' opens
migrated to '2016/17' (in one transaction), and the projects report finds the budgets again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from saferboard import store
from saferboard.core.errors import StoreError
from saferboard.core.quarters import Quarter
from saferboard.measures.projects import projects_report

# The store's version before the financial-year migration (the migration is the last one).
OLD = store.SCHEMA_VERSION - 1
BUDGETS = [("P1", "2016-17", 12000.0), ("P1", "2015-16", 9000.0), ("P2", "2016-17", 500.0)]


def old_store(path: Path) -> None:
    """A store as a saferboard before the migration left it, with budgets in the old keys."""
    con = duckdb.connect(str(path))
    for sql in store.MIGRATIONS[:OLD]:
        con.execute(sql)
    con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(OLD)])
    for pid, name in (("P1", "Street triage"), ("P2", "Youth diversion")):
        con.execute("INSERT INTO gov_projects VALUES (?, ?, 'MOPAC', 'Council', NULL, NULL, "
                    "NULL, ?)", [pid, name, date(2017, 1, 1)])
    con.executemany("INSERT INTO gov_project_budgets VALUES (?, ?, ?)", BUDGETS)
    con.close()


def budgets(path: Path) -> list[tuple[str, str, float]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [(str(p), str(y), float(b)) for p, y, b in con.execute(
            "SELECT * FROM gov_project_budgets ORDER BY project_id, financial_year").fetchall()]
    finally:
        con.close()


def test_old_store_opens_with_budgets_keyed_in_the_one_spelling(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    assert OLD == 5
    con = store.connect(path)
    try:
        assert store.schema_version(con) == store.SCHEMA_VERSION
        report = projects_report(con, Quarter(2016, 4))
    finally:
        con.close()
    expected = sorted((p, y.replace("-", "/"), b) for p, y, b in BUDGETS)
    assert budgets(path) == expected
    # The report's year and its budget join use the same key: both projects keep the budget
    # that the old key held (12,000 and 500 for 2016/17, not the 2015/16 9,000).
    assert report.financial_year == "2016/17"
    assert {p.project_id: p.budget for p in report.projects} == {"P1": 12000.0, "P2": 500.0}


def test_a_failed_migration_leaves_the_old_store_as_it_was(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    # A later migration that fails: the rewrite of the keys must be undone with it.
    monkeypatch.setattr(store, "MIGRATIONS", [*store.MIGRATIONS, "SELECT * FROM no_such_table"])
    monkeypatch.setattr(store, "SCHEMA_VERSION", len(store.MIGRATIONS))
    with pytest.raises(duckdb.Error):
        store.connect(path)
    assert budgets(path) == sorted(BUDGETS)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert store.schema_version(con) == OLD
    finally:
        con.close()


def test_an_old_store_is_not_migrated_read_only(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    old_store(path)
    with pytest.raises(StoreError, match="needs migrating"):
        store.connect(path, read_only=True)
    assert budgets(path) == sorted(BUDGETS)


def test_the_new_key_is_written_by_an_import_and_read_by_the_report(tmp_path: Path) -> None:
    """A budget row written today carries '2016/17' and the migration leaves it alone."""
    con = store.connect(tmp_path / "new.duckdb")
    try:
        con.execute("INSERT INTO gov_project_budgets VALUES ('P9', ?, 1.0)",
                    [Quarter(2016, 1).financial_year])
        con.execute(store.MIGRATIONS[-1])
        assert con.execute("SELECT financial_year FROM gov_project_budgets").fetchall() == [
            ("2016/17",)]
    finally:
        con.close()


def test_the_projects_report_prints_the_one_spelling(tmp_path: Path) -> None:
    """The seeds' 2016/17 returns through the CLI: the title says 2016/17 (the quarter given
    in the seeds' own spelling)."""
    from tests.conftest import EXAMPLES, run_cli

    db = tmp_path / "p.duckdb"
    ok = run_cli("ingest-returns", EXAMPLES / "projects" / "mopac_returns_2016-17.xlsx",
                 "--db", db)
    assert ok.code == 0, ok.stderr
    run = run_cli("projects", "--quarter", "2016/17 Q4", "--db", db)
    assert run.code == 0, run.stderr
    assert "Funded projects, 2016-Q4 (2016/17)" in run.stdout and "2016-17" not in run.stdout
