"""Bad case-register files: the error names the file, line and column, never quotes a cell
(it may be a name, an address or a date of birth), and nothing of the command is loaded."""

from __future__ import annotations

import sqlite3

import pytest
from openpyxl import Workbook

from saferboard.core.casekeys import keys_from_line
from saferboard.core.errors import InputError
from saferboard.sources import cases as src
from saferboard.store import cases as cs
from tests.casedata import CASES_HEADER, KEY_LINE, case_row, write_csv

KEYS = keys_from_line(KEY_LINE)
SECRET = "Perpetua Secretvalue"
GOOD = case_row("C1", "2024-01-01")
INC = ["case_ref", "date", "reported_to", "description"]
APPS = ["application_ref", "case_ref", "received", "review_date", "recommendations"]


def _bad_cases(tmp, bad_row, header=CASES_HEADER):
    return write_csv(tmp / "bad.csv", header, [GOOD, bad_row])


CASES = [
    # (row 3 of the file, column named, the personal value that must not be echoed)
    (case_row("C2", "2024-01-01", name=SECRET, dob="31/02/1977"), "victim_dob", "31/02/1977"),
    (case_row("C2", "2024-01-01", name=SECRET, dob=SECRET), "victim_dob", SECRET),
    (case_row("C2", "2024-01-01", name=""), "victim_name", None),
    (case_row("C2", "2024-01-01", name=SECRET, dob="2025-01-01"), "victim_dob", "2025-01-01"),
    (case_row("C2", "01/02/2024", closed="2023-01-01", name=SECRET), "closed", None),
    (case_row("C2", "2024-01-01", name=SECRET, level="critical"), "risk_level", "critical"),
    (case_row("C1", "2024-01-01", name=SECRET), "case_ref", None),  # twice in the file
    (case_row("C2", "2024-13-01", name=SECRET), "opened", "2024-13-01"),
    (case_row("C2", "2024-01-01", name=SECRET * 20), "victim_name", None),  # too long
]


@pytest.mark.parametrize(("row", "column", "value"), CASES)
def test_bad_case_cell(tmp_path, row, column, value):
    path = _bad_cases(tmp_path, row)
    with pytest.raises(InputError) as e:
        src.read_case_file("cases", path)
    assert (e.value.path, e.value.line, e.value.column) == (str(path), 3, column)
    assert SECRET not in str(e.value) and "Perpetua" not in str(e.value)
    if value:
        assert value not in str(e.value)


def test_header_errors(tmp_path):
    missing = write_csv(tmp_path / "m.csv", CASES_HEADER[:-1], [GOOD[:-1]])
    with pytest.raises(InputError, match=r"missing column.*risk_level") as e:
        src.read_case_file("cases", missing)
    assert e.value.line == 1
    extra = write_csv(tmp_path / "x.csv", [*CASES_HEADER, "victim_nmae"], [[*GOOD, SECRET]])
    with pytest.raises(InputError, match="unknown column") as e:
        src.read_case_file("cases", extra)
    assert e.value.column == "victim_nmae" and SECRET not in str(e.value)


def test_xlsx_bad_cell_names_the_sheet_row(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(INC)
    ws.append(["C1", "2024-01-02", "police", SECRET])
    ws.append(["C1", "2024-01-03", "the neighbours", SECRET])
    wb.save(tmp_path / "inc.xlsx")
    with pytest.raises(InputError) as e:
        src.read_case_file("incidents", tmp_path / "inc.xlsx")
    assert (e.value.line, e.value.column) == (3, "reported_to")
    assert "not one of council, police, housing provider, other" in str(e.value)
    assert "neighbours" not in str(e.value) and SECRET not in str(e.value)


def _loaded(tmp_path) -> sqlite3.Connection:
    con = cs.connect(tmp_path / "reg.sqlite", KEYS)
    with cs.transaction(con):
        src.import_file(con, KEYS, src.read_case_file(
            "cases", write_csv(tmp_path / "c.csv", CASES_HEADER, [GOOD])), "t")
    return con


def _rows(con: sqlite3.Connection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("cases", "people", "incidents", "applications", "imports", "audit")}


@pytest.mark.parametrize(("kind", "header", "rows", "line", "column"), [
    ("incidents", INC, [["C1", "2024-01-02", "police", SECRET],
                        ["NOPE", "2024-01-03", "police", SECRET]], 3, "case_ref"),
    ("case_reviews", APPS, [["A1", "C1", "2024-02-01", "", ""],
                            ["A2", "C1", "2024-02-01", "", "yes"]], 3, "recommendations"),
    ("case_reviews", APPS, [["A1", "C1", "2024-02-01", "2024-03-01", "maybe"]], 2,
     "recommendations"),
    ("reviews", ["case_ref", "date", "outcome"], [["C1", "2023-12-01", SECRET]], 2, "date"),
    ("cases", CASES_HEADER, [case_row("C9", "2024-01-01", name=SECRET),
                             case_row("C1", "2024-01-01", name=SECRET)], 3, "case_ref"),
])
def test_nothing_loaded_on_error(tmp_path, kind, header, rows, line, column):
    con = _loaded(tmp_path)
    before = _rows(con)
    path = write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(InputError) as e, cs.transaction(con):
        src.import_file(con, KEYS, src.read_case_file(kind, path), "t")
    assert (e.value.line, e.value.column) == (line, column)
    assert SECRET not in str(e.value)
    assert _rows(con) == before  # the rows before the bad one were rolled back too
    con.close()
