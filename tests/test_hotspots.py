"""Getis-Ord Gi* hotspots: pinned to esda's published test values, to a brute-force twin of
the Getis & Ord formula on real Barnet burglaries, and to hand-computed BH adjustments."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from saferboard.core.errors import InputError
from saferboard.measures import hotspots as h
from tests.conftest import EXAMPLES, run_cli

# esda/tests/test_getisord.py (esda 2.9.0), TestGLocal.test_star_binary: six points,
# DistanceBand(threshold=15), G_Local(y, w, transform="B", star=True) -> Zs[0] = -1.39727626.
ESDA_POINTS = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)], float)
ESDA_Y = np.array([2, 3, 3.2, 5, 8, 7])
ESDA_STAR_BINARY_Z0 = -1.39727626


def distance_band(points: np.ndarray, threshold: float) -> sparse.csr_matrix:
    d = np.hypot(points[:, None, 0] - points[None, :, 0], points[:, None, 1] - points[None, :, 1])
    return sparse.csr_matrix((d <= threshold).astype(float))


def test_gistar_reproduces_esda_published_value():
    z = h.local_gstar(ESDA_Y, distance_band(ESDA_POINTS, 15))
    assert z[0] == pytest.approx(ESDA_STAR_BINARY_Z0, abs=1e-7)


def barnet_burglary_points() -> tuple[np.ndarray, np.ndarray]:
    """Met burglaries in Barnet LSOAs from the shipped examples, read straight from the CSVs."""
    lon: list[float] = []
    lat: list[float] = []
    for path in sorted((EXAMPLES / "policeuk").glob("*-metropolitan-street.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if r["LSOA name"].startswith("Barnet ") and r["Longitude"]:
                    lon.append(float(r["Longitude"]))
                    lat.append(float(r["Latitude"]))
    return h.to_bng(np.array(lon), np.array(lat))


@pytest.fixture(scope="module")
def barnet_grid() -> h.Grid:
    x, y = barnet_burglary_points()
    _, geom = h.boundary("Barnet")
    return h.grid_counts(x, y, geom, h.default_cell_size(geom.bounds))


def brute_gistar(xs: list[float], cx: list[float], cy: list[float], cell: float) -> list[float]:
    """Getis & Ord (1995): G*_i = (sum_j w_ij x_j - Xbar W_i) / (S sqrt((n W_i - W_i^2)/(n-1)))
    with w_ij = 1 when centres are within cell * sqrt(2) (i itself included), plain loops."""
    n = len(xs)
    mean = sum(xs) / n
    s = math.sqrt(sum(v * v for v in xs) / n - mean * mean)
    reach = cell * math.sqrt(2) * (1 + 1e-9)
    out = []
    for i in range(n):
        lag = 0.0
        wi = 0
        for j in range(n):
            if math.hypot(cx[i] - cx[j], cy[i] - cy[j]) <= reach:
                lag += xs[j]
                wi += 1
        out.append((lag - mean * wi) / (s * math.sqrt((n * wi - wi * wi) / (n - 1))))
    return out


def test_gistar_matches_brute_force_on_real_barnet_burglary(barnet_grid):
    result = h.gistar(barnet_grid, fdr=False)
    assert barnet_grid.cell_size == 200 and len(result.cells) > 2000
    assert sum(c.count for c in result.cells) == barnet_grid.points - barnet_grid.points_outside
    cx, cy = barnet_grid.centres()
    twin = brute_gistar(barnet_grid.values().tolist(), cx.tolist(), cy.tolist(), 200)
    np.testing.assert_allclose([c.z for c in result.cells], twin, rtol=0, atol=1e-9)


def test_gistar_equals_esda_on_the_real_grid(barnet_grid):
    import esda  # dev dependencies: installed wherever the tests run
    import libpysal

    w = libpysal.weights.W.from_sparse(h.grid_weights(barnet_grid))
    ref = esda.G_Local(barnet_grid.values(), w, transform="B", star=True, permutations=0)
    ours = np.array([c.z for c in h.gistar(barnet_grid).cells])
    np.testing.assert_allclose(ours, ref.Zs, rtol=0, atol=1e-9)
    # The general weights path gives the same as the 3x3-window path.
    np.testing.assert_allclose(h.local_gstar(barnet_grid.values(), h.grid_weights(barnet_grid)),
                               ours, rtol=0, atol=1e-12)


def test_grid_keeps_every_point_inside_the_boundary(barnet_grid):
    # Cells intersecting the boundary are kept, so no Barnet crime is lost at the edge.
    assert barnet_grid.points > 4000 and barnet_grid.points_outside == 0


def test_benjamini_hochberg_by_hand():
    # m = 5; sorted 0.005, 0.01, 0.03, 0.04, 0.20 -> p*m/rank 0.025, 0.025, 0.05, 0.05, 0.20,
    # then the running minimum from the largest rank down.
    adjusted = h.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.005, 0.20]))
    np.testing.assert_allclose(adjusted, [0.025, 0.05, 0.05, 0.025, 0.20])


@pytest.mark.parametrize(("bounds", "size"), [
    ((0, 0, 4000, 9000), 100),  # 80 m -> 50 m, raised to the 100 m floor
    ((0, 0, 30000, 20000), 400),  # 400 m exactly
    ((0, 0, 24999, 40000), 450),  # 499.98 m rounds down to 450 m
    ((517364.7, 185541.5, 529578.9, 198355.2), 200),  # Barnet: 12,214 m / 50 = 244 m
])
def test_default_cell_size(bounds, size):
    assert h.default_cell_size(bounds) == size


def test_classes():
    assert h.classify(3.0, 0.005) == "hot 99%"
    assert h.classify(-2.0, 0.04) == "cold 95%"
    assert h.classify(1.7, 0.09) == "hot 90%"
    assert h.classify(1.0, 0.10) == "not significant"


def test_permutation_inference_is_reproducible_and_agrees_on_strong_hotspots(barnet_grid):
    a = h.gistar(barnet_grid, permutations=199, seed=7)
    b = h.gistar(barnet_grid, permutations=199, seed=7)
    assert [c.p for c in a.cells] == [c.p for c in b.cells]
    analytic = h.gistar(barnet_grid, fdr=False)
    perm = h.gistar(barnet_grid, permutations=999, seed=1, fdr=False)
    # Conditional permutation holds a cell's own count fixed and tests its neighbours, so a
    # lone very busy cell (e.g. 41 burglaries among quiet neighbours) can be hot analytically
    # and not by permutation; a strong hotspot is a cluster: the neighbours carry most of it.
    lag, _ = h._window_sums(barnet_grid)
    strong = [i for i, c in enumerate(analytic.cells) if c.z > 4 and c.count < lag[i] / 2]
    assert len(strong) >= 10
    assert all(perm.cells[i].hotspot.startswith("hot") for i in strong)
    assert "999 permutations, seed 1" in perm.method


def test_permutation_p_matches_the_exact_permutation_distribution():
    # 3 x 4 grid, 12 cells: each cell's conditional null is its own count plus a random
    # (W_i - 1)-subset of the 11 others, few enough subsets to enumerate (at most 165).
    counts = np.array([[0, 1, 0, 2], [1, 9, 8, 0], [0, 7, 1, 0]])
    grid = h.Grid(100.0, 0.0, 0.0, np.ones((3, 4), bool), counts, 29, 0)
    values = grid.values()
    lag, card = h._window_sums(grid)
    p = h.permutation_p(values, lag, card, 20_000, seed=3)
    for i in range(12):
        others = np.delete(values, i)
        sums = np.array([values[i] + others[list(s)].sum()
                         for s in itertools.combinations(range(11), int(card[i]) - 1)])
        exact = min(1.0, 2 * min((sums >= lag[i]).mean(), (sums <= lag[i]).mean()))
        # Monte Carlo error of a doubled tail near 0.5 with 20,000 draws: sd about 0.007.
        assert p[i] == pytest.approx(exact, abs=0.025), i


def test_fdr_is_on_by_default_and_said():
    grid = h.Grid(100.0, 0.0, 0.0, np.ones((3, 4), bool),
                  np.array([[0, 1, 0, 2], [1, 9, 8, 0], [0, 7, 1, 0]]), 29, 0)
    on, off = h.gistar(grid), h.gistar(grid, fdr=False)
    assert on.fdr and "correction ON" in on.method and "correction OFF" in off.method
    assert all(c.p_adjusted >= c.p for c in on.cells)
    assert all(c.p_adjusted == c.p for c in off.cells)


def test_unknown_area_is_a_clear_error():
    with pytest.raises(InputError, match=r"is called 'Narnia'"):
        h.boundary("Narnia")
    with pytest.raises(InputError, match=r"did you mean 'Barnet'"):
        h.boundary("Barnett")


def test_boundary_of_any_la():
    # Outside London: the national generalised outline, by name or code; London unchanged.
    name, geom = h.boundary("Southampton")
    assert name == "Southampton" and h.boundary("E06000045")[1].equals(geom)
    assert 48e6 < geom.area < 53e6  # about 50 km2 (ONS standard area measurement 51 km2)
    assert h.boundary("Barnet")[0] == "Barnet"


def test_shipped_boundaries_cover_the_33_boroughs():
    assert len(h.borough_names()) == 33
    name, geom = h.boundary("kingston upon thames")
    assert name == "Kingston upon Thames" and 3.0e7 < geom.area < 4.0e7  # 37.3 km2 per ONS
    path = Path(h.__file__).parents[1] / "data" / "london_boroughs_bng.geojson"
    assert path.stat().st_size < 1_500_000


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("hotspots") / "h.duckdb"
    files = sorted((EXAMPLES / "policeuk").glob("202[34]-*-metropolitan-street.csv.gz"))
    r = run_cli("ingest", "--db", db, *files)
    assert r.code == 0, r.stderr
    return db


def test_cli_json_and_geojson(example_db):
    r = run_cli("hotspots", "--db", example_db, "--area", "barnet", "--category", "Burglary",
                "--from", "2024-01", "--to", "2024-12", "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["area"] == "Barnet" and doc["cell_size_m"] == 200 and doc["crs"] == "EPSG:27700"
    assert doc["fdr_correction"] is True and "Benjamini-Hochberg" in doc["method"]
    # Rows with no location have no LSOA, so no area: reported for the force, not mapped.
    assert doc["force"] == "metropolitan" and doc["force_rows_without_location"] > 0
    assert doc["rows_without_coordinates"] == 0
    assert sum(c["count"] for c in doc["cells"]) == doc["rows"] - doc["points_outside_grid"]
    assert set(doc["cells"][0]) == {"row", "col", "x", "y", "lon", "lat", "count", "z", "p",
                                    "p_adjusted", "class"}
    r = run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--cell-size", "400",
                "--format", "geojson")
    assert r.code == 0, r.stderr
    gj = json.loads(r.stdout)
    assert gj["type"] == "FeatureCollection" and gj["metadata"]["cell_size_m"] == 400
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1] and -0.4 < ring[0][0] < 0 < ring[0][1]
    assert "false-discovery-rate correction ON" in r.stderr
    r = run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--format", "csv")
    assert r.code == 0 and r.stdout.startswith("row,col,x,y,lon,lat,count,z,p,p_adjusted,class")


def test_cli_errors(example_db):
    r = run_cli("hotspots", "--db", example_db, "--area", "Narnia")
    assert r.code == 1 and "is called 'Narnia'" in r.stderr
    r = run_cli("hotspots", "--db", example_db, "--area", "Camden")
    assert r.code == 1 and "no police.uk street crimes with coordinates for Camden" in r.stderr
    r = run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--format", "kml")
    text = " ".join(re.sub("[│╭╮╰╯─]", " ", r.stderr).split())  # Typer boxes and wraps it
    assert r.code == 2 and "choose one of geojson, csv, json, html, png" in text
