"""The store: schema version, migrations, refusing what is not ours."""

from __future__ import annotations

import duckdb
import pytest

from saferboard import store
from saferboard.core.errors import StoreError


def test_schema_version_recorded(db):
    con = store.connect(db)
    try:
        assert store.schema_version(con) == store.SCHEMA_VERSION == len(store.MIGRATIONS)
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"meta", "batches", "street", "outcomes", "stop_search", "mps_counts",
                "batch_months", "mps_current"} <= tables
    finally:
        con.close()
    # Reopening does not migrate again.
    con = store.connect(db, read_only=True)
    try:
        assert store.schema_version(con) == store.SCHEMA_VERSION
    finally:
        con.close()


def test_refuses_other_duckdb_and_newer_schema(tmp_path):
    other = tmp_path / "other.duckdb"
    c = duckdb.connect(str(other))
    c.execute("CREATE TABLE x (a INT)")
    c.close()
    with pytest.raises(StoreError, match="not a saferboard store"):
        store.connect(other)
    newer = tmp_path / "newer.duckdb"
    con = store.connect(newer)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="newer than this saferboard"):
        store.connect(newer)


def test_missing_database_read_only_is_an_error(tmp_path):
    with pytest.raises(StoreError, match="no such database"):
        store.connect(tmp_path / "nope.duckdb", read_only=True)
    assert not (tmp_path / "nope.duckdb").exists()


def test_db_path_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("SAFERBOARD_DB", raising=False)
    assert str(store.resolve_db_path(None)) == "saferboard.duckdb"
    monkeypatch.setenv("SAFERBOARD_DB", str(tmp_path / "env.duckdb"))
    assert store.resolve_db_path(None) == tmp_path / "env.duckdb"
    assert store.resolve_db_path(tmp_path / "x.duckdb") == tmp_path / "x.duckdb"
