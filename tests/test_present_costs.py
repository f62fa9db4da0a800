"""The cost of crime's categories are formatted once (saferboard.present.costs): the CLI's
JSON `categories`, its table and CSV, and the pack's cost page have the same names and
figures."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

from saferboard import store
from saferboard.core import categories
from saferboard.core.crime_costs import load_unit_costs
from saferboard.present.costs import PACK_COLUMNS, CostRowOut
from tests.conftest import cli_ok


def test_costs_json_csv_and_pack_share_one_row(partner_db: Path) -> None:
    from saferboard.measures.dashboard import load_sources
    from saferboard.report.cohort import cost_section

    args = ["costs", "--db", str(partner_db), "--area", "Barnet", "--month", "2025-12"]
    body = json.loads(cli_ok(*args, "--format", "json"))
    rows = body["categories"]
    assert rows and all(list(r) == list(CostRowOut.model_fields) for r in rows)
    table = list(csv.DictReader(io.StringIO(cli_ok(*args, "--format", "csv"))))
    assert list(table[0]) == list(CostRowOut.model_fields)
    assert table[-1]["category"] == "Total (priced categories)"
    assert int(table[-1]["cost"]) == body["total_cost"]
    for got, want in zip(table[:-1], rows, strict=True):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}
    con = store.connect(partner_db, read_only=True)
    try:
        sources = load_sources(con, categories.load())
    finally:
        con.close()
    section, notes = cost_section(sources, categories.load(), load_unit_costs(), "Barnet",
                                  date(2025, 12, 1))
    assert section is not None and notes == []
    assert list(section.rows) == [{k: r[k] for k in PACK_COLUMNS} for r in rows]
