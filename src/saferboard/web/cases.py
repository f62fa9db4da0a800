"""The ASB case register on the web: pages and JSON API routes to open, update, review and
close cases (docs/cases.md, "On the web").

Who sees what (`permissions.py`): partner officers and partnership managers (`Perm.cases`)
see and change the cases their account's agency owns or shares, and nothing else: another
agency's case is 404, exactly like a missing one (the refusal is in the web audit log).
Board members and analysts see the suppressed aggregates only (`Perm.case_figures`); the
analyst works with pseudonymised data and gets no identities here either. The data
protection officer (`Perm.audit`) reads the register's audit log (`/cases/audit`).

The register is its own SQLite file with its own key (`serve --case-key-file`, else
$SAFERBOARD_CASE_KEY_FILE); without a key the case pages answer 404 saying so. Every view,
change and export of a case writes its audit row in the register's append-only `audit` table
in the same SQLite transaction as the change (the web's DuckDB audit log is another database,
so it cannot share that transaction; it gets the refusals).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from starlette.concurrency import run_in_threadpool

from saferboard.core.casekeys import CaseKeys, load_case_key
from saferboard.core.dates import YEARS, parse_day
from saferboard.core.errors import InputError, SaferboardError
from saferboard.core.riskmatrix import LEVELS, RiskMatrix, load_matrix
from saferboard.core.text import check_text
from saferboard.measures import cases as mc
from saferboard.measures.disclosure import DEFAULT_THRESHOLD, suppress_list
from saferboard.store import cases as cs
from saferboard.web.api import ERRORS, ErrorBody
from saferboard.web.deps import CSRF_FIELD, Need, Principal
from saferboard.web.permissions import Forbidden, NotFound, Perm, User
from saferboard.web.rendering import render
from saferboard.web.settings import Settings

NOT_CONFIGURED = ("The case register is not configured on this server: start it with "
                  "--case-key-file (or $SAFERBOARD_CASE_KEY_FILE) to open it.")
CASE_REF = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"  # one URL path segment


class CasesNotConfigured(SaferboardError):
    """No register on this server: 404 with a message saying so (it is not a fault of the
    server's, and a 5xx would read as one to monitoring and API clients)."""

    http_status = 404


@dataclass
class CaseRegister:
    """The register's path, key and matrix, and one SQLite connection per server thread
    (a connection may not cross threads; opening one per request re-checked the schema)."""

    path: Path
    keys: CaseKeys
    matrix: RiskMatrix

    def __post_init__(self) -> None:
        self._local = threading.local()
        # The server's threads take turns here rather than in SQLite's busy handler, which
        # sleeps in steps (up to 100 ms) while another thread holds the write lock: a view
        # writes its audit row, so every request is a short write transaction.
        self._turn = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = cs.connect(self.path, self.keys)
            self._local.con = con
        with self._turn, cs.transaction(con):
            yield con


def open_register(settings: Settings) -> CaseRegister | None:
    """The register for `settings`, or None without a key file. A key file that is bad, or
    not the register's key, stops the server at start (never a 500 later)."""
    if settings.case_key_file is None:
        return None
    keys = load_case_key(settings.case_key_file)
    matrix = load_matrix(settings.risk_matrix)
    path = cs.resolve_path(settings.cases_db)
    cs.connect(path, keys).close()  # creates (0600) and migrates it, checks the key
    return CaseRegister(path, keys, matrix)


def install(app: FastAPI, settings: Settings) -> None:
    """Open the register (if configured) for `app`, whose routes include `router` and
    `api` (create_app)."""
    app.state.cases = open_register(settings)
    app.add_exception_handler(CasesNotConfigured, _not_configured)


async def _not_configured(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": {"status": 404, "message": NOT_CONFIGURED}},
                            status_code=404)
    principal: Principal | None = getattr(request.state, "principal", None)
    return render(request, "error.html.j2", principal, status=404, status_code=404,
                  message=NOT_CONFIGURED)


def register(request: Request) -> CaseRegister:
    reg: CaseRegister | None = request.app.state.cases
    if reg is None:
        raise CasesNotConfigured(NOT_CONFIGURED)
    return reg


def agencies(user: User | None) -> frozenset[str]:
    """The agencies whose cases this officer sees: their account's (none without one)."""
    return cs.agency_set(user.agency if user else None)


# ------------------------------------------------------------------- request models

def _no_control(value: str) -> str:
    check_text(value)  # InputError -> a validation error naming the field, not the value
    return value


def _iso_day(value: Any) -> Any:
    """Dates as YYYY-MM-DD only, through the one day parser (pydantic alone would also take
    a number of seconds, and DD/MM/YYYY is ambiguous to a web client)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) != 10 or text[4] != "-" or text[7] != "-":  # not DD/MM/YYYY
                raise ValueError(text)
            return parse_day(text)
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD") from None
    return value


def _in_range(value: date) -> date:
    if not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"the year should be between {YEARS[0]} and {YEARS[1]}")
    return value


Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_in_range)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                  AfterValidator(_no_control)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
                 AfterValidator(_no_control)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonBody(Body):
    role: Literal["victim", "perpetrator", "witness"]
    name: Short
    address: Short | None = None
    dob: Day | None = None
    contact: Short | None = None
    vulnerability: Short | None = None

    def person(self) -> cs.PersonIn:
        return cs.PersonIn(self.role, self.name, self.address, self.dob, self.contact,
                           self.vulnerability)


class CaseBody(Body):
    case_ref: Annotated[str, Field(pattern=CASE_REF)]
    case_type: Short = "ASB"
    opened: Day
    lead_officer: Short | None = None
    shared_with: list[Short] = Field(default_factory=list, max_length=20)
    people: list[PersonBody] = Field(default_factory=list, max_length=50)


class IncidentBody(Body):
    date: Day
    reported_to: Literal["council", "police", "housing provider", "other"]
    description: Long | None = None


class AssessmentBody(Body):
    date: Day
    yes: list[Short] = Field(default_factory=list, max_length=100)  # question ids answered yes


class ActionBody(Body):
    owner: Short
    due: Day | None = None
    description: Long


class ActionDoneBody(Body):
    done: bool = True


class ReviewBody(Body):
    date: Day
    outcome: Long | None = None


class NoteBody(Body):
    date: Day
    text: Long


class CloseBody(Body):
    date: Day


M = TypeVar("M", bound=Body)
LISTS = {"shared_with", "yes"}  # form fields that may repeat (or hold a ;-separated list)


async def form_body(request: Request, model: type[M]) -> M:
    """A page form as the API's request model: empty fields are left out, errors name the
    fields only (a value may be a name or a date of birth)."""
    form = await request.form()
    data: dict[str, Any] = {}
    people: dict[str, Any] = {}
    for key in set(form.keys()) - {CSRF_FIELD}:
        values = [v.strip() for v in form.getlist(key) if isinstance(v, str) and v.strip()]
        if key.startswith("person_"):  # the opening form's one person (the victim)
            if values:
                people[key.removeprefix("person_")] = values[0]
        elif key in LISTS:
            data[key] = [part.strip() for v in values for part in v.split(";") if part.strip()]
        elif values:
            data[key] = values[0]
    if people:
        data["people"] = [{"role": "victim", **people}]
    try:
        return model.model_validate(data)
    except ValidationError as e:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in e.errors()})
        raise InputError("not valid: " + ", ".join(fields) + " (dates as YYYY-MM-DD; text "
                         "up to 200 characters, 2,000 for descriptions and notes)",
                         param=fields[0] if fields else None) from None


# ------------------------------------------------------------------- the work, shared

def _work(request: Request, p: Principal, fn: Callable[[sqlite3.Connection, CaseKeys], Any]
          ) -> Any:
    """Run `fn` in one register transaction; a case the officer may not see is 404."""
    reg = register(request)
    try:
        with reg.transaction() as con:
            return fn(con, reg.keys)
    except cs.CaseNotFound:
        raise NotFound("no such case") from None


def view(request: Request, p: Principal, case_ref: str, action: str) -> dict[str, Any]:
    return dict(_work(request, p, lambda con, keys: cs.view_case(
        con, keys, case_ref, p.actor, agencies=agencies(p.user), action=action)))


def summaries(request: Request, p: Principal) -> list[cs.CaseSummary]:
    return list(_work(request, p, lambda con, _: cs.list_cases(con, agencies(p.user))))


def open_new(request: Request, p: Principal, body: CaseBody) -> None:
    assert p.user is not None
    owner = p.user.agency
    if not owner:
        raise Forbidden("an account without an agency cannot open cases")
    _work(request, p, lambda con, keys: cs.open_case(
        con, keys, case_ref=body.case_ref, case_type=body.case_type, agency=owner,
        opened=body.opened, lead_officer=body.lead_officer,
        shared_with=tuple(body.shared_with), people=tuple(x.person() for x in body.people),
        actor=p.actor))


def assess(request: Request, p: Principal, case_ref: str, body: AssessmentBody
           ) -> mc.RiskScore:
    matrix = register(request).matrix
    ids = [q.id for q in matrix.questions]
    unknown = sorted(set(body.yes) - set(ids))
    if unknown:
        raise InputError(f"unknown question id(s) {', '.join(unknown)}", param="yes")
    answers = {q: q in body.yes for q in ids}
    result = mc.score_answers(matrix.questions, answers, medium=matrix.medium,
                              high=matrix.high)
    _work(request, p, lambda con, _: cs.record_assessment(
        con, case_ref, body.date, p.actor, answers, result.score, result.level, p.actor,
        agencies=agencies(p.user)))
    return result


def change(request: Request, p: Principal, case_ref: str, body: Body,
           action_id: int | None = None) -> None:
    """One change to a case, from a page form or the API (the same request models)."""
    ag = agencies(p.user)

    def run(con: sqlite3.Connection, keys: CaseKeys) -> None:
        if isinstance(body, PersonBody):
            cs.add_person(con, keys, case_ref, body.person(), p.actor, agencies=ag)
        elif isinstance(body, IncidentBody):
            cs.add_incident(con, keys, case_ref, body.date, body.reported_to,
                            body.description, p.actor, agencies=ag)
        elif isinstance(body, ActionBody):
            cs.add_action(con, keys, case_ref, body.owner, body.due, body.description,
                          p.actor, agencies=ag)
        elif isinstance(body, ActionDoneBody):
            assert action_id is not None
            cs.set_action_done(con, case_ref, action_id, body.done, p.actor, agencies=ag)
        elif isinstance(body, ReviewBody):
            cs.add_review(con, keys, case_ref, body.date, body.outcome, p.actor, agencies=ag)
        elif isinstance(body, NoteBody):
            cs.add_note(con, keys, case_ref, body.date, p.actor, body.text, p.actor,
                        agencies=ag)
        elif isinstance(body, CloseBody):
            cs.close_case(con, case_ref, body.date, p.actor, agencies=ag)
        else:
            raise TypeError(type(body).__name__)

    _work(request, p, run)


def agenda(request: Request, p: Principal, as_of: date) -> mc.Agenda:
    """The meeting agenda over the cases this officer sees (references only)."""
    reg = register(request)

    def run(con: sqlite3.Connection, _: CaseKeys) -> mc.Agenda:
        mine = {c.case_ref for c in cs.list_cases(con, agencies(p.user))}
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con) if c[0] in mine]
        apps = [mc.Application(*a) for a in cs.application_dates(con) if a[1] in mine]
        return mc.agenda(facts, apps, as_of, reg.matrix.review_days,
                         min_incidents=reg.matrix.min_incidents, months=reg.matrix.months)

    result: mc.Agenda = _work(request, p, run)
    return result


def figures(request: Request, as_of: date) -> dict[str, Any]:
    """Partnership-wide aggregates for board members and analysts: open cases by level and
    reviews overdue (counts below the disclosure threshold suppressed, with the total), and
    the financial year's ASB Case Review figures (published by councils in full)."""
    reg = register(request)
    with reg.transaction() as con:
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con)]
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
    result = mc.agenda(facts, apps, as_of, reg.matrix.review_days,
                       min_incidents=reg.matrix.min_incidents, months=reg.matrix.months)
    by_level = suppress_list([result.open_by_level[lvl] for lvl in LEVELS])
    overdue = sum(1 for d in result.due if d.overdue_days > 0)
    hidden = overdue if 0 < overdue < DEFAULT_THRESHOLD else None
    year = mc.financial_year_of(as_of)
    review = mc.case_review_year(apps, year, min_incidents=reg.matrix.min_incidents,
                                 months=reg.matrix.months)
    return {"as_of": as_of.isoformat(), "threshold": DEFAULT_THRESHOLD,
            "open_by_level": {lvl: row[0] for lvl, row in zip(LEVELS, by_level.cells,
                                                               strict=True)},
            "open_total": by_level.col_totals[0] if by_level.col_totals else None,
            "reviews_overdue": None if hidden is not None else overdue,
            "case_review": asdict(review)}


def agenda_json(a: mc.Agenda) -> dict[str, Any]:
    return {"as_of": a.as_of.isoformat(), "open_by_level": a.open_by_level,
            "due": [{"case_ref": d.case_ref, "risk_level": d.risk_level,
                     "due": d.due.isoformat(), "overdue_days": d.overdue_days}
                    for d in a.due],
            "new_high_risk": [{"case_ref": c.case_ref, "opened": c.opened.isoformat()}
                              for c in a.new_high_risk],
            "new_days": a.new_days,
            "open_applications": [{"application_ref": o.application_ref,
                                   "case_ref": o.case_ref, "received": o.received.isoformat(),
                                   "threshold_met": o.threshold_met, "days_open": o.days_open}
                                  for o in a.open_applications]}


def today(request: Request) -> date:
    clock: Callable[[], Any] = request.app.state.saferboard.settings.clock
    day: date = clock().date()
    return day


def as_of_day(request: Request, text: str | None) -> date:
    if not text:
        return today(request)
    try:
        day: date = _in_range(_iso_day(text))
    except ValueError:
        raise InputError(f"expected a date as YYYY-MM-DD between {YEARS[0]} and {YEARS[1]}",
                         param="as_of") from None
    return day


# ------------------------------------------------------------------------------ pages

class NeedRegister(Need):
    """Need, then the register: a role without the permission gets 403 whether or not the
    register is configured; one with it gets the not-configured 404 before any form or body
    is read (so never a 422 for a register that is not there)."""

    async def __call__(self, request: Request) -> Principal:
        principal = await super().__call__(request)
        register(request)
        return principal


router = APIRouter(include_in_schema=False)
Officer = Annotated[Principal, Depends(NeedRegister(Perm.cases))]
Figures = Annotated[Principal, Depends(NeedRegister(Perm.case_figures))]
Auditor = Annotated[Principal, Depends(NeedRegister(Perm.audit))]
AsOfQ = Annotated[str | None, Query(max_length=10)]


def _back(case_ref: str) -> RedirectResponse:
    return RedirectResponse(f"/cases/{case_ref}", status_code=303)


def _ref(case_ref: str) -> str:
    if not re.fullmatch(CASE_REF, case_ref):
        raise NotFound("no such case")  # never a valid reference: same answer as missing
    return case_ref


@router.get("/cases")
def cases_page(request: Request, p: Officer) -> Response:
    rows = summaries(request, p)
    return render(request, "cases.html.j2", p, cases=rows, today=today(request),
                  agency=p.user.agency if p.user else None)


@router.post("/cases")
async def open_case_form(request: Request, p: Officer) -> Response:
    body = await form_body(request, CaseBody)
    await run_in_threadpool(open_new, request, p, body)
    return _back(body.case_ref)


@router.get("/cases/agenda")
def agenda_page(request: Request, p: Officer, as_of: AsOfQ = None) -> Response:
    result = agenda(request, p, as_of_day(request, as_of))
    return render(request, "case_agenda.html.j2", p, a=result)


@router.get("/cases/figures")
def figures_page(request: Request, p: Figures, as_of: AsOfQ = None) -> Response:
    return render(request, "case_figures.html.j2", p,
                  f=figures(request, as_of_day(request, as_of)))


def audit_log(request: Request, case_ref: str | None) -> list[dict[str, Any]]:
    reg = register(request)
    with reg.transaction() as con:
        return cs.audit_rows(con, case_ref=case_ref or None)


RefQ = Annotated[str | None, Query(max_length=40, pattern=CASE_REF)]


@router.get("/cases/audit")
def audit_page(request: Request, p: Auditor, case_ref: RefQ = None) -> Response:
    return render(request, "case_audit.html.j2", p, rows=audit_log(request, case_ref),
                  case_ref=case_ref or "")


@router.get("/cases/{case_ref}")
def case_page(request: Request, p: Officer, case_ref: str) -> Response:
    body = view(request, p, _ref(case_ref), "view")
    reg = register(request)
    return render(request, "case.html.j2", p, c=body, questions=reg.matrix.questions,
                  today=today(request), reported_to=cs.REPORTED_TO, roles=cs.ROLES)


FORMS: dict[str, type[Body]] = {"people": PersonBody, "incidents": IncidentBody,
                                "actions": ActionBody, "reviews": ReviewBody,
                                "notes": NoteBody, "close": CloseBody}


def _form_route(kind: str, model: type[Body]) -> None:
    async def post(request: Request, p: Officer, case_ref: str) -> Response:
        body = await form_body(request, model)
        await run_in_threadpool(change, request, p, _ref(case_ref), body)
        return _back(case_ref)

    post.__name__ = f"case_{kind}_form"
    router.add_api_route(f"/cases/{{case_ref}}/{kind}", post, methods=["POST"])


for _kind, _model in FORMS.items():
    _form_route(_kind, _model)


@router.post("/cases/{case_ref}/assessments")
async def assessment_form(request: Request, p: Officer, case_ref: str) -> Response:
    body = await form_body(request, AssessmentBody)
    await run_in_threadpool(assess, request, p, _ref(case_ref), body)
    return _back(case_ref)


@router.post("/cases/{case_ref}/actions/{action_id}/done")
async def action_done_form(request: Request, p: Officer, case_ref: str, action_id: int
                           ) -> Response:
    form = await request.form()
    body = ActionDoneBody(done=form.get("done", "yes") != "no")
    await run_in_threadpool(change, request, p, _ref(case_ref), body, action_id)
    return _back(case_ref)


# -------------------------------------------------------------------------------- API

api = APIRouter(prefix="/api", tags=["cases"], responses={
    **ERRORS, 409: {"model": ErrorBody, "description": "The case is closed"},
    404: {"model": ErrorBody, "description": "No such case (or another agency's), or no "
          "case register on this server"}})


class Done(BaseModel):
    ok: bool = True
    case_ref: str


class Assessed(Done):
    score: int
    level: str
    escalated_by: list[str]


@api.get("/cases", response_model=list[cs.CaseSummary])
def api_cases(request: Request, p: Officer) -> list[cs.CaseSummary]:
    """The cases your agency owns or shares (no personal data)."""
    return summaries(request, p)


@api.post("/cases", response_model=Done, status_code=201)
def api_open(request: Request, p: Officer, body: CaseBody) -> Done:
    """Open a case owned by your agency (audited)."""
    open_new(request, p, body)
    return Done(case_ref=body.case_ref)


@api.get("/cases/agenda")
def api_agenda(request: Request, p: Officer, as_of: AsOfQ = None) -> dict[str, Any]:
    """The meeting agenda over your agency's cases (references only)."""
    return agenda_json(agenda(request, p, as_of_day(request, as_of)))


@api.get("/cases/figures")
def api_figures(request: Request, p: Figures, as_of: AsOfQ = None) -> dict[str, Any]:
    """Partnership-wide aggregates, small counts suppressed."""
    return figures(request, as_of_day(request, as_of))


@api.get("/cases/audit")
def api_audit(request: Request, p: Auditor, case_ref: RefQ = None) -> list[dict[str, Any]]:
    """The register's audit log, newest first (500 rows; or one case's): for the data
    protection officer. References, kinds and counts only."""
    return audit_log(request, case_ref)


@api.get("/cases/{case_ref}")
def api_case(request: Request, p: Officer, case_ref: str) -> dict[str, Any]:
    """Everything held on one case, decrypted (audited as an export)."""
    return view(request, p, _ref(case_ref), "export")


def _api_route(kind: str, model: type[Body]) -> None:
    def post(request: Request, p: Officer, case_ref: str, body: Body) -> Done:
        change(request, p, _ref(case_ref), body)
        return Done(case_ref=case_ref)

    # The body's model is this kind's (FastAPI reads the annotation to parse and document it).
    post.__annotations__ = {**post.__annotations__, "body": model}

    post.__name__ = f"api_case_{kind}"
    post.__doc__ = f"Add to the case: {kind} (audited)."
    api.add_api_route(f"/cases/{{case_ref}}/{kind}", post, methods=["POST"],
                      response_model=Done, status_code=201 if kind != "close" else 200)


for _kind, _model in FORMS.items():
    _api_route(_kind, _model)


@api.post("/cases/{case_ref}/assessments", response_model=Assessed, status_code=201)
def api_assess(request: Request, p: Officer, case_ref: str, body: AssessmentBody) -> Assessed:
    """A risk assessment with the shared matrix: the ids of the questions answered yes."""
    r = assess(request, p, _ref(case_ref), body)
    return Assessed(case_ref=case_ref, score=r.score, level=r.level,
                    escalated_by=list(r.escalated_by))


@api.post("/cases/{case_ref}/actions/{action_id}/done", response_model=Done)
def api_action_done(request: Request, p: Officer, case_ref: str, action_id: int,
                    body: ActionDoneBody) -> Done:
    """Mark an action done (or not done, with {"done": false})."""
    change(request, p, _ref(case_ref), body, action_id)
    return Done(case_ref=case_ref)
