"""Getis-Ord Gi* hotspots of police.uk crimes on a regular grid over a London borough.

Points (police.uk street rows with coordinates) are projected from WGS84 to British National
Grid (EPSG:27700) so every distance is in metres, counted on a square grid aligned to
multiples of the cell size, and the grid is clipped to the borough: a cell is kept when its
square *intersects* the boundary (not only when its centre is inside), so every crime located
inside the borough falls in a kept cell; edge cells are partly outside and cover less of the
borough, which is the usual price of a regular grid. Cells are reported as whole squares
(not cut at the boundary).

Gi* (Getis & Ord 1992; Ord & Getis 1995) uses binary weights: a cell and every kept cell
within cell_size * sqrt(2) of its centre (queen contiguity on the grid, the cell itself
included). With n kept cells, counts x, mean X and S = sqrt(sum x^2 / n - X^2),

    z_i = (sum_j w_ij x_j - X W_i) / (S sqrt((n W_i - W_i^2) / (n - 1))),   W_i = sum_j w_ij,

which is exactly esda's G_Local(star=True, transform='B') z-score (checked in the tests).
The p-value is two-sided normal. Optional conditional permutation inference holds each
cell's own count and draws its W_i - 1 neighbours at random from the other cells, as esda
does; its two-sided pseudo p-value is min(1, 2 (min(#sims >= obs, #sims <= obs) + 1) / (R + 1)).
Benjamini-Hochberg false-discovery-rate control (scipy.stats.false_discovery_control, as
measures.distributions computes it) is on by default, because a borough grid tests
thousands of cells at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

import duckdb
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from scipy import sparse
from shapely.geometry.base import BaseGeometry

from saferboard.core.areas import area_boundary, policing_force
from saferboard.core.categories import SQL_NORMALISE, Categories
from saferboard.core.errors import InputError
from saferboard.core.reference import london_boroughs
from saferboard.measures.distributions import false_discovery_control, norm_sf

BNG = "EPSG:27700"
LEVELS = ((0.01, "99%"), (0.05, "95%"), (0.10, "90%"))
MIN_CELL_M = 100
DEFAULT_PERMUTATIONS = 999

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
# (cells done, cells in all) of the permutation inference; as near_repeat.Progress, a
# plain callback so that front ends can hang a progress bar on it without measures
# importing one.
Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- boundaries and projection

def borough_names() -> list[str]:
    return sorted(name for name, _ in london_boroughs().values())


def boundary(area: str) -> tuple[str, BaseGeometry]:
    """The shipped (EPSG:27700) boundary of a London borough, matched case-insensitively, or
    of any other LA of England and Wales by name or code (core.areas.area_boundary)."""
    found = london_boroughs().get(area.strip().lower())
    if found is None:
        return area_boundary(area)
    return found


@cache
def _to_bng() -> Transformer:
    # always_xy: (longitude, latitude) in, (easting, northing) out, whatever the CRS axis order.
    return Transformer.from_crs("EPSG:4326", BNG, always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(BNG, "EPSG:4326", always_xy=True)


def to_bng(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    x, y = _to_bng().transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def to_wgs84(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    lon, lat = _to_wgs84().transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon, float), np.asarray(lat, float)


def default_cell_size(bounds: tuple[float, float, float, float]) -> int:
    """Shorter side of the bounding box / 50, rounded down to a multiple of 50 m, >= 100 m."""
    minx, miny, maxx, maxy = bounds
    side = min(maxx - minx, maxy - miny)
    return max(MIN_CELL_M, int(side / 50 // 50) * 50)


# ---------------------------------------------------------------- grid

@dataclass(frozen=True, eq=False)
class Grid:
    """Counts on a square grid; row 0 is the southernmost row, column 0 the westernmost.

    `mask` marks the kept cells (those intersecting the boundary); `counts` is zero elsewhere.
    """

    cell_size: float
    x0: float  # south-west corner of cell (0, 0), EPSG:27700 metres
    y0: float
    mask: NDArray[np.bool_]  # (rows, cols)
    counts: IntArray  # (rows, cols)
    points: int  # points given
    points_outside: int  # points in no kept cell (outside the clipped grid)

    @property
    def n_cells(self) -> int:
        return int(self.mask.sum())

    def cell_index(self) -> tuple[IntArray, IntArray]:
        """(row, col) of every kept cell, in row-major order: the order of all cell vectors."""
        rows, cols = np.nonzero(self.mask)
        return rows.astype(np.int64), cols.astype(np.int64)

    def centres(self) -> tuple[FloatArray, FloatArray]:
        rows, cols = self.cell_index()
        return ((self.x0 + (cols + 0.5) * self.cell_size).astype(np.float64),
                (self.y0 + (rows + 0.5) * self.cell_size).astype(np.float64))

    def values(self) -> FloatArray:
        return self.counts[self.mask].astype(np.float64)

    def places(self) -> list[tuple[int, int, float, float, float, float]]:
        """(row, col, x, y, lon, lat) of every kept cell, in `cell_index` order: the fields
        every cell of a map starts with (`GridCell`); lon/lat rounded to 6 places (0.1 m)."""
        rows, cols = self.cell_index()
        cx, cy = self.centres()
        lon, lat = to_wgs84(cx, cy)
        return [(int(rows[i]), int(cols[i]), float(cx[i]), float(cy[i]),
                 round(float(lon[i]), 6), round(float(lat[i]), 6)) for i in range(len(rows))]


@dataclass(frozen=True)
class GridCell:
    """A kept cell of a map's grid (hotspot, density and change cells start with it)."""

    row: int
    col: int
    x: float  # centre, EPSG:27700 metres
    y: float
    lon: float  # centre, WGS84
    lat: float

    @property
    def place(self) -> tuple[int, int, float, float, float, float]:
        return self.row, self.col, self.x, self.y, self.lon, self.lat


def grid_counts(x: FloatArray, y: FloatArray, boundary: BaseGeometry,
                cell_size: float) -> Grid:
    """Count points (EPSG:27700 metres) on a grid of `cell_size` clipped to `boundary`.

    The grid is aligned to multiples of the cell size, so the same area and cell size always
    give the same cells, whatever the data.
    """
    if not cell_size > 0:
        raise InputError(f"cell size must be positive, got {cell_size}", param="cell_size")
    minx, miny, maxx, maxy = boundary.bounds
    x0 = math.floor(minx / cell_size) * cell_size
    y0 = math.floor(miny / cell_size) * cell_size
    ncols = max(1, math.ceil((maxx - x0) / cell_size))
    nrows = max(1, math.ceil((maxy - y0) / cell_size))
    if nrows * ncols > 4_000_000:
        raise InputError(f"a {cell_size:g} m grid over this area has {nrows * ncols:,} cells; "
                         "choose a larger cell size", param="cell_size")
    cols, rows = np.meshgrid(np.arange(ncols), np.arange(nrows))
    boxes = shapely.box(x0 + cols * cell_size, y0 + rows * cell_size,
                        x0 + (cols + 1) * cell_size, y0 + (rows + 1) * cell_size)
    shapely.prepare(boundary)
    # intersects, not touches-only: a cell sharing just an edge with the boundary is outside.
    mask = shapely.intersects(boxes, boundary) & ~shapely.touches(boxes, boundary)
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    c = np.floor((x - x0) / cell_size).astype(np.int64)
    r = np.floor((y - y0) / cell_size).astype(np.int64)
    inside = (c >= 0) & (c < ncols) & (r >= 0) & (r < nrows)
    inside[inside] = mask[r[inside], c[inside]]
    counts = np.zeros((nrows, ncols), np.int64)
    np.add.at(counts, (r[inside], c[inside]), 1)
    return Grid(float(cell_size), float(x0), float(y0), mask, counts, len(x),
                int((~inside).sum()))


def grid_weights(grid: Grid) -> sparse.csr_matrix:
    """Binary Gi* weights of the kept cells: self plus queen neighbours (centres within
    cell_size * sqrt(2)), in `Grid.cell_index` order. For checks against other tools; `gistar`
    itself sums the 3x3 window directly."""
    rows, cols = grid.cell_index()
    ids = -np.ones(grid.mask.shape, np.int64)
    ids[rows, cols] = np.arange(len(rows))
    src: list[IntArray] = []
    dst: list[IntArray] = []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            rr, cc = rows + dr, cols + dc
            nr, nc = grid.mask.shape
            ok = (rr >= 0) & (rr < nr) & (cc >= 0) & (cc < nc)
            j = np.full(len(rows), -1, np.int64)
            j[ok] = ids[rr[ok], cc[ok]]
            keep = j >= 0
            src.append(np.arange(len(rows))[keep])
            dst.append(j[keep])
    i_all, j_all = np.concatenate(src), np.concatenate(dst)
    n = len(rows)
    return sparse.csr_matrix((np.ones(len(i_all)), (i_all, j_all)), shape=(n, n))


def _window_sums(grid: Grid) -> tuple[FloatArray, FloatArray]:
    """(sum of counts, number of kept cells) over each kept cell's 3x3 window."""
    m = grid.mask.astype(np.float64)
    v = np.where(grid.mask, grid.counts, 0).astype(np.float64)
    pad_m, pad_v = np.pad(m, 1), np.pad(v, 1)
    lag = np.zeros_like(v)
    card = np.zeros_like(m)
    nr, nc = m.shape
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            lag += pad_v[dr:dr + nr, dc:dc + nc]
            card += pad_m[dr:dr + nr, dc:dc + nc]
    return lag[grid.mask], card[grid.mask]


# ---------------------------------------------------------------- Gi*

def gstar_z(values: FloatArray, lag: FloatArray, card: FloatArray) -> FloatArray:
    """Gi* z-scores from each unit's weighted sum `lag` = sum_j w_ij x_j and `card` = W_i
    (binary weights, self included). Units whose variance is zero (no variation in the data,
    or a unit neighbouring every other) get z = 0: there is nothing to test."""
    x = np.asarray(values, np.float64)
    n = len(x)
    mean = x.mean()
    s = math.sqrt(max(float((x * x).mean() - mean * mean), 0.0))
    spread = s * np.sqrt(np.maximum(n * card - card * card, 0.0) / (n - 1)) if n > 1 else 0 * card
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (lag - mean * card) / spread
    return np.where(spread > 0, z, 0.0)


def local_gstar(values: FloatArray, weights: sparse.spmatrix) -> FloatArray:
    """Gi* z-scores for any binary weights matrix (the diagonal is set to 1: Gi*)."""
    w = sparse.csr_matrix(weights, dtype=np.float64)
    w = (w != 0).astype(np.float64).tolil()
    w.setdiag(1.0)
    w = w.tocsr()
    x = np.asarray(values, np.float64)
    return gstar_z(x, np.asarray(w @ x, np.float64),
                   np.asarray(w.sum(axis=1), np.float64).ravel())


def benjamini_hochberg(p: FloatArray) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (scipy's false_discovery_control, method 'bh')."""
    p = np.asarray(p, np.float64)
    if len(p) == 0:
        return p
    return np.asarray(false_discovery_control(p), np.float64)


def permutation_p(values: FloatArray, lag: FloatArray, card: FloatArray, permutations: int,
                  seed: int | None, progress: Progress | None = None) -> FloatArray:
    """Two-sided conditional-permutation pseudo p-values of each unit's weighted sum.

    Unit i keeps its own value and gets k_i = W_i - 1 neighbours drawn at random, without
    replacement, from the other n - 1 units. As in esda's crand, one set of draws is shared by
    all units, which keeps the cost near O(n R) without changing any unit's own null
    distribution: permutation r draws kmax + 1 distinct units from all n; unit i takes the
    first k_i of them, and if it drew itself swaps itself for draw k_i + 1 (the first k_i + 1
    draws are a uniform subset containing i, so dropping i leaves a uniform k_i-subset of the
    others). Sums are prefix sums, and only the (few) self-draws need a correction.

    `progress(done, n)` is called with the number of units tested so far as each block of
    units finishes (the draws themselves take a small share of the time).
    """
    x = np.asarray(values, np.float64)
    n = len(x)
    k = card.astype(np.int64) - 1  # neighbours other than the unit itself
    kmax = int(k.max()) if n else 0
    if n < 2 or kmax == 0:
        return np.ones(n)
    rng = np.random.default_rng(seed)
    draws = np.stack([rng.choice(n, size=kmax + 1, replace=False)
                      for _ in range(permutations)])  # (R, kmax + 1), distinct in each row
    prefix = np.zeros((permutations, kmax + 2))
    np.cumsum(x[draws], axis=1, out=prefix[:, 1:])  # prefix[r, m] = sum of the first m draws
    # Self-draws: unit d = draws[r, c] drew itself when c < k_d; it swaps in draw k_d + 1.
    r_self, c_self = np.nonzero(np.arange(kmax + 1)[None, :] < k[draws])
    u_self = draws[r_self, c_self]
    swap = x[draws[r_self, k[u_self]]] - x[u_self]
    larger = np.zeros(n, np.int64)
    smaller = np.zeros(n, np.int64)
    block = max(1, 2_000_000 // permutations)  # bounds memory to a few (block, R) arrays
    for start in range(0, n, block):
        stop = min(n, start + block)
        sims = x[start:stop, None] + prefix[:, k[start:stop]].T  # (block, R)
        here = (u_self >= start) & (u_self < stop)
        sims[u_self[here] - start, r_self[here]] += swap[here]
        obs = lag[start:stop, None]
        larger[start:stop] = (sims >= obs - 1e-9).sum(axis=1)
        smaller[start:stop] = (sims <= obs + 1e-9).sum(axis=1)
        if progress is not None:
            progress(stop, n)
    return np.minimum(1.0, 2 * (np.minimum(larger, smaller) + 1) / (permutations + 1))


def classify(z: float, p: float) -> str:
    for level, label in LEVELS:
        if p < level:
            return f"{'hot' if z > 0 else 'cold'} {label}"
    return "not significant"


@dataclass(frozen=True)
class Cell(GridCell):
    count: int
    z: float
    p: float  # analytic two-sided p, or the permutation pseudo p when permutations > 0
    p_adjusted: float  # Benjamini-Hochberg; equal to p when fdr is off
    hotspot: str  # 'hot 99%' | 'hot 95%' | 'hot 90%' | 'cold ...' | 'not significant'


@dataclass(frozen=True)
class HotspotResult:
    cell_size: float
    cells: tuple[Cell, ...]  # kept cells, south to north, west to east
    points: int  # points gridded
    points_outside: int  # of those, in no kept cell
    permutations: int
    seed: int | None
    fdr: bool
    method: str

    def counts_by_class(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.cells:
            out[c.hotspot] = out.get(c.hotspot, 0) + 1
        return dict(sorted(out.items()))


def method_text(cell_size: float, permutations: int, seed: int | None, fdr: bool) -> str:
    inference = (f"conditional permutation inference ({permutations:,} permutations, seed "
                 f"{seed}), two-sided pseudo p-values" if permutations
                 else "analytic (normal) two-sided p-values")
    correction = ("Benjamini-Hochberg false-discovery-rate correction ON (default): classes use "
                  "the adjusted p-values" if fdr else
                  "false-discovery-rate correction OFF: classes use unadjusted p-values, so "
                  "about 1 cell in 10 is flagged at 90% by chance alone")
    return (f"Getis-Ord Gi* on a {cell_size:g} m grid (British National Grid, EPSG:27700) "
            "clipped to the area boundary (cells intersecting it); binary weights: each cell "
            f"with its neighbours within {cell_size:g} m x sqrt(2) (itself included); "
            f"{inference}; {correction}. Hot/cold at 99%, 95%, 90% = p < 0.01, 0.05, 0.10.")


def gistar_scores(grid: Grid, *, permutations: int = 0, seed: int | None = None,
                  progress: Progress | None = None) -> tuple[FloatArray, FloatArray]:
    """(z, unadjusted two-sided p) of every kept cell, in `Grid.cell_index` order: the
    numerical core of `gistar`, without the per-cell result objects. `progress(done, total)`
    follows the permutation inference over the cells (not called without permutations)."""
    if permutations < 0:
        raise InputError("permutations must be 0 or more", param="permutations")
    values = grid.values()
    if len(values) == 0:
        raise InputError("the grid has no cells inside the boundary")
    lag, card = _window_sums(grid)
    z = gstar_z(values, lag, card)
    if permutations:
        return z, permutation_p(values, lag, card, permutations, seed, progress)
    return z, np.asarray(2 * norm_sf(np.abs(z)), np.float64)


def gistar(grid: Grid, *, permutations: int = 0, seed: int | None = None,
           fdr: bool = True, progress: Progress | None = None) -> HotspotResult:
    """Gi* hotspots of a grid of counts (see the module docstring for the method);
    `progress` as for `gistar_scores`."""
    values = grid.values()
    z, p = gistar_scores(grid, permutations=permutations, seed=seed, progress=progress)
    p_adj = benjamini_hochberg(p) if fdr else p
    cells = tuple(
        Cell(*place, int(values[i]), float(z[i]), float(p[i]), float(p_adj[i]),
             classify(float(z[i]), float(p_adj[i])))
        for i, place in enumerate(grid.places()))
    return HotspotResult(grid.cell_size, cells, grid.points, grid.points_outside, permutations,
                         seed, fdr, method_text(grid.cell_size, permutations, seed, fdr))


# ---------------------------------------------------------------- from the store

@dataclass(frozen=True, eq=False)
class Points:
    area: str
    force: str | None
    x: FloatArray  # EPSG:27700
    y: FloatArray
    rows: int  # police.uk street rows selected (area, months, categories, force)
    rows_without_coords: int  # of those, with no longitude/latitude (not mapped)
    # police.uk rows with no location have no LSOA either, so they belong to no area: the
    # force's such rows in the same months and categories, none of which can be mapped.
    force_rows_without_location: int


def street_points(con: duckdb.DuckDBPyConnection, cats: Categories, area: str, *,
                  start: date | None = None, end: date | None = None,
                  category_names: Sequence[str] = ()) -> Points:
    """police.uk street crimes of `area` (its policing force's rows, as in the dashboard),
    months `start..end`, within the categories (with descendants), projected to EPSG:27700."""
    if start and end and start > end:
        raise InputError(f"the start {start:%Y-%m} is after the end {end:%Y-%m}", param="start")
    cats.register(con)
    where: list[str] = []
    params: dict[str, Any] = {}
    force = policing_force().get(area.lower())
    if force:
        where.append("b.force = $force")
        params["force"] = force
    if start:
        where.append("s.month >= $start")
        params["start"] = start
    if end:
        where.append("s.month <= $end")
        params["end"] = end
    if category_names:
        where.append("lm.category IN (SELECT unnest($cats))")
        params["cats"] = cats.within(category_names)
    frm = ("FROM street s JOIN batches b USING (batch_id) "
           "LEFT JOIN label_map lm ON lm.source = 'policeuk' "
           f"AND lm.label = {SQL_NORMALISE.format(col='s.crime_type')} WHERE ")
    rows = con.execute(f"SELECT s.longitude, s.latitude {frm}"
                       + " AND ".join([*where, "lower(s.area) = lower($area)"]),
                       {**params, "area": area}).fetchall()
    unlocated = 0
    if force:
        (unlocated,) = con.execute(
            f"SELECT count(*) {frm}" + " AND ".join(
                [*where, "s.area IS NULL", "(s.longitude IS NULL OR s.latitude IS NULL)"]),
            params).fetchone() or (0,)
    coords = np.array([r for r in rows if r[0] is not None and r[1] is not None],
                      np.float64).reshape(-1, 2)
    x, y = to_bng(coords[:, 0], coords[:, 1])
    return Points(area, force, x, y, len(rows), len(rows) - len(coords), int(unlocated))


@dataclass(frozen=True)
class MapSelection:
    """The crimes a map of an area is drawn from (`Hotspots` and `Density` start with it)."""

    area: str
    categories: tuple[str, ...]
    start: date | None
    end: date | None
    force: str | None
    rows: int
    rows_without_coords: int
    force_rows_without_location: int  # see Points


@dataclass(frozen=True)
class Hotspots(MapSelection):
    result: HotspotResult


def area_points(con: duckdb.DuckDBPyConnection, cats: Categories, area: str, *,
                start: date | None, end: date | None, category_names: Sequence[str],
                cell_size: float | None) -> tuple[str, BaseGeometry, Points, float]:
    """The area's name, boundary, crime points and grid cell size, shared by every map:
    an empty selection is an error here rather than an empty map."""
    name, geom = boundary(area)
    pts = street_points(con, cats, name, start=start, end=end, category_names=category_names)
    if len(pts.x) == 0:
        what = ", ".join(category_names) or "any category"
        months = (f"{start:%Y-%m}" if start else "the start") + ".." + (
            f"{end:%Y-%m}" if end else "the end")
        raise InputError(f"no police.uk street crimes with coordinates for {name}, {what}, "
                         f"{months} ({pts.rows:,} rows selected, {pts.rows_without_coords:,} "
                         "without coordinates); nothing to map")
    size = cell_size if cell_size is not None else default_cell_size(geom.bounds)
    return name, geom, pts, size


def hotspots(con: duckdb.DuckDBPyConnection, cats: Categories, area: str, *,
             start: date | None = None, end: date | None = None,
             category_names: Sequence[str] = (), cell_size: float | None = None,
             permutations: int = 0, seed: int | None = None, fdr: bool = True,
             progress: Progress | None = None) -> Hotspots:
    """Gi* hotspots of an area's police.uk street crimes (the `hotspots` command);
    `progress(cells done, cells)` during permutation inference."""
    name, geom, pts, size = area_points(con, cats, area, start=start, end=end,
                                        category_names=category_names, cell_size=cell_size)
    grid = grid_counts(pts.x, pts.y, geom, size)
    result = gistar(grid, permutations=permutations, seed=seed, fdr=fdr, progress=progress)
    return Hotspots(name, tuple(category_names), start, end, pts.force, pts.rows,
                    pts.rows_without_coords, pts.force_rows_without_location, result)


def square_rings_wgs84(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray,
                       cell_size: float) -> list[list[list[float]]]:
    """Closed GeoJSON rings (WGS84 lon/lat, as RFC 7946 wants) of the grid squares centred at
    (x, y) in EPSG:27700, projected corner by corner in one call."""
    xs = np.asarray(x, np.float64)
    ys = np.asarray(y, np.float64)
    if len(xs) == 0:
        return []
    hw = cell_size / 2
    # Counter-clockwise from the south-west corner.
    dx = np.array([-hw, hw, hw, -hw, -hw])
    dy = np.array([-hw, -hw, hw, hw, -hw])
    lon, lat = to_wgs84((xs[:, None] + dx).ravel(), (ys[:, None] + dy).ravel())
    pairs = np.round(np.stack([lon, lat], axis=1), 6).reshape(len(xs), 5, 2)
    return [[[float(a), float(b)] for a, b in ring] for ring in pairs]
