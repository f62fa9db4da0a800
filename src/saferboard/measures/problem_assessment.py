"""The Assessment of a SARA problem: recorded crime and ASB in the problem's places for the
months before and after its response started, with the dashboard's significance test.

Definitions (docs/cases.md, "Problem solving"):

* **Places**: 2021 LSOA codes; wards (May 2024 codes), each the 2021 LSOAs whose best fit it
  is in the ONS lookup (as `area-rates --level ward` outside London); hotspot grid cells,
  written `SIZE:X:Y` (the cell size and the cell's centre in British National Grid metres, as
  `saferboard hotspots --format json` gives `cell_size_m`, `x` and `y`). A cell holds the
  points in [X - SIZE/2, X + SIZE/2) x [Y - SIZE/2, Y + SIZE/2), as the hotspot grid counts
  them. A crime in several of the problem's places (an LSOA and its ward, or a cell inside a
  linked LSOA) is counted once.
* **Counts**: police.uk street records (every force's: a place is not an authority) by
  month: *crime* = rows whose crime type maps to Total notifiable offences, *ASB* = rows
  mapped to Anti-social behaviour (the shipped category tree). Rows on 2011 LSOA codes (the
  2022-23 switch-over) go to 2021 LSOAs through the ONS lookup as in `area-rates` (a split
  LSOA's rows shared by residents, largest remainder); rows in a linked cell count wholly.
* **Windows**: the response starts in month R (the earliest response's date). *Before* =
  the N months R-N .. R-1, *after* = the N months R+1 .. R+N; month R itself is in neither,
  as it is part before and part after. Every month of both windows must be covered by the
  street data of each force with rows in the places (else an error names the months: a
  missing month is never a zero).
* **Test**: measures.significance.poisson_change (exact conditional test for two Poisson
  counts, two-sided), the dashboard's test, at the partnership's [dashboard] alpha.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np

from saferboard.core.categories import SQL_NORMALISE, Categories
from saferboard.core.errors import InputError
from saferboard.measures.significance import METHOD, ChangeTest, pct_change, poisson_change
from saferboard.measures.windows import months_between, shift
from saferboard.store.problems import PLACE_KINDS, STAGES

CRIME = "Total notifiable offences"
ASB = "Anti-social behaviour"
_LSOA = re.compile(r"[EW]01\d{6}")
_WARD = re.compile(r"[EW]05\d{6}")
_NUM = r"(\d+(?:\.\d+)?)"
_CELL = re.compile(rf"{_NUM}:{_NUM}:{_NUM}")


@dataclass(frozen=True)
class Place:
    kind: str  # lsoa | ward | cell
    code: str  # the LSOA or ward code; SIZE:X:Y for a cell


def parse_place(kind: str, text: str) -> Place:
    """A place as the CLI gives it, checked: a 2021 LSOA or May 2024 ward code known to the
    shipped ONS lookup, or a cell `SIZE:X:Y` whose centre lies on a hotspot grid of that size
    (grids are aligned to multiples of the cell size, so X - SIZE/2 is one)."""
    from saferboard.core import national

    if kind not in PLACE_KINDS:
        raise InputError(f"a place is one of {', '.join(PLACE_KINDS)}", param="place")
    code = text.strip().upper()
    if kind == "lsoa":
        if not _LSOA.fullmatch(code) or code not in national.lsoa_lookup():
            raise InputError("not a 2021 LSOA code of England and Wales (E01... or W01...)",
                             param="lsoa")
        return Place(kind, code)
    if kind == "ward":
        if not _WARD.fullmatch(code) or code not in _ward_lsoas():
            raise InputError("not a ward code (May 2024) of England and Wales (E05... or "
                             "W05...)", param="ward")
        return Place(kind, code)
    m = _CELL.fullmatch(text.strip())
    if m is None:
        raise InputError("a cell is SIZE:X:Y, its size and centre in British National Grid "
                         "metres (a hotspot result's cell_size_m, x and y)", param="cell")
    size, x, y = (float(g) for g in m.groups())
    if size <= 0 or any(not math.isclose((v - size / 2) / size, round((v - size / 2) / size),
                                         abs_tol=1e-9) for v in (x, y)):
        raise InputError("the cell's centre is not on a grid of that size (X - SIZE/2 and "
                         "Y - SIZE/2 must be multiples of SIZE)", param="cell")
    return Place(kind, f"{size:g}:{x:g}:{y:g}")


def _ward_lsoas() -> dict[str, frozenset[str]]:
    from saferboard.core.areas import lsoa_wards

    out: dict[str, set[str]] = {}
    for lsoa, ward in lsoa_wards().items():
        out.setdefault(ward, set()).add(lsoa)
    return {w: frozenset(s) for w, s in out.items()}


def _cells(places: Iterable[Place]) -> list[tuple[float, float, float, float]]:
    """(x0, y0, x1, y1) of each cell, half-open on the east and north edges."""
    out = []
    for p in places:
        if p.kind == "cell":
            size, x, y = (float(v) for v in p.code.split(":"))
            out.append((x - size / 2, y - size / 2, x + size / 2, y + size / 2))
    return out


def check_places(places: Sequence[Place]) -> None:
    """Refuse a problem with no places (its counts would be zeros, not a finding). Named by
    the parameter; the CLI adds the command that links places."""
    if not places:
        raise InputError("the problem has no places: link an LSOA, ward or hotspot cell to it "
                         "first", param="places")


@dataclass(frozen=True)
class MonthCount:
    month: date
    crime: int
    asb: int


def place_counts(con: duckdb.DuckDBPyConnection, cats: Categories, places: Sequence[Place],
                 first: date, last: date) -> tuple[MonthCount, ...]:
    """Crime and ASB in the union of `places` for every month first..last (first days of
    months), from police.uk street records. Refused (InputError naming the months) when a
    force with rows in the places lacks street data for a month of the range."""
    from saferboard.core import national
    from saferboard.core.areas import lsoa21_counts
    from saferboard.measures.hotspots import to_bng, to_wgs84

    check_places(places)
    lsoas: set[str] = set()
    wards = _ward_lsoas()
    for p in places:
        if p.kind == "lsoa":
            lsoas.add(p.code)
        elif p.kind == "ward":
            lsoas |= wards.get(p.code, frozenset())
    # 2011 codes whose rows may land in these 2021 LSOAs (the switch-over months).
    old = sorted(c for c, links in national.lsoa11_links().items()
                 if any(link.lsoa21_code in lsoas for link in links) and c not in lsoas)
    boxes = _cells(places)
    cats.register(con)
    crime, asb = sorted(cats.descendants(CRIME)), sorted(cats.descendants(ASB))
    where = ["s.lsoa_code IN (SELECT unnest($codes))"]
    params: dict[str, object] = {"codes": sorted(lsoas | set(old)), "first": first,
                                 "last": last, "crime": crime, "asb": asb}
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        # A WGS84 box around the cell (its corners, widened by ~10 m), refined in metres below.
        lon, lat = to_wgs84(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
        where.append(f"(s.longitude BETWEEN $lo{i} AND $hi{i} "
                     f"AND s.latitude BETWEEN $la{i} AND $ha{i})")
        params |= {f"lo{i}": float(lon.min()) - 2e-4, f"hi{i}": float(lon.max()) + 2e-4,
                   f"la{i}": float(lat.min()) - 1e-4, f"ha{i}": float(lat.max()) + 1e-4}
    frm = ("FROM street s JOIN batches b USING (batch_id) JOIN label_map lm ON "
           f"lm.source = 'policeuk' AND lm.label = {SQL_NORMALISE.format(col='s.crime_type')}"
           " WHERE (" + " OR ".join(where) + ")")
    rows = con.execute(
        "SELECT s.month, lm.category IN (SELECT unnest($asb)) AS is_asb, s.lsoa_code, "
        f"s.longitude, s.latitude, b.force {frm} AND s.month BETWEEN $first AND $last "
        "AND (lm.category IN (SELECT unnest($crime)) OR lm.category IN (SELECT unnest($asb)))",
        params).fetchall()
    forces = {str(f) for (f,) in con.execute(
        f"SELECT DISTINCT b.force {frm}", {k: v for k, v in params.items()
                                           if k not in ("first", "last", "crime", "asb")}
    ).fetchall()}
    _check_coverage(con, forces, first, last)
    in_cell = np.zeros(len(rows), dtype=bool)
    if boxes and rows:
        lon = np.array([np.nan if r[3] is None else r[3] for r in rows], float)
        lat = np.array([np.nan if r[4] is None else r[4] for r in rows], float)
        ok = ~(np.isnan(lon) | np.isnan(lat))
        x = np.full(len(rows), np.nan)
        y = np.full(len(rows), np.nan)
        if ok.any():
            x[ok], y[ok] = to_bng(lon[ok], lat[ok])
        for x0, y0, x1, y1 in boxes:
            in_cell |= ok & (x >= x0) & (x < x1) & (y >= y0) & (y < y1)
    months = months_between(first, last)
    totals = {m: [0, 0] for m in months}
    old_rows: dict[tuple[date, int], dict[str, int]] = {}
    for (month, is_asb, code, *_), cell in zip(rows, in_cell, strict=True):
        k = int(bool(is_asb))
        if cell or code in lsoas:
            totals[month][k] += 1
        elif code is not None:
            bucket = old_rows.setdefault((month, k), {})
            bucket[code] = bucket.get(code, 0) + 1
    for (month, k), by_code in old_rows.items():
        shared, _ = lsoa21_counts(by_code)
        totals[month][k] += sum(n for c, n in shared.items() if c in lsoas)
    return tuple(MonthCount(m, totals[m][0], totals[m][1]) for m in months)


def _check_coverage(con: duckdb.DuckDBPyConnection, forces: set[str], first: date,
                    last: date) -> None:
    held: dict[str, set[date]] = {}
    for force, month in con.execute(
            "SELECT b.force, bm.month FROM batch_months bm JOIN batches b USING (batch_id) "
            "WHERE b.source = 'policeuk' AND b.kind = 'street' AND bm.month BETWEEN ? AND ?",
            [first, last]).fetchall():
        held.setdefault(str(force), set()).add(month)
    wanted = set(months_between(first, last))
    # No rows at all in the places: every month must still be held by some force's street data.
    checks = {f: held.get(f, set()) for f in forces} or {
        "police.uk": set().union(*held.values()) if held else set()}
    for force, have in sorted(checks.items()):
        missing = sorted(wanted - have)
        if missing:
            shown = ", ".join(f"{m:%Y-%m}" for m in missing[:6])
            more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            raise InputError(f"police.uk street data for {force} lack {len(missing)} month(s) "
                             f"of the assessment ({shown}{more}); import them or choose "
                             "fewer {months}", param="months", mentions=("months",))


@dataclass(frozen=True)
class Change:
    measure: str  # "crime" | "asb"
    before: int
    after: int
    pct_change: float | None  # None when before is 0
    test: ChangeTest


@dataclass(frozen=True)
class ProblemAssessment:
    response_start: date
    months: int
    before: tuple[date, date]  # first and last month of each window
    after: tuple[date, date]
    monthly: tuple[MonthCount, ...]  # before's months, the response month, after's months
    crime: Change
    asb: Change
    method: str


def windows(response_start: date, months: int) -> tuple[tuple[date, date], tuple[date, date]]:
    if months < 1:
        raise InputError("the assessment needs at least 1 month each side", param="months")
    r = response_start.replace(day=1)
    return (shift(r, -months), shift(r, -1)), (shift(r, 1), shift(r, months))


def assess(monthly: Sequence[MonthCount], response_start: date, months: int, *,
           alpha: float = 0.05) -> ProblemAssessment:
    """Before and after totals of crime and ASB and the exact test of each change. Every
    month of both windows must be in `monthly` (a missing month is an error, never 0)."""
    (b0, b1), (a0, a1) = windows(response_start, months)
    by_month: Mapping[date, MonthCount] = {m.month: m for m in monthly}
    missing = [m for m in months_between(b0, a1) if m not in by_month]
    if missing:
        raise InputError(f"no counts for {', '.join(f'{m:%Y-%m}' for m in missing)}",
                         param="months")
    before = [by_month[m] for m in months_between(b0, b1)]
    after = [by_month[m] for m in months_between(a0, a1)]

    def change(measure: str) -> Change:
        pre = sum(getattr(m, measure) for m in before)
        post = sum(getattr(m, measure) for m in after)
        return Change(measure, pre, post, pct_change(post, pre),
                      poisson_change(post, pre, alpha=alpha))

    text = (f"Police.uk crime (Total notifiable offences) and anti-social behaviour in the "
            f"problem's places, the {months} months before the month the response started "
            f"({response_start:%b %Y}) against the {months} months after it; "
            + METHOD.format(alpha=alpha))
    return ProblemAssessment(response_start, months, (b0, b1), (a0, a1),
                             tuple(by_month[m] for m in months_between(b0, a1)),
                             change("crime"), change("asb"), text)


def assess_places(con: duckdb.DuckDBPyConnection, cats: Categories, places: Sequence[Place],
                  response_start: date, months: int, *, alpha: float = 0.05
                  ) -> ProblemAssessment:
    """`assess` over the counts of `place_counts` for both windows."""
    (b0, _), (_, a1) = windows(response_start, months)
    return assess(place_counts(con, cats, places, b0, a1), response_start, months,
                  alpha=alpha)


# --- problems on the agenda and in the pack ------------------------------------------------

@dataclass(frozen=True)
class ProblemFacts:
    """A problem as the agenda and the pack see it: no free text."""

    problem_ref: str
    opened: date
    stages: tuple[tuple[date, str], ...]  # every stage change (date, stage), oldest first
    cases: int
    places: int
    responses: int


@dataclass(frozen=True)
class ProblemOnAgenda:
    problem_ref: str
    stage: str
    since: date  # the date of the change that put it at this stage
    cases: int
    places: int
    responses: int


def stage_on(problem: ProblemFacts, as_of: date) -> tuple[str, date] | None:
    """(stage, since) on `as_of`: the latest change on or before it (the later one recorded
    on the same day); None when the problem was not yet opened."""
    held = [(d, s) for d, s in problem.stages if d <= as_of]
    if problem.opened > as_of or not held:
        return None
    since, stage = held[-1]
    return stage, since


def problems_by_stage(problems: Iterable[ProblemFacts], as_of: date
                      ) -> dict[str, tuple[ProblemOnAgenda, ...]]:
    """The problems open on `as_of` at each SARA stage (every stage listed), longest at their
    stage first: the problem-solving meeting's "problems by stage"."""
    out: dict[str, list[ProblemOnAgenda]] = {s: [] for s in STAGES}
    for p in problems:
        now = stage_on(p, as_of)
        if now is not None:
            out[now[0]].append(ProblemOnAgenda(p.problem_ref, now[0], now[1], p.cases,
                                               p.places, p.responses))
    return {s: tuple(sorted(v, key=lambda a: (a.since, a.problem_ref)))
            for s, v in out.items()}


def by_stage(stages: Iterable[str]) -> dict[str, int]:
    """How many problems are at each SARA stage, every stage listed (0 included)."""
    out = dict.fromkeys(STAGES, 0)
    for s in stages:
        if s not in out:
            raise ValueError(f"stage should be one of {', '.join(STAGES)}, got {s!r}")
        out[s] += 1
    return out
