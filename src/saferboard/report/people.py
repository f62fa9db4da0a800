"""The pack's "Victims and offenders" pages for victims: domestic abuse repeat victimisation,
ASB repeat callers, repeat burglary by address, and MARAC demand and profile. Template-ready
rows built from the measures with disclosure control applied (suppressed values are the
disclosure mark); a section the store has no data for is None, with a note saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import duckdb

from saferboard.core.errors import InputError
from saferboard.measures import disclosure as dc
from saferboard.measures import marac as mr
from saferboard.measures import repeats as rp
from saferboard.measures.windows import shift

# Incident types (as stored, lower case) each section reads; override with `types`.
# The sections people_section fills (each None when its data are absent).
PEOPLE_TABLES = ("domestic_abuse", "asb_callers", "burglary", "marac")
DEFAULT_TYPES = {"domestic_abuse": "domestic abuse", "asb": "asb call",
                 "burglary": "residential burglary"}


def _cell(value: object) -> object:
    if value is None:
        return dc.MARK
    if isinstance(value, date):
        return f"{value:%b %Y}"
    return value


def _rows(rows: tuple[dict[str, object], ...]) -> list[dict[str, object]]:
    out = []
    for r in rows:
        hidden = any(v is None for k, v in r.items() if not k.startswith(("pct", "avg")))
        out.append({k: _cell(v) if v is not None or hidden or not k.startswith(("pct", "avg"))
                    else "-" for k, v in r.items()})
    return out


def _incidents(con: duckdb.DuckDBPyConnection, kind: str, by: str
               ) -> tuple[rp.Incidents | None, str | None]:
    try:
        inc = rp.load_incidents(con, kind, by=by)
    except InputError:
        return None, f"no '{kind}' incidents in the store"
    if not len(inc.day):
        return None, f"no '{kind}' incidents with a {by} id in the store"
    return inc, None


def _domestic_abuse(inc: rp.Incidents, month: date, threshold: int,
                    notes: list[str]) -> dict[str, Any]:
    end = min(month, rp.latest_month(inc))
    if end < month:
        notes.append(f"Domestic abuse incidents end {end:%b %Y}; the page covers the 12 "
                     f"months to then.")
    r = rp.repeat_victimisation(inc, end)
    summary, series = rp.publish(r, threshold)
    return {"title": summary.title,
            "summary": [{"measure": row["measure"], "value": _cell(row["value"])}
                        for row in summary.rows],
            "series": _rows(series.rows), "notes": list(summary.notes)}


def _asb_callers(inc: rp.Incidents, month: date, threshold: int,
                 notes: list[str]) -> dict[str, Any]:
    end_month = min(month, rp.latest_month(inc))
    calls = rp.publish_callers(rp.repeat_callers(inc, rp.last_sunday(end_month)), threshold)
    return {"title": calls.title, "rows": _rows(calls.rows), "notes": list(calls.notes)}


def _burglary(inc: rp.Incidents, month: date, threshold: int,
              notes: list[str]) -> dict[str, Any]:
    end = min(month, rp.latest_month(inc))
    rows: list[dict[str, object]] = []
    tables = []
    extra: list[str] = []
    for ref_month in (shift(end, -12), end):
        label = f"12 months to {ref_month:%b %Y}"
        try:
            res = rp.repeat_victimisation(inc, ref_month, series_months=1)
        except InputError:
            rows.append({"period": label, "burglaries": "-", "repeat_burglaries": "-",
                         "pct_repeat": "-"})
            extra.append(f"no burglaries in the {label.lower()}")
            continue
        extra += [n for n in res.notes if n not in extra]
        s = dc.suppress([[res.repeat_incidents, res.incidents - res.repeat_incidents]],
                        threshold=threshold, row_totals=True, col_totals=False)
        tables.append(s)
        rep, total = s.cells[0][0], (s.row_totals or (None,))[0]
        rows += _rows(({"period": label, "burglaries": total, "repeat_burglaries": rep,
                        "pct_repeat": dc.pct(rep, total)},))
    return {"title": "Repeat residential burglary (same address within 365 days)",
            "rows": rows, "notes": [dc.note(tables, "burglaries"), *extra]}


# (section, incident type key, keyed by, the section's name in a note, its rows)
_INCIDENT_SECTIONS = (
    ("domestic_abuse", "domestic_abuse", "person", "Domestic abuse repeat victimisation",
     _domestic_abuse),
    ("asb_callers", "asb", "person", "ASB repeat callers", _asb_callers),
    ("burglary", "burglary", "location", "Repeat burglary", _burglary),
)


def people_section(con: duckdb.DuckDBPyConnection, month: date,
                   threshold: int = dc.DEFAULT_THRESHOLD,
                   types: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Template-ready rows for the victim pages of the pack for the 12 months to `month`
    (or to the latest month of a source's data, when earlier; a note says so)."""
    names = {**DEFAULT_TYPES, **(types or {})}
    month = month.replace(day=1)
    notes: list[str] = []
    out: dict[str, Any] = {"month": f"{month:%b %Y}", "threshold": threshold}
    for section, kind, by, title, rows in _INCIDENT_SECTIONS:
        inc, why = _incidents(con, names[kind], by)
        if inc is None:
            out[section] = None
            notes.append(f"{title}: {why}.")
        else:
            out[section] = rows(inc, month, threshold, notes)

    try:
        ref = mr.load_referrals(con)
    except InputError:
        out["marac"] = None
        notes.append("MARAC: no referrals in the store.")
    else:
        last = min(month, mr.latest_month(ref))
        m = mr.marac(ref, shift(last, -11), last)
        summary, quarters, sources, profile = mr.publish(m, threshold)
        out["marac"] = {
            "title": summary.title,
            "summary": [{"measure": row["measure"], "value": _cell(row["value"])}
                        for row in summary.rows],
            "quarters": _rows(quarters.rows), "sources": _rows(sources.rows),
            "profile": _rows(profile.rows), "notes": list(summary.notes)}
    out["notes"] = notes
    return out
