"""No silent loss (issue 14, item 2): labels the mapping cannot place are counted where their
major group allows, the categories below are marked incomplete with a caveat naming the
labels and crimes, their RAG is withheld, and Total notifiable offences stays right.

Every expected figure is summed from the fixture's raw cells, not from saferboard.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.measures import exceptions as exc
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.measures.quality import quality
from saferboard.measures.series import load_monthly
from saferboard.measures.trend import trend
from saferboard.measures.windows import months_between
from saferboard.present import indicator_json
from saferboard.sources.ingest import ingest
from tests.conftest import run_cli
from tests.test_labels import BOROUGHS, TITLE_CASE, write_title_case

MONTHS = months_between(date(2023, 1, 1), date(2025, 12, 1))
REF = date(2025, 12, 1)
SHED = ("Burglary", "Burglary of a Shed")  # a minor group the mapping does not know
CYBER = ("Cyber Offences", "Hacking")  # a major group the mapping does not know
FRAUD = "Historical Fraud and Forgery"
CATEGORIES = ["Total notifiable offences", "Burglary", "Residential burglary",
              "Theft from motor vehicle", "Robbery"]
CATEGORY_ARGS = [a for c in CATEGORIES for a in ("--category", c)]


def build(tmp: Path, extra: list[tuple[str, str]], *, start_extra: date = date(2025, 7, 1)
          ) -> tuple[Path, dict[tuple[str, str, str], list[int]]]:
    """A Title Case release plus `extra` labels with counts only from `start_extra`."""
    f = tmp / "MPS Borough Level Crime.csv"
    cells = write_title_case(f, [*TITLE_CASE, *extra], MONTHS)
    for key in cells:
        if (key[0], key[1]) in extra:
            cells[key] = [v if m >= start_extra else 0 for m, v in zip(MONTHS, cells[key],
                                                                      strict=True)]
    rows = [[*k, *v] for k, v in cells.items()]
    text = f.read_text(encoding="utf-8").splitlines()[0]
    f.write_text(text + "\n" + "\n".join(",".join(f'"{c}"' if isinstance(c, str) else str(c)
                                                   for c in r) for r in rows) + "\n",
                 encoding="utf-8")
    db = tmp / "c.duckdb"
    con = store.connect(db)
    try:
        ingest(con, [f], categories.load())
    finally:
        con.close()
    return db, cells


def raw_sum(cells: dict[tuple[str, str, str], list[int]], borough: str, labels: set[tuple[
        str, str]] | None, first: date, last: date, *, fraud: bool = False) -> int:
    """Crimes of `labels` (None: every non-fraud label) for `borough` in first..last."""
    return sum(v for (major, minor, b), values in cells.items() if b == borough
               and ((labels is None and (major == FRAUD) == fraud)
                    or (labels is not None and (major, minor) in labels))
               for m, v in zip(MONTHS, values, strict=True) if first <= m <= last)


def labels_of(category: str, cats: categories.Categories) -> set[tuple[str, str]]:
    wanted = cats.descendants(category)
    return {k for k, c in TITLE_CASE.items() if c in wanted}


@pytest.fixture(scope="module")
def shed(tmp_path_factory):
    db, cells = build(tmp_path_factory.mktemp("shed"), [SHED])
    con = store.connect(db, read_only=True)
    try:
        sources = load_sources(con, categories.load())
    finally:
        con.close()
    return db, cells, sources


def test_unknown_minor_counts_toward_its_major_group_and_flags_below(shed, cats):
    _, cells, sources = shed
    board = dashboard(sources, cats, load_config(), "Barnet", REF, CATEGORIES)
    rows = {r.category: r for r in board.rows}
    first = date(2024, 1, 1)
    # Burglary counts the shed rows; so does the total: both complete, with a RAG.
    burglary = labels_of("Burglary", cats) | {SHED}
    assert rows["Burglary"].rolling12_volume == raw_sum(cells, "Barnet", burglary,
                                                        date(2025, 1, 1), REF)
    assert rows["Burglary"].complete and rows["Burglary"].rag is not None
    tno = rows["Total notifiable offences"]
    assert tno.rolling12_volume == raw_sum(cells, "Barnet", None, date(2025, 1, 1), REF)
    assert tno.complete and tno.caveats == () and tno.rag is not None
    # Residential burglary cannot know whether the shed rows are its own.
    res = rows["Residential burglary"]
    assert res.rolling12_volume == raw_sum(cells, "Barnet", labels_of(
        "Residential burglary", cats), date(2025, 1, 1), REF)
    assert not res.complete and res.rag is None and res.factors == ()
    shed_crimes = raw_sum(cells, "Barnet", {SHED}, first, REF)
    (caveat,) = res.caveats
    assert "'Burglary / Burglary of a Shed'" in caveat
    assert f"{shed_crimes:,} crimes" in caveat and "2025-07..2025-12" in caveat
    assert "counted under Burglary" in caveat
    # Unrelated branches are untouched.
    assert rows["Robbery"].complete and rows["Theft from motor vehicle"].complete
    j = indicator_json(res)
    assert j["complete"] is False and j["rag"] is None and j["caveats"] == [caveat]


def test_a_window_without_such_rows_is_complete(shed, cats):
    _, _, sources = shed
    # Windows 2023-01..2024-12 end before the shed rows begin (2025-07).
    row = dashboard(sources, cats, load_config(), "Barnet", date(2024, 12, 1),
                    ["Residential burglary"]).rows[0]
    assert row.complete and row.caveats == () and row.rag is not None


def test_incomplete_months_are_not_tested_nor_plotted(shed, cats):
    _, _, sources = shed
    table = sources["mps"]
    assert table.incomplete_months("Barnet", "Residential burglary", cats) == frozenset(
        months_between(date(2025, 7, 1), REF))
    assert table.incomplete_months("Barnet", "Burglary", cats) == frozenset()
    t = trend(table, cats, "Barnet", "Residential burglary", REF)
    late = [p for p in t.points if p.month >= date(2025, 7, 1)]
    assert {(p.count, p.flag) for p in late} == {(None, "incomplete data")}
    row = dashboard(sources, cats, load_config(), "Barnet", REF,
                    ["Residential burglary"]).rows[0]
    assert [e.flag for e in row.exceptions] == ["insufficient data"] * 3


def test_unknown_major_group(tmp_path, cats):
    """`complete: false`, caveat and RAG null below the total; the total still right."""
    db, cells = build(tmp_path, [CYBER])
    r = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                *CATEGORY_ARGS, "--format", "json")
    assert r.code == 0, r.stderr
    rows = {j["category"]: j for j in json.loads(r.stdout)}
    tno = rows.pop("Total notifiable offences")
    assert tno["complete"] is True and tno["caveats"] == [] and tno["rag"] is not None
    assert tno["rolling12_volume"] == raw_sum(cells, "Barnet", None, date(2025, 1, 1), REF)
    assert tno["rolling12_volume"] == raw_sum(cells, "Barnet", set(TITLE_CASE) - {
        k for k in TITLE_CASE if k[0] == FRAUD} | {CYBER}, date(2025, 1, 1), REF)
    cyber = raw_sum(cells, "Barnet", {CYBER}, date(2024, 1, 1), REF)
    for name, j in rows.items():
        assert j["complete"] is False and j["rag"] is None, name
        assert "'Cyber Offences / Hacking'" in j["caveats"][0], name
        assert f"{cyber:,} crimes" in j["caveats"][0]
        assert "counted under Total notifiable offences" in j["caveats"][0]
    assert "warning: Burglary: Incomplete" in r.stderr
    table = run_cli("dashboard", "--db", db, "--area", "Barnet", "--month", "2025-12",
                    "--category", "Burglary")
    assert table.code == 0 and "NO (see caveat)" in table.stdout
    assert "Burglary (-):" in table.stdout


def test_quality_and_ingest_list_unmapped_labels_with_months(tmp_path, cats):
    db, cells = build(tmp_path, [SHED, CYBER], start_extra=date(2025, 10, 1))
    con = store.connect(db, read_only=True)
    try:
        (q,) = quality(con, cats)
    finally:
        con.close()
    got = {u.label: u for u in q.unmapped_labels}
    assert set(got) == {"Burglary / Burglary of a Shed", "Cyber Offences / Hacking"}
    shed_label = got["Burglary / Burglary of a Shed"]
    assert shed_label.placed_under == "Burglary"
    assert (shed_label.first_month, shed_label.last_month) == (date(2025, 10, 1), REF)
    assert shed_label.crimes == sum(raw_sum(cells, b, {SHED}, MONTHS[0], REF)
                                    for b in BOROUGHS)
    assert shed_label.rows == len(BOROUGHS) * len(MONTHS)
    assert got["Cyber Offences / Hacking"].placed_under == "Total notifiable offences"
    f = tmp_path / "MPS Borough Level Crime.csv"
    r = run_cli("ingest", "--db", tmp_path / "again.duckdb", f)
    assert r.code == 0, r.stderr
    assert "'Burglary / Burglary of a Shed' (3 rows; 2025-10..2025-12)" in r.stderr
    assert "count under Burglary" in r.stderr
    r = run_cli("quality", "--db", db)
    assert "'Cyber Offences / Hacking'" in r.stdout and "2025-10..2025-12" in r.stdout


def test_exception_baseline_states_its_months():
    months = months_between(date(2023, 1, 1), date(2024, 12, 1))
    history = [(m, 10 + i % 3) for i, m in enumerate(months)]
    full = exc.flag_month(date(2025, 1, 1), 11, history)
    assert full.baseline_months == 24 and full.flag == "normal"
    short = exc.flag_month(date(2025, 1, 1), 11, history[-(exc.MIN_BASELINE - 1):])
    assert short.baseline_months == exc.MIN_BASELINE - 1
    assert short.flag == "insufficient data" and short.upper is None
    gap = [(m, v) for m, v in history if not date(2023, 6, 1) <= m <= date(2023, 8, 1)]
    assert exc.flag_month(date(2025, 1, 1), 11, gap).baseline_months == 21


KNOWN = list(TITLE_CASE)
UNKNOWN = [SHED, CYBER, ("Theft", "Theft of Wi-Fi"), ("Robbery", "Robbery, Other"),
           ("Mystery Group", "Mystery")]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=st.lists(st.sampled_from(KNOWN + UNKNOWN), min_size=1, max_size=12,
                       unique=True),
       seed=st.integers(0, 2**16))
def test_nothing_is_lost(tmp_path_factory, labels, seed):
    """For any set of labels: the leaf categories plus the unplaced rows add up to the raw
    total of each area's rows, and the two roots (total and fraud) hold every row."""
    cats = categories.load()
    tmp = tmp_path_factory.mktemp("prop")
    f = tmp / "MPS Borough Level Crime.csv"
    months = MONTHS[:4]
    cells = write_title_case(f, labels, months, seed=seed)
    con = store.connect(tmp / "p.duckdb")
    try:
        ingest(con, [f], cats)
        table = load_monthly(con, cats, "mps")
    finally:
        con.close()
    for b in BOROUGHS:
        raw = sum(sum(v) for (_, _, bb), v in cells.items() if bb == b)
        i = table.area_index(b)
        assert int(table.counts[i].sum()) == raw  # every leaf, None (unplaced) included
        roots = (table.category_matrix("Total notifiable offences", cats)[i].sum()
                 + table.category_matrix("Fraud and forgery", cats)[i].sum())
        assert int(roots) == raw
        unplaced_here = {k for k in labels if not cats.place("mps", f"{k[0]} / {k[1]}").exact}
        gaps = {g.label for g in table.gaps(b, "Residential burglary", cats, months[0],
                                            months[-1])}
        below_burglary = {f"{k[0]} / {k[1]}" for k in unplaced_here
                          if cats.place("mps", f"{k[0]} / {k[1]}").category in
                          ("Burglary", "Total notifiable offences")
                          and sum(sum(v) for (ma, mi, bb), v in cells.items()
                                  if (ma, mi) == k and bb == b)}
        assert gaps == below_burglary
    assert np.all(table.counts >= 0)


def test_compare_warns_of_incomplete_counts(shed, cats):
    from saferboard.measures.compare import compare

    _, cells, sources = shed
    c = compare(sources["mps"], cats, "Residential burglary", REF, "peers", BOROUGHS,
                rate_base="households")
    shed_12 = {b: raw_sum(cells, b, {SHED}, date(2025, 1, 1), REF) for b in BOROUGHS}
    assert c.caveats == tuple(
        f"{b}: {shed_12[b]:,} crimes under labels not in the category mapping may belong to "
        f"Residential burglary but are not counted: 'Burglary / Burglary of a Shed' "
        f"({shed_12[b]:,})" for b in BOROUGHS)
    assert compare(sources["mps"], cats, "Burglary", REF, "peers", BOROUGHS).caveats == ()
