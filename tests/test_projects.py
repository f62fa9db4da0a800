"""Funded projects: quarterly return import (validation, atomicity, replacement rule), KPI and
project RAG by the documented rules, the seed's MOPAC projects, the web's record function."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from saferboard.core.errors import InputError
from saferboard.core.quarters import Quarter, parse_quarter, quarter_of
from saferboard.measures.projects import kpi_rag, kpi_status, projects_report
from saferboard.sources.governance import (
    KpiValue,
    ProjectReturn,
    ingest_returns,
    project_agency,
    record_return,
)
from tests.conftest import EXAMPLES, run_cli

HEADER = ("project_id,project,funder,agency,lead,start,end,budget,quarter,spend,kpi,unit,"
          "baseline,target,direction,measure,actual,reported_rag,comment\n")


def gov_dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    tables = ("gov_projects", "gov_project_budgets", "gov_returns", "gov_kpi_values",
              "gov_actions", "gov_action_updates", "gov_models")
    return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def write(tmp_path: Path, name: str, body: str) -> Path:
    p = tmp_path / name
    p.write_text(HEADER + body, encoding="utf-8")
    return p


ROWS = (
    "P1,Safer Homes,MOPAC,Barnet Council,CSM,2016-04-01,2017-03-31,40000,2016-Q1,15000,"
    "Homes secured,homes,,80,up,cumulative,18,,\n"
    "P1,Safer Homes,MOPAC,Barnet Council,CSM,2016-04-01,2017-03-31,40000,2016-Q2,8000,"
    "Homes secured,homes,,80,up,cumulative,37,,\n"
    "P1,Safer Homes,MOPAC,Barnet Council,CSM,,,,2016-Q2,,Satisfaction,%,,90,up,level,95,,\n"
    "P2,IOM,MOPAC,Probation,ACO,2016-04-01,2017-03-31,,2016-Q2,,Reoffending rate,%,50,40,"
    "down,level,,A,awaiting data\n"
)


def test_quarters() -> None:
    q = parse_quarter("2016-Q4")
    assert (q.start.isoformat(), q.end.isoformat(), q.financial_year) == (
        "2017-01-01", "2017-03-31", "2016/17")
    assert parse_quarter("2012/13 Q4") == Quarter(2012, 4)
    assert str(quarter_of(q.start.replace(month=4))) == "2017-Q1"
    with pytest.raises(ValueError, match="like 2016-Q4"):
        parse_quarter("2016-Q5")


def test_kpi_rag_rules_by_hand() -> None:
    # Cumulative annual target 80 at Q2: expected 40; amber down to 36 (10% below).
    assert kpi_status("k", "", "up", "cumulative", None, 80, 40, None, "", 2).rag == "G"
    assert kpi_status("k", "", "up", "cumulative", None, 80, 36, None, "", 2).rag == "A"
    assert kpi_status("k", "", "up", "cumulative", None, 80, 35.9, None, "", 2).rag == "R"
    # Lower is better, a level target of 10: amber up to 11.
    assert kpi_rag(10, 10, "down") == "G"
    assert kpi_rag(11, 10, "down") == "A"
    assert kpi_rag(11.5, 10, "down") == "R"
    s = kpi_status("k", "", "up", "level", None, None, None, "A", "", 4)
    assert (s.rag, s.basis) == ("A", "self-assessed")
    assert kpi_status("k", "", "up", "level", None, None, 5, None, "", 4).basis == "no data"


def test_returns_import_rag_and_spend(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (report,) = ingest_returns(con, [write(tmp_path, "r.csv", ROWS)])
    assert report.new == ("P1 2016-Q1", "P1 2016-Q2", "P2 2016-Q2")
    r = projects_report(con, Quarter(2016, 2))
    assert [p.project_id for p in r.projects] == ["P2", "P1"]  # by name: IOM, Safer Homes
    p2, p1 = r.projects
    homes, satisfaction = sorted(p1.kpis, key=lambda k: k.kpi)
    assert (homes.expected, homes.actual, homes.rag) == (40, 37, "A")  # 37 >= 36
    assert satisfaction.rag == "G"
    # Spend to date 15,000 + 8,000 = 23,000 against a pro-rata budget of 20,000 (+10% = 22,000).
    assert p1.spend_to_date == 23_000 and p1.budget_to_date == 20_000
    assert p1.rag == "A"
    assert any("more than 10% above" in reason for reason in p1.reasons)
    assert (p2.rag, p2.kpis[0].basis) == ("A", "self-assessed")
    assert project_agency(con, "P2") == "Probation"
    assert [p.project_id for p in projects_report(con, Quarter(2016, 2), "probation").projects] \
        == ["P2"]
    # Q3: no return came in for either project.
    q3 = projects_report(con, Quarter(2016, 3))
    assert [(p.has_return, p.rag, p.reasons) for p in q3.projects] == [
        (False, None, ("no return for 2016-Q3",))] * 2


def test_a_return_replaces_the_previous_one(con: duckdb.DuckDBPyConnection,
                                            tmp_path: Path) -> None:
    ingest_returns(con, [write(tmp_path, "a.csv", ROWS)])
    again = ROWS.replace("cumulative,37", "cumulative,41")
    (report,) = ingest_returns(con, [write(tmp_path, "b.csv", again)])
    assert report.replaced == ("P1 2016-Q2",)
    assert report.unchanged == ("P1 2016-Q1", "P2 2016-Q2")
    rows = con.execute("SELECT kpi, actual FROM gov_kpi_values WHERE project_id = 'P1' AND "
                       "quarter = '2016-Q2' ORDER BY kpi").fetchall()
    assert rows == [("Homes secured", 41.0), ("Satisfaction", 95.0)]
    assert con.execute("SELECT count(*) FROM gov_returns").fetchall() == [(3,)]


BAD = [
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,Homes,,,80,sideways,cumulative,1,,\n",
     "line 2: column 'direction': 'sideways' is not allowed; allowed: up, down"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,Homes,,,80,up,cumulative,1,,\n"
     "P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,homes,,,80,up,cumulative,2,,\n",
     "line 3: column 'kpi': 'homes' for P1 2016-Q1 is already on line 2"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,Homes,,,eighty,up,cumulative,1,,\n",
     "line 2: column 'target': 'eighty' is not a number"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q7,,Homes,,,80,up,cumulative,1,,\n",
     "line 2: column 'quarter': expected a financial-year quarter"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,-5,Homes,,,80,up,cumulative,1,,\n",
     "line 2: column 'spend': must be 0 or more"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,Homes,,,80,up,cumulative,1,Purple,\n",
     "line 2: column 'reported_rag': 'Purple' is not a RAG"),
    ("P1,Safer Homes,MOPAC,Barnet Council,,,,,2016-Q1,,Homes,,,80,up,cumulative,1,,\n"
     "P1,Safer Homes,MOPAC,Police,,,,,2016-Q2,,Homes,,,80,up,cumulative,1,,\n",
     "line 3: column 'agency': 'Police' differs from 'Barnet Council' on line 2"),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_returns_name_line_and_column_and_load_nothing(
        con: duckdb.DuckDBPyConnection, tmp_path: Path, body: str, message: str) -> None:
    good = write(tmp_path, "good.csv", ROWS)
    ingest_returns(con, [good])
    before = gov_dump(con)
    fresh = write(tmp_path, "fresh.csv", ROWS.replace("P1,", "P9,"))
    bad = write(tmp_path, "bad.csv", body)
    with pytest.raises(InputError) as e:
        ingest_returns(con, [fresh, bad])  # the good file first: nothing of it may stay
    assert str(e.value).startswith(f"{bad}: {message}")
    assert gov_dump(con) == before


def test_bad_header(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_text("project_id,project,agency,quarter,kpi,direction\nP1,x,y,2016-Q1,k,up\n",
                 encoding="utf-8")
    with pytest.raises(InputError, match=r"h.csv: line 1: column 'measure': required column"):
        ingest_returns(con, [p])
    p.write_text("project_id,colour\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 1: column 'colour': unknown column"):
        ingest_returns(con, [p])


def test_record_return_from_the_web(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    ingest_returns(con, [write(tmp_path, "r.csv", ROWS)])
    ret = ProjectReturn("P2", Quarter(2016, 3), 1000.0,
                        (KpiValue("Reoffending rate", "down", "level", "%", 50, 40, 39),))
    assert record_return(con, ret, submitted_by="officer@probation") == "new"
    assert record_return(con, ret, submitted_by="officer@probation") == "unchanged"
    p2 = projects_report(con, Quarter(2016, 3)).projects[0]
    assert (p2.project_id, p2.rag, p2.spend_quarter) == ("P2", "G", 1000.0)
    with pytest.raises(InputError, match="unknown project 'P7'"):
        record_return(con, ProjectReturn("P7", Quarter(2016, 3), None, ret.kpis),
                      submitted_by="x")
    with pytest.raises(InputError, match="direction must be 'up' or 'down'"):
        record_return(con, ProjectReturn("P2", Quarter(2016, 3), None, (
            KpiValue("k", "sideways", "level"),)), submitted_by="x")


def test_seed_mopac_projects(con: duckdb.DuckDBPyConnection) -> None:
    files = sorted((EXAMPLES / "projects").glob("mopac_returns_*.xlsx"))
    assert len(files) == 3
    ingest_returns(con, files)
    y1617 = {p.project_id: p for p in projects_report(con, Quarter(2016, 4)).projects}
    # Seed 001: four projects in 2016/17; Safer Homes 126 interventions against a target of 80.
    assert sorted(y1617) == ["EIOM", "RSMO", "SAFERHOMES", "YPSM"]
    homes = y1617["SAFERHOMES"].kpis[0]
    assert (homes.target, homes.actual, homes.rag, homes.basis) == (80, 126, "G", "measured")
    assert y1617["EIOM"].kpis[0].actual == 40
    y1516 = {p.project_id: p for p in projects_report(con, Quarter(2015, 4)).projects}
    assert len(y1516) == 5
    victims = next(k for k in y1516["ASBRJ"].kpis if k.kpi.startswith("Victims"))
    assert (victims.target, victims.actual, victims.rag) == (60, 135, "G")
    assert y1516["SAFERHOMES"].kpis[0].actual == 84


def test_cli_ingest_returns_and_projects(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    src = write(tmp_path, "r.csv", ROWS)
    r = run_cli("ingest-returns", src, "--db", db)
    assert r.code == 0, r.stderr
    assert "3 new, 0 replaced" in r.stdout
    r = run_cli("projects", "--quarter", "2016-Q2", "--db", db, "--format", "json")
    assert r.code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert {(x["project_id"], x["kpi"], x["kpi_rag"]) for x in rows} == {
        ("P1", "Homes secured", "Amber"), ("P1", "Satisfaction", "Green"),
        ("P2", "Reoffending rate", "Amber")}
    bad = write(tmp_path, "bad.csv", BAD[0][0])
    r = run_cli("ingest-returns", bad, "--db", db)
    assert r.code == 1
    assert r.stderr.strip() == (f"error: {bad}: line 2: column 'direction': 'sideways' is not "
                                "allowed; allowed: up, down")


def test_templates_have_the_documented_headers() -> None:
    from openpyxl import load_workbook

    from saferboard.sources.governance import ACTION_COLUMNS, RETURN_COLUMNS

    for path, sheet, columns in (
            (EXAMPLES / "projects" / "templates" / "quarterly_return_template.xlsx", "return",
             RETURN_COLUMNS),
            (EXAMPLES / "actions" / "templates" / "action_plan_template.xlsx", "actions",
             ACTION_COLUMNS)):
        wb = load_workbook(path, read_only=True)
        rows = list(wb[sheet].iter_rows(values_only=True))
        wb.close()
        assert rows == [columns]
    doc = (EXAMPLES.parent / "docs" / "governance.md").read_text()
    assert ",".join(RETURN_COLUMNS) in doc and ",".join(ACTION_COLUMNS) in doc


def test_xlsx_errors_name_the_sheet_row(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "return"
    ws.append(HEADER.strip().split(","))
    ws.append(ROWS.splitlines()[0].split(","))
    bad = ROWS.splitlines()[1].split(",")
    bad[16] = "lots"  # actual
    ws.append(bad)
    path = tmp_path / "r.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match=r"r.xlsx: line 3: column 'actual': 'lots' is not a "
                       "number"):
        ingest_returns(con, [path])


def test_record_return_refuses_non_numbers(con: duckdb.DuckDBPyConnection,
                                           tmp_path: Path) -> None:
    ingest_returns(con, [write(tmp_path, "r.csv", ROWS)])
    before = gov_dump(con)
    for bad in (KpiValue("k", "up", "level", actual=float("nan")),
                KpiValue("k", "up", "cumulative", target=float("inf"))):
        with pytest.raises(InputError, match="must be a finite number"):
            record_return(con, ProjectReturn("P1", Quarter(2016, 3), None, (bad,)),
                          submitted_by="x")
    with pytest.raises(InputError, match="spend must be 0 or more"):
        record_return(con, ProjectReturn("P1", Quarter(2016, 3), -1.0, (KpiValue(
            "k", "up", "level"),)), submitted_by="x")
    assert gov_dump(con) == before
