"""Repeat ASB victims from the case register through the repeat-victimisation measures: the
victim's keyed person index (name + date of birth) is the person key, the case's incidents are
the events. Answers known by construction."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest

from saferboard.cli.problems import case_victim_incidents
from saferboard.core.errors import InputError
from saferboard.measures import repeats as rp
from tests.casedata import CASES_HEADER, case_row, key_file, write_csv
from tests.conftest import run_cli


@pytest.fixture
def reg(tmp_path):
    """2024, by construction:

    * Ann (1970-01-01) is the victim in C1 (incidents 10 Jan and 5 Mar) and in C2 (1 Jun):
      three incidents, one person across two cases;
    * Bob (1980-02-02), C3: one incident (1 Jul); ann example, same date of birth, C6
      (normalised name: Ann again): 1 Nov;
    * Cat has no date of birth (C4, two incidents): no person key, left out and counted;
    * C5 is a hate case with Ann: not ASB, not counted.

    So in the 12 months to Dec 2024: 5 keyed incidents (Ann 4, Bob 1), victims 2, repeat
    victims 1 (Ann), 50.0%, previous incidents per repeat victim 4 - 1 = 3.0; 2 incidents
    without a key (Cat's), 7 ASB incidents in all."""
    rows = [case_row("C1", "2024-01-01", name="Ann Example", dob="1970-01-01"),
            case_row("C2", "2024-05-01", name="Ann Example", dob="1970-01-01"),
            case_row("C3", "2024-06-01", name="Bob Example", dob="1980-02-02"),
            case_row("C4", "2024-01-01", name="Cat Example", dob=""),
            case_row("C6", "2024-10-01", name="ann  example.", dob="1970-01-01")]
    hate = case_row("C5", "2024-01-01", name="Ann Example", dob="1970-01-01")
    hate[1] = "hate"
    rows.append(hate)
    incidents = [["C1", "2024-01-10", "police", ""], ["C1", "2024-03-05", "council", ""],
                 ["C2", "2024-06-01", "council", ""], ["C3", "2024-07-01", "police", ""],
                 ["C4", "2024-02-01", "council", ""], ["C4", "2024-02-02", "council", ""],
                 ["C5", "2024-04-01", "police", ""], ["C6", "2024-11-01", "police", ""]]
    key = key_file(tmp_path)
    db = tmp_path / "reg.sqlite"
    opts = ["--key-file", key, "--cases-db", db]
    for kind, header, data in (
            ("cases", CASES_HEADER, rows),
            ("incidents", ["case_ref", "date", "reported_to", "description"], incidents)):
        r = run_cli("ingest-cases", kind, write_csv(tmp_path / f"{kind}.csv", header, data),
                    *opts)
        assert r.code == 0, r.stderr
    return key, db, opts


def test_repeat_asb_victims_known_by_construction(reg):
    key, db, _ = reg
    inc = case_victim_incidents(key, db, "ASB")
    assert len(inc.key) == 5 and inc.without_key == 2
    r = rp.repeat_victimisation(inc, date(2024, 12, 1))
    assert (r.incidents, r.victims, r.repeat_victims) == (5, 2, 1)
    assert r.pct_repeat == 50.0
    assert r.avg_previous == 3.0
    # Ann's incidents on 5 Mar, 1 Jun and 1 Nov each have an earlier one in the 365 days
    assert r.repeat_incidents == 3
    con = sqlite3.connect(db)
    try:
        (detail,) = con.execute("SELECT detail FROM audit WHERE action = 'repeats'").fetchone()
    finally:
        con.close()
    assert detail == "repeat victimisation from 7 victim incident(s) of type ASB"


def test_repeats_command_reads_the_register(reg):
    _, _, opts = reg
    r = run_cli("repeats", "--kind", "cases", "--month", "2024-12", "--threshold", "1",
                "--format", "json", *opts)
    assert r.code == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["incident_type"] == "asb case"
    assert body["summary"]["victims"] == 2 and body["summary"]["repeat_victims"] == 1
    assert any("2 incident(s) have no person id" in n for n in body["notes"])
    # with the default threshold (5) the two victims are suppressed
    r = run_cli("repeats", "--kind", "cases", "--month", "2024-12", "--format", "json", *opts)
    assert r.code == 0 and json.loads(r.stdout)["summary"]["victims"] is None
    # no key, no repeats from the register
    r = run_cli("repeats", "--kind", "cases", "--cases-db", opts[3], env={})
    assert r.code != 0 and "key" in r.stderr


def test_unknown_case_type_is_named(reg):
    key, db, _ = reg
    with pytest.raises(InputError, match=r"no cases of type 'burglary'.*'asb', 'hate'"):
        case_victim_incidents(key, db, "burglary")
