"""Issue 12: formula-safe CSV from the command line, and control characters refused at every
import with a one-line error naming the file, line and column, the store left as it was."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.core.text import check_text, csv_text, safe_cell
from tests.conftest import EXAMPLES, run_cli, table_dump

PAYLOADS = ['=HYPERLINK("http://attacker.example/","x")', "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_each_trigger_gets_a_quote(payload: str) -> None:
    assert safe_cell(payload) == "'" + payload
    text = csv_text([{"update": payload, "count": -3, "rate": -0.5}])
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    # A carriage return is written as a line break, which every reader keeps in the cell.
    assert row == {"update": "'" + payload.replace("\r", "\n"), "count": "-3",
                   "rate": "-0.5"}


def test_numbers_and_plain_text_are_untouched() -> None:
    assert [safe_cell(v) for v in (-3, -0.5, 0, None, True, "a = b", "ok-")] == \
        [-3, -0.5, 0, None, True, "a = b", "ok-"]


def test_control_characters_are_refused_but_tab_and_newline_are_text() -> None:
    assert check_text("line one\nline two\tend\r\n") == "line one\nline two\tend\r\n"
    with pytest.raises(InputError, match=r"x\.csv: line 3: column 'update': contains a "
                                         r"control character \('\\x00' at position 2\)"):
        check_text("a\x00b", path="x.csv", line=3, column="update")


ACTIONS_HEADER = "action_id,priority,action,agency,lead,due,quarter,plan,update,rag\n"


def _actions_csv(path: Path, updates: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        f.write(ACTIONS_HEADER)
        for i, u in enumerate(updates, start=1):
            w.writerow([f"A{i}", "1. Burglary", f"Action {i}", "Police", "Lead", "2013-03-31",
                        "2012-Q4", "Plan", u, "A"])
    return path


def test_cli_csv_neutralises_payloads_from_an_import(tmp_path: Path) -> None:
    # The import strips surrounding white space, so the tab and CR triggers reach the CLI's
    # CSV only through the writer itself (test_each_trigger_gets_a_quote).
    db = tmp_path / "s.duckdb"
    payloads = PAYLOADS[:4]
    f = _actions_csv(tmp_path / "actions.csv", payloads)
    assert run_cli("ingest-actions", f, "--db", db).code == 0
    r = run_cli("actions", "--quarter", "2012-Q4", "--format", "csv", "--db", db)
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    assert [row["update"] for row in rows] == ["'" + p for p in payloads]


def _refused(db: Path, args: list[str | Path], where: str) -> None:
    before = table_dump(db)
    r = run_cli(*args, "--db", db)
    assert r.code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and where in lines[0] and "control character" in lines[0], \
        r.stderr
    assert table_dump(db) == before


@pytest.fixture
def db_with_examples(tmp_path: Path) -> Path:
    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    return db


def test_action_plan_import_refuses_a_control_character(tmp_path: Path,
                                                        db_with_examples: Path) -> None:
    f = _actions_csv(tmp_path / "actions.csv", ["fine", "bad\x00text"])
    _refused(db_with_examples, ["ingest-actions", f], f"{f}: line 3: column 'update'")


def test_partner_import_refuses_a_control_character(tmp_path: Path,
                                                    db_with_examples: Path) -> None:
    lines = (EXAMPLES / "partner" / "marac.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = next(csv.reader([lines[1]]))
    column = next(i for i, h in enumerate(header) if "source" in h.lower())
    cells[column] = cells[column] + "\x07"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    bad = tmp_path / "marac.csv"
    bad.write_text("\n".join([lines[0], out.getvalue().rstrip("\n"), *lines[2:]]) + "\n",
                   encoding="utf-8")
    secret = tmp_path / "key"
    secret.write_text("k" * 64 + "\n", encoding="utf-8")
    _refused(db_with_examples,
             ["ingest-partner", "marac", bad, "--secret-file", secret],
             f"{bad}: line 2: column {header[column]!r}")


def test_policeuk_import_refuses_a_control_character(tmp_path: Path,
                                                     db_with_examples: Path) -> None:
    src = sorted((EXAMPLES / "policeuk").glob("*-city-of-london-street.csv.gz"))[0]
    with gzip.open(src, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().splitlines()
    lines[5] = lines[5].replace("On or near", "On or\x00near", 1)
    assert "\x00" in lines[5]
    bad = tmp_path / src.name.removesuffix(".gz")
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _refused(db_with_examples, ["ingest", bad], f"{bad}: line 6: column 'text'")


def test_mps_import_refuses_a_control_character(tmp_path: Path,
                                                db_with_examples: Path) -> None:
    src = next((EXAMPLES / "mps").rglob("*.csv*"))
    opener = gzip.open if src.suffix == ".gz" else open
    with opener(src, "rt", encoding="utf-8-sig", newline="") as f:
        lines = f.read().splitlines()
    cells = next(csv.reader([lines[1]]))
    cells[0] = cells[0] + "\x1b"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    bad = tmp_path / src.name.removesuffix(".gz")
    bad.write_text("\n".join([lines[0], out.getvalue().rstrip("\n"), *lines[2:]]) + "\n",
                   encoding="utf-8")
    _refused(db_with_examples, ["ingest", bad], f"{bad}: line 2:")
