"""The partnership manager's confirmed RAGs and locked quarters (issue 8, item 3): store
functions, what the reports show, and that nothing for a locked quarter changes, from the
web's record functions or from the CLI imports (file/line error, store unchanged)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter
from saferboard.measures.actions import actions_report
from saferboard.measures.projects import projects_report
from saferboard.present.governance import action_rows, project_rows
from saferboard.sources.governance import (
    ActionUpdate,
    KpiValue,
    ProjectReturn,
    ingest_actions,
    ingest_returns,
    record_action_update,
    record_return,
)
from saferboard.store.locks import (
    QuarterLocked,
    confirm_rag,
    confirmations,
    lock_quarter,
    locked_quarters,
    quarter_lock,
)
from tests import test_actions, test_projects
from tests.conftest import run_cli, table_dump

AT = datetime(2026, 1, 5, 10, 0)
Q2 = Quarter(2016, 2)


@pytest.fixture
def gov(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    ingest_returns(con, [test_projects.write(tmp_path, "r.csv", test_projects.ROWS)])
    ingest_actions(con, [test_actions.write(tmp_path, "a.csv", test_actions.ROWS)])
    return con


def test_lock_is_idempotent_and_checks_the_quarter(gov: duckdb.DuckDBPyConnection) -> None:
    lock, made = lock_quarter(gov, "2016/17 Q2", locked_by="manager", at=AT)
    assert made and (lock.quarter, lock.locked_by, lock.locked_at) == ("2016-Q2", "manager", AT)
    again, made = lock_quarter(gov, Q2, locked_by="someone else",
                               at=datetime(2026, 2, 1, 9, 0))
    assert not made and again == lock  # the first lock stands
    assert list(locked_quarters(gov)) == ["2016-Q2"]
    assert quarter_lock(gov, "2016-Q3") is None
    for bad in ("2016-Q5", "Q2 2016", ""):
        with pytest.raises(InputError, match="column 'quarter'"):
            lock_quarter(gov, bad, locked_by="manager")
    assert list(locked_quarters(gov)) == ["2016-Q2"]


def test_confirmed_rag_is_kept_beside_the_calculated_one(gov: duckdb.DuckDBPyConnection
                                                         ) -> None:
    before = {p.project_id: p for p in projects_report(gov, Q2).projects}
    assert (before["P1"].rag, before["P1"].confirmed) == ("A", None)
    assert confirm_rag(gov, "project", "P1", Q2, "g", reported_rag="A", confirmed_by="manager",
                       at=AT) == "new"
    after = {p.project_id: p for p in projects_report(gov, Q2).projects}
    p1 = after["P1"]
    assert p1.rag == "A"  # the calculated RAG is unchanged
    assert p1.confirmed is not None and p1.final_rag == "G"
    assert (p1.confirmed.rag, p1.confirmed.reported_rag, p1.confirmed.confirmed_by,
            p1.confirmed.confirmed_at) == ("G", "A", "manager", AT)
    assert after["P2"].confirmed is None and after["P2"].final_rag == "A"
    # only the quarter confirmed
    assert all(p.confirmed is None for p in projects_report(gov, Quarter(2016, 1)).projects)
    rows = {r["kpi"]: r for r in project_rows(projects_report(gov, Q2)) if r["project_id"] == "P1"}
    assert {(r["project_rag"], r["confirmed_rag"], r["confirmed_by"]) for r in rows.values()} \
        == {("Amber", "Green", "manager")}
    assert confirm_rag(gov, "project", "P1", Q2, "G", reported_rag="A",
                       confirmed_by="manager") == "unchanged"
    assert confirm_rag(gov, "project", "P1", Q2, "R", reported_rag="A",
                       confirmed_by="manager") == "replaced"
    assert len(confirmations(gov, "project")) == 1


def test_confirmed_action_rag_counts(gov: duckdb.DuckDBPyConnection) -> None:
    q = Quarter(2012, 4)
    counts = dict(actions_report(gov, q).counts)
    assert (counts["A"], counts["G"], counts["R"], counts["none"]) == (1, 1, 0, 1)
    confirm_rag(gov, "action", "A1", q, "R", reported_rag="A", confirmed_by="manager", at=AT)
    report = actions_report(gov, q)
    a1 = next(a for p in report.priorities for a in p.actions if a.action_id == "A1")
    assert (a1.rag, a1.final_rag, a1.latest_rag) == ("A", "R", "R")
    assert a1.confirmed is not None and a1.confirmed.reported_rag == "A"
    counts = dict(report.counts)
    assert (counts["A"], counts["G"], counts["R"], counts["none"]) == (0, 1, 1, 1)
    row = next(r for r in action_rows(report) if r["action_id"] == "A1")
    assert (row["rag"], row["confirmed_rag"], row["confirmed_by"]) == ("Amber", "Red", "manager")
    # a confirmed Green ends the overdue flag of an action that is past due
    a3_before = next(a for p in actions_report(gov, q, date(2013, 6, 1)).priorities
                     for a in p.actions if a.action_id == "A3")
    assert a3_before.overdue
    confirm_rag(gov, "action", "A3", q, "G", reported_rag=None, confirmed_by="manager")
    a3 = next(a for p in actions_report(gov, q, date(2013, 6, 1)).priorities
              for a in p.actions if a.action_id == "A3")
    assert not a3.overdue and a3.final_rag == "G" and a3.rag is None


@pytest.mark.parametrize(("kind", "item", "rag", "message"), [
    ("project", "P1", "Purple", "column 'rag': RAG must be R, A or G"),
    ("project", "NOPE", "G", "column 'project_id': unknown project 'NOPE'"),
    ("action", "NOPE", "G", "column 'action_id': unknown action 'NOPE'"),
    ("kpi", "P1", "G", "column 'kind': kind must be one of action, project"),
])
def test_bad_confirmations(gov: duckdb.DuckDBPyConnection, kind: str, item: str, rag: str,
                           message: str) -> None:
    before = table_dump_con(gov)
    with pytest.raises(InputError, match=message):
        confirm_rag(gov, kind, item, Q2, rag, reported_rag=None, confirmed_by="manager")
    assert table_dump_con(gov) == before


def table_dump_con(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
    return {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def test_a_locked_quarter_refuses_every_change(gov: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:
    lock_quarter(gov, Q2, locked_by="manager", at=AT)
    lock_quarter(gov, Quarter(2012, 4), locked_by="manager", at=AT)
    dump = table_dump_con(gov)
    locked = "quarter 2016-Q2 is locked \\(by manager on 2026-01-05 10:00\\)"
    with pytest.raises(QuarterLocked, match=locked):
        record_return(gov, ProjectReturn("P1", Q2, 10.0, (
            KpiValue("Homes secured", "up", "cumulative", actual=40.0),)),
            submitted_by="council")
    with pytest.raises(QuarterLocked, match="quarter 2012-Q4 is locked"):
        record_action_update(gov, ActionUpdate("A1", Quarter(2012, 4), update="later"),
                             submitted_by="police")
    with pytest.raises(QuarterLocked, match=locked):
        confirm_rag(gov, "project", "P1", Q2, "G", reported_rag="A", confirmed_by="manager")
    # an import with one row for a locked quarter loads nothing, from any file
    ok = test_projects.write(tmp_path, "ok.csv", test_projects.ROWS.splitlines(True)[0])
    bad = test_projects.write(tmp_path, "late.csv", test_projects.ROWS.splitlines(True)[0]
                              + test_projects.ROWS.splitlines(True)[2])
    with pytest.raises(QuarterLocked) as e:
        ingest_returns(gov, [ok, bad])
    assert str(e.value) == (f"{bad}: line 3: column 'quarter': quarter 2016-Q2 is locked (by "
                            "manager on 2026-01-05 10:00); no changes are accepted for it")
    late = test_actions.write(tmp_path, "late_actions.csv",
                              "A9,3. New,New action,Police,,,2013-Q1,p,u,G\n"
                              + test_actions.ROWS.splitlines(True)[1])
    with pytest.raises(QuarterLocked) as e:
        ingest_actions(gov, [late])
    assert str(e.value).startswith(f"{late}: line 3: column 'quarter': quarter 2012-Q4 is "
                                   "locked")
    assert table_dump_con(gov) == dump
    # other quarters stay open
    assert record_return(gov, ProjectReturn("P1", Quarter(2016, 3), None, (
        KpiValue("Homes secured", "up", "cumulative", actual=50.0),)),
        submitted_by="council") == "new"


def test_cli_import_for_a_locked_quarter_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    src = test_projects.write(tmp_path, "r.csv", test_projects.ROWS)
    assert run_cli("ingest-returns", src, "--db", db).code == 0
    con = store.connect(db)
    try:
        confirm_rag(con, "project", "P1", Q2, "G", reported_rag="A", confirmed_by="manager",
                    at=AT)
        lock_quarter(con, Q2, locked_by="manager", at=AT)
    finally:
        con.close()
    before = table_dump(db)
    again = test_projects.write(tmp_path, "again.csv", test_projects.ROWS)
    r = run_cli("ingest-returns", again, "--db", db)
    assert r.code == 1
    assert r.stderr.strip() == (f"error: {again}: line 3: column 'quarter': quarter 2016-Q2 is "
                                "locked (by manager on 2026-01-05 10:00); no changes are "
                                "accepted for it")
    assert table_dump(db) == before
    actions = test_actions.write(tmp_path, "a.csv", "A1,1. Burglary,Shows,Police,,,2016-Q2,,,R\n")
    r = run_cli("ingest-actions", actions, "--db", db)
    assert r.code == 1
    assert r.stderr.strip().startswith(f"error: {actions}: line 2: column 'quarter': quarter "
                                       "2016-Q2 is locked")
    assert table_dump(db) == before
    # the report shows the confirmed RAG and the lock
    r = run_cli("projects", "--quarter", "2016-Q2", "--db", db, "--format", "json")
    assert r.code == 0, r.stderr
    rows = [x for x in json.loads(r.stdout) if x["project_id"] == "P1"]
    assert {(x["project_rag"], x["confirmed_rag"], x["quarter_locked"]) for x in rows} == {
        ("Amber", "Green", True)}
    r = run_cli("projects", "--quarter", "2016-Q2", "--db", db)
    assert r.code == 0, r.stderr
    assert "LOCKED by manager on 2026-01-05" in r.stdout
    assert "Green" in r.stdout


def test_the_pack_shows_the_confirmed_rag_and_the_lock(gov: duckdb.DuckDBPyConnection) -> None:
    from saferboard.report.governance import governance_context
    from tests.test_governance_pack import render

    text = render(governance_context(gov, date(2016, 9, 1))[0])
    assert "(confirmed" not in text and "locked" not in text
    confirm_rag(gov, "project", "P1", Q2, "G", reported_rag="A", confirmed_by="manager", at=AT)
    confirm_rag(gov, "project", "P2", Q2, "A", reported_rag="A", confirmed_by="manager", at=AT)
    lock_quarter(gov, Q2, locked_by="manager", at=AT)
    text = render(governance_context(gov, date(2016, 9, 1))[0])
    assert "Quarter locked by manager on 2026-01-05." in text
    assert "G Green (confirmed; calculated A)" in text  # P1: the manager's differs
    assert "A Amber (confirmed)" in text  # P2: the same as calculated
    confirm_rag(gov, "action", "A1", Quarter(2012, 4), "R", reported_rag="A",
                confirmed_by="manager", at=AT)
    text = render(governance_context(gov, date(2013, 3, 1))[0])
    assert "R Red (confirmed; reported A)" in text and "1 red" in text
    assert "quarter locked" not in text


def test_governance_state_changes_with_every_kind_of_change(
        gov: duckdb.DuckDBPyConnection) -> None:
    """The web's cached pack is keyed on this state: a confirmation or a lock made through
    the web (same open connection) must give a new key, so the next download is rebuilt."""
    from saferboard.web.db import governance_state

    first = governance_state(gov)
    assert governance_state(gov) == first  # reading changes nothing
    confirm_rag(gov, "project", "P1", Q2, "G", reported_rag=None, confirmed_by="manager",
                at=AT)
    second = governance_state(gov)
    assert second != first
    lock_quarter(gov, Q2, locked_by="manager", at=AT)
    assert governance_state(gov) not in (first, second)
