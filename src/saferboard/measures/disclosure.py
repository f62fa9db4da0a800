"""Disclosure control for outputs that describe people: small-count suppression with
secondary suppression, so that no suppressed value can be worked out from what is published.

A table is a grid of counts with, optionally, its row totals, its column totals and (with
both) the grand total. Every published number, cells and totals alike, is an *item*; the
table's arithmetic (each row adds up to its total, each column to its total, the totals to
the grand total) is a set of linear equations over the items.

1. Primary suppression: an item below the threshold (default 5) is suppressed; zero is
   published unless `suppress_zeros` (a zero says nobody, which is usually not disclosive).
2. Secondary suppression: while some suppressed item is *determined* by the published items
   and the equations (its unit vector lies in the row space of the equations restricted to
   the suppressed items, i.e. some combination of additions and subtractions of published
   totals and cells yields it exactly), one more item is suppressed: the smallest positive
   published item sharing an equation with it: the one that leaves fewest suppressed items
   determined, then cells before totals, zeros last, the smallest first. This covers
   the one-line case (a row with exactly one suppressed cell) and the multi-line ones (a cell
   that links two otherwise-protected blocks).

The loop ends because suppressing everything determines nothing (adding one to a cell, its
row and column totals and the grand total gives another table with the same equations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEFAULT_THRESHOLD = 5
MARK = "*"  # how a suppressed value is shown in tables


@dataclass(frozen=True)
class Suppressed:
    """A table after suppression: None marks a suppressed value."""

    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...] | None
    col_totals: tuple[int | None, ...] | None
    grand_total: int | None  # only when both margins are published
    threshold: int
    primary: int  # values suppressed for being below the threshold
    secondary: int  # further values suppressed so the first cannot be worked out

    @property
    def suppressed(self) -> int:
        return self.primary + self.secondary


@dataclass(frozen=True)
class Published:
    """A table ready to print: rows of plain values (None = suppressed) and notes."""

    title: str
    rows: tuple[dict[str, object], ...]
    notes: tuple[str, ...] = ()


def _equations(r: int, c: int, row_totals: bool, col_totals: bool) -> npt.NDArray[np.float64]:
    """One equation per line of the table, over the items: cells (row-major), row totals,
    column totals, grand total (the last three only where published)."""
    n = r * c + (r if row_totals else 0) + (c if col_totals else 0)
    grand = row_totals and col_totals
    n += 1 if grand else 0
    rt = r * c
    ct = rt + (r if row_totals else 0)
    g = n - 1
    eqs: list[npt.NDArray[np.float64]] = []
    if row_totals:
        for i in range(r):
            e = np.zeros(n)
            e[i * c:(i + 1) * c] = 1
            e[rt + i] = -1
            eqs.append(e)
    if col_totals:
        for j in range(c):
            e = np.zeros(n)
            e[j:r * c:c] = 1
            e[ct + j] = -1
            eqs.append(e)
    if grand:
        e = np.zeros(n)
        e[rt:rt + r] = 1
        e[g] = -1
        eqs.append(e)
        e = np.zeros(n)
        e[ct:ct + c] = 1
        e[g] = -1
        eqs.append(e)
    return np.array(eqs, dtype=np.float64).reshape(len(eqs), n)


def determined(equations: npt.NDArray[np.float64], hidden: Sequence[int]) -> list[int]:
    """The hidden items whose value follows exactly from the published ones."""
    hidden = list(hidden)
    if not hidden or equations.shape[0] == 0:
        return []
    a = equations[:, hidden]
    a = a[np.any(a != 0, axis=1)]
    if a.shape[0] == 0:
        return []
    rank = np.linalg.matrix_rank(a)
    out = []
    for pos, item in enumerate(hidden):
        unit = np.zeros((1, len(hidden)))
        unit[0, pos] = 1
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(item)
    return out


def suppress(counts: Sequence[Sequence[int]], *, threshold: int = DEFAULT_THRESHOLD,
             row_totals: bool = True, col_totals: bool = True,
             suppress_zeros: bool = False) -> Suppressed:
    """Suppress the small values of a table of counts and protect them (module docstring)."""
    if threshold < 1:
        raise ValueError(f"threshold should be at least 1, got {threshold}")
    grid = np.asarray(counts, dtype=np.int64)
    if grid.size == 0:  # no rows: nothing to hide, totals are zero
        grid = grid.reshape(0, grid.shape[1] if grid.ndim == 2 else 1)
    if grid.ndim != 2:
        raise ValueError(f"counts should be a 2-D table, got {grid.ndim} dimension(s)")
    if (grid < 0).any():
        raise ValueError("counts should not be negative")
    r, c = grid.shape
    if row_totals != col_totals and (r if row_totals else c) > 1:
        # With one margin the lines share no value: protect each line on its own (faster).
        lines = grid if row_totals else grid.T
        parts = [suppress([list(line)], threshold=threshold, row_totals=True,
                          col_totals=False, suppress_zeros=suppress_zeros) for line in lines]
        line_cells = [p.cells[0] for p in parts]
        totals = tuple((p.row_totals or (None,))[0] for p in parts)
        cells = (tuple(line_cells) if row_totals
                 else tuple(tuple(line_cells[j][i] for j in range(c)) for i in range(r)))
        return Suppressed(cells, totals if row_totals else None,
                          None if row_totals else totals, None, threshold,
                          sum(p.primary for p in parts), sum(p.secondary for p in parts))
    values: list[int] = [int(v) for v in grid.ravel()]
    rt = r * c
    if row_totals:
        values += [int(v) for v in grid.sum(axis=1)]
    ct = len(values)
    if col_totals:
        values += [int(v) for v in grid.sum(axis=0)]
    if row_totals and col_totals:
        values.append(int(grid.sum()))
    is_total = [i >= rt for i in range(len(values))]
    eqs = _equations(r, c, row_totals, col_totals)
    low = 0 if suppress_zeros else 1
    hidden = {i for i, v in enumerate(values) if low <= v < threshold}
    primary = len(hidden)
    while True:
        exposed = determined(eqs, sorted(hidden))
        if not exposed:
            break
        k = exposed[0]
        lines = eqs[eqs[:, k] != 0]
        near = {int(i) for i in np.flatnonzero(np.any(lines != 0, axis=0))} - hidden
        if not near:  # every item on its lines is hidden: widen to any line with a hidden item
            touching = eqs[np.any(eqs[:, sorted(hidden)] != 0, axis=1)]
            near = {int(i) for i in np.flatnonzero(np.any(touching != 0, axis=0))} - hidden
        if not near:
            near = set(range(len(values))) - hidden
        if not near:
            break

        def cost(i: int) -> tuple[int, bool, bool, int, int]:
            return (len(determined(eqs, sorted(hidden | {i}))), is_total[i], values[i] == 0,
                    int(values[i]), i)

        hidden.add(min(near, key=cost))

    def shown(i: int) -> int | None:
        return None if i in hidden else int(values[i])

    cells = tuple(tuple(shown(i * c + j) for j in range(c)) for i in range(r))
    rows = tuple(shown(rt + i) for i in range(r)) if row_totals else None
    cols = tuple(shown(ct + j) for j in range(c)) if col_totals else None
    grand = shown(len(values) - 1) if row_totals and col_totals else None
    return Suppressed(cells, rows, cols, grand, threshold, primary, len(hidden) - primary)


def suppress_list(counts: Sequence[int], *, threshold: int = DEFAULT_THRESHOLD,
                  total: bool = True) -> Suppressed:
    """A one-way table (e.g. referrals by source) with its total: the cells are rows of one
    column, and the total is that column's total."""
    return suppress([[int(v)] for v in counts], threshold=threshold, row_totals=False,
                    col_totals=total)


def pct(part: int | None, whole: int | None, digits: int = 1) -> float | None:
    """A percentage, or None when either side is suppressed or the whole is zero."""
    if part is None or whole is None or whole == 0:
        return None
    return round(100 * part / whole, digits)


def note(tables: Sequence[Suppressed], what: str = "people") -> str:
    """One sentence saying what was suppressed across `tables` (all share a threshold)."""
    if not tables:
        return ""
    threshold = tables[0].threshold
    primary = sum(t.primary for t in tables)
    secondary = sum(t.secondary for t in tables)
    rule = (f"Disclosure control: counts of {what} below {threshold} are suppressed "
            f"(shown as {MARK}), with percentages and averages built on them")
    if not primary and not secondary:
        return rule + "; nothing needed suppressing here."
    return (rule + f": {primary} value(s) below {threshold}, and {secondary} more so that "
            "they cannot be worked out from the totals.")
