"""Outcome rates and the sanction detection rate from police.uk street and outcomes files.

A crime's outcome is the latest one known: the outcome rows of the latest outcomes month that
mentions its Crime ID (later outcomes files revise earlier ones), else the street file's "Last
outcome category". Labels map to outcome groups through data/outcomes.toml, which also says
which groups count as a sanction detection.

Outcomes keep arriving for months after a crime is recorded (charges follow investigations,
court results follow charges), so rates for recent months are too low; `lag_warning` says so.
The lag is measured against the latest data of the force(s) whose street rows are in scope
(the area's force), not the whole store's: a store holding the Met to 2025 and the City of
London to 2020 must still warn about City of London crimes of mid-2020.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import duckdb

from saferboard.core.areas import store_area_name
from saferboard.core.categories import SQL_NORMALISE, Categories
from saferboard.core.errors import InputError
from saferboard.core.outcome_map import UNMAPPED, OutcomeMap, shipped_outcome_map
from saferboard.store import one

BLANK = "(blank)"  # how a crime with no outcome label at all is listed among unmapped labels
LAG_MESSAGE = ("outcomes for crimes in the last {n} months are incomplete and will rise as "
               "cases progress")


@dataclass(frozen=True)
class GroupCount:
    group: str
    crimes: int
    percent: float | None  # of all crimes in scope (unmapped included); None if there are none


@dataclass(frozen=True)
class MonthRate:
    """One month of crimes (the month the crime was recorded, not the outcome month)."""

    month: date
    crimes: int
    sanction_detections: int
    sanction_detection_rate: float | None  # percent; None if no crimes
    groups: dict[str, int]  # group -> crimes; unmapped labels together under UNMAPPED


@dataclass(frozen=True)
class OutcomeRates:
    area: str | None
    start: date
    end: date
    categories: tuple[str, ...]
    crimes: int  # distinct Crime IDs recorded in start..end in scope
    rows_without_crime_id: int  # street rows in scope with no Crime ID (anti-social behaviour)
    duplicate_crime_rows: int  # extra street rows of a Crime ID already counted
    from_outcomes_files: int  # crimes whose outcome came from an outcomes file
    from_street_files: int  # crimes whose outcome is the street file's last outcome
    groups: tuple[GroupCount, ...]  # every group of the mapping, in its order
    unmapped: dict[str, int]  # raw outcome label (BLANK for none) -> crimes; in `crimes` too
    sanction_detection_groups: tuple[str, ...]
    sanction_detections: int
    sanction_detection_rate: float | None  # percent of `crimes`; None if there are none
    latest_data: date | None  # the earliest of latest_by_force (the force nearest the lag)
    lag_months: int
    lag_warning: str | None
    months: tuple[MonthRate, ...]  # only when asked for by_month
    # Per force in scope: its latest outcomes month, else its latest street month.
    latest_by_force: dict[str, date] = field(default_factory=dict)

    @property
    def unmapped_crimes(self) -> int:
        return sum(self.unmapped.values())


def _percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def _register_outcome_map(con: duckdb.DuckDBPyConnection, mapping: OutcomeMap) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE outcome_map (label VARCHAR, rank INTEGER)")
    rank = {g: i for i, g in enumerate(mapping.groups)}
    rows = [(label, rank[g]) for label, g in mapping.labels.items()]
    if rows:
        con.executemany("INSERT INTO outcome_map VALUES (?, ?)", rows)


def latest_by_force(con: duckdb.DuckDBPyConnection, area: str | None = None
                    ) -> dict[str, date]:
    """For each police.uk force with street rows in `area` (a local authority, any month;
    None: every force with street rows), its latest month of outcomes data, else of street
    data. Forces publish on their own schedules, so one force's late months say nothing
    about another's outcomes."""
    where, params = ("WHERE lower(s.area) = lower($area)", {"area": area}) if area else ("", {})
    forces = [str(r[0]) for r in con.execute(
        f"SELECT DISTINCT b.force FROM street s JOIN batches b USING (batch_id) {where} "
        "ORDER BY 1", params).fetchall()]
    latest: dict[str, date] = {}
    for table in ("street", "outcomes"):  # outcomes second: it overrides the street month
        for force, month in con.execute(
                f"SELECT b.force, max(t.month) FROM {table} t JOIN batches b USING (batch_id) "
                "WHERE b.force IN (SELECT unnest($forces)) GROUP BY 1",
                {"forces": forces}).fetchall():
            latest[str(force)] = month
    return dict(sorted(latest.items()))


def outcome_rates(
    con: duckdb.DuckDBPyConnection,
    cats: Categories,
    *,
    area: str | None,
    start: date,
    end: date,
    categories: Sequence[str] = (),
    latest_data: date | None = None,
    lag_months: int = 6,
    mapping: OutcomeMap | None = None,
    by_month: bool = False,
) -> OutcomeRates:
    """Outcome groups and the sanction detection rate of police.uk crimes recorded in
    start..end (months, inclusive) in `area` (a local authority; None for every row).

    `latest_data` (default: per force with street rows in the area, its latest outcomes
    month, else street month; `latest_by_force`) is what `end` is compared with for the lag
    warning, raised when `end` is within `lag_months` of any of them.
    """
    if start > end:
        raise InputError(f"the start {start:%Y-%m} is after the end {end:%Y-%m}", param="start")
    if lag_months < 0:
        raise InputError(f"lag months must be 0 or more, got {lag_months}")
    if mapping is None:  # the shipped mapping, read once by core
        mapping = shipped_outcome_map()
    start, end = start.replace(day=1), end.replace(day=1)
    cats.register(con)
    _register_outcome_map(con, mapping)

    where = ["s.month BETWEEN $start AND $end"]
    params: dict[str, object] = {"start": start, "end": end}
    if area is not None:
        area = store_area_name(area)  # an LA code or CSP name reads as the stored name
        where.append("lower(s.area) = lower($area)")
        params["area"] = area
    if categories:
        where.append("lm.category IN (SELECT unnest($cats))")
        params["cats"] = cats.within(categories)
    scope = (
        "SELECT s.crime_id, s.month, s.last_outcome FROM street s "
        "LEFT JOIN label_map lm ON lm.source = 'policeuk' "
        f"AND lm.label = {SQL_NORMALISE.format(col='s.crime_type')} "
        "WHERE " + " AND ".join(where)
    )
    # Rows with no Crime ID are anti-social behaviour incidents: police.uk gives them no
    # outcome, so they are counted out (and reported) rather than shown as "no outcome".
    counts_row = one(
        con,
        f"SELECT count(*) FILTER (WHERE coalesce(crime_id, '') = ''), "
        f"count(*) FILTER (WHERE coalesce(crime_id, '') <> ''), "
        f"count(DISTINCT crime_id) FILTER (WHERE coalesce(crime_id, '') <> '') "
        f"FROM ({scope})",
        params,
    )
    assert counts_row is not None
    no_id, with_id, distinct = (int(str(v)) for v in counts_row)

    norm = SQL_NORMALISE.format(col="c.label")
    # A Crime ID can appear twice in one street file (the same crime with a different "Last
    # outcome category", e.g. "Status update unavailable" beside a real outcome; see the
    # shared data's PROVENANCE.md), so crimes are distinct Crime IDs, each counted once. Its
    # month is its earliest (police.uk never puts one ID in two monthly street files).
    sql = f"""
    WITH scope AS ({scope}),
    crimes AS (
        SELECT crime_id, min(month) AS month FROM scope
        WHERE coalesce(crime_id, '') <> '' GROUP BY crime_id
    ),
    -- Every outcome row of each crime's latest outcomes month: later files revise earlier
    -- ones. A row with a blank outcome says nothing, so it does not hide the street outcome.
    latest AS (
        SELECT o.crime_id, o.outcome_type AS label, 'outcomes' AS origin
        FROM outcomes o JOIN crimes USING (crime_id)
        WHERE o.outcome_type IS NOT NULL AND trim(o.outcome_type) <> ''
        QUALIFY o.month = max(o.month) OVER (PARTITION BY o.crime_id)
    ),
    candidates AS (
        SELECT * FROM latest
        UNION ALL
        SELECT s.crime_id, nullif(trim(s.last_outcome), '') AS label, 'street' AS origin
        FROM scope s
        WHERE coalesce(s.crime_id, '') <> ''
          AND s.crime_id NOT IN (SELECT crime_id FROM latest)
    ),
    -- Several candidate outcomes for one crime (one per suspect, or duplicate street rows):
    -- the highest-precedence group wins (outcomes.toml explains); unmapped labels rank last,
    -- so a known outcome is not hidden, and the label breaks ties so the choice is stable.
    chosen AS (
        SELECT c.crime_id, c.label, c.origin FROM candidates c
        LEFT JOIN outcome_map m ON m.label = {norm}
        QUALIFY row_number() OVER (PARTITION BY c.crime_id
                                   ORDER BY coalesce(m.rank, 1000000), c.label NULLS LAST) = 1
    )
    SELECT cr.month, ch.label, ch.origin, count(*)::BIGINT
    FROM crimes cr JOIN chosen ch USING (crime_id)
    GROUP BY ALL ORDER BY ALL
    """
    rows = con.execute(sql, params).fetchall()

    sd_groups = set(mapping.sanction_detection)
    by_group = dict.fromkeys(mapping.groups, 0)
    unmapped: dict[str, int] = {}
    origins = {"outcomes": 0, "street": 0}
    per_month: dict[date, dict[str, int]] = {}
    for month, label, origin, n in rows:
        n = int(n)
        group = mapping.group_of(label)
        origins[origin] += n
        if group is None:
            key = BLANK if label is None else str(label)
            unmapped[key] = unmapped.get(key, 0) + n
        else:
            by_group[group] += n
        slot = per_month.setdefault(month, dict.fromkeys(mapping.groups, 0))
        name = group or UNMAPPED
        slot[name] = slot.get(name, 0) + n

    total = sum(origins.values())
    assert total == distinct  # every crime gets exactly one chosen outcome
    sd = sum(n for g, n in by_group.items() if g in sd_groups)
    if unmapped:  # every month gets the same keys, so a month-by-group table lines up
        for slot in per_month.values():
            slot.setdefault(UNMAPPED, 0)
    months: list[MonthRate] = []
    for m, g in sorted(per_month.items()) if by_month else ():
        crimes, sds = sum(g.values()), sum(n for k, n in g.items() if k in sd_groups)
        months.append(MonthRate(m, crimes, sds, _percent(sds, crimes), g))

    by_force = {} if latest_data is not None else latest_by_force(con, area)
    latest = latest_data if latest_data is not None else min(by_force.values(), default=None)
    warning = None
    if latest is not None and _months_between(end, latest) < lag_months:
        near = [f"{m:%Y-%m}, {f}" for f, m in by_force.items()
                if _months_between(end, m) < lag_months]
        said = "; ".join(near) if near else f"{latest:%Y-%m}"
        warning = (LAG_MESSAGE.format(n=lag_months)
                   + f" (latest data: {said}; this period ends {end:%Y-%m})")

    return OutcomeRates(
        area=area, start=start, end=end, categories=tuple(categories), crimes=total,
        rows_without_crime_id=no_id, duplicate_crime_rows=with_id - distinct,
        from_outcomes_files=origins["outcomes"], from_street_files=origins["street"],
        groups=tuple(GroupCount(g, n, _percent(n, total)) for g, n in by_group.items()),
        unmapped=dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
        sanction_detection_groups=mapping.sanction_detection,
        sanction_detections=sd, sanction_detection_rate=_percent(sd, total),
        latest_data=latest, lag_months=lag_months, lag_warning=warning, months=tuple(months),
        latest_by_force=by_force,
    )
