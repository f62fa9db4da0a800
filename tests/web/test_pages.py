"""Pages and downloads show what the measures compute, for every category and period."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import quote

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.core.config import load_config
from saferboard.measures.dashboard import dashboard, load_sources
from saferboard.measures.periods import PERIODS, period_change, window
from saferboard.measures.windows import shift
from tests.web.conftest import Web


def _board(db: Path, month: str) -> object:
    con = store.connect(db, read_only=True)
    try:
        cats, config = categories.load(), load_config()
        y, m = map(int, month.split("-"))
        from datetime import date

        sources = load_sources(con, cats)
        return dashboard(sources, cats, config, "Barnet", date(y, m, 1)), sources, cats
    finally:
        con.close()


def test_every_category_page_renders(web: Web) -> None:
    c = web.login("manager")
    names = c.get("/api/categories").json()
    assert len(names) == 10
    for name in names:
        r = c.get(f"/category/{quote(name)}?month=2025-09")
        assert r.status_code == 200, name
        assert name in r.text
    burglary = c.get("/category/Burglary?month=2025-09").text
    assert 'id="trend-spec"' in burglary and 'id="peer-spec"' in burglary
    assert 'data-url="/api/categories/Burglary/hotspots?area=Barnet&amp;month=2025-09"' in burglary
    robbery = c.get("/category/Robbery?month=2025-09").text
    assert "No hotspot map" in robbery  # the examples' police.uk rows are burglaries only


@pytest.mark.parametrize("period", list(PERIODS))
def test_period_selector_matches_the_measure(web: Web, base_db: Path, period: str) -> None:
    c = web.login("board")
    body = c.get(f"/api/dashboard?month=2025-09&period={period}").json()
    board, sources, cats = _board(base_db, "2025-09")
    by_name = {r["category"]: r for r in body["period"]}
    from datetime import date

    ref = date(2025, 9, 1)
    for row in board.rows:  # type: ignore[attr-defined]
        if row.source is None:
            assert by_name[row.category]["note"]
            continue
        expected = period_change(sources[row.source], cats, "Barnet", row.category, period,
                                 ref)
        got = by_name[row.category]
        assert (got["volume"], got["year_earlier"]) == (expected.volume, expected.previous)
        if period == "quarter":
            assert got["volume"] == row.quarter_volume
        if period == "rolling12":
            assert got["volume"] == row.rolling12_volume
    w = window(period, ref)
    assert w.last == ref
    assert {"month": 1, "quarter": 3, "rolling12": 12, "fy": 6}[period] == w.length
    assert window("fy", date(2025, 4, 1)).length == 1
    assert window("fy", date(2026, 3, 1)).first == date(2025, 4, 1)
    assert shift(w.first, -12) == w.year_earlier().first


def test_dashboard_api_equals_the_measures(web: Web, base_db: Path) -> None:
    body = web.login("police").get("/api/dashboard?month=2025-06").json()
    board, _, _ = _board(base_db, "2025-06")
    from saferboard.present import indicator_json

    for got, row in zip(body["rows"], board.rows, strict=True):  # type: ignore[attr-defined]
        want = indicator_json(row)
        for key in ("category", "rag", "quarter_volume", "rolling12_volume",
                    "rolling12_change_pct", "rate_per_1000", "factors", "complete",
                    "caveats"):
            assert got[key] == want[key], key


def test_downloads(web: Web, base_db: Path) -> None:
    c = web.login("analyst")
    r = c.get("/downloads/csv/dashboard?month=2025-09")
    assert r.headers["content-disposition"] == 'attachment; filename="dashboard.csv"'
    rows = list(csv.DictReader(io.StringIO(r.text)))
    board, _, _ = _board(base_db, "2025-09")
    assert [x["category"] for x in rows] == [r.category for r in board.rows]  # type: ignore
    assert rows[0]["rolling12_volume"] == str(board.rows[0].rolling12_volume)  # type: ignore
    trend = list(csv.DictReader(io.StringIO(
        c.get("/downloads/csv/trend?category=Burglary&month=2025-09").text)))
    assert len(trend) == 36 and trend[-1]["month"] == "2025-09"
    peers = list(csv.DictReader(io.StringIO(
        c.get("/downloads/csv/peers?category=Burglary&month=2025-09").text)))
    assert len(peers) == 32 and peers[0]["rank"] == "1"
    geo = json.loads(c.get("/downloads/geojson/hotspots?category=Burglary").text)
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) > 100
    people = list(csv.DictReader(io.StringIO(c.get("/downloads/csv/people").text)))
    assert {p["section"] for p in people} >= {"Domestic abuse: repeat victims",
                                              "MARAC demand and caseload profile"}
    for table, query in (("period", ""), ("targets", ""), ("quality", ""), ("projects", ""),
                         ("actions", ""), ("records", "?category=residential burglary")):
        r = c.get(f"/downloads/csv/{table}{query}")
        assert r.status_code == 200 and r.text.count("\n") >= 2, table
    assert c.get("/downloads/csv/nonsense").status_code == 422


def test_people_page_suppresses_small_counts(web: Web) -> None:
    c = web.login("board")
    body = c.get("/api/people").json()
    keys = {s["key"] for s in body}
    assert keys == {"domestic-abuse", "residential-burglary", "asb-call", "marac", "cohort"}
    for section in body:
        for t in section["tables"]:
            for row in t["rows"]:
                for v in row:
                    assert not (isinstance(v, int) and not isinstance(v, bool) and 0 < v < 5
                                and t["columns"][row.index(v)] not in (
                                    "month", "quarter", "period")), (section["key"], row)
    assert "Domestic abuse: repeat victims" in c.get("/people").text


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_colours_meet_wcag_aa_contrast() -> None:
    import re

    from tests.conftest import ROOT

    css = (ROOT / "src" / "saferboard" / "web" / "static" / "web.css").read_text()
    colours = dict(re.findall(r"--([a-z]+): (#[0-9a-f]{6})", css))
    assert {"ink", "muted", "link", "green", "amber", "red", "focus"} <= set(colours)
    for name in ("ink", "muted", "link", "green", "amber", "red"):
        # text on the page and on table headers (#f4f4f4), white on the RAG badges
        assert _contrast(colours[name], "#ffffff") >= 4.5, name
        assert _contrast(colours[name], colours["panel"]) >= 4.5, name
    assert _contrast(colours["focus"], "#ffffff") >= 3  # non-text: focus outline
    assert _contrast("#ffffff", "#13294b") >= 4.5  # header text
    assert _contrast("#ffd27f", "#13294b") >= 3  # header focus outline
    assert _contrast("#aaaaaa", "#ffffff") < 4.5  # the check can fail


# The board pack's downloads (HTML and XLSX by audience: test_download_scope.py; the PDF:
# test_operations.py), where each is built once.


def test_partner_submits_a_project_return(web: Web) -> None:
    c = web.login("council")
    page = c.get("/projects?quarter=2016-Q4").text
    assert 'action="/projects/EIOM/return"' in page
    r = c.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(c), "quarter": "2016-Q4", "spend": "£5,000",
        "actual_0": "12", "rag_0": "a", "comment_0": "Cohort grew"})
    assert r.status_code == 303
    rows = c.get("/api/projects?quarter=2016-Q4").json()  # one per project and KPI
    eiom = [p for p in rows if p["project_id"] == "EIOM"]
    assert {p["spend_quarter"] for p in eiom} == {5000.0}
    assert eiom[0]["actual"] == 12.0 and eiom[0]["comment"] == "Cohort grew"
    assert {p["agency"] for p in rows} == {"Barnet Council"}
    bad = c.post("/projects/EIOM/return", data={
        "csrf_token": web.csrf(c), "quarter": "2016-Q4", "actual_0": "lots"})
    assert bad.status_code == 422 and "actual_0" in bad.text
    dpo = web.login("dpo")
    entry = next(e for e in dpo.get("/api/audit").json()["entries"]
                 if e["action"] == "project.return")
    assert entry["actor"] == "council" and entry["object"] == "project:EIOM:2016-Q4"
    assert json.loads(entry["after"])["spend"] == 5000.0
