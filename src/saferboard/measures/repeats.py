"""Repeat victimisation from dated partner incidents (seed 001: domestic abuse repeat victims;
seed 003: repeat residential burglary, ASB repeat callers by 4-week period).

An incident belongs to a *key*: the person (victim or caller) or, for burglary, the location.
Incidents without the key are left out and counted. Definitions (docs/people.md):

* Window: the 12 calendar months ending with `month` (window_months to change it).
* victims: distinct keys with at least one incident in the window.
* repeat victims: keys with more than one incident in the window; % repeat = repeat victims /
  victims.
* average previous incidents per repeat victim: for each repeat victim, the number of their
  incidents in the window before their latest one there (incidents in the window - 1),
  averaged over repeat victims.
* previous incidents of one incident: the same key's incidents in the `lookback_days` (365)
  days up to and including its date (its own day and the 364 days before it: an incident
  exactly 365 days earlier is not previous) that come before it (same-day incidents count in
  file order). A *repeat incident* has at least one; % repeat incidents is the repeat burglary
  rate of seed 003 when the key is the address.
* monthly figures (seed 001's "around 100 repeat victims a month, 25%-26%, 2.7 previous
  incidents"): in month m, the victims are the keys with an incident in m; a victim is a
  repeat victim in m when their latest incident in m has at least one previous incident;
  their previous incidents are counted at that latest incident. The window's monthly
  figures are the mean of the monthly counts, and the pooled % and average (sum over the
  window's months of the numerators / sum of the denominators).
* 4-week periods (seed 003's ASB table): periods of `period_days` (28) days ending on `end`
  (default the last Sunday on or before the end of the month), numbered 1 = latest; a caller
  in a period is a repeat caller when they made at least `min_calls` (2) calls in it.

Everything is numpy over sorted arrays (no Python loop per incident): 1,000,000 incidents
take well under a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import numpy.typing as npt

from saferboard.core.errors import InputError
from saferboard.measures import disclosure as dc
from saferboard.measures.windows import shift

EPOCH = date(1970, 1, 1)
KEYS = ("person", "location")


@dataclass(frozen=True)
class Incidents:
    """Incidents of one type: an integer key (person or location, >= 0) and a day number
    (days since 1970-01-01) per incident."""

    key: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    without_key: int = 0  # incidents left out for having no person/location
    incident_type: str = ""
    by: str = "person"


def incidents_from(keys: Sequence[object] | npt.NDArray[np.generic],
                   dates: Sequence[date] | npt.NDArray[np.generic], *, by: str = "person",
                   incident_type: str = "") -> Incidents:
    """Incidents from any key values (strings, ints; None or '' = no key) and dates
    (datetime.date objects or numpy datetime64)."""
    k = np.asarray(keys, dtype=object)
    d = np.asarray(dates)
    if k.shape != d.shape or k.ndim != 1:
        raise ValueError(f"keys and dates should be 1-D and the same length, got {k.shape} "
                         f"and {d.shape}")
    days = d.astype("datetime64[D]").astype(np.int64)
    missing = np.array([v is None or v == "" for v in k], dtype=bool)
    codes = np.full(len(k), -1, dtype=np.int64)
    if (~missing).any():
        _, inverse = np.unique(k[~missing].astype(str), return_inverse=True)
        codes[~missing] = inverse
    return Incidents(codes[~missing], days[~missing], int(missing.sum()), incident_type, by)


def load_incidents(con: duckdb.DuckDBPyConnection, incident_type: str, *,
                   by: str = "person", source: str = "incidents") -> Incidents:
    """Partner incidents of one type (case-insensitive) keyed by person or location; with
    source='marac', MARAC referrals keyed by victim."""
    if by not in KEYS:
        raise InputError(f"expected one of {', '.join(KEYS)}, got {by!r}", param="by")
    if source == "marac":
        sql = ("SELECT dense_rank() OVER (ORDER BY victim) - 1, "
               "date_diff('day', DATE '1970-01-01', referral_date) FROM partner_marac")
        cnt = "SELECT 0"
        params: list[object] = []
        label = "marac referral"
    else:
        wanted = " ".join(incident_type.lower().split())
        types = [str(r[0]) for r in con.execute(
            "SELECT DISTINCT incident_type FROM partner_incidents ORDER BY 1").fetchall()]
        if wanted not in types:
            have = (", ".join(repr(t) for t in types)
                    or "none; import them with 'saferboard ingest-partner incidents FILE'")
            raise InputError(f"no incidents of type {incident_type!r}; types loaded: {have}",
                             param="type")
        sql = (f"SELECT dense_rank() OVER (ORDER BY {by}) - 1, "
               "date_diff('day', DATE '1970-01-01', incident_date) FROM partner_incidents "
               f"WHERE incident_type = ? AND {by} IS NOT NULL")
        cnt = f"SELECT count(*) FROM partner_incidents WHERE incident_type = ? AND {by} IS NULL"
        params = [wanted]
        label = wanted
    rows = con.execute(sql, params).fetchnumpy()
    names = list(rows)
    without = con.execute(cnt, params).fetchall()[0][0]
    return Incidents(np.asarray(rows[names[0]], dtype=np.int64),
                     np.asarray(rows[names[1]], dtype=np.int64), int(without), label,
                     "person" if source == "marac" else by)


@dataclass(frozen=True)
class MonthRow:
    month: date
    incidents: int
    victims: int  # keys with an incident in the month
    repeat_victims: int  # of which their latest incident in the month had a previous one
    pct_repeat: float | None
    avg_previous: float | None  # previous incidents per repeat victim
    repeat_incidents: int


@dataclass(frozen=True)
class RepeatVictimisation:
    incident_type: str
    by: str  # person | location
    month: date
    first: date  # the window's first and last day
    last: date
    incidents: int
    victims: int
    repeat_victims: int
    pct_repeat: float | None
    avg_previous: float | None
    repeat_incidents: int
    pct_repeat_incidents: float | None
    monthly_victims: float  # means over the window's months
    monthly_repeat_victims: float
    monthly_pct_repeat: float | None  # pooled over the window's months
    monthly_avg_previous: float | None
    series: tuple[MonthRow, ...]
    without_key: int
    lookback_days: int
    data_first: date | None  # earliest incident of the type (all keys)
    notes: tuple[str, ...]


def _day(d: date) -> int:
    return (d - EPOCH).days


def _date(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def _month_index(days: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _sorted_with_previous(inc: Incidents, lookback_days: int
                          ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                                     npt.NDArray[np.int64]]:
    """Keys and days sorted by (key, day), and each incident's previous incidents."""
    order = np.lexsort((inc.day, inc.key))
    key, day = inc.key[order], inc.day[order]
    if not len(key):
        return key, day, np.zeros(0, dtype=np.int64)
    d0 = int(day.min())
    span = int(day.max()) - d0 + lookback_days + 2
    combined = key * span + (day - d0)
    # "The 365 days up to and including its date" are its own day and the 364 before it, so
    # the earliest day that counts is day - (lookback_days - 1); day - lookback_days would
    # make the look-back 366 days (docs/people.md).
    start = np.searchsorted(combined, combined - (lookback_days - 1), side="left")
    previous = np.arange(len(key), dtype=np.int64) - start
    return key, day, previous.astype(np.int64)


def _ratio(num: float, den: float, scale: float = 1.0, digits: int = 1) -> float | None:
    return round(float(scale * num / den), digits) if den else None


def repeat_victimisation(inc: Incidents, month: date, *, window_months: int = 12,
                         series_months: int = 12, lookback_days: int = 365
                         ) -> RepeatVictimisation:
    """Repeat victimisation for the window ending with `month` (module docstring)."""
    if window_months < 1 or series_months < 1 or lookback_days < 1:
        raise InputError("window, series and look-back must be at least 1",
                         param="months")
    month = month.replace(day=1)
    first = shift(month, -(window_months - 1))
    last = shift(month, 1) - timedelta(days=1)
    series_first = shift(month, -(series_months - 1))
    data_first = _date(int(inc.day.min())) if len(inc.day) else None
    keep = inc.day <= _day(last)
    key, day, previous = _sorted_with_previous(
        Incidents(inc.key[keep], inc.day[keep]), lookback_days)

    w = (day >= _day(first)) & (day <= _day(last))
    if not w.any():
        span = (f"the data runs from {data_first:%d/%m/%Y} to "
                f"{_date(int(inc.day.max())):%d/%m/%Y}" if data_first else "there is no data")
        raise InputError(f"no {inc.incident_type or 'incidents'} in the 12 months "
                         f"{first:%m/%Y}-{last:%m/%Y}; {span}", param="month")
    _, counts = np.unique(key[w], return_counts=True)
    victims = len(counts)
    repeats = counts[counts > 1]
    n_incidents = int(w.sum())
    repeat_incidents = int((previous[w] >= 1).sum())

    # Monthly: the latest incident of each (key, month).
    mi = _month_index(day)
    m0 = min(_month_index(np.array([_day(first), _day(series_first)], dtype=np.int64)))
    m1 = int(_month_index(np.array([_day(month)], dtype=np.int64))[0])
    months = m1 - int(m0) + 1
    in_range = mi >= m0
    last_of = np.ones(len(key), dtype=bool)
    if len(key) > 1:
        last_of[:-1] = (key[1:] != key[:-1]) | (mi[1:] != mi[:-1])
    sel = last_of & in_range
    idx = mi[sel] - m0
    rep = previous[sel] >= 1
    victims_m = np.bincount(idx, minlength=months)
    repeat_m = np.bincount(idx[rep], minlength=months)
    prev_m = np.bincount(idx[rep], weights=previous[sel][rep], minlength=months)
    inc_m = np.bincount(mi[in_range] - m0, minlength=months)
    rinc_m = np.bincount(mi[in_range & (previous >= 1)] - m0, minlength=months)

    def month_of(i: int) -> date:
        return shift(month, i - (months - 1))

    series = tuple(
        MonthRow(month_of(i), int(inc_m[i]), int(victims_m[i]), int(repeat_m[i]),
                 _ratio(repeat_m[i], victims_m[i], 100), _ratio(prev_m[i], repeat_m[i], 1, 2),
                 int(rinc_m[i]))
        for i in range(months) if month_of(i) >= series_first)
    wm = slice(months - window_months, months)
    notes = []
    history_needed = _date(_day(min(first, series_first)) - lookback_days)
    if data_first is None:
        notes.append("no incidents of this type")
    elif data_first > history_needed:
        notes.append(f"the data begins {data_first:%d/%m/%Y}; previous incidents before it "
                     f"cannot be seen, so repeats are understated before "
                     f"{_date(_day(data_first) + lookback_days):%m/%Y}")
    if inc.without_key:
        notes.append(f"{inc.without_key:,} incident(s) have no {inc.by} id and are left out")
    return RepeatVictimisation(
        inc.incident_type, inc.by, month, first, last, n_incidents, victims, len(repeats),
        _ratio(len(repeats), victims, 100),
        _ratio(int(repeats.sum()) - len(repeats), len(repeats), 1, 2),
        repeat_incidents, _ratio(repeat_incidents, n_incidents, 100),
        round(float(victims_m[wm].mean()), 1), round(float(repeat_m[wm].mean()), 1),
        _ratio(float(repeat_m[wm].sum()), float(victims_m[wm].sum()), 100),
        _ratio(float(prev_m[wm].sum()), float(repeat_m[wm].sum()), 1, 2),
        series, inc.without_key, lookback_days, data_first, tuple(notes))


def latest_month(inc: Incidents) -> date:
    """The month of the latest incident (the default reference month)."""
    if not len(inc.day):
        raise InputError("no incidents to analyse")
    return _date(int(inc.day.max())).replace(day=1)


# ---------------------------------------------------------------- 4-week periods (ASB)


@dataclass(frozen=True)
class PeriodRow:
    period: int  # 1 = the latest
    first: date
    last: date
    calls: int
    callers: int
    repeat_callers: int
    pct_repeat: float | None


@dataclass(frozen=True)
class RepeatCallers:
    incident_type: str
    end: date
    period_days: int
    min_calls: int
    rows: tuple[PeriodRow, ...]
    without_key: int


def last_sunday(month: date) -> date:
    """The last Sunday on or before the end of `month` (seed 003's periods end on Sundays)."""
    end = shift(month.replace(day=1), 1) - timedelta(days=1)
    return end - timedelta(days=(end.weekday() + 1) % 7)


def repeat_callers(inc: Incidents, end: date, *, periods: int = 6, period_days: int = 28,
                   min_calls: int = 2) -> RepeatCallers:
    """% of callers who are repeat callers in each of `periods` periods ending on `end`."""
    if periods < 1 or period_days < 1 or min_calls < 2:
        raise InputError("periods and period length must be at least 1, and a repeat caller "
                         "needs at least 2 calls", param="periods")
    back = _day(end) - inc.day
    p = back // period_days
    sel = (back >= 0) & (p < periods)
    p, key = p[sel], inc.key[sel]
    span = int(key.max()) + 1 if len(key) else 1
    pairs, counts = np.unique(p * span + key, return_counts=True)
    pp = pairs // span
    calls = np.bincount(p, minlength=periods)
    callers = np.bincount(pp, minlength=periods)
    repeat = np.bincount(pp[counts >= min_calls], minlength=periods)
    rows = tuple(
        PeriodRow(i + 1, end - timedelta(days=(i + 1) * period_days - 1),
                  end - timedelta(days=i * period_days), int(calls[i]), int(callers[i]),
                  int(repeat[i]), _ratio(repeat[i], callers[i], 100))
        for i in range(periods))
    return RepeatCallers(inc.incident_type, end, period_days, min_calls, rows, inc.without_key)


# ---------------------------------------------------------------- publication


def publish(r: RepeatVictimisation, threshold: int = dc.DEFAULT_THRESHOLD
            ) -> tuple[dc.Published, dc.Published]:
    """The summary and the monthly series with small counts suppressed."""
    who = "victims" if r.by == "person" else "locations"
    s = dc.suppress([[r.repeat_victims, r.victims - r.repeat_victims]], threshold=threshold,
                    row_totals=True, col_totals=False)
    si = dc.suppress([[r.repeat_incidents, r.incidents - r.repeat_incidents]],
                     threshold=threshold, row_totals=True, col_totals=False)
    rv, total = s.cells[0][0], (s.row_totals or (None,))[0]
    ri, ti = si.cells[0][0], (si.row_totals or (None,))[0]
    period = f"{r.first:%m/%Y}-{r.last:%m/%Y}"
    mean_ok = rv is not None
    Row = dict[str, object]
    summary: list[Row] = [
        {"key": "victims", "measure": f"{who} with an incident", "value": total, "period": period},
        {"key": "repeat_victims", "measure": f"repeat {who} (more than one incident)",
         "value": rv, "period": period},
        {"key": "pct_repeat", "measure": f"% repeat {who}", "value": dc.pct(rv, total),
         "period": period},
        {"key": "avg_previous",
         "measure": f"average previous incidents per repeat {who[:-1]}",
         "value": r.avg_previous if mean_ok else None, "period": period},
        {"key": "incidents", "measure": "incidents", "value": ti, "period": period},
        {"key": "repeat_incidents",
         "measure": f"repeat incidents (previous within {r.lookback_days} days)", "value": ri,
         "period": period},
        {"key": "pct_repeat_incidents", "measure": "% repeat incidents",
         "value": dc.pct(ri, ti), "period": period},
    ]
    m = [[row.repeat_victims, row.victims - row.repeat_victims] for row in r.series]
    ms = dc.suppress(m, threshold=threshold, row_totals=True, col_totals=False)
    mi = dc.suppress([[row.repeat_incidents, row.incidents - row.repeat_incidents]
                      for row in r.series], threshold=threshold, row_totals=True,
                     col_totals=False)
    monthly_ok = all(c[0] is not None for c in ms.cells)
    summary += [
        {"key": "monthly_victims", "measure": f"{who} a month (mean)",
         "value": r.monthly_victims
         if monthly_ok else None, "period": period},
        {"key": "monthly_repeat_victims", "measure": f"repeat {who} a month (mean)",
         "value": r.monthly_repeat_victims
         if monthly_ok else None, "period": period},
        {"key": "monthly_pct_repeat", "measure": f"% repeat {who} a month (pooled)",
         "value": r.monthly_pct_repeat
         if monthly_ok else None, "period": period},
        {"key": "monthly_avg_previous",
         "measure": f"previous incidents per repeat {who[:-1]} a month (pooled)",
         "value": r.monthly_avg_previous if monthly_ok else None, "period": period},
    ]
    series: list[Row] = []
    for i, row in enumerate(r.series):
        rep = ms.cells[i][0]
        vic = (ms.row_totals or ())[i]
        rinc = mi.cells[i][0]
        inc = (mi.row_totals or ())[i]
        series.append({"month": row.month, "incidents": inc, "victims": vic,
                       "repeat_victims": rep, "pct_repeat": dc.pct(rep, vic),
                       "avg_previous": row.avg_previous if rep is not None else None,
                       "repeat_incidents": rinc, "pct_repeat_incidents": dc.pct(rinc, inc)})
    notes = (dc.note([s, si, ms, mi], who), *r.notes)
    title = f"Repeat victimisation: {r.incident_type} by {r.by}, 12 months to {r.month:%m/%Y}"
    return (dc.Published(title, tuple(summary), notes),
            dc.Published("Monthly series", tuple(series), ()))


def publish_callers(r: RepeatCallers, threshold: int = dc.DEFAULT_THRESHOLD) -> dc.Published:
    s = dc.suppress([[row.repeat_callers, row.callers - row.repeat_callers] for row in r.rows],
                    threshold=threshold, row_totals=True, col_totals=False)
    rows: list[dict[str, object]] = []
    for i, row in enumerate(r.rows):
        rep, callers = s.cells[i][0], (s.row_totals or ())[i]
        rows.append({"period": row.period, "from": f"{row.first:%d/%m/%Y}",
                     "to": f"{row.last:%d/%m/%Y}", "callers": callers,
                     "repeat_callers": rep, "pct_repeat_callers": dc.pct(rep, callers, 0)})
    return dc.Published(
        f"% {r.incident_type} repeat callers by {r.period_days}-day period to "
        f"{r.end:%d/%m/%Y}", tuple(rows),
        (dc.note([s], "callers"),
         f"a repeat caller made {r.min_calls} or more calls in the period"
         + (f"; {r.without_key:,} call(s) without a caller id are left out"
            if r.without_key else "")))
