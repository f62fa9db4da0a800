"""Near-repeat Knox test: do events close in space also fall close in time more than chance?

Every pair of events is counted into a space band x time band cell. The null hypothesis (no
space-time interaction) is built by permuting the dates across the fixed locations (a Monte
Carlo Knox test, as Ratcliffe's Near Repeat Calculator does). For each cell:

* expected = mean count over the permutations;
* Knox ratio = observed / expected;
* p = (number of permutations with count >= observed + 1) / (permutations + 1).

Bands are half-open [a, b) between consecutive edges, plus a final open-ended band
[last edge, infinity), so every pair counts in exactly one cell. Distances are in metres
(Manhattan, as the Near Repeat Calculator, or Euclidean), time differences in whole days.

'Same location' means distance exactly 0, as in the Near Repeat Calculator (NRC). Its bands
are 'same location' (distance 0), then '1 to 200', '201 to 400', ... meaning (0, 200),
[200, 400), ..., then 'more than'; its time bands '0 to 7', '8 to 14' mean [0, 7), [7, 14).
It computes distances in single precision (float32 coordinates and arithmetic), which moves
pairs across band edges and in or out of 'same location' (on its Chicago arson output, 522
events, 4 of the 20 observed cells differ in double precision with a [0, 1) 'same
location'). `nrc=True` reproduces it: the space edges are the calculator's edges after
'same location' (0,200,400,600 = same location, (0, 200), [200, 400), [400, 600), more than
600 m) and distances are single precision. Checked cell for cell on its published observed
tables (tests/test_near_repeat.py). Without `nrc`, distances are double precision and the
edges are plain [a, b) bands; a first band [0, 1) is 'under 1 m', not 'same location'.

Dates: `days` are whole days. Dates known only to the month (police.uk publishes months)
make every gap a whole number of calendar months (0, 28-31, 59-62, ... days): time bands
under 31 days are then meaningless, so `knox` refuses bands finer than `date_resolution`
unless `force`, and warns whenever the dates are month-only (`date_resolution` infers it).

Why it is fast: a permutation of dates changes only time differences. The far pairs (beyond
the largest finite distance edge) are never enumerated: their counts per time band are the
all-pairs time-difference histogram minus the near pairs' counts, and that all-pairs histogram
depends only on the multiset of dates, so it is the same in every permutation. Each
permutation therefore costs one pass over the near pairs (found once with a KD-tree), not over
all n(n-1)/2 pairs.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from saferboard.core.errors import InputError

try:
    # The compiled KD-tree alone: `import scipy.spatial` also loads qhull, distance and
    # transform, ~0.3 s of a ~1.2 s command on a year of burglaries.
    from scipy.spatial._ckdtree import cKDTree
except ImportError:  # pragma: no cover - a scipy that moved it
    from scipy.spatial import cKDTree

Distance = Literal["manhattan", "euclidean"]
Resolution = Literal["day", "month", "year"]
LABELS = ("originator", "near-repeat", "repeat", "isolated")
# The shortest gap between two different dates at each resolution: time bands narrower than
# this cannot separate anything (months are 28-31 days apart, so 31 keeps every band honest).
RESOLUTION_DAYS: dict[str, int] = {"day": 1, "month": 31, "year": 366}
# The smallest positive double: with it as an edge, the band [0, SAME) holds exactly the
# distances equal to 0 ('same location'), so exact zero uses the same [a, b) machinery.
SAME = float(np.nextafter(0.0, 1.0))

METHOD = (
    "Knox test: all pairs of events counted into space x time bands ([a, b) between edges, "
    "plus an open-ended last band); expected = mean over permutations of the dates across the "
    "fixed locations; Knox ratio = observed / expected; p = (permutations with count >= "
    "observed + 1) / (permutations + 1)."
)
METHOD_NRC = METHOD + (
    " Near Repeat Calculator mode: 'same location' is distance exactly 0, the next band "
    "(0, first edge), and distances are computed in single precision (float32), as the "
    "calculator computes them.")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]  # (permutations done, permutations in all)
BLOCK = 50  # permutations per random stream (the unit of work of a thread)
MAX_THREADS = 8


@dataclass(frozen=True)
class KnoxResult:
    n_events: int
    permutations: int
    distance: str
    space_bands: tuple[tuple[float, float | None], ...]  # (lo, hi); hi None = open-ended
    time_bands: tuple[tuple[int, int | None], ...]
    space_labels: tuple[str, ...]  # e.g. 'same location', '1 to 200 m' (the NRC's names)
    time_labels: tuple[str, ...]
    observed: tuple[tuple[int, ...], ...]  # rows = space bands, columns = time bands
    expected: tuple[tuple[float, ...], ...]
    knox_ratio: tuple[tuple[float | None, ...], ...]  # None where expected is 0
    p_value: tuple[tuple[float, ...], ...]
    near_distance: float  # thresholds used for the event labels
    near_days: int
    labels: tuple[str, ...]  # one per event, in input order
    seed: int | None = None
    method: str = METHOD
    nrc: bool = False  # the calculator's bands and single-precision distances
    precision: str = "double"  # of the distances: 'double' or 'single' (nrc)
    date_resolution: str = "day"
    warnings: tuple[str, ...] = ()

    def label_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {k: counts.get(k, 0) for k in LABELS}

    def space_intervals(self) -> tuple[str, ...]:
        """Each space band as an interval: '= 0' for same location, '(0, 200)' for the
        calculator's first band, '[a, b)' otherwise, '[a, inf)' for the last."""
        out = [_interval(lo, hi) for lo, hi in self.space_bands]
        if self.nrc and len(out) > 2:  # after 'same location': 0 < d < b
            out[1] = f"(0, {self.space_bands[1][1]:g})"
        return tuple(out)

    def time_intervals(self) -> tuple[str, ...]:
        return tuple(_interval(lo, hi) for lo, hi in self.time_bands)


def _interval(lo: float, hi: float | None) -> str:
    if hi is None:
        return f"[{lo:g}, inf)"
    if hi == lo:
        return f"= {lo:g}"
    return f"[{lo:g}, {hi:g})"


def _check_edges(edges: Sequence[float], name: str) -> list[float]:
    values = [float(e) for e in edges]
    if len(values) < 2:
        raise ValueError(f"{name} needs at least two edges (e.g. 0,100), got {values}")
    if values[0] != 0:
        raise ValueError(f"{name} must start at 0 so that every pair is counted, got {values}")
    if any(b <= a for a, b in pairwise(values)):
        raise ValueError(f"{name} must be strictly increasing, got {values}")
    return values


def _fmt(v: float) -> str:
    return f"{v:g}"


def _nrc_bands(edges: Sequence[float], first: int, unit: str,
               fmt: Callable[[float], str]) -> tuple[str, ...]:
    """The Near Repeat Calculator's way of naming bands by their edges: [lo, hi) is
    '{lo + 1} to {hi}' (the first band '{first} to {hi}'), the last 'more than {lo}'."""
    return tuple(f"more than {fmt(lo)}{unit}" if i == len(edges) - 1
                 else f"{fmt(lo + 1 if lo else first)} to {fmt(edges[i + 1])}{unit}"
                 for i, lo in enumerate(edges))


def nrc_space_labels(edges: Sequence[float]) -> tuple[str, ...]:
    """The Near Repeat Calculator's names for its space bands, from its edges after 'same
    location' (`knox(..., nrc=True)`): 0,200,400 gives 'same location', '1 to 200 m',
    '201 to 400 m', 'more than 400 m'. It names (0, 200) '1 to 200' and [200, 400)
    '201 to 400' (whole metres, as it asks for them)."""
    return ("same location", *_nrc_bands(edges, 1, " m", _fmt))


def space_labels(edges: Sequence[float]) -> tuple[str, ...]:
    """Plain names for [a, b) space bands: 'under 1 m', '1 to 100 m' ([1, 100)), ...,
    '200 m or more'. A first band [0, 1) is within 1 m, not 'same location' (distance 0)."""
    out = []
    for i, lo in enumerate(edges):
        if i == len(edges) - 1:
            out.append(f"{_fmt(lo)} m or more")
        elif lo == 0:
            out.append(f"under {_fmt(edges[i + 1])} m")
        else:
            out.append(f"{_fmt(lo)} to {_fmt(edges[i + 1])} m")
    return tuple(out)


def nrc_time_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Near Repeat Calculator names for the time bands: [0, 7) is '0 to 7 days', [7, 14) is
    '8 to 14 days', the last 'more than 14 days'."""
    return _nrc_bands(edges, 0, " days", str)


def _distances(x: npt.NDArray[np.floating[Any]], y: npt.NDArray[np.floating[Any]],
               i: IntArray, j: IntArray, distance: Distance) -> FloatArray:
    """Pair distances in the precision of x and y: float32 coordinates give float32
    arithmetic throughout (the calculator's single precision), returned as float64 (exact)."""
    dx = np.abs(x[i] - x[j])
    dy = np.abs(y[i] - y[j])
    if distance == "manhattan":
        return (dx + dy).astype(np.float64)
    if x.dtype == np.float32:
        # sqrt(dx^2 + dy^2) rounded step by step, not hypot's extra precision: that is what
        # a single-precision program computes.
        root: FloatArray = np.sqrt(dx * dx + dy * dy).astype(np.float64)
        return root
    hyp: FloatArray = np.hypot(dx, dy).astype(np.float64)
    return hyp


def near_pairs(x: FloatArray, y: FloatArray, radius: float, distance: Distance, *,
               single: bool = False) -> tuple[IntArray, IntArray, FloatArray]:
    """All pairs i < j with distance < radius, and their distances (computed in single
    precision when `single`, as the Near Repeat Calculator does)."""
    if len(x) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    xs: npt.NDArray[np.floating[Any]] = x.astype(np.float32) if single else x
    ys: npt.NDArray[np.floating[Any]] = y.astype(np.float32) if single else y
    tree = cKDTree(np.column_stack([xs, ys]).astype(np.float64))
    # query_pairs keeps distance <= r with its own rounding: ask a little wider (float32
    # sums are within a relative 1e-6 of the exact distance of the float32 points), then
    # apply [a, b) with our own distances so the band edges are exact and reproducible.
    slack = 1e-5 if single else 1e-9
    pairs = tree.query_pairs(radius * (1 + slack) + slack, p=1 if distance == "manhattan" else 2,
                             output_type="ndarray").astype(np.int64)
    i, j = pairs[:, 0], pairs[:, 1]
    d = _distances(xs, ys, i, j, distance)
    keep = d < radius
    return i[keep], j[keep], d[keep]


def time_difference_histogram(days: IntArray, max_lag: int) -> IntArray:
    """h[k] = number of unordered pairs, among ALL pairs, whose dates differ by k days, for
    k < max_lag.

    From the day histogram c: h[0] = sum c(c-1)/2 and h[k] = sum_d c[d] c[d+k]: exact
    integer dot products, O(span in days x max_lag) instead of O(n^2) in events. Gaps of
    max_lag or more are not needed: they are the rest of the n(n-1)/2 pairs.
    """
    h = np.zeros(max_lag, dtype=np.int64)
    if len(days) == 0:
        return h
    c = np.bincount(days - days.min()).astype(np.int64)
    h[0] = int((c * (c - 1) // 2).sum())
    for k in range(1, min(max_lag, len(c))):
        h[k] = int(np.dot(c[:-k], c[k:]))
    return h


def _all_pairs_by_time_band(days: IntArray, t_edges: Sequence[int]) -> IntArray:
    n = len(days)
    cum = np.concatenate([[0], np.cumsum(time_difference_histogram(days, t_edges[-1]))])
    finite = [int(cum[t_edges[k + 1]] - cum[t_edges[k]]) for k in range(len(t_edges) - 1)]
    return np.array([*finite, n * (n - 1) // 2 - sum(finite)], dtype=np.int64)


def _internal_edges(space_edges: Sequence[float], nrc: bool) -> list[float]:
    """The [a, b) edges `knox` counts with: the calculator's edges get a [0, SAME) band in
    front, which holds exactly the pairs at distance 0."""
    return [0.0, SAME, *space_edges[1:]] if nrc else list(space_edges)


def pair_counts(x: FloatArray, y: FloatArray, days: IntArray,
                space_edges: Sequence[float], time_edges: Sequence[int], *,
                distance: Distance = "manhattan", nrc: bool = False) -> IntArray:
    """Counts of all pairs per space band (rows) x time band (columns), open-ended last
    bands included: the observed table of `knox`, for one assignment of days (edges as
    validated by `knox`; with `nrc`, the calculator's edges and single precision)."""
    edges = _internal_edges(space_edges, nrc)
    i, j, d = near_pairs(x, y, edges[-1], distance, single=nrc)
    s_band = np.searchsorted(np.asarray(edges), d, side="right").astype(np.int64) - 1
    rel = days - (days.min() if len(days) else 0)
    near = _Counter(_Pairs(i, j, s_band, len(edges) - 1), time_edges, np.int64).count(rel)
    return np.vstack([near, _all_pairs_by_time_band(days, time_edges) - near.sum(axis=0)])


class _Pairs:
    """The near pairs sorted by space band once (and by first event within a band, for
    locality), so each band is a contiguous slice; shared read-only by every _Counter."""

    def __init__(self, i: IntArray, j: IntArray, s_band: IntArray, n_space: int) -> None:
        order = np.lexsort((j, i, s_band))
        # intp indices: numpy converts any other index type on every gather (4x slower).
        self.i = i[order].astype(np.intp)
        self.j = j[order].astype(np.intp)
        bounds = np.searchsorted(s_band[order], np.arange(n_space + 1))
        self.slices = [(int(bounds[s]), int(bounds[s + 1])) for s in range(n_space)]


class _Counter:
    """Counts near pairs into (finite space band, time band) for one assignment of days.

    Per assignment the cost is two gathers, a subtraction and one comparison per finite
    time edge, all vectorised over the near pairs only. Not thread-safe: one per thread
    (own buffers; the pairs are shared).
    """

    def __init__(self, pairs: _Pairs, time_edges: Sequence[int],
                 dtype: type[np.signedinteger[Any]]) -> None:
        self.i, self.j, self.slices = pairs.i, pairs.j, pairs.slices
        self.cuts = [int(e) for e in time_edges[1:]]  # finite upper edges of time bands
        # Small day integers: the gathered arrays are the working set of every permutation.
        self.a = np.empty(len(self.i), dtype=dtype)
        self.b = np.empty(len(self.i), dtype=dtype)

    def count(self, days: npt.NDArray[Any]) -> IntArray:
        """Rows = finite space bands; columns = time bands incl. the open-ended last one."""
        a, b = self.a, self.b
        # mode='clip' skips the bounds check; the indices are valid by construction.
        np.take(days, self.i, out=a, mode="clip")
        np.take(days, self.j, out=b, mode="clip")
        np.subtract(a, b, out=a)
        np.abs(a, out=a)
        out = np.zeros((len(self.slices), len(self.cuts) + 1), dtype=np.int64)
        for s, (lo, hi) in enumerate(self.slices):
            seg = a[lo:hi]
            prev = 0
            for t, cut in enumerate(self.cuts):
                below = int(np.count_nonzero(seg < cut))  # cumulative: diff < cut
                out[s, t] = below - prev
                prev = below
            out[s, -1] = (hi - lo) - prev
        return out


def event_labels(days: IntArray, i: IntArray, j: IntArray, d: npt.NDArray[np.float64],
                 same_distance: float, near_distance: float, near_days: int) -> tuple[str, ...]:
    """Label each event from the pairs within `near_distance` metres and `near_days` days.

    A pair is 'linked' when its distance is < near_distance and its dates differ by
    < near_days. In a linked pair the earlier event leads and the later one follows (same
    day: the earlier row in the input leads). Then, per event:

    * 'repeat': it follows an event at the same location (distance < same_distance; `knox`
      passes SAME, so distance exactly 0);
    * 'near-repeat': it follows an event nearby but not at the same location;
    * 'originator': it follows nothing but leads at least one linked pair;
    * 'isolated': it is in no linked pair.
    """
    n = len(days)
    dt = np.abs(days[i] - days[j])
    link = (d < near_distance) & (dt < near_days)
    a, b, dl = i[link], j[link], d[link]
    # i < j from the KD-tree, so swap where j is strictly earlier.
    swap = days[b] < days[a]
    lead = np.where(swap, b, a)
    follow = np.where(swap, a, b)
    same = dl < same_distance
    is_repeat = np.zeros(n, dtype=bool)
    is_repeat[follow[same]] = True
    is_follower = np.zeros(n, dtype=bool)
    is_follower[follow] = True
    is_leader = np.zeros(n, dtype=bool)
    is_leader[lead] = True
    labels = np.full(n, "isolated", dtype=object)
    labels[is_leader] = "originator"
    labels[is_follower] = "near-repeat"
    labels[is_repeat] = "repeat"
    return tuple(str(v) for v in labels)


def date_resolution(ordinals: Sequence[int] | npt.NDArray[np.integer]) -> Resolution:
    """The finest unit dates given as proleptic ordinals (`date.toordinal()`) can carry:
    'year' when every date is 1 January, 'month' when every date is the 1st of a month
    (police.uk months, or a `%Y-%m` format, read as the 1st), else 'day'. From the data,
    so a few events that happen to fall on the 1st are read as month-only: the warning says
    how many dates that rests on."""
    days = np.asarray(ordinals, dtype=np.int64)
    if len(days) == 0:
        return "day"
    # Civil date from the ordinal, vectorised (days since 0001-01-01 = ordinal 1); only the
    # day of month and month are needed. numpy's datetime64 day 0 is 1970-01-01.
    d = (days - 719163).astype("datetime64[D]")
    first_of_month = d.astype("datetime64[M]").astype("datetime64[D]") == d
    if not first_of_month.all():
        return "day"
    first_of_year = d.astype("datetime64[Y]").astype("datetime64[D]") == d
    return "year" if first_of_year.all() else "month"


class ResolutionError(InputError):
    """Time bands finer than the dates can resolve (the CLI adds its --force hint)."""


def _resolution_checks(t_edges: Sequence[int], resolution: Resolution, force: bool,
                       n: int) -> list[str]:
    """Warnings for coarse dates; a ValueError for time bands finer than them (unless
    `force`, then a warning instead)."""
    if resolution == "day":
        return []
    unit = RESOLUTION_DAYS[resolution]
    warnings = [
        f"dates are {resolution}-only (all {n:,} fall on the first day of a {resolution}): "
        f"day gaps are whole {resolution}s, so time bands under {unit} days are meaningless "
        f"and pairs in the same {resolution} count as 0 days apart"]
    narrow = [(a, b) for a, b in pairwise(t_edges) if b - a < unit]
    if narrow:
        bands = ", ".join(f"[{a}, {b})" for a, b in narrow)
        message = (f"time bands {bands} are finer than the dates' resolution (a {resolution}, "
                   f"{unit} days)")
        if not force:
            raise ResolutionError(f"{message}: use bands of at least {unit} days")
        warnings.append(f"{message}; counted anyway as asked (force)")
    return warnings


def knox(
    x: Sequence[float] | npt.NDArray[np.float64],
    y: Sequence[float] | npt.NDArray[np.float64],
    days: Sequence[int] | npt.NDArray[np.integer],
    space_edges: Sequence[float],
    time_edges: Sequence[int],
    *,
    distance: Distance = "manhattan",
    permutations: int = 999,
    seed: int | None = None,
    near_distance: float | None = None,
    near_days: int | None = None,
    nrc: bool = False,
    date_resolution: Resolution = "day",
    force: bool = False,
    progress: Progress | None = None,
) -> KnoxResult:
    """Knox test of space-time interaction with a permutation null.

    `days` are whole days (e.g. days since 1970-01-01). `space_edges` and `time_edges` start
    at 0 and increase; the last band of each is open-ended. With `nrc`, `space_edges` are the
    Near Repeat Calculator's edges after 'same location' (0,200,400: distance 0, (0, 200),
    [200, 400), 400 or more) and distances are single precision, as it computes them.

    `date_resolution` ('day', 'month', 'year'; see `date_resolution()`): coarser than a day
    adds a warning, and time bands narrower than the resolution raise ResolutionError
    unless `force`. `progress(done, total)` is called from the calling thread as blocks of
    permutations finish.

    Event labels: `near_distance` / `near_days` are the thresholds; 'same location' (the
    'repeat' label) is distance exactly 0. The default near distance is the end of the first
    band after same location (nrc: space_edges[1]; otherwise space_edges[2] when the first
    band is at most 1 m wide and there is one, else space_edges[1]); the default near days
    is time_edges[1].
    """
    if distance not in ("manhattan", "euclidean"):
        raise ValueError(f"distance must be 'manhattan' or 'euclidean', got {distance!r}")
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1, got {permutations}")
    if date_resolution not in RESOLUTION_DAYS:
        raise ValueError(f"date_resolution must be one of {', '.join(RESOLUTION_DAYS)}, "
                         f"got {date_resolution!r}")
    s_user = _check_edges(space_edges, "space edges")
    t_float = _check_edges(time_edges, "time edges")
    if any(e != int(e) for e in t_float):
        raise ValueError(f"time edges must be whole days, got {t_float}")
    t_edges = [int(e) for e in t_float]
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    ds = np.asarray(days, dtype=np.int64)
    n = len(ds)
    if not len(xs) == len(ys) == n:
        raise ValueError(f"x, y and days differ in length: {len(xs)}, {len(ys)}, {n}")
    if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise ValueError("x and y must be finite")
    warnings = _resolution_checks(t_edges, date_resolution, force, n)
    if nrc and s_user[1] <= 1:
        warnings.append(f"with the calculator's bands the edges follow 'same location': "
                        f"{_fmt(s_user[1])} makes a band (0, {_fmt(s_user[1])}) m; its usual "
                        f"edges are 0 and multiples of the bandwidth (e.g. 0,200,400)")
    s_edges = _internal_edges(s_user, nrc)
    near_d = near_distance if near_distance is not None else (
        s_user[1] if nrc else
        s_user[2] if s_user[1] <= 1 and len(s_user) > 2 else s_user[1])
    near_t = near_days if near_days is not None else t_edges[1]
    if not 0 < near_d <= s_edges[-1]:
        raise ValueError(f"near distance must be in (0, {s_edges[-1]:g}], got {near_d}")

    n_space_f = len(s_edges) - 1  # finite space bands
    i, j, d = near_pairs(xs, ys, s_edges[-1], distance, single=nrc)
    s_band = np.searchsorted(np.asarray(s_edges), d, side="right").astype(np.int64) - 1
    rel = ds - (ds.min() if n else 0)
    span = int(rel.max()) + 1 if n else 1
    dtype: type[np.signedinteger[Any]] = np.int16 if span < 2**15 else np.int32
    small = rel.astype(dtype)

    # The open-ended space row: all pairs per time band minus the near pairs (invariant
    # all-pairs histogram, see the module docstring).
    all_t = _all_pairs_by_time_band(ds, t_edges)

    pairs = _Pairs(i, j, s_band, n_space_f)
    observed_near = _Counter(pairs, t_edges, dtype).count(small)
    observed = np.vstack([observed_near, all_t - observed_near.sum(axis=0)])

    def run_block(block: tuple[np.random.SeedSequence, int]) -> tuple[IntArray, IntArray]:
        """`size` permutations from their own random stream: totals and counts >= observed."""
        stream, size = block
        rng = np.random.default_rng(stream)
        counter = _Counter(pairs, t_edges, dtype)
        order = np.arange(n, dtype=np.intp)
        work = np.empty_like(small)
        total = np.zeros_like(observed)
        at_least = np.zeros_like(observed)
        for _ in range(size):
            # Shuffling the index in place again is a fresh uniform permutation (Fisher-Yates
            # does not care where it starts); numpy shuffles intp 3x faster than int16.
            rng.shuffle(order)
            np.take(small, order, out=work, mode="clip")
            near = counter.count(work)
            sim = np.vstack([near, all_t - near.sum(axis=0)])
            total += sim
            at_least += sim >= observed
        return total, at_least

    # Permutations run in fixed blocks, each with its own child seed, and are summed: the
    # result depends on the seed only, not on how many threads ran the blocks. numpy's
    # shuffle, take and ufuncs release the GIL for most of the work, so threads can use
    # idle cores.
    sizes = [min(BLOCK, permutations - k) for k in range(0, permutations, BLOCK)]
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    threads = max(1, min(len(sizes), os.cpu_count() or 1, MAX_THREADS))
    total = np.zeros_like(observed)
    at_least = np.zeros_like(observed)
    done = 0
    with ThreadPoolExecutor(threads) as pool:
        # map yields in block order on this thread, so the callback never runs concurrently.
        for (t_block, a_block), size in zip(
                pool.map(run_block, zip(streams, sizes, strict=True)), sizes, strict=True):
            total += t_block
            at_least += a_block
            done += size
            if progress is not None:
                progress(done, permutations)
    expected = total / permutations
    p = (at_least + 1) / (permutations + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), np.nan)

    labels = event_labels(ds, i, j, d, SAME, near_d, near_t)
    if nrc:
        space_bands: tuple[tuple[float, float | None], ...] = (
            (0.0, 0.0), *((lo, s_user[k + 1] if k + 1 < len(s_user) else None)
                          for k, lo in enumerate(s_user)))
        s_labels = nrc_space_labels(s_user)
    else:
        space_bands = tuple((lo, s_user[k + 1] if k + 1 < len(s_user) else None)
                            for k, lo in enumerate(s_user))
        s_labels = space_labels(s_user)
    time_bands = tuple((lo, t_edges[k + 1] if k + 1 < len(t_edges) else None)
                       for k, lo in enumerate(t_edges))
    return KnoxResult(
        n_events=n,
        permutations=permutations,
        distance=distance,
        space_bands=space_bands,
        time_bands=time_bands,
        space_labels=s_labels,
        time_labels=nrc_time_labels(t_edges),
        observed=tuple(tuple(int(v) for v in row) for row in observed),
        expected=tuple(tuple(float(v) for v in row) for row in expected),
        knox_ratio=tuple(tuple(None if np.isnan(v) else float(v) for v in row)
                         for row in ratio),
        p_value=tuple(tuple(float(v) for v in row) for row in p),
        near_distance=near_d,
        near_days=near_t,
        labels=labels,
        seed=seed,
        method=METHOD_NRC if nrc else METHOD,
        nrc=nrc,
        precision="single" if nrc else "double",
        date_resolution=date_resolution,
        warnings=tuple(warnings),
    )
