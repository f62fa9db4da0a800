"""`saferboard cases problem ...`: SARA problems in the case register (add, stage, link,
respond, assess, list, show). docs/cases.md, "Problem solving".

Like every `cases` command: the case key is required, each command is one transaction with
its audit rows, and output holds no personal value except from `show` (audited). `assess`
also reads the analytics store (read-only) for crime and ASB in the problem's places.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saferboard import store
from saferboard.cli.cases import (
    ActorOption,
    KeyFileOption,
    TableOrJson,
    _actor,
    _json,
    cases_app,
    register,
)
from saferboard.cli.common import (
    CasesDbOption,
    CategoriesOption,
    ConfigOption,
    DbOption,
    Format,
    emit,
    out,
)
from saferboard.cli.common import parse_day as day_option
from saferboard.core import categories
from saferboard.core.errors import InputError
from saferboard.measures import problem_assessment as pa
from saferboard.store import problems as ps

if TYPE_CHECKING:
    from saferboard.measures.cases import BoardCases
    from saferboard.measures.repeats import Incidents

problem_app = typer.Typer(help="SARA problems: place- or issue-based problems with their stage, "
                          "linked cases and places, responses and assessment (docs/cases.md).",
                          no_args_is_help=True)
cases_app.add_typer(problem_app, name="problem")

RefArgument = Annotated[str, typer.Argument(help="The problem reference")]
StageChoice = Annotated[str, typer.Argument(help="scanning, analysis, response or assessment")]


def _places(lsoa: list[str] | None, ward: list[str] | None,
            cell: list[str] | None) -> tuple[tuple[str, str], ...]:
    found = [pa.parse_place(kind, code) for kind, codes in
             (("lsoa", lsoa), ("ward", ward), ("cell", cell)) for code in codes or []]
    return tuple((p.kind, p.code) for p in found)


@problem_app.command("add")
def add_cmd(
    ref: RefArgument,
    kind: Annotated[str, typer.Option("--kind", help="place or issue")],
    agency: Annotated[str, typer.Option("--agency", help="The owning agency")],
    opened: Annotated[str, typer.Option("--opened", help="YYYY-MM-DD")],
    description: Annotated[str | None, typer.Option(
        "--description", help="What the problem is (stored encrypted)")] = None,
    stage: Annotated[str, typer.Option("--stage", help="Starting stage")] = "scanning",
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Open a problem (Scanning unless --stage says otherwise)."""
    day = day_option(opened, "--opened")
    with register(db, key_file) as (con, keys):
        ps.add_problem(con, keys, ref, kind=kind, agency=agency, opened=day,
                       description=description, actor=_actor(actor), stage=stage)
    out.print(f"Problem {ref} opened ({kind}-based, {stage}).", markup=False, highlight=False)


@problem_app.command("stage")
def stage_cmd(
    ref: RefArgument,
    stage: StageChoice,
    on: Annotated[str, typer.Option("--on", help="Date of the change, YYYY-MM-DD")],
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Move a problem to another SARA stage (the history is kept)."""
    day = day_option(on, "--on")
    with register(db, key_file) as (con, _):
        ps.set_stage(con, ref, stage, day, _actor(actor))
    out.print(f"Problem {ref}: {stage} from {day.isoformat()}.", markup=False,
              highlight=False)


@problem_app.command("link")
def link_cmd(
    ref: RefArgument,
    case: Annotated[list[str] | None, typer.Option("--case", help="A case reference "
                                                   "(repeat for more)")] = None,
    lsoa: Annotated[list[str] | None, typer.Option("--lsoa", help="A 2021 LSOA code")] = None,
    ward: Annotated[list[str] | None, typer.Option("--ward", help="A ward code (May "
                                                   "2024)")] = None,
    cell: Annotated[list[str] | None, typer.Option(
        "--cell", help="A hotspot cell SIZE:X:Y (cell size and centre in British National "
        "Grid metres, as hotspots --format json gives them)")] = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Link cases and places to a problem."""
    places = _places(lsoa, ward, cell)  # checked before the register is opened
    if not case and not places:
        raise typer.BadParameter("give --case, --lsoa, --ward or --cell", param_hint="--case")
    with register(db, key_file) as (con, _):
        n_cases, n_places = ps.link(con, ref, case_refs=tuple(case or ()), places=places,
                                    actor=_actor(actor))
    out.print(f"Problem {ref}: {n_cases} case(s) and {n_places} place(s) linked.",
              markup=False, highlight=False)


@problem_app.command("respond")
def respond_cmd(
    ref: RefArgument,
    started: Annotated[str, typer.Option("--date", help="When the response starts, "
                                         "YYYY-MM-DD")],
    owner: Annotated[str, typer.Option("--owner", help="Who leads it (agency or team)")],
    description: Annotated[str, typer.Option("--description", help="What is done (stored "
                                             "encrypted)")],
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Record a response to a problem."""
    day = day_option(started, "--date")
    with register(db, key_file) as (con, keys):
        ps.add_response(con, keys, ref, started=day, owner=owner, description=description,
                        actor=_actor(actor))
    out.print(f"Problem {ref}: response from {day.isoformat()} recorded.", markup=False,
              highlight=False)


def _assessment_json(ref: str, a: pa.ProblemAssessment) -> dict[str, Any]:
    def change(c: pa.Change) -> dict[str, Any]:
        return {"before": c.before, "after": c.after, "pct_change": c.pct_change,
                "p_value": c.test.p_value, "significant": c.test.significant,
                "direction": c.test.direction}

    return {"problem_ref": ref, "response_start": a.response_start.isoformat(),
            "months": a.months,
            "before": [a.before[0].strftime("%Y-%m"), a.before[1].strftime("%Y-%m")],
            "after": [a.after[0].strftime("%Y-%m"), a.after[1].strftime("%Y-%m")],
            "alpha": a.crime.test.alpha,
            "crime": change(a.crime), "asb": change(a.asb),
            "monthly": [{"month": m.month.strftime("%Y-%m"), "crime": m.crime, "asb": m.asb}
                        for m in a.monthly],
            "method": a.method}


@problem_app.command("assess")
def assess_cmd(
    ref: RefArgument,
    months: Annotated[int, typer.Option("--months", min=1, help="Months each side of the "
                                        "response's month")] = 12,
    from_: Annotated[str | None, typer.Option(
        "--from", help="Response start, YYYY-MM-DD (default: the earliest response's)")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Date the assessment is recorded "
                                           "with, YYYY-MM-DD (default: today)")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Keep the figures with the "
                                       "problem")] = True,
    fmt: Annotated[TableOrJson, typer.Option("--format", help="Output format")] =
    TableOrJson.table,
    store_db: DbOption = None,
    mapping: CategoriesOption = None,
    config: ConfigOption = None,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Crime and ASB in the problem's places, the --months months before and after the
    month its response started, each change tested as the dashboard tests changes."""
    from saferboard.core.config import load_config

    start = day_option(from_, "--from")
    recorded = day_option(on, "--on") or date.today()
    alpha = load_config(config).dashboard.alpha
    cats = categories.load(mapping)
    with register(db, key_file) as (con, _):
        places = tuple(pa.Place(k, c) for k, c in ps.places_of(con, ref))
        start = start or ps.first_response(con, ref)
        if start is None:
            raise InputError("the problem has no response yet: record one with cases problem "
                             "respond, or give --from", param="from")
        try:
            pa.check_places(places)  # before the analytics store is opened
        except InputError as e:  # assess has no --places: say how to link them instead
            raise InputError(f"{e.detail} (cases problem link --lsoa, --ward or --cell)"
                             ) from None
        duck = store.connect(store_db, read_only=True)
        try:
            result = pa.assess_places(duck, cats, places, start, months, alpha=alpha)
        finally:
            duck.close()
        body = _assessment_json(ref, result)
        if save:
            ps.save_assessment(con, ref, recorded, body, _actor(actor))
    if fmt is TableOrJson.json:
        _json(body)
        return
    rows = [{"measure": name, "before": c.before, "after": c.after,
             "change_pct": c.pct_change, "p_value": round(c.test.p_value, 4),
             "verdict": (f"significant ({c.test.direction})" if c.test.significant
                         else "no clear change")}
            for name, c in (("crime", result.crime), ("ASB", result.asb))]
    emit(rows, Format.table, title=f"Problem {ref}: {result.before[0]:%b %Y}-"
         f"{result.before[1]:%b %Y} against {result.after[0]:%b %Y}-{result.after[1]:%b %Y}")
    out.print(result.method, markup=False, highlight=False)


@problem_app.command("list")
def list_cmd(
    stage: Annotated[str | None, typer.Option("--stage", help="Only problems at this "
                                              "stage")] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format", help="Output format")] =
    TableOrJson.table,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
) -> None:
    """Every problem with its stage and how many cases, places and responses it has (no
    descriptions)."""
    if stage is not None and stage not in ps.STAGES:
        raise typer.BadParameter(f"should be one of {', '.join(ps.STAGES)}",
                                 param_hint="--stage")
    with register(db, key_file) as (con, _):
        rows = [asdict(r) for r in ps.problem_rows(con) if stage in (None, r.stage)]
    if fmt is TableOrJson.json:
        _json(rows)
        return
    emit(rows, Format.table, title="Problems",
         columns=["problem_ref", "kind", "agency", "opened", "stage", "stage_since", "cases",
                  "places", "responses", "first_response"])


@problem_app.command("show")
def show_cmd(
    ref: RefArgument,
    key_file: KeyFileOption = None,
    db: CasesDbOption = None,
    actor: ActorOption = None,
) -> None:
    """Everything held on one problem as JSON, decrypted (audited as a view)."""
    with register(db, key_file) as (con, keys):
        body = ps.view_problem(con, keys, ref, _actor(actor))
    _json(body)



def pack_cases(key_file: Path | None, db: Path | None, as_of: date, threshold: int,
               matrix: Path | None = None) -> BoardCases | None:
    """The ASB cases page's figures for `saferboard pack`, or None when no case key is given
    (--case-key-file, else $SAFERBOARD_CASE_KEY_FILE): the pack is then written without the
    page. Reading the register for aggregates is audited like any other use of it."""
    import os

    from saferboard.core.casekeys import ENV as KEY_ENV
    from saferboard.core.riskmatrix import load_matrix
    from saferboard.measures import cases as mc
    from saferboard.store import cases as cs

    if key_file is None and not os.environ.get(KEY_ENV):
        return None
    settings = load_matrix(matrix)
    with register(db, key_file) as (con, _):
        facts = [mc.CaseFacts(*c) for c in cs.case_dates(con)]
        apps = [mc.Application(*a) for a in cs.application_dates(con)]
        problems = [pa.ProblemFacts(*p) for p in ps.problem_facts(con)]
        cs.audit(con, _actor(None), "pack", None, f"board pack aggregates on "
                 f"{as_of.isoformat()}: {len(facts)} case(s), {len(problems)} problem(s)")
    return mc.board_cases(facts, apps, problems, as_of, settings.review_days,
                          # 0 in the configuration means no suppression, as 1 does
                          threshold=max(1, threshold), min_incidents=settings.min_incidents,
                          months=settings.months)


def case_victim_incidents(key_file: Path | None, db: Path | None,
                          case_type: str) -> Incidents:
    """The register's victims' incidents of `case_type` as repeat-victimisation incidents
    keyed by person (`saferboard repeats --kind cases`); audited, as a read of the register
    for aggregates."""
    from saferboard.measures.repeats import incidents_from
    from saferboard.store import cases as cs
    from saferboard.store.case_victims import victim_incidents

    with register(db, key_file) as (con, _):
        keys, dates = victim_incidents(con, case_type)
        cs.audit(con, _actor(None), "repeats", None, f"repeat victimisation from "
                 f"{len(dates)} victim incident(s) of type {' '.join(case_type.split())}")
    return incidents_from(keys, dates, by="person", incident_type=f"{case_type} case")
