"""Grid maps (hotspots, density, hotspot change): the self-contained Leaflet page (no
external URLs, every cell and the boundary embedded), the static SVG/PNG, and the
`--format html|png` paths of the map commands."""

from __future__ import annotations

import json
import re
import struct
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from saferboard.measures import hotspots as h
from saferboard.report import maps
from tests.conftest import EXAMPLES, run_cli
from tests.test_hotspots import barnet_burglary_points

TITLE = "Burglary hotspots, Barnet"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def barnet() -> tuple[h.HotspotResult, object]:
    x, y = barnet_burglary_points()
    _, geom = h.boundary("Barnet")
    return h.gistar(h.grid_counts(x, y, geom, 200)), geom


@pytest.fixture(scope="module")
def page(barnet) -> str:
    result, geom = barnet
    return maps.map_html(maps.hotspot_layer(result), geom, TITLE)


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of inline <style> elements (script
    and style contents are data to the parser, so Leaflet's own strings are not tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _embedded(page: str, name: str) -> dict:
    match = re.search(rf"^var {name} = (.*);$", page, re.MULTILINE)
    assert match, name
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_html_embeds_boundary_and_every_cell(barnet, page):
    result, _ = barnet
    cells = _embedded(page, "cells")
    assert len(cells["features"]) == len(result.cells) > 2000
    assert sum(f["properties"]["count"] for f in cells["features"]) == sum(
        c.count for c in result.cells)
    assert {f["properties"]["class"] for f in cells["features"]} == set(
        result.counts_by_class())
    first = cells["features"][0]["properties"]
    assert {"count", "z", "p", "p_adjusted", "class"} <= set(first)
    boundary = _embedded(page, "boundary")
    assert boundary["type"] in {"Polygon", "MultiPolygon"}
    lon, lat = np.array(re.findall(r"-?\d+\.\d+", json.dumps(boundary["coordinates"])),
                        float).reshape(-1, 2).T
    assert -0.35 < lon.min() < lon.max() < -0.1 and 51.55 < lat.min() < lat.max() < 51.7
    # Leaflet is inlined, fitted to the boundary, with popups and the method.
    assert "Leaflet 1.9.4" in page and "fitBounds(outline.getBounds())" in page
    assert "bindPopup" in page and "adjusted p" in page
    assert "Getis-Ord Gi*" in page and TITLE in page
    assert "tiles are off" in page


def test_html_has_no_external_urls(page):
    parser = _Tags()
    parser.feed(page)
    for tag, attrs in parser.tags:
        for key in ("src", "href", "xlink:href", "data", "action"):
            value = attrs.get(key) or ""
            assert not re.match(r"\s*(https?:)?//", value), (tag, key, value)
        assert not (tag == "link" and attrs.get("href")), "stylesheets are inlined"
        assert not (tag == "script" and attrs.get("src")), "scripts are inlined"
    assert parser.styles
    for css in parser.styles:
        css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)  # licence and notes
        assert "@import" not in css
        for url in re.findall(r"url\(([^)]*)\)", css):
            assert url.strip("'\" ").startswith("#"), url  # VML behaviour only, no fetch
    # No tile layer anywhere, and the attribution is not a link either.
    assert "L.tileLayer" not in page and 'setPrefix("Leaflet (BSD-2)")' in page


def test_html_legend_lists_every_class(page):
    match = re.search(r"div\.innerHTML = (.*);$", page, re.MULTILINE)
    assert match
    legend = json.loads(match.group(1).replace("<\\/", "</"))
    assert legend.startswith("<b>Gi* class</b>")
    for name, colour in maps.CLASS_COLOURS.items():
        assert f'<i style="background:{colour}"></i>{name}' in legend, name


def test_svg_paths_and_accessible_description(barnet):
    result, geom = barnet
    svg = maps.map_svg(maps.hotspot_layer(result), geom, TITLE)
    significant = sum(1 for c in result.cells if c.hotspot != "not significant")
    assert significant > 50
    # A path per class, with a square (one 'M' subpath) per cell of the class.
    for name, cells in maps.hotspot_layer(result).counts_by_class().items():
        path = re.search(rf'<path [^>]*d="([^"]*)" fill="{maps.CLASS_COLOURS[name]}"', svg)
        assert path and path.group(1).count("M") == cells, name
    assert f"<title>{TITLE}</title>" in svg
    label = re.search(r'<svg[^>]*aria-label="([^"]*)"', svg)
    assert label and label.group(1).startswith(f"Map of {TITLE}:")
    assert "hot 99%" in label.group(1)


def test_png_signature_and_size(barnet):
    result, geom = barnet
    png = maps.map_png(maps.hotspot_layer(result), geom, TITLE)
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # IHDR
    assert 800 < width < 3000 and 800 < height < 3000


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("maps") / "m.duckdb"
    files = sorted((EXAMPLES / "policeuk").glob("2024-*-metropolitan-street.csv.gz"))
    r = run_cli("ingest", "--db", db, *files)
    assert r.code == 0, r.stderr
    return db


def test_cli_html_and_png(example_db, tmp_path):
    args = ("hotspots", "--db", example_db, "--area", "Barnet", "--category", "Burglary")
    r = run_cli(*args, "--format", "html")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("<!DOCTYPE html>") and "Burglary hotspots, Barnet" in r.stdout
    html_file = tmp_path / "map.html"
    r = run_cli(*args, "--format", "html", "--out", html_file)
    assert r.code == 0 and r.stdout == "", r.stderr
    assert html_file.read_text(encoding="utf-8").rstrip().endswith("</html>")
    png_file = tmp_path / "map.png"
    r = run_cli(*args, "--format", "png", "--out", png_file)
    assert r.code == 0, r.stderr
    assert png_file.read_bytes().startswith(PNG_SIGNATURE)


def test_cli_png_needs_out(example_db):
    r = run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--format", "png")
    assert r.code == 1 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert r.stderr.strip() == "error: --format png writes a file: add --out FILE.png"
    r = run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--format", "csv",
                "--out", "x.csv")
    assert r.code == 1 and len(r.stderr.strip().splitlines()) == 1
    assert "--out is for the html and png maps" in r.stderr


def test_density_layer_classes_are_quintiles_of_the_nonzero_cells(barnet):
    from saferboard.measures import density as d

    _, geom = barnet
    x, y = barnet_burglary_points()
    result = d.kde(x, y, geom, 200)
    layer = maps.density_layer(result)
    values = np.array([c.density for c in result.cells])
    positive = np.sort(values[values > 0])
    counts = layer.counts_by_class()
    assert counts.get("none", 0) == int((values <= 0).sum())
    classes = [k for k in layer.colours if k != "none"]
    assert len(classes) == 5 and sum(counts[k] for k in classes) == len(positive)
    # Equal-count classes: each holds a fifth of the non-zero cells, up to the rounding.
    for k in classes:
        assert abs(counts[k] - len(positive) / 5) <= 1, (k, counts[k])
    # Each cell's class range contains its density (labels are "lo to hi per km2").
    for props, v in zip(layer.properties, values, strict=True):
        if v > 0:
            lo, hi = (float(t.replace(",", "")) for t in props["class"].split(" per")[0]
                      .split(" to "))
            assert lo - 0.05 <= v <= hi + 0.05


def test_change_layer_keeps_every_class(example_db):
    from saferboard import store as st
    from saferboard.core import categories
    from saferboard.measures.hotspot_change import area_hotspot_change

    con = st.connect(example_db, read_only=True)
    try:
        a = area_hotspot_change(con, categories.load(), "Barnet",
                                [(date(2024, 1, 1), date(2024, 6, 1)),
                                 (date(2024, 7, 1), date(2024, 12, 1))])
    finally:
        con.close()
    layer = maps.change_layer(a.result)
    assert layer.counts_by_class() == {
        k: n for k, n in a.result.counts_by_class().items() if n}
    assert set(layer.counts_by_class()) <= set(maps.CHANGE_COLOURS)
    _, geom = h.boundary("Barnet")
    page = maps.map_html(layer, geom, "Change")
    cells = _embedded(page, "cells")
    assert [f["properties"]["counts"] for f in cells["features"]] == [
        list(c.counts) for c in a.result.cells]


def test_cli_density_and_change_maps(example_db, tmp_path):
    r = run_cli("density", "--db", example_db, "--area", "Barnet", "--category", "Burglary",
                "--format", "html")
    assert r.code == 0, r.stderr
    assert "Burglary kernel density, Barnet" in r.stdout and "per km" in r.stdout
    png_file = tmp_path / "change.png"
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period",
                "2024-01..2024-06", "--period", "2024-07..2024-12", "--format", "png",
                "--out", png_file)
    assert r.code == 0, r.stderr
    assert png_file.read_bytes().startswith(PNG_SIGNATURE)
    r = run_cli("density", "--db", example_db, "--area", "Barnet", "--format", "png")
    assert r.code == 1 and "add --out" in r.stderr
