"""MARAC demand and caseload profile (seed 001, "DVA MARAC - Demand levels" and "Profile of
caseload"): cases per quarter, repeat cases, referral sources, victim and perpetrator profile.

Definitions (docs/people.md):

* A case is one referral (one row of the MARAC extract).
* A repeat case is a referral whose victim had an earlier referral within `lookback_days`
  (365) days before it (on or after the date 365 days earlier; an earlier referral on the
  same day counts, taken in reference order). Earlier referrals outside the reported period
  still count, so the first quarters of an extract understate repeats (a note says so).
* Quarters are financial-year quarters (Q1 = April-June), labelled like "2016/17 Q3".
* The profile counts cases in the period, by victim sex, age band and disability, and by
  perpetrator sex, age band, mental health and substance misuse; "not recorded" where empty.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import numpy.typing as npt

from saferboard.core.dates import month_index
from saferboard.core.errors import InputError
from saferboard.core.quarters import year_label
from saferboard.measures import disclosure as dc
from saferboard.measures.windows import shift

NOT_RECORDED = "not recorded"
AGE_BANDS = ((0, 18, "under 19"), (19, 30, "19-30"), (31, 50, "31-50"), (51, 64, "51-64"),
             (65, 200, "65 and over"))
PROFILE = (
    ("victim", "sex", "victim_sex"),
    ("victim", "age", "victim_age"),
    ("victim", "disability", "victim_disability"),
    ("perpetrator", "sex", "perpetrator_sex"),
    ("perpetrator", "age", "perpetrator_age"),
    ("perpetrator", "mental health", "perpetrator_mental_health"),
    ("perpetrator", "substance misuse", "perpetrator_substance_misuse"),
)
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Referrals:
    """MARAC referrals, sorted by date: the victim as an integer key, the day number, and the
    profile columns (None = not recorded)."""

    victim: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    columns: dict[str, tuple[object, ...]]  # referral_source and the PROFILE columns


def load_referrals(con: duckdb.DuckDBPyConnection) -> Referrals:
    cols = ["referral_source", *(c for _, _, c in PROFILE)]
    rows = con.execute(
        "SELECT dense_rank() OVER (ORDER BY victim) - 1, "
        "date_diff('day', DATE '1970-01-01', referral_date), " + ", ".join(cols)
        + " FROM partner_marac ORDER BY referral_date, referral_ref").fetchall()
    if not rows:
        raise InputError("no MARAC referrals loaded; import them with "
                         "'saferboard ingest-partner marac FILE'")
    return Referrals(np.array([r[0] for r in rows], dtype=np.int64),
                     np.array([r[1] for r in rows], dtype=np.int64),
                     {c: tuple(r[i + 2] for r in rows) for i, c in enumerate(cols)})


def latest_month(ref: Referrals) -> date:
    """The month of the latest referral."""
    return (EPOCH + timedelta(days=int(ref.day.max()))).replace(day=1)


def repeat_flags(victim: npt.NDArray[np.int64], day: npt.NDArray[np.int64],
                 lookback_days: int = 365) -> npt.NDArray[np.bool_]:
    """For each referral (in the given order), whether the same victim has an earlier one
    within `lookback_days` days before it."""
    n = len(victim)
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((np.arange(n), day, victim))
    v, d = victim[order], day[order]
    same = np.zeros(n, dtype=bool)
    same[1:] = (v[1:] == v[:-1]) & (d[1:] - d[:-1] <= lookback_days)
    out = np.zeros(n, dtype=bool)
    out[order] = same
    return out


def fy_quarter(d: date) -> tuple[int, int]:
    """(financial year start, quarter 1-4): April-June is Q1."""
    fy = d.year if d.month >= 4 else d.year - 1
    return fy, (d.month - 4) % 12 // 3 + 1


def quarter_label(fy: int, q: int) -> str:
    return f"{year_label(fy)} Q{q}"


@dataclass(frozen=True)
class QuarterRow:
    label: str
    first: date
    last: date
    cases: int
    repeat_cases: int
    pct_repeat: float | None
    complete: bool  # the data reaches the quarter's last month


@dataclass(frozen=True)
class Marac:
    first: date  # the period's first and last day
    last: date
    cases: int
    repeat_cases: int
    pct_repeat: float | None
    victims: int
    quarters: tuple[QuarterRow, ...]
    sources: tuple[tuple[str, int], ...]  # most cases first
    profile: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...]  # (who, what, counts)
    lookback_days: int
    data_first: date
    notes: tuple[str, ...]


def _band(age: object) -> str:
    if age is None:
        return NOT_RECORDED
    a = int(str(age))
    return next(label for lo, hi, label in AGE_BANDS if lo <= a <= hi)


def _counts(values: Sequence[object], order: Sequence[str] = ()) -> tuple[tuple[str, int], ...]:
    c = Counter(NOT_RECORDED if v is None else str(v) for v in values)
    known = [k for k in order if k in c]
    rest = sorted((k for k in c if k not in order and k != NOT_RECORDED),
                  key=lambda k: (-c[k], k))
    tail = [NOT_RECORDED] if NOT_RECORDED in c else []
    return tuple((k, c[k]) for k in [*known, *rest, *tail])


def marac(ref: Referrals, first_month: date, last_month: date, *, quarters: int = 12,
          lookback_days: int = 365) -> Marac:
    """MARAC demand and profile for the months first_month..last_month (module docstring)."""
    if last_month < first_month:
        raise InputError("the start is after the end", param="start")
    if quarters < 1:
        raise InputError("at least one quarter", param="quarters")
    first = first_month.replace(day=1)
    last = shift(last_month.replace(day=1), 1) - timedelta(days=1)
    rep = repeat_flags(ref.victim, ref.day, lookback_days)
    d0, d1 = (first - EPOCH).days, (last - EPOCH).days
    sel = (ref.day >= d0) & (ref.day <= d1)
    idx = np.flatnonzero(sel)
    data_first = EPOCH + timedelta(days=int(ref.day.min()))
    data_last = EPOCH + timedelta(days=int(ref.day.max()))
    if not sel.any():
        raise InputError(f"no referrals between {first:%d/%m/%Y} and {last:%d/%m/%Y}; the "
                         f"referrals loaded run from {data_first:%d/%m/%Y} to "
                         f"{data_last:%d/%m/%Y}", param="end")

    # Quarters: the `quarters` financial quarters ending with the one holding last_month.
    fy, q = fy_quarter(last_month)
    end_q = fy * 4 + q - 1
    rows = []
    for k in range(end_q - quarters + 1, end_q + 1):
        qfy, qq = divmod(k, 4)
        qfirst = shift(date(qfy, 4, 1), 3 * qq)
        qlast = shift(qfirst, 3) - timedelta(days=1)
        if qlast < data_first:
            continue
        m = (ref.day >= (qfirst - EPOCH).days) & (ref.day <= (qlast - EPOCH).days)
        cases, repeats = int(m.sum()), int((m & rep).sum())
        rows.append(QuarterRow(quarter_label(qfy, qq + 1), qfirst, qlast, cases, repeats,
                               round(100 * repeats / cases, 1) if cases else None,
                               month_index(data_last) >= month_index(qlast)))
    sources = _counts([ref.columns["referral_source"][i] for i in idx])
    profile = []
    for who, what, col in PROFILE:
        values = [ref.columns[col][i] for i in idx]
        if what == "age":
            profile.append((who, "age", _counts([_band(v) for v in values],
                                                [b for _, _, b in AGE_BANDS])))
        else:
            profile.append((who, what, _counts(values, ["female", "male", "other", "yes",
                                                         "no", "none"])))
    notes = []
    earliest = min([first, *(r.first for r in rows)])
    if (earliest - data_first).days < lookback_days:
        notes.append(f"the referrals begin {data_first:%d/%m/%Y}: a repeat needs an earlier "
                     f"referral within {lookback_days} days, so repeats are understated until "
                     f"{data_first + timedelta(days=lookback_days):%d/%m/%Y}")
    partial = [r.label for r in rows if not r.complete]
    if partial:
        notes.append(f"incomplete quarter(s) (the data ends {data_last:%d/%m/%Y}): "
                     + ", ".join(partial))
    cases = int(sel.sum())
    repeats = int((sel & rep).sum())
    return Marac(first, last, cases, repeats,
                 round(100 * repeats / cases, 1) if cases else None,
                 len(np.unique(ref.victim[sel])), tuple(rows), sources, tuple(profile),
                 lookback_days, data_first, tuple(notes))


def publish(m: Marac, threshold: int = dc.DEFAULT_THRESHOLD) -> tuple[dc.Published, ...]:
    """Summary, quarters, referral sources and profile with small counts suppressed."""
    period = f"{m.first:%d/%m/%Y}-{m.last:%d/%m/%Y}"
    s = dc.suppress([[m.repeat_cases, m.cases - m.repeat_cases]], threshold=threshold,
                    row_totals=True, col_totals=False)
    cases = (s.row_totals or (None,))[0]
    rep = s.cells[0][0]
    vs = dc.suppress_list([m.victims], threshold=threshold, total=False)
    summary = dc.Published(f"MARAC cases {period}", (
        {"key": "cases", "measure": "cases (referrals)", "value": cases},
        {"key": "repeat_cases",
         "measure": f"repeat cases (earlier referral within {m.lookback_days} days)",
         "value": rep},
        {"key": "pct_repeat", "measure": "% repeat cases", "value": dc.pct(rep, cases)},
        {"key": "victims", "measure": "victims", "value": vs.cells[0][0]},
    ))
    qs = dc.suppress([[r.repeat_cases, r.cases - r.repeat_cases] for r in m.quarters],
                     threshold=threshold) if m.quarters else None
    qrows: list[dict[str, object]] = []
    for i, r in enumerate(m.quarters):
        assert qs is not None
        qc, qr = (qs.row_totals or ())[i], qs.cells[i][0]
        qrows.append({"quarter": r.label + ("" if r.complete else " (part)"),
                      "cases": qc, "repeat_cases": qr, "pct_repeat": dc.pct(qr, qc)})
    if qs is not None and m.quarters:
        qrows.append({"quarter": "all quarters shown", "cases": qs.grand_total,
                      "repeat_cases": (qs.col_totals or (None,))[0],
                      "pct_repeat": dc.pct((qs.col_totals or (None,))[0], qs.grand_total)})
    src = dc.suppress_list([n for _, n in m.sources], threshold=threshold)
    srows: list[dict[str, object]] = [
        {"referral source": name, "cases": src.cells[i][0],
         "pct": dc.pct(src.cells[i][0], (src.col_totals or (None,))[0])}
        for i, (name, _) in enumerate(m.sources)]
    tables: list[dc.Suppressed] = [s, vs, src, *([qs] if qs else [])]
    prows: list[dict[str, object]] = []
    for who, what, counts in m.profile:
        t = dc.suppress_list([n for _, n in counts], threshold=threshold)
        tables.append(t)
        total = (t.col_totals or (None,))[0]
        for i, (value, _) in enumerate(counts):
            prows.append({"who": who, "characteristic": what, "value": value,
                          "cases": t.cells[i][0], "pct": dc.pct(t.cells[i][0], total)})
    notes = (dc.note(tables, "cases"), *m.notes)
    return (dc.Published(summary.title, summary.rows, notes),
            dc.Published("Cases per quarter (financial year)", tuple(qrows)),
            dc.Published(f"Referral sources {period}", tuple(srows)),
            dc.Published(f"Victim and perpetrator profile {period}", tuple(prows)))
