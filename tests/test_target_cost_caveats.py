"""Targets and the cost of crime say when their counts are incomplete (issue 14, items 2-3):
rows whose labels could not be placed in a target's category make its actual a lower bound
(status withheld, caveat naming the label and crimes); chart months without 12 months of data
are named; the cost report names unplaced rows and how they were costed.

The fixture is test_completeness's Title Case release with an unknown burglary minor label
('Burglary of a Shed') carrying rows from 2025-07 only; expected crimes are summed from its
raw cells.
"""

from __future__ import annotations

import json
from datetime import date
from importlib import resources

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import Target
from saferboard.core.crime_costs import load_unit_costs
from saferboard.measures.costs import cost_report
from saferboard.measures.dashboard import load_sources, source_for
from saferboard.measures.targets import target_status
from tests.conftest import run_cli
from tests.test_completeness import REF, SHED, build, raw_sum


@pytest.fixture(scope="module")
def shed(tmp_path_factory):
    db, cells = build(tmp_path_factory.mktemp("shed_targets"), [SHED])
    con = store.connect(db, read_only=True)
    try:
        sources = load_sources(con, categories.load())
    finally:
        con.close()
    return db, cells, sources


def _status(sources, cats, category, month, start=date(2025, 1, 1)):
    t = Target("t", category, 1000, -10.0, start, date(2026, 12, 1))
    return target_status(source_for(sources, cats, "Barnet", category), cats, t, "Barnet",
                         month)


def test_target_below_unplaced_rows_is_incomplete_and_not_rated(shed, cats):
    _, cells, sources = shed
    s = _status(sources, cats, "Residential burglary", REF)
    shed_crimes = raw_sum(cells, "Barnet", {SHED}, date(2025, 1, 1), REF)
    assert shed_crimes > 0
    assert not s.complete and s.status == "not rated"
    assert s.actual is not None and s.projected_end is not None  # figures kept, verdict not
    label_caveat = s.caveats[0]
    assert "'Burglary / Burglary of a Shed'" in label_caveat
    assert f"{shed_crimes:,} crimes in the 12 months to 2025-12" in label_caveat
    # Chart points 2025-07..2025-11 also hold shed rows: named as lower bounds.
    assert any("5 earlier month(s) (2025-07, 2025-08, 2025-09, 2025-10, 2025-11)" in c
               for c in s.caveats)


def test_target_where_the_rows_are_placed_is_complete(shed, cats):
    _, _, sources = shed
    s = _status(sources, cats, "Burglary", REF)  # the shed rows count under Burglary itself
    assert s.complete and s.caveats == () and s.status in ("Green", "Amber", "Red")


def test_target_before_the_unplaced_rows_is_complete(shed, cats):
    _, _, sources = shed
    s = _status(sources, cats, "Residential burglary", date(2025, 6, 1))
    assert s.complete and s.caveats == () and s.status in ("Green", "Amber", "Red")


def test_target_chart_months_without_data_are_named(shed, cats):
    _, _, sources = shed
    # Data start 2023-01: the rolling 12 months of 2023-06..2023-11 start before it.
    s = _status(sources, cats, "Burglary", REF, start=date(2023, 6, 1))
    assert s.complete
    (caveat,) = s.caveats
    assert caveat.startswith("No actual for 6 month(s) of the chart (2023-06, 2023-07")
    assert [p.month for p in s.points if p.actual is None and p.month <= REF] == [
        date(2023, m, 1) for m in range(6, 12)]


def test_cost_report_names_unplaced_rows(shed, cats):
    _, cells, sources = shed
    r = cost_report(sources, cats, load_unit_costs(), "Barnet", REF)
    assert not r.complete
    (caveat,) = r.caveats
    now = raw_sum(cells, "Barnet", {SHED}, date(2025, 1, 1), REF)
    assert f"Incomplete: {now:,} crimes in " in caveat
    assert "(0 in the 12 months before)" in caveat  # the shed rows start in 2025-07
    # Burglary's unit cost is not verified, so by default its rows are not costed at all.
    assert "'Burglary / Burglary of a Shed'" in caveat and "not costed" in caveat
    assert caveat in r.notes  # shown wherever the notes are (costs table and JSON)
    with_unverified = cost_report(sources, cats, load_unit_costs(), "Barnet", REF,
                                  include_unverified=True)
    assert "costed as Burglary" in with_unverified.caveats[0]


def test_cost_report_complete_without_unplaced_rows(shed, cats):
    _, _, sources = shed
    r = cost_report(sources, cats, load_unit_costs(), "Barnet", date(2025, 6, 1))
    assert r.complete and r.caveats == ()


def test_targets_cli_marks_the_incomplete_target(shed, tmp_path):
    db, _, _ = shed
    cfg = tmp_path / "p.toml"
    shipped = resources.files("saferboard") / "data" / "partnership.toml"
    text = shipped.read_text(encoding="utf-8").split("[[targets]]")[0]
    cfg.write_text(text + '\n[[targets]]\nname = "Shed"\ncategory = "Residential burglary"\n'
                   'baseline = 1000\nchange_pct = -10\nstart = "2025-01"\nend = "2026-12"\n',
                   encoding="utf-8")
    r = run_cli("targets", "--db", db, "--config", cfg, "--month", "2025-12",
                "--format", "json")
    assert r.code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["status"] == "not rated" and row["complete"] is False
    assert "Burglary of a Shed" in row["caveats"][0]
    assert "warning: Shed: Incomplete:" in r.stderr
