"""The pack's money and governance sections: built from the store, shown only when their data
is present, with the seed's figures; and their XLSX sheets."""

from __future__ import annotations

import re
from datetime import date
from html import unescape
from pathlib import Path

import duckdb

from saferboard.cli.demo import DemoResult
from saferboard.report.governance import governance_context, governance_sheets
from saferboard.report.pack import _environment
from saferboard.sources.governance import ingest_actions, ingest_returns, save_models
from tests.conftest import EXAMPLES


def render(governance: dict[str, object]) -> str:
    html = _environment().get_template("_governance.html.j2").render(governance=governance)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def load_examples(con: duckdb.DuckDBPyConnection) -> None:
    save_models(con, "cba", sorted((EXAMPLES / "cba").glob("*.toml")))
    save_models(con, "appraisal", [EXAMPLES / "appraisal" / "obc_table4.toml"])
    ingest_returns(con, sorted((EXAMPLES / "projects").glob("mopac_returns_*.xlsx")))
    ingest_actions(con, [EXAMPLES / "actions" / "action_plan_2012-13_q4.xlsx"])


def test_sections_absent_without_data(con: duckdb.DuckDBPyConnection) -> None:
    governance, notes = governance_context(con, date(2025, 12, 1))
    assert governance == {"vfm": None, "projects": None, "actions": None}
    assert [n.split(":")[0] for n in notes] == ["Value for money", "Funded projects",
                                                "Action plan"]
    assert render(governance) == ""
    assert governance_sheets(governance) == []


def test_sections_with_the_seed_data(con: duckdb.DuckDBPyConnection) -> None:
    load_examples(con)
    governance, notes = governance_context(con, date(2025, 12, 1))
    assert notes == []
    text = render(governance)
    for heading in ("Value for money", "Funded projects", "Action plan"):
        assert heading in text
    # Table 1 of the OBC, all four interventions together.
    assert ("Total £795,424 (£223,214) £572,210 (£127,317) £444,893") in text
    assert "Police £298,757 (£98,400) £200,357 (£38,100) £162,257" in text
    assert "Conditional Cautions" in text and "(£87,060)" in text
    assert "Neighbourhood Justice Panels (NJPs) 2.80" in text
    # Funded projects: latest returns up to the pack month are 2016/17 Q4.
    assert "Quarterly returns for 2016-Q4" in text
    assert "Homes receiving Safer Homes interventions" in text and "126 homes" in text
    # Action plan: the seed's Q4 2012/13 update, no RAGs given.
    assert "2012-Q4 updates as of 2013-03-31" in text
    assert "Publish a communications strategy" in text
    for bad in ("None", "nan", "undefined"):
        assert not re.search(rf"\b{bad}\b", text), bad
    sheets = dict(governance_sheets(governance))
    assert set(sheets) == {"VfM cost-benefit", "VfM summary", "VfM appraisal",
                           "Funded projects", "Action plan"}
    total = next(r for r in sheets["VfM cost-benefit"]
                 if r["intervention"] == "All" and r["partner"] == "Total")
    assert round(total["year1_impact"]) == 444_893
    assert len(sheets["Action plan"]) == 35


def test_projects_follow_the_pack_month(con: duckdb.DuckDBPyConnection) -> None:
    load_examples(con)
    governance, notes = governance_context(con, date(2016, 2, 1))  # 2015/16 Q4
    assert governance["projects"]["quarter"] == "2015-Q4"
    early, notes = governance_context(con, date(2012, 6, 1))
    assert early["projects"] is None and early["actions"] is None
    assert any(n.startswith("Funded projects: no quarterly return") for n in notes)


def test_cba_xlsx_from_the_cli(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from saferboard.cli.governance import run_cba
    from saferboard.report.governance import write_cba_xlsx

    out = tmp_path / "cba.xlsx"
    write_cba_xlsx(run_cba(sorted((EXAMPLES / "cba").glob("*.toml"))), out)
    wb = load_workbook(out)
    rows = list(wb["All"].iter_rows(values_only=True))
    header = rows[0]
    total = dict(zip(header, rows[-1], strict=True))
    assert total["partner"] == "Total" and round(total["annual_impact"]) == 572_210


def test_governance_commands_have_help_and_are_in_the_readme() -> None:
    from tests.conftest import ROOT, cli_ok

    readme = (ROOT / "README.md").read_text()
    for command in ("cba", "appraise", "ingest-returns", "projects", "ingest-actions",
                    "actions"):
        doc = cli_ok(command, "--help")
        assert len(doc.split("Options")[0].strip().splitlines()) >= 2, command
        assert f"saferboard {command}" in readme, command


def test_cli_save_models_for_the_pack(tmp_path: Path) -> None:
    from saferboard import store
    from tests.conftest import run_cli

    db = tmp_path / "s.duckdb"
    cc = EXAMPLES / "cba" / "conditional_cautions.toml"
    r = run_cli("cba", cc, "--save", "--db", db, "--format", "json")
    assert r.code == 0, r.stderr
    assert "saved 'Conditional Cautions' for the board pack (new)" in r.stderr
    r = run_cli("cba", cc, "--save", "--db", db, "--format", "json")
    assert "(unchanged)" in r.stderr
    r = run_cli("appraise", EXAMPLES / "appraisal" / "obc_table4.toml", "--save", "--db", db)
    assert r.code == 0, r.stderr
    con = store.connect(db)
    try:
        governance, notes = governance_context(con, date(2025, 12, 1))
    finally:
        con.close()
    vfm = governance["vfm"]
    assert [i["name"] for i in vfm["interventions"]] == ["Conditional Cautions"]
    assert vfm["combined"] == []  # one model: no "All" table
    assert vfm["appraisals"][0]["rows"][0]["option"] == "Neighbourhood Justice Panels (NJPs)"
    assert [n.split(":")[0] for n in notes] == ["Funded projects", "Action plan"]


def test_demo_pack_has_the_sections_and_sheets(demo: DemoResult) -> None:
    import subprocess

    from openpyxl import load_workbook

    result = demo
    text = subprocess.run(["pdftotext", "-layout", str(result.pack.pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    for heading in ("Value for money", "Value for money: options appraisal", "Funded projects",
                    "Action plan"):
        assert re.search(rf"^\s*{re.escape(heading)}\s*$", text, re.M), heading
        assert re.search(rf"{re.escape(heading)} \.+ \d+", text), f"contents: {heading}"
    flat = " ".join(text.split())
    assert "Total £795,424 (£223,214) £572,210 (£127,317) £444,893" in flat
    assert not any(n.startswith(("Value for money", "Funded projects", "Action plan"))
                   for n in result.pack.notes)
    assert result.pack.xlsx is not None
    wb = load_workbook(result.pack.xlsx, read_only=True)
    assert {"VfM cost-benefit", "VfM summary", "VfM appraisal", "Funded projects",
            "Action plan"} <= set(wb.sheetnames)
    rows = list(wb["Funded projects"].iter_rows(values_only=True))
    header = rows[0]
    homes = [dict(zip(header, r, strict=True)) for r in rows[1:]
             if r[header.index("kpi")] == "Homes receiving Safer Homes interventions"]
    assert [(h["target"], h["actual"], h["kpi_rag"]) for h in homes] == [(80, 126, "Green")]
    wb.close()


def test_projects_and_actions_are_laid_out_from_the_row_models(
        con: duckdb.DuckDBPyConnection) -> None:
    """The pack's tables print the present.governance rows (the CLI's, the API's, the
    XLSX's): a confirmed RAG beside the calculated or reported one, the lock, the figures."""
    from datetime import datetime

    from saferboard.store.locks import confirm_rag, lock_quarter

    load_examples(con)
    confirm_rag(con, "project", "EIOM", "2016-Q4", "R", reported_rag=None,
                confirmed_by="mgr", at=datetime(2017, 4, 2, 10, 0))
    confirm_rag(con, "action", "AP1.01", "2012-Q4", "A", reported_rag=None,
                confirmed_by="mgr", at=datetime(2013, 4, 2, 10, 0))
    lock_quarter(con, "2016-Q4", locked_by="mgr", at=datetime(2017, 4, 3, 10, 0))
    governance, _ = governance_context(con, date(2017, 3, 1))
    assert "report" not in governance["projects"] and "report" not in governance["actions"]
    text = render(governance)
    assert "Quarterly returns for 2016-Q4 (financial year 2016/17)" in text
    assert "Quarter locked by mgr on 2017-04-03." in text
    (eiom,) = [r for r in governance["projects"]["rows"] if r["project_id"] == "EIOM"]
    assert (eiom["confirmed_rag"], eiom["project_rag"]) == ("Red", "Green")
    assert (f"{eiom['project']} {eiom['agency']}; {eiom['funder']} R Red (confirmed; "
            f"calculated G) {eiom['kpi']}") in text
    ap = next(r for r in governance["actions"]["rows"] if r["action_id"] == "AP1.01")
    assert (ap["confirmed_rag"], ap["rag"]) == ("Amber", "-")
    assert "A Amber (confirmed; reported none)" in text
    assert "2012-Q4 updates as of 2013-03-31" in text and "locked" not in text.split(
        "2012-Q4 updates as of 2013-03-31")[1][:30]
