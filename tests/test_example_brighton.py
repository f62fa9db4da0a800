"""The second worked example (examples/brighton, real Sussex Police files): the README's
ingest and init commands, and the dashboard they give, pinned to csv-module counts of the
example files (runs anywhere: no ../shared needed)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, run_cli
from tests.csvcount import street_tally

FILES = sorted((EXAMPLES / "brighton").glob("*-sussex-street.csv.gz"))


@pytest.fixture(scope="module")
def brighton(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("brighton")
    db, cfg = tmp / "b.duckdb", tmp / "b.toml"
    r = run_cli("ingest", EXAMPLES / "brighton", "--db", db)
    assert r.code == 0, r.stderr
    r = run_cli("init", "--area", "Brighton and Hove", "--db", db, "--out", cfg)
    assert r.code == 0, r.stderr
    return db, cfg


def test_example_is_small_and_complete() -> None:
    assert len(FILES) == 16
    assert sum(p.stat().st_size for p in FILES) < 4_000_000
    las = {k.lsoa_name.rsplit(" ", 1)[0] for p in FILES for k in street_tally(p)
           if k.lsoa_name}
    assert las == {"Brighton and Hove", "Lewes", "Adur"}


def test_dashboard_from_the_readme_commands(brighton: tuple[Path, Path]) -> None:
    db, cfg = brighton
    doc = tomllib.loads(cfg.read_text(encoding="utf-8"))
    assert doc["partnership"]["area"] == "Brighton and Hove"
    assert "Burglary" in doc["dashboard"]["categories"]
    r = run_cli("dashboard", "--db", db, "--config", cfg, "--month", "2025-12",
                "--category", "Burglary", "--category", "Anti-social behaviour",
                "--format", "json")
    assert r.code == 0, r.stderr
    burglary, asb = json.loads(r.stdout)
    def count(kind: str, year: str) -> int:
        return sum(n for p in FILES if p.name.startswith(year)
                   for x, n in street_tally(p).items()
                   if x.crime_type == kind and x.lsoa_name.startswith("Brighton and Hove "))
    assert burglary["rolling12_volume"] == count("Burglary", "2025")
    assert asb["rolling12_volume"] == count("Anti-social behaviour", "2025")
    # Partial history: no 2024-10..12 and no 2024-05..12 in the files.
    assert burglary["quarter_volume"] is None and burglary["rolling12_previous"] is None
    assert burglary["complete"] is False and any("2024-10" in c for c in burglary["caveats"])
    # Rate against the ONS mid-2024 estimate for Brighton and Hove (283,870).
    assert burglary["rate_per_1000"] == round(count("Burglary", "2025") / 283_870 * 1000, 2)


def test_hotspot_map_names_the_wards(brighton: tuple[Path, Path], tmp_path: Path) -> None:
    """Maps draw the wards (dissolved from the LSOA -> ward lookup) with their names, so a
    board member can see where a hotspot is without background tiles."""
    from saferboard.core.national import lsoas_in, wards

    db, _ = brighton
    out = tmp_path / "map.html"
    r = run_cli("hotspots", "--db", db, "--area", "Brighton and Hove", "--category",
                "Burglary", "--format", "html", "--out", out)
    assert r.code == 0, r.stderr
    page = out.read_text(encoding="utf-8")
    names = {wards()[x.ward_code].name for x in lsoas_in("E06000043")}
    assert len(names) == 23
    ward_json = page.split("var wards = ", 1)[1].split(";\n", 1)[0]
    doc = json.loads(ward_json.replace("<\\/", "</"))
    assert {f["properties"]["name"] for f in doc["features"]} == names
    assert "its wards (outlines and names)" in page
