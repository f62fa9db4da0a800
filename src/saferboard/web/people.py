"""The people pages' tables: repeat victimisation, MARAC and the offender cohort, from
saferboard.measures (repeats, marac, cohort) with their disclosure control (counts below
the partnership's threshold suppressed, with secondary suppression). Aggregates only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from saferboard.core.errors import InputError
from saferboard.measures import disclosure as dc
from saferboard.measures import marac as mr
from saferboard.measures import repeats as rp
from saferboard.measures.cohort import (
    CohortData,
    cohort_measures,
    from_day,
    load_cohort,
    suppress_small_cohorts,
)
from saferboard.measures.windows import shift
from saferboard.present.cohort import GROUP_COLUMNS, ProjectionOut, groups, suppressed_note
from saferboard.present.values import SUPPRESSED

REPEAT_TYPES = (("domestic abuse", "person", "Domestic abuse: repeat victims"),
                ("residential burglary", "location", "Residential burglary: repeat addresses"),
                ("asb call", "person", "Anti-social behaviour: repeat callers"))


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    # SUPPRESSED: hidden by disclosure control (the mark on the page, null in the API);
    # None: not computable ("-" on the page)
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tables: tuple[Table, ...]
    notes: tuple[str, ...]


def _table(p: dc.Published, keep: tuple[str, ...] | None = None) -> Table:
    """A disclosure-controlled table (repeats, MARAC): its None cells are the suppressed."""
    columns = keep or (tuple(p.rows[0]) if p.rows else ())
    columns = tuple(c for c in columns if c != "key")
    return Table(p.title, columns, tuple(tuple(SUPPRESSED if r.get(c) is None else r.get(c)
                                               for c in columns) for r in p.rows))


def sections(con: duckdb.DuckDBPyConnection, threshold: int) -> list[Section]:
    out: list[Section] = []
    for incident_type, by, title in REPEAT_TYPES:
        try:
            inc = rp.load_incidents(con, incident_type, by=by)
            result = rp.repeat_victimisation(inc, rp.latest_month(inc))
            summary, series = rp.publish(result, threshold)
            out.append(Section(incident_type.replace(" ", "-"), title,
                               (_table(summary, ("measure", "value", "period")),
                                _table(series)), summary.notes))
        except InputError as e:
            out.append(Section(incident_type.replace(" ", "-"), title, (), (e.detail,)))
    try:
        ref = mr.load_referrals(con)
        last = mr.latest_month(ref)
        m = mr.marac(ref, shift(last, -11), last)
        published = mr.publish(m, threshold)
        out.append(Section("marac", "MARAC demand and caseload profile",
                           (_table(published[0], ("measure", "value")),
                            *(_table(t) for t in published[1:])), published[0].notes))
    except (InputError, ValueError) as e:
        out.append(Section("marac", "MARAC demand and caseload profile", (), (str(e),)))
    out.append(_cohort(con, threshold))
    return out


def _cohort(con: duckdb.DuckDBPyConnection, threshold: int) -> Section:
    title = "Offender cohort (IOM): offending before and after joining"
    try:
        data = load_cohort(con)
        as_of = _cohort_as_of(data)
        r = suppress_small_cohorts(cohort_measures(data, as_of=as_of, resamples=0), threshold)
    except (InputError, ValueError) as e:
        return Section("cohort", title, (), (str(e),))
    # The rows every output prints (present.cohort): a suppressed group's figures are
    # SUPPRESSED, shown as the disclosure mark, never as 0 members; None is "not computable".
    rates = Table(f"Offences per offender per year, 12 months before joining vs after "
                  f"(to {as_of:%d %b %Y})", GROUP_COLUMNS,
                  tuple(tuple(g.model_dump()[c] for c in GROUP_COLUMNS) for g in groups(r)))
    projection = Table("Before (12 months) vs after, predicted for 12 months",
                       tuple(ProjectionOut.model_fields),
                       tuple(tuple(ProjectionOut.of(p).model_dump().values())
                             for p in r.projection))
    note = suppressed_note(r)
    return Section("cohort", title, (rates, projection), (*r.caveats, *([note] if note else [])))


def _cohort_as_of(data: CohortData) -> date:
    """The latest offence date in the extract: 'after joining' runs up to it."""
    if not len(data.offence_day):
        raise InputError("no offences in the store; import them with 'saferboard "
                         "ingest-partner offences FILE'")
    return from_day(int(data.offence_day.max()))
