"""Partner extracts: every kind loads from its template and its synthetic example, headers and
dates in their accepted forms, CSV and XLSX alike; the re-import rule; bad input refused with
file, line and column in one line and the store exactly as it was; and no raw identifier in
the database file, in any output or in any error message."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from saferboard import store
from saferboard.core.pseudonym import Key, load_key, pseudonym
from saferboard.sources.partner import KINDS, ingest_partner, parse
from tests.conftest import EXAMPLES, cli_ok, error_line, run_cli, table_dump

PARTNER = EXAMPLES / "partner"
TEMPLATES = PARTNER / "templates"
SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    p = tmp_path / "saferboard.secret"
    p.write_text(SECRET + "\n")
    return p


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def records(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ templates and examples


def test_templates_are_the_documented_headers() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "partner-templates.md").read_text()
    for kind, spec in KINDS.items():
        header = (TEMPLATES / f"{kind}.csv").read_text().strip().split(",")
        assert header == [f.template for f in spec.fields]
        for name in header:
            assert f"`{name}`" in doc, (kind, name)
    # The exact names the issue requires for the cohort kinds.
    assert [f.template for f in KINDS["cohort"].fields] == [
        "offender_id", "cohort", "join_date", "leave_date"]
    assert [f.template for f in KINDS["custody"].fields] == [
        "offender_id", "start_date", "end_date"]
    assert [f.template for f in KINDS["offences"].fields][:4] == [
        "offender_id", "offence_date", "offence_type", "ho_recordable"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_header_only_template_loads_empty(kind: str, secret: Path, db: Path) -> None:
    run = run_cli("ingest-partner", kind, TEMPLATES / f"{kind}.csv", "--db", db,
                  "--secret-file", secret)
    assert run.code == 0, run.stderr
    assert table_dump(db)[KINDS[kind].table] == []


@pytest.mark.parametrize("kind", list(KINDS))
def test_example_loads_every_row(kind: str, secret: Path, db: Path) -> None:
    path = PARTNER / f"{kind}.csv"
    expected = records(path)
    run = run_cli("ingest-partner", kind, path, "--db", db, "--secret-file", secret)
    assert run.code == 0, run.stderr
    dump = table_dump(db)
    assert len(dump[KINDS[kind].table]) == len(expected) > 0
    assert [(b[1], b[4], b[6]) for b in dump["partner_batches"]] == [
        (kind, len(expected), kind)]


def test_example_values_round_trip(secret: Path, tmp_path: Path) -> None:
    key = load_key(secret)
    con = store.connect(tmp_path / "s.duckdb")
    ingest_partner(con, "offences", PARTNER / "offences.csv", key)
    got = sorted(con.execute("SELECT offender, offence_date, offence_type, ho_recordable, "
                             "conviction_date FROM partner_offences").fetchall(), key=repr)
    con.close()
    want = sorted(((pseudonym(key, "person", r["offender_id"]),
                    date.fromisoformat(r["offence_date"]), r["offence_type"],
                    r["ho_recordable"] == "yes",
                    date.fromisoformat(r["conviction_date"]) if r["conviction_date"] else None)
                   for r in records(PARTNER / "offences.csv")), key=repr)
    assert got == want


# ------------------------------------------------------------------ accepted forms


def test_headers_any_case_and_separator_dates_both_forms(secret: Path, tmp_path: Path
                                                         ) -> None:
    key = load_key(secret)
    a = write_csv(tmp_path / "a.csv", ["offender_id", "cohort", "join_date", "leave_date"],
                  [["X1", "IOM statutory", "2014-02-03", ""],
                   ["X2", "IOM non-statutory", "2014-12-31", "2015-01-31"]])
    b = write_csv(tmp_path / "b.csv", ["Offender ID", "COHORT", "Join-Date", " leave date "],
                  [["X1", "IOM statutory", "03/02/2014", ""],
                   ["X2", "IOM non-statutory", "31/12/2014", "31/01/2015 00:00"]])
    pa, pb = parse("cohort", a, key), parse("cohort", b, key)
    assert pa.columns == pb.columns
    assert pa.columns["join_date"] == [date(2014, 2, 3), date(2014, 12, 31)]
    assert pa.columns["leave_date"] == [None, date(2015, 1, 31)]
    assert pa.columns["offender"][0] == pseudonym(key, "person", "X1")


def test_xlsx_gives_the_same_rows_as_csv(secret: Path, tmp_path: Path) -> None:
    key = load_key(secret)
    header = ["referral_id", "date", "victim_id", "perpetrator_id", "referral_source",
              "victim_sex", "victim_age", "victim_disability", "perpetrator_sex",
              "perpetrator_age", "perpetrator_mental_health", "perpetrator_substance_misuse"]
    rows: list[list[object]] = [
        ["R1", "2016-04-02", "V1", "P1", "Police", "F", "34", "None", "M", "40", "yes", "no"],
        ["R2", "2016-05-09", "V2", "", "Health", "female", "", "", "", "", "", "unknown"],
    ]
    c = write_csv(tmp_path / "m.csv", header, rows)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([h.replace("_", " ").title() for h in header])
    ws.append(["R1", date(2016, 4, 2), "V1", "P1", "Police", "F", 34, "None", "M", 40.0,
               "Yes", "No"])
    ws.append(["R2", "09/05/2016", "V2", None, "Health", "Female", None, None, None, None,
               None, "Unknown"])
    x = tmp_path / "m.xlsx"
    wb.save(x)
    assert parse("marac", c, key).columns == parse("marac", x, key).columns
    cols = parse("marac", x, key).columns
    assert cols["victim_sex"] == ["female", "female"]
    assert cols["victim_age"] == [34, None]
    assert cols["perpetrator_mental_health"] == ["yes", None]
    assert cols["perpetrator"][1] is None


def test_latitude_longitude_become_british_national_grid(secret: Path, tmp_path: Path
                                                         ) -> None:
    from pyproj import Transformer

    key = load_key(secret)
    p = write_csv(tmp_path / "i.csv", ["incident_id", "date", "person_id", "latitude",
                                       "longitude", "x", "y", "incident_type"],
                  [["I1", "2013-01-02", "C1", "51.6", "-0.2", "", "", "ASB  Call"],
                   ["I2", "2013-01-03", "C1", "", "", "525000", "190000", "asb call"]])
    cols = parse("incidents", p, key).columns
    x, y = cols["x"][0], cols["y"][0]
    assert isinstance(x, float) and isinstance(y, float)
    assert 521_000 < x < 530_000 and 188_000 < y < 197_000  # Barnet
    back = Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    assert back == pytest.approx((-0.2, 51.6), abs=1e-6)
    assert cols["x"][1] == 525000.0 and cols["y"][1] == 190000.0
    assert cols["incident_type"] == ["asb call", "asb call"]
    assert "lat" not in cols


# ------------------------------------------------------------------ re-import rule


def test_reimport_rule(secret: Path, tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    header = ["offender_id", "offence_date", "offence_type", "ho_recordable"]
    first = write_csv(tmp_path / "o1.csv", header, [["A", "2014-01-01", "Theft", "yes"]])
    second = write_csv(tmp_path / "o2.csv", header, [["A", "2014-01-01", "Theft", "yes"],
                                                     ["B", "2014-02-01", "Assault", "no"]])
    args = ("--db", db, "--secret-file", secret)
    assert run_cli("ingest-partner", "offences", first, *args).code == 0
    again = run_cli("ingest-partner", "offences", first, *args)
    assert again.code == 0 and "skipped (identical)" in again.stdout
    before = table_dump(db)
    refused = error_line(run_cli("ingest-partner", "offences", second, *args))
    assert "already loaded" in refused and "--replace" in refused
    assert table_dump(db) == before
    copy = tmp_path / "copy.csv"
    shutil.copyfile(first, copy)
    dup = error_line(run_cli("ingest-partner", "offences", copy, *args, "--source", "other"))
    assert "identical content" in dup
    assert table_dump(db) == before
    ok = run_cli("ingest-partner", "offences", second, *args, "--replace")
    assert ok.code == 0 and "replaced" in ok.stdout, ok.stderr
    dump = table_dump(db)
    assert len(dump["partner_offences"]) == 2 and len(dump["partner_batches"]) == 1
    overlap = error_line(run_cli("ingest-partner", "offences", first, *args, "--source",
                                 "probation"))
    assert "already loaded in the offences extract 'offences'" in overlap
    third = write_csv(tmp_path / "o3.csv", header, [["C", "2014-03-01", "Theft", "yes"]])
    sep = run_cli("ingest-partner", "offences", third, *args, "--source", "probation")
    assert sep.code == 0, sep.stderr
    assert sorted(b[6] for b in table_dump(db)["partner_batches"]) == ["offences", "probation"]


def test_an_incident_id_cannot_come_in_twice_through_two_extracts(secret: Path,
                                                                  tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    header = ["incident_id", "date", "person_id", "incident_type"]
    a = write_csv(tmp_path / "a.csv", header, [["INC-SECRET-1", "2016-01-01", "P1", "da"]])
    b = write_csv(tmp_path / "b.csv", header, [["INC-OTHER", "2016-01-02", "P2", "da"],
                                               ["INC-SECRET-1", "2016-01-01", "P1", "da"]])
    args = ("--db", db, "--secret-file", secret)
    assert run_cli("ingest-partner", "incidents", a, *args, "--source", "police").code == 0
    before = table_dump(db)
    msg = error_line(run_cli("ingest-partner", "incidents", b, *args, "--source", "council"))
    assert re.search(r": line 3: column 'incident_id': ", msg), msg
    assert "INC-SECRET-1" not in msg and "P1" not in msg
    assert table_dump(db) == before


# ------------------------------------------------------------------ bad input

COHORT = ["offender_id", "cohort", "join_date", "leave_date"]
GOOD = ["RAWID-0001", "IOM statutory", "2014-01-05", ""]


def cohort_rows(bad_line: int, bad: list[object]) -> list[list[object]]:
    rows: list[list[object]] = [[f"RAWID-{i:04d}", "IOM statutory", "2014-01-05", ""]
                                for i in range(1, 8)]
    rows[bad_line - 2] = bad
    return rows


BAD_CASES = [
    # (kind, header, rows, line, column, words in the message)
    ("cohort", COHORT, cohort_rows(5, ["RAWID-0004", "IOM", "2014-13-40", ""]), 5,
     "join_date", "not a date"),
    ("cohort", COHORT, cohort_rows(3, ["RAWID-0002", "IOM", "", ""]), 3, "join_date",
     "required"),
    ("cohort", COHORT, cohort_rows(6, ["", "IOM", "2014-01-05", ""]), 6, "offender_id",
     "required"),
    ("cohort", COHORT, cohort_rows(4, ["RAWID-0003", "IOM", "2014-05-01", "2014-04-30"]), 4,
     "leave_date", "earlier than"),
    ("cohort", COHORT, cohort_rows(7, ["RAWID-0006", "IOM", "1850-01-01", ""]), 7,
     "join_date", "year"),
    ("cohort", ["offender_id", "cohort", "leave_date"], [["RAWID-0001", "IOM", ""]], 1,
     "join_date", "missing column"),
    ("cohort", ["Offender ID", "offender_id", "cohort", "join_date"], [["A", "B", "C", "D"]],
     1, "offender_id", "two columns"),
    ("offences", ["offender_id", "offence_date", "offence_type", "ho_recordable"],
     [["RAWID-0001", "2014-01-01", "Theft", "yes"], ["RAWID-0002", "2014-01-01", "Theft",
                                                     "perhaps"]], 3, "ho_recordable",
     "yes or no"),
    ("marac", ["referral_id", "date", "victim_id", "victim_age"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "34"],
      ["RAWREF-2", "2016-01-01", "RAWID-0002", "thirty"]], 3, "victim_age", "whole"),
    ("marac", ["referral_id", "date", "victim_id", "victim_sex"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "F"],
      ["RAWREF-1", "2016-01-01", "RAWID-0002", "M"]], 3, "referral_id", "line 2"),
    ("marac", ["referral_id", "date", "victim_id", "victim_sex"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "RAWID-0009"]], 2, "victim_sex",
     "female, male"),
    ("incidents", ["incident_id", "date", "person_id", "x", "y", "incident_type"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "525000", "", "da"]], 2, "y", "both"),
    ("incidents", ["incident_id", "date", "person_id", "x", "y", "incident_type"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "525000", "9999999", "da"]], 2, "y",
     "northings"),
    ("incidents", ["incident_id", "date", "person_id", "latitude", "longitude",
                   "incident_type"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "51.6", "RAWID-0001", "da"]], 2,
     "longitude", "not a number"),
    ("incidents", ["incident_id", "date", "person_id", "incident_type"],
     [["RAWREF-1", "2016-01-01", "RAWID-0001", "da"], ["RAWREF-2", "2016-01-01"]], 3, None,
     "field"),
]


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory: pytest.TempPathFactory
               ) -> tuple[Path, dict[str, list[tuple[object, ...]]], str]:
    """Real partner data imported once (with the same SECRET as the `secret` fixture): the
    store, its contents and its bytes' hash."""
    folder = tmp_path_factory.mktemp("partner_seed")
    key_file = folder / "saferboard.secret"
    key_file.write_text(SECRET + "\n")
    db = folder / "seed.duckdb"
    for kind in ("cohort", "marac"):
        run = run_cli("ingest-partner", kind, PARTNER / f"{kind}.csv", "--db", db,
                      "--secret-file", key_file)
        assert run.code == 0, run.stderr
    return db, table_dump(db), sha(db)


@pytest.fixture
def seeded(seed_store: tuple[Path, dict[str, list[tuple[object, ...]]], str],
           tmp_path: Path) -> Iterator[tuple[Path, dict[str, list[tuple[object, ...]]], str]]:
    """A store holding real partner data, to check that a bad file leaves it as it was (each
    test its own copy of the one import), with its contents and hash as it was: the seed's,
    since the copy is byte for byte the seed."""
    seed, dump, digest = seed_store
    db = tmp_path / "seed.duckdb"
    shutil.copyfile(seed, db)
    assert sha(db) == digest
    yield db, dump, digest


@pytest.mark.parametrize(("kind", "header", "rows", "line", "column", "words"), BAD_CASES)
def test_bad_input_is_refused_in_one_line_and_loads_nothing(
        kind: str, header: list[str], rows: list[list[object]], line: int,
        column: str | None, words: str,
        seeded: tuple[Path, dict[str, list[tuple[object, ...]]], str], secret: Path,
        tmp_path: Path) -> None:
    bad = write_csv(tmp_path / f"bad-{kind}.csv", header, rows)
    db, dump, digest = seeded
    msg = error_line(run_cli("ingest-partner", kind, bad, "--db", db, "--secret-file",
                             secret, "--source", "new"))
    assert msg.startswith(f"error: {bad}: line {line}"), msg
    if column is not None:
        assert f"column {column!r}" in msg, msg
    assert words in msg, msg
    assert "RAWID" not in msg and "RAWREF" not in msg  # raw ids never in a message
    assert table_dump(db) == dump and sha(db) == digest


def test_file_level_problems(secret: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("offender_id,cohort,join_date\nJos\xe9,IOM,2014-01-01\n".encode("latin-1"))
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    for path, words in ((empty, "empty file"), (latin, "UTF-8"), (xls, ".xls"),
                        (tmp_path / "missing.csv", "cannot read")):
        msg = error_line(run_cli("ingest-partner", "cohort", path, "--db", db,
                                 "--secret-file", secret))
        assert words in msg and str(path) in msg, msg
        assert not db.exists()  # no empty store left behind
    run = run_cli("ingest-partner", "victims", empty, "--db", db, "--secret-file", secret)
    assert run.code != 0 and "victims" in run.stderr
    assert not db.exists()


def test_refuses_without_a_secret_and_says_how_to_make_one(tmp_path: Path) -> None:
    db = tmp_path / "n.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "SAFERBOARD_SECRET_FILE"}
    msg = error_line(run_cli("ingest-partner", "cohort", TEMPLATES / "cohort.csv", "--db", db,
                             env=env))
    assert "secrets.token_hex(32)" in msg and "--secret-file" in msg
    assert not db.exists()
    short = tmp_path / "short.secret"
    short.write_text("abc\n")
    msg = error_line(run_cli("ingest-partner", "cohort", TEMPLATES / "cohort.csv", "--db", db,
                             "--secret-file", short))
    assert "too short" in msg and "abc" not in msg.split("too short")[1]
    assert not db.exists()
    ok = run_cli("ingest-partner", "cohort", TEMPLATES / "cohort.csv", "--db", db,
                 env={**env, "SAFERBOARD_SECRET_FILE": str(short.with_name("good.secret"))})
    assert ok.code != 0  # the file named by the variable does not exist
    short.with_name("good.secret").write_text(SECRET)
    ok = run_cli("ingest-partner", "cohort", TEMPLATES / "cohort.csv", "--db", db,
                 env={**env, "SAFERBOARD_SECRET_FILE": str(short.with_name("good.secret"))})
    assert ok.code == 0, ok.stderr


# ------------------------------------------------------------------ no raw identifier anywhere

ID_COLUMNS = {"incidents": ("incident_id", "person_id", "location_id"),
              "marac": ("referral_id", "victim_id", "perpetrator_id"),
              "cohort": ("offender_id",), "custody": ("offender_id",),
              "offences": ("offender_id",)}


def raw_ids() -> set[str]:
    ids: set[str] = set()
    for kind, cols in ID_COLUMNS.items():
        for r in records(PARTNER / f"{kind}.csv"):
            ids |= {r[c] for c in cols if r[c]}
    return ids


def test_no_raw_identifier_reaches_the_database_or_any_output(
        secret: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = raw_ids()
    assert len(ids) > 10_000
    pattern = re.compile(rb"(?:DA-V|ASB-C|ADDR-B?|BURG-V|INC|MARAC|MV|MP|OFF)\d{4,7}")
    db = tmp_path / "p.duckdb"
    outputs: list[str] = []
    # Store strings uncompressed so that a raw id, had it been stored, would be in the bytes:
    # the command's own connection gets the pragma (it checkpoints on closing).
    connect = store.connect

    def uncompressed(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        con = connect(*args, **kwargs)  # type: ignore[arg-type]
        con.execute("PRAGMA force_compression='uncompressed'")
        return con

    with monkeypatch.context() as patch:
        patch.setattr(store, "connect", uncompressed)
        for kind in ID_COLUMNS:  # the import summaries are outputs too
            run = run_cli("ingest-partner", kind, PARTNER / f"{kind}.csv", "--db", db,
                          "--secret-file", secret)
            assert run.code == 0, run.stderr
            outputs += [run.stdout, run.stderr]
    c = duckdb.connect(str(db), read_only=True)
    try:
        sample = [str(r[0]) for r in c.execute(
            "SELECT person FROM partner_incidents WHERE person IS NOT NULL LIMIT 200"
        ).fetchall()]
        compression = {r[0] for r in c.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('partner_incidents') "
            "WHERE segment_type = 'VARCHAR'").fetchall()}
    finally:
        c.close()
    assert compression == {"Uncompressed"}
    for args in (["repeats", "--type", "domestic abuse"],
                 ["repeats", "--type", "asb call", "--month", "2013-03", "--four-weekly"],
                 ["repeats", "--type", "residential burglary", "--by", "location",
                  "--month", "2013-03"],
                 ["repeats", "--kind", "marac"], ["marac"]):
        for fmt in ("table", "csv", "json"):
            run = run_cli(*args, "--db", db, "--format", fmt)
            assert run.code == 0, run.stderr
            outputs += [run.stdout, run.stderr]
    data = db.read_bytes()
    # The check can see strings: the pseudonyms themselves are in the file.
    assert all(s.encode() in data for s in sample)
    found = {m.decode() for m in pattern.findall(data)}
    assert not found & ids
    assert not any(i.encode() in data for i in sorted(ids)[::50])
    text = "\n".join(outputs)
    assert not {m.decode() for m in pattern.findall(text.encode())} & ids
    c = duckdb.connect(str(db), read_only=True)
    try:
        for kind, spec in KINDS.items():
            for f in spec.fields:
                if f.parse in ("person", "location", "ref"):
                    values = {str(r[0]) for r in c.execute(
                        f"SELECT DISTINCT {f.column} FROM {spec.table}").fetchall()}
                    assert not values & ids, (kind, f.column)
    finally:
        c.close()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("p.duckdb.*"))


@pytest.mark.parametrize("command", ["ingest-partner", "repeats", "marac"])
def test_people_commands_have_help_and_a_readme_line(command: str) -> None:
    doc = cli_ok(command, "--help")
    assert "Usage:" in doc and len(doc.split("Options")[0].splitlines()) > 3
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert f"saferboard {command}" in readme


def test_the_examples_are_rebuilt_byte_for_byte_by_the_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(root / "scripts" / "make_partner_examples.py"),
                    str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    shipped = sorted(p.relative_to(PARTNER) for p in PARTNER.rglob("*.csv"))
    assert built == shipped and len(built) == 10
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (PARTNER / rel).read_bytes(), rel
    assert "synthetic" in (PARTNER / "README.md").read_text().lower()


ids = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12
              ).filter(lambda s: s.strip() != "")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(ids, st.sampled_from(["IOM statutory", "IOM non-statutory"]),
                          st.dates(date(1990, 1, 1), date(2030, 12, 31)), st.booleans()),
                min_size=1, max_size=15))
def test_csv_round_trip(rows: list[tuple[str, str, date, bool]]) -> None:
    import tempfile

    key = load_key_from_text(SECRET)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "c.csv", ["offender_id", "cohort", "join_date"],
                         [[o, c, d.strftime("%d/%m/%Y") if uk else d.isoformat()]
                          for o, c, d, uk in rows])
        got = parse("cohort", path, key).columns
    assert got["offender"] == [pseudonym(key, "person", o) for o, _, _, _ in rows]
    assert got["cohort"] == [c for _, c, _, _ in rows]
    assert got["join_date"] == [d for _, _, d, _ in rows]
    assert got["leave_date"] == [None] * len(rows)


def load_key_from_text(text: str) -> Key:
    return Key(text.encode(), "test")


def test_the_same_records_through_a_second_extract_are_refused(secret: Path,
                                                              tmp_path: Path) -> None:
    """The cohort as a workbook, then the same rows as CSV under another name: the bytes
    differ, the records do not."""
    db = tmp_path / "c.duckdb"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    with open(PARTNER / "cohort.csv", newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            ws.append(row)
    xlsx = tmp_path / "cohort.xlsx"
    wb.save(xlsx)
    args = ("--db", db, "--secret-file", secret)
    assert run_cli("ingest-partner", "cohort", xlsx, *args, "--source", "iom").code == 0
    before = table_dump(db)
    msg = error_line(run_cli("ingest-partner", "cohort", PARTNER / "cohort.csv", *args))
    assert ": line 2: column 'offender_id': " in msg and "join_date" in msg, msg
    assert "'iom'" in msg and "OFF0" not in msg
    assert table_dump(db) == before
    # Replacing the extract under its own name is the way to refresh it.
    ok = run_cli("ingest-partner", "cohort", PARTNER / "cohort.csv", *args, "--source", "iom",
                 "--replace")
    assert ok.code == 0, ok.stderr
    assert len(table_dump(db)["partner_cohort"]) == 100
