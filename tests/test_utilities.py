"""One of each utility (issue 13, item 3): the table reader every CSV/XLSX file goes through,
the one parser of a day and of a month, one spelling of a financial year, the shared TOML
reader for the risk matrix, and errors that name parameters (each layer in its own words)."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from saferboard.core import dates
from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, financial_year, fy_start, parse_quarter
from saferboard.core.riskmatrix import load_matrix
from saferboard.measures import cases as mc
from saferboard.sources.cases import read_case_file
from saferboard.sources.partner import parse
from saferboard.sources.tables import normalise_header, read_sheet, read_table
from tests.conftest import run_cli

SECRET = "Perpetua Q. Secretname"  # a personal value that must never be in a message


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


# --- the table reader --------------------------------------------------------------------

def test_csv_and_xlsx_read_alike_with_typed_workbook_cells(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Offender ID", "join-date", "Count", "Flag"],
                                [None, None, None, None],  # a blank row is skipped
                                ["A1", datetime(2016, 4, 1), 3.0, True],
                                ["A2", date(2016, 5, 2), 2.5, False]]
    xlsx = read_sheet(write_xlsx(tmp_path / "t.xlsx", rows))
    got = list(xlsx.rows)
    assert xlsx.header == ("Offender ID", "join-date", "Count", "Flag")
    assert [line for line, _ in got] == [3, 4]  # sheet rows, the header on row 1
    assert got[0][1] == ["A1", datetime(2016, 4, 1), 3, True]  # typed as the workbook has them
    text = read_table(tmp_path / "t.xlsx")
    plain = read_table(write_csv(tmp_path / "t.csv", [
        ["Offender ID", "join-date", "Count", "Flag"], [], ["A1", "2016-04-01", "3", "yes"],
        ["A2", "2016-05-02", "2.5", "no"]]))
    assert text.columns == plain.columns == ("offender_id", "join_date", "count", "flag")
    assert [(r.line, r.cells) for r in text.rows] == [(r.line, r.cells) for r in plain.rows]


def test_one_header_rule() -> None:
    for written in ("offender_id", "Offender ID", "offender-id", "  OFFENDER   id "):
        assert normalise_header(written) == "offender id"


@pytest.mark.parametrize(("content", "line", "column", "words"), [
    (f"case_ref,notes\nC1,ok\nC2,{SECRET}\x07\n", 3, "notes", "control character"),
    (f'case_ref,notes\nC1,ok\nC2,"{SECRET}\n', 3, None, "malformed CSV"),
    (f"case_ref,notes\nC1,ok,{SECRET}\n", 2, None, "3 fields; the header has 2"),
    ("case_ref,case_ref\nC1,C2\n", 1, "case_ref", "twice"),
    ("case_ref,,notes\nC1,,x\n", 1, None, "header cell is empty"),
])
def test_file_line_column_errors_never_quote_a_cell(tmp_path: Path, content: str, line: int,
                                                   column: str | None, words: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_table(path)
    assert (e.value.path, e.value.line, e.value.column) == (str(path), line, column)
    assert words in str(e.value) and "Secretname" not in str(e.value)


def test_file_level_errors(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes(f"case_ref\n{SECRET}\xe9\n".encode("latin-1"))
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + SECRET.encode())
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    for path, words in ((latin, "not UTF-8"), (old, ".xls"), (broken, "not a readable XLSX"),
                        (empty, "empty file"), (tmp_path / "nope.csv", "no such file")):
        with pytest.raises(InputError) as e:
            read_sheet(path)
        assert e.value.path == str(path) and words in str(e.value), str(e.value)
        assert "Secretname" not in str(e.value)


CASES_HEADER = ["Case Ref", "Case Type", "Agency", "Opened", "Closed", "Victim Name",
                "Victim Address", "Victim DOB", "Risk Level"]


def test_case_files_and_partner_extracts_share_the_reader(tmp_path: Path) -> None:
    """The partner extract's header rule now holds for case files (`Case Ref` is case_ref),
    and a workbook date reaches both as a date."""
    row = ["C1", "ASB", "Council", datetime(2024, 1, 5), None, SECRET, "1 High St",
           "1/2/1980", "standard"]
    parsed = read_case_file("cases", write_xlsx(tmp_path / "cases.xlsx", [CASES_HEADER, row]))
    case = parsed.rows[0]
    assert case.line == 2 and case.opened == date(2024, 1, 5)  # type: ignore[union-attr]
    assert case.people[0].dob == date(1980, 2, 1)  # type: ignore[union-attr]
    from saferboard.core.pseudonym import Key

    cohort = write_xlsx(tmp_path / "cohort.xlsx", [
        [], ["Offender-ID", "Cohort", "Join Date"], ["X1", "IOM", datetime(2016, 4, 1)]])
    p = parse("cohort", cohort, Key(b"k" * 32, "test"))
    assert p.lines == [3] and p.columns["join_date"] == [date(2016, 4, 1)]


def test_a_bad_date_is_named_alike_in_case_files_and_partner_extracts(tmp_path: Path) -> None:
    from saferboard.core.pseudonym import Key

    cases = write_csv(tmp_path / "cases.csv", [
        [h.lower().replace(" ", "_") for h in CASES_HEADER],
        ["C1", "ASB", "Council", "2024-01-05", "", SECRET, "", "31/02/1980", "standard"]])
    with pytest.raises(InputError) as e1:
        read_case_file("cases", cases)
    cohort = write_csv(tmp_path / "cohort.csv", [["offender_id", "cohort", "join_date"],
                                                 ["X1", "IOM", "31/02/1980"]])
    with pytest.raises(InputError) as e2:
        parse("cohort", cohort, Key(b"k" * 32, "test"))
    assert (e1.value.line, e1.value.column, e1.value.detail) == (
        2, "victim_dob", "not a date (YYYY-MM-DD or DD/MM/YYYY)")
    assert (e2.value.line, e2.value.column, e2.value.detail) == (
        2, "join_date", "not a date (YYYY-MM-DD or DD/MM/YYYY)")


# --- days, months, financial years --------------------------------------------------------

def test_parse_day_against_strptime_for_every_day_of_a_leap_year() -> None:
    day = date(2016, 1, 1)
    while day.year == 2016:
        assert dates.parse_day(day.strftime("%Y-%m-%d")) == day
        assert dates.parse_day(day.strftime("%d/%m/%Y")) == day
        assert dates.parse_day(f"{day.day}/{day.month}/{day.year}") == day
        assert dates.parse_day(day.strftime("%Y-%m-%dT10:30:00")) == day
        day += timedelta(days=1)


@pytest.mark.parametrize("bad", ["2016-02-30", "2016-1-01", "2016-+1-01", "1_0/03/2016",
                                 "+1/03/2016", "01/03/16", "\u0660\u0661/03/2016", "2016/03/01",
                                 "20160301", "", "yesterday", "10/13/2016"])
def test_parse_day_refuses(bad: str) -> None:
    with pytest.raises(ValueError):
        dates.parse_day(bad)


def test_data_day_says_what_is_expected_without_quoting() -> None:
    assert dates.data_day(datetime(2016, 4, 1, 9)) == date(2016, 4, 1)
    for bad, words in (("1/2/1850", "the year is outside 1900-2100"),
                       ("12 Feb 1980", "not a date (YYYY-MM-DD or DD/MM/YYYY)")):
        with pytest.raises(ValueError) as e:
            dates.data_day(bad)
        assert str(e.value) == words


def test_parse_month() -> None:
    assert dates.parse_month(" 2016-04 ") == date(2016, 4, 1)
    for bad in ("2016-13", "2016-4", "2016-00", "\u0662\u0660\u0661\u0666-04", "2016/04",
                "2016-04-01"):
        with pytest.raises(ValueError):
            dates.parse_month(bad)


def test_one_spelling_of_a_financial_year() -> None:
    for written in ("2016/17", "2016-17", "2016/2017", "2016-2017", " 2016 / 17 "):
        assert fy_start(written) == 2016 and financial_year(written) == "2016/17"
    assert financial_year("1999-2000") == "1999/00"
    assert Quarter(2016, 4).financial_year == "2016/17"
    assert parse_quarter("2016-2017 Q4") == parse_quarter("2016/17 Q4") == Quarter(2016, 4)
    for bad in ("2016/18", "2016-2018", "16/17", "2016", "\u0662\u0660\u0661\u0666/17"):
        with pytest.raises(ValueError):
            fy_start(bad)
    with pytest.raises(InputError, match=r"parameter 'price_year': .*as in 2016/17"):
        financial_year("2016/18")
    # The case register's yearly figures take any spelling and report the one.
    assert mc.financial_year("2024-25") == (date(2024, 4, 1), date(2025, 3, 31))
    assert mc.case_review_year([], "2024-2025").year == "2024/25"


def test_cli_accepts_any_spelling_and_prints_the_one(tmp_path: Path) -> None:
    """`cases stats --year 2024-25` reports 2024/25 (the case register's key from a file)."""
    key = tmp_path / "case.key"
    key.write_text("k" * 48 + "\n")
    key.chmod(0o600)
    cases = write_csv(tmp_path / "cases.csv", [
        [h.lower().replace(" ", "_") for h in CASES_HEADER],
        ["C1", "ASB", "Council", "2024-01-05", "", "A Person", "", "", "standard"]])
    args = ("--key-file", key, "--cases-db", tmp_path / "cases.db")
    ok = run_cli("ingest-cases", "cases", cases, *args, "--actor", "t")
    assert ok.code == 0, ok.stderr
    run = run_cli("cases", "stats", "--year", "2024-25", *args, "--format", "json")
    assert run.code == 0, run.stderr
    assert '"year": "2024/25"' in run.stdout


# --- the shared TOML reader and parameter errors ------------------------------------------

def test_risk_matrix_errors_have_the_shared_file_line_shape(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text("[levels]\nmedium = 3\nhigh = = 4\n")
    with pytest.raises(InputError) as e:
        load_matrix(bad)
    assert (e.value.path, e.value.line) == (str(bad), 3)
    assert str(e.value).startswith(f"{bad}: line 3: not valid TOML: ")
    with pytest.raises(InputError, match=r"nope\.toml: risk matrix not found"):
        load_matrix(tmp_path / "nope.toml")
    # A bad value: file, key, reason, as in a cost-benefit model or the cost of crime's file.
    bad.write_text("[levels]\nmedium = 5\nhigh = 3\n")
    with pytest.raises(InputError) as e:
        load_matrix(bad)
    assert str(e.value) == f"{bad}: key 'levels.high': 3 should be above levels.medium (5)"


def test_a_hint_names_parameters_in_each_layers_words() -> None:
    from saferboard.cli.common import error_text
    from saferboard.web.app import _input_text

    e = InputError("already loaded; add {replace} to replace it, or give another {source}",
                   path="x.csv", mentions=("replace", "source"))
    assert str(e) == "x.csv: already loaded; add 'replace' to replace it, or give another " \
        "'source'"
    assert error_text(e) == "x.csv: already loaded; add --replace to replace it, or give " \
        "another --source"
    assert _input_text(e) == str(e)  # the web's fields carry the library's names
    assert e.detail == "already loaded; add 'replace' to replace it, or give another 'source'"
    # A flag the CLI spells its own way (start -> --from) is named that way in a hint too.
    e = InputError("{start} is after {end}", param="start", mentions=("start", "end"))
    assert error_text(e) == "column '--from': --from is after --to"


def test_partner_reimport_hint_names_the_cli_flags(tmp_path: Path) -> None:
    secret = tmp_path / "s.secret"
    secret.write_text("s" * 64)
    secret.chmod(0o600)
    header = ["offender_id", "cohort", "join_date"]
    one = write_csv(tmp_path / "one.csv", [header, ["X1", "IOM", "2016-04-01"]])
    two = write_csv(tmp_path / "two.csv", [header, ["X2", "IOM", "2016-04-01"]])
    args = ("--db", tmp_path / "s.duckdb", "--secret-file", secret)
    assert run_cli("ingest-partner", "cohort", one, *args).code == 0
    run = run_cli("ingest-partner", "cohort", two, *args)
    assert run.code == 1
    assert "add --replace to replace it with this file, or give another --source" in run.stderr
    assert "{" not in run.stderr


def test_near_repeat_events_come_through_the_same_reader(tmp_path: Path) -> None:
    """Point events read from a workbook (real dates and numbers) as from its CSV, and an
    unclosed quote is refused at its line rather than swallowing the rest of the file."""
    from saferboard.sources.events import read_events

    rows: list[list[object]] = [["x", "y", "d"], [530000, 180000.5, datetime(2024, 3, 1)],
                                [None, None, date(2024, 3, 2)],
                                [530010.5, 180000, date(2024, 3, 3)]]
    book = read_events(write_xlsx(tmp_path / "e.xlsx", rows), "x", "y", "d")
    text = read_events(write_csv(tmp_path / "e.csv", [
        ["x", "y", "d"], ["530000", "180000.5", "2024-03-01"], ["", "", "02/03/2024"],
        ["530010.5", "180000", "03/03/2024"]]), "x", "y", "d")
    for ev in (book, text):
        assert ev.x.tolist() == [530000, 530010.5] and ev.y.tolist() == [180000.5, 180000]
        assert ev.days.tolist() == [date(2024, 3, 1).toordinal(), date(2024, 3, 3).toordinal()]
        assert ev.lines.tolist() == [2, 4] and ev.skipped_no_coordinates == 1
    quote = tmp_path / "q.csv"
    quote.write_text('x,y,d\n1,2,2024-01-01\n1,"2,2024-01-02\n3,4,2024-01-03\n')
    with pytest.raises(InputError, match=r"q\.csv: line 3: malformed CSV"):
        read_events(quote, "x", "y", "d")


def test_one_rule_for_the_one_local_authority_an_area_stands_for() -> None:
    """A CSP of several whole LAs is refused alike wherever one LA is needed (names, maps,
    built-in peers, ward outlines, which failed on a tuple unpack before), naming its LAs."""
    from saferboard.core import areas

    uses = {"": areas.la_name, "maps are drawn per authority: ": areas.area_boundary,
            "built-in peer groups are of one authority: ":
                lambda t: areas.peer_group("region", t, {}),
            "wards are drawn per authority: ": areas.ward_outlines}
    for why, use in uses.items():
        with pytest.raises(InputError) as e:
            use("South Worcester")
        assert e.value.param == "area"
        assert e.value.detail == ("'South Worcester' covers 3 local authorities (Malvern "
                                  f"Hills, Worcester, Wychavon); {why}give one of them")
    assert areas.la_name("E07000237") == areas.area_boundary("Worcester")[0] == "Worcester"
