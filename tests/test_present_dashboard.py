"""One dashboard model for the CLI and the API: `saferboard dashboard --format json` and
`/api/dashboard` print the same objects under the same names, nothing dropped (issue 13)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import cli_ok
from tests.web.conftest import Web, make_web  # noqa: F401  (fixture)


def keys(value: Any, path: str = "") -> set[str]:
    """Every key path in a JSON value ("ranks.*.rank"); lists by their items, dict keys that
    are data (peer group names) as '*'."""
    out: set[str] = set()
    if isinstance(value, dict):
        data_keys = path.endswith("ranks")
        for k, v in value.items():
            name = f"{path}.{'*' if data_keys else k}".lstrip(".")
            out |= {name} | keys(v, name)
    elif isinstance(value, list):
        for v in value:
            out |= keys(v, path + "[]")
    return out


def test_cli_json_and_api_dashboard_have_the_same_fields_and_values(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    from tests.web.conftest import PASSWORD

    rows = json.loads(cli_ok("dashboard", "--db", base_db, "--format", "json"))
    web = make_web()
    c = web.login("analyst", PASSWORD)
    api = c.get("/api/dashboard").json()
    assert api["month"] == rows[0]["month"]  # the same default month: the latest
    cli_keys = set().union(*(keys(r) for r in rows))
    api_keys = set().union(*(keys(r) for r in api["rows"]))
    # The old API model dropped these two; any other dropped or renamed key shows here too.
    assert {"quarter_p_value", "denominator_year"} <= cli_keys
    assert cli_keys == api_keys, (cli_keys ^ api_keys)
    assert "ranks.*.without_data" in cli_keys and "exceptions[].upper" in cli_keys
    assert api["rows"] == rows  # and the same figures


def test_period_csv_download_has_the_api_period_columns(make_web: Callable[..., Web]  # noqa: F811
                                                        ) -> None:
    from tests.web.conftest import PASSWORD

    web = make_web()
    c = web.login("analyst", PASSWORD)
    api = c.get("/api/dashboard", params={"period": "fy"}).json()["period"]
    body = c.get("/downloads/csv/period", params={"period": "fy"}).text
    table = list(csv.DictReader(io.StringIO(body)))
    assert table and list(table[0]) == list(api[0])
    # Each CSV cell is the API value written as text (None as an empty cell).
    for got, want in zip(table, api, strict=True):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}


def test_cli_targets_and_api_targets_are_the_same_rows(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    from tests.web.conftest import PASSWORD

    web = make_web()
    api = web.login("analyst", PASSWORD).get("/api/targets").json()
    assert api["targets"], api  # the shipped configuration has Barnet's targets
    rows = json.loads(cli_ok("targets", "--db", base_db, "--area", api["area"], "--month",
                             api["month"], "--format", "json"))
    # The old API dropped complete and caveats and renamed the rest (name, expected_now,
    # actual); now both print `present.targets.TargetOut`.
    assert api["targets"] == rows
    assert {"complete", "caveats", "on_trajectory_now", "actual_rolling12"} <= set(rows[0])


def test_cli_compare_api_peers_and_peers_csv_are_the_same_rows(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    from tests.web.conftest import PASSWORD

    web = make_web()
    c = web.login("analyst", PASSWORD)
    query = {"month": "2025-09"}
    api = c.get("/api/categories/Burglary/peers", params=query).json()
    rows = json.loads(cli_ok("compare", "--db", base_db, "--category", "Burglary", "--month",
                             "2025-09", "--format", "json"))
    assert api["group"] and api["month"] == "2025-09"
    # The old API returned the measure's dataclass (rate, lower, verdict, funnel95 pairs,
    # reasons apart); the old CSV download had 8 of the CLI's 17 columns.
    assert api["rows"] == rows
    body = c.get("/downloads/csv/peers", params={**query, "category": "Burglary"}).text
    assert body == cli_ok("compare", "--db", base_db, "--category", "Burglary", "--month",
                          "2025-09", "--format", "csv")
    assert sum(1 for r in rows if r["highlight"]) == 1


def test_cli_quality_and_api_quality_are_the_same(
        base_db: Path, make_web: Callable[..., Web]) -> None:  # noqa: F811
    from tests.web.conftest import PASSWORD

    web = make_web()
    c = web.login("analyst", PASSWORD)
    rows = json.loads(cli_ok("quality", "--db", base_db, "--format", "json"))
    # The old API wrote the unmapped labels' months as full dates (2025-10-01), the CLI as
    # YYYY-MM; the old CSV download had 11 of the 16 columns and a count for the months
    # missing instead of the months.
    assert rows and c.get("/api/quality").json() == rows
    body = c.get("/downloads/csv/quality").text
    assert body == cli_ok("quality", "--db", base_db, "--format", "csv")


def test_quality_months_are_written_one_way() -> None:
    from datetime import date

    from saferboard.measures.quality import SourceQuality, UnmappedLabel
    from saferboard.present.quality import QualityOut

    label = UnmappedLabel("Burglary / Shed", 3, 3, "Burglary", date(2025, 10, 1),
                          date(2025, 12, 1), 3)
    q = SourceQuality("mps", "Metropolitan Police Service", "borough", date(2025, 1, 1),
                      date(2025, 12, 1), 12, (), 1, 100, 0, 0, {}, 0, {"Burglary / Shed": 3},
                      (label,), {"Hertsmere": 2, "Epping Forest": 1})
    out = QualityOut.of(q).model_dump(mode="json")
    assert out["unmapped_labels"][0]["first_month"] == "2025-10"  # the API wrote 2025-10-01
    assert out["first_month"] == "2025-01" and out["last_month"] == "2025-12"
    cells = QualityOut.of(q).cells(outside_force_shown=1)
    assert cells["outside_force"] == "Hertsmere (2) and 1 more"
    assert QualityOut.of(q).cells()["outside_force"] == "Hertsmere (2), Epping Forest (1)"
    assert cells["unmapped"] == "Burglary / Shed (3)" and "unmapped_labels" not in cells


def test_trend_api_points_are_the_trend_csv_rows(make_web: Callable[..., Web]  # noqa: F811
                                                 ) -> None:
    from tests.web.conftest import PASSWORD

    c = make_web().login("analyst", PASSWORD)
    query = {"month": "2025-09"}
    points = c.get("/api/categories/Burglary/trend", params=query).json()["points"]
    body = c.get("/downloads/csv/trend", params={**query, "category": "Burglary"}).text
    table = list(csv.DictReader(io.StringIO(body)))
    assert len(points) == 36 and points[-1]["month"] == "2025-09"
    assert [list(r) for r in table] == [list(p) for p in points]
    for got, want in zip(table, points, strict=True):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}
