"""Kernel density (against a brute-force twin on real Barnet burglaries, by hand, and by its
integral) and hotspot change between periods (hand-made grids with known answers, and two
real periods of the example data)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from saferboard import store as st
from saferboard.core import categories
from saferboard.core.errors import InputError
from saferboard.measures import density as d
from saferboard.measures import hotspot_change as hc
from saferboard.measures import hotspots as h
from tests.conftest import EXAMPLES, run_cli
from tests.test_hotspots import barnet_burglary_points


@pytest.fixture(scope="module")
def barnet() -> tuple[np.ndarray, np.ndarray, shapely.Geometry]:
    x, y = barnet_burglary_points()
    _, geom = h.boundary("Barnet")
    return x, y, geom


# ---------------------------------------------------------------- kernel density

def brute_quartic(cx: np.ndarray, cy: np.ndarray, x: np.ndarray, y: np.ndarray,
                  bw: float) -> np.ndarray:
    """Every cell against every point, no tree: 3 / (pi h^2) (1 - d^2/h^2)^2 for d < h, per
    km^2, summed in chunks of cells to bound memory."""
    out = np.zeros(len(cx))
    for s in range(0, len(cx), 200):
        dist = np.hypot(cx[s:s + 200, None] - x[None, :], cy[s:s + 200, None] - y[None, :])
        k = np.where(dist < bw, (1 - (dist / bw) ** 2) ** 2, 0.0)
        out[s:s + 200] = k.sum(axis=1) * 3 / (math.pi * bw * bw) * 1e6
    return out


def test_kde_matches_brute_force_on_real_barnet_burglary(barnet):
    x, y, geom = barnet
    r = d.kde(x, y, geom, 200)
    assert len(r.cells) > 2000 and r.kernel == "quartic" and "Silverman" in r.bandwidth_rule
    cx = np.array([c.x for c in r.cells])
    cy = np.array([c.y for c in r.cells])
    ours = np.array([c.density for c in r.cells])
    np.testing.assert_allclose(ours, brute_quartic(cx, cy, x, y, r.bandwidth), rtol=0,
                               atol=1e-9)
    # And plain loops on a sample of cells, so the twin itself is not all numpy.
    for i in range(0, len(cx), 97):
        total = 0.0
        for px, py in zip(x.tolist(), y.tolist(), strict=True):
            dd = math.hypot(cx[i] - px, cy[i] - py)
            if dd < r.bandwidth:
                total += (1 - dd * dd / r.bandwidth ** 2) ** 2
        assert ours[i] == pytest.approx(total * 3e6 / (math.pi * r.bandwidth ** 2), abs=1e-9)
    # The cells are the hotspot grid's cells, counts included.
    grid = h.grid_counts(x, y, geom, 200)
    assert [(c.row, c.col, c.count) for c in r.cells] == [
        (int(a), int(b), int(n)) for a, b, n in zip(*grid.cell_index(), grid.values(),
                                                    strict=True)]


@pytest.mark.parametrize("bw", [450.0, 600.0, 900.0])
def test_density_integrates_to_the_points_away_from_the_boundary(barnet, bw):
    x, y, geom = barnet
    # Points whose whole kernel disc (plus a cell) lies inside the borough: no mass is lost.
    inner = shapely.contains_xy(geom.buffer(-(bw + 300)), x, y)
    assert inner.sum() > 1000
    r = d.kde(x[inner], y[inner], geom, 200, bandwidth=bw)
    assert r.mass() == pytest.approx(int(inner.sum()), rel=2e-3)
    # All points: some mass spills outside the grid at the edge, never more than comes in.
    everything = d.kde(x, y, geom, 200, bandwidth=bw)
    assert 0.95 * len(x) < everything.mass() < len(x)


def test_quartic_kernel_by_hand():
    square = shapely.box(0, 0, 1000, 1000)
    # One crime at the centre of cell (2, 2) (centre 500, 500), bandwidth 400 m.
    r = d.kde(np.array([500.0]), np.array([500.0]), square, 200, bandwidth=400)
    by_cell = {(c.row, c.col): c.density for c in r.cells}
    peak = 3 / (math.pi * 400**2) * 1e6  # 5.968 crimes per km^2
    assert by_cell[(2, 2)] == pytest.approx(peak, rel=1e-12)
    assert by_cell[(2, 3)] == pytest.approx(peak * (1 - 0.25) ** 2, rel=1e-12)  # d = 200
    assert by_cell[(3, 3)] == pytest.approx(peak * (1 - 0.5) ** 2, rel=1e-12)  # d = 282.8
    assert by_cell[(2, 4)] == 0  # d = 400 = h: the kernel is 0 at the bandwidth
    assert r.bandwidth_rule == "given" and "400.0 m" in r.method


def test_bandwidth_rule_values(barnet):
    # Four points 100 m from their mean centre: SD = Dm = 100, so h = 0.9 x 100 x 4^-0.2.
    x = np.array([100.0, -100, 0, 0])
    y = np.array([0.0, 0, 100, -100])
    assert d.silverman_bandwidth(x, y) == pytest.approx(90 * 4**-0.2, rel=1e-12)  # 68.39 m
    # Two far outliers: SD = sqrt((4 + 2 x 100^2) / 6) = 57.75, Dm = 1, so the median term
    # sqrt(1/ln 2) x 1 = 1.2011 sets it.
    x = np.array([1.0, -1, 0, 0, 100, -100])
    y = np.array([0.0, 0, 1, -1, 0, 0])
    assert d.silverman_bandwidth(x, y) == pytest.approx(
        0.9 * math.sqrt(1 / math.log(2)) * 6**-0.2, rel=1e-12)
    # Real Barnet burglaries, 4,772 points: 609.28 m, about 3 cells of 200 m.
    bx, by, _ = barnet
    assert len(bx) == 4772
    assert d.silverman_bandwidth(bx, by) == pytest.approx(609.284, abs=1e-3)


def test_bandwidth_errors():
    with pytest.raises(InputError, match="at least 2 points"):
        d.silverman_bandwidth(np.array([1.0]), np.array([1.0]))
    with pytest.raises(InputError, match=r"gives 0 m.*no spread"):
        d.silverman_bandwidth(np.full(4, 5.0), np.full(4, 7.0))
    with pytest.raises(InputError, match="bandwidth must be positive"):
        d.kde(np.array([1.0]), np.array([1.0]), shapely.box(0, 0, 500, 500), 100, bandwidth=0)


# ---------------------------------------------------------------- hotspot change

@pytest.mark.parametrize(("hot", "share", "expected"), [
    ((True, True), 1.0, "persistent"),
    ((False, True), 1.0, "emerging"),
    ((True, False), 1.0, "former"),
    ((False, False), 1.0, "not hot"),
    ((False, False, True, True), 1.0, "emerging"),
    ((True, True, True, False), 1.0, "former"),
    ((False, True, False), 1.0, "intermittent"),
    ((True, False, True), 1.0, "intermittent"),
    ((True, False, True), 0.6, "persistent"),  # 2 of 3 = 67% >= 60%
    ((True, True, True, True, False), 0.8, "persistent"),
    ((True, True, True, False, False), 0.8, "former"),
    ((True, False), 0.5, "persistent"),
])
def test_change_class(hot, share, expected):
    assert hc.change_class(hot, share) == expected


def period(zp: list[tuple[float, float]]) -> h.HotspotResult:
    """A 1 x len(zp) grid's Gi* result with given (z, adjusted p) per cell."""
    cells = tuple(h.Cell(0, i, 100.0 * i + 50, 50.0, 0.0, 51.0, 1, z, p, p,
                         h.classify(z, p)) for i, (z, p) in enumerate(zp))
    return h.HotspotResult(100.0, cells, len(cells), 0, 0, None, True, "test")


def test_hotspot_change_on_a_hand_made_grid():
    # Five cells, two periods: hot/hot, not/hot, hot/not, cold/cold, weak (p 0.03) both times.
    before = period([(3, 0.001), (0.5, 0.6), (2.8, 0.004), (-3, 0.001), (2.2, 0.03)])
    after = period([(3, 0.002), (3.1, 0.001), (1.0, 0.3), (-3, 0.001), (2.1, 0.03)])
    r = hc.hotspot_change([before, after])
    assert [c.change for c in r.cells] == ["persistent", "emerging", "former", "not hot",
                                           "persistent"]
    assert r.counts_by_class() == {"persistent": 2, "emerging": 1, "former": 1,
                                   "intermittent": 0, "not hot": 1}
    # At 99% the p = 0.03 cell is no longer hot; cold spots never count as hot.
    r99 = hc.hotspot_change([before, after], confidence=0.99)
    assert [c.change for c in r99.cells] == ["persistent", "emerging", "former", "not hot",
                                             "not hot"]
    assert "p < 0.01 (99% confidence)" in r99.method
    # p exactly 0.05 is not hot at 95%, as hotspots.classify calls it not significant.
    edge = hc.hotspot_change([period([(2, 0.05)]), period([(2, 0.0499)])])
    assert edge.cells[0].hot == (False, True) and edge.cells[0].change == "emerging"


def test_hotspot_change_over_sub_periods():
    hot, cold = (3.0, 0.001), (0.1, 0.9)
    results = [period([hot, cold, cold, hot]), period([cold, hot, cold, hot]),
               period([hot, hot, cold, cold]), period([cold, hot, cold, hot])]
    r = hc.hotspot_change(results)
    assert [c.change for c in r.cells] == ["intermittent", "emerging", "not hot",
                                           "intermittent"]
    assert r.cells[0].hot == (True, False, True, False) and r.periods == 4
    r = hc.hotspot_change(results, persistent_share=0.75)  # hot in 3 of 4 periods
    assert [c.change for c in r.cells] == ["intermittent", "persistent", "not hot",
                                           "persistent"]


def test_hotspot_change_errors():
    a = period([(3, 0.001)])
    with pytest.raises(InputError, match="at least 2 periods"):
        hc.hotspot_change([a])
    with pytest.raises(InputError, match="grids differ"):
        hc.hotspot_change([a, period([(3, 0.001), (3, 0.001)])])
    with pytest.raises(InputError, match="confidence"):
        hc.hotspot_change([a, a], confidence=95)
    with pytest.raises(InputError, match="persistent share"):
        hc.hotspot_change([a, a], persistent_share=0)


# ---------------------------------------------------------------- real periods and the CLI

@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("density") / "d.duckdb"
    files = sorted((EXAMPLES / "policeuk").glob("202[345]-*-metropolitan-street.csv.gz"))
    r = run_cli("ingest", "--db", db, *files)
    assert r.code == 0, r.stderr
    return db


BEFORE = "2023-03..2023-08"
AFTER = "2024-09..2025-02"


def test_hotspot_change_on_two_real_periods(example_db):
    from datetime import date

    con = st.connect(example_db, read_only=True)
    try:
        a = hc.area_hotspot_change(con, categories.load(), "barnet",
                                   [(date(2023, 3, 1), date(2023, 8, 1)),
                                    (date(2024, 9, 1), date(2025, 2, 1))])
    finally:
        con.close()
    r = a.result
    counts = r.counts_by_class()
    assert a.area == "Barnet" and r.cell_size == 200 and sum(counts.values()) == len(r.cells)
    assert len(r.cells) == 2324 and counts["intermittent"] == 0  # two periods: none
    # Each class follows from the two periods' own hotspot classes.
    before, after = (p.result for p in a.period_hotspots)
    hot_b = [c.hotspot in ("hot 99%", "hot 95%") for c in before.cells]
    hot_a = [c.hotspot in ("hot 99%", "hot 95%") for c in after.cells]
    assert counts["persistent"] == sum(b and f for b, f in zip(hot_b, hot_a, strict=True))
    assert counts["emerging"] == sum(f and not b for b, f in zip(hot_b, hot_a, strict=True))
    assert counts["former"] == sum(b and not f for b, f in zip(hot_b, hot_a, strict=True))
    assert min(counts["persistent"], counts["emerging"], counts["former"]) > 10
    assert [c.counts for c in r.cells] == [(b.count, f.count) for b, f in
                                           zip(before.cells, after.cells, strict=True)]


def test_cli_hotspot_change(example_db):
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period", BEFORE,
                "--period", AFTER, "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["periods"] == [BEFORE, AFTER] and doc["confidence"] == 0.95
    assert sum(doc["classes"].values()) == len(doc["cells"]) == 2324
    assert set(doc["cells"][0]) == {"row", "col", "x", "y", "lon", "lat", "count_1", "count_2",
                                    "hot_1", "hot_2", "class"}
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--category",
                "Burglary", "--period", "2023-03..2023-08", "--period", "2023-09..2024-02",
                "--period", "2024-03..2024-08", "--confidence", "90", "--format", "geojson")
    assert r.code == 0, r.stderr
    gj = json.loads(r.stdout)
    assert gj["metadata"]["confidence"] == 0.9 and len(gj["metadata"]["periods"]) == 3
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1] and "90% confidence" in r.stderr
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period", BEFORE,
                "--period", AFTER, "--format", "csv")
    assert r.code == 0 and r.stdout.startswith("row,col,x,y,lon,lat,count_1,count_2,hot_1")
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period", AFTER,
                "--period", BEFORE)
    assert r.code == 1 and "time order" in r.stderr
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period",
                "2023-08..2023-03", "--period", AFTER)
    assert r.code == 1 and "period 2023-08..2023-03 ends before it starts" in r.stderr
    r = run_cli("hotspot-change", "--db", example_db, "--area", "Barnet", "--period", BEFORE)
    assert r.code == 1 and "at least 2 periods" in r.stderr


def test_cli_density(example_db):
    r = run_cli("density", "--db", example_db, "--area", "barnet", "--category", "Burglary",
                "--format", "json")
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["area"] == "Barnet" and doc["kernel"] == "quartic" and doc["cell_size_m"] == 200
    assert doc["units"] == "crimes per km2" and 300 < doc["bandwidth_m"] < 1500
    assert 0.95 * doc["rows"] < doc["mass"] <= doc["rows"]
    assert set(doc["cells"][0]) == {"row", "col", "x", "y", "lon", "lat", "count", "density"}
    r = run_cli("density", "--db", example_db, "--area", "Barnet", "--bandwidth", "500",
                "--cell-size", "400", "--format", "geojson")
    assert r.code == 0, r.stderr
    gj = json.loads(r.stdout)
    assert gj["metadata"]["bandwidth_m"] == 500 and gj["metadata"]["bandwidth_rule"] == "given"
    ring = gj["features"][0]["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1] and -0.4 < ring[0][0] < 0 < ring[0][1]
    # The same rings as the hotspots command's.
    hs = json.loads(run_cli("hotspots", "--db", example_db, "--area", "Barnet", "--cell-size",
                            "400", "--format", "geojson").stdout)
    assert [f["geometry"] for f in hs["features"]] == [f["geometry"] for f in gj["features"]]
    r = run_cli("density", "--db", example_db, "--area", "Barnet", "--format", "csv")
    assert r.code == 0 and r.stdout.startswith("row,col,x,y,lon,lat,count,density")
    assert "quartic" in r.stderr
    r = run_cli("density", "--db", example_db, "--area", "Barnet", "--bandwidth", "-5")
    assert r.code == 1 and "bandwidth must be positive" in r.stderr
    r = run_cli("density", "--db", example_db, "--area", "Camden")
    assert r.code == 1 and "no police.uk street crimes with coordinates for Camden" in r.stderr
