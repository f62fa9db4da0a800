"""Gi* hotspot speed: saferboard's gistar against esda.G_Local(star=True) on the same grid and
the same weights, in the same run.

Data: 100,000 points over Barnet, made by resampling (seeded) the real Met burglary locations
in Barnet's LSOAs from examples/policeuk (4,772 points, 2023-03..2025-02) and jittering each by
a normal 75 m in x and y, so the clusters are real ones. They are projected to British
National Grid and counted on a 100 m grid clipped to Barnet's shipped boundary.

Timed (median of --repeat runs, interleaved):

* saferboard grid: `grid_counts` (grid, clipping, counting; not part of the comparison);
* saferboard Gi*: `gistar_scores(grid)`, z and analytic two-sided p of every cell: the same
  work as esda's (the ratio is taken on this);
* saferboard full: `gistar(grid, fdr=False)`, which also builds the per-cell result objects
  (centres in WGS84, classes), for the record;
* esda Gi*: `esda.G_Local(values, w, transform="B", star=True, permutations=0)` on a libpysal W
  holding exactly saferboard's weights (`grid_weights`: self plus queen neighbours, the
  cell_size * sqrt(2) band); building the W is timed apart;
* with --permutations R (default 99): both with conditional permutation inference.

The z-scores of the two are compared (max absolute difference printed; the script fails if it
exceeds 1e-9). Run: `.venv/bin/python benchmarks/hotspots.py [--repeat 5] [--permutations 99]`.
Needs the bench extra (esda, libpysal).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from saferboard.measures import hotspots as h

ROOT = Path(__file__).resolve().parents[1]
N_POINTS = 100_000
CELL_M = 100.0


def barnet_points(seed: int) -> tuple[np.ndarray, np.ndarray]:
    lon: list[float] = []
    lat: list[float] = []
    for path in sorted((ROOT / "examples" / "policeuk").glob("*-metropolitan-street.csv.gz")):
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                if r["LSOA name"].startswith("Barnet ") and r["Longitude"]:
                    lon.append(float(r["Longitude"]))
                    lat.append(float(r["Latitude"]))
    x, y = h.to_bng(np.array(lon), np.array(lat))
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(x), N_POINTS)
    return x[pick] + rng.normal(0, 75, N_POINTS), y[pick] + rng.normal(0, 75, N_POINTS)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--permutations", type=int, default=99)
    ap.add_argument("--seed", type=int, default=20261124)
    args = ap.parse_args()
    import esda
    import libpysal

    x, y = barnet_points(args.seed)
    _, geom = h.boundary("Barnet")
    times: dict[str, list[float]] = {k: [] for k in (
        "grid", "saferboard", "saferboard_full", "esda_w", "esda", "saferboard_perm", "esda_perm")}
    grid = h.grid_counts(x, y, geom, CELL_M)
    values = grid.values()
    w = libpysal.weights.W.from_sparse(h.grid_weights(grid))
    for _ in range(args.repeat):
        t, _ = timed(lambda: h.grid_counts(x, y, geom, CELL_M))
        times["grid"].append(t)
        t, (z, _) = timed(lambda: h.gistar_scores(grid))
        times["saferboard"].append(t)
        t, _ = timed(lambda: h.gistar(grid, fdr=False))
        times["saferboard_full"].append(t)
        t, _ = timed(lambda: libpysal.weights.W.from_sparse(h.grid_weights(grid)))
        times["esda_w"].append(t)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t, ref = timed(lambda: esda.G_Local(values, w, transform="B", star=True,
                                                permutations=0))
        times["esda"].append(t)
        diff = float(np.max(np.abs(z - ref.Zs)))
        assert diff < 1e-9, f"z-scores differ by {diff}"
    if args.permutations:
        for _ in range(args.repeat):
            t, _ = timed(lambda: h.gistar_scores(grid, permutations=args.permutations,
                                                 seed=1))
            times["saferboard_perm"].append(t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, _ = timed(lambda: esda.G_Local(values, w, transform="B", star=True,
                                                  permutations=args.permutations, seed=1,
                                                  n_jobs=1))
            times["esda_perm"].append(t)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"esda {esda.__version__}, libpysal {libpysal.__version__}")
    print(f"{N_POINTS:,} points, {CELL_M:g} m grid over Barnet: {grid.n_cells:,} cells, "
          f"{grid.points_outside:,} points outside the clipped grid; max |z diff| {diff:.2e}")
    print(f"median of {args.repeat}:")
    for k, v in med.items():
        print(f"  {k:16s} {v * 1000:9.1f} ms")
    print(f"esda / saferboard (analytic Gi*): {med['esda'] / med['saferboard']:.1f}x; "
          f"including building esda's W: {(med['esda'] + med['esda_w']) / med['saferboard']:.1f}x")
    if args.permutations:
        print(f"esda / saferboard ({args.permutations} permutations): "
              f"{med['esda_perm'] / med['saferboard_perm']:.1f}x")


if __name__ == "__main__":
    main()
