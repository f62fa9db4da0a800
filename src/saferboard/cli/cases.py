"""Case register commands: ingest-cases and `saferboard cases ...` (stats, due, agenda, show,
search, assess, purge, sar). docs/cases.md describes the register and its protection.

Every command needs the case key (--key-file or $SAFERBOARD_CASE_KEY_FILE) and refuses to
start without it, before the database is touched. Each command is one transaction: its
changes and their audit rows are committed together or not at all. Output never contains a
personal value except from `cases show` and `cases sar`, which are audited.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from saferboard.cli.common import (
    CasesDbOption,
    Format,
    MatrixOption,
    app,
    emit,
    login_name,
    out,
    parse_day,
)
from saferboard.core.casekeys import ENV as KEY_ENV
from saferboard.core.casekeys import CaseKeys, load_case_key
from saferboard.core.errors import InputError
from saferboard.core.riskmatrix import load_matrix
from saferboard.core.text import check_text
from saferboard.measures import cases as mc
from saferboard.measures.problem_assessment import ProblemFacts
from saferboard.sources import cases as read_cases
from saferboard.sources.cases import KINDS, read_case_file
from saferboard.store import cases as cs
from saferboard.store import problems as problem_store

cases_app = typer.Typer(help="The ASB case register: reports, meeting agenda, search, "
                        "retention purge and subject access (docs/cases.md).",
                        no_args_is_help=True)
app.add_typer(cases_app, name="cases")

KeyFileOption = Annotated[Path | None, typer.Option(
    "--key-file", help=f"The case register key: one line of at least 32 random characters "
    f"(default: the file named by ${KEY_ENV}); required")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor", help="Name written to the audit log (default: the login name)")]


class CaseKind(StrEnum):
    cases = "cases"
    incidents = "incidents"
    reviews = "reviews"
    case_reviews = "case_reviews"


assert tuple(k.value for k in CaseKind) == KINDS  # one list of kinds, kept in sources


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


class AgendaFormat(StrEnum):
    html = "html"
    json = "json"
    pdf = "pdf"


def _actor(actor: str | None) -> str:
    return actor or login_name()


@contextmanager
def register(db: Path | None, key_file: Path | None, *,
             create: bool = False) -> Iterator[tuple[sqlite3.Connection, CaseKeys]]:
    """The key (refused first, before any file is created), then the database, then one
    transaction. Only an import may create the database (a mistyped --cases-db must not
    report an empty register as zero cases); a database this command created is removed
    again if the command fails, so a failed first import leaves nothing behind."""
    keys = load_case_key(key_file)
    path = cs.resolve_path(db)
    existed = path.exists()
    if not existed and not create:
        raise InputError("no case register here; import cases first with saferboard "
                         "ingest-cases cases FILE (or give --cases-db / $SAFERBOARD_CASES_DB)",
                         path=path)
    try:
        con = cs.connect(path, keys)
        try:
            with cs.transaction(con):
                yield con, keys
        finally:
            con.close()
    except BaseException:
        if not existed:
            for p in (path, path.with_name(path.name + "-wal"),
                      path.with_name(path.name + "-shm")):
                p.unlink(missing_ok=True)
        raise


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


@app.command("ingest-cases")
def ingest_cases_cmd(
    kind: Annotated[CaseKind, typer.Argument(help="cases, incidents, reviews or case_reviews")],
    path: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX (first sheet) with the "
                                         "kind's headers (docs/cases.md)")],
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Import a case-register spreadsheet: names, addresses, dates of birth, contacts,
    descriptions and notes are encrypted before they are stored.

    The whole file is checked first; a bad cell loads nothing and the error names the file,
    line and column without quoting the cell. Incidents, reviews and Case Review applications
    must name a case already in the register. The identical file imported again is skipped.
    """
    load_case_key(key_file)  # no key, no work: refused before the file is even read
    parsed = read_case_file(kind.value, path)
    with register(db, key_file, create=True) as (con, keys):
        report = read_cases.import_file(con, keys, parsed, _actor(actor))
    emit([{"file": path.name, "kind": report.kind, "rows": report.rows, "cases": report.cases,
           "status": "skipped (identical file already imported)" if report.skipped
           else "imported"}], Format.table, title="Imported case register file")


@cases_app.command("stats")
def stats_cmd(
    year: Annotated[str, typer.Option("--year", help="Financial year of the date received, "
                                      "e.g. 2024/25")],
    fmt: Annotated[TableOrJson, typer.Option("--format", help="Output format")] =
    TableOrJson.table,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    matrix: MatrixOption = None,
) -> None:
    """The ASB Case Review figures councils publish each year (Anti-social Behaviour, Crime
    and Policing Act 2014 s.104): applications received in the financial year, how many did
    not meet the threshold, reviews carried out and reviews that made recommendations."""
    settings = load_matrix(matrix)
    try:
        mc.financial_year(year)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--year") from None
    with register(db, key_file) as (con, _):
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
    result = mc.case_review_year(apps, year, min_incidents=settings.min_incidents,
                                 months=settings.months)
    if fmt is TableOrJson.json:
        _json(asdict(result))
        return
    emit([{"year": result.year, "applications": result.applications,
           "threshold_not_met": result.threshold_not_met,
           "reviews_carried_out": result.reviews_carried_out,
           "reviews_with_recommendations": result.reviews_with_recommendations}],
         Format.table, title="ASB Case Review (community trigger)")
    out.print(f"Threshold: at least {result.min_incidents} incidents in the {result.months} "
              "calendar months up to and including the date received.")


@cases_app.command("due")
def due_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    fmt: Annotated[TableOrJson, typer.Option("--format", help="Output format")] =
    TableOrJson.table,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    matrix: MatrixOption = None,
) -> None:
    """Open cases whose next review is due on or before --as-of: the latest review (else the
    opening date) plus the interval for the case's current risk level."""
    day = parse_day(as_of, "--as-of")
    settings = load_matrix(matrix)
    with register(db, key_file) as (con, _):
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con, open_on=day)]
    rows = [{"case_ref": d.case_ref, "risk_level": d.risk_level, "due": d.due.isoformat(),
             "overdue_days": d.overdue_days}
            for d in mc.due_reviews(facts, day, settings.review_days)]
    if fmt is TableOrJson.json:
        _json(rows)
        return
    emit(rows, Format.table, title=f"Reviews due on or before {day.isoformat()}",
         columns=["case_ref", "risk_level", "due", "overdue_days"])


AGENDA_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Problem-solving meeting {{ a.as_of }}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:
collapse}td,th{border:1px solid #999;padding:.2em .6em;text-align:left}</style></head><body>
<h1>Problem-solving meeting: {{ a.as_of }}</h1>
<p>Open cases: {% for lvl, n in a.open_by_level.items() %}{{ lvl }} {{ n }}{% if not loop.last
%}, {% endif %}{% endfor %}.</p>
<h2>Reviews due or overdue ({{ a.due|length }})</h2>
{% if a.due %}<table><tr><th>case</th><th>risk</th><th>due</th><th>days overdue</th></tr>
{% for d in a.due %}<tr><td>{{ d.case_ref }}</td><td>{{ d.risk_level }}</td><td>{{ d.due }}</td>
<td>{{ d.overdue_days }}</td></tr>{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
<h2>New high-risk cases (opened in the last {{ a.new_days }} days)</h2>
{% if a.new_high_risk %}<ul>{% for c in a.new_high_risk %}<li>{{ c.case_ref }}, opened
{{ c.opened }}</li>{% endfor %}</ul>{% else %}<p>None.</p>{% endif %}
<h2>ASB Case Review applications awaiting review</h2>
{% if a.open_applications %}<table><tr><th>application</th><th>case</th><th>received</th>
<th>threshold</th><th>days open</th></tr>{% for o in a.open_applications %}<tr>
<td>{{ o.application_ref }}</td><td>{{ o.case_ref }}</td><td>{{ o.received }}</td>
<td>{{ "met" if o.threshold_met else "not met" }}</td><td>{{ o.days_open }}</td></tr>
{% endfor %}</table>{% else %}<p>None.</p>{% endif %}
<h2>Problems by SARA stage</h2>
{% for stage, items in a.problems_by_stage.items() %}<h3>{{ stage|capitalize }}
({{ items|length }})</h3>{% if items %}<table><tr><th>problem</th><th>since</th><th>cases</th>
<th>places</th><th>responses</th></tr>{% for p in items %}<tr><td>{{ p.problem_ref }}</td>
<td>{{ p.since }}</td><td>{{ p.cases }}</td><td>{{ p.places }}</td><td>{{ p.responses }}</td>
</tr>{% endfor %}</table>{% else %}<p>None.</p>{% endif %}{% endfor %}
<p><small>Case and problem references only: open a case in saferboard for its details
(audited).</small></p>
</body></html>
"""


def _agenda_json(a: mc.Agenda) -> dict[str, Any]:
    return {
        "as_of": a.as_of.isoformat(), "open_by_level": a.open_by_level,
        "due": [{"case_ref": d.case_ref, "risk_level": d.risk_level,
                 "due": d.due.isoformat(), "overdue_days": d.overdue_days} for d in a.due],
        "new_high_risk": [{"case_ref": c.case_ref, "opened": c.opened.isoformat()}
                          for c in a.new_high_risk],
        "new_days": a.new_days,
        "open_applications": [{"application_ref": o.application_ref, "case_ref": o.case_ref,
                               "received": o.received.isoformat(),
                               "threshold_met": o.threshold_met, "days_open": o.days_open}
                              for o in a.open_applications],
        "problems_by_stage": {stage: [{"problem_ref": p.problem_ref, "since":
                                       p.since.isoformat(), "cases": p.cases,
                                       "places": p.places, "responses": p.responses}
                                      for p in items]
                              for stage, items in a.problems_by_stage.items()},
    }


@cases_app.command("agenda")
def agenda_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="Meeting date, YYYY-MM-DD")],
    fmt: Annotated[AgendaFormat, typer.Option("--format", help="Output format (pdf needs "
                                              "--out)")] = AgendaFormat.html,
    new_days: Annotated[int, typer.Option("--new-days", min=1, help="A case opened this many "
                                          "days up to --as-of is new")] = 14,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write here instead of "
                                                  "stdout")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    matrix: MatrixOption = None,
) -> None:
    """The bi-weekly problem-solving meeting's agenda: reviews due or overdue, new high-risk
    cases, Case Review applications awaiting review, open cases by risk level and SARA
    problems by stage (case and problem references only, no personal data)."""
    day = parse_day(as_of, "--as-of")
    if fmt is AgendaFormat.pdf and out_file is None:
        raise typer.BadParameter("--format pdf writes a file: give --out FILE",
                                 param_hint="--out")
    settings = load_matrix(matrix)
    with register(db, key_file) as (con, _):
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con)]
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
        problems = [ProblemFacts(*p) for p in problem_store.problem_facts(con)]
    result = mc.agenda(facts, apps, day, settings.review_days, new_days=new_days,
                       min_incidents=settings.min_incidents, months=settings.months,
                       problems=problems)
    if fmt is AgendaFormat.json:
        text = json.dumps(_agenda_json(result), indent=2) + "\n"
    else:
        from jinja2 import Environment

        text = Environment(autoescape=True).from_string(AGENDA_HTML).render(a=result)
    if fmt is AgendaFormat.pdf:
        from weasyprint import HTML

        assert out_file is not None  # checked above, before the register is opened
        out_file.write_bytes(HTML(string=text).write_pdf())
        out.print(f"Agenda written to {out_file}")
    elif out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"Agenda written to {out_file}")


@cases_app.command("show")
def show_cmd(
    case_ref: Annotated[str, typer.Argument(help="The case reference")],
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Everything held on one case as JSON, decrypted (audited as a view)."""
    with register(db, key_file) as (con, keys):
        body = cs.view_case(con, keys, case_ref, _actor(actor))
    _json(body)


@cases_app.command("search")
def search_cmd(
    name: Annotated[str | None, typer.Option("--name", help="Exact name (case, spacing and "
                                             "punctuation ignored)")] = None,
    address: Annotated[str | None, typer.Option("--address", help="Exact address (case, "
                                                "spacing and punctuation ignored)")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Cases holding a person with this exact name and/or address, through the keyed blind
    index (no partial matches; the values searched are not stored or logged)."""
    with register(db, key_file) as (con, keys):
        found = cs.search(con, keys, _actor(actor), name=name, address=address)
    emit(found, Format.table, title="Matching cases",
         columns=["case_ref", "role", "case_type", "agency", "opened", "closed"])


@cases_app.command("assess")
def assess_cmd(
    case_ref: Annotated[str, typer.Argument(help="The case reference")],
    yes: Annotated[list[str] | None, typer.Option(
        "--yes", help="A question id answered yes (repeat); every other question is no")] = None,
    on: Annotated[str | None, typer.Option("--date", help="Assessment date, YYYY-MM-DD "
                                           "(default today)")] = None,
    assessor: Annotated[str | None, typer.Option("--assessor", help="Who assessed (default: "
                                                 "--actor)")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    matrix: MatrixOption = None,
    actor: ActorOption = None,
) -> None:
    """Record a risk assessment with the shared matrix: its answers, score and level are kept,
    and the level sets the review interval from now on."""
    settings = load_matrix(matrix)
    ids = [q.id for q in settings.questions]
    chosen = yes or []
    unknown = [q for q in chosen if q not in ids]
    if unknown:
        raise typer.BadParameter(f"unknown question id(s) {unknown}; the matrix asks "
                                 f"{', '.join(ids)}", param_hint="--yes")
    answers = {q: q in chosen for q in ids}
    result = mc.score_answers(settings.questions, answers, medium=settings.medium,
                              high=settings.high)
    day = parse_day(on, "--date") if on else date.today()
    who = _actor(actor)
    with register(db, key_file) as (con, _):
        cs.record_assessment(con, case_ref, day, assessor or who, answers, result.score,
                             result.level, who)
    out.print(f"{case_ref}: score {result.score}, level {result.level}"
              + (f" (escalated by {', '.join(result.escalated_by)})"
                 if result.escalated_by else ""))


@cases_app.command("purge")
def purge_cmd(
    as_of: Annotated[str, typer.Option("--as-of", help="YYYY-MM-DD")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the cases, change "
                                          "nothing")] = False,
    years: Annotated[int | None, typer.Option("--years", min=1, help="Retention in years "
                                              "after closing (default: the matrix file's, "
                                              "6)")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    matrix: MatrixOption = None,
    actor: ActorOption = None,
) -> None:
    """Remove the personal data of cases closed more than the retention period before
    --as-of (names, addresses, dates of birth, contacts, descriptions, outcomes, notes),
    keeping anonymous dates, levels and counts; every purged case is audited."""
    day = parse_day(as_of, "--as-of")
    n = years if years is not None else load_matrix(matrix).retention_years
    cutoff = mc.retention_cutoff(day, n)
    with register(db, key_file) as (con, _):
        report = cs.purge(con, cutoff, _actor(actor), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    out.print(f"Cases closed before {cutoff.isoformat()} ({n} years before "
              f"{day.isoformat()}): {len(report.case_refs)}; {verb} the personal data of "
              f"{report.people} person record(s).")
    for ref in report.case_refs:
        out.print(f"  {ref}", markup=False, highlight=False)


SAR_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Subject access export</title><style>body{font-family:sans-serif;font-size:10pt}
h2{margin-top:1.5em}pre{white-space:pre-wrap;font-family:inherit}</style></head><body>
<h1>Subject access export</h1><p>Generated {{ today }}. Person records found:
{{ sar.person_records }} in {{ sar.cases|length }} case(s). Other people's data is withheld.
</p>{% for c in sar.cases %}<h2>Case {{ c.case_ref }}</h2>
<pre>{{ render(c) }}</pre>{% endfor %}</body></html>
"""


@cases_app.command("sar")
def sar_cmd(
    name: Annotated[str, typer.Option("--name", help="The person's name, exactly")],
    dob: Annotated[str, typer.Option("--dob", help="Date of birth, YYYY-MM-DD")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for sar.json and sar.pdf")],
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write sar.pdf")] = True,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Subject access: everything held about one person (matched by exact name and date of
    birth) as JSON and PDF, other people in their cases withheld; audited."""
    day = parse_day(dob, "--dob")
    with register(db, key_file) as (con, keys):
        result = cs.subject_access(con, keys, name, day, _actor(actor))
        out_dir.mkdir(parents=True, exist_ok=True)
        # Written inside the transaction: if writing fails, the audit row is rolled back
        # with it, so the log never records an export that did not happen.
        payload = {"generated": date.today().isoformat(),
                   "person_records": result.person_records,
                   "name_only_matches_not_exported": result.name_only_matches,
                   "cases": list(result.cases)}
        _write_private(out_dir / "sar.json", json.dumps(payload, indent=2).encode())
        if pdf:
            _write_private(out_dir / "sar.pdf", _sar_pdf(result))
    out.print(f"{result.person_records} person record(s) in {len(result.cases)} case(s) "
              f"written to {out_dir}")
    if result.name_only_matches:
        out.print(f"{result.name_only_matches} record(s) with the same name and no date of "
                  "birth were not exported: check them by hand.")


def _write_private(path: Path, data: bytes) -> None:
    """Exports hold personal data: readable by the owner only."""
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_bytes(data)


def _sar_pdf(result: cs.SubjectAccess) -> bytes:
    from jinja2 import Environment
    from weasyprint import HTML

    def render(case: dict[str, Any]) -> str:
        return json.dumps(case, indent=2, ensure_ascii=False)

    html = Environment(autoescape=True).from_string(SAR_HTML).render(
        sar=result, today=date.today().isoformat(), render=render)
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf



# --- one change at a time: the web's case pages from the command line --------------------------
#
# Each is one transaction with its audit row (actor --actor, else the login name) and prints
# the case reference and what was done, never the value given. Values given as options are
# visible to other users of the machine (ps) and kept in shell history: prefer the web pages
# for names and free text on a shared machine.

CaseRefArg = Annotated[str, typer.Argument(help="The case reference")]


def _text(value: str | None, option: str, limit: int = 200) -> str | None:
    """A text option, stripped: control characters and over-long values refused (the error
    names the option, never the value)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > limit:
        raise typer.BadParameter(f"at most {limit} characters", param_hint=option)
    try:
        check_text(text)
    except InputError:
        raise typer.BadParameter("contains a control character", param_hint=option) from None
    return text


def _required(value: str | None, option: str, limit: int = 200) -> str:
    text = _text(value, option, limit)
    if text is None:
        raise typer.BadParameter("may not be empty", param_hint=option)
    return text


@cases_app.command("open")
def open_cmd(
    case_ref: CaseRefArg,
    agency: Annotated[str, typer.Option("--agency", help="The owning agency")],
    opened: Annotated[str, typer.Option("--opened", help="Opening date, YYYY-MM-DD")],
    case_type: Annotated[str, typer.Option("--type", help="Case type")] = "ASB",
    shared_with: Annotated[list[str] | None, typer.Option(
        "--shared-with", help="An agency the case is shared with (repeat)")] = None,
    lead_officer: Annotated[str | None, typer.Option("--lead-officer")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Open a case (add its people with `cases add-person`)."""
    day = parse_day(opened, "--opened")
    shared = tuple(_required(a, "--shared-with") for a in shared_with or ())
    with register(db, key_file, create=True) as (con, keys):
        cs.open_case(con, keys, case_ref=_required(case_ref, "CASE_REF", 40),
                     case_type=_required(case_type, "--type"),
                     agency=_required(agency, "--agency"), opened=day,
                     lead_officer=_text(lead_officer, "--lead-officer"), shared_with=shared,
                     people=(), actor=_actor(actor))
    out.print(f"{case_ref}: opened {day.isoformat()}", markup=False, highlight=False)


@cases_app.command("add-person")
def add_person_cmd(
    case_ref: CaseRefArg,
    role: Annotated[str, typer.Option("--role", help="victim, perpetrator or witness")],
    name: Annotated[str, typer.Option("--name")],
    address: Annotated[str | None, typer.Option("--address")] = None,
    dob: Annotated[str | None, typer.Option("--dob", help="Date of birth, YYYY-MM-DD")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    vulnerability: Annotated[str | None, typer.Option("--vulnerability")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Add a person involved (encrypted; name and address searchable by exact match)."""
    if role not in cs.ROLES:
        raise typer.BadParameter(f"one of {', '.join(cs.ROLES)}", param_hint="--role")
    person = cs.PersonIn(role, _required(name, "--name"), _text(address, "--address"),
                         parse_day(dob, "--dob"), _text(contact, "--contact"),
                         _text(vulnerability, "--vulnerability"))
    with register(db, key_file) as (con, keys):
        cs.add_person(con, keys, case_ref, person, _actor(actor))
    out.print(f"{case_ref}: {role} added", markup=False, highlight=False)


@cases_app.command("add-incident")
def add_incident_cmd(
    case_ref: CaseRefArg,
    on: Annotated[str, typer.Option("--date", help="Incident date, YYYY-MM-DD")],
    reported_to: Annotated[str, typer.Option(
        "--reported-to", help="council, police, housing provider or other")],
    description: Annotated[str | None, typer.Option("--description")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Record an incident (it counts towards the ASB Case Review threshold)."""
    if reported_to not in cs.REPORTED_TO:
        raise typer.BadParameter(f"one of {', '.join(cs.REPORTED_TO)}",
                                 param_hint="--reported-to")
    day = parse_day(on, "--date")
    with register(db, key_file) as (con, keys):
        cs.add_incident(con, keys, case_ref, day, reported_to,
                        _text(description, "--description", 2000), _actor(actor))
    out.print(f"{case_ref}: incident of {day.isoformat()} recorded", markup=False,
              highlight=False)


@cases_app.command("add-action")
def add_action_cmd(
    case_ref: CaseRefArg,
    owner: Annotated[str, typer.Option("--owner", help="Who does it")],
    description: Annotated[str, typer.Option("--description", help="What is to be done")],
    due: Annotated[str | None, typer.Option("--due", help="Due date, YYYY-MM-DD")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Add an action (owner, due date); `cases action-done` marks it done."""
    day = parse_day(due, "--due")
    with register(db, key_file) as (con, keys):
        aid = cs.add_action(con, keys, case_ref, _required(owner, "--owner"), day,
                            _required(description, "--description", 2000), _actor(actor))
    out.print(f"{case_ref}: action {aid} added", markup=False, highlight=False)


@cases_app.command("action-done")
def action_done_cmd(
    case_ref: CaseRefArg,
    action_id: Annotated[int, typer.Argument(help="The action's number (cases show)")],
    done: Annotated[bool, typer.Option("--done/--not-done")] = True,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Mark an action done (or, with --not-done, not done)."""
    with register(db, key_file) as (con, _):
        cs.set_action_done(con, case_ref, action_id, done, _actor(actor))
    out.print(f"{case_ref}: action {action_id} {'done' if done else 'not done'}",
              markup=False, highlight=False)


@cases_app.command("add-review")
def add_review_cmd(
    case_ref: CaseRefArg,
    on: Annotated[str, typer.Option("--date", help="Review date, YYYY-MM-DD")],
    outcome: Annotated[str | None, typer.Option("--outcome")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Record a review: the next one falls due the risk level's interval after it."""
    day = parse_day(on, "--date")
    with register(db, key_file) as (con, keys):
        cs.add_review(con, keys, case_ref, day, _text(outcome, "--outcome", 2000),
                      _actor(actor))
    out.print(f"{case_ref}: review of {day.isoformat()} recorded", markup=False,
              highlight=False)


@cases_app.command("add-note")
def add_note_cmd(
    case_ref: CaseRefArg,
    text: Annotated[str, typer.Option("--text")],
    on: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")
                  ] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Add a note (encrypted; the author is --actor)."""
    day = parse_day(on, "--date") if on else date.today()
    who = _actor(actor)
    with register(db, key_file) as (con, keys):
        cs.add_note(con, keys, case_ref, day, who, _required(text, "--text", 2000), who)
    out.print(f"{case_ref}: note of {day.isoformat()} added", markup=False, highlight=False)


@cases_app.command("close")
def close_cmd(
    case_ref: CaseRefArg,
    on: Annotated[str, typer.Option("--date", help="Closing date, YYYY-MM-DD")],
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Close a case (final: no further changes; the retention period starts)."""
    day = parse_day(on, "--date")
    with register(db, key_file) as (con, _):
        cs.close_case(con, case_ref, day, _actor(actor))
    out.print(f"{case_ref}: closed {day.isoformat()}", markup=False, highlight=False)
