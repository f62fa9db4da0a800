"""Grid maps (Gi* hotspots, kernel density, hotspot change): a self-contained interactive
Leaflet page and a static SVG/PNG for the pack, from one `GridLayer` description.

The HTML page inlines Leaflet (vendored, BSD-2) and has no tile layer and no external URL at
all, because council networks often block CDNs and tile servers: the borough boundary and the
grid are drawn on a blank background. Classes are coloured in reds (hot) and blues (cold)
from ColorBrewer's RdBu diverging scheme, which stays distinguishable with the common
colour-vision deficiencies; the class is also in every popup and the legend, so colour is
never the only cue.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import altair as alt
import numpy as np
import shapely
import vl_convert as vlc
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from saferboard.core.areas import WardOutline
from saferboard.core.text import script_json
from saferboard.measures.density import DensityResult
from saferboard.measures.hotspot_change import HotspotChange
from saferboard.measures.hotspots import HotspotResult, square_rings_wgs84, to_wgs84
from saferboard.report.charts import inline_data

# ColorBrewer RdBu (colour-blind safe): darker = more confident.
CLASS_COLOURS: dict[str, str] = {
    "hot 99%": "#b2182b", "hot 95%": "#ef8a62", "hot 90%": "#fddbc7",
    "cold 90%": "#d1e5f0", "cold 95%": "#67a9cf", "cold 99%": "#2166ac",
    "not significant": "#f7f7f7",
}
# Okabe-Ito (colour-blind safe) for the change classes; "not hot" stays near white.
CHANGE_COLOURS: dict[str, str] = {
    "persistent": "#d55e00", "emerging": "#e69f00", "intermittent": "#cc79a7",
    "former": "#0072b2", "not hot": "#f7f7f7",
}
# ColorBrewer YlOrRd, five classes (colour-blind safe, prints in grey scale in order).
DENSITY_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
BOUNDARY_COLOUR = "#333333"
WARD_COLOUR = "#666666"  # dashed and thinner than the boundary: read as inner lines
FONT = "DejaVu Sans"


def _vendor(name: str) -> str:
    return (resources.files("saferboard") / "report" / "vendor" / name).read_text("utf-8")


def _leaflet_css() -> str:
    # The default marker and layer-control images are not used here; dropping their relative
    # url()s keeps the page from trying to load files that are not beside it.
    return re.sub(r"url\((?!#)[^)]*\)", "none", _vendor("leaflet.css"))


def _boundary_wgs84(boundary: BaseGeometry) -> dict[str, Any]:
    def project(coords: Any) -> Any:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1])
        return np.round(np.stack([lon, lat], axis=1), 6)

    return dict(mapping(shapely.transform(boundary, project)))


@dataclass(frozen=True)
class GridLayer:
    """What a grid map shows: square cells centred at (x, y) in EPSG:27700, each with popup
    properties and a class (a key of `colours`, whose order is the legend's)."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    cell_size: float
    properties: tuple[dict[str, Any], ...]  # one per cell; must include "class"
    colours: dict[str, str]
    legend_title: str
    method: str
    help_text: str  # the sentence under the map: what a click on a cell shows

    def counts_by_class(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for props in self.properties:
            out[props["class"]] = out.get(props["class"], 0) + 1
        return out


def hotspot_layer(result: HotspotResult) -> GridLayer:
    props = tuple({"class": c.hotspot, "count": c.count, "z": round(c.z, 3),
                   "p": float(f"{c.p:.4g}"), "p_adjusted": float(f"{c.p_adjusted:.4g}"),
                   "row": c.row, "col": c.col} for c in result.cells)
    return GridLayer(tuple(c.x for c in result.cells), tuple(c.y for c in result.cells),
                     result.cell_size, props, CLASS_COLOURS, "Gi* class", result.method,
                     "Click a cell for its count, Gi* z-score and p-values.")


def density_breaks(values: Sequence[float]) -> list[float]:
    """Upper edges of five equal-count classes of the non-zero densities (quantiles), so the
    map shows where crime concentrates whatever the borough's overall level."""
    positive = np.array([v for v in values if v > 0], np.float64)
    if len(positive) == 0:
        return [0.0] * 5
    return [float(q) for q in np.quantile(positive, [0.2, 0.4, 0.6, 0.8, 1.0])]


def density_layer(result: DensityResult) -> GridLayer:
    values = [c.density for c in result.cells]
    breaks = density_breaks(values)
    names: list[str] = []
    lower = 0.0
    for b in breaks:
        names.append(f"{lower:,.1f} to {b:,.1f} per km\u00b2")
        lower = b
    colours = dict(zip(names, DENSITY_COLOURS, strict=True))
    colours = {"none": "#ffffff", **colours}

    def klass(v: float) -> str:
        if v <= 0:
            return "none"
        return names[min(int(np.searchsorted(breaks, v, side="left")), len(names) - 1)]

    props = tuple({"class": klass(c.density), "count": c.count,
                   "density": round(c.density, 3), "row": c.row, "col": c.col}
                  for c in result.cells)
    return GridLayer(tuple(c.x for c in result.cells), tuple(c.y for c in result.cells),
                     result.cell_size, props, colours, "Crimes per km\u00b2 (quintiles)",
                     result.method, "Click a cell for its crimes and kernel density.")


def change_layer(result: HotspotChange) -> GridLayer:
    props = tuple({"class": c.change, "counts": list(c.counts),
                   "hot": ["hot" if h else "-" for h in c.hot], "row": c.row, "col": c.col}
                  for c in result.cells)
    return GridLayer(tuple(c.x for c in result.cells), tuple(c.y for c in result.cells),
                     result.cell_size, props, CHANGE_COLOURS, "Hotspot change", result.method,
                     "Click a cell for its crimes and whether it was hot in each period.")


def cells_geojson_wgs84(layer: GridLayer) -> dict[str, Any]:
    """The grid cells as a GeoJSON FeatureCollection in WGS84 (as Leaflet expects)."""
    rings = square_rings_wgs84(layer.x, layer.y, layer.cell_size)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for props, ring in zip(layer.properties, rings, strict=True)]}


def describe(layer: GridLayer, title: str) -> str:
    """Plain-language summary used as the SVG's aria description and the page's summary."""
    counts = layer.counts_by_class()
    parts = [f"{counts[k]:,} {k}" for k in layer.colours if k in counts]
    return (f"Map of {title}: {len(layer.x):,} grid cells of {layer.cell_size:g} m "
            f"inside the boundary; {'; '.join(parts)}.")


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{leaflet_css}
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 0 1rem; color: #222; }}
#map {{ height: 75vh; background: #ffffff; border: 1px solid #999; }}
.legend {{ background: #fff; padding: 6px 8px; line-height: 1.5; font-size: 13px; }}
.legend i {{ display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #777; }}
.note {{ font-size: 0.9rem; color: #444; }}
.ward-label {{ background: transparent; border: none; box-shadow: none; padding: 0;
  font-size: 11px; color: #333; text-shadow: 0 0 2px #fff, 0 0 2px #fff; }}
.ward-label:before {{ display: none; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="note">{summary}</p>
<div id="map" role="region" aria-label="{summary}"></div>
<p class="note">Background map tiles are off: this page loads nothing from the internet, so it
works on council networks that block tile servers. The map shows {contents}. {help_text}</p>
<h2>Method</h2>
<p class="note">{method}</p>
<script>
{leaflet_js}
</script>
<script>
var boundary = {boundary};
var cells = {cells};
var colours = {colours};
var labels = {{"count": "Crimes", "z": "z", "p": "p", "p_adjusted": "adjusted p",
  "density": "Crimes per km\u00b2", "counts": "Crimes per period", "hot": "Hot per period"}};
var map = L.map("map", {{zoomSnap: 0.25}});
// Leaflet's attribution prefix is a link to leafletjs.com; keep the credit as plain text.
map.attributionControl.setPrefix("Leaflet (BSD-2)");
L.geoJSON(cells, {{
  style: function (f) {{
    return {{color: "#888", weight: 0.3, fillColor: colours[f.properties["class"]],
             fillOpacity: 0.85}};
  }},
  onEachFeature: function (f, layer) {{
    var p = f.properties, lines = ["<b>" + p["class"] + "</b>"];
    for (var k in p) {{
      if (k !== "class" && k !== "row" && k !== "col") {{ lines.push(labels[k] + ": " + p[k]); }}
    }}
    layer.bindPopup(lines.join("<br>"));
  }}
}}).addTo(map);
var outline = L.geoJSON(boundary, {{style: {{color: "{boundary_colour}", weight: 2,
  fill: false}}, interactive: false}}).addTo(map);
map.fitBounds(outline.getBounds());
// Ward outlines and names, so a reader can tell where a cell is without background tiles.
var wards = {wards};
L.geoJSON(wards, {{style: {{color: "{ward_colour}", weight: 0.8, dashArray: "3 3",
  fill: false}}, onEachFeature: function (f, layer) {{
    layer.bindTooltip(f.properties.name, {{permanent: true, direction: "center",
      className: "ward-label"}});
  }}}}).addTo(map);
var legend = L.control({{position: "bottomright"}});
legend.onAdd = function () {{
  var div = L.DomUtil.create("div", "legend");
  div.innerHTML = {legend};
  return div;
}};
legend.addTo(map);
</script>
</body>
</html>
"""


def _legend_html(layer: GridLayer) -> str:
    rows = [f'<i style="background:{colour}"></i>{html.escape(name)}'
            for name, colour in layer.colours.items()]
    return f"<b>{html.escape(layer.legend_title)}</b><br>" + "<br>".join(rows)


def map_html(layer: GridLayer, boundary: BaseGeometry, title: str,
             wards: Sequence[WardOutline] = ()) -> str:
    """A single self-contained HTML page (Leaflet inlined, no tiles, no external URLs)
    mapping the cells by class over the boundary (`boundary` in EPSG:27700), with the ward
    outlines and names when `wards` are given (core.areas.ward_outlines)."""
    contents = ("the area boundary, its wards (outlines and names) and the grid" if wards
                else "the area boundary and the grid only")
    return PAGE.format(
        title=html.escape(title), summary=html.escape(describe(layer, title)),
        method=html.escape(layer.method), help_text=html.escape(layer.help_text),
        leaflet_css=_leaflet_css(), leaflet_js=_vendor("leaflet.js"),
        boundary=script_json(_boundary_wgs84(boundary)),
        cells=script_json(cells_geojson_wgs84(layer)),
        colours=script_json(layer.colours), boundary_colour=BOUNDARY_COLOUR,
        legend=script_json(_legend_html(layer)), contents=contents,
        wards=script_json(_wards_wgs84(wards)), ward_colour=WARD_COLOUR)


def _wards_wgs84(wards: Sequence[WardOutline]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": w.name},
         "geometry": _boundary_wgs84(w.geometry)} for w in wards]}


def _square(x: float, y: float, cell_size: float) -> list[tuple[float, float]]:
    """A cell's closed ring, EPSG:27700, counter-clockwise from the south-west corner."""
    h = cell_size / 2
    return [(x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h), (x - h, y - h)]


def map_spec(layer: GridLayer, boundary: BaseGeometry, title: str,
             width: int = 560, wards: Sequence[WardOutline] = ()) -> dict[str, Any]:
    """Vega-Lite spec of the map in British National Grid metres: an identity projection
    (reflectY, since northings grow upwards) keeps the cells square, which mercator on
    WGS84 would only approximate. Ward outlines (dashed) and names when `wards` are given.

    The cells of a class are one MultiPolygon (each square still its own outlined polygon,
    so the map looks the same): a few paths instead of thousands makes the SVG small and
    quick to draw (vl-convert, WeasyPrint, a browser). Altair builds the layers around
    named data, filled in after to_dict (charts.inline_data), and does not validate it
    against the schema, which took seconds for a borough's grid (tests/test_chart_specs.py
    validates the finished spec instead)."""
    squares: dict[str, list[list[list[tuple[float, float]]]]] = {}
    for props, x, y in zip(layer.properties, layer.x, layer.y, strict=True):
        squares.setdefault(props["class"], []).append([_square(x, y, layer.cell_size)])
    data: dict[str, list[dict[str, Any]]] = {
        "cells": [{"type": "Feature", "properties": {"class": k},
                   "geometry": {"type": "MultiPolygon", "coordinates": squares[k]}}
                  for k in layer.colours if k in squares],
        "outline": [{"type": "Feature", "properties": {},
                     "geometry": dict(mapping(boundary))}]}
    domain = list(layer.colours)
    present = set(squares)
    grid = alt.Chart(alt.Data(name="cells")).mark_geoshape(
        stroke="#bbbbbb", strokeWidth=0.2).encode(
        color=alt.Color("properties.class:N", title=layer.legend_title, scale=alt.Scale(
            domain=domain, range=[layer.colours[k] for k in domain]),
            legend=alt.Legend(values=[k for k in domain if k in present], orient="right",
                              symbolType="square")))
    edge = alt.Chart(alt.Data(name="outline")).mark_geoshape(
        filled=False, stroke=BOUNDARY_COLOUR, strokeWidth=1.5)
    bx0, by0, bx1, by1 = boundary.bounds
    height = max(100, round(width * (by1 - by0) / max(bx1 - bx0, 1.0)))
    layers = [grid, edge]
    if wards:
        data["wards"] = [{"type": "Feature", "properties": {"name": w.name},
                          "geometry": dict(mapping(w.geometry))} for w in wards]
        points = [(w.name, w.geometry.representative_point()) for w in wards]
        data["ward_names"] = [{"name": n, "x": p.x, "y": p.y} for n, p in points]
        layers.insert(1, alt.Chart(alt.Data(name="wards")).mark_geoshape(
            filled=False, stroke=WARD_COLOUR, strokeWidth=0.5, strokeDash=[3, 2]))
        layers.append(alt.Chart(alt.Data(name="ward_names")).mark_text(
            fontSize=6.5, color="#333333").encode(
            longitude=alt.Longitude("x:Q"), latitude=alt.Latitude("y:Q"),
            text=alt.Text("name:N")))
    chart = alt.layer(*layers).project(type="identity", reflectY=True).properties(
        title=title, width=width, height=height,
        description=describe(layer, title))
    return inline_data(chart.configure(font=FONT).configure_view(stroke=None).to_dict(
        validate=False), data)


def map_svg(layer: GridLayer, boundary: BaseGeometry, title: str,
            wards: Sequence[WardOutline] = ()) -> str:
    """Static SVG of the map for the pack, with a <title> and <desc> and an aria-label on the
    root, so the file is accessible on its own (outside the pack's figure alt text too)."""
    spec = map_spec(layer, boundary, title, wards=wards)
    svg = str(vlc.vegalite_to_svg(spec))
    label = html.escape(spec["description"], quote=True)
    head, sep, rest = svg.partition(">")
    return (f'{head} role="img" aria-label="{label}"{sep}<title>{html.escape(title)}</title>'
            f"<desc>{label}</desc>{rest}")


def map_png(layer: GridLayer, boundary: BaseGeometry, title: str, scale: float = 2.0,
            wards: Sequence[WardOutline] = ()) -> bytes:
    """Static PNG of the map (`--format png`); scale 2 for print-quality packs."""
    return bytes(vlc.vegalite_to_png(map_spec(layer, boundary, title, wards=wards),
                                     scale=scale))
