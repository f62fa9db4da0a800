"""Hotspot change between periods: each grid cell's Gi* hot/not-hot sequence, classified.

Input is two or more Gi* results (`hotspots.gistar`) on the same grid, in time order: the first
is 'before', the last 'after', any in between are sub-periods. A cell is *hot* in a period when
its Gi* z is positive and its p-value (the Benjamini-Hochberg adjusted one when the results
used FDR control) is below 1 - confidence; confidence is a parameter (default 95%). The class
is the first of these that fits the cell's sequence of hot (H) and not hot (.) periods:

- not hot: hot in no period;
- persistent: hot in at least `persistent_share` of the periods (default 1: every period);
- emerging: not hot before, hot after, switched on once and stayed on (. . H H);
- former: hot before, not hot after, switched off once and stayed off (H H . .);
- intermittent: hot in some but not all periods, on and off more than once (. H . or H . H).

With two periods every mixed cell is emerging or former, so intermittent needs three or more.
Cold spots are not tracked: a cell that turns from cold to not significant is 'not hot'.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.hotspots import (
    Cell,
    GridCell,
    HotspotResult,
    Hotspots,
    boundary,
    hotspots,
)

CLASSES = ("persistent", "emerging", "former", "intermittent", "not hot")


def is_hot(cell: Cell, confidence: float) -> bool:
    # Rounded so 1 - 0.95 compares as 0.05, the same cut as hotspots.classify's p < 0.05.
    return cell.z > 0 and cell.p_adjusted < round(1 - confidence, 12)


def change_class(hot: Sequence[bool], persistent_share: float = 1.0) -> str:
    """The class of one cell's hot/not-hot sequence (see the module docstring)."""
    n_hot = sum(hot)
    if n_hot == 0:
        return "not hot"
    if n_hot >= persistent_share * len(hot) - 1e-12:
        return "persistent"
    switches = sum(a != b for a, b in itertools.pairwise(hot))
    if switches == 1:
        return "emerging" if hot[-1] else "former"
    return "intermittent"


@dataclass(frozen=True)
class ChangeCell(GridCell):
    counts: tuple[int, ...]  # crimes in each period
    hot: tuple[bool, ...]  # hot in each period
    change: str  # one of CLASSES


@dataclass(frozen=True)
class HotspotChange:
    cell_size: float
    periods: int
    confidence: float
    persistent_share: float
    cells: tuple[ChangeCell, ...]  # the grid's kept cells, south to north, west to east
    method: str

    def counts_by_class(self) -> dict[str, int]:
        """Cells per class, every class present (zero included), in CLASSES order."""
        out = dict.fromkeys(CLASSES, 0)
        for c in self.cells:
            out[c.change] += 1
        return out


def hotspot_change(results: Sequence[HotspotResult], *, confidence: float = 0.95,
                   persistent_share: float = 1.0) -> HotspotChange:
    """Classify every cell across Gi* results on one grid, in time order (first = before,
    last = after)."""
    if len(results) < 2:
        raise InputError(f"hotspot change needs at least 2 periods, got {len(results)}",
                         param="period")
    if not 0 < confidence < 1:
        raise InputError(f"confidence must be between 0 and 1 (e.g. 0.95), got {confidence}",
                         param="confidence")
    if not 0 < persistent_share <= 1:
        raise InputError(f"persistent share must be in (0, 1], got {persistent_share}",
                         param="persistent_share")
    first = results[0]
    keys = [(c.row, c.col) for c in first.cells]
    for r in results[1:]:
        # Same area and cell size give the same aligned grid; anything else is not comparable.
        if r.cell_size != first.cell_size or [(c.row, c.col) for c in r.cells] != keys:
            raise InputError("the periods' hotspot grids differ (area or cell size); "
                             "use one area and one cell size", param="cell_size")
    cells = []
    for i, c in enumerate(first.cells):
        hot = tuple(is_hot(r.cells[i], confidence) for r in results)
        cells.append(ChangeCell(*c.place, tuple(r.cells[i].count for r in results), hot,
                                change_class(hot, persistent_share)))
    share = ("every period" if persistent_share == 1
             else f"at least {persistent_share:.0%} of the periods")
    method = (f"Gi* hotspots in each of {len(results)} periods on one {first.cell_size:g} m "
              f"grid; hot = z > 0 and {'FDR-adjusted ' if first.fdr else ''}p < "
              f"{round(1 - confidence, 12):g} ({confidence * 100:g}% confidence); persistent = hot "
              f"in {share}; emerging = not hot in the first period, hot in the last, switched "
              "on once; former = the reverse; intermittent = hot in some periods, on and off "
              "more than once; not hot = hot in none.")
    return HotspotChange(first.cell_size, len(results), confidence, persistent_share,
                         tuple(cells), method)


@dataclass(frozen=True)
class AreaHotspotChange:
    area: str
    categories: tuple[str, ...]
    periods: tuple[tuple[date, date], ...]
    period_hotspots: tuple[Hotspots, ...]
    result: HotspotChange


def area_hotspot_change(con: duckdb.DuckDBPyConnection, cats: Categories, area: str,
                        periods: Sequence[tuple[date, date]], *,
                        category_names: Sequence[str] = (), cell_size: float | None = None,
                        fdr: bool = True, confidence: float = 0.95,
                        persistent_share: float = 1.0) -> AreaHotspotChange:
    """Hotspot change of an area's police.uk street crimes over periods (first..last month
    each, in time order): the `hotspot-change` command."""
    name, _ = boundary(area)
    if len(periods) < 2:
        raise InputError(f"hotspot change needs at least 2 periods, got {len(periods)}",
                         param="period")
    for s, e in periods:
        if s > e:
            raise InputError(f"period {s:%Y-%m}..{e:%Y-%m} ends before it starts",
                             param="period")
    for (s1, _), (_, e0) in zip(periods[1:], periods[:-1], strict=True):
        if s1 <= e0:
            raise InputError("periods must be in time order and not overlap",
                             param="period")
    per = tuple(hotspots(con, cats, name, start=s, end=e, category_names=category_names,
                         cell_size=cell_size, fdr=fdr) for s, e in periods)
    result = hotspot_change([h.result for h in per], confidence=confidence,
                            persistent_share=persistent_share)
    return AreaHotspotChange(name, tuple(category_names), tuple(periods), per, result)
