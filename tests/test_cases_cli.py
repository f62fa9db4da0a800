"""The case register from the command line: import, reports, agenda, purge, SAR, and the
refusals (no key, bad files), all in-process (run_cli)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.casedata import CASES_HEADER, PUBLISHED, case_row, key_file, published_year, write_csv
from tests.conftest import cli_ok, cli_refusal, needs_shared, run_cli

INCIDENTS = ["case_ref", "date", "reported_to", "description"]
APPS = ["application_ref", "case_ref", "received", "review_date", "recommendations"]


@pytest.fixture
def reg(tmp_path):
    key = key_file(tmp_path)
    db = tmp_path / "reg.sqlite"
    return tmp_path, ["--key-file", key, "--cases-db", db]


def test_ingest_due_stats_agenda(reg):
    tmp, opts = reg
    cases = write_csv(tmp / "cases.csv", CASES_HEADER, [
        case_row("H1", "2024-05-01", level="high"),
        case_row("M1", "10/04/2024", level="medium"),
        case_row("S1", "2024-05-01", level="standard"),
        case_row("X1", "2024-01-01", closed="2024-02-01", level="high"),
    ])
    reviews = write_csv(tmp / "reviews.csv", ["case_ref", "date", "outcome"],
                        [["M1", "2024-04-20", "seen"]])
    incidents = write_csv(tmp / "inc.csv", INCIDENTS, [
        ["H1", "2024-03-01", "police", "a"], ["H1", "2024-04-01", "council", ""],
        ["H1", "2024-05-01", "Housing Provider", ""]])
    apps = write_csv(tmp / "apps.csv", APPS, [["A1", "H1", "2024-05-02", "", ""]])
    for kind, f in (("cases", cases), ("reviews", reviews), ("incidents", incidents),
                    ("case_reviews", apps)):
        assert "imported" in cli_ok("ingest-cases", kind, f, *opts)
    text = cli_ok("ingest-cases", "incidents", incidents, *opts)
    assert "skipped" in text  # identical file: not counted twice

    text = cli_ok("cases", "due", "--as-of", "2024-05-08", "--format", "json", *opts)
    # H1 high: opened 05-01 + 7 = 05-08 (due today); M1 medium: review 04-20 + 14 = 05-04;
    # S1 standard: 05-01 + 28 = 05-29, not due; X1 closed.
    assert json.loads(text) == [
        {"case_ref": "M1", "risk_level": "medium", "due": "2024-05-04", "overdue_days": 4},
        {"case_ref": "H1", "risk_level": "high", "due": "2024-05-08", "overdue_days": 0}]
    text = cli_ok("cases", "due", "--as-of", "2024-05-08", *opts)
    assert "M1" in text and "S1" not in text

    text = cli_ok("cases", "stats", "--year", "2024/25", "--format", "json", *opts)
    figures = json.loads(text)
    assert {k: figures[k] for k in ("applications", "threshold_not_met", "reviews_carried_out",
                                    "reviews_with_recommendations")} \
        == {"applications": 1, "threshold_not_met": 0, "reviews_carried_out": 0,
            "reviews_with_recommendations": 0}

    text = cli_ok("cases", "agenda", "--as-of", "2024-05-08", "--format", "json", *opts)
    agenda = json.loads(text)
    assert [d["case_ref"] for d in agenda["due"]] == ["M1", "H1"]
    assert [c["case_ref"] for c in agenda["new_high_risk"]] == ["H1"]
    assert agenda["open_applications"][0]["threshold_met"] is True
    html = cli_ok("cases", "agenda", "--as-of", "2024-05-08", *opts)
    assert html.startswith("<!doctype html>") and "H1" in html and "Ann Example" not in html
    cli_ok("cases", "agenda", "--as-of", "2024-05-08", "--format", "pdf", "--out",
           tmp / "agenda.pdf", *opts)
    assert (tmp / "agenda.pdf").read_bytes().startswith(b"%PDF")

    text = cli_ok("cases", "assess", "S1", "--yes", "unsafe_home", "--date",
                        "2024-05-02", *opts)
    assert "level high" in text
    text = cli_ok("cases", "due", "--as-of", "2024-05-09", "--format", "json", *opts)
    assert {"case_ref": "S1", "risk_level": "high", "due": "2024-05-08",
            "overdue_days": 1} in json.loads(text)


@needs_shared
def test_stafford_published_table_reproduced_through_the_cli(reg):
    """Stafford's six published years (2018/19-2023/24), rebuilt as applications with those
    figures, imported as spreadsheets and read back with `cases stats`."""
    import csv

    tmp, opts = reg
    with PUBLISHED.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["council"].startswith("Stafford")]
    assert len(rows) == 6
    cases, incidents, apps = [], [], []
    for r in rows:
        c, i, a = published_year(r["year"], int(r["applications_received"]),
                                 int(r["threshold_not_met"]), int(r["reviews_carried_out"]),
                                 int(r["reviews_with_recommendations"]))
        cases += c
        incidents += i
        apps += a
    cli_ok("ingest-cases", "cases", write_csv(tmp / "c.csv", CASES_HEADER, cases), *opts)
    cli_ok("ingest-cases", "incidents", write_csv(tmp / "i.csv", INCIDENTS, incidents), *opts)
    cli_ok("ingest-cases", "case_reviews", write_csv(tmp / "a.csv", APPS, apps), *opts)
    for r in rows:
        text = cli_ok("cases", "stats", "--year", r["year"], "--format", "json", *opts)
        got = json.loads(text)
        assert [got["applications"], got["threshold_not_met"], got["reviews_carried_out"],
                got["reviews_with_recommendations"]] == [
            int(r["applications_received"]), int(r["threshold_not_met"]),
            int(r["reviews_carried_out"]), int(r["reviews_with_recommendations"])], r["year"]


def test_purge_and_sar(reg):
    tmp, opts = reg
    cases = write_csv(tmp / "cases.csv", CASES_HEADER, [
        case_row("OLD", "2010-01-01", closed="2018-12-31", name="Olive Oldcase",
                 dob="1950-05-05"),
        case_row("NEW", "2023-01-01", name="Nora Newcase", dob="1980-08-08"),
    ])
    cli_ok("ingest-cases", "cases", cases, *opts)
    text = cli_ok("cases", "purge", "--as-of", "2025-01-01", "--dry-run", *opts)
    assert "OLD" in text and "would remove" in text
    text = cli_ok("cases", "sar", "--name", "Olive Oldcase", "--dob", "1950-05-05",
                        "--out", tmp / "sar", "--no-pdf", *opts)
    export = json.loads((tmp / "sar" / "sar.json").read_text())
    assert export["person_records"] == 1
    assert export["cases"][0]["people"][0]["name"] == "Olive Oldcase"
    assert "Nora" not in (tmp / "sar" / "sar.json").read_text()
    assert (tmp / "sar" / "sar.json").stat().st_mode & 0o077 == 0
    text = cli_ok("cases", "purge", "--as-of", "2025-01-01", *opts)
    assert "removed the personal data of 1 person record" in text
    text = cli_ok("cases", "sar", "--name", "Olive Oldcase", "--dob", "1950-05-05",
                        "--out", tmp / "sar2", "--no-pdf", *opts)
    assert json.loads((tmp / "sar2" / "sar.json").read_text())["person_records"] == 0
    text = cli_ok("cases", "show", "OLD", *opts)
    shown = json.loads(text)
    assert shown["purged_at"] and shown["people"][0]["name"] is None
    assert shown["people"][0]["role"] == "victim"  # the count of victims survives


def test_sar_pdf(reg):
    tmp, opts = reg
    cli_ok("ingest-cases", "cases", write_csv(tmp / "c.csv", CASES_HEADER, [
        case_row("P1", "2023-01-01", name="Pia Pdfperson", dob="1980-08-08")]), *opts)
    cli_ok("cases", "sar", "--name", "Pia Pdfperson", "--dob", "1980-08-08", "--out",
           tmp / "s", *opts)
    assert (tmp / "s" / "sar.pdf").read_bytes().startswith(b"%PDF")


def test_refuses_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SAFERBOARD_CASE_KEY_FILE", raising=False)
    db = tmp_path / "reg.sqlite"
    assert "token_urlsafe" in cli_refusal(
        "ingest-cases", "cases", write_csv(tmp_path / "c.csv", CASES_HEADER,
                                           [case_row("C1", "2024-01-01")]), "--cases-db", db)
    assert not db.exists()
    short = tmp_path / "short.key"
    short.write_text("too-short\n")
    assert "at least 32" in cli_refusal("cases", "due", "--as-of", "2024-01-01", "--cases-db",
                                        db, "--key-file", short)


def test_environment_variables_and_missing_register(tmp_path, monkeypatch):
    key = key_file(tmp_path)
    db = tmp_path / "env.sqlite"
    monkeypatch.setenv("SAFERBOARD_CASE_KEY_FILE", str(key))
    monkeypatch.setenv("SAFERBOARD_CASES_DB", str(db))
    assert "no case register here" in cli_refusal("cases", "stats", "--year", "2024/25")
    assert not db.exists()  # a report never creates an empty register
    cli_ok("ingest-cases", "cases", write_csv(tmp_path / "c.csv", CASES_HEADER,
                                              [case_row("E1", "2024-01-01", level="high")]))
    assert db.exists()
    assert json.loads(cli_ok("cases", "due", "--as-of", "2024-01-08", "--format", "json")) \
        == [{"case_ref": "E1", "risk_level": "high", "due": "2024-01-08", "overdue_days": 0}]


def test_subprocess_error_shape(tmp_path):
    """No key: exit 1 and one line on stderr saying how to create one. A bad cell: one line
    naming file, line and column, without the cell's value, and no database left behind."""
    r = run_cli("cases", "due", "--as-of", "2024-01-01", "--cases-db", tmp_path / "x.sqlite",
                env={"PATH": "/usr/bin:/bin"})
    assert r.code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.startswith("error: ") and "secrets.token_urlsafe(48)" in r.stderr
    key = key_file(tmp_path)
    bad = write_csv(tmp_path / "bad.csv", CASES_HEADER, [
        case_row("C1", "2024-01-01"), case_row("C2", "2024-01-01", dob="31/02/1977")])
    db = tmp_path / "reg.sqlite"
    r = run_cli("ingest-cases", "cases", bad, "--key-file", key, "--cases-db", db)
    assert r.code == 1
    assert r.stderr.strip() == (f"error: {bad}: line 3: column 'victim_dob': not a date "
                                "(YYYY-MM-DD or DD/MM/YYYY)")
    assert not db.exists() and not Path(f"{db}-wal").exists()
