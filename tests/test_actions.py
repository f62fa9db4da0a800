"""Action plan: import (validation, atomicity, replacement rule), overdue and missing-update
flags, the seed's action plan, the web's record function."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter
from saferboard.measures.actions import actions_report
from saferboard.sources.governance import (
    ActionUpdate,
    action_agency,
    ingest_actions,
    record_action_update,
)
from tests.conftest import EXAMPLES, run_cli
from tests.test_projects import gov_dump

HEADER = "action_id,priority,action,agency,lead,due,quarter,plan,update,rag\n"
ROWS = (
    "A1,1. Burglary,Run property road shows,Police,S Causer,2013-02-28,2012-Q4,3 shows,"
    "2 held,A\n"
    "A2,1. Burglary,Winter campaign,Barnet Council,S Murrant,2013-06-30,2012-Q4,plan,Done,G\n"
    "A3,2. ASB,Review risk matrix,Barnet Council,S Murrant,2013-01-31,,,,\n"
    "A1,1. Burglary,Run property road shows,Police,S Causer,,2012-Q3,3 shows,1 held,R\n"
)


def write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_flags_by_hand(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (report,) = ingest_actions(con, [write(tmp_path, "a.csv", ROWS)])
    assert report.details == 3
    assert report.new == ("A1 2012-Q4", "A2 2012-Q4", "A1 2012-Q3")
    r = actions_report(con, Quarter(2012, 4))  # as of 2013-03-31
    assert r.as_of == date(2013, 3, 31)
    status = {a.action_id: a for g in r.priorities for a in g.actions}
    # A1: due 28 Feb 2013, latest RAG Amber -> overdue. A2: Green -> never overdue.
    # A3: due 31 Jan 2013, no update at all -> overdue and missing update.
    assert status["A1"].flags == ("overdue",)
    assert status["A2"].flags == ()
    assert status["A3"].flags == ("overdue", "missing update")
    assert [g.priority for g in r.priorities] == ["1. Burglary", "2. ASB"]
    assert dict(r.counts) == {"R": 0, "A": 1, "G": 1, "none": 1, "overdue": 2,
                              "missing update": 1}
    # As of 15 Feb 2013 (in Q4): A1 is not yet due.
    early = actions_report(con, as_of=date(2013, 2, 15))
    assert str(early.quarter) == "2012-Q4"
    assert {a.action_id: a.overdue for g in early.priorities for a in g.actions} == {
        "A1": False, "A2": False, "A3": True}
    # Q3: only A1 has an update (Red).
    q3 = actions_report(con, Quarter(2012, 3))
    assert {a.action_id: (a.rag, a.missing_update) for g in q3.priorities
            for a in g.actions} == {"A1": ("R", False), "A2": (None, True), "A3": (None, True)}
    assert action_agency(con, "A2") == "Barnet Council"
    assert [a.action_id for g in actions_report(con, Quarter(2012, 4), agency="police")
            .priorities for a in g.actions] == ["A1"]


def test_an_update_replaces_the_previous_one(con: duckdb.DuckDBPyConnection,
                                             tmp_path: Path) -> None:
    ingest_actions(con, [write(tmp_path, "a.csv", ROWS)])
    changed = ROWS.replace("2 held,A", "3 held,G")
    (report,) = ingest_actions(con, [write(tmp_path, "b.csv", changed)])
    assert report.replaced == ("A1 2012-Q4",)
    assert report.unchanged == ("A2 2012-Q4", "A1 2012-Q3")
    assert con.execute("SELECT count(*) FROM gov_action_updates").fetchall() == [(3,)]
    r = actions_report(con, Quarter(2012, 4))
    a1 = r.priorities[0].actions[0]
    assert (a1.update, a1.rag, a1.overdue) == ("3 held", "G", False)


@pytest.mark.parametrize(("body", "message"), [
    ("A1,1. Burglary,Road shows,Police,,2013-02-28,2012-Q4,p,u,Purple\n",
     "line 2: column 'rag': 'Purple' is not a RAG"),
    ("A1,1. Burglary,Road shows,Police,,30/02/2013,2012-Q4,p,u,G\n",
     "line 2: column 'due': not a date (YYYY-MM-DD or DD/MM/YYYY)"),
    ("A1,1. Burglary,Road shows,,,,2012-Q4,p,u,G\n",
     "line 2: column 'agency': empty; this column is required"),
    ("A1,1. Burglary,Road shows,Police,,,2012-Q4,p,u,G\n"
     "A1,1. Burglary,Road shows,Police,,,2012-Q4,p,u2,G\n",
     "line 3: column 'quarter': A1 2012-Q4 is already on line 2"),
    ("A1,1. Burglary,Road shows,Police,,,,p,,\n",
     "line 2: column 'quarter': empty, but the row has a plan, update or RAG"),
])
def test_bad_action_files(con: duckdb.DuckDBPyConnection, tmp_path: Path, body: str,
                          message: str) -> None:
    ingest_actions(con, [write(tmp_path, "good.csv", ROWS)])
    before = gov_dump(con)
    bad = write(tmp_path, "bad.csv", body)
    with pytest.raises(InputError) as e:
        fresh = ROWS.replace("A1,", "B1,").replace("A2,", "B2,").replace("A3,", "B3,")
        ingest_actions(con, [write(tmp_path, "fresh.csv", fresh), bad])
    assert str(e.value).startswith(f"{bad}: {message}")
    assert gov_dump(con) == before


def test_record_action_update(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    ingest_actions(con, [write(tmp_path, "a.csv", ROWS)])
    u = ActionUpdate("A3", Quarter(2012, 4), "review", "Reviewed in BASBAG", "G")
    assert record_action_update(con, u, submitted_by="officer@lbb") == "new"
    assert record_action_update(con, ActionUpdate("A3", Quarter(2012, 4), "review", "x", "A"),
                                submitted_by="officer@lbb") == "replaced"
    a3 = actions_report(con, Quarter(2012, 4)).priorities[1].actions[0]
    assert (a3.update, a3.rag, a3.flags) == ("x", "A", ("overdue",))
    with pytest.raises(InputError, match="unknown action 'Z1'"):
        record_action_update(con, ActionUpdate("Z1", Quarter(2012, 4)), submitted_by="x")
    with pytest.raises(InputError, match="RAG must be R, A, G"):
        record_action_update(con, ActionUpdate("A3", Quarter(2012, 4), rag="Red"),
                             submitted_by="x")


def test_seed_action_plan(con: duckdb.DuckDBPyConnection) -> None:
    ingest_actions(con, [EXAMPLES / "actions" / "action_plan_2012-13_q4.xlsx",
                         EXAMPLES / "actions" / "obc_implementation_plan_2013.xlsx"])
    r = actions_report(con, Quarter(2012, 4))
    by_id = {a.action_id: a for g in r.priorities for a in g.actions}
    assert by_id["AP1.01"].lead == "Simon Causser" and by_id["AP1.01"].agency == "Police"
    assert by_id["AP1.01"].action.startswith("Develop a strategy")
    assert by_id["AP8.01"].action == "Publish a communications strategy"
    assert by_id["AP8.01"].lead == "Sue Cocker"
    # The paper's Q4 RAG column is empty: every updated action is flagged 'no RAG'.
    assert sum(a.rag is None for a in by_id.values()) == len(by_id)
    # Implementation plan: 'Identify potential offender types ...' was due by March 2013.
    assert by_id["IOM.01"].due == date(2013, 3, 31)
    assert not by_id["IOM.01"].overdue  # due on the as-of date itself
    later = actions_report(con, Quarter(2012, 4), as_of=date(2013, 6, 1))
    flagged = {a.action_id for g in later.priorities for a in g.actions if a.overdue}
    assert "IOM.01" in flagged and "NJP.02" in flagged  # MOPAC funding decision, April 2013
    assert "NJP.21" not in flagged  # go live, October 2013


def test_cli_actions(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    r = run_cli("ingest-actions", write(tmp_path, "a.csv", ROWS), "--db", db)
    assert r.code == 0, r.stderr
    r = run_cli("actions", "--db", db, "--as-of", "2013-03-31", "--format", "json")
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {x["action_id"]: x["flags"] for x in rows} == {
        "A1": "overdue", "A2": "", "A3": "overdue, missing update"}
