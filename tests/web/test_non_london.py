"""The web dashboard for a partnership outside London (issue 15, item 3): the app serving
Brighton and Hove from the second worked example (examples/brighton, real Sussex Police
files) with the configuration `saferboard init` writes. Pages and /api/dashboard show
police.uk's crime types by their published names, and the figures are pinned to csv-module
counts of the example files (a row is Brighton and Hove's by its LSOA name: a second way,
independent of the store's LSOA-code lookup)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from saferboard import store
from saferboard.core import categories
from saferboard.sources.ingest import ingest
from saferboard.web.app import create_app
from saferboard.web.auth import add_user
from saferboard.web.settings import Settings
from tests.conftest import EXAMPLES, run_cli
from tests.csvcount import street_tally
from tests.web.conftest import PASSWORD, SECRET, Clock, Web

FILES = sorted((EXAMPLES / "brighton").glob("*-sussex-street.csv.gz"))
AREA = "Brighton and Hove"
MID_2024 = 283_870  # ONS mid-2024 estimate for Brighton and Hove (E06000043)


def count(kinds: set[str] | None, months: set[str]) -> int:
    """Brighton and Hove's rows of `kinds` (None: every type but ASB) in `months`."""
    return sum(n for p in FILES if p.name[:7] in months for k, n in street_tally(p).items()
               if k.lsoa_name.startswith(f"{AREA} ")
               and (k.crime_type in kinds if kinds is not None
                    else k.crime_type != "Anti-social behaviour"))


def span(first: str, last: str) -> set[str]:
    y, m = map(int, first.split("-"))
    out = set()
    while f"{y:04d}-{m:02d}" <= last:
        out.add(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.fixture(scope="module")
def brighton_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    tmp = tmp_path_factory.mktemp("brighton_web")
    db, cfg = tmp / "b.duckdb", tmp / "brighton.toml"
    con = store.connect(db)
    try:
        ingest(con, [EXAMPLES / "brighton"], categories.load())
        add_user(con, "analyst", PASSWORD, "analyst", agency=None, can_export=True,
                 now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), actor="test-setup")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    r = run_cli("init", "--area", AREA, "--db", db, "--out", cfg)
    assert r.code == 0, r.stderr
    clock = Clock(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    settings = Settings(db=db, secret=SECRET, clock=clock, config_path=cfg)
    app = create_app(settings)
    yield Web(app, settings, clock, db)
    app.state.saferboard.db.close()


def test_api_dashboard_rolling_12_months_and_rate(brighton_web: Web) -> None:
    c = brighton_web.login("analyst")
    got = c.get("/api/dashboard", params={"area": AREA, "month": "2025-12"})
    assert got.status_code == 200, got.text
    body = got.json()
    by = {r["category"]: r for r in body["rows"]}
    # police.uk's crime types by their published names, plus the all-crime total; no MPS
    # category (Residential burglary, Violence with injury) that the data cannot give.
    assert {"Burglary", "Shoplifting", "Violence and sexual offences",
            "Anti-social behaviour", "Total notifiable offences"} <= set(by)
    assert not {"Residential burglary", "Violence with injury"} & set(by)
    year = span("2025-01", "2025-12")
    for name, kinds in (("Burglary", {"Burglary"}), ("Shoplifting", {"Shoplifting"}),
                        ("Violence and sexual offences", {"Violence and sexual offences"}),
                        ("Anti-social behaviour", {"Anti-social behaviour"}),
                        ("Total notifiable offences", None)):
        row = by[name]
        assert row["source"] == "policeuk" and row["area"] == AREA
        assert row["rolling12_volume"] == count(kinds, year), name
        assert row["rate_per_1000"] == round(count(kinds, year) / MID_2024 * 1000, 2), name
        assert row["denominator_year"] == 2024
        # Partial history: 2024-05..12 are not in the files, so no year-earlier figures.
        assert row["rolling12_previous"] is None and row["quarter_volume"] is None
        assert row["complete"] is False and any("2024-10" in x for x in row["caveats"])
    # Pinned: Brighton and Hove's burglaries in 2025 (Sussex Police files).
    assert by["Burglary"]["rolling12_volume"] == count({"Burglary"}, year) > 500


def test_api_dashboard_quarter_against_a_year_earlier(brighton_web: Web) -> None:
    """2025-04: the quarter Feb-Apr 2025 against Feb-Apr 2024 is computed."""
    c = brighton_web.login("analyst")
    body = c.get("/api/dashboard", params={"area": AREA, "month": "2025-04"}).json()
    by = {r["category"]: r for r in body["rows"]}
    for name, kinds in (("Shoplifting", {"Shoplifting"}), ("Total notifiable offences", None)):
        assert by[name]["quarter_volume"] == count(kinds, span("2025-02", "2025-04"))
        assert by[name]["quarter_previous"] == count(kinds, span("2024-02", "2024-04"))
        assert by[name]["rolling12_volume"] is None


def test_pages_show_the_area_and_police_uk_categories(brighton_web: Web) -> None:
    c = brighton_web.login("analyst")
    page = c.get("/overview", params={"area": AREA, "month": "2025-12"})
    assert page.status_code == 200, page.text[:500]
    assert AREA in page.text
    for name in ("Violence and sexual offences", "Anti-social behaviour", "Shoplifting"):
        assert name in page.text
    assert "Residential burglary" not in page.text
    burglary = count({"Burglary"}, span("2025-01", "2025-12"))
    assert f"{burglary:,}" in page.text
    cat = c.get("/category/Burglary", params={"area": AREA, "month": "2025-12"})
    assert cat.status_code == 200, cat.text[:500]
    assert AREA in cat.text and f"{burglary:,}" in cat.text
    assert c.get("/api/categories").json()[-1] == "Total notifiable offences"
