"""The pack's "ASB cases" page: the case register's aggregates with small counts suppressed,
pinned to a synthetic register whose answers are known by construction. Without the case key
the page is left out and the about page says so: checked on the example pack of
tests/test_pack_words.py (built there anyway)."""

from __future__ import annotations

import html
import re
import sqlite3
from datetime import date

import pytest

from saferboard import store
from saferboard.cli.problems import pack_cases
from saferboard.core import categories
from saferboard.core.casekeys import ENV as KEY_ENV
from saferboard.core.casekeys import keys_from_line
from saferboard.measures import disclosure as dc
from saferboard.report import cases as report_cases
from saferboard.report.pack import _environment, write_pack
from saferboard.store import cases as cs
from saferboard.store import problems as ps
from tests import test_pack_words
from tests.casedata import CASES_HEADER, KEY_LINE, case_row, key_file, write_csv
from tests.conftest import run_cli
from tests.test_pack_words import section, small_config

AS_OF = date(2025, 6, 30)
example_db = test_pack_words.example_db  # the example store, one per module


def register(tmp_path):
    """On 30 June 2025, by construction:

    * open cases: standard 7 (six opened 20 June, due 18 July; S7 opened 1 May, due 29 May:
      overdue), medium 8 (opened 25 June, due 9 July), high 2 (opened 1 June, due 8 June:
      both overdue); three high cases closed 10 June do not count. Open: 7 / 8 / 2, total 17;
      overdue: 1 / 0 / 2, total 3.
    * Case Review, 2025/26 to 30 June: six applications received 1 May (five with three
      incidents in the six months: met; one with one: not met), all six reviewed on 1 June,
      two with recommendations; one received 15 March (2024/25) and one 2 July (after the
      day) do not count. Figures: 6, 1, 6, 2.
    * problems: P1 scanning, P2 analysis; P3 opened 5 July is not yet open."""
    rows = [case_row(f"S{i}", "2025-06-20") for i in range(1, 7)]
    rows += [case_row("S7", "2025-05-01")]
    rows += [case_row(f"M{i}", "2025-06-25", level="medium") for i in range(1, 9)]
    rows += [case_row(f"H{i}", "2025-06-01", level="high") for i in range(1, 3)]
    rows += [case_row(f"X{i}", "2025-01-01", closed="2025-06-10", level="high")
             for i in range(1, 4)]
    incidents, apps = [], []
    for i in range(1, 7):
        n = 1 if i == 6 else 3
        incidents += [[f"S{i}", f"2025-0{2 + k}-10", "council", ""] for k in range(n)]
        apps.append([f"A{i}", f"S{i}", "2025-05-01", "2025-06-01", "yes" if i <= 2 else "no"])
    apps += [["A7", "S7", "2025-03-15", "", ""], ["A8", "S7", "2025-07-02", "", ""]]
    key = key_file(tmp_path)
    db = tmp_path / "reg.sqlite"
    opts = ["--key-file", key, "--cases-db", db]
    for kind, header, data in (
            ("cases", CASES_HEADER, rows),
            ("incidents", ["case_ref", "date", "reported_to", "description"], incidents),
            ("case_reviews", ["application_ref", "case_ref", "received", "review_date",
                              "recommendations"], apps)):
        r = run_cli("ingest-cases", kind, write_csv(tmp_path / f"{kind}.csv", header, data),
                    *opts)
        assert r.code == 0, r.stderr
    keys = keys_from_line(KEY_LINE)
    con = cs.connect(db, keys)
    try:
        with cs.transaction(con):
            for ref, opened in (("P1", "2025-04-01"), ("P2", "2025-04-02"),
                                ("P3", "2025-07-05")):
                ps.add_problem(con, keys, ref, kind="place", agency="council",
                               opened=date.fromisoformat(opened), description="x", actor="t")
            ps.set_stage(con, "P2", "analysis", date(2025, 5, 1), "t")
    finally:
        con.close()
    return key, db


def test_figures_known_by_construction(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key, db = register(tmp_path)
    board = pack_cases(key, db, AS_OF, 5)
    assert board is not None
    assert board.year == "2025/26" and board.threshold == 5
    # 2 is below 5; with the total 17 shown, one more cell must go (the smallest other, 7),
    # or the 2 would be 17 - 7 - 8.
    assert board.open_by_level.cells == ((None,), (8,), (None,))
    assert board.open_by_level.col_totals == (17,)
    assert (board.open_by_level.primary, board.open_by_level.secondary) == (1, 1)
    # overdue 1 / 0 / 2 and total 3: all below 5 but the zero (a zero says nobody)
    assert board.overdue_by_level.cells == ((None,), (0,), (None,))
    assert board.overdue_by_level.col_totals == (None,)
    assert board.case_review == (("applications", 6), ("threshold_not_met", None),
                                 ("reviews_carried_out", 6),
                                 ("reviews_with_recommendations", None))
    assert board.problems_by_stage == {"scanning": 1, "analysis": 1, "response": 0,
                                       "assessment": 0}
    # reading the register for the pack is audited, with no personal value
    con = sqlite3.connect(db)
    try:
        (detail,) = con.execute("SELECT detail FROM audit WHERE action = 'pack'").fetchone()
    finally:
        con.close()
    assert detail == "board pack aggregates on 2025-06-30: 20 case(s), 3 problem(s)"

    page = report_cases.cases_section(board)
    assert page["levels"] == [
        {"Risk level": "Standard", "Open cases": dc.MARK, "Reviews overdue": dc.MARK},
        {"Risk level": "Medium", "Open cases": 8, "Reviews overdue": 0},
        {"Risk level": "High", "Open cases": dc.MARK, "Reviews overdue": dc.MARK},
        {"Risk level": "All", "Open cases": 17, "Reviews overdue": dc.MARK}]
    assert page["suppressed"] == 2 + 3 + 2
    text = " ".join(re.sub(r"<[^>]+>", " ", _environment().get_template(
        "_cases.html.j2").render(cases=page)).split())
    assert "Applications that did not meet the threshold *" in text
    assert "Applications received 6" in text and "Analysis 1" in text
    assert "30 Jun 2025" in text and "2025/26" in text


def test_no_key_no_page(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    assert pack_cases(None, tmp_path / "none.sqlite", AS_OF, 5) is None
    # a key given for a register that is not there is an error, not an empty page
    from saferboard.core.errors import InputError

    with pytest.raises(InputError, match="no case register here"):
        pack_cases(key_file(tmp_path), tmp_path / "none.sqlite", AS_OF, 5)


def test_the_pack_with_the_register_has_the_page(example_db, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    key, db = register(tmp_path)
    board = pack_cases(key, db, AS_OF, 5)
    con = store.connect(example_db, read_only=True)
    try:
        cfg = small_config()
        with_page = write_pack(con, categories.load(), cfg, "Barnet", date(2025, 6, 1),
                               tmp_path / "a", pdf=False, cases=board)
    finally:
        con.close()
    page = with_page.html.read_text(encoding="utf-8")
    asb = section(page, "asb-cases")
    assert "All 17 *" in asb and "Medium 8 0" in asb
    assert 'href="#asb-cases"' in page
    assert report_cases.OMITTED_WORDS not in html.unescape(page)
    for ref in ("S1", "H1", "P1", "A1"):  # aggregates only: no case, problem or application
        assert not re.search(rf"\b{ref}\b", asb)
    # Without the register: test_pack_words.py's
    # test_without_a_case_register_the_asb_cases_page_is_left_out_and_said.
