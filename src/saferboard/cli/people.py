"""People commands: ingest-partner (pseudonymised partner extracts), repeats, marac.

Every figure that describes people goes through disclosure control (measures/disclosure.py)
before it is printed: counts below --threshold are shown as '*', with a note saying how many
values were suppressed and why.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from saferboard import store
from saferboard.cli.common import (
    DbOption,
    Format,
    FormatOption,
    app,
    emit,
    err,
    out,
    parse_day,
    parse_month,
    store_for_import,
)
from saferboard.core.errors import InputError
from saferboard.core.pseudonym import ENV, load_key
from saferboard.measures import disclosure as dc
from saferboard.measures import marac as mr
from saferboard.measures import repeats as rp
from saferboard.measures.windows import shift
from saferboard.sources.partner import PartnerReport, ingest_partner

ThresholdOption = Annotated[int, typer.Option(
    "--threshold", min=1, help="Suppress counts of people below this (disclosure control)")]


class PartnerKind(StrEnum):
    incidents = "incidents"
    marac = "marac"
    cohort = "cohort"
    custody = "custody"
    offences = "offences"


class RepeatKind(StrEnum):
    incidents = "incidents"
    marac = "marac"
    cases = "cases"  # victims' incidents in the case register (docs/cases.md)


class RepeatBy(StrEnum):
    person = "person"
    location = "location"


def run_ingest_partner(db: Path | None, kind: str, path: Path, secret_file: Path | None,
                       source: str | None, replace: bool) -> PartnerReport:
    key = load_key(secret_file)  # refuse before the store is touched
    with store_for_import(db) as con:
        return ingest_partner(con, kind, path, key, source=source, replace=replace)


@app.command("ingest-partner")
def ingest_partner_cmd(
    kind: Annotated[PartnerKind, typer.Argument(help="incidents, marac, cohort, custody or "
                                                "offences")],
    path: Annotated[Path, typer.Argument(help="The extract: CSV (UTF-8) or XLSX (first "
                                         "sheet), headers as in docs/partner-templates.md")],
    secret_file: Annotated[Path | None, typer.Option(
        "--secret-file", help=f"The partnership's pseudonymisation secret (default: the file "
        f"named by ${ENV}); required")] = None,
    source: Annotated[str | None, typer.Option(
        "--source", help="Name of this extract, e.g. 'police DA' or 'council ASB' (default: "
        "the kind); one batch per kind and name")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Replace the extract already loaded under this kind and name")
    ] = False,
    db: DbOption = None,
) -> None:
    """Import a partner case extract, pseudonymising every person, address and case id.

    Ids are replaced by HMAC-SHA256 keyed pseudonyms on import, with a secret kept outside
    the database; raw ids are never stored, written or printed. A file is one batch of one
    kind, named by --source (default the kind). Re-import rule: the identical file again is
    skipped; the same content under another name is refused (it would double count); a
    different file under a name already loaded is refused unless --replace, which swaps the
    old extract for the new one in one transaction. A record another extract already holds
    (same incident or referral id; same offender and join date, custody start, or offence
    date and type) is refused. A bad file loads nothing and the error names the file, line
    and column.
    """
    report = run_ingest_partner(db, kind.value, path, secret_file, source, replace)
    name = report.path.replace("\\", "/").rsplit("/", 1)[-1]
    emit([{"file": name, "kind": report.kind, "source": report.source, "rows": report.rows,
           "status": report.status}], Format.table, title="Imported partner extract")
    if report.status == "replaced":
        out.print(f"Replaced the previous {report.kind} extract {report.source!r} "
                  f"({report.replaced_rows:,} rows).")
    if report.kind == "incidents" and not report.status.startswith("skipped"):
        for n, what in ((report.rows_without_person, "no person id"),
                        (report.rows_without_location, "no location id"),
                        (report.rows_without_coords, "no coordinates")):
            if n:
                out.print(f"{n:,} row(s) have {what}.")
    if report.ignored_columns:
        err.print("note: ignored column(s) not in the template: "
                  + ", ".join(repr(c) for c in report.ignored_columns), markup=False,
                  highlight=False)
    if report.status != "skipped (identical)":
        out.print("Identifiers were pseudonymised; raw ids were not stored.")


def _shown(rows: tuple[dict[str, object], ...], fmt: Format) -> list[dict[str, Any]]:
    """Suppressed values (None) as the mark in tables; null in JSON, empty in CSV."""
    if fmt is not Format.table:
        return [dict(r) for r in rows]
    shown = []
    for r in rows:
        hidden = any(v is None for k, v in r.items() if not k.startswith(("pct", "avg")))
        shown.append({k: v if v is not None else
                      dc.MARK if hidden or not k.startswith(("pct", "avg")) else "-"
                      for k, v in r.items()})
    return shown


def _notes(notes: tuple[str, ...], fmt: Format) -> None:
    for n in notes:
        if fmt is Format.table:
            out.print(n, markup=False, highlight=False, soft_wrap=True)
        elif fmt is Format.csv:
            err.print(f"note: {n}", markup=False, highlight=False, soft_wrap=True)


def _json(payload: dict[str, Any]) -> None:
    def default(v: object) -> object:
        if isinstance(v, date):
            return v.isoformat()
        raise TypeError(type(v).__name__)

    sys.stdout.write(json.dumps(payload, indent=2, default=default) + "\n")


def _open(db: Path | None) -> Any:
    return store.connect(db, read_only=True)


@app.command("repeats")
def repeats_cmd(
    incident_type: Annotated[str | None, typer.Option(
        "--type", help="Incident type as in the extract, any case, e.g. 'domestic abuse', "
        "'asb call', 'residential burglary' (required for --kind incidents)")] = None,
    month: Annotated[str | None, typer.Option(
        "--month", help="Last month of the 12-month window, YYYY-MM (default: the latest "
        "month with incidents of the type)")] = None,
    kind: Annotated[RepeatKind, typer.Option(
        "--kind", help="incidents (partner incidents), marac (referrals, by victim) or cases "
        "(victims' incidents in the case register, by person: needs the case key)")
    ] = RepeatKind.incidents,
    by: Annotated[RepeatBy, typer.Option(
        "--by", help="Key a repeat by the person (victim/caller) or the location (address: "
        "repeat burglary)")] = RepeatBy.person,
    months: Annotated[int, typer.Option(
        "--months", min=1, max=120, help="Months in the monthly series")] = 12,
    lookback_days: Annotated[int, typer.Option(
        "--lookback-days", min=1, help="An incident's previous incidents are those in this "
        "many days up to and including its date (365: its date and the 364 before)")] = 365,
    four_weekly: Annotated[bool, typer.Option(
        "--four-weekly", help="Instead: % repeat callers per 4-week period (seed 003's ASB "
        "table), periods ending on --end")] = False,
    periods: Annotated[int, typer.Option("--periods", min=1, max=52,
                                         help="With --four-weekly: number of periods")] = 6,
    end: Annotated[str | None, typer.Option(
        "--end", help="With --four-weekly: last day of period 1, YYYY-MM-DD (default: the "
        "last Sunday on or before the end of --month)")] = None,
    threshold: ThresholdOption = dc.DEFAULT_THRESHOLD,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
    case_type: Annotated[str, typer.Option(
        "--case-type", help="With --kind cases: the case type (default asb)")] = "asb",
    case_key_file: Annotated[Path | None, typer.Option(
        "--key-file", help="With --kind cases: the case register key (default: "
        "$SAFERBOARD_CASE_KEY_FILE)")] = None,
    cases_db: Annotated[Path | None, typer.Option(
        "--cases-db", help="With --kind cases: the case register (default: "
        "$SAFERBOARD_CASES_DB, else ./saferboard-cases.sqlite)")] = None,
) -> None:
    """Repeat victimisation: victims in the 12 months to --month, repeat victims (more than
    one incident), % repeat, average previous incidents per repeat victim, and the monthly
    series (seed 001); --by location gives repeat burglary by address (seed 003);
    --four-weekly gives % repeat callers per 4-week period (seed 003's ASB table).

    Counts below --threshold are suppressed. csv prints the monthly series (or the periods);
    json prints everything. Definitions: docs/people.md.
    """
    if kind is RepeatKind.incidents and not incident_type:
        raise typer.BadParameter("give the incident type, e.g. --type 'domestic abuse'",
                                 param_hint="--type")
    if kind is RepeatKind.cases:
        from saferboard.cli.problems import case_victim_incidents

        if by is not RepeatBy.person:
            raise typer.BadParameter("the case register keys repeats by person",
                                     param_hint="--by")
        inc = case_victim_incidents(case_key_file, cases_db, case_type)
    else:
        con = _open(db)
        try:
            inc = rp.load_incidents(con, incident_type or "", by=by.value,
                                    source=kind.value)
        finally:
            con.close()
    ref = parse_month(month, "--month") or rp.latest_month(inc)
    if four_weekly:
        last = parse_day(end, "--end") if end else rp.last_sunday(ref)
        calls = rp.repeat_callers(inc, last, periods=periods)
        pub = rp.publish_callers(calls, threshold)
        if fmt is Format.json:
            _json({"title": pub.title, "periods": list(pub.rows), "threshold": threshold,
                   "notes": list(pub.notes)})
            return
        emit(_shown(pub.rows, fmt), fmt, title=pub.title)
        _notes(pub.notes, fmt)
        return
    result = rp.repeat_victimisation(inc, ref, series_months=months,
                                     lookback_days=lookback_days)
    summary, series = rp.publish(result, threshold)
    if fmt is Format.json:
        _json({"title": summary.title, "incident_type": result.incident_type,
               "by": result.by, "month": f"{result.month:%Y-%m}",
               "first": result.first, "last": result.last,
               "summary": {str(r["key"]): r["value"] for r in summary.rows},
               "series": [{**r, "month": f"{r['month']:%Y-%m}"} for r in series.rows],
               "threshold": threshold, "notes": list(summary.notes)})
        return
    if fmt is Format.csv:
        emit(_shown(series.rows, fmt), fmt)
        _notes(summary.notes, fmt)
        return
    emit(_shown(tuple({k: r[k] for k in ("measure", "value", "period")}
                      for r in summary.rows), fmt), fmt, title=summary.title)
    emit(_shown(series.rows, fmt), fmt, title=series.title)
    _notes(summary.notes, fmt)


@app.command("marac")
def marac_cmd(
    start: Annotated[str | None, typer.Option(
        "--from", help="First month of the period, YYYY-MM (default: 11 months before --to)")
    ] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Last month of the period, YYYY-MM (default: the latest referral's "
        "month)")] = None,
    quarters: Annotated[int, typer.Option(
        "--quarters", min=1, max=80, help="Financial-year quarters to show, ending with the "
        "one holding --to")] = 12,
    lookback_days: Annotated[int, typer.Option(
        "--lookback-days", min=1, help="A repeat case has an earlier referral of the same "
        "victim within this many days")] = 365,
    threshold: ThresholdOption = dc.DEFAULT_THRESHOLD,
    db: DbOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """MARAC demand and caseload profile (seed 001): cases per financial quarter, repeat
    cases (referred again within 12 months of a previous referral), % repeat, referral
    sources, and the victim and perpetrator profile for the period --from..--to.

    Counts below --threshold are suppressed. csv prints the quarters; json everything.
    """
    con = _open(db)
    try:
        ref = mr.load_referrals(con)
    finally:
        con.close()
    last = parse_month(to, "--to") or mr.latest_month(ref)
    first = parse_month(start, "--from") or shift(last, -11)
    if first > last:
        raise InputError("--from is after --to", column="--from")
    result = mr.marac(ref, first, last, quarters=quarters, lookback_days=lookback_days)
    summary, qs, sources, profile = mr.publish(result, threshold)
    if fmt is Format.json:
        _json({"title": summary.title, "first": result.first, "last": result.last,
               "summary": {str(r["key"]): r["value"] for r in summary.rows},
               "quarters": list(qs.rows), "sources": list(sources.rows),
               "profile": list(profile.rows), "threshold": threshold,
               "notes": list(summary.notes)})
        return
    if fmt is Format.csv:
        emit(_shown(qs.rows, fmt), fmt)
        _notes(summary.notes, fmt)
        return
    emit(_shown(tuple({k: r[k] for k in ("measure", "value")} for r in summary.rows), fmt),
         fmt, title=summary.title)
    for t in (qs, sources, profile):
        emit(_shown(t.rows, fmt), fmt, title=t.title)
    _notes(summary.notes, fmt)
