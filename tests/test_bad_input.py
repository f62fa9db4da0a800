"""Bad input is refused with one line naming the file (and line/column), and the store is left
exactly as it was; the good paths that protect data (skip, replace, refuse a double count, keep
identical ASB rows) do what they say.

Every bad file is built from a real example file with a deliberate, known corruption, so the
expected line number is known independently of saferboard.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import EXAMPLES, error_line, run_cli, table_dump

POLICEUK = EXAMPLES / "policeuk"
MPS = EXAMPLES / "mps"
SEED_STREET = POLICEUK / "2020-01-city-of-london-street.csv.gz"
SEED_MPS = MPS / "release_2025-02" / "MPS Borough Level Crime (most recent 24 months).csv.gz"
# Sources of the bad files: not in the seeded store, so a wrongly accepted file would show.
STREET = POLICEUK / "2023-03-metropolitan-street.csv.gz"
STREET_NAME = "2023-03-metropolitan-street.csv"
MPS_NEW = MPS / "release_2025-12" / "MPS Borough Level Crime (most recent 24 months).csv.gz"
MPS_NAME = "MPS Borough Level Crime (most recent 24 months).csv"
BAD = 57  # the physical line corrupted on purpose (1 = header)
STREET_FIELDS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                 "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                 "Context"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lines_of(gz: Path) -> list[bytes]:
    """The decompressed file as physical lines, line endings kept."""
    data = gzip.decompress(gz.read_bytes())
    assert b'"' not in data, "the corruptions below split on commas: no quoted fields"
    return data.splitlines(keepends=True)


def with_field(lines: list[bytes], line_no: int, field: str, value: bytes) -> bytes:
    """The file with one field of physical line `line_no` (1-based) replaced."""
    out = list(lines)
    cells = out[line_no - 1].rstrip(b"\r\n").split(b",")
    assert len(cells) == len(STREET_FIELDS)
    assert cells[STREET_FIELDS.index(field)] != b"", "corrupt a field that has a value"
    cells[STREET_FIELDS.index(field)] = value
    out[line_no - 1] = b",".join(cells) + b"\n"
    return b"".join(out)


def assert_located(message: str, line: int | None, column: str | None) -> None:
    assert re.findall(r": line (\d+):", message) == ([str(line)] if line else []), message
    if column is not None:
        assert f"column {column!r}" in message, message


@dataclass(frozen=True)
class Store:
    """A store holding real data, with its contents and bytes taken before the bad command."""

    path: Path
    dump: dict[str, list[tuple[object, ...]]]
    sha: str

    def assert_unchanged(self, *, same_bytes: bool = True) -> None:
        assert table_dump(self.path) == self.dump
        if same_bytes:
            assert sha256(self.path) == self.sha
        assert not self.path.with_name(self.path.name + ".wal").exists()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The seed store, its contents and its bytes' hash, taken once for the module."""
    path = tmp_path_factory.mktemp("seed") / "seed.duckdb"
    run = run_cli("ingest", SEED_STREET, SEED_MPS, "--db", path)
    assert run.code == 0, run.stderr
    dump = table_dump(path)
    assert len(dump["street"]) == sum(1 for _ in csv_records(SEED_STREET))
    assert len(dump["batches"]) == 2
    return Store(path, dump, sha256(path))


@pytest.fixture
def st(seeded: Store, tmp_path: Path) -> Store:
    path = tmp_path / "store.duckdb"
    shutil.copyfile(seeded.path, path)
    # Byte for byte the seed, so the seed's contents are this copy's "before".
    assert sha256(path) == seeded.sha
    return Store(path, seeded.dump, seeded.sha)


def csv_records(path: Path) -> list[list[str]]:
    """Data records (header skipped), read with the csv module: the independent count."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as f:  # type: ignore[operator]
        reader = csv.reader(f)
        next(reader)
        return list(reader)


# ---------------------------------------------------------------------------------------------
# Bad police.uk files: (file name, bytes) -> (expected line, expected column, text in message)

@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[list[bytes]], bytes]
    line: int | None
    column: str | None
    says: str


def _cut(lines: list[bytes], keep: int) -> bytes:
    """The first BAD - 1 lines, then `keep` bytes of line BAD (cut mid-row)."""
    return b"".join(lines[: BAD - 1]) + lines[BAD - 1][:keep]


def _found(lines: list[bytes], keep: int) -> str:
    return f"found {len(lines[BAD - 1][:keep].split(b','))}"


def _zip(name: str, member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return buf.getvalue()


CASES = [
    Case(STREET_NAME, lambda ls: _cut(ls, 100), BAD, None, "truncated"),
    Case(STREET_NAME, lambda ls: _cut(ls, 100) + b"\n", BAD, None, "expected 12 columns"),
    Case(STREET_NAME + ".gz", lambda ls: gzip.compress(b"".join(ls))[:20_000], None, None,
         "gzip"),
    Case(STREET_NAME + ".gz", lambda ls: gzip.compress(_cut(ls, 100)), BAD, None,
         "expected 12 columns"),
    Case(STREET_NAME, lambda ls: b"".join(ls[1:]), 1, None, "unknown layout"),
    Case(STREET_NAME, lambda ls: b"".join([ls[0].replace(b"Longitude", b"Lon"), *ls[1:]]), 1,
         None, "column 5 is 'Lon', expected 'Longitude'"),
    Case(STREET_NAME, lambda ls: b"".join([ls[0].replace(b",Context", b""), *ls[1:]]), 1,
         None, "missing column(s) ['Context']"),
    Case("shops.csv", lambda ls: b"shop,opened,sales\nCorner,2023-03,12\n", 1, None,
         "unknown layout"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Location", b"On or near Caf\xe9 Street"),
         BAD, None, "not UTF-8"),
    Case(STREET_NAME, lambda ls: b"".join([ls[0].replace(b"Location", b"Lieu\xe9"), *ls[1:]]),
         1, None, "not UTF-8"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Month", b"2023-13"), BAD, "Month",
         "invalid month '2023-13'"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Month", b"March 2023"), BAD, "Month",
         "invalid month 'March 2023'"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Month", b"2023-04"), BAD, "Month",
         "month 2023-04 does not match the month in the file name (2023-03)"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Longitude", b"abc"), BAD, "Longitude",
         "not a number: 'abc'"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Longitude", b"20.0"), BAD, "Longitude",
         "outside the UK"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Latitude", b"40.0"), BAD, "Longitude",
         "outside the UK"),
    Case(STREET_NAME, lambda ls: with_field(ls, BAD, "Crime type", b""), BAD, "Crime type",
         "empty Crime type"),
    Case(STREET_NAME, lambda ls: b"", None, None, "empty file"),
    Case(STREET_NAME + ".gz", lambda ls: gzip.compress(b""), 1, None, "empty file"),
    Case(STREET_NAME + ".gz", lambda ls: b"".join(ls), None, None, "not a readable gzip file"),
    Case("2023-03.zip", lambda ls: b"".join(ls), None, None, "not a zip archive"),
    Case("2023-03.zip", lambda ls: _zip("2023-03.zip", f"2023-03/{STREET_NAME}",
                                        with_field(ls, BAD, "Longitude", b"20.0")),
         BAD, "Longitude", f"2023-03.zip!2023-03/{STREET_NAME}"),
    Case("street-march-2023.csv", lambda ls: b"".join(ls), None, None,
         "cannot tell the force and month from the file name"),
]
CASE_IDS = ["truncated-no-newline", "truncated-mid-row", "truncated-gzip-stream",
            "truncated-inside-gzip", "missing-header", "renamed-column", "missing-column",
            "unknown-layout", "non-utf8-row", "non-utf8-header", "month-13", "month-text",
            "month-not-file-month", "longitude-text", "longitude-20", "latitude-40",
            "empty-crime-type", "empty-file", "empty-gzip", "gz-not-gzip", "zip-not-zip",
            "zip-member-bad-row", "unparseable-name"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_bad_policeuk_file_is_refused_and_store_unchanged(case: Case, st: Store, tmp_path):
    bad = tmp_path / "in" / case.name
    bad.parent.mkdir()
    bad.write_bytes(case.build(lines_of(STREET)))
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert case.name in message
    assert case.says in message
    assert_located(message, case.line, case.column)
    st.assert_unchanged()


def test_truncated_row_reports_found_columns(st: Store, tmp_path):
    lines = lines_of(STREET)
    bad = tmp_path / STREET_NAME
    bad.write_bytes(_cut(lines, 100) + b"\n")
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert _found(lines, 100) in message
    st.assert_unchanged()


# ---------------------------------------------------------------------------------------------
# A bad row deep in a big file: line numbers stay exact when DuckDB reads in parallel buffers.

@pytest.fixture(scope="module")
def big_lines() -> list[bytes]:
    lines = lines_of(STREET)
    out = [lines[0]]
    while len(out) < 250_001:
        out.extend(lines[1:])
    return out[:250_001]


@pytest.mark.parametrize(("field", "value", "column", "says"), [
    ("Longitude", b"abc", "Longitude", "not a number: 'abc'"),
    ("Longitude", b"20.0", "Longitude", "outside the UK"),
    ("Month", b"2023-13", "Month", "invalid month '2023-13'"),
])
def test_bad_row_deep_in_big_file_has_exact_line(big_lines, field, value, column, says, st,
                                                 tmp_path):
    line = 200_001
    while big_lines[line - 1].split(b",")[STREET_FIELDS.index(field)] == b"":
        line += 1
    bad = tmp_path / STREET_NAME
    bad.write_bytes(with_field(big_lines, line, field, value))
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert STREET_NAME in message and says in message
    assert_located(message, line, column)
    # DuckDB writes a big insert's row groups to the file before commit; the rollback frees
    # those blocks, so the contents are as they were but the bytes (and size) are not.
    st.assert_unchanged(same_bytes=False)


# ---------------------------------------------------------------------------------------------
# Bad MPS tables

def mps_rows() -> list[list[str]]:
    with gzip.open(MPS_NEW, "rt", encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return path


def test_mps_non_numeric_count_names_line_and_month_column(st: Store, tmp_path):
    rows = mps_rows()
    month_col = 3 + 4
    header = rows[0][month_col]
    assert re.fullmatch(r"\d{6}", header)
    assert rows[BAD - 1][month_col].isdigit()
    rows[BAD - 1][month_col] = "n/a"
    bad = write_rows(tmp_path / MPS_NAME, rows)
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert MPS_NAME in message and "'n/a'" in message
    assert_located(message, BAD, header)
    st.assert_unchanged()


def test_mps_bad_month_header(st: Store, tmp_path):
    rows = mps_rows()
    rows[0][10] = "202313"
    bad = write_rows(tmp_path / MPS_NAME, rows)
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert MPS_NAME in message and "invalid month column header '202313'" in message
    assert_located(message, 1, None)
    st.assert_unchanged()


def test_mps_short_row(st: Store, tmp_path):
    rows = mps_rows()
    width = len(rows[0])
    rows[BAD - 1] = rows[BAD - 1][:5]
    bad = write_rows(tmp_path / MPS_NAME, rows)
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert MPS_NAME in message and f"expected {width} columns, found 5" in message
    assert_located(message, BAD, None)
    st.assert_unchanged()


def test_mps_non_utf8(st: Store, tmp_path):
    data = gzip.decompress(MPS_NEW.read_bytes()).replace(b"Barnet", b"B\xe4rnet", 1)
    bad = tmp_path / MPS_NAME
    bad.write_bytes(data)
    message = error_line(run_cli("ingest", bad, "--db", st.path))
    assert MPS_NAME in message and "not UTF-8" in message
    st.assert_unchanged()


# ---------------------------------------------------------------------------------------------
# The database, the command as a whole, and --debug

def test_database_that_is_not_duckdb_is_left_byte_for_byte(tmp_path):
    notdb = tmp_path / "notes.txt"
    notdb.write_bytes(b"Board meeting notes\nnot a database\n")
    message = error_line(run_cli("ingest", STREET, "--db", notdb))
    assert "notes.txt" in message and "not a DuckDB database" in message
    assert notdb.read_bytes() == b"Board meeting notes\nnot a database\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_other_duckdb_database_is_refused_and_untouched(tmp_path):
    other = tmp_path / "other.duckdb"
    c = duckdb.connect(str(other))
    c.execute("CREATE TABLE finance (x INTEGER)")
    c.execute("INSERT INTO finance VALUES (1), (2)")
    c.close()
    before = (table_dump(other), sha256(other))
    message = error_line(run_cli("ingest", STREET, "--db", other))
    assert "other.duckdb" in message and "not a saferboard store" in message
    assert (table_dump(other), sha256(other)) == before


def test_missing_input_path(st: Store, tmp_path):
    message = error_line(run_cli("ingest", tmp_path / "nope.csv", "--db", st.path))
    assert "nope.csv" in message and "no such file" in message
    st.assert_unchanged()


def test_command_with_last_file_bad_loads_nothing(st: Store, tmp_path):
    good = [POLICEUK / "2023-04-metropolitan-street.csv.gz",
            POLICEUK / "2023-05-metropolitan-street.csv.gz", MPS_NEW]
    bad = tmp_path / STREET_NAME
    bad.write_bytes(with_field(lines_of(STREET), BAD, "Longitude", b"20.0"))
    message = error_line(run_cli("ingest", *good, bad, "--db", st.path))
    assert STREET_NAME in message
    assert_located(message, BAD, "Longitude")
    st.assert_unchanged()
    # The same good files on their own do load: only the bad last file stopped them.
    run = run_cli("ingest", *good, "--db", st.path)
    assert run.code == 0, run.stderr
    after = table_dump(st.path)
    assert len(after["batches"]) == len(st.dump["batches"]) + 3
    assert len(after["street"]) == len(st.dump["street"]) + sum(
        len(csv_records(p)) for p in good[:2])


def test_failed_ingest_into_new_database_leaves_no_file(tmp_path):
    bad = tmp_path / "in" / STREET_NAME
    bad.parent.mkdir()
    bad.write_bytes(with_field(lines_of(STREET), BAD, "Month", b"2023-13"))
    db = tmp_path / "new.duckdb"
    message = error_line(run_cli("ingest", bad, "--db", db))
    assert_located(message, BAD, "Month")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_debug_shows_the_traceback(st: Store, tmp_path):
    bad = tmp_path / STREET_NAME
    bad.write_bytes(with_field(lines_of(STREET), BAD, "Longitude", b"20.0"))
    run = run_cli("--debug", "ingest", bad, "--db", st.path)
    assert run.code != 0
    assert "Traceback (most recent call last)" in run.stderr
    assert f"InputError: {bad}: line {BAD}: column 'Longitude'" in run.stderr
    st.assert_unchanged()


# ---------------------------------------------------------------------------------------------
# Good paths that protect data

def test_reimporting_the_same_file_is_skipped(st: Store):
    run = run_cli("ingest", SEED_STREET, "--db", st.path)
    assert run.code == 0, run.stderr
    assert "skipped (identical)" in run.stdout
    assert "0 rows loaded from 0 file(s); 1 identical file(s) skipped." in run.stdout
    assert table_dump(st.path) == st.dump


def street_multiset(db: Path, where: str, params: list[object]) -> Counter[tuple[object, ...]]:
    c = duckdb.connect(str(db), read_only=True)
    try:
        rows = c.execute(
            "SELECT crime_id, strftime(month, '%Y-%m'), reported_by, falls_within, longitude, "
            "latitude, location, lsoa_code, lsoa_name, crime_type, last_outcome, context "
            f"FROM street WHERE {where}", params).fetchall()
    finally:
        c.close()
    return Counter(rows)


def csv_multiset(records: list[list[str]]) -> Counter[tuple[object, ...]]:
    def cell(i: int, v: str) -> object:
        if v == "":
            return None
        return float(v) if STREET_FIELDS[i] in ("Longitude", "Latitude") else v
    return Counter(tuple(cell(i, v) for i, v in enumerate(r)) for r in records)


def test_changed_version_of_a_batch_replaces_it(st: Store, tmp_path):
    lines = lines_of(SEED_STREET)
    removed = next(i for i, ln in enumerate(lines) if i > 0 and not ln.startswith(b","))
    removed_id = lines[removed].split(b",")[0].decode()
    changed = tmp_path / "revised" / SEED_STREET.name
    changed.parent.mkdir()
    changed.write_bytes(gzip.compress(b"".join(lines[:removed] + lines[removed + 1:])))
    records = csv_records(changed)
    assert len(records) == len(csv_records(SEED_STREET)) - 1

    run = run_cli("ingest", changed, "--db", st.path)
    assert run.code == 0, run.stderr
    assert "replaced" in run.stdout
    after = table_dump(st.path)
    c = duckdb.connect(str(st.path), read_only=True)
    try:
        batches = c.execute(
            "SELECT batch_id, row_count, path FROM batches WHERE source = 'policeuk' "
            "AND force = 'city-of-london' AND month = DATE '2020-01-01'").fetchall()
        per_batch = c.execute(
            "SELECT batch_id, count(*) FROM street GROUP BY 1 ORDER BY 1").fetchall()
        gone = c.execute("SELECT count(*) FROM street WHERE crime_id = ?",
                         [removed_id]).fetchall()
    finally:
        c.close()
    assert len(batches) == 1
    assert batches[0][1] == len(records) and batches[0][2] == str(changed)
    assert per_batch == [(batches[0][0], len(records))]
    assert gone == [(0,)]
    assert street_multiset(st.path, "true", []) == csv_multiset(records)
    assert after["mps_counts"] == st.dump["mps_counts"]


def test_same_content_under_another_name_is_refused(st: Store, tmp_path):
    other = tmp_path / "2020-01-cityoflondon-street.csv.gz"
    shutil.copyfile(SEED_STREET, other)
    message = error_line(run_cli("ingest", other, "--db", st.path))
    assert other.name in message and "identical content is already loaded" in message
    assert str(SEED_STREET) in message
    st.assert_unchanged()


def test_same_content_twice_in_one_command_is_refused(st: Store, tmp_path):
    first = POLICEUK / "2023-04-metropolitan-street.csv.gz"
    twin = tmp_path / "2023-04-met-street.csv.gz"
    shutil.copyfile(first, twin)
    message = error_line(run_cli("ingest", first, twin, "--db", st.path))
    assert twin.name in message and "identical content" in message
    st.assert_unchanged()


def test_identical_asb_rows_are_all_kept(tmp_path):
    records = csv_records(SEED_STREET)
    want = csv_multiset(records)
    duplicated = {row: n for row, n in want.items() if n > 1}
    assert duplicated, "the example file has identical rows"
    assert all(row[0] is None and row[9] == "Anti-social behaviour" for row in duplicated)
    db = tmp_path / "asb.duckdb"
    run = run_cli("ingest", SEED_STREET, "--db", db)
    assert run.code == 0, run.stderr
    got = street_multiset(db, "true", [])
    assert sum(got.values()) == len(records)
    assert got == want


def test_errors_name_parameters_and_each_boundary_its_own_words() -> None:
    """Below the CLI an error names the library's parameter; the CLI renders it as its flag
    (the one-line shape `column '--cell-size': ...`), the web as its query field."""
    from saferboard.cli.common import error_text, flag
    from saferboard.core.errors import InputError

    e = InputError("cell size must be positive, got 0", param="cell_size")
    assert str(e) == "parameter 'cell_size': cell size must be positive, got 0"
    assert error_text(e) == "column '--cell-size': cell size must be positive, got 0"
    assert e.message(word="field") == "field 'cell_size': cell size must be positive, got 0"
    assert [flag(p) for p in ("start", "end", "top_n", "min_days")] == [
        "--from", "--to", "--top", "--min-days"]
