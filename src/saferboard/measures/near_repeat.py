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
The calculator labels its bands 'same location', '1 to 100', '101 to 200', '0 to 7',
'8 to 14' but counts [0, 1), [1, 100), [100, 200), [0, 7), [7, 14), so those are the edges
to give for its tables; `nrc_space_labels` / `nrc_time_labels` give its labels. (Checked on
its Chicago 2014 page: Knox ratios within Monte Carlo noise; its 2016 page, run with Euclidean
distance, in all cells but one; see tests/test_near_repeat.py.)

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
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

try:
    # The compiled KD-tree alone: `import scipy.spatial` also loads qhull, distance and
    # transform, ~0.3 s of a ~1.2 s command on a year of burglaries.
    from scipy.spatial._ckdtree import cKDTree
except ImportError:  # pragma: no cover - a scipy that moved it
    from scipy.spatial import cKDTree

Distance = Literal["manhattan", "euclidean"]
LABELS = ("originator", "near-repeat", "repeat", "isolated")

METHOD = (
    "Knox test: all pairs of events counted into space x time bands ([a, b) between edges, "
    "plus an open-ended last band); expected = mean over permutations of the dates across the "
    "fixed locations; Knox ratio = observed / expected; p = (permutations with count >= "
    "observed + 1) / (permutations + 1)."
)

IntArray = npt.NDArray[np.int64]
BLOCK = 50  # permutations per random stream (the unit of work of a thread)
MAX_THREADS = 8


@dataclass(frozen=True)
class KnoxResult:
    n_events: int
    permutations: int
    distance: str
    space_bands: tuple[tuple[float, float | None], ...]  # (lo, hi); hi None = open-ended
    time_bands: tuple[tuple[int, int | None], ...]
    space_labels: tuple[str, ...]  # Near Repeat Calculator style, e.g. '1 to 100 m'
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

    def label_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {k: counts.get(k, 0) for k in LABELS}


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


def nrc_space_labels(edges: Sequence[float]) -> tuple[str, ...]:
    """Near Repeat Calculator names for the space bands: [0, 1) is 'same location', [1, b)
    is '1 to b m', a later [a, b) is 'a+1 to b m' (it counts distances from a all the same)."""
    out = []
    for i, lo in enumerate(edges):
        if i == len(edges) - 1:
            out.append(f"more than {_fmt(lo)} m")
        elif lo == 0 and edges[i + 1] == 1:
            out.append("same location")
        else:
            # The calculator's first band after 'same location' starts at 1 and says so;
            # later bands [a, b) say 'a+1'.
            start = lo if lo <= 1 else lo + 1
            out.append(f"{_fmt(start)} to {_fmt(edges[i + 1])} m")
    return tuple(out)


def nrc_time_labels(edges: Sequence[int]) -> tuple[str, ...]:
    """Near Repeat Calculator names for the time bands: [0, 7) is '0 to 7 days', [7, 14) is
    '8 to 14 days', the last 'more than 14 days'."""
    out = []
    for i, lo in enumerate(edges):
        if i == len(edges) - 1:
            out.append(f"more than {lo} days")
        else:
            out.append(f"{lo + 1 if lo else 0} to {edges[i + 1]} days")
    return tuple(out)


def _distances(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], i: IntArray,
               j: IntArray, distance: Distance) -> npt.NDArray[np.float64]:
    dx = np.abs(x[i] - x[j])
    dy = np.abs(y[i] - y[j])
    if distance == "manhattan":
        return dx + dy
    return np.hypot(dx, dy)


def near_pairs(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], radius: float,
               distance: Distance) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
    """All pairs i < j with distance < radius, and their distances."""
    if len(x) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    tree = cKDTree(np.column_stack([x, y]))
    # query_pairs keeps distance <= r with its own rounding: ask a little wider, then apply
    # [a, b) with our own distances so the band boundaries are exact and reproducible.
    pairs = tree.query_pairs(radius * (1 + 1e-9) + 1e-9, p=1 if distance == "manhattan" else 2,
                             output_type="ndarray").astype(np.int64)
    i, j = pairs[:, 0], pairs[:, 1]
    d = _distances(x, y, i, j, distance)
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


def pair_counts(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], days: IntArray,
                space_edges: Sequence[float], time_edges: Sequence[int], *,
                distance: Distance = "manhattan") -> IntArray:
    """Counts of all pairs per space band (rows) x time band (columns), open-ended last
    bands included: the observed table of `knox`, for one assignment of days (edges as
    validated by `knox`)."""
    i, j, d = near_pairs(x, y, space_edges[-1], distance)
    s_band = np.searchsorted(np.asarray(space_edges), d, side="right").astype(np.int64) - 1
    rel = days - (days.min() if len(days) else 0)
    near = _Counter(i, j, s_band, len(space_edges) - 1, time_edges, np.int64).count(rel)
    return np.vstack([near, _all_pairs_by_time_band(days, time_edges) - near.sum(axis=0)])


class _Counter:
    """Counts near pairs into (finite space band, time band) for one assignment of days.

    Pairs are sorted by space band once, so each band is a contiguous slice; per assignment
    the cost is two gathers, a subtraction and one comparison per finite time edge, all
    vectorised over the near pairs only. Not thread-safe: one per thread (own buffers).
    """

    def __init__(self, i: IntArray, j: IntArray, s_band: IntArray, n_space: int,
                 time_edges: Sequence[int], dtype: type[np.signedinteger[Any]]) -> None:
        order = np.argsort(s_band, kind="stable")
        # intp indices: numpy converts any other index type on every gather (4x slower).
        self.i = i[order].astype(np.intp)
        self.j = j[order].astype(np.intp)
        bounds = np.searchsorted(s_band[order], np.arange(n_space + 1))
        self.slices = [(int(bounds[s]), int(bounds[s + 1])) for s in range(n_space)]
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

    * 'repeat': it follows an event at the same location (distance < same_distance, e.g. the
      first space band, 'same location' with NRC edges 0,1,...);
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
) -> KnoxResult:
    """Knox test of space-time interaction with a permutation null.

    `days` are whole days (e.g. days since 1970-01-01). `space_edges` and `time_edges` start
    at 0 and increase; the last band of each is open-ended. `near_distance` / `near_days`
    are the event-label thresholds. 'Same location' for the labels is distance <
    min(space_edges[1], 1 m): the calculator's [0, 1) band, or within 1 m when the first
    band is wider. The default near distance is the end of the first band that is not
    'same location' (space_edges[2] when space_edges[1] <= 1 and there is one, else
    space_edges[1]); the default near days is time_edges[1].
    """
    if distance not in ("manhattan", "euclidean"):
        raise ValueError(f"distance must be 'manhattan' or 'euclidean', got {distance!r}")
    if permutations < 1:
        raise ValueError(f"permutations must be >= 1, got {permutations}")
    s_edges = _check_edges(space_edges, "space edges")
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
    same_d = min(s_edges[1], 1.0)
    near_d = near_distance if near_distance is not None else (
        s_edges[2] if s_edges[1] <= 1 and len(s_edges) > 2 else s_edges[1])
    near_t = near_days if near_days is not None else t_edges[1]
    if not 0 < near_d <= s_edges[-1]:
        raise ValueError(f"near distance must be in (0, {s_edges[-1]:g}], got {near_d}")

    n_space_f = len(s_edges) - 1  # finite space bands
    i, j, d = near_pairs(xs, ys, s_edges[-1], distance)
    s_band = np.searchsorted(np.asarray(s_edges), d, side="right").astype(np.int64) - 1
    rel = ds - (ds.min() if n else 0)
    span = int(rel.max()) + 1 if n else 1
    dtype: type[np.signedinteger[Any]] = np.int16 if span < 2**15 else np.int32
    small = rel.astype(dtype)

    # The open-ended space row: all pairs per time band minus the near pairs (invariant
    # all-pairs histogram, see the module docstring).
    all_t = _all_pairs_by_time_band(ds, t_edges)

    observed_near = _Counter(i, j, s_band, n_space_f, t_edges, dtype).count(small)
    observed = np.vstack([observed_near, all_t - observed_near.sum(axis=0)])

    def run_block(block: tuple[np.random.SeedSequence, int]) -> tuple[IntArray, IntArray]:
        """`size` permutations from their own random stream: totals and counts >= observed."""
        stream, size = block
        rng = np.random.default_rng(stream)
        counter = _Counter(i, j, s_band, n_space_f, t_edges, dtype)
        work = small.copy()
        total = np.zeros_like(observed)
        at_least = np.zeros_like(observed)
        for _ in range(size):
            # Shuffling in place again is a fresh uniform permutation (Fisher-Yates does not
            # care where it starts), and skips building an index permutation and a gather.
            rng.shuffle(work)
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
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(run_block, zip(streams, sizes, strict=True)))
    total = np.sum([r[0] for r in results], axis=0)
    at_least = np.sum([r[1] for r in results], axis=0)
    expected = total / permutations
    p = (at_least + 1) / (permutations + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), np.nan)

    labels = event_labels(ds, i, j, d, same_d, near_d, near_t)
    space_bands = tuple((lo, s_edges[k + 1] if k + 1 < len(s_edges) else None)
                        for k, lo in enumerate(s_edges))
    time_bands = tuple((lo, t_edges[k + 1] if k + 1 < len(t_edges) else None)
                       for k, lo in enumerate(t_edges))
    return KnoxResult(
        n_events=n,
        permutations=permutations,
        distance=distance,
        space_bands=space_bands,
        time_bands=time_bands,
        space_labels=nrc_space_labels(s_edges),
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
    )
