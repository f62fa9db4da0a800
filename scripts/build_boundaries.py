"""Build src/saferboard/data/london_boroughs_bng.geojson from the team's shared ONS boundaries.

Reads ../shared/data/london_boundaries/lad22_gen20 (ONS local authority districts, December
2022, generalised to 20 m, British National Grid), simplifies each borough with shapely at
10 m so the shipped file stays small, and writes GeoJSON in EPSG:27700 metres (coordinates
rounded to 0.1 m). The runtime reads it with json + shapely only, so saferboard never needs
../shared or a GIS file reader. Needs pyshp (`pip install pyshp`), a build-time dependency.

    python scripts/build_boundaries.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapefile  # pyshp
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "saferboard" / "data" / "london_boroughs_bng.geojson"
TOLERANCE_M = 10.0


def _rounded(coords: object) -> object:
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], float | int):
        return [round(float(c), 1) for c in coords]
    assert isinstance(coords, list | tuple)
    return [_rounded(c) for c in coords]


def build(shared: Path) -> dict[str, object]:
    reader = shapefile.Reader(str(shared / "london_boundaries" / "lad22_gen20"
                                  / "london-2021-lad22-gen20"))
    prj = (shared / "london_boundaries" / "lad22_gen20" / "london-2021-lad22-gen20.prj")
    assert "British_National_Grid" in prj.read_text(), "expected a British National Grid file"
    features = []
    for sr in reader.iterShapeRecords():
        geom = shape(sr.shape.__geo_interface__)
        # preserve_topology keeps every polygon valid (no self-intersections after simplifying).
        simple = geom.simplify(TOLERANCE_M, preserve_topology=True)
        assert simple.is_valid and not simple.is_empty
        geo = mapping(simple)
        features.append({
            "type": "Feature",
            "properties": {"name": sr.record["LAD22NM"], "code": sr.record["LAD22CD"]},
            "geometry": {"type": geo["type"], "coordinates": _rounded(geo["coordinates"])},
        })
    features.sort(key=lambda f: f["properties"]["name"])  # type: ignore[index]
    assert len(features) == 33, f"expected the 33 London boroughs, got {len(features)}"
    return {
        "type": "FeatureCollection",
        "name": "london_boroughs_bng",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": features,
    }


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    data = build(shared)
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(data['features'])} boroughs)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
