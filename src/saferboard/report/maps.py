"""Hotspot maps: a self-contained interactive Leaflet page and a static SVG/PNG for the pack.

The HTML page inlines Leaflet (vendored, BSD-2) and has no tile layer and no external URL at
all, because council networks often block CDNs and tile servers: the borough boundary and the
grid are drawn on a blank background. Classes are coloured in reds (hot) and blues (cold)
from ColorBrewer's RdBu diverging scheme, which stays distinguishable with the common
colour-vision deficiencies; the class is also in every popup and the legend, so colour is
never the only cue.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import Any

import altair as alt
import numpy as np
import shapely
import vl_convert as vlc
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from saferboard.measures.hotspots import HotspotResult, cell_rings_wgs84, to_wgs84

# ColorBrewer RdBu (colour-blind safe): darker = more confident.
CLASS_COLOURS: dict[str, str] = {
    "hot 99%": "#b2182b", "hot 95%": "#ef8a62", "hot 90%": "#fddbc7",
    "cold 90%": "#d1e5f0", "cold 95%": "#67a9cf", "cold 99%": "#2166ac",
    "not significant": "#f7f7f7",
}
BOUNDARY_COLOUR = "#333333"
FONT = "DejaVu Sans"


def _vendor(name: str) -> str:
    return (resources.files("saferboard") / "report" / "vendor" / name).read_text("utf-8")


def _leaflet_css() -> str:
    # The default marker and layer-control images are not used here; dropping their relative
    # url()s keeps the page from trying to load files that are not beside it.
    return re.sub(r"url\((?!#)[^)]*\)", "none", _vendor("leaflet.css"))


def _script_safe(text: str) -> str:
    # JSON inside <script>: "</" must not close the element early.
    return text.replace("</", "<\\/")


def _boundary_wgs84(boundary: BaseGeometry) -> dict[str, Any]:
    def project(coords: Any) -> Any:
        lon, lat = to_wgs84(coords[:, 0], coords[:, 1])
        return np.round(np.stack([lon, lat], axis=1), 6)

    return dict(mapping(shapely.transform(boundary, project)))


def _cell_properties(result: HotspotResult) -> list[dict[str, Any]]:
    return [{"row": c.row, "col": c.col, "count": c.count, "z": round(c.z, 3),
             "p": float(f"{c.p:.4g}"), "p_adjusted": float(f"{c.p_adjusted:.4g}"),
             "class": c.hotspot} for c in result.cells]


def cells_geojson_wgs84(result: HotspotResult) -> dict[str, Any]:
    """The grid cells as a GeoJSON FeatureCollection in WGS84 (as Leaflet expects)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Polygon", "coordinates": [ring]}}
        for props, ring in zip(_cell_properties(result), cell_rings_wgs84(result), strict=True)]}


def describe(result: HotspotResult, title: str) -> str:
    """Plain-language summary used as the SVG's aria description and the page's summary."""
    counts = result.counts_by_class()
    parts = [f"{counts[k]:,} {k}" for k in CLASS_COLOURS if k in counts]
    return (f"Map of {title}: {len(result.cells):,} grid cells of {result.cell_size:g} m "
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
</style>
</head>
<body>
<h1>{title}</h1>
<p class="note">{summary}</p>
<div id="map" role="region" aria-label="{summary}"></div>
<p class="note">Background map tiles are off: this page loads nothing from the internet, so it
works on council networks that block tile servers. The map shows the area boundary and the grid
only. Click a cell for its count, Gi* z-score and p-values.</p>
<h2>Method</h2>
<p class="note">{method}</p>
<script>
{leaflet_js}
</script>
<script>
var boundary = {boundary};
var cells = {cells};
var colours = {colours};
var map = L.map("map", {{zoomSnap: 0.25}});
// Leaflet's attribution prefix is a link to leafletjs.com; keep the credit as plain text.
map.attributionControl.setPrefix("Leaflet (BSD-2)");
L.geoJSON(cells, {{
  style: function (f) {{
    return {{color: "#888", weight: 0.3, fillColor: colours[f.properties["class"]],
             fillOpacity: 0.85}};
  }},
  onEachFeature: function (f, layer) {{
    var p = f.properties;
    layer.bindPopup("<b>" + p["class"] + "</b><br>Crimes: " + p.count + "<br>z: " + p.z +
      "<br>p: " + p.p + "<br>adjusted p: " + p.p_adjusted);
  }}
}}).addTo(map);
var outline = L.geoJSON(boundary, {{style: {{color: "{boundary_colour}", weight: 2,
  fill: false}}, interactive: false}}).addTo(map);
map.fitBounds(outline.getBounds());
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


def _legend_html() -> str:
    rows = [f'<i style="background:{colour}"></i>{html.escape(name)}'
            for name, colour in CLASS_COLOURS.items()]
    return "<b>Gi* class</b><br>" + "<br>".join(rows)


def hotspot_map_html(result: HotspotResult, boundary: BaseGeometry, title: str) -> str:
    """A single self-contained HTML page (Leaflet inlined, no tiles, no external URLs)
    mapping the cells by class over the boundary (`boundary` in EPSG:27700)."""
    return PAGE.format(
        title=html.escape(title), summary=html.escape(describe(result, title)),
        method=html.escape(result.method), leaflet_css=_leaflet_css(),
        leaflet_js=_vendor("leaflet.js"),
        boundary=_script_safe(json.dumps(_boundary_wgs84(boundary))),
        cells=_script_safe(json.dumps(cells_geojson_wgs84(result))),
        colours=json.dumps(CLASS_COLOURS), boundary_colour=BOUNDARY_COLOUR,
        legend=_script_safe(json.dumps(_legend_html())))


def hotspot_map_spec(result: HotspotResult, boundary: BaseGeometry, title: str,
                     width: int = 560) -> dict[str, Any]:
    """Vega-Lite spec of the map in British National Grid metres: an identity projection
    (reflectY, since northings grow upwards) keeps the cells square, which mercator on
    WGS84 would only approximate."""
    cells = [{"type": "Feature", "properties": props,
              "geometry": {"type": "Polygon", "coordinates": [c.square(result.cell_size)]}}
             for props, c in zip(_cell_properties(result), result.cells, strict=True)]
    outline = [{"type": "Feature", "properties": {}, "geometry": dict(mapping(boundary))}]
    domain = list(CLASS_COLOURS)
    present = set(result.counts_by_class())
    grid = alt.Chart(alt.Data(values=cells)).mark_geoshape(
        stroke="#bbbbbb", strokeWidth=0.2).encode(
        color=alt.Color("properties.class:N", title="Gi* class", scale=alt.Scale(
            domain=domain, range=[CLASS_COLOURS[k] for k in domain]),
            legend=alt.Legend(values=[k for k in domain if k in present], orient="right",
                              symbolType="square")))
    edge = alt.Chart(alt.Data(values=outline)).mark_geoshape(
        filled=False, stroke=BOUNDARY_COLOUR, strokeWidth=1.5)
    bx0, by0, bx1, by1 = boundary.bounds
    height = max(100, round(width * (by1 - by0) / max(bx1 - bx0, 1.0)))
    chart = alt.layer(grid, edge).project(type="identity", reflectY=True).properties(
        title=title, width=width, height=height,
        description=describe(result, title))
    spec: dict[str, Any] = chart.configure(font=FONT).configure_view(stroke=None).to_dict()
    return spec


def hotspot_map_svg(result: HotspotResult, boundary: BaseGeometry, title: str) -> str:
    """Static SVG of the map for the pack, with a <title> and <desc> and an aria-label on the
    root, so the file is accessible on its own (outside the pack's figure alt text too)."""
    spec = hotspot_map_spec(result, boundary, title)
    svg = str(vlc.vegalite_to_svg(spec))
    label = html.escape(spec["description"], quote=True)
    head, sep, rest = svg.partition(">")
    return (f'{head} role="img" aria-label="{label}"{sep}<title>{html.escape(title)}</title>'
            f"<desc>{label}</desc>{rest}")


def hotspot_map_png(result: HotspotResult, boundary: BaseGeometry, title: str,
                    scale: float = 2.0) -> bytes:
    """Static PNG of the map (`--format png`); scale 2 for print-quality packs."""
    return bytes(vlc.vegalite_to_png(hotspot_map_spec(result, boundary, title), scale=scale))
