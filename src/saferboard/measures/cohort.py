"""Offender cohort (Integrated Offender Management): offending before and after joining.

Seed 002 reports the IOM cohort's "average rate of offences ... 1.65 offences per year - in
contrast to an average of 2.91 for the same offenders before they joined" (43% lower); seed
003 tabulates convictions in the 12 months before joining against the first 6 months after,
"predicted for 12 months". This module computes both from partner extracts.

Definitions (every figure below follows them):

* **Member.** One per offender: the offender's first membership (earliest join date); cohort
  values that differ only in case or spacing are one value. Later
  memberships of the same offender (re-joins, moves between cohort values) are not separate
  members; they are counted in ``CohortResult.excluded["later_membership"]``. A member whose
  join date is after ``as_of`` has not joined yet and is left out.
* **Days.** Whole calendar days; a year is 365 days, so the 12-month window before joining is
  exactly one offender-year when the member spent none of it in custody.
* **Before window.** The 365 days before the join date (join - 365 .. join - 1).
  **After window.** The join date .. min(leave date, as_of), both included.
* **Custody.** A custody period from ``start`` to ``end`` removes the whole days between them,
  ``start + 1 .. end - 1``: on the day taken into custody and the day released the person
  was in the community for part of the day, so both count as community days and offences on
  them count. An open period (no end date) runs to ``as_of``. Overlapping periods are merged.
  Custody days are removed from the exposure of **both** windows (time at risk), so a member
  who spent the year before joining in prison does not look like a low-rate offender.
* **Offences in custody.** An offence dated on a custody day is not community offending and
  its day is not in the exposure, so it is not counted in either rate; the number set aside
  is ``offences_in_custody``, counted over the members in the rates only (a member left out
  for short exposure contributes neither offences nor custody offences).
* **Short exposure.** A member with fewer than ``min_days`` community days in either window
  is left out of every rate (``excluded["short_before"]`` / ``["short_after"]``): a member
  who joined last week would otherwise weigh in with a rate from a few days. Members left in
  are the same members before and after, so the comparison is like with like.
* **Pooled rates.** Offences per offender per year = total offences / total offender-years
  (not the mean of the members' own rates, which short exposures make erratic);
  ``reduction_pct`` = 100 x (1 - rate_after / rate_before).
* **Date basis.** ``"offence"`` (default) dates events by offence date. ``"conviction"``
  (seed 003 counts convictions) dates them by conviction date; offences without one are not
  events, and a conviction is counted whatever the custody status on that day.

The regression-to-the-mean caveat (``REGRESSION_TO_THE_MEAN``) goes with every result: a
cohort chosen for its recent high offending would offend less afterwards even with no
programme. A comparison group selected the same way (``comparison_cohort``) gives the
difference in differences, with a member-level bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import duckdb
import numpy as np

from saferboard.core.errors import InputError
from saferboard.measures import disclosure as dc

YEAR_DAYS = 365
BEFORE_DAYS = 365
DEFAULT_MIN_DAYS = 90
DEFAULT_TOP_N = 200
DEFAULT_SUPPRESS_BELOW = 5
EPOCH = date(1970, 1, 1)
OPEN = np.iinfo(np.int64).max // 4  # an open date (no leave date, no custody end)
NO_DATE = np.iinfo(np.int64).min // 4  # a missing conviction date

DateBasis = Literal["offence", "conviction"]

REGRESSION_TO_THE_MEAN = (
    "Regression to the mean: members are chosen because their recent offending was high, and "
    "high counts tend to fall back towards the offender's usual level with or without an "
    "intervention, so part of the fall after joining would have happened anyway. Read the "
    "reduction as an upper bound on the programme's effect unless a comparison group chosen "
    "the same way (a comparison cohort) shows a smaller fall."
)
CUSTODY_NOTE = (
    "Rates are offences per offender per year of community time: custody days are removed "
    "from both windows and offences dated in custody are not counted."
)
BOOTSTRAP_METHOD = (
    "95% percentile interval from a member-level (cluster) bootstrap: members are resampled "
    "with replacement within each group, which keeps each member's before and after together "
    "and allows for over-dispersion (a few members commit most offences)."
)


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


# --------------------------------------------------------------------------- input records


@dataclass(frozen=True)
class Membership:
    offender: str
    cohort: str
    join_date: date
    leave_date: date | None = None


@dataclass(frozen=True)
class Custody:
    offender: str
    start_date: date
    end_date: date | None = None


@dataclass(frozen=True)
class Offence:
    offender: str
    offence_date: date
    offence_type: str
    ho_recordable: bool
    conviction_date: date | None = None


@dataclass(frozen=True, eq=False)
class CohortData:
    """Partner cohort, custody and offences as columns (days since 1970-01-01)."""

    member_offender: np.ndarray  # object (str)
    member_cohort: np.ndarray  # object (str)
    member_join: np.ndarray  # int64
    member_leave: np.ndarray  # int64, OPEN when none
    custody_offender: np.ndarray
    custody_start: np.ndarray
    custody_end: np.ndarray  # OPEN when none
    offence_offender: np.ndarray
    offence_day: np.ndarray
    offence_type: np.ndarray  # object (str)
    offence_ho: np.ndarray  # bool
    offence_conviction: np.ndarray  # NO_DATE when none

    @classmethod
    def from_records(cls, members: Sequence[Membership], offences: Sequence[Offence],
                     custody: Sequence[Custody] = ()) -> CohortData:
        for m in members:
            if m.leave_date is not None and m.leave_date < m.join_date:
                raise InputError(f"offender {m.offender!r}: leave date {m.leave_date} is "
                                 f"before join date {m.join_date}", column="leave_date")
        for c in custody:
            if c.end_date is not None and c.end_date < c.start_date:
                raise InputError(f"offender {c.offender!r}: custody end {c.end_date} is "
                                 f"before its start {c.start_date}", column="end_date")
        obj = object
        return cls(
            np.array([m.offender for m in members], dtype=obj),
            np.array([" ".join(m.cohort.split()) for m in members], dtype=obj),
            np.array([day_number(m.join_date) for m in members], dtype=np.int64),
            np.array([OPEN if m.leave_date is None else day_number(m.leave_date)
                      for m in members], dtype=np.int64),
            np.array([c.offender for c in custody], dtype=obj),
            np.array([day_number(c.start_date) for c in custody], dtype=np.int64),
            np.array([OPEN if c.end_date is None else day_number(c.end_date)
                      for c in custody], dtype=np.int64),
            np.array([o.offender for o in offences], dtype=obj),
            np.array([day_number(o.offence_date) for o in offences], dtype=np.int64),
            np.array([" ".join(o.offence_type.split()) for o in offences], dtype=obj),
            np.array([o.ho_recordable for o in offences], dtype=bool),
            np.array([NO_DATE if o.conviction_date is None else day_number(o.conviction_date)
                      for o in offences], dtype=np.int64),
        )


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                      [name]).fetchall()[0]
    return bool(row[0])


def load_cohort(con: duckdb.DuckDBPyConnection) -> CohortData:
    """The partner cohort, custody and offences tables of the store as columns."""
    hint = ("import the cohort and offences extracts with 'saferboard ingest-partner cohort "
            "FILE' and 'saferboard ingest-partner offences FILE'")
    for table in ("partner_cohort", "partner_offences"):
        if not _table_exists(con, table):
            raise InputError(f"the store has no {table} table; {hint}")
    epoch = "DATE '1970-01-01'"

    def days(col: str, missing: int) -> str:
        return f"coalesce(datediff('day', {epoch}, {col}), {missing})::BIGINT"

    m = con.execute(f"""SELECT offender, cohort, {days('join_date', 0)} AS j,
                        {days('leave_date', OPEN)} AS l FROM partner_cohort""").fetchnumpy()
    if len(m["j"]) == 0:
        raise InputError(f"the store's partner_cohort table is empty; {hint}")
    if _table_exists(con, "partner_custody"):
        c = con.execute(f"""SELECT offender, {days('start_date', 0)} AS s,
                            {days('end_date', OPEN)} AS e FROM partner_custody""").fetchnumpy()
    else:
        c = {"offender": np.array([], dtype=object), "s": np.array([], dtype=np.int64),
             "e": np.array([], dtype=np.int64)}
    o = con.execute(f"""SELECT offender, {days('offence_date', 0)} AS d, offence_type,
                        ho_recordable, {days('conviction_date', NO_DATE)} AS cd
                        FROM partner_offences""").fetchnumpy()

    def col(a: object, dtype: type | str) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    return CohortData(
        col(m["offender"], object), col([" ".join(str(v).split()) for v in m["cohort"]],
                                        object),
        col(m["j"], np.int64), col(m["l"], np.int64),
        col(c["offender"], object), col(c["s"], np.int64), col(c["e"], np.int64),
        col(o["offender"], object), col(o["d"], np.int64),
        col([" ".join(str(v).split()) for v in o["offence_type"]], object),
        col(o["ho_recordable"], bool), col(o["cd"], np.int64),
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class GroupRates:
    """Pooled before/after offending of a group of members."""

    members: int
    offences_before: int
    offences_after: int
    years_before: float  # offender-years of community time in the before windows
    years_after: float
    rate_before: float | None  # offences per offender per year
    rate_after: float | None
    reduction_pct: float | None  # 100 x (1 - after / before); negative = increase


@dataclass(frozen=True)
class TypeChange:
    offence_type: str
    offences_before: int
    offences_after: int
    rate_before: float | None  # per offender per year, over all included members
    rate_after: float | None
    avoided_per_year: float | None  # (rate_before - rate_after) x members


@dataclass(frozen=True)
class ProjectionRow:
    """Seed 003: before (12 months) vs after as observed, projected to 12 months."""

    group: str
    members: int
    before: int  # offences in the 12 months before joining
    after: int  # offences observed after joining
    months_observed: float  # mean community months after joining per member
    predicted_12m: float  # after x 12 / months_observed
    reduction: float  # before - predicted_12m
    reduction_pct: float | None  # 100 x reduction / before


@dataclass(frozen=True)
class Concentration:
    """Share of the offences dated in a window committed by the top N offenders."""

    first_day: date
    last_day: date
    offenders: int
    offences: int
    top_n: int
    top_offences: int
    share_pct: float | None
    offenders_for_half: int  # fewest offenders who together commit half the offences


@dataclass(frozen=True)
class Comparison:
    """Difference in differences: the cohort against a comparison cohort."""

    comparison_cohort: str
    treated: GroupRates  # every other cohort value
    comparison: GroupRates
    did_rate: float | None  # (after - before)_treated - (after - before)_comparison
    did_interval: tuple[float, float] | None
    ratio_of_rate_ratios: float | None  # (after/before)_treated / (after/before)_comparison
    ratio_interval: tuple[float, float] | None
    resamples: int
    seed: int
    method: str = BOOTSTRAP_METHOD


@dataclass(frozen=True)
class CohortResult:
    as_of: date
    date_basis: str
    min_days: int
    overall: GroupRates
    ho_recordable: GroupRates
    by_cohort: dict[str, GroupRates]
    by_cohort_ho: dict[str, GroupRates]
    by_type: tuple[TypeChange, ...]
    projection: tuple[ProjectionRow, ...]
    concentration: Concentration
    comparison: Comparison | None
    members_total: int  # first memberships joined by as_of, before exclusions
    excluded: dict[str, int]
    offences_in_custody: int
    caveats: tuple[str, ...] = (REGRESSION_TO_THE_MEAN, CUSTODY_NOTE)
    suppressed: tuple[str, ...] = field(default=())  # cohort values hidden by disclosure control


@dataclass(frozen=True)
class PublishedCohort:
    """A `CohortResult` after disclosure control (`suppress_small_cohorts`), for output.

    A suppressed group is ``None``, never a group of 0 members: every output must show it as
    suppressed (the disclosure mark, ``null`` with ``"suppressed": true`` in JSON), because
    a 0 would be read as "no members", which is a different and false statement. Its name is
    in `suppressed` ("All members" when the whole cohort is too small, which also hides
    `overall`, `ho_recordable`, `members_total`, the offence types and the projection)."""

    as_of: date
    date_basis: str
    min_days: int
    overall: GroupRates | None
    ho_recordable: GroupRates | None
    by_cohort: dict[str, GroupRates | None]
    by_cohort_ho: dict[str, GroupRates | None]
    by_type: tuple[TypeChange, ...]
    projection: tuple[ProjectionRow, ...]
    concentration: Concentration
    comparison: Comparison | None
    members_total: int | None
    excluded: dict[str, int]
    offences_in_custody: int
    caveats: tuple[str, ...]
    suppressed: tuple[str, ...]
    threshold: int


# --------------------------------------------------------------------------- arithmetic


def pooled(members: int, before: int, after: int, years_before: float, years_after: float
           ) -> GroupRates:
    rb = before / years_before if years_before > 0 else None
    ra = after / years_after if years_after > 0 else None
    red = None if rb is None or ra is None or rb == 0 else 100.0 * (1.0 - ra / rb)
    return GroupRates(members, before, after, years_before, years_after, rb, ra, red)


def projection(group: str, members: int, before: int, after: int, months_observed: float
               ) -> ProjectionRow:
    """Seed 003's arithmetic: predicted = after x 12 / months observed; reduction = before -
    predicted; percentage of before."""
    if months_observed <= 0:
        raise InputError(f"months observed must be positive, got {months_observed}")
    predicted = after * 12.0 / months_observed
    reduction = before - predicted
    pct = 100.0 * reduction / before if before else None
    return ProjectionRow(group, members, before, after, months_observed, predicted, reduction,
                         pct)


def _merge_custody(offender: np.ndarray, start: np.ndarray, end: np.ndarray, as_of: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole custody days as merged, disjoint [a, b] intervals per offender code, sorted."""
    a = start + 1
    b = np.where(end >= OPEN, as_of, end - 1)
    keep = b >= a
    off, a, b = offender[keep], a[keep], b[keep]
    order = np.lexsort((a, off))
    off, a, b = off[order], a[order], b[order]
    out_o: list[int] = []
    out_a: list[int] = []
    out_b: list[int] = []
    for o, x, y in zip(off.tolist(), a.tolist(), b.tolist(), strict=True):
        if out_o and out_o[-1] == o and x <= out_b[-1] + 1:
            out_b[-1] = max(out_b[-1], y)
        else:
            out_o.append(o)
            out_a.append(x)
            out_b.append(y)
    return (np.array(out_o, dtype=np.int64), np.array(out_a, dtype=np.int64),
            np.array(out_b, dtype=np.int64))


def _overlap_days(c_member: np.ndarray, c_a: np.ndarray, c_b: np.ndarray, w_a: np.ndarray,
                  w_b: np.ndarray, n: int) -> np.ndarray:
    """Per member, custody days inside its window [w_a, w_b]."""
    if len(c_member) == 0:
        return np.zeros(n, dtype=np.int64)
    lo = np.maximum(c_a, w_a[c_member])
    hi = np.minimum(c_b, w_b[c_member])
    return np.bincount(c_member, weights=np.maximum(hi - lo + 1, 0), minlength=n).astype(
        np.int64)


def _in_intervals(member: np.ndarray, day: np.ndarray, c_member: np.ndarray,
                  c_a: np.ndarray, c_b: np.ndarray) -> np.ndarray:
    """Whether each (member, day) falls in one of that member's disjoint custody intervals."""
    if len(c_member) == 0 or len(member) == 0:
        return np.zeros(len(member), dtype=bool)
    span = np.int64(1 << 32)
    base = np.int64(1 << 31)
    keys = c_member * span + (c_a + base)
    q = member * span + (day + base)
    pos = np.searchsorted(keys, q, side="right") - 1
    ok = pos >= 0
    posc = np.clip(pos, 0, None)
    inside: np.ndarray = ok & (c_member[posc] == member) & (day <= c_b[posc]) & (
        day >= c_a[posc])
    return inside


def cohort_measures(
    data: CohortData,
    *,
    as_of: date,
    min_days: int = DEFAULT_MIN_DAYS,
    date_basis: DateBasis = "offence",
    top_n: int = DEFAULT_TOP_N,
    comparison_cohort: str | None = None,
    resamples: int = 2000,
    seed: int = 1,
    cohorts: Sequence[str] | None = None,
) -> CohortResult:
    """Before/after offending of the cohort at `as_of` (see the module docstring). With
    `cohorts`, only members whose (first) membership has one of these cohort values count
    (case-insensitive); the comparison cohort, if any, must be one of them."""
    if min_days < 1:
        raise InputError(f"min_days must be at least 1, got {min_days}", param="min_days")
    if top_n < 1:
        raise InputError(f"top N must be at least 1, got {top_n}", param="top_n")
    if date_basis not in ("offence", "conviction"):
        raise InputError(f"date basis must be offence or conviction, got {date_basis!r}",
                         param="basis")
    if resamples < 0:
        raise InputError(f"resamples must be >= 0, got {resamples}", param="resamples")
    today = day_number(as_of)

    # Members: each offender's first membership that has started by as_of.
    started = data.member_join <= today
    m_off, m_coh = data.member_offender[started], data.member_cohort[started]
    m_join, m_leave = data.member_join[started], data.member_leave[started]
    if len(m_off) == 0:
        raise InputError(f"no cohort member joined on or before {as_of}", param="as_of")
    order = np.lexsort((m_join, m_off))
    m_off, m_coh, m_join, m_leave = m_off[order], m_coh[order], m_join[order], m_leave[order]
    first = np.ones(len(m_off), dtype=bool)
    first[1:] = m_off[1:] != m_off[:-1]
    later = int((~first).sum())
    offenders = m_off[first]
    cohort_v, join, leave = m_coh[first], m_join[first], m_leave[first]
    # Cohort values differing only in case are one value (the first spelling in sort order).
    spelling: dict[str, str] = {}
    for v in sorted(set(cohort_v.tolist())):
        spelling.setdefault(v.casefold(), v)
    if len(spelling) < len(set(cohort_v.tolist())):
        cohort_v = np.array([spelling[v.casefold()] for v in cohort_v.tolist()], dtype=object)
    if cohorts is not None:
        known = sorted(set(cohort_v.tolist()))
        lookup = {v.casefold(): v for v in known}
        wanted = set()
        for name in cohorts:
            key = " ".join(name.split()).casefold()
            if key not in lookup:
                raise InputError(f"cohort {name!r} is not a cohort value; the cohort values "
                                 f"are: {', '.join(known)}", param="cohort")
            wanted.add(lookup[key])
        keep = np.isin(cohort_v, np.array(sorted(wanted), dtype=object))
        offenders, cohort_v, join, leave = (offenders[keep], cohort_v[keep], join[keep],
                                            leave[keep])
    n = len(offenders)

    b_a, b_b = join - BEFORE_DAYS, join - 1
    a_a, a_b = join, np.minimum(leave, today)

    # Custody: whole days, merged per member; offences of non-members need no custody.
    c_member = _codes(offenders, data.custody_offender)
    keep = c_member >= 0
    cm, ca, cb = _merge_custody(c_member[keep], data.custody_start[keep],
                                data.custody_end[keep], today)
    days_before = BEFORE_DAYS - _overlap_days(cm, ca, cb, b_a, b_b, n)
    days_after = (a_b - a_a + 1) - _overlap_days(cm, ca, cb, a_a, a_b, n)

    # Events.
    o_member = _codes(offenders, data.offence_offender)
    ev_day = data.offence_day if date_basis == "offence" else data.offence_conviction
    valid = (o_member >= 0) & (ev_day > NO_DATE)
    ev_m, ev_d = o_member[valid], ev_day[valid]
    ev_type, ev_ho = data.offence_type[valid], data.offence_ho[valid]
    in_custody = (_in_intervals(ev_m, ev_d, cm, ca, cb) if date_basis == "offence"
                  else np.zeros(len(ev_m), dtype=bool))
    is_before = (ev_d >= b_a[ev_m]) & (ev_d <= b_b[ev_m])
    is_after = (ev_d >= a_a[ev_m]) & (ev_d <= a_b[ev_m])
    custody_in_window = in_custody & (is_before | is_after)
    is_before &= ~in_custody
    is_after &= ~in_custody

    short_before = days_before < min_days
    short_after = days_after < min_days
    included = ~short_before & ~short_after
    ev_in = included[ev_m]
    # Set aside only for the members whose rates are reported: a left-out member's custody
    # offences would otherwise be reported beside rates that do not include that member.
    custody_set_aside = int((custody_in_window & ev_in).sum())

    def counts(mask: np.ndarray) -> np.ndarray:
        return np.bincount(ev_m[mask & ev_in], minlength=n)

    cnt_b, cnt_a = counts(is_before), counts(is_after)
    cnt_b_ho, cnt_a_ho = counts(is_before & ev_ho), counts(is_after & ev_ho)
    yb, ya = days_before / YEAR_DAYS, days_after / YEAR_DAYS

    def group(mask: np.ndarray, b: np.ndarray, a: np.ndarray) -> GroupRates:
        sel = mask & included
        return pooled(int(sel.sum()), int(b[sel].sum()), int(a[sel].sum()),
                      float(yb[sel].sum()), float(ya[sel].sum()))

    everyone = np.ones(n, dtype=bool)
    overall = group(everyone, cnt_b, cnt_a)
    ho = group(everyone, cnt_b_ho, cnt_a_ho)
    values = sorted(set(cohort_v.tolist()))
    by_cohort = {v: group(cohort_v == v, cnt_b, cnt_a) for v in values}
    by_cohort_ho = {v: group(cohort_v == v, cnt_b_ho, cnt_a_ho) for v in values}

    by_type = _by_type(ev_type, is_before & ev_in, is_after & ev_in, overall)
    proj = _projection_rows(overall, ho, by_cohort, by_cohort_ho)
    conc = concentration(data, as_of=as_of, top_n=top_n)

    comp = None
    if comparison_cohort is not None:
        comp = _comparison(comparison_cohort, values, cohort_v, included, cnt_b, cnt_a, yb,
                           ya, resamples, seed)
    excluded = {
        "later_membership": later,
        "short_before": int((short_before & ~short_after).sum()),
        "short_after": int((short_after & ~short_before).sum()),
        "short_both": int((short_before & short_after).sum()),
        "not_yet_joined": int((~started).sum()),
    }
    return CohortResult(as_of, date_basis, min_days, overall, ho, by_cohort, by_cohort_ho,
                        by_type, proj, conc, comp, n, excluded, custody_set_aside)


def _codes(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The position of each of `ids` in the distinct `sorted_ids`, or -1 (a dict lookup per
    id is faster than searchsorted on object arrays of strings)."""
    code = {o: i for i, o in enumerate(sorted_ids.tolist())}
    return np.fromiter((code.get(o, -1) for o in ids.tolist()), np.int64, len(ids))


def _by_type(types: np.ndarray, before: np.ndarray, after: np.ndarray, overall: GroupRates
             ) -> tuple[TypeChange, ...]:
    counted = before | after
    types, before, after = types[counted], before[counted], after[counted]
    if len(types) == 0:
        return ()
    keys = np.array([t.casefold() for t in types.tolist()], dtype=object)
    uniq, first_at, inv = np.unique(keys, return_index=True, return_inverse=True)
    nb = np.bincount(inv[before], minlength=len(uniq))
    na = np.bincount(inv[after], minlength=len(uniq))
    out = []
    for i in range(len(uniq)):
        if nb[i] == 0 and na[i] == 0:
            continue
        g = pooled(overall.members, int(nb[i]), int(na[i]), overall.years_before,
                   overall.years_after)
        avoided = (None if g.rate_before is None or g.rate_after is None
                   else (g.rate_before - g.rate_after) * overall.members)
        out.append(TypeChange(str(types[first_at[i]]), g.offences_before, g.offences_after,
                              g.rate_before, g.rate_after, avoided))
    return tuple(sorted(out, key=lambda t: (-(t.offences_before + t.offences_after),
                                            t.offence_type.casefold())))


def _projection_rows(overall: GroupRates, ho: GroupRates, by_cohort: Mapping[str, GroupRates],
                     by_cohort_ho: Mapping[str, GroupRates]) -> tuple[ProjectionRow, ...]:
    """Seed 003's table: per cohort value, all offences then HO-recordable ones."""
    rows = []

    def add(name: str, g: GroupRates) -> None:
        if g.members and g.years_after > 0:
            months = 12.0 * g.years_after / g.members
            rows.append(projection(name, g.members, g.offences_before, g.offences_after,
                                   months))

    for v, g in by_cohort.items():
        add(v, g)
        add(f"{v}: Home Office recordable", by_cohort_ho[v])
    add("All members", overall)
    add("All members: Home Office recordable", ho)
    return tuple(rows)


def concentration(data: CohortData, *, as_of: date, top_n: int = DEFAULT_TOP_N,
                  days: int = 365) -> Concentration:
    """Share of the offences dated in the `days` days to `as_of` committed by the `top_n`
    offenders with the most of them (everyone in the offences extract, members or not)."""
    last = day_number(as_of)
    first_day = last - days + 1
    sel = (data.offence_day >= first_day) & (data.offence_day <= last)
    offs = data.offence_offender[sel]
    if len(offs) == 0:
        return Concentration(from_day(first_day), as_of, 0, 0, top_n, 0, None, 0)
    _, per = np.unique(offs, return_counts=True)
    per = np.sort(per)[::-1]
    total = int(per.sum())
    top = int(per[:top_n].sum())
    half = int(np.searchsorted(np.cumsum(per), (total + 1) // 2) + 1)
    return Concentration(from_day(first_day), as_of, len(per), total, top_n, top,
                         100.0 * top / total, half)


def _comparison(name: str, values: list[str], cohort_v: np.ndarray, included: np.ndarray,
                cnt_b: np.ndarray, cnt_a: np.ndarray, yb: np.ndarray, ya: np.ndarray,
                resamples: int, seed: int) -> Comparison:
    match = [v for v in values if v.casefold() == " ".join(name.split()).casefold()]
    if not match:
        raise InputError(f"comparison cohort {name!r} is not a cohort value; the cohort "
                         f"values are: {', '.join(values)}", param="comparison_cohort")
    is_c = cohort_v == match[0]
    t_sel, c_sel = ~is_c & included, is_c & included
    treated = pooled(int(t_sel.sum()), int(cnt_b[t_sel].sum()), int(cnt_a[t_sel].sum()),
                     float(yb[t_sel].sum()), float(ya[t_sel].sum()))
    comp = pooled(int(c_sel.sum()), int(cnt_b[c_sel].sum()), int(cnt_a[c_sel].sum()),
                  float(yb[c_sel].sum()), float(ya[c_sel].sum()))
    did, rr = _did(treated, comp)
    did_ci = rr_ci = None
    if resamples > 0 and treated.members >= 2 and comp.members >= 2 and did is not None:
        rng = np.random.default_rng(seed)
        t = _boot_sums(rng, cnt_b[t_sel], cnt_a[t_sel], yb[t_sel], ya[t_sel], resamples)
        c = _boot_sums(rng, cnt_b[c_sel], cnt_a[c_sel], yb[c_sel], ya[c_sel], resamples)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_rb, t_ra = t[0] / t[2], t[1] / t[3]
            c_rb, c_ra = c[0] / c[2], c[1] / c[3]
            d = (t_ra - t_rb) - (c_ra - c_rb)
            r = (t_ra / t_rb) / (c_ra / c_rb)
        if np.isfinite(d).all():
            lo, hi = np.percentile(d, [2.5, 97.5])
            did_ci = (float(lo), float(hi))
        if rr is not None and np.isfinite(r).all() and (r > 0).all():
            lo, hi = np.percentile(r, [2.5, 97.5])
            rr_ci = (float(lo), float(hi))
    return Comparison(match[0], treated, comp, did, did_ci, rr, rr_ci, resamples, seed)


def _did(t: GroupRates, c: GroupRates) -> tuple[float | None, float | None]:
    if None in (t.rate_before, t.rate_after, c.rate_before, c.rate_after):
        return None, None
    assert t.rate_before is not None and t.rate_after is not None
    assert c.rate_before is not None and c.rate_after is not None
    did = (t.rate_after - t.rate_before) - (c.rate_after - c.rate_before)
    if 0 in (t.rate_before, c.rate_before, c.rate_after):
        return did, None
    return did, (t.rate_after / t.rate_before) / (c.rate_after / c.rate_before)


def _boot_sums(rng: np.random.Generator, b: np.ndarray, a: np.ndarray, yb: np.ndarray,
               ya: np.ndarray, resamples: int) -> np.ndarray:
    """[4, resamples]: resampled totals of before, after, years before, years after (in
    chunks of about two million draws, so memory stays flat for large cohorts)."""
    n = len(b)
    cols = np.stack([b.astype(float), a.astype(float), yb, ya])  # [4, n]
    out = np.empty((4, resamples))
    step = max(1, 2_000_000 // max(n, 1))
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[:, start:stop] = cols[:, idx].sum(axis=2)
    return out


# --------------------------------------------------------------------------- disclosure


def suppress_small_cohorts(result: CohortResult, threshold: int = DEFAULT_SUPPRESS_BELOW
                           ) -> PublishedCohort:
    """Disclosure control for published output, with the partnership's disclosure module
    (``saferboard.measures.disclosure``): the members by cohort value and their total form a
    one-way table; a cohort value with fewer than `threshold` members is hidden (primary
    suppression), and further values are hidden until no hidden one can be worked out from
    the total (secondary suppression). A hidden cohort value keeps its key with ``None`` as
    its figures (not a 0-member group) and its name in ``suppressed``; a small total hides
    everything ("All members"). The comparison is dropped when either of its groups is
    small; when it is kept, its group is published whole, so the secondary suppression is
    done among the other cohort values against the treated group's total. Offence types
    with small counts are folded into one row."""
    if threshold < 1:
        raise InputError(f"suppression threshold must be at least 1, got {threshold}",
                         param="suppress_below")
    names = list(result.by_cohort)
    comp = result.comparison
    if comp is not None and min(comp.treated.members, comp.comparison.members) < threshold:
        comp = None
    if comp is not None:
        # The comparison group is published whole, so it cannot serve as a secondary
        # suppression: protect the other cohort values within the treated group's total.
        rest = [v for v in names if v != comp.comparison_cohort]
        table = dc.suppress_list([result.by_cohort[v].members for v in rest],
                                 threshold=threshold)
        hidden = {v for v, cell in zip(rest, table.cells, strict=True) if cell[0] is None}
        if table.col_totals is not None and table.col_totals[0] is None:
            comp = None
    if comp is None:
        table = dc.suppress_list([result.by_cohort[v].members for v in names],
                                 threshold=threshold)
        hidden = {v for v, cell in zip(names, table.cells, strict=True) if cell[0] is None}
    small_total = table.col_totals is not None and table.col_totals[0] is None
    by_cohort: dict[str, GroupRates | None] = {
        v: None if v in hidden else g for v, g in result.by_cohort.items()}
    by_cohort_ho: dict[str, GroupRates | None] = {
        v: None if v in hidden else g for v, g in result.by_cohort_ho.items()}
    projection_rows = tuple(
        r for r in result.projection
        if not small_total and r.group.split(": Home Office")[0] not in hidden)
    by_type = () if small_total else _fold_small_types(result.by_type, result.overall,
                                                       threshold)
    return PublishedCohort(
        as_of=result.as_of, date_basis=result.date_basis, min_days=result.min_days,
        overall=None if small_total else result.overall,
        ho_recordable=None if small_total else result.ho_recordable,
        by_cohort=by_cohort, by_cohort_ho=by_cohort_ho, by_type=by_type,
        projection=projection_rows, concentration=result.concentration, comparison=comp,
        members_total=None if small_total else result.members_total,
        excluded=result.excluded, offences_in_custody=result.offences_in_custody,
        caveats=result.caveats,
        suppressed=tuple(sorted(hidden | ({"All members"} if small_total else set()))),
        threshold=threshold)


OTHER_TYPES = "Other offence types (small counts)"


def _fold_small_types(rows: Sequence[TypeChange], overall: GroupRates, threshold: int
                      ) -> tuple[TypeChange, ...]:
    """Offence types with a non-zero count below `threshold` before or after are folded
    into one row (dropped too if that row is itself small)."""
    def small(n: int) -> bool:
        return 0 < n < threshold

    keep = [r for r in rows if not (small(r.offences_before) or small(r.offences_after))]
    fold = [r for r in rows if small(r.offences_before) or small(r.offences_after)]
    if fold:
        nb = sum(r.offences_before for r in fold)
        na = sum(r.offences_after for r in fold)
        if not (small(nb) or small(na)):
            g = pooled(overall.members, nb, na, overall.years_before, overall.years_after)
            avoided = (None if g.rate_before is None or g.rate_after is None
                       else (g.rate_before - g.rate_after) * overall.members)
            keep.append(TypeChange(OTHER_TYPES, nb, na, g.rate_before, g.rate_after, avoided))
    return tuple(keep)
