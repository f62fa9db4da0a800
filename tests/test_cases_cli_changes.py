"""`saferboard cases open|add-person|add-incident|add-action|action-done|add-review|add-note|
close`: the web's case changes from the command line, each audited, none echoing a value."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.casedata import key_file
from tests.conftest import cli_ok, cli_refusal, run_cli

NAME, NOTE, ADDRESS = "Philippa Thornbury", "Bins set alight again", "7 Quarry Lane"


@pytest.fixture
def opts(tmp_path: Path) -> list[str | Path]:
    return ["--key-file", key_file(tmp_path), "--cases-db", tmp_path / "reg.sqlite",
            "--actor", "officer1"]


def test_a_case_from_opening_to_closing(opts: list[str | Path], tmp_path: Path) -> None:
    printed = cli_ok("cases", "open", "C9", "--agency", "Police", "--opened", "2025-01-06",
                     "--shared-with", "Council", *opts)
    printed += cli_ok("cases", "add-person", "C9", "--role", "victim", "--name", NAME,
                      "--address", ADDRESS, "--dob", "1949-11-30", *opts)
    printed += cli_ok("cases", "add-incident", "C9", "--date", "2025-01-07", "--reported-to",
                      "housing provider", "--description", NOTE, *opts)
    printed += cli_ok("cases", "add-action", "C9", "--owner", "Housing", "--description",
                      "Install CCTV", "--due", "2025-02-01", *opts)
    assert "action 1 added" in printed
    printed += cli_ok("cases", "action-done", "C9", "1", *opts)
    printed += cli_ok("cases", "add-review", "C9", "--date", "2025-01-20", "--outcome",
                      "Escalate", *opts)
    printed += cli_ok("cases", "assess", "C9", "--yes", "unsafe_home", "--date", "2025-01-20",
                      *opts)
    printed += cli_ok("cases", "add-note", "C9", "--text", "Met at home", "--date",
                      "2025-01-21", *opts)
    for secret in (NAME, ADDRESS, NOTE, "1949-11-30", "CCTV", "Escalate", "Met at home"):
        assert secret not in printed
    # High (escalated): the latest review 2025-01-20 + 7 days = due 2025-01-27.
    due = json.loads(cli_ok("cases", "due", "--as-of", "2025-01-27", "--format", "json",
                            *opts[:4]))
    assert due == [{"case_ref": "C9", "risk_level": "high", "due": "2025-01-27",
                    "overdue_days": 0}]
    shown = json.loads(cli_ok("cases", "show", "C9", *opts))
    assert shown["shared_with"] == ["Council"] and shown["agency"] == "Police"
    assert shown["people"] == [{"role": "victim", "name": NAME, "address": ADDRESS,
                                "dob": "1949-11-30", "contact": None, "vulnerability": None}]
    assert shown["incidents"] == [{"date": "2025-01-07", "reported_to": "housing provider",
                                   "description": NOTE}]
    assert shown["actions"] == [{"id": 1, "owner": "Housing", "due": "2025-02-01",
                                 "done": True, "description": "Install CCTV"}]
    assert shown["reviews"] == [{"date": "2025-01-20", "outcome": "Escalate"}]
    assert shown["notes"] == [{"written_on": "2025-01-21", "author": "officer1",
                               "text": "Met at home"}]
    # Exact-match search finds the person added one at a time (blind index written).
    assert "C9" in cli_ok("cases", "search", "--name", NAME.upper(), *opts)
    cli_ok("cases", "close", "C9", "--date", "2025-02-01", *opts)
    assert "the case is closed" in cli_refusal("cases", "add-note", "C9", "--text", "late",
                                               *opts)
    con = sqlite3.connect(tmp_path / "reg.sqlite")
    audit = con.execute("SELECT actor, action FROM audit WHERE case_ref = 'C9' ORDER BY id"
                        ).fetchall()
    assert [a for _, a in audit] == ["open", "person", "incident", "action", "action-done",
                                     "review", "assess", "note", "view", "search-hit",
                                     "close"]
    assert {actor for actor, _ in audit} == {"officer1"}
    notes = con.execute("SELECT count(*) FROM notes").fetchone()[0]
    assert notes == 1  # the refused note left nothing


def test_refusals_name_the_option_not_the_value(opts: list[str | Path]) -> None:
    cli_ok("cases", "open", "C1", "--agency", "Police", "--opened", "2025-01-06", *opts)
    # Usage errors: click's exit 2, its message on stderr.
    r = run_cli("cases", "add-incident", "C1", "--date", "2025-01-07", "--reported-to",
                "neighbour", *opts)
    assert r.code == 2 and "--reported-to" in r.stderr
    r = run_cli("cases", "add-note", "C1", "--text", "Secret\x07Name", *opts)
    assert r.code == 2 and "--text" in r.stderr and "Secret" not in r.stdout + r.stderr
    assert "before the case was opened" in cli_refusal(
        "cases", "add-review", "C1", "--date", "2025-01-01", *opts)
    assert "no such case" in cli_refusal("cases", "add-incident", "NOPE", "--date",
                                         "2025-01-07", "--reported-to", "police", *opts)
    assert "already in the register" in cli_refusal(
        "cases", "open", "C1", "--agency", "Police", "--opened", "2025-01-06", *opts)
    assert "no such action" in cli_refusal("cases", "action-done", "C1", "5", *opts)


def test_agencies_compare_the_same_in_the_list_and_the_view(tmp_path: Path) -> None:
    """Listing (SQL) and viewing (Python) fold agency names alike, non-ASCII letters too, so
    an officer never sees a case listed that they cannot open, or the reverse."""
    from datetime import date

    from saferboard.core.casekeys import load_case_key
    from saferboard.store import cases as cs

    keys = load_case_key(key_file(tmp_path))
    con = cs.connect(tmp_path / "reg.sqlite", keys)
    with cs.transaction(con):
        cs.open_case(con, keys, case_ref="Ä1", case_type="ASB", agency="Ärzte Verbund",
                     opened=date(2025, 1, 1), lead_officer=None, shared_with=(" Éire Housing",),
                     people=(), actor="t")
        cs.open_case(con, keys, case_ref="B1", case_type="ASB", agency="Police",
                     opened=date(2025, 1, 1), lead_officer=None, shared_with=(), people=(),
                     actor="t")
    for officer, expected in (("  ÄRZTE verbund", ["Ä1"]), ("ÉIRE HOUSING", ["Ä1"]),
                              ("arzte verbund", []), ("police", ["B1"])):
        ag = cs.agency_set(officer)
        with cs.transaction(con):
            listed = [c.case_ref for c in cs.list_cases(con, ag)]
            viewable = []
            for ref in ("Ä1", "B1"):
                try:
                    cs.view_case(con, keys, ref, "t", agencies=ag)
                    viewable.append(ref)
                except cs.CaseNotFound:
                    pass
        assert listed == viewable == expected, officer
    con.close()
