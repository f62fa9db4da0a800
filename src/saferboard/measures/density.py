"""Quartic (biweight) kernel density of police.uk crimes on the hotspot grid.

The surface is evaluated at the centre of every kept cell of the same grid as the Gi* hotspots
(`hotspots.grid_counts`: British National Grid, aligned to multiples of the cell size, cells
intersecting the borough), so a density map and a hotspot map of the same area line up cell
for cell. With bandwidth h (metres) and d the distance from a cell centre to a crime,

    density = sum over crimes with d < h of  3 / (pi h^2) * (1 - d^2 / h^2)^2

(the quartic kernel of Silverman 1986, eq. 4.5, which integrates to 1 over the disc of radius
h), reported in crimes per km^2, so density x cell area summed over the grid is about the
number of crimes, less what the kernels of crimes near the edge spill outside the grid. There
is no edge correction: crimes just outside the borough are not in the data, so densities near
the boundary are biased low.

Default bandwidth: the spatial variant of Silverman's rule of thumb that ArcGIS Pro's Kernel
Density tool uses, h = 0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n^(-1/5), where SD is the standard
distance of the n points from their mean centre and Dm the median distance from it. It was
chosen over a fixed multiple of the cell size because it follows the spread and number of the
crimes mapped (a small, tight set gets a wider search than a large one, not a fixed one), it
is the figure analysts get from ArcGIS for the same points, and Dm keeps a few far-flung
crimes from inflating it. It depends on the data, so when two periods are compared a fixed
`bandwidth` should be passed for both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
from shapely.geometry.base import BaseGeometry

from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.hotspots import (
    FloatArray,
    GridCell,
    MapSelection,
    area_points,
    grid_counts,
)

KERNEL = "quartic"
M2_PER_KM2 = 1_000_000.0


def silverman_bandwidth(x: FloatArray, y: FloatArray) -> float:
    """ArcGIS Pro's spatial Silverman rule, in metres (see the module docstring)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    n = len(x)
    if n < 2:
        raise InputError(f"the bandwidth rule needs at least 2 points, got {n}; "
                         "pass a bandwidth", param="bandwidth")
    d = np.hypot(x - x.mean(), y - y.mean())
    standard_distance = math.sqrt(float((d * d).mean()))
    median_distance = float(np.median(d))
    h = 0.9 * min(standard_distance, math.sqrt(1 / math.log(2)) * median_distance) * n ** -0.2
    if not h > 0:
        # SD = 0 or Dm = 0: at least half the points sit exactly at their mean centre.
        raise InputError("the bandwidth rule gives 0 m (the points have no spread); "
                         "pass a bandwidth", param="bandwidth")
    return float(h)


def quartic_density(cx: FloatArray, cy: FloatArray, x: FloatArray, y: FloatArray,
                    bandwidth: float) -> FloatArray:
    """Quartic kernel density (per km^2) at each (cx, cy) of the points (x, y), metres."""
    # scipy.spatial takes about 0.2 s to import, which the board pack (that imports this
    # module through report.maps but draws no density map) should not pay.
    from scipy.spatial import cKDTree

    out = np.zeros(len(cx), np.float64)
    if len(cx) == 0 or len(x) == 0:
        return out
    centres = cKDTree(np.column_stack([cx, cy]))
    points = cKDTree(np.column_stack([x, y]))
    # ndarray output keeps zero distances (a crime at a cell centre), which a sparse matrix
    # would drop as structural zeros.
    pairs = centres.sparse_distance_matrix(points, bandwidth, output_type="ndarray")
    u2 = (pairs["v"] / bandwidth) ** 2
    w = np.where(u2 < 1, (1 - u2) ** 2, 0.0)  # d == h contributes exactly 0 either way
    out = np.bincount(pairs["i"], weights=w, minlength=len(cx)).astype(np.float64)
    return out * (3 / (math.pi * bandwidth * bandwidth)) * M2_PER_KM2


@dataclass(frozen=True)
class DensityCell(GridCell):
    count: int  # crimes in the cell (as in the hotspot grid)
    density: float  # crimes per km^2 at the centre


@dataclass(frozen=True)
class DensityResult:
    cell_size: float
    bandwidth: float  # metres
    bandwidth_rule: str  # how the bandwidth was set
    kernel: str
    cells: tuple[DensityCell, ...]  # kept cells, south to north, west to east
    points: int  # points given (all contribute, wherever they are)
    points_outside: int  # of those, in no kept cell
    method: str

    def mass(self) -> float:
        """Density x cell area summed over the cells: about the number of points, less the
        kernel mass outside the grid."""
        area_km2 = self.cell_size * self.cell_size / M2_PER_KM2
        return sum(c.density for c in self.cells) * area_km2


def kde(x: FloatArray, y: FloatArray, boundary: BaseGeometry, cell_size: float, *,
        bandwidth: float | None = None) -> DensityResult:
    """Quartic kernel density of points (EPSG:27700 metres) at the centres of the hotspot grid
    of `cell_size` clipped to `boundary`; bandwidth in metres, default by the spatial
    Silverman rule (see the module docstring)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if bandwidth is not None and not bandwidth > 0:
        raise InputError(f"bandwidth must be positive, got {bandwidth}", param="bandwidth")
    grid = grid_counts(x, y, boundary, cell_size)
    if grid.n_cells == 0:
        raise InputError("the grid has no cells inside the boundary")
    if bandwidth is None:
        h = silverman_bandwidth(x, y)
        rule = ("spatial Silverman rule (as ArcGIS Pro Kernel Density): 0.9 x min(standard "
                f"distance, sqrt(1/ln 2) x median distance) x n^-0.2 with n = {len(x):,}")
    else:
        h = float(bandwidth)
        rule = "given"
    cx, cy = grid.centres()
    dens = quartic_density(cx, cy, x, y, h)
    values = grid.values()
    cells = tuple(DensityCell(*place, int(values[i]), float(dens[i]))
                  for i, place in enumerate(grid.places()))
    method = (f"quartic (biweight) kernel density, bandwidth {h:,.1f} m ({rule}), evaluated "
              f"at the centres of a {grid.cell_size:g} m grid (British National Grid, "
              "EPSG:27700) clipped to the area boundary; crimes per km^2; no edge correction, "
              "so cells near the boundary are biased low.")
    return DensityResult(grid.cell_size, h, rule, KERNEL, cells, grid.points,
                         grid.points_outside, method)


@dataclass(frozen=True)
class Density(MapSelection):
    result: DensityResult


def density(con: duckdb.DuckDBPyConnection, cats: Categories, area: str, *,
            start: date | None = None, end: date | None = None,
            category_names: Sequence[str] = (), cell_size: float | None = None,
            bandwidth: float | None = None) -> Density:
    """Kernel density of an area's police.uk street crimes (the `density` command)."""
    name, geom, pts, size = area_points(con, cats, area, start=start, end=end,
                                        category_names=category_names, cell_size=cell_size)
    result = kde(pts.x, pts.y, geom, size, bandwidth=bandwidth)
    return Density(name, tuple(category_names), start, end, pts.force, pts.rows,
                   pts.rows_without_coords, pts.force_rows_without_location, result)
