"""SARA problems: store, assessment and CLI. The store's street rows are synthetic police.uk
files, so every count is known by construction; the p-values are recomputed here with
scipy's binomtest (the exact conditional test written out, not saferboard's helper)."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from pyproj import Transformer
from scipy.stats import binomtest

from saferboard.core.casekeys import keys_from_line
from saferboard.core.errors import InputError
from saferboard.measures import problem_assessment as pa
from saferboard.store import cases as cs
from saferboard.store import problems as ps
from tests.casedata import CASES_HEADER, KEY_LINE, case_row, key_file, write_csv
from tests.conftest import cli_ok, run_cli

FIELDS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
          "Context"]
A = "E01000914"  # Camden 028B
A_POINT = (-0.111497, 51.518226)
B_POINT = (-0.140000, 51.540000)
SECRET = "Mrs Smith at 4 Acacia Avenue"


def lsoa_b() -> str:
    """A Camden LSOA in another ward than A's (so linking A's ward leaves B out)."""
    from saferboard.core import national
    from saferboard.core.areas import lsoa_wards

    wards = lsoa_wards()
    return next(c for c, x in sorted(national.lsoa_lookup().items())
                if x.la_code == "E09000007" and wards[c] != wards[A])


def crimes_in(month: str) -> tuple[int, int, int]:
    """(crime in A, ASB in A, crime in B) of each month, by construction: 30 crimes a month
    in A before the response (Apr-Jun 2023), 15 after (Aug-Oct), 100 in the response month
    (July, in neither window), 50 in the months outside both; ASB 10 a month throughout;
    B 7 crimes a month throughout."""
    m = int(month[5:])
    crime = 30 if 4 <= m <= 6 else 15 if 8 <= m <= 10 else 100 if m == 7 else 50
    return crime, 10, 7


def write_street(folder: Path, months: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    b = lsoa_b()
    for month in months:
        crime, asb, in_b = crimes_in(month)
        with (folder / f"{month}-metropolitan-street.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(FIELDS)
            rows = ([(A, A_POINT, "Burglary")] * crime + [(A, A_POINT, "Anti-social behaviour")]
                    * asb + [(b, B_POINT, "Robbery")] * in_b)
            for i, (code, (lon, lat), kind) in enumerate(rows):
                w.writerow([f"{month}-{i}" if kind != "Anti-social behaviour" else "", month,
                            "Metropolitan Police Service", "Metropolitan Police Service", lon,
                            lat, "On or near X", code, "Camden 028B", kind, "", ""])
    return folder


MONTHS = [f"2023-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def street_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("problems")
    db = tmp / "store.duckdb"
    r = run_cli("ingest", write_street(tmp / "street", MONTHS), "--db", db)
    assert r.code == 0, r.stderr
    return db


def cell_of(point: tuple[float, float], size: int = 100) -> str:
    """The hotspot cell holding `point`, as SIZE:X:Y (centre), computed with pyproj here."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(*point)
    cx = (x // size) * size + size / 2
    cy = (y // size) * size + size / 2
    return f"{size}:{cx:g}:{cy:g}"


def p_value(after: int, before: int) -> float:
    return float(binomtest(after, after + before, 0.5).pvalue)


def test_assessment_known_by_construction(street_db, cats):
    import duckdb

    con = duckdb.connect(str(street_db), read_only=True)
    try:
        result = pa.assess_places(con, cats, [pa.Place("lsoa", A)], date(2023, 7, 15), 3)
    finally:
        con.close()
    assert result.before == (date(2023, 4, 1), date(2023, 6, 1))
    assert result.after == (date(2023, 8, 1), date(2023, 10, 1))
    assert (result.crime.before, result.crime.after) == (90, 45)
    assert (result.asb.before, result.asb.after) == (30, 30)
    assert result.crime.test.p_value == pytest.approx(p_value(45, 90), rel=1e-9)
    assert result.crime.test.significant and result.crime.test.direction == "down"
    assert result.crime.pct_change == -50.0
    assert result.asb.test.p_value == pytest.approx(1.0)
    assert not result.asb.test.significant
    # the response month is shown but counted in neither window
    assert [m.crime for m in result.monthly] == [30, 30, 30, 100, 15, 15, 15]


def test_places_are_a_union_counted_once(street_db, cats):
    import duckdb

    from saferboard.core.areas import lsoa_wards

    a_cell, b_cell = cell_of(A_POINT), cell_of(B_POINT)
    con = duckdb.connect(str(street_db), read_only=True)
    try:
        def crime(*places: pa.Place) -> tuple[int, int]:
            r = pa.assess_places(con, cats, places, date(2023, 7, 1), 3)
            return r.crime.before, r.crime.after

        ward = pa.Place("ward", lsoa_wards()[A])
        assert crime(pa.Place("cell", a_cell)) == (90, 45)
        assert crime(ward) == (90, 45)  # B is in another ward
        # A's LSOA, its ward and the cell its points lie in: still each crime once
        assert crime(pa.Place("lsoa", A), ward, pa.Place("cell", a_cell)) == (90, 45)
        # B's cell adds B's 7 crimes a month in each window
        assert crime(pa.Place("lsoa", A), pa.Place("cell", b_cell)) == (90 + 21, 45 + 21)
        assert crime(pa.Place("lsoa", lsoa_b())) == (21, 21)
    finally:
        con.close()


def test_a_missing_month_is_an_error_not_a_zero(tmp_path, cats):
    import duckdb

    db = tmp_path / "short.duckdb"
    assert run_cli("ingest", write_street(tmp_path / "s", MONTHS[:9]), "--db", db).code == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        with pytest.raises(InputError, match=r"lack 1 month\(s\).*2023-10"):
            pa.assess_places(con, cats, [pa.Place("lsoa", A)], date(2023, 7, 1), 3)
        ok = pa.assess_places(con, cats, [pa.Place("lsoa", A)], date(2023, 7, 1), 2)
        assert (ok.crime.before, ok.crime.after) == (60, 30)
    finally:
        con.close()


def test_assess_refuses_missing_months_in_its_input():
    monthly = [pa.MonthCount(date(2023, m, 1), 1, 1) for m in (4, 5, 6, 7, 8, 9)]
    with pytest.raises(InputError, match="2023-10"):
        pa.assess(monthly, date(2023, 7, 2), 3)


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("lsoa", " e01000914 ", "E01000914"),
    ("ward", "E05013662", "E05013662"),
    ("cell", "250:530125:190125", "250:530125:190125"),
])
def test_parse_place(kind, text, expected):
    assert pa.parse_place(kind, text) == pa.Place(kind, expected)


@pytest.mark.parametrize(("kind", "text", "param"), [
    ("lsoa", "E01999999", "lsoa"), ("lsoa", "E05013662", "lsoa"), ("ward", "E01000914", "ward"),
    ("cell", "250:530000:190125", "cell"), ("cell", "250,1,2", "cell"), ("town", "x", "place"),
])
def test_parse_place_refuses(kind, text, param):
    with pytest.raises(InputError) as e:
        pa.parse_place(kind, text)
    assert e.value.param == param


def test_no_places_is_named_by_the_parameter_not_a_cli_flag(cats):
    with pytest.raises(InputError) as e:
        pa.assess_places(None, cats, [], date(2023, 7, 1), 3)  # refused before any query
    assert e.value.param == "places" and "--" not in str(e.value)
    assert str(e.value) == ("parameter 'places': the problem has no places: link an LSOA, "
                            "ward or hotspot cell to it first")


def test_by_stage_lists_every_stage():
    assert pa.by_stage(["analysis", "scanning", "analysis"]) == {
        "scanning": 1, "analysis": 2, "response": 0, "assessment": 0}
    with pytest.raises(ValueError):
        pa.by_stage(["done"])


# --- the store and the command line ---------------------------------------------------------

@pytest.fixture
def reg(tmp_path):
    key = key_file(tmp_path)
    db = tmp_path / "reg.sqlite"
    cases = write_csv(tmp_path / "cases.csv", CASES_HEADER, [
        case_row("C1", "2023-05-01"), case_row("C2", "2023-05-02")])
    opts = ["--key-file", key, "--cases-db", db]
    assert run_cli("ingest-cases", "cases", cases, *opts).code == 0
    return db, opts


def test_problem_lifecycle_through_the_cli(reg, street_db):
    db, opts = reg
    cli_ok("cases", "problem", "add", "P1", "--kind", "place", "--agency", "council",
           "--opened", "2023-05-10", "--description", SECRET, *opts)
    cli_ok("cases", "problem", "add", "P2", "--kind", "issue", "--agency", "police",
           "--opened", "2023-06-01", *opts)
    cli_ok("cases", "problem", "link", "P1", "--case", "C1", "--case", "C2", "--lsoa", A, *opts)
    text = cli_ok("cases", "problem", "link", "P1", "--case", "C1", "--lsoa", "e01000914", *opts)
    assert "0 case(s) and 0 place(s) linked" in text  # held links are not added twice
    cli_ok("cases", "problem", "stage", "P1", "analysis", "--on", "2023-06-01", *opts)
    cli_ok("cases", "problem", "stage", "P1", "response", "--on", "2023-07-15", *opts)
    cli_ok("cases", "problem", "respond", "P1", "--date", "2023-07-15", "--owner", "council",
           "--description", "CCTV and patrols near " + SECRET, *opts)
    body = json.loads(cli_ok("cases", "problem", "assess", "P1", "--months", "3", "--on",
                             "2023-11-20", "--format", "json", "--db", street_db, *opts))
    assert body["crime"]["before"] == 90 and body["crime"]["after"] == 45
    assert body["crime"]["p_value"] == pytest.approx(p_value(45, 90), rel=1e-9)
    assert body["asb"] == {"before": 30, "after": 30, "pct_change": 0.0, "p_value": 1.0,
                           "significant": False, "direction": "none"}
    assert body["before"] == ["2023-04", "2023-06"] and body["after"] == ["2023-08", "2023-10"]

    listed = json.loads(cli_ok("cases", "problem", "list", "--format", "json", *opts))
    assert [(p["problem_ref"], p["stage"], p["cases"], p["places"], p["responses"])
            for p in listed] == [("P1", "response", 2, 1, 1), ("P2", "scanning", 0, 0, 0)]
    assert listed[0]["stage_since"] == "2023-07-15"
    assert SECRET not in json.dumps(listed)

    shown = json.loads(cli_ok("cases", "problem", "show", "P1", *opts))
    assert shown["description"] == SECRET
    assert shown["cases"] == ["C1", "C2"]
    assert [s["stage"] for s in shown["stages"]] == ["scanning", "analysis", "response"]
    assert shown["assessments"][0]["crime"]["after"] == 45
    assert shown["assessments"][0]["assessed_on"] == "2023-11-20"

    con = sqlite3.connect(db)
    try:
        actions = [a for (a,) in con.execute("SELECT action FROM audit WHERE action LIKE "
                                             "'problem%' ORDER BY id")]
        details = " ".join(d for (d,) in con.execute("SELECT detail FROM audit"))
    finally:
        con.close()
    assert actions == ["problem-add", "problem-add", "problem-link", "problem-link",
                       "problem-link", "problem-stage", "problem-stage", "problem-respond",
                       "problem-assess", "problem-view"]
    assert SECRET not in details
    # Descriptions are encrypted: no trace of them in the database's files.
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            raw = path.read_bytes()
            assert SECRET.encode() not in raw and SECRET.encode("utf-16-le") not in raw


def test_cli_refusals_change_nothing(reg):
    db, opts = reg
    cli_ok("cases", "problem", "add", "P1", "--kind", "place", "--agency", "council",
           "--opened", "2023-05-10", *opts)
    for args, needle in [
        (("add", "P1", "--kind", "place", "--agency", "x", "--opened", "2023-05-10"),
         "a problem 'P1' is already in the register"),
        (("add", "P3", "--kind", "town", "--agency", "x", "--opened", "2023-05-10"), "kind"),
        (("link", "P1", "--case", "NOPE"), "no case 'NOPE' in the register"),
        (("link", "P1", "--lsoa", "E01999999"), "LSOA"),
        (("link", "P9", "--case", "C1"), "no problem 'P9'"),
        (("assess", "P1", "--from", "2023-07-01"), "error: the problem has no places: link "
         "an LSOA, ward or hotspot cell to it first (cases problem link --lsoa, --ward or "
         "--cell)"),
        (("stage", "P1", "done", "--on", "2023-06-01"), "stage"),
        (("stage", "P1", "analysis", "--on", "2023-05-01"), "'--on': the stage change is "
         "dated before the problem was opened"),
        (("respond", "P1", "--date", "2023-05-01", "--owner", "x", "--description", "y"),
         "before the problem was opened"),
        (("assess", "P1"), "no response yet"),
    ]:
        r = run_cli("cases", "problem", *args, *opts)
        assert r.code != 0 and needle in r.stderr, (args, r.stderr)
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM problems").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM problem_cases").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM problem_stages").fetchone()[0] == 1
    finally:
        con.close()
    r = run_cli("cases", "problem", "list", "--cases-db", db)
    assert r.code != 0 and "key" in r.stderr  # no key, no list


def test_store_problem_rows_without_the_cli(tmp_path):
    keys = keys_from_line(KEY_LINE)
    con = cs.connect(tmp_path / "r.sqlite", keys)
    try:
        with cs.transaction(con):
            ps.add_problem(con, keys, "P1", kind="issue", agency="council",
                           opened=date(2024, 1, 1), description=None, actor="t")
            ps.set_stage(con, "P1", "assessment", date(2024, 3, 1), "t")
        (row,) = ps.problem_rows(con)
        assert (row.stage, row.stage_since, row.first_response) == (
            "assessment", date(2024, 3, 1), None)
    finally:
        con.close()


def test_problems_by_stage_on_a_date():
    d = date.fromisoformat
    p1 = pa.ProblemFacts("P1", d("2024-01-01"), ((d("2024-01-01"), "scanning"),
                                                 (d("2024-02-01"), "analysis"),
                                                 (d("2024-03-01"), "response")), 2, 1, 1)
    p2 = pa.ProblemFacts("P2", d("2024-01-20"), ((d("2024-01-20"), "scanning"),), 0, 0, 0)
    p3 = pa.ProblemFacts("P3", d("2024-05-01"), ((d("2024-05-01"), "scanning"),), 0, 0, 0)
    on = pa.problems_by_stage([p1, p2, p3], d("2024-02-15"))
    assert {s: [p.problem_ref for p in v] for s, v in on.items()} == {
        "scanning": ["P2"], "analysis": ["P1"], "response": [], "assessment": []}
    assert on["analysis"][0].since == d("2024-02-01")
    later = pa.problems_by_stage([p1, p2, p3], d("2024-03-01"))  # changed that day
    assert [p.problem_ref for p in later["response"]] == ["P1"]
    assert [p.problem_ref for p in later["scanning"]] == ["P2"]  # P3 not yet opened


def test_agenda_lists_problems_by_stage(reg):
    _, opts = reg
    for ref, opened in (("P1", "2024-01-01"), ("P2", "2024-01-20"), ("P3", "2024-05-01")):
        cli_ok("cases", "problem", "add", ref, "--kind", "issue", "--agency", "council",
               "--opened", opened, *opts)
    cli_ok("cases", "problem", "stage", "P1", "analysis", "--on", "2024-02-01", *opts)
    cli_ok("cases", "problem", "link", "P1", "--case", "C1", "--lsoa", A, *opts)
    r = run_cli("cases", "problem", "stage", "P1", "scanning", "--on", "2024-01-15", *opts)
    assert r.code != 0 and "latest one" in r.stderr  # history stays in date order
    body = json.loads(cli_ok("cases", "agenda", "--as-of", "2024-02-15", "--format", "json",
                             *opts))
    assert body["problems_by_stage"] == {
        "scanning": [{"problem_ref": "P2", "since": "2024-01-20", "cases": 0, "places": 0,
                      "responses": 0}],
        "analysis": [{"problem_ref": "P1", "since": "2024-02-01", "cases": 1, "places": 1,
                      "responses": 0}],
        "response": [], "assessment": []}
    html = cli_ok("cases", "agenda", "--as-of", "2024-02-15", *opts)
    assert "Problems by SARA stage" in html and "<td>P1</td>" in html
    assert "<td>P3</td>" not in html


def test_rows_on_a_split_2011_lsoa_are_shared_by_residents(tmp_path, cats):
    """20 crimes a month on the 2011 LSOA E01000010, split in 2021 into E01034473 and
    E01034474: each month's 20 are shared by the successors' Census 2021 residents, rounded
    by largest remainder (as area-rates does), here recomputed by hand."""
    import duckdb

    from saferboard.core import national

    old, new = "E01000010", ("E01034473", "E01034474")
    residents = [national.lsoa_lookup()[c].residents_2021 for c in new]
    exact = [20 * r / sum(residents) for r in residents]
    whole = [int(x) for x in exact]
    extra = 20 - sum(whole)
    for i in sorted(range(2), key=lambda i: exact[i] - whole[i], reverse=True)[:extra]:
        whole[i] += 1
    folder = tmp_path / "street"
    folder.mkdir()
    for m in range(4, 11):
        month = f"2022-{m:02d}"
        with (folder / f"{month}-metropolitan-street.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(FIELDS)
            for i in range(20):
                w.writerow([f"{month}-{i}", month, "x", "x", "", "", "", old, "City of London "
                            "001A", "Burglary", "", ""])
    db = tmp_path / "split.duckdb"
    assert run_cli("ingest", folder, "--db", db).code == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        for code, share in zip(new, whole, strict=True):
            r = pa.assess_places(con, cats, [pa.Place("lsoa", code)], date(2022, 7, 1), 3)
            assert (r.crime.before, r.crime.after) == (3 * share, 3 * share)
        both = pa.assess_places(con, cats, [pa.Place("lsoa", c) for c in new],
                                date(2022, 7, 1), 3)
        assert both.crime.before == 60  # nothing lost or doubled
    finally:
        con.close()
