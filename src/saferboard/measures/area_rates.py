"""Crime rates per 1,000 residents by LSOA or ward, with exact intervals, ranked.

The rate of a small area is its count over the period per 1,000 residents. Its 95% interval is
Garwood's exact Poisson interval on the count. Each area is tested against the whole local
authority's rate (exact two-sided Poisson test of its count against population x the
authority's rate) and, because an authority has ~200 LSOAs, the p-values are corrected for the
false discovery rate (Benjamini-Hochberg) before an area is called higher or lower.

LSOA populations are ONS mid-2020 small-area estimates (2021 LSOAs; see data/PROVENANCE.md)
scaled so that they sum to the authority's population for the period's last year, the figure
the dashboard divides by: LSOA and dashboard rates then agree. Wards need a population file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

from saferboard.core.areas import (
    CENSUS_RESIDENTS,
    SmallArea,
    denominator,
    is_london,
    la_name,
    lsoa21_counts,
    lsoa_wards,
    lsoas_of,
    national_wards_of,
    policing_force,
    wards_of,
)
from saferboard.core.categories import Categories
from saferboard.core.errors import InputError
from saferboard.measures.compare import exact_interval, poisson_p
from saferboard.measures.counts import counts
from saferboard.measures.hotspots import benjamini_hochberg

LEVELS = ("lsoa", "ward")
METHOD = ("Crimes per 1,000 residents over the period, with Garwood's exact 95% Poisson "
          "interval. 'Higher' or 'lower' means the area's count differs from what the whole "
          "authority's rate predicts for its population (exact two-sided Poisson test, "
          "Benjamini-Hochberg false-discovery-rate correction across the authority's areas). "
          "LSOA populations are ONS mid-2020 estimates (London) or Census 2021 residents "
          "(elsewhere), scaled to the authority's population.")
ALPHA = 0.05


@dataclass(frozen=True)
class AreaRate:
    code: str
    name: str
    count: int
    population: float | None
    rate: float | None          # per 1,000 residents over the period
    lower: float | None         # 95% exact interval of the rate
    upper: float | None
    rank: int | None            # 1 = highest rate; ties share the lowest rank
    p_adjusted: float | None    # vs the authority's rate, Benjamini-Hochberg adjusted
    versus_area: str            # 'higher' | 'lower' | 'similar' | 'no population'


@dataclass(frozen=True)
class AreaRates:
    area: str
    level: str
    categories: tuple[str, ...]
    start: date
    end: date
    area_count: int             # every crime of the authority in the period and categories
    area_population: float
    area_rate: float
    population_note: str
    rows: tuple[AreaRate, ...]  # ranked, highest rate first; areas without population last
    unallocated: tuple[tuple[str, int], ...]  # (code, count) not among the authority's areas
    # (2011 code, crimes) attributed to 2021 LSOAs through the ONS lookup (areas.lsoa21_counts)
    from_2011: tuple[tuple[str, int], ...] = ()


def rank_rates(counts_by_code: Mapping[str, int], places: Sequence[SmallArea],
               scale: float, area_rate_per_person: float) -> tuple[AreaRate, ...]:
    """Rates, intervals, FDR-corrected comparison with the authority and ranks (pure).

    `scale` multiplies every population (1.0 to use them as given)."""
    n = np.array([int(counts_by_code.get(p.code, 0)) for p in places], np.int64)
    has_pop = np.array([p.population is not None for p in places])
    pop = np.array([(p.population or 0.0) * scale for p in places], np.float64)
    p_adj = np.full(len(places), np.nan)
    if has_pop.any():
        raw = [poisson_p(int(k), float(m) * area_rate_per_person)
               for k, m in zip(n[has_pop], pop[has_pop], strict=True)]
        p_adj[has_pop] = benjamini_hochberg(np.array(raw))
    rates = sorted((1000 * int(k) / float(m) for k, m, h in zip(n, pop, has_pop, strict=True)
                    if h), reverse=True)
    first_rank: dict[float, int] = {}
    for i, r in enumerate(rates, start=1):
        first_rank.setdefault(r, i)
    out = []
    for place, k, m, h, p in zip(places, n, pop, has_pop, p_adj, strict=True):
        if not h:
            out.append(AreaRate(place.code, place.name, int(k), None, None, None, None, None,
                                None, "no population"))
            continue
        rate = 1000 * int(k) / float(m)
        lo, hi = exact_interval(int(k), ALPHA)
        verdict = "similar" if p >= ALPHA else (
            "higher" if rate > area_rate_per_person * 1000 else "lower")
        out.append(AreaRate(place.code, place.name, int(k), float(m), rate,
                            1000 * lo / float(m), 1000 * hi / float(m), first_rank[rate],
                            float(p), verdict))
    out.sort(key=lambda r: (r.rank is None, r.rank or 0, -r.count, r.code))
    return tuple(out)


def area_rates(con: duckdb.DuckDBPyConnection, cats: Categories, area: str, *, level: str,
               start: date, end: date, category_names: Sequence[str] = (),
               populations: Mapping[str, float] | None = None) -> AreaRates:
    """Rates by LSOA (police.uk street crimes of the authority's own force) or ward for `area`
    over months `start..end`. Wards of a London borough: MPS ward counts, populations from
    `populations` (required); wards of any other LA: its police.uk LSOA counts summed to the
    best-fit wards (May 2024) of the ONS lookup, with Census 2021 residents summed the same
    way. `populations` (code -> residents) replaces the shipped estimates."""
    if level not in LEVELS:
        raise InputError(f"level must be lsoa or ward, got {level!r}", param="level")
    if start > end:
        raise InputError(f"the start {start:%Y-%m} is after the end {end:%Y-%m}", param="start")
    area = la_name(area)
    # Outside London there are no MPS ward tables: wards are sums of the LSOAs.
    by_lsoa = level == "lsoa" or not is_london(area)
    places = (lsoas_of(area) if level == "lsoa" else
              wards_of(area) if not by_lsoa else national_wards_of(area))
    if not places:
        raise InputError(f"no {level.upper() if level == 'lsoa' else 'ward'}s known for "
                         f"{area!r}", param="area")
    if level == "ward" and not by_lsoa and populations is None:
        raise InputError("ward populations are not shipped with saferboard; give a "
                         "{population} file (CSV with columns code,population)",
                         param="population", mentions=("population",))
    if populations is not None:
        places = tuple(SmallArea(p.code, p.name, populations.get(p.code), "population file")
                       for p in places)
    if by_lsoa:
        res = counts(con, cats, source="policeuk", areas=[area], start=start, end=end,
                     category_names=category_names, by=("lsoa", "force"))
        force = policing_force().get(area.lower())
        by_code: dict[str, int] = {}
        for code, row_force, n in res.rows:
            if force is None or row_force == force:
                by_code[str(code)] = by_code.get(str(code), 0) + int(n)  # type: ignore[call-overload]
        by_code, moved = lsoa21_counts(by_code)
        if level == "ward":
            lookup = lsoa_wards()
            wards: dict[str, int] = {}
            for code, n in by_code.items():
                key = lookup.get(code, code)  # a code the lookup lacks stays unallocated
                wards[key] = wards.get(key, 0) + n
            by_code = wards
    else:
        moved = {}
        res = counts(con, cats, source="mps", areas=[area], start=start, end=end,
                     category_names=category_names, by=("ward",), mps_level="ward")
        by_code = {str(code): int(n) for code, n in res.rows}  # type: ignore[call-overload]
    total = sum(by_code.values())
    known = {p.code for p in places}
    unallocated = tuple(sorted((c, n) for c, n in by_code.items() if c not in known))
    with_pop = [p.population for p in places if p.population is not None]
    if not with_pop:
        raise InputError(f"the population file has none of {area}'s {level} codes",
                         param="population")
    base = float(sum(with_pop))
    if populations is None:
        d = denominator(area, "population", end.year)
        scale = d.value / base
        area_pop = float(d.value)
        what = ("Census 2021 usual residents" if places[0].source == CENSUS_RESIDENTS
                else "ONS mid-2020 small-area estimates")
        if level == "ward":
            what += " summed from the 2021 LSOAs to their best-fit wards (May 2024)"
        note = (f"{level.upper() if level == 'lsoa' else 'Ward'} populations: {what} scaled "
                f"to {d.area}'s "
                f"{d.year} population ({d.value:,}), the dashboard's denominator")
        if moved:
            note += (f"; {sum(moved.values()):,} crimes on {len(moved)} 2011 LSOA codes "
                     "attributed to 2021 LSOAs by the ONS lookup")
        area_rate = total / area_pop
    else:
        scale, area_pop = 1.0, base
        note = f"populations from the population file ({len(with_pop)} of {len(places)} areas)"
        # The authority's rate over the areas with a population only, so that areas left
        # out of the file do not inflate it.
        area_rate = sum(by_code.get(p.code, 0) for p in places
                        if p.population is not None) / area_pop
    rows = rank_rates(by_code, places, scale, area_rate)
    return AreaRates(area, level, tuple(category_names), start, end, total, area_pop,
                     area_rate * 1000, note, rows, unallocated, tuple(sorted(moved.items())))


def latest_month(con: duckdb.DuckDBPyConnection, area: str, level: str) -> date | None:
    """The last month with data for `area` (any name or code `la_name` takes) in the source
    the level reads."""
    area = la_name(area)
    sql = ("SELECT max(month) FROM street WHERE lower(area) = lower(?)"
           if level == "lsoa" or not is_london(area) else
           "SELECT max(month) FROM mps_current WHERE level = 'ward' AND lower(area) = lower(?)")
    row = con.execute(sql, [area]).fetchall()
    return row[0][0] if row else None
