"""`saferboard counts` prints one set of rows as its table, CSV and JSON: the same columns
(the --by keys in their order, then count) and the same values, pinned to the raw files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.conftest import cli_ok, run_cli
from tests.csvcount import street_counts
from tests.test_examples import STREET


def test_counts_csv_and_json_are_the_same_rows(base_db: Path) -> None:
    for by in ("crime_type,month", "month,crime_type", "area"):
        rows = json.loads(cli_ok("counts", "--db", base_db, "--by", by, "--format", "json"))
        table = list(csv.reader(io.StringIO(cli_ok("counts", "--db", base_db, "--by", by,
                                                   "--format", "csv"))))
        columns = [*by.split(","), "count"]
        assert rows and table[0] == columns and all(list(r) == columns for r in rows)
        assert table[1:] == [["" if v is None else str(v) for v in r.values()] for r in rows]
    # The values are the raw files' (street rows counted by the csv module).
    assert {r["area"]: r["count"] for r in rows} == dict(street_counts(STREET, "area"))


def test_count_rows_name_the_keys_in_the_order_asked() -> None:
    from saferboard.measures.counts import Counts
    from saferboard.present.counts import count_columns, count_rows

    result = Counts("policeuk", ("month", "category"),
                    (("2024-01", "Violence", 3), ("2024-01", None, 1)))
    assert count_columns(result) == ["month", "category", "count"]
    assert [list(r.items()) for r in count_rows(result)] == [
        [("month", "2024-01"), ("category", "Violence"), ("count", 3)],
        [("month", "2024-01"), ("category", None), ("count", 1)]]
    # No rows: the columns are still known (the CSV's header).
    empty = Counts("mps", ("ward",), ())
    assert count_rows(empty) == [] and count_columns(empty) == ["ward", "count"]
    assert count_rows(Counts("policeuk", (), ((7,),))) == [{"count": 7}]


def test_counts_csv_with_no_rows_keeps_its_header(base_db: Path) -> None:
    text = cli_ok("counts", "--db", base_db, "--by", "area,month", "--from", "1990-01",
                  "--to", "1990-02", "--format", "csv")
    assert list(csv.reader(io.StringIO(text))) == [["area", "month", "count"]]


def test_a_bad_mps_level_is_named_by_its_flag(base_db: Path) -> None:
    r = run_cli("counts", "--db", base_db, "--source", "mps", "--mps-level", "region")
    assert r.code == 1
    assert r.stderr == ("error: column '--mps-level': MPS level must be borough or ward, "
                        "got 'region'\n")
